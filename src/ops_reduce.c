/*
** ops_reduce.c — reductions (sum, mean, max, min, argmax, argmin, prod)
** over one dimension or all elements, and softmax / log-softmax.
**
** All of them share one walk: a view of the input with the reduced dim
** selected away is iterated alongside the output, and at each output
** element a short loop runs down the reduced dim with its stride.
*/
#include <math.h>
#include <string.h>

#include "ops.h"

OP_TABLE_BEGIN(op_reduce_name);
const char *const op_reduce_name[] = {
  OP_ROW(OP_SUM) = "sum", OP_ROW(OP_MEAN) = "mean", OP_ROW(OP_MAX) = "max",
  OP_ROW(OP_MIN) = "min", OP_ROW(OP_ARGMAX) = "argmax", OP_ROW(OP_ARGMIN) = "argmin",
  OP_ROW(OP_PROD) = "prod",
};
OP_TABLE_END(op_reduce_name, OP_REDUCE_COUNT);

/* Pairwise summation, as NumPy's sum and PyTorch's cascade sum do: the
** rounding error grows as log n instead of n (a million 0.1s are 1e-16
** off, not 1e-11), and eight running sums instead of one chain let the
** additions overlap.  Below 8 values the order is the written one. */
#define PAIRWISE_BLOCK 128

double op_sum_line(const double *p, int64_t n, int64_t stride) {
  int64_t k, j;
  if (n < 8) {
    double acc = 0.0;
    for (k = 0; k < n; k++) acc += p[k * stride];
    return acc;
  }
  if (n <= PAIRWISE_BLOCK) {
    double r[8], acc;
    for (j = 0; j < 8; j++) r[j] = p[j * stride];
    for (k = 8; k + 8 <= n; k += 8)
      for (j = 0; j < 8; j++) r[j] += p[(k + j) * stride];
    acc = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; k < n; k++) acc += p[k * stride];
    return acc;
  }
  k = n / 2 / 8 * 8;   /* halves in whole blocks of eight */
  return op_sum_line(p, k, stride) + op_sum_line(p + k * stride, n - k, stride);
}

/* Reduces n values spaced `stride` apart. */
static double reduce_line(ReduceOp op, const double *p, int64_t n, int64_t stride) {
  int64_t k, best = 0;
  double acc;
  switch (op) {
    case OP_SUM: case OP_MEAN:
      acc = op_sum_line(p, n, stride);
      return op == OP_MEAN ? acc / (double)n : acc;
    case OP_PROD:
      acc = 1.0;
      for (k = 0; k < n; k++) acc *= p[k * stride];
      return acc;
    default: {
      int want_max = op == OP_MAX || op == OP_ARGMAX;
      for (k = 1; k < n && !isnan(p[best * stride]); k++) {
        double v = p[k * stride], b = p[best * stride];
        /* the first NaN wins: max of data with a NaN is NaN */
        if (isnan(v) || (want_max ? v > b : v < b)) best = k;
      }
      if (op == OP_ARGMAX || op == OP_ARGMIN) return (double)best;
      return p[best * stride];
    }
  }
}

static int needs_elements(ReduceOp op) {
  return op == OP_MAX || op == OP_MIN || op == OP_ARGMAX || op == OP_ARGMIN;
}

static int check_reduce_dim(const Tensor *a, int dim) {
  if (dim < 0 || dim >= a->ndim)
    return nn_fail(NN_EINDEX, "dimension %d out of range (tensor has %d)",
                   dim + 1, a->ndim);
  return NN_OK;
}

/* The output of reducing `dim`, with the dim kept (size 1) so that it
** lines up with the input; the caller squeezes it when !keepdim. */
static Tensor *reduce_out(const Tensor *a, int dim) {
  int64_t size[TENSOR_MAXDIM];
  memcpy(size, a->size, sizeof size);
  size[dim] = 1;
  return tensor_new(a->ndim, size);
}

/* Runs fn over every line along `dim` of a, writing into out (shaped like
** a but with size 1 at dim); `b` optionally receives a full-size result. */
typedef void (*LineFn)(void *ud, double *dst, int64_t dstride,
                       const double *src, int64_t n, int64_t stride);

static int each_line(const Tensor *a, int dim, Tensor *out, LineFn fn, void *ud,
                     int out_is_full) {
  Tensor *sa, *so, *ops[2];
  TensorIter it;
  int64_t i, n = a->size[dim], st = a->stride[dim], ost = out->stride[dim];
  sa = tensor_select(a, dim, 0);
  so = sa ? tensor_select(out, dim, 0) : NULL;
  if (so == NULL) { tensor_release(sa); return nn_errcode(); }
  ops[0] = so; ops[1] = sa;
  tensor_iter_init(&it, 2, ops);
  while (tensor_iter_next(&it)) {
    for (i = 0; i < it.inner; i++)
      fn(ud, it.ptr[0] + i * it.istride[0], out_is_full ? ost : 0,
         it.ptr[1] + i * it.istride[1], n, st);
    if (nn_interrupted) break;
  }
  tensor_release(sa);
  tensor_release(so);
  return nn_check_interrupt();
}

static void reduce_fn(void *ud, double *dst, int64_t ds, const double *src,
                      int64_t n, int64_t stride) {
  (void)ds;
  *dst = reduce_line(*(ReduceOp *)ud, src, n, stride);
}

Tensor *op_reduce(ReduceOp op, const Tensor *a, int dim, int keepdim) {
  Tensor *out, *sq;
  char b[128];
  if (check_reduce_dim(a, dim) != NN_OK) return NULL;
  if (a->size[dim] == 0 && needs_elements(op)) {
    nn_fail(NN_ESHAPE, "%s over dimension %d of size 0 (shape %s) has no elements",
            op_reduce_name[op], dim + 1, tensor_shape_str(a, b, sizeof b));
    return NULL;
  }
  if ((out = reduce_out(a, dim)) == NULL) return NULL;
  if (a->size[dim] == 0) {
    tensor_fill(out, reduce_line(op, NULL, 0, 1));   /* empty sum 0, prod 1 */
  } else if (each_line(a, dim, out, reduce_fn, &op, 0) != NN_OK) {
    tensor_release(out);
    return NULL;
  }
  if (keepdim) return out;
  sq = tensor_squeeze(out, dim);
  tensor_release(out);
  return sq;
}

int op_reduce_all(ReduceOp op, const Tensor *a, double *result) {
  int64_t n = tensor_numel(a);
  Tensor *c, *flat;
  if (n == 0 && needs_elements(op))
    return nn_fail(NN_ESHAPE, "%s of an empty tensor", op_reduce_name[op]);
  if ((c = tensor_contiguous(a)) == NULL) return nn_errcode();
  flat = c;
  *result = reduce_line(op, flat->storage->data + flat->offset, n, 1);
  tensor_release(c);
  return NN_OK;
}

/* ======================================================================
** softmax / log-softmax:  s_i = e^(x_i - m) / sum_j e^(x_j - m),  m = max x
** ====================================================================== */

static void softmax_line(void *ud, double *dst, int64_t ds, const double *src,
                         int64_t n, int64_t stride) {
  int log_form = *(int *)ud;
  double m = -INFINITY, z = 0.0;
  int64_t k;
  for (k = 0; k < n; k++) m = fmax(m, src[k * stride]);
  if (isinf(m) && m < 0) m = 0.0;   /* all -inf: avoid -inf - -inf = NaN */
  for (k = 0; k < n; k++) z += exp(src[k * stride] - m);
  for (k = 0; k < n; k++) {
    double v = src[k * stride] - m;
    dst[k * ds] = log_form ? v - log(z) : exp(v) / z;
  }
}

static Tensor *softmax_common(const Tensor *a, int dim, int log_form) {
  Tensor *out;
  if (a->ndim == 0) {
    nn_fail(NN_ESHAPE, "needs at least one dimension (got a scalar)");
    return NULL;
  }
  if (check_reduce_dim(a, dim) != NN_OK) return NULL;
  if ((out = tensor_new(a->ndim, a->size)) == NULL) return NULL;
  if (tensor_numel(a) == 0) return out;
  if (each_line(a, dim, out, softmax_line, &log_form, 1) != NN_OK) {
    tensor_release(out);
    return NULL;
  }
  return out;
}

Tensor *op_softmax(const Tensor *a, int dim) { return softmax_common(a, dim, 0); }
Tensor *op_log_softmax(const Tensor *a, int dim) { return softmax_common(a, dim, 1); }
