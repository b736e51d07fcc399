/*
** fn_elem.c — differentiable elementwise ops.  Each derivative sits next
** to its function; broadcasting is undone by summing the gradient back to
** each input's shape (fn_sum_to).
**
** ---- The op tables: how to add an op (the same in every fn_*.c) --------
** Every graph op is one row of its family's table, an OpDesc (autograd.h)
** written with designated initializers indexed by the family's enum:
**
**     OP_TABLE_BEGIN(unary_table);
**     static const UnaryRow unary_table[] = {
**       OP_ROW(OP_TANH) = UNARY("tanh", d_tanh, dg_tanh,
**                               "dL/d%0 = dL/d%o · (1 - tanh²(%0))"),
**       ...
**     };
**     OP_TABLE_END(unary_table, OP_UNARY_COUNT);
**
** OP_TABLE_END fails to compile when the enum has an op without a row,
** wherever the op sits in the enum (the rows are counted), and the row
** macros (UNARY, BINARY, REDUCE, PRODUCT, SHAPE, LOSS ...) take every field
** positionally, so a row without its derivative does not compile either
** (a row spelt out with .field = is checked by the table walk below).  Nothing may depend on
** the order of an enum: ask the row (`.backward == NULL`: no gradient).
**
** A row gives
**   name       what the node is called (relu#3) and traces show;
**   arity      the inputs it records (OP_VARIADIC for cat/stack);
**   backward   the gradient with kernels (op_*): fast, never recorded;
**   backward_graph  the same gradient written with fn_* ops (or the fx_*
**              helpers of functions.h, which read as formulas), used by
**              backward{create_graph=true} and grad{...}: it is recorded,
**              so the gradient can be differentiated again.  When the
**              fast backward already uses only fn_* ops, the same function
**              serves both.  An op that cannot have one yet says why
**              instead, and create_graph through it is
**              refused with that reason (never a silently wrong 0):
**              `.first_order = "why"` and no .backward_graph; one that
**              lacks it only at some values says so in `first_order_at`
**              (prod at a zero, det at a singular matrix), asked before the
**              pass starts;
**   rule       the chain-rule text of backward{trace=true} (%o the output,
**              %0 %1 the inputs, %c the op's number);
**   local      the local derivative shown beside the rule (optional);
**   number     the %c of the rule (optional);
**   params_size  sizeof the settings struct (a dim, a slope, conv
**              strides) its nodes carry: fn_link copies it in once, the
**              backward reads it with AG_PARAMS(n, Struct).
** A unary op needs, besides its row here, its formula in ops_elem.c
** (f_x, in that file's table) and a name in ops.h's enum; d_x(x) is f'(x)
** for one number (the fast backward), dg_x(x) builds f'(x) as a tensor
** from fn_* ops (the create_graph backward).  For sin, say:
**     static double d_sin(double x) { return cos(x); }
**     static Tensor *dg_sin(Tensor *x) { return fn_unary(OP_COS, x); }
**     OP_ROW(OP_SIN) = UNARY("sin", d_sin, dg_sin, "dL/d%0 = dL/d%o · cos(%0)"),
**
** A create_graph backward of another family has the backward's signature
** (n, g, gin) and builds each gin[i] only from fn_* calls on n->in[], g,
** and constants: an op_* result is a constant, right for a factor whose own
** derivative is 0 (a relu mask, a max's winner, a one-hot target) and
** wrong for anything that depends smoothly on an input.  Recompute what
** the forward made (fn_softmax(x)) rather than reading n->out, which the
** node does not hold (it may be gone by the time backward runs).  It runs with
** recording on, so every fn_* it calls becomes a node of the gradient.
**
** Tests for a new op: its gradcheck in tests/lua/test_autograd.lua, its
** gradgradcheck (or its refusal, when first-order only) in
** tests/lua/test_second_order.lua; the table walk of tests/check_autograd.c
** fails on a row without a name, arity, backward or create_graph backward
** (or reason).
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
  Tensor *hold;
  const double *v = tensor_rowmajor(out, &hold);
  if (v == NULL) return nn_errcode();
  for (i = 0; i < m && isfinite(v[i]); i++) continue;
  if (i < m) {
    int nan = isnan(v[i]);
    tensor_release(hold);
    return nn_fail(NN_EARG, "detect_anomaly: %s produced %s (element %lld of the result)",
                   op->name, nan ? "NaN" : "Inf", (long long)i + 1);
  }
  tensor_release(hold);
  return NN_OK;
}

Tensor *fn_link(Tensor *out, const OpDesc *op, int n, Tensor *const *in, const void *params,
                Node **node) {
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
    } else if (op->params_size > 0) {
      ag_set_params(nd, params, op->params_size);
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
    next = fn_reduce(OP_SUM, cur, 0, 0);
    tensor_release(cur);
    cur = next;
  }
  /* dims where t had size 1 */
  for (d = 0; cur != NULL && d < t->ndim; d++) {
    if (t->size[d] == 1 && cur->size[d] != 1) {
      next = fn_reduce(OP_SUM, cur, d, 1);
      tensor_release(cur);
      cur = next;
    }
  }
  return cur;
}

Tensor *fn_plain(const Tensor *t) {
  return tensor_view(t, t->ndim, t->size);
}

/* ---- the fx_* helpers (functions.h) --------------------------------------- */

Tensor *fx_keep(const Tensor *t) { return tensor_retain((Tensor *)t); }

Tensor *fx_un(UnaryOp op, Tensor *a) {
  Tensor *r = a ? fn_unary(op, a) : NULL;
  tensor_release(a);
  return r;
}

Tensor *fx_bin(BinaryOp op, Tensor *a, Tensor *b) {
  Tensor *r = a && b ? fn_binary(op, a, b) : NULL;
  tensor_release(a);
  tensor_release(b);
  return r;
}

Tensor *fx_num(BinaryOp op, Tensor *a, double s, int scalar_first) {
  Tensor *r = a ? fn_binary_scalar(op, a, s, scalar_first) : NULL;
  tensor_release(a);
  return r;
}

Tensor *fx_sq(Tensor *a) { return fx_bin(OP_MUL, fx_keep(a), a); }

Tensor *fx_chain(const Tensor *g, Tensor *d) { return fx_bin(OP_MUL, fx_keep(g), d); }

/* A tensor shaped like x holding f(x) elementwise, outside any graph: a
** local derivative that is piecewise constant (relu', sign) is the same
** tensor in both backwards, since its own derivative is 0. */
static Tensor *flat_map(const Tensor *x, double (*f)(double)) { return op_map(x, f); }

/* ======================================================================
** Unary functions: dL/dx = dL/dy · f'(x)
** ====================================================================== */

typedef struct UnaryRow {
  OpDesc desc;                 /* first: a node's op points at its row */
  double (*d)(double);         /* f'(x) at one number: the fast backward */
  Tensor *(*dg)(Tensor *x);    /* f'(x) from fn_* ops: the create_graph one */
} UnaryRow;

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
#define SQRT1_2 0.70710678118654752440          /* 1/√2 (C11 has no M_ constants) */
#define TWO_OVER_SQRTPI 1.12837916709551257390  /* 2/√π */
/* erf'(x) = 2/√π·e^(−x²) */
static double d_erf(double x) { return TWO_OVER_SQRTPI * exp(-x * x); }
/* (x·Φ(x))' = Φ(x) + x·φ(x), φ the normal density */
static double d_gelu(double x) {
  return 0.5 * (1.0 + erf(x * SQRT1_2)) + x * exp(-0.5 * x * x) * (0.5 * TWO_OVER_SQRTPI * SQRT1_2);
}
/* 0.5·(1 + t) + 0.5·x·(1 − t²)·c·(1 + 3a·x²), t = tanh(c·(x + a·x³)) */
#define GELU_C 0.7978845608028654   /* √(2/π) */
#define GELU_A 0.044715
static double d_gelu_tanh(double x) {
  double t = tanh(GELU_C * (x + GELU_A * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_C * (1.0 + 3.0 * GELU_A * x * x);
}
/* (x·σ(x))' = σ(x)·(1 + x·(1 − σ(x))) */
static double d_silu(double x) {
  double s = op_unary_apply(OP_SIGMOID, x);
  return s * (1.0 + x * (1.0 - s));
}
/* 0 at the corners 0 and 6, as PyTorch's hardtanh backward */
static double d_relu6(double x) { return x > 0 && x < 6 ? 1.0 : 0.0; }
static double d_sin(double x) { return cos(x); }
static double d_cos(double x) { return -sin(x); }
/* floor, ceil, round are flat between their jumps: 0, as PyTorch gives */
static double d_flat(double x) { (void)x; return 0.0; }

/* the same derivatives as graphs of fn_* ops (x is borrowed) */
static Tensor *dg_neg(Tensor *x) { return flat_map(x, d_neg); }
static Tensor *dg_abs(Tensor *x) { return flat_map(x, d_abs); }
static Tensor *dg_exp(Tensor *x) { return fn_unary(OP_EXP, x); }
static Tensor *dg_log(Tensor *x) { return fn_binary_scalar(OP_DIV, x, 1.0, 1); }
static Tensor *dg_sqrt(Tensor *x) { return fx_num(OP_DIV, fn_unary(OP_SQRT, x), 0.5, 1); }
static Tensor *dg_sign(Tensor *x) { return flat_map(x, d_sign); }
static Tensor *dg_tanh(Tensor *x) { return fx_num(OP_SUB, fx_sq(fn_unary(OP_TANH, x)), 1.0, 1); }
static Tensor *dg_sigmoid(Tensor *x) {
  Tensor *s = fn_unary(OP_SIGMOID, x);
  return fx_bin(OP_MUL, fx_keep(s), fx_num(OP_SUB, s, 1.0, 1));
}
static Tensor *dg_relu(Tensor *x) { return flat_map(x, d_relu); }
static Tensor *dg_softplus(Tensor *x) { return fn_unary(OP_SIGMOID, x); }
static Tensor *dg_erf(Tensor *x) {
  return fx_num(OP_MUL, fx_un(OP_EXP, fx_num(OP_MUL, fx_sq(fx_keep(x)), -1.0, 0)), TWO_OVER_SQRTPI, 0);
}
static Tensor *dg_gelu(Tensor *x) {
  Tensor *phi = fx_num(OP_MUL, fx_un(OP_EXP, fx_num(OP_MUL, fx_sq(fx_keep(x)), -0.5, 0)),
                       0.5 * TWO_OVER_SQRTPI * SQRT1_2, 0);
  Tensor *cdf = fx_num(OP_MUL, fx_num(OP_ADD, fx_un(OP_ERF, fx_num(OP_MUL, fx_keep(x), SQRT1_2, 0)),
                                      1.0, 0), 0.5, 0);
  return fx_bin(OP_ADD, cdf, fx_bin(OP_MUL, fx_keep(x), phi));
}
static Tensor *dg_gelu_tanh(Tensor *x) {
  Tensor *u = fx_bin(OP_ADD, fx_keep(x), fx_num(OP_MUL, fx_bin(OP_MUL, fx_sq(fx_keep(x)), fx_keep(x)), GELU_A, 0));
  Tensor *t = fx_un(OP_TANH, fx_num(OP_MUL, u, GELU_C, 0)), *r;
  Tensor *half = fx_num(OP_MUL, fx_num(OP_ADD, fx_keep(t), 1.0, 0), 0.5, 0);
  Tensor *slope = fx_num(OP_MUL, fx_num(OP_ADD, fx_num(OP_MUL, fx_sq(fx_keep(x)), 3.0 * GELU_A, 0), 1.0, 0),
                         0.5 * GELU_C, 0);
  r = fx_bin(OP_ADD, half, fx_bin(OP_MUL, fx_bin(OP_MUL, fx_keep(x), fx_num(OP_SUB, fx_sq(t), 1.0, 1)), slope));
  return r;
}
static Tensor *dg_silu(Tensor *x) {
  Tensor *s = fn_unary(OP_SIGMOID, x);
  return fx_bin(OP_MUL, fx_keep(s), fx_num(OP_ADD, fx_bin(OP_MUL, fx_keep(x), fx_num(OP_SUB, s, 1.0, 1)), 1.0, 0));
}
static Tensor *dg_relu6(Tensor *x) { return flat_map(x, d_relu6); }
static Tensor *dg_sin(Tensor *x) { return fn_unary(OP_COS, x); }
static Tensor *dg_cos(Tensor *x) { return fx_num(OP_MUL, fn_unary(OP_SIN, x), -1.0, 0); }
static Tensor *dg_flat(Tensor *x) { return flat_map(x, d_flat); }

static Tensor *unary_local(Node *n, int i) {
  (void)i;
  return op_map(n->in[0], ((const UnaryRow *)n->op)->d);
}

/* dL/dx = dL/dy · f'(x) in one pass (one new tensor, not two). */
static int unary_backward(Node *n, const Tensor *g, Tensor **gin) {
  double (*d)(double) = ((const UnaryRow *)n->op)->d;
  Tensor *x = n->in[0], *ops[3];
  /* elementwise: o[i] may overwrite gy[i] once it is read */
  Tensor *out = ag_reusable(g) && tensor_same_shape(g, x) ? tensor_retain((Tensor *)g)
                                                           : tensor_new(x->ndim, x->size);
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

static int unary_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = fx_chain(g, ((const UnaryRow *)n->op)->dg(n->in[0]));
  return gin[0] ? NN_OK : nn_errcode();
}

#define UNARY(nm, d, dg, r)                                                    \
  { { .name = nm, .arity = 1, .backward = unary_backward,                     \
      .backward_graph = unary_backward_graph, .rule = { r }, .local = unary_local }, \
    d, dg }

OP_TABLE_BEGIN(unary_table);
static const UnaryRow unary_table[] = {
  OP_ROW(OP_NEG) = UNARY("neg", d_neg, dg_neg, "dL/d%0 = dL/d%o · (-1)"),
  OP_ROW(OP_ABS) = UNARY("abs", d_abs, dg_abs, "dL/d%0 = dL/d%o · sign(%0)"),
  OP_ROW(OP_EXP) = UNARY("exp", d_exp, dg_exp, "dL/d%0 = dL/d%o · exp(%0)"),
  OP_ROW(OP_LOG) = UNARY("log", d_log, dg_log, "dL/d%0 = dL/d%o · 1/%0"),
  OP_ROW(OP_SQRT) = UNARY("sqrt", d_sqrt, dg_sqrt, "dL/d%0 = dL/d%o · 1/(2·sqrt(%0))"),
  OP_ROW(OP_SIGN) = UNARY("sign", d_sign, dg_sign, "dL/d%0 = dL/d%o · 0"),
  OP_ROW(OP_TANH) = UNARY("tanh", d_tanh, dg_tanh, "dL/d%0 = dL/d%o · (1 - tanh²(%0))"),
  OP_ROW(OP_SIGMOID) = UNARY("sigmoid", d_sigmoid, dg_sigmoid, "dL/d%0 = dL/d%o · σ(%0)·(1 - σ(%0))"),
  OP_ROW(OP_RELU) = UNARY("relu", d_relu, dg_relu, "dL/d%0 = dL/d%o · relu'(%0)"),
  OP_ROW(OP_SOFTPLUS) = UNARY("softplus", d_softplus, dg_softplus, "dL/d%0 = dL/d%o · σ(%0)"),
  OP_ROW(OP_ERF) = UNARY("erf", d_erf, dg_erf, "dL/d%0 = dL/d%o · 2/√π·exp(-%0²)"),
  OP_ROW(OP_GELU) = UNARY("gelu", d_gelu, dg_gelu, "dL/d%0 = dL/d%o · (Φ(%0) + %0·φ(%0))"),
  OP_ROW(OP_GELU_TANH) = UNARY("gelu_tanh", d_gelu_tanh, dg_gelu_tanh,
                               "dL/d%0 = dL/d%o · (½(1+t) + ½·%0·(1-t²)·c(1+3a·%0²)), t = tanh(c(%0+a·%0³))"),
  OP_ROW(OP_SILU) = UNARY("silu", d_silu, dg_silu, "dL/d%0 = dL/d%o · σ(%0)·(1 + %0·(1-σ(%0)))"),
  OP_ROW(OP_RELU6) = UNARY("relu6", d_relu6, dg_relu6, "dL/d%0 = dL/d%o · [0 < %0 < 6]"),
  OP_ROW(OP_SIN) = UNARY("sin", d_sin, dg_sin, "dL/d%0 = dL/d%o · cos(%0)"),
  OP_ROW(OP_COS) = UNARY("cos", d_cos, dg_cos, "dL/d%0 = dL/d%o · (-sin(%0))"),
  OP_ROW(OP_FLOOR) = UNARY("floor", d_flat, dg_flat, "dL/d%0 = dL/d%o · 0 (floor is flat between integers)"),
  OP_ROW(OP_CEIL) = UNARY("ceil", d_flat, dg_flat, "dL/d%0 = dL/d%o · 0 (ceil is flat between integers)"),
  OP_ROW(OP_ROUND) = UNARY("round", d_flat, dg_flat, "dL/d%0 = dL/d%o · 0 (round is flat between its steps)"),
};
OP_TABLE_END(unary_table, OP_UNARY_COUNT);

Tensor *fn_unary(UnaryOp op, Tensor *a) {
  return fn_link(op_unary(op, a), &unary_table[op].desc, 1, &a, NULL, NULL);
}

/* ======================================================================
** Binary operators with broadcasting.  For z = f(a, b) the local
** derivatives dz/da and dz/db are computed elementwise on the broadcast
** shape, multiplied by dL/dz, then summed back to each input's shape.
** ====================================================================== */

static const OpDesc binary_table[OP_BINARY_COUNT];
static BinaryOp binary_op(const Node *n) { return (BinaryOp)(n->op - binary_table); }

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
    case OP_REMAINDER: return which ? -floor(a / b) : 1.0;   /* a − floor(a/b)·b */
    default: return 0.0;   /* comparisons are flat */
  }
}

/* The two operands broadcast to the output shape (views). */
static int broadcast_pair(const Node *n, Tensor **ea, Tensor **eb) {
  const Tensor *a = n->in[0], *b = n->in[1];
  int64_t size[TENSOR_MAXDIM];
  int nd;
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
  BinaryOp op = binary_op(n);
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
  BinaryOp op = binary_op(n);
  if (op == OP_ADD || op == OP_SUB) return NULL;   /* the rule says it all */
  return binary_partials(n, i);
}

static int binary_backward(Node *n, const Tensor *g, Tensor **gin) {
  BinaryOp op = binary_op(n);
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

/* 1 where x == 0, else 0: added to a base before log() keeps log(0) out of
** a derivative that is taken as 0 there (a constant, not part of the graph) */
static double is_zero(double x) { return x == 0; }

/* g · dz/d(input which), from fn_* ops, on the broadcast shape. */
static Tensor *binary_graph_part(Node *n, const Tensor *g, int which) {
  Tensor *a = n->in[0], *b = n->in[1];
  switch (binary_op(n)) {
    case OP_ADD: return fx_keep(g);
    case OP_SUB: return which ? fn_unary(OP_NEG, (Tensor *)g) : fx_keep(g);
    case OP_MUL: return fx_chain(g, fx_keep(which ? a : b));
    case OP_DIV:   /* 1/b and -a/b² */
      if (!which) return fn_binary(OP_DIV, (Tensor *)g, b);
      return fx_chain(g, fx_un(OP_NEG, fx_bin(OP_DIV, fx_keep(a), fx_sq(fx_keep(b)))));
    case OP_POW:
      if (!which) {   /* b · a^(b-1), 0 where b = 0 (as the fast backward) */
        Tensor *e = fx_bin(OP_ADD, fn_binary_scalar(OP_SUB, b, 1.0, 0), flat_map(b, is_zero));
        return fx_chain(g, fx_bin(OP_MUL, fx_keep(b), fx_bin(OP_POW, fx_keep(a), e)));
      }
      /* a^b · ln a, 0 where a = 0 */
      return fx_chain(g, fx_bin(OP_MUL, fn_binary(OP_POW, a, b),
                                fx_un(OP_LOG, fx_bin(OP_ADD, fx_keep(a), flat_map(a, is_zero)))));
    default:   /* maximum, minimum, remainder: piecewise constant partials */
      return fx_chain(g, binary_partials(n, which));
  }
}

static int binary_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  int i;
  for (i = 0; i < 2; i++) {
    Tensor *full;
    if (!n->in[i]->requires_grad) continue;
    if ((full = binary_graph_part(n, g, i)) == NULL) return nn_errcode();
    gin[i] = fn_sum_to(full, n->in[i]);
    tensor_release(full);
    if (gin[i] == NULL) return nn_errcode();
  }
  return NN_OK;
}

#define BINARY(nm, r0, r1)                                                     \
  { .name = nm, .arity = 2, .backward = binary_backward,                      \
    .backward_graph = binary_backward_graph, .rule = { r0, r1 }, .local = binary_local }
/* a comparison: a 0/1 result, flat, so no node is recorded */
#define BINARY_FLAT(nm) { .name = nm, .arity = 2, .backward = NULL }

OP_TABLE_BEGIN(binary_table);
static const OpDesc binary_table[] = {
  OP_ROW(OP_ADD) = BINARY("add", "dL/d%0 = dL/d%o", "dL/d%1 = dL/d%o"),
  OP_ROW(OP_SUB) = BINARY("sub", "dL/d%0 = dL/d%o", "dL/d%1 = -dL/d%o"),
  OP_ROW(OP_MUL) = BINARY("mul", "dL/d%0 = dL/d%o · %1", "dL/d%1 = dL/d%o · %0"),
  OP_ROW(OP_DIV) = BINARY("div", "dL/d%0 = dL/d%o · 1/%1", "dL/d%1 = dL/d%o · (-%0/%1²)"),
  OP_ROW(OP_POW) = BINARY("pow", "dL/d%0 = dL/d%o · %1·%0^(%1-1)", "dL/d%1 = dL/d%o · %0^%1·ln(%0)"),
  OP_ROW(OP_EQ) = BINARY_FLAT("eq"), OP_ROW(OP_NE) = BINARY_FLAT("ne"),
  OP_ROW(OP_LT) = BINARY_FLAT("lt"), OP_ROW(OP_LE) = BINARY_FLAT("le"),
  OP_ROW(OP_GT) = BINARY_FLAT("gt"), OP_ROW(OP_GE) = BINARY_FLAT("ge"),
  OP_ROW(OP_MAXIMUM) = BINARY("maximum", "dL/d%0 = dL/d%o · [%0 ≥ %1]", "dL/d%1 = dL/d%o · [%1 ≥ %0]"),
  OP_ROW(OP_MINIMUM) = BINARY("minimum", "dL/d%0 = dL/d%o · [%0 ≤ %1]", "dL/d%1 = dL/d%o · [%1 ≤ %0]"),
  OP_ROW(OP_REMAINDER) = BINARY("remainder", "dL/d%0 = dL/d%o", "dL/d%1 = dL/d%o · (-floor(%0/%1))"),
};
OP_TABLE_END(binary_table, OP_BINARY_COUNT);

Tensor *fn_binary(BinaryOp op, Tensor *a, Tensor *b) {
  Tensor *in[2], *out = op_binary(op, a, b);
  if (binary_table[op].backward == NULL) return out;   /* 0/1 results carry no gradient */
  in[0] = a;
  in[1] = b;
  return fn_link(out, &binary_table[op], 2, in, NULL, NULL);
}

/* ======================================================================
** A tensor with a number: y = a op c (scalar_after), or c op a
** (scalar_before).  The number is the node's setting.
** ====================================================================== */

typedef struct ScalarParams {
  double c;
  int first;   /* the number came first: c op a */
} ScalarParams;

static const OpDesc scalar_after[OP_BINARY_COUNT], scalar_before[OP_BINARY_COUNT];

static double scalar_c(const Node *n) { return AG_PARAMS(n, ScalarParams)->c; }
static int scalar_first(const Node *n) { return AG_PARAMS(n, ScalarParams)->first; }
static BinaryOp scalar_op(const Node *n) {
  return (BinaryOp)(n->op - (scalar_first(n) ? scalar_before : scalar_after));
}

static double scalar_partial(const Node *n, double a) {
  double s = scalar_c(n);
  int first = scalar_first(n);   /* the number came first: s op a */
  switch (scalar_op(n)) {
    case OP_ADD: return 1.0;
    case OP_SUB: return first ? -1.0 : 1.0;
    case OP_MUL: return s;
    case OP_DIV: return first ? -s / (a * a) : 1.0 / s;
    case OP_POW:
      if (first) return s == 0 ? 0.0 : pow(s, a) * log(s);
      return s == 0 ? 0.0 : s * pow(a, s - 1.0);
    case OP_MAXIMUM: return a > s ? 1.0 : (a == s ? 0.5 : 0.0);
    case OP_MINIMUM: return a < s ? 1.0 : (a == s ? 0.5 : 0.0);
    case OP_REMAINDER: return first ? -floor(s / a) : 1.0;
    default: return 0.0;
  }
}

static Tensor *scalar_local(Node *n, int i) {
  Tensor *out = tensor_new(n->in[0]->ndim, n->in[0]->size), *hold;
  const double *a = out ? tensor_rowmajor(n->in[0], &hold) : NULL;
  int64_t k, m;
  (void)i;
  if (a == NULL) {
    tensor_release(out);
    return NULL;
  }
  m = tensor_numel(out);
  for (k = 0; k < m; k++) out->storage->data[k] = scalar_partial(n, a[k]);
  tensor_release(hold);
  return out;
}

/* dL/da = dL/dy · (the local derivative).  For a ± c, a·c and a/c that
** derivative is one number, so it is one pass over dL/dy (or dL/dy itself)
** rather than a tensor of copies of the number and a product. */
static int scalar_backward(Node *n, const Tensor *g, Tensor **gin) {
  BinaryOp op = scalar_op(n);
  int constant = op == OP_ADD || op == OP_SUB || op == OP_MUL || (op == OP_DIV && !scalar_first(n));
  if (constant) {
    double d = scalar_partial(n, 0.0);
    gin[0] = d == 1.0 ? tensor_retain((Tensor *)g) : op_binary_scalar(OP_MUL, g, d, 0);
  } else {
    Tensor *d = scalar_local(n, 0);
    if (d == NULL) return nn_errcode();
    gin[0] = op_binary(OP_MUL, g, d);
    tensor_release(d);
  }
  return gin[0] ? NN_OK : nn_errcode();
}

static int scalar_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *a = n->in[0];
  double c = scalar_c(n);
  int first = scalar_first(n);
  switch (scalar_op(n)) {
    case OP_ADD: gin[0] = fx_keep(g); break;
    case OP_SUB: gin[0] = first ? fn_unary(OP_NEG, (Tensor *)g) : fx_keep(g); break;
    case OP_MUL: gin[0] = fn_binary_scalar(OP_MUL, (Tensor *)g, c, 0); break;
    case OP_DIV:   /* a/c: 1/c;  c/a: -c/a² */
      gin[0] = !first ? fn_binary_scalar(OP_DIV, (Tensor *)g, c, 0)
                      : fx_chain(g, fx_num(OP_DIV, fx_sq(fx_keep(a)), -c, 1));
      break;
    case OP_POW:
      if (c == 0) gin[0] = op_full(a->ndim, a->size, 0.0);   /* as the fast backward */
      else if (!first)   /* a^c: c·a^(c-1) */
        gin[0] = fx_chain(g, fx_num(OP_MUL, fn_binary_scalar(OP_POW, a, c - 1.0, 0), c, 0));
      else   /* c^a: c^a·ln c */
        gin[0] = fx_chain(g, fx_num(OP_MUL, fn_binary_scalar(OP_POW, a, c, 1), log(c), 0));
      break;
    default:   /* maximum, minimum, remainder with a number: piecewise constant */
      gin[0] = fx_chain(g, scalar_local(n, 0));
  }
  return gin[0] ? NN_OK : nn_errcode();
}

/* %c in a rule stands for the number */
#define SCALAR(nm, r)                                                          \
  { .name = nm, .arity = 1, .backward = scalar_backward,                      \
    .backward_graph = scalar_backward_graph, .rule = { r }, .local = scalar_local, \
    .number = scalar_c, .params_size = sizeof(ScalarParams) }
#define SCALAR_FLAT(nm) { .name = nm, .arity = 1, .backward = NULL }

OP_TABLE_BEGIN(scalar_after);
static const OpDesc scalar_after[] = {   /* a op c */
  OP_ROW(OP_ADD) = SCALAR("add", "dL/d%0 = dL/d%o"),
  OP_ROW(OP_SUB) = SCALAR("sub", "dL/d%0 = dL/d%o"),
  OP_ROW(OP_MUL) = SCALAR("mul", "dL/d%0 = dL/d%o · %c"),
  OP_ROW(OP_DIV) = SCALAR("div", "dL/d%0 = dL/d%o · 1/%c"),
  OP_ROW(OP_POW) = SCALAR("pow", "dL/d%0 = dL/d%o · %c·%0^(%c-1)"),
  OP_ROW(OP_EQ) = SCALAR_FLAT("eq"), OP_ROW(OP_NE) = SCALAR_FLAT("ne"),
  OP_ROW(OP_LT) = SCALAR_FLAT("lt"), OP_ROW(OP_LE) = SCALAR_FLAT("le"),
  OP_ROW(OP_GT) = SCALAR_FLAT("gt"), OP_ROW(OP_GE) = SCALAR_FLAT("ge"),
  OP_ROW(OP_MAXIMUM) = SCALAR("maximum", "dL/d%0 = dL/d%o · [%0 ≥ %c]"),
  OP_ROW(OP_MINIMUM) = SCALAR("minimum", "dL/d%0 = dL/d%o · [%0 ≤ %c]"),
  OP_ROW(OP_REMAINDER) = SCALAR("remainder", "dL/d%0 = dL/d%o"),
};
OP_TABLE_END(scalar_after, OP_BINARY_COUNT);

OP_TABLE_BEGIN(scalar_before);
static const OpDesc scalar_before[] = {  /* c op a */
  OP_ROW(OP_ADD) = SCALAR("add", "dL/d%0 = dL/d%o"),
  OP_ROW(OP_SUB) = SCALAR("sub", "dL/d%0 = -dL/d%o"),
  OP_ROW(OP_MUL) = SCALAR("mul", "dL/d%0 = dL/d%o · %c"),
  OP_ROW(OP_DIV) = SCALAR("div", "dL/d%0 = dL/d%o · (-%c/%0²)"),
  OP_ROW(OP_POW) = SCALAR("pow", "dL/d%0 = dL/d%o · %c^%0·ln(%c)"),
  OP_ROW(OP_EQ) = SCALAR_FLAT("eq"), OP_ROW(OP_NE) = SCALAR_FLAT("ne"),
  OP_ROW(OP_LT) = SCALAR_FLAT("lt"), OP_ROW(OP_LE) = SCALAR_FLAT("le"),
  OP_ROW(OP_GT) = SCALAR_FLAT("gt"), OP_ROW(OP_GE) = SCALAR_FLAT("ge"),
  OP_ROW(OP_MAXIMUM) = SCALAR("maximum", "dL/d%0 = dL/d%o · [%0 ≥ %c]"),
  OP_ROW(OP_MINIMUM) = SCALAR("minimum", "dL/d%0 = dL/d%o · [%0 ≤ %c]"),
  OP_ROW(OP_REMAINDER) = SCALAR("remainder", "dL/d%0 = dL/d%o · (-floor(%c/%0))"),
};
OP_TABLE_END(scalar_before, OP_BINARY_COUNT);

Tensor *fn_binary_scalar(BinaryOp op, Tensor *a, double s, int first) {
  const OpDesc *row = first ? &scalar_before[op] : &scalar_after[op];
  ScalarParams p;
  Tensor *out = op_binary_scalar(op, a, s, first);
  if (row->backward == NULL) return out;
  p.c = s;
  p.first = first;
  return fn_link(out, row, 1, &a, &p, NULL);
}

/* ---- the tables, for the checks that walk them (tests/check_autograd.c) ---- */
const OpDesc *fn_unary_desc(UnaryOp op) { return &unary_table[op].desc; }
const OpDesc *fn_binary_desc(BinaryOp op) { return &binary_table[op]; }
const OpDesc *fn_scalar_desc(BinaryOp op, int first) {
  return first ? &scalar_before[op] : &scalar_after[op];
}
