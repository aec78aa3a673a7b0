/* core/server/stream.c — `stream: true` answers: server-sent events as
 * OpenAI's Images API streams them (server.h, "stream.c") [http thread].
 * Partial images reach this thread through the job (pictor_job_poll) as
 * RGB; their PNG encoding and base64 run here, never on the worker. */
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pictor/status.h"
#include "server.h"

/* An SSE comment line every this many seconds while nothing else is sent
 * (a long queue wait): keeps proxies from timing the stream out and makes
 * a vanished client show up as a failed write. */
#define KEEPALIVE_S 15

struct sse_conn {
    struct mg_connection *conn;
    bool chunked;      /* HTTP/1.1: chunked; 1.0: the body ends at close */
    bool gone;         /* a write failed or the client hung up */
    int fd;            /* the connection's socket (peer.c), or -1 */
    time_t last_write;
};

static void send_text(struct sse_conn *c, const char *text, size_t len)
{
    if (c->gone)
        return;
    int w = c->chunked ? mg_send_chunk(c->conn, text, (unsigned)len) : mg_write(c->conn, text, len);
    if (w < 0 || (!c->chunked && (size_t)w != len))
        c->gone = true;
    c->last_write = time(NULL);
}

/* One event per image of the batch: partial image `index` (rgb = the
 * batch's [n, H, W, 3] preview) or, index < 0, the final images. */
static void send_images(struct sse_conn *c, struct pictord *s, const struct pictor_job_request *req,
                        const struct pictord_gen_opts *opts, const uint8_t *rgb, int index,
                        const struct pictor_job_result *res)
{
    const size_t img_bytes = (size_t)req->width * (size_t)req->height * 3;
    const struct pictor_jobs_model *m = pictor_jobs_model_at(s->jobs, (size_t)req->model);
    char receipt[256] = "";
    if (res)
        pictord_receipt(s, req, res, receipt, sizeof receipt);
    for (int i = 0; i < req->n && !c->gone; i++) {
        struct pictord_error e = {0};
        char *b64 = NULL, *ev = NULL;
        size_t b64_len = 0, len = 0;
        if (pictord_image_b64(s, req, rgb + (size_t)i * img_bytes, index < 0, &b64, &b64_len,
                              &e)) {
            fprintf(stderr, "pictord: image %d: %s\n", i, e.message);
            if (index >= 0)
                continue; /* a lost preview is no reason to stop */
            if ((ev = pictord_sse_error_event(&e, &len)))
                send_text(c, ev, len);
            free(ev);
            return;
        }
        struct pictord_sse_image im = {
            .completed = index < 0, .b64 = b64, .b64_len = b64_len,
            .created_at = (long long)time(NULL), .width = req->width, .height = req->height,
            .quality = opts->quality, .partial_image_index = index < 0 ? 0 : index,
            .image_index = i, .seed = req->seed, .model = m->conf->id, .receipt = receipt,
            .inference_ms = res ? res->inference_ms : 0.0};
        if ((ev = pictord_sse_image_event(&im, &len)))
            send_text(c, ev, len);
        else
            fprintf(stderr, "pictord: out of memory for an event\n");
        free(ev);
        free(b64);
    }
}

static void send_error(struct sse_conn *c, const struct pictord_error *e)
{
    size_t len = 0;
    char *ev = pictord_sse_error_event(e, &len);
    if (ev)
        send_text(c, ev, len);
    free(ev);
}

void pictord_stream(struct mg_connection *conn, struct pictord *s, const char *reqid,
                    struct pictor_job *job, const struct pictor_job_request *req,
                    const struct pictord_gen_opts *opts)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    struct sse_conn c = {.conn = conn, .fd = -1, .last_write = time(NULL),
                         .chunked = ri->http_version && strcmp(ri->http_version, "1.0")};
    c.fd = pictord_peer_socket(ri->remote_addr, ri->remote_port, ri->server_port);
    mg_response_header_start(conn, 200);
    mg_response_header_add(conn, "Content-Type", "text/event-stream", -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    mg_response_header_add(conn, "x-request-id", reqid, -1);
    mg_response_header_add(conn, "X-Accel-Buffering", "no", -1); /* nginx: pass events on */
    if (c.chunked)
        mg_response_header_add(conn, "Transfer-Encoding", "chunked", -1);
    mg_response_header_send(conn);

    for (;;) {
        struct pictor_job_preview pv = {0};
        enum pictor_job_event ev = pictor_job_poll(s->jobs, job, PICTORD_PEER_POLL_MS, &pv);
        if (ev == PICTOR_JOB_DONE)
            break;
        if (ev == PICTOR_JOB_PREVIEW) {
            send_images(&c, s, req, opts, pv.rgb, pv.index, NULL);
            free(pv.rgb);
        } else if (c.fd >= 0 && pictord_peer_gone(c.fd)) {
            c.gone = true;
        } else if (time(NULL) - c.last_write >= KEEPALIVE_S) {
            send_text(&c, ": keep-alive\n\n", 14);
        }
        if (c.gone) {
            pictord_metrics_disconnect();
            pictor_job_cancel(job);
            break;
        }
    }
    const bool left_early = c.gone;
    const struct pictor_job_result *res = pictor_job_wait(s->jobs, job);
    if (!c.gone) {
        struct pictord_error e = {0};
        if (res->status == PICTOR_OK) {
            send_images(&c, s, req, opts, res->rgb, -1, res);
        } else if (res->status == PICTOR_E_CANCELLED) {
            pictord_error_set(&e, 503, "server_error", NULL, "service_unavailable",
                              "the generation was cancelled: %s", res->error);
            send_error(&c, &e);
        } else {
            fprintf(stderr, "pictord: %s: generation failed: %s\n", reqid, res->error);
            pictord_error_set(&e, 500, "server_error", NULL,
                              res->status == PICTOR_E_NOMEM ? "out_of_memory" : NULL,
                              "generation failed: %s", res->error);
            send_error(&c, &e);
        }
        if (c.chunked)
            send_text(&c, "", 0); /* the last chunk */
    }
    if (c.gone && !left_early) /* it went during the final events */
        pictord_metrics_disconnect();
    pictord_metrics_request(PICTORD_ROUTE_GENERATIONS,
                            c.gone ? PICTORD_STATUS_CLIENT_CLOSED : 200);
}
