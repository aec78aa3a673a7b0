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
/* Parses and checks a generation request body against API.md's table; on
 * success req is filled (its strings point into *keep, which the caller
 * releases with json_object_put after pictor_job_create copied them) and
 * *stream tells whether SSE was asked. On failure e is set. */
struct json_object;
int pictord_validate(struct pictord *s, const char *body, size_t len,
                     struct pictor_job_request *req, struct json_object **keep,
                     struct pictord_error *e);

/* ---- response.c [http thread] ---------------------------------------------- */
/* The 200 body for a finished job: PNG (with the parameters chunk) +
 * base64 per image. *out is malloc'd. */
int pictord_response_build(struct pictord *s, const struct pictor_job_request *req,
                           const struct pictor_job_result *res, char **out, size_t *out_len,
                           struct pictord_error *e);

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

void pictord_metrics_request(int route, int status);
void pictord_metrics_reject(int reason);
void pictord_metrics_disconnect(void);
/* The Prometheus text exposition; malloc'd. */
char *pictord_metrics_text(struct pictord *s);

#endif /* PICTORD_SERVER_H */
