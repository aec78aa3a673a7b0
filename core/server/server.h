/*
 * core/server/server.h — pictord's internals shared by its files: the
 * server state, the OpenAI error object, and each route's entry point.
 *
 * Threads: [main] start-up, signals, shutdown; [http thread] civetweb's
 * request threads (validate, submit, wait, respond — never model code);
 * [worker thread] lives in core/lib/jobs.c.
 */
#ifndef PICTORD_SERVER_H
#define PICTORD_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pictor/config.h"
#include "pictor/jobs.h"
#include "pictor/plugins.h"

struct mg_connection;

#define PICTORD_MAX_KEYS 256
#define PICTORD_REQID_LEN 64

/* API keys from the key file; reloaded on SIGHUP under the write lock. */
struct pictord_auth {
    pthread_rwlock_t lock;
    char path[PICTOR_CONF_PATH_LEN]; /* "" = open server */
    char *keys[PICTORD_MAX_KEYS];
    int n_keys;
};

struct pictord {
    struct pictor_server_conf *conf;
    struct pictor_plugin_set *plugins;
    struct pictor_jobs *jobs;
    struct pictord_auth auth;
    atomic_bool draining;   /* SIGTERM seen: new requests 503 */
    atomic_int inflight;    /* generation requests inside their handler:
                               shutdown waits for their responses too */
    time_t started;         /* "created" of /v1/models */
};

/* The OpenAI error object; all four keys are always written (param and
 * code as null when NULL). */
struct pictord_error {
    int status;
    const char *type;  /* "invalid_request_error", "server_error", ... */
    const char *param; /* field name or NULL */
    const char *code;  /* "invalid_size", "model_not_found", ... or NULL */
    char message[512];
};

/* Fills e (message printf-style). */
void pictord_error_set(struct pictord_error *e, int status, const char *type, const char *param,
                       const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* ---- http.c [http thread] ------------------------------------------------ */
int pictord_http_handler(struct mg_connection *conn, void *cbdata);
/* mg_callbacks.http_error: the errors civetweb answers itself, before the
 * handler (a method it refuses, a malformed request line or header), as
 * the OpenAI error object with a new x-request-id (API.md: every response
 * has one). Returns 0 (handled); 1 for a status that is no error. */
int pictord_http_error(struct mg_connection *conn, int status, const char *errmsg);
/* Sends a complete response with x-request-id, Content-Type and
 * Content-Length; extra_name/extra_value (may be NULL) add one header.
 * Counts the request in the metrics. */
void pictord_send(struct mg_connection *conn, int route, const char *reqid, int status,
                  const char *content_type, const char *body, size_t len,
                  const char *extra_name, const char *extra_value);
void pictord_send_error(struct mg_connection *conn, int route, const char *reqid,
                        const struct pictord_error *e);

/* ---- auth.c ---------------------------------------------------------------- */
/* [main] Reads the key file (one key per line, '#' comments, blank lines
 * skipped); "" path = open server. Keeps the old keys when reading fails. */
int pictord_auth_load(struct pictord_auth *a, const char *path, char *err, size_t errlen);
void pictord_auth_free(struct pictord_auth *a);
/* [http thread] Whether the Authorization header (may be NULL) carries a
 * configured key (constant-time per key); true when no key file. */
bool pictord_auth_check(struct pictord_auth *a, const char *authorization);

/* ---- validate.c [http thread] --------------------------------------------- */
/* What a generation request asks beyond the job itself. */
struct pictord_gen_opts {
    bool stream;         /* `stream`: answer with server-sent events */
    const char *quality; /* OpenAI's word for the events: low, medium,
                            high (also for hd) or auto (also standard,
                            absent); static storage */
};

/* Parses and checks a generation request body against API.md's table; on
 * success req is filled (its strings point into *keep, which the caller
 * releases with json_object_put after pictor_job_create copied them;
 * req->partial_images is 0 unless stream) and so is *opts. On failure e is
 * set. */
struct json_object;
int pictord_validate(struct pictord *s, const char *body, size_t len,
                     struct pictor_job_request *req, struct pictord_gen_opts *opts,
                     struct json_object **keep, struct pictord_error *e);

/* ---- response.c [http thread] ---------------------------------------------- */
/* The 200 body for a finished job: PNG (with the parameters chunk) +
 * base64 per image. *out is malloc'd. */
int pictord_response_build(struct pictord *s, const struct pictor_job_request *req,
                           const struct pictor_job_result *res, char **out, size_t *out_len,
                           struct pictord_error *e);
/* One [H, W, 3] u8 image of req as a base64 PNG (*b64 malloc'd, not
 * NUL-terminated beyond b64_len); parameters: add the `parameters` tEXt
 * chunk (final images; partial images go without). */
int pictord_image_b64(struct pictord *s, const struct pictor_job_request *req,
                      const uint8_t *rgb, bool parameters, char **b64, size_t *b64_len,
                      struct pictord_error *e);
/* The receipt line of a finished job ("4 steps / gs 0 / ..."; it says
 * when a negative prompt was ignored by a model without CFG). */
void pictord_receipt(struct pictord *s, const struct pictor_job_request *req,
                     const struct pictor_job_result *res, char *buf, size_t len);

/* ---- sse.c [any thread]: server-sent event text --------------------------------- */
#define PICTORD_SSE_PARTIAL "image_generation.partial_image"
#define PICTORD_SSE_COMPLETED "image_generation.completed"
/* Our images are opaque RGB whatever `background` asked (API.md: ignored). */
#define PICTORD_SSE_BACKGROUND "opaque"

/* One image event: OpenAI's fields (ImageGenPartialImageEvent,
 * ImageGenCompletedEvent: type, b64_json, created_at, size, quality,
 * background, output_format, then partial_image_index or usage — usage all
 * 0: OpenAI counts tokens for its GPT image models only) plus pictord's
 * extensions image_index and seed, and on completed events model, width,
 * height, inference_ms and receipt as in the 200 body. */
struct pictord_sse_image {
    bool completed;          /* image_generation.completed, else partial */
    const char *b64;         /* base64 PNG */
    size_t b64_len;
    long long created_at;    /* Unix seconds */
    int width, height;
    const char *quality;     /* pictord_gen_opts.quality */
    int partial_image_index; /* partial events: 0-based */
    int image_index;         /* which image of the batch (n > 1) */
    uint64_t seed;
    const char *model, *receipt; /* completed events */
    double inference_ms;         /* completed events */
};

/* "event: TYPE\ndata: JSON\n\n", malloc'd (NULL: out of memory). */
char *pictord_sse_image_event(const struct pictord_sse_image *im, size_t *len);
/* "event: error\ndata: {\"error\": {message, type, param, code}}\n\n":
 * the OpenAI error object, which the SDKs raise as an APIError. */
char *pictord_sse_error_event(const struct pictord_error *e, size_t *len);
/* OpenAI's quality word for a request's `quality` (NULL: absent). */
const char *pictord_sse_quality(const char *requested);

/* ---- peer.c [http thread]: noticing a client that hung up ------------------------ */
/* civetweb 1.15 has no "peer closed" call and no socket accessor, so the
 * connection's socket is found by its addresses: the TCP socket of this
 * process whose peer is remote_addr:remote_port and whose local port is
 * local_port (mg_request_info's remote_addr, remote_port, server_port; a
 * connected socket's address pair is unique). Returns the fd, or -1 when
 * none matches (disconnects are then noticed by failed writes only). */
int pictord_peer_socket(const char *remote_addr, int remote_port, int local_port);
/* Whether the peer of a connected socket closed or reset the connection
 * (poll: POLLHUP, POLLERR, POLLRDHUP; or a peek reads end of file). Never
 * blocks, consumes nothing. A client that half-closes its side after
 * sending the request counts as gone (HTTP clients do not do that). */
bool pictord_peer_gone(int fd);

/* ---- stream.c [http thread] ------------------------------------------------------- */
/* How often a waiting HTTP thread looks at its client (ms): a client that
 * hangs up frees its worker within this plus one denoising step. */
#define PICTORD_PEER_POLL_MS 100

/* Answers an admitted job with server-sent events: 200 text/event-stream
 * (chunked on HTTP/1.1, close-delimited on 1.0), partial images as they
 * come, one completed event per image, or an error event. Returns when the
 * job is over (cancelled first when the client left); the caller still
 * owns and destroys the job. Counts the request in the metrics. */
void pictord_stream(struct mg_connection *conn, struct pictord *s, const char *reqid,
                    struct pictor_job *job, const struct pictor_job_request *req,
                    const struct pictord_gen_opts *opts);

/* ---- models.c [http thread] ------------------------------------------------ */
char *pictord_models_json(struct pictord *s);

/* ---- metrics.c [any thread] -------------------------------------------------- */
enum pictord_route {
    PICTORD_ROUTE_GENERATIONS = 0,
    PICTORD_ROUTE_MODELS,
    PICTORD_ROUTE_HEALTHZ,
    PICTORD_ROUTE_READYZ,
    PICTORD_ROUTE_METRICS,
    PICTORD_ROUTE_RECEIPTS,
    PICTORD_ROUTE_OTHER,
    PICTORD_ROUTE_COUNT
};
extern const char *const pictord_route_names[PICTORD_ROUTE_COUNT];

enum pictord_reject {
    PICTORD_REJECT_QUEUE_FULL = 0,
    PICTORD_REJECT_NOT_READY,
    PICTORD_REJECT_DRAINING,
    PICTORD_REJECT_BODY_TOO_LARGE,
    PICTORD_REJECT_COUNT
};

/* Requests whose client hung up before the answer are counted with this
 * status (nginx's "client closed request"). */
#define PICTORD_STATUS_CLIENT_CLOSED 499

void pictord_metrics_request(int route, int status);
void pictord_metrics_reject(int reason);
void pictord_metrics_disconnect(void);
/* The Prometheus text exposition; malloc'd. */
char *pictord_metrics_text(struct pictord *s);

#endif /* PICTORD_SERVER_H */
