/*
 * pictor/check.h — running one fixture case (FIXTURES.md) and judging it.
 *
 * pictor_check_run reads CASE_DIR/case.json, opens the inputs and expected
 * safetensors, finds the evaluator for the case's component in the table
 * the caller passes (exact name, or a name ending in '.' as a prefix such
 * as "scheduler."), runs it on the given backend, compares every expected
 * tensor with the output of the same name and prints one JSON line:
 *   {"case":..,"component":..,"device":..,"precision":..,
 *    "outputs":{"NAME":{"rel_l2":..,"max_abs":..,"pass":..},..},"pass":..}
 * Token ids (int64 expected) must match exactly; NaN never passes.
 * Bounds: case.json's tolerance at fp32; at other precisions the project's
 * documented bounds (docs/fixtures.md): rel_l2 1e-2 for bf16/fp16, 3e-2 for
 * fp8, or 1.25 x the case's reference_error at that precision when larger;
 * max_abs no tighter than 10% of the largest expected magnitude or 1.25 x
 * reference_max_abs.
 *
 * Returns the process exit code: 0 pass, 1 fail, 2 error (unknown
 * component, missing file, shape mismatch, evaluator failure); errors are
 * also printed to stderr as one clear message.
 * Thread: [worker thread] (the one owning the backend).
 */
#ifndef PICTOR_CHECK_H
#define PICTOR_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "pictor/backend.h"
#include "pictor/eval.h"

struct pictor_check_component {
    const char *name; /* "vae.decoder", or a prefix ending in '.' */
    pictor_eval_fn fn;
};

struct pictor_check_options {
    pictor_backend *backend;
    const char *device_name; /* "cpu", "cuda" (for the report) */
    int precision;           /* enum pictor_precision */
    /* Optional: compare with pictor's own outputs at this other precision
     * (run first, same model and inputs) instead of the case's expected
     * file, e.g. fp8 against bf16 on a full-size random model (the case
     * then needs no expected file). -1 (or 0 with against_set false): off. */
    bool against_set;
    int against;
    /* > 0: the rel_l2 bound to judge by (max_abs unbounded) instead of the
     * documented ones. */
    double bound;
};

int pictor_check_run(const char *case_dir,
                     const struct pictor_check_options *opt,
                     const struct pictor_check_component *table, size_t n,
                     FILE *out);

const char *pictor_precision_name(int precision);
/* Parses "fp32", "bf16", "fp16", "fp8"; -1 if unknown. */
int pictor_precision_parse(const char *s);
/* The precision "auto" means on this backend (docs/configuration.md
 * "precision"): fp32 on the CPU; fp8 on a GPU with FP8 tensor cores
 * (compute capability 8.9 and newer: FP8 linears in the FLUX transformer,
 * bf16 elsewhere); bf16 on older GPUs (8.0, 8.6). */
#define PICTOR_FP8_MIN_SM 89
struct pictor_backend;
int pictor_precision_auto(const struct pictor_backend *be);
/* Whether `precision` is offered on this backend: fp8 needs a GPU of compute
 * capability 8.9+ (the CPU emulates it, for tests). PICTOR_E_UNSUPPORTED
 * with a message naming the GPU's capability otherwise. */
int pictor_precision_offered(const struct pictor_backend *be, int precision, char *err,
                             size_t errlen);

#endif /* PICTOR_CHECK_H */
