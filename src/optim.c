/*
** optim.c — the optimizer update loops of optim.h.  Each is one pass over
** memory (the Adam benchmark compares it with a plain copy), written so
** that the compiler can vectorise it: no branches inside the loops.
*/
#include "optim.h"

#include <math.h>
#include <stddef.h>

void optim_sgd(double *p, const double *g, double *buf, int64_t n, const SgdParams *s) {
  const double wd = s->weight_decay, mu = s->momentum, lr = s->lr;
  const double damp = s->first_step ? 0.0 : s->dampening;
  int64_t i;
  if (mu == 0.0) {
    for (i = 0; i < n; i++) p[i] -= lr * (g[i] + wd * p[i]);
    return;
  }
  if (s->lr_inside) {
    /* v = μv − lr·g; p += v (the velocity carries the learning rate) */
    for (i = 0; i < n; i++) {
      double gi = g[i] + wd * p[i];
      buf[i] = mu * buf[i] - lr * gi;
      p[i] += buf[i];
    }
    return;
  }
  for (i = 0; i < n; i++) {
    double gi = g[i] + wd * p[i];
    /* PyTorch starts the buffer at the first gradient (no dampening) */
    double b = s->first_step ? gi : mu * buf[i] + (1.0 - damp) * gi;
    buf[i] = b;
    p[i] -= lr * (s->nesterov ? gi + mu * b : b);
  }
}

/* The arrays never overlap (restrict), and the settings are read once,
** so the loop vectorises: it is one pass over four arrays. */
static void adam_loop(double *restrict p, const double *restrict g, double *restrict m,
                      double *restrict v, int64_t n, double b1, double b2, double step_size,
                      double inv_sqrt_bc2, double eps, double l2, double shrink) {
  int64_t i;
  for (i = 0; i < n; i++) {
    double pi = p[i] * shrink;            /* AdamW: decay apart from the gradient */
    double gi = g[i] + l2 * pi;           /* Adam: L2 penalty in the gradient */
    double mi = b1 * m[i] + (1.0 - b1) * gi;
    double vi = b2 * v[i] + (1.0 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step_size * mi / (sqrt(vi) * inv_sqrt_bc2 + eps);
  }
}

/* AMSGrad: the denominator uses the largest v seen so far. */
static void amsgrad_loop(double *restrict p, const double *restrict g, double *restrict m,
                         double *restrict v, double *restrict vmax, int64_t n, double b1, double b2,
                         double step_size, double inv_sqrt_bc2, double eps, double l2, double shrink) {
  int64_t i;
  for (i = 0; i < n; i++) {
    double pi = p[i] * shrink;
    double gi = g[i] + l2 * pi;
    double mi = b1 * m[i] + (1.0 - b1) * gi;
    double vi = b2 * v[i] + (1.0 - b2) * gi * gi;
    double vm = vmax[i] > vi ? vmax[i] : vi;
    m[i] = mi;
    v[i] = vi;
    vmax[i] = vm;
    p[i] = pi - step_size * mi / (sqrt(vm) * inv_sqrt_bc2 + eps);
  }
}

void optim_adam(double *p, const double *g, double *m, double *v, double *vmax, int64_t n,
                const AdamParams *a) {
  const double b1 = a->beta1, b2 = a->beta2, lr = a->lr, wd = a->weight_decay;
  const double bc1 = a->bias_correction ? 1.0 - pow(b1, (double)a->step) : 1.0;
  const double bc2 = a->bias_correction ? 1.0 - pow(b2, (double)a->step) : 1.0;
  const double l2 = a->decoupled ? 0.0 : wd, shrink = a->decoupled ? 1.0 - lr * wd : 1.0;
  if (vmax != NULL)
    amsgrad_loop(p, g, m, v, vmax, n, b1, b2, lr / bc1, 1.0 / sqrt(bc2), a->eps, l2, shrink);
  else
    adam_loop(p, g, m, v, n, b1, b2, lr / bc1, 1.0 / sqrt(bc2), a->eps, l2, shrink);
}

void optim_adagrad(double *p, const double *g, double *sum, int64_t n, double lr,
                   double lr_decay, double eps, double weight_decay, int64_t step) {
  const double clr = lr / (1.0 + (double)(step - 1) * lr_decay);
  int64_t i;
  for (i = 0; i < n; i++) {
    double gi = g[i] + weight_decay * p[i];
    sum[i] += gi * gi;
    p[i] -= clr * gi / (sqrt(sum[i]) + eps);
  }
}

void optim_rmsprop(double *p, const double *g, double *sq, double *buf, double *gavg,
                   int64_t n, const RmspropParams *r) {
  const double a = r->alpha, eps = r->eps, wd = r->weight_decay, mu = r->momentum, lr = r->lr;
  int64_t i;
  for (i = 0; i < n; i++) {
    double gi = g[i] + wd * p[i], avg;
    sq[i] = a * sq[i] + (1.0 - a) * gi * gi;
    if (r->centered) {
      gavg[i] = a * gavg[i] + (1.0 - a) * gi;
      avg = sqrt(sq[i] - gavg[i] * gavg[i]) + eps;
    } else {
      avg = sqrt(sq[i]) + eps;
    }
    if (mu > 0.0) {
      buf[i] = mu * buf[i] + gi / avg;
      p[i] -= lr * buf[i];
    } else {
      p[i] -= lr * gi / avg;
    }
  }
}
