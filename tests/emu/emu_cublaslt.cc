/*
 * tests/emu/emu_cublaslt.cc — a stand-in for cuBLASLt under the CUDA
 * emulator (tests/emu/README.md): libcublasLt.so.<major> in the emulator's
 * library folder, found first by dlopen (kernels/cuda/cuda_libs.c), so the
 * backend's GEMM code (lt_plan.c, op_matmul*.c, fp8_route.c) runs end to
 * end on the CPU.
 *
 * It implements the entry points the backend calls (CUDA_LT_FUNCS in
 * kernels/cuda/cuda_libs.h), for what the backend asks of them, with the
 * semantics of cuBLASLt's documentation (column-major layouts):
 *   D = alpha * s_a * s_b * op(A) op(B) + beta * C (+ bias[i]) [then GELU]
 * where s_a, s_b are 1, the scalars behind A/B_SCALE_POINTER (SCALAR_32F),
 * or element i of A's vector and j of B's (OUTER_VEC_32F); the bias is
 * broadcast over columns and added before the GELU (tanh form); products
 * are summed in double and rounded once to D's type (RNE).
 * What it refuses, as cuBLASLt documents (CUBLAS_STATUS_NOT_SUPPORTED from
 * the heuristic, the check and the matmul): FP8 inputs below compute
 * capability 8.9 or not in the "TN" form (A transposed, B not), FP8 A/B
 * less than 16-byte aligned; OUTER_VEC_32F scales other than on FP8 inputs
 * at 9.0 and above; C and D of different types; mixed A/B types.
 * Attributes it does not know are refused with CUBLAS_STATUS_INVALID_VALUE
 * and a line on stderr, so a new use in the backend is noticed here.
 * This is a model of the documentation, not of NVIDIA's kernels: what the
 * real library accepts (say, beta 1 with vector scales) is only known on a
 * GPU (tools/gpu-check).
 * The matmul itself is queued on the stream (emu::enqueue): it runs at
 * once, or becomes a graph node while the stream is captured, with the
 * descriptor's state and alpha/beta as they were at the call.
 */
#include "emu_internal.h"

#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <stdio.h>
#include <stdlib.h>

#include <vector>

namespace {

constexpr uint64_t ALGO_MAGIC = 0x6c7475656d75ull; /* "umeutl" */

struct handle_obj {
    int unused;
};

struct desc_obj {
    cublasComputeType_t compute;
    cudaDataType_t scale_type;
    int32_t transa, transb;
    uint32_t epilogue;
    const void *bias;
    int32_t bias_type; /* -1: D's type */
    int32_t a_mode, b_mode;
    const void *a_scale, *b_scale;
};

struct layout_obj {
    cudaDataType_t type;
    uint64_t rows, cols;
    int64_t ld;
    int32_t batch;
    int64_t stride;
};

struct pref_obj {
    uint64_t workspace;
    uint32_t align[4]; /* A, B, C, D: bytes */
};

bool is_fp8(cudaDataType_t t)
{
    return t == CUDA_R_8F_E4M3 || t == CUDA_R_8F_E5M2;
}

size_t type_bytes(cudaDataType_t t)
{
    switch (t) {
    case CUDA_R_32F: return 4;
    case CUDA_R_16F:
    case CUDA_R_16BF: return 2;
    case CUDA_R_8F_E4M3:
    case CUDA_R_8F_E5M2: return 1;
    default: return 0;
    }
}

int device_sm()
{
    int major = 0, minor = 0;

    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
    cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0);
    return major * 10 + minor;
}

cublasStatus_t refuse(cublasStatus_t s, const char *why)
{
    if (getenv("EMU_VERBOSE"))
        fprintf(stderr, "emulated cuBLASLt: %s\n", why);
    return s;
}

/* Whether the problem is one the documented rules allow. */
cublasStatus_t supported(const desc_obj *d, const layout_obj *a, const layout_obj *b,
                         const layout_obj *c, const layout_obj *dd, const pref_obj *p)
{
    bool fp8 = is_fp8(a->type);

    if (d->compute != CUBLAS_COMPUTE_32F || d->scale_type != CUDA_R_32F)
        return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "compute type other than 32F");
    if (a->type != b->type && !(fp8 && is_fp8(b->type)))
        return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "A and B of different types");
    if (!type_bytes(a->type) || !type_bytes(dd->type) || is_fp8(dd->type))
        return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "a data type the emulation lacks");
    if (c->type != dd->type)
        return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "C and D of different types");
    if (!fp8 && a->type != CUDA_R_32F && dd->type != a->type && dd->type != CUDA_R_32F)
        return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "16-bit inputs with another 16-bit D");
    if (a->type == CUDA_R_32F && dd->type != CUDA_R_32F)
        return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "f32 inputs with a 16-bit D");
    if (fp8) {
        if (device_sm() < 89)
            return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "FP8 below compute capability 8.9");
        if (d->transa != CUBLAS_OP_T || d->transb != CUBLAS_OP_N)
            return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "FP8 not in the TN form");
        if (p && (p->align[0] % 16 || p->align[1] % 16))
            return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "FP8 A/B less than 16-byte aligned");
    }
    if (d->a_mode != d->b_mode)
        return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "A and B in different scale modes");
    if (d->a_mode == CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F && (!fp8 || device_sm() < 90))
        return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "OUTER_VEC_32F off FP8 or below 9.0");
    if (d->a_mode != CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F &&
        d->a_mode != CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F)
        return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "a scale mode the emulation lacks");
    switch (d->epilogue) {
    case CUBLASLT_EPILOGUE_DEFAULT:
    case CUBLASLT_EPILOGUE_BIAS:
    case CUBLASLT_EPILOGUE_GELU:
    case CUBLASLT_EPILOGUE_GELU_BIAS: break;
    default: return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "an epilogue the emulation lacks");
    }
    uint64_t m = d->transa == CUBLAS_OP_N ? a->rows : a->cols;
    uint64_t k = d->transa == CUBLAS_OP_N ? a->cols : a->rows;
    uint64_t kb = d->transb == CUBLAS_OP_N ? b->rows : b->cols;
    uint64_t n = d->transb == CUBLAS_OP_N ? b->cols : b->rows;
    if (k != kb || m != dd->rows || n != dd->cols || c->rows != dd->rows || c->cols != dd->cols)
        return refuse(CUBLAS_STATUS_INVALID_VALUE, "shapes do not chain");
    if ((int64_t)a->rows > a->ld || (int64_t)b->rows > b->ld || (int64_t)dd->rows > dd->ld ||
        c->ld != dd->ld)
        return refuse(CUBLAS_STATUS_INVALID_VALUE, "a leading dimension below the rows");
    if (a->batch != dd->batch || b->batch != dd->batch || c->batch != dd->batch)
        return refuse(CUBLAS_STATUS_INVALID_VALUE, "batch counts differ");
    return CUBLAS_STATUS_SUCCESS;
}

float load(const void *base, cudaDataType_t t, int64_t i)
{
    switch (t) {
    case CUDA_R_32F: return ((const float *)base)[i];
    case CUDA_R_16F: {
        __half_raw r;
        r.x = ((const uint16_t *)base)[i];
        return __half2float(__half(r));
    }
    case CUDA_R_16BF: {
        uint32_t u = (uint32_t)((const uint16_t *)base)[i] << 16;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    case CUDA_R_8F_E5M2: {
        __half_raw r;
        r.x = (unsigned short)(((const uint8_t *)base)[i] << 8);
        return __half2float(__half(r));
    }
    case CUDA_R_8F_E4M3: {
        uint8_t v = ((const uint8_t *)base)[i];
        int s = v >> 7, e = (v >> 3) & 15, mnt = v & 7;
        float f;
        if (e == 15 && mnt == 7)
            f = NAN;
        else if (e == 0)
            f = ldexpf((float)mnt, -9);
        else
            f = ldexpf(1.0f + mnt / 8.0f, e - 7);
        return s ? -f : f;
    }
    default: return NAN;
    }
}

void store(void *base, cudaDataType_t t, int64_t i, float v)
{
    switch (t) {
    case CUDA_R_32F: ((float *)base)[i] = v; break;
    case CUDA_R_16F: {
        __half_raw r = __half_raw(__float2half_rn(v));
        ((uint16_t *)base)[i] = r.x;
        break;
    }
    case CUDA_R_16BF: {
        __nv_bfloat16_raw r = __nv_bfloat16_raw(__float2bfloat16_rn(v));
        ((uint16_t *)base)[i] = r.x;
        break;
    }
    default: break;
    }
}

float gelu_tanh(float x)
{
    const float c = 0.7978845608028654f; /* sqrt(2 / pi) */
    return 0.5f * x * (1.0f + tanhf(c * (x + 0.044715f * x * x * x)));
}

/* One matmul with everything copied: runs later when captured. */
struct job {
    desc_obj d;
    layout_obj a, b, c, dd;
    float alpha, beta;
    const void *A, *B, *C;
    void *D;

    void run() const
    {
        int64_t m = (int64_t)dd.rows, n = (int64_t)dd.cols;
        int64_t k = (int64_t)(d.transa == CUBLAS_OP_N ? a.cols : a.rows);
        bool vec = d.a_mode == CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
        bool bias = d.epilogue == CUBLASLT_EPILOGUE_BIAS || d.epilogue == CUBLASLT_EPILOGUE_GELU_BIAS;
        bool gelu = d.epilogue == CUBLASLT_EPILOGUE_GELU || d.epilogue == CUBLASLT_EPILOGUE_GELU_BIAS;
        cudaDataType_t bt = d.bias_type >= 0 ? (cudaDataType_t)d.bias_type : dd.type;
        float sa = 1.0f, sb = 1.0f;

        if (!vec && d.a_scale)
            sa = *(const float *)d.a_scale;
        if (!vec && d.b_scale)
            sb = *(const float *)d.b_scale;
        for (int32_t bi = 0; bi < dd.batch; bi++) {
            const char *pa = (const char *)A + bi * a.stride * (int64_t)type_bytes(a.type);
            const char *pb = (const char *)B + bi * b.stride * (int64_t)type_bytes(b.type);
            const char *pc = (const char *)C + bi * c.stride * (int64_t)type_bytes(c.type);
            char *pd = (char *)D + bi * dd.stride * (int64_t)type_bytes(dd.type);

            /* op(A) as [m][k] and op(B) as [n][k] floats: decoded once */
            std::vector<float> fa((size_t)(m * k)), fb((size_t)(n * k));
            for (int64_t i = 0; i < m; i++)
                for (int64_t l = 0; l < k; l++)
                    fa[(size_t)(i * k + l)] =
                        load(pa, a.type, d.transa == CUBLAS_OP_N ? i + l * a.ld : l + i * a.ld);
            for (int64_t j = 0; j < n; j++)
                for (int64_t l = 0; l < k; l++)
                    fb[(size_t)(j * k + l)] =
                        load(pb, b.type, d.transb == CUBLAS_OP_N ? l + j * b.ld : j + l * b.ld);
            for (int64_t j = 0; j < n; j++)
                for (int64_t i = 0; i < m; i++) {
                    const float *ra = &fa[(size_t)(i * k)], *rb = &fb[(size_t)(j * k)];
                    double s = 0.0;

                    for (int64_t l = 0; l < k; l++)
                        s += (double)ra[l] * (double)rb[l];
                    float v = (float)s * alpha;
                    if (vec)
                        v *= ((const float *)d.a_scale)[i] * ((const float *)d.b_scale)[j];
                    else
                        v *= sa * sb;
                    if (beta != 0.0f)
                        v += beta * load(pc, c.type, i + j * c.ld);
                    if (bias)
                        v += load(d.bias, bt, i);
                    if (gelu)
                        v = gelu_tanh(v);
                    store(pd, dd.type, i + j * dd.ld, v);
                }
        }
    }
};

cublasStatus_t set_attr(void *dst, size_t want, const void *src, size_t n, int attr,
                        const char *what)
{
    if (n != want) {
        fprintf(stderr, "emulated cuBLASLt: %s attribute %d: %zu bytes, expected %zu\n", what,
                attr, n, want);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    memcpy(dst, src, n);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t unknown_attr(const char *what, int attr)
{
    fprintf(stderr, "emulated cuBLASLt: %s attribute %d is not emulated (tests/emu)\n", what, attr);
    return CUBLAS_STATUS_INVALID_VALUE;
}

} /* namespace */

extern "C" {

cublasStatus_t cublasLtCreate(cublasLtHandle_t *h)
{
    *h = (cublasLtHandle_t) new handle_obj();
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t h)
{
    delete (handle_obj *)h;
    return CUBLAS_STATUS_SUCCESS;
}

size_t cublasLtGetVersion(void)
{
    return CUBLAS_VERSION;
}

const char *cublasLtGetStatusName(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    default: return "CUBLAS_STATUS_(emulated, other)";
    }
}

const char *cublasLtGetStatusString(cublasStatus_t s)
{
    return cublasLtGetStatusName(s);
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *out, cublasComputeType_t ct,
                                        cudaDataType_t st)
{
    desc_obj *d = new desc_obj();

    d->compute = ct;
    d->scale_type = st;
    d->transa = d->transb = CUBLAS_OP_N;
    d->epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    d->bias_type = -1;
    d->a_mode = d->b_mode = CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F;
    *out = (cublasLtMatmulDesc_t)d;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d)
{
    delete (desc_obj *)d;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t dd,
                                              cublasLtMatmulDescAttributes_t a, const void *v,
                                              size_t n)
{
    desc_obj *d = (desc_obj *)dd;
    const char *w = "matmul descriptor";

    switch (a) {
    case CUBLASLT_MATMUL_DESC_TRANSA: return set_attr(&d->transa, 4, v, n, a, w);
    case CUBLASLT_MATMUL_DESC_TRANSB: return set_attr(&d->transb, 4, v, n, a, w);
    case CUBLASLT_MATMUL_DESC_EPILOGUE: return set_attr(&d->epilogue, 4, v, n, a, w);
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: return set_attr(&d->bias, sizeof(void *), v, n, a, w);
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: return set_attr(&d->bias_type, 4, v, n, a, w);
    case CUBLASLT_MATMUL_DESC_A_SCALE_MODE: return set_attr(&d->a_mode, 4, v, n, a, w);
    case CUBLASLT_MATMUL_DESC_B_SCALE_MODE: return set_attr(&d->b_mode, 4, v, n, a, w);
    case CUBLASLT_MATMUL_DESC_A_SCALE_POINTER: return set_attr(&d->a_scale, sizeof(void *), v, n, a, w);
    case CUBLASLT_MATMUL_DESC_B_SCALE_POINTER: return set_attr(&d->b_scale, sizeof(void *), v, n, a, w);
    default: return unknown_attr(w, a);
    }
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *out, cudaDataType t,
                                          uint64_t rows, uint64_t cols, int64_t ld)
{
    layout_obj *l = new layout_obj();

    l->type = t;
    l->rows = rows;
    l->cols = cols;
    l->ld = ld;
    l->batch = 1;
    *out = (cublasLtMatrixLayout_t)l;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l)
{
    delete (layout_obj *)l;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t ll,
                                                cublasLtMatrixLayoutAttribute_t a, const void *v,
                                                size_t n)
{
    layout_obj *l = (layout_obj *)ll;
    const char *w = "matrix layout";

    switch (a) {
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: return set_attr(&l->batch, 4, v, n, a, w);
    case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: return set_attr(&l->stride, 8, v, n, a, w);
    default: return unknown_attr(w, a);
    }
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *out)
{
    pref_obj *p = new pref_obj();

    for (int i = 0; i < 4; i++)
        p->align[i] = 256;
    *out = (cublasLtMatmulPreference_t)p;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p)
{
    delete (pref_obj *)p;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pp,
                                                    cublasLtMatmulPreferenceAttributes_t a,
                                                    const void *v, size_t n)
{
    pref_obj *p = (pref_obj *)pp;
    const char *w = "preference";

    switch (a) {
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES: return set_attr(&p->workspace, 8, v, n, a, w);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES: return set_attr(&p->align[0], 4, v, n, a, w);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES: return set_attr(&p->align[1], 4, v, n, a, w);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES: return set_attr(&p->align[2], 4, v, n, a, w);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES: return set_attr(&p->align[3], 4, v, n, a, w);
    default: return unknown_attr(w, a);
    }
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t d,
                                              cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                              cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t dd,
                                              cublasLtMatmulPreference_t p, int requested,
                                              cublasLtMatmulHeuristicResult_t *res, int *count)
{
    cublasStatus_t s = supported((desc_obj *)d, (layout_obj *)a, (layout_obj *)b,
                                 (layout_obj *)c, (layout_obj *)dd, (pref_obj *)p);

    (void)h;
    *count = 0;
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    if (requested < 1)
        return CUBLAS_STATUS_INVALID_VALUE;
    memset(&res[0], 0, sizeof res[0]);
    res[0].algo.data[0] = ALGO_MAGIC;
    res[0].workspaceSize = 0;
    res[0].state = CUBLAS_STATUS_SUCCESS;
    res[0].wavesCount = 1.0f;
    *count = 1;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulAlgoCheck(cublasLtHandle_t h, cublasLtMatmulDesc_t d,
                                       cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                       cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t dd,
                                       const cublasLtMatmulAlgo_t *algo,
                                       cublasLtMatmulHeuristicResult_t *res)
{
    (void)h;
    if (algo->data[0] != ALGO_MAGIC)
        return CUBLAS_STATUS_INVALID_VALUE;
    cublasStatus_t s = supported((desc_obj *)d, (layout_obj *)a, (layout_obj *)b,
                                 (layout_obj *)c, (layout_obj *)dd, NULL);
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    res->workspaceSize = 0;
    res->state = CUBLAS_STATUS_SUCCESS;
    res->wavesCount = 1.0f;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t d, const void *alpha,
                              const void *A, cublasLtMatrixLayout_t la, const void *B,
                              cublasLtMatrixLayout_t lb, const void *beta, const void *C,
                              cublasLtMatrixLayout_t lc, void *D, cublasLtMatrixLayout_t ld,
                              const cublasLtMatmulAlgo_t *algo, void *ws, size_t wsn,
                              cudaStream_t stream)
{
    (void)h;
    (void)ws;
    (void)wsn;
    if (algo && algo->data[0] != ALGO_MAGIC)
        return CUBLAS_STATUS_INVALID_VALUE;
    cublasStatus_t s = supported((desc_obj *)d, (layout_obj *)la, (layout_obj *)lb,
                                 (layout_obj *)lc, (layout_obj *)ld, NULL);
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    job j;
    j.d = *(desc_obj *)d;
    j.a = *(layout_obj *)la;
    j.b = *(layout_obj *)lb;
    j.c = *(layout_obj *)lc;
    j.dd = *(layout_obj *)ld;
    j.alpha = *(const float *)alpha;
    j.beta = *(const float *)beta;
    j.A = A;
    j.B = B;
    j.C = C;
    j.D = D;
    if ((j.d.a_mode == CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F &&
         (!j.d.a_scale || !j.d.b_scale)) ||
        ((j.d.epilogue == CUBLASLT_EPILOGUE_BIAS || j.d.epilogue == CUBLASLT_EPILOGUE_GELU_BIAS) &&
         !j.d.bias))
        return refuse(CUBLAS_STATUS_INVALID_VALUE, "a scale or bias pointer is missing");
    emu::enqueue(stream, "cublasLtMatmul", [j]() { j.run(); });
    return CUBLAS_STATUS_SUCCESS;
}

} /* extern "C" */
