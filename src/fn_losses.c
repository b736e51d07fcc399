/*
** fn_losses.c — the losses of losses.h as graph nodes, each with its
** create_graph backward: dl/dx written with fn_* ops (softmax(x)·Σt − t for
** cross entropy ...) times the upstream gradient.  The table's rows are
** described at the top of fn_elem.c.
*/
#include "fn_layers.h"

static const OpDesc loss_table[LOSS_COUNT];

/* ======================================================================
** Losses (inputs: the prediction, and the target when it can carry a gradient)
** ====================================================================== */

typedef struct LossParams {
  int target_probs;
  Reduction red;
} LossParams;

static LossKind loss_kind(const Node *n) { return (LossKind)(n->op - loss_table); }

static int loss_backward_node(Node *n, const Tensor *g, Tensor **gin) {
  const LossParams *p = AG_PARAMS(n, LossParams);
  Tensor *gt = NULL;
  int rc = loss_backward(loss_kind(n), n->in[0], n->nin > 1 ? n->in[1] : n->saved,
                         p->target_probs, p->red, g, &gin[0],
                         n->nin > 1 && n->in[1]->requires_grad ? &gt : NULL);
  if (rc == NN_OK && n->nin > 1) gin[1] = gt;
  else tensor_release(gt);
  if (!n->in[0]->requires_grad) { tensor_release(gin[0]); gin[0] = NULL; }
  return rc;
}

/* The upstream gradient as a factor of dl/dx: g itself per element (or per
** sample, unsqueezed against the classes) without reduction, g/n for the
** mean, g for the sum. */
static Tensor *loss_upstream(const Node *n, const Tensor *g, int64_t count, int per_row) {
  const LossParams *p = AG_PARAMS(n, LossParams);
  if (p->red == RED_MEAN) return fn_binary_scalar(OP_DIV, (Tensor *)g, (double)count, 0);
  if (p->red == RED_NONE && per_row && g->ndim == 1) return fn_unsqueeze((Tensor *)g, 1);
  return fx_keep(g);
}

static double sign_of(double v) { return (v > 0) - (v < 0); }

/* The same gradients from fn_* ops: dl/dx as a graph, times the upstream. */
static int loss_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  const LossParams *p = AG_PARAMS(n, LossParams);
  Tensor *x = n->in[0], *t = n->nin > 1 ? n->in[1] : n->saved, *d;
  int64_t count = tensor_numel(x);
  switch (loss_kind(n)) {
    case LOSS_MSE: d = fx_num(OP_MUL, fn_binary(OP_SUB, x, t), 2.0, 0); break;
    case LOSS_L1: {   /* sign(x - t): flat */
      Tensor *diff = op_binary(OP_SUB, x, t);
      d = diff ? op_map(diff, sign_of) : NULL;
      tensor_release(diff);
      break;
    }
    case LOSS_BCE:   /* (x - t) / (x (1 - x)) */
      d = fx_bin(OP_DIV, fn_binary(OP_SUB, x, t),
                 fx_bin(OP_MUL, fx_keep(x), fn_binary_scalar(OP_SUB, x, 1.0, 1)));
      break;
    case LOSS_BCE_LOGITS: d = fx_bin(OP_SUB, fn_unary(OP_SIGMOID, x), fx_keep(t)); break;
    default: {   /* cross entropy: softmax(x)·Σt − t;  nll: −t (t one-hot or probabilities) */
      Tensor *one = tensor_scalar(1.0), *negt = NULL, *tt;
      int rc = one ? loss_backward(LOSS_NLL, x, t, p->target_probs, RED_SUM, one, &negt, NULL)
                   : nn_errcode();
      tensor_release(one);
      if (rc != NN_OK) return rc;
      count = x->ndim == 2 ? x->size[0] : 1;
      if (loss_kind(n) == LOSS_NLL) { d = negt; break; }
      tt = op_reduce(OP_SUM, negt, x->ndim - 1, 1);   /* −Σt per row */
      d = fx_bin(OP_ADD, fx_bin(OP_MUL, fn_softmax(x, x->ndim - 1), fx_num(OP_MUL, tt, -1.0, 0)),
                 negt);
    }
  }
  if (d == NULL) return nn_errcode();
  gin[0] = fx_bin(OP_MUL, d, loss_upstream(n, g, count, loss_kind(n) == LOSS_CROSS_ENTROPY || loss_kind(n) == LOSS_NLL));
  if (gin[0] == NULL) return nn_errcode();
  if (n->nin > 1 && n->in[1]->requires_grad) {   /* mse, l1: dl/dt = −dl/dx */
    if ((gin[1] = fn_unary(OP_NEG, gin[0])) == NULL) return nn_errcode();
  }
  if (!x->requires_grad) { tensor_release(gin[0]); gin[0] = NULL; }
  return NN_OK;
}

Tensor *fn_loss(LossKind k, Tensor *x, Tensor *target, int target_probs, Reduction red) {
  /* a regression target may be computed (and so carry a gradient); class
  ** indices and BCE targets are data, kept aside in `saved` */
  int target_is_input = k == LOSS_MSE || k == LOSS_L1;
  Tensor *in[2], *y = loss_forward(k, x, target, target_probs, red);
  Node *n;
  LossParams p;
  in[0] = x;
  in[1] = target;
  p.target_probs = target_probs;
  p.red = red;
  y = fn_link(y, &loss_table[k], target_is_input ? 2 : 1, in, &p, &n);
  if (n != NULL && !target_is_input) {
    n->saved = tensor_clone(target);
    if (n->saved == NULL) { tensor_release(y); y = NULL; }
  }
  return y;
}

#define LOSS(nm, r0, r1)                                                       \
  { .name = nm, .arity = 2, .backward = loss_backward_node,                   \
    .backward_graph = loss_backward_graph, .params_size = sizeof(LossParams), \
    .rule = { r0, r1 } }

OP_TABLE_BEGIN(loss_table);
static const OpDesc loss_table[] = {
  OP_ROW(LOSS_MSE) = LOSS("mse_loss", "dL/d%0 = dL/d%o · 2(%0 − %1) (/n for the mean)", "dL/d%1 = −dL/d%0"),
  OP_ROW(LOSS_L1) = LOSS("l1_loss", "dL/d%0 = dL/d%o · sign(%0 − %1) (/n for the mean)", "dL/d%1 = −dL/d%0"),
  OP_ROW(LOSS_BCE) = LOSS("binary_cross_entropy", "dL/d%0 = dL/d%o · (%0 − t) / (%0(1 − %0))", NULL),
  OP_ROW(LOSS_BCE_LOGITS) = LOSS("binary_cross_entropy_with_logits", "dL/d%0 = dL/d%o · (σ(%0) − t)", NULL),
  OP_ROW(LOSS_CROSS_ENTROPY) = LOSS("cross_entropy",
    "dL/d%0 = dL/d%o · (softmax(%0) − onehot(target)) (/N for the mean)", NULL),
  OP_ROW(LOSS_NLL) = LOSS("nll_loss",
    "dL/d%0 = −dL/d%o at the target class, 0 elsewhere (/N for the mean)", NULL),
};
OP_TABLE_END(loss_table, LOSS_COUNT);

const OpDesc *fn_loss_desc(LossKind k) { return &loss_table[k]; }
