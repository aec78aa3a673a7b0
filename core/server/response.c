/* core/server/response.c — the 200 body of POST /v1/images/generations
 * [http thread]: one PNG per image (with the `parameters` tEXt chunk,
 * pictor/png.h) in base64, the seed, timing, size, model and receipt. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pictor/base64.h"
#include "pictor/png.h"
#include "pictor/status.h"
#include "server.h"

#define PARAMS_MAX 40960 /* prompt (32000 chars, up to 4 bytes each is cut) + the rest */

/* A JSON string literal of s (json-c's escaping), malloc'd. */
static char *json_quote(const char *s)
{
    json_object *j = json_object_new_string(s);
    char *q = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
    return q;
}

int pictord_image_b64(struct pictord *s, const struct pictor_job_request *req,
                      const uint8_t *rgb, bool parameters, char **b64, size_t *b64_len,
                      struct pictord_error *e)
{
    const struct pictor_jobs_model *m = pictor_jobs_model_at(s->jobs, (size_t)req->model);
    char *params = NULL, err[256];
    uint8_t *png = NULL;
    size_t png_len = 0;
    int rc = -1;
    *b64 = NULL;
    if (parameters) {
        if (!(params = malloc(PARAMS_MAX)))
            goto nomem;
        snprintf(params, PARAMS_MAX,
                 "%s\nNegative prompt: %s\nSteps: %d, Guidance: %g, Scheduler: %s, Seed: %" PRIu64
                 ", Size: %dx%d, Model: %s",
                 req->prompt, req->negative_prompt ? req->negative_prompt : "", req->steps,
                 (double)req->guidance, req->scheduler->entry.name, req->seed, req->width,
                 req->height, m->conf->id);
    }
    struct pictor_png_text text = {"parameters", params};
    if (pictor_png_encode(rgb, req->width, req->height, params ? &text : NULL, params ? 1 : 0,
                          &png, &png_len, err, sizeof err) != PICTOR_OK) {
        pictord_error_set(e, 500, "server_error", NULL, NULL, "PNG encoding failed: %s", err);
        goto out;
    }
    if (pictor_base64_encode(png, png_len, b64, b64_len) != PICTOR_OK)
        goto nomem;
    rc = 0;
    goto out;
nomem:
    pictord_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
out:
    free(png);
    free(params);
    return rc;
}

void pictord_receipt(struct pictord *s, const struct pictor_job_request *req,
                     const struct pictor_job_result *res, char *buf, size_t len)
{
    const struct pictor_jobs_model *m = pictor_jobs_model_at(s->jobs, (size_t)req->model);
    bool neg_ignored = req->negative_prompt && req->negative_prompt[0] &&
                       m->defaults.negative_prompt_ignored;
    snprintf(buf, len, "%d steps / gs %g / %s / %s / %s%s%s", req->steps, (double)req->guidance,
             req->scheduler->entry.name, res->precision, res->device,
             req->n > 1 ? " / batched" : "",
             neg_ignored ? " / negative prompt ignored (no CFG)" : "");
}

int pictord_response_build(struct pictord *s, const struct pictor_job_request *req,
                           const struct pictor_job_result *res, char **out, size_t *out_len,
                           struct pictord_error *e)
{
    const struct pictor_jobs_model *m = pictor_jobs_model_at(s->jobs, (size_t)req->model);
    size_t img_bytes = (size_t)req->width * (size_t)req->height * 3;
    char *b64[4] = {0}, *model_q = NULL, *receipt_q = NULL;
    size_t b64_len[4] = {0}, total = 0;
    char receipt[256];
    int rc = -1;
    for (int i = 0; i < req->n && i < 4; i++) {
        if (pictord_image_b64(s, req, res->rgb + (size_t)i * img_bytes, true, &b64[i],
                              &b64_len[i], e))
            goto out;
        total += b64_len[i] + 64;
    }
    pictord_receipt(s, req, res, receipt, sizeof receipt);
    if (!(model_q = json_quote(m->conf->id)) || !(receipt_q = json_quote(receipt)))
        goto nomem;
    total += strlen(model_q) + strlen(receipt_q) + 256;
    char *buf = malloc(total), *p = buf;
    if (!buf)
        goto nomem;
    p += sprintf(p, "{\"created\":%lld,\"data\":[", (long long)time(NULL));
    for (int i = 0; i < req->n && i < 4; i++) {
        p += sprintf(p, "%s{\"b64_json\":\"", i ? "," : "");
        memcpy(p, b64[i], b64_len[i]);
        p += b64_len[i];
        /* One seed drives the whole batch's noise stream: every image
         * reports it (the request's seed reproduces the whole batch). */
        p += sprintf(p, "\",\"seed\":%" PRIu64 "}", req->seed);
    }
    p += sprintf(p, "],\"inference_ms\":%.1f,\"width\":%d,\"height\":%d,\"model\":%s,"
                 "\"receipt\":%s}",
                 res->inference_ms, req->width, req->height, model_q, receipt_q);
    *out = buf;
    *out_len = (size_t)(p - buf);
    rc = 0;
    goto out;
nomem:
    pictord_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
out:
    for (int i = 0; i < 4; i++)
        free(b64[i]);
    free(model_q);
    free(receipt_q);
    return rc;
}
