/*
** conv_direct.h — direct stride-1 convolution for inputs with few channels
** (see conv_direct.c); layers_conv.c decides when it runs.  Arrays are
** contiguous: x N x C x H x W, w K x C x kh x kw, y and gy N x K x OH x OW.
*/
#ifndef NNCALC_CONV_DIRECT_H
#define NNCALC_CONV_DIRECT_H

#include <stdint.h>

typedef struct DirectGeom {
  int64_t N, C, H, W, K, kh, kw, ph, pw, dh, dw, OH, OW;
} DirectGeom;

/* These three return nncalc status codes (NN_ENOMEM, NN_EINTR). */
/* y = conv(x, w) + bias (bias K doubles, or NULL). */
int conv_direct_forward(const DirectGeom *G, const double *x, const double *w,
                        const double *bias, double *y);
/* gw = dL/dw for dL/dy = gy (overwritten, not added to). */
int conv_direct_grad_weight(const DirectGeom *G, const double *x, const double *gy,
                            double *gw);
/* gx = dL/dx for dL/dy = gy (overwritten). */
int conv_direct_grad_input(const DirectGeom *G, const double *w, const double *gy, double *gx);

/* A kernel covering the whole unpadded input (one output position): the
** convolution as one matrix product. */
int conv_is_fc(const DirectGeom *G);
int conv_fc_forward(const DirectGeom *G, const double *x, const double *w,
                    const double *bias, double *y);
int conv_fc_backward(const DirectGeom *G, const double *x, const double *w,
                     const double *gy, double *gx, double *gw);

#endif
