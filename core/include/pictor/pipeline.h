/*
 * pictor/pipeline.h — one text-to-image generation, the host side of
 * ARCHITECTURE.md's request path, independent of the model family:
 *
 *   family.encode → latent_shape → initial noise (torch-compatible CPU
 *   generator seeded with the request's seed, MODELS.md §9) × the
 *   scheduler's init_noise_sigma → scheduler.set_timesteps (with the
 *   family's schedule hook: explicit sigmas, mu) → for each model call:
 *   scale_model_input → family.predict → (family.preview after the calls
 *   picked for partial images) → scheduler.step (noise continues the same
 *   generator stream, as diffusers passes one generator) with progress and
 *   cancellation checked between steps → family.decode → RGB8. Previews
 *   read the run's state and change nothing in it: the final image is the
 *   same with or without them.
 *
 * The caller owns the open model and picks a compatible scheduler
 * (pictor_plugins_pick_scheduler). Thread: [worker] — the backend's owner.
 */
#ifndef PICTOR_PIPELINE_H
#define PICTOR_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/backend.h"
#include "pictor/plugins.h"

struct pictor_pipeline_request {
    const struct pictor_plugin *family;    /* a FAMILY plugin */
    void *model;                           /* open model of that family */
    const struct pictor_plugin *scheduler; /* a SCHEDULER plugin */
    const char *scheduler_config_json;     /* scheduler_config.json text or NULL */
    struct pictor_gen_params gp;           /* prompt, size, batch, guidance, seed */
    int steps;
    /* Optional initial latents in latent_shape layout (f32, already
     * multiplied by init_noise_sigma as the pipelines expect when latents
     * are passed in); NULL: drawn from gp.seed. */
    const float *latents;
    /* Optional; return false (progress) / true (cancelled) to stop with
     * PICTOR_E_CANCELLED. */
    bool (*progress)(void *ctx, int step, int total);
    bool (*cancelled)(void *ctx);
    void *ctx;
    /* Optional partial images (API.md `partial_images`): after each model
     * call that pictor_pipeline_preview_steps picks for preview_count
     * (0..PICTOR_PIPELINE_MAX_PREVIEWS), the family's `preview` (ABI 1.2)
     * draws [B, H, W, 3] u8 and on_preview receives it (index 0, 1, ...;
     * rgb valid during the call only). Nothing happens when the family has
     * no preview; a preview error is logged and ends the job's previews,
     * never the job. */
    int preview_count;
    void (*on_preview)(void *ctx, int index, const uint8_t *rgb);
    /* Optional: receives the decoded image [B, 3, H, W] f32 in [0, 1]
     * before the 8-bit conversion (fixture cases compare it). */
    float *image_out;
};

struct pictor_pipeline_timing {
    double encode_ms, denoise_ms, decode_ms;
};

/* Most partial images per request (API.md: partial_images 0..3). */
#define PICTOR_PIPELINE_MAX_PREVIEWS 3

/* The model calls after which a run of n_calls takes its `count` previews:
 * 1-based call numbers, evenly spaced (call round(j x n_calls / (count +
 * 1)) for j = 1..count), strictly increasing and all before the last call
 * (which makes the final image). Fewer than count when n_calls is too
 * small. Writes at most count values to out; returns how many. */
int pictor_pipeline_preview_steps(int count, int n_calls, int *out);

/* Runs the request; on success *rgb is a malloc'd [B, H, W, 3] u8 image
 * (H, W = gp.height, gp.width): round-half-even(255 x) of the family's
 * [0, 1] image, as the reference's numpy conversion. timing may be NULL. */
int pictor_pipeline_run(pictor_backend *be, const struct pictor_pipeline_request *r,
                        uint8_t **rgb, struct pictor_pipeline_timing *timing,
                        char *err, size_t errlen);

#endif /* PICTOR_PIPELINE_H */
