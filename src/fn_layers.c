/*
** fn_layers.c — the layer primitives and losses as graph nodes: linear,
** leaky ReLU, convolutions, pooling, batch normalization and the losses.
** Images may be C x H x W (one sample) or N x C x H x W; a single image is
** viewed as a batch of one, and the view is part of the graph.
*/
#include <math.h>
#include <string.h>

#include "fn_layers.h"

static const OpDesc layer_table[FN_LAYER_COUNT], loss_table[LOSS_COUNT];

/* ======================================================================
** Linear: y = x Wᵀ + b, x a vector (in) or rows of them (N x in, T x N x in
** ...), W out x in
** ====================================================================== */

static int linear_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *x = n->in[0], *w = n->in[1];
  if (x->requires_grad) {
    gin[0] = x->ndim == 1 ? fn_plain_vm(g, w) : op_mm(g, w);   /* g W */
    if (gin[0] == NULL) return nn_errcode();
  }
  if (w->requires_grad) {
    if (x->ndim == 1) gin[1] = op_outer(g, x);
    else {
      Tensor *gt = tensor_t(g);
      gin[1] = gt ? op_mm(gt, x) : NULL;   /* gᵀ x, summed over the batch */
      tensor_release(gt);
    }
    if (gin[1] == NULL) return nn_errcode();
  }
  if (n->nin > 2 && n->in[2]->requires_grad) {
    gin[2] = x->ndim == 1 ? tensor_clone(g) : op_reduce(OP_SUM, g, 0, 0);
    if (gin[2] == NULL) return nn_errcode();
  }
  return NN_OK;
}


Tensor *fn_plain_vm(const Tensor *v, const Tensor *m) {
  Tensor *mt = tensor_t(m), *r;
  if (mt == NULL) return NULL;
  r = op_mv(mt, v);   /* vᵀ M = Mᵀ v */
  tensor_release(mt);
  return r;
}

/* Any leading dimensions (a sequence T x N x in, a batch of them) are rows,
** as in PyTorch: x is viewed as rows x in and the output viewed back, both
** views part of the graph, so the backward is the 2-D one. */
static Tensor *linear_rows(Tensor *x, Tensor *w, Tensor *b) {
  int64_t rows[2], size[TENSOR_MAXDIM];
  Tensor *x2, *y2, *y;
  int k;
  rows[0] = 1;
  for (k = 0; k < x->ndim - 1; k++) { rows[0] *= x->size[k]; size[k] = x->size[k]; }
  rows[1] = x->size[x->ndim - 1];
  size[x->ndim - 1] = w->size[0];
  if ((x2 = fn_reshape(x, 2, rows)) == NULL) return NULL;
  y2 = fn_linear(x2, w, b);
  tensor_release(x2);
  if (y2 == NULL) return NULL;
  y = fn_reshape(y2, x->ndim, size);
  tensor_release(y2);
  return y;
}

Tensor *fn_linear(Tensor *x, Tensor *w, Tensor *b) {
  Tensor *in[3], *y, *wt;
  char b1[128], b2[128];
  if (w->ndim != 2 || x->ndim < 1 || x->size[x->ndim - 1] != w->size[1]) {
    nn_fail(NN_ESHAPE, "input %s does not fit weight %s (in_features %lld)",
            tensor_shape_str(x, b1, sizeof b1), tensor_shape_str(w, b2, sizeof b2),
            w->ndim == 2 ? (long long)w->size[1] : -1LL);
    return NULL;
  }
  if (b != NULL && (b->ndim != 1 || b->size[0] != w->size[0])) {
    nn_fail(NN_ESHAPE, "bias %s does not fit weight %s (out_features %lld)",
            tensor_shape_str(b, b1, sizeof b1), tensor_shape_str(w, b2, sizeof b2),
            (long long)w->size[0]);
    return NULL;
  }
  if (x->ndim > 2) return linear_rows(x, w, b);
  if ((wt = tensor_t(w)) == NULL) return NULL;
  y = x->ndim == 1 ? op_mv(w, x) : op_mm(x, wt);
  tensor_release(wt);
  if (y != NULL && b != NULL) {
    Tensor *yb = op_binary(OP_ADD, y, b);
    tensor_release(y);
    y = yb;
  }
  in[0] = x; in[1] = w; in[2] = b;
  return fn_link(y, &layer_table[FN_LINEAR], b ? 3 : 2, in, NULL, NULL);
}

/* ======================================================================
** Leaky ReLU: x if x > 0, else slope·x
** ====================================================================== */

typedef struct LeakyParams { double slope; } LeakyParams;

static double leaky_slope(const Node *n) { return AG_PARAMS(n, LeakyParams)->slope; }

static Tensor *leaky_local(Node *n, int i) {
  Tensor *d = tensor_new(n->in[0]->ndim, n->in[0]->size);
  int64_t k, m;
  (void)i;
  if (d == NULL) return NULL;
  m = tensor_numel(d);
  for (k = 0; k < m; k++) d->storage->data[k] = tensor_get_flat(n->in[0], k) > 0 ? 1.0 : leaky_slope(n);
  return d;
}

static int leaky_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *d = leaky_local(n, 0);
  if (d == NULL) return nn_errcode();
  gin[0] = op_binary(OP_MUL, g, d);
  tensor_release(d);
  return gin[0] ? NN_OK : nn_errcode();
}


Tensor *fn_leaky_relu(Tensor *x, double slope) {
  Tensor *y = tensor_new(x->ndim, x->size);
  LeakyParams p;
  int64_t k, m;
  if (y == NULL) return NULL;
  m = tensor_numel(y);
  for (k = 0; k < m; k++) {
    double v = tensor_get_flat(x, k);
    y->storage->data[k] = v > 0 ? v : slope * v;
  }
  p.slope = slope;
  return fn_link(y, &layer_table[FN_LEAKY_RELU], 1, &x, &p, NULL);
}

/* ======================================================================
** Images: C x H x W runs as a batch of one
** ====================================================================== */

/* x as 4-D (a recorded view when it was 3-D); NULL with a message naming
** the expected layout otherwise. */
static Tensor *as_batch(Tensor *x, const char *what) {
  char b[128];
  if (x->ndim == 4) return tensor_retain(x);
  if (x->ndim == 3) return fn_unsqueeze(x, 0);
  nn_fail(NN_ESHAPE, "%s expects an image C x H x W or a batch N x C x H x W, got %s",
          what, tensor_shape_str(x, b, sizeof b));
  return NULL;
}

/* Undoes as_batch on the result. */
static Tensor *unbatch(Tensor *y, const Tensor *x) {
  Tensor *s;
  if (y == NULL || x->ndim == 4) return y;
  s = fn_squeeze(y, 0);
  tensor_release(y);
  return s;
}

/* ======================================================================
** Convolution and its transpose
** ====================================================================== */

static int conv_backward(Node *n, const Tensor *g, Tensor **gin) {
  const Conv2dParams *p = AG_PARAMS(n, Conv2dParams);
  Tensor **gx = n->in[0]->requires_grad ? &gin[0] : NULL;
  Tensor **gw = n->in[1]->requires_grad ? &gin[1] : NULL;
  Tensor **gb = n->nin > 2 && n->in[2]->requires_grad ? &gin[2] : NULL;
  if (n->op == &layer_table[FN_CONV_TRANSPOSE2D])
    return layer_conv_transpose2d_backward(n->in[0], n->in[1], p, g, gx, gw, gb);
  return layer_conv2d_backward(n->in[0], n->in[1], p, g, gx, gw, gb);
}


static Tensor *conv_common(Tensor *x, Tensor *w, Tensor *b, const Conv2dParams *p, int transposed) {
  const char *name = transposed ? "conv_transpose2d" : "conv2d";
  Tensor *xb = as_batch(x, name), *in[3], *y;
  if (xb == NULL) return NULL;
  y = transposed ? layer_conv_transpose2d(xb, w, b, p) : layer_conv2d(xb, w, b, p);
  in[0] = xb; in[1] = w; in[2] = b;
  y = fn_link(y, &layer_table[transposed ? FN_CONV_TRANSPOSE2D : FN_CONV2D], b ? 3 : 2, in, p, NULL);
  tensor_release(xb);
  return unbatch(y, x);
}

Tensor *fn_conv2d(Tensor *x, Tensor *w, Tensor *b, const Conv2dParams *p) {
  return conv_common(x, w, b, p, 0);
}

Tensor *fn_conv_transpose2d(Tensor *x, Tensor *w, Tensor *b, const Conv2dParams *p) {
  return conv_common(x, w, b, p, 1);
}

/* ======================================================================
** Pooling
** ====================================================================== */

static int maxpool_backward(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = layer_maxpool2d_backward(n->in[0], n->saved, g);
  return gin[0] ? NN_OK : nn_errcode();
}

static int avgpool_backward(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = layer_avgpool2d_backward(n->in[0], AG_PARAMS(n, Pool2dParams), g);
  return gin[0] ? NN_OK : nn_errcode();
}

static int adaptive_backward(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = layer_adaptive_avgpool2d_backward(n->in[0], g);
  return gin[0] ? NN_OK : nn_errcode();
}


Tensor *fn_max_pool2d(Tensor *x, const Pool2dParams *p) {
  Tensor *xb = as_batch(x, "max_pool2d"), *arg = NULL, *y;
  Node *n;
  if (xb == NULL) return NULL;
  y = fn_link(layer_maxpool2d(xb, p, &arg), &layer_table[FN_MAX_POOL2D], 1, &xb, p, &n);
  if (n != NULL) n->saved = arg;
  else tensor_release(arg);
  tensor_release(xb);
  return unbatch(y, x);
}

Tensor *fn_avg_pool2d(Tensor *x, const Pool2dParams *p) {
  Tensor *xb = as_batch(x, "avg_pool2d"), *y;
  if (xb == NULL) return NULL;
  y = fn_link(layer_avgpool2d(xb, p), &layer_table[FN_AVG_POOL2D], 1, &xb, p, NULL);
  tensor_release(xb);
  return unbatch(y, x);
}

Tensor *fn_adaptive_avg_pool2d(Tensor *x, int64_t oh, int64_t ow) {
  Tensor *xb = as_batch(x, "adaptive_avg_pool2d"), *y;
  if (xb == NULL) return NULL;
  y = fn_link(layer_adaptive_avgpool2d(xb, oh, ow), &layer_table[FN_ADAPTIVE_AVG_POOL2D], 1, &xb, NULL, NULL);
  tensor_release(xb);
  return unbatch(y, x);
}

/* ======================================================================
** Batch normalization (saved: row 1 the mean, row 2 1/sqrt(var + eps))
** ====================================================================== */

typedef struct BatchNormParams { int training; } BatchNormParams;

static int bn_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *mean = tensor_select(n->saved, 0, 0), *invstd = mean ? tensor_select(n->saved, 0, 1) : NULL;
  Tensor *gamma = n->nin > 1 ? n->in[1] : NULL;
  int rc;
  if (invstd == NULL) { tensor_release(mean); return nn_errcode(); }
  rc = layer_batchnorm_backward(n->in[0], gamma, mean, invstd,
                                AG_PARAMS(n, BatchNormParams)->training, g,
                                n->in[0]->requires_grad ? &gin[0] : NULL,
                                gamma && gamma->requires_grad ? &gin[1] : NULL,
                                n->nin > 2 && n->in[2]->requires_grad ? &gin[2] : NULL);
  tensor_release(mean);
  tensor_release(invstd);
  return rc;
}


Tensor *fn_batch_norm(Tensor *x, Tensor *gamma, Tensor *beta, BatchNormState *s) {
  Tensor *mean = NULL, *invstd = NULL, *in[3], *y;
  Node *n;
  BatchNormParams p;
  y = layer_batchnorm(x, gamma, beta, s, &mean, &invstd);
  in[0] = x; in[1] = gamma; in[2] = beta;
  p.training = s->training;
  y = fn_link(y, &layer_table[FN_BATCH_NORM], gamma ? (beta ? 3 : 2) : 1, in, &p, &n);
  if (n != NULL) {
    Tensor *both[2];
    both[0] = mean;
    both[1] = invstd;
    n->saved = tensor_stack(both, 2, 0);
    if (n->saved == NULL) { tensor_release(y); y = NULL; }
  }
  tensor_release(mean);
  tensor_release(invstd);
  return y;
}

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

/* ======================================================================
** ELU: x if x > 0, else alpha·(eˣ − 1); derivative 1, or alpha·eˣ (so
** alpha at 0, as PyTorch)
** ====================================================================== */

typedef struct EluParams { double alpha; } EluParams;

static double elu_alpha(const Node *n) { return AG_PARAMS(n, EluParams)->alpha; }

static Tensor *elu_local(Node *n, int i) {
  Tensor *d = tensor_new(n->in[0]->ndim, n->in[0]->size);
  int64_t k, m;
  (void)i;
  if (d == NULL) return NULL;
  m = tensor_numel(d);
  for (k = 0; k < m; k++) {
    double v = tensor_get_flat(n->in[0], k);
    d->storage->data[k] = v > 0 ? 1.0 : elu_alpha(n) * exp(v);
  }
  return d;
}

static int elu_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *d = elu_local(n, 0);
  if (d == NULL) return nn_errcode();
  gin[0] = op_binary(OP_MUL, g, d);
  tensor_release(d);
  return gin[0] ? NN_OK : nn_errcode();
}

/* the derivative as where(x > 0, 1, alpha·eˣ), recorded */
static int elu_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *x = n->in[0], *pos = op_binary_scalar(OP_GT, x, 0.0, 0), *one = tensor_scalar(1.0);
  Tensor *neg = fx_num(OP_MUL, fx_un(OP_EXP, fx_keep(x)), elu_alpha(n), 0);
  Tensor *d = pos && one && neg ? fn_where(pos, one, neg) : NULL;
  tensor_release(pos);
  tensor_release(one);
  tensor_release(neg);
  gin[0] = fx_chain(g, d);
  return gin[0] ? NN_OK : nn_errcode();
}

Tensor *fn_elu(Tensor *x, double alpha) {
  Tensor *y = tensor_new(x->ndim, x->size);
  EluParams p;
  int64_t k, m;
  if (y == NULL) return NULL;
  m = tensor_numel(y);
  for (k = 0; k < m; k++) {
    double v = tensor_get_flat(x, k);
    y->storage->data[k] = v > 0 ? v : alpha * expm1(v);
  }
  p.alpha = alpha;
  return fn_link(y, &layer_table[FN_ELU], 1, &x, &p, NULL);
}

/* ======================================================================
** The create_graph backward of linear and leaky ReLU; the tables
** ====================================================================== */

static int linear_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *x = n->in[0], *w = n->in[1], *gg = (Tensor *)g;
  if (x->requires_grad) {
    Tensor *wt = x->ndim == 1 ? fn_t(w) : NULL;
    gin[0] = x->ndim == 1 ? (wt ? fn_mv(wt, gg) : NULL) : fn_mm(gg, w);   /* g W */
    tensor_release(wt);
    if (gin[0] == NULL) return nn_errcode();
  }
  if (w->requires_grad) {
    Tensor *gt = x->ndim == 1 ? NULL : fn_t(gg);
    gin[1] = x->ndim == 1 ? fn_outer(gg, x) : (gt ? fn_mm(gt, x) : NULL);
    tensor_release(gt);
    if (gin[1] == NULL) return nn_errcode();
  }
  if (n->nin > 2 && n->in[2]->requires_grad) {
    gin[2] = x->ndim == 1 ? fx_keep(g) : fn_reduce(OP_SUM, gg, 0, 0);
    if (gin[2] == NULL) return nn_errcode();
  }
  return NN_OK;
}

static int leaky_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = fx_chain(g, leaky_local(n, 0));   /* the slope mask is flat */
  return gin[0] ? NN_OK : nn_errcode();
}

#define FUSED_KERNEL "its backward is a fused C kernel with no second derivative yet"

OP_TABLE_BEGIN(layer_table);
static const OpDesc layer_table[] = {
  OP_ROW(FN_LINEAR) = { .name = "linear", .arity = 3, .backward = linear_backward,
    .backward_graph = linear_backward_graph,
    .rule = { "dL/d%0 = dL/d%o · %1", "dL/d%1 = (dL/d%o)ᵀ · %0",
              "dL/d%2 = dL/d%o (summed over the batch)" } },
  OP_ROW(FN_LEAKY_RELU) = { .name = "leaky_relu", .arity = 1, .backward = leaky_backward,
    .backward_graph = leaky_backward_graph, .local = leaky_local, .number = leaky_slope,
    .params_size = sizeof(LeakyParams), .rule = { "dL/d%0 = dL/d%o · (1 if %0 > 0 else %c)" } },
  OP_ROW(FN_ELU) = { .name = "elu", .arity = 1, .backward = elu_backward,
    .backward_graph = elu_backward_graph, .local = elu_local, .number = elu_alpha,
    .params_size = sizeof(EluParams), .rule = { "dL/d%0 = dL/d%o · (1 if %0 > 0 else %c·exp(%0))" } },
  OP_ROW(FN_CONV2D) = { .name = "conv2d", .arity = 3, .backward = conv_backward,
    .first_order = FUSED_KERNEL, .params_size = sizeof(Conv2dParams),
    .rule = { "dL/d%0 = conv_transpose2d(dL/d%o, %1)", "dL/d%1 = Σ_samples dL/d%o ⋆ %0",
              "dL/d%2 = Σ dL/d%o over samples and positions" } },
  OP_ROW(FN_CONV_TRANSPOSE2D) = { .name = "conv_transpose2d", .arity = 3, .backward = conv_backward,
    .first_order = FUSED_KERNEL, .params_size = sizeof(Conv2dParams),
    .rule = { "dL/d%0 = conv2d(dL/d%o, %1)", "dL/d%1 = Σ_samples %0 ⋆ dL/d%o",
              "dL/d%2 = Σ dL/d%o over samples and positions" } },
  OP_ROW(FN_MAX_POOL2D) = { .name = "max_pool2d", .arity = 1, .backward = maxpool_backward,
    .first_order = FUSED_KERNEL, .params_size = sizeof(Pool2dParams),
    .rule = { "dL/d%0 = dL/d%o at each window's maximum, 0 elsewhere" } },
  OP_ROW(FN_AVG_POOL2D) = { .name = "avg_pool2d", .arity = 1, .backward = avgpool_backward,
    .first_order = FUSED_KERNEL, .params_size = sizeof(Pool2dParams),
    .rule = { "dL/d%0 = dL/d%o shared equally over each window" } },
  OP_ROW(FN_ADAPTIVE_AVG_POOL2D) = { .name = "adaptive_avg_pool2d", .arity = 1,
    .backward = adaptive_backward, .first_order = FUSED_KERNEL,
    .rule = { "dL/d%0 = dL/d%o shared equally over each window" } },
  OP_ROW(FN_BATCH_NORM) = { .name = "batch_norm", .arity = 3, .backward = bn_backward,
    .first_order = FUSED_KERNEL, .params_size = sizeof(BatchNormParams),
    .rule = { "dL/d%0 = %1·σ⁻¹/M · (M·dL/d%o − Σ dL/d%o − x̂ · Σ dL/d%o·x̂)", "dL/d%1 = Σ dL/d%o · x̂",
              "dL/d%2 = Σ dL/d%o" } },
};
OP_TABLE_END(layer_table, FN_LAYER_COUNT);

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

const OpDesc *fn_layer_desc(LayerOp op) { return &layer_table[op]; }
const OpDesc *fn_loss_desc(LossKind k) { return &loss_table[k]; }
