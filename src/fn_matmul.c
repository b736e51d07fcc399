/*
** fn_matmul.c — differentiable products and linear algebra.
**     z = A x   ->  dL/dA = dL/dz · xᵀ,   dL/dx = Aᵀ · dL/dz
**     Z = A B   ->  dL/dA = dL/dZ · Bᵀ,   dL/dB = Aᵀ · dL/dZ
** and the same shapes of formula for the other products.
*/
#include "functions.h"

#include <stdlib.h>

#include "linalg.h"

static const OpDesc matmul_table[FN_MATMUL_COUNT];

/* fx_* style (functions.h): the arguments are taken */
static Tensor *fx_mm(Tensor *a, Tensor *b) {
  Tensor *r = a && b ? fn_mm(a, b) : NULL;
  tensor_release(a);
  tensor_release(b);
  return r;
}
static Tensor *fx_mv(Tensor *a, Tensor *x) {
  Tensor *r = a && x ? fn_mv(a, x) : NULL;
  tensor_release(a);
  tensor_release(x);
  return r;
}
static Tensor *fx_solve(Tensor *a, Tensor *b) {
  Tensor *r = a && b ? fn_solve(a, b) : NULL;
  tensor_release(a);
  tensor_release(b);
  return r;
}
static Tensor *t_of_taken(Tensor *m) {
  Tensor *r = m ? fn_t(m) : NULL;
  tensor_release(m);
  return r;
}

static Tensor *tr(const Tensor *t) {   /* a contiguous transpose of a matrix */
  Tensor *v = tensor_t(t), *c;
  if (v == NULL) return NULL;
  c = tensor_clone(v);
  tensor_release(v);
  return c;
}

/* Batched transpose of the last two dims. */
static Tensor *btr(const Tensor *t) {
  Tensor *v = tensor_transpose(t, t->ndim - 2, t->ndim - 1), *c;
  if (v == NULL) return NULL;
  c = tensor_clone(v);
  tensor_release(v);
  return c;
}

static int done(Tensor **gin, int i, Tensor *r) {
  gin[i] = r;
  return r ? NN_OK : nn_errcode();
}

/* ---- dot: z = a·b ---------------------------------------------------------- */

static int dot_backward(Node *n, const Tensor *g, Tensor **gin) {
  double gv = tensor_get_flat(g, 0);
  if (n->in[0]->requires_grad &&
      done(gin, 0, op_binary_scalar(OP_MUL, n->in[1], gv, 0)) != NN_OK) return nn_errcode();
  if (n->in[1]->requires_grad &&
      done(gin, 1, op_binary_scalar(OP_MUL, n->in[0], gv, 0)) != NN_OK) return nn_errcode();
  return NN_OK;
}

static Tensor *other_local(Node *n, int i) { return tensor_clone(n->in[1 - i]); }


Tensor *fn_dot(Tensor *a, Tensor *b) {
  double v;
  Tensor *in[2];
  if (op_dot(a, b, &v) != NN_OK) return NULL;
  in[0] = a;
  in[1] = b;
  return fn_link(tensor_scalar(v), &matmul_table[FN_DOT], 2, in, NULL, NULL);
}

/* ---- matrix-vector and vector-matrix --------------------------------------- */

static int mv_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *at;
  if (n->in[0]->requires_grad && done(gin, 0, op_outer(g, n->in[1])) != NN_OK)
    return nn_errcode();
  if (n->in[1]->requires_grad) {
    if ((at = tensor_t(n->in[0])) == NULL) return nn_errcode();
    gin[1] = op_mv(at, g);
    tensor_release(at);
    if (gin[1] == NULL) return nn_errcode();
  }
  return NN_OK;
}

/* what multiplies dL/dz: xᵀ for A (shown as the row x), Aᵀ for x */
static Tensor *mv_local(Node *n, int i) {
  return i == 0 ? tensor_clone(n->in[1]) : tr(n->in[0]);
}


Tensor *fn_mv(Tensor *a, Tensor *x) {
  Tensor *in[2];
  in[0] = a;
  in[1] = x;
  return fn_link(op_mv(a, x), &matmul_table[FN_MV], 2, in, NULL, NULL);
}

/* z = xᵀ A for a vector x and a matrix A. */
static int vm_backward(Node *n, const Tensor *g, Tensor **gin) {
  if (n->in[0]->requires_grad && done(gin, 0, op_mv(n->in[1], g)) != NN_OK)
    return nn_errcode();
  if (n->in[1]->requires_grad && done(gin, 1, op_outer(n->in[0], g)) != NN_OK)
    return nn_errcode();
  return NN_OK;
}

static Tensor *vm_local(Node *n, int i) {
  return tensor_clone(n->in[1 - i]);
}


static Tensor *vm(Tensor *x, Tensor *a) {
  Tensor *in[2], *xt, *r;
  char b1[64], b2[64];
  if (x->size[0] != a->size[0]) {
    nn_fail(NN_ESHAPE, "size mismatch, %s * %s (inner dims %lld vs %lld)",
            tensor_shape_str(x, b1, sizeof b1), tensor_shape_str(a, b2, sizeof b2),
            (long long)x->size[0], (long long)a->size[0]);
    return NULL;
  }
  if ((xt = tensor_t(a)) == NULL) return NULL;
  r = op_mv(xt, x);   /* xᵀA = Aᵀx */
  tensor_release(xt);
  in[0] = x;
  in[1] = a;
  return fn_link(r, &matmul_table[FN_VM], 2, in, NULL, NULL);
}

/* ---- matrix-matrix and batched ---------------------------------------------- */

static int mm_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *t;
  if (n->in[0]->requires_grad) {
    if ((t = tensor_t(n->in[1])) == NULL) return nn_errcode();
    gin[0] = op_mm(g, t);
    tensor_release(t);
    if (gin[0] == NULL) return nn_errcode();
  }
  if (n->in[1]->requires_grad) {
    if ((t = tensor_t(n->in[0])) == NULL) return nn_errcode();
    gin[1] = op_mm(t, g);
    tensor_release(t);
    if (gin[1] == NULL) return nn_errcode();
  }
  return NN_OK;
}

static Tensor *mm_local(Node *n, int i) { return tr(n->in[1 - i]); }


Tensor *fn_mm(Tensor *a, Tensor *b) {
  Tensor *in[2];
  in[0] = a;
  in[1] = b;
  return fn_link(op_mm(a, b), &matmul_table[FN_MM], 2, in, NULL, NULL);
}

static Tensor *bmm_local(Node *n, int i) { return btr(n->in[1 - i]); }


Tensor *fn_bmm(Tensor *a, Tensor *b) {
  Tensor *in[2];
  in[0] = a;
  in[1] = b;
  return fn_link(op_bmm(a, b), &matmul_table[FN_BMM], 2, in, NULL, NULL);
}

/* ---- outer product: Z = u vᵀ --------------------------------------------------- */

static int outer_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *gt;
  if (n->in[0]->requires_grad && done(gin, 0, op_mv(g, n->in[1])) != NN_OK)
    return nn_errcode();
  if (n->in[1]->requires_grad) {
    if ((gt = tensor_t(g)) == NULL) return nn_errcode();
    gin[1] = op_mv(gt, n->in[0]);
    tensor_release(gt);
    if (gin[1] == NULL) return nn_errcode();
  }
  return NN_OK;
}


Tensor *fn_outer(Tensor *u, Tensor *v) {
  Tensor *in[2];
  in[0] = u;
  in[1] = v;
  return fn_link(op_outer(u, v), &matmul_table[FN_OUTER], 2, in, NULL, NULL);
}

/* ---- the product as on paper ------------------------------------------------------ */

/* Matrices stacked over any leading dims, broadcast as NumPy does
** (B x H x T x D times B x H x D x T, or a 2-D matrix shared by every
** entry): both sides expanded to the common batch shape, flattened into
** one batch of 3-D products, and the result given its batch shape back.
** Written with fn_* ops, so the gradient is theirs (the expand sums it
** back over a shared side). */
static Tensor *batched(Tensor *a, Tensor *b) {
  int64_t sa[TENSOR_MAXDIM], sb[TENSOR_MAXDIM], so[TENSOR_MAXDIM], s3[3], batch = 1;
  int nb = (a->ndim > b->ndim ? a->ndim : b->ndim) - 2, d;
  Tensor *ea = NULL, *eb = NULL, *fa = NULL, *fb = NULL, *p = NULL, *out = NULL;
  char b1[128], b2[128];
  if (a->size[a->ndim - 1] != b->size[b->ndim - 2]) {
    nn_fail(NN_ESHAPE, "size mismatch, %s * %s (inner dims %lld vs %lld)",
            tensor_shape_str(a, b1, sizeof b1), tensor_shape_str(b, b2, sizeof b2),
            (long long)a->size[a->ndim - 1], (long long)b->size[b->ndim - 2]);
    return NULL;
  }
  for (d = 0; d < nb; d++) {   /* batch dims, right-aligned */
    int ia = d - (nb - (a->ndim - 2)), ib = d - (nb - (b->ndim - 2));
    int64_t x = ia >= 0 ? a->size[ia] : 1, y = ib >= 0 ? b->size[ib] : 1;
    if (x != y && x != 1 && y != 1) {
      nn_fail(NN_ESHAPE, "batch dims of %s and %s do not broadcast (%lld vs %lld)",
              tensor_shape_str(a, b1, sizeof b1), tensor_shape_str(b, b2, sizeof b2), (long long)x, (long long)y);
      return NULL;
    }
    sa[d] = sb[d] = so[d] = x > y ? x : y;
    batch *= so[d];
  }
  sa[nb] = a->size[a->ndim - 2]; sa[nb + 1] = a->size[a->ndim - 1];
  sb[nb] = b->size[b->ndim - 2]; sb[nb + 1] = b->size[b->ndim - 1];
  so[nb] = sa[nb]; so[nb + 1] = sb[nb + 1];
  if ((ea = fn_expand(a, nb + 2, sa)) == NULL || (eb = fn_expand(b, nb + 2, sb)) == NULL) goto done;
  s3[0] = batch; s3[1] = sa[nb]; s3[2] = sa[nb + 1];
  if ((fa = fn_reshape(ea, 3, s3)) == NULL) goto done;
  s3[1] = sb[nb]; s3[2] = sb[nb + 1];
  if ((fb = fn_reshape(eb, 3, s3)) == NULL) goto done;
  if ((p = fn_bmm(fa, fb)) == NULL) goto done;
  out = fn_reshape(p, nb + 2, so);
done:
  tensor_release(ea); tensor_release(eb); tensor_release(fa); tensor_release(fb); tensor_release(p);
  return out;
}

Tensor *fn_matmul(Tensor *a, Tensor *b, const char **kind) {
  if (a->ndim >= 2 && b->ndim >= 2 && (a->ndim > 3 || b->ndim > 3)) { *kind = "matmul"; return batched(a, b); }
  if (!ag_needs_graph(1, &a) && !ag_needs_graph(1, &b)) return op_matmul(a, b, kind);
  if (a->ndim == 1 && b->ndim == 1) { *kind = "dot"; return fn_dot(a, b); }
  if (a->ndim == 2 && b->ndim == 1) { *kind = "mv"; return fn_mv(a, b); }
  if (a->ndim == 1 && b->ndim == 2) { *kind = "vm"; return vm(a, b); }
  if (a->ndim == 2 && b->ndim == 2) { *kind = "mm"; return fn_mm(a, b); }
  if (a->ndim == 3 && b->ndim == 3) { *kind = "bmm"; return fn_bmm(a, b); }
  if ((a->ndim == 3 && b->ndim == 2) || (a->ndim == 2 && b->ndim == 3)) {
    Tensor *ea = a->ndim == 2 ? fn_unsqueeze(a, 0) : tensor_retain(a);
    Tensor *eb = b->ndim == 2 ? fn_unsqueeze(b, 0) : tensor_retain(b);
    Tensor *r = ea && eb ? fn_bmm(ea, eb) : NULL;
    *kind = "bmm";
    tensor_release(ea);
    tensor_release(eb);
    return r;
  }
  return op_matmul(a, b, kind);   /* reports the unsupported dims */
}

/* ---- inverse, determinant, solve ----------------------------------------------------- */

/* Y = A⁻¹:  dL/dA = -Yᵀ · dL/dY · Yᵀ */
static int inv_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *yt = tr(n->out), *t1 = NULL, *t2 = NULL;
  if (yt != NULL) t1 = op_mm(yt, g);
  if (t1 != NULL) t2 = op_mm(t1, yt);
  if (t2 != NULL) gin[0] = op_unary(OP_NEG, t2);
  tensor_release(yt);
  tensor_release(t1);
  tensor_release(t2);
  return gin[0] ? NN_OK : nn_errcode();
}


Tensor *fn_inv(Tensor *a) {
  return fn_link(op_inv(a), &matmul_table[FN_INV], 1, &a, NULL, NULL);
}

/* The cofactor matrix C (C_ij = (-1)^(i+j) det of A without row i and
** column j), which is d(det A)/dA everywhere, singular A included; the
** n² minors cost O(n⁵), so it serves where the inverse does not exist. */
#define COFACTOR_MAX_N 64

static Tensor *cofactors(const Tensor *a) {
  int64_t n = a->size[0], i, j, r, c;
  Tensor *ac = tensor_contiguous(a), *out = ac ? tensor_new(2, a->size) : NULL;
  double *minor = out ? malloc((size_t)((n - 1) * (n - 1) > 0 ? (n - 1) * (n - 1) : 1) * sizeof *minor) : NULL;
  const double *A;
  if (minor == NULL) {
    tensor_release(ac);
    tensor_release(out);
    if (out != NULL) nn_fail(NN_ENOMEM, "out of memory");
    return NULL;
  }
  A = ac->storage->data + ac->offset;
  for (i = 0; i < n; i++)
    for (j = 0; j < n; j++) {
      double d = 1.0;   /* the empty minor of a 1x1 matrix */
      int64_t k = 0;
      for (r = 0; r < n; r++)
        for (c = 0; c < n; c++)
          if (r != i && c != j) minor[k++] = A[r * n + c];
      if (n > 1 && la_det(n - 1, minor, &d) != NN_OK) {
        free(minor); tensor_release(ac); tensor_release(out);
        return NULL;
      }
      tensor_set_flat(out, i * n + j, ((i + j) % 2 ? -d : d));
    }
  free(minor);
  tensor_release(ac);
  return out;
}

/* d = det A:  dL/dA = dL/dd · d · A⁻ᵀ, which is dL/dd times the cofactor
** matrix; at a singular A (no inverse) the cofactors themselves */
static int det_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *ai = op_inv(n->in[0]), *ait;
  double scale = tensor_get_flat(g, 0) * tensor_get_flat(n->out, 0);
  if (ai == NULL) {
    Tensor *c;
    if (nn_errcode() != NN_ESINGULAR) return nn_errcode();
    if (n->in[0]->size[0] > COFACTOR_MAX_N)
      return nn_fail(NN_ESINGULAR, "det: no gradient at a singular %lldx%lld matrix (its cofactors "
                     "are computed up to %dx%d)", (long long)n->in[0]->size[0],
                     (long long)n->in[0]->size[0], COFACTOR_MAX_N, COFACTOR_MAX_N);
    if ((c = cofactors(n->in[0])) == NULL) return nn_errcode();
    gin[0] = op_binary_scalar(OP_MUL, c, tensor_get_flat(g, 0), 0);
    tensor_release(c);
    return gin[0] ? NN_OK : nn_errcode();
  }
  ait = tr(ai);
  tensor_release(ai);
  if (ait == NULL) return nn_errcode();
  gin[0] = op_binary_scalar(OP_MUL, ait, scale, 0);
  tensor_release(ait);
  return gin[0] ? NN_OK : nn_errcode();
}


Tensor *fn_det(Tensor *a) {
  double v;
  if (op_det(a, &v) != NN_OK) return NULL;
  return fn_link(tensor_scalar(v), &matmul_table[FN_DET], 1, &a, NULL, NULL);
}

/* X = A⁻¹ B:  dL/dB = A⁻ᵀ dL/dX,  dL/dA = -(dL/dB) Xᵀ */
static int solve_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *at = tr(n->in[0]), *gb, *x = n->out;
  if (at == NULL) return nn_errcode();
  gb = op_solve(at, g);
  tensor_release(at);
  if (gb == NULL) return nn_errcode();
  if (n->in[0]->requires_grad) {
    Tensor *p;
    if (x->ndim == 1) p = op_outer(gb, x);
    else {
      Tensor *xt = tr(x);
      p = xt ? op_mm(gb, xt) : NULL;
      tensor_release(xt);
    }
    gin[0] = p ? op_unary(OP_NEG, p) : NULL;
    tensor_release(p);
    if (gin[0] == NULL) { tensor_release(gb); return nn_errcode(); }
  }
  if (n->in[1]->requires_grad) gin[1] = gb;
  else tensor_release(gb);
  return NN_OK;
}


Tensor *fn_solve(Tensor *a, Tensor *b) {
  Tensor *in[2];
  in[0] = a;
  in[1] = b;
  return fn_link(op_solve(a, b), &matmul_table[FN_SOLVE], 2, in, NULL, NULL);
}

/* ======================================================================
** The create_graph backwards: the formulas above, from fn_* ops
** ====================================================================== */

/* gin[i] = r when input i needs a gradient (r is taken either way). */
static int put(Node *n, Tensor **gin, int i, Tensor *r) {
  if (!n->in[i]->requires_grad) { tensor_release(r); return NN_OK; }
  gin[i] = r;
  return r ? NN_OK : nn_errcode();
}

static Tensor *t_of(Tensor *m) { return fn_t(m); }
static Tensor *bt_of(Tensor *m) { return fn_transpose(m, m->ndim - 2, m->ndim - 1); }

static int dot_graph(Node *n, const Tensor *g, Tensor **gin) {
  if (put(n, gin, 0, fn_binary(OP_MUL, n->in[1], (Tensor *)g)) != NN_OK) return nn_errcode();
  return put(n, gin, 1, fn_binary(OP_MUL, n->in[0], (Tensor *)g));
}

static int mv_graph(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *at;
  if (put(n, gin, 0, n->in[0]->requires_grad ? fn_outer((Tensor *)g, n->in[1]) : NULL) != NN_OK)
    return nn_errcode();
  at = n->in[1]->requires_grad ? t_of(n->in[0]) : NULL;
  return put(n, gin, 1, fx_mv(at, fx_keep(g)));
}

static int vm_graph(Node *n, const Tensor *g, Tensor **gin) {
  if (put(n, gin, 0, n->in[0]->requires_grad ? fn_mv(n->in[1], (Tensor *)g) : NULL) != NN_OK)
    return nn_errcode();
  return put(n, gin, 1, n->in[1]->requires_grad ? fn_outer(n->in[0], (Tensor *)g) : NULL);
}

static int mm_graph(Node *n, const Tensor *g, Tensor **gin) {
  if (put(n, gin, 0, n->in[0]->requires_grad ? fx_mm(fx_keep(g), t_of(n->in[1])) : NULL) != NN_OK)
    return nn_errcode();
  return put(n, gin, 1, n->in[1]->requires_grad ? fx_mm(t_of(n->in[0]), fx_keep(g)) : NULL);
}

/* fn_* ops only, so the same function is the fast backward (recording is
** off there, and a transposed view costs no copy) */
static int bmm_graph(Node *n, const Tensor *g, Tensor **gin) {
  int i;
  for (i = 0; i < 2; i++) {
    Tensor *t, *full;
    if (!n->in[i]->requires_grad) continue;
    t = bt_of(n->in[1 - i]);
    full = t == NULL ? NULL : i == 0 ? fn_bmm((Tensor *)g, t) : fn_bmm(t, (Tensor *)g);
    tensor_release(t);
    if (full == NULL) return nn_errcode();
    /* an input with batch size 1 was shared by every entry: sum back */
    gin[i] = fn_sum_to(full, n->in[i]);
    tensor_release(full);
    if (gin[i] == NULL) return nn_errcode();
  }
  return NN_OK;
}

static int outer_graph(Node *n, const Tensor *g, Tensor **gin) {
  if (put(n, gin, 0, n->in[0]->requires_grad ? fn_mv((Tensor *)g, n->in[1]) : NULL) != NN_OK)
    return nn_errcode();
  return put(n, gin, 1, n->in[1]->requires_grad ? fx_mv(t_of((Tensor *)g), fx_keep(n->in[0])) : NULL);
}

static int inv_graph(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *yt = t_of_taken(fn_inv(n->in[0]));
  gin[0] = fx_un(OP_NEG, fx_mm(fx_mm(fx_keep(yt), fx_keep(g)), yt));
  return gin[0] ? NN_OK : nn_errcode();
}

/* det's create_graph backward needs A⁻¹ (first_order_at) */
static const char *det_singular(const Node *n) {
  Tensor *ai = op_inv(n->in[0]);
  if (ai == NULL) return "the second derivative of det at a singular matrix is not available";
  tensor_release(ai);
  return NULL;
}

static int det_graph(Node *n, const Tensor *g, Tensor **gin) {
  const char *why = det_singular(n);
  if (why != NULL) return nn_fail(NN_ESINGULAR, "det: %s (create_graph); the first derivative is", why);
  /* dL/dd · det A · A⁻ᵀ, every factor recorded */
  gin[0] = fx_bin(OP_MUL, t_of_taken(fn_inv(n->in[0])),
                  fx_bin(OP_MUL, fn_det(n->in[0]), fx_keep(g)));
  return gin[0] ? NN_OK : nn_errcode();
}

static int solve_graph(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *gb = fx_solve(t_of(n->in[0]), fx_keep(g));
  if (gb == NULL) return nn_errcode();
  if (n->in[0]->requires_grad) {
    Tensor *x = fn_solve(n->in[0], n->in[1]);
    Tensor *p = x == NULL ? NULL : x->ndim == 1 ? fn_outer(gb, x) : fx_mm(fx_keep(gb), t_of(x));
    tensor_release(x);
    gin[0] = fx_un(OP_NEG, p);
    if (gin[0] == NULL) { tensor_release(gb); return nn_errcode(); }
  }
  return put(n, gin, 1, gb);
}

/* ======================================================================
** The table (see fn_elem.c for what a row holds)
** ====================================================================== */

#define PRODUCT(nm, bw, bwg, r0, r1, loc)                                        \
  { .name = nm, .arity = 2, .backward = bw, .backward_graph = bwg,            \
    .rule = { r0, r1 }, .local = loc }

OP_TABLE_BEGIN(matmul_table);
static const OpDesc matmul_table[] = {
  OP_ROW(FN_DOT) = PRODUCT("dot", dot_backward, dot_graph,
    "dL/d%0 = dL/d%o · %1", "dL/d%1 = dL/d%o · %0", other_local),
  OP_ROW(FN_MV) = PRODUCT("mv", mv_backward, mv_graph,
    "dL/d%0 = dL/d%o · %1ᵀ", "dL/d%1 = %0ᵀ · dL/d%o", mv_local),
  OP_ROW(FN_VM) = PRODUCT("vm", vm_backward, vm_graph,
    "dL/d%0 = %1 · dL/d%o", "dL/d%1 = %0 · (dL/d%o)ᵀ", vm_local),
  OP_ROW(FN_MM) = PRODUCT("mm", mm_backward, mm_graph,
    "dL/d%0 = dL/d%o · %1ᵀ", "dL/d%1 = %0ᵀ · dL/d%o", mm_local),
  OP_ROW(FN_BMM) = PRODUCT("bmm", bmm_graph, bmm_graph,
    "dL/d%0 = dL/d%o · %1ᵀ", "dL/d%1 = %0ᵀ · dL/d%o", bmm_local),
  OP_ROW(FN_OUTER) = PRODUCT("outer", outer_backward, outer_graph,
    "dL/d%0 = dL/d%o · %1", "dL/d%1 = (dL/d%o)ᵀ · %0", other_local),
  OP_ROW(FN_INV) = { .name = "inv", .arity = 1, .backward = inv_backward,
    .backward_graph = inv_graph, .rule = { "dL/d%0 = -%oᵀ · dL/d%o · %oᵀ" } },
  OP_ROW(FN_DET) = { .name = "det", .arity = 1, .backward = det_backward,
    .backward_graph = det_graph, .first_order_at = det_singular,
    .rule = { "dL/d%0 = dL/d%o · %o · %0⁻ᵀ (the cofactor matrix)" } },
  OP_ROW(FN_SOLVE) = PRODUCT("solve", solve_backward, solve_graph,
    "dL/d%0 = -(%0⁻ᵀ · dL/d%o) · %oᵀ", "dL/d%1 = %0⁻ᵀ · dL/d%o", NULL),
};
OP_TABLE_END(matmul_table, FN_MATMUL_COUNT);

const OpDesc *fn_matmul_desc(MatmulOp op) { return &matmul_table[op]; }
