/*
 * pictor/params.h — loading a model block's parameters by name with shape
 * checks, onto the backend's device.
 *
 * A pictor_params collects tensors for one model instance. Lookups are
 * "sticky": the first failure (missing tensor, wrong shape, unsupported
 * dtype, out of memory) is recorded with a message naming the tensor and the
 * file it came from, and every later call is a no-op returning that status,
 * so load code is a flat list of gets followed by one status check.
 *
 * On the CPU, tensors are used in place (zero copy, e.g. straight from a
 * mmapped safetensors file); on another device they are uploaded once and
 * the copies are owned by the pictor_params until pictor_params_release.
 * With a compute dtype set (pictor_params_set_dtype: BF16 or F16), every
 * float tensor is converted to it once at load, on any device (FP8 scales
 * applied), the way diffusers' model.to(torch.bfloat16) does; the model
 * code may then quantise its large linear weights to E4M3
 * (pictor_params_quantize_rows).
 * Thread: [worker thread] (the backend's owner).
 */
#ifndef PICTOR_PARAMS_H
#define PICTOR_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/backend.h"
#include "pictor/wsource.h"

struct pictor_params {
    pictor_backend *be;
    const struct pictor_wsource *src;
    void **allocs; /* device copies owned by this set */
    size_t n_allocs, cap_allocs;
    int64_t n_values; /* parameters loaded so far (elements) */
    int dtype;        /* PICTOR_F32 (0): tensors as stored; else converted */
    int status;       /* first failure, PICTOR_OK otherwise */
    char *err;        /* caller's message buffer */
    size_t errlen;
};

void pictor_params_init(struct pictor_params *p, pictor_backend *be,
                        const struct pictor_wsource *src, char *err,
                        size_t errlen);

/* The compute dtype of a requested enum pictor_precision: FP32 -> PICTOR_F32,
 * BF16 -> PICTOR_BF16, FP16 -> PICTOR_F16, FP8 -> PICTOR_BF16 (activations
 * stay bf16; the big linears run in FP8, pictor_precision_fp8_linears);
 * -1 for unknown values. */
int pictor_precision_compute_dtype(int precision);

/* Whether a precision quantises the large linear layers (FLUX transformer
 * blocks, T5) to E4M3: weights per output channel at load
 * (pictor_params_quantize_rows), activations per token at run time
 * (pictor_linear_fp8). True for PICTOR_PRECISION_FP8 only. */
bool pictor_precision_fp8_linears(int precision);

/* Converts every tensor loaded from now on to `dtype` (PICTOR_BF16 or
 * PICTOR_F16; PICTOR_F32 keeps each tensor's stored dtype). Any other
 * dtype is recorded as the set's failure (PICTOR_E_UNSUPPORTED). */
void pictor_params_set_dtype(struct pictor_params *p, int dtype);

/* Looks up the tensor named by the printf-style fmt, checks it is a float
 * tensor of exactly `ndim` dims and `shape` (shape NULL: any), and sets *out
 * to a tensor on the backend's device. */
int pictor_params_get(struct pictor_params *p, pictor_tensor *out, int ndim,
                      const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* As pictor_params_get, but an absent tensor is not an error: *out is
 * zeroed (out->data == NULL) and false is returned. */
bool pictor_params_get_opt(struct pictor_params *p, pictor_tensor *out,
                           int ndim, const int64_t *shape, const char *fmt,
                           ...) __attribute__((format(printf, 5, 6)));

/* Whether the source holds a tensor of that name (no error recorded). */
bool pictor_params_has(struct pictor_params *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Quantises a loaded float weight w [N, K] on the backend to E4M3 with one
 * scale per row (output channel; pictor_quantize_rows), in place of its
 * storage: afterwards *w is an E4M3 tensor whose row_scale points at the
 * N f32 scales, both owned by the set (the float copy is freed when the
 * set owned it). `name` names the tensor in a failure message. Sticky
 * failures as pictor_params_get. */
int pictor_params_quantize_rows(struct pictor_params *p, pictor_tensor *w, const char *name);

/* Hands a backend allocation made by the caller (a re-laid-out copy of a
 * loaded tensor) to the set, freeing `old` when the set owns it (a device
 * copy; CPU tensors used in place are not owned). PICTOR_E_NOMEM leaves
 * `fresh` with the caller. */
int pictor_params_replace(struct pictor_params *p, void *old, void *fresh);

/* Frees device copies; the struct may be re-initialised afterwards. */
void pictor_params_release(struct pictor_params *p);

#endif /* PICTOR_PARAMS_H */
