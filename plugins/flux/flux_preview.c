/* plugins/flux/flux_preview.c — partial images from a fitted linear
 * latent-to-RGB map; the contract is in pictor/flux_preview.h. */
#include "pictor/flux_preview.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flux_family.h"
#include "pictor/rng.h"
#include "pictor/tensor_util.h"

/* Solves the n x n system a x = b (row-major a, n <= 65) in place by
 * Gaussian elimination with partial pivoting; false when singular. */
static bool solve(double *a, double *b, int n)
{
    for (int k = 0; k < n; k++) {
        int p = k;
        for (int i = k + 1; i < n; i++)
            if (fabs(a[i * n + k]) > fabs(a[p * n + k]))
                p = i;
        if (fabs(a[p * n + k]) < 1e-12)
            return false;
        if (p != k) {
            for (int j = 0; j < n; j++) {
                double t = a[k * n + j];
                a[k * n + j] = a[p * n + j];
                a[p * n + j] = t;
            }
            double t = b[k];
            b[k] = b[p];
            b[p] = t;
        }
        for (int i = k + 1; i < n; i++) {
            double f = a[i * n + k] / a[k * n + k];
            for (int j = k; j < n; j++)
                a[i * n + j] -= f * a[k * n + j];
            b[i] -= f * b[k];
        }
    }
    for (int k = n - 1; k >= 0; k--) {
        for (int j = k + 1; j < n; j++)
            b[k] -= a[k * n + j] * b[j];
        b[k] /= a[k * n + k];
    }
    return true;
}

/* Least squares over every probe pixel: rows [1, latent channels] against
 * the mean colour of each pixel's decoded block; fills map's bias and
 * weights. lat: [N, C, s, s]; img: [N, 3, s f, s f]. */
static bool regress(struct flux_preview_map *map, const float *lat, const float *img, int N,
                    int C, int s, int f)
{
    const int k = C + 1, H = s * f;
    const size_t plane = (size_t)s * (size_t)s;
    double ata[(FLUX_PREVIEW_MAX_CHANNELS + 1) * (FLUX_PREVIEW_MAX_CHANNELS + 1)] = {0};
    double atb[3][FLUX_PREVIEW_MAX_CHANNELS + 1] = {{0}};
    double row[FLUX_PREVIEW_MAX_CHANNELS + 1];
    for (int n = 0; n < N; n++)
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++) {
                row[0] = 1.0;
                for (int ch = 0; ch < C; ch++)
                    row[1 + ch] = lat[((size_t)n * (size_t)C + (size_t)ch) * plane +
                                      (size_t)y * (size_t)s + (size_t)x];
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++)
                        ata[i * k + j] += row[i] * row[j];
                for (int c = 0; c < 3; c++) {
                    const float *p = img + ((size_t)n * 3 + (size_t)c) * (size_t)H * (size_t)H;
                    double m = 0.0;
                    for (int dy = 0; dy < f; dy++)
                        for (int dx = 0; dx < f; dx++)
                            m += p[(size_t)(y * f + dy) * (size_t)H + (size_t)(x * f + dx)];
                    m /= (double)f * (double)f;
                    for (int i = 0; i < k; i++)
                        atb[c][i] += row[i] * m;
                }
            }
    for (int c = 0; c < 3; c++) {
        double a[(FLUX_PREVIEW_MAX_CHANNELS + 1) * (FLUX_PREVIEW_MAX_CHANNELS + 1)];
        memcpy(a, ata, sizeof(double) * (size_t)(k * k));
        if (!solve(a, atb[c], k))
            return false;
        map->bias[c] = (float)atb[c][0];
        for (int ch = 0; ch < C; ch++)
            map->weight[c][ch] = (float)atb[c][1 + ch];
    }
    return true;
}

int flux_preview_fit(struct flux_preview_map *map, pictor_backend *be, int channels, int scale,
                     flux_preview_decode_fn decode, void *ctx, char *err, size_t errlen)
{
    if (map->fitted)
        return PICTOR_OK;
    if (channels < 1 || channels > FLUX_PREVIEW_MAX_CHANNELS || scale < 1) {
        snprintf(err, errlen, "preview: %d latent channels, scale %d (1..%d channels)", channels,
                 scale, FLUX_PREVIEW_MAX_CHANNELS);
        return PICTOR_E_UNSUPPORTED;
    }
    const int n = FLUX_PREVIEW_FIT_PROBES, side = FLUX_PREVIEW_FIT_SIDE, H = side * scale;
    const int64_t shape[4] = {n, channels, side, side};
    const size_t n_lat = (size_t)n * (size_t)channels * (size_t)side * (size_t)side;
    pictor_tensor t = {0};
    struct pictor_rng rng;
    float *lat = malloc(n_lat * sizeof *lat);
    float *img = malloc((size_t)n * 3 * (size_t)H * (size_t)H * sizeof *img);
    char derr[400] = "";
    int rc = PICTOR_E_NOMEM;
    if (!lat || !img) {
        snprintf(err, errlen, "preview: out of memory for the fit");
        goto out;
    }
    pictor_rng_seed(&rng, FLUX_PREVIEW_FIT_SEED);
    if ((rc = pictor_rng_randn(&rng, lat, PICTOR_F32, (int64_t)n_lat)) ||
        (rc = pictor_tensor_alloc(be, &t, PICTOR_F32, 4, shape))) {
        snprintf(err, errlen, "preview: %s", rc == PICTOR_E_NOMEM ? "out of memory"
                                                                  : pictor_backend_error(be));
        goto out;
    }
    if (pictor_backend_device(be) == PICTOR_DEVICE_CPU)
        memcpy(t.data, lat, n_lat * sizeof *lat);
    else if ((rc = pictor_backend_upload(be, t.data, lat, n_lat * sizeof *lat))) {
        snprintf(err, errlen, "preview: %s", pictor_backend_error(be));
        goto out;
    }
    if ((rc = decode(ctx, &t, img, derr, sizeof derr))) {
        snprintf(err, errlen, "preview: decoding the fit's probes: %s", derr);
        goto out;
    }
    if (!regress(map, lat, img, n, channels, side, scale)) {
        snprintf(err, errlen, "preview: the latent-to-RGB fit is singular");
        rc = PICTOR_E_INVALID;
        goto out;
    }
    map->channels = channels;
    map->fitted = true;
out:
    pictor_tensor_free(be, &t);
    free(img);
    free(lat);
    return rc;
}

static uint8_t to_u8(float v)
{
    v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    return (uint8_t)rintf(255.0f * v); /* rint: half to even, as the final image */
}

/* Source coordinate of destination pixel i when n_dst pixels span n_src
 * (centres aligned, clamped to the first/last centre): index and weight. */
static void src_coord(int i, int n_src, int n_dst, int *i0, int *i1, float *wt)
{
    float f = ((float)i + 0.5f) * (float)n_src / (float)n_dst - 0.5f;
    if (f < 0.0f)
        f = 0.0f;
    *i0 = (int)f;
    if (*i0 > n_src - 1)
        *i0 = n_src - 1;
    *i1 = *i0 + 1 < n_src ? *i0 + 1 : n_src - 1;
    *wt = f - (float)*i0;
    if (*wt > 1.0f)
        *wt = 1.0f;
}

int flux_preview_render(const struct flux_preview_map *map, const float *x0, int B, int h, int w,
                        int H, int W, uint8_t *rgb)
{
    const int C = map->channels;
    const size_t lplane = (size_t)h * (size_t)w;
    float *small = malloc(lplane * 3 * sizeof *small);
    if (!small)
        return PICTOR_E_NOMEM;
    for (int b = 0; b < B; b++) {
        const float *xb = x0 + (size_t)b * (size_t)C * lplane;
        for (size_t p = 0; p < lplane; p++)
            for (int c = 0; c < 3; c++) {
                float s = map->bias[c];
                for (int ch = 0; ch < C; ch++)
                    s += map->weight[c][ch] * xb[(size_t)ch * lplane + p];
                small[p * 3 + (size_t)c] = s;
            }
        uint8_t *dst = rgb + (size_t)b * (size_t)H * (size_t)W * 3;
        for (int y = 0; y < H; y++) {
            int y0, y1, x0i, x1;
            float wy, wx;
            src_coord(y, h, H, &y0, &y1, &wy);
            for (int x = 0; x < W; x++) {
                src_coord(x, w, W, &x0i, &x1, &wx);
                const float *p00 = small + ((size_t)y0 * (size_t)w + (size_t)x0i) * 3;
                const float *p01 = small + ((size_t)y0 * (size_t)w + (size_t)x1) * 3;
                const float *p10 = small + ((size_t)y1 * (size_t)w + (size_t)x0i) * 3;
                const float *p11 = small + ((size_t)y1 * (size_t)w + (size_t)x1) * 3;
                for (int c = 0; c < 3; c++) {
                    float top = p00[c] + (p01[c] - p00[c]) * wx;
                    float bot = p10[c] + (p11[c] - p10[c]) * wx;
                    dst[((size_t)y * (size_t)W + (size_t)x) * 3 + (size_t)c] =
                        to_u8(top + (bot - top) * wy);
                }
            }
        }
    }
    free(small);
    return PICTOR_OK;
}

struct decode_ctx {
    struct flux_model *m;
    const struct pictor_job_ctx *job;
};

static int decode_probes(void *ctx, const pictor_tensor *latents, float *image, char *err,
                         size_t errlen)
{
    struct decode_ctx *d = ctx;
    return flux_decode(d->m, d->job, latents, image, err, errlen);
}

int flux_preview(void *model, const struct pictor_job_ctx *job, const float *x, const float *out,
                 float sigma, const int64_t shape[4], int width, int height, uint8_t *rgb,
                 char *err, size_t errlen)
{
    struct flux_model *m = model;
    struct flux_preview_map *map = &m->preview;
    struct decode_ctx dc = {m, job};
    int rc;
    if (map->failed) {
        snprintf(err, errlen, "preview: the latent-to-RGB fit failed before for this model");
        return PICTOR_E_UNSUPPORTED;
    }
    if ((rc = flux_preview_fit(map, m->be, (int)shape[1], pictor_vae_scale(&m->vae_cfg),
                               decode_probes, &dc, err, errlen))) {
        map->failed = true;
        return rc;
    }
    if (shape[1] != map->channels) {
        snprintf(err, errlen, "preview: %lld latent channels, the map has %d",
                 (long long)shape[1], map->channels);
        return PICTOR_E_INVALID;
    }
    const size_t n = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
    float *x0 = malloc(n * sizeof *x0);
    if (!x0) {
        snprintf(err, errlen, "preview: out of memory");
        return PICTOR_E_NOMEM;
    }
    for (size_t k = 0; k < n; k++)
        x0[k] = x[k] - sigma * out[k];
    rc = flux_preview_render(map, x0, (int)shape[0], (int)shape[2], (int)shape[3], height, width,
                             rgb);
    if (rc)
        snprintf(err, errlen, "preview: out of memory");
    free(x0);
    return rc;
}
