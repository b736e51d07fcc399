/*
** losses.c — the losses of losses.h.  Elementwise losses share one walk
** (a per-element value and derivative); the classification losses work
** row by row on N x C, with softmax computed stably.
*/
#include "losses.h"

#include <math.h>
#include <string.h>

#include "ops.h"
#include "optable.h"

OP_TABLE_BEGIN(loss_name);
const char *const loss_name[] = {
  OP_ROW(LOSS_MSE) = "mse_loss", OP_ROW(LOSS_L1) = "l1_loss",
  OP_ROW(LOSS_BCE) = "binary_cross_entropy",
  OP_ROW(LOSS_BCE_LOGITS) = "binary_cross_entropy_with_logits",
  OP_ROW(LOSS_CROSS_ENTROPY) = "cross_entropy", OP_ROW(LOSS_NLL) = "nll_loss",
};
OP_TABLE_END(loss_name, LOSS_COUNT);

/* PyTorch clamps the logs of BCE at -100 so that p = 0 or 1 stays finite */
static double clamped_log(double v) { double l = log(v); return l < -100 ? -100 : l; }

/* ======================================================================
** Elementwise losses: l(x, t) and dl/dx (dl/dt = -dl/dx for mse, l1)
** ====================================================================== */

static double value(LossKind k, double x, double t) {
  switch (k) {
    case LOSS_MSE: return (x - t) * (x - t);
    case LOSS_L1: return fabs(x - t);
    case LOSS_BCE: return -(t * clamped_log(x) + (1 - t) * clamped_log(1 - x));
    default:   /* with logits: max(x,0) - x t + log(1 + e^-|x|), stable */
      return fmax(x, 0) - x * t + log1p(exp(-fabs(x)));
  }
}

static double deriv(LossKind k, double x, double t) {
  switch (k) {
    case LOSS_MSE: return 2 * (x - t);
    case LOSS_L1: return (x > t) - (x < t);   /* 0 at x = t */
    case LOSS_BCE: {
      double d = x * (1 - x);
      return (x - t) / (d > 1e-12 ? d : 1e-12);
    }
    default: return op_unary_apply(OP_SIGMOID, x) - t;
  }
}

static int elementwise(LossKind k) {
  return k == LOSS_MSE || k == LOSS_L1 || k == LOSS_BCE || k == LOSS_BCE_LOGITS;
}

static int check_same(const Tensor *x, const Tensor *t) {
  char b1[128], b2[128];
  if (!tensor_same_shape(x, t))
    return nn_fail(NN_ESHAPE, "target shape %s does not match input shape %s",
                   tensor_shape_str(t, b1, sizeof b1), tensor_shape_str(x, b2, sizeof b2));
  return NN_OK;
}

static int check_probs(const Tensor *x) {
  int64_t i, n = tensor_numel(x);
  Tensor *hold;
  const double *v = tensor_rowmajor(x, &hold);
  double bad;
  if (v == NULL) return nn_errcode();
  for (i = 0; i < n && v[i] >= 0 && v[i] <= 1; i++) continue;
  bad = i < n ? v[i] : 0.0;
  tensor_release(hold);
  if (i < n)
    return nn_fail(NN_EARG, "the input must be probabilities in [0, 1]; element %lld is %g "
                   "(binary_cross_entropy_with_logits takes raw scores)", (long long)i + 1, bad);
  return NN_OK;
}

/* Sum or mean of the values in `each` (a fresh tensor), or each itself. */
static Tensor *reduce(Tensor *each, Reduction red, int64_t count) {
  double s;
  if (each == NULL || red == RED_NONE) return each;
  s = op_sum_line(each->storage->data, tensor_numel(each), 1);
  tensor_release(each);
  return tensor_scalar(red == RED_MEAN ? s / (double)count : s);
}

/* The upstream gradient for item i of `count` (gy is one value or one
** per item, by the reduction). */
static double upstream(const Tensor *gy, Reduction red, int64_t i, int64_t count) {
  if (red == RED_NONE) return tensor_get_flat(gy, i);
  return tensor_get_flat(gy, 0) / (red == RED_MEAN ? (double)count : 1.0);
}

/* ======================================================================
** Classification: rows of C scores
** ====================================================================== */

typedef struct Rows {
  int64_t n, c;          /* n rows of c classes */
  Tensor *x, *t;         /* contiguous copies */
} Rows;

static int class_of(const Rows *r, int64_t i, int64_t *cls) {
  double v = r->t->storage->data[r->t->offset + i];
  if (isnan(v))
    return nn_fail(NN_EARG, "class index of sample %lld is NaN", (long long)i + 1);
  if (v != floor(v))
    return nn_fail(NN_EARG, "class index %g of sample %lld is not a whole number "
                   "(targets are class numbers 1..%lld)", v + 1, (long long)i + 1,
                   (long long)r->c);
  if (v < 0 || v >= (double)r->c)
    return nn_fail(NN_EINDEX, "class index %g of sample %lld is out of range "
                   "for %lld classes (classes are 1..%lld)", v + 1,
                   (long long)i + 1, (long long)r->c, (long long)r->c);
  *cls = (int64_t)v;
  return NN_OK;
}

static int rows_open(Rows *r, const Tensor *x, const Tensor *t, int probs) {
  char b1[128], b2[128];
  memset(r, 0, sizeof *r);
  if (x->ndim != 1 && x->ndim != 2)
    return nn_fail(NN_ESHAPE, "the scores must have shape C or N x C, got %s",
                   tensor_shape_str(x, b1, sizeof b1));
  r->n = x->ndim == 2 ? x->size[0] : 1;
  r->c = x->size[x->ndim - 1];
  if (probs ? !tensor_same_shape(x, t)
            : (tensor_numel(t) != r->n || t->ndim > 1 || (x->ndim == 2 && t->ndim != 1)))
    return nn_fail(NN_ESHAPE, "target shape %s does not fit input %s (%s)",
                   tensor_shape_str(t, b1, sizeof b1),
                   tensor_shape_str(x, b2, sizeof b2),
                   probs ? "probabilities need the input's shape"
                         : "class indices need one per sample");
  if (r->c == 0) return nn_fail(NN_ESHAPE, "no classes in input");
  r->x = tensor_contiguous(x);
  r->t = r->x ? tensor_contiguous(t) : NULL;
  if (r->t == NULL) { tensor_release(r->x); return nn_errcode(); }
  return NN_OK;
}

static void rows_close(Rows *r) {
  tensor_release(r->x);
  tensor_release(r->t);
}

/* log-softmax of row i into out[0..c-1] */
static void log_softmax_row(const Rows *r, int64_t i, double *out) {
  const double *x = r->x->storage->data + r->x->offset + i * r->c;
  double m = -INFINITY, z = 0;
  int64_t j;
  for (j = 0; j < r->c; j++) m = fmax(m, x[j]);
  for (j = 0; j < r->c; j++) z += exp(x[j] - m);
  for (j = 0; j < r->c; j++) out[j] = x[j] - m - log(z);
}

/* Per-sample losses, n values. */
static Tensor *classify(LossKind k, Rows *r, int probs) {
  Tensor *each = tensor_new(1, &r->n), *tmp;
  int64_t i, j;
  if (each == NULL) return NULL;
  if ((tmp = tensor_new(1, &r->c)) == NULL) { tensor_release(each); return NULL; }
  for (i = 0; i < r->n; i++) {
    double *ls = tmp->storage->data, l = 0;
    const double *t = r->t->storage->data + r->t->offset;
    if (k == LOSS_CROSS_ENTROPY) log_softmax_row(r, i, ls);
    else memcpy(ls, r->x->storage->data + r->x->offset + i * r->c, (size_t)r->c * sizeof *ls);
    if (probs) {
      for (j = 0; j < r->c; j++) l -= t[i * r->c + j] * ls[j];
    } else {
      int64_t cls;
      if (class_of(r, i, &cls) != NN_OK) { tensor_release(each); tensor_release(tmp); return NULL; }
      l = -ls[cls];
    }
    each->storage->data[i] = l;
  }
  tensor_release(tmp);
  return each;
}

/* ======================================================================
** Entry points
** ====================================================================== */

Tensor *loss_forward(LossKind k, const Tensor *x, const Tensor *t, int probs, Reduction red) {
  if (elementwise(k)) {
    Tensor *each, *ops[3];
    TensorIter it;
    int64_t i;
    if (check_same(x, t) != NN_OK) return NULL;
    if (k == LOSS_BCE && check_probs(x) != NN_OK) return NULL;
    if ((each = tensor_new(x->ndim, x->size)) == NULL) return NULL;
    ops[0] = each; ops[1] = (Tensor *)x; ops[2] = (Tensor *)t;
    tensor_iter_init(&it, 3, ops);
    while (tensor_iter_next(&it))
      for (i = 0; i < it.inner; i++)
        it.ptr[0][i * it.istride[0]] = value(k, it.ptr[1][i * it.istride[1]], it.ptr[2][i * it.istride[2]]);
    return reduce(each, red, tensor_numel(x));
  } else {
    Rows r;
    Tensor *each;
    if (rows_open(&r, x, t, probs) != NN_OK) return NULL;
    each = classify(k, &r, probs);
    rows_close(&r);
    if (each != NULL && x->ndim == 1 && red == RED_NONE) {   /* one sample: a single value */
      Tensor *one = tensor_reshape(each, 0, NULL);
      tensor_release(each);
      return one;
    }
    return reduce(each, red, r.n);
  }
}

int loss_backward(LossKind k, const Tensor *x, const Tensor *t, int probs, Reduction red,
                  const Tensor *gy, Tensor **gx, Tensor **gt) {
  int64_t i, j, n;
  *gx = NULL;
  if (gt) *gt = NULL;
  if (elementwise(k)) {
    Tensor *ops[4];
    TensorIter it;
    double g0;   /* the upstream gradient of every item, unless RED_NONE gives one each */
    n = tensor_numel(x);
    g0 = red == RED_NONE ? 0.0 : upstream(gy, red, 0, n);
    if ((*gx = tensor_new(x->ndim, x->size)) == NULL) return nn_errcode();
    ops[0] = *gx; ops[1] = (Tensor *)x; ops[2] = (Tensor *)t; ops[3] = (Tensor *)gy;
    tensor_iter_init(&it, red == RED_NONE ? 4 : 3, ops);
    while (tensor_iter_next(&it))
      for (i = 0; i < it.inner; i++)
        it.ptr[0][i * it.istride[0]] = (red == RED_NONE ? it.ptr[3][i * it.istride[3]] : g0) *
                                       deriv(k, it.ptr[1][i * it.istride[1]], it.ptr[2][i * it.istride[2]]);
    if (gt != NULL && (k == LOSS_MSE || k == LOSS_L1)) {
      if ((*gt = op_unary(OP_NEG, *gx)) == NULL) return nn_errcode();
    }
    return NN_OK;
  } else {
    Rows r;
    Tensor *ls;
    int rc = rows_open(&r, x, t, probs);
    if (rc != NN_OK) return rc;
    *gx = tensor_zeros(x->ndim, x->size);
    ls = *gx ? tensor_new(1, &r.c) : NULL;
    if (ls == NULL) { rows_close(&r); return nn_errcode(); }
    for (i = 0; i < r.n && rc == NN_OK; i++) {
      double g = upstream(gy, red, i, r.n), *row = (*gx)->storage->data + i * r.c;
      const double *tp = r.t->storage->data + r.t->offset;
      int64_t cls = -1;
      double tsum = 1.0;
      if (!probs && (rc = class_of(&r, i, &cls)) != NN_OK) break;
      if (k == LOSS_NLL) {   /* d(-x[cls])/dx = -onehot */
        if (probs) for (j = 0; j < r.c; j++) row[j] = -g * tp[i * r.c + j];
        else row[cls] = -g;
        continue;
      }
      /* cross entropy: softmax(x)·Σt − t, which is softmax − onehot */
      log_softmax_row(&r, i, ls->storage->data);
      if (probs) for (tsum = 0, j = 0; j < r.c; j++) tsum += tp[i * r.c + j];
      for (j = 0; j < r.c; j++) {
        double target = probs ? tp[i * r.c + j] : (j == cls);
        row[j] = g * (exp(ls->storage->data[j]) * tsum - target);
      }
    }
    tensor_release(ls);
    rows_close(&r);
    if (rc != NN_OK) { tensor_release(*gx); *gx = NULL; }
    return rc;
  }
}
