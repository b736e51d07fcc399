/*
** fn_layers.c — the layer primitives and losses as graph nodes: linear,
** leaky ReLU, convolutions, pooling, batch normalization and the losses.
** Images may be C x H x W (one sample) or N x C x H x W; a single image is
** viewed as a batch of one, and the view is part of the graph.
*/
#include <string.h>

#include "fn_layers.h"

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

static const OpDesc linear_desc = {
  "linear", linear_backward,
  { "dL/d%0 = dL/d%o · %1", "dL/d%1 = (dL/d%o)ᵀ · %0", "dL/d%2 = dL/d%o (summed over the batch)" },
  NULL
};

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
  return fn_link(y, &linear_desc, b ? 3 : 2, in, NULL);
}

/* ======================================================================
** Leaky ReLU: x if x > 0, else slope·x
** ====================================================================== */

static Tensor *leaky_local(Node *n, int i) {
  Tensor *d = tensor_new(n->in[0]->ndim, n->in[0]->size);
  int64_t k, m;
  (void)i;
  if (d == NULL) return NULL;
  m = tensor_numel(d);
  for (k = 0; k < m; k++) d->storage->data[k] = tensor_get_flat(n->in[0], k) > 0 ? 1.0 : n->scalar;
  return d;
}

static int leaky_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *d = leaky_local(n, 0);
  if (d == NULL) return nn_errcode();
  gin[0] = op_binary(OP_MUL, g, d);
  tensor_release(d);
  return gin[0] ? NN_OK : nn_errcode();
}

static const OpDesc leaky_desc = {
  "leaky_relu", leaky_backward, { "dL/d%0 = dL/d%o · (1 if %0 > 0 else %c)", NULL, NULL }, leaky_local
};

Tensor *fn_leaky_relu(Tensor *x, double slope) {
  Tensor *y = tensor_new(x->ndim, x->size);
  Node *n;
  int64_t k, m;
  if (y == NULL) return NULL;
  m = tensor_numel(y);
  for (k = 0; k < m; k++) {
    double v = tensor_get_flat(x, k);
    y->storage->data[k] = v > 0 ? v : slope * v;
  }
  y = fn_link(y, &leaky_desc, 1, &x, &n);
  if (n != NULL) n->scalar = slope;
  return y;
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

static void put_conv(Node *n, const Conv2dParams *p) {
  int k;
  for (k = 0; k < 2; k++) {
    n->aux[k] = p->stride[k];
    n->aux[2 + k] = p->padding[k];
    n->aux[4 + k] = p->dilation[k];
    n->aux[6 + k] = p->output_padding[k];
  }
  n->aux[8] = p->groups;
}

static void get_conv(const Node *n, Conv2dParams *p) {
  int k;
  for (k = 0; k < 2; k++) {
    p->stride[k] = n->aux[k];
    p->padding[k] = n->aux[2 + k];
    p->dilation[k] = n->aux[4 + k];
    p->output_padding[k] = n->aux[6 + k];
  }
  p->groups = n->aux[8];
}

/* ======================================================================
** Convolution and its transpose
** ====================================================================== */

static int conv_backward(Node *n, const Tensor *g, Tensor **gin) {
  Conv2dParams p;
  Tensor **gx = n->in[0]->requires_grad ? &gin[0] : NULL;
  Tensor **gw = n->in[1]->requires_grad ? &gin[1] : NULL;
  Tensor **gb = n->nin > 2 && n->in[2]->requires_grad ? &gin[2] : NULL;
  get_conv(n, &p);
  if (n->keepdim)   /* transposed */
    return layer_conv_transpose2d_backward(n->in[0], n->in[1], &p, g, gx, gw, gb);
  return layer_conv2d_backward(n->in[0], n->in[1], &p, g, gx, gw, gb);
}

static const OpDesc conv_desc = {
  "conv2d", conv_backward,
  { "dL/d%0 = conv_transpose2d(dL/d%o, %1)", "dL/d%1 = Σ_samples dL/d%o ⋆ %0",
    "dL/d%2 = Σ dL/d%o over samples and positions" }, NULL
};
static const OpDesc conv_t_desc = {
  "conv_transpose2d", conv_backward,
  { "dL/d%0 = conv2d(dL/d%o, %1)", "dL/d%1 = Σ_samples %0 ⋆ dL/d%o",
    "dL/d%2 = Σ dL/d%o over samples and positions" }, NULL
};

static Tensor *conv_common(Tensor *x, Tensor *w, Tensor *b, const Conv2dParams *p, int transposed) {
  const char *name = transposed ? "conv_transpose2d" : "conv2d";
  Tensor *xb = as_batch(x, name), *in[3], *y;
  Node *n;
  if (xb == NULL) return NULL;
  y = transposed ? layer_conv_transpose2d(xb, w, b, p) : layer_conv2d(xb, w, b, p);
  in[0] = xb; in[1] = w; in[2] = b;
  y = fn_link(y, transposed ? &conv_t_desc : &conv_desc, b ? 3 : 2, in, &n);
  if (n != NULL) {
    put_conv(n, p);
    n->keepdim = transposed;
  }
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

static void put_pool(Node *n, const Pool2dParams *p) {
  int k;
  for (k = 0; k < 2; k++) {
    n->aux[k] = p->kernel[k];
    n->aux[2 + k] = p->stride[k];
    n->aux[4 + k] = p->padding[k];
    n->aux[6 + k] = p->dilation[k];
  }
  n->aux[8] = p->ceil_mode;
  n->aux[9] = p->count_include_pad;
}

static void get_pool(const Node *n, Pool2dParams *p) {
  int k;
  for (k = 0; k < 2; k++) {
    p->kernel[k] = n->aux[k];
    p->stride[k] = n->aux[2 + k];
    p->padding[k] = n->aux[4 + k];
    p->dilation[k] = n->aux[6 + k];
  }
  p->ceil_mode = (int)n->aux[8];
  p->count_include_pad = (int)n->aux[9];
}

static int maxpool_backward(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = layer_maxpool2d_backward(n->in[0], n->saved, g);
  return gin[0] ? NN_OK : nn_errcode();
}

static int avgpool_backward(Node *n, const Tensor *g, Tensor **gin) {
  Pool2dParams p;
  get_pool(n, &p);
  gin[0] = layer_avgpool2d_backward(n->in[0], &p, g);
  return gin[0] ? NN_OK : nn_errcode();
}

static int adaptive_backward(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = layer_adaptive_avgpool2d_backward(n->in[0], g);
  return gin[0] ? NN_OK : nn_errcode();
}

static const OpDesc maxpool_desc = {
  "max_pool2d", maxpool_backward,
  { "dL/d%0 = dL/d%o at each window's maximum, 0 elsewhere", NULL, NULL }, NULL
};
static const OpDesc avgpool_desc = {
  "avg_pool2d", avgpool_backward,
  { "dL/d%0 = dL/d%o shared equally over each window", NULL, NULL }, NULL
};
static const OpDesc adaptive_desc = {
  "adaptive_avg_pool2d", adaptive_backward,
  { "dL/d%0 = dL/d%o shared equally over each window", NULL, NULL }, NULL
};

Tensor *fn_max_pool2d(Tensor *x, const Pool2dParams *p) {
  Tensor *xb = as_batch(x, "max_pool2d"), *arg = NULL, *y;
  Node *n;
  if (xb == NULL) return NULL;
  y = fn_link(layer_maxpool2d(xb, p, &arg), &maxpool_desc, 1, &xb, &n);
  if (n != NULL) {
    put_pool(n, p);
    n->saved = arg;
  } else {
    tensor_release(arg);
  }
  tensor_release(xb);
  return unbatch(y, x);
}

Tensor *fn_avg_pool2d(Tensor *x, const Pool2dParams *p) {
  Tensor *xb = as_batch(x, "avg_pool2d"), *y;
  Node *n;
  if (xb == NULL) return NULL;
  y = fn_link(layer_avgpool2d(xb, p), &avgpool_desc, 1, &xb, &n);
  if (n != NULL) put_pool(n, p);
  tensor_release(xb);
  return unbatch(y, x);
}

Tensor *fn_adaptive_avg_pool2d(Tensor *x, int64_t oh, int64_t ow) {
  Tensor *xb = as_batch(x, "adaptive_avg_pool2d"), *y;
  if (xb == NULL) return NULL;
  y = fn_link(layer_adaptive_avgpool2d(xb, oh, ow), &adaptive_desc, 1, &xb, NULL);
  tensor_release(xb);
  return unbatch(y, x);
}

/* ======================================================================
** Batch normalization (saved: row 1 the mean, row 2 1/sqrt(var + eps))
** ====================================================================== */

static int bn_backward(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *mean = tensor_select(n->saved, 0, 0), *invstd = mean ? tensor_select(n->saved, 0, 1) : NULL;
  Tensor *gamma = n->nin > 1 ? n->in[1] : NULL;
  int rc;
  if (invstd == NULL) { tensor_release(mean); return nn_errcode(); }
  rc = layer_batchnorm_backward(n->in[0], gamma, mean, invstd, n->keepdim, g,
                                n->in[0]->requires_grad ? &gin[0] : NULL,
                                gamma && gamma->requires_grad ? &gin[1] : NULL,
                                n->nin > 2 && n->in[2]->requires_grad ? &gin[2] : NULL);
  tensor_release(mean);
  tensor_release(invstd);
  return rc;
}

static const OpDesc bn_desc = {
  "batch_norm", bn_backward,
  { "dL/d%0 = %1·σ⁻¹/M · (M·dL/d%o − Σ dL/d%o − x̂ · Σ dL/d%o·x̂)", "dL/d%1 = Σ dL/d%o · x̂",
    "dL/d%2 = Σ dL/d%o" }, NULL
};

Tensor *fn_batch_norm(Tensor *x, Tensor *gamma, Tensor *beta, BatchNormState *s) {
  Tensor *mean = NULL, *invstd = NULL, *in[3], *y;
  Node *n;
  y = layer_batchnorm(x, gamma, beta, s, &mean, &invstd);
  in[0] = x; in[1] = gamma; in[2] = beta;
  y = fn_link(y, &bn_desc, gamma ? (beta ? 3 : 2) : 1, in, &n);
  if (n != NULL) {
    Tensor *both[2];
    both[0] = mean;
    both[1] = invstd;
    n->keepdim = s->training;
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

static int loss_backward_node(Node *n, const Tensor *g, Tensor **gin) {
  Tensor *gt = NULL;
  int rc = loss_backward((LossKind)n->aux[0], n->in[0], n->nin > 1 ? n->in[1] : n->saved,
                         (int)n->aux[1], (Reduction)n->aux[2], g, &gin[0],
                         n->nin > 1 && n->in[1]->requires_grad ? &gt : NULL);
  if (rc == NN_OK && n->nin > 1) gin[1] = gt;
  else tensor_release(gt);
  if (!n->in[0]->requires_grad) { tensor_release(gin[0]); gin[0] = NULL; }
  return rc;
}

static const OpDesc loss_desc[LOSS_COUNT] = {
  { "mse_loss", loss_backward_node, { "dL/d%0 = dL/d%o · 2(%0 − %1) (/n for the mean)", "dL/d%1 = −dL/d%0", NULL }, NULL },
  { "l1_loss", loss_backward_node, { "dL/d%0 = dL/d%o · sign(%0 − %1) (/n for the mean)", "dL/d%1 = −dL/d%0", NULL }, NULL },
  { "binary_cross_entropy", loss_backward_node, { "dL/d%0 = dL/d%o · (%0 − t) / (%0(1 − %0))", NULL, NULL }, NULL },
  { "binary_cross_entropy_with_logits", loss_backward_node, { "dL/d%0 = dL/d%o · (σ(%0) − t)", NULL, NULL }, NULL },
  { "cross_entropy", loss_backward_node, { "dL/d%0 = dL/d%o · (softmax(%0) − onehot(target)) (/N for the mean)", NULL, NULL }, NULL },
  { "nll_loss", loss_backward_node, { "dL/d%0 = −dL/d%o at the target class, 0 elsewhere (/N for the mean)", NULL, NULL }, NULL },
};

Tensor *fn_loss(LossKind k, Tensor *x, Tensor *target, int target_probs, Reduction red) {
  /* a regression target may be computed (and so carry a gradient); class
  ** indices and BCE targets are data, kept aside in `saved` */
  int target_is_input = k == LOSS_MSE || k == LOSS_L1;
  Tensor *in[2], *y = loss_forward(k, x, target, target_probs, red);
  Node *n;
  in[0] = x;
  in[1] = target;
  y = fn_link(y, &loss_desc[k], target_is_input ? 2 : 1, in, &n);
  if (n != NULL) {
    n->aux[0] = k;
    n->aux[1] = target_probs;
    n->aux[2] = red;
    if (!target_is_input) n->saved = tensor_clone(target);
    if (!target_is_input && n->saved == NULL) { tensor_release(y); y = NULL; }
  }
  return y;
}
