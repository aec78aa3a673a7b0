/* tests/unit/test_plugins.c — the plugin loader against the test plugins
 * of tests/plugins (built next to this binary in plugins/): every family
 * and scheduler entry called through the loader, an older minor accepted,
 * a wrong major / signature / missing symbol / failing init rejected with
 * the documented status and a log line, a failing open() reported. */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness/st_write.h"
#include "../harness/test.h"
#include "pictor/plugins.h"

static char plugdir[PATH_MAX + 16];
static char last_log[2048];
static int n_logs;

static void cap_log(int level, const char *plugin, const char *fmt, ...)
{
    (void)level;
    (void)plugin;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_log, sizeof last_log, fmt, ap);
    va_end(ap);
    n_logs++;
}

static struct pictor_host_api host;

static void setup_host(void)
{
    host = *pictor_default_host_api();
    host.log = cap_log;
}

static int load(struct pictor_plugin_set *set, const char *file, char *err, size_t len)
{
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s", plugdir, file);
    return pictor_plugins_load_file(set, path, err, len);
}

static void test_family_every_entry(void)
{
    struct pictor_plugin_set *set;
    char err[512] = "";
    CHECK(pictor_plugins_create(&host, &set) == PICTOR_OK, "create");
    int rc = load(set, "testfam.so", err, sizeof err);
    CHECK(rc == PICTOR_OK, "testfam loads: %s", err);
    const struct pictor_plugin *p = pictor_plugins_find(set, PICTOR_PLUGIN_FAMILY, "testfam");
    CHECK(p != NULL, "found by kind and name");
    if (!p)
        goto out;
    CHECK(p->entry.abi_minor == PICTOR_ABI_MINOR, "minor copied");

    /* probe: a folder with a marker claims, one without does not */
    char dir[] = "/tmp/pictor-plugins-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "tmpdir");
    const struct pictor_plugin *best = NULL;
    struct pictor_probe_result pr;
    rc = pictor_plugins_probe(set, dir, &best, &pr, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "testfam"), "unclaimed folder: %s", err);
    char marker[PATH_MAX];
    snprintf(marker, sizeof marker, "%s/testfam.marker", dir);
    FILE *f = fopen(marker, "w");
    fputs("42\n", f);
    fclose(f);
    char wpath[PATH_MAX + 32];
    snprintf(wpath, sizeof wpath, "%s/model.safetensors", dir);
    float wv[2] = {0.25f, 9.0f};
    struct st_entry we[2] = {{"a.bias", "F32", 1, {1}, wv + 1, 4}, {"w", "F32", 1, {1}, wv, 4}};
    CHECK(st_write(wpath, 2, we) == 0, "write weights");
    rc = pictor_plugins_probe(set, dir, &best, &pr, err, sizeof err);
    CHECK(rc == PICTOR_OK && best == p && pr.score == 42 &&
              strcmp(pr.variant, "testfam-v42") == 0, "probe picks testfam: %s", err);
    CHECK(strstr(pr.detail, "2 tensors, first a.bias") != NULL,
          "probe peeked the weights through the host: %s", pr.detail);

    /* open, defaults, encode, latent_shape, predict, decode, release, close */
    void *model = NULL;
    struct pictor_open_params op = {.struct_size = sizeof op, .model_dir = dir};
    rc = p->family.open(&op, &model, err, sizeof err);
    CHECK(rc == PICTOR_OK && model, "open: %s", err);
    struct pictor_family_defaults d = {.struct_size = sizeof d};
    p->family.defaults(model, &d);
    CHECK(d.steps == 4 && d.prediction == PICTOR_PREDICT_FLOW && d.size_granularity == 16,
          "defaults");
    struct pictor_gen_params gp = {.struct_size = sizeof gp, .prompt = "a red circle",
                                   .width = 64, .height = 32, .batch = 2};
    void *cond = NULL;
    struct pictor_job_ctx job = {.struct_size = sizeof job};
    rc = p->family.encode(model, &job, &gp, &cond, err, sizeof err);
    CHECK(rc == PICTOR_OK && cond && strcmp(cond, "a red circle") == 0, "encode");
    int64_t shape[4];
    p->family.latent_shape(model, &gp, shape);
    CHECK(shape[0] == 2 && shape[1] == 4 && shape[2] == 4 && shape[3] == 8, "latent shape");
    float xs[2 * 4 * 4 * 8], os[2 * 4 * 4 * 8];
    for (int i = 0; i < 256; i++)
        xs[i] = (float)i;
    struct pictor_tensor x = {.data = xs, .dtype = PICTOR_F32, .ndim = 4,
                              .shape = {2, 4, 4, 8}, .stride = {128, 32, 8, 1}};
    struct pictor_tensor o = x;
    o.data = os;
    rc = p->family.predict(model, &job, cond, &x, 1000.0f, 1.0f, &o, err, sizeof err);
    CHECK(rc == PICTOR_OK && os[255] == 127.75f, "predict used w read at open: %g", os[255]);
    float img[2 * 3 * 32 * 64];
    rc = p->family.decode(model, &job, &x, img, err, sizeof err);
    CHECK(rc == PICTOR_OK && img[300] == 0.5f + xs[300 % 256] / 16.0f, "decode");
    p->family.release_cond(model, cond);
    p->family.close(model);

    /* eval through the loader */
    const struct pictor_plugin *owner = NULL;
    CHECK(pictor_plugins_find_eval(set, "testfam.identity", &owner) != NULL && owner == p,
          "eval component found");
    CHECK(pictor_plugins_find_eval(set, "testfam.other", NULL) == NULL, "unknown component");
    unlink(marker);
    unlink(wpath);
    rmdir(dir);
out:
    pictor_plugins_unload(set);
}

static void test_older_minor_scheduler(void)
{
    struct pictor_plugin_set *set;
    char err[512] = "";
    pictor_plugins_create(&host, &set);
    int rc = load(set, "oldminor.so", err, sizeof err);
    CHECK(rc == PICTOR_OK, "an older minor is accepted: %s", err);
    const struct pictor_plugin *p = pictor_plugins_find(set, PICTOR_PLUGIN_SCHEDULER, "oldminor");
    CHECK(p && p->entry.abi_minor == 0, "found, minor 0");
    if (!p)
        goto out;
    CHECK(p->entry.eval == NULL && p->entry.eval_components == NULL,
          "fields past its struct_size read as NULL");
    CHECK(pictor_plugins_find_eval(set, "scheduler.oldminor", NULL) == NULL, "no eval");
    const struct pictor_scheduler_iface *s = &p->scheduler;
    void *sch = NULL;
    rc = s->create("{}", &sch, err, sizeof err);
    CHECK(rc == PICTOR_OK, "create");
    struct pictor_timestep_params tp = {.struct_size = sizeof tp, .num_inference_steps = 4};
    rc = s->set_timesteps(sch, &tp, err, sizeof err);
    size_t nt = 0, ns = 0;
    const float *ts = s->timesteps(sch, &nt), *sg = s->sigmas(sch, &ns);
    CHECK(rc == PICTOR_OK && nt == 4 && ns == 5 && ts[1] == 750.0f && sg[4] == 0.0f,
          "timesteps/sigmas");
    CHECK(s->init_noise_sigma(sch) == 1.0f, "init sigma");
    float x[3] = {1, 2, 3}, v[3] = {1, 1, 1}, out[3];
    s->scale_model_input(sch, 0, x, out, 3);
    CHECK(out[2] == 3.0f, "scale identity");
    rc = s->step(sch, 0, v, x, NULL, out, 3, err, sizeof err);
    CHECK(rc == PICTOR_OK && out[0] == 0.75f, "step: x + dt v = %g", out[0]);
    rc = s->step(sch, 9, v, x, NULL, out, 3, err, sizeof err);
    CHECK(rc == PICTOR_E_INVALID && strstr(err, "past the end"), "bad index: %s", err);
    s->destroy(sch);
    CHECK(pictor_scheduler_compatible(PICTOR_PREDICT_FLOW, p->scheduler.prediction),
          "flow scheduler suits a flow family");
    CHECK(!pictor_scheduler_compatible(PICTOR_PREDICT_EPSILON, p->scheduler.prediction),
          "flow scheduler refused for an epsilon family");
out:
    pictor_plugins_unload(set);
}

static void expect_reject(const char *file, int want, const char *needle1, const char *needle2)
{
    struct pictor_plugin_set *set;
    char err[1024] = "";
    pictor_plugins_create(&host, &set);
    int logs = n_logs;
    int rc = load(set, file, err, sizeof err);
    CHECK(rc == want, "%s: status %d, want %d (%s)", file, rc, want, err);
    CHECK(strstr(err, needle1) != NULL, "%s: message '%s' lacks '%s'", file, err, needle1);
    CHECK(!needle2 || strstr(err, needle2) != NULL, "%s: message '%s' lacks '%s'", file, err,
          needle2 ? needle2 : "");
    CHECK(n_logs > logs && strcmp(last_log, err) == 0, "%s: rejection logged", file);
    CHECK(pictor_plugins_count(set) == 0, "%s: nothing loaded", file);
    pictor_plugins_unload(set);
}

static void test_rejections(void)
{
    char both[64];
    snprintf(both, sizeof both, "host ABI %d.%d", PICTOR_ABI_MAJOR, PICTOR_ABI_MINOR);
    char plug[64];
    snprintf(plug, sizeof plug, "plugin ABI %d.%d", PICTOR_ABI_MAJOR + 1, PICTOR_ABI_MINOR);
    expect_reject("bad-wrongmajor.so", PICTOR_E_UNSUPPORTED, both, plug);
    expect_reject("bad-badsig.so", PICTOR_E_UNSUPPORTED, "build signature", "rebuild");
    expect_reject("bad-noentry.so", PICTOR_E_NOT_FOUND, "pictor_plugin_entry", NULL);
    expect_reject("bad-unresolved.so", PICTOR_E_IO, "pictor_symbol_that_does_not_exist", NULL);
    expect_reject("bad-failinit.so", PICTOR_E_UNSUPPORTED, "init failed", "driver too old");
    expect_reject("no-such-file.so", PICTOR_E_IO, "dlopen failed", NULL);
}

static void test_open_failure_reported(void)
{
    struct pictor_plugin_set *set;
    char err[512] = "";
    pictor_plugins_create(&host, &set);
    int rc = load(set, "bad-failopen.so", err, sizeof err);
    CHECK(rc == PICTOR_OK, "loads: %s", err);
    const struct pictor_plugin *p = pictor_plugins_find(set, PICTOR_PLUGIN_FAMILY, "badfailopen");
    CHECK(p != NULL, "found");
    if (p) {
        void *m = (void *)1;
        struct pictor_open_params op = {.struct_size = sizeof op, .model_dir = "/nonexistent"};
        rc = p->family.open(&op, &m, err, sizeof err);
        CHECK(rc == PICTOR_E_FORMAT && m == NULL && strstr(err, "x_embedder.weight"),
              "open failure comes back as status + message: %s", err);
    }
    pictor_plugins_unload(set);
}

static void test_load_dir_skips_bad(void)
{
    struct pictor_plugin_set *set;
    char err[512] = "";
    pictor_plugins_create(&host, &set);
    int rc = pictor_plugins_load_dir(set, plugdir, err, sizeof err);
    CHECK(rc == PICTOR_OK, "load_dir: %s", err);
    /* testfam, oldminor and failopen load; the five broken ones are skipped */
    CHECK(pictor_plugins_count(set) == 3, "3 good plugins, got %zu", pictor_plugins_count(set));
    pictor_plugins_unload(set);
    pictor_plugins_create(&host, &set);
    rc = pictor_plugins_load_dir(set, "/nonexistent/plugins", err, sizeof err);
    CHECK(rc == PICTOR_E_IO && strstr(err, "/nonexistent/plugins"), "missing dir: %s", err);
    pictor_plugins_unload(set);
}

/* The worked example of docs/plugins.md, built as the page says. */
static void test_worked_example(void)
{
    struct pictor_plugin_set *set;
    char err[512] = "", path[PATH_MAX + 128];
    pictor_plugins_create(&host, &set);
    snprintf(path, sizeof path, "%s/../example-plugins/example-linear-flow.so", plugdir);
    int rc = pictor_plugins_load_file(set, path, err, sizeof err);
    CHECK(rc == PICTOR_OK, "example loads: %s", err);
    const struct pictor_plugin *p =
        pictor_plugins_find(set, PICTOR_PLUGIN_SCHEDULER, "example-linear-flow");
    CHECK(p != NULL, "found");
    if (p) {
        void *s = NULL;
        rc = p->scheduler.create("{\"shift\": 3.0}", &s, err, sizeof err);
        struct pictor_timestep_params tp = {.struct_size = sizeof tp, .num_inference_steps = 4};
        if (rc == PICTOR_OK)
            rc = p->scheduler.set_timesteps(s, &tp, err, sizeof err);
        size_t n = 0;
        const float *sg = rc == PICTOR_OK ? p->scheduler.sigmas(s, &n) : NULL;
        /* shift 3 at sigma 0.75: 2.25 / 2.5 = 0.9 */
        CHECK(sg && n == 5 && fabsf(sg[1] - 0.9f) < 1e-6f && sg[4] == 0.0f, "shifted sigmas");
        float x[2] = {1, -1}, v[2] = {2, 2}, o[2];
        rc = p->scheduler.step(s, 3, v, x, NULL, o, 2, err, sizeof err);
        CHECK(rc == PICTOR_OK && fabsf(o[0] - (1.0f - 2.0f * sg[3])) < 1e-6f, "last step");
        p->scheduler.destroy(s);
    }
    pictor_plugins_unload(set);
}

/* The host's compatibility rule, on the real scheduler plugins of the build. */
static void test_pick_scheduler(void)
{
    struct pictor_plugin_set *set;
    char err[512] = "", dir[PATH_MAX + 64];
    pictor_plugins_create(&host, &set);
    snprintf(dir, sizeof dir, "%s/../../lib/pictor/plugins", plugdir);
    int rc = pictor_plugins_load_dir(set, dir, err, sizeof err);
    size_t n_sched = 0;
    for (size_t i = 0; i < pictor_plugins_count(set); i++)
        n_sched += pictor_plugins_at(set, i)->entry.kind == PICTOR_PLUGIN_SCHEDULER;
    CHECK(rc == PICTOR_OK && n_sched == 6, "six scheduler plugins in %s: %zu", dir, n_sched);
    struct pictor_family_defaults flow = {.struct_size = sizeof flow,
                                          .prediction = PICTOR_PREDICT_FLOW};
    struct pictor_family_defaults eps = {.struct_size = sizeof eps,
                                         .prediction = PICTOR_PREDICT_EPSILON};
    snprintf(flow.scheduler, sizeof flow.scheduler, "flow-match-euler");
    snprintf(eps.scheduler, sizeof eps.scheduler, "euler");
    const struct pictor_plugin *p = NULL;
    rc = pictor_plugins_pick_scheduler(set, "flux", &flow, NULL, &p, err, sizeof err);
    CHECK(rc == PICTOR_OK && p && strcmp(p->entry.name, "flow-match-euler") == 0,
          "family default: %s", err);
    const char *eps_ok[] = {"euler", "euler-a", "heun", "ddim", "dpm++"};
    for (int i = 0; i < 5; i++) {
        rc = pictor_plugins_pick_scheduler(set, "sdxl", &eps, eps_ok[i], &p, err, sizeof err);
        CHECK(rc == PICTOR_OK && p, "sdxl + %s: %s", eps_ok[i], err);
        rc = pictor_plugins_pick_scheduler(set, "flux", &flow, eps_ok[i], &p, err, sizeof err);
        CHECK(rc == PICTOR_E_INVALID && !p && strstr(err, "flow-match-euler"),
              "flux + %s refused, naming the compatible one: %s", eps_ok[i], err);
    }
    rc = pictor_plugins_pick_scheduler(set, "sdxl", &eps, "flow-match-euler", &p, err, sizeof err);
    CHECK(rc == PICTOR_E_INVALID && strstr(err, "epsilon/v"), "sdxl + flow refused: %s", err);
    rc = pictor_plugins_pick_scheduler(set, "sdxl", &eps, "lms", &p, err, sizeof err);
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "'lms'"), "unknown scheduler: %s", err);
    pictor_plugins_unload(set);
}

int main(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    *slash = '\0';
    snprintf(plugdir, sizeof plugdir, "%s/plugins", exe);
    setup_host();
    RUN(test_family_every_entry);
    RUN(test_older_minor_scheduler);
    RUN(test_rejections);
    RUN(test_open_failure_reported);
    RUN(test_load_dir_skips_bad);
    RUN(test_worked_example);
    RUN(test_pick_scheduler);
    TEST_MAIN_END();
}
