/* core/server/http.c — pictord's routes on civetweb [http thread]:
 * request id, auth, body limit, admission, validation, submit, wait,
 * respond. Every error goes out as the OpenAI error object. */
#include <civetweb.h>
#include <ctype.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "server.h"

#define RETRY_AFTER_BUSY "1"    /* seconds: a queued job frees a slot quickly */
#define RETRY_AFTER_LOADING "5" /* seconds: models still loading or draining */

void pictord_error_set(struct pictord_error *e, int status, const char *type, const char *param,
                       const char *code, const char *fmt, ...)
{
    e->status = status;
    e->type = type;
    e->param = param;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

void pictord_send(struct mg_connection *conn, int route, const char *reqid, int status,
                  const char *content_type, const char *body, size_t len,
                  const char *extra_name, const char *extra_value)
{
    char clen[32];
    snprintf(clen, sizeof clen, "%zu", len);
    mg_response_header_start(conn, status);
    mg_response_header_add(conn, "Content-Type", content_type, -1);
    mg_response_header_add(conn, "Content-Length", clen, -1);
    mg_response_header_add(conn, "x-request-id", reqid, -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    if (extra_name)
        mg_response_header_add(conn, extra_name, extra_value, -1);
    mg_response_header_send(conn);
    size_t off = 0;
    while (off < len) {
        int w = mg_write(conn, body + off, len - off);
        if (w <= 0) {
            pictord_metrics_disconnect();
            break;
        }
        off += (size_t)w;
    }
    pictord_metrics_request(route, status);
}

void pictord_send_error(struct mg_connection *conn, int route, const char *reqid,
                        const struct pictord_error *e)
{
    json_object *err = json_object_new_object(), *root = json_object_new_object();
    json_object_object_add(err, "message", json_object_new_string(e->message));
    json_object_object_add(err, "type", json_object_new_string(e->type));
    json_object_object_add(err, "param", e->param ? json_object_new_string(e->param) : NULL);
    json_object_object_add(err, "code", e->code ? json_object_new_string(e->code) : NULL);
    json_object_object_add(root, "error", err);
    size_t len;
    const char *s = json_object_to_json_string_length(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    const char *extra = NULL, *val = NULL;
    if (e->status == 429) {
        extra = "Retry-After";
        val = RETRY_AFTER_BUSY;
    } else if (e->status == 503) {
        extra = "Retry-After";
        val = RETRY_AFTER_LOADING;
    } else if (e->status == 401) {
        extra = "WWW-Authenticate";
        val = "Bearer";
    }
    pictord_send(conn, route, reqid, e->status, "application/json", s, len, extra, val);
    json_object_put(root);
}

/* "req_" + 16 random hex digits. */
static void new_request_id(char out[PICTORD_REQID_LEN])
{
    static atomic_ulong counter;
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (uint64_t)time(NULL) << 20 ^ atomic_fetch_add(&counter, 1);
    snprintf(out, PICTORD_REQID_LEN, "req_%016llx", (unsigned long long)r);
}

/* The client's x-request-id when it is 1..63 visible ASCII characters,
 * else a new one. */
static void request_id(const struct mg_connection *conn, char out[PICTORD_REQID_LEN])
{
    const char *h = mg_get_header(conn, "x-request-id");
    if (h && *h && strlen(h) < PICTORD_REQID_LEN) {
        bool ok = true;
        for (const char *p = h; *p; p++)
            ok = ok && *p > 32 && *p < 127;
        if (ok) {
            snprintf(out, PICTORD_REQID_LEN, "%s", h);
            return;
        }
    }
    new_request_id(out);
}

int pictord_http_error(struct mg_connection *conn, int status, const char *errmsg)
{
    if (status < 400 || status > 599)
        return 1; /* not an error: civetweb's own answer */
    static const struct {
        int status;
        const char *code;
    } codes[] = {{400, "bad_request"}, {404, "not_found"}, {405, "method_not_allowed"},
                 {408, "request_timeout"}, {413, "request_too_large"},
                 {414, "uri_too_long"}, {431, "headers_too_large"}};
    const char *code = NULL;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].status == status)
            code = codes[i].code;
    char reqid[PICTORD_REQID_LEN];
    new_request_id(reqid); /* the request's own headers may be what failed */
    json_object *err = json_object_new_object(), *root = json_object_new_object();
    json_object_object_add(err, "message",
                           json_object_new_string(errmsg && *errmsg ? errmsg : "bad request"));
    json_object_object_add(err, "type", json_object_new_string(status < 500 ? "invalid_request_error"
                                                                            : "server_error"));
    json_object_object_add(err, "param", NULL);
    json_object_object_add(err, "code", code ? json_object_new_string(code) : NULL);
    json_object_object_add(root, "error", err);
    size_t len;
    const char *body = json_object_to_json_string_length(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
              "x-request-id: %s\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
              status, mg_get_response_code_text(conn, status), len, reqid);
    mg_write(conn, body, len);
    json_object_put(root);
    pictord_metrics_request(PICTORD_ROUTE_OTHER, status);
    return 0;
}

static void send_json(struct mg_connection *conn, int route, const char *reqid, int status,
                      const char *body)
{
    pictord_send(conn, route, reqid, status, "application/json", body, strlen(body), NULL, NULL);
}

/* Reads the body into *out (NUL-terminated); 413 when it exceeds limit
 * (Content-Length checked before reading, chunked bodies read with a cap). */
static int read_body(struct mg_connection *conn, size_t limit, char **out, size_t *out_len,
                     struct pictord_error *e)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (ri->content_length >= 0 && (unsigned long long)ri->content_length > limit) {
        pictord_metrics_reject(PICTORD_REJECT_BODY_TOO_LARGE);
        pictord_error_set(e, 413, "invalid_request_error", NULL, "request_too_large",
                          "request body of %lld bytes is over the limit of %zu bytes",
                          ri->content_length, limit);
        return -1;
    }
    size_t cap = ri->content_length >= 0 ? (size_t)ri->content_length : limit + 1;
    char *buf = malloc(cap + 1);
    if (!buf) {
        pictord_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
        return -1;
    }
    size_t len = 0;
    while (len < cap) {
        int r = mg_read(conn, buf + len, cap - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    if (len > limit) {
        free(buf);
        pictord_metrics_reject(PICTORD_REJECT_BODY_TOO_LARGE);
        pictord_error_set(e, 413, "invalid_request_error", NULL, "request_too_large",
                          "request body is over the limit of %zu bytes", limit);
        return -1;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

/* 503 while draining or loading; false when the request may go on. */
static bool unavailable(struct pictord *s, struct pictord_error *e)
{
    char msg[400];
    if (atomic_load(&s->draining)) {
        pictord_metrics_reject(PICTORD_REJECT_DRAINING);
        pictord_error_set(e, 503, "server_error", NULL, "service_unavailable",
                          "the server is shutting down");
        return true;
    }
    if (!pictor_jobs_ready(s->jobs)) {
        pictord_metrics_reject(PICTORD_REJECT_NOT_READY);
        if (pictor_jobs_load_error(s->jobs, msg, sizeof msg))
            pictord_error_set(e, 503, "server_error", NULL, "service_unavailable",
                              "a model failed to load: %s", msg);
        else
            pictord_error_set(e, 503, "server_error", NULL, "service_unavailable",
                              "models are still loading");
        return true;
    }
    return false;
}

/* Waits for an admitted job while watching its client: one that hangs up
 * gets its job cancelled (a queued job never reaches a model, a running one
 * stops within a step). NULL when the client left (counted in metrics). */
static const struct pictor_job_result *wait_watching(struct mg_connection *conn,
                                                     struct pictord *s, struct pictor_job *job)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    int fd = -2; /* looked up on the first timeout: most jobs end sooner */
    for (;;) {
        struct pictor_job_preview pv = {0};
        enum pictor_job_event ev = pictor_job_poll(s->jobs, job, PICTORD_PEER_POLL_MS, &pv);
        if (ev == PICTOR_JOB_DONE)
            return pictor_job_wait(s->jobs, job);
        free(pv.rgb); /* none are asked for without stream */
        if (fd == -2)
            fd = pictord_peer_socket(ri->remote_addr, ri->remote_port, ri->server_port);
        if (fd >= 0 && pictord_peer_gone(fd)) {
            pictord_metrics_disconnect();
            pictor_job_cancel(job);
            pictor_job_wait(s->jobs, job);
            pictord_metrics_request(PICTORD_ROUTE_GENERATIONS, PICTORD_STATUS_CLIENT_CLOSED);
            return NULL;
        }
    }
}

static void generations(struct mg_connection *conn, struct pictord *s, const char *reqid)
{
    const int route = PICTORD_ROUTE_GENERATIONS;
    struct pictord_error e = {0};
    char *body = NULL, *out = NULL;
    size_t len = 0, out_len = 0;
    json_object *keep = NULL;
    struct pictor_job *job = NULL;
    struct pictor_job_request req;
    struct pictord_gen_opts opts = {0};
    if (read_body(conn, s->conf->body_limit, &body, &len, &e))
        goto fail;
    if (unavailable(s, &e))
        goto fail;
    if (pictord_validate(s, body, len, &req, &opts, &keep, &e))
        goto fail;
    if (pictor_job_create(&req, &job)) {
        pictord_error_set(&e, 500, "server_error", NULL, NULL, "out of memory");
        goto fail;
    }
    switch (pictor_jobs_submit(s->jobs, job)) {
    case PICTOR_JOBS_ADMITTED:
        break;
    case PICTOR_JOBS_FULL:
        pictord_metrics_reject(PICTORD_REJECT_QUEUE_FULL);
        pictord_error_set(&e, 429, "rate_limit_error", NULL, "rate_limit_exceeded",
                          "the generation queue is full (%d waiting); retry later",
                          s->conf->queue_length);
        goto fail;
    case PICTOR_JOBS_DRAINING:
        pictord_metrics_reject(PICTORD_REJECT_DRAINING);
        pictord_error_set(&e, 503, "server_error", NULL, "service_unavailable",
                          "the server is shutting down");
        goto fail;
    default:
        pictord_metrics_reject(PICTORD_REJECT_NOT_READY);
        pictord_error_set(&e, 503, "server_error", NULL, "service_unavailable",
                          "models are not loaded");
        goto fail;
    }
    if (opts.stream) {
        pictord_stream(conn, s, reqid, job, &req, &opts);
        goto cleanup;
    }
    const struct pictor_job_result *res = wait_watching(conn, s, job);
    if (!res)
        goto cleanup;
    if (res->status == PICTOR_E_CANCELLED) {
        pictord_error_set(&e, 503, "server_error", NULL, "service_unavailable",
                          "the generation was cancelled: %s", res->error);
        goto fail;
    }
    if (res->status != PICTOR_OK) {
        fprintf(stderr, "pictord: %s: generation failed: %s\n", reqid, res->error);
        pictord_error_set(&e, 500, "server_error", NULL,
                          res->status == PICTOR_E_NOMEM ? "out_of_memory" : NULL,
                          "generation failed: %s", res->error);
        goto fail;
    }
    if (pictord_response_build(s, &req, res, &out, &out_len, &e))
        goto fail;
    pictord_send(conn, route, reqid, 200, "application/json", out, out_len, NULL, NULL);
    goto cleanup;
fail:
    pictord_send_error(conn, route, reqid, &e);
cleanup:
    free(out);
    pictor_job_destroy(job);
    if (keep)
        json_object_put(keep);
    free(body);
}

static int route_of(const char *uri)
{
    static const char *const paths[PICTORD_ROUTE_COUNT] = {
        [PICTORD_ROUTE_GENERATIONS] = "/v1/images/generations",
        [PICTORD_ROUTE_MODELS] = "/v1/models",
        [PICTORD_ROUTE_HEALTHZ] = "/healthz",
        [PICTORD_ROUTE_READYZ] = "/readyz",
        [PICTORD_ROUTE_METRICS] = "/metrics",
        [PICTORD_ROUTE_RECEIPTS] = "/v1/receipts",
    };
    for (int r = 0; r < PICTORD_ROUTE_OTHER; r++)
        if (!strcmp(uri, paths[r]))
            return r;
    return PICTORD_ROUTE_OTHER;
}

int pictord_http_handler(struct mg_connection *conn, void *cbdata)
{
    struct pictord *s = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    char reqid[PICTORD_REQID_LEN];
    struct pictord_error e = {0};
    request_id(conn, reqid);
    const char *uri = ri->local_uri ? ri->local_uri : "";
    int route = route_of(uri);
    bool post = route == PICTORD_ROUTE_GENERATIONS;
    if (route == PICTORD_ROUTE_OTHER) {
        pictord_error_set(&e, 404, "invalid_request_error", NULL, "not_found",
                          "no route %s %s", ri->request_method, uri);
        goto fail;
    }
    if (strcmp(ri->request_method, post ? "POST" : "GET") &&
        !(!post && !strcmp(ri->request_method, "HEAD"))) {
        pictord_error_set(&e, 405, "invalid_request_error", NULL, "method_not_allowed",
                          "%s takes %s, not %s", uri, post ? "POST" : "GET",
                          ri->request_method);
        goto fail;
    }
    if (route == PICTORD_ROUTE_HEALTHZ) {
        send_json(conn, route, reqid, 200, "{\"status\":\"ok\"}");
        return 200;
    }
    if (route == PICTORD_ROUTE_READYZ) {
        if (unavailable(s, &e))
            goto fail;
        send_json(conn, route, reqid, 200, "{\"status\":\"ready\"}");
        return 200;
    }
    if (!pictord_auth_check(&s->auth, mg_get_header(conn, "Authorization"))) {
        pictord_error_set(&e, 401, "invalid_request_error", NULL, "invalid_api_key",
                          "missing or wrong API key: send Authorization: Bearer KEY");
        goto fail;
    }
    char *text = NULL;
    switch (route) {
    case PICTORD_ROUTE_GENERATIONS:
        atomic_fetch_add(&s->inflight, 1);
        generations(conn, s, reqid);
        atomic_fetch_sub(&s->inflight, 1);
        return 200;
    case PICTORD_ROUTE_MODELS:
        text = pictord_models_json(s);
        break;
    case PICTORD_ROUTE_METRICS:
        text = pictord_metrics_text(s);
        if (text) {
            pictord_send(conn, route, reqid, 200, "text/plain; version=0.0.4", text,
                         strlen(text), NULL, NULL);
            free(text);
            return 200;
        }
        break;
    case PICTORD_ROUTE_RECEIPTS:
        send_json(conn, route, reqid, 200, "{\"object\":\"list\",\"data\":[]}");
        return 200;
    default:
        break;
    }
    if (!text) {
        pictord_error_set(&e, 500, "server_error", NULL, NULL, "out of memory");
        goto fail;
    }
    send_json(conn, route, reqid, 200, text);
    free(text);
    return 200;
fail:
    pictord_send_error(conn, route, reqid, &e);
    return e.status;
}
