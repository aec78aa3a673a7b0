/*
 * kernels/cuda/op_conv2d.cu — conv2d's fallback kernel (the cuDNN path is
 * op_conv2d.c): direct convolution, one thread per output element, f32
 * accumulation over (ci, kh, kw) in the CPU twin's order, any dtypes (FP8
 * scale and row_scale applied on load) and any strides through cu_view;
 * bias added before the single rounding into y. It runs when cuDNN is
 * unusable, has no algorithm for the problem, or PICTOR_CUDA_CONV_DIRECT=1
 * was set at backend creation. No data reuse: slow on big convs, exact.
 */
#include "cuda_common.cuh"

struct conv_geom {
    int64_t Cin, H, W, KH, KW, Cout, OH, OW;
    int sh, sw, ph, pw;
};

static __global__ void __launch_bounds__(CU_THREADS)
conv2d_direct_kernel(cu_view x, cu_view w, cu_view b, bool has_bias, cu_view y, conv_geom g,
                     int64_t n)
{
    CU_GRID_STRIDE(i, n) {
        int64_t ow = i % g.OW, r = i / g.OW;
        int64_t oh = r % g.OH;
        int64_t co, bi;
        float sx, sw, acc = 0.0f;

        r /= g.OH;
        co = r % g.Cout;
        bi = r / g.Cout;
        /* FP8 row_scale follows dim 0: the image for x, Cout for w. */
        sx = x.row_scale ? x.scale * x.row_scale[bi] : x.scale;
        sw = w.row_scale ? w.scale * w.row_scale[co] : w.scale;
        for (int64_t ci = 0; ci < g.Cin; ci++) {
            int64_t xo = bi * x.stride[0] + ci * x.stride[1];
            int64_t wo = co * w.stride[0] + ci * w.stride[1];

            for (int64_t kh = 0; kh < g.KH; kh++) {
                int64_t ih = oh * g.sh - g.ph + kh;

                if (ih < 0 || ih >= g.H)
                    continue;
                for (int64_t kw = 0; kw < g.KW; kw++) {
                    int64_t iw = ow * g.sw - g.pw + kw;

                    if (iw < 0 || iw >= g.W)
                        continue;
                    acc += cu_load_raw(x.data, x.dtype, xo + ih * x.stride[2] + iw * x.stride[3],
                                       sx) *
                           cu_load_raw(w.data, w.dtype, wo + kh * w.stride[2] + kw * w.stride[3],
                                       sw);
                }
            }
        }
        if (has_bias)
            acc += cu_get(b, co);
        cu_set(y, i, acc, false);
    }
}

extern "C" int cuda_conv2d_direct(struct cuda_ctx *c, const struct pictor_op_args *a, char *err,
                                  size_t errlen)
{
    const pictor_tensor *bias = a->u.conv2d.bias;
    cu_view x = cu_view_of(a->u.conv2d.x), w = cu_view_of(a->u.conv2d.w);
    cu_view y = cu_view_of(a->u.conv2d.y), b;
    int64_t n = pictor_tensor_numel(a->u.conv2d.y);
    conv_geom g;

    if (n == 0)
        return PICTOR_OK;
    memset(&b, 0, sizeof b);
    if (bias)
        b = cu_view_of(bias);
    y.row_scale = NULL; /* stores ignore it */
    g.Cin = x.shape[1];
    g.H = x.shape[2];
    g.W = x.shape[3];
    g.Cout = w.shape[0];
    g.KH = w.shape[2];
    g.KW = w.shape[3];
    g.OH = y.shape[2];
    g.OW = y.shape[3];
    g.sh = a->u.conv2d.stride_h;
    g.sw = a->u.conv2d.stride_w;
    g.ph = a->u.conv2d.pad_h;
    g.pw = a->u.conv2d.pad_w;
    conv2d_direct_kernel<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(x, w, b, bias != NULL, y, g,
                                                                     n);
    return CU_LAUNCH_CHECK(err, errlen);
}
