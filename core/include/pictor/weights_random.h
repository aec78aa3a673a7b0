/*
 * pictor/weights_random.h — a synthetic weights source: a component folder
 * holding `random-weights.tsv` (or that file itself) lists tensors by name,
 * shape, dtype and init rule; get() fills each tensor with deterministic
 * pseudo-random data on first use (seeded by the tensor name, so the data
 * does not depend on the thread count), keeps it until close.
 *
 * File: '#' comment lines and blank lines ignored; a header line
 * "name<TAB>shape[<TAB>dtype[<TAB>init]]"; then one tensor per line with
 * as many fields as the header. shape: comma-separated integers >= 0
 * (empty: scalar); dtype: f32|F32, f16|F16, bf16|BF16, f8_e4m3|F8_E4M3
 * (default bf16); init (default auto): auto (rank >= 2: fan_in; rank <= 1:
 * zeros for names ending in "bias", else ones), fan_in (U(+-1/sqrt(fan_in)),
 * fan_in = product of dims 1..), ones, zeros, uniform:A (U(+-A)).
 * Errors name the file and line.
 *
 * Thread: open/close on one thread; queries and get from any thread
 * (generation runs under the source's mutex).
 */
#ifndef PICTOR_WEIGHTS_RANDOM_H
#define PICTOR_WEIGHTS_RANDOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/tensor.h"
#include "pictor/wsource.h"

#define PICTOR_WRANDOM_FILE "random-weights.tsv"
/* Most threads one tensor is generated with. */
#define PICTOR_WRANDOM_MAX_THREADS 64

enum pictor_wrandom_init {
    PICTOR_WRANDOM_FAN_IN = 0, /* U(+-bound), bound = 1/sqrt(fan_in) */
    PICTOR_WRANDOM_ONES,
    PICTOR_WRANDOM_ZEROS,
    PICTOR_WRANDOM_UNIFORM,    /* U(+-bound) */
};

struct pictor_wrandom_info {
    const char *name;
    int dtype; /* enum pictor_dtype */
    int ndim;
    int64_t shape[PICTOR_MAX_DIMS];
    uint64_t numel, nbytes;
    int init;    /* enum pictor_wrandom_init ("auto" resolved) */
    float bound; /* uniform bound (FAN_IN, UNIFORM) */
};

struct pictor_wrandom;

/* "f32"/"F32", "f16", "bf16", "f8_e4m3" -> enum pictor_dtype, or -1. */
int pictor_wrandom_parse_dtype(const char *s);
/* Whether PATH is a random-weights.tsv file or a folder holding one. */
bool pictor_wrandom_present(const char *path);

int pictor_wrandom_open(const char *path, struct pictor_wrandom **out, char *err,
                        size_t errlen);
/* NULL is a no-op. */
void pictor_wrandom_close(struct pictor_wrandom *w);

const char *pictor_wrandom_path(const struct pictor_wrandom *w);
/* Tensors 0..count-1 in strcmp order of names. */
size_t pictor_wrandom_count(const struct pictor_wrandom *w);
const char *pictor_wrandom_name(const struct pictor_wrandom *w, size_t i);
/* Listed facts of NAME (PICTOR_E_NOT_FOUND); never generates. */
int pictor_wrandom_info(const struct pictor_wrandom *w, const char *name,
                        struct pictor_wrandom_info *out);
uint64_t pictor_wrandom_total_bytes(const struct pictor_wrandom *w);
uint64_t pictor_wrandom_total_params(const struct pictor_wrandom *w);

/* CPU view of NAME, generated on first use: PICTOR_OK, PICTOR_E_NOT_FOUND
 * or PICTOR_E_NOMEM. */
int pictor_wrandom_get(struct pictor_wrandom *w, const char *name, pictor_tensor *out);

/* Writes NAME's data (info.nbytes bytes, the very bytes get() gives) into
 * dst without keeping it: PICTOR_OK or PICTOR_E_NOT_FOUND. Not concurrent
 * with get() of the same source. */
int pictor_wrandom_fill(const struct pictor_wrandom *w, const char *name, void *dst);
/* Writes every listed tensor into a safetensors file at path (written as
 * path.tmp, then renamed), generating one tensor at a time (host memory:
 * the largest tensor). Errors name the file. */
int pictor_wrandom_save(const struct pictor_wrandom *w, const char *path, char *err,
                        size_t errlen);
/* A pictor_wsource over the source (ctx is w). */
struct pictor_wsource pictor_wrandom_wsource(struct pictor_wrandom *w);
/* Whether src was made by pictor_wrandom_wsource. */
bool pictor_wrandom_is_wsource(const struct pictor_wsource *src);

#endif /* PICTOR_WEIGHTS_RANDOM_H */
