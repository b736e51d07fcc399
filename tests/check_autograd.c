/*
** check_autograd.c — the graph and the backward pass from C (functions.h,
** autograd.h): gradients of a small graph, accumulation across passes and
** its bookkeeping, every refusal of ag_backward (with nothing changed),
** the count of live nodes going back to zero, and a 100000-op chain that
** is walked and freed without deep recursion.  Values are worked by hand.
*/
#include <stdlib.h>
#include <string.h>

#include "check_suites.h"
#include "fn_layers.h"
#include "functions.h"
#include "fn_layers.h"

/* ---- helpers ------------------------------------------------------------ */

static Tensor *vec(int64_t n, const double *v) {
  Tensor *t = tensor_new(1, &n);
  int64_t i;
  ck_assert_ptr_nonnull(t);
  for (i = 0; i < n; i++) t->storage->data[i] = v[i];
  return t;
}

static Tensor *mat(int64_t r, int64_t c, const double *v) {
  int64_t s[2], i;
  Tensor *t;
  s[0] = r;
  s[1] = c;
  t = tensor_new(2, s);
  ck_assert_ptr_nonnull(t);
  for (i = 0; i < r * c; i++) t->storage->data[i] = v[i];
  return t;
}

static Tensor *leaf(int64_t n, const double *v) {
  Tensor *t = vec(n, v);
  ck_assert_int_eq(ag_set_requires_grad(t, 1), NN_OK);
  return t;
}

static Tensor *ok(Tensor *t) {
  ck_assert_msg(t != NULL, "NULL result: %s", nn_errmsg());
  return t;
}

/* t holds exactly v[0..n-1] (row-major). */
static void expect_vals(const Tensor *t, int64_t n, const double *v) {
  int64_t i;
  ck_assert_msg(t != NULL, "no tensor (no gradient?)");
  ck_assert_int_eq(tensor_numel(t), n);
  for (i = 0; i < n; i++)
    ck_assert_msg(tensor_get_flat(t, i) == v[i], "element %lld: got %.17g, want %.17g",
                  (long long)i, tensor_get_flat(t, i), v[i]);
}

static void expect_error(int rc, int code, const char *part) {
  ck_assert_int_eq(rc, code);
  ck_assert_msg(strstr(nn_errmsg(), part) != NULL, "message \"%s\" lacks \"%s\"",
                nn_errmsg(), part);
}

/* L = sum(relu(x)) */
static Tensor *relu_sum(Tensor *x) {
  Tensor *y = ok(fn_unary(OP_RELU, x)), *L = ok(fn_reduce_all(OP_SUM, y));
  tensor_release(y);   /* the graph keeps it */
  return L;
}

static void setup(void) { ag_init(); }

/* ---- gradients ------------------------------------------------------------- */

START_TEST(relu_sum_gradient) {
  static const double xv[] = {-1, 0, 2, 3}, want[] = {0, 0, 1, 1};   /* relu'(0) = 0 */
  Tensor *x = leaf(4, xv), *L = relu_sum(x);
  ck_assert_int_eq(L->ndim, 0);
  ck_assert(L->requires_grad);
  ck_assert_ptr_nonnull(L->node);
  ck_assert_str_eq(L->node->op->name, "sum");
  ck_assert_str_eq(L->node->in[0]->node->op->name, "relu");
  ck_assert(tensor_get_flat(L, 0) == 5);
  ck_assert_int_eq(ag_backward(L, NULL, NULL), NN_OK);
  expect_vals(x->grad, 4, want);
  ck_assert_ptr_null(L->grad);   /* not a leaf, not retained */
  tensor_release(L);
  tensor_release(x);
  ck_assert_int_eq(ag_live_nodes(), 0);
}
END_TEST

/* A small graph keeps each node's gradient for pictures (kept_grad), not
** as .grad: relu's output y = relu(x) of L = sum(y) gets dL/dy = 1 everywhere;
** a second backward replaces it, and it dies with the graph. */
START_TEST(small_graph_keeps_node_gradients) {
  static const double xv[] = {-1, 2}, ones[] = {1, 1};
  AgOptions o = {0};
  Tensor *x = leaf(2, xv), *L = relu_sum(x);
  Node *relu = L->node->in[0]->node;
  o.retain_graph = 1;
  ck_assert_int_eq(ag_backward(L, NULL, &o), NN_OK);
  ck_assert_ptr_null(L->node->in[0]->grad);
  expect_vals(relu->kept_grad, 2, ones);
  ck_assert(tensor_get_flat(L->node->kept_grad, 0) == 1);
  ck_assert_ptr_null(relu->gout);   /* the next pass starts from nothing */
  ck_assert_int_eq(ag_backward(L, NULL, NULL), NN_OK);
  expect_vals(relu->kept_grad, 2, ones);   /* replaced, not added */
  tensor_release(L);
  tensor_release(x);
  ck_assert_int_eq(ag_live_nodes(), 0);
}
END_TEST

/* The homework network's last layer by hand: z = W a + b, L = relu(z)²
** with W = (-2, 3), a = (38, 22), b = 18: z = 8, dL/dz = 16, dL/dW = 16 a. */
START_TEST(mv_add_relu_pow_by_hand) {
  static const double wv[] = {-2, 3}, av[] = {38, 22}, bv[] = {18};
  static const double dw[] = {608, 352}, db[] = {16};
  Tensor *W = mat(1, 2, wv), *a = vec(2, av), *b = leaf(1, bv);
  Tensor *m, *z, *r, *p, *L;
  int64_t base = ag_live_nodes();
  ck_assert_int_eq(ag_set_requires_grad(W, 1), NN_OK);
  m = ok(fn_mv(W, a));
  z = ok(fn_binary(OP_ADD, m, b));
  r = ok(fn_unary(OP_RELU, z));
  p = ok(fn_binary_scalar(OP_POW, r, 2, 0));
  L = ok(fn_reduce_all(OP_SUM, p));
  ck_assert_int_eq(ag_live_nodes(), base + 5);
  ck_assert(tensor_get_flat(L, 0) == 64);
  ck_assert_int_eq(ag_backward(L, NULL, NULL), NN_OK);
  expect_vals(W->grad, 2, dw);
  expect_vals(b->grad, 1, db);
  ck_assert_ptr_null(a->grad);   /* a does not require grad */
  tensor_release(p);
  tensor_release(L);
  tensor_release(m);
  tensor_release(z);
  tensor_release(r);
  ck_assert_int_eq(ag_live_nodes(), 0);
  tensor_release(W);
  tensor_release(a);
  tensor_release(b);
}
END_TEST

START_TEST(gradients_accumulate_until_zero_grad) {
  static const double xv[] = {-1, 2}, one[] = {0, 1}, two[] = {0, 2}, zero[] = {0, 0};
  Tensor *x = leaf(2, xv), *L;
  AgOptions o;
  memset(&o, 0, sizeof o);
  L = relu_sum(x);
  ck_assert_int_eq(ag_backward(L, NULL, &o), NN_OK);
  ck_assert_int_eq(o.accumulated_leaves, 0);   /* a fresh leaf: nothing to warn */
  ck_assert_ptr_null(o.first_accumulated);
  tensor_release(L);
  expect_vals(x->grad, 2, one);

  memset(&o, 0, sizeof o);
  L = relu_sum(x);
  ck_assert_int_eq(ag_backward(L, NULL, &o), NN_OK);
  expect_vals(x->grad, 2, two);
  ck_assert_int_eq(o.accumulated_leaves, 1);
  ck_assert_ptr_eq(o.first_accumulated, x);
  tensor_release(L);

  ag_zero_grad(x);
  ck_assert_ptr_nonnull(x->grad);   /* kept allocated */
  expect_vals(x->grad, 2, zero);
  memset(&o, 0, sizeof o);
  L = relu_sum(x);
  ck_assert_int_eq(ag_backward(L, NULL, &o), NN_OK);
  ck_assert_int_eq(o.accumulated_leaves, 0);   /* zeros are not a gradient to warn about */
  expect_vals(x->grad, 2, one);
  tensor_release(L);
  tensor_release(x);
  ck_assert_int_eq(ag_live_nodes(), 0);
}
END_TEST

/* x used twice in one pass (x·x) is one delivery per use, not accumulation
** to warn about; in the next pass it is counted once, not twice. */
START_TEST(same_leaf_twice_counts_once) {
  static const double xv[] = {1, 2}, g1[] = {2, 4}, g2[] = {4, 8};
  Tensor *x = leaf(2, xv), *L;
  AgOptions o;
  int pass;
  for (pass = 1; pass <= 2; pass++) {
    memset(&o, 0, sizeof o);
    L = ok(fn_dot(x, x));
    ck_assert_int_eq(ag_backward(L, NULL, &o), NN_OK);
    ck_assert_int_eq(o.accumulated_leaves, pass - 1);
    tensor_release(L);
    if (pass == 1) expect_vals(x->grad, 2, g1);
  }
  expect_vals(x->grad, 2, g2);
  tensor_release(x);
}
END_TEST

START_TEST(explicit_upstream_gradient_and_record) {
  static const double xv[] = {1, 2, 3}, gv[] = {1, 10, 100}, want[] = {2, 40, 600};
  Tensor *x = leaf(3, xv), *g = vec(3, gv), *y = ok(fn_binary(OP_MUL, x, x));
  AgOptions o;
  memset(&o, 0, sizeof o);
  o.record = 1;
  ck_assert_int_eq(ag_backward(y, g, &o), NN_OK);
  expect_vals(x->grad, 3, want);
  ck_assert_int_eq(o.nsteps, 1);
  ck_assert_str_eq(o.steps[0].node->op->name, "mul");
  ck_assert_ptr_nonnull(o.steps[0].gin[0]);
  ck_assert_ptr_nonnull(o.steps[0].gin[1]);
  ag_free_steps(&o);
  ck_assert_int_eq(o.nsteps, 0);
  tensor_release(y);
  tensor_release(g);
  tensor_release(x);
  ck_assert_int_eq(ag_live_nodes(), 0);
}
END_TEST

/* ---- refusals ------------------------------------------------------------------- */

/* linear on a 2 x 2 x 3 input (T x N x in): every leading dim is a row, as
** PyTorch.  W = [1 0 2; 0 1 -1], b = (1, -1), rows x = (1,2,3), (0,1,0),
** (2,0,1), (-1,1,1): y = (8,-2), (1,0), (5,-2), (2,-1).  For L = sum(y):
** dL/dW = each row the column sums of x (2, 4, 5), dL/db = 4 rows (4, 4),
** dL/dx = each row the column sums of W (1, 1, 1). */
START_TEST(linear_on_the_last_dim_by_hand) {
  double wv[6] = {1, 0, 2, 0, 1, -1}, bv[2] = {1, -1}, xv[12] = {1, 2, 3, 0, 1, 0, 2, 0, 1, -1, 1, 1};
  double wy[8] = {8, -2, 1, 0, 5, -2, 2, -1}, wgw[6] = {2, 4, 5, 2, 4, 5}, wgb[2] = {4, 4};
  double wgx[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  int64_t s3[3] = {2, 2, 3};
  Tensor *W = mat(2, 3, wv), *b = vec(2, bv), *x = tensor_new(3, s3), *y, *L;
  memcpy(x->storage->data, xv, sizeof xv);
  ck_assert_int_eq(ag_set_requires_grad(W, 1), NN_OK);
  ck_assert_int_eq(ag_set_requires_grad(b, 1), NN_OK);
  ck_assert_int_eq(ag_set_requires_grad(x, 1), NN_OK);
  y = ok(fn_linear(x, W, b));
  ck_assert_int_eq(y->ndim, 3);
  ck_assert_int_eq(y->size[2], 2);
  expect_vals(y, 8, wy);
  L = ok(fn_reduce_all(OP_SUM, y));
  ck_assert_int_eq(ag_backward(L, NULL, NULL), NN_OK);
  expect_vals(W->grad, 6, wgw);
  expect_vals(b->grad, 2, wgb);
  expect_vals(x->grad, 12, wgx);
  tensor_release(L);
  tensor_release(y);
  tensor_release(x);
  tensor_release(b);
  tensor_release(W);
}
END_TEST

START_TEST(backward_refuses_non_scalar_and_no_grad) {
  static const double xv[] = {1, 2};
  Tensor *x = leaf(2, xv), *p = vec(2, xv), *y = ok(fn_unary(OP_EXP, x));
  Tensor *q = ok(fn_unary(OP_EXP, p));
  expect_error(ag_backward(y, NULL, NULL), NN_ESHAPE, "backward needs a single value");
  expect_error(ag_backward(q, NULL, NULL), NN_EARG, "does not require grad");
  ck_assert_ptr_null(q->node);   /* nothing recorded for plain inputs */
  ck_assert_ptr_null(x->grad);
  tensor_release(y);
  tensor_release(q);
  tensor_release(p);
  tensor_release(x);
}
END_TEST

START_TEST(backward_refuses_wrong_gradient_shape) {
  static const double v[] = {1, 2, 3, 4, 5, 6};
  Tensor *x = mat(2, 3, v), *y, *g3 = vec(3, v), *gt = mat(3, 2, v), *g = mat(2, 3, v);
  ck_assert_int_eq(ag_set_requires_grad(x, 1), NN_OK);
  y = ok(fn_binary_scalar(OP_MUL, x, 2, 0));
  expect_error(ag_backward(y, g3, NULL), NN_ESHAPE, "gradient has shape 3");
  /* the same count of elements in another shape is still the wrong shape */
  expect_error(ag_backward(y, gt, NULL), NN_ESHAPE, "gradient has shape 3x2");
  ck_assert_ptr_null(x->grad);
  ck_assert_int_eq(ag_backward(y, g, NULL), NN_OK);
  ck_assert(tensor_get_flat(x->grad, 5) == 12);
  tensor_release(y);
  tensor_release(g3);
  tensor_release(gt);
  tensor_release(g);
  tensor_release(x);
}
END_TEST

START_TEST(backward_refuses_a_used_graph) {
  static const double xv[] = {-1, 2}, one[] = {0, 1}, two[] = {0, 2}, three[] = {0, 3};
  Tensor *x = leaf(2, xv), *L = relu_sum(x);
  AgOptions o;
  memset(&o, 0, sizeof o);
  o.retain_graph = 1;
  ck_assert_int_eq(ag_backward(L, NULL, &o), NN_OK);   /* retained: may go again */
  expect_vals(x->grad, 2, one);
  ck_assert_int_eq(ag_backward(L, NULL, NULL), NN_OK);
  expect_vals(x->grad, 2, two);
  expect_error(ag_backward(L, NULL, NULL), NN_EARG, "already used by a backward pass");
  expect_vals(x->grad, 2, two);   /* refused before touching anything */
  /* a new graph through the used relu node is refused too */
  {
    Tensor *y = L->node->in[0];
    Tensor *L2 = ok(fn_reduce_all(OP_SUM, y));
    expect_error(ag_backward(L2, NULL, NULL), NN_EARG, "relu#");
    tensor_release(L2);
  }
  tensor_release(L);
  L = relu_sum(x);   /* recomputing is fine */
  ck_assert_int_eq(ag_backward(L, NULL, NULL), NN_OK);
  expect_vals(x->grad, 2, three);
  tensor_release(L);
  tensor_release(x);
  ck_assert_int_eq(ag_live_nodes(), 0);
}
END_TEST

START_TEST(backward_refuses_modified_saved_tensor) {
  static const double xv[] = {1, 2, 3};
  Tensor *x = leaf(3, xv), *y = ok(fn_binary(OP_MUL, x, x)), *L = ok(fn_reduce_all(OP_SUM, y));
  Tensor *view;
  ck_assert_uint_eq(y->node->version[0], x->storage->version);
  tensor_set_flat(x, 0, 5);
  tensor_bump_version(x);
  expect_error(ag_backward(L, NULL, NULL), NN_EARG, "modified in place");
  ck_assert_ptr_null(x->grad);
  tensor_release(L);
  tensor_release(y);
  /* a write through another view of the same storage counts too */
  y = ok(fn_unary(OP_EXP, x));
  L = ok(fn_reduce_all(OP_SUM, y));
  view = ok(tensor_narrow(x, 0, 1, 1));
  ck_assert_int_eq(tensor_fill(view, 0), NN_OK);
  expect_error(ag_backward(L, NULL, NULL), NN_EARG, "modified in place");
  tensor_release(view);
  tensor_release(L);
  tensor_release(y);
  tensor_release(x);
  ck_assert_int_eq(ag_live_nodes(), 0);
}
END_TEST

START_TEST(requires_grad_only_on_leaves) {
  static const double xv[] = {1};
  Tensor *x = leaf(1, xv), *y = ok(fn_unary(OP_NEG, x));
  expect_error(ag_set_requires_grad(y, 1), NN_EARG, "only leaf tensors");
  ck_assert_int_eq(ag_set_requires_grad(x, 0), NN_OK);
  ck_assert(!x->requires_grad);
  {
    Tensor *z = ok(fn_unary(OP_NEG, x));   /* no longer recorded */
    ck_assert_ptr_null(z->node);
    tensor_release(z);
  }
  tensor_release(y);
  tensor_release(x);
}
END_TEST

START_TEST(no_grad_records_nothing) {
  static const double xv[] = {1, 2};
  Tensor *x = leaf(2, xv), *y;
  ag_grad_enabled = 0;
  y = fn_unary(OP_EXP, x);
  ag_grad_enabled = 1;
  ck_assert_ptr_nonnull(y);
  ck_assert_ptr_null(y->node);
  ck_assert(!y->requires_grad);
  ck_assert_int_eq(ag_live_nodes(), 0);
  tensor_release(y);
  tensor_release(x);
}
END_TEST

/* ---- memory ----------------------------------------------------------------------- */

START_TEST(live_nodes_return_to_zero_in_any_release_order) {
  static const double wv[] = {1, 0, 3, 4, 1, 2}, xv[] = {2, 1}, bv[] = {0, -2, 5};
  int order;
  for (order = 0; order < 2; order++) {
    Tensor *W = mat(3, 2, wv), *x = vec(2, xv), *b = leaf(3, bv), *m, *a, *z, *L;
    int64_t base = ag_live_nodes();
    ck_assert_int_eq(ag_set_requires_grad(W, 1), NN_OK);
    m = ok(fn_mv(W, x));
    a = ok(fn_binary(OP_ADD, m, b));
    z = ok(fn_unary(OP_RELU, a));
    L = ok(fn_reduce_all(OP_SUM, z));
    ck_assert_int_eq(ag_live_nodes(), base + 4);
    ck_assert_int_eq(ag_backward(L, NULL, NULL), NN_OK);
    ck_assert_int_eq(ag_live_nodes(), base + 4);   /* backward frees nothing by itself */
    if (order == 0) {   /* root first: the intermediates still hold their nodes */
      tensor_release(L);
      ck_assert_int_eq(ag_live_nodes(), base + 3);
      tensor_release(m);
      tensor_release(a);
      tensor_release(z);
    } else {            /* intermediates first: the root keeps the whole graph */
      tensor_release(m);
      tensor_release(a);
      tensor_release(z);
      ck_assert_int_eq(ag_live_nodes(), base + 4);
      tensor_release(L);
    }
    ck_assert_int_eq(ag_live_nodes(), 0);
    tensor_release(W);
    tensor_release(x);
    tensor_release(b);
  }
}
END_TEST

START_TEST(collect_gives_forward_order) {
  static const double xv[] = {1, 2};
  Tensor *x = leaf(2, xv), *e = ok(fn_unary(OP_EXP, x)), *t = ok(fn_unary(OP_TANH, e));
  Tensor *L = ok(fn_reduce_all(OP_SUM, t));
  Node **nodes;
  int n, k;
  ck_assert_int_eq(ag_collect(L, &nodes, &n), NN_OK);
  ck_assert_int_eq(n, 3);
  ck_assert_str_eq(nodes[0]->op->name, "exp");
  ck_assert_str_eq(nodes[1]->op->name, "tanh");
  ck_assert_str_eq(nodes[2]->op->name, "sum");
  tensor_release(L);
  tensor_release(t);
  tensor_release(e);
  ck_assert_int_eq(ag_live_nodes(), 3);   /* the collected list holds them */
  for (k = 0; k < n; k++) node_release(nodes[k]);
  free(nodes);
  ck_assert_int_eq(ag_live_nodes(), 0);
  tensor_release(x);
}
END_TEST

/* y = x + 1 + 1 + ... 100000 times: backward walks it and releasing the
** last tensor frees every node without recursing 100000 frames deep. */
START_TEST(deep_chain_is_walked_and_freed_iteratively) {
  static const double xv[] = {0.5}, one[] = {1};
  const int depth = 100000;
  Tensor *x = leaf(1, xv), *y = tensor_retain(x), *L;
  int i;
  for (i = 0; i < depth; i++) {
    Tensor *next = ok(fn_binary_scalar(OP_ADD, y, 1.0, 0));
    tensor_release(y);
    y = next;
  }
  ck_assert_int_eq(ag_live_nodes(), depth);
  ck_assert(tensor_get_flat(y, 0) == 0.5 + depth);
  L = ok(fn_reduce_all(OP_SUM, y));
  ck_assert_int_eq(ag_backward(L, NULL, NULL), NN_OK);
  expect_vals(x->grad, 1, one);
  tensor_release(y);
  ck_assert_int_eq(ag_live_nodes(), depth + 1);
  tensor_release(L);
  ck_assert_int_eq(ag_live_nodes(), 0);
  tensor_release(x);
}
END_TEST

/* ---- the op tables --------------------------------------------------------- */

/* A row is whole: a name, an arity, and either no gradient at all (a flat
** op, which records no node) or a backward with its create_graph backward
** or the reason it has none. */
static void row_is_whole(const OpDesc *d, const char *want_name, int flat_ok) {
  ck_assert_ptr_nonnull(d->name);
  if (want_name) ck_assert_str_eq(d->name, want_name);
  ck_assert(d->arity == OP_VARIADIC || (d->arity >= 1 && d->arity <= 3));
  if (d->backward == NULL) {
    ck_assert_msg(flat_ok, "%s has no backward", d->name);
    return;
  }
  ck_assert_msg(d->backward_graph != NULL || d->first_order != NULL,
                "%s has neither a create_graph backward nor a reason", d->name);
  ck_assert(d->rule[0] != NULL);
}

START_TEST(every_table_row_is_whole) {
  int k;
  for (k = 0; k < OP_UNARY_COUNT; k++) row_is_whole(fn_unary_desc((UnaryOp)k), op_unary_name[k], 0);
  for (k = 0; k < OP_BINARY_COUNT; k++) {
    int cmp = k == OP_EQ || k == OP_NE || k == OP_LT || k == OP_LE || k == OP_GT || k == OP_GE;
    row_is_whole(fn_binary_desc((BinaryOp)k), op_binary_name[k], cmp);
    row_is_whole(fn_scalar_desc((BinaryOp)k, 0), op_binary_name[k], cmp);
    row_is_whole(fn_scalar_desc((BinaryOp)k, 1), op_binary_name[k], cmp);
    ck_assert_int_eq(fn_binary_desc((BinaryOp)k)->backward == NULL, cmp);
  }
  for (k = 0; k < OP_REDUCE_COUNT; k++) {
    int arg = k == OP_ARGMAX || k == OP_ARGMIN;
    row_is_whole(fn_reduce_desc((ReduceOp)k), op_reduce_name[k], arg);
    ck_assert_int_eq(fn_reduce_desc((ReduceOp)k)->backward == NULL, arg);
  }
  for (k = 0; k < FN_MATMUL_COUNT; k++) row_is_whole(fn_matmul_desc((MatmulOp)k), NULL, 0);
  for (k = 0; k < FN_SHAPE_COUNT; k++) row_is_whole(fn_shape_desc((ShapeOp)k), NULL, 0);
  for (k = 0; k < FN_LAYER_COUNT; k++) row_is_whole(fn_layer_desc((LayerOp)k), NULL, 0);
  for (k = 0; k < LOSS_COUNT; k++) row_is_whole(fn_loss_desc((LossKind)k), loss_name[k], 0);
}
END_TEST

/* The settings struct is the node's own copy: changing the caller's
** struct afterwards changes nothing (a slope of 0.1 stays 0.1). */
START_TEST(node_settings_are_copied_once) {
  double v[2] = {-1, 2};
  Tensor *x = leaf(2, v), *y = fn_leaky_relu(x, 0.1), *L;
  ck_assert_ptr_nonnull(y);
  ck_assert_str_eq(y->node->op->name, "leaky_relu");
  ck_assert_double_eq_tol(y->node->op->number(y->node), 0.1, 1e-15);
  L = fn_reduce_all(OP_SUM, y);
  ck_assert_int_eq(ag_backward(L, NULL, NULL), NN_OK);
  ck_assert_double_eq_tol(tensor_get_flat(x->grad, 0), 0.1, 1e-15);
  ck_assert_double_eq_tol(tensor_get_flat(x->grad, 1), 1.0, 1e-15);
  tensor_release(L);
  tensor_release(y);
  tensor_release(x);
}
END_TEST

/* ---- create_graph and grad() ---------------------------------------------------- */

/* y = Σ x³: dy/dx = 3x² recorded, then d(Σ 3x²)/dx = 6x, as worked by hand. */
START_TEST(create_graph_gives_second_derivatives) {
  double v[2] = {2, -1.5};
  Tensor *x = leaf(2, v), *c = fn_binary_scalar(OP_POW, x, 3.0, 0), *y = fn_reduce_all(OP_SUM, c);
  Tensor *g1 = NULL, *s;
  AgOptions o;
  memset(&o, 0, sizeof o);
  o.create_graph = 1;
  o.ninputs = 1;
  o.inputs = &x;
  o.grads = &g1;
  ck_assert_int_eq(ag_backward(y, NULL, &o), NN_OK);
  ck_assert_ptr_null(x->grad);                 /* grad(): .grad untouched */
  ck_assert_ptr_nonnull(g1->node);              /* recorded */
  ck_assert_double_eq(tensor_get_flat(g1, 0), 12.0);
  ck_assert_double_eq(tensor_get_flat(g1, 1), 6.75);
  s = fn_reduce_all(OP_SUM, g1);
  ck_assert_int_eq(ag_backward(s, NULL, NULL), NN_OK);   /* into x.grad this time */
  ck_assert_double_eq(tensor_get_flat(x->grad, 0), 12.0);
  ck_assert_double_eq(tensor_get_flat(x->grad, 1), -9.0);
  tensor_release(s);
  tensor_release(g1);
  tensor_release(y);
  tensor_release(c);
  tensor_release(x);
  ck_assert_int_eq(ag_live_nodes(), 0);
}
END_TEST

/* A first-order-only op on the path: refused before any gradient moves.
** No op of the tables is first-order only today, so a test op is. */
static int copy_backward(Node *n, const Tensor *g, Tensor **gin) {
  (void)n;
  gin[0] = tensor_clone(g);
  return gin[0] ? NN_OK : nn_errcode();
}

static const OpDesc first_order_desc = {
  .name = "first_order_op", .arity = 1, .backward = copy_backward,
  .first_order = "a test op without a create_graph backward", .rule = { "dL/d%0 = dL/d%o" }
};

START_TEST(create_graph_refuses_first_order_ops) {
  double v[2] = {1, 2};
  Tensor *x = leaf(2, v), *y = fn_link(tensor_clone(x), &first_order_desc, 1, &x, NULL, NULL), *L;
  AgOptions o;
  ck_assert_ptr_nonnull(y);
  L = fn_reduce_all(OP_SUM, y);
  memset(&o, 0, sizeof o);
  o.create_graph = 1;
  ck_assert_int_eq(ag_backward(L, NULL, &o), NN_EARG);
  ck_assert_ptr_nonnull(strstr(nn_errmsg(), "first_order_op"));
  ck_assert_ptr_nonnull(strstr(nn_errmsg(), "has no second derivative (a test op without"));
  ck_assert_ptr_null(x->grad);
  ck_assert_int_eq(ag_backward(L, NULL, NULL), NN_OK);   /* first order works */
  ck_assert_double_eq(tensor_get_flat(x->grad, 1), 1.0);
  tensor_release(L);
  tensor_release(y);
  tensor_release(x);
}
END_TEST

/* x.grad = 3x² holds x: when the user's last reference to x goes, the
** cycle is broken and every node is freed. */
START_TEST(recorded_grad_cycle_is_freed) {
  double v[1] = {2};
  Tensor *x = leaf(1, v), *c = fn_binary_scalar(OP_POW, x, 3.0, 0), *y = fn_reduce_all(OP_SUM, c);
  AgOptions o;
  memset(&o, 0, sizeof o);
  o.create_graph = 1;
  ck_assert_int_eq(ag_backward(y, NULL, &o), NN_OK);
  ck_assert_ptr_nonnull(x->grad->node);
  tensor_release(y);
  tensor_release(c);
  ck_assert_int_gt(ag_live_nodes(), 0);
  tensor_release(x);
  ck_assert_int_eq(ag_live_nodes(), 0);
}
END_TEST

Suite *autograd_suite(void) {
  Suite *s = suite_create("autograd");
  TCase *tc = tcase_create("gradients");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, relu_sum_gradient);
  tcase_add_test(tc, small_graph_keeps_node_gradients);
  tcase_add_test(tc, mv_add_relu_pow_by_hand);
  tcase_add_test(tc, gradients_accumulate_until_zero_grad);
  tcase_add_test(tc, same_leaf_twice_counts_once);
  tcase_add_test(tc, explicit_upstream_gradient_and_record);
  tcase_add_test(tc, linear_on_the_last_dim_by_hand);
  suite_add_tcase(s, tc);

  tc = tcase_create("op tables");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, every_table_row_is_whole);
  tcase_add_test(tc, node_settings_are_copied_once);
  suite_add_tcase(s, tc);

  tc = tcase_create("create_graph");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, create_graph_gives_second_derivatives);
  tcase_add_test(tc, create_graph_refuses_first_order_ops);
  tcase_add_test(tc, recorded_grad_cycle_is_freed);
  suite_add_tcase(s, tc);

  tc = tcase_create("errors");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, backward_refuses_non_scalar_and_no_grad);
  tcase_add_test(tc, backward_refuses_wrong_gradient_shape);
  tcase_add_test(tc, backward_refuses_a_used_graph);
  tcase_add_test(tc, backward_refuses_modified_saved_tensor);
  tcase_add_test(tc, requires_grad_only_on_leaves);
  tcase_add_test(tc, no_grad_records_nothing);
  suite_add_tcase(s, tc);

  tc = tcase_create("memory");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, live_nodes_return_to_zero_in_any_release_order);
  tcase_add_test(tc, collect_gives_forward_order);
  tcase_add_test(tc, deep_chain_is_walked_and_freed_iteratively);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return s;
}
