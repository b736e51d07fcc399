/*
** fn_layers.c — the layer primitives as graph nodes: linear, leaky ReLU,
** convolutions, pooling and batch normalization (the losses are in
** fn_losses.c).
** Images may be C x H x W (one sample) or N x C x H x W; a single image is
** viewed as a batch of one, and the view is part of the graph.
*/
#include <math.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fn_layers.h"

static const OpDesc layer_table[FN_LAYER_COUNT];

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
  Tensor *d = tensor_new(n->in[0]->ndim, n->in[0]->size), *hold;
  const double *x = d ? tensor_rowmajor(n->in[0], &hold) : NULL;
  double slope = leaky_slope(n);
  int64_t k, m;
  (void)i;
  if (x == NULL) {
    tensor_release(d);
    return NULL;
  }
  m = tensor_numel(d);
  for (k = 0; k < m; k++) d->storage->data[k] = x[k] > 0 ? 1.0 : slope;
  tensor_release(hold);
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
  Tensor *y = tensor_new(x->ndim, x->size), *hold;
  const double *xv = y ? tensor_rowmajor(x, &hold) : NULL;
  LeakyParams p;
  int64_t k, m;
  if (xv == NULL) {
    tensor_release(y);
    return NULL;
  }
  m = tensor_numel(y);
  for (k = 0; k < m; k++) y->storage->data[k] = xv[k] > 0 ? xv[k] : slope * xv[k];
  tensor_release(hold);
  p.slope = slope;
  return fn_link(y, &layer_table[FN_LEAKY_RELU], 1, &x, &p, NULL);
}

/* ======================================================================
** Images: C x H x W runs as a batch of one
** ====================================================================== */

/* x as 4-D (a recorded view when it was 3-D); NULL with a message naming
** the expected layout otherwise. */
static Tensor *as_batch(Tensor *x) {
  char b[128];
  if (x->ndim == 4) return tensor_retain(x);
  if (x->ndim == 3) return fn_unsqueeze(x, 0);
  nn_fail(NN_ESHAPE, "the input must be an image C x H x W or a batch N x C x H x W, got %s",
          tensor_shape_str(x, b, sizeof b));
  return NULL;
}

/* A layer's error about the 1 x C x H x W view of a C x H x W image names
** the shape the user gave (1x4x4, not 1x1x4x4). */
static void restate_error(const Tensor *x) {
  char from[128], to[128], msg[512];
  int64_t size[4];
  const char *m = nn_errmsg(), *at;
  int code = nn_errcode();
  size[0] = 1;
  memcpy(size + 1, x->size, 3 * sizeof *size);
  nn_shape_str(from, sizeof from, 4, size);
  tensor_shape_str(x, to, sizeof to);
  for (at = strstr(m, from); at != NULL; at = strstr(at + 1, from))
    if (at == m || !(isdigit((unsigned char)at[-1]) || at[-1] == 'x')) break;
  if (at == NULL) return;
  snprintf(msg, sizeof msg, "%.*s%s%s", (int)(at - m), m, to, at + strlen(from));
  nn_fail(code, "%s", msg);
}

/* Undoes as_batch on the result. */
static Tensor *unbatch(Tensor *y, const Tensor *x) {
  Tensor *s;
  if (y == NULL && x->ndim == 3) restate_error(x);
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
  Tensor *xb = as_batch(x), *in[3], *y;
  if (xb == NULL) return NULL;
  y = transposed ? layer_conv_transpose2d(xb, w, b, p) : layer_conv2d(xb, w, b, p);
  in[0] = xb; in[1] = w; in[2] = b;
  y = fn_link(y, &layer_table[transposed ? FN_CONV_TRANSPOSE2D : FN_CONV2D], b ? 3 : 2, in, p, NULL);
  tensor_release(xb);
  return unbatch(y, x);
}

/* ---- the convolutions' create_graph backward ---------------------------------
** Each gradient of a convolution is a convolution again:
**   conv2d:  dL/dx = conv_transpose2d(g, W) with the output_padding that
**            gives back x's size;  dL/dW = conv2d(xᵀ, gᵀ) with stride and
**            dilation swapped, cut to the kernel (ᵀ: batch and channels
**            swapped, so the batch is summed as the channels are);
**   conv_transpose2d:  dL/dx = conv2d(g, W);  dL/dW = conv2d(gᵀ, xᵀ), swapped
**            and cut the same way;
** dL/db = Σ g over samples and positions.  Both convolutions being ops with
** such a backward, they are differentiable to any order; with groups, each
** group's channels are one such convolution. */

static Tensor *swap01(Tensor *t) {   /* taken */
  Tensor *r = t ? fn_transpose(t, 0, 1) : NULL;
  tensor_release(t);
  return r;
}

/* conv2d(a, b) with stride and dilation swapped and no padding but p's:
** the weight gradient before the cut; a and b are taken. */
static Tensor *weight_grad(Tensor *a, Tensor *b, const Conv2dParams *p, const Tensor *w) {
  Conv2dParams q = *p;
  Tensor *r, *cut;
  int d;
  for (d = 0; d < 2; d++) {
    q.stride[d] = p->dilation[d];
    q.dilation[d] = p->stride[d];
    q.output_padding[d] = 0;
  }
  q.groups = 1;
  r = a && b ? fn_conv2d(a, b, NULL, &q) : NULL;
  tensor_release(a);
  tensor_release(b);
  /* the result is Cin x Cout (conv2d) or Cout x Cin (transposed): W's
  ** layout the other way round in both cases */
  r = swap01(r);
  cut = r ? fn_narrow(r, 2, 0, w->size[2]) : NULL;
  tensor_release(r);
  r = cut ? fn_narrow(cut, 3, 0, w->size[3]) : NULL;
  tensor_release(cut);
  if (r == NULL) return NULL;
  cut = fn_contiguous(r);
  tensor_release(r);
  return cut;
}

/* The input and weight gradients of one group (p->groups is 1); gx or gw
** NULL when not wanted. */
static int conv_grads1(int transposed, Tensor *x, Tensor *w, Tensor *g, const Conv2dParams *p,
                       Tensor **gx, Tensor **gw) {
  if (gx != NULL) {
    Conv2dParams q = *p;
    int d;
    if (transposed) {
      q.output_padding[0] = q.output_padding[1] = 0;
      *gx = fn_conv2d(g, w, NULL, &q);
    } else {   /* the output_padding that maps g's size back to x's */
      for (d = 0; d < 2; d++)
        q.output_padding[d] = x->size[2 + d] - ((g->size[2 + d] - 1) * p->stride[d] - 2 * p->padding[d] +
                                                p->dilation[d] * (w->size[2 + d] - 1) + 1);
      *gx = fn_conv_transpose2d(g, w, NULL, &q);
    }
    if (*gx == NULL) return nn_errcode();
  }
  if (gw != NULL) {
    *gw = transposed ? weight_grad(swap01(fx_keep(g)), swap01(fx_keep(x)), p, w)
                     : weight_grad(swap01(fx_keep(x)), swap01(fx_keep(g)), p, w);
    if (*gw == NULL) return nn_errcode();
  }
  return NN_OK;
}

/* With groups, each group is a convolution of its own channels: the
** gradients group by group, joined along the channels again. */
static int conv_grads_grouped(int transposed, Tensor *x, Tensor *w, Tensor *g, const Conv2dParams *p,
                              Tensor **gx, Tensor **gw) {
  int64_t G = p->groups, cin = x->size[1] / G, cout = g->size[1] / G, k;
  Tensor **px = calloc((size_t)G, sizeof *px), **pw = calloc((size_t)G, sizeof *pw);
  Conv2dParams q = *p;
  int rc = px && pw ? NN_OK : nn_fail(NN_ENOMEM, "out of memory");
  q.groups = 1;
  for (k = 0; k < G && rc == NN_OK; k++) {
    /* W: Cout x Cin/G (conv2d) or Cin x Cout/G (transposed), by group along dim 0 */
    Tensor *xk = fn_narrow(x, 1, k * cin, cin), *gk = xk ? fn_narrow(g, 1, k * cout, cout) : NULL;
    Tensor *wk = gk ? fn_narrow(w, 0, k * (transposed ? cin : cout), transposed ? cin : cout) : NULL;
    rc = wk ? conv_grads1(transposed, xk, wk, gk, &q, gx ? &px[k] : NULL, gw ? &pw[k] : NULL) : nn_errcode();
    tensor_release(xk);
    tensor_release(gk);
    tensor_release(wk);
  }
  if (rc == NN_OK && gx != NULL && (*gx = fn_cat(px, (int)G, 1)) == NULL) rc = nn_errcode();
  if (rc == NN_OK && gw != NULL && (*gw = fn_cat(pw, (int)G, 0)) == NULL) rc = nn_errcode();
  for (k = 0; k < G && px && pw; k++) {
    tensor_release(px[k]);
    tensor_release(pw[k]);
  }
  free(px);
  free(pw);
  return rc;
}

static int conv_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  const Conv2dParams *p = AG_PARAMS(n, Conv2dParams);
  int transposed = n->op == &layer_table[FN_CONV_TRANSPOSE2D], rc;
  Tensor *x = n->in[0], *w = n->in[1], *gg = (Tensor *)g;
  Tensor **gx = x->requires_grad ? &gin[0] : NULL, **gw = w->requires_grad ? &gin[1] : NULL;
  rc = p->groups == 1 ? conv_grads1(transposed, x, w, gg, p, gx, gw)
                      : conv_grads_grouped(transposed, x, w, gg, p, gx, gw);
  if (rc != NN_OK) return rc;
  if (n->nin > 2 && n->in[2]->requires_grad) {
    Tensor *s3 = fn_reduce(OP_SUM, gg, 3, 0), *s2 = s3 ? fn_reduce(OP_SUM, s3, 2, 0) : NULL;
    gin[2] = s2 ? fn_reduce(OP_SUM, s2, 0, 0) : NULL;
    tensor_release(s3);
    tensor_release(s2);
    if (gin[2] == NULL) return nn_errcode();
  }
  return NN_OK;
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

/* ---- the pools' gradients as ops, for create_graph ---------------------------
** A pool is linear in x (max pooling too, once its winners are fixed), so
** its gradient is a fixed linear map of g: Pᵀ g.  Recorded as an op whose
** own gradient is P again (avg, adaptive: the pool itself; max: gathering
** at the winners, whose gradient is scattering back), the pools are
** differentiable to any order; their second derivative in x is 0. */

/* Pᵀ g as a node with input g (x gives the shape only). */
static Tensor *pool_grad_op(LayerOp op, Tensor *g, const Tensor *x, const Pool2dParams *p,
                            const Tensor *argmax) {
  Node *n;
  Tensor *out;
  switch (op) {
    case FN_AVG_POOL2D_GRAD: out = layer_avgpool2d_backward(x, p, g); break;
    case FN_ADAPTIVE_POOL2D_GRAD: out = layer_adaptive_avgpool2d_backward(x, g); break;
    default: out = layer_maxpool2d_backward(x, argmax, g);   /* scatter to the winners */
  }
  out = fn_link(out, &layer_table[op], 1, &g, op == FN_AVG_POOL2D_GRAD ? (const void *)p : NULL, &n);
  if (n != NULL && argmax != NULL && (n->saved = tensor_clone(argmax)) == NULL) {
    tensor_release(out);
    return NULL;
  }
  return out;
}

/* gy[plane, i] = g[plane, argmax[i]] (0 for a window that held no input):
** the adjoint of scattering to the winners, shaped like argmax. */
static Tensor *gather_winners(const Tensor *g, const Tensor *argmax) {
  Tensor *gc = tensor_contiguous(g), *ac = gc ? tensor_contiguous(argmax) : NULL;
  Tensor *out = ac ? tensor_new(4, argmax->size) : NULL;
  int64_t pl, i, planes, hw, out_plane;
  if (out != NULL) {
    planes = argmax->size[0] * argmax->size[1];
    hw = g->size[2] * g->size[3];
    out_plane = argmax->size[2] * argmax->size[3];
    for (pl = 0; pl < planes; pl++)
      for (i = 0; i < out_plane; i++) {
        double a = ac->storage->data[ac->offset + pl * out_plane + i];
        out->storage->data[pl * out_plane + i] =
            a < 0 ? 0.0 : gc->storage->data[gc->offset + pl * hw + (int64_t)a];
      }
  }
  tensor_release(gc);
  tensor_release(ac);
  return out;
}

static int maxpool_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = pool_grad_op(FN_MAX_POOL2D_GRAD, (Tensor *)g, n->in[0], NULL, n->saved);
  return gin[0] ? NN_OK : nn_errcode();
}
static int avgpool_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = pool_grad_op(FN_AVG_POOL2D_GRAD, (Tensor *)g, n->in[0], AG_PARAMS(n, Pool2dParams), NULL);
  return gin[0] ? NN_OK : nn_errcode();
}
static int adaptive_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = pool_grad_op(FN_ADAPTIVE_POOL2D_GRAD, (Tensor *)g, n->in[0], NULL, NULL);
  return gin[0] ? NN_OK : nn_errcode();
}

/* The gradients of the gradient ops: P applied to what comes back. */
static int avg_grad_backward(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = layer_avgpool2d(g, AG_PARAMS(n, Pool2dParams));
  return gin[0] ? NN_OK : nn_errcode();
}
static int avg_grad_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = fn_avg_pool2d((Tensor *)g, AG_PARAMS(n, Pool2dParams));
  return gin[0] ? NN_OK : nn_errcode();
}
static int adaptive_grad_backward(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = layer_adaptive_avgpool2d(g, n->in[0]->size[2], n->in[0]->size[3]);
  return gin[0] ? NN_OK : nn_errcode();
}
static int adaptive_grad_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = fn_adaptive_avg_pool2d((Tensor *)g, n->in[0]->size[2], n->in[0]->size[3]);
  return gin[0] ? NN_OK : nn_errcode();
}
/* scatter's gradient is the gather, and the gather's the scatter */
static int scatter_backward(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = gather_winners(g, n->saved);
  return gin[0] ? NN_OK : nn_errcode();
}
static int scatter_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  Node *m;
  gin[0] = fn_link(gather_winners(g, n->saved), &layer_table[FN_MAX_POOL2D_GATHER], 1,
                   (Tensor *const *)&g, NULL, &m);
  if (m != NULL && (m->saved = tensor_clone(n->saved)) == NULL) {
    tensor_release(gin[0]);
    gin[0] = NULL;
  }
  return gin[0] ? NN_OK : nn_errcode();
}
static int gather_backward(Node *n, const Tensor *g, Tensor **gin) {
  /* scatter into the shape of what was gathered from */
  gin[0] = layer_maxpool2d_backward(n->in[0], n->saved, g);
  return gin[0] ? NN_OK : nn_errcode();
}
static int gather_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  gin[0] = pool_grad_op(FN_MAX_POOL2D_GRAD, (Tensor *)g, n->in[0], NULL, n->saved);
  return gin[0] ? NN_OK : nn_errcode();
}


Tensor *fn_max_pool2d(Tensor *x, const Pool2dParams *p) {
  Tensor *xb = as_batch(x), *arg = NULL, *y;
  Node *n;
  if (xb == NULL) return NULL;
  y = fn_link(layer_maxpool2d(xb, p, &arg), &layer_table[FN_MAX_POOL2D], 1, &xb, p, &n);
  if (n != NULL) n->saved = arg;
  else tensor_release(arg);
  tensor_release(xb);
  return unbatch(y, x);
}

Tensor *fn_avg_pool2d(Tensor *x, const Pool2dParams *p) {
  Tensor *xb = as_batch(x), *y;
  if (xb == NULL) return NULL;
  y = fn_link(layer_avgpool2d(xb, p), &layer_table[FN_AVG_POOL2D], 1, &xb, p, NULL);
  tensor_release(xb);
  return unbatch(y, x);
}

Tensor *fn_adaptive_avg_pool2d(Tensor *x, int64_t oh, int64_t ow) {
  Tensor *xb = as_batch(x), *y;
  if (xb == NULL) return NULL;
  y = fn_link(layer_adaptive_avgpool2d(xb, oh, ow), &layer_table[FN_ADAPTIVE_AVG_POOL2D], 1, &xb, NULL, NULL);
  tensor_release(xb);
  return unbatch(y, x);
}

/* ======================================================================
** Batch normalization (saved: row 1 the mean, row 2 1/sqrt(var + eps))
** ====================================================================== */

typedef struct BatchNormParams {
  int training;
  double eps;
} BatchNormParams;

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


/* t summed (or averaged) over every dim but the channels' (dim 1), from the
** last dim down: kept as 1 x C x 1 ... for broadcasting, or dropped to C.
** t is taken (the fx_* convention of functions.h). */
static Tensor *per_channel(ReduceOp op, Tensor *t, int keep) {
  Tensor *cur = t, *next;
  int d;
  for (d = t ? t->ndim - 1 : -1; d >= 0 && cur != NULL; d--) {
    if (d == 1) continue;
    next = fn_reduce(op, cur, d, keep);
    tensor_release(cur);
    cur = next;
  }
  return cur;
}

/* A channel vector (C, taken) as 1 x C x 1 ... against x. */
static Tensor *as_channels(Tensor *v, const Tensor *x) {
  int64_t size[TENSOR_MAXDIM];
  Tensor *r;
  int d;
  for (d = 0; d < x->ndim; d++) size[d] = d == 1 ? x->size[1] : 1;
  r = v ? fn_reshape(v, x->ndim, size) : NULL;
  tensor_release(v);
  return r;
}

/* The same gradients from fn_* ops: x̂ = (x − μ)·σ⁻¹ with the batch's μ
** and σ as functions of x (training) or the running ones (evaluation),
**     dL/dx = γ σ⁻¹ (g − mean g − x̂ · mean(g x̂))   (training)
**     dL/dx = γ σ⁻¹ g                                (evaluation)
** dL/dγ = Σ g x̂, dL/dβ = Σ g (over everything but the channels). */
static int bn_backward_graph(Node *n, const Tensor *g, Tensor **gin) {
  const BatchNormParams *p = AG_PARAMS(n, BatchNormParams);
  Tensor *x = n->in[0], *gamma = n->nin > 1 ? n->in[1] : NULL;
  Tensor *mu, *is, *xhat, *scale;
  if (p->training) {
    Tensor *xc;
    mu = per_channel(OP_MEAN, fx_keep(x), 1);
    xc = mu ? fn_binary(OP_SUB, x, mu) : NULL;
    is = fx_num(OP_POW, fx_num(OP_ADD, per_channel(OP_MEAN, xc ? fx_sq(fx_keep(xc)) : NULL, 1),
                                p->eps, 0), -0.5, 0);
    xhat = fx_bin(OP_MUL, xc, fx_keep(is));
  } else {   /* the running statistics: constants */
    mu = as_channels(tensor_select(n->saved, 0, 0), x);
    is = as_channels(tensor_select(n->saved, 0, 1), x);
    xhat = mu && is ? fx_bin(OP_MUL, fn_binary(OP_SUB, x, mu), fx_keep(is)) : NULL;
  }
  tensor_release(mu);
  if (xhat == NULL) { tensor_release(is); return nn_errcode(); }
  scale = gamma ? fx_bin(OP_MUL, as_channels(fx_keep(gamma), x), is) : is;   /* γ σ⁻¹ */
  if (x->requires_grad) {
    Tensor *inner = fx_keep(g);
    if (p->training)   /* g − mean g − x̂ · mean(g x̂) */
      inner = fx_bin(OP_SUB, fx_bin(OP_SUB, inner, per_channel(OP_MEAN, fx_keep(g), 1)),
                     fx_bin(OP_MUL, fx_keep(xhat),
                            per_channel(OP_MEAN, fx_bin(OP_MUL, fx_keep(g), fx_keep(xhat)), 1)));
    gin[0] = fx_bin(OP_MUL, fx_keep(scale), inner);
  }
  if (gamma && gamma->requires_grad) gin[1] = per_channel(OP_SUM, fx_bin(OP_MUL, fx_keep(g), fx_keep(xhat)), 0);
  if (n->nin > 2 && n->in[2]->requires_grad) gin[2] = per_channel(OP_SUM, fx_keep(g), 0);
  tensor_release(scale);
  tensor_release(xhat);
  if ((x->requires_grad && gin[0] == NULL) || (gamma && gamma->requires_grad && gin[1] == NULL) ||
      (n->nin > 2 && n->in[2]->requires_grad && gin[2] == NULL))
    return nn_errcode();
  return NN_OK;
}

Tensor *fn_batch_norm(Tensor *x, Tensor *gamma, Tensor *beta, BatchNormState *s) {
  Tensor *mean = NULL, *invstd = NULL, *in[3], *y;
  Node *n;
  BatchNormParams p;
  y = layer_batchnorm(x, gamma, beta, s, &mean, &invstd);
  in[0] = x; in[1] = gamma; in[2] = beta;
  p.training = s->training;
  p.eps = s->eps;
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
** ELU: x if x > 0, else alpha·(eˣ − 1); derivative 1, or alpha·eˣ (so
** alpha at 0, as PyTorch)
** ====================================================================== */

typedef struct EluParams { double alpha; } EluParams;

static double elu_alpha(const Node *n) { return AG_PARAMS(n, EluParams)->alpha; }

static Tensor *elu_local(Node *n, int i) {
  Tensor *d = tensor_new(n->in[0]->ndim, n->in[0]->size), *hold;
  const double *x = d ? tensor_rowmajor(n->in[0], &hold) : NULL;
  double alpha = elu_alpha(n);
  int64_t k, m;
  (void)i;
  if (x == NULL) {
    tensor_release(d);
    return NULL;
  }
  m = tensor_numel(d);
  for (k = 0; k < m; k++) d->storage->data[k] = x[k] > 0 ? 1.0 : alpha * exp(x[k]);
  tensor_release(hold);
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
  Tensor *y = tensor_new(x->ndim, x->size), *hold;
  const double *xv = y ? tensor_rowmajor(x, &hold) : NULL;
  EluParams p;
  int64_t k, m;
  if (xv == NULL) {
    tensor_release(y);
    return NULL;
  }
  m = tensor_numel(y);
  for (k = 0; k < m; k++) y->storage->data[k] = xv[k] > 0 ? xv[k] : alpha * expm1(xv[k]);
  tensor_release(hold);
  p.alpha = alpha;
  return fn_link(y, &layer_table[FN_ELU], 1, &x, &p, NULL);
}

/* ======================================================================
** The create_graph backward of linear and leaky ReLU; the table
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
    .backward_graph = conv_backward_graph, .params_size = sizeof(Conv2dParams),
    .rule = { "dL/d%0 = conv_transpose2d(dL/d%o, %1)", "dL/d%1 = Σ_samples dL/d%o ⋆ %0",
              "dL/d%2 = Σ dL/d%o over samples and positions" } },
  OP_ROW(FN_CONV_TRANSPOSE2D) = { .name = "conv_transpose2d", .arity = 3, .backward = conv_backward,
    .backward_graph = conv_backward_graph, .params_size = sizeof(Conv2dParams),
    .rule = { "dL/d%0 = conv2d(dL/d%o, %1)", "dL/d%1 = Σ_samples %0 ⋆ dL/d%o",
              "dL/d%2 = Σ dL/d%o over samples and positions" } },
  OP_ROW(FN_MAX_POOL2D) = { .name = "max_pool2d", .arity = 1, .backward = maxpool_backward,
    .backward_graph = maxpool_backward_graph, .params_size = sizeof(Pool2dParams),
    .rule = { "dL/d%0 = dL/d%o at each window's maximum, 0 elsewhere" } },
  OP_ROW(FN_AVG_POOL2D) = { .name = "avg_pool2d", .arity = 1, .backward = avgpool_backward,
    .backward_graph = avgpool_backward_graph, .params_size = sizeof(Pool2dParams),
    .rule = { "dL/d%0 = dL/d%o shared equally over each window" } },
  OP_ROW(FN_ADAPTIVE_AVG_POOL2D) = { .name = "adaptive_avg_pool2d", .arity = 1,
    .backward = adaptive_backward, .backward_graph = adaptive_backward_graph,
    .rule = { "dL/d%0 = dL/d%o shared equally over each window" } },
  OP_ROW(FN_BATCH_NORM) = { .name = "batch_norm", .arity = 3, .backward = bn_backward,
    .backward_graph = bn_backward_graph, .params_size = sizeof(BatchNormParams),
    .rule = { "dL/d%0 = %1·σ⁻¹/M · (M·dL/d%o − Σ dL/d%o − x̂ · Σ dL/d%o·x̂)", "dL/d%1 = Σ dL/d%o · x̂",
              "dL/d%2 = Σ dL/d%o" } },
  OP_ROW(FN_MAX_POOL2D_GRAD) = { .name = "max_pool2d_backward", .arity = 1,
    .backward = scatter_backward, .backward_graph = scatter_backward_graph,
    .rule = { "dL/d%0 = dL/d%o read at each window's maximum" } },
  OP_ROW(FN_MAX_POOL2D_GATHER) = { .name = "max_pool2d_gather", .arity = 1,
    .backward = gather_backward, .backward_graph = gather_backward_graph,
    .rule = { "dL/d%0 = dL/d%o put back at each window's maximum" } },
  OP_ROW(FN_AVG_POOL2D_GRAD) = { .name = "avg_pool2d_backward", .arity = 1,
    .backward = avg_grad_backward, .backward_graph = avg_grad_backward_graph,
    .params_size = sizeof(Pool2dParams), .rule = { "dL/d%0 = avg_pool2d(dL/d%o)" } },
  OP_ROW(FN_ADAPTIVE_POOL2D_GRAD) = { .name = "adaptive_avg_pool2d_backward", .arity = 1,
    .backward = adaptive_grad_backward, .backward_graph = adaptive_grad_backward_graph,
    .rule = { "dL/d%0 = adaptive_avg_pool2d(dL/d%o)" } },
};
OP_TABLE_END(layer_table, FN_LAYER_COUNT);


const OpDesc *fn_layer_desc(LayerOp op) { return &layer_table[op]; }
