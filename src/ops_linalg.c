/*
** ops_linalg.c — det, inv, solve, pinv and rank on tensors: shape checks
** here, the numerics in linalg.c.
*/
#include "linalg.h"
#include "ops.h"

static int need_square(const Tensor *a) {
  char b[128];
  if (a->ndim != 2 || a->size[0] != a->size[1])
    return nn_fail(NN_ESHAPE, "needs a square matrix, got %s",
                   tensor_shape_str(a, b, sizeof b));
  return NN_OK;
}

static int need_matrix(const Tensor *a) {
  char b[128];
  if (a->ndim != 2)
    return nn_fail(NN_ESHAPE, "needs a matrix, got %s", tensor_shape_str(a, b, sizeof b));
  return NN_OK;
}

static const double *data_of(const Tensor *c) { return c->storage->data + c->offset; }

int op_det(const Tensor *a, double *det) {
  Tensor *c;
  int rc;
  if (need_square(a) != NN_OK) return nn_errcode();
  if ((c = tensor_contiguous(a)) == NULL) return nn_errcode();
  rc = la_det(a->size[0], data_of(c), det);
  tensor_release(c);
  return rc;
}

Tensor *op_inv(const Tensor *a) {
  Tensor *c, *out;
  if (need_square(a) != NN_OK) return NULL;
  if ((c = tensor_contiguous(a)) == NULL) return NULL;
  out = tensor_new(2, a->size);
  if (out != NULL && la_inv(a->size[0], data_of(c), out->storage->data) != NN_OK) {
    tensor_release(out);
    out = NULL;
  }
  tensor_release(c);
  return out;
}

Tensor *op_solve(const Tensor *a, const Tensor *b) {
  Tensor *ca, *out;
  char b1[128], b2[128];
  int64_t m;
  if (need_square(a) != NN_OK) return NULL;
  if ((b->ndim != 1 && b->ndim != 2) || b->size[0] != a->size[0]) {
    nn_fail(NN_ESHAPE, "right-hand side %s does not fit %s (needs %lld rows)",
            tensor_shape_str(b, b1, sizeof b1), tensor_shape_str(a, b2, sizeof b2),
            (long long)a->size[0]);
    return NULL;
  }
  m = b->ndim == 2 ? b->size[1] : 1;
  if ((out = tensor_clone(b)) == NULL) return NULL;
  if ((ca = tensor_contiguous(a)) == NULL) { tensor_release(out); return NULL; }
  /* X may alias B in la_solve: solve in place in the copy of b */
  if (la_solve(a->size[0], m, data_of(ca), out->storage->data, out->storage->data) != NN_OK) {
    tensor_release(out);
    out = NULL;
  }
  tensor_release(ca);
  return out;
}

Tensor *op_pinv(const Tensor *a, double rcond) {
  Tensor *c, *out;
  int64_t size[2];
  if (need_matrix(a) != NN_OK) return NULL;
  size[0] = a->size[1];
  size[1] = a->size[0];
  if ((c = tensor_contiguous(a)) == NULL) return NULL;
  out = tensor_new(2, size);
  if (out != NULL &&
      la_pinv(a->size[0], a->size[1], data_of(c), out->storage->data, rcond) != NN_OK) {
    tensor_release(out);
    out = NULL;
  }
  tensor_release(c);
  return out;
}

int op_rank(const Tensor *a, double rcond, int64_t *rank) {
  Tensor *c;
  int rc;
  if (need_matrix(a) != NN_OK) return nn_errcode();
  if ((c = tensor_contiguous(a)) == NULL) return nn_errcode();
  rc = la_rank(a->size[0], a->size[1], data_of(c), rcond, rank);
  tensor_release(c);
  return rc;
}

int op_eigh(const Tensor *a, Tensor **w, Tensor **v) {
  Tensor *c;
  char b[64];
  int rc;
  *w = *v = NULL;
  if (need_matrix(a) != NN_OK) return nn_errcode();
  if (a->size[0] != a->size[1])
    return nn_fail(NN_ESHAPE, "needs a square matrix, got %s", tensor_shape_str(a, b, sizeof b));
  if ((c = tensor_contiguous(a)) == NULL) return nn_errcode();
  *w = tensor_new(1, a->size);
  *v = *w ? tensor_new(2, a->size) : NULL;
  rc = *v ? la_eigh(a->size[0], data_of(c), (*w)->storage->data, (*v)->storage->data) : nn_errcode();
  tensor_release(c);
  if (rc != NN_OK) {
    tensor_release(*w);
    tensor_release(*v);
    *w = *v = NULL;
  }
  return rc;
}
