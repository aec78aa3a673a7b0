/*
 * pictor/backend.h — the compute backend handle: a table of functions plus a
 * context, as ggml's backends are. The CPU reference backend and the CUDA
 * backend implement the same table; callers (model code in plugins/, the
 * host's pipeline runner, tests) only ever go through pictor/ops.h and the
 * memory functions below, so a new backend needs no change to callers.
 *
 * Ownership and threads
 *   - A backend is created by its constructor (pictor_backend_cpu_create,
 *     pictor_backend_cuda_create) and destroyed with pictor_backend_destroy.
 *   - A backend is used by one thread at a time (the worker that owns it);
 *     it may use its own helper threads internally (the CPU pool, streams).
 *   - Every action returns PICTOR_OK or a negative pictor_status; the message
 *     of the latest failure is kept in the handle (pictor_backend_error).
 *
 * Implementing a backend
 *   - Fill a static const pictor_backend_iface with designated initialisers.
 *   - Op slots may be NULL: the wrapper in ops.c then fails with
 *     PICTOR_E_UNSUPPORTED and a message naming the op and backend.
 *   - Wrappers validate shapes and dtypes before calling a slot, so slots may
 *     assume their documented preconditions (see pictor/ops.h).
 */
#ifndef PICTOR_BACKEND_H
#define PICTOR_BACKEND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/status.h"
#include "pictor/tensor.h"

#define PICTOR_BACKEND_ERROR_LEN 512

struct pictor_backend;
struct pictor_op_args; /* defined in pictor/ops.h */

/* Unary elementwise functions. */
enum pictor_unary {
    PICTOR_UNARY_GELU_ERF = 0, /* 0.5 x (1 + erf(x / sqrt 2)) */
    PICTOR_UNARY_GELU_TANH,    /* 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))) */
    PICTOR_UNARY_QUICK_GELU,   /* x sigmoid(1.702 x) */
    PICTOR_UNARY_SILU,         /* x sigmoid(x) */
    PICTOR_UNARY_COUNT
};

/* Binary elementwise functions with NumPy broadcasting. */
enum pictor_binary {
    PICTOR_BINARY_ADD = 0,
    PICTOR_BINARY_MUL,
    PICTOR_BINARY_COUNT
};

/* Operations, one slot each in the iface (order = slot order). */
enum pictor_op {
    PICTOR_OP_MATMUL = 0,
    PICTOR_OP_CONV2D,
    PICTOR_OP_GROUP_NORM,
    PICTOR_OP_LAYER_NORM,
    PICTOR_OP_RMS_NORM,
    PICTOR_OP_SOFTMAX,
    PICTOR_OP_SDPA,
    PICTOR_OP_UNARY,
    PICTOR_OP_BINARY,
    PICTOR_OP_COPY,
    PICTOR_OP_UPSAMPLE_NEAREST2X,
    PICTOR_OP_EMBEDDING,
    PICTOR_OP_ROPE,
    PICTOR_OP_TIMESTEP_EMBEDDING,
    PICTOR_OP_FILL,
    PICTOR_OP_QUANTIZE_ROWS,
    PICTOR_OP_ADA_LAYER_NORM, /* fused FLUX ops (ops.h, kernels/src/ops_fused.c) */
    PICTOR_OP_GATED_ADD,
    PICTOR_OP_RMS_NORM_ROPE,
    PICTOR_OP_SDPA_FP8,       /* FP8 attention (ops.h) */
    PICTOR_OP_COUNT
};

extern const char *const pictor_op_names[PICTOR_OP_COUNT];
extern const char *const pictor_unary_names[PICTOR_UNARY_COUNT];
extern const char *const pictor_dtype_names[PICTOR_DTYPE_COUNT];

/*
 * The function table. Every slot gets the backend's context first. Op slots
 * receive the already-validated argument block of pictor/ops.h.
 */
struct pictor_backend_iface {
    const char *name; /* "cpu", "cuda" */
    enum pictor_device_kind device;

    void (*destroy)(void *ctx);

    /* Memory on the backend's device. alloc returns 256-byte aligned memory;
     * free(NULL) is a no-op. */
    int (*alloc)(void *ctx, size_t bytes, void **out);
    void (*free)(void *ctx, void *ptr);
    /* Byte copies between host and device memory (CPU: memcpy). */
    int (*upload)(void *ctx, void *dst_dev, const void *src_host, size_t n);
    int (*download)(void *ctx, void *dst_host, const void *src_dev, size_t n);
    /* Wait until all queued work is done (CPU: no-op). */
    int (*synchronize)(void *ctx);
    /* Optional: wait, then hand cached free memory back to the driver. */
    void (*trim)(void *ctx);

    /* Optional: finer support query beyond "the slot is non-NULL", e.g. a
     * dtype combination. NULL means every validated call is supported. */
    bool (*supports)(void *ctx, enum pictor_op op,
                     const struct pictor_op_args *args);

    /* Optional graphs (all four or none): record the work queued between
     * capture_begin and capture_end — nothing runs meanwhile — and replay it
     * with graph_launch (CUDA: stream capture into an instantiated CUDA
     * graph). While capturing, upload, download and synchronize fail, and
     * memory allocated belongs to the graph (pictor_backend_capture_begin
     * documents the rules). */
    bool (*graphs_on)(void *ctx); /* NULL: offered when the slots are set */
    int (*capture_begin)(void *ctx, char *err, size_t errlen);
    int (*capture_end)(void *ctx, void **graph, char *err, size_t errlen);
    int (*graph_launch)(void *ctx, void *graph, char *err, size_t errlen);
    void (*graph_destroy)(void *ctx, void *graph);

    /* Optional timing marks for the op profiler (pictor/profile.h), all
     * four or none: mark_new makes one, mark_record queues it after the
     * work queued so far (CPU: reads the clock now), mark_ms waits for b
     * and returns the milliseconds from a to b (negative on failure). */
    int (*mark_new)(void *ctx, void **mark);
    int (*mark_record)(void *ctx, void *mark);
    double (*mark_ms)(void *ctx, void *a, void *b);
    void (*mark_free)(void *ctx, void *mark);

    /* Ops; see pictor/ops.h for each argument block. */
    int (*op[PICTOR_OP_COUNT])(void *ctx, const struct pictor_op_args *args,
                               char *err, size_t errlen);
};

struct pictor_profile; /* kernels/src/profile.c (pictor/profile.h) */

struct pictor_backend {
    const struct pictor_backend_iface *iface;
    void *ctx;
    char error[PICTOR_BACKEND_ERROR_LEN]; /* latest failure message */
    struct pictor_profile *profile;       /* NULL unless profiling */
};

typedef struct pictor_backend pictor_backend;

/* CPU reference backend. n_threads <= 0: one per online core.
 * Returns NULL only when out of memory. */
pictor_backend *pictor_backend_cpu_create(int n_threads);

/* Destroys the backend and its context; NULL is a no-op. */
void pictor_backend_destroy(pictor_backend *be);

const char *pictor_backend_name(const pictor_backend *be);
enum pictor_device_kind pictor_backend_device(const pictor_backend *be);

/* Message of the latest failed action on this backend ("" if none). */
const char *pictor_backend_error(const pictor_backend *be);

/* Records a failure message and returns `status` (for `return` chains). */
int pictor_backend_fail(pictor_backend *be, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int pictor_backend_alloc(pictor_backend *be, size_t bytes, void **out);
void pictor_backend_free(pictor_backend *be, void *ptr);
int pictor_backend_upload(pictor_backend *be, void *dst, const void *src,
                          size_t n);
int pictor_backend_download(pictor_backend *be, void *dst, const void *src,
                            size_t n);
int pictor_backend_synchronize(pictor_backend *be);
/* Waits for queued work, then returns memory the backend's allocator keeps
 * cached for reuse (freed blocks) to the driver; for planning one large
 * allocation after many small ones. No-op where nothing is cached (CPU). */
void pictor_backend_trim(pictor_backend *be);

/*
 * Graphs: one sequence of ops recorded once and replayed many times with
 * little host work per replay (the FLUX denoising step on CUDA).
 *
 * Between pictor_backend_capture_begin and _capture_end, ops are recorded,
 * not run. What a replay sees is what a CUDA graph sees:
 *   - every tensor's address, shape and strides, and every scalar argument
 *     (a fill value, an eps), as they were at capture: to vary an input,
 *     write new data into the same memory before launching;
 *   - memory allocated while capturing is the graph's (same addresses at
 *     every replay), kept until the graph is destroyed; freeing it while
 *     capturing is allowed (the graph may reuse it). Freeing memory from
 *     before the capture is an error;
 *   - upload, download and synchronize fail while capturing (a host round
 *     trip cannot be replayed), as does a nested capture_begin.
 * A failure inside the captured region (an op's error) is returned by that
 * op as usual; capture_end then still ends the capture and returns the
 * first error, with no graph. Run the sequence once without capturing
 * first: libraries choose their algorithms then (CUDA.md §5).
 */
typedef struct pictor_graph pictor_graph;

/* Whether this backend offers graphs (never while profiling: a replay
 * would hide its ops from the profiler). The CUDA backend does unless
 * PICTOR_CUDA_GRAPHS=0 is set in the environment at creation; the CPU
 * backend records and replays op calls (a twin for testing the rules
 * above) only when PICTOR_CPU_GRAPHS=1 is set at creation or after
 * pictor_backend_cpu_set_graphs(be, true). */
bool pictor_backend_graphs_offered(const pictor_backend *be);

/* The CPU backend's graph switch (see above); other backends: no-op. */
void pictor_backend_cpu_set_graphs(pictor_backend *be, bool on);

/* Starts recording. PICTOR_E_UNSUPPORTED when graphs are not offered. */
int pictor_backend_capture_begin(pictor_backend *be);

/* Ends recording; on success *out is the graph to launch (free it with
 * pictor_backend_graph_destroy). On failure *out is NULL, the message says
 * why (the first failure inside the region, if any), and the backend is no
 * longer capturing. */
int pictor_backend_capture_end(pictor_backend *be, pictor_graph **out);

/* Queues one replay of g (asynchronous, like any op). */
int pictor_backend_graph_launch(pictor_backend *be, pictor_graph *g);

/* Waits for queued replays of g, then frees it; NULL is a no-op. */
void pictor_backend_graph_destroy(pictor_backend *be, pictor_graph *g);

#endif /* PICTOR_BACKEND_H */
