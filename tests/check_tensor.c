/*
** check_tensor.c — tensor.c: creation, refcounting, views and strides,
** copies, gathers, iteration, shape validation and the version counter.
** Expected values are written out by hand beside each case.
*/
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check_fixture.h"
#include "check_suites.h"
#include "tensor.h"

/* ---- helpers ------------------------------------------------------------ */

/* 0, 1, 2, ... in row-major order. */
static Tensor *iota(int ndim, const int64_t *size) {
  Tensor *t = tensor_new(ndim, size);
  int64_t i, n;
  ck_assert_ptr_nonnull(t);
  n = tensor_numel(t);
  for (i = 0; i < n; i++) t->storage->data[i] = (double)i;
  return t;
}

static void expect_strides(const Tensor *t, const int64_t *stride) {
  int d;
  for (d = 0; d < t->ndim; d++)
    ck_assert_msg(t->stride[d] == stride[d], "stride[%d]: got %lld, want %lld", d,
                  (long long)t->stride[d], (long long)stride[d]);
}

/* Shape and exact values, read in row-major order through the strides. */
static void expect_vals(const Tensor *t, int ndim, const int64_t *size, const double *v) {
  int64_t i, n;
  expect_shape(t, ndim, size);
  n = tensor_numel(t);
  for (i = 0; i < n; i++) {
    double got = tensor_get_flat(t, i);
    ck_assert_msg(got == v[i], "element %lld: got %.17g, want %.17g", (long long)i,
                  got, v[i]);
  }
}

/* ---- creation ----------------------------------------------------------- */

START_TEST(new_has_contiguous_layout) {
  int64_t s[3] = {2, 3, 4}, st[3] = {12, 4, 1};
  Tensor *t = tensor_new(3, s);
  char b[32];
  expect_shape(t, 3, s);
  expect_strides(t, st);
  ck_assert_int_eq(t->offset, 0);
  ck_assert_int_eq(t->refcount, 1);
  ck_assert_ptr_null(t->node);
  ck_assert_int_eq(t->storage->n, 24);
  ck_assert_int_eq(t->storage->refcount, 1);
  ck_assert_uint_eq(t->storage->version, 0);
  ck_assert_int_eq(tensor_numel(t), 24);
  ck_assert(tensor_is_contiguous(t));
  ck_assert_str_eq(tensor_shape_str(t, b, sizeof b), "2x3x4");
  tensor_release(t);
}
END_TEST

START_TEST(zeros_are_zero) {
  int64_t s[2] = {3, 5}, i;
  Tensor *t = tensor_zeros(2, s);
  ck_assert_ptr_nonnull(t);
  for (i = 0; i < 15; i++) ck_assert(t->storage->data[i] == 0.0);
  tensor_release(t);
}
END_TEST

START_TEST(scalar_is_zero_dim) {
  Tensor *t = tensor_scalar(-2.5);
  char b[32];
  ck_assert_ptr_nonnull(t);
  ck_assert_int_eq(t->ndim, 0);
  ck_assert_int_eq(tensor_numel(t), 1);
  ck_assert(tensor_get_flat(t, 0) == -2.5);
  ck_assert(*tensor_ptr(t, NULL) == -2.5);
  ck_assert(tensor_is_contiguous(t));
  ck_assert_str_eq(tensor_shape_str(t, b, sizeof b), "scalar");
  tensor_release(t);
}
END_TEST

START_TEST(empty_tensor_is_valid) {
  int64_t s[2] = {0, 3};
  Tensor *t = tensor_zeros(2, s);
  expect_shape(t, 2, s);
  ck_assert_int_eq(tensor_numel(t), 0);
  ck_assert_int_eq(tensor_fill(t, 1.0), NN_OK);
  tensor_release(t);
}
END_TEST

START_TEST(flat_and_ptr_access_follow_strides) {
  int64_t s[2] = {2, 3}, idx[2] = {2, 1};
  Tensor *m = iota(2, s), *t = tensor_transpose(m, 0, 1);
  ck_assert_ptr_nonnull(t);
  /* t = [[0,3],[1,4],[2,5]] */
  ck_assert(*tensor_ptr(t, idx) == 5.0);
  ck_assert(tensor_get_flat(t, 1) == 3.0);
  ck_assert(tensor_get_flat(t, 4) == 2.0);
  tensor_set_flat(t, 1, 30.0);
  ck_assert(m->storage->data[3] == 30.0);
  tensor_release(t);
  tensor_release(m);
}
END_TEST

/* ---- refcounting -------------------------------------------------------- */

START_TEST(retain_release_count) {
  int64_t s[1] = {4};
  Tensor *t = tensor_zeros(1, s);
  ck_assert_ptr_eq(tensor_retain(t), t);
  ck_assert_int_eq(t->refcount, 2);
  tensor_release(t);
  ck_assert_int_eq(t->refcount, 1);
  tensor_release(t);
  tensor_release(NULL);   /* documented as fine */
}
END_TEST

START_TEST(view_keeps_storage_alive) {
  int64_t s[2] = {2, 3};
  double want[3] = {3, 4, 5};
  int64_t ws[1] = {3};
  Tensor *m = iota(2, s), *row = tensor_select(m, 0, 1);
  Storage *st = m->storage;
  ck_assert_ptr_nonnull(row);
  ck_assert_ptr_eq(row->storage, st);
  ck_assert_int_eq(st->refcount, 2);
  ck_assert_int_eq(m->refcount, 1);
  tensor_release(m);
  ck_assert_int_eq(st->refcount, 1);
  expect_vals(row, 1, ws, want);   /* ASan would flag a freed buffer here */
  tensor_release(row);
}
END_TEST

/* ---- views -------------------------------------------------------------- */

START_TEST(transpose_swaps_strides_without_copy) {
  int64_t s[2] = {2, 3}, ts[2] = {3, 2}, tst[2] = {1, 3};
  double want[6] = {0, 3, 1, 4, 2, 5};
  Tensor *m = iota(2, s), *t = tensor_transpose(m, 0, 1), *t2 = tensor_t(m);
  expect_vals(t, 2, ts, want);
  expect_strides(t, tst);
  ck_assert_ptr_eq(t->storage, m->storage);
  ck_assert_ptr_eq(t->storage->data, m->storage->data);
  ck_assert_int_eq(t->offset, 0);
  ck_assert(!tensor_is_contiguous(t));
  expect_vals(t2, 2, ts, want);
  expect_strides(t2, tst);
  ck_assert_ptr_eq(t2->storage, m->storage);
  ck_assert_int_eq(m->storage->refcount, 3);
  /* a write through the view is seen by the parent */
  tensor_set_flat(t, 5, -1.0);
  ck_assert(m->storage->data[5] == -1.0);
  tensor_release(t);
  tensor_release(t2);
  tensor_release(m);
}
END_TEST

START_TEST(transpose_errors_and_t_of_vectors) {
  int64_t s3[3] = {2, 2, 2}, s1[1] = {3}, st1[1] = {1};
  Tensor *c = iota(3, s3), *v = iota(1, s1), *vt;
  ck_assert_ptr_null(tensor_transpose(c, 0, 3));
  expect_error(NN_EINDEX, "dimension 4");
  ck_assert_ptr_null(tensor_transpose(c, -1, 0));
  expect_error(NN_EINDEX, NULL);
  ck_assert_ptr_null(tensor_t(c));
  expect_error(NN_ESHAPE, "2x2x2");
  vt = tensor_t(v);   /* 1-D: as is */
  expect_shape(vt, 1, s1);
  expect_strides(vt, st1);
  ck_assert_ptr_eq(vt->storage, v->storage);
  tensor_release(vt);
  tensor_release(v);
  tensor_release(c);
}
END_TEST

START_TEST(permute_reorders_sizes_and_strides) {
  int64_t s[3] = {2, 3, 4}, ps[3] = {4, 2, 3}, pst[3] = {1, 12, 4};
  int perm[3] = {2, 0, 1}, bad[3] = {0, 0, 1};
  int64_t i, j, k;
  Tensor *x = iota(3, s), *p = tensor_permute(x, perm);
  expect_shape(p, 3, ps);
  expect_strides(p, pst);
  ck_assert_ptr_eq(p->storage, x->storage);
  for (k = 0; k < 4; k++)
    for (i = 0; i < 2; i++)
      for (j = 0; j < 3; j++) {
        int64_t pi[3] = {k, i, j};
        ck_assert(*tensor_ptr(p, pi) == (double)(i * 12 + j * 4 + k));
      }
  ck_assert_ptr_null(tensor_permute(x, bad));
  expect_error(NN_EARG, NULL);
  tensor_release(p);
  tensor_release(x);
}
END_TEST

START_TEST(narrow_shifts_offset) {
  int64_t s[2] = {4, 3}, r[2] = {2, 3}, c[2] = {4, 2}, st[2] = {3, 1};
  double wr[6] = {3, 4, 5, 6, 7, 8}, wc[8] = {1, 2, 4, 5, 7, 8, 10, 11};
  Tensor *m = iota(2, s), *rows = tensor_narrow(m, 0, 1, 2), *cols = tensor_narrow(m, 1, 1, 2);
  Tensor *none = tensor_narrow(m, 0, 4, 0);
  expect_vals(rows, 2, r, wr);
  ck_assert_int_eq(rows->offset, 3);
  expect_strides(rows, st);
  ck_assert(tensor_is_contiguous(rows));
  expect_vals(cols, 2, c, wc);
  ck_assert_int_eq(cols->offset, 1);
  expect_strides(cols, st);
  ck_assert(!tensor_is_contiguous(cols));
  ck_assert_ptr_nonnull(none);
  ck_assert_int_eq(tensor_numel(none), 0);
  ck_assert_ptr_null(tensor_narrow(m, 0, 3, 2));
  expect_error(NN_EINDEX, NULL);
  ck_assert_ptr_null(tensor_narrow(m, 1, -1, 1));
  expect_error(NN_EINDEX, NULL);
  ck_assert_ptr_null(tensor_narrow(m, 2, 0, 1));
  expect_error(NN_EINDEX, NULL);
  tensor_release(none);
  tensor_release(cols);
  tensor_release(rows);
  tensor_release(m);
}
END_TEST

START_TEST(select_drops_dim) {
  int64_t s[2] = {3, 4}, n4[1] = {4}, n3[1] = {3}, st4[1] = {4};
  double wr[4] = {8, 9, 10, 11}, wc[3] = {1, 5, 9};
  Tensor *m = iota(2, s), *row = tensor_select(m, 0, 2), *col = tensor_select(m, 1, 1);
  Tensor *el = row ? tensor_select(row, 0, 3) : NULL;
  expect_vals(row, 1, n4, wr);
  ck_assert_int_eq(row->offset, 8);
  expect_vals(col, 1, n3, wc);
  ck_assert_int_eq(col->offset, 1);
  expect_strides(col, st4);
  ck_assert_ptr_nonnull(el);
  ck_assert_int_eq(el->ndim, 0);
  ck_assert(tensor_get_flat(el, 0) == 11.0);
  ck_assert_ptr_null(tensor_select(m, 0, 3));
  expect_error(NN_EINDEX, "index 4");
  ck_assert_ptr_null(tensor_select(m, 1, 4));
  expect_error(NN_EINDEX, "index 5");
  tensor_release(el);
  tensor_release(col);
  tensor_release(row);
  tensor_release(m);
}
END_TEST

START_TEST(squeeze_and_unsqueeze) {
  int64_t s[3] = {1, 3, 1}, all[1] = {3}, first[2] = {3, 1};
  int64_t v3[1] = {3}, row[2] = {1, 3}, colv[2] = {3, 1}, m23[2] = {2, 3}, u[3] = {2, 1, 3};
  int64_t s8[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  double w3[3] = {0, 1, 2};
  Tensor *x = iota(3, s), *a = tensor_squeeze(x, -1), *b = tensor_squeeze(x, 0);
  Tensor *c = tensor_squeeze(x, 1), *v = iota(1, v3), *r = tensor_unsqueeze(v, 0);
  Tensor *cl = tensor_unsqueeze(v, 1), *m = iota(2, m23), *mu = tensor_unsqueeze(m, 1);
  Tensor *e8 = tensor_zeros(8, s8);
  expect_vals(a, 1, all, w3);
  expect_vals(b, 2, first, w3);
  expect_vals(c, 3, s, w3);   /* size 3: nothing to squeeze */
  expect_vals(r, 2, row, w3);
  expect_vals(cl, 2, colv, w3);
  ck_assert_ptr_eq(r->storage, v->storage);
  expect_shape(mu, 3, u);
  ck_assert(tensor_is_contiguous(mu));
  ck_assert_ptr_null(tensor_unsqueeze(v, 2));
  expect_error(NN_EINDEX, NULL);
  ck_assert_ptr_null(tensor_unsqueeze(e8, 0));
  expect_error(NN_EARG, NULL);
  ck_assert_ptr_null(tensor_squeeze(x, 3));
  expect_error(NN_EINDEX, NULL);
  tensor_release(e8);
  tensor_release(mu);
  tensor_release(m);
  tensor_release(cl);
  tensor_release(r);
  tensor_release(v);
  tensor_release(c);
  tensor_release(b);
  tensor_release(a);
  tensor_release(x);
}
END_TEST

START_TEST(expand_uses_zero_strides) {
  int64_t cs[2] = {3, 1}, to[2] = {3, 4}, st[2] = {1, 0};
  int64_t to3[3] = {2, -1, 4}, got3[3] = {2, 3, 4}, st3[3] = {0, 1, 0}, bad[2] = {4, 4};
  double c[3] = {1, 2, 3};
  double w[12] = {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
  Tensor *x = mk(2, cs, c), *e = tensor_expand(x, 2, to), *e3 = tensor_expand(x, 3, to3);
  int64_t i;
  expect_vals(e, 2, to, w);
  expect_strides(e, st);
  ck_assert_ptr_eq(e->storage, x->storage);
  expect_shape(e3, 3, got3);
  expect_strides(e3, st3);
  for (i = 0; i < 24; i++) ck_assert(tensor_get_flat(e3, i) == (double)(i / 4 % 3 + 1));
  ck_assert_ptr_null(tensor_expand(x, 2, bad));
  expect_error(NN_ESHAPE, "3x1");
  ck_assert_ptr_null(tensor_expand(x, 1, to));
  expect_error(NN_ESHAPE, NULL);
  /* one write would change four elements: refused, the data untouched */
  ck_assert_int_eq(tensor_fill(e, 9), NN_EARG);
  expect_error(NN_EARG, "expanded view");
  ck_assert_int_eq(tensor_copy(e, x), NN_EARG);
  ck_assert_int_eq(tensor_check_no_overlap(x), NN_OK);
  expect_vals(e, 2, to, w);
  tensor_release(e3);
  tensor_release(e);
  tensor_release(x);
}
END_TEST

START_TEST(view_of_contiguous_shares_storage) {
  int64_t s[2] = {2, 3}, v[2] = {3, 2}, vst[2] = {2, 1}, inf[1] = {-1}, six[1] = {6};
  int64_t inf2[3] = {-1, 1, 3}, got2[3] = {2, 1, 3};
  double w[6] = {0, 1, 2, 3, 4, 5};
  Tensor *m = iota(2, s), *a = tensor_view(m, 2, v), *b = tensor_view(m, 1, inf);
  Tensor *c = tensor_view(m, 3, inf2);
  expect_vals(a, 2, v, w);
  expect_strides(a, vst);
  ck_assert_ptr_eq(a->storage, m->storage);
  expect_vals(b, 1, six, w);
  ck_assert_ptr_eq(b->storage, m->storage);
  expect_vals(c, 3, got2, w);
  tensor_release(c);
  tensor_release(b);
  tensor_release(a);
  tensor_release(m);
}
END_TEST

START_TEST(view_of_strided_views) {
  /* narrowing columns keeps rows splittable: 4x2 (strides 3,1) as 2x2x2 */
  int64_t s[2] = {4, 3}, to[3] = {2, 2, 2}, st[3] = {6, 3, 1};
  int64_t s23[2] = {2, 3}, to312[3] = {3, 1, 2};
  double w[8] = {1, 2, 4, 5, 7, 8, 10, 11}, wt[6] = {0, 3, 1, 4, 2, 5};
  Tensor *m = iota(2, s), *cols = tensor_narrow(m, 1, 1, 2), *v = tensor_view(cols, 3, to);
  Tensor *m2 = iota(2, s23), *t = tensor_t(m2), *tv = tensor_view(t, 3, to312);
  expect_vals(v, 3, to, w);
  expect_strides(v, st);
  ck_assert_int_eq(v->offset, 1);
  ck_assert_ptr_eq(v->storage, m->storage);
  /* a transposed 3x2 gains a size-1 dim without a copy */
  expect_vals(tv, 3, to312, wt);
  ck_assert_ptr_eq(tv->storage, m2->storage);
  tensor_release(tv);
  tensor_release(t);
  tensor_release(m2);
  tensor_release(v);
  tensor_release(cols);
  tensor_release(m);
}
END_TEST

START_TEST(view_errors) {
  int64_t s[2] = {2, 3}, flat[1] = {6}, wrong[2] = {4, 2}, two[2] = {-1, -1};
  int64_t nodiv[2] = {4, -1}, neg[2] = {-2, -3};
  Tensor *m = iota(2, s), *t = tensor_t(m);
  ck_assert_ptr_null(tensor_view(t, 1, flat));
  expect_error(NN_ESHAPE, "3x2");
  ck_assert_ptr_null(tensor_view(m, 2, wrong));
  expect_error(NN_ESHAPE, "2x3");
  ck_assert_msg(strstr(nn_errmsg(), "4x2") != NULL, "message: %s", nn_errmsg());
  ck_assert_ptr_null(tensor_view(m, 2, two));
  expect_error(NN_EARG, NULL);
  ck_assert_ptr_null(tensor_view(m, 2, nodiv));
  expect_error(NN_ESHAPE, NULL);
  ck_assert_ptr_null(tensor_view(m, 2, neg));
  expect_error(NN_EARG, NULL);
  tensor_release(t);
  tensor_release(m);
}
END_TEST

START_TEST(reshape_copies_only_when_needed) {
  int64_t s[2] = {2, 3}, flat[1] = {6}, inf[2] = {3, -1}, s32[2] = {3, 2};
  double wt[6] = {0, 3, 1, 4, 2, 5}, w[6] = {0, 1, 2, 3, 4, 5};
  Tensor *m = iota(2, s), *t = tensor_t(m), *rt = tensor_reshape(t, 1, flat);
  Tensor *rm = tensor_reshape(m, 2, inf);
  expect_vals(rt, 1, flat, wt);
  ck_assert_ptr_ne(rt->storage, m->storage);
  ck_assert(tensor_is_contiguous(rt));
  expect_vals(rm, 2, s32, w);
  ck_assert_ptr_eq(rm->storage, m->storage);
  ck_assert_ptr_null(tensor_reshape(m, 1, s32));
  expect_error(NN_ESHAPE, NULL);
  tensor_release(rm);
  tensor_release(rt);
  tensor_release(t);
  tensor_release(m);
}
END_TEST

START_TEST(contiguous_and_clone) {
  int64_t s[2] = {2, 3}, ts[2] = {3, 2};
  double wt[6] = {0, 3, 1, 4, 2, 5}, w[6] = {0, 1, 2, 3, 4, 5};
  Tensor *m = iota(2, s), *t = tensor_t(m), *same = tensor_contiguous(m);
  Tensor *ct = tensor_contiguous(t), *cl = tensor_clone(m);
  ck_assert_ptr_eq(same, m);
  ck_assert_int_eq(m->refcount, 2);
  expect_vals(ct, 2, ts, wt);
  ck_assert(tensor_is_contiguous(ct));
  ck_assert_ptr_ne(ct->storage, m->storage);
  expect_vals(cl, 2, s, w);
  ck_assert_ptr_ne(cl->storage, m->storage);
  tensor_set_flat(cl, 0, 99.0);
  ck_assert(m->storage->data[0] == 0.0);
  tensor_release(cl);
  tensor_release(ct);
  tensor_release(same);
  tensor_release(t);
  tensor_release(m);
}
END_TEST

/* An allocation the machine cannot give (2^59 doubles, admitted by a
** raised cap) fails with NN_ENOMEM and leaves no tensor counted live:
** the header taken for it goes back. */
START_TEST(failed_allocation_leaves_nothing_live) {
  int64_t size[2], cap = nn_max_elements(), t0 = tensor_live_count(), s0 = storage_live_count();
  size[0] = (int64_t)1 << 30;
  size[1] = (int64_t)1 << 29;
  ck_assert_int_eq(nn_set_max_elements(NN_MAX_ADDRESSABLE), NN_OK);
  ck_assert_ptr_null(tensor_new(2, size));
  expect_error(NN_ENOMEM, "out of memory allocating");
  ck_assert_ptr_null(tensor_zeros(2, size));
  ck_assert_int_eq(nn_set_max_elements(cap), NN_OK);
  ck_assert_int_eq(tensor_live_count(), t0);
  ck_assert_int_eq(storage_live_count(), s0);
}
END_TEST

/* rowmajor: a contiguous tensor's own memory (offset included), else a
** copy in row-major order that *hold owns. */
START_TEST(rowmajor_reads_in_place_or_copies) {
  int64_t s[2] = {2, 3};
  double wt[6] = {0, 3, 1, 4, 2, 5};
  Tensor *m = iota(2, s), *t = tensor_t(m), *row = tensor_select(m, 0, 1), *hold;
  const double *p = tensor_rowmajor(row, &hold);
  int k;
  ck_assert_ptr_eq(p, m->storage->data + 3);
  ck_assert_ptr_eq(hold, row);
  tensor_release(hold);
  p = tensor_rowmajor(t, &hold);
  ck_assert_ptr_ne(hold, t);
  ck_assert_ptr_ne(hold->storage, m->storage);
  for (k = 0; k < 6; k++) ck_assert(p[k] == wt[k]);
  tensor_release(hold);
  ck_assert_int_eq(m->refcount, 1);
  tensor_release(row);
  tensor_release(t);
  tensor_release(m);
}
END_TEST

/* ---- copy and fill ------------------------------------------------------ */

START_TEST(copy_same_shape_and_from_transposed) {
  int64_t s[2] = {2, 3}, s32[2] = {3, 2};
  Tensor *src = iota(2, s32), *dst = tensor_zeros(2, s), *t = tensor_t(src);
  Tensor *d2 = tensor_zeros(2, s);
  ck_assert_int_eq(tensor_copy(dst, t), NN_OK);
  /* t = [[0,2,4],[1,3,5]] */
  {
    double want[6] = {0, 2, 4, 1, 3, 5};
    expect_vals(dst, 2, s, want);
  }
  /* same element count, shape that does not broadcast: refused, not
  ** reshaped (a transposed weight would otherwise be scrambled) */
  ck_assert_int_eq(tensor_copy(d2, src), NN_ESHAPE);
  expect_error(NN_ESHAPE, "cannot copy 3x2 into 2x3");
  {
    double want[6] = {0, 0, 0, 0, 0, 0};
    expect_vals(d2, 2, s, want);
  }
  tensor_release(d2);
  tensor_release(t);
  tensor_release(dst);
  tensor_release(src);
}
END_TEST

START_TEST(copy_broadcasts_src) {
  int64_t s[2] = {2, 3}, v[1] = {3}, cs[2] = {3, 1}, s34[2] = {3, 4};
  double r[3] = {7, 8, 9}, c[3] = {1, 2, 3};
  double w[6] = {7, 8, 9, 7, 8, 9};
  double wc[12] = {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
  double ws[6] = {4, 4, 4, 4, 4, 4};
  Tensor *row = mk(1, v, r), *dst = tensor_zeros(2, s), *col = mk(2, cs, c);
  Tensor *d34 = tensor_zeros(2, s34), *sc = tensor_scalar(4.0), *d2 = tensor_zeros(2, s);
  ck_assert_int_eq(tensor_copy(dst, row), NN_OK);
  expect_vals(dst, 2, s, w);
  ck_assert_int_eq(tensor_copy(d34, col), NN_OK);
  expect_vals(d34, 2, s34, wc);
  ck_assert_int_eq(tensor_copy(d2, sc), NN_OK);
  expect_vals(d2, 2, s, ws);
  tensor_release(d2);
  tensor_release(sc);
  tensor_release(d34);
  tensor_release(col);
  tensor_release(dst);
  tensor_release(row);
}
END_TEST

START_TEST(copy_shape_error) {
  int64_t s[2] = {2, 3}, v[1] = {4};
  Tensor *dst = tensor_zeros(2, s), *src = tensor_zeros(1, v);
  ck_assert_int_eq(tensor_copy(dst, src), NN_ESHAPE);
  expect_error(NN_ESHAPE, "2x3");
  ck_assert_msg(strstr(nn_errmsg(), "4") != NULL, "message: %s", nn_errmsg());
  ck_assert_uint_eq(dst->storage->version, 0);
  tensor_release(src);
  tensor_release(dst);
}
END_TEST

START_TEST(copy_with_overlapping_storage) {
  int64_t s[2] = {3, 3}, s2[2] = {2, 2}, n5[1] = {5};
  double w[9] = {0, 1, 2, 6, 7, 8, 6, 7, 8};
  double m22[4] = {1, 2, 3, 4}, wt[4] = {1, 3, 2, 4};
  double wsh[5] = {0, 0, 1, 2, 3};
  Tensor *m = iota(2, s), *r1 = tensor_select(m, 0, 1), *r2 = tensor_select(m, 0, 2);
  Tensor *a = mk(2, s2, m22), *at = tensor_t(a);
  Tensor *x = iota(1, n5), *hi = tensor_narrow(x, 0, 1, 4), *lo = tensor_narrow(x, 0, 0, 4);
  /* row 2 into row 1 (0-based) of the same matrix */
  ck_assert_int_eq(tensor_copy(r1, r2), NN_OK);
  expect_vals(m, 2, s, w);
  /* a matrix into itself transposed: needs a temporary */
  ck_assert_int_eq(tensor_copy(a, at), NN_OK);
  expect_vals(a, 2, s2, wt);
  /* shift right by one within one vector */
  ck_assert_int_eq(tensor_copy(hi, lo), NN_OK);
  expect_vals(x, 1, n5, wsh);
  tensor_release(lo);
  tensor_release(hi);
  tensor_release(x);
  tensor_release(at);
  tensor_release(a);
  tensor_release(r2);
  tensor_release(r1);
  tensor_release(m);
}
END_TEST

START_TEST(fill_writes_only_the_view) {
  int64_t s[2] = {3, 3};
  double w[9] = {0, -1, 2, 3, -1, 5, 6, -1, 8};
  Tensor *m = iota(2, s), *col = tensor_select(m, 1, 1);
  ck_assert_int_eq(tensor_fill(col, -1.0), NN_OK);
  expect_vals(m, 2, s, w);
  tensor_release(col);
  tensor_release(m);
}
END_TEST

START_TEST(version_bumps_on_writes) {
  int64_t s[2] = {2, 2};
  Tensor *m = tensor_zeros(2, s), *src = tensor_zeros(2, s), *row = tensor_select(m, 0, 0);
  unsigned v0 = m->storage->version;
  ck_assert_int_eq(tensor_copy(m, src), NN_OK);
  ck_assert_uint_eq(m->storage->version, v0 + 1);
  ck_assert_uint_eq(src->storage->version, 0);
  ck_assert_int_eq(tensor_fill(m, 2.0), NN_OK);
  ck_assert_uint_eq(m->storage->version, v0 + 2);
  /* writes through a view count against the shared storage */
  ck_assert_int_eq(tensor_fill(row, 3.0), NN_OK);
  ck_assert_uint_eq(m->storage->version, v0 + 3);
  tensor_bump_version(m);
  ck_assert_uint_eq(m->storage->version, v0 + 4);
  tensor_release(row);
  tensor_release(src);
  tensor_release(m);
}
END_TEST

/* ---- gathers ------------------------------------------------------------ */

START_TEST(index_select_gathers) {
  int64_t s[2] = {3, 2}, idx[3] = {2, 0, 2}, one[1] = {1}, bad[2] = {0, 3};
  int64_t r[2] = {3, 2}, c[2] = {3, 1};
  double wr[6] = {4, 5, 0, 1, 4, 5}, wc[3] = {1, 3, 5};
  Tensor *m = iota(2, s), *a = tensor_index_select(m, 0, idx, 3);
  Tensor *b = tensor_index_select(m, 1, one, 1);
  expect_vals(a, 2, r, wr);
  ck_assert_ptr_ne(a->storage, m->storage);
  expect_vals(b, 2, c, wc);
  ck_assert_ptr_null(tensor_index_select(m, 0, bad, 2));
  expect_error(NN_EINDEX, "index 4");
  ck_assert_ptr_null(tensor_index_select(m, 2, one, 1));
  expect_error(NN_EINDEX, NULL);
  tensor_release(b);
  tensor_release(a);
  tensor_release(m);
}
END_TEST

START_TEST(cat_joins_along_dim) {
  int64_t s22[2] = {2, 2}, s12[2] = {1, 2}, s21[2] = {2, 1}, s23[2] = {2, 3};
  int64_t r0[2] = {3, 2}, r1[2] = {2, 4};
  double a[4] = {1, 2, 3, 4}, b[2] = {5, 6}, c[2] = {7, 8}, d[6] = {0, 1, 2, 3, 4, 5};
  double w0[6] = {1, 2, 3, 4, 5, 6}, w1[8] = {7, 0, 1, 2, 8, 3, 4, 5};
  double wt[8] = {1, 3, 1, 2, 2, 4, 3, 4};
  Tensor *A = mk(2, s22, a), *B = mk(2, s12, b), *C = mk(2, s21, c), *D = mk(2, s23, d);
  Tensor *AT = tensor_t(A);
  Tensor *ab[2] = {A, B}, *cd[2] = {C, D}, *ac[2] = {A, C}, *ta[2] = {AT, A};
  Tensor *x = tensor_cat(ab, 2, 0), *y = tensor_cat(cd, 2, 1), *z = tensor_cat(ta, 2, 1);
  expect_vals(x, 2, r0, w0);
  expect_vals(y, 2, r1, w1);
  expect_vals(z, 2, r1, wt);
  ck_assert_ptr_null(tensor_cat(ac, 2, 0));
  expect_error(NN_ESHAPE, "2x1");
  ck_assert_ptr_null(tensor_cat(ab, 0, 0));
  expect_error(NN_EARG, NULL);
  ck_assert_ptr_null(tensor_cat(ab, 2, 2));
  expect_error(NN_EINDEX, NULL);
  tensor_release(z);
  tensor_release(y);
  tensor_release(x);
  tensor_release(AT);
  tensor_release(D);
  tensor_release(C);
  tensor_release(B);
  tensor_release(A);
}
END_TEST

START_TEST(stack_adds_a_dim) {
  int64_t n3[1] = {3}, n2[1] = {2}, r0[2] = {2, 3}, r1[2] = {3, 2};
  double a[3] = {1, 2, 3}, b[3] = {4, 5, 6};
  double w0[6] = {1, 2, 3, 4, 5, 6}, w1[6] = {1, 4, 2, 5, 3, 6};
  Tensor *A = mk(1, n3, a), *B = mk(1, n3, b), *C = tensor_zeros(1, n2);
  Tensor *ab[2] = {A, B}, *ac[2] = {A, C};
  Tensor *x = tensor_stack(ab, 2, 0), *y = tensor_stack(ab, 2, 1);
  expect_vals(x, 2, r0, w0);
  expect_vals(y, 2, r1, w1);
  ck_assert_ptr_null(tensor_stack(ab, 2, 2));
  expect_error(NN_EINDEX, NULL);
  ck_assert_ptr_null(tensor_stack(ac, 2, 0));
  expect_error(NN_ESHAPE, NULL);
  tensor_release(y);
  tensor_release(x);
  tensor_release(C);
  tensor_release(B);
  tensor_release(A);
}
END_TEST

/* ---- iteration ---------------------------------------------------------- */

/* Collects the values visited by a one-operand TensorIter. */
static int64_t iter_collect(Tensor *t, double *out, int64_t max) {
  TensorIter it;
  int64_t i, k = 0;
  tensor_iter_init(&it, 1, &t);
  while (tensor_iter_next(&it))
    for (i = 0; i < it.inner; i++) {
      ck_assert_int_lt(k, max);
      out[k++] = it.ptr[0][i * it.istride[0]];
    }
  return k;
}

START_TEST(iter_transposed_in_row_major_order) {
  int64_t s[2] = {2, 3}, i;
  double got[6], want[6] = {0, 3, 1, 4, 2, 5};
  Tensor *m = iota(2, s), *t = tensor_t(m);
  ck_assert_int_eq(iter_collect(t, got, 6), 6);
  for (i = 0; i < 6; i++) ck_assert(got[i] == want[i]);
  tensor_release(t);
  tensor_release(m);
}
END_TEST

START_TEST(iter_expanded_in_row_major_order) {
  int64_t v[1] = {3}, cs[2] = {3, 1}, to23[2] = {2, 3}, to32[2] = {3, 2}, i;
  double a[3] = {1, 2, 3}, got[6];
  double w23[6] = {1, 2, 3, 1, 2, 3}, w32[6] = {1, 1, 2, 2, 3, 3};
  Tensor *x = mk(1, v, a), *c = mk(2, cs, a);
  Tensor *e = tensor_expand(x, 2, to23), *f = tensor_expand(c, 2, to32);
  ck_assert_int_eq(iter_collect(e, got, 6), 6);
  for (i = 0; i < 6; i++) ck_assert(got[i] == w23[i]);
  ck_assert_int_eq(iter_collect(f, got, 6), 6);
  for (i = 0; i < 6; i++) ck_assert(got[i] == w32[i]);
  tensor_release(f);
  tensor_release(e);
  tensor_release(c);
  tensor_release(x);
}
END_TEST

START_TEST(iter_merges_contiguous_and_skips_empty) {
  int64_t s[3] = {2, 3, 4}, z[2] = {3, 0};
  Tensor *t = iota(3, s), *e = tensor_zeros(2, z), *ops[2];
  TensorIter it;
  int rows = 0;
  ops[0] = t;
  tensor_iter_init(&it, 1, ops);
  while (tensor_iter_next(&it)) {
    rows++;
    ck_assert_int_eq(it.inner, 24);
    ck_assert_int_eq(it.istride[0], 1);
  }
  ck_assert_int_eq(rows, 1);
  ops[0] = e;
  tensor_iter_init(&it, 1, ops);
  ck_assert_int_eq(tensor_iter_next(&it), 0);
  tensor_release(e);
  tensor_release(t);
}
END_TEST

START_TEST(iter_two_operands_in_step) {
  int64_t s[2] = {2, 3}, i;
  Tensor *m = iota(2, s), *t = tensor_t(m), *ops[2];
  TensorIter it;
  double want[6] = {0, 3, 1, 4, 2, 5};
  int64_t s32[2] = {3, 2};
  Tensor *o2 = tensor_zeros(2, s32);
  ops[0] = o2; ops[1] = t;
  tensor_iter_init(&it, 2, ops);
  while (tensor_iter_next(&it))
    for (i = 0; i < it.inner; i++)
      it.ptr[0][i * it.istride[0]] = it.ptr[1][i * it.istride[1]];
  expect_vals(o2, 2, s32, want);
  tensor_release(o2);
  tensor_release(t);
  tensor_release(m);
}
END_TEST

/* ---- shape validation --------------------------------------------------- */

START_TEST(negative_size_is_rejected) {
  int64_t s[2] = {2, -1};
  ck_assert_ptr_null(tensor_new(2, s));
  expect_error(NN_EARG, "-1");
  ck_assert_ptr_null(tensor_zeros(2, s));
  expect_error(NN_EARG, NULL);
}
END_TEST

START_TEST(too_many_dims_is_rejected) {
  int64_t s[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, n;
  Tensor *t8 = tensor_zeros(8, s);
  ck_assert_ptr_nonnull(t8);
  ck_assert_ptr_null(tensor_new(9, s));
  expect_error(NN_EARG, NULL);
  ck_assert_int_eq(tensor_check_shape(9, s, &n), NN_EARG);
  ck_assert_int_eq(tensor_check_shape(-1, s, &n), NN_EARG);
  tensor_release(t8);
}
END_TEST

/* A garbage-collected host sizes its collections by these counts. */
START_TEST(heap_storage_is_counted_for_the_host) {
  int64_t big[2] = {10, 100}, small[1] = {4};
  int64_t live0 = storage_live_bytes();
  Tensor *a, *v, *s;
  tensor_take_allocated();
  a = tensor_zeros(2, big);
  ck_assert_int_eq(tensor_take_allocated(), 8000);
  ck_assert_int_eq(tensor_take_allocated(), 0);          /* reset by the call */
  ck_assert_int_eq(storage_live_bytes() - live0, 8000);
  v = tensor_transpose(a, 0, 1);                         /* a view: no new storage */
  s = tensor_zeros(1, small);                            /* inline, from a free list */
  ck_assert_int_eq(tensor_take_allocated(), 0);
  tensor_release(a);
  ck_assert_int_eq(storage_live_bytes() - live0, 8000);  /* the view still holds it */
  tensor_release(v);
  tensor_release(s);
  ck_assert_int_eq(storage_live_bytes(), live0);
}
END_TEST

START_TEST(size_cap_is_enforced) {
  int64_t old = nn_max_elements(), n = -1;
  int64_t ok[2] = {10, 100}, over[2] = {10, 101}, big[1] = {1001};
  Tensor *t;
  ck_assert_int_eq(nn_set_max_elements(1000), NN_OK);
  t = tensor_new(2, ok);
  ck_assert_ptr_nonnull(t);
  tensor_release(t);
  ck_assert_ptr_null(tensor_new(2, over));
  expect_error(NN_ELIMIT, "10x101");
  ck_assert_ptr_null(tensor_zeros(1, big));
  expect_error(NN_ELIMIT, "1000");
  ck_assert_int_eq(tensor_check_shape(2, ok, &n), NN_OK);
  ck_assert_int_eq(n, 1000);
  nn_set_max_elements(old);
  ck_assert_int_eq(nn_max_elements(), old);
}
END_TEST

START_TEST(overflowing_product_is_a_limit_error) {
  int64_t old = nn_max_elements(), n = -1;
  int64_t huge[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
  int64_t sq[2] = {3037000500LL, 3037000500LL};   /* product just over INT64_MAX */
  int64_t zero_later[3] = {(int64_t)1 << 40, (int64_t)1 << 40, 0};
  ck_assert_ptr_null(tensor_new(2, huge));
  expect_error(NN_ELIMIT, NULL);
  ck_assert_int_eq(tensor_check_shape(2, huge, &n), NN_ELIMIT);
  /* with no effective cap the product itself must not overflow */
  ck_assert_int_eq(nn_set_max_elements(INT64_MAX), NN_EARG);   /* past 2^60 - 1: refused */
  ck_assert_int_eq(nn_set_max_elements(((int64_t)1 << 60) - 1), NN_OK);
  ck_assert_int_eq(tensor_check_shape(2, huge, &n), NN_ELIMIT);
  ck_assert_int_eq(tensor_check_shape(2, sq, &n), NN_ELIMIT);
  ck_assert_ptr_null(tensor_zeros(2, sq));
  expect_error(NN_ELIMIT, NULL);
  nn_set_max_elements(old);
  /* a zero makes the tensor empty, but the other sizes still make its
  ** strides, so they are held to the cap too (2^40 · 2^40 would overflow) */
  ck_assert_int_eq(tensor_check_shape(3, zero_later, &n), NN_ELIMIT);
  zero_later[0] = 1000;
  zero_later[1] = 1000;
  ck_assert_int_eq(tensor_check_shape(3, zero_later, &n), NN_OK);
  ck_assert_int_eq(n, 0);
}
END_TEST

Suite *tensor_suite(void) {
  Suite *s = suite_create("tensor");
  TCase *tc = tcase_create("create");
  tcase_add_test(tc, new_has_contiguous_layout);
  tcase_add_test(tc, zeros_are_zero);
  tcase_add_test(tc, scalar_is_zero_dim);
  tcase_add_test(tc, empty_tensor_is_valid);
  tcase_add_test(tc, flat_and_ptr_access_follow_strides);
  tcase_add_test(tc, retain_release_count);
  tcase_add_test(tc, view_keeps_storage_alive);
  suite_add_tcase(s, tc);

  tc = tcase_create("views");
  tcase_add_test(tc, transpose_swaps_strides_without_copy);
  tcase_add_test(tc, transpose_errors_and_t_of_vectors);
  tcase_add_test(tc, permute_reorders_sizes_and_strides);
  tcase_add_test(tc, narrow_shifts_offset);
  tcase_add_test(tc, select_drops_dim);
  tcase_add_test(tc, squeeze_and_unsqueeze);
  tcase_add_test(tc, expand_uses_zero_strides);
  tcase_add_test(tc, view_of_contiguous_shares_storage);
  tcase_add_test(tc, view_of_strided_views);
  tcase_add_test(tc, view_errors);
  tcase_add_test(tc, reshape_copies_only_when_needed);
  suite_add_tcase(s, tc);

  tc = tcase_create("copies");
  tcase_add_test(tc, contiguous_and_clone);
  tcase_add_test(tc, rowmajor_reads_in_place_or_copies);
  tcase_add_test(tc, failed_allocation_leaves_nothing_live);
  tcase_add_test(tc, copy_same_shape_and_from_transposed);
  tcase_add_test(tc, copy_broadcasts_src);
  tcase_add_test(tc, copy_shape_error);
  tcase_add_test(tc, copy_with_overlapping_storage);
  tcase_add_test(tc, fill_writes_only_the_view);
  tcase_add_test(tc, version_bumps_on_writes);
  tcase_add_test(tc, index_select_gathers);
  tcase_add_test(tc, cat_joins_along_dim);
  tcase_add_test(tc, stack_adds_a_dim);
  suite_add_tcase(s, tc);

  tc = tcase_create("iter");
  tcase_add_test(tc, iter_transposed_in_row_major_order);
  tcase_add_test(tc, iter_expanded_in_row_major_order);
  tcase_add_test(tc, iter_merges_contiguous_and_skips_empty);
  tcase_add_test(tc, iter_two_operands_in_step);
  suite_add_tcase(s, tc);

  tc = tcase_create("limits");
  tcase_add_test(tc, negative_size_is_rejected);
  tcase_add_test(tc, too_many_dims_is_rejected);
  tcase_add_test(tc, size_cap_is_enforced);
  tcase_add_test(tc, overflowing_product_is_a_limit_error);
  tcase_add_test(tc, heap_storage_is_counted_for_the_host);
  suite_add_tcase(s, tc);
  return s;
}
