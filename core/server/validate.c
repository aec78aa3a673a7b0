/* core/server/validate.c — a generation request body against API.md's
 * table [http thread]. Unknown fields are accepted and ignored (as the
 * OpenAI API does for forward compatibility; docs/openapi.yaml says so);
 * a known field of the wrong type is 422 naming it. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "pictor/jsonutil.h"
#include "pictor/status.h"
#include "server.h"

#define PROMPT_MAX_CHARS 32000   /* API.md */
#define NEGATIVE_MAX_CHARS 2000  /* API.md */
#define SIDE_MIN 64
#define SIDE_MAX 2048
#define N_MAX 4
#define STEPS_MAX 50
#define GUIDANCE_MAX 20.0
#define SEED_MAX 2147483647LL    /* 2^31 - 1 */
#define PARTIAL_IMAGES_MAX PICTOR_PIPELINE_MAX_PREVIEWS /* API.md: 0..3 */

static const char *const IR = "invalid_request_error";

/* Unicode code points of valid UTF-8 (json-c's strict parser checked it). */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int type_error(struct pictord_error *e, const char *key, const char *want)
{
    pictord_error_set(e, 422, IR, key, "invalid_type", "'%s' must be %s", key, want);
    return -1;
}

/* The field as a string; 1 when absent, -1 (e set) on a wrong type. */
static int get_str(json_object *o, const char *key, const char **out, struct pictord_error *e)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return 1;
    if (!json_object_is_type(v, json_type_string))
        return type_error(e, key, "a string");
    *out = json_object_get_string(v);
    return 0;
}

static int get_int(json_object *o, const char *key, long long lo, long long hi,
                   long long *out, struct pictord_error *e)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return 1;
    if (!json_object_is_type(v, json_type_int))
        return type_error(e, key, "an integer");
    long long x = json_object_get_int64(v);
    if (x < lo || x > hi || (x == INT64_MAX && lo >= 0)) {
        pictord_error_set(e, 422, IR, key, "invalid_value", "'%s' must be %lld..%lld", key, lo,
                          hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int get_num(json_object *o, const char *key, double lo, double hi, double *out,
                   struct pictord_error *e)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return 1;
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return type_error(e, key, "a number");
    double x = json_object_get_double(v);
    if (!(x >= lo && x <= hi)) {
        pictord_error_set(e, 422, IR, key, "invalid_value", "'%s' must be %g..%g", key, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int get_bool(json_object *o, const char *key, bool *out, struct pictord_error *e)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return 1;
    if (!json_object_is_type(v, json_type_boolean))
        return type_error(e, key, "a boolean");
    *out = json_object_get_boolean(v);
    return 0;
}

static uint64_t random_seed(void)
{
    uint32_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (uint32_t)time(NULL) * 2654435761u; /* Knuth's multiplicative hash */
    return r & (uint32_t)SEED_MAX;
}

/* The model: `model` (id or alias), else `mode`, else `quality`, else the
 * realtime mode's model (else the first configured). */
static int pick_model(struct pictord *s, json_object *o, struct pictord_error *e)
{
    const char *model = NULL, *mode = NULL, *quality = NULL;
    int r;
    if ((r = get_str(o, "model", &model, e)) < 0 || (r = get_str(o, "mode", &mode, e)) < 0 ||
        (r = get_str(o, "quality", &quality, e)) < 0)
        return -1;
    if (mode && strcmp(mode, "realtime") && strcmp(mode, "quality")) {
        pictord_error_set(e, 422, IR, "mode", "invalid_value",
                          "mode '%s': realtime or quality", mode);
        return -1;
    }
    const char *qmode = NULL;
    if (quality) {
        if (!strcmp(quality, "low") || !strcmp(quality, "medium"))
            qmode = "realtime";
        else if (!strcmp(quality, "high") || !strcmp(quality, "hd"))
            qmode = "quality";
        else if (strcmp(quality, "auto") && strcmp(quality, "standard")) {
            pictord_error_set(e, 422, IR, "quality", "invalid_value",
                              "quality '%s': low, medium, high, hd, auto or standard", quality);
            return -1;
        }
    }
    if (model) {
        int i = pictor_jobs_find_model(s->jobs, model);
        if (i < 0)
            pictord_error_set(e, 404, IR, "model", "model_not_found",
                              "the model '%s' does not exist (GET /v1/models lists them)", model);
        return i;
    }
    if (!mode)
        mode = qmode ? qmode : "realtime";
    const char *id = !strcmp(mode, "quality") && s->conf->quality[0] ? s->conf->quality
                                                                      : s->conf->realtime;
    int i = id[0] ? pictor_jobs_find_model(s->jobs, id) : -1;
    return i >= 0 ? i : 0;
}


int pictord_validate(struct pictord *s, const char *body, size_t len,
                     struct pictor_job_request *req, struct pictord_gen_opts *opts,
                     json_object **keep, struct pictord_error *e)
{
    char err[300];
    json_object *o = NULL;
    const char *str = NULL;
    long long iv;
    double dv;
    bool bv;
    int r;
    memset(req, 0, sizeof *req);
    memset(opts, 0, sizeof *opts);
    opts->quality = pictord_sse_quality(NULL);
    *keep = NULL;
    if (pictor_json_parse(body, len, "request body", &o, err, sizeof err) != PICTOR_OK) {
        pictord_error_set(e, 400, IR, NULL, "invalid_json", "%s", err);
        return -1;
    }
    *keep = o;
    if (!json_object_is_type(o, json_type_object)) {
        pictord_error_set(e, 400, IR, NULL, "invalid_json", "the request body must be a JSON object");
        return -1;
    }
    /* prompt */
    if ((r = get_str(o, "prompt", &req->prompt, e)) < 0)
        return -1;
    if (r == 1) {
        pictord_error_set(e, 422, IR, "prompt", "missing_required_parameter",
                          "'prompt' is required");
        return -1;
    }
    size_t pc = utf8_chars(req->prompt);
    if (pc < 1 || pc > PROMPT_MAX_CHARS) {
        pictord_error_set(e, 422, IR, "prompt", "invalid_value",
                          "'prompt' must be 1..%d characters (%zu given)", PROMPT_MAX_CHARS, pc);
        return -1;
    }
    /* model, mode, quality */
    if ((req->model = pick_model(s, o, e)) < 0)
        return -1;
    str = NULL;
    if (get_str(o, "quality", &str, e) == 0) /* pick_model checked it */
        opts->quality = pictord_sse_quality(str);
    const struct pictor_jobs_model *m = pictor_jobs_model_at(s->jobs, (size_t)req->model);
    const struct pictor_family_defaults *d = &m->defaults;
    /* size */
    req->width = d->default_width;
    req->height = d->default_height;
    if ((r = get_str(o, "size", &str, e)) < 0)
        return -1;
    if (r == 0 && strcmp(str, "auto")) {
        int w = 0, h = 0, used = 0;
        /* digits, 'x', digits: sscanf alone would take blanks and signs */
        if (strspn(str, "0123456789x") != strlen(str) ||
            sscanf(str, "%5dx%5d%n", &w, &h, &used) != 2 || str[used] || w < SIDE_MIN ||
            h < SIDE_MIN || w > SIDE_MAX || h > SIDE_MAX) {
            pictord_error_set(e, 422, IR, "size", "invalid_size",
                              "size %s: WxH (or auto) with each side %d to %d pixels", str,
                              SIDE_MIN, SIDE_MAX);
            return -1;
        }
        if (w % d->size_granularity || h % d->size_granularity) {
            pictord_error_set(e, 422, IR, "size", "invalid_size",
                              "size %s: each side must be a multiple of %d for %s", str,
                              d->size_granularity, m->conf->id);
            return -1;
        }
        req->width = w;
        req->height = h;
    }
    /* n */
    req->n = 1;
    if ((r = get_int(o, "n", 1, N_MAX, &iv, e)) < 0)
        return -1;
    if (r == 0)
        req->n = (int)iv;
    /* response_format, output_format */
    if ((r = get_str(o, "response_format", &str, e)) < 0)
        return -1;
    if (r == 0 && strcmp(str, "b64_json")) {
        pictord_error_set(e, 422, IR, "response_format",
                          !strcmp(str, "url") ? "unsupported_value" : "invalid_value",
                          "response_format '%s': only b64_json is offered", str);
        return -1;
    }
    if ((r = get_str(o, "output_format", &str, e)) < 0)
        return -1;
    if (r == 0 && strcmp(str, "png")) {
        pictord_error_set(e, 422, IR, "output_format", "unsupported_value",
                          "output_format '%s': only png is offered", str);
        return -1;
    }
    /* num_inference_steps */
    req->steps = d->steps;
    int ceiling = d->step_ceiling > 0 && d->step_ceiling < STEPS_MAX ? d->step_ceiling : STEPS_MAX;
    if ((r = get_int(o, "num_inference_steps", 1, STEPS_MAX, &iv, e)) < 0)
        return -1;
    if (r == 0) {
        if (iv > ceiling) {
            pictord_error_set(e, 422, IR, "num_inference_steps", "invalid_value",
                              "%s allows at most %d steps, %lld asked", m->conf->id, ceiling, iv);
            return -1;
        }
        req->steps = (int)iv;
    }
    /* guidance_scale */
    req->guidance = d->guidance;
    if ((r = get_num(o, "guidance_scale", 0, GUIDANCE_MAX, &dv, e)) < 0)
        return -1;
    if (r == 0)
        req->guidance = (float)dv;
    /* scheduler */
    str = NULL;
    if ((r = get_str(o, "scheduler", &str, e)) < 0)
        return -1;
    if (pictor_plugins_pick_scheduler(s->plugins, m->family->entry.name, d, str, &req->scheduler,
                                      err, sizeof err) != PICTOR_OK) {
        pictord_error_set(e, 422, IR, "scheduler", "invalid_value", "%s", err);
        return -1;
    }
    /* seed */
    req->seed = random_seed();
    if ((r = get_int(o, "seed", 0, SEED_MAX, &iv, e)) < 0)
        return -1;
    if (r == 0)
        req->seed = (uint64_t)iv;
    /* negative_prompt */
    if ((r = get_str(o, "negative_prompt", &req->negative_prompt, e)) < 0)
        return -1;
    if (r == 0 && utf8_chars(req->negative_prompt) > NEGATIVE_MAX_CHARS) {
        pictord_error_set(e, 422, IR, "negative_prompt", "invalid_value",
                          "'negative_prompt' must be at most %d characters", NEGATIVE_MAX_CHARS);
        return -1;
    }
    /* partial_images, stream (OpenAI: partial images exist only in a
     * stream; without one partial_images is checked, then ignored) */
    iv = 0;
    if ((r = get_int(o, "partial_images", 0, PARTIAL_IMAGES_MAX, &iv, e)) < 0)
        return -1;
    bv = false;
    if ((r = get_bool(o, "stream", &bv, e)) < 0)
        return -1;
    opts->stream = bv;
    req->partial_images = bv ? (int)iv : 0;
    /* user, style, background, moderation and unknown fields: ignored */
    return 0;
}
