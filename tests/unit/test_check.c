/* tests/unit/test_check.c — the fixture runner's verdicts and exit codes
 * (pictor/check.h), with test-only evaluators on synthetic cases. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness/st_write.h"
#include "../harness/test.h"
#include "pictor/check.h"
#include "pictor/status.h"

static pictor_backend *be;
static char root[256];

static int eval_copy(const struct pictor_eval_request *req, const struct pictor_eval_io *io,
                     char *err, size_t errlen)
{
    pictor_tensor t;
    (void)req;
    if (io->get_input(io->ctx, "x", &t) == PICTOR_OK) {
        int rc = io->put_output(io->ctx, "y", &t);
        if (rc)
            return rc;
    }
    if (io->get_input(io->ctx, "ids", &t) == PICTOR_OK)
        return io->put_output(io->ctx, "ids", &t);
    snprintf(err, errlen, "ok");
    return PICTOR_OK;
}

static int eval_fail(const struct pictor_eval_request *req, const struct pictor_eval_io *io,
                     char *err, size_t errlen)
{
    (void)req;
    (void)io;
    snprintf(err, errlen, "weights are missing tensor 'w'");
    return PICTOR_E_FORMAT;
}

static const struct pictor_check_component table[] = {
    {"test.copy", eval_copy},
    {"fam.", eval_copy},
    {"test.fail", eval_fail},
};

/* Makes root/name with case.json and the two files; returns the dir. */
static const char *make_case(const char *name, const char *component, const float *x,
                             const float *y, int64_t n, int64_t ny, const char *tol)
{
    static char dir[512];
    char p[600], json[512];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    mkdir(dir, 0755);
    struct st_entry in = {"x", "F32", 1, {n}, x, (size_t)n * 4};
    struct st_entry ex = {"y", "F32", 1, {ny}, y, (size_t)ny * 4};
    snprintf(p, sizeof p, "%s/inputs.safetensors", dir);
    st_write(p, 1, &in);
    snprintf(p, sizeof p, "%s/expected.safetensors", dir);
    st_write(p, 1, &ex);
    snprintf(json, sizeof json,
             "{\"component\":\"%s\",\"model\":null,\"inputs\":\"inputs.safetensors\","
             "\"expected\":\"expected.safetensors\",\"params\":{},\"tolerance\":%s}",
             component, tol);
    snprintf(p, sizeof p, "%s/case.json", dir);
    FILE *f = fopen(p, "w");
    fputs(json, f);
    fclose(f);
    return dir;
}

static int run(const char *dir, char *buf, size_t len)
{
    struct pictor_check_options opt = {.backend = be, .device_name = "cpu",
                                       .precision = PICTOR_PRECISION_FP32};
    FILE *f = fmemopen(buf, len, "w");
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    int code = pictor_check_run(dir, &opt, table, sizeof table / sizeof table[0], f);
    fclose(stderr);
    stderr = saved;
    fclose(f);
    return code;
}

static void test_pass_and_fail(void)
{
    float x[5] = {1, 2, 3, 4, 5}, y_ok[5] = {1, 2, 3, 4, 5}, y_bad[5] = {1, 2, 3, 4, 5.5f};
    char out[2048];
    const char *tol = "{\"rel_l2\":1e-4,\"max_abs\":1e-3}";
    CHECK(run(make_case("pass", "test.copy", x, y_ok, 5, 5, tol), out, sizeof out) == 0,
          "exact copy must pass: %s", out);
    CHECK(strstr(out, "\"pass\":true") && strstr(out, "\"component\":\"test.copy\"") &&
              strstr(out, "\"case\":\"pass\""),
          "report: %s", out);
    CHECK(run(make_case("fail", "test.copy", x, y_bad, 5, 5, tol), out, sizeof out) == 1,
          "0.5 off must fail: %s", out);
    CHECK(strstr(out, "\"pass\":false") != NULL, "report: %s", out);
    /* same data, looser tolerance from case.json passes */
    CHECK(run(make_case("loose", "test.copy", x, y_bad, 5, 5, "{\"rel_l2\":0.1,\"max_abs\":1}"),
              out, sizeof out) == 0, "case tolerance must be used: %s", out);
}

static void test_nan_never_passes(void)
{
    float x[3] = {1, NAN, 3}, y[3] = {1, 2, 3};
    char out[2048];
    CHECK(run(make_case("nan", "test.copy", x, y, 3, 3, "{\"rel_l2\":1e9,\"max_abs\":1e9}"),
              out, sizeof out) == 1, "NaN must fail: %s", out);
}

static void test_errors_exit_2(void)
{
    float x[4] = {1, 2, 3, 4};
    char out[2048];
    const char *tol = "{\"rel_l2\":1e-4,\"max_abs\":1e-3}";
    CHECK(run(make_case("shape", "test.copy", x, x, 4, 3, tol), out, sizeof out) == 2,
          "shape mismatch is an error: %s", out);
    CHECK(strstr(out, "shape") != NULL, "message names the shape: %s", out);
    CHECK(run(make_case("unknown", "nope.thing", x, x, 4, 4, tol), out, sizeof out) == 2,
          "unknown component is an error");
    CHECK(strstr(out, "unknown component 'nope.thing'") != NULL, "message: %s", out);
    CHECK(run(make_case("evalfail", "test.fail", x, x, 4, 4, tol), out, sizeof out) == 2,
          "evaluator failure is an error");
    CHECK(strstr(out, "missing tensor 'w'") != NULL, "evaluator message kept: %s", out);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/does-not-exist", root);
    CHECK(run(missing, out, sizeof out) == 2, "missing case dir is an error");
    const char *dir = make_case("noexp", "test.copy", x, x, 4, 4, tol);
    char p[600];
    snprintf(p, sizeof p, "%s/expected.safetensors", dir);
    unlink(p);
    CHECK(run(dir, out, sizeof out) == 2, "missing expected file is an error");
}

static void test_prefix_component(void)
{
    float x[2] = {7, 8};
    char out[2048];
    CHECK(run(make_case("prefix", "fam.anything", x, x, 2, 2, "{\"rel_l2\":1e-4,\"max_abs\":1e-3}"),
              out, sizeof out) == 0, "prefix entry 'fam.' matches 'fam.anything': %s", out);
    CHECK(run(make_case("prefix2", "fam.", x, x, 2, 2, "{\"rel_l2\":1e-4,\"max_abs\":1e-3}"),
              out, sizeof out) == 2, "bare prefix is not a component");
}

static void test_int_ids_exact(void)
{
    char dir[512], p[600], out[2048];
    int64_t ids[4] = {49406, 320, 49407, 49407}, bad[4] = {49406, 321, 49407, 49407};
    for (int k = 0; k < 2; k++) {
        snprintf(dir, sizeof dir, "%s/ids%d", root, k);
        mkdir(dir, 0755);
        struct st_entry in = {"ids", "I64", 2, {1, 4}, ids, sizeof ids};
        struct st_entry ex = {"ids", "I64", 2, {1, 4}, k ? bad : ids, sizeof ids};
        snprintf(p, sizeof p, "%s/inputs.safetensors", dir);
        st_write(p, 1, &in);
        snprintf(p, sizeof p, "%s/expected.safetensors", dir);
        st_write(p, 1, &ex);
        snprintf(p, sizeof p, "%s/case.json", dir);
        FILE *f = fopen(p, "w");
        fputs("{\"component\":\"test.copy\",\"inputs\":\"inputs.safetensors\","
              "\"expected\":\"expected.safetensors\",\"tolerance\":{\"rel_l2\":1,\"max_abs\":100}}",
              f);
        fclose(f);
        int code = run(dir, out, sizeof out);
        CHECK(code == (k ? 1 : 0), "ids case %d: exit %d: %s", k, code, out);
    }
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/pictor-test-check-XXXXXX");
    if (!mkdtemp(root))
        return 1;
    be = pictor_backend_cpu_create(1);
    RUN(test_pass_and_fail);
    RUN(test_nan_never_passes);
    RUN(test_errors_exit_2);
    RUN(test_prefix_component);
    RUN(test_int_ids_exact);
    pictor_backend_destroy(be);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    TEST_MAIN_END();
}
