/*
 * tests/unit/test_sse.c — pictord's server-sent event text (core/server/
 * sse.c) and its client watch (core/server/peer.c), compiled in here
 * directly: pictord's objects are not in a library the tests link.
 *   - partial_image and completed events: the frame ("event: T\ndata: J\n\n",
 *     one data line), every field OpenAI's SDK types name with the values
 *     given, the extensions, usage all 0;
 *   - the error event: the OpenAI error object, null param/code, a message
 *     with quotes and newlines still on one data line;
 *   - quality words; finding a connection's socket by its addresses among
 *     this process's descriptors, and noticing its peer hang up.
 */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../core/server/peer.c"
#include "../../core/server/sse.c"
#include "../harness/test.h"

/* Splits "event: E\ndata: D\n\n" (exactly that) and parses D. */
static json_object *parse_frame(const char *text, size_t len, char *event, size_t evlen)
{
    CHECK(strlen(text) == len, "length %zu, strlen %zu", len, strlen(text));
    CHECK(len > 2 && !strcmp(text + len - 2, "\n\n"), "ends with a blank line");
    const char *nl = strchr(text, '\n');
    CHECK(!strncmp(text, "event: ", 7) && nl, "starts with event:");
    if (!nl || strncmp(text, "event: ", 7))
        return NULL;
    snprintf(event, evlen, "%.*s", (int)(nl - text - 7), text + 7);
    CHECK(!strncmp(nl + 1, "data: ", 6), "then data:");
    const char *end = strchr(nl + 1, '\n');
    CHECK(end && end == text + len - 2, "one data line");
    return json_tokener_parse(nl + 7);
}

static size_t n_keys(json_object *o)
{
    return (size_t)json_object_object_length(o);
}

static const char *str(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

static int64_t num(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) && v ? json_object_get_int64(v) : -12345;
}

static void test_partial_event(void)
{
    struct pictord_sse_image im = {.completed = false, .b64 = "iVBORw0K/+==", .b64_len = 12,
                                   .created_at = 1714512000, .width = 96, .height = 64,
                                   .quality = "low", .partial_image_index = 2,
                                   .image_index = 1, .seed = 2147483647};
    size_t len = 0;
    char *t = pictord_sse_image_event(&im, &len), ev[64] = "";
    CHECK(t != NULL, "formatted");
    json_object *o = t ? parse_frame(t, len, ev, sizeof ev) : NULL;
    CHECK(!strcmp(ev, "image_generation.partial_image"), "event %s", ev);
    CHECK(o && n_keys(o) == 10, "10 keys: %s", o ? json_object_to_json_string(o) : "-");
    if (o) {
        CHECK(!strcmp(str(o, "type"), "image_generation.partial_image"), "type");
        CHECK(!strcmp(str(o, "b64_json"), "iVBORw0K/+=="), "b64 verbatim (no \\/)");
        CHECK(strstr(t, "iVBORw0K/+==") != NULL, "slash not escaped on the wire");
        CHECK(num(o, "created_at") == 1714512000, "created_at");
        CHECK(!strcmp(str(o, "size"), "96x64"), "size %s", str(o, "size"));
        CHECK(!strcmp(str(o, "quality"), "low"), "quality");
        CHECK(!strcmp(str(o, "background"), "opaque"), "background");
        CHECK(!strcmp(str(o, "output_format"), "png"), "output_format");
        CHECK(num(o, "partial_image_index") == 2, "partial_image_index");
        CHECK(num(o, "image_index") == 1 && num(o, "seed") == 2147483647, "extensions");
        CHECK(!strncmp(t + strlen("event: image_generation.partial_image\ndata: "),
                       "{\"type\":", 8), "type comes first");
    }
    json_object_put(o);
    free(t);
}

static void test_completed_event(void)
{
    struct pictord_sse_image im = {.completed = true, .b64 = "AAAA", .b64_len = 4,
                                   .created_at = 1714512001, .width = 64, .height = 64,
                                   .quality = "auto", .partial_image_index = 5, .image_index = 0,
                                   .seed = 7, .model = "flux.1-schnell",
                                   .receipt = "4 steps / gs 0", .inference_ms = 952.7349};
    size_t len = 0;
    char *t = pictord_sse_image_event(&im, &len), ev[64] = "";
    json_object *o = t ? parse_frame(t, len, ev, sizeof ev) : NULL, *u = NULL, *d = NULL;
    CHECK(!strcmp(ev, "image_generation.completed"), "event %s", ev);
    CHECK(o && n_keys(o) == 15, "15 keys: %s", o ? json_object_to_json_string(o) : "-");
    if (o) {
        CHECK(!json_object_object_get_ex(o, "partial_image_index", NULL), "no partial index");
        CHECK(json_object_object_get_ex(o, "usage", &u) && n_keys(u) == 4, "usage");
        CHECK(num(u, "input_tokens") == 0 && num(u, "output_tokens") == 0 &&
                  num(u, "total_tokens") == 0,
              "usage counts 0");
        CHECK(json_object_object_get_ex(u, "input_tokens_details", &d) && n_keys(d) == 2 &&
                  num(d, "image_tokens") == 0 && num(d, "text_tokens") == 0,
              "input_tokens_details");
        CHECK(!strcmp(str(o, "model"), "flux.1-schnell") && !strcmp(str(o, "receipt"),
                                                                     "4 steps / gs 0"),
              "model, receipt");
        CHECK(num(o, "width") == 64 && num(o, "height") == 64 && num(o, "seed") == 7, "facts");
        CHECK(strstr(t, "\"inference_ms\":952.7,") != NULL, "inference_ms to 0.1 ms");
    }
    json_object_put(o);
    free(t);
}

static void test_error_event(void)
{
    struct pictord_error e = {.status = 500, .type = "server_error", .param = NULL,
                              .code = NULL};
    snprintf(e.message, sizeof e.message, "generation failed: \"step 2\"\nline two");
    size_t len = 0;
    char *t = pictord_sse_error_event(&e, &len), ev[64] = "";
    json_object *o = t ? parse_frame(t, len, ev, sizeof ev) : NULL, *err = NULL, *v = NULL;
    CHECK(!strcmp(ev, "error"), "event %s", ev);
    CHECK(o && n_keys(o) == 1 && json_object_object_get_ex(o, "error", &err) && n_keys(err) == 4,
          "{error: 4 keys}");
    if (err) {
        CHECK(!strcmp(str(err, "message"), e.message), "message round-trips");
        CHECK(!strcmp(str(err, "type"), "server_error"), "type");
        CHECK(json_object_object_get_ex(err, "param", &v) && v == NULL, "param null");
        CHECK(json_object_object_get_ex(err, "code", &v) && v == NULL, "code null");
    }
    json_object_put(o);
    free(t);
    struct pictord_error e2 = {.status = 503, .type = "server_error", .param = "prompt",
                               .code = "service_unavailable", .message = "cancelled"};
    t = pictord_sse_error_event(&e2, &len);
    o = t ? parse_frame(t, len, ev, sizeof ev) : NULL;
    CHECK(o && json_object_object_get_ex(o, "error", &err) &&
              !strcmp(str(err, "code"), "service_unavailable") && !strcmp(str(err, "param"),
                                                                         "prompt"),
          "param and code strings");
    json_object_put(o);
    free(t);
}

static void test_quality_words(void)
{
    const char *in[] = {NULL, "low", "medium", "high", "hd", "auto", "standard"};
    const char *out[] = {"auto", "low", "medium", "high", "high", "auto", "auto"};
    for (int i = 0; i < 7; i++)
        CHECK(!strcmp(pictord_sse_quality(in[i]), out[i]), "%s -> %s", in[i] ? in[i] : "NULL",
              pictord_sse_quality(in[i]));
}

static int port_of(int fd, bool peer)
{
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    if (peer ? getpeername(fd, (struct sockaddr *)&a, &l) : getsockname(fd, (struct sockaddr *)&a, &l))
        return -1;
    return ntohs(a.sin_port);
}

static void test_peer_socket(void)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0), cl = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    CHECK(!bind(ls, (struct sockaddr *)&a, sizeof a) && !listen(ls, 4) &&
              !getsockname(ls, (struct sockaddr *)&a, &l) &&
              !connect(cl, (struct sockaddr *)&a, sizeof a),
          "loopback connection");
    int sv = accept(ls, NULL, NULL);
    CHECK(sv >= 0, "accepted");
    const int server_port = ntohs(a.sin_port), client_port = port_of(cl, false);
    /* as civetweb describes the request: client address and port, our port */
    int fd = pictord_peer_socket("127.0.0.1", client_port, server_port);
    CHECK(fd == sv, "found the server side socket: %d, want %d", fd, sv);
    CHECK(pictord_peer_socket("[::ffff:127.0.0.1]", client_port, server_port) == sv,
          "bracketed, IPv4-mapped address");
    CHECK(pictord_peer_socket("127.0.0.2", client_port, server_port) == -1, "other address");
    CHECK(pictord_peer_socket("127.0.0.1", client_port + 1, server_port) == -1, "other port");
    CHECK(port_of(sv, true) == client_port, "sanity: the peer's port");
    CHECK(!pictord_peer_gone(sv), "a connected, silent client is there");
    CHECK(write(cl, "x", 1) == 1, "client writes");
    usleep(20000);
    CHECK(!pictord_peer_gone(sv), "unread data is no hang-up");
    char c;
    CHECK(read(sv, &c, 1) == 1, "still readable: nothing was consumed");
    close(cl);
    usleep(20000);
    CHECK(pictord_peer_gone(sv), "closed client noticed");
    close(sv);
    close(ls);
}

int main(void)
{
    RUN(test_partial_event);
    RUN(test_completed_event);
    RUN(test_error_event);
    RUN(test_quality_words);
    RUN(test_peer_socket);
    TEST_MAIN_END();
}
