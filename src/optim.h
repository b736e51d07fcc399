/*
** optim.h — the update rules of the optimizers, as PyTorch defines them,
** over flat arrays: p the parameters, g their gradient, the rest the
** optimizer's state (all of length n, updated in place).  The Lua side
** (lua/optim.lua) keeps the state, the settings and the trace.
**
**   SGD      g' = g + wd·p;  buf = μ·buf + (1−τ)·g'  (buf = g' on the first step)
**            d = g' + μ·buf (Nesterov) or buf;  p −= lr·d
**            lr_inside form (Sutskever): v = μ·v − lr·g';  p += v
**   AdaGrad  g' = g + wd·p;  sum += g'²;  p −= clr·g' / (√sum + ε),
**            clr = lr / (1 + (t−1)·lr_decay)
**   RMSProp  g' = g + wd·p;  sq = α·sq + (1−α)·g'²;  avg = √sq + ε
**            (centered: avg = √(sq − ḡ²) + ε, ḡ = α·ḡ + (1−α)·g');
**            with momentum: buf = μ·buf + g'/avg, p −= lr·buf; else p −= lr·g'/avg
**   Adam     g' = g + wd·p (AdamW instead: p −= lr·wd·p);  m = β1·m + (1−β1)·g'
**            v = β2·v + (1−β2)·g'²;  p −= (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε)
**            without bias correction (CS224n's handout): p −= lr · m / (√v + ε);
**            AMSGrad: vmax = max(vmax, v) takes v's place in the denominator
*/
#ifndef NNCALC_OPTIM_H
#define NNCALC_OPTIM_H

#include <stdint.h>

typedef struct SgdParams {
  double lr, momentum, dampening, weight_decay;
  int nesterov, lr_inside, first_step;
} SgdParams;

void optim_sgd(double *p, const double *g, double *buf, int64_t n, const SgdParams *s);

typedef struct AdamParams {
  double lr, beta1, beta2, eps, weight_decay;
  int decoupled;         /* AdamW */
  int bias_correction;   /* divide by 1 − β^t (PyTorch); 0 for the plain form */
  int64_t step;          /* t, from 1 */
} AdamParams;

/* vmax: AMSGrad's running maximum of v, or NULL for plain Adam. */
void optim_adam(double *p, const double *g, double *m, double *v, double *vmax, int64_t n,
                const AdamParams *a);

void optim_adagrad(double *p, const double *g, double *sum, int64_t n, double lr,
                   double lr_decay, double eps, double weight_decay, int64_t step);

typedef struct RmspropParams {
  double lr, alpha, eps, weight_decay, momentum;
  int centered;
} RmspropParams;

/* buf and gavg may be NULL when momentum is 0 / not centered. */
void optim_rmsprop(double *p, const double *g, double *sq, double *buf, double *gavg,
                   int64_t n, const RmspropParams *r);

#endif
