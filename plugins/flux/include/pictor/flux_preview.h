/*
 * pictor/flux_preview.h — the FLUX plugin's partial images (the family
 * table's `preview`, ABI 1.2; API.md `stream`, `partial_images`): a linear
 * map from latent channels to RGB, applied to the current estimate of the
 * clean latent and upsampled to the request's size.
 *
 * Why this design: it costs C x 3 multiply-adds per latent pixel plus a
 * bilinear upsampling (27 ms for 1024² on one busy CPU core, measured;
 * a VAE decode takes seconds there), needs no extra weights, and works
 * for any VAE: the map is
 * fitted from the model's own decoder, once per open model, on the first
 * preview. The fit decodes FLUX_PREVIEW_FIT_PROBES standard-normal latents
 * of FLUX_PREVIEW_FIT_SIDE² latent pixels (a fixed seed) in one batch —
 * about 1/30 of a 1024² decode — and solves, per colour, the least-squares
 * problem colour(block) = bias + weight · latent(pixel) over every latent
 * pixel and the mean colour of the scale x scale image block it decodes to.
 * Random latents, not constant ones (a zero latent plus one per channel):
 * GroupNorm in the decoder divides a constant latent's feature maps by the
 * tiny variance only their borders leave, so a constant latent decodes to
 * amplified border patterns; on the tiny test VAE the mean colour of the
 * zero latent's decode moved by 0.07 between 8 x 8 and 64 x 64 latents.
 * Noise latents keep the normalisation statistics in their usual range.
 *
 * The clean-latent estimate at a step is x0 = x - sigma * out: for flow
 * matching x = (1 - sigma) x0 + sigma noise and out = noise - x0.
 *
 * Thread: [worker] — the thread that owns the model's backend.
 */
#ifndef PICTOR_FLUX_PREVIEW_H
#define PICTOR_FLUX_PREVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pictor/backend.h"
#include "pictor/plugin.h"

#define FLUX_PREVIEW_MAX_CHANNELS 64 /* FLUX, SD3: 16; SDXL: 4 */
#define FLUX_PREVIEW_FIT_PROBES 2    /* random latents decoded for the fit */
#define FLUX_PREVIEW_FIT_SIDE 16     /* their side in latent pixels: 512
                                        samples for at most 65 unknowns */
#define FLUX_PREVIEW_FIT_SEED 20240601u /* fixed: the same map every time */

/* RGB in [0, 1] = bias + weight x latent, per latent pixel. A zeroed map
 * is "not fitted yet". */
struct flux_preview_map {
    bool fitted;
    bool failed; /* the fit failed once: no previews for this model */
    int channels;
    float bias[3];
    float weight[3][FLUX_PREVIEW_MAX_CHANNELS];
};

/* The decoder a map is fitted from: latents [N, C, s, s] f32 on the
 * backend's device -> image [N, 3, s x scale, s x scale] f32 in [0, 1],
 * host memory (a family's decode), latent pixel (y, x) decoding to the
 * image block at (y x scale, x x scale). */
typedef int (*flux_preview_decode_fn)(void *ctx, const pictor_tensor *latents, float *image,
                                      char *err, size_t errlen);

/* Fits *map for `channels` latent channels through decode (scale: the
 * decoder's upsampling factor). Nothing to do when already fitted. Errors
 * (channels out of range, out of memory, the decoder's own, a singular
 * system) go to err. */
int flux_preview_fit(struct flux_preview_map *map, pictor_backend *be, int channels, int scale,
                     flux_preview_decode_fn decode, void *ctx, char *err, size_t errlen);

/* x0: [B, C, h, w] f32 (host), C = map->channels -> rgb: [B, H, W, 3] u8:
 * the map per latent pixel, then bilinear resampling to H x W (pixel
 * centres aligned, edges clamped), round-half-even(255 x) of [0, 1]. */
int flux_preview_render(const struct flux_preview_map *map, const float *x0, int B, int h, int w,
                        int H, int W, uint8_t *rgb);

/* The family table's `preview` (pictor/plugin.h): fits the open model's
 * map on first use (one batched VAE decode), then renders
 * x0 = x - sigma * out. */
int flux_preview(void *model, const struct pictor_job_ctx *job, const float *x, const float *out,
                 float sigma, const int64_t shape[4], int width, int height, uint8_t *rgb,
                 char *err, size_t errlen);

#endif /* PICTOR_FLUX_PREVIEW_H */
