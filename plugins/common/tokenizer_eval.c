/* plugins/common/tokenizer_eval.c — `tokenizer.clip` / `tokenizer.t5`
 * evaluators; see pictor/tokenizer_eval.h. */
#include "pictor/tokenizer_eval.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/clip_tokenizer.h"
#include "pictor/status.h"
#include "pictor/t5_tokenizer.h"
#include "pictor/tensor_util.h"

/* FluxPipeline's hard maximum for max_sequence_length (MODELS.md §2.2). */
#define T5_DEFAULT_MAX_LENGTH 512

/* Encodes one prompt into max_length ids. */
typedef int (*encode_fn)(const void *tok, const char *text, size_t len, int max_length,
                         int64_t *ids, char *err, size_t errlen);

static int clip_encode(const void *tok, const char *text, size_t len, int max_length,
                       int64_t *ids, char *err, size_t errlen)
{
    return pictor_clip_tokenizer_encode(tok, text, len, max_length, ids, NULL, err, errlen);
}

static int t5_encode(const void *tok, const char *text, size_t len, int max_length,
                     int64_t *ids, char *err, size_t errlen)
{
    return pictor_t5_tokenizer_encode(tok, text, len, max_length, ids, NULL, err, errlen);
}

/* Parses params, encodes every prompt, puts `input_ids`. */
static int run(const char *what, const struct pictor_eval_request *req,
               const struct pictor_eval_io *io, const void *tok, encode_fn enc,
               int default_max, char *err, size_t errlen)
{
    struct json_object *params = json_tokener_parse(req->params_json ? req->params_json : "{}");
    struct json_object *prompts, *ml;
    int64_t *ids = NULL;
    int rc = PICTOR_E_INVALID;
    int max_length = default_max;
    if (!params || !json_object_object_get_ex(params, "prompts", &prompts) ||
        !json_object_is_type(prompts, json_type_array)) {
        snprintf(err, errlen, "%s: params.prompts must be a list of strings", what);
        goto out;
    }
    if (json_object_object_get_ex(params, "max_length", &ml) &&
        !json_object_is_type(ml, json_type_null)) {
        if (!json_object_is_type(ml, json_type_int) || json_object_get_int(ml) < 2) {
            snprintf(err, errlen, "%s: params.max_length must be an integer >= 2", what);
            goto out;
        }
        max_length = json_object_get_int(ml);
    }
    size_t n = json_object_array_length(prompts);
    if (!(ids = malloc((n ? n : 1) * (size_t)max_length * sizeof *ids))) {
        snprintf(err, errlen, "%s: out of memory", what);
        rc = PICTOR_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *p = json_object_array_get_idx(prompts, i);
        if (!json_object_is_type(p, json_type_string)) {
            snprintf(err, errlen, "%s: params.prompts[%zu] is not a string", what, i);
            rc = PICTOR_E_INVALID;
            goto out;
        }
        if ((rc = enc(tok, json_object_get_string(p), (size_t)json_object_get_string_len(p),
                      max_length, ids + i * (size_t)max_length, err, errlen)))
            goto out;
    }
    int64_t shape[2] = {(int64_t)n, max_length};
    pictor_tensor t = pictor_tensor_make(ids, PICTOR_I64, 2, shape);
    rc = io->put_output(io->ctx, "input_ids", &t);
    if (rc)
        snprintf(err, errlen, "%s: cannot store input_ids (%s)", what, pictor_status_name(rc));
out:
    free(ids);
    json_object_put(params);
    return rc;
}

int pictor_eval_tokenizer_clip(const struct pictor_eval_request *req,
                               const struct pictor_eval_io *io, char *err, size_t errlen)
{
    struct pictor_clip_tokenizer *tok = NULL;
    int rc;
    if (!req->model_dir) {
        snprintf(err, errlen, "tokenizer.clip needs a model folder");
        return PICTOR_E_INVALID;
    }
    if ((rc = pictor_clip_tokenizer_load(req->model_dir, &tok, err, errlen)))
        return rc;
    rc = run("tokenizer.clip", req, io, tok, clip_encode, pictor_clip_tokenizer_max_length(tok),
             err, errlen);
    pictor_clip_tokenizer_free(tok);
    return rc;
}

int pictor_eval_tokenizer_t5(const struct pictor_eval_request *req,
                             const struct pictor_eval_io *io, char *err, size_t errlen)
{
    struct pictor_t5_tokenizer *tok = NULL;
    int rc;
    if (!req->model_dir) {
        snprintf(err, errlen, "tokenizer.t5 needs a model folder");
        return PICTOR_E_INVALID;
    }
    if ((rc = pictor_t5_tokenizer_load(req->model_dir, &tok, err, errlen)))
        return rc;
    rc = run("tokenizer.t5", req, io, tok, t5_encode, T5_DEFAULT_MAX_LENGTH, err, errlen);
    pictor_t5_tokenizer_free(tok);
    return rc;
}
