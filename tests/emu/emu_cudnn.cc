/*
 * tests/emu/emu_cudnn.cc — a stand-in for cuDNN under the CUDA emulator
 * (tests/emu/README.md): libcudnn.so.<major> in the emulator's library
 * folder, so the backend's cuDNN code (op_conv2d.c, op_sdpa_cudnn.c, the
 * FP8 attention graph of op_sdpa_fp8*.c, dnn_graph.c) runs end to end on
 * the CPU.
 *
 * The entry points are those of CUDA_DNN_FUNCS (kernels/cuda/cuda_libs.h),
 * with the semantics of cuDNN's documentation, for what the backend asks:
 *   - legacy convolution: packed NCHW/NHWC 4-d tensors and filters, f32,
 *     f16, bf16, cross-correlation with padding, stride and dilation;
 *     y = alpha conv(x, w) + beta y, summed in double, rounded once;
 *   - the backend (graph) API as an interpreter: tensors (dims, strides,
 *     data type, unique id, virtual, by value), operations MATMUL (batched
 *     over the leading dims), CONVOLUTION_FORWARD (2-d cross-correlation,
 *     beta 0), POINTWISE (ADD, SUB, MUL, DIV, EXP, LOG,
 *     IDENTITY; NumPy broadcasting of B), REDUCTION (ADD, MAX, AMAX over
 *     the dims where Y has extent 1) and SDPA_FWD (softmax(scale Q K^T) V
 *     per head), run in dependency order in f32; a tensor of an FP8 type,
 *     virtual or not, holds E4M3/E5M2 values (round to nearest even,
 *     saturating to the largest finite value, as cuDNN's FP8 outputs);
 *     engine heuristics offer three configurations that compute alike, the
 *     second's engine noted as runtime-compiled (CUDNN_ATTR_ENGINECFG_ENGINE
 *     and CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE answer it: what dnn_tune.h asks),
 *     none for graphs with FP8 tensors below compute capability 9.0
 *     (cuDNN's FP8 attention engines are Hopper and Blackwell ones), and
 *     execution plans need no workspace. Execution is queued on the handle's stream (emu::enqueue)
 *     with the variant pack's pointers and by-value scalars as they are at
 *     the call, so it lands in captured graphs.
 * A model of the documentation, not of NVIDIA's engines: which graphs the
 * real library accepts (the FP8 graph needs its Stats branch, found by
 * planning it deviceless: tests/unit/test_sdpa_fp8_dnn_plan.c) and how its
 * kernels round are only known on a GPU. Attributes and operations the
 * backend does not use are refused (CUDNN_STATUS_NOT_SUPPORTED) with a line
 * on stderr.
 */
#include "emu_internal.h"

#include <cudnn.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <map>
#include <memory>
#include <vector>

namespace {

/* Engine configs the heuristics offer for a supported graph (all compute
 * the same; dnn_tune.h times them), and the one whose engine notes runtime
 * compilation (dnn_tune skips it). */
#define EMU_DNN_ENGINES 3
#define EMU_DNN_RTC_ENGINE 1

/* ---- element access --------------------------------------------------------- */

size_t dt_bytes(cudnnDataType_t t)
{
    switch (t) {
    case CUDNN_DATA_FLOAT: return 4;
    case CUDNN_DATA_DOUBLE: return 8;
    case CUDNN_DATA_HALF:
    case CUDNN_DATA_BFLOAT16: return 2;
    case CUDNN_DATA_FP8_E4M3:
    case CUDNN_DATA_FP8_E5M2: return 1;
    default: return 0;
    }
}

float e4m3_value(uint8_t v)
{
    int s = v >> 7, e = (v >> 3) & 15, m = v & 7;
    float f;

    if (e == 15 && m == 7)
        f = NAN;
    else if (e == 0)
        f = ldexpf((float)m, -9);
    else
        f = ldexpf(1.0f + m / 8.0f, e - 7);
    return s ? -f : f;
}

/* Nearest E4M3 code (ties to even), saturating to +-448; NaN stays NaN. */
uint8_t e4m3_code(float x)
{
    if (isnan(x))
        return 0x7f;
    uint8_t sign = signbit(x) ? 0x80 : 0, best = 0;
    float ax = fabsf(x), bd = INFINITY;

    if (ax >= 448.0f)
        return sign | 0x7e;
    for (int c = 0; c < 0x7f; c++) { /* 127 finite magnitudes: exhaustive */
        float d = fabsf(e4m3_value((uint8_t)c) - ax);
        if (d < bd || (d == bd && !(c & 1))) {
            bd = d;
            best = (uint8_t)c;
        }
    }
    return sign | best;
}

float half_value(uint16_t h)
{
    __half_raw r;
    r.x = h;
    return __half2float(__half(r));
}

float load(const void *p, cudnnDataType_t t, int64_t i)
{
    switch (t) {
    case CUDNN_DATA_FLOAT: return ((const float *)p)[i];
    case CUDNN_DATA_DOUBLE: return (float)((const double *)p)[i];
    case CUDNN_DATA_HALF: return half_value(((const uint16_t *)p)[i]);
    case CUDNN_DATA_BFLOAT16: {
        uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    case CUDNN_DATA_FP8_E4M3: return e4m3_value(((const uint8_t *)p)[i]);
    case CUDNN_DATA_FP8_E5M2: return half_value((uint16_t)(((const uint8_t *)p)[i] << 8));
    default: return NAN;
    }
}

/* v rounded to type t (as a float). */
float round_to(cudnnDataType_t t, float v)
{
    switch (t) {
    case CUDNN_DATA_HALF: return __half2float(__float2half_rn(v));
    case CUDNN_DATA_BFLOAT16: return __bfloat162float(__float2bfloat16_rn(v));
    case CUDNN_DATA_FP8_E4M3: return e4m3_value(e4m3_code(v));
    case CUDNN_DATA_FP8_E5M2: {
        float s = fminf(fmaxf(v, -57344.0f), 57344.0f);
        __half_raw r = __half_raw(__float2half_rn(s));
        uint16_t h = r.x;
        uint16_t up = (uint16_t)(h + 0x7f + ((h >> 8) & 1)); /* RNE to the high byte */
        return half_value((uint16_t)(up & 0xff00));
    }
    default: return v;
    }
}

void store(void *p, cudnnDataType_t t, int64_t i, float v)
{
    switch (t) {
    case CUDNN_DATA_FLOAT: ((float *)p)[i] = v; break;
    case CUDNN_DATA_DOUBLE: ((double *)p)[i] = v; break;
    case CUDNN_DATA_HALF: {
        __half_raw r = __half_raw(__float2half_rn(v));
        ((uint16_t *)p)[i] = r.x;
        break;
    }
    case CUDNN_DATA_BFLOAT16: {
        __nv_bfloat16_raw r = __nv_bfloat16_raw(__float2bfloat16_rn(v));
        ((uint16_t *)p)[i] = r.x;
        break;
    }
    case CUDNN_DATA_FP8_E4M3: ((uint8_t *)p)[i] = e4m3_code(v); break;
    case CUDNN_DATA_FP8_E5M2: {
        float r = round_to(CUDNN_DATA_FP8_E5M2, v);
        __half_raw h = __half_raw(__float2half_rn(r));
        ((uint8_t *)p)[i] = (uint8_t)(h.x >> 8);
        break;
    }
    default: break;
    }
}

cudnnStatus_t refuse(const char *what)
{
    fprintf(stderr, "emulated cuDNN: %s is not emulated (tests/emu)\n", what);
    return CUDNN_STATUS_NOT_SUPPORTED;
}

int device_sm()
{
    int major = 0, minor = 0;

    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
    cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0);
    return major * 10 + minor;
}

/* ---- handle --------------------------------------------------------------------- */

struct handle_obj {
    cudaStream_t stream;
};

thread_local char t_last_error[256];

/* ---- legacy descriptors ------------------------------------------------------- */

struct tensor4 {
    cudnnTensorFormat_t fmt;
    cudnnDataType_t dt;
    int n, c, h, w;
    /* element offset of (n, c, h, w) in the packed layout */
    int64_t at(int64_t in, int64_t ic, int64_t ih, int64_t iw) const
    {
        if (fmt == CUDNN_TENSOR_NHWC)
            return ((in * h + ih) * w + iw) * c + ic;
        return ((in * c + ic) * h + ih) * w + iw;
    }
};

struct conv_obj {
    int pad_h, pad_w, u, v, dil_h, dil_w;
    cudnnConvolutionMode_t mode;
    cudnnDataType_t compute;
};

/* ---- the backend API --------------------------------------------------------------- */

struct attr {
    cudnnBackendAttributeType_t type;
    int64_t count;
    std::vector<uint8_t> bytes;
};

struct bdesc {
    cudnnBackendDescriptorType_t type;
    std::map<int, attr> attrs;
    bool finalized;
    /* ENGINECFG / EXECUTION_PLAN: the graph they run */
    bdesc *graph;
    /* ENGINECFG / ENGINE: which of the heuristics' results it is */
    int engine;

    const attr *get(int name) const
    {
        auto it = attrs.find(name);
        return it == attrs.end() ? NULL : &it->second;
    }
    template <class T> T one(int name, T dflt) const
    {
        const attr *a = get(name);
        T v = dflt;
        if (a && a->bytes.size() >= sizeof(T))
            memcpy(&v, a->bytes.data(), sizeof(T));
        return v;
    }
    bdesc *ref(int name) const { return one<bdesc *>(name, NULL); }
    std::vector<int64_t> ints(int name) const
    {
        const attr *a = get(name);
        std::vector<int64_t> v;
        if (a) {
            v.resize((size_t)a->count);
            memcpy(v.data(), a->bytes.data(), (size_t)a->count * sizeof(int64_t));
        }
        return v;
    }
};

size_t attr_elem(cudnnBackendAttributeType_t t)
{
    switch (t) {
    case CUDNN_TYPE_HANDLE: return sizeof(cudnnHandle_t);
    case CUDNN_TYPE_DATA_TYPE: return sizeof(cudnnDataType_t);
    case CUDNN_TYPE_BOOLEAN: return sizeof(bool);
    case CUDNN_TYPE_INT64: return sizeof(int64_t);
    case CUDNN_TYPE_FLOAT: return sizeof(float);
    case CUDNN_TYPE_DOUBLE: return sizeof(double);
    case CUDNN_TYPE_VOID_PTR: return sizeof(void *);
    case CUDNN_TYPE_BACKEND_DESCRIPTOR: return sizeof(void *);
    case CUDNN_TYPE_HEUR_MODE: return sizeof(cudnnBackendHeurMode_t);
    case CUDNN_TYPE_POINTWISE_MODE: return sizeof(cudnnPointwiseMode_t);
    case CUDNN_TYPE_REDUCTION_OPERATOR_TYPE: return sizeof(cudnnReduceTensorOp_t);
    case CUDNN_TYPE_CONVOLUTION_MODE: return sizeof(cudnnConvolutionMode_t);
    case CUDNN_TYPE_CHAR: return 1;
    default: return 0;
    }
}

/* A tensor of a graph while it executes: dense values in row-major order of
 * its dims. */
struct tval {
    std::vector<int64_t> dims, strides;
    cudnnDataType_t dt;
    std::vector<float> v;
};

struct run_ctx {
    std::map<int64_t, void *> ptrs; /* uid -> device (or host, by value) memory */
    std::map<int64_t, float> by_value;
    std::map<const bdesc *, tval> vals;
    char why[256];
};

int64_t numel(const std::vector<int64_t> &d)
{
    int64_t n = 1;
    for (int64_t x : d)
        n *= x;
    return n;
}

/* Offset of dense index i of dims in a layout with strides. */
int64_t strided(const std::vector<int64_t> &dims, const std::vector<int64_t> &st, int64_t i)
{
    int64_t off = 0;
    for (int d = (int)dims.size() - 1; d >= 0; d--) {
        off += (i % dims[(size_t)d]) * st[(size_t)d];
        i /= dims[(size_t)d];
    }
    return off;
}

/* Reads tensor t (its values so far, or its memory). */
bool read(run_ctx &r, const bdesc *t, tval &out)
{
    auto it = r.vals.find(t);
    if (it != r.vals.end()) {
        out = it->second;
        return true;
    }
    int64_t uid = t->one<int64_t>(CUDNN_ATTR_TENSOR_UNIQUE_ID, -1);
    out.dims = t->ints(CUDNN_ATTR_TENSOR_DIMENSIONS);
    out.strides = t->ints(CUDNN_ATTR_TENSOR_STRIDES);
    out.dt = t->one<cudnnDataType_t>(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_DATA_FLOAT);
    if (t->one<bool>(CUDNN_ATTR_TENSOR_IS_VIRTUAL, false)) {
        snprintf(r.why, sizeof r.why, "virtual tensor %lld read before it is written",
                 (long long)uid);
        return false;
    }
    auto bv = r.by_value.find(uid);
    auto p = r.ptrs.find(uid);
    if (bv == r.by_value.end() && p == r.ptrs.end()) {
        snprintf(r.why, sizeof r.why, "tensor %lld has no pointer in the variant pack",
                 (long long)uid);
        return false;
    }
    int64_t n = numel(out.dims);
    out.v.resize((size_t)n);
    for (int64_t i = 0; i < n; i++)
        out.v[(size_t)i] = bv != r.by_value.end()
                               ? bv->second
                               : load(p->second, out.dt, strided(out.dims, out.strides, i));
    return true;
}

/* Writes values (dense over t's dims) to t, rounded to its type. */
bool write(run_ctx &r, const bdesc *t, std::vector<float> v)
{
    tval o;
    o.dims = t->ints(CUDNN_ATTR_TENSOR_DIMENSIONS);
    o.strides = t->ints(CUDNN_ATTR_TENSOR_STRIDES);
    o.dt = t->one<cudnnDataType_t>(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_DATA_FLOAT);
    if ((int64_t)v.size() != numel(o.dims)) {
        snprintf(r.why, sizeof r.why, "an operation's result does not fill its output tensor");
        return false;
    }
    for (float &x : v)
        x = round_to(o.dt, x);
    if (!t->one<bool>(CUDNN_ATTR_TENSOR_IS_VIRTUAL, false)) {
        int64_t uid = t->one<int64_t>(CUDNN_ATTR_TENSOR_UNIQUE_ID, -1);
        auto p = r.ptrs.find(uid);
        if (p == r.ptrs.end()) {
            snprintf(r.why, sizeof r.why, "output tensor %lld has no pointer", (long long)uid);
            return false;
        }
        for (int64_t i = 0; i < (int64_t)v.size(); i++)
            store(p->second, o.dt, strided(o.dims, o.strides, i), v[(size_t)i]);
    }
    o.v = std::move(v);
    r.vals[t] = std::move(o);
    return true;
}

/* Index into x (dims xd, NumPy-broadcast to yd) of dense index i of yd. */
int64_t bcast_index(const std::vector<int64_t> &xd, const std::vector<int64_t> &yd, int64_t i)
{
    int64_t off = 0, mul = 1;
    for (int d = (int)yd.size() - 1; d >= 0; d--) {
        int64_t c = i % yd[(size_t)d];
        i /= yd[(size_t)d];
        int xdim = d - ((int)yd.size() - (int)xd.size());
        if (xdim >= 0) {
            int64_t e = xd[(size_t)xdim];
            off += (e == 1 ? 0 : c) * mul;
            mul *= e;
        }
    }
    return off;
}

bool op_pointwise(run_ctx &r, const bdesc *op)
{
    const bdesc *pw = op->ref(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR);
    const bdesc *x = op->ref(CUDNN_ATTR_OPERATION_POINTWISE_XDESC);
    const bdesc *b = op->ref(CUDNN_ATTR_OPERATION_POINTWISE_BDESC);
    const bdesc *y = op->ref(CUDNN_ATTR_OPERATION_POINTWISE_YDESC);
    auto mode = pw->one<cudnnPointwiseMode_t>(CUDNN_ATTR_POINTWISE_MODE, CUDNN_POINTWISE_ADD);
    tval xv, bv;
    std::vector<int64_t> yd = y->ints(CUDNN_ATTR_TENSOR_DIMENSIONS);

    if (!read(r, x, xv) || (b && !read(r, b, bv)))
        return false;
    std::vector<float> out((size_t)numel(yd));
    for (int64_t i = 0; i < (int64_t)out.size(); i++) {
        float a = xv.v[(size_t)bcast_index(xv.dims, yd, i)];
        float c = b ? bv.v[(size_t)bcast_index(bv.dims, yd, i)] : 0.0f;
        switch (mode) {
        case CUDNN_POINTWISE_ADD: out[(size_t)i] = a + c; break;
        case CUDNN_POINTWISE_SUB: out[(size_t)i] = a - c; break;
        case CUDNN_POINTWISE_MUL: out[(size_t)i] = a * c; break;
        case CUDNN_POINTWISE_DIV: out[(size_t)i] = a / c; break;
        case CUDNN_POINTWISE_EXP: out[(size_t)i] = expf(a); break;
        case CUDNN_POINTWISE_LOG: out[(size_t)i] = logf(a); break;
        case CUDNN_POINTWISE_IDENTITY: out[(size_t)i] = a; break;
        default:
            snprintf(r.why, sizeof r.why, "pointwise mode %d", (int)mode);
            return false;
        }
    }
    return write(r, y, std::move(out));
}

bool op_reduction(run_ctx &r, const bdesc *op)
{
    const bdesc *red = op->ref(CUDNN_ATTR_OPERATION_REDUCTION_DESC);
    const bdesc *x = op->ref(CUDNN_ATTR_OPERATION_REDUCTION_XDESC);
    const bdesc *y = op->ref(CUDNN_ATTR_OPERATION_REDUCTION_YDESC);
    auto mode = red->one<cudnnReduceTensorOp_t>(CUDNN_ATTR_REDUCTION_OPERATOR,
                                                CUDNN_REDUCE_TENSOR_ADD);
    tval xv;
    std::vector<int64_t> yd = y->ints(CUDNN_ATTR_TENSOR_DIMENSIONS);

    if (!read(r, x, xv))
        return false;
    if (yd.size() != xv.dims.size()) {
        snprintf(r.why, sizeof r.why, "reduction between tensors of different ranks");
        return false;
    }
    std::vector<double> acc((size_t)numel(yd), mode == CUDNN_REDUCE_TENSOR_ADD ? 0.0 : -INFINITY);
    if (mode == CUDNN_REDUCE_TENSOR_AMAX)
        std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t i = 0; i < (int64_t)xv.v.size(); i++) {
        /* x's index -> y's: reduced dims (extent 1 in y) drop out */
        int64_t rem = i, yi = 0, mul = 1;
        for (int d = (int)yd.size() - 1; d >= 0; d--) {
            int64_t c = rem % xv.dims[(size_t)d];
            rem /= xv.dims[(size_t)d];
            yi += (yd[(size_t)d] == 1 ? 0 : c) * mul;
            mul *= yd[(size_t)d];
        }
        double v = xv.v[(size_t)i], &a = acc[(size_t)yi];
        switch (mode) {
        case CUDNN_REDUCE_TENSOR_ADD: a += v; break;
        case CUDNN_REDUCE_TENSOR_MAX: a = v > a ? v : a; break;
        case CUDNN_REDUCE_TENSOR_AMAX: a = fabs(v) > a ? fabs(v) : a; break;
        default:
            snprintf(r.why, sizeof r.why, "reduction operator %d", (int)mode);
            return false;
        }
    }
    return write(r, y, std::vector<float>(acc.begin(), acc.end()));
}

/* C[.., m, n] = sum_k A[.., m, k] B[.., k, n], leading dims broadcast. */
bool op_matmul(run_ctx &r, const bdesc *op)
{
    const bdesc *a = op->ref(CUDNN_ATTR_OPERATION_MATMUL_ADESC);
    const bdesc *b = op->ref(CUDNN_ATTR_OPERATION_MATMUL_BDESC);
    const bdesc *c = op->ref(CUDNN_ATTR_OPERATION_MATMUL_CDESC);
    tval av, bv;
    std::vector<int64_t> cd = c->ints(CUDNN_ATTR_TENSOR_DIMENSIONS);

    if (!read(r, a, av) || !read(r, b, bv))
        return false;
    size_t nd = cd.size();
    if (nd < 2 || av.dims.size() != nd || bv.dims.size() != nd) {
        snprintf(r.why, sizeof r.why, "matmul operands of different ranks");
        return false;
    }
    int64_t M = cd[nd - 2], N = cd[nd - 1], K = av.dims[nd - 1];
    if (av.dims[nd - 2] != M || bv.dims[nd - 2] != K || bv.dims[nd - 1] != N) {
        snprintf(r.why, sizeof r.why, "matmul shapes do not chain");
        return false;
    }
    std::vector<int64_t> lead(cd.begin(), cd.end() - 2), al(av.dims.begin(), av.dims.end() - 2),
        bl(bv.dims.begin(), bv.dims.end() - 2);
    int64_t batches = numel(lead);
    std::vector<float> out((size_t)(batches * M * N));
    for (int64_t t = 0; t < batches; t++) {
        const float *pa = &av.v[(size_t)(bcast_index(al, lead, t) * M * K)];
        const float *pb = &bv.v[(size_t)(bcast_index(bl, lead, t) * K * N)];
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0.0;
                for (int64_t k = 0; k < K; k++)
                    s += (double)pa[i * K + k] * (double)pb[k * N + j];
                out[(size_t)((t * M + i) * N + j)] = (float)s;
            }
    }
    return write(r, c, std::move(out));
}

/* O = softmax(scale Q K^T) V per (batch, head). */
bool op_sdpa(run_ctx &r, const bdesc *op)
{
    const bdesc *q = op->ref(CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC);
    const bdesc *k = op->ref(CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC);
    const bdesc *v = op->ref(CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC);
    const bdesc *o = op->ref(CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC);
    const bdesc *s = op->ref(CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC);
    tval qv, kv, vv, sv;

    if (!read(r, q, qv) || !read(r, k, kv) || !read(r, v, vv) || (s && !read(r, s, sv)))
        return false;
    if (qv.dims.size() != 4) {
        snprintf(r.why, sizeof r.why, "SDPA operands not 4-d");
        return false;
    }
    int64_t B = qv.dims[0], H = qv.dims[1], Lq = qv.dims[2], D = qv.dims[3];
    int64_t Lk = kv.dims[2], Dv = vv.dims[3];
    float scale = s ? sv.v[0] : 1.0f;
    std::vector<float> out((size_t)(B * H * Lq * Dv));
    std::vector<double> p((size_t)Lk);
    for (int64_t bh = 0; bh < B * H; bh++)
        for (int64_t i = 0; i < Lq; i++) {
            double mx = -INFINITY, z = 0.0;
            for (int64_t j = 0; j < Lk; j++) {
                double d = 0.0;
                for (int64_t e = 0; e < D; e++)
                    d += (double)qv.v[(size_t)((bh * Lq + i) * D + e)] *
                         (double)kv.v[(size_t)((bh * Lk + j) * D + e)];
                p[(size_t)j] = d * scale;
                mx = p[(size_t)j] > mx ? p[(size_t)j] : mx;
            }
            for (int64_t j = 0; j < Lk; j++)
                z += (p[(size_t)j] = exp(p[(size_t)j] - mx));
            for (int64_t e = 0; e < Dv; e++) {
                double acc = 0.0;
                for (int64_t j = 0; j < Lk; j++)
                    acc += p[(size_t)j] * (double)vv.v[(size_t)((bh * Lk + j) * Dv + e)];
                out[(size_t)((bh * Lq + i) * Dv + e)] = (float)(acc / z);
            }
        }
    return write(r, o, std::move(out));
}

/* Y {N,K,OH,OW} = alpha * cross-correlation of X {N,C,H,W} with W {K,C,R,S}
 * (the convolution descriptor's paddings, strides, dilations), summed in
 * double; beta must be 0 (the backend never accumulates into Y). */
bool op_conv_fwd(run_ctx &r, const bdesc *op)
{
    const bdesc *x = op->ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X);
    const bdesc *w = op->ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W);
    const bdesc *y = op->ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y);
    const bdesc *cd = op->ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC);
    float alpha = op->one<float>(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, 1.0f);
    float beta = op->one<float>(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, 0.0f);
    tval xv, wv;
    std::vector<int64_t> yd = y->ints(CUDNN_ATTR_TENSOR_DIMENSIONS);

    if (!cd || beta != 0.0f ||
        cd->one<cudnnConvolutionMode_t>(CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_CONVOLUTION) !=
            CUDNN_CROSS_CORRELATION) {
        snprintf(r.why, sizeof r.why, "convolution: only cross-correlation with beta 0");
        return false;
    }
    if (!read(r, x, xv) || !read(r, w, wv))
        return false;
    std::vector<int64_t> pad = cd->ints(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS);
    std::vector<int64_t> post = cd->ints(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS);
    std::vector<int64_t> str = cd->ints(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES);
    std::vector<int64_t> dil = cd->ints(CUDNN_ATTR_CONVOLUTION_DILATIONS);
    if (xv.dims.size() != 4 || wv.dims.size() != 4 || yd.size() != 4 || pad.size() != 2 ||
        post.size() != 2 || str.size() != 2 || dil.size() != 2) {
        snprintf(r.why, sizeof r.why, "convolution: 2-d only");
        return false;
    }
    const int64_t N = xv.dims[0], C = xv.dims[1], H = xv.dims[2], W = xv.dims[3];
    const int64_t K = wv.dims[0], R = wv.dims[2], S = wv.dims[3];
    const int64_t OH = (H + pad[0] + post[0] - dil[0] * (R - 1) - 1) / str[0] + 1;
    const int64_t OW = (W + pad[1] + post[1] - dil[1] * (S - 1) - 1) / str[1] + 1;
    if (wv.dims[1] != C || yd[0] != N || yd[1] != K || yd[2] != OH || yd[3] != OW) {
        snprintf(r.why, sizeof r.why, "convolution: shapes do not agree");
        return false;
    }
    std::vector<float> out((size_t)numel(yd));
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    double acc = 0.0;
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t i = 0; i < R; i++) {
                            int64_t ih = oh * str[0] - pad[0] + i * dil[0];
                            if (ih < 0 || ih >= H)
                                continue;
                            for (int64_t j = 0; j < S; j++) {
                                int64_t iw = ow * str[1] - pad[1] + j * dil[1];
                                if (iw < 0 || iw >= W)
                                    continue;
                                acc += (double)xv.v[(size_t)(((n * C + c) * H + ih) * W + iw)] *
                                       (double)wv.v[(size_t)(((k * C + c) * R + i) * S + j)];
                            }
                        }
                    out[(size_t)(((n * K + k) * OH + oh) * OW + ow)] = (float)(alpha * acc);
                }
    return write(r, y, std::move(out));
}

/* The graph's operations and the tensors each reads and writes. */
struct op_io {
    const bdesc *op;
    std::vector<const bdesc *> in, out;
};

std::vector<op_io> graph_ops(const bdesc *g)
{
    std::vector<op_io> v;
    const attr *a = g->get(CUDNN_ATTR_OPERATIONGRAPH_OPS);
    for (int64_t i = 0; a && i < a->count; i++) {
        const bdesc *op;
        memcpy(&op, a->bytes.data() + i * sizeof op, sizeof op);
        op_io io{ op, {}, {} };
        switch (op->type) {
        case CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR:
            io.in = { op->ref(CUDNN_ATTR_OPERATION_POINTWISE_XDESC) };
            if (op->ref(CUDNN_ATTR_OPERATION_POINTWISE_BDESC))
                io.in.push_back(op->ref(CUDNN_ATTR_OPERATION_POINTWISE_BDESC));
            io.out = { op->ref(CUDNN_ATTR_OPERATION_POINTWISE_YDESC) };
            break;
        case CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR:
            io.in = { op->ref(CUDNN_ATTR_OPERATION_REDUCTION_XDESC) };
            io.out = { op->ref(CUDNN_ATTR_OPERATION_REDUCTION_YDESC) };
            break;
        case CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR:
            io.in = { op->ref(CUDNN_ATTR_OPERATION_MATMUL_ADESC),
                      op->ref(CUDNN_ATTR_OPERATION_MATMUL_BDESC) };
            io.out = { op->ref(CUDNN_ATTR_OPERATION_MATMUL_CDESC) };
            break;
        case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR:
            io.in = { op->ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X),
                      op->ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W) };
            io.out = { op->ref(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y) };
            break;
        case CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR:
            io.in = { op->ref(CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC),
                      op->ref(CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC),
                      op->ref(CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC),
                      op->ref(CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC) };
            io.out = { op->ref(CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC) };
            break;
        default: break;
        }
        v.push_back(io);
    }
    return v;
}

bool run_graph(run_ctx &r, const bdesc *g)
{
    std::vector<op_io> ops = graph_ops(g);
    std::vector<bool> done(ops.size(), false);
    size_t left = ops.size();

    while (left) {
        bool progressed = false;
        for (size_t i = 0; i < ops.size(); i++) {
            if (done[i])
                continue;
            bool ready = true;
            for (const bdesc *t : ops[i].in) /* a virtual input must be written first */
                if (t && t->one<bool>(CUDNN_ATTR_TENSOR_IS_VIRTUAL, false) && !r.vals.count(t))
                    ready = false;
            if (!ready)
                continue;
            const bdesc *op = ops[i].op;
            bool ok;
            switch (op->type) {
            case CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR: ok = op_pointwise(r, op); break;
            case CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR: ok = op_reduction(r, op); break;
            case CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR: ok = op_matmul(r, op); break;
            case CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR: ok = op_sdpa(r, op); break;
            case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR:
                ok = op_conv_fwd(r, op);
                break;
            default:
                snprintf(r.why, sizeof r.why, "operation type %d", (int)op->type);
                ok = false;
            }
            if (!ok)
                return false;
            done[i] = true;
            left--;
            progressed = true;
        }
        if (!progressed) {
            snprintf(r.why, sizeof r.why, "a virtual tensor is read but never written");
            return false;
        }
    }
    return true;
}

/* Whether the emulated heuristics offer an engine for graph g. */
bool graph_supported(const bdesc *g, char *why, size_t n)
{
    for (const op_io &io : graph_ops(g)) {
        if (io.op->type != CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR &&
            io.op->type != CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR &&
            io.op->type != CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR &&
            io.op->type != CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR &&
            io.op->type != CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR) {
            snprintf(why, n, "operation type %d", (int)io.op->type);
            return false;
        }
        for (const bdesc *t : io.in)
            if (t) {
                auto dt = t->one<cudnnDataType_t>(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_DATA_FLOAT);
                if ((dt == CUDNN_DATA_FP8_E4M3 || dt == CUDNN_DATA_FP8_E5M2) && device_sm() < 90) {
                    snprintf(why, n, "FP8 attention engines need compute capability 9.0+");
                    return false;
                }
            }
    }
    return true;
}

/* Legacy descriptors are plain objects: made and freed alike. */
template <class O, class H> cudnnStatus_t make_obj(H *out)
{
    *out = (H) new O();
    return CUDNN_STATUS_SUCCESS;
}
template <class O, class H> cudnnStatus_t free_obj(H d)
{
    delete (O *)d;
    return CUDNN_STATUS_SUCCESS;
}

/* A 4-d tensor or filter (n = K for a filter), packed in format f. */
cudnnStatus_t set4(void *d, cudnnTensorFormat_t f, cudnnDataType_t dt, int n, int c, int h, int w)
{
    if (f != CUDNN_TENSOR_NCHW && f != CUDNN_TENSOR_NHWC)
        return refuse("a layout other than NCHW/NHWC (KCRS/KRSC)");
    *(tensor4 *)d = tensor4{ f, dt, n, c, h, w };
    return CUDNN_STATUS_SUCCESS;
}

} /* namespace */

extern "C" {

size_t cudnnGetVersion(void)
{
    return CUDNN_VERSION;
}

cudnnStatus_t cudnnCreate(cudnnHandle_t *h)
{
    *h = (cudnnHandle_t) new handle_obj{ 0 };
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t h)
{
    delete (handle_obj *)h;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s)
{
    ((handle_obj *)h)->stream = s;
    return CUDNN_STATUS_SUCCESS;
}

const char *cudnnGetErrorString(cudnnStatus_t s)
{
    switch (s) {
    case CUDNN_STATUS_SUCCESS: return "CUDNN_STATUS_SUCCESS";
    case CUDNN_STATUS_NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED (emulated)";
    case CUDNN_STATUS_BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM (emulated)";
    default: return "CUDNN_STATUS_(emulated, other)";
    }
}

void cudnnGetLastErrorString(char *msg, size_t n)
{
    snprintf(msg, n, "%s", t_last_error);
}

/* legacy convolution */

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *d)
{
    return make_obj<tensor4>(d);
}

cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d)
{
    return free_obj<tensor4>(d);
}

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t f,
                                         cudnnDataType_t dt, int n, int c, int h, int w)
{
    return set4(d, f, dt, n, c, h, w);
}

cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *d)
{
    return make_obj<tensor4>(d);
}

cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d)
{
    return free_obj<tensor4>(d);
}

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t dt,
                                         cudnnTensorFormat_t f, int k, int c, int h, int w)
{
    return set4(d, f, dt, k, c, h, w);
}

cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *d)
{
    return make_obj<conv_obj>(d);
}

cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d)
{
    return free_obj<conv_obj>(d);
}

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int ph, int pw,
                                              int u, int v, int dh, int dw,
                                              cudnnConvolutionMode_t mode, cudnnDataType_t ct)
{
    *(conv_obj *)d = conv_obj{ ph, pw, u, v, dh, dw, mode, ct };
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m)
{
    (void)d;
    (void)m;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t cd,
                                                    const cudnnTensorDescriptor_t xd,
                                                    const cudnnFilterDescriptor_t wd, int *n,
                                                    int *c, int *h, int *w)
{
    const conv_obj *cv = (const conv_obj *)cd;
    const tensor4 *x = (const tensor4 *)xd, *f = (const tensor4 *)wd;

    *n = x->n;
    *c = f->n;
    *h = (x->h + 2 * cv->pad_h - (cv->dil_h * (f->h - 1) + 1)) / cv->u + 1;
    *w = (x->w + 2 * cv->pad_w - (cv->dil_w * (f->w - 1) + 1)) / cv->v + 1;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t h,
                                                     const cudnnTensorDescriptor_t xd,
                                                     const cudnnFilterDescriptor_t wd,
                                                     const cudnnConvolutionDescriptor_t cd,
                                                     const cudnnTensorDescriptor_t yd, int want,
                                                     int *got, cudnnConvolutionFwdAlgoPerf_t *res)
{
    (void)h;
    (void)xd;
    (void)wd;
    (void)cd;
    (void)yd;
    *got = 0;
    if (want < 1)
        return CUDNN_STATUS_BAD_PARAM;
    memset(&res[0], 0, sizeof res[0]);
    res[0].algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    res[0].status = CUDNN_STATUS_SUCCESS;
    res[0].memory = 0;
    res[0].mathType = CUDNN_DEFAULT_MATH;
    *got = 1;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *alpha,
                                      const cudnnTensorDescriptor_t xd, const void *x,
                                      const cudnnFilterDescriptor_t wd, const void *w,
                                      const cudnnConvolutionDescriptor_t cd,
                                      cudnnConvolutionFwdAlgo_t algo, void *ws, size_t wsn,
                                      const void *beta, const cudnnTensorDescriptor_t yd, void *y)
{
    tensor4 X = *(const tensor4 *)xd, W = *(const tensor4 *)wd, Y = *(const tensor4 *)yd;
    conv_obj C = *(const conv_obj *)cd;
    float a = *(const float *)alpha, b = *(const float *)beta;

    (void)algo;
    (void)ws;
    (void)wsn;
    if (X.dt != W.dt || X.dt != Y.dt || !dt_bytes(X.dt) || X.c != W.c || Y.c != W.n)
        return CUDNN_STATUS_BAD_PARAM;
    emu::enqueue(((handle_obj *)h)->stream, "cudnnConvolutionForward", [=]() {
        for (int n = 0; n < Y.n; n++)
            for (int k = 0; k < Y.c; k++)
                for (int oh = 0; oh < Y.h; oh++)
                    for (int ow = 0; ow < Y.w; ow++) {
                        double s = 0.0;
                        for (int c = 0; c < X.c; c++)
                            for (int r = 0; r < W.h; r++)
                                for (int q = 0; q < W.w; q++) {
                                    int fr = C.mode == CUDNN_CONVOLUTION ? W.h - 1 - r : r;
                                    int fq = C.mode == CUDNN_CONVOLUTION ? W.w - 1 - q : q;
                                    int ih = oh * C.u - C.pad_h + r * C.dil_h;
                                    int iw = ow * C.v - C.pad_w + q * C.dil_w;
                                    if (ih < 0 || iw < 0 || ih >= X.h || iw >= X.w)
                                        continue;
                                    s += (double)load(x, X.dt, X.at(n, c, ih, iw)) *
                                         (double)load(w, W.dt, W.at(k, c, fr, fq));
                                }
                        int64_t o = Y.at(n, k, oh, ow);
                        float v = a * (float)s;
                        if (b != 0.0f)
                            v += b * load(y, Y.dt, o);
                        store(y, Y.dt, o, v);
                    }
    });
    return CUDNN_STATUS_SUCCESS;
}

/* the backend API */

cudnnStatus_t cudnnBackendCreateDescriptor(cudnnBackendDescriptorType_t t,
                                           cudnnBackendDescriptor_t *out)
{
    bdesc *d = new bdesc();

    d->type = t;
    d->finalized = false;
    d->graph = NULL;
    d->engine = 0;
    *out = (cudnnBackendDescriptor_t)d;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendDestroyDescriptor(cudnnBackendDescriptor_t d)
{
    delete (bdesc *)d;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendSetAttribute(cudnnBackendDescriptor_t dd,
                                       cudnnBackendAttributeName_t name,
                                       cudnnBackendAttributeType_t type, int64_t count,
                                       const void *v)
{
    bdesc *d = (bdesc *)dd;
    size_t e = attr_elem(type);

    if (!e) {
        snprintf(t_last_error, sizeof t_last_error, "attribute type %d", (int)type);
        return refuse(t_last_error);
    }
    if (d->finalized || count < 0)
        return CUDNN_STATUS_BAD_PARAM;
    attr a;
    a.type = type;
    a.count = count;
    a.bytes.assign((const uint8_t *)v, (const uint8_t *)v + (size_t)count * e);
    d->attrs[(int)name] = std::move(a);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendFinalize(cudnnBackendDescriptor_t dd)
{
    bdesc *d = (bdesc *)dd;

    switch (d->type) {
    case CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR:
        if (!d->ref(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH))
            return CUDNN_STATUS_BAD_PARAM;
        break;
    case CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR: {
        bdesc *cfg = d->ref(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG);
        if (!cfg || !cfg->graph)
            return CUDNN_STATUS_BAD_PARAM;
        d->graph = cfg->graph;
        break;
    }
    default: break;
    }
    d->finalized = true;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendGetAttribute(const cudnnBackendDescriptor_t dd,
                                       cudnnBackendAttributeName_t name,
                                       cudnnBackendAttributeType_t type, int64_t requested,
                                       int64_t *count, void *out)
{
    const bdesc *d = (const bdesc *)dd;

    if (d->type == CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR && name == CUDNN_ATTR_ENGINEHEUR_RESULTS) {
        bdesc *g = d->ref(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH);
        char why[128];
        int64_t n = graph_supported(g, why, sizeof why) ? EMU_DNN_ENGINES : 0;
        if (!n)
            snprintf(t_last_error, sizeof t_last_error, "no engine: %s", why);
        *count = requested == 0 ? n : (n < requested ? n : requested);
        for (int64_t i = 0; out && i < *count; i++) {
            bdesc *cfg = ((bdesc **)out)[i];
            cfg->graph = g;
            cfg->engine = (int)i;
            cfg->finalized = true;
        }
        return CUDNN_STATUS_SUCCESS;
    }
    if (d->type == CUDNN_BACKEND_ENGINECFG_DESCRIPTOR && name == CUDNN_ATTR_ENGINECFG_ENGINE &&
        type == CUDNN_TYPE_BACKEND_DESCRIPTOR) {
        if (requested < 1 || !out || !d->graph)
            return CUDNN_STATUS_BAD_PARAM;
        bdesc *eng = *(bdesc **)out;
        eng->engine = d->engine;
        eng->finalized = true;
        *count = 1;
        return CUDNN_STATUS_SUCCESS;
    }
    if (d->type == CUDNN_BACKEND_ENGINE_DESCRIPTOR && name == CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE &&
        type == CUDNN_TYPE_BEHAVIOR_NOTE) {
        *count = d->engine == EMU_DNN_RTC_ENGINE ? 1 : 0;
        if (*count && requested >= 1 && out)
            *(cudnnBackendBehaviorNote_t *)out = CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION;
        return CUDNN_STATUS_SUCCESS;
    }
    if (d->type == CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR &&
        name == CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE) {
        *count = 1;
        *(int64_t *)out = 0;
        return CUDNN_STATUS_SUCCESS;
    }
    const attr *a = d->get((int)name);
    if (!a || a->type != type)
        return refuse("reading an attribute that was not set");
    *count = a->count;
    if (out)
        memcpy(out, a->bytes.data(),
               (size_t)(requested < a->count ? requested : a->count) * attr_elem(type));
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendExecute(cudnnHandle_t h, cudnnBackendDescriptor_t plan,
                                  cudnnBackendDescriptor_t vp)
{
    const bdesc *p = (const bdesc *)plan, *pack = (const bdesc *)vp;
    std::vector<int64_t> uids = pack->ints(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS);
    const attr *ptrs = pack->get(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS);
    auto r = std::make_shared<run_ctx>();

    if (!p->graph || !ptrs || (int64_t)uids.size() != ptrs->count)
        return CUDNN_STATUS_BAD_PARAM;
    for (size_t i = 0; i < uids.size(); i++) {
        void *ptr;
        memcpy(&ptr, ptrs->bytes.data() + i * sizeof ptr, sizeof ptr);
        r->ptrs[uids[i]] = ptr;
    }
    /* by-value scalars are read now, as cuDNN reads them at the call */
    for (const op_io &io : graph_ops(p->graph))
        for (const bdesc *t : io.in)
            if (t && t->one<bool>(CUDNN_ATTR_TENSOR_IS_BY_VALUE, false)) {
                int64_t uid = t->one<int64_t>(CUDNN_ATTR_TENSOR_UNIQUE_ID, -1);
                auto it = r->ptrs.find(uid);
                if (it == r->ptrs.end())
                    return CUDNN_STATUS_BAD_PARAM;
                r->by_value[uid] = *(const float *)it->second;
            }
    const bdesc *g = p->graph;
    emu::enqueue(((handle_obj *)h)->stream, "cudnnBackendExecute", [r, g]() {
        run_ctx mine = *r; /* a replayed graph starts from the same state */
        if (!run_graph(mine, g))
            fprintf(stderr, "emulated cuDNN: executing a graph failed: %s\n", mine.why);
    });
    return CUDNN_STATUS_SUCCESS;
}

} /* extern "C" */
