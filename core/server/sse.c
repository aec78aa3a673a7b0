/* core/server/sse.c — the text of pictord's server-sent events (server.h,
 * "sse.c") [any thread]: OpenAI's image_generation.partial_image and
 * image_generation.completed events, and the error event. Pure formatting:
 * no I/O, so tests/unit/test_sse.c checks it byte by byte. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* "event: NAME\ndata: JSON\n\n" (JSON is one line: json-c's plain form
 * never breaks lines, and every control character in a string is escaped). */
static char *frame(const char *event, json_object *data, size_t *len)
{
    size_t jl = 0;
    const char *js = json_object_to_json_string_length(
        data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &jl);
    size_t cap = strlen(event) + jl + 32;
    char *buf = js ? malloc(cap) : NULL;
    if (!buf)
        return NULL;
    int n = snprintf(buf, cap, "event: %s\ndata: %s\n\n", event, js);
    if (n < 0 || (size_t)n >= cap) {
        free(buf);
        return NULL;
    }
    *len = (size_t)n;
    return buf;
}

static void add_str(json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

char *pictord_sse_image_event(const struct pictord_sse_image *im, size_t *len)
{
    const char *type = im->completed ? PICTORD_SSE_COMPLETED : PICTORD_SSE_PARTIAL;
    char size[32];
    snprintf(size, sizeof size, "%dx%d", im->width, im->height);
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    add_str(o, "type", type);
    json_object_object_add(o, "b64_json", json_object_new_string_len(im->b64, (int)im->b64_len));
    json_object_object_add(o, "created_at", json_object_new_int64(im->created_at));
    add_str(o, "size", size);
    add_str(o, "quality", im->quality);
    add_str(o, "background", PICTORD_SSE_BACKGROUND);
    add_str(o, "output_format", "png");
    if (im->completed) {
        /* OpenAI counts tokens for its GPT image models only; a diffusion
         * model has no such usage, so every count is 0. */
        json_object *u = json_object_new_object(), *d = json_object_new_object();
        json_object_object_add(d, "image_tokens", json_object_new_int(0));
        json_object_object_add(d, "text_tokens", json_object_new_int(0));
        json_object_object_add(u, "input_tokens", json_object_new_int(0));
        json_object_object_add(u, "input_tokens_details", d);
        json_object_object_add(u, "output_tokens", json_object_new_int(0));
        json_object_object_add(u, "total_tokens", json_object_new_int(0));
        json_object_object_add(o, "usage", u);
    } else {
        json_object_object_add(o, "partial_image_index",
                               json_object_new_int(im->partial_image_index));
    }
    /* pictord's extensions (API.md): which image of the batch, its seed;
     * the final event also carries the 200 body's facts. */
    json_object_object_add(o, "image_index", json_object_new_int(im->image_index));
    json_object_object_add(o, "seed", json_object_new_int64((int64_t)im->seed));
    if (im->completed) {
        add_str(o, "model", im->model);
        json_object_object_add(o, "width", json_object_new_int(im->width));
        json_object_object_add(o, "height", json_object_new_int(im->height));
        char ms[32]; /* one decimal, as the 200 body */
        snprintf(ms, sizeof ms, "%.1f", im->inference_ms);
        json_object_object_add(o, "inference_ms", json_object_new_double_s(im->inference_ms, ms));
        add_str(o, "receipt", im->receipt);
    }
    char *out = frame(type, o, len);
    json_object_put(o);
    return out;
}

char *pictord_sse_error_event(const struct pictord_error *e, size_t *len)
{
    json_object *root = json_object_new_object(), *err = json_object_new_object();
    if (!root || !err) {
        json_object_put(root);
        json_object_put(err);
        return NULL;
    }
    add_str(err, "message", e->message);
    add_str(err, "type", e->type);
    add_str(err, "param", e->param);
    add_str(err, "code", e->code);
    json_object_object_add(root, "error", err);
    char *out = frame("error", root, len);
    json_object_put(root);
    return out;
}

const char *pictord_sse_quality(const char *requested)
{
    static const char *const from[] = {"low", "medium", "high", "hd"};
    static const char *const to[] = {"low", "medium", "high", "high"};
    for (size_t i = 0; requested && i < sizeof from / sizeof from[0]; i++)
        if (!strcmp(requested, from[i]))
            return to[i];
    return "auto";
}
