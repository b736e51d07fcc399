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
** with retain_grad.  Backward computations are not themselves recorded,
** unless create_graph asks for it: then each op's backward_graph computes
** the gradients with recorded fn_* ops (PyTorch's create_graph=True), and
** x.grad can be differentiated again.
**
** Example (C):  y = fn_unary(OP_RELU, x); L = fn_reduce_all(OP_SUM, y);
**               ag_backward(L, NULL, NULL);   -> x->grad = relu'(x)
*/
#ifndef NNCALC_AUTOGRAD_H
#define NNCALC_AUTOGRAD_H

#include <assert.h>
#include <stddef.h>

#include "optable.h"
#include "tensor.h"

typedef struct Node Node;

/* Computes the gradient of each input from gout (the gradient of the
** node's output): gin[i] gets a new tensor shaped like input i, or stays
** NULL when that input needs none.  Returns an nn_status. */
typedef int (*BackwardFn)(Node *n, const Tensor *gout, Tensor **gin);

/* ---- op descriptors: the rows of the op tables ---------------------------
** Every graph op is one row of its family's table (fn_elem.c: unary,
** binary, with-a-number; fn_reduce.c; fn_matmul.c; fn_shape.c;
** fn_layers.c), written with designated initializers indexed by the
** family's enum and closed by OP_TABLE_END (optable.h), which fails to
** compile when the enum has an op without a row (anywhere in the enum, not
** only at its end).  How to write a row, and a create_graph backward, is told at the
** top of fn_elem.c. */
typedef struct OpDesc {
  const char *name;        /* "relu", "mm", ... (also names nodes: relu#3) */
  int arity;               /* inputs it records (the most; OP_VARIADIC: any) */
  /* The gradient with the kernels of ops*.c: required, fast, never
  ** recorded (backward runs it with recording off). */
  BackwardFn backward;
  /* The same gradient computed with fn_* ops, so that under
  ** backward{create_graph=true} the gradient is itself a graph that can be
  ** differentiated again.  It may be the same function as `backward` when
  ** that one already uses only fn_* ops.  NULL: the op is first-order only,
  ** and `first_order` says why (create_graph through it is refused). */
  BackwardFn backward_graph;
  const char *first_order;
  /* Optional: why this node's values have no create_graph backward (prod
  ** at a zero element), or NULL; asked before a create_graph pass starts,
  ** so that the refusal changes nothing. */
  const char *(*first_order_at)(const Node *n);
  /* The chain-rule step for each input, in the notation of a homework
  ** sheet: %o stands for the output's name, %0 %1 for the inputs', %c for
  ** the op's number (see `number`), e.g. "dL/d%0 = dL/d%o · relu'(%0)".
  ** Printed by backward{trace=true}.  NULL where an input has no gradient. */
  const char *rule[3];
  /* The local derivative d(out)/d(input i) as a tensor to show beside the
  ** rule (relu'(a3) = 1), or NULL where the rule needs none.  Optional. */
  Tensor *(*local)(Node *n, int i);
  /* The number %c in the rules (an exponent, a slope); NULL: none. */
  double (*number)(const Node *n);
  /* sizeof the settings struct the op's nodes carry (0: none); see
  ** ag_params. */
  size_t params_size;
  /* 1: the backward reads only shapes and positions, never the inputs'
  ** values (views, cat, index_select), so a later in-place write into an
  ** input cannot make it wrong and the version check skips it. */
  int shape_only;
} OpDesc;

#define OP_VARIADIC (-1)

#define NODE_INLINE_IN 3
/* The largest settings struct a node carries (an IndexSpec is the largest). */
#define NODE_PARAMS_MAX 192

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
  /* The op's settings (a dim, an exponent, a convolution's strides ...),
  ** one struct copied in when the node is recorded, as ggml's op_params;
  ** read back with AG_PARAMS(n, TheStruct). */
  union { int64_t i; double d; void *p; unsigned char bytes[NODE_PARAMS_MAX]; } params;
  int used;                /* backward went through it without retain_graph */
  char *site;              /* "file:line" of creation (detect_anomaly) */
  /* backward bookkeeping */
  Tensor *gout;            /* gradient of out, accumulated during backward */
  /* gout as the last backward left it, kept for graph pictures (not a
  ** .grad: a1.grad stays nil) when the graph was small; see AG_KEEP_NODES */
  Tensor *kept_grad;
  int mark;
};

/* A backward through at most this many nodes keeps each node's gradient
** (of at most AG_KEEP_VALUES values) in kept_grad, so that a picture drawn
** afterwards shows dL/da1 on a1, as micrograd's draw_dot does.  Bigger
** graphs (training loops over real networks) keep nothing. */
#define AG_KEEP_NODES 64
#define AG_KEEP_VALUES 65536

/* The node's settings as the struct its op declared (the size must be the
** op's params_size: a mismatch is our bug, and asserts). */
const void *ag_params(const Node *n, size_t size);
#define AG_PARAMS(n, T) ((const T *)ag_params((n), sizeof(T)))

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
/* Copies the settings struct (op->params_size bytes) into the node. */
void ag_set_params(Node *n, const void *params, size_t size);
void ag_set_site(Node *n, const char *site);

/* In a backward function: whether g, the node's upstream gradient, may be
** overwritten and returned as (the storage of) a gradient of its inputs.
** True only for a gradient the pass holds alone and will not show again
** (no trace, no retain_grad, no grad(), no create_graph, not kept for a
** picture), contiguous: an elementwise backward then needs no new tensor,
** and one memory stream fewer. */
int ag_reusable(const Tensor *g);

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
  /* Record the backward pass itself (every op's backward_graph), so the
  ** gradients can be differentiated again; implies retain_graph.  Refused
  ** before anything changes when the graph has a first-order-only op. */
  int create_graph;
  /* grad(): when ninputs > 0, the gradients of root with respect to
  ** inputs[0..ninputs-1] (leaves or not) go to grads[i] (new references;
  ** zeros for an input root does not depend on) and no .grad is touched. */
  int ninputs;
  Tensor *const *inputs;
  Tensor **grads;
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
