/*
 * tests/unit/test_graph.c — graphs on the CPU backend (pictor/backend.h
 * "Graphs"), the twin of CUDA stream capture that plugins' capture code is
 * tested against:
 *   - off unless asked for; captures do not nest; launching while
 *     capturing fails;
 *   - recorded ops do not run; a replay runs them on the memory's current
 *     contents, with the scalars and views of the capture (a fill value
 *     is frozen), in place staying in place;
 *   - memory allocated while capturing is the graph's (usable at every
 *     replay); freeing older memory, uploads, downloads and synchronize
 *     while capturing make capture_end fail with a message saying so;
 *   - every op kind's operands are listed (pictor_op_args_tensors).
 */
#include <stdlib.h>
#include <string.h>

#include "../harness/test.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

static pictor_backend *cpu(bool graphs)
{
    pictor_backend *be = pictor_backend_cpu_create(1);
    pictor_backend_cpu_set_graphs(be, graphs);
    return be;
}

static void test_switch_and_nesting(void)
{
    pictor_backend *be = cpu(false);
    pictor_graph *g = (pictor_graph *)1;
    CHECK(!pictor_backend_graphs_offered(be), "off by default");
    CHECK(pictor_backend_capture_begin(be) == PICTOR_E_UNSUPPORTED, "off: capture refused");
    pictor_backend_cpu_set_graphs(be, true);
    CHECK(pictor_backend_graphs_offered(be), "switched on");
    CHECK(pictor_backend_capture_end(be, &g) != PICTOR_OK && g == NULL, "end without begin");
    CHECK(pictor_backend_capture_begin(be) == PICTOR_OK, "begin");
    CHECK(pictor_backend_capture_begin(be) == PICTOR_E_INVALID &&
              strstr(pictor_backend_error(be), "nest"),
          "nested begin refused: %s", pictor_backend_error(be));
    CHECK(pictor_backend_capture_end(be, &g) == PICTOR_OK && g, "empty graph");
    CHECK(pictor_backend_graph_launch(be, g) == PICTOR_OK, "empty graph launches");
    CHECK(pictor_backend_capture_begin(be) == PICTOR_OK, "begin again");
    CHECK(pictor_backend_graph_launch(be, g) != PICTOR_OK, "launch while capturing refused");
    pictor_graph *g2 = NULL;
    CHECK(pictor_backend_capture_end(be, &g2) == PICTOR_OK, "end");
    pictor_backend_graph_destroy(be, g2);
    pictor_backend_graph_destroy(be, g);
    pictor_backend_destroy(be);
}

/* y = relu-free little program: t = fill(2.5); y = x * t; y = y + x (in
 * place); z = copy(y) into graph-owned memory; out = z + 1 (via fill). */
static void test_replay_semantics(void)
{
    pictor_backend *be = cpu(true);
    enum { N = 5 };
    pictor_tensor x, t, y, out, z = {0}, one = {0};
    pictor_graph *g = NULL;
    pictor_tensor_alloc(be, &x, PICTOR_F32, 1, (int64_t[]){N});
    pictor_tensor_alloc(be, &t, PICTOR_F32, 1, (int64_t[]){1});
    pictor_tensor_alloc(be, &y, PICTOR_F32, 1, (int64_t[]){N});
    pictor_tensor_alloc(be, &out, PICTOR_F32, 1, (int64_t[]){N});
    float *xv = x.data, *ov = out.data;
    for (int i = 0; i < N; i++) {
        xv[i] = (float)i;
        ov[i] = -7.0f;
    }
    CHECK(pictor_backend_capture_begin(be) == PICTOR_OK, "begin");
    int rc = pictor_fill(be, &t, 2.5f);
    rc = rc ? rc : pictor_mul(be, &x, &t, &y);
    rc = rc ? rc : pictor_add(be, &y, &x, &y);
    rc = rc ? rc : pictor_tensor_alloc(be, &z, PICTOR_F32, 1, (int64_t[]){N});
    rc = rc ? rc : pictor_tensor_alloc(be, &one, PICTOR_F32, 1, (int64_t[]){1});
    rc = rc ? rc : pictor_copy(be, &y, &z);
    rc = rc ? rc : pictor_fill(be, &one, 1.0f);
    rc = rc ? rc : pictor_add(be, &z, &one, &out);
    CHECK(rc == PICTOR_OK, "recording: %s", pictor_backend_error(be));
    pictor_tensor_free(be, &one); /* the graph's: kept for replays */
    pictor_tensor_free(be, &z);
    CHECK(pictor_backend_capture_end(be, &g) == PICTOR_OK && g, "end: %s",
          pictor_backend_error(be));
    CHECK(ov[0] == -7.0f && ov[N - 1] == -7.0f, "nothing ran while recording");
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++)
            xv[i] = (float)(i + 10 * round); /* new input data, same memory */
        CHECK(pictor_backend_graph_launch(be, g) == PICTOR_OK, "launch %d", round);
        for (int i = 0; i < N; i++)
            CHECK(ov[i] == xv[i] * 2.5f + xv[i] + 1.0f, "round %d out[%d] = %g", round, i,
                  (double)ov[i]);
    }
    pictor_backend_graph_destroy(be, g);
    pictor_tensor_free(be, &x);
    pictor_tensor_free(be, &t);
    pictor_tensor_free(be, &y);
    pictor_tensor_free(be, &out);
    pictor_backend_destroy(be);
}

/* Each forbidden action inside a capture makes capture_end fail, saying
 * what happened. */
static void test_forbidden(void)
{
    static const char *const what[] = {"upload", "download", "synchronize", "free"};
    for (int k = 0; k < 4; k++) {
        pictor_backend *be = cpu(true);
        pictor_tensor a;
        float host[4] = {0};
        pictor_graph *g = (pictor_graph *)1;
        pictor_tensor_alloc(be, &a, PICTOR_F32, 1, (int64_t[]){4});
        CHECK(pictor_backend_capture_begin(be) == PICTOR_OK, "begin");
        int rc = 0;
        void *mem = a.data;
        switch (k) {
        case 0: rc = pictor_backend_upload(be, a.data, host, sizeof host); break;
        case 1: rc = pictor_backend_download(be, host, a.data, sizeof host); break;
        case 2: rc = pictor_backend_synchronize(be); break;
        case 3: pictor_tensor_free(be, &a); break;
        }
        CHECK(k == 3 || rc != PICTOR_OK, "%s refused at once", what[k]);
        rc = pictor_backend_capture_end(be, &g);
        const char *msg = pictor_backend_error(be);
        CHECK(rc != PICTOR_OK && g == NULL, "%s: capture_end fails", what[k]);
        CHECK(strstr(msg, k == 3 ? "before the capture" : "while capturing") != NULL,
              "%s: message says why: %s", what[k], msg);
        CHECK(pictor_backend_capture_begin(be) == PICTOR_OK, "%s: capturing again works",
              what[k]);
        CHECK(pictor_backend_capture_end(be, &g) == PICTOR_OK, "%s: and ends", what[k]);
        pictor_backend_graph_destroy(be, g);
        if (k != 3)
            pictor_tensor_free(be, &a);
        else
            free(mem); /* the recorder refused the free: the memory is still ours */
        pictor_backend_destroy(be);
    }
}

/* Every op kind's argument block lists operands the recorder can copy:
 * at least one, each a distinct field inside the union (whether the list
 * is complete is what test_flux_transformer's graph test and the replay
 * test above exercise, op by op, through real programs). */
static void test_op_coverage(void)
{
    for (int op = 0; op < PICTOR_OP_COUNT; op++) {
        struct pictor_op_args a = {.op = (enum pictor_op)op};
        const pictor_tensor **slots[PICTOR_OP_MAX_TENSORS];
        int n = pictor_op_args_tensors(&a, slots);
        CHECK(n >= 1 && n <= PICTOR_OP_MAX_TENSORS, "op %s lists %d operands",
              pictor_op_names[op], n);
        for (int i = 0; i < n; i++) {
            CHECK((char *)slots[i] >= (char *)&a.u &&
                      (char *)slots[i] < (char *)&a.u + sizeof a.u,
                  "op %s operand %d inside the union", pictor_op_names[op], i);
            for (int j = 0; j < i; j++)
                CHECK(slots[i] != slots[j], "op %s operands distinct", pictor_op_names[op]);
        }
    }
}

int main(void)
{
    RUN(test_switch_and_nesting);
    RUN(test_replay_semantics);
    RUN(test_forbidden);
    RUN(test_op_coverage);
    TEST_MAIN_END();
}
