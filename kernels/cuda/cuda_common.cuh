/*
 * kernels/cuda/cuda_common.cuh — device and host helpers shared by the CUDA
 * op files (kernels/cuda/op_*.cu). CUDA C++17 written C-style: no STL, no
 * exceptions, no new/delete; everything static inline (no relocatable
 * device code needed).
 *
 * Operands
 *   cu_view is a pictor_tensor reduced to what a kernel needs, passed to
 *   kernels by value: data, dtype, shape/strides (<= PICTOR_MAX_DIMS), the
 *   FP8 scale and row_scale. Elements are addressed by their flat row-major
 *   index over the shape (as kernels/cpu/cpu_block.h does), so every op
 *   accepts any strides; a contiguous view skips the index arithmetic.
 *
 * Conversions are bit-exact ports of kernels/src/convert.c (integer bit
 * manipulation, RNE, NaN kept with its sign, FP8 overflow rules). The
 * cuda_fp16.h / cuda_bf16.h / cuda_fp8.h intrinsics are not used for
 * stores: they round RNE too, but produce a canonical NaN (0x7fff) rather
 * than c10's sign-kept quiet NaN, and the FP8 ones saturate differently
 * from torch's non-saturating cast. Decoding is exact either way; the ports
 * keep the two directions in one place.
 *
 * Errors: CU_CHECK(call, err, errlen) evaluates to PICTOR_OK or to a
 * negative status after writing "<call> failed at file:line: <string>" into
 * err; callers propagate it (no hidden return, STYLE.md).
 */
#ifndef PICTOR_CUDA_COMMON_CUH
#define PICTOR_CUDA_COMMON_CUH

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cuda_runtime.h>

#include "cuda_internal.h"

extern "C" {
#include "pictor/convert.h"
#include "pictor/tensor_util.h"
}

/* Threads per block of the elementwise kernels (8 warps: full occupancy on
 * sm_80..sm_100 at <= 32 registers). */
#define CU_THREADS 256
/* Cap on elementwise grid sizes; kernels loop grid-stride beyond it
 * (enough blocks to fill any current GPU many times over). */
#define CU_MAX_BLOCKS 65536
/* Threads per block of the row-reduction kernels (norms, softmax). */
#define CU_ROW_THREADS 256
/* Threads per (batch, group) block of group_norm (the largest block size). */
#define CU_GROUP_THREADS 1024
/* Threads in a warp (all CUDA GPUs). */
#define CU_WARP 32

/* Host-and-device helpers (index math, conversions, element access): they
 * also compile for the host, so they can be checked against convert.c and
 * the CPU's offsets without a GPU. */
#define CU_HD __host__ __device__ __forceinline__

/* ---- errors ----------------------------------------------------------- */

static inline int cu_check_(cudaError_t e, const char *what, const char *file, int line,
                            char *err, size_t errlen)
{
    if (e == cudaSuccess)
        return PICTOR_OK;
    if (err && errlen)
        snprintf(err, errlen, "%s failed at %s:%d: %s (%s)", what, file, line,
                 cudaGetErrorString(e), cudaGetErrorName(e));
    return e == cudaErrorMemoryAllocation ? PICTOR_E_NOMEM : PICTOR_E_DEVICE;
}

#define CU_CHECK(call, err, errlen) cu_check_((call), #call, __FILE__, __LINE__, (err), (errlen))

/* Status of the latest kernel launch (bad configuration, no kernel image
 * for this GPU); device faults surface at the next synchronising call. */
#define CU_LAUNCH_CHECK(err, errlen) CU_CHECK(cudaGetLastError(), (err), (errlen))

/* ---- operand views ---------------------------------------------------- */

struct cu_view {
    char *data;                      /* first element */
    int dtype;                       /* enum pictor_dtype */
    int ndim;                        /* 0..PICTOR_MAX_DIMS */
    bool contig;                     /* flat index == element offset */
    int64_t shape[PICTOR_MAX_DIMS];
    int64_t stride[PICTOR_MAX_DIMS]; /* elements; 0 along broadcast dims */
    int64_t inner;                   /* elements per index of dim 0 */
    float scale;                     /* FP8 dequantisation scale */
    const float *row_scale;          /* FP8 [shape[0]] or NULL */
};

static inline bool cu_is_fp8(int dtype)
{
    return dtype == PICTOR_F8_E4M3 || dtype == PICTOR_F8_E5M2;
}

/* The view of t as it is. */
static inline cu_view cu_view_of(const pictor_tensor *t)
{
    cu_view v;

    memset(&v, 0, sizeof v);
    v.data = (char *)t->data;
    v.dtype = t->dtype;
    v.ndim = t->ndim;
    v.contig = pictor_tensor_is_contiguous(t);
    v.inner = 1;
    for (int d = 0; d < t->ndim; d++) {
        v.shape[d] = t->shape[d];
        v.stride[d] = t->stride[d];
        if (d > 0)
            v.inner *= t->shape[d];
    }
    v.scale = cu_is_fp8(t->dtype) ? t->scale : 1.0f;
    v.row_scale = cu_is_fp8(t->dtype) ? t->row_scale : NULL;
    return v;
}

/* The view of t broadcast (NumPy rules, validated by the wrapper) to the
 * shape of y: y's dims, stride 0 where t repeats. An FP8 row_scale stays
 * addressable only while y's dim 0 is t's own dim 0 (same rank, same
 * size); otherwise it is dropped here and cuda_backend.c's supports()
 * refuses the call beforehand (cuda_bcast_row_scale_ok). */
static inline cu_view cu_view_bcast(const pictor_tensor *t, const pictor_tensor *y)
{
    cu_view v = cu_view_of(t);
    int lead = y->ndim - t->ndim;
    bool same = lead == 0;

    v.ndim = y->ndim;
    v.inner = 1;
    for (int d = 0; d < y->ndim; d++) {
        int dt = d - lead;

        v.shape[d] = y->shape[d];
        v.stride[d] = (dt < 0 || t->shape[dt] == 1) ? 0 : t->stride[dt];
        if (dt >= 0 && t->shape[dt] != y->shape[d])
            same = false;
        if (d > 0)
            v.inner *= y->shape[d];
    }
    v.contig = same && v.contig;
    if (lead != 0 || (t->ndim && t->shape[0] != y->shape[0]))
        v.row_scale = NULL;
    return v;
}

/* Puts the operands of an elementwise op in their cheapest common form:
 * v[0..n) are views of one logical shape (the output first; inputs
 * broadcast to it by cu_view_bcast) that the kernel indexes by one flat
 * index. The dims are reordered by v[0]'s strides, largest first (size-1
 * dims dropped), and neighbours merged where every view steps through them
 * as through one dim. Any common reordering keeps each output element
 * paired with its inputs; this one makes the flat order v[0]'s memory
 * order, so channels-last (NHWC) views of an NCHW shape become one
 * contiguous dim, and a view whose fastest dim is short but not last (the
 * VAE upsampler's interleave) walks its contiguous runs. Views with an FP8
 * row_scale are left as they are (its index is dim 0's). */
static inline void cu_views_canon(cu_view *const *v, int n)
{
    const int nd = v[0]->ndim;
    int ord[PICTOR_MAX_DIMS], m = 0;

    for (int k = 0; k < n; k++) {
        if (v[k]->row_scale || v[k]->ndim != nd)
            return;
        for (int d = 0; d < nd; d++)
            if (v[k]->shape[d] != v[0]->shape[d])
                return;
    }
    for (int d = 0; d < nd; d++)
        if (v[0]->shape[d] != 1)
            ord[m++] = d;
    for (int i = 1; i < m; i++) /* stable insertion sort, v[0]'s strides descending */
        for (int j = i; j > 0 && v[0]->stride[ord[j - 1]] < v[0]->stride[ord[j]]; j--) {
            int t = ord[j];

            ord[j] = ord[j - 1];
            ord[j - 1] = t;
        }
    bool merge[PICTOR_MAX_DIMS]; /* ord[j] joins the dim before it */

    for (int j = 0; j < m; j++) {
        merge[j] = j > 0;
        for (int q = 0; q < n && merge[j]; q++) /* every view steps through both as one */
            merge[j] = v[q]->stride[ord[j - 1]] == v[q]->stride[ord[j]] * v[q]->shape[ord[j]];
    }
    for (int k = 0; k < n; k++) {
        cu_view *w = v[k];
        int64_t shape[PICTOR_MAX_DIMS], stride[PICTOR_MAX_DIMS];
        int out = 0;

        for (int j = 0; j < m; j++) {
            const int d = ord[j];

            if (merge[j]) {
                shape[out - 1] *= w->shape[d];
                stride[out - 1] = w->stride[d];
            } else {
                shape[out] = w->shape[d];
                stride[out++] = w->stride[d];
            }
        }
        if (out == 0) { /* one element */
            shape[0] = 1;
            stride[0] = 0;
            out = 1;
        }
        w->ndim = out;
        w->inner = 1;
        for (int d = 0; d < out; d++) {
            w->shape[d] = shape[d];
            w->stride[d] = stride[d];
            if (d > 0)
                w->inner *= shape[d];
        }
        w->contig = out == 1 && (stride[0] == 1 || shape[0] == 1);
    }
}

/* Element offset of flat index i; *row gets the index along dim 0. */
static CU_HD int64_t cu_offset(const cu_view &v, int64_t i, int64_t *row)
{
    if (v.contig) {
        *row = v.row_scale ? i / v.inner : 0;
        return i;
    }
    int64_t off = 0;

    /* Unrolled with constant indices so the view stays in kernel-parameter
     * space (a dynamic index would copy it to local memory). The host pass
     * does not know the pragma (-Wunknown-pragmas). */
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int d = PICTOR_MAX_DIMS - 1; d > 0; d--) {
        if (d < v.ndim) {
            int64_t s = v.shape[d];

            off += (i % s) * v.stride[d];
            i /= s;
        }
    }
    *row = i;
    return v.ndim ? off + i * v.stride[0] : 0;
}

/* ---- conversions (ports of kernels/src/convert.c) -------------------- */


static CU_HD uint32_t cu_f2u(float f)
{
    uint32_t u;

    memcpy(&u, &f, sizeof u);
    return u;
}

static CU_HD float cu_u2f(uint32_t u)
{
    float f;

    memcpy(&f, &u, sizeof f);
    return f;
}

#define CU_F32_SIGN 0x80000000u
#define CU_F32_ABS 0x7fffffffu
#define CU_F32_INF 0x7f800000u
#define CU_F32_MANT_BITS 23
#define CU_F32_BIAS 127
#define CU_F32_IMPLICIT 0x00800000u
/* IEEE binary16 and OCP FP8 (OFP8 spec v1.0, 2023), as in convert.c. */
#define CU_F16_MANT_BITS 10
#define CU_F16_BIAS 15
#define CU_F16_MAX_CODE 0x7bffu /* 65504 */
#define CU_F16_INF 0x7c00u
#define CU_F16_NAN 0x7e00u
#define CU_E4M3_MANT_BITS 3
#define CU_E4M3_BIAS 7
#define CU_E4M3_MAX_CODE 0x7eu /* 448 */
#define CU_E4M3_NAN 0x7fu
#define CU_E5M2_MANT_BITS 2
#define CU_E5M2_BIAS 15
#define CU_E5M2_MAX_CODE 0x7bu /* 57344 */
#define CU_E5M2_INF 0x7cu
#define CU_E5M2_NAN 0x7fu
#define CU_BF16_NAN 0x7fc0u

/* v >> s rounded to nearest, ties to even; 1 <= s <= 31. */
static CU_HD uint32_t cu_rne_shift(uint32_t v, int s)
{
    uint32_t q = v >> s, r = v & ((1u << s) - 1u), half = 1u << (s - 1);

    if (r > half || (r == half && (q & 1u)))
        q++;
    return q;
}

/* Rounds finite non-negative f32 bits `a` into a format with mbits mantissa
 * bits and exponent bias `bias`; code without an upper bound. */
static CU_HD uint32_t cu_encode_abs(uint32_t a, int mbits, int bias)
{
    int e = (int)(a >> CU_F32_MANT_BITS);
    uint32_t m = a & (CU_F32_IMPLICIT - 1u);
    int min_normal_e = CU_F32_BIAS - bias + 1;
    int shift;

    if (e >= min_normal_e) {
        uint32_t v = ((uint32_t)(e - CU_F32_BIAS + bias) << CU_F32_MANT_BITS) | m;
        return cu_rne_shift(v, CU_F32_MANT_BITS - mbits);
    }
    if (e == 0)
        return 0;
    shift = (1 - bias - mbits) - (e - CU_F32_BIAS - CU_F32_MANT_BITS);
    if (shift > CU_F32_MANT_BITS + 1)
        return 0;
    return cu_rne_shift(m | CU_F32_IMPLICIT, shift);
}

static CU_HD float cu_f16_to_f32(uint32_t h)
{
    uint32_t sign = (h & 0x8000u) << 16, e = (h >> CU_F16_MANT_BITS) & 0x1fu, m = h & 0x3ffu;

    if (e == 0) {
        float mag = (float)m * 0x1p-24f; /* subnormal: m * 2^-24, exact */
        return sign ? -mag : mag;
    }
    if (e == 0x1fu)
        return cu_u2f(sign | CU_F32_INF | (m << 13));
    return cu_u2f(sign | ((e + CU_F32_BIAS - CU_F16_BIAS) << CU_F32_MANT_BITS) | (m << 13));
}

static CU_HD uint16_t cu_f32_to_f16(float f)
{
    uint32_t u = cu_f2u(f), a = u & CU_F32_ABS, code;
    uint16_t sign = (uint16_t)((u & CU_F32_SIGN) >> 16);

    if (a > CU_F32_INF)
        return sign | CU_F16_NAN;
#ifdef __CUDA_ARCH__
    /* The hardware's round to nearest even: the same bytes as below for
     * every non-NaN f (subnormals kept, overflow to infinity). */
    unsigned short h;

    (void)code;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
#else
    if (a == CU_F32_INF)
        return sign | CU_F16_INF;
    code = cu_encode_abs(a, CU_F16_MANT_BITS, CU_F16_BIAS);
    if (code > CU_F16_MAX_CODE)
        return sign | CU_F16_INF;
    return (uint16_t)(sign | code);
#endif
}

static CU_HD uint16_t cu_f32_to_bf16(float f)
{
    uint32_t u = cu_f2u(f);

    if ((u & CU_F32_ABS) > CU_F32_INF)
        return (uint16_t)(((u & CU_F32_SIGN) >> 16) | CU_BF16_NAN);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    unsigned short h; /* as cu_f32_to_f16: the bytes of the line below */

    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
#else
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
#endif
}

static CU_HD float cu_e4m3_to_f32(uint32_t c)
{
    uint32_t sign = (c & 0x80u) << 24, e = (c >> CU_E4M3_MANT_BITS) & 0xfu, m = c & 0x7u;

    if ((c & 0x7fu) == CU_E4M3_NAN)
        return cu_u2f(sign | 0x7fc00000u);
    if (e == 0) {
        float mag = (float)m * 0x1p-9f; /* subnormal unit 2^(1-7-3) */
        return sign ? -mag : mag;
    }
    return cu_u2f(sign | ((e + CU_F32_BIAS - CU_E4M3_BIAS) << CU_F32_MANT_BITS) |
                           (m << (CU_F32_MANT_BITS - CU_E4M3_MANT_BITS)));
}

/* scales[r] of a per-row E4M3 quantisation: amax / 448, and for a NaN row
 * the quiet NaN 0x7fc00000 the CPU stores (the GPU's own division would
 * give its canonical 0x7fffffff: the same value, other bytes). */
static __device__ __forceinline__ float cu_fp8_row_scale(float amax)
{
    return isnan(amax) ? __int_as_float(0x7fc00000) : __fdiv_rn(amax, PICTOR_E4M3_MAX);
}

static CU_HD uint8_t cu_f32_to_e4m3(float f, bool saturate)
{
    uint32_t u = cu_f2u(f), a = u & CU_F32_ABS, code;
    uint8_t sign = (uint8_t)((u & CU_F32_SIGN) >> 24);

    if (a > CU_F32_INF)
        return sign | CU_E4M3_NAN;
    if (a == CU_F32_INF)
        return sign | (saturate ? CU_E4M3_MAX_CODE : CU_E4M3_NAN);
    code = cu_encode_abs(a, CU_E4M3_MANT_BITS, CU_E4M3_BIAS);
    if (code > CU_E4M3_MAX_CODE)
        return sign | (saturate ? CU_E4M3_MAX_CODE : CU_E4M3_NAN);
    return (uint8_t)(sign | code);
}

/* E4M3 codes of two finite values, lo in the low byte: sm_89+'s
 * cvt.rn.satfinite.e4m3x2.f32 (round to nearest even, as cu_f32_to_e4m3;
 * a finite value past 448 saturates), elsewhere (and in the emulator)
 * cu_f32_to_e4m3 saturating. For finite values within E4M3's range both
 * give cu_f32_to_e4m3(v, false)'s bytes; NaN and infinity are the
 * callers' to keep away (the rows' slow path). */
static __device__ __forceinline__ uint32_t cu_e4m3x2_finite(float lo, float hi)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
    unsigned short r;

    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(r) : "f"(hi), "f"(lo));
    return r;
#else
    return (uint32_t)cu_f32_to_e4m3(lo, true) | (uint32_t)cu_f32_to_e4m3(hi, true) << 8;
#endif
}

/* Four finite values' codes in one word, v0 in the low byte. */
static __device__ __forceinline__ uint32_t cu_e4m3x4_finite(float v0, float v1, float v2,
                                                            float v3)
{
    return cu_e4m3x2_finite(v0, v1) | cu_e4m3x2_finite(v2, v3) << 16;
}

/* E5M2 is the top byte of binary16. */
static CU_HD float cu_e5m2_to_f32(uint32_t c)
{
    return cu_f16_to_f32(c << 8);
}

static CU_HD uint8_t cu_f32_to_e5m2(float f, bool saturate)
{
    uint32_t u = cu_f2u(f), a = u & CU_F32_ABS, code;
    uint8_t sign = (uint8_t)((u & CU_F32_SIGN) >> 24);

    if (a > CU_F32_INF)
        return sign | CU_E5M2_NAN;
    if (a == CU_F32_INF)
        return sign | (saturate ? CU_E5M2_MAX_CODE : CU_E5M2_INF);
    code = cu_encode_abs(a, CU_E5M2_MANT_BITS, CU_E5M2_BIAS);
    if (code > CU_E5M2_MAX_CODE)
        return sign | (saturate ? CU_E5M2_MAX_CODE : CU_E5M2_INF);
    return (uint8_t)(sign | code);
}

/* f32 -> integer as convert.c's f32_to_int: truncation, NaN -> 0, clamp. */
static CU_HD int64_t cu_f32_to_int(float x, double lo, double hi)
{
    if (isnan(x))
        return 0;
    if ((double)x <= lo)
        return (int64_t)lo;
    if ((double)x >= hi)
        return (int64_t)hi;
    return (int64_t)x;
}

/* ---- element load / store -------------------------------------------- */

/* Element at offset off of a `dtype` array as f32 (FP8: times scale; ints
 * by value). */
static CU_HD float cu_load_raw(const char *p, int dtype, int64_t off,
                                                    float scale)
{
    switch (dtype) {
    case PICTOR_F32:
        return ((const float *)p)[off];
    case PICTOR_F16:
        return cu_f16_to_f32(((const uint16_t *)p)[off]);
    case PICTOR_BF16:
        return cu_u2f((uint32_t)((const uint16_t *)p)[off] << 16);
    case PICTOR_F8_E4M3:
        return cu_e4m3_to_f32(((const uint8_t *)p)[off]) * scale;
    case PICTOR_F8_E5M2:
        return cu_e5m2_to_f32(((const uint8_t *)p)[off]) * scale;
    case PICTOR_I32:
        return (float)((const int32_t *)p)[off];
    case PICTOR_I64:
        return (float)((const int64_t *)p)[off];
    default:
        return 0.0f;
    }
}

/* Stores v at offset off, rounded as pictor_row_from_f32 does (FP8 encodes
 * v / scale, saturating when asked). */
static CU_HD void cu_store_raw(char *p, int dtype, int64_t off, float v,
                                                    float scale, bool saturate)
{
    switch (dtype) {
    case PICTOR_F32:
        ((float *)p)[off] = v;
        break;
    case PICTOR_F16:
        ((uint16_t *)p)[off] = cu_f32_to_f16(v);
        break;
    case PICTOR_BF16:
        ((uint16_t *)p)[off] = cu_f32_to_bf16(v);
        break;
    case PICTOR_F8_E4M3:
        ((uint8_t *)p)[off] = cu_f32_to_e4m3(v / scale, saturate);
        break;
    case PICTOR_F8_E5M2:
        ((uint8_t *)p)[off] = cu_f32_to_e5m2(v / scale, saturate);
        break;
    case PICTOR_I32:
        /* INT32 bounds as doubles (exact). */
        ((int32_t *)p)[off] = (int32_t)cu_f32_to_int(v, -2147483648.0, 2147483647.0);
        break;
    case PICTOR_I64:
        /* 2^63 is not an int64; the largest float below it is 2^63 - 2^39. */
        ((int64_t *)p)[off] = cu_f32_to_int(v, -0x1p63, 0x1p63 - 0x1p39);
        break;
    default:
        break;
    }
}

/* Flat element i of v as f32 (FP8: scale and row_scale applied). */
static CU_HD float cu_get(const cu_view &v, int64_t i)
{
    int64_t row;
    int64_t off = cu_offset(v, i, &row);
    float s = v.row_scale ? v.scale * v.row_scale[row] : v.scale;

    return cu_load_raw(v.data, v.dtype, off, s);
}

/* Stores flat element i of v (FP8: divides by v.scale; row_scale ignored,
 * as the CPU stores do). */
static CU_HD void cu_set(const cu_view &v, int64_t i, float x, bool saturate)
{
    int64_t row;
    int64_t off = cu_offset(v, i, &row);

    cu_store_raw(v.data, v.dtype, off, x, v.scale, saturate);
}

/* ---- activations ------------------------------------------------------- */

/* Constants as in kernels/cpu/op_unary.c. */
#define CU_GELU_TANH_K 0.7978845608028654f /* sqrt(2/pi) */
#define CU_GELU_TANH_C 0.044715f           /* Hendrycks & Gimpel 2016 */
#define CU_GELU_ERF_K 0.7071067811865476f  /* 1/sqrt(2) */
#define CU_QUICK_GELU_K 1.702f             /* OpenAI CLIP QuickGELU */

/* enum pictor_unary fn of x in f32 with the IEEE erff/tanhf/expf (the
 * unary op and the matmul epilogue). */
static __device__ __forceinline__ float cu_unary(int fn, float x)
{
    switch (fn) {
    case PICTOR_UNARY_GELU_ERF:
        return 0.5f * x * (1.0f + erff(x * CU_GELU_ERF_K));
    case PICTOR_UNARY_GELU_TANH:
        return 0.5f * x * (1.0f + tanhf(CU_GELU_TANH_K * (x + CU_GELU_TANH_C * x * x * x)));
    case PICTOR_UNARY_QUICK_GELU:
        return x / (1.0f + expf(-CU_QUICK_GELU_K * x));
    case PICTOR_UNARY_SILU:
        return x / (1.0f + expf(-x));
    default:
        return x;
    }
}

/* ---- launch shapes and reductions ------------------------------------- */

/* Blocks of CU_THREADS for n elements (n > 0), capped; kernels grid-stride. */
static inline unsigned cu_blocks(int64_t n)
{
    int64_t b = (n + CU_THREADS - 1) / CU_THREADS;

    return (unsigned)(b < CU_MAX_BLOCKS ? b : CU_MAX_BLOCKS);
}

#define CU_GRID_STRIDE(i, n)                                                             \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);            \
         i += (int64_t)gridDim.x * blockDim.x)

static __device__ __forceinline__ float cu_warp_sum(float v)
{
    for (int o = CU_WARP / 2; o > 0; o /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

static __device__ __forceinline__ float cu_warp_max(float v)
{
    for (int o = CU_WARP / 2; o > 0; o /= 2)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Sum of v over the block (blockDim.x a multiple of 32, <= 1024); every
 * thread gets the result. shm: CU_WARP floats of shared memory. Contains
 * __syncthreads: call from all threads of the block. */
static __device__ __forceinline__ float cu_block_sum(float v, float *shm)
{
    int lane = threadIdx.x % CU_WARP, warp = threadIdx.x / CU_WARP;
    int nwarps = blockDim.x / CU_WARP;

    v = cu_warp_sum(v);
    __syncthreads(); /* shm may still be read from a previous call */
    if (lane == 0)
        shm[warp] = v;
    __syncthreads();
    v = lane < nwarps ? shm[lane] : 0.0f;
    return cu_warp_sum(v);
}

/* Maximum of v over the block; as cu_block_sum. fmaxf ignores NaN, as the
 * CPU's `x > mx ? x : mx` loop does for NaN elements after the first. */
static __device__ __forceinline__ float cu_block_max(float v, float *shm)
{
    int lane = threadIdx.x % CU_WARP, warp = threadIdx.x / CU_WARP;
    int nwarps = blockDim.x / CU_WARP;

    v = cu_warp_max(v);
    __syncthreads();
    if (lane == 0)
        shm[warp] = v;
    __syncthreads();
    v = lane < nwarps ? shm[lane] : -INFINITY;
    return cu_warp_max(v);
}

/* |v| as bits: for non-negative floats the order of the bits is the order
 * of the values, and every NaN lies above +infinity. The maximum of these
 * over a row is its amax with any NaN winning: the CPU's amax loop with its
 * NaN flag (cpu_row_quantize_e4m3), in one integer max. */
static __device__ __forceinline__ uint32_t cu_abs_bits(float v)
{
    return __float_as_uint(v) & CU_F32_ABS;
}

/* The row's FP8 amax from each thread's running max of cu_abs_bits, as the
 * block's common value: NaN when any thread saw one, else floored at
 * PICTOR_FP8_AMAX_FLOOR. One redux.sync per warp, then each warp's maximum
 * through shm (CU_WARP words). Contains __syncthreads. */
static __device__ __forceinline__ float cu_block_amax(uint32_t bits, uint32_t *shm)
{
    const int lane = threadIdx.x % CU_WARP, warp = threadIdx.x / CU_WARP;
    const int nwarps = blockDim.x / CU_WARP;
    float amax;

    bits = __reduce_max_sync(0xffffffffu, bits);
    __syncthreads(); /* shm may still be read from a previous call */
    if (lane == 0)
        shm[warp] = bits;
    __syncthreads();
    bits = __reduce_max_sync(0xffffffffu, lane < nwarps ? shm[lane] : 0u);
    if (bits > CU_F32_INF)
        return NAN;
    amax = __uint_as_float(bits);
    return amax < PICTOR_FP8_AMAX_FLOOR ? PICTOR_FP8_AMAX_FLOOR : amax;
}

/* Rows of the last dim: count and length (a 0-d tensor is one row of 1). */
static inline void cu_rows_of(const pictor_tensor *t, int64_t *rows, int64_t *len)
{
    int64_t n = pictor_tensor_numel(t);

    *len = t->ndim ? t->shape[t->ndim - 1] : 1;
    *rows = *len ? n / *len : 0;
}

/* Grid size for `rows` blocks, capped (kernels loop over rows). */
static inline unsigned cu_row_blocks(int64_t rows)
{
    return (unsigned)(rows < CU_MAX_BLOCKS ? rows : CU_MAX_BLOCKS);
}

#endif /* PICTOR_CUDA_COMMON_CUH */
