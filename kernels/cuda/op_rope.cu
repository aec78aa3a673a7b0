/*
 * kernels/cuda/op_rope.cu — FLUX's apply_rotary_emb (use_real, unbind_dim
 * -1) on the GPU (twin of kernels/cpu/op_rope.c): x [B, L, H, D] with
 * interleaved channel pairs (2m, 2m + 1), cos/sin [L, D]:
 *   y[2m]     = x[2m] cos[2m]         - x[2m + 1] sin[2m]
 *   y[2m + 1] = x[2m + 1] cos[2m + 1] + x[2m] sin[2m + 1]
 * in f32, one thread per pair; any dtypes and strides; in place allowed
 * (a thread reads both elements of its pair before writing them).
 */
#include "cuda_common.cuh"

static __global__ void __launch_bounds__(CU_THREADS)
rope_kernel(cu_view x, cu_view cs, cu_view sn, cu_view y, int64_t L,
            int64_t H, int64_t D, int64_t pairs)
{
    CU_GRID_STRIDE(p, pairs) {
        int64_t i = 2 * p;               /* D even: a pair never spans rows */
        int64_t m = i % D, r = i / D;    /* row r = ((b * L) + l) * H + h */
        int64_t t = (r / H) % L * D + m; /* flat index into cos/sin [L, D] */
        float x0 = cu_get(x, i), x1 = cu_get(x, i + 1);
        float y0 = x0 * cu_get(cs, t) - x1 * cu_get(sn, t);
        float y1 = x1 * cu_get(cs, t + 1) + x0 * cu_get(sn, t + 1);

        cu_set(y, i, y0, false);
        cu_set(y, i + 1, y1, false);
    }
}

extern "C" int cuda_op_rope(void *vctx, const struct pictor_op_args *a, char *err, size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    const pictor_tensor *x = a->u.rope.x;
    int64_t pairs = pictor_tensor_numel(x) / 2;

    if (pairs == 0)
        return PICTOR_OK;
    rope_kernel<<<cu_blocks(pairs), CU_THREADS, 0, c->stream>>>(
        cu_view_of(x), cu_view_of(a->u.rope.cos), cu_view_of(a->u.rope.sin),
        cu_view_of(a->u.rope.y), x->shape[1], x->shape[2], x->shape[3], pairs);
    return CU_LAUNCH_CHECK(err, errlen);
}
