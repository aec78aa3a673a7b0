/*
 * tests/gpu/cross.h — what the cross-backend tests (tests/gpu/test_cross_*.c)
 * share: one tensor on both backends with identical bytes (struct xt), views
 * of it, and comparisons of the GPU result with the CPU's (ggml's
 * test-backend-ops pattern, STYLE.md habit 5).
 *
 * Each test binary calls cross_setup() first: it creates the CPU backend and
 * the CUDA backend (or, with PICTOR_CROSS_SELFTEST=1, a second CPU backend
 * standing in for it, to check a test's own plumbing without a GPU). Without
 * a GPU it prints "SKIP <name>: <reason>" and the binary exits 0 with no PASS
 * line. These tests are not part of `make test`: `make gpu-tests` builds
 * them, tools/gpu-check runs them.
 */
#ifndef PICTOR_TESTS_GPU_CROSS_H
#define PICTOR_TESTS_GPU_CROSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../harness/test.h"
#include "pictor/backend_cuda.h"
#include "pictor/convert.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

/* Tolerances on the relative L2 error (per output dtype). */
#define TOL_F32 1e-5
#define TOL_HALF 1e-2
#define N_DTYPES 3

extern pictor_backend *g_cpu, *g_gpu;
extern bool g_is_cuda;              /* g_gpu is CUDA (not the self-test) */
extern const int k_dtypes[N_DTYPES]; /* f32, f16, bf16 */

/* Creates g_cpu and g_gpu. Returns 0 when both exist; 1 with "SKIP name:
 * reason" printed when there is no GPU (the caller returns 0); 2 when the
 * CPU backend cannot be made (FAIL printed). */
int cross_setup(const char *name);
/* Destroys both backends. */
void cross_teardown(void);

/* Whether g_gpu is the CUDA emulator (tests/emu/README.md: the CUDA
 * backend's own kernels run on the CPU, cuBLASLt and cuDNN are stand-ins
 * modelled on their documentation). */
bool cross_emulated(void);
/* Under the emulator, marks the running test skipped ("<why> under the
 * CUDA emulator") and returns true; on a GPU returns false. For tests too
 * large to emulate (FLUX sizes, timings). */
bool cross_emu_skip(const char *why);

/* cublasLtGetVersion() as pictor_backend_cuda_describe prints it
 * ("cuBLASLt N"); 0 when absent. */
size_t cross_lt_version(pictor_backend *be);
/* A second backend on g_gpu's device with PICTOR_FP8_SCALING=epilogue set
 * at its creation (the FP8 epilogue route forced); in the self-test a
 * 1-thread CPU backend. NULL after a "FAIL setup" line. */
pictor_backend *cross_epilogue_backend(void);
/* Whether g_gpu may take cuBLASLt's OUTER_VEC_32F route (compute
 * capability and cuBLASLt version as kernels/cuda/fp8_route.h asks);
 * false in the self-test. */
bool cross_outer_vec_here(void);

/* TOL_F32 for f32, TOL_HALF otherwise. */
double tol_for(int dtype);
/* malloc that aborts on failure. */
void *xmalloc(size_t n);

/* One tensor on both backends with identical bytes. Roots own the host and
 * device storage; views (xt_slice, xt_transpose) share their root's. */
struct xt {
    pictor_tensor c, g;  /* CPU and CUDA descriptors (same offsets) */
    char *hbase, *dbase; /* storage bases */
    size_t bytes;
    bool owner;
};

/* A contiguous root; vals (numel floats) or uniform [lo, hi) from seed,
 * rounded to dtype (FP8 stores vals / scale, saturating; ints by value). */
struct xt xt_make(int dtype, int ndim, const int64_t *shape, const float *vals,
                  uint64_t seed, float lo, float hi, float scale);
/* xt_make with uniform [lo, hi) values and scale 1. */
struct xt xt_rand(int dtype, int ndim, const int64_t *shape, uint64_t seed, float lo,
                  float hi);
struct xt xt_slice(const struct xt *r, int dim, int64_t start, int64_t len);
struct xt xt_transpose(const struct xt *r, int a, int b);
/* A 2-D view of root r's storage with explicit strides (elements). */
struct xt xt_view2d(const struct xt *r, int64_t rows, int64_t cols, int64_t rs, int64_t cs);
/* An ndim-D view of root r's storage with explicit shape and strides
 * (elements), starting `off` elements past the root's start. */
struct xt xt_view(const struct xt *r, int ndim, const int64_t *shape, const int64_t *st,
                  int64_t off);
/* xt_view with ndim 4. */
struct xt xt_view4(const struct xt *r, const int64_t shape[4], const int64_t st[4],
                   int64_t off);
/* An E4M3 [r, c] root: uniform [-1, 1) values stored as code = v / scale. */
struct xt xt_fp8_rand(int64_t r, int64_t c, uint64_t seed, float scale);
/* The same view, not owning (to pass one tensor as two operands). */
struct xt xt_alias(const struct xt *r);
/* [d0, d1, d2, d3] view of a root stored as [d0, d2, d3, d1]
 * (channels last: NHWC activations, KRSC filters). */
struct xt xt_channels_last(const struct xt *r);
/* Frees a root's storage (views: nothing); zeroes *t. */
void xt_free(struct xt *t);
/* The GPU storage, downloaded (caller frees). */
char *xt_download(const struct xt *t);
/* The elements of view v (whose data lies in storage at base) in flat
 * order as f32, read from the copy of that storage at `copy`. */
float *view_values(const pictor_tensor *v, const char *base, const char *copy);

/* CHECKs the GPU view against the CPU view by relative L2 error. */
void xt_compare(const char *what, const struct xt *t, double tol);
/* CHECKs that the whole GPU storage equals the CPU storage byte for byte. */
void xt_same_bytes(const char *what, const struct xt *t);
/* CHECKs an op's status on one backend. */
void check_rc(const char *what, pictor_backend *be, int rc);
/* One call of an op under test on be (ctx: its operands); a status. */
typedef int (*cross_call_fn)(pictor_backend *be, const void *ctx);
/* Milliseconds per call of call(be, ctx): one untimed warm-up call, then
 * `runs` calls between two synchronisations of be. -1 when a call fails
 * (reported by check_rc under `what`). For timing lines, never asserted. */
double cross_time_ms(const char *what, pictor_backend *be, int runs, cross_call_fn call,
                     const void *ctx);

/* The CUDA backend's path counters (zeros for the CPU stand-in). */
struct pictor_cuda_stats gpu_stats(pictor_backend *be);

#endif /* PICTOR_TESTS_GPU_CROSS_H */
