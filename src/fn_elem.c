/*
** fn_elem.c — differentiable elementwise ops.  Each derivative sits next
** to its function; broadcasting is undone by summing the gradient back to
** each input's shape (fn_sum_to).
*/
#include <math.h>
#include <stdlib.h>

#include "functions.h"

/* ======================================================================
** Shared helpers
** ====================================================================== */

/* detect_anomaly: the first NaN or Inf an op produces is an error. */
static int check_finite(const Tensor *out, const OpDesc *op) {
  int64_t i, m = tensor_numel(out);
  for (i = 0; i < m; i++) {
    double v = tensor_get_flat(out, i);
    if (!isfinite(v))
      return nn_fail(NN_EARG, "detect_anomaly: %s produced %s (element %lld of the result)",
                     op->name, isnan(v) ? "NaN" : "Inf", (long long)i + 1);
  }
  return NN_OK;
}

Tensor *fn_link(Tensor *out, const OpDesc *op, int n, Tensor *const *in, Node **node) {
  Node *nd = NULL;
  if (out != NULL && ag_anomaly && check_finite(out, op) != NN_OK) {
    tensor_release(out);
    out = NULL;
  }
  if (out != NULL && ag_needs_graph(n, in)) {
    nd = ag_record(out, op, n, in);
    if (nd == NULL) {
      tensor_release(out);
      out = NULL;
    }
  }
  if (node != NULL) *node = nd;
  return out;
}

Tensor *fn_sum_to(const Tensor *g, const Tensor *t) {
  Tensor *cur = tensor_retain((Tensor *)g), *next;
  int d;
  /* leading dims that broadcasting added */
  while (cur != NULL && cur->ndim > t->ndim) {
    next = op_reduce(OP_SUM, cur, 0, 0);
    tensor_release(cur);
    cur = next;
  }
  /* dims where t had size 1 */
  for (d = 0; cur != NULL && d < t->ndim; d++) {
    if (t->size[d] == 1 && cur->size[d] != 1) {
      next = op_reduce(OP_SUM, cur, d, 1);
      tensor_release(cur);
      cur = next;
    }
  }
  return cur;
}

Tensor *fn_plain(const Tensor *t) {
  return tensor_view(t, t->ndim, t->size);
}

/* ======================================================================
** Unary functions: dL/dx = dL/dy · f'(x)
** ====================================================================== */

static double d_neg(double x) { (void)x; return -1.0; }
static double d_abs(double x) { return (x > 0) - (x < 0); }
static double d_exp(double x) { return exp(x); }
static double d_log(double x) { return 1.0 / x; }
static double d_sqrt(double x) { return 0.5 / sqrt(x); }
static double d_sign(double x) { (void)x; return 0.0; }
static double d_tanh(double x) { double t = tanh(x); return 1.0 - t * t; }
static double d_sigmoid(double x) {
  double s = op_unary_apply(OP_SIGMOID, x);
  return s * (1.0 - s);
}
/* relu'(0) = 0, the usual convention */
static double d_relu(double x) { return x > 0 ? 1.0 : 0.0; }
static double d_softplus(double x) { return op_unary_apply(OP_SIGMOID, x); }

static double (*const deriv[OP_UNARY_COUNT])(double) = {
  d_neg, d_abs, d_exp, d_log, d_sqrt, d_sign, d_tanh, d_sigmoid, d_relu, d_softplus
};

static Tensor *unary_local(Node *n, int i) {
  (void)i;
  return op_map(n->in[0], deriv[(int)n->aux[0]]);
}

/* dL/dx = dL/dy · f'(x) in one pass (one new tensor, not two). */
static int unary_backward(Node *n, const Tensor *g, Tensor **gin) {
  double (*d)(double) = deriv[(int)n->aux[0]];
  Tensor *x = n->in[0], *out = tensor_new(x->ndim, x->size), *ops[3];
  TensorIter it;
  int64_t i;
  if (out == NULL) return nn_errcode();
  ops[0] = out;
  ops[1] = (Tensor *)g;
  ops[2] = x;
  tensor_iter_init(&it, 3, ops);
  while (tensor_iter_next(&it)) {
    double *o = it.ptr[0], *gy = it.ptr[1], *xi = it.ptr[2];
    int64_t so = it.istride[0], sg = it.istride[1], sx = it.istride[2];
    if (d == d_relu && so == 1 && sg == 1 && sx == 1)   /* vectorises: gy · (x > 0) */
      for (i = 0; i < it.inner; i++) o[i] = xi[i] > 0 ? gy[i] : 0.0;
    else if (d == d_relu)
      for (i = 0; i < it.inner; i++) o[i * so] = xi[i * sx] > 0 ? gy[i * sg] : 0.0;
    else
      for (i = 0; i < it.inner; i++) o[i * so] = gy[i * sg] * d(xi[i * sx]);
  }
  gin[0] = out;
  return NN_OK;
}

/* One input, elementwise: dL/dx = dL/dy · (the op's local derivative). */
static int local_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *d = n->op->local(n, 0);
  if (d == NULL) return nn_errcode();
  gin[0] = op_binary(OP_MUL, g, d);
  tensor_release(d);
  return gin[0] ? NN_OK : nn_errcode();
}

#define UNARY(name, rule) { name, unary_backward, { rule, NULL }, unary_local }
static const OpDesc unary_desc[OP_UNARY_COUNT] = {
  UNARY("neg", "dL/d%0 = dL/d%o · (-1)"),
  UNARY("abs", "dL/d%0 = dL/d%o · sign(%0)"),
  UNARY("exp", "dL/d%0 = dL/d%o · exp(%0)"),
  UNARY("log", "dL/d%0 = dL/d%o · 1/%0"),
  UNARY("sqrt", "dL/d%0 = dL/d%o · 1/(2·sqrt(%0))"),
  UNARY("sign", "dL/d%0 = dL/d%o · 0"),
  UNARY("tanh", "dL/d%0 = dL/d%o · (1 - tanh²(%0))"),
  UNARY("sigmoid", "dL/d%0 = dL/d%o · σ(%0)·(1 - σ(%0))"),
  UNARY("relu", "dL/d%0 = dL/d%o · relu'(%0)"),
  UNARY("softplus", "dL/d%0 = dL/d%o · σ(%0)"),
};

Tensor *fn_unary(UnaryOp op, Tensor *a) {
  Node *n;
  Tensor *out = fn_link(op_unary(op, a), &unary_desc[op], 1, &a, &n);
  if (n != NULL) n->aux[0] = op;
  return out;
}

/* ======================================================================
** Binary operators with broadcasting.  For z = f(a, b) the local
** derivatives dz/da and dz/db are computed elementwise on the broadcast
** shape, multiplied by dL/dz, then summed back to each input's shape.
** ====================================================================== */

/* dz/da (which = 0) or dz/db (which = 1) at one element. */
static double partial(BinaryOp op, int which, double a, double b) {
  switch (op) {
    case OP_ADD: return 1.0;
    case OP_SUB: return which ? -1.0 : 1.0;
    case OP_MUL: return which ? a : b;
    case OP_DIV: return which ? -a / (b * b) : 1.0 / b;
    case OP_POW:
      if (!which) return b == 0 ? 0.0 : b * pow(a, b - 1.0);
      /* d(a^b)/db = a^b ln a; taken as 0 at a = 0, where a^b is flat in b */
      return a == 0 ? 0.0 : pow(a, b) * log(a);
    case OP_MAXIMUM: case OP_MINIMUM: {
      /* the larger (smaller) input gets the gradient; a tie splits it */
      int a_wins = op == OP_MAXIMUM ? a > b : a < b;
      if (a == b) return 0.5;
      return which ? !a_wins : a_wins;
    }
    default: return 0.0;   /* comparisons are flat */
  }
}

/* The two operands broadcast to the output shape (views). */
static int broadcast_pair(const Node *n, Tensor **ea, Tensor **eb) {
  const Tensor *a = n->in[0], *b = n->in[1], *o = n->out;
  int64_t size[TENSOR_MAXDIM];
  int nd;
  (void)o;
  if (op_broadcast_shape(a, b, &nd, size) != NN_OK) return nn_errcode();
  *ea = tensor_expand(a, nd, size);
  *eb = *ea ? tensor_expand(b, nd, size) : NULL;
  if (*eb == NULL) { tensor_release(*ea); return nn_errcode(); }
  return NN_OK;
}

/* Local derivative w.r.t. input `which`, on the broadcast shape. */
static Tensor *binary_partials(Node *n, int which) {
  Tensor *ea = NULL, *eb = NULL, *out, *ops[3];
  TensorIter it;
  BinaryOp op = (BinaryOp)n->aux[0];
  int64_t i;
  if (broadcast_pair(n, &ea, &eb) != NN_OK) return NULL;
  out = tensor_new(ea->ndim, ea->size);
  if (out != NULL) {
    ops[0] = out; ops[1] = ea; ops[2] = eb;
    tensor_iter_init(&it, 3, ops);
    while (tensor_iter_next(&it))
      for (i = 0; i < it.inner; i++)
        it.ptr[0][i * it.istride[0]] = partial(op, which, it.ptr[1][i * it.istride[1]],
                               it.ptr[2][i * it.istride[2]]);
  }
  tensor_release(ea);
  tensor_release(eb);
  return out;
}

static Tensor *binary_local(Node *n, int i) {
  BinaryOp op = (BinaryOp)n->aux[0];
  if (op == OP_ADD || op == OP_SUB) return NULL;   /* the rule says it all */
  return binary_partials(n, i);
}

static int binary_backward(Node *n, const Tensor *g, Tensor **gin) {
  BinaryOp op = (BinaryOp)n->aux[0];
  int i;
  for (i = 0; i < 2; i++) {
    Tensor *d, *full;
    if (!n->in[i]->requires_grad) continue;
    if (op == OP_ADD || (op == OP_SUB && i == 0)) {
      full = tensor_retain((Tensor *)g);   /* the local derivative is 1 */
    } else if (op == OP_SUB) {
      full = op_unary(OP_NEG, g);
    } else {
      if ((d = binary_partials(n, i)) == NULL) return nn_errcode();
      full = op_binary(OP_MUL, g, d);
      tensor_release(d);
    }
    if (full == NULL) return nn_errcode();
    gin[i] = fn_sum_to(full, n->in[i]);
    tensor_release(full);
    if (gin[i] == NULL) return nn_errcode();
  }
  return NN_OK;
}

#define BINARY(name, r0, r1) { name, binary_backward, { r0, r1 }, binary_local }
static const OpDesc binary_desc[OP_BINARY_COUNT] = {
  BINARY("add", "dL/d%0 = dL/d%o", "dL/d%1 = dL/d%o"),
  BINARY("sub", "dL/d%0 = dL/d%o", "dL/d%1 = -dL/d%o"),
  BINARY("mul", "dL/d%0 = dL/d%o · %1", "dL/d%1 = dL/d%o · %0"),
  BINARY("div", "dL/d%0 = dL/d%o · 1/%1", "dL/d%1 = dL/d%o · (-%0/%1²)"),
  BINARY("pow", "dL/d%0 = dL/d%o · %1·%0^(%1-1)", "dL/d%1 = dL/d%o · %0^%1·ln(%0)"),
  BINARY("eq", NULL, NULL), BINARY("ne", NULL, NULL), BINARY("lt", NULL, NULL),
  BINARY("le", NULL, NULL), BINARY("gt", NULL, NULL), BINARY("ge", NULL, NULL),
  BINARY("maximum", "dL/d%0 = dL/d%o · [%0 ≥ %1]", "dL/d%1 = dL/d%o · [%1 ≥ %0]"),
  BINARY("minimum", "dL/d%0 = dL/d%o · [%0 ≤ %1]", "dL/d%1 = dL/d%o · [%1 ≤ %0]"),
};

static int differentiable(BinaryOp op) {
  return op <= OP_POW || op == OP_MAXIMUM || op == OP_MINIMUM;
}

Tensor *fn_binary(BinaryOp op, Tensor *a, Tensor *b) {
  Tensor *in[2], *out = op_binary(op, a, b);
  Node *n;
  if (!differentiable(op)) return out;   /* 0/1 results carry no gradient */
  in[0] = a;
  in[1] = b;
  out = fn_link(out, &binary_desc[op], 2, in, &n);
  if (n != NULL) n->aux[0] = op;
  return out;
}

/* ======================================================================
** A tensor with a number: y = a op s, or s op a.  The number is stored in
** the node; keepdim records which side the tensor was on.
** ====================================================================== */

static double scalar_partial(const Node *n, double a) {
  double s = n->scalar;
  int first = n->keepdim;   /* the number came first: s op a */
  switch ((BinaryOp)n->aux[0]) {
    case OP_ADD: return 1.0;
    case OP_SUB: return first ? -1.0 : 1.0;
    case OP_MUL: return s;
    case OP_DIV: return first ? -s / (a * a) : 1.0 / s;
    case OP_POW:
      if (first) return s == 0 ? 0.0 : pow(s, a) * log(s);
      return s == 0 ? 0.0 : s * pow(a, s - 1.0);
    case OP_MAXIMUM: return a > s ? 1.0 : (a == s ? 0.5 : 0.0);
    case OP_MINIMUM: return a < s ? 1.0 : (a == s ? 0.5 : 0.0);
    default: return 0.0;
  }
}

static Tensor *scalar_local(Node *n, int i) {
  Tensor *out = tensor_new(n->in[0]->ndim, n->in[0]->size);
  int64_t k, m;
  (void)i;
  if (out == NULL) return NULL;
  m = tensor_numel(out);
  for (k = 0; k < m; k++) out->storage->data[k] = scalar_partial(n, tensor_get_flat(n->in[0], k));
  return out;
}

/* %c in a rule stands for the number */
#define SCALAR(name, rule) { name, local_backward, { rule, NULL }, scalar_local }
static const OpDesc scalar_after[OP_BINARY_COUNT] = {   /* a op c */
  SCALAR("add", "dL/d%0 = dL/d%o"), SCALAR("sub", "dL/d%0 = dL/d%o"),
  SCALAR("mul", "dL/d%0 = dL/d%o · %c"), SCALAR("div", "dL/d%0 = dL/d%o · 1/%c"),
  SCALAR("pow", "dL/d%0 = dL/d%o · %c·%0^(%c-1)"),
  SCALAR("eq", NULL), SCALAR("ne", NULL), SCALAR("lt", NULL), SCALAR("le", NULL),
  SCALAR("gt", NULL), SCALAR("ge", NULL),
  SCALAR("maximum", "dL/d%0 = dL/d%o · [%0 ≥ %c]"), SCALAR("minimum", "dL/d%0 = dL/d%o · [%0 ≤ %c]"),
};
static const OpDesc scalar_before[OP_BINARY_COUNT] = {  /* c op a */
  SCALAR("add", "dL/d%0 = dL/d%o"), SCALAR("sub", "dL/d%0 = -dL/d%o"),
  SCALAR("mul", "dL/d%0 = dL/d%o · %c"), SCALAR("div", "dL/d%0 = dL/d%o · (-%c/%0²)"),
  SCALAR("pow", "dL/d%0 = dL/d%o · %c^%0·ln(%c)"),
  SCALAR("eq", NULL), SCALAR("ne", NULL), SCALAR("lt", NULL), SCALAR("le", NULL),
  SCALAR("gt", NULL), SCALAR("ge", NULL),
  SCALAR("maximum", "dL/d%0 = dL/d%o · [%0 ≥ %c]"), SCALAR("minimum", "dL/d%0 = dL/d%o · [%0 ≤ %c]"),
};

Tensor *fn_binary_scalar(BinaryOp op, Tensor *a, double s, int scalar_first) {
  Tensor *out = op_binary_scalar(op, a, s, scalar_first);
  Node *n;
  if (!differentiable(op)) return out;
  out = fn_link(out, scalar_first ? &scalar_before[op] : &scalar_after[op], 1, &a, &n);
  if (n != NULL) {
    n->aux[0] = op;
    n->scalar = s;
    n->keepdim = scalar_first;
  }
  return out;
}
