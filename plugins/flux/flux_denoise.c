/* plugins/flux/flux_denoise.c — what the FLUX pipeline does around each
 * transformer call (MODELS.md §4.4): latent geometry, the sigma schedule
 * with its mu, 2x2 packing, image ids, and the call itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flux_family.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

/* diffusers FluxPipeline: h = 2 * (H // (vae_scale_factor * 2)). */
int flux_latent_shape(void *model, const struct pictor_gen_params *gp, int64_t shape[4])
{
    struct flux_model *m = model;
    const int f = pictor_vae_scale(&m->vae_cfg) * 2;
    shape[0] = gp->batch;
    shape[1] = m->dit_cfg.in_channels / 4;
    shape[2] = 2 * (gp->height / f);
    shape[3] = 2 * (gp->width / f);
    return shape[2] > 0 && shape[3] > 0 ? PICTOR_OK : PICTOR_E_INVALID;
}

/* sigmas = np.linspace(1.0, 1 / N, N) (float64, last element exactly 1/N);
 * mu = calculate_shift(image_seq_len) from the scheduler config. */
int flux_schedule(void *model, const struct pictor_gen_params *gp, int steps,
                  struct pictor_timestep_params *tp, float *sigma_buf, int cap)
{
    struct flux_model *m = model;
    int64_t shape[4];
    if (steps < 1 || steps > cap || flux_latent_shape(m, gp, shape) != PICTOR_OK)
        return PICTOR_E_INVALID;
    const double start = 1.0, stop = 1.0 / steps;
    const double step = steps > 1 ? (stop - start) / (steps - 1) : 0.0;
    for (int i = 0; i < steps; i++)
        sigma_buf[i] = (float)(i * step + start);
    sigma_buf[steps - 1] = (float)stop;
    const double seq = (double)(shape[2] / 2) * (double)(shape[3] / 2);
    const double slope = (m->max_shift - m->base_shift) / (m->max_seq - m->base_seq);
    const double icpt = m->base_shift - slope * m->base_seq;
    tp->num_inference_steps = steps;
    tp->sigmas = sigma_buf;
    tp->n_sigmas = steps;
    tp->has_mu = true;
    tp->mu = seq * slope + icpt;
    return PICTOR_OK;
}

/* View of x[b] ([C, h, w] contiguous) as [h/2, w/2, C, 2, 2]. */
static pictor_tensor patch_view(const pictor_tensor *x, int64_t b)
{
    const int64_t C = x->shape[1], h = x->shape[2], w = x->shape[3];
    pictor_tensor v = *x;
    v.data = (char *)x->data + (size_t)(b * x->stride[0]) * pictor_dtype_size(x->dtype);
    v.ndim = 5;
    const int64_t shape[5] = {h / 2, w / 2, C, 2, 2};
    const int64_t stride[5] = {2 * x->stride[2], 2 * x->stride[3], x->stride[1], x->stride[2],
                               x->stride[3]};
    memcpy(v.shape, shape, sizeof shape);
    memcpy(v.stride, stride, sizeof stride);
    return v;
}

/* packed[b] ([L, 4C] contiguous) as [h/2, w/2, C, 2, 2]. */
static pictor_tensor packed_view(const pictor_tensor *p, int64_t b, int64_t h, int64_t w,
                                 int64_t C)
{
    pictor_tensor v = *p;
    v.data = (char *)p->data + (size_t)(b * p->stride[0]) * pictor_dtype_size(p->dtype);
    v.ndim = 5;
    const int64_t shape[5] = {h / 2, w / 2, C, 2, 2};
    memcpy(v.shape, shape, sizeof shape);
    pictor_tensor_set_contiguous(&v);
    return v;
}

int flux_pack(pictor_backend *be, const pictor_tensor *x, pictor_tensor *packed)
{
    for (int64_t b = 0; b < x->shape[0]; b++) {
        pictor_tensor src = patch_view(x, b);
        pictor_tensor dst = packed_view(packed, b, x->shape[2], x->shape[3], x->shape[1]);
        int rc = pictor_copy(be, &src, &dst);
        if (rc)
            return rc;
    }
    return PICTOR_OK;
}

int flux_unpack(pictor_backend *be, const pictor_tensor *packed, pictor_tensor *x)
{
    for (int64_t b = 0; b < x->shape[0]; b++) {
        pictor_tensor src = packed_view(packed, b, x->shape[2], x->shape[3], x->shape[1]);
        pictor_tensor dst = patch_view(x, b);
        int rc = pictor_copy(be, &src, &dst);
        if (rc)
            return rc;
    }
    return PICTOR_OK;
}

int flux_predict(void *model, const struct pictor_job_ctx *job, void *cond,
                 const pictor_tensor *x, float timestep, float sigma, pictor_tensor *out,
                 char *err, size_t errlen)
{
    struct flux_model *m = model;
    struct flux_cond *c = cond;
    const int64_t B = x->shape[0], C = x->shape[1], h = x->shape[2], w = x->shape[3];
    const int64_t L = (h / 2) * (w / 2), T = c->t5.shape[1];
    pictor_tensor xp = {0}, vp = {0}, tt = {0}, gt = {0};
    float *img_ids = NULL;
    int rc;
    (void)job;
    (void)sigma;
    if (B != c->batch) {
        snprintf(err, errlen, "flux predict: latents batch %lld, conditioning batch %d",
                 (long long)B, c->batch);
        return PICTOR_E_INVALID;
    }
    img_ids = malloc((size_t)L * 3 * sizeof *img_ids);
    if (!img_ids) {
        snprintf(err, errlen, "flux predict: out of memory");
        return PICTOR_E_NOMEM;
    }
    for (int64_t r = 0; r < h / 2; r++)
        for (int64_t s = 0; s < w / 2; s++) {
            float *id = img_ids + (r * (w / 2) + s) * 3;
            id[0] = 0.0f;
            id[1] = (float)r;
            id[2] = (float)s;
        }
    if ((rc = pictor_tensor_alloc(m->be, &xp, PICTOR_F32, 3, (int64_t[]){B, L, 4 * C})) ||
        (rc = pictor_tensor_alloc(m->be, &vp, PICTOR_F32, 3,
                                  (int64_t[]){B, L, m->dit_cfg.out_channels})) ||
        (rc = pictor_tensor_alloc(m->be, &tt, PICTOR_F32, 1, (int64_t[]){B})) ||
        (rc = pictor_tensor_alloc(m->be, &gt, PICTOR_F32, 1, (int64_t[]){B})) ||
        (rc = flux_pack(m->be, x, &xp)) ||
        /* the pipeline passes t / 1000 in the latents' dtype */
        (rc = pictor_fill(m->be, &tt, timestep / 1000.0f)) ||
        (rc = pictor_fill(m->be, &gt, c->guidance))) {
        snprintf(err, errlen, "flux predict: %s", pictor_backend_error(m->be));
        goto out;
    }
    pictor_tensor ids = pictor_tensor_make(img_ids, PICTOR_F32, 2, (int64_t[]){L, 3});
    pictor_tensor tids = pictor_tensor_make(c->txt_ids, PICTOR_F32, 2, (int64_t[]){T, 3});
    struct pictor_flux_inputs in = {
        .hidden_states = &xp, .encoder_hidden_states = &c->t5,
        .pooled_projections = &c->pooled, .timestep = &tt,
        .guidance = m->dit_cfg.guidance_embeds ? &gt : NULL, .img_ids = &ids, .txt_ids = &tids};
    if ((rc = pictor_flux_transformer_forward(m->dit, &in, &vp, err, errlen)))
        goto out;
    if ((rc = flux_unpack(m->be, &vp, out)))
        snprintf(err, errlen, "flux predict: unpack: %s", pictor_backend_error(m->be));
out:
    pictor_tensor_free(m->be, &gt);
    pictor_tensor_free(m->be, &tt);
    pictor_tensor_free(m->be, &vp);
    pictor_tensor_free(m->be, &xp);
    free(img_ids);
    return rc;
}
