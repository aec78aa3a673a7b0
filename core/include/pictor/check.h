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
 * fp8, and max_abs no tighter than 10% of the largest expected magnitude.
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
};

int pictor_check_run(const char *case_dir,
                     const struct pictor_check_options *opt,
                     const struct pictor_check_component *table, size_t n,
                     FILE *out);

const char *pictor_precision_name(int precision);
/* Parses "fp32", "bf16", "fp16", "fp8"; -1 if unknown. */
int pictor_precision_parse(const char *s);
/* The precision "auto" means (ARCHITECTURE.md "Precision policy"): fp32 on
 * the CPU, bf16 on a GPU. */
int pictor_precision_auto(bool cpu);

#endif /* PICTOR_CHECK_H */
