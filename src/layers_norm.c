/*
** layers_norm.c — batch normalization over dim 1 (the channels) of an
** N x C x ... input, forward and backward, as PyTorch's BatchNorm1d/2d.
**
** The input is seen as N x C x L (L = the product of the dims after C,
** 1 for an N x C input), so channel c holds M = N·L values:
**     x̂ = (x − mean)·invstd,  invstd = 1/sqrt(var + eps),  y = gamma·x̂ + beta
** Training takes mean and the biased var from the batch and moves the
** running statistics towards them (running_var towards the UNBIASED
** variance, var·M/(M−1), as PyTorch does); evaluation uses the running
** statistics.  The backward of training mode includes the dependence of
** mean and var on every x:
**     gx = gamma·invstd/M · (M·gy − Σgy − x̂·Σ(gy·x̂))
** and in evaluation the statistics are constants: gx = gy·gamma·invstd.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "layers.h"

/* The N x C x L view of an input: element (n, c, l) of the contiguous copy
** sits at (n·C + c)·L + l. */
typedef struct NormShape {
  int64_t n, c, l, m;   /* m = n·l values per channel */
} NormShape;

static int norm_shape(const Tensor *x, NormShape *s) {
  char b[128];
  int d;
  if (x->ndim < 2)
    return nn_fail(NN_ESHAPE, "batch norm needs an N x C input (2 or more dims), got %s",
                   tensor_shape_str(x, b, sizeof b));
  s->n = x->size[0];
  s->c = x->size[1];
  s->l = 1;
  for (d = 2; d < x->ndim; d++) s->l *= x->size[d];   /* under the cap: no overflow */
  s->m = s->n * s->l;
  return NN_OK;
}

/* A per-channel vector (gamma, beta, statistics) must be 1-D of length C;
** NULL passes (the caller decides whether it is optional). */
static int check_channels(const Tensor *v, const char *what, const Tensor *x) {
  char b1[128], b2[128];
  if (v == NULL || (v->ndim == 1 && v->size[0] == x->size[1])) return NN_OK;
  return nn_fail(NN_ESHAPE, "%s has shape %s, want %lld (the channels of input %s)", what,
                 tensor_shape_str(v, b1, sizeof b1), (long long)x->size[1],
                 tensor_shape_str(x, b2, sizeof b2));
}

/* Entry c of a 1-D tensor of any stride. */
static double *at1(const Tensor *v, int64_t c) {
  return v->storage->data + v->offset + c * v->stride[0];
}

static double *data_of(const Tensor *t) { return t->storage->data + t->offset; }

Tensor *layer_batchnorm(const Tensor *x, const Tensor *gamma, const Tensor *beta,
                        BatchNormState *s, Tensor **mean, Tensor **invstd) {
  NormShape sh;
  Tensor *xc = NULL, *y = NULL, *mu = NULL, *is = NULL, *var = NULL;
  int64_t n, c, l;
  char b[128];
  if (mean != NULL) *mean = NULL;
  if (invstd != NULL) *invstd = NULL;
  if (s == NULL) {
    nn_fail(NN_EARG, "batch norm needs its state (eps, momentum, training)");
    return NULL;
  }
  if (norm_shape(x, &sh) != NN_OK) return NULL;
  if (check_channels(gamma, "gamma", x) != NN_OK || check_channels(beta, "beta", x) != NN_OK ||
      check_channels(s->running_mean, "running_mean", x) != NN_OK ||
      check_channels(s->running_var, "running_var", x) != NN_OK)
    return NULL;
  if (!(s->eps >= 0) || isinf(s->eps)) {
    nn_fail(NN_EARG, "eps must be a number >= 0 (got %g)", s->eps);
    return NULL;
  }
  if (s->training) {
    /* with one value the variance is 0 and x̂ all 0: PyTorch refuses too */
    if (sh.m < 2) {
      nn_fail(NN_ESHAPE, "batch norm in training needs more than one value per channel, "
              "got input %s", tensor_shape_str(x, b, sizeof b));
      return NULL;
    }
    if (!isfinite(s->momentum) &&
        (s->running_mean != NULL || s->running_var != NULL)) {
      nn_fail(NN_EARG, "momentum must be a finite number (got %g)", s->momentum);
      return NULL;
    }
  } else if (s->running_mean == NULL || s->running_var == NULL) {
    nn_fail(NN_EARG, "batch norm in evaluation needs running_mean and running_var");
    return NULL;
  }

  if ((xc = tensor_contiguous(x)) == NULL || (y = tensor_new(x->ndim, x->size)) == NULL ||
      (mu = tensor_new(1, &sh.c)) == NULL || (is = tensor_new(1, &sh.c)) == NULL ||
      (var = tensor_new(1, &sh.c)) == NULL)
    goto fail;

  for (c = 0; c < sh.c; c++) {
    const double *xs = data_of(xc) + c * sh.l;
    double *ys = data_of(y) + c * sh.l;
    double m, v, g = gamma != NULL ? *at1(gamma, c) : 1.0;
    double bt = beta != NULL ? *at1(beta, c) : 0.0;
    if (nn_check_interrupt() != NN_OK) goto fail;
    if (s->training) {
      /* two passes: the mean first, then squared deviations from it,
      ** which is exact where sum(x²) − M·mean² would cancel */
      double sum = 0.0;
      for (n = 0; n < sh.n; n++)
        for (l = 0; l < sh.l; l++) sum += xs[n * sh.c * sh.l + l];
      m = sum / (double)sh.m;
      sum = 0.0;
      for (n = 0; n < sh.n; n++)
        for (l = 0; l < sh.l; l++) {
          double d = xs[n * sh.c * sh.l + l] - m;
          sum += d * d;
        }
      v = sum / (double)sh.m;
    } else {
      m = *at1(s->running_mean, c);
      v = *at1(s->running_var, c);
    }
    data_of(mu)[c] = m;
    data_of(var)[c] = v;
    data_of(is)[c] = 1.0 / sqrt(v + s->eps);
    for (n = 0; n < sh.n; n++)
      for (l = 0; l < sh.l; l++) {
        int64_t k = n * sh.c * sh.l + l;
        ys[k] = g * ((xs[k] - m) * data_of(is)[c]) + bt;
      }
  }

  /* Only now, with nothing left to fail, touch the caller's statistics. */
  if (s->training) {
    double mo = s->momentum, unbias = (double)sh.m / (double)(sh.m - 1);
    for (c = 0; c < sh.c; c++) {
      if (s->running_mean != NULL)
        *at1(s->running_mean, c) = (1 - mo) * *at1(s->running_mean, c) + mo * data_of(mu)[c];
      if (s->running_var != NULL)
        *at1(s->running_var, c) =
          (1 - mo) * *at1(s->running_var, c) + mo * data_of(var)[c] * unbias;
    }
    if (s->running_mean != NULL) tensor_bump_version(s->running_mean);
    if (s->running_var != NULL) tensor_bump_version(s->running_var);
  }
  tensor_release(var);
  tensor_release(xc);
  if (mean != NULL) *mean = mu; else tensor_release(mu);
  if (invstd != NULL) *invstd = is; else tensor_release(is);
  return y;
fail:
  tensor_release(var);
  tensor_release(is);
  tensor_release(mu);
  tensor_release(y);
  tensor_release(xc);
  return NULL;
}

int layer_batchnorm_backward(const Tensor *x, const Tensor *gamma, const Tensor *mean,
                             const Tensor *invstd, int training, const Tensor *gy,
                             Tensor **gx, Tensor **ggamma, Tensor **gbeta) {
  NormShape sh;
  Tensor *xc = NULL, *gc = NULL, *dx = NULL, *dg = NULL, *db = NULL;
  int64_t n, c, l;
  int rc;
  char b1[128], b2[128];
  if (gx != NULL) *gx = NULL;
  if (ggamma != NULL) *ggamma = NULL;
  if (gbeta != NULL) *gbeta = NULL;
  if ((rc = norm_shape(x, &sh)) != NN_OK) return rc;
  if (!tensor_same_shape(gy, x))
    return nn_fail(NN_ESHAPE, "gradient has shape %s, want %s (the input shape)",
                   tensor_shape_str(gy, b1, sizeof b1), tensor_shape_str(x, b2, sizeof b2));
  if (mean == NULL || invstd == NULL)
    return nn_fail(NN_EARG, "batch norm backward needs the mean and invstd of the forward");
  if ((rc = check_channels(gamma, "gamma", x)) != NN_OK ||
      (rc = check_channels(mean, "mean", x)) != NN_OK ||
      (rc = check_channels(invstd, "invstd", x)) != NN_OK)
    return rc;

  if ((xc = tensor_contiguous(x)) == NULL || (gc = tensor_contiguous(gy)) == NULL ||
      (gx != NULL && (dx = tensor_new(x->ndim, x->size)) == NULL) ||
      (ggamma != NULL && (dg = tensor_new(1, &sh.c)) == NULL) ||
      (gbeta != NULL && (db = tensor_new(1, &sh.c)) == NULL))
    goto fail;

  for (c = 0; c < sh.c; c++) {
    const double *xs = data_of(xc) + c * sh.l, *gs = data_of(gc) + c * sh.l;
    double m = *at1(mean, c), is = *at1(invstd, c);
    double g = gamma != NULL ? *at1(gamma, c) : 1.0;
    double sg = 0.0, sgx = 0.0, mm = (double)sh.m;
    if (nn_check_interrupt() != NN_OK) goto fail;
    for (n = 0; n < sh.n; n++)
      for (l = 0; l < sh.l; l++) {
        int64_t k = n * sh.c * sh.l + l;
        sg += gs[k];
        sgx += gs[k] * (xs[k] - m) * is;
      }
    if (dg != NULL) data_of(dg)[c] = sgx;
    if (db != NULL) data_of(db)[c] = sg;
    if (dx == NULL) continue;
    for (n = 0; n < sh.n; n++)
      for (l = 0; l < sh.l; l++) {
        int64_t k = n * sh.c * sh.l + l;
        double *d = data_of(dx) + c * sh.l + k;
        if (training)
          *d = g * is / mm * (mm * gs[k] - sg - (xs[k] - m) * is * sgx);
        else
          *d = gs[k] * g * is;
      }
  }
  tensor_release(gc);
  tensor_release(xc);
  if (gx != NULL) *gx = dx;
  if (ggamma != NULL) *ggamma = dg;
  if (gbeta != NULL) *gbeta = db;
  return NN_OK;
fail:
  tensor_release(db);
  tensor_release(dg);
  tensor_release(dx);
  tensor_release(gc);
  tensor_release(xc);
  return nn_errcode();
}
