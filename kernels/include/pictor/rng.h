/*
 * pictor/rng.h — a CPU random generator that reproduces PyTorch's CPU
 * generator (`torch.Generator("cpu")`, CPUGeneratorImpl) bit for bit, so
 * pictor draws the same initial latents and ancestral noise as diffusers
 * with `generator=torch.Generator("cpu").manual_seed(seed)`.
 *
 * Source: PyTorch 2.15 aten/src/ATen/core/MT19937RNGEngine.h (engine and
 * seeding), CPUGeneratorImpl.cpp (64-bit draw = hi<<32 | lo, cached normal),
 * core/DistributionsHelper.h + TransformationHelper.h (uniform and normal
 * distributions), native/cpu/DistributionTemplates.h (normal_fill), and
 * native/cpu/avx_mathfun.h (the AVX2 kernel's log/sincos). MODELS.md §9.
 *
 * pictor_rng_randn(rng, out, dtype, n) equals
 *   torch.randn(n, generator=g, dtype=dtype)            (contiguous tensors)
 * and a further call continues the stream exactly as a further torch call
 * with the same generator does (the Euler-ancestral noise of every step):
 *   A. f32, n >= 16: n float uniforms (24-bit), Box-Muller on each complete
 *      16-block (pairs j, j+8); when n % 16 != 0, 16 fresh uniforms for the
 *      last 16 elements (overwriting), transformed the same way.
 *   B. n < 16 (any dtype): normal_distribution<double> per element, two
 *      64-bit draws per pair, the sine half cached *in the generator* and
 *      returned by the next n < 16 element (also across calls); cast via
 *      float to the dtype.
 *   C. f16/bf16, n >= 16: per complete 16-block: 16 float uniforms, Box-
 *      Muller in float, round each result to the 16-bit type (RNE); the tail
 *      block draws 16 fresh uniforms (the n % 16 unused draws of path A are
 *      not made), so C is *not* the 16-bit cast of path A when n % 16 != 0.
 *   f64 (pictor_rng_randn_f64): as A with 53-bit uniforms from 64-bit draws
 *      and double libm (never vectorised), or B for n < 16.
 *
 * Two float kernels exist in torch and differ in the last float ulp:
 *   PICTOR_RNG_KERNEL_AVX2 (default, value 0): the vectorised NormalFill16
 *     (Cephes polynomial log256_ps/sincos256_ps, theta = float(2*pi) * u2
 *     in float), emulated lane by lane in portable C including the FMAs
 *     GCC formed when building torch. Torch runs it on every x86 CPU with
 *     AVX2, *including* AVX-512 ones (ATen capability "AVX512", e.g. the
 *     machine that made tests/fixtures). Bit-exact against torch 2.15.
 *   PICTOR_RNG_KERNEL_SCALAR: libm logf/cosf/sinf/sqrtf with theta =
 *     float(double(2*pi) * u2). Torch runs it with ATEN_CPU_CAPABILITY=
 *     default and on non-x86 CPUs. Bit-exact against torch 2.15 with
 *     ATEN_CPU_CAPABILITY=default (same glibc libm).
 * Between the two: f32 max |diff| 2.0e-6 on ~39% of the values; f16/bf16
 * one 16-bit ulp on ~0.08% / ~0.01% of the values. Path B and f64 do not
 * depend on the kernel.
 *
 * Ownership: the struct is a plain value (no heap); copy it to fork a stream.
 * Thread: any, but one generator must not be used by two threads at once.
 */
#ifndef PICTOR_RNG_H
#define PICTOR_RNG_H

#include <stdint.h>

#define PICTOR_RNG_MT_N 624 /* MT19937 state words */

enum pictor_rng_kernel {
    PICTOR_RNG_KERNEL_AVX2 = 0,   /* torch AVX2 NormalFill16<float> (default) */
    PICTOR_RNG_KERNEL_SCALAR = 1, /* torch scalar NormalFill16 */
    PICTOR_RNG_KERNEL_COUNT
};

struct pictor_rng {
    uint32_t state[PICTOR_RNG_MT_N]; /* MT19937 state */
    int left;                        /* draws before the next twist, + 1 */
    int next;                        /* index of the next state word */
    int has_cached_normal;           /* torch next_double_normal_sample_ */
    double cached_normal;
    int kernel;                      /* enum pictor_rng_kernel */
};

/* torch manual_seed: MT19937 seeded with seed mod 2^32, cached normal
 * cleared. Keeps the kernel choice (AVX2 after zero-initialisation). */
void pictor_rng_seed(struct pictor_rng *rng, uint64_t seed);

/* Selects the float kernel (see above); PICTOR_E_INVALID if unknown. */
int pictor_rng_set_kernel(struct pictor_rng *rng, int kernel);
/* An ATEN_CPU_CAPABILITY name: "avx2" or "avx512" -> AVX2, "default" (or
 * "scalar") -> SCALAR; -1 if unknown. */
int pictor_rng_kernel_parse(const char *name);

/* One MT19937 32-bit output (torch CPUGeneratorImpl::random). */
uint32_t pictor_rng_u32(struct pictor_rng *rng);
/* Two 32-bit outputs, the first in the high half (random64). */
uint64_t pictor_rng_u64(struct pictor_rng *rng);

/* Writes n standard normals of `dtype` (PICTOR_F32, PICTOR_F16 or
 * PICTOR_BF16; 16-bit values as their bit patterns) to out, contiguous.
 * Returns PICTOR_OK, or PICTOR_E_INVALID for another dtype or n < 0. */
int pictor_rng_randn(struct pictor_rng *rng, void *out, int dtype, int64_t n);

/* torch.randn(n, dtype=torch.float64). Returns PICTOR_OK or
 * PICTOR_E_INVALID for n < 0. */
int pictor_rng_randn_f64(struct pictor_rng *rng, double *out, int64_t n);

#endif /* PICTOR_RNG_H */
