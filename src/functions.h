/*
** functions.h — the differentiable ops: each calls its kernel in ops*.c
** and, when an input requires grad (and recording is on), attaches a graph
** node whose backward sits next to it in fn_*.c (micrograd's layout: the
** derivative beside the forward formula).
**
** Same conventions as ops.h: new references or NULL with nn_errmsg set;
** 0-based dims.  With no input requiring grad they cost one flag test more
** than the kernel.
*/
#ifndef NNCALC_FUNCTIONS_H
#define NNCALC_FUNCTIONS_H

#include "autograd.h"
#include "ops.h"

/* ---- fn_elem.c ----------------------------------------------------------- */
Tensor *fn_unary(UnaryOp op, Tensor *a);
Tensor *fn_binary(BinaryOp op, Tensor *a, Tensor *b);
Tensor *fn_binary_scalar(BinaryOp op, Tensor *a, double s, int scalar_first);

/* The rows of the op tables (for checks that walk every op). */
const OpDesc *fn_unary_desc(UnaryOp op);
const OpDesc *fn_binary_desc(BinaryOp op);
const OpDesc *fn_scalar_desc(BinaryOp op, int scalar_first);

/* ---- fn_reduce.c --------------------------------------------------------- */
Tensor *fn_reduce(ReduceOp op, Tensor *a, int dim, int keepdim);
Tensor *fn_reduce_all(ReduceOp op, Tensor *a);    /* a 0-d tensor */
typedef enum { FN_SOFTMAX, FN_LOG_SOFTMAX, FN_SOFTMAX_COUNT } SoftmaxOp;
Tensor *fn_softmax(Tensor *a, int dim);
Tensor *fn_log_softmax(Tensor *a, int dim);
const OpDesc *fn_reduce_desc(ReduceOp op);

/* ---- fn_matmul.c --------------------------------------------------------- */
typedef enum {
  FN_DOT, FN_MV, FN_VM, FN_MM, FN_BMM, FN_OUTER, FN_INV, FN_DET, FN_SOLVE,
  FN_MATMUL_COUNT
} MatmulOp;
const OpDesc *fn_matmul_desc(MatmulOp op);
Tensor *fn_dot(Tensor *a, Tensor *b);              /* a 0-d tensor */
Tensor *fn_mv(Tensor *a, Tensor *x);
Tensor *fn_mm(Tensor *a, Tensor *b);
Tensor *fn_bmm(Tensor *a, Tensor *b);
Tensor *fn_outer(Tensor *u, Tensor *v);
Tensor *fn_matmul(Tensor *a, Tensor *b, const char **kind);
Tensor *fn_inv(Tensor *a);
Tensor *fn_det(Tensor *a);                         /* a 0-d tensor */
Tensor *fn_solve(Tensor *a, Tensor *b);

/* ---- fn_shape.c ---------------------------------------------------------- */
/* index_put and index_add are the gradients of index and index_select, as
** ops so that create_graph can differentiate them in turn. */
typedef enum {
  FN_VIEW, FN_SQUEEZE, FN_CLONE, FN_PERMUTE, FN_TRANSPOSE, FN_EXPAND, FN_INDEX,
  FN_INDEX_PUT, FN_INDEX_SELECT, FN_INDEX_ADD, FN_CAT, FN_STACK, FN_WHERE,
  FN_SHAPE_COUNT
} ShapeOp;
const OpDesc *fn_shape_desc(ShapeOp op);
Tensor *fn_view(Tensor *t, int ndim, const int64_t *size);
/* where(c, a, b): a where c ≠ 0, else b, the three broadcast together;
** differentiable in a and b.  tril/triu keep the entries on and below
** (above) the k-th diagonal of the last two dims, zeroing the rest. */
Tensor *fn_where(Tensor *c, Tensor *a, Tensor *b);
Tensor *fn_tri(Tensor *t, int64_t k, int upper);
Tensor *fn_reshape(Tensor *t, int ndim, const int64_t *size);
Tensor *fn_transpose(Tensor *t, int d0, int d1);
Tensor *fn_t(Tensor *t);
Tensor *fn_permute(Tensor *t, const int *perm);
Tensor *fn_squeeze(Tensor *t, int dim);
Tensor *fn_unsqueeze(Tensor *t, int dim);
Tensor *fn_narrow(Tensor *t, int dim, int64_t start, int64_t length);
Tensor *fn_select(Tensor *t, int dim, int64_t index);
Tensor *fn_expand(Tensor *t, int ndim, const int64_t *size);
Tensor *fn_clone(Tensor *t);
Tensor *fn_contiguous(Tensor *t);
Tensor *fn_index_select(Tensor *t, int dim, const int64_t *idx, int64_t n);
Tensor *fn_cat(Tensor *const *ts, int n, int dim);
Tensor *fn_stack(Tensor *const *ts, int n, int dim);

/* x[spec]: one graph node ("index"), however many dims it picks. */
Tensor *fn_index(Tensor *t, const IndexSpec *spec);

/* ---- shared by the fn_*.c files ------------------------------------------ */
/* Attaches a node for op to out when the inputs need one, with a copy of
** the op's settings struct `params` (op->params_size bytes; NULL when the
** op has none); on failure out is released and NULL returned.  *node (if
** given) gets the node or NULL. */
Tensor *fn_link(Tensor *out, const OpDesc *op, int n, Tensor *const *in, const void *params,
                Node **node);
/* g summed down to the shape of t (undoing broadcasting); recorded when
** g requires grad (fn_reduce), so create_graph backwards use it too. */
Tensor *fn_sum_to(const Tensor *g, const Tensor *t);

/* ---- writing a create_graph backward ---------------------------------------
** Formulas of fn_* ops where each helper TAKES its tensor arguments (releases
** them) and passes a NULL through, so 1 - tanh²(x) reads
**     fx_num(OP_SUB, fx_sq(fn_unary(OP_TANH, x)), 1.0, 1)
** with no cleanup code.  fx_keep(t) hands in a tensor you still hold. */
Tensor *fx_keep(const Tensor *t);                       /* t retained */
Tensor *fx_un(UnaryOp op, Tensor *a);
Tensor *fx_bin(BinaryOp op, Tensor *a, Tensor *b);
Tensor *fx_num(BinaryOp op, Tensor *a, double s, int scalar_first);
Tensor *fx_sq(Tensor *a);                               /* a·a */
/* g · d, for a borrowed gradient g and a taken local derivative d. */
Tensor *fx_chain(const Tensor *g, Tensor *d);
/* A view of t without graph fields: the saved values backward reads. */
Tensor *fn_plain(const Tensor *t);

#endif
