/*
 * tests/unit/test_profile.c — the op profiler (pictor/profile.h) on the
 * CPU backend: one row per distinct op and operand shapes with its call
 * count, rows ordered by total time, the matmul's rate in TF/s, the rest
 * in GB/s; more calls than one batch of marks are all counted; graphs are
 * not offered while profiling; nothing is reported when not profiling;
 * reset starts the rows again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/test.h"
#include "pictor/ops.h"
#include "pictor/profile.h"
#include "pictor/tensor_util.h"

/* The report as a string (caller frees). */
static char *report(pictor_backend *be, bool reset)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    pictor_profile_report(be, f, reset);
    fclose(f);
    return buf;
}

/* The calls column of the row whose key ends the line with `key`. */
static long calls_of(const char *text, const char *key)
{
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        size_t k = strlen(key);
        if (n >= k && strncmp(line + n - k, key, k) == 0 && line[0] != '#') {
            double ms, share;
            long calls;
            if (sscanf(line, " %lf %lf%% %ld", &ms, &share, &calls) == 3)
                return calls;
        }
        line = end ? end + 1 : NULL;
    }
    return -1;
}

static void test_rows(void)
{
    pictor_backend *be = pictor_backend_cpu_create(1);
    pictor_backend_cpu_set_graphs(be, true);
    pictor_tensor a, b, c, y;
    pictor_tensor_alloc(be, &a, PICTOR_F32, 2, (int64_t[]){64, 48});
    pictor_tensor_alloc(be, &b, PICTOR_F32, 2, (int64_t[]){48, 32});
    pictor_tensor_alloc(be, &c, PICTOR_F32, 2, (int64_t[]){64, 32});
    pictor_tensor_alloc(be, &y, PICTOR_F32, 1, (int64_t[]){1000});
    char *text = report(be, false);
    CHECK(!text || !*text, "not profiling: nothing reported");
    free(text);
    CHECK(pictor_backend_graphs_offered(be), "graphs offered before profiling");
    CHECK(pictor_profile_enable(be, true) == PICTOR_OK, "enable: %s", pictor_backend_error(be));
    CHECK(!pictor_backend_graphs_offered(be), "no graphs while profiling");
    const int fills = PICTOR_PROFILE_BATCH + 5; /* more than one batch of marks */
    for (int i = 0; i < fills; i++)
        pictor_fill(be, &y, (float)i);
    for (int i = 0; i < 3; i++)
        CHECK(pictor_matmul(be, &a, &b, NULL, 1.0f, &c) == PICTOR_OK, "matmul");
    text = report(be, false);
    CHECK(text && strstr(text, "# op profile on cpu:"), "header: %s", text ? text : "");
    CHECK(calls_of(text, "fill [1000]f32") == fills, "fill calls counted: %ld",
          calls_of(text, "fill [1000]f32"));
    CHECK(calls_of(text, "matmul [64,48]f32 [48,32]f32 [64,32]f32") == 3, "matmul row: %s",
          text);
    const char *mm = strstr(text, "TF/s  matmul [64,48]f32");
    CHECK(mm != NULL, "matmul rated in TF/s");
    CHECK(strstr(text, "GB/s  fill [1000]f32") != NULL, "fill rated in GB/s");
    free(text);
    text = report(be, true); /* then reset */
    free(text);
    pictor_fill(be, &y, 1.0f);
    text = report(be, false);
    CHECK(calls_of(text, "fill [1000]f32") == 1, "after reset: one call");
    CHECK(calls_of(text, "matmul [64,48]f32 [48,32]f32 [64,32]f32") == -1,
          "after reset: no matmul row");
    free(text);
    CHECK(pictor_profile_enable(be, false) == PICTOR_OK, "disable");
    CHECK(pictor_backend_graphs_offered(be), "graphs offered again");
    pictor_tensor_free(be, &a);
    pictor_tensor_free(be, &b);
    pictor_tensor_free(be, &c);
    pictor_tensor_free(be, &y);
    pictor_backend_destroy(be);
}

/* Profiling left on at destroy frees everything (ASan checks). */
static void test_destroy_while_on(void)
{
    pictor_backend *be = pictor_backend_cpu_create(1);
    pictor_tensor y;
    pictor_tensor_alloc(be, &y, PICTOR_F32, 1, (int64_t[]){8});
    CHECK(pictor_profile_enable(be, true) == PICTOR_OK, "enable");
    CHECK(pictor_profile_enable(be, true) == PICTOR_OK, "enable twice");
    pictor_fill(be, &y, 2.0f);
    pictor_tensor_free(be, &y);
    pictor_backend_destroy(be);
}

int main(void)
{
    RUN(test_rows);
    RUN(test_destroy_while_on);
    TEST_MAIN_END();
}
