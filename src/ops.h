/*
** ops.h — tensor kernels: creation, elementwise maths with broadcasting,
** reductions, products and small linear algebra.  No Lua, no autograd:
** the differentiable layer (functions.c) and the binding call these.
**
** Every function returning Tensor* returns a new contiguous tensor (a new
** reference) or NULL with nn_errmsg() set.  Inputs are borrowed and may be
** any strided view.  Dimensions are 0-based here.
**
** Broadcasting follows NumPy: shapes are aligned at the right; two sizes
** fit when equal or when one of them is 1.  3x1 + 1x4 -> 3x4; 3 + 2x3 -> 2x3.
*/
#ifndef NNCALC_OPS_H
#define NNCALC_OPS_H

#include "optable.h"
#include "tensor.h"

/* ---- creation (tensor_init.c) ------------------------------------------ */
Tensor *op_full(int ndim, const int64_t *size, double v);
Tensor *op_eye(int64_t n, int64_t m);
/* start, start+step, ... up to and including stop, like Lua's numeric for
** but forgiving rounding: arange(0, 0.3, 0.1) ends with exactly 0.3. */
Tensor *op_arange(double start, double stop, double step);
Tensor *op_linspace(double a, double b, int64_t n);
Tensor *op_rand(int ndim, const int64_t *size);    /* uniform [0,1) */
Tensor *op_randn(int ndim, const int64_t *size);   /* standard normal */

/* The generator behind rand/randn: xoshiro256** seeded by splitmix64, so the
** same seed gives the same numbers on every machine.  Seed 0 at start-up. */
void rng_seed(uint64_t seed);
uint64_t rng_draw_seed(void);   /* a seed for a separate, reproducible stream */
typedef struct RngState { uint64_t s[4]; int have_spare, seeded; double spare; } RngState;
void rng_save(RngState *st);      /* to draw from another seed and come back */
void rng_restore(const RngState *st);
double rng_uniform(void);     /* [0, 1), 53 random bits */
double rng_normal(void);

/* ---- elementwise (ops_elem.c) ------------------------------------------ */
/* A new op goes anywhere in its enum; it then needs a row in every table
** indexed by the enum (its formula and name in ops_elem.c, its derivative
** in fn_elem.c: see there), or the build stops (optable.h). */
typedef enum {
  OP_NEG, OP_ABS, OP_EXP, OP_LOG, OP_SQRT, OP_SIGN,
#ifdef NNCALC_TEST_MISSING_OP
  OP_TEST_MISSING,   /* `make check-op-tables`: an op without rows must not compile */
#endif
  OP_TANH, OP_SIGMOID, OP_RELU, OP_SOFTPLUS,
  OP_ERF, OP_GELU, OP_GELU_TANH, OP_SILU, OP_RELU6, OP_SIN, OP_COS,
  OP_FLOOR, OP_CEIL, OP_ROUND,   /* round: half to even, as PyTorch */
  OP_UNARY_COUNT
} UnaryOp;

typedef enum {
  OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW,
  OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,   /* 1 where true, else 0 */
  OP_MAXIMUM, OP_MINIMUM,
  OP_REMAINDER,   /* a − floor(a/b)·b: the sign of b, as Lua's and PyTorch's % */
  OP_BINARY_COUNT
} BinaryOp;

extern const char *const op_unary_name[OP_UNARY_COUNT];
extern const char *const op_binary_name[OP_BINARY_COUNT];

double op_unary_apply(UnaryOp op, double x);
double op_binary_apply(BinaryOp op, double a, double b);

Tensor *op_unary(UnaryOp op, const Tensor *a);
Tensor *op_map(const Tensor *a, double (*f)(double));   /* f on every element */
Tensor *op_binary(BinaryOp op, const Tensor *a, const Tensor *b);
/* a op s, or s op a when scalar_first (so 1 - x and 2 / x work). */
Tensor *op_binary_scalar(BinaryOp op, const Tensor *a, double s, int scalar_first);
/* The broadcast shape of a and b, or NN_ESHAPE naming both shapes. */
int op_broadcast_shape(const Tensor *a, const Tensor *b, int *ndim, int64_t *size);

/* ---- reductions (ops_reduce.c) ----------------------------------------- */
typedef enum {
  OP_SUM, OP_MEAN, OP_MAX, OP_MIN, OP_ARGMAX, OP_ARGMIN, OP_PROD,
  OP_REDUCE_COUNT
} ReduceOp;

extern const char *const op_reduce_name[OP_REDUCE_COUNT];

/* Over one dim (keepdim keeps it with size 1); arg-reductions give 0-based
** positions.  Max/min propagate NaN; an empty max/min is an error. */
Tensor *op_reduce(ReduceOp op, const Tensor *a, int dim, int keepdim);
/* Over all elements; arg-reductions give the 0-based flat position. */
int op_reduce_all(ReduceOp op, const Tensor *a, double *result);
/* The sum of n values spaced `stride` apart, pairwise (NumPy's order): what
** every sum and mean here uses, so a loss's mean equals the tensor mean. */
double op_sum_line(const double *p, int64_t n, int64_t stride);

/* Numerically stable: subtracts the max along dim before exponentiating. */
Tensor *op_softmax(const Tensor *a, int dim);
Tensor *op_log_softmax(const Tensor *a, int dim);

/* ---- products (ops_matmul.c) ------------------------------------------- */
int op_dot(const Tensor *a, const Tensor *b, double *result);      /* 1-D . 1-D */
Tensor *op_mv(const Tensor *a, const Tensor *x);                   /* 2-D . 1-D */
Tensor *op_mm(const Tensor *a, const Tensor *b);                   /* 2-D . 2-D */
Tensor *op_bmm(const Tensor *a, const Tensor *b);                  /* 3-D . 3-D */
Tensor *op_outer(const Tensor *u, const Tensor *v);                /* 1-D x 1-D */
/* The product a * b as written on paper, chosen by dims: dot (0-d result),
** mv, vector-matrix, mm, bmm (a matrix against a 3-D batch is shared by
** every entry; batch sizes of 1 broadcast).  *kind names it. */
Tensor *op_matmul(const Tensor *a, const Tensor *b, const char **kind);

/* ---- linear algebra (ops_linalg.c, over linalg.c) ---------------------- */
int op_det(const Tensor *a, double *det);
Tensor *op_inv(const Tensor *a);
Tensor *op_solve(const Tensor *a, const Tensor *b);    /* b is n or n x m */
Tensor *op_pinv(const Tensor *a, double rcond);
int op_rank(const Tensor *a, double rcond, int64_t *rank);
/* A symmetric matrix's eigenvalues (*w, ascending) and eigenvectors (the
** columns of *v): a = v diag(w) vᵀ.  New references, or an nn_status. */
int op_eigh(const Tensor *a, Tensor **w, Tensor **v);

#endif
