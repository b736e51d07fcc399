/*
** fn_reduce.c — differentiable reductions and softmax.
**
** Backward works on rows: the reduced dim is moved last and made
** contiguous, so each line along it is a plain array; softmax's backward
** is then s·(g − Σ g·s) per row, O(n) with no n×n Jacobian.
*/
#include <math.h>
#include <string.h>

#include "functions.h"

/* t with `dim` moved last, contiguous (dim < 0: all elements, one row). */
static Tensor *to_rows(const Tensor *t, int dim) {
  int perm[TENSOR_MAXDIM], d, k = 0;
  Tensor *p, *c;
  if (dim < 0) {
    /* a fresh copy: callers read storage->data from 0, so a view with an
    ** offset (x[2]) or strides must not be handed back as it is */
    int64_t n = tensor_numel(t);
    if ((c = tensor_clone(t)) == NULL) return NULL;
    p = tensor_reshape(c, 1, &n);
    tensor_release(c);
    return p;
  }
  for (d = 0; d < t->ndim; d++)
    if (d != dim) perm[k++] = d;
  perm[k] = dim;
  if ((p = tensor_permute(t, perm)) == NULL) return NULL;
  c = tensor_clone(p);
  tensor_release(p);
  return c;
}

/* Inverse of to_rows: back to the shape of like. */
static Tensor *from_rows(const Tensor *r, int dim, const Tensor *like) {
  int perm[TENSOR_MAXDIM], d;
  Tensor *p, *c;
  if (dim < 0) return tensor_reshape(r, like->ndim, like->size);
  /* to_rows put dim last; dims before it stay, later ones shift left by one */
  for (d = 0; d < like->ndim; d++)
    perm[d] = d < dim ? d : (d == dim ? like->ndim - 1 : d - 1);
  if ((p = tensor_permute(r, perm)) == NULL) return NULL;
  c = tensor_clone(p);
  tensor_release(p);
  return c;
}

/* The settings of a reduction's node and of softmax's (dim < 0: all). */
typedef struct ReduceParams {
  int dim, keepdim;
} ReduceParams;

static int rdim(const Node *n) { return AG_PARAMS(n, ReduceParams)->dim; }

/* dL/dy spread back over the input's shape (undoing the reduction). */
static Tensor *spread(const Tensor *g, const Node *n) {
  const Tensor *x = n->in[0];
  const ReduceParams *p = AG_PARAMS(n, ReduceParams);
  Tensor *k, *e, *c;
  if (p->dim < 0) k = tensor_reshape(g, 0, NULL);   /* one value */
  else if (p->keepdim) k = tensor_retain((Tensor *)g);
  else k = tensor_unsqueeze(g, p->dim);
  if (k == NULL) return NULL;
  e = tensor_expand(k, x->ndim, x->size);
  tensor_release(k);
  if (e == NULL) return NULL;
  c = tensor_clone(e);
  tensor_release(e);
  return c;
}

/* The same from fn_* ops, recorded when g requires grad. */
static Tensor *spread_graph(const Tensor *g, const Node *n) {
  const Tensor *x = n->in[0];
  const ReduceParams *p = AG_PARAMS(n, ReduceParams);
  Tensor *k, *e, *c;
  if (p->dim < 0) k = fn_reshape((Tensor *)g, 0, NULL);
  else if (p->keepdim) k = fx_keep(g);
  else k = fn_unsqueeze((Tensor *)g, p->dim);
  e = k ? fn_expand(k, x->ndim, x->size) : NULL;
  tensor_release(k);
  c = e ? fn_contiguous(e) : NULL;
  tensor_release(e);
  return c;
}

/* equal, with NaN equal to NaN: a NaN maximum's "ties" are the NaNs */
static int same(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* ======================================================================
** sum, mean, prod, max, min
** ====================================================================== */

/* The local derivative dy/dx for one row x[0..m-1] into d. */
static void row_local(ReduceOp op, const double *x, int64_t m, double *d, int split_ties) {
  int64_t k;
  switch (op) {
    case OP_SUM:
      for (k = 0; k < m; k++) d[k] = 1.0;
      break;
    case OP_MEAN:
      for (k = 0; k < m; k++) d[k] = 1.0 / (double)m;
      break;
    case OP_PROD: {
      /* product of all the others: prefix · suffix, exact with zeros */
      double p = 1.0;
      for (k = 0; k < m; k++) { d[k] = p; p *= x[k]; }
      p = 1.0;
      for (k = m - 1; k >= 0; k--) { d[k] *= p; p *= x[k]; }
      break;
    }
    default: {   /* max, min: the gradient goes to the winner */
      int want_max = op == OP_MAX;
      int64_t best = 0, ties = 0;
      /* the winner as the forward pass chose it: the first NaN, if any */
      for (k = 1; k < m && !isnan(x[best]); k++)
        if (isnan(x[k]) || (want_max ? x[k] > x[best] : x[k] < x[best])) best = k;
      for (k = 0; k < m; k++) {
        d[k] = 0.0;
        if (same(x[k], x[best])) ties++;
      }
      if (split_ties) {
        /* max of everything: ties share (the subgradient PyTorch picks) */
        for (k = 0; k < m; k++) if (same(x[k], x[best])) d[k] = 1.0 / (double)ties;
      } else {
        d[best] = 1.0;   /* max along a dim: the position it returned */
      }
    }
  }
}

static const OpDesc reduce_table[OP_REDUCE_COUNT];
static ReduceOp reduce_op(const Node *n) { return (ReduceOp)(n->op - reduce_table); }

static Tensor *reduce_local(Node *n, int i) {
  Tensor *r, *d, *out;
  int64_t m, rows, j;
  (void)i;
  if ((r = to_rows(n->in[0], rdim(n))) == NULL) return NULL;
  m = r->ndim > 0 ? r->size[r->ndim - 1] : 1;
  rows = m > 0 ? tensor_numel(r) / m : 0;
  if ((d = tensor_new(r->ndim, r->size)) == NULL) { tensor_release(r); return NULL; }
  for (j = 0; j < rows; j++)
    row_local(reduce_op(n), r->storage->data + j * m, m, d->storage->data + j * m, rdim(n) < 0);
  out = from_rows(d, rdim(n), n->in[0]);
  tensor_release(r);
  tensor_release(d);
  return out;
}

static int reduce_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *s = spread(g, n), *d;
  if (s == NULL) return nn_errcode();
  if (reduce_op(n) == OP_SUM) {
    gin[0] = s;
    return NN_OK;
  }
  if ((d = reduce_local(n, 0)) == NULL) { tensor_release(s); return nn_errcode(); }
  gin[0] = op_binary(OP_MUL, s, d);
  tensor_release(s);
  tensor_release(d);
  return gin[0] ? NN_OK : nn_errcode();
}

/* prod's create_graph backward divides by the elements (first_order_at) */
static const char *prod_at_zero(const Node *n) {
  int64_t k, m = tensor_numel(n->in[0]);
  if (reduce_op(n) != OP_PROD) return NULL;
  for (k = 0; k < m; k++)
    if (tensor_get_flat(n->in[0], k) == 0) return "the second derivative of prod at a zero element is not available";
  return NULL;
}

static int reduce_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *x = n->in[0], *s = spread_graph(g, n);
  const ReduceParams *p = AG_PARAMS(n, ReduceParams);
  switch (reduce_op(n)) {
    case OP_SUM: gin[0] = s; break;
    case OP_MEAN: {
      double m = p->dim < 0 ? (double)tensor_numel(x) : (double)x->size[p->dim];
      gin[0] = fx_num(OP_DIV, s, m, 0);
      break;
    }
    case OP_PROD: {   /* the product of the others is y / x_i, away from zeros */
      const char *why = prod_at_zero(n);
      if (why != NULL) {
        tensor_release(s);
        return nn_fail(NN_EARG, "prod: %s (create_graph); the first derivative is", why);
      }
      gin[0] = fx_bin(OP_MUL, s, fx_bin(OP_DIV, p->dim < 0 ? fn_reduce_all(OP_PROD, x)
                                                           : fn_reduce(OP_PROD, x, p->dim, 1),
                                        fx_keep(x)));
      break;
    }
    default:   /* max, min: the winner's mask, a constant */
      gin[0] = fx_bin(OP_MUL, s, reduce_local(n, 0));
  }
  return gin[0] ? NN_OK : nn_errcode();
}

#define REDUCE(nm, r)                                                          \
  { .name = nm, .arity = 1, .backward = reduce_backward,                      \
    .backward_graph = reduce_backward_graph, .rule = { r }, .local = reduce_local, \
    .first_order_at = prod_at_zero, .params_size = sizeof(ReduceParams) }
/* positions, not values: no gradient, no node */
#define REDUCE_FLAT(nm) { .name = nm, .arity = 1, .backward = NULL }

OP_TABLE_BEGIN(reduce_table);
static const OpDesc reduce_table[] = {
  OP_ROW(OP_SUM) = REDUCE("sum", "dL/d%0 = dL/d%o (copied to every element summed)"),
  OP_ROW(OP_MEAN) = REDUCE("mean", "dL/d%0 = dL/d%o · 1/n"),
  OP_ROW(OP_MAX) = REDUCE("max", "dL/d%0 = dL/d%o at the maximum, 0 elsewhere"),
  OP_ROW(OP_MIN) = REDUCE("min", "dL/d%0 = dL/d%o at the minimum, 0 elsewhere"),
  OP_ROW(OP_ARGMAX) = REDUCE_FLAT("argmax"),
  OP_ROW(OP_ARGMIN) = REDUCE_FLAT("argmin"),
  OP_ROW(OP_PROD) = REDUCE("prod", "dL/d%0_i = dL/d%o · (product of the other elements)"),
};
OP_TABLE_END(reduce_table, OP_REDUCE_COUNT);

const OpDesc *fn_reduce_desc(ReduceOp op) { return &reduce_table[op]; }

Tensor *fn_reduce(ReduceOp op, Tensor *a, int dim, int keepdim) {
  ReduceParams p;
  Tensor *out = op_reduce(op, a, dim, keepdim);
  if (reduce_table[op].backward == NULL) return out;
  p.dim = dim;
  p.keepdim = keepdim;
  return fn_link(out, &reduce_table[op], 1, &a, &p, NULL);
}

Tensor *fn_reduce_all(ReduceOp op, Tensor *a) {
  double v;
  ReduceParams p;
  Tensor *out;
  if (op_reduce_all(op, a, &v) != NN_OK) return NULL;
  out = tensor_scalar(v);
  if (reduce_table[op].backward == NULL) return out;
  p.dim = -1;
  p.keepdim = 0;
  return fn_link(out, &reduce_table[op], 1, &a, &p, NULL);
}

/* ======================================================================
** softmax and log-softmax along a dim
** ====================================================================== */

static const OpDesc softmax_table[FN_SOFTMAX_COUNT];
static int is_log_form(const Node *n) { return n->op == &softmax_table[FN_LOG_SOFTMAX]; }

static int softmax_backward(Node *n, const Tensor *g, Tensor **gin) {
  int log_form = is_log_form(n), dim = rdim(n);
  Tensor *x = to_rows(n->in[0], dim), *gr = x ? to_rows(g, dim) : NULL, *s;
  int64_t m, rows, j, k;
  if (gr == NULL) { tensor_release(x); return nn_errcode(); }
  m = x->size[x->ndim - 1];
  rows = m > 0 ? tensor_numel(x) / m : 0;
  if ((s = op_softmax(x, x->ndim - 1)) == NULL) {
    tensor_release(x);
    tensor_release(gr);
    return nn_errcode();
  }
  for (j = 0; j < rows; j++) {
    double *sp = s->storage->data + j * m, *gp = gr->storage->data + j * m, acc = 0.0;
    if (log_form) {
      /* y = x - logsumexp(x):  dx = g - softmax(x) · Σ g */
      for (k = 0; k < m; k++) acc += gp[k];
      for (k = 0; k < m; k++) gp[k] -= sp[k] * acc;
    } else {
      /* y = softmax(x):  dx = s · (g - Σ g·s) */
      for (k = 0; k < m; k++) acc += gp[k] * sp[k];
      for (k = 0; k < m; k++) gp[k] = sp[k] * (gp[k] - acc);
    }
  }
  gin[0] = from_rows(gr, dim, n->in[0]);
  tensor_release(x);
  tensor_release(gr);
  tensor_release(s);
  return gin[0] ? NN_OK : nn_errcode();
}

/* The same formulas from fn_* ops (the sums kept along dim, broadcast). */
static int softmax_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  int dim = rdim(n);
  Tensor *s = fn_softmax(n->in[0], dim), *sum;
  if (s == NULL) return nn_errcode();
  if (is_log_form(n)) {   /* g - s · Σ g */
    sum = fn_reduce(OP_SUM, (Tensor *)g, dim, 1);
    gin[0] = fx_bin(OP_SUB, fx_keep(g), fx_bin(OP_MUL, s, sum));
  } else {   /* s · (g - Σ g·s) */
    Tensor *gs = fn_binary(OP_MUL, (Tensor *)g, s);
    sum = gs ? fn_reduce(OP_SUM, gs, dim, 1) : NULL;
    tensor_release(gs);
    gin[0] = fx_bin(OP_MUL, s, fx_bin(OP_SUB, fx_keep(g), sum));
  }
  return gin[0] ? NN_OK : nn_errcode();
}

OP_TABLE_BEGIN(softmax_table);
static const OpDesc softmax_table[] = {
  OP_ROW(FN_SOFTMAX) = { .name = "softmax", .arity = 1, .backward = softmax_backward,
    .backward_graph = softmax_backward_graph, .params_size = sizeof(ReduceParams),
    .rule = { "dL/d%0 = %o · (dL/d%o - Σ dL/d%o · %o)" } },
  OP_ROW(FN_LOG_SOFTMAX) = { .name = "log_softmax", .arity = 1, .backward = softmax_backward,
    .backward_graph = softmax_backward_graph, .params_size = sizeof(ReduceParams),
    .rule = { "dL/d%0 = dL/d%o - softmax(%0) · Σ dL/d%o" } },
};
OP_TABLE_END(softmax_table, FN_SOFTMAX_COUNT);

static Tensor *softmax_common(Tensor *a, int dim, SoftmaxOp op) {
  ReduceParams p;
  Tensor *out = op == FN_LOG_SOFTMAX ? op_log_softmax(a, dim) : op_softmax(a, dim);
  p.dim = dim;
  p.keepdim = 1;
  return fn_link(out, &softmax_table[op], 1, &a, &p, NULL);
}

Tensor *fn_softmax(Tensor *a, int dim) { return softmax_common(a, dim, FN_SOFTMAX); }
Tensor *fn_log_softmax(Tensor *a, int dim) { return softmax_common(a, dim, FN_LOG_SOFTMAX); }
