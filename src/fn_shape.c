/*
** fn_shape.c — differentiable views, indexing and joins.  A view's
** backward puts the gradient back where the view looked: reshaped,
** transposed back, or written into a zero tensor at the selected place.
*/
#include <stdlib.h>
#include <string.h>

#include "functions.h"

/* A contiguous copy of g in the shape of the node's input. */
static int reshape_back(Node *n, const Tensor *g, Tensor **gin) {
  const Tensor *x = n->in[0];
  Tensor *c = tensor_clone(g);
  if (c == NULL) return nn_errcode();
  gin[0] = tensor_view(c, x->ndim, x->size);
  tensor_release(c);
  return gin[0] ? NN_OK : nn_errcode();
}

static const OpDesc view_desc = {
  "view", reshape_back, { "dL/d%0 = dL/d%o reshaped to the shape of %0", NULL }, NULL
};
static const OpDesc squeeze_desc = {
  "squeeze", reshape_back, { "dL/d%0 = dL/d%o reshaped to the shape of %0", NULL }, NULL
};
static const OpDesc clone_desc = { "clone", reshape_back, { "dL/d%0 = dL/d%o", NULL }, NULL };

Tensor *fn_view(Tensor *t, int ndim, const int64_t *size) {
  return fn_link(tensor_view(t, ndim, size), &view_desc, 1, &t, NULL);
}

Tensor *fn_reshape(Tensor *t, int ndim, const int64_t *size) {
  return fn_link(tensor_reshape(t, ndim, size), &view_desc, 1, &t, NULL);
}

Tensor *fn_squeeze(Tensor *t, int dim) {
  return fn_link(tensor_squeeze(t, dim), &squeeze_desc, 1, &t, NULL);
}

Tensor *fn_unsqueeze(Tensor *t, int dim) {
  return fn_link(tensor_unsqueeze(t, dim), &squeeze_desc, 1, &t, NULL);
}

Tensor *fn_clone(Tensor *t) {
  return fn_link(tensor_clone(t), &clone_desc, 1, &t, NULL);
}

Tensor *fn_contiguous(Tensor *t) {
  /* already contiguous: the same tensor, so no node is needed */
  if (tensor_is_contiguous(t)) return tensor_retain(t);
  return fn_clone(t);
}

/* ---- transpose and permute: apply the inverse permutation ------------------ */

static int permute_backward(Node *n, const Tensor *g, Tensor **gin) {
  int inv[TENSOR_MAXDIM], d;
  Tensor *p;
  for (d = 0; d < n->in[0]->ndim; d++) inv[n->aux[d]] = d;
  if ((p = tensor_permute(g, inv)) == NULL) return nn_errcode();
  gin[0] = tensor_clone(p);
  tensor_release(p);
  return gin[0] ? NN_OK : nn_errcode();
}

static const OpDesc permute_desc = {
  "permute", permute_backward, { "dL/d%0 = dL/d%o with the dims put back", NULL }, NULL
};
static const OpDesc transpose_desc = {
  "transpose", permute_backward, { "dL/d%0 = (dL/d%o)ᵀ", NULL }, NULL
};

static Tensor *permuted(Tensor *t, Tensor *out, const int *perm, const OpDesc *desc) {
  Node *n;
  int d;
  out = fn_link(out, desc, 1, &t, &n);
  if (n != NULL)
    for (d = 0; d < t->ndim; d++) n->aux[d] = perm[d];
  return out;
}

Tensor *fn_permute(Tensor *t, const int *perm) {
  return permuted(t, tensor_permute(t, perm), perm, &permute_desc);
}

Tensor *fn_transpose(Tensor *t, int d0, int d1) {
  int perm[TENSOR_MAXDIM], d;
  for (d = 0; d < t->ndim; d++) perm[d] = d;
  if (d0 >= 0 && d0 < t->ndim && d1 >= 0 && d1 < t->ndim) {
    perm[d0] = d1;
    perm[d1] = d0;
  }
  return permuted(t, tensor_transpose(t, d0, d1), perm, &transpose_desc);
}

Tensor *fn_t(Tensor *t) {
  if (t->ndim == 2) return fn_transpose(t, 0, 1);
  return fn_link(tensor_t(t), &view_desc, 1, &t, NULL);
}

/* ---- expand: sum over the repeated dims ------------------------------------------ */

static int expand_backward(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = fn_sum_to(g, n->in[0]);
  return gin[0] ? NN_OK : nn_errcode();
}

static const OpDesc expand_desc = {
  "expand", expand_backward, { "dL/d%0 = dL/d%o summed over the repeated dims", NULL }, NULL
};

Tensor *fn_expand(Tensor *t, int ndim, const int64_t *size) {
  return fn_link(tensor_expand(t, ndim, size), &expand_desc, 1, &t, NULL);
}

/* ---- picking parts: narrow, select, index ----------------------------------------- */

/* Applies the node's index spec (aux: per dim kind, start, len) to x. */
static Tensor *apply_spec(const Node *n, const Tensor *x) {
  Tensor *v = tensor_retain((Tensor *)x), *w;
  int k, d = 0, count = (int)n->aux[0];
  for (k = 0; k < count && v != NULL; k++) {
    int64_t code = n->aux[1 + 2 * k], a = n->aux[2 + 2 * k];
    /* code -1: pick position a (the dim goes); code >= 0: range of that length */
    w = code < 0 ? tensor_select(v, d, a) : tensor_narrow(v, d, a, code);
    if (code >= 0) d++;
    tensor_release(v);
    v = w;
  }
  return v;
}

/* dL/dx: zero except where the index looked, which gets dL/dy. */
static int index_backward(Node *n, const Tensor *g, Tensor **gin) {
  const Tensor *x = n->in[0];
  Tensor *z = tensor_zeros(x->ndim, x->size), *part;
  int rc;
  if (z == NULL) return nn_errcode();
  if ((part = apply_spec(n, z)) == NULL) { tensor_release(z); return nn_errcode(); }
  rc = tensor_copy(part, g);
  tensor_release(part);
  if (rc != NN_OK) { tensor_release(z); return rc; }
  gin[0] = z;
  return NN_OK;
}

static const OpDesc index_desc = {
  "index", index_backward, { "dL/d%0 = dL/d%o at the indexed place, 0 elsewhere", NULL }, NULL
};

static Tensor *indexed(Tensor *t, Tensor *out, int count, const int64_t *code, const int64_t *start) {
  Node *n;
  int k;
  out = fn_link(out, &index_desc, 1, &t, &n);
  if (n != NULL) {
    n->aux[0] = count;
    for (k = 0; k < count; k++) {
      n->aux[1 + 2 * k] = code[k];
      n->aux[2 + 2 * k] = start[k];
    }
  }
  return out;
}

Tensor *fn_index(Tensor *t, const IndexSpec *spec) {
  int64_t code[TENSOR_MAXDIM], start[TENSOR_MAXDIM];
  Tensor *v = tensor_index(t, spec);
  int k;
  if (v == NULL) return NULL;
  for (k = 0; k < spec->n; k++) {
    code[k] = spec->is_range[k] ? spec->len[k] : -1;
    start[k] = spec->start[k];
  }
  return indexed(t, v, spec->n, code, start);
}

Tensor *fn_narrow(Tensor *t, int dim, int64_t start, int64_t length) {
  int64_t code[TENSOR_MAXDIM], st[TENSOR_MAXDIM];
  int k;
  Tensor *out = tensor_narrow(t, dim, start, length);
  /* a narrow along dim is a full range on the dims before it */
  for (k = 0; k < dim; k++) { code[k] = t->size[k]; st[k] = 0; }
  code[dim] = length;
  st[dim] = start;
  return out ? indexed(t, out, dim + 1, code, st) : NULL;
}

Tensor *fn_select(Tensor *t, int dim, int64_t index) {
  int64_t code[TENSOR_MAXDIM], st[TENSOR_MAXDIM];
  int k;
  Tensor *out = tensor_select(t, dim, index);
  for (k = 0; k < dim; k++) { code[k] = t->size[k]; st[k] = 0; }
  code[dim] = -1;
  st[dim] = index;
  return out ? indexed(t, out, dim + 1, code, st) : NULL;
}

/* ---- index_select: scatter-add the rows back ------------------------------------------ */

static int index_select_backward(Node *n, const Tensor *g, Tensor **gin) {
  const Tensor *x = n->in[0], *idx = n->saved;
  Tensor *z = tensor_zeros(x->ndim, x->size);
  int64_t k, m = tensor_numel(idx);
  if (z == NULL) return nn_errcode();
  for (k = 0; k < m; k++) {
    Tensor *dst = tensor_select(z, n->dim, (int64_t)tensor_get_flat(idx, k));
    Tensor *src = dst ? tensor_select(g, n->dim, k) : NULL;
    Tensor *sum = src ? op_binary(OP_ADD, dst, src) : NULL;   /* repeats add up */
    int rc = sum ? tensor_copy(dst, sum) : nn_errcode();
    tensor_release(dst);
    tensor_release(src);
    tensor_release(sum);
    if (rc != NN_OK) { tensor_release(z); return rc; }
  }
  gin[0] = z;
  return NN_OK;
}

static const OpDesc index_select_desc = {
  "index_select", index_select_backward,
  { "dL/d%0 = dL/d%o added back at the selected positions", NULL }, NULL
};

Tensor *fn_index_select(Tensor *t, int dim, const int64_t *idx, int64_t n) {
  Node *node;
  Tensor *out = fn_link(tensor_index_select(t, dim, idx, n), &index_select_desc, 1, &t, &node);
  if (node != NULL) {
    int64_t k;
    node->dim = dim;
    if ((node->saved = tensor_new(1, &n)) == NULL) {
      tensor_release(out);
      return NULL;
    }
    for (k = 0; k < n; k++) node->saved->storage->data[k] = (double)idx[k];
  }
  return out;
}

/* ---- cat and stack: each input gets its slice of the gradient --------------------------- */

static int cat_backward(Node *n, const Tensor *g, Tensor **gin) {
  int64_t pos = 0;
  int i, stacked = (int)n->aux[0];
  for (i = 0; i < n->nin; i++) {
    int64_t len = stacked ? 1 : n->in[i]->size[n->dim];
    Tensor *part = stacked ? tensor_select(g, n->dim, i) : tensor_narrow(g, n->dim, pos, len);
    pos += len;
    if (part == NULL) return nn_errcode();
    if (n->in[i]->requires_grad) gin[i] = tensor_clone(part);
    tensor_release(part);
    if (n->in[i]->requires_grad && gin[i] == NULL) return nn_errcode();
  }
  return NN_OK;
}

static const OpDesc cat_desc = {
  "cat", cat_backward, { "dL/d%0 = the part of dL/d%o that came from %0", "dL/d%1 = the part of dL/d%o that came from %1" }, NULL
};
static const OpDesc stack_desc = {
  "stack", cat_backward, { "dL/d%0 = the slice of dL/d%o that came from %0", "dL/d%1 = the slice of dL/d%o that came from %1" }, NULL
};

Tensor *fn_cat(Tensor *const *ts, int n, int dim) {
  Node *node;
  Tensor *out = fn_link(tensor_cat(ts, n, dim), &cat_desc, n, ts, &node);
  if (node != NULL) node->dim = dim;
  return out;
}

Tensor *fn_stack(Tensor *const *ts, int n, int dim) {
  Node *node;
  Tensor *out = fn_link(tensor_stack(ts, n, dim), &stack_desc, n, ts, &node);
  if (node != NULL) {
    node->dim = dim;
    node->aux[0] = 1;
  }
  return out;
}
