/*
 * kernels/cuda/fp8_route.h — where the CUDA matmul applies the scales of
 * an FP8 linear that goes to cuBLASLt as E4M3 codes (op_matmul.c's direct
 * FP8 GEMM: E4M3 x E4M3 in the TN layout on sm_89+, a's per-token
 * row_scale, the weight's per-output-channel col_scale). Two ways:
 *
 *   outer_vec  cuBLASLt applies them itself: A and B SCALE_MODE =
 *              CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F, which exists
 *              from cuBLAS 12.9 and only on compute capability 9.0
 *              (CUDA.md §1.3, §1.7). The bias and a tanh-GELU ride the
 *              GEMM's epilogue and D is y itself, in y's dtype: one
 *              rounding from f32, no f32 intermediate in memory;
 *   epilogue   an unscaled GEMM into an f32 D, then the epilogue kernel
 *              (op_matmul_epilogue.cu): y = act(D * row_scale[m] *
 *              col_scale[n] + bias[n]), one rounding. Every FP8 GPU, every
 *              activation, any bias dtype; costs an f32 write and read of
 *              D (M x N x 8 bytes: 453 MB for FLUX's 4608-token 3072 ->
 *              12288 MLP linear at 1024²).
 *
 * fp8_route_pick decides from what is known before cuBLASLt is asked:
 * outer_vec needs PICTOR_FP8_SCALING not "epilogue", compute capability
 * 9.0 exactly, cuBLASLt >= 12.9 at run time, both scale vectors present
 * and 16-byte aligned, no activation or tanh-GELU (cuBLASLt's GELU is the
 * tanh approximation, CUDA.md §1.4: erf-GELU, SiLU, ... keep the epilogue
 * kernel), and a bias cuBLASLt's FP8 kernels take (the cuBLAS FP8 type
 * table: bias of D's type for a 16-bit D, bf16 for an f32 D; unit stride)
 * or none. Whether cuBLASLt then has an algorithm is decided once per
 * GEMM problem by its heuristic (lt_plan.h): with GELU it may fall back to
 * the bias epilogue alone (the activation then runs in place on y), and
 * with no algorithm at all the problem takes the epilogue path.
 *
 * Gated calls (pictor_linear_gated: y += gate * (x W^T + b), y f32). On
 * outer_vec the gate folds into cuBLASLt's operands: A's scale vector
 * becomes col_scale ⊙ gate and the bias gate ⊙ bias (a tiny kernel per
 * call into stream-ordered scratch; the bias in bf16, the BIAS_DATA_TYPE
 * cuBLASLt's FP8 kernels take beside an f32 D: one bf16 rounding of
 * gate·bias that the epilogue path does not make), and C = D = y with
 * beta 1 (r.accumulate). That needs a gate equal for every row of the
 * GEMM (gate_uniform: [N], [1, N], or one batch item's [1, 1, N]) and no
 * activation (act(g·v) is not g·act(v)); any bias dtype and stride will
 * do (the fold kernel writes the bf16 one). Whether cuBLASLt offers an
 * algorithm for E4M3 x E4M3 with OUTER_VEC scales, f32 C and D and beta 1
 * is again the heuristic's verdict, asked once per problem (the plan key
 * has the accumulate flag). None (or a gate that varies by row, or an
 * activation) sends the call to the ungated OUTER_VEC route into bf16
 * scratch followed by the gated-add kernel (op_matmul_fp8.c: the unfused
 * layer's traffic, less than an f32 D), and failing that to the epilogue
 * path, where the kernel does y += gate * v after an f32 D of scratch.
 * Pure C: built in every configuration, unit-tested on the CPU
 * (tests/unit/test_fp8_route.c, test_fp8_route_gate.c).
 */
#ifndef PICTOR_FP8_ROUTE_H
#define PICTOR_FP8_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The only compute capability (major * 10 + minor) with OUTER_VEC_32F:
 * NVIDIA's answer in CUDALibrarySamples issue #270 (CUDA.md §1.3); 8.9
 * has per-tensor scales only, 10.x block scales (VEC32_UE8M0). */
#define FP8_OUTER_VEC_SM 90
/* Oldest cuBLASLt with OUTER_VEC_32F, as cublasLtGetVersion() counts
 * (major * 10000 + minor * 100 + patch): 12.9.0 (CUDA.md §1.3, §1.7;
 * torch._scaled_mm gates on the same number). */
#define FP8_OUTER_VEC_MIN_LT 120900
/* Alignment asked of the scale vectors: what cuBLAS asks of its other
 * scale tensors (start address 16-byte aligned, CUDA.md §1.1). */
#define FP8_SCALE_ALIGN 16

/* PICTOR_FP8_SCALING (read at backend creation). */
enum fp8_scaling {
    FP8_SCALING_AUTO,     /* outer_vec where it applies (default) */
    FP8_SCALING_EPILOGUE, /* always the epilogue kernel */
};

/* The value of PICTOR_FP8_SCALING: NULL, "" and "auto" are AUTO,
 * "epilogue" is EPILOGUE. false (and AUTO) for anything else. */
bool fp8_scaling_parse(const char *value, enum fp8_scaling *out);

/* Why a call takes the epilogue path (FP8_WHY_NONE: it takes outer_vec). */
enum fp8_why {
    FP8_WHY_NONE,
    FP8_WHY_FORCED,  /* PICTOR_FP8_SCALING=epilogue */
    FP8_WHY_ARCH,    /* not compute capability 9.0 */
    FP8_WHY_LIBRARY, /* cuBLASLt older than 12.9 */
    FP8_WHY_SCALES,  /* row_scale or col_scale missing */
    FP8_WHY_ALIGN,   /* a scale vector not 16-byte aligned */
    FP8_WHY_ACT,     /* an activation cuBLASLt's epilogue lacks */
    FP8_WHY_BIAS,    /* a bias dtype or stride cuBLASLt's FP8 kernels lack */
    FP8_WHY_DTYPE,   /* y not f32, f16 or bf16 (or not f32 with a gate) */
    FP8_WHY_GATE,    /* a gate that varies across rows, or with an act */
    FP8_WHY_COUNT
};

/* Short names of enum fp8_why ("forced", "arch", ...), for messages. */
extern const char *const fp8_why_names[FP8_WHY_COUNT];

/* What fp8_route_pick looks at. Pointers are only tested for NULL and
 * alignment, never read. */
struct fp8_route_in {
    enum fp8_scaling mode;
    int sm;                 /* compute capability, major * 10 + minor */
    size_t lt_version;      /* cublasLtGetVersion() */
    const void *row_scale;  /* a's per-token scales [M] f32, or NULL */
    const void *col_scale;  /* per-output-channel scales [N] f32, or NULL */
    int act;                /* enum pictor_unary, or -1 for none */
    int y_dtype;            /* enum pictor_dtype of y (= D) */
    bool has_bias;
    int bias_dtype;         /* enum pictor_dtype (with has_bias) */
    int64_t bias_len, bias_stride; /* elements (with has_bias) */
    bool gated;             /* y += gate * result (pictor_linear_gated) */
    bool gate_uniform;      /* with gated: one gate row for all of y's rows */
};

struct fp8_route {
    bool outer_vec;     /* cuBLASLt applies the scales (why == NONE) */
    enum fp8_why why;
    uint32_t epilogue;  /* with outer_vec: GEMM_EPI_* to ask cuBLASLt for */
    int bias_dtype;     /* with GEMM_EPI_BIAS: the BIAS_DATA_TYPE, as an
                           enum pictor_dtype */
    bool accumulate;    /* with outer_vec, gated: the gate folded into A's
                           scales and the bias, C = D = y, beta 1 */
};

/* The bias dtype cuBLASLt's FP8 kernels take beside a D of y_dtype (the
 * cuBLAS FP8 type table, cublasLtMatmul: bf16 D -> bf16, f16 D -> f16,
 * f32 D -> bf16). */
int fp8_route_bias_dtype(int y_dtype);

/* Decides the route of one call (see the top of this file). */
void fp8_route_pick(const struct fp8_route_in *in, struct fp8_route *out);

#endif /* PICTOR_FP8_ROUTE_H */
