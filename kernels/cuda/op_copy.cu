/*
 * kernels/cuda/op_copy.cu — strided copy with dtype conversion on the GPU
 * (twin of kernels/cpu/op_copy.c), with the same three paths:
 *   - same dtype and no rescaling: the element's bytes move unchanged (NaN
 *     payloads and all), by rows of the last dim when the views are
 *     strided and the rows long (copy_rows), by tiles of the last two dims
 *     when the last is short and the tile long (copy_tiles), else element
 *     by element; up to 16 bytes at a time where the last dim is
 *     contiguous on both sides (copy_widen);
 *   - integer to integer: by value through int64 (i64 -> i32 wraps modulo
 *     2^32, as a two's-complement narrowing cast does);
 *   - everything else through f32: loads apply FP8 scale and row_scale,
 *     stores round as kernels/src/convert.c does (RNE, NaN kept, FP8 divides
 *     by dst->scale and saturates when asked).
 * Views of one shape are first put in dst's memory order (cu_views_canon):
 * a channels-last copy is then one contiguous run, and the VAE upsampler's
 * channels-last interleave rows of whole pixels.
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
        case 8:
            ((uint64_t *)d.data)[dof] = ((const uint64_t *)s.data)[so];
            break;
        default:
            ((uint4 *)d.data)[dof] = ((const uint4 *)s.data)[so];
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

/* Calls F<T>(...) with T the unsigned type of esize bytes (uint4: 16). */
#define COPY_BY_SIZE(esize, F, ...)                                                         \
    switch (esize) {                                                                        \
    case 1: F<uint8_t>(__VA_ARGS__); break;                                                 \
    case 2: F<uint16_t>(__VA_ARGS__); break;                                                \
    case 4: F<uint32_t>(__VA_ARGS__); break;                                                \
    case 8: F<uint64_t>(__VA_ARGS__); break;                                                \
    default: F<uint4>(__VA_ARGS__); break;                                                  \
    }

template <typename T>
static void tiles_launch(cudaStream_t st, unsigned blocks, unsigned threads, const cu_view &sv,
                         const cu_view &dv, int64_t ss1, int64_t ss0, int64_t ds1, int64_t ds0,
                         int64_t tiles, int W1, int W0)
{
    copy_tiles_kernel<T><<<blocks, threads, 0, st>>>(sv, dv, ss1, ss0, ds1, ds0, tiles, W1, W0);
}

template <typename T>
static void rows_launch(cudaStream_t st, unsigned blocks, unsigned threads, const cu_view &sv,
                        const cu_view &dv, int64_t ss, int64_t ds, int64_t rows, int64_t W)
{
    copy_rows_kernel<T><<<blocks, threads, 0, st>>>(sv, dv, ss, ds, rows, W);
}

/* The raw copy by tiles of the last two dims; false when it does not apply
 * (nd >= 2). */
static bool copy_tiles(struct cuda_ctx *c, const cu_view &sv, const cu_view &dv, int esize,
                       int64_t n)
{
    const int nd = dv.ndim;
    const int64_t W0 = dv.shape[nd - 1], W1 = dv.shape[nd - 2], tile = W0 * W1;

    if (W0 > COPY_TILE_MAX_W0 || tile < COPY_ROWS_MIN || tile > INT32_MAX)
        return false;
    const int64_t ss1 = sv.stride[nd - 2], ss0 = sv.stride[nd - 1];
    const int64_t ds1 = dv.stride[nd - 2], ds0 = dv.stride[nd - 1];
    const int64_t tiles = n / tile;
    const unsigned blocks = cu_row_blocks(tiles);
    const unsigned threads =
        tile >= CU_THREADS ? CU_THREADS : (unsigned)((tile + 31) / 32 * 32);

    COPY_BY_SIZE(esize, tiles_launch, c->stream, blocks, threads, sv, dv, ss1, ss0, ds1, ds0,
                 tiles, (int)W1, (int)W0)
    return true;
}

/* The raw copy of strided views of one shape by rows; false when it does
 * not apply. */
static bool copy_rows(struct cuda_ctx *c, const cu_view &sv, const cu_view &dv, int esize,
                      int64_t n)
{
    const int nd = dv.ndim;

    if (nd < 2 || (sv.contig && dv.contig))
        return false;
    const int64_t W = dv.shape[nd - 1], rows = W ? n / W : 0;

    if (W < COPY_ROWS_MIN)
        return copy_tiles(c, sv, dv, esize, n);
    const int64_t ss = sv.stride[nd - 1], ds = dv.stride[nd - 1];
    const unsigned blocks = cu_row_blocks(rows);
    const unsigned threads = W >= CU_THREADS ? CU_THREADS : (unsigned)((W + 31) / 32 * 32);

    COPY_BY_SIZE(esize, rows_launch, c->stream, blocks, threads, sv, dv, ss, ds, rows, W)
    return true;
}

/* Whether v's base lies on w elements' bytes and the strides of its dims
 * but the last are multiples of w. */
static bool copy_aligned(const cu_view &v, int esize, int64_t w)
{
    if ((uintptr_t)v.data % (uintptr_t)(esize * w) != 0)
        return false;
    for (int d = 0; d + 1 < v.ndim; d++)
        if (v.stride[d] % w != 0 && v.shape[d] != 1)
            return false;
    return true;
}

/* Raw copies whose last dim is contiguous on both sides move w elements
 * at once (at most 16 bytes): the last dim shrinks w-fold, the other
 * strides too, *esize grows w-fold. Views of one shape, after
 * cu_views_canon. */
static void copy_widen(cu_view *sv, cu_view *dv, int *esize)
{
    const int nd = dv->ndim;

    if (nd < 1 || sv->stride[nd - 1] != 1 || dv->stride[nd - 1] != 1)
        return;
    for (int64_t w = 16 / *esize; w > 1; w /= 2) {
        if (dv->shape[nd - 1] % w != 0 || !copy_aligned(*sv, *esize, w) ||
            !copy_aligned(*dv, *esize, w))
            continue;
        for (cu_view *v : {sv, dv}) {
            v->shape[nd - 1] /= w;
            for (int d = 0; d + 1 < nd; d++)
                v->stride[d] /= w;
            v->inner = 1;
            for (int d = 1; d < nd; d++)
                v->inner *= v->shape[d];
        }
        *esize *= (int)w;
        return;
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
    cu_view *const views[2] = {&dv, &sv};
    /* one shape (else the copy reshapes: flat order) */
    const bool shaped = pictor_tensor_same_shape(src, dst);

    if (n == 0)
        return PICTOR_OK;
    dv.row_scale = NULL; /* stores ignore it */
    if (shaped) /* dst's memory order (a source with FP8 row scales keeps its dims) */
        cu_views_canon(views, 2);
    if (sd == dd && (!cu_is_fp8(sd) || (src->scale == dst->scale && !src->row_scale))) {
        int esize = (int)pictor_dtype_size(sd);

        if (shaped) {
            copy_widen(&sv, &dv, &esize);
            n = pictor_tensor_numel(dst) * (int64_t)pictor_dtype_size(sd) / esize;
        }
        if (!shaped || !copy_rows(c, sv, dv, esize, n))
            copy_raw_kernel<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(sv, dv, esize, n);
    } else if (is_int(sd) && is_int(dd)) {
        copy_int_kernel<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(sv, dv, n);
    } else {
        copy_f32_kernel<<<cu_blocks(n), CU_THREADS, 0, c->stream>>>(sv, dv, a->u.copy.saturate, n);
    }
    return CU_LAUNCH_CHECK(err, errlen);
}
