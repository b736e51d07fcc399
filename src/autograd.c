/*
** autograd.c — the graph of recorded ops and the backward pass.
** The ops themselves, each forward next to its backward, are in
** functions.c; this file only builds, walks and frees the graph.
*/
#include "autograd.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "functions.h"
#include "ops.h"
#include "pool.h"

int ag_grad_enabled = 1;
int ag_anomaly = 0;
static int64_t node_counter = 0;
static int64_t live_nodes = 0;
static Pool node_pool = {NULL, 0, 4096};

int64_t ag_live_nodes(void) { return live_nodes; }

/* ======================================================================
** Freeing: iterative, so that a graph thousands of ops deep (a long
** training loop) does not recurse thousands of frames deep.
** ====================================================================== */

typedef struct NodeList { Node **v; int n, cap; } NodeList;

static Node **pending = NULL;
static int npending = 0, cap_pending = 0, draining = 0;

static void node_free(Node *n) {
  int i;
  for (i = 0; i < n->nin; i++) tensor_release(n->in[i]);
  if (n->in != n->inl) {
    free(n->in);
    free(n->version);
  }
  tensor_release(n->saved);
  tensor_release(n->gout);
  tensor_release(n->kept_grad);
  free(n->site);
  pool_put(&node_pool, n);
  live_nodes--;
}

void node_retain(Node *n) { n->refcount++; }

void node_release(Node *n) {
  if (n == NULL || --n->refcount > 0) return;
  if (npending == cap_pending) {
    int cap = cap_pending ? 2 * cap_pending : 64;
    Node **grown = realloc(pending, (size_t)cap * sizeof *grown);
    if (grown == NULL) { node_free(n); return; }   /* recurse rather than leak */
    pending = grown;
    cap_pending = cap;
  }
  pending[npending++] = n;
  if (draining) return;
  draining = 1;
  while (npending > 0) node_free(pending[--npending]);
  draining = 0;
}

static void tensor_free_ag(Tensor *t) {
  Node *n = t->node;
  t->node = NULL;
  if (n != NULL) {
    n->out = NULL;
    node_release(n);
  }
  tensor_release(t->grad);
  t->grad = NULL;
  free(t->name);
  t->name = NULL;
}

static int topo_sort(Node *root, NodeList *order);

/* A tensor whose .grad was recorded (create_graph) is often an input of
** that very graph (x.grad = 3x² holds x): when the graph's references are
** all that is left of it, the user can no longer reach x, so its .grad is
** dropped, which frees both.  Only such tensors pay for the walk. */
static void tensor_unref_ag(Tensor *t) {
  NodeList order = {0};
  int64_t held = 0;
  int k, i;
  if (topo_sort(t->grad->node, &order) != NN_OK) { free(order.v); return; }
  for (k = 0; k < order.n; k++) {
    for (i = 0; i < order.v[k]->nin; i++) held += order.v[k]->in[i] == t;
    held += order.v[k]->saved == t;
  }
  free(order.v);
  if (held == t->refcount) {
    Tensor *g = t->grad;
    t->grad = NULL;
    tensor_release(g);   /* may free t: touch nothing after */
  }
}

void ag_init(void) {
  tensor_ag_free = tensor_free_ag;
  tensor_ag_unref = tensor_unref_ag;
}

/* ======================================================================
** Recording
** ====================================================================== */

int ag_needs_graph(int n, Tensor *const *in) {
  int i;
  if (!ag_grad_enabled) return 0;
  for (i = 0; i < n; i++)
    if (in[i] != NULL && in[i]->requires_grad) return 1;
  return 0;
}

Node *ag_record(Tensor *out, const OpDesc *op, int n, Tensor *const *in) {
  Node *node = pool_get(&node_pool, sizeof *node);
  int i;
  if (node == NULL) return nn_fail(NN_ENOMEM, "out of memory"), NULL;
  memset(node, 0, sizeof *node);
  if (n <= NODE_INLINE_IN) {
    node->in = node->inl;
    node->version = node->inl_version;
  } else {
    node->in = malloc((size_t)n * sizeof *node->in);
    node->version = malloc((size_t)n * sizeof *node->version);
    if (node->in == NULL || node->version == NULL) {
      free(node->in);
      free(node->version);
      pool_put(&node_pool, node);
      return nn_fail(NN_ENOMEM, "out of memory"), NULL;
    }
  }
  node->op = op;
  node->refcount = 1;
  node->id = ++node_counter;
  node->nin = n;
  for (i = 0; i < n; i++) {
    node->in[i] = tensor_retain(in[i]);
    node->version[i] = in[i]->storage->version;
  }
  node->out = out;
  out->node = node;
  out->requires_grad = 1;
  live_nodes++;
  return node;
}

void ag_set_params(Node *n, const void *params, size_t size) {
  assert(size == n->op->params_size && size <= sizeof n->params.bytes);
  memcpy(n->params.bytes, params, size);
}

const void *ag_params(const Node *n, size_t size) {
  assert(size == n->op->params_size);
  (void)size;
  return n->params.bytes;
}

void ag_set_site(Node *n, const char *site) {
  free(n->site);
  n->site = site ? strdup(site) : NULL;
}

int ag_set_requires_grad(Tensor *t, int on) {
  if (t->node != NULL)
    return nn_fail(NN_EARG, "only leaf tensors can be marked; this one was computed "
                   "by %s#%lld (use :detach() for a new leaf)",
                   t->node->op->name, (long long)t->node->id);
  t->requires_grad = (unsigned char)(on != 0);
  return NN_OK;
}

int ag_set_name(Tensor *t, const char *name) {
  char *copy = name ? strdup(name) : NULL;
  if (name != NULL && copy == NULL) return nn_fail(NN_ENOMEM, "out of memory");
  free(t->name);
  t->name = copy;
  return NN_OK;
}

void ag_zero_grad(Tensor *t) {
  if (t->grad == NULL) return;
  if (t->grad->node != NULL) {   /* a recorded gradient is never written into */
    Tensor *z = op_full(t->ndim, t->size, 0.0), *old = t->grad;
    if (z == NULL) return;
    t->grad = z;
    tensor_release(old);
    return;
  }
  tensor_fill(t->grad, 0.0);
}

/* ======================================================================
** Topological order
** ====================================================================== */

static int push(NodeList *l, Node *n) {
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 32;
    Node **grown = realloc(l->v, (size_t)cap * sizeof *grown);
    if (grown == NULL) return nn_fail(NN_ENOMEM, "out of memory");
    l->v = grown;
    l->cap = cap;
  }
  l->v[l->n++] = n;
  return NN_OK;
}

/* Post-order DFS from root without recursion: a node is emitted after all
** the nodes it depends on, so the list is in forward order. */
static int topo_sort(Node *root, NodeList *order) {
  static int generation = 0;
  NodeList stack = {0};
  int gen = ++generation, rc = NN_OK;
  /* mark: gen = visited, -gen = emitted */
  root->mark = gen;
  if ((rc = push(&stack, root)) != NN_OK) return rc;
  while (stack.n > 0 && rc == NN_OK) {
    Node *n = stack.v[stack.n - 1];
    int i, pushed = 0;
    for (i = 0; i < n->nin; i++) {
      Node *c = n->in[i]->node;
      if (c != NULL && c->mark != gen && c->mark != -gen) {
        c->mark = gen;
        if ((rc = push(&stack, c)) != NN_OK) break;
        pushed = 1;
        break;
      }
    }
    if (!pushed && rc == NN_OK) {
      stack.n--;
      n->mark = -gen;
      rc = push(order, n);
    }
  }
  free(stack.v);
  return rc;
}

int ag_collect(Tensor *root, Node ***nodes, int *n) {
  NodeList order = {0};
  int i, rc;
  *nodes = NULL;
  *n = 0;
  if (root->node == NULL) return NN_OK;
  if ((rc = topo_sort(root->node, &order)) != NN_OK) {
    free(order.v);
    return rc;
  }
  for (i = 0; i < order.n; i++) node_retain(order.v[i]);
  *nodes = order.v;
  *n = order.n;
  return NN_OK;
}

/* ======================================================================
** Backward
** ====================================================================== */

/* *dst += g (g is borrowed; *dst is created when empty).  Under
** create_graph (recording on) the sum is a recorded op and a recorded
** gradient is kept as it is; a recorded *dst is never written in place. */
static int accumulate(Tensor **dst, Tensor *g) {
  Tensor *ops[2];
  TensorIter it;
  int64_t i;
  if (*dst == NULL && ag_grad_enabled && g->requires_grad) {
    *dst = g->node != NULL ? tensor_retain(g) : fn_clone(g);
    return *dst ? NN_OK : nn_errcode();
  }
  if (*dst != NULL && (ag_grad_enabled || (*dst)->node != NULL)) {
    Tensor *sum = fn_binary(OP_ADD, *dst, g);
    if (sum == NULL) return nn_errcode();
    tensor_release(*dst);
    *dst = sum;
    return NN_OK;
  }
  if (*dst == NULL) {
    /* a gradient nobody else holds is adopted rather than copied */
    if (g->refcount == 1 && g->storage->refcount == 1 && g->node == NULL &&
        tensor_is_contiguous(g)) {
      *dst = tensor_retain(g);
      return NN_OK;
    }
    *dst = tensor_clone(g);
    return *dst ? NN_OK : nn_errcode();
  }
  ops[0] = *dst;
  ops[1] = g;
  tensor_iter_init(&it, 2, ops);
  while (tensor_iter_next(&it)) {
    double *d = it.ptr[0], *s = it.ptr[1];
    for (i = 0; i < it.inner; i++) d[i * it.istride[0]] += s[i * it.istride[1]];
  }
  return NN_OK;
}

/* Each backward scans every leaf's .grad, so these are blocked scans that
** vectorise (on the bits: a double is zero when all but its sign bit are
** clear, and finite when its exponent bits are not all set), with one
** exit test per block. */
#define SCAN_BLOCK 512
#define EXP_BITS 0x7ff0000000000000ULL

static int scan_bits(const Tensor *t, int finite) {
  Tensor *ops[1];
  TensorIter it;
  int64_t i, j;
  int ok = 1;
  ops[0] = (Tensor *)t;
  tensor_iter_init(&it, 1, ops);
  while (ok && tensor_iter_next(&it)) {
    const double *d = it.ptr[0];
    int64_t s = it.istride[0];
    for (i = 0; i < it.inner && ok; i += SCAN_BLOCK) {
      int64_t e = it.inner - i < SCAN_BLOCK ? it.inner : i + SCAN_BLOCK;
      uint64_t any = 0;
      for (j = i; j < e; j++) {
        uint64_t u;
        memcpy(&u, d + j * s, sizeof u);
        any |= finite ? (uint64_t)((u & EXP_BITS) == EXP_BITS) : u << 1;
      }
      ok = any == 0;
    }
  }
  return ok;
}

static int all_zero(const Tensor *t) { return scan_bits(t, 0); }
static int all_finite(const Tensor *t) { return scan_bits(t, 1); }

static const char *label(const Tensor *t, char *buf, size_t n) {
  if (t->name != NULL) return t->name;
  if (t->node != NULL) {
    snprintf(buf, n, "%s#%lld", t->node->op->name, (long long)t->node->id);
    return buf;
  }
  return "a leaf";
}

/* Everything that would make the pass wrong is checked before any
** gradient is touched, so a refused backward changes nothing. */
static int check_graph(const NodeList *order, int create_graph) {
  int k, i;
  char b1[64];
  for (k = 0; k < order->n; k++) {
    Node *n = order->v[k];
    const char *why = !create_graph ? NULL
                      : n->op->backward_graph == NULL
                          ? (n->op->first_order ? n->op->first_order : "no create_graph backward")
                          : n->op->first_order_at ? n->op->first_order_at(n) : NULL;
    if (why != NULL)
      return nn_fail(NN_EARG, "create_graph: %s#%lld has no second derivative (%s): its gradient "
                     "cannot be differentiated again; backward without create_graph works",
                     n->op->name, (long long)n->id, why);
    if (n->used)
      return nn_fail(NN_EARG, "the graph through %s#%lld was already used by a "
                     "backward pass; recompute the forward pass, or call backward "
                     "with {retain_graph=true} the first time to go through it again",
                     n->op->name, (long long)n->id);
    for (i = 0; i < n->nin && !n->op->shape_only; i++)
      if (n->in[i]->storage->version != n->version[i])
        return nn_fail(NN_EARG, "%s (input %d of %s#%lld) was modified in place "
                       "after it was used; its old value is needed for backward: "
                       "recompute the forward pass",
                       label(n->in[i], b1, sizeof b1), i + 1, n->op->name,
                       (long long)n->id);
  }
  return NN_OK;
}

static int record_step(AgOptions *opt, Node *n, Tensor **gin) {
  AgStep *s, *grown;
  int i;
  grown = realloc(opt->steps, (size_t)(opt->nsteps + 1) * sizeof *grown);
  if (grown == NULL) return nn_fail(NN_ENOMEM, "out of memory");
  opt->steps = grown;
  s = &opt->steps[opt->nsteps];
  s->gin = calloc((size_t)n->nin, sizeof *s->gin);
  s->accumulated = calloc((size_t)n->nin, 1);
  if (s->gin == NULL || s->accumulated == NULL) {
    free(s->gin);
    free(s->accumulated);
    return nn_fail(NN_ENOMEM, "out of memory");
  }
  opt->nsteps++;
  node_retain(n);
  s->node = n;
  s->gout = tensor_retain(n->gout);
  for (i = 0; i < n->nin; i++) {
    s->gin[i] = gin[i] ? tensor_retain(gin[i]) : NULL;
  }
  return NN_OK;
}

void ag_free_steps(AgOptions *opt) {
  int k, i;
  for (k = 0; k < opt->nsteps; k++) {
    AgStep *s = &opt->steps[k];
    for (i = 0; i < s->node->nin; i++) tensor_release(s->gin[i]);
    free(s->gin);
    free(s->accumulated);
    tensor_release(s->gout);
    node_release(s->node);
  }
  free(opt->steps);
  opt->steps = NULL;
  opt->nsteps = 0;
}

/* Before a pass, each leaf notes whether its .grad already held something
** (mark 2·pass) or not (mark −pass); the first delivery to a noted leaf
** counts it (mark 2·pass+1), so x*x warns once, and a fresh leaf never
** warns.  A leaf is looked at once per pass however many ops use it (a
** recurrent layer's W_hh is an input of every time step). */
static int64_t pass_id = 0;

static void note_leaf(Tensor *t) {
  if (t->node != NULL || !t->requires_grad || t->ag_mark / 2 == pass_id || t->ag_mark == -pass_id) return;
  t->ag_mark = t->grad != NULL && !all_zero(t->grad) ? 2 * pass_id : -pass_id;
}

/* Hands the gradient of one input to where it belongs: the producing
** node's gout, or the leaf's .grad (+=).  Sets *acc for a leaf whose
** gradient was already non-zero before this pass. */
static int deliver(Tensor *input, Tensor *g, char *acc, AgOptions *opt) {
  if (input->node != NULL) return accumulate(&input->node->gout, g);
  if (!input->requires_grad) return NN_OK;
  if (opt != NULL && opt->ninputs > 0) {   /* grad(): only the inputs asked for */
    int i;
    for (i = 0; i < opt->ninputs; i++)
      if (opt->inputs[i] == input) return accumulate(&opt->grads[i], g);
    return NN_OK;
  }
  if (input->ag_mark == 2 * pass_id || input->ag_mark == 2 * pass_id + 1) {
    *acc = 1;
    if (input->ag_mark == 2 * pass_id && opt != NULL) {
      input->ag_mark = 2 * pass_id + 1;
      if (opt->accumulated_leaves++ == 0) opt->first_accumulated = input;
    }
  }
  return accumulate(&input->grad, g);
}

/* The upstream gradient that the backward function now running may reuse
** (ag_reusable), or NULL. */
static const Tensor *spare_gout = NULL;

int ag_reusable(const Tensor *g) {
  return g != NULL && g == spare_gout && g->refcount == 1 && g->storage->refcount == 1 &&
         tensor_is_contiguous(g);
}

/* Whether n's upstream gradient is kept after the pass, for graph() to
** draw (small graphs only, see AG_KEEP_NODES). */
static int keeps_gout(const NodeList *order, const Node *n) {
  return order->n <= AG_KEEP_NODES && n->gout != NULL &&
         tensor_numel(n->gout) <= AG_KEEP_VALUES;
}

/* Runs n's backward and delivers its input gradients.  With `spent`, n's
** upstream gradient is not needed after the backward function (nothing
** records, retains or keeps it): it is released before the delivery, so
** a training step's working set is the gradients in flight rather than
** all of them, and the backward function may reuse it (ag_reusable). */
static int run_node(Node *n, AgOptions *opt, int spent) {
  Tensor *inl[NODE_INLINE_IN] = {NULL}, **gin = inl;
  char accl[NODE_INLINE_IN] = {0}, *acc = accl;
  int i, rc;
  char b[64];
  if (n->nin > NODE_INLINE_IN) {
    gin = calloc((size_t)n->nin, sizeof *gin);
    acc = calloc((size_t)n->nin, 1);
    if (gin == NULL || acc == NULL) {
      free(gin == inl ? NULL : gin);
      free(acc == accl ? NULL : acc);
      return nn_fail(NN_ENOMEM, "out of memory");
    }
  }
  if (opt != NULL && opt->ninputs > 0) {   /* grad() of an intermediate: its gout is whole now */
    for (i = 0; i < opt->ninputs; i++)
      if (n->out != NULL && opt->inputs[i] == n->out && opt->grads[i] == NULL) {
        opt->grads[i] = tensor_retain(n->gout);
      }
  }
  spent = spent && !(opt != NULL && (opt->record || opt->create_graph || opt->ninputs > 0)) &&
          !(n->out != NULL && n->out->retain_grad);
  spare_gout = spent ? n->gout : NULL;
  rc = (opt != NULL && opt->create_graph ? n->op->backward_graph : n->op->backward)(n, n->gout, gin);
  spare_gout = NULL;
  if (spent) {
    tensor_release(n->gout);
    n->gout = NULL;
  }
  if (rc == NN_OK) rc = nn_check_interrupt();
  /* recorded before delivery: the record's reference keeps accumulate()
  ** from adopting a gradient it would later add into, so the trace shows
  ** each path's own share even when an input is used twice */
  if (rc == NN_OK && opt != NULL && opt->record) rc = record_step(opt, n, gin);
  for (i = 0; i < n->nin && rc == NN_OK; i++) {
    if (gin[i] == NULL || !n->in[i]->requires_grad) continue;
    if (ag_anomaly && !all_finite(gin[i]))
      rc = nn_fail(NN_EARG, "detect_anomaly: the gradient for input %d of %s#%lld "
                   "(%s) has a NaN or Inf%s%s", i + 1, n->op->name, (long long)n->id,
                   label(n->in[i], b, sizeof b), n->site ? "; the op was created at " : "",
                   n->site ? n->site : "");
    else
      rc = deliver(n->in[i], gin[i], &acc[i], opt);
  }
  if (rc == NN_OK && opt != NULL && opt->record)
    memcpy(opt->steps[opt->nsteps - 1].accumulated, acc, (size_t)n->nin);
  /* an intermediate tensor keeps its gradient only when asked to */
  if (rc == NN_OK && n->out != NULL && n->out->retain_grad && !(opt && opt->ninputs > 0))
    rc = accumulate(&n->out->grad, n->gout);   /* += as for leaves */
  for (i = 0; i < n->nin; i++) tensor_release(gin[i]);
  if (gin != inl) { free(gin); free(acc); }
  return rc;
}

/* The upstream gradient shaped like root (recorded under create_graph, so
** a gradient that requires grad stays connected: hvp's backward(v)). */
static Tensor *upstream(Tensor *root, const Tensor *grad, int create_graph) {
  if (grad == NULL) return op_full(root->ndim, root->size, 1.0);
  if (create_graph) return fn_reshape((Tensor *)grad, root->ndim, root->size);
  return tensor_reshape(grad, root->ndim, root->size);
}

/* grad(): zeros for the inputs nothing flowed to; on failure, nothing. */
static int finish_grads(AgOptions *opt, int rc) {
  int i;
  if (opt == NULL || opt->ninputs == 0) return rc;
  for (i = 0; i < opt->ninputs; i++) {
    if (rc != NN_OK) {
      tensor_release(opt->grads[i]);
      opt->grads[i] = NULL;
    } else if (opt->grads[i] == NULL) {
      const Tensor *x = opt->inputs[i];
      if ((opt->grads[i] = op_full(x->ndim, x->size, 0.0)) == NULL) return finish_grads(opt, nn_errcode());
    }
  }
  return rc;
}

int ag_backward(Tensor *root, const Tensor *grad, AgOptions *opt) {
  NodeList order = {0};
  int k, rc, saved_enabled, create = opt != NULL && opt->create_graph;
  char b1[128], b2[128];
  if (!root->requires_grad)
    return nn_fail(NN_EARG, "this tensor does not require grad: mark the inputs "
                   "with :requires_grad() before computing it");
  if (grad == NULL && tensor_numel(root) != 1)
    return nn_fail(NN_ESHAPE, "the tensor has shape %s; backward needs a single value, "
                   "or the upstream gradient as an argument: L:backward(g)",
                   tensor_shape_str(root, b1, sizeof b1));
  /* shaped like root (a 2x3 gradient for a 3x2 root would otherwise be
  ** silently reinterpreted); a single value may come in any single shape */
  if (grad != NULL && !tensor_same_shape(grad, root) &&
      !(tensor_numel(grad) == 1 && tensor_numel(root) == 1))
    return nn_fail(NN_ESHAPE, "the gradient has shape %s but the tensor has shape %s",
                   tensor_shape_str(grad, b1, sizeof b1),
                   tensor_shape_str(root, b2, sizeof b2));
  pass_id++;
  saved_enabled = ag_grad_enabled;
  if (root->node == NULL) {   /* a leaf: its gradient is the upstream one */
    Tensor *one;
    char acc = 0;
    ag_grad_enabled = create;
    one = upstream(root, grad, create);
    note_leaf(root);
    rc = one ? deliver(root, one, &acc, opt) : nn_errcode();
    ag_grad_enabled = saved_enabled;
    tensor_release(one);
    return finish_grads(opt, rc);
  }
  if ((rc = topo_sort(root->node, &order)) != NN_OK) goto done;
  if ((rc = check_graph(&order, create)) != NN_OK) goto done;
  for (k = 0; k < order.n; k++) {
    int i;
    for (i = 0; i < order.v[k]->nin; i++) note_leaf(order.v[k]->in[i]);
  }
  /* reverse of forward order: every consumer before its producer.  The
  ** backward functions call fn_* ops, which record only under create_graph */
  ag_grad_enabled = create;
  root->node->gout = upstream(root, grad, create);
  if (root->node->gout == NULL) rc = nn_errcode();
  for (k = order.n - 1; k >= 0 && rc == NN_OK; k--) {
    Node *n = order.v[k];
    if (n->gout == NULL) continue;   /* no gradient flows through here */
    rc = run_node(n, opt, !keeps_gout(&order, n));
  }
  ag_grad_enabled = saved_enabled;
  if (rc == NN_OK && !(opt && (opt->retain_graph || opt->create_graph)))
    for (k = 0; k < order.n; k++) order.v[k]->used = 1;
done:
  for (k = 0; k < order.n; k++) {
    Node *n = order.v[k];
    tensor_release(n->kept_grad);
    n->kept_grad = NULL;
    if (rc == NN_OK && keeps_gout(&order, n))
      n->kept_grad = n->gout;   /* the reference moves */
    else
      tensor_release(n->gout);
    n->gout = NULL;
  }
  free(order.v);
  return finish_grads(opt, rc);
}
