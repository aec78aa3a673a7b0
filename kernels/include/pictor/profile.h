/*
 * pictor/profile.h — the op profiler: where the time of a model's forward
 * goes, op by op, on any backend that has timing marks (CPU: the clock;
 * CUDA: events on the backend's stream).
 *
 * While enabled, every op is bracketed by two marks and its time added to
 * a row keyed by the op and its operands' shapes and dtypes (so each
 * distinct linear of a model is one row). Marks are read in batches of
 * PICTOR_PROFILE_BATCH ops, which waits for the GPU each time: a profiled
 * run measures each op's own GPU time, not an unprofiled run's throughput.
 * Graphs are not offered while profiling (a replay would hide its ops).
 * Ops that run other ops (none today) would count twice.
 * Thread: the backend's owning worker thread.
 */
#ifndef PICTOR_PROFILE_H
#define PICTOR_PROFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "pictor/backend.h"

#define PICTOR_PROFILE_BATCH 1024

struct pictor_op_args;

/* Starts (on) or stops and discards (off) profiling on be (not while
 * the backend is capturing a graph: reading marks waits). PICTOR_OK;
 * PICTOR_E_UNSUPPORTED when the backend has no timing marks;
 * PICTOR_E_NOMEM. Enabling twice keeps the rows. */
int pictor_profile_enable(pictor_backend *be, bool on);

/* Writes the rows to f, most total time first: total ms, share of the
 * total, calls, mean µs, and the rate — TFLOP/s for matmul, conv2d and
 * sdpa (their arithmetic counted from the shapes), else GB/s over the
 * operands' bytes (each read or written once) — then the key. Waits for
 * pending marks first. reset: the rows start again from zero. Nothing is
 * written when be is not profiling. */
void pictor_profile_report(pictor_backend *be, FILE *f, bool reset);

/* The ops wrapper's call while profiling (kernels/src/ops.c): runs the
 * op's slot between two marks. */
int pictor_profile_run_op(pictor_backend *be, const struct pictor_op_args *args, char *err,
                          size_t errlen);

#endif /* PICTOR_PROFILE_H */
