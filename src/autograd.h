/*
** autograd.h — reverse-mode automatic differentiation over tensors.
**
** The graph.  Every differentiable op (functions.c) that sees an input with
** requires_grad set returns a tensor whose `node` records the op: its
** descriptor (name, backward, chain-rule formula), its inputs (retained,
** so they double as the values saved for backward) and the storage
** version of each input at that moment.  Tensors own their node; nodes own
** their inputs; the graph is a DAG freed when its last tensor dies.
**
**     x ─┐
**        ├─ mv ─ a ─ relu ─ z ─ ...  ─ L
**     W ─┘
**
** backward(L) walks the nodes reachable from L in reverse topological
** order, calling each op's backward with the gradient of its output and
** adding the results into the gradients of its inputs: leaves accumulate
** into t->grad (+=, until zero_grad), intermediate tensors keep theirs only
** with retain_grad.  Backward computations are not themselves recorded.
**
** Example (C):  y = fn_unary(OP_RELU, x); L = fn_reduce_all(OP_SUM, y);
**               ag_backward(L, NULL, NULL);   -> x->grad = relu'(x)
*/
#ifndef NNCALC_AUTOGRAD_H
#define NNCALC_AUTOGRAD_H

#include "tensor.h"

typedef struct Node Node;

/* Computes the gradient of each input from gout (the gradient of the
** node's output): gin[i] gets a new tensor shaped like input i, or stays
** NULL when that input needs none.  Returns an nn_status. */
typedef int (*BackwardFn)(Node *n, const Tensor *gout, Tensor **gin);

typedef struct OpDesc {
  const char *name;        /* "relu", "mm", ... (also names nodes: relu#3) */
  BackwardFn backward;
  /* The chain-rule step for each input, in the notation of a homework
  ** sheet: %o stands for the output's name, %0 %1 for the inputs', e.g.
  ** "dL/d%0 = dL/d%o · relu'(%0)".  Printed by backward{trace=true}. */
  const char *rule[3];
  /* The local derivative d(out)/d(input i) as a tensor to show beside the
  ** rule (relu'(a3) = 1), or NULL where the rule needs none.  Optional. */
  Tensor *(*local)(Node *n, int i);
} OpDesc;

#define NODE_INLINE_IN 3

struct Node {
  const OpDesc *op;
  int refcount;
  int64_t id;              /* creation number: relu#3 */
  int nin;
  Tensor **in;             /* inputs (retained); points at inl when nin <= 3 */
  unsigned *version;       /* storage version of each input when recorded */
  Tensor *inl[NODE_INLINE_IN];
  unsigned inl_version[NODE_INLINE_IN];
  Tensor *out;             /* the output, NOT retained (it owns this node) */
  Tensor *saved;           /* op-specific extra (a view of the output, ...) */
  double scalar;           /* op-specific number (an exponent, ...) */
  int dim, keepdim;        /* op-specific dims */
  int64_t aux[2 * TENSOR_MAXDIM + 2];  /* op-specific sizes / indices */
  int used;                /* backward went through it without retain_graph */
  char *site;              /* "file:line" of creation (detect_anomaly) */
  /* backward bookkeeping */
  Tensor *gout;            /* gradient of out, accumulated during backward */
  int mark;
};

/* ---- modes ------------------------------------------------------------- */
extern int ag_grad_enabled;      /* 0 inside no_grad */
extern int ag_anomaly;           /* detect_anomaly: check every result */

/* ---- building the graph (used by functions.c) --------------------------- */
/* True when recording is on and any of the n inputs requires grad. */
int ag_needs_graph(int n, Tensor *const *in);
/* Attaches a new node for op with inputs in[0..n-1] to out, which then
** requires grad.  Returns the node (to fill op-specific fields), or NULL
** with nn_errmsg set (out is left untouched). */
Node *ag_record(Tensor *out, const OpDesc *op, int n, Tensor *const *in);
void ag_set_site(Node *n, const char *site);

/* ---- leaves, names, gradients -------------------------------------------- */
int ag_set_requires_grad(Tensor *t, int on);   /* leaves only */
int ag_set_name(Tensor *t, const char *name);
/* t->grad = 0 (kept allocated), or dropped when free_it. */
void ag_zero_grad(Tensor *t);

/* ---- backward -------------------------------------------------------------- */
typedef struct AgStep {
  Node *node;            /* retained */
  Tensor *gout;          /* retained */
  Tensor **gin;          /* node->nin entries, retained, NULL where none */
  char *accumulated;     /* input i: a leaf whose .grad already held a value */
} AgStep;

typedef struct AgOptions {
  int retain_graph;      /* allow another backward through the same nodes */
  int record;            /* collect the steps (trace) */
  AgStep *steps;         /* out: malloc'd array of nsteps records */
  int nsteps;
  int accumulated_leaves;  /* out: leaves whose .grad was already non-zero */
  Tensor *first_accumulated;  /* out: one of them (borrowed), for the warning */
} AgOptions;

/* Runs backward from root with upstream gradient `grad` (NULL: root must
** be a single value and the gradient is 1).  Errors: root does not require
** grad, non-scalar root without grad, shape mismatch, graph already used,
** a saved tensor modified in place, NaN with detect_anomaly. */
int ag_backward(Tensor *root, const Tensor *grad, AgOptions *opt);
void ag_free_steps(AgOptions *opt);

/* The nodes reachable from root, in forward (topological) order, retained;
** release each and free the array. */
int ag_collect(Tensor *root, Node ***nodes, int *n);
void node_retain(Node *n);
void node_release(Node *n);

int64_t ag_live_nodes(void);
void ag_init(void);   /* installs tensor_ag_free */

#endif
