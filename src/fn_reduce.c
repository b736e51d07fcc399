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

/* dL/dy spread back over the input's shape (undoing the reduction). */
static Tensor *spread(const Tensor *g, const Node *n) {
  const Tensor *x = n->in[0];
  Tensor *k, *e, *c;
  if (n->dim < 0) k = tensor_reshape(g, 0, NULL);   /* one value */
  else if (n->keepdim) k = tensor_retain((Tensor *)g);
  else k = tensor_unsqueeze(g, n->dim);
  if (k == NULL) return NULL;
  e = tensor_expand(k, x->ndim, x->size);
  tensor_release(k);
  if (e == NULL) return NULL;
  c = tensor_clone(e);
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

static Tensor *reduce_local(Node *n, int i) {
  Tensor *r, *d, *out;
  int64_t m, rows, j;
  (void)i;
  if ((r = to_rows(n->in[0], n->dim)) == NULL) return NULL;
  m = r->ndim > 0 ? r->size[r->ndim - 1] : 1;
  rows = m > 0 ? tensor_numel(r) / m : 0;
  if ((d = tensor_new(r->ndim, r->size)) == NULL) { tensor_release(r); return NULL; }
  for (j = 0; j < rows; j++)
    row_local((ReduceOp)n->aux[0], r->storage->data + j * m, m, d->storage->data + j * m,
              n->dim < 0);
  out = from_rows(d, n->dim, n->in[0]);
  tensor_release(r);
  tensor_release(d);
  return out;
}

static int reduce_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *s = spread(g, n), *d;
  if (s == NULL) return nn_errcode();
  if ((ReduceOp)n->aux[0] == OP_SUM) {
    gin[0] = s;
    return NN_OK;
  }
  if ((d = reduce_local(n, 0)) == NULL) { tensor_release(s); return nn_errcode(); }
  gin[0] = op_binary(OP_MUL, s, d);
  tensor_release(s);
  tensor_release(d);
  return gin[0] ? NN_OK : nn_errcode();
}

#define REDUCE(name, rule) { name, reduce_backward, { rule, NULL }, reduce_local }
static const OpDesc reduce_desc[OP_REDUCE_COUNT] = {
  REDUCE("sum", "dL/d%0 = dL/d%o (copied to every element summed)"),
  REDUCE("mean", "dL/d%0 = dL/d%o · 1/n"),
  REDUCE("max", "dL/d%0 = dL/d%o at the maximum, 0 elsewhere"),
  REDUCE("min", "dL/d%0 = dL/d%o at the minimum, 0 elsewhere"),
  REDUCE("argmax", NULL), REDUCE("argmin", NULL),
  REDUCE("prod", "dL/d%0_i = dL/d%o · (product of the other elements)"),
};

static int differentiable(ReduceOp op) { return op != OP_ARGMAX && op != OP_ARGMIN; }

Tensor *fn_reduce(ReduceOp op, Tensor *a, int dim, int keepdim) {
  Node *n;
  Tensor *out = op_reduce(op, a, dim, keepdim);
  if (!differentiable(op)) return out;
  out = fn_link(out, &reduce_desc[op], 1, &a, &n);
  if (n != NULL) {
    n->aux[0] = op;
    n->dim = dim;
    n->keepdim = keepdim;
  }
  return out;
}

Tensor *fn_reduce_all(ReduceOp op, Tensor *a) {
  double v;
  Node *n;
  Tensor *out;
  if (op_reduce_all(op, a, &v) != NN_OK) return NULL;
  out = tensor_scalar(v);
  if (!differentiable(op)) return out;
  out = fn_link(out, &reduce_desc[op], 1, &a, &n);
  if (n != NULL) {
    n->aux[0] = op;
    n->dim = -1;
  }
  return out;
}

/* ======================================================================
** softmax and log-softmax along a dim
** ====================================================================== */

static int softmax_backward(Node *n, const Tensor *g, Tensor **gin) {
  int log_form = (int)n->aux[0];
  Tensor *x = to_rows(n->in[0], n->dim), *gr = x ? to_rows(g, n->dim) : NULL, *s;
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
  gin[0] = from_rows(gr, n->dim, n->in[0]);
  tensor_release(x);
  tensor_release(gr);
  tensor_release(s);
  return gin[0] ? NN_OK : nn_errcode();
}

static const OpDesc softmax_desc = {
  "softmax", softmax_backward, { "dL/d%0 = %o · (dL/d%o - Σ dL/d%o · %o)", NULL }, NULL
};
static const OpDesc log_softmax_desc = {
  "log_softmax", softmax_backward, { "dL/d%0 = dL/d%o - softmax(%0) · Σ dL/d%o", NULL }, NULL
};

static Tensor *softmax_common(Tensor *a, int dim, int log_form) {
  Node *n;
  Tensor *out = log_form ? op_log_softmax(a, dim) : op_softmax(a, dim);
  out = fn_link(out, log_form ? &log_softmax_desc : &softmax_desc, 1, &a, &n);
  if (n != NULL) {
    n->dim = dim;
    n->aux[0] = log_form;
  }
  return out;
}

Tensor *fn_softmax(Tensor *a, int dim) { return softmax_common(a, dim, 0); }
Tensor *fn_log_softmax(Tensor *a, int dim) { return softmax_common(a, dim, 1); }
