/*
 * kernels/src/ops_check.h — operand validation and dispatch shared by the op
 * wrappers (ops.c and the ops_*.c files next to it). Every check records
 * "<op>: <operand> <shape dtype>: <problem>" in the backend's error slot and
 * returns PICTOR_E_INVALID; PICTOR_OK when the operand is fine.
 * Internal to kernels/: not installed, not part of the plugin ABI.
 */
#ifndef PICTOR_OPS_CHECK_H
#define PICTOR_OPS_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "pictor/ops.h"

/* Room for "[a, b, c, d, e] f8_e4m3" with 20-digit dims. */
#define DESC_LEN 160

/* What dtypes an operand may have. */
enum operand_kind {
    OPERAND_FLOAT, /* F32, F16, BF16, F8_E4M3, F8_E5M2 */
    OPERAND_IDS,   /* I32, I64 */
    OPERAND_ANY,   /* every valid dtype */
};

/* Records "<op>: <what> <desc>: <problem>" and returns PICTOR_E_INVALID. */
int ops_bad(pictor_backend *be, const char *op, const char *what, const pictor_tensor *t,
            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Present, sane descriptor, on the backend's device, dtype of the kind;
 * FP8 operands need a finite non-zero scale. */
int ops_check_operand(pictor_backend *be, const char *op, const char *what,
                      const pictor_tensor *t, enum operand_kind kind);
/* check_operand when t is non-NULL. */
int ops_check_optional(pictor_backend *be, const char *op, const char *what,
                       const pictor_tensor *t, enum operand_kind kind);
/* min <= t->ndim <= max. */
int ops_check_ndim(pictor_backend *be, const char *op, const char *what, const pictor_tensor *t,
                   int min, int max);
/* t (when non-NULL) is 1-D of length n (a per-channel parameter). */
int ops_check_vector(pictor_backend *be, const char *op, const char *what,
                     const pictor_tensor *t, int64_t n);
/* t has ref's shape. */
int ops_check_same_shape(pictor_backend *be, const char *op, const char *what,
                         const pictor_tensor *t, const char *ref_what, const pictor_tensor *ref);
/* NumPy rule: shape (ndim dims) broadcasts to `to`. */
bool ops_broadcasts_to(const int64_t *shape, int ndim, const int64_t *to, int to_ndim);
/* t broadcasts to `to` (NumPy rules). */
int ops_check_broadcast(pictor_backend *be, const char *op, const char *what,
                        const pictor_tensor *t, const char *to_what, const pictor_tensor *to);
/* The rotary-embedding operands: x [B, L, H, Dh] with Dh even, cos and sin
 * [L, Dh], y of x's shape (pictor_rope, pictor_rms_norm_rope). */
int ops_check_rope(pictor_backend *be, const char *op, const pictor_tensor *x,
                   const pictor_tensor *cos, const pictor_tensor *sin,
                   const pictor_tensor *y);
/* Hands validated arguments to the backend's slot (PICTOR_E_UNSUPPORTED
 * when the slot is NULL or supports() refuses). */
int ops_dispatch(pictor_backend *be, struct pictor_op_args *args);

#endif /* PICTOR_OPS_CHECK_H */
