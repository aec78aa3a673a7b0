/*
 * pictor/eval.h — running one model component on named tensors, the way
 * `pictor check` proves a component against a fixture case (FIXTURES.md).
 *
 * An evaluator receives a request (component name, model folder, the case's
 * params as JSON text, a backend) and a way to read named inputs; it writes
 * each named output through put_output, which copies the tensor, so the
 * evaluator keeps ownership of everything it allocated and frees it before
 * returning. Evaluators are the same code the server runs: they call the
 * model blocks in plugins/, never a test-only reimplementation.
 *
 * This becomes the plugin ABI's optional `eval` entry; the structs already
 * follow the ABI rules (struct_size first, append-only).
 * Thread: [worker thread] — the thread that owns req->backend.
 */
#ifndef PICTOR_EVAL_H
#define PICTOR_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "pictor/tensor.h"

struct pictor_backend;

enum pictor_precision {
    PICTOR_PRECISION_FP32 = 0,
    PICTOR_PRECISION_BF16,
    PICTOR_PRECISION_FP16,
    PICTOR_PRECISION_FP8,
    PICTOR_PRECISION_COUNT
};

struct pictor_eval_io {
    uint32_t struct_size;
    void *ctx;
    /* Input `name` as a CPU tensor valid until the evaluator returns;
     * PICTOR_E_NOT_FOUND when the case has no such input. */
    int (*get_input)(void *ctx, const char *name, struct pictor_tensor *out);
    /* Copies `t` (any device the backend can download from, any strides) as
     * output `name`. Float outputs are stored as f32, ids as i64. */
    int (*put_output)(void *ctx, const char *name,
                      const struct pictor_tensor *t);
};

struct pictor_eval_request {
    uint32_t struct_size;
    const char *component;   /* "vae.decoder", "scheduler.heun", ... */
    const char *model_dir;   /* absolute path of the case's model/, or NULL */
    const char *params_json; /* the case's "params" object, "{}" if none */
    struct pictor_backend *backend;
    int precision;           /* enum pictor_precision */
};

/* Returns PICTOR_OK or a negative pictor_status with a message in err. */
typedef int (*pictor_eval_fn)(const struct pictor_eval_request *req,
                              const struct pictor_eval_io *io, char *err,
                              size_t errlen);

#endif /* PICTOR_EVAL_H */
