/*
 * pictor/upconv.h — nearest-neighbour 2x upsampling followed by a 3x3
 * convolution with padding 1 (diffusers' Upsample2D with use_conv: the VAE
 * decoder's upsamplers), computed without the upsampled tensor.
 *
 * Why it is exact. Output pixel (2i+a, 2j+b) of conv3x3(up2x(x)) reads the
 * upsampled rows 2i+a-1 .. 2i+a+1, which are x's rows i-1, i, i (a = 0) or
 * i, i, i+1 (a = 1); the same for columns. So for each output phase (a, b)
 * the 3x3 kernel folds into a 2x2 kernel over x: kernel rows {0 | 1+2} for
 * a = 0 and {0+1 | 2} for a = 1 (columns likewise), applied to rows
 * {i-1, i} or {i, i+1}. Zero padding of the upsampled image is zero padding
 * of x. The four folded kernels are stacked as one [4*Cout, Cin, 2, 2]
 * weight (phase p = 2a + b owns output channels [p*Cout, (p+1)*Cout)); one
 * 2x2 convolution with padding 1 over x gives every phase at (H+1) x (W+1)
 * positions, phase (a, b) of y's pixel (i, j) at position (i+a, j+b), and
 * one strided copy per batch element interleaves them into y (5-D views
 * [C, H, 2, W, 2] whose offsets are linear in the phases).
 *
 * What it saves: 16 instead of 36 multiply-adds per output value and input
 * channel (2.25x fewer; about 1.5 of the ~10 TFLOP of convolutions in
 * FLUX's VAE decode at 1024x1024), and the upsampled input, four times x,
 * is never written or read. Folded taps are summed in f32 and rounded once to the folded
 * weight's dtype, so 16-bit weights differ from the unfolded ones by at
 * most one rounding per folded tap.
 *
 * Ownership: pictor_upconv_fold allocates uc->w and uc->b on the backend;
 * the caller owns them (pictor_upconv_free, or hand them to a
 * pictor_params set). Thread: [worker thread] (the backend's owner).
 * Errors: a pictor_status; the message is pictor_backend_error(be).
 */
#ifndef PICTOR_UPCONV_H
#define PICTOR_UPCONV_H

#include <stdbool.h>

#include "pictor/backend.h"
#include "pictor/tensor.h"

struct pictor_upconv {
    pictor_tensor w; /* [4*Cout, Cin, 2, 2], packed NCHW or KRSC */
    pictor_tensor b; /* [4*Cout]: the bias once per phase */
};

/* Folds w [Cout, Cin, 3, 3] and bias [Cout] (any dtypes and strides, on be's
 * device) into uc, of `dtype` (PICTOR_F32, PICTOR_F16 or PICTOR_BF16).
 * channels_last: uc->w is laid out KRSC (Cin fastest), the filter layout
 * that goes with channels-last activations. On failure uc is zeroed. */
int pictor_upconv_fold(pictor_backend *be, const pictor_tensor *w, const pictor_tensor *bias,
                       int dtype, bool channels_last, struct pictor_upconv *uc);

/* Frees what pictor_upconv_fold allocated; uc zeroed. NULL-safe. */
void pictor_upconv_free(pictor_backend *be, struct pictor_upconv *uc);

/* y [B, Cout, 2H, 2W] = conv3x3(up2x(x)) + bias for x [B, Cin, H, W].
 * x and y any strides; the convolution's output goes through a scratch
 * [B, 4*Cout, H+1, W+1] of y's dtype, channels-last when y is (stride of
 * dim 1 equal to 1), freed before return. */
int pictor_upconv_run(pictor_backend *be, const struct pictor_upconv *uc, const pictor_tensor *x,
                      pictor_tensor *y);

#endif /* PICTOR_UPCONV_H */
