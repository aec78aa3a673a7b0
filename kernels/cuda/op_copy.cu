/*
 * kernels/cuda/op_copy.cu — strided copy with dtype conversion on the GPU
 * (twin of kernels/cpu/op_copy.c), with the same three paths:
 *   - same dtype and no rescaling: the element's bytes move unchanged (NaN
 *     payloads and all), by rows of the last dim when the views are
 *     strided and the rows long (copy_rows), by tiles of the last two dims
 *     when the last is short and the tile long (copy_tiles), else element
 *     by element;
 *   - integer to integer: by value through int64 (i64 -> i32 wraps modulo
 *     2^32, as a two's-complement narrowing cast does);
 *   - everything else through f32: loads apply FP8 scale and row_scale,
 *     stores round as kernels/src/convert.c does (RNE, NaN kept, FP8 divides
 *     by dst->scale and saturates when asked).
 * src and dst must not overlap (the wrapper's contract).
 */
#include "cuda_common.cuh"

static __global__ void __launch_bounds__(CU_THREADS)
copy_raw_kernel(cu_view s, cu_view d, int esize, int64_t n)
{
    CU_GRID_STRIDE(i, n) {
        int64_t row;
        int64_t so = cu_offset(s, i, &row), dof = cu_offset(d, i, &row);

        switch (esize) {
        case 1:
            ((uint8_t *)d.data)[dof] = ((const uint8_t *)s.data)[so];
            break;
        case 2:
            ((uint16_t *)d.data)[dof] = ((const uint16_t *)s.data)[so];
            break;
        case 4:
            ((uint32_t *)d.data)[dof] = ((const uint32_t *)s.data)[so];
            break;
        default:
            ((uint64_t *)d.data)[dof] = ((const uint64_t *)s.data)[so];
            break;
        }
    }
}

/* The element offsets in s and d of flat index i, computed by thread 0
 * (the index divisions that cu_offset does per element in copy_raw_kernel)
 * into off, for the whole block. The caller syncs again before off is
 * rewritten. */
static __device__ __forceinline__ void block_offsets(const cu_view &s, const cu_view &d,
                                                     int64_t i, int64_t *off)
{
    if (threadIdx.x == 0) {
        int64_t row;

        off[0] = cu_offset(s, i, &row);
        off[1] = cu_offset(d, i, &row);
    }
    __syncthreads();
}

/* Raw copy of strided views by rows of the last dim (W elements): the
 * row's two offsets once (block_offsets), then the block walks the row at
 * each view's last stride (ss, ds). */
template <typename T>
static __global__ void __launch_bounds__(CU_THREADS)
copy_rows_kernel(cu_view s, cu_view d, int64_t ss, int64_t ds, int64_t rows, int64_t W)
{
    __shared__ int64_t off[2];

    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        block_offsets(s, d, r * W, off);
        const T *sp = (const T *)s.data + off[0];
        T *dp = (T *)d.data + off[1];

        for (int64_t j = threadIdx.x; j < W; j += blockDim.x)
            dp[j * ds] = sp[j * ss];
        __syncthreads(); /* off is rewritten for the next row */
    }
}

/* Raw copy of strided views by tiles of their last two dims [W1, W0], for
 * a last dim too short to be a row (W0 <= COPY_TILE_MAX_W0: the pixel pairs
 * of the VAE upsampler's interleave, plugins/common/upconv.c): the tile's
 * two offsets once (block_offsets), element k of the tile at (k / W0,
 * k % W0). W1 * W0 < 2^31. */
template <typename T>
static __global__ void __launch_bounds__(CU_THREADS)
copy_tiles_kernel(cu_view s, cu_view d, int64_t ss1, int64_t ss0, int64_t ds1, int64_t ds0,
                  int64_t tiles, int W1, int W0)
{
    __shared__ int64_t off[2];
    const int n = W1 * W0;

    for (int64_t r = blockIdx.x; r < tiles; r += gridDim.x) {
        block_offsets(s, d, r * n, off);
        const T *sp = (const T *)s.data + off[0];
        T *dp = (T *)d.data + off[1];

        for (int k = (int)threadIdx.x; k < n; k += (int)blockDim.x) {
            const int j = k / W0, b = k - j * W0;

            dp[j * ds1 + b * ds0] = sp[j * ss1 + b * ss0];
        }
        __syncthreads(); /* off is rewritten for the next tile */
    }
}

/* Rows at least this long take copy_rows_kernel. */
#define COPY_ROWS_MIN 64
/* Longest last dim that copy_tiles_kernel takes (shorter than a row). */
#define COPY_TILE_MAX_W0 8

/* The raw copy by tiles of the last two dims; false when it does not apply
 * (the caller checked the shapes match, nd >= 2). */
static bool copy_tiles(struct cuda_ctx *c, const pictor_tensor *src, const pictor_tensor *dst,
                       const cu_view &sv, const cu_view &dv, int esize, int64_t n)
{
    const int nd = dst->ndim;
    const int64_t W0 = dst->shape[nd - 1], W1 = dst->shape[nd - 2], tile = W0 * W1;

    if (W0 > COPY_TILE_MAX_W0 || tile < COPY_ROWS_MIN || tile > INT32_MAX)
        return false;
    const int64_t ss1 = src->stride[nd - 2], ss0 = src->stride[nd - 1];
    const int64_t ds1 = dst->stride[nd - 2], ds0 = dst->stride[nd - 1];
    const int64_t tiles = n / tile;
    const unsigned blocks = cu_row_blocks(tiles);
    const unsigned threads =
        tile >= CU_THREADS ? CU_THREADS : (unsigned)((tile + 31) / 32 * 32);

#define TILES(T)                                                                            \
    copy_tiles_kernel<T><<<blocks, threads, 0, c->stream>>>(sv, dv, ss1, ss0, ds1, ds0, tiles, \
                                                            (int)W1, (int)W0)
    switch (esize) {
    case 1: TILES(uint8_t); break;
    case 2: TILES(uint16_t); break;
    case 4: TILES(uint32_t); break;
    default: TILES(uint64_t); break;
    }
#undef TILES
    return true;
}

/* The raw copy of a strided view by rows; false when it does not apply. */
static bool copy_rows(struct cuda_ctx *c, const pictor_tensor *src, const pictor_tensor *dst,
                      const cu_view &sv, const cu_view &dv, int esize, int64_t n)
{
    const int nd = dst->ndim;
    const int64_t W = nd ? dst->shape[nd - 1] : 1, rows = W ? n / W : 0;

    if (nd < 2 || src->ndim != nd || (sv.contig && dv.contig))
        return false;
    for (int k = 0; k < nd; k++)
        if (src->shape[k] != dst->shape[k]) /* a reshaping copy: flat order */
            return false;
    if (W < COPY_ROWS_MIN)
        return copy_tiles(c, src, dst, sv, dv, esize, n);
    const int64_t ss = src->stride[nd - 1], ds = dst->stride[nd - 1];
    const unsigned blocks = cu_row_blocks(rows);
    const unsigned threads = W >= CU_THREADS ? CU_THREADS : (unsigned)((W + 31) / 32 * 32);

    switch (esize) {
    case 1:
        copy_rows_kernel<uint8_t><<<blocks, threads, 0, c->stream>>>(sv, dv, ss, ds, rows, W);
        return true;
    case 2:
        copy_rows_kernel<uint16_t><<<blocks, threads, 0, c->stream>>>(sv, dv, ss, ds, rows, W);
        return true;
    case 4:
        copy_rows_kernel<uint32_t><<<blocks, threads, 0, c->stream>>>(sv, dv, ss, ds, rows, W);
        return true;
    default:
        copy_rows_kernel<uint64_t><<<blocks, threads, 0, c->stream>>>(sv, dv, ss, ds, rows, W);
        return true;
    }
}

static __global__ void __launch_bounds__(CU_THREADS)
copy_int_kernel(cu_view s, cu_view d, int64_t n)
{
    CU_GRID_STRIDE(i, n) {
        int64_t row;
        int64_t so = cu_offset(s, i, &row), dof = cu_offset(d, i, &row);
        int64_t v = s.dtype == PICTOR_I32 ? (int64_t)((const int32_t *)s.data)[so]
                                          : ((const int64_t *)s.data)[so];

        if (d.dtype == PICTOR_I32) /* low 32 bits: modular narrowing */
            ((uint32_t *)d.data)[dof] = (uint32_t)((uint64_t)v & 0xffffffffu);
        else
            ((int64_t *)d.data)[dof] = v;
    }
}

static __global__ void __launch_bounds__(CU_THREADS)
copy_f32_kernel(cu_view s, cu_view d, bool saturate, int64_t n)
{
    CU_GRID_STRIDE(i, n)
        cu_set(d, i, cu_get(s, i), saturate);
}

static bool is_int(int dtype)
{
    return dtype == PICTOR_I32 || dtype == PICTOR_I64;
}

extern "C" int cuda_op_copy(void *vctx, const struct pictor_op_args *a, char *err, size_t errlen)
{
    struct cuda_ctx *c = (struct cuda_ctx *)vctx;
    const pictor_tensor *src = a->u.copy.src;
    pictor_tensor *dst = a->u.copy.dst;
    int64_t n = pictor_tensor_numel(dst);
    int sd = src->dtype, dd = dst->dtype;
    cu_view sv = cu_view_of(src), dv = cu_view_of(dst);
    unsigned blocks = cu_blocks(n);

    if (n == 0)
        return PICTOR_OK;
    dv.row_scale = NULL; /* stores ignore it */
    if (sd == dd && (!cu_is_fp8(sd) || (src->scale == dst->scale && !src->row_scale))) {
        sv.row_scale = NULL;
        if (!copy_rows(c, src, dst, sv, dv, (int)pictor_dtype_size(sd), n))
            copy_raw_kernel<<<blocks, CU_THREADS, 0, c->stream>>>(sv, dv,
                                                                 (int)pictor_dtype_size(sd), n);
    } else if (is_int(sd) && is_int(dd)) {
        copy_int_kernel<<<blocks, CU_THREADS, 0, c->stream>>>(sv, dv, n);
    } else {
        copy_f32_kernel<<<blocks, CU_THREADS, 0, c->stream>>>(sv, dv, a->u.copy.saturate, n);
    }
    return CU_LAUNCH_CHECK(err, errlen);
}
