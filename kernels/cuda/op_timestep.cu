/*
 * kernels/cuda/op_timestep.cu — diffusers get_timestep_embedding on the GPU
 * (twin of kernels/cpu/op_timestep.c), f32 at each step as torch does:
 *   f_k = exp(f32(-ln(max_period)) * k / f32(half - shift)), arg = scale * (t * f_k)
 *   y = [sin(arg), cos(arg)] (or [cos, sin] when flip_sin_to_cos), an odd dim
 *   zero-padded at the end.
 * The frequencies f_k are computed on the host with the CPU op's very
 * expression (glibc expf) and passed in the kernel's parameters when
 * half <= TS_MAX_HALF (every model: FLUX/SD3 use dim 256, SDXL 320), so the
 * GPU's arguments are bit-identical to the CPU's: at t ~ 1000 one ulp of
 * f_k moves arg by ~1e-4. Larger dims compute f_k on the device (CUDA expf,
 * <= 2 ulp). sinf/cosf are CUDA's IEEE versions (full range reduction,
 * <= 2 ulp), so outputs agree to rounding, not bitwise. One thread per
 * output element; t any float dtype/strides, y any dtype/strides.
 */
#include "cuda_common.cuh"

/* Frequencies carried in the kernel parameters: 2 KiB of the 4 KiB limit. */
#define TS_MAX_HALF 512

struct ts_freq {
    float f[TS_MAX_HALF]; /* f_k for k < half, when half <= TS_MAX_HALF */
};

static __global__ void __launch_bounds__(CU_THREADS)
timestep_kernel(cu_view t, cu_view y, ts_freq freq, bool host_freq, float neg_log, float denom,
                float scale, bool flip, int64_t dim, int64_t n)
{
    int64_t half = dim / 2;

    CU_GRID_STRIDE(i, n) {
        int64_t b = i / dim, j = i % dim;
        float v = 0.0f;

        if (j < 2 * half) {
            int64_t k = j < half ? j : j - half;
            float f = host_freq ? freq.f[k] : expf(neg_log * (float)k / denom);
            float arg = scale * (cu_get(t, b) * f);
            bool first = j < half;

            v = (first != flip) ? sinf(arg) : cosf(arg);
        }
        cu_set(y, i, v, false);
    }
}

extern "C" int cuda_op_timestep(void *vctx, const struct pictor_op_args *a, char *err,
                                size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    pictor_tensor *y = a->u.timestep.y;
    int64_t n = pictor_tensor_numel(y), dim = y->shape[1], half = dim / 2;
    float neg_log = (float)-log((double)a->u.timestep.max_period);
    float denom = (float)((double)half - (double)a->u.timestep.downscale_freq_shift);
    bool host_freq = half <= TS_MAX_HALF;
    ts_freq freq;

    if (n == 0)
        return PICTOR_OK;
    memset(&freq, 0, sizeof freq);
    for (int64_t k = 0; host_freq && k < half; k++)
        freq.f[k] = expf(neg_log * (float)k / denom); /* as kernels/cpu/op_timestep.c */
    timestep_kernel<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(
        cu_view_of(a->u.timestep.t), cu_view_of(y), freq, host_freq, neg_log, denom,
        a->u.timestep.scale, a->u.timestep.flip_sin_to_cos, dim, n);
    return CU_LAUNCH_CHECK(err, errlen);
}
