/*
** tensor.c — storage, tensor lifetime, views and strided iteration.
** See tensor.h for the layout and the ownership rules.
*/
#include "tensor.h"
#include "pool.h"

#include <stdlib.h>
#include <string.h>

void (*tensor_ag_free)(Tensor *t) = NULL;
void (*tensor_ag_unref)(Tensor *t) = NULL;
static int64_t live_tensors = 0, live_storages = 0;
static int64_t allocated_bytes = 0, live_bytes = 0;

int64_t tensor_live_count(void) { return live_tensors; }

int64_t storage_live_bytes(void) { return live_bytes; }

int64_t tensor_take_allocated(void) {
  int64_t b = allocated_bytes;
  allocated_bytes = 0;
  return b;
}
int64_t storage_live_count(void) { return live_storages; }

/* ======================================================================
** Lifetime
** ====================================================================== */

int tensor_check_shape(int ndim, const int64_t *size, int64_t *numel) {
  int64_t n = 1, cap = nn_max_elements();
  int d, zero = 0, over = 0;
  char buf[128];
  if (ndim < 0 || ndim > TENSOR_MAXDIM)
    return nn_fail(NN_EARG, "%d dimensions (at most %d)", ndim, TENSOR_MAXDIM);
  for (d = 0; d < ndim; d++) {
    if (size[d] < 0)
      return nn_fail(NN_EARG, "negative size %lld in dimension %d",
                     (long long)size[d], d + 1);
    zero |= size[d] == 0;
  }
  /* the product of the non-zero sizes (which the strides hold) is bounded
  ** by the cap too, so that an empty 0 x 2^62 tensor cannot overflow them;
  ** a product that overflows int64 is over the cap as well */
  for (d = 0; d < ndim && !over; d++)
    if (size[d] != 0) over = __builtin_mul_overflow(n, size[d], &n);
  if (over || n > cap || n > NN_MAX_ADDRESSABLE)
    return nn_fail(NN_ELIMIT, "size %s is over the limit of %lld elements "
                   "(see limits{max_elements=N})",
                   nn_shape_str(buf, sizeof buf, ndim, size), (long long)cap);
  *numel = zero ? 0 : n;
  return NN_OK;
}

/* Small storages live in one block with their header: most homework
** tensors have a handful of elements, and one allocation instead of two
** keeps per-op overhead down.  They come from free lists by size class
** (1, 2, 4, ... 32 elements); large ones get their own buffer. */
#define INLINE_ELEMENTS 32
#define NCLASSES 6

static Pool storage_pool[NCLASSES] = {
  {NULL, 0, 1024}, {NULL, 0, 1024}, {NULL, 0, 1024},
  {NULL, 0, 1024}, {NULL, 0, 512}, {NULL, 0, 512}
};
static Pool tensor_pool = {NULL, 0, 4096};

static int size_class(int64_t n) {
  int c = 0;
  while (((int64_t)1 << c) < n) c++;
  return c;
}

static Storage *storage_new(int64_t n) {
  Storage *s;
  if (n <= INLINE_ELEMENTS) {
    int c = size_class(n > 0 ? n : 1);
    s = pool_get(&storage_pool[c], sizeof *s + ((size_t)1 << c) * sizeof(double));
    if (s == NULL) return NULL;
    s->data = (double *)(s + 1);
  } else {
    /* shapes were checked against the cap, which is addressable; this
    ** keeps the byte count from wrapping whatever the caller checked */
    if (n > NN_MAX_ADDRESSABLE) return NULL;
    s = malloc(sizeof *s);
    if (s == NULL) return NULL;
    s->data = malloc((size_t)n * sizeof(double));
    if (s->data == NULL) { free(s); return NULL; }
    allocated_bytes += n * (int64_t)sizeof(double);
    live_bytes += n * (int64_t)sizeof(double);
  }
  s->n = n;
  s->refcount = 1;
  s->version = 0;
  live_storages++;
  return s;
}

static void storage_release(Storage *s) {
  if (s != NULL && --s->refcount == 0) {
    if (s->data != (double *)(s + 1)) {
      live_bytes -= s->n * (int64_t)sizeof(double);
      free(s->data);
      free(s);
    } else {
      pool_put(&storage_pool[size_class(s->n > 0 ? s->n : 1)], s);
    }
    live_storages--;
  }
}

/* Headers start as a copy of this (a dozen vector moves): GCC made the
** memset of the 192 bytes a `rep stosq`, whose start-up was half of
** header_new's samples in a profile of the homework MLP step on an AMD
** EPYC. */
static const Tensor blank_header;

/* A tensor header with no storage yet, in a state tensor_release accepts. */
static Tensor *header_new(void) {
  Tensor *t = pool_get(&tensor_pool, sizeof *t);
  if (t == NULL) { nn_fail(NN_ENOMEM, "out of memory"); return NULL; }
  *t = blank_header;
  t->refcount = 1;
  live_tensors++;
  return t;
}

static void set_contiguous_strides(Tensor *t) {
  int64_t st = 1;
  int d;
  for (d = t->ndim - 1; d >= 0; d--) {
    t->stride[d] = st;
    st *= t->size[d];
  }
}

Tensor *tensor_new(int ndim, const int64_t *size) {
  int64_t n;
  Tensor *t;
  if (tensor_check_shape(ndim, size, &n) != NN_OK) return NULL;
  if ((t = header_new()) == NULL) return NULL;
  t->storage = storage_new(n);
  if (t->storage == NULL) {
    tensor_release(t);   /* a bare header (counted live, from the pool) */
    nn_fail(NN_ENOMEM, "out of memory allocating %lld elements", (long long)n);
    return NULL;
  }
  t->ndim = ndim;
  if (ndim > 0) memcpy(t->size, size, (size_t)ndim * sizeof *size);
  set_contiguous_strides(t);
  return t;
}

Tensor *tensor_zeros(int ndim, const int64_t *size) {
  Tensor *t = tensor_new(ndim, size);
  if (t != NULL) memset(t->storage->data, 0, (size_t)t->storage->n * sizeof(double));
  return t;
}

Tensor *tensor_scalar(double v) {
  Tensor *t = tensor_new(0, NULL);
  if (t != NULL) t->storage->data[0] = v;
  return t;
}

Tensor *tensor_retain(Tensor *t) {
  t->refcount++;
  return t;
}

void tensor_release(Tensor *t) {
  if (t == NULL) return;
  if (--t->refcount > 0) {
    if (t->grad != NULL && t->grad->node != NULL && tensor_ag_unref != NULL) tensor_ag_unref(t);
    return;
  }
  if ((t->node != NULL || t->grad != NULL || t->name != NULL) && tensor_ag_free != NULL)
    tensor_ag_free(t);
  storage_release(t->storage);
  pool_put(&tensor_pool, t);
  live_tensors--;
}

/* A new header sharing t's storage, with t's geometry; callers then edit
** size/stride/offset to make the view they want. */
static Tensor *view_of(const Tensor *t) {
  Tensor *v = header_new();
  if (v == NULL) return NULL;
  v->storage = t->storage;
  v->storage->refcount++;
  v->offset = t->offset;
  v->ndim = t->ndim;
  memcpy(v->size, t->size, sizeof v->size);
  memcpy(v->stride, t->stride, sizeof v->stride);
  return v;
}

/* ======================================================================
** Queries and element access
** ====================================================================== */

int64_t tensor_numel(const Tensor *t) {
  int64_t n = 1;
  int d;
  for (d = 0; d < t->ndim; d++) n *= t->size[d];
  return n;
}

int tensor_is_contiguous(const Tensor *t) {
  int64_t st = 1;
  int d;
  for (d = t->ndim - 1; d >= 0; d--) {
    if (t->size[d] != 1 && t->stride[d] != st) return 0;
    st *= t->size[d];
  }
  return 1;
}

int tensor_same_shape(const Tensor *a, const Tensor *b) {
  int d;
  if (a->ndim != b->ndim) return 0;
  for (d = 0; d < a->ndim; d++)
    if (a->size[d] != b->size[d]) return 0;
  return 1;
}

char *tensor_shape_str(const Tensor *t, char *buf, int bufsize) {
  return nn_shape_str(buf, bufsize, t->ndim, t->size);
}

double *tensor_ptr(const Tensor *t, const int64_t *idx) {
  int64_t off = t->offset;
  int d;
  for (d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
  return t->storage->data + off;
}

static int64_t flat_offset(const Tensor *t, int64_t i) {
  int64_t off = t->offset;
  int d;
  for (d = t->ndim - 1; d >= 0; d--) {
    off += (i % t->size[d]) * t->stride[d];
    i /= t->size[d];
  }
  return off;
}

double tensor_get_flat(const Tensor *t, int64_t i) {
  return t->storage->data[flat_offset(t, i)];
}

void tensor_set_flat(Tensor *t, int64_t i, double v) {
  t->storage->data[flat_offset(t, i)] = v;
}

void tensor_bump_version(Tensor *t) { t->storage->version++; }

/* ======================================================================
** Views
** ====================================================================== */

static int check_dim(const Tensor *t, int dim, int extra) {
  if (dim < 0 || dim >= t->ndim + extra)
    return nn_fail(NN_EINDEX, "dimension %d out of range (tensor has %d)",
                   dim + 1, t->ndim);
  return NN_OK;
}

/* Resolves a single -1 in a requested shape against numel. */
static int infer_shape(const Tensor *t, int ndim, const int64_t *in, int64_t *out) {
  int64_t known = 1, numel = tensor_numel(t), n;
  int d, infer = -1;
  char b1[128], b2[128];
  if (ndim < 0 || ndim > TENSOR_MAXDIM)
    return nn_fail(NN_EARG, "%d dimensions (at most %d)", ndim, TENSOR_MAXDIM);
  for (d = 0; d < ndim; d++) {
    out[d] = in[d];
    if (in[d] == -1) {
      if (infer >= 0) return nn_fail(NN_EARG, "only one size may be -1");
      infer = d;
    } else if (in[d] < 0) {
      return nn_fail(NN_EARG, "negative size %lld in dimension %d",
                     (long long)in[d], d + 1);
    } else if (in[d] != 0 && known > INT64_MAX / in[d]) {
      return nn_fail(NN_ELIMIT, "size product overflows");
    } else {
      known *= in[d];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      return nn_fail(NN_ESHAPE, "cannot infer the -1 size: %lld elements "
                     "do not divide into blocks of %lld",
                     (long long)numel, (long long)known);
    out[infer] = numel / known;
  }
  if (tensor_check_shape(ndim, out, &n) != NN_OK) return nn_errcode();
  if (n != numel)
    return nn_fail(NN_ESHAPE, "cannot reshape %s (%lld elements) to %s (%lld elements)",
                   tensor_shape_str(t, b1, sizeof b1), (long long)numel,
                   nn_shape_str(b2, sizeof b2, ndim, out), (long long)n);
  return NN_OK;
}

/* Strides for viewing t with a new shape without copying (PyTorch's
** computeStride rule): walking from the innermost dim, each run of old dims
** that is contiguous within itself must be covered exactly by a run of new
** dims.  Returns 0 when the view needs a copy. */
static int view_strides(const Tensor *t, int ndim, const int64_t *size, int64_t *stride) {
  int64_t base, tnumel = 1, vnumel = 1;
  int td, vd = ndim - 1;
  if (tensor_numel(t) == 0 || t->ndim == 0) {
    int64_t st = 1;
    for (; vd >= 0; vd--) { stride[vd] = st; st *= size[vd] ? size[vd] : 1; }
    return 1;
  }
  base = t->stride[t->ndim - 1];
  for (td = t->ndim - 1; td >= 0; td--) {
    tnumel *= t->size[td];
    if (td == 0 || (t->size[td - 1] != 1 && t->stride[td - 1] != tnumel * base)) {
      while (vd >= 0 && (vnumel < tnumel || size[vd] == 1)) {
        stride[vd] = vnumel * base;
        vnumel *= size[vd];
        vd--;
      }
      if (vnumel != tnumel) return 0;
      if (td > 0) {
        base = t->stride[td - 1];
        tnumel = vnumel = 1;
      }
    }
  }
  return vd == -1;
}

Tensor *tensor_view(const Tensor *t, int ndim, const int64_t *size) {
  int64_t shape[TENSOR_MAXDIM], stride[TENSOR_MAXDIM];
  char b1[128], b2[128];
  Tensor *v;
  if (infer_shape(t, ndim, size, shape) != NN_OK) return NULL;
  if (!view_strides(t, ndim, shape, stride)) {
    nn_fail(NN_ESHAPE, "cannot view %s as %s without copying (the tensor is "
            "not contiguous; use reshape)", tensor_shape_str(t, b1, sizeof b1),
            nn_shape_str(b2, sizeof b2, ndim, shape));
    return NULL;
  }
  if ((v = view_of(t)) == NULL) return NULL;
  v->ndim = ndim;
  memcpy(v->size, shape, (size_t)ndim * sizeof *shape);
  memcpy(v->stride, stride, (size_t)ndim * sizeof *stride);
  return v;
}

Tensor *tensor_reshape(const Tensor *t, int ndim, const int64_t *size) {
  int64_t shape[TENSOR_MAXDIM], stride[TENSOR_MAXDIM];
  Tensor *c, *v;
  if (infer_shape(t, ndim, size, shape) != NN_OK) return NULL;
  if (view_strides(t, ndim, shape, stride)) return tensor_view(t, ndim, shape);
  if ((c = tensor_clone(t)) == NULL) return NULL;
  v = tensor_view(c, ndim, shape);
  tensor_release(c);
  return v;
}

Tensor *tensor_transpose(const Tensor *t, int d0, int d1) {
  Tensor *v;
  int64_t tmp;
  if (check_dim(t, d0, 0) || check_dim(t, d1, 0)) return NULL;
  if ((v = view_of(t)) == NULL) return NULL;
  tmp = v->size[d0]; v->size[d0] = v->size[d1]; v->size[d1] = tmp;
  tmp = v->stride[d0]; v->stride[d0] = v->stride[d1]; v->stride[d1] = tmp;
  return v;
}

Tensor *tensor_t(const Tensor *t) {
  if (t->ndim < 2) return view_of(t);
  if (t->ndim > 2) {
    char b[128];
    nn_fail(NN_ESHAPE, "t() expects a matrix, got %s (use transpose(d1, d2))",
            tensor_shape_str(t, b, sizeof b));
    return NULL;
  }
  return tensor_transpose(t, 0, 1);
}

Tensor *tensor_permute(const Tensor *t, const int *perm) {
  int seen[TENSOR_MAXDIM] = {0};
  int d;
  Tensor *v;
  for (d = 0; d < t->ndim; d++) {
    if (perm[d] < 0 || perm[d] >= t->ndim || seen[perm[d]]++) {
      nn_fail(NN_EARG, "not a permutation of 1..%d", t->ndim);
      return NULL;
    }
  }
  if ((v = view_of(t)) == NULL) return NULL;
  for (d = 0; d < t->ndim; d++) {
    v->size[d] = t->size[perm[d]];
    v->stride[d] = t->stride[perm[d]];
  }
  return v;
}

Tensor *tensor_squeeze(const Tensor *t, int dim) {
  Tensor *v;
  int d, k = 0;
  if (dim >= 0 && check_dim(t, dim, 0)) return NULL;
  if ((v = view_of(t)) == NULL) return NULL;
  for (d = 0; d < t->ndim; d++) {
    if (t->size[d] == 1 && (dim < 0 || dim == d)) continue;
    v->size[k] = t->size[d];
    v->stride[k] = t->stride[d];
    k++;
  }
  v->ndim = k;
  return v;
}

Tensor *tensor_unsqueeze(const Tensor *t, int dim) {
  Tensor *v;
  int d;
  if (check_dim(t, dim, 1)) return NULL;
  if (t->ndim >= TENSOR_MAXDIM) {
    nn_fail(NN_EARG, "cannot add a dimension: already %d (the maximum)", t->ndim);
    return NULL;
  }
  if ((v = view_of(t)) == NULL) return NULL;
  for (d = t->ndim; d > dim; d--) {
    v->size[d] = t->size[d - 1];
    v->stride[d] = t->stride[d - 1];
  }
  v->size[dim] = 1;
  /* any stride is valid for a size-1 dim; pick the contiguous one */
  v->stride[dim] = dim < t->ndim ? t->size[dim] * t->stride[dim] : 1;
  v->ndim = t->ndim + 1;
  return v;
}

Tensor *tensor_narrow(const Tensor *t, int dim, int64_t start, int64_t length) {
  Tensor *v;
  if (check_dim(t, dim, 0)) return NULL;
  if (start < 0 || length < 0 || start > t->size[dim] - length) {
    /* the message names start and length: their sum may overflow */
    nn_fail(NN_EINDEX, "%lld elements from position %lld are out of bounds for dimension %d "
            "of size %lld", (long long)length, (long long)start + 1, dim + 1,
            (long long)t->size[dim]);
    return NULL;
  }
  if ((v = view_of(t)) == NULL) return NULL;
  v->offset += start * t->stride[dim];
  v->size[dim] = length;
  return v;
}

Tensor *tensor_select(const Tensor *t, int dim, int64_t index) {
  Tensor *v;
  int d;
  if (check_dim(t, dim, 0)) return NULL;
  if (index < 0 || index >= t->size[dim]) {
    nn_fail(NN_EINDEX, "index %lld out of range for dimension %d of size %lld",
            (long long)index + 1, dim + 1, (long long)t->size[dim]);
    return NULL;
  }
  if ((v = view_of(t)) == NULL) return NULL;
  v->offset += index * t->stride[dim];
  for (d = dim; d < t->ndim - 1; d++) {
    v->size[d] = t->size[d + 1];
    v->stride[d] = t->stride[d + 1];
  }
  v->ndim = t->ndim - 1;
  return v;
}

Tensor *tensor_expand(const Tensor *t, int ndim, const int64_t *size) {
  Tensor *v;
  int d, lead = ndim - t->ndim;
  int64_t n;
  char b1[128], b2[128];
  if (ndim < t->ndim || ndim > TENSOR_MAXDIM) {
    nn_fail(NN_ESHAPE, "cannot expand %s to %d dimensions",
            tensor_shape_str(t, b1, sizeof b1), ndim);
    return NULL;
  }
  if ((v = view_of(t)) == NULL) return NULL;
  v->ndim = ndim;
  for (d = ndim - 1; d >= 0; d--) {
    int od = d - lead;
    int64_t want = size[d];
    if (od >= 0 && want == -1) want = t->size[od];
    if (want < 0) goto bad;
    if (od >= 0 && t->size[od] == want) {
      v->size[d] = want;
      v->stride[d] = t->stride[od];
    } else if (od < 0 || t->size[od] == 1) {
      v->size[d] = want;
      v->stride[d] = 0;   /* every index along d reads the same element */
    } else {
      goto bad;
    }
  }
  if (tensor_check_shape(v->ndim, v->size, &n) != NN_OK) {
    tensor_release(v);
    return NULL;
  }
  return v;
bad:
  nn_fail(NN_ESHAPE, "cannot expand %s to %s (only size-1 dims can grow)",
          tensor_shape_str(t, b1, sizeof b1), nn_shape_str(b2, sizeof b2, ndim, size));
  tensor_release(v);
  return NULL;
}

Tensor *tensor_index(const Tensor *t, const IndexSpec *spec) {
  Tensor *v = view_of(t), *w;
  int k, d = 0;
  if (spec->n > t->ndim) {
    tensor_release(v);
    nn_fail(NN_EINDEX, "%d indices for %d dimensions", spec->n, t->ndim);
    return NULL;
  }
  for (k = 0; k < spec->n && v != NULL; k++) {
    /* picks remove a dim, so the view's dim d trails the index entry k */
    w = spec->is_range[k] ? tensor_narrow(v, d, spec->start[k], spec->len[k])
                          : tensor_select(v, d, spec->start[k]);
    if (spec->is_range[k]) d++;
    tensor_release(v);
    v = w;
  }
  return v;
}

/* ======================================================================
** Iteration
** ====================================================================== */

void tensor_iter_init(TensorIter *it, int n, Tensor *const *ts) {
  const Tensor *t0 = ts[0];
  int64_t size[TENSOR_MAXDIM], st[TENSOR_ITER_MAX][TENSOR_MAXDIM];
  int d, k, nd = 0, flat = 1;
  /* the common case, all contiguous: one row of numel elements */
  for (k = 0; k < n && flat; k++) flat = tensor_is_contiguous(ts[k]);
  if (flat) {
    it->n = n;
    it->started = 0;
    it->ndim = 0;
    it->inner = tensor_numel(t0);
    it->remaining = it->inner > 0;
    for (k = 0; k < n; k++) {
      it->ptr[k] = ts[k]->storage->data + ts[k]->offset;
      it->istride[k] = 1;
    }
    return;
  }
  /* drop size-1 dims, then merge neighbours that are contiguous in every
  ** operand: fewer, longer rows make the inner loops run faster */
  for (d = 0; d < t0->ndim; d++) {
    if (t0->size[d] == 1) continue;
    if (nd > 0) {
      int merge = 1;
      for (k = 0; k < n; k++)
        if (st[k][nd - 1] != ts[k]->stride[d] * t0->size[d]) merge = 0;
      if (merge) {
        size[nd - 1] *= t0->size[d];
        for (k = 0; k < n; k++) st[k][nd - 1] = ts[k]->stride[d];
        continue;
      }
    }
    size[nd] = t0->size[d];
    for (k = 0; k < n; k++) st[k][nd] = ts[k]->stride[d];
    nd++;
  }
  it->n = n;
  it->started = 0;
  it->remaining = tensor_numel(t0) > 0 ? 1 : 0;
  for (k = 0; k < n; k++) it->ptr[k] = ts[k]->storage->data + ts[k]->offset;
  if (nd == 0) {
    it->ndim = 0;
    it->inner = 1;
    for (k = 0; k < n; k++) it->istride[k] = 0;
    return;
  }
  it->ndim = nd - 1;
  it->inner = size[nd - 1];
  for (k = 0; k < n; k++) it->istride[k] = st[k][nd - 1];
  for (d = 0; d < nd - 1; d++) {
    it->size[d] = size[d];
    it->count[d] = 0;
    for (k = 0; k < n; k++) it->stride[k][d] = st[k][d];
    if (it->remaining) it->remaining *= size[d];
  }
}

int tensor_iter_next(TensorIter *it) {
  int d, k;
  if (it->remaining == 0) return 0;
  it->remaining--;
  if (!it->started) {
    it->started = 1;
    return 1;
  }
  for (d = it->ndim - 1; d >= 0; d--) {
    for (k = 0; k < it->n; k++) it->ptr[k] += it->stride[k][d];
    if (++it->count[d] < it->size[d]) break;
    for (k = 0; k < it->n; k++) it->ptr[k] -= it->stride[k][d] * it->size[d];
    it->count[d] = 0;
  }
  return 1;
}

/* ======================================================================
** Copies
** ====================================================================== */

static int overlaps(const Tensor *a, const Tensor *b) {
  return a->storage == b->storage;
}

/* An expanded view repeats elements through zero strides: writing one
** position would write them all, so writes are refused (as in PyTorch). */
int tensor_check_no_overlap(const Tensor *t) {
  char b[128];
  int d;
  for (d = 0; d < t->ndim; d++)
    if (t->stride[d] == 0 && t->size[d] > 1)
      return nn_fail(NN_EARG, "cannot write into this %s tensor: it is an expanded view "
                     "whose elements share memory (dimension %d repeats one value); "
                     "clone() it first", tensor_shape_str(t, b, sizeof b), d + 1);
  return NN_OK;
}

int tensor_copy(Tensor *dst, const Tensor *src) {
  Tensor *e, *tmp = NULL, *ops[2];
  TensorIter it;
  int64_t i;
  char b1[128], b2[128];
  if (tensor_check_no_overlap(dst) != NN_OK) return nn_errcode();
  e = NULL;
  if (src->ndim <= dst->ndim) {
    e = tensor_expand(src, dst->ndim, dst->size);
  }
  if (e == NULL) {
    /* Torch7 copied between any shapes of the same count; that silently
    ** turns a transposed 3x2 weight typed as 2x3 into a different matrix,
    ** so only broadcasting is allowed, as in NumPy and PyTorch */
    if (tensor_numel(src) == tensor_numel(dst) && src->ndim == 2 && dst->ndim == 2 &&
        src->size[0] == dst->size[1] && src->size[1] == dst->size[0])
      return nn_fail(NN_ESHAPE, "cannot copy %s into %s (copy broadcasts, it does not reshape; "
                     "src:t() transposes)", tensor_shape_str(src, b1, sizeof b1),
                     tensor_shape_str(dst, b2, sizeof b2));
    return nn_fail(NN_ESHAPE, "cannot copy %s into %s (copy broadcasts, it does not reshape%s)",
                   tensor_shape_str(src, b1, sizeof b1), tensor_shape_str(dst, b2, sizeof b2),
                   tensor_numel(src) == tensor_numel(dst) ? "; src:reshape(...) if that is meant" : "");
  }
  if (overlaps(dst, src)) {
    /* go through a temporary so that x[1] = x[2]-style overlaps are safe */
    if ((tmp = tensor_clone(e)) == NULL) { tensor_release(e); return nn_errcode(); }
    tensor_release(e);
    e = tensor_expand(tmp, dst->ndim, dst->size);
    tensor_release(tmp);
    if (e == NULL) return nn_errcode();
  }
  ops[0] = dst; ops[1] = e;
  tensor_iter_init(&it, 2, ops);
  while (tensor_iter_next(&it)) {
    double *d = it.ptr[0], *s = it.ptr[1];
    int64_t sd = it.istride[0], ss = it.istride[1];
    for (i = 0; i < it.inner; i++) d[i * sd] = s[i * ss];
  }
  tensor_release(e);
  tensor_bump_version(dst);
  return NN_OK;
}

int tensor_fill(Tensor *t, double v) {
  TensorIter it;
  int64_t i;
  if (tensor_check_no_overlap(t) != NN_OK) return nn_errcode();
  tensor_iter_init(&it, 1, &t);
  while (tensor_iter_next(&it))
    for (i = 0; i < it.inner; i++) it.ptr[0][i * it.istride[0]] = v;
  tensor_bump_version(t);
  return NN_OK;
}

Tensor *tensor_clone(const Tensor *t) {
  Tensor *c = tensor_new(t->ndim, t->size);
  Tensor *ops[2];
  TensorIter it;
  int64_t i, k = 0;
  if (c == NULL) return NULL;
  ops[0] = (Tensor *)t;
  tensor_iter_init(&it, 1, ops);
  while (tensor_iter_next(&it))
    for (i = 0; i < it.inner; i++) c->storage->data[k++] = it.ptr[0][i * it.istride[0]];
  return c;
}

Tensor *tensor_contiguous(const Tensor *t) {
  if (tensor_is_contiguous(t)) return tensor_retain((Tensor *)t);
  return tensor_clone(t);
}

const double *tensor_rowmajor(const Tensor *t, Tensor **hold) {
  *hold = tensor_contiguous(t);
  return *hold ? (*hold)->storage->data + (*hold)->offset : NULL;
}

Tensor *tensor_index_select(const Tensor *t, int dim, const int64_t *idx, int64_t n) {
  int64_t size[TENSOR_MAXDIM], i;
  Tensor *out;
  if (check_dim(t, dim, 0)) return NULL;
  for (i = 0; i < n; i++)
    if (idx[i] < 0 || idx[i] >= t->size[dim]) {
      nn_fail(NN_EINDEX, "index %lld out of range for dimension %d of size %lld",
              (long long)idx[i] + 1, dim + 1, (long long)t->size[dim]);
      return NULL;
    }
  memcpy(size, t->size, sizeof size);
  size[dim] = n;
  if ((out = tensor_new(t->ndim, size)) == NULL) return NULL;
  for (i = 0; i < n; i++) {
    Tensor *src = tensor_select(t, dim, idx[i]);
    Tensor *dst = src ? tensor_select(out, dim, i) : NULL;
    int rc = dst ? tensor_copy(dst, src) : nn_errcode();
    tensor_release(src);
    tensor_release(dst);
    if (rc != NN_OK) { tensor_release(out); return NULL; }
  }
  return out;
}

Tensor *tensor_cat(Tensor *const *ts, int n, int dim) {
  int64_t size[TENSOR_MAXDIM], pos = 0;
  int i, d;
  Tensor *out;
  char b1[128], b2[128];
  if (n < 1) { nn_fail(NN_EARG, "needs at least one tensor"); return NULL; }
  if (check_dim(ts[0], dim, 0)) return NULL;
  memcpy(size, ts[0]->size, sizeof size);
  for (i = 1; i < n; i++) {
    int ok = ts[i]->ndim == ts[0]->ndim;
    for (d = 0; ok && d < ts[0]->ndim; d++)
      if (d != dim && ts[i]->size[d] != ts[0]->size[d]) ok = 0;
    if (!ok) {
      nn_fail(NN_ESHAPE, "tensor %d has shape %s, tensor 1 has %s "
              "(all sizes but dimension %d must match)", i + 1,
              tensor_shape_str(ts[i], b1, sizeof b1),
              tensor_shape_str(ts[0], b2, sizeof b2), dim + 1);
      return NULL;
    }
    size[dim] += ts[i]->size[dim];
  }
  if ((out = tensor_new(ts[0]->ndim, size)) == NULL) return NULL;
  for (i = 0; i < n; i++) {
    Tensor *part = tensor_narrow(out, dim, pos, ts[i]->size[dim]);
    int rc = part ? tensor_copy(part, ts[i]) : nn_errcode();
    tensor_release(part);
    if (rc != NN_OK) { tensor_release(out); return NULL; }
    pos += ts[i]->size[dim];
  }
  return out;
}

Tensor *tensor_stack(Tensor *const *ts, int n, int dim) {
  Tensor *parts[64], **p = parts, *out = NULL;
  int i, made = 0;
  char b1[128], b2[128];
  if (n < 1) { nn_fail(NN_EARG, "needs at least one tensor"); return NULL; }
  if (check_dim(ts[0], dim, 1)) return NULL;
  for (i = 1; i < n; i++)
    if (!tensor_same_shape(ts[i], ts[0])) {
      nn_fail(NN_ESHAPE, "tensor %d has shape %s, tensor 1 has %s (all must match)",
              i + 1, tensor_shape_str(ts[i], b1, sizeof b1),
              tensor_shape_str(ts[0], b2, sizeof b2));
      return NULL;
    }
  if (n > 64 && (p = malloc((size_t)n * sizeof *p)) == NULL) {
    nn_fail(NN_ENOMEM, "out of memory");
    return NULL;
  }
  for (; made < n; made++)
    if ((p[made] = tensor_unsqueeze(ts[made], dim)) == NULL) goto done;
  out = tensor_cat(p, n, dim);
done:
  for (i = 0; i < made; i++) tensor_release(p[i]);
  if (p != parts) free(p);
  return out;
}
