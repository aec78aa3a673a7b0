/* core/lib/pipeline.c — see pictor/pipeline.h. */
#include "pictor/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pictor/ops.h"
#include "pictor/rng.h"
#include "pictor/tensor_util.h"

#define PIPE_MAX_SIGMAS 1024

struct job_host {
    const struct pictor_pipeline_request *r;
    struct pictor_rng rng;
};

static bool job_progress(void *h, int step, int total)
{
    struct job_host *j = h;
    if (j->r->cancelled && j->r->cancelled(j->r->ctx))
        return false;
    return j->r->progress ? j->r->progress(j->r->ctx, step, total) : true;
}

static bool job_cancelled(void *h)
{
    struct job_host *j = h;
    return j->r->cancelled ? j->r->cancelled(j->r->ctx) : false;
}

static int noise_randn(void *h, float *out, size_t n)
{
    struct job_host *j = h;
    return pictor_rng_randn(&j->rng, out, PICTOR_F32, (int64_t)n);
}

/* [B, 3, H, W] in [0, 1] -> [B, H, W, 3] u8 = round_half_even(255 x), as
 * diffusers' numpy_to_pil ((x * 255).round().astype("uint8")). */
static void image_to_rgb8(const float *img, int B, int H, int W, uint8_t *rgb)
{
    const size_t plane = (size_t)H * (size_t)W;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < 3; c++) {
            const float *src = img + ((size_t)b * 3 + (size_t)c) * plane;
            uint8_t *dst = rgb + (size_t)b * plane * 3 + (size_t)c;
            for (size_t i = 0; i < plane; i++) {
                float v = src[i] < 0.0f ? 0.0f : src[i] > 1.0f ? 1.0f : src[i];
                dst[i * 3] = (uint8_t)rintf(255.0f * v); /* rint: half to even */
            }
        }
}

int pictor_pipeline_preview_steps(int count, int n_calls, int *out)
{
    int k = 0, last = 0;
    for (int j = 1; j <= count; j++) {
        /* round(j * n_calls / (count + 1)), halves up, in integers */
        int s = (int)(((long)j * n_calls + (count + 1) / 2) / (count + 1));
        if (s <= last)
            s = last + 1;
        if (s >= n_calls)
            break;
        out[k++] = s;
        last = s;
    }
    return k;
}

/* Partial image `index` through the family's preview, from the sample x of
 * the call and the model's output v; rgb has [B, H, W, 3] bytes. Returns
 * false (after logging why) when previews must stop. */
static bool preview(const struct pictor_pipeline_request *r, const struct pictor_job_ctx *job,
                    const int64_t shape[4], const float *x, const float *v, float sigma,
                    uint8_t *rgb, int index)
{
    char err[512] = "";
    if (r->family->family.preview(r->model, job, x, v, sigma, shape, r->gp.width, r->gp.height,
                                  rgb, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor: %s: no partial images: %s\n", r->family->entry.name, err);
        return false;
    }
    r->on_preview(r->ctx, index, rgb);
    return true;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Host f32 array <-> tensor on the backend's device. */
static int to_device(pictor_backend *be, pictor_tensor *dev, const float *host)
{
    if (pictor_backend_device(be) == PICTOR_DEVICE_CPU) {
        memcpy(dev->data, host, pictor_tensor_nbytes(dev));
        return PICTOR_OK;
    }
    return pictor_backend_upload(be, dev->data, host, pictor_tensor_nbytes(dev));
}

static int from_device(pictor_backend *be, float *host, const pictor_tensor *dev)
{
    if (pictor_backend_device(be) == PICTOR_DEVICE_CPU) {
        memcpy(host, dev->data, pictor_tensor_nbytes(dev));
        return PICTOR_OK;
    }
    return pictor_backend_download(be, host, dev->data, pictor_tensor_nbytes(dev));
}

/* x = c_sample * x + c_output * v on the device, with the coefficients
 * written into cd [2] by fill kernels (no host synchronisation): v is
 * scaled in place (not needed afterwards), then added. The same f32
 * operations as the scheduler's host loop (x * 1 is exact). */
static int device_step(pictor_backend *be, pictor_tensor *x, pictor_tensor *v, pictor_tensor *cd,
                       float c_sample, float c_output)
{
    pictor_tensor cs = pictor_tensor_slice(cd, 0, 0, 1), co = pictor_tensor_slice(cd, 0, 1, 1);
    int rc;
    if ((rc = pictor_fill(be, &co, c_output)) || (rc = pictor_mul(be, v, &co, v)))
        return rc;
    if (c_sample != 1.0f &&
        ((rc = pictor_fill(be, &cs, c_sample)) || (rc = pictor_mul(be, x, &cs, x))))
        return rc;
    return pictor_add(be, x, v, x);
}

int pictor_pipeline_run(pictor_backend *be, const struct pictor_pipeline_request *r,
                        uint8_t **rgb, struct pictor_pipeline_timing *timing, char *err,
                        size_t errlen)
{
    const struct pictor_family_iface *fam = &r->family->family;
    const struct pictor_scheduler_iface *sch = &r->scheduler->scheduler;
    struct job_host jh = {.r = r};
    struct pictor_job_ctx job = {.struct_size = sizeof job, .host = &jh, .backend = be,
                                 .progress = job_progress, .cancelled = job_cancelled};
    struct pictor_noise_source noise = {.struct_size = sizeof noise, .ctx = &jh,
                                        .randn = noise_randn};
    void *cond = NULL, *sched = NULL;
    float *x = NULL, *xin = NULL, *v = NULL, *fimg = NULL;
    pictor_tensor xd = {0}, vd = {0}, cd = {0};
    uint8_t *img = NULL, *pv = NULL;
    struct pictor_pipeline_timing tm = {0};
    int64_t shape[4];
    int rc;
    *rgb = NULL;

    double t0 = now_ms();
    pictor_rng_seed(&jh.rng, r->gp.seed);
    if ((rc = fam->encode(r->model, &job, &r->gp, &cond, err, errlen)))
        goto out;
    tm.encode_ms = now_ms() - t0;
    if ((rc = fam->latent_shape(r->model, &r->gp, shape))) {
        snprintf(err, errlen, "%s: latent_shape failed", r->family->entry.name);
        goto out;
    }
    size_t n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    const size_t npx_all = (size_t)r->gp.batch * (size_t)r->gp.width * (size_t)r->gp.height;
    x = malloc(n * sizeof *x);
    xin = malloc(n * sizeof *xin);
    v = malloc(n * sizeof *v);
    if (!x || !xin || !v) {
        snprintf(err, errlen, "out of memory for latents");
        rc = PICTOR_E_NOMEM;
        goto out;
    }
    if ((rc = sch->create(r->scheduler_config_json, &sched, err, errlen)))
        goto out;
    struct pictor_timestep_params tp = {.struct_size = sizeof tp,
                                        .num_inference_steps = r->steps};
    float sigma_buf[PIPE_MAX_SIGMAS];
    if (fam->schedule &&
        (rc = fam->schedule(r->model, &r->gp, r->steps, &tp, sigma_buf, PIPE_MAX_SIGMAS))) {
        snprintf(err, errlen, "%s: schedule failed", r->family->entry.name);
        goto out;
    }
    if ((rc = sch->set_timesteps(sched, &tp, err, errlen)))
        goto out;
    size_t n_calls = 0, n_sigmas = 0;
    const float *ts = sch->timesteps(sched, &n_calls);
    const float *sg = sch->sigmas(sched, &n_sigmas);
    int pv_steps[PICTOR_PIPELINE_MAX_PREVIEWS], n_pv = 0, pv_next = 0;
    if (fam->preview && r->on_preview && r->preview_count > 0) {
        int want = r->preview_count < PICTOR_PIPELINE_MAX_PREVIEWS ? r->preview_count
                                                                   : PICTOR_PIPELINE_MAX_PREVIEWS;
        n_pv = pictor_pipeline_preview_steps(want, (int)n_calls, pv_steps);
        if (n_pv > 0 && !(pv = malloc(npx_all * 3))) {
            snprintf(err, errlen, "out of memory for partial images");
            rc = PICTOR_E_NOMEM;
            goto out;
        }
    }
    if (r->latents) {
        memcpy(x, r->latents, n * sizeof *x);
    } else {
        if ((rc = pictor_rng_randn(&jh.rng, x, PICTOR_F32, (int64_t)n))) {
            snprintf(err, errlen, "noise generation failed");
            goto out;
        }
        float s0 = sch->init_noise_sigma ? sch->init_noise_sigma(sched) : 1.0f;
        for (size_t k = 0; k < n; k++)
            x[k] *= s0;
    }
    if ((rc = pictor_tensor_alloc(be, &xd, PICTOR_F32, 4, shape)) ||
        (rc = pictor_tensor_alloc(be, &vd, PICTOR_F32, 4, shape)) ||
        (rc = pictor_tensor_alloc(be, &cd, PICTOR_F32, 1, (int64_t[]){2}))) {
        snprintf(err, errlen, "%s", pictor_backend_error(be));
        goto out;
    }
    double t1 = now_ms();
    /* x_on_dev: the current sample lives in xd only (linear steps ran on the
     * device; the host copy x is stale until downloaded). */
    bool x_on_dev = false;
    for (size_t i = 0; i < n_calls; i++) {
        if (job_cancelled(&jh)) {
            rc = PICTOR_E_CANCELLED;
            snprintf(err, errlen, "cancelled before step %zu", i);
            goto out;
        }
        if (!x_on_dev) {
            if (sch->scale_model_input)
                rc = sch->scale_model_input(sched, i, x, xin, n);
            else
                memcpy(xin, x, n * sizeof *x);
            if (rc || (rc = to_device(be, &xd, xin))) {
                snprintf(err, errlen, "step %zu: preparing the model input failed", i);
                goto out;
            }
        }
        float sigma = sg && i < n_sigmas ? sg[i] : ts[i] / 1000.0f;
        if ((rc = fam->predict(r->model, &job, cond, &xd, ts[i], sigma, &vd, err, errlen)))
            goto out;
        bool want_pv = pv_next < n_pv && pv_steps[pv_next] == (int)i + 1;
        float c_sample, c_output;
        if (!want_pv && sch->linear_step && sch->linear_step(sched, i, &c_sample, &c_output)) {
            if ((rc = device_step(be, &xd, &vd, &cd, c_sample, c_output))) {
                snprintf(err, errlen, "step %zu: %s", i, pictor_backend_error(be));
                goto out;
            }
            x_on_dev = true;
        } else {
            if ((x_on_dev && (rc = from_device(be, x, &xd))) ||
                (rc = from_device(be, v, &vd))) {
                snprintf(err, errlen, "step %zu: %s", i, pictor_backend_error(be));
                goto out;
            }
            x_on_dev = false;
            if (want_pv && !preview(r, &job, shape, x, v, sigma, pv, pv_next++))
                n_pv = 0;
            if ((rc = sch->step(sched, i, v, x, &noise, x, n, err, errlen)))
                goto out;
        }
        if (!job_progress(&jh, (int)i + 1, (int)n_calls)) {
            rc = PICTOR_E_CANCELLED;
            snprintf(err, errlen, "cancelled after step %zu", i + 1);
            goto out;
        }
    }
    tm.denoise_ms = now_ms() - t1;
    double t2 = now_ms();
    if (!x_on_dev && (rc = to_device(be, &xd, x)))
        goto out;
    img = malloc(npx_all * 3);
    fimg = r->image_out ? r->image_out : malloc(npx_all * 3 * sizeof *fimg);
    if (!img || !fimg) {
        rc = PICTOR_E_NOMEM;
        snprintf(err, errlen, "out of memory for the image");
        goto out;
    }
    if ((rc = fam->decode(r->model, &job, &xd, fimg, err, errlen)))
        goto out;
    image_to_rgb8(fimg, r->gp.batch, r->gp.height, r->gp.width, img);
    tm.decode_ms = now_ms() - t2;
    *rgb = img;
    img = NULL;
    if (timing)
        *timing = tm;
out:
    if (fimg != r->image_out)
        free(fimg);
    free(img);
    pictor_tensor_free(be, &cd);
    pictor_tensor_free(be, &vd);
    pictor_tensor_free(be, &xd);
    if (sched)
        sch->destroy(sched);
    if (cond && fam->release_cond)
        fam->release_cond(r->model, cond);
    free(pv);
    free(v);
    free(xin);
    free(x);
    return rc;
}
