/*
 * tests/unit/test_fp8_route_gate.c — the FP8 route of gated linears
 * (pictor_linear_gated, kernels/cuda/fp8_route.h), checked on the CPU
 * without a GPU: a gate the same for every row takes cuBLASLt's
 * OUTER_VEC_32F call with the gate folded in (accumulate: C = D = y, beta
 * 1), whatever the bias's dtype and stride (the fold writes a bf16 one);
 * a gate that varies across rows, a gate with an activation, or a y that
 * is not f32 keeps the epilogue kernel; what sends ungated calls to the
 * kernel (forced, arch, library, scales) does so for gated ones too.
 * What cuBLASLt then does on a GPU is tests/gpu/test_cross_gated_linear.c.
 */
#include "../../kernels/cuda/fp8_route.h"
#include "../../kernels/cuda/gemm_map.h"
#include "../harness/test.h"
#include "pictor/backend.h"
#include "pictor/tensor.h"

/* Stand-ins for device pointers (only tested for NULL and alignment). */
static _Alignas(256) float g_rows[64], g_cols[64];

/* FLUX's attention output projection under FP8 on an H100 with cuBLASLt
 * 13.1: gated (one batch item), f32 y, a bf16 bias, no activation. */
static struct fp8_route_in gated(void)
{
    struct fp8_route_in in = {
        .mode = FP8_SCALING_AUTO,
        .sm = FP8_OUTER_VEC_SM,
        .lt_version = 130100,
        .row_scale = g_rows,
        .col_scale = g_cols,
        .act = -1,
        .y_dtype = PICTOR_F32,
        .has_bias = true,
        .bias_dtype = PICTOR_BF16,
        .bias_len = 3072,
        .bias_stride = 1,
        .gated = true,
        .gate_uniform = true,
    };
    return in;
}

static void expect(const char *what, const struct fp8_route_in *in, enum fp8_why want)
{
    struct fp8_route r;

    fp8_route_pick(in, &r);
    CHECK(r.why == want, "%s: why %s, want %s", what, fp8_why_names[r.why],
          fp8_why_names[want]);
    CHECK(r.outer_vec == (want == FP8_WHY_NONE), "%s: outer_vec %d", what, r.outer_vec);
    CHECK(r.accumulate == (r.outer_vec && in->gated), "%s: accumulate %d", what,
          r.accumulate);
    CHECK(r.outer_vec || r.epilogue == 0, "%s: an epilogue asked for on the kernel route",
          what);
}

static void test_uniform_gate_folds(void)
{
    struct fp8_route_in in = gated();
    struct fp8_route r;

    fp8_route_pick(&in, &r);
    CHECK(r.outer_vec && r.accumulate && r.epilogue == GEMM_EPI_BIAS &&
              r.bias_dtype == PICTOR_BF16,
          "FLUX's gated projection: outer_vec %d accumulate %d epilogue %u bias dtype %d",
          r.outer_vec, r.accumulate, r.epilogue, r.bias_dtype);
    in.has_bias = false;
    fp8_route_pick(&in, &r);
    CHECK(r.outer_vec && r.accumulate && r.epilogue == 0, "no bias: epilogue %u", r.epilogue);
    /* any bias: the fold kernel writes gate * bias in bf16 */
    in = gated();
    in.bias_dtype = PICTOR_F32;
    expect("f32 bias", &in, FP8_WHY_NONE);
    in.bias_stride = 3;
    expect("strided f32 bias", &in, FP8_WHY_NONE);
    /* ungated, the f32 bias is refused by cuBLASLt's FP8 type table */
    in.gated = in.gate_uniform = false;
    expect("ungated f32 bias", &in, FP8_WHY_BIAS);
}

static void test_gate_keeps_kernel(void)
{
    struct fp8_route_in in = gated();

    in.gate_uniform = false;
    expect("a gate per row", &in, FP8_WHY_GATE);
    in = gated();
    in.act = PICTOR_UNARY_GELU_TANH; /* act(g v) != g act(v) */
    expect("a gate with tanh-GELU", &in, FP8_WHY_GATE);
    in.act = PICTOR_UNARY_SILU;
    expect("a gate with SiLU", &in, FP8_WHY_ACT);
    in = gated();
    in.y_dtype = PICTOR_BF16;
    expect("a bf16 y", &in, FP8_WHY_DTYPE);
    in = gated();
    in.mode = FP8_SCALING_EPILOGUE;
    expect("forced", &in, FP8_WHY_FORCED);
    in = gated();
    in.sm = 89;
    expect("Ada", &in, FP8_WHY_ARCH);
    in = gated();
    in.lt_version = 120800;
    expect("cuBLASLt 12.8", &in, FP8_WHY_LIBRARY);
    in = gated();
    in.row_scale = NULL;
    expect("no row scales", &in, FP8_WHY_SCALES);
    in = gated();
    in.col_scale = (const char *)g_cols + 4;
    expect("unaligned column scales", &in, FP8_WHY_ALIGN);
    CHECK(fp8_why_names[FP8_WHY_GATE] && fp8_why_names[FP8_WHY_GATE][0] == 'g',
          "FP8_WHY_GATE has a name");
}

int main(void)
{
    RUN(test_uniform_gate_folds);
    RUN(test_gate_keeps_kernel);
    TEST_MAIN_END();
}
