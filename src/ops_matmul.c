/*
** ops_matmul.c — dot, matrix-vector, matrix-matrix, batched and outer
** products, all through gemm().  Transposed views are handed to gemm as
** transposed operands, so x:t() * y copies nothing.
*/
#include <string.h>

#include "gemm.h"
#include "ops.h"

/* A 2-D tensor as a gemm operand: row-major (trans 0), column-major
** (trans 1), or a contiguous copy when its strides are neither. */
typedef struct {
  const double *p;
  int trans;
  int64_t ld;
  Tensor *copy;   /* owned temporary, or NULL */
} Operand;

static int operand(Operand *o, const Tensor *t) {
  int64_t r = t->size[0], c = t->size[1];
  /* CBLAS insists on ld >= max(1, row length) even where it is unused */
  int64_t rlen = c > 1 ? c : 1, clen = r > 1 ? r : 1;
  o->copy = NULL;
  o->p = t->storage->data + t->offset;
  if ((c <= 1 || t->stride[1] == 1) && (r <= 1 || t->stride[0] >= rlen)) {
    o->trans = 0;
    o->ld = r <= 1 ? rlen : t->stride[0];
    return NN_OK;
  }
  if ((r <= 1 || t->stride[0] == 1) && (c <= 1 || t->stride[1] >= clen)) {
    o->trans = 1;
    o->ld = c <= 1 ? clen : t->stride[1];
    return NN_OK;
  }
  if ((o->copy = tensor_clone(t)) == NULL) return nn_errcode();
  o->p = o->copy->storage->data;
  o->trans = 0;
  o->ld = rlen;
  return NN_OK;
}

/* out (M x N, contiguous) = a (M x K) * b (K x N) */
static int mm_into(double *out, const Tensor *a, const Tensor *b) {
  Operand oa, ob;
  int rc;
  if ((rc = operand(&oa, a)) != NN_OK) return rc;
  if ((rc = operand(&ob, b)) != NN_OK) { tensor_release(oa.copy); return rc; }
  rc = gemm(oa.trans, ob.trans, a->size[0], b->size[1], a->size[1], 1.0,
            oa.p, oa.ld, ob.p, ob.ld, 0.0, out, b->size[1] > 1 ? b->size[1] : 1);
  tensor_release(oa.copy);
  tensor_release(ob.copy);
  return rc;
}

static int need_dims(const Tensor *t, int nd, const char *what) {
  char b[128];
  if (t->ndim != nd)
    return nn_fail(NN_ESHAPE, "%s must be %d-D, got %s", what, nd,
                   tensor_shape_str(t, b, sizeof b));
  return NN_OK;
}

static int inner_mismatch(const Tensor *a, const Tensor *b, const char *op,
                          int64_t ka, int64_t kb) {
  char b1[128], b2[128];
  return nn_fail(NN_ESHAPE, "size mismatch, %s %s %s (inner dims %lld vs %lld)",
                 tensor_shape_str(a, b1, sizeof b1), op,
                 tensor_shape_str(b, b2, sizeof b2), (long long)ka, (long long)kb);
}

int op_dot(const Tensor *a, const Tensor *b, double *result) {
  int64_t i, n;
  double s = 0.0;
  const double *pa, *pb;
  if (need_dims(a, 1, "first argument") || need_dims(b, 1, "second argument"))
    return nn_errcode();
  if (a->size[0] != b->size[0])
    return inner_mismatch(a, b, ".", a->size[0], b->size[0]);
  n = a->size[0];
  pa = a->storage->data + a->offset;
  pb = b->storage->data + b->offset;
  for (i = 0; i < n; i++) s += pa[i * a->stride[0]] * pb[i * b->stride[0]];
  *result = s;
  return NN_OK;
}

Tensor *op_mm(const Tensor *a, const Tensor *b) {
  int64_t size[2];
  Tensor *out;
  if (need_dims(a, 2, "first argument") || need_dims(b, 2, "second argument"))
    return NULL;
  if (a->size[1] != b->size[0]) {
    inner_mismatch(a, b, "*", a->size[1], b->size[0]);
    return NULL;
  }
  size[0] = a->size[0];
  size[1] = b->size[1];
  if ((out = tensor_new(2, size)) == NULL) return NULL;
  if (mm_into(out->storage->data, a, b) != NN_OK) {
    tensor_release(out);
    return NULL;
  }
  return out;
}

/* Runs a product with one side 1-D by viewing it as a one-column (or
** one-row) matrix, then dropping that dim from the result. */
static Tensor *via_mm(const Tensor *a, const Tensor *b, int a_vec, int b_vec) {
  Tensor *ma = NULL, *mb = NULL, *r = NULL, *out = NULL;
  ma = a_vec ? tensor_unsqueeze(a, 0) : tensor_retain((Tensor *)a);
  mb = ma && b_vec ? tensor_unsqueeze(b, 1) : (ma ? tensor_retain((Tensor *)b) : NULL);
  if (mb != NULL) r = op_mm(ma, mb);
  if (r != NULL) out = tensor_squeeze(r, a_vec ? 0 : 1);
  tensor_release(ma);
  tensor_release(mb);
  tensor_release(r);
  return out;
}

Tensor *op_mv(const Tensor *a, const Tensor *x) {
  int64_t m, k, i, j;
  Tensor *out;
  if (need_dims(a, 2, "matrix") || need_dims(x, 1, "vector")) return NULL;
  if (a->size[1] != x->size[0]) {
    inner_mismatch(a, x, "*", a->size[1], x->size[0]);
    return NULL;
  }
  m = a->size[0];
  k = a->size[1];
  if (m * k > 4096) return via_mm(a, x, 0, 1);
  /* homework sizes: a strided loop beats setting up a matrix product */
  if ((out = tensor_new(1, &m)) == NULL) return NULL;
  for (i = 0; i < m; i++) {
    const double *row = a->storage->data + a->offset + i * a->stride[0];
    const double *xp = x->storage->data + x->offset;
    double s = 0.0;
    for (j = 0; j < k; j++) s += row[j * a->stride[1]] * xp[j * x->stride[0]];
    out->storage->data[i] = s;
  }
  return out;
}

Tensor *op_outer(const Tensor *u, const Tensor *v) {
  int64_t size[2], i, j;
  const double *pu, *pv;
  Tensor *r;
  if (need_dims(u, 1, "first argument") || need_dims(v, 1, "second argument"))
    return NULL;
  size[0] = u->size[0];
  size[1] = v->size[0];
  if ((r = tensor_new(2, size)) == NULL) return NULL;
  /* one multiplication per entry: no matrix product is worth setting up */
  pu = u->storage->data + u->offset;
  pv = v->storage->data + v->offset;
  for (i = 0; i < size[0]; i++) {
    double a = pu[i * u->stride[0]], *row = r->storage->data + i * size[1];
    for (j = 0; j < size[1]; j++) row[j] = a * pv[j * v->stride[0]];
  }
  return r;
}

Tensor *op_bmm(const Tensor *a, const Tensor *b) {
  int64_t size[3], i;
  Tensor *out;
  char b1[128], b2[128];
  if (need_dims(a, 3, "first argument") || need_dims(b, 3, "second argument"))
    return NULL;
  if (a->size[0] != b->size[0] && a->size[0] != 1 && b->size[0] != 1) {
    nn_fail(NN_ESHAPE, "batch sizes differ, %s * %s (%lld vs %lld)",
            tensor_shape_str(a, b1, sizeof b1), tensor_shape_str(b, b2, sizeof b2),
            (long long)a->size[0], (long long)b->size[0]);
    return NULL;
  }
  if (a->size[2] != b->size[1]) {
    inner_mismatch(a, b, "*", a->size[2], b->size[1]);
    return NULL;
  }
  size[0] = a->size[0] > b->size[0] ? a->size[0] : b->size[0];
  size[1] = a->size[1];
  size[2] = b->size[2];
  if ((out = tensor_new(3, size)) == NULL) return NULL;
  for (i = 0; i < size[0]; i++) {
    Tensor *ai = tensor_select(a, 0, a->size[0] == 1 ? 0 : i);
    Tensor *bi = ai ? tensor_select(b, 0, b->size[0] == 1 ? 0 : i) : NULL;
    int rc = bi ? mm_into(out->storage->data + i * size[1] * size[2], ai, bi)
                : nn_errcode();
    tensor_release(ai);
    tensor_release(bi);
    if (rc != NN_OK) { tensor_release(out); return NULL; }
  }
  return out;
}

Tensor *op_matmul(const Tensor *a, const Tensor *b, const char **kind) {
  char b1[128], b2[128];
  *kind = "matmul";
  if (a->ndim == 1 && b->ndim == 1) {
    double d;
    *kind = "dot";
    return op_dot(a, b, &d) == NN_OK ? tensor_scalar(d) : NULL;
  }
  if (a->ndim == 2 && b->ndim == 1) { *kind = "mv"; return op_mv(a, b); }
  if (a->ndim == 1 && b->ndim == 2) {
    *kind = "vm";
    if (a->size[0] != b->size[0]) {
      inner_mismatch(a, b, "*", a->size[0], b->size[0]);
      return NULL;
    }
    return via_mm(a, b, 1, 0);
  }
  if (a->ndim == 2 && b->ndim == 2) { *kind = "mm"; return op_mm(a, b); }
  if (a->ndim == 3 && b->ndim == 3) { *kind = "bmm"; return op_bmm(a, b); }
  if ((a->ndim == 3 && b->ndim == 2) || (a->ndim == 2 && b->ndim == 3)) {
    /* a matrix on one side is shared by every batch entry */
    Tensor *ea = a->ndim == 2 ? tensor_unsqueeze(a, 0) : tensor_retain((Tensor *)a);
    Tensor *eb = b->ndim == 2 ? tensor_unsqueeze(b, 0) : tensor_retain((Tensor *)b);
    Tensor *r = ea && eb ? op_bmm(ea, eb) : NULL;
    *kind = "bmm";
    tensor_release(ea);
    tensor_release(eb);
    return r;
  }
  nn_fail(NN_ESHAPE, "no matrix product for %s * %s (dims %d and %d; "
          "use cmul for the elementwise product)",
          tensor_shape_str(a, b1, sizeof b1), tensor_shape_str(b, b2, sizeof b2),
          a->ndim, b->ndim);
  return NULL;
}
