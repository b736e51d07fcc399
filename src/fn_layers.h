/*
** fn_layers.h — layers and losses as differentiable ops (see fn_layers.c):
** the kernels of layers.h and losses.h with graph nodes attached.  Same
** conventions as functions.h.
*/
#ifndef NNCALC_FN_LAYERS_H
#define NNCALC_FN_LAYERS_H

#include "functions.h"
#include "layers.h"
#include "losses.h"

/* The ops of fn_layers.c's table (the losses have theirs, by LossKind). */
typedef enum {
  FN_LINEAR, FN_LEAKY_RELU, FN_ELU, FN_CONV2D, FN_CONV_TRANSPOSE2D, FN_MAX_POOL2D,
  FN_AVG_POOL2D, FN_ADAPTIVE_AVG_POOL2D, FN_BATCH_NORM,
  /* the pools' gradients as ops (create_graph): scatter to and gather from
  ** max pooling's winners, the transposed average pools */
  FN_MAX_POOL2D_GRAD, FN_MAX_POOL2D_GATHER, FN_AVG_POOL2D_GRAD, FN_ADAPTIVE_POOL2D_GRAD,
  FN_LAYER_COUNT
} LayerOp;
const OpDesc *fn_layer_desc(LayerOp op);
const OpDesc *fn_loss_desc(LossKind k);

/* y = x Wᵀ + b (b may be NULL); x is in or N x in, W is out x in. */
Tensor *fn_linear(Tensor *x, Tensor *w, Tensor *b);
Tensor *fn_leaky_relu(Tensor *x, double slope);
Tensor *fn_elu(Tensor *x, double alpha);   /* x > 0 ? x : alpha·(eˣ − 1) */
Tensor *fn_conv2d(Tensor *x, Tensor *w, Tensor *b, const Conv2dParams *p);
Tensor *fn_conv_transpose2d(Tensor *x, Tensor *w, Tensor *b, const Conv2dParams *p);
Tensor *fn_max_pool2d(Tensor *x, const Pool2dParams *p);
Tensor *fn_avg_pool2d(Tensor *x, const Pool2dParams *p);
Tensor *fn_adaptive_avg_pool2d(Tensor *x, int64_t oh, int64_t ow);
Tensor *fn_batch_norm(Tensor *x, Tensor *gamma, Tensor *beta, BatchNormState *s);
Tensor *fn_loss(LossKind k, Tensor *x, Tensor *target, int target_probs, Reduction red);

/* vᵀ M for a vector v and a matrix M, without a graph. */
Tensor *fn_plain_vm(const Tensor *v, const Tensor *m);

#endif
