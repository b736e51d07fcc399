/*
** tensor.h — the nncalc tensor: a view onto refcounted storage.
**
** Layout (as in Torch7 and NumPy).  A Tensor is
**     storage  a refcounted buffer of doubles, shared by every view of it
**     offset   where element (0,0,...) lives in the buffer
**     size[d]  extent of dimension d; d = 0 is the outermost
**     stride[d] distance in elements between neighbours along d
** so element (i0, i1, ...) is storage->data[offset + i0*stride[0] + i1*stride[1] + ...].
** Transpose, permute, narrow, select, expand (stride 0) and view only
** rebuild these small arrays; no data moves.  Indices here are 0-based;
** only the Lua binding speaks 1-based.
**
** Example: a 2x3 matrix M and its transpose share one buffer
**     M:  offset 0, size {2,3}, stride {3,1}
**     Mᵀ: offset 0, size {3,2}, stride {1,3}
**
** Ownership.  Every function returning Tensor* returns a NEW reference (or
** NULL on failure, with nn_errmsg() set); tensor_release() drops one.  Views
** hold a reference to the storage, so a view outlives its parent.  Input
** tensors are borrowed, never consumed.
**
** Autograd hooks.  node, grad and name belong to the autograd layer (all
** NULL for plain tensors); tensor.c only calls tensor_ag_free when a tensor
** that has any of them dies.  storage->version counts in-place writes, so
** autograd can detect that a tensor it saved for backward was modified.
*/
#ifndef NNCALC_TENSOR_H
#define NNCALC_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define TENSOR_MAXDIM 8

typedef struct Storage {
  double *data;
  int64_t n;          /* elements allocated */
  int refcount;
  unsigned version;   /* bumped by every in-place write */
} Storage;

typedef struct Tensor {
  Storage *storage;
  int64_t offset;
  int ndim;
  int refcount;
  int64_t size[TENSOR_MAXDIM];
  int64_t stride[TENSOR_MAXDIM];
  /* autograd (autograd.c) */
  struct Node *node;      /* the op that computed this tensor; NULL for leaves */
  struct Tensor *grad;    /* accumulated gradient (leaves, retain_grad) */
  char *name;             /* label from :name("W1") */
  unsigned char requires_grad, retain_grad;
  int64_t ag_mark;        /* scratch for the backward pass */
} Tensor;

/* Releases node, grad and name of a dying tensor; set by autograd.c. */
extern void (*tensor_ag_free)(Tensor *t);
/* Called when a reference to a tensor whose .grad is itself recorded in a
** graph goes (create_graph): that graph may hold the last references to
** the tensor, a cycle autograd.c breaks. */
extern void (*tensor_ag_unref)(Tensor *t);

/* Live objects, for leak tests: tensors and storages not yet freed. */
int64_t tensor_live_count(void);
int64_t storage_live_count(void);

/* Bytes of heap storage allocated since the last call (then reset to 0):
** a garbage-collected host counts them against its collector, which
** otherwise sees only the small handles. */
int64_t tensor_take_allocated(void);
int64_t storage_live_bytes(void);     /* heap storage not yet freed */

/* ---- lifetime ---------------------------------------------------------- */
Tensor *tensor_new(int ndim, const int64_t *size);        /* uninitialised */
Tensor *tensor_zeros(int ndim, const int64_t *size);
Tensor *tensor_scalar(double v);                          /* 0-d */
Tensor *tensor_retain(Tensor *t);                         /* returns t */
void tensor_release(Tensor *t);                           /* NULL is fine */

/* Validates a shape (0..8 dims, sizes >= 0, product under the cap) and
** returns its element count in *numel. */
int tensor_check_shape(int ndim, const int64_t *size, int64_t *numel);

/* ---- queries ----------------------------------------------------------- */
int64_t tensor_numel(const Tensor *t);
int tensor_is_contiguous(const Tensor *t);
int tensor_same_shape(const Tensor *a, const Tensor *b);
/* "3x2" into buf (see nn_shape_str). */
char *tensor_shape_str(const Tensor *t, char *buf, int bufsize);

/* Pointer to the element at a 0-based multi-index (no bounds check). */
double *tensor_ptr(const Tensor *t, const int64_t *idx);
/* Element by flat row-major position 0..numel-1 (no bounds check). */
double tensor_get_flat(const Tensor *t, int64_t i);
void tensor_set_flat(Tensor *t, int64_t i, double v);
/* NN_OK, or an error when t is an expanded view (zero stride on a dimension
** of size > 1), where one write would change several elements. */
int tensor_check_no_overlap(const Tensor *t);

/* Marks an in-place write to t's storage (for autograd's version check). */
void tensor_bump_version(Tensor *t);

/* ---- views (share storage) --------------------------------------------- */
Tensor *tensor_view(const Tensor *t, int ndim, const int64_t *size);   /* -1 infers */
Tensor *tensor_reshape(const Tensor *t, int ndim, const int64_t *size); /* view or copy */
Tensor *tensor_transpose(const Tensor *t, int d0, int d1);
Tensor *tensor_t(const Tensor *t);                    /* 2-D transpose; 1-D/0-D as is */
Tensor *tensor_permute(const Tensor *t, const int *perm);
Tensor *tensor_squeeze(const Tensor *t, int dim);      /* dim < 0: all size-1 dims */
Tensor *tensor_unsqueeze(const Tensor *t, int dim);
Tensor *tensor_narrow(const Tensor *t, int dim, int64_t start, int64_t length);
Tensor *tensor_select(const Tensor *t, int dim, int64_t index);  /* drops dim */
Tensor *tensor_expand(const Tensor *t, int ndim, const int64_t *size);  /* -1 keeps */

/* An index as Lua writes it, x[{i, {a, b}, ...}]: entry k applies to dim k;
** a position picks one slice (the dim goes away), a range keeps
** [start, start+len).  Bounds are the caller's to check. */
typedef struct IndexSpec {
  int n;
  int is_range[TENSOR_MAXDIM];
  int64_t start[TENSOR_MAXDIM], len[TENSOR_MAXDIM];
} IndexSpec;
Tensor *tensor_index(const Tensor *t, const IndexSpec *spec);

/* ---- copies ------------------------------------------------------------ */
Tensor *tensor_contiguous(const Tensor *t);   /* t itself (retained) if already */
/* t's elements in row-major order as one array, for loops over every
** element (tensor_get_flat divides by each size per call): t's own memory
** when it is contiguous, else a contiguous copy.  Release *hold when done.
** NULL when the copy cannot be made. */
const double *tensor_rowmajor(const Tensor *t, Tensor **hold);
Tensor *tensor_clone(const Tensor *t);        /* always a fresh contiguous copy */
/* dst[...] = src[...], src broadcast to dst's shape; overlapping memory safe. */
int tensor_copy(Tensor *dst, const Tensor *src);
int tensor_fill(Tensor *t, double v);
/* Gathers entries along dim at 0-based indices idx[0..n-1]. */
Tensor *tensor_index_select(const Tensor *t, int dim, const int64_t *idx, int64_t n);
Tensor *tensor_cat(Tensor *const *ts, int n, int dim);
Tensor *tensor_stack(Tensor *const *ts, int n, int dim);

/* ---- iteration --------------------------------------------------------- */
#define TENSOR_ITER_MAX 4

/* Walks the elements of up to four same-shaped strided tensors in
** row-major order, one innermost row at a time.  Kernels use it so that any
** view, transposed or broadcast, works without a copy. */
typedef struct TensorIter {
  int ndim;              /* dims above the innermost */
  int64_t inner;         /* length of the innermost row */
  int64_t count[TENSOR_MAXDIM];
  int64_t size[TENSOR_MAXDIM];
  int n;                 /* number of operands, at most TENSOR_ITER_MAX */
  double *ptr[TENSOR_ITER_MAX];     /* start of the current row, per operand */
  int64_t istride[TENSOR_ITER_MAX]; /* innermost stride, per operand */
  int64_t stride[TENSOR_ITER_MAX][TENSOR_MAXDIM];
  int64_t remaining;     /* rows not yet handed out */
  int started;
} TensorIter;

/* All operands must have the shape of ts[0].  Adjacent dims that are
** contiguous in every operand are merged, so a contiguous tensor is walked
** as a single row. */
void tensor_iter_init(TensorIter *it, int n, Tensor *const *ts);
/* Moves to the next row (ptr[] and inner describe it); 0 when done.
** Typical use:
**     while (tensor_iter_next(&it))
**       for (i = 0; i < it.inner; i++) it.ptr[0][i*it.istride[0]] = ...; */
int tensor_iter_next(TensorIter *it);

#endif
