/* plugins/flux/flux_decode.c — latents to the [0, 1] image as FluxPipeline
 * does (MODELS.md §4.4 step 9, §7.5): z = latents / scaling_factor +
 * shift_factor, VAE decode, clamp(x / 2 + 0.5, 0, 1). The latents arrive in
 * the noise layout [B, C, h, w] (already unpacked). */
#include <stdio.h>

#include "flux_family.h"
#include "pictor/imageproc.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

/* One decode attempt (flux_decode's contract). */
static int decode_once(struct flux_model *m, const pictor_tensor *latents, float *image,
                       char *err, size_t errlen)
{
    const int s = pictor_vae_scale(&m->vae_cfg);
    pictor_tensor z = {0}, img = {0}, k = {0}, b = {0};
    int64_t ishape[4] = {latents->shape[0], m->vae_cfg.out_channels, latents->shape[2] * s,
                         latents->shape[3] * s};
    int rc;
    if (m->vae_cfg.out_channels != 3) {
        snprintf(err, errlen, "flux decode: the VAE has %d output channels, not 3",
                 m->vae_cfg.out_channels);
        return PICTOR_E_UNSUPPORTED;
    }
    if ((rc = pictor_tensor_alloc(m->be, &z, PICTOR_F32, 4, latents->shape)) ||
        (rc = pictor_tensor_alloc(m->be, &k, PICTOR_F32, 1, (int64_t[]){1})) ||
        (rc = pictor_tensor_alloc(m->be, &b, PICTOR_F32, 1, (int64_t[]){1})) ||
        (rc = pictor_tensor_alloc(m->be, &img, PICTOR_F32, 4, ishape)) ||
        /* torch divides; multiplying by the reciprocal differs by at most
         * one ulp, far inside the image bounds (2/255) */
        (rc = pictor_fill(m->be, &k, (float)(1.0 / m->vae_cfg.scaling_factor))) ||
        (rc = pictor_fill(m->be, &b, (float)m->vae_cfg.shift_factor)) ||
        (rc = pictor_mul(m->be, latents, &k, &z)) || (rc = pictor_add(m->be, &z, &b, &z))) {
        snprintf(err, errlen, "flux decode: %s", pictor_backend_error(m->be));
        goto out;
    }
    if ((rc = pictor_vae_decode(m->vae, &z, &img, err, errlen)))
        goto out;
    size_t n = (size_t)pictor_tensor_numel(&img);
    if (pictor_backend_device(m->be) == PICTOR_DEVICE_CPU) {
        pictor_tensor host = pictor_tensor_make(image, PICTOR_F32, 4, ishape);
        rc = pictor_copy(m->be, &img, &host);
    } else {
        rc = pictor_backend_download(m->be, image, img.data, n * sizeof *image);
    }
    if (rc) {
        snprintf(err, errlen, "flux decode: %s", pictor_backend_error(m->be));
        goto out;
    }
    pictor_image_denormalize(image, n, false);
out:
    pictor_tensor_free(m->be, &img);
    pictor_tensor_free(m->be, &b);
    pictor_tensor_free(m->be, &k);
    pictor_tensor_free(m->be, &z);
    return rc;
}

int flux_decode(void *model, const struct pictor_job_ctx *job, const pictor_tensor *latents,
                float *image, char *err, size_t errlen)
{
    struct flux_model *m = model;
    (void)job;
    int rc = decode_once(m, latents, image, err, errlen);
    if (rc != PICTOR_E_NOMEM)
        return rc;
    /* Out of device memory: the transformer's arena and graphs (sized for
     * the largest request so far) are not needed to decode; give them back
     * and try once more, so neither this request nor later smaller ones
     * fail for memory a larger one left planned. */
    pictor_flux_transformer_release_memory(m->dit);
    return decode_once(m, latents, image, err, errlen);
}
