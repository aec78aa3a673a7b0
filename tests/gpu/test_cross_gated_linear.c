/*
 * tests/gpu/test_cross_gated_linear.c — the gated residual linear
 * y += gate * (x W^T + b) (pictor_linear_gated, pictor_linear_fp8_gated)
 * on the CUDA backend against the CPU's, on both routes of an FP8 linear
 * (kernels/cuda/fp8_route.h): the default one (on sm_90 with cuBLASLt
 * 12.9+ the gate folded into cuBLASLt's OUTER_VEC_32F call, C = D = y with
 * beta 1, where cuBLASLt offers an algorithm for it) and, on a second CUDA
 * backend created with PICTOR_FP8_SCALING=epilogue, the f32 GEMM output +
 * epilogue kernel; plus the calls that keep the kernel on every GPU (a gate
 * that varies per token, a bf16 weight, N not a multiple of 16: staged,
 * K = 0).
 *
 * Shapes: FLUX's gated projections at 1024² with batch 1 (the image
 * stream's attention output 4096 x 3072 -> 3072 and its FF down-projection
 * 12288 -> 3072, the single block's proj_out 4608 x 15360 -> 3072), each
 * y a token slice of a residual stream and the gate a [B, 1, D] chunk of a
 * bf16 modulation tensor; batch 2 with a [2, 1, N] gate (one GEMM per
 * item); [N] and [1] gates.
 *
 * Each element of y must be within |g| times the FP8 linear's tolerance
 * (test_cross_fp8_scaling.c: ULPS bf16 ulps of the product v plus FLOOR of
 * max |v|, FLOOR_LOOSE when staged; TOL_PLAIN of max |v| for the bf16
 * weight), plus one bf16 ulp of |g * b| (the folded bias is bf16 on the
 * OUTER_VEC route), plus two f32 ulps of y, of the CPU's value. Which
 * route ran is asserted through the backend's counters (struct
 * pictor_cuda_stats: matmul_gate_outer_vec / matmul_gate_epilogue); whether
 * cuBLASLt has an algorithm for the folded call is its heuristic's verdict
 * (either route is accepted there, and said). Fused vs linear + gated_add
 * at FLUX size is timed on both backends and printed, never asserted.
 *
 * PICTOR_CROSS_SELFTEST=1 runs it with CPU backends standing in (FLUX
 * shapes with SELFTEST_TOKENS tokens; no counters to check).
 * Needs a GPU (tests/gpu/cross.h); `make gpu-tests`, tools/gpu-check.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cuda/fp8_route.h"
#include "cross.h"
#include "pictor/fp8_linear.h"

#define ULPS 2.0             /* of v, in bf16 ulps (test_cross_fp8_scaling.c) */
#define FLOOR (1.0 / 2048)   /* of max |v| */
#define FLOOR_LOOSE (1.0 / 256) /* of max |v| where the staged path dequantises
                                  the FP8 operands into bf16 first */
#define TOL_PLAIN 1e-5       /* of max |v|: 16-bit operands, f32 sums */
#define SELFTEST_TOKENS 16
#define TIMED_RUNS 10
#define PAD_ROWS 3           /* y is rows [PAD_ROWS, PAD_ROWS + S) of h */

enum gate_kind {
    GATE_CHUNK, /* [B, 1, N] chunk view of a [B, 3N] modulation tensor */
    GATE_VEC,   /* [N] */
    GATE_ONE,   /* [1] */
    GATE_ROWS,  /* [S, 1] per token (B = 1, op level): not uniform */
};

enum call_kind {
    CALL_FP8_HELPER, /* pictor_linear_fp8_gated (x quantised per token) */
    CALL_OP,         /* pictor_linear_gated on x as it is */
    CALL_OP_ROWS,    /* pictor_linear_gated on x quantised first (rows view,
                        2-D y; B = 1) */
};

struct gcase {
    const char *name;
    int64_t B, S, K, N;  /* S >= 1000: SELFTEST_TOKENS in the self-test */
    int w_dtype;         /* PICTOR_F8_E4M3 (per channel) or PICTOR_BF16 */
    bool bias;
    enum gate_kind gate;
    int gate_dtype;
    enum call_kind call;
    bool uniform;        /* the OUTER_VEC fold applies (sm_90, cuBLASLt 12.9+) */
    bool staged;
    bool timed;
};

static const struct gcase k_cases[] = {
    { "flux attention out", 1, 4096, 3072, 3072, PICTOR_F8_E4M3, true, GATE_CHUNK,
      PICTOR_BF16, CALL_FP8_HELPER, true, false, true },
    { "flux ff down", 1, 4096, 12288, 3072, PICTOR_F8_E4M3, true, GATE_CHUNK, PICTOR_BF16,
      CALL_FP8_HELPER, true, false, true },
    { "flux single proj_out", 1, 4608, 15360, 3072, PICTOR_F8_E4M3, true, GATE_CHUNK,
      PICTOR_BF16, CALL_FP8_HELPER, true, false, true },
    { "batch 2, [2,1,N] gate", 2, 77, 256, 128, PICTOR_F8_E4M3, true, GATE_CHUNK, PICTOR_BF16,
      CALL_FP8_HELPER, true, false, false },
    { "[N] f32 gate, no bias", 1, 33, 64, 48, PICTOR_F8_E4M3, false, GATE_VEC, PICTOR_F32,
      CALL_FP8_HELPER, true, false, false },
    { "[1] f16 gate, op on rows", 1, 20, 64, 32, PICTOR_F8_E4M3, true, GATE_ONE, PICTOR_F16,
      CALL_OP_ROWS, true, false, false },
    { "per-token gate keeps the kernel", 1, 40, 64, 64, PICTOR_F8_E4M3, true, GATE_ROWS,
      PICTOR_BF16, CALL_OP_ROWS, false, false, false },
    { "bf16 weight", 2, 50, 64, 96, PICTOR_BF16, true, GATE_CHUNK, PICTOR_BF16, CALL_OP,
      false, false, false },
    { "N 40: staged", 1, 20, 64, 40, PICTOR_F8_E4M3, true, GATE_CHUNK, PICTOR_BF16,
      CALL_FP8_HELPER, false, true, false },
    { "K 0: y += gate * bias", 1, 9, 0, 32, PICTOR_BF16, true, GATE_CHUNK, PICTOR_BF16, CALL_OP,
      false, false, false },
};
#define N_CASES (sizeof k_cases / sizeof k_cases[0])
#define N_FLUX 3 /* k_cases: the FLUX shapes first */

static pictor_backend *g_epi; /* PICTOR_FP8_SCALING=epilogue */
static bool g_outer_here;     /* this GPU and cuBLASLt have OUTER_VEC_32F */

/* One ulp at |v| with `bits` stored mantissa bits (normal numbers); 0 at 0. */
static double ulp_bits(double v, int bits)
{
    int e;

    if (v == 0.0)
        return 0.0;
    frexp(fabs(v), &e);
    return ldexp(1.0, e - 1 - bits);
}

/* Operands of one case, on both backends. */
struct ops {
    struct xt h, mod, x, w, wq, ws, bias, gate_root, xq, xs;
    pictor_tensor wc, wg;         /* the weight as the linear takes it */
    pictor_tensor xc, xg;         /* x as the call takes it */
    pictor_tensor gc, gg;         /* the gate view */
    struct xt y;                  /* token slice of h (a view) */
    pictor_tensor yc2, yg2;       /* y as the call writes it */
    const pictor_tensor *bc, *bg; /* bias or NULL */
    enum call_kind call;
};

static void quantize_both(const char *what, const struct xt *t, struct xt *q, struct xt *sc)
{
    int64_t K = t->c.shape[t->c.ndim - 1], rows = pictor_tensor_numel(&t->c) / K;

    *q = xt_make(PICTOR_F8_E4M3, t->c.ndim, t->c.shape, NULL, 1, 0.0f, 0.0f, 1.0f);
    *sc = xt_rand(PICTOR_F32, 1, &rows, 2, 0.0f, 1.0f);
    check_rc(what, g_cpu, pictor_quantize_rows(g_cpu, &t->c, &q->c, &sc->c));
    check_rc(what, g_gpu, pictor_quantize_rows(g_gpu, &t->g, &q->g, &sc->g));
}

/* A 2-D [rows, N] view of y (B = 1: its token rows). */
static pictor_tensor rows2(const pictor_tensor *y)
{
    pictor_tensor v = *y;

    v.ndim = 2;
    v.shape[0] = y->shape[1];
    v.shape[1] = y->shape[2];
    v.stride[0] = y->stride[1];
    v.stride[1] = y->stride[2];
    return v;
}

/* The gate view on one side (c: CPU, else GPU) of the root r: a chunk
 * [B, 1, N] (gate_msa: channels [N, 2N) of [B, 3N]), else r itself. */
static pictor_tensor gate_view(const struct gcase *gc, const struct xt *r, bool c)
{
    pictor_tensor t = c ? r->c : r->g;

    if (gc->gate != GATE_CHUNK)
        return t;
    t = pictor_tensor_slice(&t, 1, gc->N, gc->N);
    return pictor_tensor_unsqueeze(&t, 1);
}

static void ops_make(const struct gcase *gc, int64_t S, struct ops *o)
{
    int64_t B = gc->B, K = gc->K, N = gc->N;
    int64_t sh[3] = { B, S + PAD_ROWS, N }, sx[3] = { B, S, K }, sw[2] = { N, K };

    memset(o, 0, sizeof *o);
    o->call = gc->call;
    o->h = xt_rand(PICTOR_F32, 3, sh, 101 + (uint64_t)N, -2.0f, 2.0f);
    o->y = xt_slice(&o->h, 1, PAD_ROWS, S);
    o->x = xt_rand(PICTOR_BF16, 3, sx, 103 + (uint64_t)K, -2.0f, 2.0f);
    o->w = xt_rand(PICTOR_BF16, 2, sw, 107 + (uint64_t)N, -0.05f, 0.05f);
    if (gc->bias)
        o->bias = xt_rand(PICTOR_BF16, 1, &N, 109, -1.0f, 1.0f);
    o->bc = gc->bias ? &o->bias.c : NULL;
    o->bg = gc->bias ? &o->bias.g : NULL;
    switch (gc->gate) {
    case GATE_CHUNK:
        o->gate_root = xt_rand(gc->gate_dtype, 2, (int64_t[]){ B, 3 * N }, 113, -1.5f, 1.5f);
        break;
    case GATE_VEC:
        o->gate_root = xt_rand(gc->gate_dtype, 1, &N, 113, -1.5f, 1.5f);
        break;
    case GATE_ONE:
        o->gate_root = xt_rand(gc->gate_dtype, 1, (int64_t[]){ 1 }, 113, 0.5f, 1.5f);
        break;
    case GATE_ROWS:
        o->gate_root = xt_rand(gc->gate_dtype, 2, (int64_t[]){ S, 1 }, 113, -1.5f, 1.5f);
        break;
    }
    o->gc = gate_view(gc, &o->gate_root, true);
    o->gg = gate_view(gc, &o->gate_root, false);
    o->wc = o->w.c;
    o->wg = o->w.g;
    if (gc->w_dtype == PICTOR_F8_E4M3) {
        quantize_both("quantize w", &o->w, &o->wq, &o->ws);
        o->wc = pictor_fp8_rows_view(&o->wq.c, &o->ws.c);
        o->wg = pictor_fp8_rows_view(&o->wq.g, &o->ws.g);
    }
    o->xc = o->x.c;
    o->xg = o->x.g;
    o->yc2 = o->y.c;
    o->yg2 = o->y.g;
    if (gc->call == CALL_OP_ROWS) {
        quantize_both("quantize x", &o->x, &o->xq, &o->xs);
        o->xc = pictor_fp8_rows_view(&o->xq.c, &o->xs.c);
        o->xg = pictor_fp8_rows_view(&o->xq.g, &o->xs.g);
        o->yc2 = rows2(&o->y.c);
        o->yg2 = rows2(&o->y.g);
    }
}

static void ops_free(struct ops *o)
{
    xt_free(&o->h), xt_free(&o->x), xt_free(&o->w), xt_free(&o->wq), xt_free(&o->ws);
    xt_free(&o->bias), xt_free(&o->gate_root), xt_free(&o->xq), xt_free(&o->xs);
}

static int gated_call(pictor_backend *be, const struct ops *o, bool cpu, pictor_tensor *y)
{
    const pictor_tensor *x = cpu ? &o->xc : &o->xg, *w = cpu ? &o->wc : &o->wg;
    const pictor_tensor *b = cpu ? o->bc : o->bg, *g = cpu ? &o->gc : &o->gg;

    if (o->call == CALL_FP8_HELPER)
        return pictor_linear_fp8_gated(be, x, w, b, g, y);
    return pictor_linear_gated(be, x, w, b, g, y);
}

/* The CPU's product v = x W^T + b (f32, y's shape): the reference and
 * the tolerances. */
static float *cpu_product(const struct ops *o)
{
    pictor_tensor v = pictor_tensor_make(xmalloc((size_t)pictor_tensor_numel(&o->yc2) * 4),
                                         PICTOR_F32, o->yc2.ndim, o->yc2.shape);

    check_rc("cpu product", g_cpu, o->call == CALL_FP8_HELPER
                                       ? pictor_linear_fp8(g_cpu, &o->xc, &o->wc, o->bc, &v)
                                       : pictor_linear(g_cpu, &o->xc, &o->wc, o->bc, &v));
    return v.data;
}

/* The CPU's y: y + gate * v by pictor_gated_add on the product v (what
 * the CPU's fused op computes, byte for byte: tests/unit/
 * test_ops_linear_gated.c); with `fused`, the fused CPU call is run too
 * and must give those bytes (left out at FLUX size: one CPU GEMM is
 * enough there). */
static void cpu_reference(const char *what, struct ops *o, float *v, bool fused)
{
    pictor_tensor vt = pictor_tensor_make(v, PICTOR_F32, o->yc2.ndim, o->yc2.shape);
    char *direct = NULL;

    if (fused) {
        char *h0 = xmalloc(o->h.bytes);

        memcpy(h0, o->h.hbase, o->h.bytes);
        check_rc(what, g_cpu, gated_call(g_cpu, o, true, &o->yc2));
        direct = xmalloc(o->h.bytes);
        memcpy(direct, o->h.hbase, o->h.bytes);
        memcpy(o->h.hbase, h0, o->h.bytes);
        free(h0);
    }
    check_rc(what, g_cpu, pictor_gated_add(g_cpu, &o->yc2, &vt, &o->gc));
    CHECK(!direct || memcmp(direct, o->h.hbase, o->h.bytes) == 0,
          "%s: fused != linear into f32 + gated_add", what);
    free(direct);
}

/* t (broadcasting) as f32 values in y's flat order, through the CPU's mul. */
static float *spread(const pictor_tensor *t, const pictor_tensor *y)
{
    pictor_tensor one = pictor_tensor_make(xmalloc((size_t)pictor_tensor_numel(y) * 4),
                                           PICTOR_F32, y->ndim, y->shape);

    check_rc("spread", g_cpu, pictor_fill(g_cpu, &one, 1.0f));
    check_rc("spread", g_cpu, pictor_mul(g_cpu, &one, t, &one));
    return one.data;
}

/* CHECKs the GPU's y (view) against the CPU's, element by element. */
static void compare(const char *what, const struct gcase *gc, const struct ops *o,
                    const float *v, const float *g, const float *bias, bool staged)
{
    size_t n = (size_t)pictor_tensor_numel(&o->y.c);
    char *dev = xt_download(&o->h);
    float *yg = view_values(&o->y.g, o->h.dbase, dev);
    float *yc = view_values(&o->y.c, o->h.hbase, o->h.hbase);
    double vmax = 0.0, worst = 0.0;
    size_t bad = 0, at = 0;

    for (size_t i = 0; i < n; i++)
        vmax = fmax(vmax, fabs(v[i]));
    for (size_t i = 0; i < n; i++) {
        double tv = gc->w_dtype == PICTOR_F8_E4M3
                        ? ULPS * ulp_bits(v[i], 7) + (staged ? FLOOR_LOOSE : FLOOR) * vmax
                        : TOL_PLAIN * vmax;
        double gb = bias ? fabs((double)g[i] * bias[i]) : 0.0;
        double tol = fabs(g[i]) * tv + ulp_bits(gb, 7) + 2.0 * ulp_bits(yc[i], 23) + 1e-30;
        double d = fabs((double)yg[i] - yc[i]), r = isnan(d) ? INFINITY : d / tol;

        if (!(d <= tol))
            bad++;
        if (r > worst) {
            worst = r;
            at = i;
        }
    }
    CHECK(bad == 0, "%s: %zu of %zu values off (worst #%zu: gpu %.8g cpu %.8g, %.2f x its "
          "tolerance; max |v| %.4g)", what, bad, n, at, (double)yg[at], (double)yc[at], worst,
          vmax);
    if (getenv("TEST_VERBOSE"))
        printf("# %s: worst %.2f of tolerance (#%zu)\n", what, worst, at);
    free(yc), free(yg), free(dev);
}

static uint64_t delta(uint64_t after, uint64_t before)
{
    return after - before;
}

/* Runs the case on be (y reset to h0 first) and checks the route. */
static void run_gpu(const char *what, pictor_backend *be, const struct gcase *gc, struct ops *o,
                    const char *h0, bool forced, const float *v, const float *g,
                    const float *bias)
{
    struct pictor_cuda_stats s0, s1;
    bool staged = gc->staged;
    uint64_t calls = gc->call == CALL_FP8_HELPER && gc->w_dtype == PICTOR_F8_E4M3 && !gc->staged
                         ? (uint64_t)gc->B : 1u;

    check_rc(what, g_gpu, pictor_backend_upload(g_gpu, o->h.dbase, h0, o->h.bytes));
    check_rc(what, g_gpu, pictor_backend_synchronize(g_gpu));
    s0 = gpu_stats(be);
    check_rc(what, be, gated_call(be, o, false, &o->yg2));
    check_rc(what, be, pictor_backend_synchronize(be));
    s1 = gpu_stats(be);
    if (g_is_cuda) {
        uint64_t outer = delta(s1.matmul_gate_outer_vec, s0.matmul_gate_outer_vec);
        uint64_t kernel = delta(s1.matmul_gate_epilogue, s0.matmul_gate_epilogue);
        uint64_t unfused = delta(s1.matmul_gate_unfused, s0.matmul_gate_unfused);
        uint64_t fp8_outer = delta(s1.matmul_fp8_outer_vec, s0.matmul_fp8_outer_vec);
        bool may_fold = !forced && g_outer_here && gc->uniform;
        bool may_unfuse = !forced && g_outer_here && gc->w_dtype == PICTOR_F8_E4M3;

        CHECK(outer + kernel + unfused == calls && (may_fold || outer == 0) &&
                  (may_unfuse || unfused == 0),
              "%s: gate folded into cuBLASLt %llu, OUTER_VEC + gated_add %llu, epilogue "
              "kernel %llu; want %llu GEMM(s) on %s (sm %d, cuBLASLt %zu)", what,
              (unsigned long long)outer, (unsigned long long)unfused, (unsigned long long)kernel,
              (unsigned long long)calls, may_fold ? "any route" : "the kernel",
              pictor_backend_cuda_sm(be), cross_lt_version(be));
        CHECK(fp8_outer == outer + unfused, "%s: FP8 OUTER_VEC calls %llu, gated ones %llu + %llu",
              what, (unsigned long long)fp8_outer, (unsigned long long)outer,
              (unsigned long long)unfused);
        CHECK(!gc->staged || delta(s1.matmul_staged, s0.matmul_staged) > 0, "%s: not staged",
              what);
        /* below 8.9 every FP8 call is staged (no FP8 GEMM there) */
        staged = staged || delta(s1.matmul_staged, s0.matmul_staged) > 0;
        if (may_fold)
            printf("# %s: %s\n", what, outer ? "gate folded into cuBLASLt (OUTER_VEC, beta 1)"
                   : unfused ? "cuBLASLt had no OUTER_VEC algorithm with f32 C/D, beta 1: "
                               "OUTER_VEC into bf16, then gated_add"
                             : "epilogue kernel");
    }
    compare(what, gc, o, v, g, bias, staged);
}

/* Timing: fused vs pictor_linear_fp8 into bf16 + pictor_gated_add. */
struct timed {
    const struct ops *o;
    pictor_tensor *y16; /* [B, S, N] bf16 scratch of the unfused layer */
};

static int fused_call(pictor_backend *be, const void *ctx)
{
    const struct timed *t = ctx;
    pictor_tensor y = t->o->yg2;

    return gated_call(be, t->o, false, &y);
}

static int unfused_call(pictor_backend *be, const void *ctx)
{
    const struct timed *t = ctx;
    const struct ops *o = t->o;
    pictor_tensor y = o->yg2;
    int rc = pictor_linear_fp8(be, &o->xg, &o->wg, o->bg, t->y16);

    return rc ? rc : pictor_gated_add(be, &y, t->y16, &o->gg);
}

static void time_case(const struct gcase *gc, int64_t S, const struct ops *o)
{
    struct timed t = { .o = o };
    struct xt y16 = xt_rand(PICTOR_BF16, 3, (int64_t[]){ gc->B, S, gc->N }, 7, 0.0f, 1.0f);
    double ms[2][2];
    pictor_backend *bes[2] = { g_gpu, g_epi };

    t.y16 = &y16.g;
    for (int b = 0; b < 2; b++) {
        check_rc("timing", g_gpu, pictor_backend_synchronize(g_gpu));
        ms[b][0] = cross_time_ms("timing fused", bes[b], TIMED_RUNS, fused_call, &t);
        ms[b][1] = cross_time_ms("timing unfused", bes[b], TIMED_RUNS, unfused_call, &t);
    }
    printf("# %s %lldx%lld->%lld: fused %.3f ms, linear + gated_add %.3f ms (auto); "
           "PICTOR_FP8_SCALING=epilogue: fused %.3f ms, linear + gated_add %.3f ms\n",
           gc->name, (long long)(gc->B * S), (long long)gc->K, (long long)gc->N, ms[0][0],
           ms[0][1], ms[1][0], ms[1][1]);
    xt_free(&y16);
}

static void run_case(const struct gcase *gc)
{
    int64_t S = gc->S >= 1000 && !g_is_cuda ? SELFTEST_TOKENS : gc->S;
    struct ops o;
    char what[192];

    ops_make(gc, S, &o);
    char *h0 = xmalloc(o.h.bytes);
    memcpy(h0, o.h.hbase, o.h.bytes);
    float *v = cpu_product(&o);
    float *g = spread(&o.gc, &o.yc2), *b = gc->bias ? spread(o.bc, &o.yc2) : NULL;

    snprintf(what, sizeof what, "%s: %lldx%lldx%lld->%lld (cpu)", gc->name, (long long)gc->B,
             (long long)S, (long long)gc->K, (long long)gc->N);
    cpu_reference(what, &o, v, S < 1000);
    CHECK(memcmp(h0, o.h.hbase, o.h.bytes) != 0, "%s: y unchanged", what);
    snprintf(what, sizeof what, "%s: %lldx%lldx%lld->%lld", gc->name, (long long)gc->B,
             (long long)S, (long long)gc->K, (long long)gc->N);
    run_gpu(what, g_gpu, gc, &o, h0, false, v, g, b);
    snprintf(what, sizeof what, "%s: %lldx%lldx%lld->%lld, PICTOR_FP8_SCALING=epilogue",
             gc->name, (long long)gc->B, (long long)S, (long long)gc->K, (long long)gc->N);
    run_gpu(what, g_epi, gc, &o, h0, true, v, g, b);
    if (gc->timed && g_is_cuda)
        time_case(gc, S, &o);
    free(h0), free(v), free(g), free(b);
    ops_free(&o);
}

static void test_flux_shapes(void)
{
    if (cross_emu_skip("FLUX size (and timings)"))
        return;
    for (size_t i = 0; i < N_FLUX; i++)
        run_case(&k_cases[i]);
}

static void test_other_shapes(void)
{
    for (size_t i = N_FLUX; i < N_CASES; i++)
        run_case(&k_cases[i]);
}

int main(void)
{
    int rc = cross_setup("cross-gated-linear");

    if (rc)
        return rc == 1 ? 0 : 1;
    if (!(g_epi = cross_epilogue_backend())) {
        cross_teardown();
        return 1;
    }
    g_outer_here = cross_outer_vec_here();
    printf("# gate folded into cuBLASLt (OUTER_VEC_32F) %s here\n",
           g_outer_here ? "possible" : g_is_cuda ? "not possible" : "not checked (self-test)");
    RUN(test_flux_shapes);
    RUN(test_other_shapes);
    pictor_backend_destroy(g_epi);
    cross_teardown();
    TEST_MAIN_END();
}
