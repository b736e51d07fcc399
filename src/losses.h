/*
** losses.h — loss functions with their gradients, as PyTorch defines them.
**
** Every loss takes a reduction: RED_NONE keeps one value per element (or
** per sample for the classification losses), RED_MEAN averages, RED_SUM
** adds.  Class targets are 0-based positions stored as doubles (the Lua
** binding converts from 1-based).  Shapes:
**     mse, l1, bce, bce_with_logits:  input and target of the same shape
**     cross_entropy:  logits N x C (or C) with class indices N (or one),
**                     or with class probabilities N x C (or C)
**     nll:            log-probabilities N x C (or C) with class indices
** The backward functions return dL/dinput (and dL/dtarget where a
** regression target can carry a gradient) for the upstream gradient gy
** (shaped like the loss).
*/
#ifndef NNCALC_LOSSES_H
#define NNCALC_LOSSES_H

#include "tensor.h"

typedef enum { RED_NONE, RED_MEAN, RED_SUM } Reduction;

typedef enum {
  LOSS_MSE, LOSS_L1, LOSS_BCE, LOSS_BCE_LOGITS,   /* elementwise */
  LOSS_CROSS_ENTROPY, LOSS_NLL,                   /* classification */
  LOSS_COUNT
} LossKind;

extern const char *const loss_name[LOSS_COUNT];

/* target_probs: cross_entropy with probabilities instead of class indices. */
Tensor *loss_forward(LossKind k, const Tensor *x, const Tensor *target, int target_probs,
                     Reduction red);
/* gt may be NULL; it is only produced for the elementwise losses. */
int loss_backward(LossKind k, const Tensor *x, const Tensor *target, int target_probs,
                  Reduction red, const Tensor *gy, Tensor **gx, Tensor **gt);

#endif
