/*
** fn_shape.c — differentiable views, indexing and joins.  A view's
** backward puts the gradient back where the view looked: reshaped,
** transposed back, or written into a zero tensor at the selected place.
** Writing a gradient into zeros is itself an op here (index_put,
** index_add), so that create_graph can differentiate the gradient again:
** the backward of index_put is the index, and the other way round.
** (The table's rows are described at the top of fn_elem.c.)
*/
#include <stdlib.h>
#include <string.h>

#include "functions.h"

static const OpDesc shape_table[FN_SHAPE_COUNT];

/* The settings of the nodes of this file. */
typedef struct PermuteParams { int perm[TENSOR_MAXDIM]; } PermuteParams;
typedef struct DimParams { int dim; } DimParams;   /* index_select, index_add, cat, stack */

static int pdim(const Node *n) { return AG_PARAMS(n, DimParams)->dim; }

static Tensor *index_put(Tensor *g, const IndexSpec *spec, int ndim, const int64_t *size);
static Tensor *index_add(Tensor *g, int dim, const Tensor *idx, int ndim, const int64_t *size);

/* ---- reshapes: the gradient reshaped back ---------------------------------- */

/* A contiguous copy of g in the shape of the node's input. */
static int reshape_back(Node *n, const Tensor *g, Tensor **gin) {
  const Tensor *x = n->in[0];
  Tensor *c = tensor_clone(g);
  if (c == NULL) return nn_errcode();
  gin[0] = tensor_view(c, x->ndim, x->size);
  tensor_release(c);
  return gin[0] ? NN_OK : nn_errcode();
}

static int reshape_back_graph(Node *n, const Tensor *g, Tensor **gin) {
  const Tensor *x = n->in[0];
  Tensor *c = fn_contiguous((Tensor *)g);
  gin[0] = c ? fn_view(c, x->ndim, x->size) : NULL;
  tensor_release(c);
  return gin[0] ? NN_OK : nn_errcode();
}

Tensor *fn_view(Tensor *t, int ndim, const int64_t *size) {
  return fn_link(tensor_view(t, ndim, size), &shape_table[FN_VIEW], 1, &t, NULL, NULL);
}

Tensor *fn_reshape(Tensor *t, int ndim, const int64_t *size) {
  return fn_link(tensor_reshape(t, ndim, size), &shape_table[FN_VIEW], 1, &t, NULL, NULL);
}

Tensor *fn_squeeze(Tensor *t, int dim) {
  return fn_link(tensor_squeeze(t, dim), &shape_table[FN_SQUEEZE], 1, &t, NULL, NULL);
}

Tensor *fn_unsqueeze(Tensor *t, int dim) {
  return fn_link(tensor_unsqueeze(t, dim), &shape_table[FN_SQUEEZE], 1, &t, NULL, NULL);
}

Tensor *fn_clone(Tensor *t) {
  return fn_link(tensor_clone(t), &shape_table[FN_CLONE], 1, &t, NULL, NULL);
}

Tensor *fn_contiguous(Tensor *t) {
  /* already contiguous: the same tensor, so no node is needed */
  if (tensor_is_contiguous(t)) return tensor_retain(t);
  return fn_clone(t);
}

/* ---- transpose and permute: apply the inverse permutation ------------------ */

static void inverse(const Node *n, int *inv) {
  const PermuteParams *p = AG_PARAMS(n, PermuteParams);
  int d;
  for (d = 0; d < n->in[0]->ndim; d++) inv[p->perm[d]] = d;
}

static int permute_backward(Node *n, const Tensor *g, Tensor **gin) {
  int inv[TENSOR_MAXDIM];
  Tensor *p;
  inverse(n, inv);
  if ((p = tensor_permute(g, inv)) == NULL) return nn_errcode();
  gin[0] = tensor_clone(p);
  tensor_release(p);
  return gin[0] ? NN_OK : nn_errcode();
}

static int permute_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  int inv[TENSOR_MAXDIM];
  Tensor *p;
  inverse(n, inv);
  if ((p = fn_permute((Tensor *)g, inv)) == NULL) return nn_errcode();
  gin[0] = fn_contiguous(p);
  tensor_release(p);
  return gin[0] ? NN_OK : nn_errcode();
}

static Tensor *permuted(Tensor *t, Tensor *out, const int *perm, ShapeOp op) {
  PermuteParams p;
  memset(&p, 0, sizeof p);
  memcpy(p.perm, perm, (size_t)t->ndim * sizeof *perm);
  return fn_link(out, &shape_table[op], 1, &t, &p, NULL);
}

Tensor *fn_permute(Tensor *t, const int *perm) {
  return permuted(t, tensor_permute(t, perm), perm, FN_PERMUTE);
}

Tensor *fn_transpose(Tensor *t, int d0, int d1) {
  int perm[TENSOR_MAXDIM], d;
  for (d = 0; d < t->ndim; d++) perm[d] = d;
  if (d0 >= 0 && d0 < t->ndim && d1 >= 0 && d1 < t->ndim) {
    perm[d0] = d1;
    perm[d1] = d0;
  }
  return permuted(t, tensor_transpose(t, d0, d1), perm, FN_TRANSPOSE);
}

Tensor *fn_t(Tensor *t) {
  if (t->ndim == 2) return fn_transpose(t, 0, 1);
  return fn_link(tensor_t(t), &shape_table[FN_VIEW], 1, &t, NULL, NULL);
}

/* ---- expand: sum over the repeated dims (fn_sum_to records) ----------------- */

static int expand_backward(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = fn_sum_to(g, n->in[0]);
  return gin[0] ? NN_OK : nn_errcode();
}

Tensor *fn_expand(Tensor *t, int ndim, const int64_t *size) {
  return fn_link(tensor_expand(t, ndim, size), &shape_table[FN_EXPAND], 1, &t, NULL, NULL);
}

/* ---- picking parts: narrow, select, index (settings: the IndexSpec) --------- */

/* dL/dx: zero except where the index looked, which gets dL/dy. */
static int index_backward(Node *n, const Tensor *g, Tensor **gin) {
  const Tensor *x = n->in[0];
  Tensor *z = tensor_zeros(x->ndim, x->size), *part;
  int rc;
  if (z == NULL) return nn_errcode();
  if ((part = tensor_index(z, AG_PARAMS(n, IndexSpec))) == NULL) { tensor_release(z); return nn_errcode(); }
  rc = tensor_copy(part, g);
  tensor_release(part);
  if (rc != NN_OK) { tensor_release(z); return rc; }
  gin[0] = z;
  return NN_OK;
}

static int index_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = index_put((Tensor *)g, AG_PARAMS(n, IndexSpec), n->in[0]->ndim, n->in[0]->size);
  return gin[0] ? NN_OK : nn_errcode();
}

Tensor *fn_index(Tensor *t, const IndexSpec *spec) {
  return fn_link(tensor_index(t, spec), &shape_table[FN_INDEX], 1, &t, spec, NULL);
}

/* narrow and select are index specs: full ranges on the dims before dim */
static Tensor *pick(Tensor *t, Tensor *out, int dim, int64_t start, int64_t length, int range) {
  IndexSpec spec;
  int k;
  if (out == NULL) return NULL;
  memset(&spec, 0, sizeof spec);
  spec.n = dim + 1;
  for (k = 0; k < dim; k++) { spec.is_range[k] = 1; spec.start[k] = 0; spec.len[k] = t->size[k]; }
  spec.is_range[dim] = range;
  spec.start[dim] = start;
  spec.len[dim] = length;
  return fn_link(out, &shape_table[FN_INDEX], 1, &t, &spec, NULL);
}

Tensor *fn_narrow(Tensor *t, int dim, int64_t start, int64_t length) {
  return pick(t, tensor_narrow(t, dim, start, length), dim, start, length, 1);
}

Tensor *fn_select(Tensor *t, int dim, int64_t index) {
  return pick(t, tensor_select(t, dim, index), dim, index, 0, 0);
}

/* index_put: g written into zeros at the spec's place (index's gradient). */
static int index_put_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *v = tensor_index(g, AG_PARAMS(n, IndexSpec));
  gin[0] = v ? tensor_clone(v) : NULL;
  tensor_release(v);
  return gin[0] ? NN_OK : nn_errcode();
}

static int index_put_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *v = fn_index((Tensor *)g, AG_PARAMS(n, IndexSpec));
  gin[0] = v ? fn_contiguous(v) : NULL;
  tensor_release(v);
  return gin[0] ? NN_OK : nn_errcode();
}

static Tensor *index_put(Tensor *g, const IndexSpec *spec, int ndim, const int64_t *size) {
  Tensor *z = tensor_zeros(ndim, size), *part = z ? tensor_index(z, spec) : NULL;
  int rc = part ? tensor_copy(part, g) : nn_errcode();
  tensor_release(part);
  if (rc != NN_OK) { tensor_release(z); return NULL; }
  return fn_link(z, &shape_table[FN_INDEX_PUT], 1, &g, spec, NULL);
}

/* ---- index_select: scatter-add the rows back (index_add) --------------------- */

static Tensor *scatter_add(const Tensor *g, int dim, const Tensor *idx, int ndim, const int64_t *size) {
  Tensor *z = tensor_zeros(ndim, size);
  int64_t k, m = tensor_numel(idx);
  if (z == NULL) return NULL;
  for (k = 0; k < m; k++) {
    Tensor *dst = tensor_select(z, dim, (int64_t)tensor_get_flat(idx, k));
    Tensor *src = dst ? tensor_select(g, dim, k) : NULL;
    Tensor *sum = src ? op_binary(OP_ADD, dst, src) : NULL;   /* repeats add up */
    int rc = sum ? tensor_copy(dst, sum) : nn_errcode();
    tensor_release(dst);
    tensor_release(src);
    tensor_release(sum);
    if (rc != NN_OK) { tensor_release(z); return NULL; }
  }
  return z;
}

static int index_select_backward(Node *n, const Tensor *g, Tensor **gin) {
  const Tensor *x = n->in[0];
  gin[0] = scatter_add(g, pdim(n), n->saved, x->ndim, x->size);
  return gin[0] ? NN_OK : nn_errcode();
}

static int index_select_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = index_add((Tensor *)g, pdim(n), n->saved, n->in[0]->ndim, n->in[0]->size);
  return gin[0] ? NN_OK : nn_errcode();
}

/* saved: the 0-based indices, as doubles */
static Tensor *with_indices(Tensor *out, Node *node, const int64_t *idx, int64_t n) {
  int64_t k;
  if (node == NULL) return out;
  if ((node->saved = tensor_new(1, &n)) == NULL) {
    tensor_release(out);
    return NULL;
  }
  for (k = 0; k < n; k++) node->saved->storage->data[k] = (double)idx[k];
  return out;
}

Tensor *fn_index_select(Tensor *t, int dim, const int64_t *idx, int64_t n) {
  Node *node;
  DimParams p;
  Tensor *out;
  p.dim = dim;
  out = fn_link(tensor_index_select(t, dim, idx, n), &shape_table[FN_INDEX_SELECT], 1, &t, &p, &node);
  return with_indices(out, node, idx, n);
}

/* index_add: the rows of g added into zeros at idx (index_select's gradient). */
static int saved_indices(const Tensor *s, int64_t **idx, int64_t *m) {
  int64_t k;
  *m = tensor_numel(s);
  if ((*idx = malloc((size_t)(*m > 0 ? *m : 1) * sizeof **idx)) == NULL)
    return nn_fail(NN_ENOMEM, "out of memory");
  for (k = 0; k < *m; k++) (*idx)[k] = (int64_t)tensor_get_flat(s, k);
  return NN_OK;
}

static int index_add_backward(Node *n, const Tensor *g, Tensor **gin) {
  int64_t *idx, m;
  if (saved_indices(n->saved, &idx, &m) != NN_OK) return nn_errcode();
  gin[0] = tensor_index_select(g, pdim(n), idx, m);
  free(idx);
  return gin[0] ? NN_OK : nn_errcode();
}

static int index_add_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  int64_t *idx, m;
  if (saved_indices(n->saved, &idx, &m) != NN_OK) return nn_errcode();
  gin[0] = fn_index_select((Tensor *)g, pdim(n), idx, m);
  free(idx);
  return gin[0] ? NN_OK : nn_errcode();
}

static Tensor *index_add(Tensor *g, int dim, const Tensor *idx, int ndim, const int64_t *size) {
  Node *node;
  DimParams p;
  Tensor *out = scatter_add(g, dim, idx, ndim, size);
  p.dim = dim;
  out = fn_link(out, &shape_table[FN_INDEX_ADD], 1, &g, &p, &node);
  if (node != NULL && (node->saved = tensor_clone(idx)) == NULL) {
    tensor_release(out);
    return NULL;
  }
  return out;
}

/* ---- cat and stack: each input gets its slice of the gradient --------------------------- */

static int cat_parts(Node *n, const Tensor *g, Tensor **gin, int graph) {
  int64_t pos = 0;
  int i, dim = pdim(n), stacked = n->op == &shape_table[FN_STACK];
  for (i = 0; i < n->nin; i++) {
    int64_t len = stacked ? 1 : n->in[i]->size[dim];
    Tensor *part;
    if (graph) part = stacked ? fn_select((Tensor *)g, dim, i) : fn_narrow((Tensor *)g, dim, pos, len);
    else part = stacked ? tensor_select(g, dim, i) : tensor_narrow(g, dim, pos, len);
    pos += len;
    if (part == NULL) return nn_errcode();
    if (n->in[i]->requires_grad) gin[i] = graph ? fn_contiguous(part) : tensor_clone(part);
    tensor_release(part);
    if (n->in[i]->requires_grad && gin[i] == NULL) return nn_errcode();
  }
  return NN_OK;
}

static int cat_backward(Node *n, const Tensor *g, Tensor **gin) { return cat_parts(n, g, gin, 0); }
static int cat_backward_graph(Node *n, const Tensor *g, Tensor **gin) { return cat_parts(n, g, gin, 1); }

Tensor *fn_cat(Tensor *const *ts, int n, int dim) {
  DimParams p;
  p.dim = dim;
  return fn_link(tensor_cat(ts, n, dim), &shape_table[FN_CAT], n, ts, &p, NULL);
}

Tensor *fn_stack(Tensor *const *ts, int n, int dim) {
  DimParams p;
  p.dim = dim;
  return fn_link(tensor_stack(ts, n, dim), &shape_table[FN_STACK], n, ts, &p, NULL);
}

/* ---- where(c, a, b): choosing elementwise ----------------------------------------- */

/* The broadcast shape of three tensors (NumPy's rule), or an error naming them. */
static int broadcast3(Tensor *const *t, int *nd, int64_t *size) {
  int k, d;
  *nd = 0;
  for (k = 0; k < 3; k++) if (t[k]->ndim > *nd) *nd = t[k]->ndim;
  for (d = 0; d < *nd; d++) size[d] = 1;
  for (k = 0; k < 3; k++)
    for (d = 0; d < t[k]->ndim; d++) {
      int64_t s = t[k]->size[t[k]->ndim - 1 - d], *o = &size[*nd - 1 - d];
      if (s != 1 && *o != 1 && s != *o) {
        char b0[128], b1[128], b2[128];
        return nn_fail(NN_ESHAPE, "shapes %s (condition), %s and %s do not broadcast",
                       tensor_shape_str(t[0], b0, sizeof b0), tensor_shape_str(t[1], b1, sizeof b1),
                       tensor_shape_str(t[2], b2, sizeof b2));
      }
      if (s != 1) *o = s;
    }
  return NN_OK;
}

static Tensor *where_values(Tensor *const *in) {
  int64_t size[TENSOR_MAXDIM], i;
  int nd, k;
  Tensor *e[4] = { NULL, NULL, NULL, NULL }, *out = NULL;
  TensorIter it;
  if (broadcast3(in, &nd, size) != NN_OK) return NULL;
  if ((e[0] = tensor_new(nd, size)) == NULL) return NULL;
  for (k = 0; k < 3; k++)
    if ((e[k + 1] = tensor_expand(in[k], nd, size)) == NULL) goto done;
  tensor_iter_init(&it, 4, e);
  while (tensor_iter_next(&it))
    for (i = 0; i < it.inner; i++)
      it.ptr[0][i * it.istride[0]] = it.ptr[1][i * it.istride[1]] != 0 ? it.ptr[2][i * it.istride[2]]
                                                                         : it.ptr[3][i * it.istride[3]];
  out = tensor_retain(e[0]);
done:
  for (k = 0; k < 4; k++) tensor_release(e[k]);
  return out;
}

/* dL/da = dL/dz where c, dL/db = dL/dz elsewhere, each summed back to its
** shape; written with fn_where, so the same function serves create_graph. */
static int where_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *zero = tensor_scalar(0.0);
  int i;
  if (zero == NULL) return nn_errcode();
  for (i = 1; i <= 2; i++) {
    Tensor *full;
    if (!n->in[i]->requires_grad) continue;
    full = i == 1 ? fn_where(n->in[0], (Tensor *)g, zero) : fn_where(n->in[0], zero, (Tensor *)g);
    gin[i] = full ? fn_sum_to(full, n->in[i]) : NULL;
    tensor_release(full);
    if (gin[i] == NULL) { tensor_release(zero); return nn_errcode(); }
  }
  tensor_release(zero);
  return NN_OK;
}

Tensor *fn_where(Tensor *c, Tensor *a, Tensor *b) {
  Tensor *in[3];
  in[0] = c; in[1] = a; in[2] = b;
  return fn_link(where_values(in), &shape_table[FN_WHERE], 3, in, NULL, NULL);
}

/* tril (upper = 0) / triu (upper = 1) as where(mask, t, 0), the mask a
** constant 0/1 matrix over the last two dims (entry (i, j) kept when
** j − i ≤ k, or ≥ k for triu). */
Tensor *fn_tri(Tensor *t, int64_t k, int upper) {
  int64_t size[2], i, j;
  Tensor *mask, *zero, *r;
  if (t->ndim < 2) {
    char b[128];
    (void)upper;
    nn_fail(NN_ESHAPE, "a matrix (or a batch of them) expected, got %s", tensor_shape_str(t, b, sizeof b));
    return NULL;
  }
  size[0] = t->size[t->ndim - 2];
  size[1] = t->size[t->ndim - 1];
  if ((mask = tensor_new(2, size)) == NULL) return NULL;
  for (i = 0; i < size[0]; i++)
    for (j = 0; j < size[1]; j++)
      mask->storage->data[i * size[1] + j] = upper ? (j - i >= k) : (j - i <= k);
  zero = tensor_scalar(0.0);
  r = zero ? fn_where(mask, t, zero) : NULL;
  tensor_release(zero);
  tensor_release(mask);
  return r;
}

/* ======================================================================
** The table (see fn_elem.c for what a row holds)
** ====================================================================== */

#define SHAPE(nm, arity_, bw, bwg, params, r0, r1)                             \
  { .name = nm, .arity = arity_, .backward = bw, .backward_graph = bwg,       \
    .params_size = params, .rule = { r0, r1 }, .shape_only = 1 }

OP_TABLE_BEGIN(shape_table);
static const OpDesc shape_table[] = {
  OP_ROW(FN_VIEW) = SHAPE("view", 1, reshape_back, reshape_back_graph, 0,
    "dL/d%0 = dL/d%o reshaped to the shape of %0", NULL),
  OP_ROW(FN_SQUEEZE) = SHAPE("squeeze", 1, reshape_back, reshape_back_graph, 0,
    "dL/d%0 = dL/d%o reshaped to the shape of %0", NULL),
  OP_ROW(FN_CLONE) = SHAPE("clone", 1, reshape_back, reshape_back_graph, 0, "dL/d%0 = dL/d%o", NULL),
  OP_ROW(FN_PERMUTE) = SHAPE("permute", 1, permute_backward, permute_backward_graph,
    sizeof(PermuteParams), "dL/d%0 = dL/d%o with the dims put back", NULL),
  OP_ROW(FN_TRANSPOSE) = SHAPE("transpose", 1, permute_backward, permute_backward_graph,
    sizeof(PermuteParams), "dL/d%0 = (dL/d%o)ᵀ", NULL),
  OP_ROW(FN_EXPAND) = SHAPE("expand", 1, expand_backward, expand_backward, 0,
    "dL/d%0 = dL/d%o summed over the repeated dims", NULL),
  OP_ROW(FN_INDEX) = SHAPE("index", 1, index_backward, index_backward_graph, sizeof(IndexSpec),
    "dL/d%0 = dL/d%o at the indexed place, 0 elsewhere", NULL),
  OP_ROW(FN_INDEX_PUT) = SHAPE("index_put", 1, index_put_backward, index_put_backward_graph,
    sizeof(IndexSpec), "dL/d%0 = dL/d%o at the place %0 was put", NULL),
  OP_ROW(FN_INDEX_SELECT) = SHAPE("index_select", 1, index_select_backward,
    index_select_backward_graph, sizeof(DimParams),
    "dL/d%0 = dL/d%o added back at the selected positions", NULL),
  OP_ROW(FN_INDEX_ADD) = SHAPE("index_add", 1, index_add_backward, index_add_backward_graph,
    sizeof(DimParams), "dL/d%0 = dL/d%o at the positions %0's rows were added to", NULL),
  OP_ROW(FN_CAT) = SHAPE("cat", OP_VARIADIC, cat_backward, cat_backward_graph, sizeof(DimParams),
    "dL/d%0 = the part of dL/d%o that came from %0", "dL/d%1 = the part of dL/d%o that came from %1"),
  OP_ROW(FN_STACK) = SHAPE("stack", OP_VARIADIC, cat_backward, cat_backward_graph, sizeof(DimParams),
    "dL/d%0 = the slice of dL/d%o that came from %0", "dL/d%1 = the slice of dL/d%o that came from %1"),
  OP_ROW(FN_WHERE) = { .name = "where", .arity = 3, .backward = where_backward, .backward_graph = where_backward,
    .rule = { "dL/d%0 = 0 (the condition is not differentiated)", "dL/d%1 = dL/d%o where %0, else 0",
              "dL/d%2 = dL/d%o where not %0, else 0" } },
};
OP_TABLE_END(shape_table, FN_SHAPE_COUNT);

const OpDesc *fn_shape_desc(ShapeOp op) { return &shape_table[op]; }
