/*
** ops_elem.c — elementwise maths: unary functions and broadcasting binary
** operators.  Each formula sits in one small function; the loops walk any
** strided view through TensorIter, so nothing is copied to broadcast.
*/
#include <assert.h>
#include <math.h>
#include <string.h>

#include "ops.h"

/* ======================================================================
** Formulas
** ====================================================================== */

static double f_neg(double x) { return -x; }
static double f_abs(double x) { return fabs(x); }
static double f_exp(double x) { return exp(x); }
static double f_log(double x) { return log(x); }
static double f_sqrt(double x) { return sqrt(x); }
static double f_sign(double x) { return isnan(x) ? x : (x > 0) - (x < 0); }
static double f_tanh(double x) { return tanh(x); }
/* the two branches keep exp() from overflowing for large |x| */
static double f_sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  else { double e = exp(x); return e / (1.0 + e); }
}
/* relu(NaN) stays NaN: a silent 0 would hide the bug upstream */
static double f_relu(double x) { return x > 0 ? x : (isnan(x) ? x : 0.0); }
/* log(1 + e^x) without overflow: max(x,0) + log1p(e^-|x|) */
static double f_softplus(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }
static double f_floor(double x) { return floor(x); }
static double f_ceil(double x) { return ceil(x); }
/* nearbyint in the default rounding mode rounds a tie to the even
** neighbour (2.5 -> 2, -0.5 -> -0), as torch.round; C's round() would not */
static double f_round(double x) { return nearbyint(x); }

#define SQRT1_2 0.70710678118654752440          /* 1/√2 (C11 has no M_SQRT1_2) */
#define SQRT_2_OVER_PI 0.79788456080286535588   /* √(2/π) */
/* GELU as PyTorch: exact x·Φ(x), Φ(x) = (1 + erf(x/√2))/2, or its tanh
** form 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) */
static double f_erf(double x) { return erf(x); }
static double f_gelu(double x) { return 0.5 * x * (1.0 + erf(x * SQRT1_2)); }
static double f_gelu_tanh(double x) {
  return 0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}
static double f_silu(double x) { return x * f_sigmoid(x); }
static double f_relu6(double x) { return isnan(x) ? x : fmin(fmax(x, 0.0), 6.0); }
static double f_sin(double x) { return sin(x); }
static double f_cos(double x) { return cos(x); }

OP_TABLE_BEGIN(unary_fn);
static double (*const unary_fn[])(double) = {
  OP_ROW(OP_NEG) = f_neg, OP_ROW(OP_ABS) = f_abs, OP_ROW(OP_EXP) = f_exp,
  OP_ROW(OP_LOG) = f_log, OP_ROW(OP_SQRT) = f_sqrt, OP_ROW(OP_SIGN) = f_sign,
  OP_ROW(OP_TANH) = f_tanh, OP_ROW(OP_SIGMOID) = f_sigmoid, OP_ROW(OP_RELU) = f_relu,
  OP_ROW(OP_SOFTPLUS) = f_softplus, OP_ROW(OP_ERF) = f_erf, OP_ROW(OP_GELU) = f_gelu,
  OP_ROW(OP_GELU_TANH) = f_gelu_tanh, OP_ROW(OP_SILU) = f_silu, OP_ROW(OP_RELU6) = f_relu6,
  OP_ROW(OP_SIN) = f_sin, OP_ROW(OP_COS) = f_cos,
  OP_ROW(OP_FLOOR) = f_floor, OP_ROW(OP_CEIL) = f_ceil, OP_ROW(OP_ROUND) = f_round,
};
OP_TABLE_END(unary_fn, OP_UNARY_COUNT);

OP_TABLE_BEGIN(op_unary_name);
const char *const op_unary_name[] = {
  OP_ROW(OP_NEG) = "neg", OP_ROW(OP_ABS) = "abs", OP_ROW(OP_EXP) = "exp",
  OP_ROW(OP_LOG) = "log", OP_ROW(OP_SQRT) = "sqrt", OP_ROW(OP_SIGN) = "sign",
  OP_ROW(OP_TANH) = "tanh", OP_ROW(OP_SIGMOID) = "sigmoid", OP_ROW(OP_RELU) = "relu",
  OP_ROW(OP_SOFTPLUS) = "softplus", OP_ROW(OP_ERF) = "erf", OP_ROW(OP_GELU) = "gelu",
  OP_ROW(OP_GELU_TANH) = "gelu_tanh", OP_ROW(OP_SILU) = "silu", OP_ROW(OP_RELU6) = "relu6",
  OP_ROW(OP_SIN) = "sin", OP_ROW(OP_COS) = "cos",
  OP_ROW(OP_FLOOR) = "floor", OP_ROW(OP_CEIL) = "ceil", OP_ROW(OP_ROUND) = "round",
};
OP_TABLE_END(op_unary_name, OP_UNARY_COUNT);

static double b_add(double a, double b) { return a + b; }
static double b_sub(double a, double b) { return a - b; }
static double b_mul(double a, double b) { return a * b; }
static double b_div(double a, double b) { return a / b; }
static double b_pow(double a, double b) { return pow(a, b); }
static double b_eq(double a, double b) { return a == b; }
static double b_ne(double a, double b) { return a != b; }
static double b_lt(double a, double b) { return a < b; }
static double b_le(double a, double b) { return a <= b; }
static double b_gt(double a, double b) { return a > b; }
static double b_ge(double a, double b) { return a >= b; }
/* NaN wins, as in NumPy's maximum: fmax would silently drop it */
static double b_maximum(double a, double b) { return isnan(a) || a > b ? a : b; }
static double b_minimum(double a, double b) { return isnan(a) || a < b ? a : b; }
/* floored modulo as Lua 5.4 and torch.remainder compute it: fmod (exact),
** then moved into b's sign; a % 0 is NaN */
static double b_remainder(double a, double b) {
  double m = fmod(a, b);
  if (m != 0 && (m < 0) != (b < 0)) m += b;
  return m;
}

OP_TABLE_BEGIN(binary_fn);
static double (*const binary_fn[])(double, double) = {
  OP_ROW(OP_ADD) = b_add, OP_ROW(OP_SUB) = b_sub, OP_ROW(OP_MUL) = b_mul,
  OP_ROW(OP_DIV) = b_div, OP_ROW(OP_POW) = b_pow,
  OP_ROW(OP_EQ) = b_eq, OP_ROW(OP_NE) = b_ne, OP_ROW(OP_LT) = b_lt,
  OP_ROW(OP_LE) = b_le, OP_ROW(OP_GT) = b_gt, OP_ROW(OP_GE) = b_ge,
  OP_ROW(OP_MAXIMUM) = b_maximum, OP_ROW(OP_MINIMUM) = b_minimum,
  OP_ROW(OP_REMAINDER) = b_remainder,
};
OP_TABLE_END(binary_fn, OP_BINARY_COUNT);

OP_TABLE_BEGIN(op_binary_name);
const char *const op_binary_name[] = {
  OP_ROW(OP_ADD) = "add", OP_ROW(OP_SUB) = "sub", OP_ROW(OP_MUL) = "mul",
  OP_ROW(OP_DIV) = "div", OP_ROW(OP_POW) = "pow",
  OP_ROW(OP_EQ) = "eq", OP_ROW(OP_NE) = "ne", OP_ROW(OP_LT) = "lt",
  OP_ROW(OP_LE) = "le", OP_ROW(OP_GT) = "gt", OP_ROW(OP_GE) = "ge",
  OP_ROW(OP_MAXIMUM) = "maximum", OP_ROW(OP_MINIMUM) = "minimum",
  OP_ROW(OP_REMAINDER) = "remainder",
};
OP_TABLE_END(op_binary_name, OP_BINARY_COUNT);

double op_unary_apply(UnaryOp op, double x) {
  assert(op >= 0 && op < OP_UNARY_COUNT);
  return unary_fn[op](x);
}

double op_binary_apply(BinaryOp op, double a, double b) {
  assert(op >= 0 && op < OP_BINARY_COUNT);
  return binary_fn[op](a, b);
}

/* ======================================================================
** Loops
** ====================================================================== */

Tensor *op_unary(UnaryOp op, const Tensor *a) {
  return op_map(a, unary_fn[op]);
}

Tensor *op_map(const Tensor *a, double (*f)(double)) {
  Tensor *out = tensor_new(a->ndim, a->size), *ops[2];
  TensorIter it;
  int64_t i;
  if (out == NULL) return NULL;
  ops[0] = out;
  ops[1] = (Tensor *)a;
  tensor_iter_init(&it, 2, ops);
  while (tensor_iter_next(&it)) {
    double *o = it.ptr[0], *x = it.ptr[1];
    int64_t sx = it.istride[1];
    /* relu is every network's activation: its loop is written out, so that
    ** it vectorises (through the pointer it cost 10x an add).  x <= 0 is
    ** false for NaN, which so passes through, as f_relu says. */
    if (f == f_relu && sx == 1)
      for (i = 0; i < it.inner; i++) o[i] = x[i] <= 0 ? 0.0 : x[i];
    else if (f == f_relu)
      for (i = 0; i < it.inner; i++) o[i] = x[i * sx] <= 0 ? 0.0 : x[i * sx];
    else
      for (i = 0; i < it.inner; i++) o[i] = f(x[i * sx]);
  }
  return out;
}

int op_broadcast_shape(const Tensor *a, const Tensor *b, int *ndim, int64_t *size) {
  int n = a->ndim > b->ndim ? a->ndim : b->ndim, d;
  char b1[128], b2[128];
  for (d = 0; d < n; d++) {
    /* align at the right: dim d of the result is dim d-(n-ndim) of each */
    int da = d - (n - a->ndim), db = d - (n - b->ndim);
    int64_t sa = da >= 0 ? a->size[da] : 1, sb = db >= 0 ? b->size[db] : 1;
    if (sa != sb && sa != 1 && sb != 1)
      return nn_fail(NN_ESHAPE, "shapes %s and %s do not broadcast "
                     "(dimension %d: %lld vs %lld)",
                     tensor_shape_str(a, b1, sizeof b1),
                     tensor_shape_str(b, b2, sizeof b2), d + 1,
                     (long long)sa, (long long)sb);
    size[d] = sa == 1 ? sb : sa;
  }
  *ndim = n;
  return NN_OK;
}

/* The inner loops are specialised for the common operators, so the
** compiler can vectorise them; the rest go through the function table. */
#define BINARY_ROW(EXPR) \
  for (i = 0; i < n; i++) { double x = pa[i * sa], y = pb[i * sb]; po[i] = (EXPR); }

static void binary_row(BinaryOp op, int64_t n, double *po, const double *pa,
                       int64_t sa, const double *pb, int64_t sb) {
  int64_t i;
  switch (op) {
    case OP_ADD: BINARY_ROW(x + y); break;
    case OP_SUB: BINARY_ROW(x - y); break;
    case OP_MUL: BINARY_ROW(x * y); break;
    case OP_DIV: BINARY_ROW(x / y); break;
    default: {
      double (*f)(double, double) = binary_fn[op];
      BINARY_ROW(f(x, y));
    }
  }
}

Tensor *op_binary(BinaryOp op, const Tensor *a, const Tensor *b) {
  int64_t size[TENSOR_MAXDIM];
  int ndim;
  Tensor *out, *ea, *eb, *ops[3];
  TensorIter it;
  if (tensor_same_shape(a, b)) {
    /* no broadcasting: walk a and b as they are (the common case) */
    if ((out = tensor_new(a->ndim, a->size)) == NULL) return NULL;
    ops[0] = out; ops[1] = (Tensor *)a; ops[2] = (Tensor *)b;
    tensor_iter_init(&it, 3, ops);
    while (tensor_iter_next(&it))
      binary_row(op, it.inner, it.ptr[0], it.ptr[1], it.istride[1],
                 it.ptr[2], it.istride[2]);
    return out;
  }
  if (op_broadcast_shape(a, b, &ndim, size) != NN_OK) return NULL;
  if ((out = tensor_new(ndim, size)) == NULL) return NULL;
  ea = tensor_expand(a, ndim, size);
  eb = ea ? tensor_expand(b, ndim, size) : NULL;
  if (eb == NULL) {
    tensor_release(ea);
    tensor_release(out);
    return NULL;
  }
  ops[0] = out; ops[1] = ea; ops[2] = eb;
  tensor_iter_init(&it, 3, ops);
  while (tensor_iter_next(&it))
    binary_row(op, it.inner, it.ptr[0], it.ptr[1], it.istride[1],
               it.ptr[2], it.istride[2]);
  tensor_release(ea);
  tensor_release(eb);
  return out;
}

Tensor *op_binary_scalar(BinaryOp op, const Tensor *a, double s, int scalar_first) {
  /* a 0-d tensor on the stack: broadcasting then does the rest, with no
  ** allocation for the scalar */
  Storage st;
  Tensor sc;
  memset(&sc, 0, sizeof sc);
  sc.storage = &st;
  st.data = &s;
  st.n = 1;
  st.refcount = 1;
  st.version = 0;
  sc.refcount = 1;
  return scalar_first ? op_binary(op, &sc, a) : op_binary(op, a, &sc);
}
