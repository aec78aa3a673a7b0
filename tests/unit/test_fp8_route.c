/*
 * tests/unit/test_fp8_route.c — the CUDA matmul's FP8 scaling decisions,
 * checked on the CPU without a GPU: which calls cuBLASLt's OUTER_VEC_32F
 * scaling takes and why the others keep the epilogue kernel
 * (kernels/cuda/fp8_route.h), PICTOR_FP8_SCALING's values, and the
 * epilogue fallback order a cuBLASLt plan walks when no algorithm offers
 * what it asked for (gemm_epilogue_fallback / _reachable, gemm_map.h).
 * What cuBLASLt then does on a GPU is tests/gpu/test_cross_fp8_scaling.c.
 */
#include <stdint.h>

#include "../../kernels/cuda/fp8_route.h"
#include "../../kernels/cuda/gemm_map.h"
#include "../harness/test.h"
#include "pictor/backend.h"
#include "pictor/tensor.h"
#include "pictor/tensor_util.h"

/* Stand-ins for device pointers (only tested for NULL and alignment). */
static _Alignas(256) float g_rows[64], g_cols[64];

/* A call that takes outer_vec: an H100 with cuBLASLt 13.1, both scale
 * vectors, a bf16 y with a bf16 bias, no activation. */
static struct fp8_route_in base(void)
{
    struct fp8_route_in in = {
        .mode = FP8_SCALING_AUTO,
        .sm = 90,
        .lt_version = 130100,
        .row_scale = g_rows,
        .col_scale = g_cols,
        .act = -1,
        .y_dtype = PICTOR_BF16,
        .has_bias = true,
        .bias_dtype = PICTOR_BF16,
        .bias_len = 3072,
        .bias_stride = 1,
    };
    return in;
}

static enum fp8_why why_of(const struct fp8_route_in *in)
{
    struct fp8_route r;

    fp8_route_pick(in, &r);
    CHECK(r.outer_vec == (r.why == FP8_WHY_NONE), "outer_vec %d but why %s", r.outer_vec,
          fp8_why_names[r.why]);
    CHECK(r.outer_vec || r.epilogue == 0, "an epilogue asked for on the kernel route");
    return r.why;
}

#define CHECK_WHY(in, want)                                                                  \
    do {                                                                                     \
        enum fp8_why w_ = why_of(&(in));                                                     \
        CHECK(w_ == (want), "%s: why %s, want %s", #in, fp8_why_names[w_],                 \
              fp8_why_names[want]);                                                          \
    } while (0)

static void test_flux_linears_take_outer_vec(void)
{
    struct fp8_route_in in = base();
    struct fp8_route r;

    fp8_route_pick(&in, &r); /* attention out / QKV: bias, no activation */
    CHECK(r.outer_vec && r.epilogue == GEMM_EPI_BIAS && r.bias_dtype == PICTOR_BF16,
          "bias: outer_vec %d epilogue %u bias dtype %d", r.outer_vec, r.epilogue,
          r.bias_dtype);
    in.act = PICTOR_UNARY_GELU_TANH; /* MLP up-projection */
    fp8_route_pick(&in, &r);
    CHECK(r.outer_vec && r.epilogue == (GEMM_EPI_BIAS | GEMM_EPI_GELU),
          "bias + tanh-GELU: outer_vec %d epilogue %u", r.outer_vec, r.epilogue);
    in.has_bias = false;
    fp8_route_pick(&in, &r);
    CHECK(r.outer_vec && r.epilogue == GEMM_EPI_GELU, "GELU alone: epilogue %u", r.epilogue);
    in.act = -1;
    fp8_route_pick(&in, &r);
    CHECK(r.outer_vec && r.epilogue == 0, "neither: epilogue %u", r.epilogue);
}

static void test_machine_and_switch(void)
{
    struct fp8_route_in in = base();
    const int other_sm[] = { 80, 86, 89, 100, 103, 120 };

    for (size_t i = 0; i < sizeof other_sm / sizeof other_sm[0]; i++) {
        in.sm = other_sm[i];
        CHECK_WHY(in, FP8_WHY_ARCH);
    }
    in = base();
    in.lt_version = FP8_OUTER_VEC_MIN_LT - 1; /* cuBLAS 12.8.x */
    CHECK_WHY(in, FP8_WHY_LIBRARY);
    in.lt_version = FP8_OUTER_VEC_MIN_LT;
    CHECK_WHY(in, FP8_WHY_NONE);
    in.mode = FP8_SCALING_EPILOGUE;
    CHECK_WHY(in, FP8_WHY_FORCED);
}

static void test_scales(void)
{
    struct fp8_route_in in = base();

    in.row_scale = NULL;
    CHECK_WHY(in, FP8_WHY_SCALES);
    in = base();
    in.col_scale = NULL;
    CHECK_WHY(in, FP8_WHY_SCALES);
    in = base();
    in.row_scale = g_rows + 1; /* a view starting at token 1 */
    CHECK_WHY(in, FP8_WHY_ALIGN);
    in.row_scale = g_rows + 4; /* token 4: 16 bytes in */
    CHECK_WHY(in, FP8_WHY_NONE);
    in.col_scale = (const char *)g_cols + 8;
    CHECK_WHY(in, FP8_WHY_ALIGN);
}

static void test_activations(void)
{
    struct fp8_route_in in = base();

    for (int a = 0; a < PICTOR_UNARY_COUNT; a++) {
        in.act = a;
        CHECK_WHY(in, a == PICTOR_UNARY_GELU_TANH ? FP8_WHY_NONE : FP8_WHY_ACT);
    }
}

static void test_bias_and_y_dtypes(void)
{
    static const struct {
        int y, bias;
        enum fp8_why want;
    } cases[] = {
        { PICTOR_BF16, PICTOR_BF16, FP8_WHY_NONE }, /* the cuBLAS FP8 type table */
        { PICTOR_F16, PICTOR_F16, FP8_WHY_NONE },
        { PICTOR_F32, PICTOR_BF16, FP8_WHY_NONE },
        { PICTOR_BF16, PICTOR_F32, FP8_WHY_BIAS },
        { PICTOR_BF16, PICTOR_F16, FP8_WHY_BIAS },
        { PICTOR_F16, PICTOR_BF16, FP8_WHY_BIAS },
        { PICTOR_F32, PICTOR_F32, FP8_WHY_BIAS },
        { PICTOR_BF16, PICTOR_F8_E4M3, FP8_WHY_BIAS },
        { PICTOR_F8_E4M3, PICTOR_BF16, FP8_WHY_DTYPE },
    };
    struct fp8_route_in in = base();
    struct fp8_route r;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum fp8_why w;

        in.y_dtype = cases[i].y;
        in.bias_dtype = cases[i].bias;
        fp8_route_pick(&in, &r);
        w = why_of(&in);
        CHECK(w == cases[i].want, "y %s bias %s: why %s, want %s",
              pictor_dtype_name(cases[i].y), pictor_dtype_name(cases[i].bias),
              fp8_why_names[w], fp8_why_names[cases[i].want]);
        CHECK(!r.outer_vec || r.bias_dtype == fp8_route_bias_dtype(cases[i].y),
              "bias dtype %d for y %d", r.bias_dtype, cases[i].y);
    }
    CHECK(fp8_route_bias_dtype(PICTOR_F32) == PICTOR_BF16 &&
          fp8_route_bias_dtype(PICTOR_F16) == PICTOR_F16 &&
          fp8_route_bias_dtype(PICTOR_BF16) == PICTOR_BF16, "bias dtype table");
    in = base();
    in.bias_stride = 2; /* a strided bias view */
    CHECK_WHY(in, FP8_WHY_BIAS);
    in.bias_len = 1; /* one element: its stride does not matter */
    CHECK_WHY(in, FP8_WHY_NONE);
}

static void test_scaling_parse(void)
{
    enum fp8_scaling m = FP8_SCALING_EPILOGUE;

    CHECK(fp8_scaling_parse(NULL, &m) && m == FP8_SCALING_AUTO, "unset");
    m = FP8_SCALING_EPILOGUE;
    CHECK(fp8_scaling_parse("", &m) && m == FP8_SCALING_AUTO, "empty");
    CHECK(fp8_scaling_parse("auto", &m) && m == FP8_SCALING_AUTO, "auto");
    CHECK(fp8_scaling_parse("epilogue", &m) && m == FP8_SCALING_EPILOGUE, "epilogue");
    CHECK(!fp8_scaling_parse("Epilogue", &m) && m == FP8_SCALING_AUTO, "Epilogue is unknown");
    CHECK(!fp8_scaling_parse("outer_vec", &m) && m == FP8_SCALING_AUTO, "outer_vec unknown");
}

static void test_epilogue_fallback(void)
{
    const uint32_t B = GEMM_EPI_BIAS, G = GEMM_EPI_GELU;
    uint32_t e = 99;

    /* A vector-scaled plan keeps its bias: GELU_BIAS -> BIAS -> none left. */
    CHECK(gemm_epilogue_fallback(B | G, false, &e) && e == B, "GELU_BIAS -> %u", e);
    CHECK(!gemm_epilogue_fallback(B, false, &e) && e == B, "BIAS is final");
    CHECK(gemm_epilogue_fallback(G, false, &e) && e == 0, "GELU -> %u", e);
    CHECK(!gemm_epilogue_fallback(0, false, &e) && e == 0, "none is final");
    /* An ordinary plan may drop the bias too (added after the GEMM). */
    CHECK(gemm_epilogue_fallback(B, true, &e) && e == 0, "BIAS -> %u (droppable)", e);
    CHECK(gemm_epilogue_fallback(B | G, true, &e) && e == B, "GELU goes first");

    CHECK(gemm_epilogue_reachable(B | G, B | G, false), "itself");
    CHECK(gemm_epilogue_reachable(B | G, B, false), "GELU dropped");
    CHECK(!gemm_epilogue_reachable(B | G, 0, false), "bias not droppable");
    CHECK(gemm_epilogue_reachable(B | G, 0, true), "bias droppable");
    CHECK(!gemm_epilogue_reachable(B, B | G, true), "GELU never added");
    CHECK(!gemm_epilogue_reachable(0, B, true), "bias never added");
    CHECK(!gemm_epilogue_reachable(B, 4, true) && !gemm_epilogue_reachable(8, 0, true),
          "unknown flags");
}

int main(void)
{
    RUN(test_flux_linears_take_outer_vec);
    RUN(test_machine_and_switch);
    RUN(test_scales);
    RUN(test_activations);
    RUN(test_bias_and_y_dtypes);
    RUN(test_scaling_parse);
    RUN(test_epilogue_fallback);
    TEST_MAIN_END();
}
