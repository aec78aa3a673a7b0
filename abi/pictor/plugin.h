/*
 * pictor/plugin.h — the plugin ABI, version 1.3: what a `.so` in the plugin
 * folder exports and what the host hands it.
 *
 * One exported symbol per plugin: a const struct pictor_plugin_entry named
 * PICTOR_PLUGIN_ENTRY_SYMBOL ("pictor_plugin_entry"); everything else is
 * hidden (-fvisibility=hidden and a version script). The host loads plugins
 * with dlopen(RTLD_NOW | RTLD_LOCAL) and then:
 *   1. checks entry->struct_size covers the 1.0 fields, abi_major == the host's
 *      major (else: rejected with a log line naming both versions) and
 *      build_signature == the host's (tensor and backend layouts);
 *   2. reads no field past entry->struct_size (a plugin built against an
 *      older minor is accepted; fields it lacks count as NULL/0);
 *   3. calls init(host) once; a failure unloads the plugin with its message.
 *
 * Versioning rules (CLAP / SQLite vfs style)
 *   - Every struct crossing the boundary starts with uint32_t struct_size,
 *     set by whoever fills it to sizeof of the struct it was built with.
 *   - Growth is append-only; a field added in minor N is commented
 *     "added in 1.N". Readers check struct_size before reading it.
 *   - Breaking changes bump PICTOR_ABI_MAJOR.
 *
 * Threads and lifecycle tags used below
 *   [loader]  the host thread that scans the plugin folder (start-up, reload)
 *   [worker]  the GPU/CPU worker thread that owns the backend of the call
 *   [any]     any thread, concurrently
 */
#ifndef PICTOR_PLUGIN_H
#define PICTOR_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/eval.h"
#include "pictor/status.h"
#include "pictor/tensor.h"
#include "pictor/wsource.h"

#define PICTOR_ABI_MAJOR 1
#define PICTOR_ABI_MINOR 3
#define PICTOR_PLUGIN_ENTRY_SYMBOL "pictor_plugin_entry"
/* Marks the one exported definition:
 *   PICTOR_PLUGIN_EXPORT const struct pictor_plugin_entry pictor_plugin_entry = {...}; */
#define PICTOR_PLUGIN_EXPORT __attribute__((visibility("default")))

/* The kernel library's backend interface version: struct pictor_backend,
 * pictor_backend_iface and pictor_op_args (kernels/include/pictor/) cross
 * the boundary inside pictor_job_ctx, so a change of their layout bumps this
 * number. 2: the FP8 quantise and fused FLUX ops, graphs, trim and the
 * op profiler's marks in the iface. 3: the sdpa_fp8 op (one more op slot).
 * 4: matmul's gate (pictor_op_args grows: the gated residual linear). */
#define PICTOR_KERNELS_IFACE 4

/* Layout fingerprint host and plugin must share (a constant expression):
 * pointer size, byte order, tensor descriptor size, kernels interface. A
 * mismatch is rejected like a different major. */
#define PICTOR_BUILD_SIGNATURE                                               \
    ((uint64_t)sizeof(void *) |                                              \
     (uint64_t)(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) << 8 |           \
     (uint64_t)sizeof(struct pictor_tensor) << 16 |                          \
     (uint64_t)PICTOR_KERNELS_IFACE << 32)

enum pictor_plugin_kind {
    PICTOR_PLUGIN_FAMILY = 1,
    PICTOR_PLUGIN_SCHEDULER = 2,
};

enum pictor_log_level {
    PICTOR_LOG_ERROR = 0,
    PICTOR_LOG_WARN,
    PICTOR_LOG_INFO,
    PICTOR_LOG_DEBUG,
};

/* What a model predicts; schedulers state what they consume and the host
 * pairs only matching ones (flow matching vs. diffusion). */
enum pictor_prediction {
    PICTOR_PREDICT_FLOW = 1 << 0,    /* velocity, flow matching (FLUX, SD3) */
    PICTOR_PREDICT_EPSILON = 1 << 1, /* noise (SDXL) */
    PICTOR_PREDICT_V = 1 << 2,       /* v-prediction */
};

struct pictor_backend; /* kernels/include/pictor/backend.h */

/* ---- host API: what the host hands every plugin ------------------------ */

struct pictor_host_api {
    uint32_t struct_size;
    uint16_t abi_major, abi_minor; /* the host's */

    /* [any] One log line, prefixed by the host with the plugin name. */
    void (*log)(int level, const char *plugin, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* [any] Host memory (plugins may also use malloc; these are tracked). */
    void *(*alloc)(size_t bytes);
    void (*free)(void *ptr);

    /* [worker] Weights: open a component folder, a .safetensors file or a
     * *.safetensors.index.json; the wsource stays valid until
     * weights_close. Error text goes to err. */
    int (*weights_open)(const char *path, bool prefer_fp16_variant,
                        struct pictor_wsource *out, char *err, size_t errlen);
    void (*weights_close)(struct pictor_wsource *src);
    /* [any] Tensor names of an open source, for probing and mapping. */
    size_t (*weights_count)(const struct pictor_wsource *src);
    const char *(*weights_name)(const struct pictor_wsource *src, size_t i);
    /* [loader] Header-only look at a weights path (no tensor data read):
     * used by probe(). Same semantics as weights_open. */
    int (*weights_peek)(const char *path, struct pictor_wsource *out,
                        char *err, size_t errlen);
};

/* ---- per-job context: progress, cancellation, device ------------------- */

struct pictor_job_ctx {
    uint32_t struct_size;
    void *host; /* opaque to the plugin */
    struct pictor_backend *backend; /* the worker's device, stream, handles */
    /* [worker] Report finished steps; returns false when the job was
     * cancelled (client gone, shutdown): the plugin stops and returns
     * PICTOR_E_CANCELLED. */
    bool (*progress)(void *host, int step, int total);
    /* [worker] Whether the job was cancelled, without reporting progress. */
    bool (*cancelled)(void *host);
};

/* ---- family plugins -------------------------------------------------------- */

struct pictor_probe_result {
    uint32_t struct_size;
    int score;           /* 0 = not mine, 100 = certain */
    char variant[64];    /* "flux.1-schnell", "sdxl-turbo", ... */
    char detail[256];    /* one line for `pictor inspect` / logs */
    char licence[256];   /* licence notice of the variant, "" when none */
};

struct pictor_family_defaults {
    uint32_t struct_size;
    int steps;                 /* default number of denoising steps */
    int step_ceiling;          /* most steps a request may ask for */
    float guidance;            /* default guidance scale */
    char scheduler[32];        /* default scheduler plugin name */
    int size_granularity;      /* width/height must be multiples of this */
    int default_width, default_height;
    uint32_t prediction;       /* enum pictor_prediction bits */
    char licence[256];         /* notice surfaced by inspect and /v1/models,
                                  "" when none */
    /* Added in 1.2. True when predict applies no classifier-free guidance,
     * so a negative prompt changes nothing (FLUX: guidance-distilled); the
     * server then says in the receipt that it was ignored (API.md). An
     * older plugin leaves it false: a negative prompt is taken as used. */
    bool negative_prompt_ignored;
};

struct pictor_open_params {
    uint32_t struct_size;
    const char *model_dir;           /* diffusers folder or single file */
    struct pictor_backend *backend;  /* the worker's */
    int precision;                   /* enum pictor_precision */
};

struct pictor_gen_params {
    uint32_t struct_size;
    const char *prompt;
    const char *negative_prompt;     /* may be NULL */
    int width, height, batch;
    float guidance;
    uint64_t seed;
};

struct pictor_timestep_params; /* below, with the scheduler interface */

/* A family plugin's model instance is an opaque pointer it owns. */
struct pictor_family_iface {
    uint32_t struct_size;
    /* [loader] Score a model folder from metadata only (configs, safetensors
     * headers through host->weights_peek); never reads tensor data. */
    int (*probe)(const char *model_dir, struct pictor_probe_result *out);
    /* [worker] Load a model. */
    int (*open)(const struct pictor_open_params *p, void **model, char *err,
                size_t errlen);
    /* [any] Defaults of an open model. */
    void (*defaults)(void *model, struct pictor_family_defaults *out);
    /* [worker] Encode the prompt(s); the conditioning is owned by the
     * plugin until release_cond. */
    int (*encode)(void *model, const struct pictor_job_ctx *job,
                  const struct pictor_gen_params *gp, void **cond, char *err,
                  size_t errlen);
    /* [worker] Latent shape for a request: [B, C, h, w], the shape the
     * reference pipeline draws its initial noise in (torch.randn); the
     * scheduler works on these elements, predict() and decode() take them
     * in this layout (a family that packs latents does so inside). */
    int (*latent_shape)(void *model, const struct pictor_gen_params *gp,
                        int64_t shape[4]);
    /* [worker] The timestep parameters this family's pipeline passes to
     * set_timesteps for `steps` steps (explicit sigmas written to
     * sigma_buf[0..cap), mu for dynamic shifting). NULL: steps only. */
    int (*schedule)(void *model, const struct pictor_gen_params *gp,
                    int steps, struct pictor_timestep_params *tp,
                    float *sigma_buf, int cap);
    /* [worker] One model evaluation at scheduler timestep t (sigma for flow
     * models): out = model(x, t, cond), CFG or embedded guidance applied
     * inside. x and out have latent_shape, f32, on the job's device. */
    int (*predict)(void *model, const struct pictor_job_ctx *job, void *cond,
                   const struct pictor_tensor *x, float timestep,
                   float sigma, struct pictor_tensor *out, char *err,
                   size_t errlen);
    /* [worker] Latents -> image [B, 3, H, W] f32 in host memory, already
     * post-processed into [0, 1] exactly as the reference pipeline's
     * image processor does before its 8-bit conversion (the host does
     * round-half-even(255 x) and the PNG). */
    int (*decode)(void *model, const struct pictor_job_ctx *job,
                  const struct pictor_tensor *latents, float *image,
                  char *err, size_t errlen);
    /* [worker] */
    void (*release_cond)(void *model, void *cond);
    /* [worker] */
    void (*close)(void *model);
    /* Added in 1.2. Optional (NULL: the family offers no partial images
     * and a streaming request gets only its final images). [worker] A
     * cheap preview of the image being denoised, for API.md's
     * `partial_images`: x is the sample model call `step` was made for
     * (before scale_model_input) and out the model's output for it, both
     * host f32 arrays in latent_shape layout [B, C, h, w]; sigma is the
     * sigma that call was given (predict's). Writes rgb, [B, height, width,
     * 3] u8 in host memory. It must cost a small fraction of decode (no
     * VAE pass per call; a plugin may fit what it needs once per open
     * model, lazily, on its first call, using the job's device then).
     * Never called concurrently for one model. An error is logged by the
     * host and ends previews for that job, never the job itself. */
    int (*preview)(void *model, const struct pictor_job_ctx *job, const float *x,
                   const float *out, float sigma, const int64_t shape[4], int width,
                   int height, uint8_t *rgb, char *err, size_t errlen);
};

/* ---- scheduler plugins ----------------------------------------------------- */

struct pictor_noise_source {
    uint32_t struct_size;
    void *ctx;
    /* [worker] n standard normal values, continuing the job's generator
     * stream (torch-compatible, MODELS.md §9). */
    int (*randn)(void *ctx, float *out, size_t n);
};

struct pictor_timestep_params {
    uint32_t struct_size;
    int num_inference_steps;
    const float *sigmas; /* explicit sigmas (FLUX pipelines) or NULL */
    int n_sigmas;
    bool has_mu;         /* dynamic shifting exponent (FLUX-dev) */
    double mu;           /* a Python float in the reference pipelines */
    float eta;           /* DDIM eta; 0 otherwise */
};

/* A scheduler works on host f32 arrays of n elements in the latents'
 * contiguous order. An instance belongs to one job. */
struct pictor_scheduler_iface {
    uint32_t struct_size;
    uint32_t prediction; /* enum pictor_prediction bits it accepts */
    /* [worker] From the model folder's scheduler_config.json text. */
    int (*create)(const char *config_json, void **sched, char *err,
                  size_t errlen);
    int (*set_timesteps)(void *sched, const struct pictor_timestep_params *p,
                         char *err, size_t errlen);
    /* Model calls (len(timesteps)); timesteps/sigmas stay valid until the
     * next set_timesteps. sigmas has the scheduler's own length. */
    const float *(*timesteps)(void *sched, size_t *n);
    const float *(*sigmas)(void *sched, size_t *n);
    float (*init_noise_sigma)(void *sched);
    /* out = what the model sees for call i (identity where none). */
    int (*scale_model_input)(void *sched, size_t i, const float *sample,
                             float *out, size_t n);
    /* out = the sample after model call i; noise may be NULL for
     * schedulers that draw none. */
    int (*step)(void *sched, size_t i, const float *model_output,
                const float *sample, const struct pictor_noise_source *noise,
                float *out, size_t n, char *err, size_t errlen);
    void (*destroy)(void *sched);
    /* Added in 1.3. Optional (NULL: every step runs on the host). Whether
     * model call i's step is out = c_sample * sample + c_output *
     * model_output — no noise, no state beyond i — and its two
     * coefficients (flow-match Euler: 1 and sigma[i+1] - sigma[i]). When it
     * returns true the host applies that combination on the job's device
     * instead of calling step (no round trip through host memory), and the
     * scheduler advances as if step(i) had run. Called at most once per i,
     * in order, in place of step. A scheduler whose scale_model_input is
     * not the identity must not return true. */
    bool (*linear_step)(void *sched, size_t i, float *c_sample, float *c_output);
};

/* ---- the entry ------------------------------------------------------------- */

struct pictor_plugin_entry {
    uint32_t struct_size;
    uint16_t abi_major, abi_minor;      /* PICTOR_ABI_MAJOR/MINOR built with */
    uint64_t build_signature;           /* PICTOR_BUILD_SIGNATURE built with */
    uint32_t kind;                      /* enum pictor_plugin_kind */
    const char *name;                   /* "flux", "heun" (unique per kind) */
    const char *version;                /* the plugin's own version */
    const char *description;
    /* [loader] Called once after the checks; NULL = nothing to do. */
    int (*init)(const struct pictor_host_api *host, char *err, size_t errlen);
    /* [loader] Called once before dlclose; NULL = nothing to do. */
    void (*deinit)(void);
    const struct pictor_family_iface *family;       /* kind FAMILY */
    const struct pictor_scheduler_iface *scheduler; /* kind SCHEDULER */
    /* Added in 1.1. Optional: run a component on named tensors
     * (`pictor check`). */
    pictor_eval_fn eval;
    /* Added in 1.1. NULL-terminated component names eval answers
     * ("scheduler.heun"); an entry ending in '.' is a prefix. */
    const char *const *eval_components;
};

#endif /* PICTOR_PLUGIN_H */
