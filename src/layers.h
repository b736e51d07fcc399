/*
** layers.h — the layer primitives of nncalc: convolution, transposed
** convolution, pooling and batch normalization, each a forward and a
** backward over plain tensors (no Lua, no graph: fn_layers.c turns them
** into graph nodes), and the shape rule each obeys.
**
** Layout: images are N x C x H x W (batch first), row-major; a 3-D
** C x H x W image is handled by the callers as a batch of one.  Sizes in
** pairs are {height, width}.  Every function returns a new tensor or an
** nn_status, and on failure sets nn_errmsg() to a message naming the
** settings and the shapes, e.g. "input 1x3x4x4 is too small for the 5x5
** kernel with padding 0 and dilation 1".
**
** Output size along one axis (PyTorch's rule, as on homework sheets):
**     out = floor((in + 2·pad − dil·(k − 1) − 1) / stride) + 1
** with ceil instead of floor for ceil_mode pooling (the last window must
** then start inside the input or its left padding).  Transposed:
**     out = (in − 1)·stride − 2·pad + dil·(k − 1) + output_padding + 1
*/
#ifndef NNCALC_LAYERS_H
#define NNCALC_LAYERS_H

#include "tensor.h"

/* ======================================================================
** Shape rules (no tensors needed)
** ====================================================================== */

/* One axis of a convolution or pooling window; NN_ESHAPE when the output
** would be empty, NN_EARG for stride/kernel/dilation < 1 or padding < 0. */
int conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil,
                  int64_t *out);
int pool_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil,
                  int ceil_mode, int64_t *out);
int conv_transpose_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad,
                            int64_t dil, int64_t output_padding, int64_t *out);

/* ======================================================================
** Convolution (cross-correlation, as in every framework)
** ====================================================================== */

typedef struct Conv2dParams {
  int64_t stride[2], padding[2], dilation[2];
  int64_t output_padding[2];   /* transposed convolution only */
  int64_t groups;
} Conv2dParams;

/* y = conv2d(x, w) + b.  x: N x Cin x H x W; w: Cout x (Cin/groups) x kh x kw;
** b: Cout or NULL.  Implemented as im2col + GEMM per sample and group. */
Tensor *layer_conv2d(const Tensor *x, const Tensor *w, const Tensor *b,
                     const Conv2dParams *p);
/* Gradients for dL/dy = gy: any of gx, gw, gb may be NULL (not wanted). */
int layer_conv2d_backward(const Tensor *x, const Tensor *w, const Conv2dParams *p,
                          const Tensor *gy, Tensor **gx, Tensor **gw, Tensor **gb);

/* How the convolutions run: CONV_AUTO chooses by shape (layers_conv.c);
** the others force columns, the wide form or the direct kernels wherever
** the forced one applies (columns everywhere else), for tests and
** benchmarks that compare the paths.  Not thread-safe. */
typedef enum { CONV_AUTO, CONV_COLUMNS, CONV_WIDE, CONV_DIRECT } ConvPath;
void conv_force_path(ConvPath p);

/* The transpose (the input gradient of a convolution, as a layer).
** x: N x Cin x H x W; w: Cin x (Cout/groups) x kh x kw; b: Cout or NULL. */
Tensor *layer_conv_transpose2d(const Tensor *x, const Tensor *w, const Tensor *b,
                               const Conv2dParams *p);
int layer_conv_transpose2d_backward(const Tensor *x, const Tensor *w,
                                    const Conv2dParams *p, const Tensor *gy,
                                    Tensor **gx, Tensor **gw, Tensor **gb);

/* ======================================================================
** Pooling
** ====================================================================== */

typedef struct Pool2dParams {
  int64_t kernel[2], stride[2], padding[2], dilation[2];
  int ceil_mode;
  int count_include_pad;   /* average pooling: divide by the full window */
} Pool2dParams;

/* Max pooling; padding counts as -infinity.  *argmax (if not NULL) gets
** the flat position (h*W + w) in the input plane of each output's winner,
** which the backward needs. */
Tensor *layer_maxpool2d(const Tensor *x, const Pool2dParams *p, Tensor **argmax);
Tensor *layer_maxpool2d_backward(const Tensor *x, const Tensor *argmax, const Tensor *gy);

Tensor *layer_avgpool2d(const Tensor *x, const Pool2dParams *p);
Tensor *layer_avgpool2d_backward(const Tensor *x, const Pool2dParams *p, const Tensor *gy);

/* Output oh x ow; window i covers [floor(i·H/oh), ceil((i+1)·H/oh)). */
Tensor *layer_adaptive_avgpool2d(const Tensor *x, int64_t oh, int64_t ow);
Tensor *layer_adaptive_avgpool2d_backward(const Tensor *x, const Tensor *gy);

/* ======================================================================
** Batch normalization over dim 1 of N x C, N x C x L or N x C x H x W
** ====================================================================== */

typedef struct BatchNormState {
  Tensor *running_mean, *running_var;   /* C each, updated in training */
  double momentum, eps;
  int training;
} BatchNormState;

/* y = gamma · (x − mean) / sqrt(var + eps) + beta, with the batch's mean and
** (biased) variance in training (the running ones get momentum updates
** with the unbiased variance, as PyTorch does) and the running statistics
** in evaluation.  gamma/beta may be NULL (no affine).  *mean and *invstd
** receive what the backward needs (C each). */
Tensor *layer_batchnorm(const Tensor *x, const Tensor *gamma, const Tensor *beta,
                        BatchNormState *s, Tensor **mean, Tensor **invstd);
int layer_batchnorm_backward(const Tensor *x, const Tensor *gamma, const Tensor *mean,
                             const Tensor *invstd, int training, const Tensor *gy,
                             Tensor **gx, Tensor **ggamma, Tensor **gbeta);

#endif
