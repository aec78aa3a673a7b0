/* tests/unit/test_config.c — pictord.ini and models.d drop-ins
 * (pictor/config.h): defaults, a full file with a drop-in, every error class
 * with its FILE:LINE, relative paths, alias lookup, and the shipped
 * etc/pictor/pictord.ini. */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness/manifest.h"
#include "../harness/test.h"
#include "../harness/tmpdir.h"
#include "pictor/config.h"
#include "pictor/status.h"

static struct pictor_server_conf conf; /* large: kept off the stack */
static char err[1024];

/* A fresh tmp/main.ini and, when DROPIN is set, tmp/models.d/10-a.ini alone. */
static int load(const char *main_text, const char *dropin)
{
    remove(test_tmp_at("models.d/10-a.ini"));
    remove(test_tmp_at("models.d/20-b.ini"));
    remove(test_tmp_at("models.d/notes.txt"));
    rmdir(test_tmp_at("models.d"));
    CHECK(test_tmp_write("main.ini", main_text) == 0, "write main.ini");
    if (dropin) {
        mkdir(test_tmp_at("models.d"), 0755);
        CHECK(test_tmp_write("models.d/10-a.ini", dropin) == 0, "write drop-in");
    }
    err[0] = '\0';
    return pictor_config_load(test_tmp_at("main.ini"), &conf, err, sizeof err);
}

static void test_defaults(void)
{
    pictor_config_defaults(&conf);
    CHECK(strcmp(conf.listen, "127.0.0.1:8080") == 0, "listen %s", conf.listen);
    CHECK(conf.threads == 8 && conf.body_limit == 65536 && conf.queue_length == 16,
          "threads %d body %zu queue %d", conf.threads, conf.body_limit, conf.queue_length);
    CHECK(conf.drain_timeout == 30, "drain %g", conf.drain_timeout);
    CHECK(conf.n_devices == 1 && strcmp(conf.devices[0], "cpu") == 0, "devices");
    CHECK(conf.n_models == 0 && !conf.realtime[0] && !conf.quality[0], "no models");
    CHECK(!conf.api_key_file[0] && !conf.plugin_dir[0] && !conf.state_dir[0], "no paths");
    /* An empty file (and no models.d) loads to the defaults. */
    int rc = load("; nothing\n", NULL);
    CHECK(rc == PICTOR_OK, "empty file: %s", err);
    CHECK(conf.threads == 8 && conf.n_models == 0, "empty file gives defaults");
}

static const char *full_main =
    "\xEF\xBB\xBF; a full configuration\n"
    "[server]\n"
    "listen = [::1]:9000\n"
    "  threads = 4        ; indented keys are keys\n"
    "body_limit = 1048576\n"
    "queue_length = 0\n"
    "drain_timeout = 2.5\n"
    "api_key_file = /etc/keys\n"
    "plugin_dir = plugins\n"
    "state_dir = ./state\n"
    "devices = cuda:0, cuda:1 ,cpu\n"
    "[modes]\n"
    "realtime = fast\n"
    "quality = org/slow\n"
    "[model org/fast]\n"
    "path = org/fast\n"
    "plugin = flux\n"
    "precision = bf16\n"
    "steps = 4\n"
    "guidance = 0\n"
    "scheduler = flow-match-euler\n"
    "step_ceiling = 8\n"
    "aliases = fast, quick\n"
    "warmup = false\n";

static const char *full_dropin =
    "[model org/slow]\n"
    "path = weights/flux/slow\n"
    "precision = fp8\n"
    "steps = 28\n"
    "guidance = 3.5\n"
    "scheduler =\n"
    "aliases = slow\n"
    "warmup = true\n";

static void test_full_file_with_dropin(void)
{
    int rc = load(full_main, full_dropin);
    CHECK(rc == PICTOR_OK, "load: %s", err);
    CHECK(test_tmp_write("models.d/notes.txt", "[bogus]\n") == 0, "write non-ini");
    rc = pictor_config_load(test_tmp_at("main.ini"), &conf, err, sizeof err);
    CHECK(rc == PICTOR_OK, "a non-.ini file in models.d is ignored: %s", err);
    CHECK(strcmp(conf.listen, "[::1]:9000") == 0, "listen %s", conf.listen);
    CHECK(conf.threads == 4 && conf.body_limit == 1048576 && conf.queue_length == 0,
          "numbers");
    CHECK_NEAR(conf.drain_timeout, 2.5, 0, "drain_timeout");
    CHECK(strcmp(conf.api_key_file, "/etc/keys") == 0, "absolute path kept");
    CHECK(conf.n_devices == 3 && strcmp(conf.devices[0], "cuda:0") == 0 &&
              strcmp(conf.devices[1], "cuda:1") == 0 && strcmp(conf.devices[2], "cpu") == 0,
          "devices");
    CHECK(strcmp(conf.realtime, "fast") == 0 && strcmp(conf.quality, "org/slow") == 0, "modes");
    CHECK(conf.n_models == 2, "models %d", conf.n_models);
    const struct pictor_model_conf *m = &conf.models[0];
    CHECK(strcmp(m->id, "org/fast") == 0 && strcmp(m->path, "org/fast") == 0, "hub id kept");
    CHECK(strcmp(m->plugin, "flux") == 0 && strcmp(m->precision, "bf16") == 0, "plugin");
    CHECK(m->steps == 4 && m->has_guidance && m->guidance == 0 && m->step_ceiling == 8,
          "defaults of org/fast");
    CHECK(strcmp(m->scheduler, "flow-match-euler") == 0, "scheduler");
    CHECK(m->n_aliases == 2 && strcmp(m->aliases[1], "quick") == 0, "aliases");
    CHECK(strstr(m->origin, "main.ini:15") != NULL, "origin %s", m->origin);
    CHECK(m->warmup == PICTOR_WARMUP_OFF, "warmup = false: %d", m->warmup);
    m = &conf.models[1];
    CHECK(strcmp(m->id, "org/slow") == 0 && strcmp(m->precision, "fp8") == 0, "drop-in model");
    CHECK(!m->scheduler[0] && !m->plugin[0], "empty scheduler, probe decides the plugin");
    CHECK_NEAR(m->guidance, 3.5, 1e-6, "guidance");
    CHECK(strstr(m->origin, "models.d/10-a.ini:1") != NULL, "origin %s", m->origin);
    CHECK(m->warmup == PICTOR_WARMUP_ON, "warmup = true: %d", m->warmup);
}

static void test_dropin_order_and_plain_model(void)
{
    int rc = load("[modes]\nrealtime = b\n", "[model a]\npath = /m/a\n");
    CHECK(test_tmp_write("models.d/20-b.ini", "[model b]\npath = /m/b\n") == 0, "write 20-b");
    rc = pictor_config_load(test_tmp_at("main.ini"), &conf, err, sizeof err);
    CHECK(rc == PICTOR_OK, "load: %s", err);
    CHECK(conf.n_models == 2 && strcmp(conf.models[0].id, "a") == 0 &&
              strcmp(conf.models[1].id, "b") == 0,
          "name order");
    const struct pictor_model_conf *a = &conf.models[0];
    CHECK(strcmp(a->precision, "auto") == 0 && a->steps == 0 && !a->has_guidance &&
              a->step_ceiling == 0 && a->n_aliases == 0 && a->warmup == PICTOR_WARMUP_AUTO,
          "model defaults");
}

static void test_relative_paths(void)
{
    char cwd[PATH_MAX], want[PATH_MAX + 64];
    int rc = load(full_main, full_dropin);
    CHECK(rc == PICTOR_OK, "load: %s", err);
    snprintf(want, sizeof want, "%s/plugins", test_tmp);
    CHECK(strcmp(conf.plugin_dir, want) == 0, "plugin_dir %s", conf.plugin_dir);
    snprintf(want, sizeof want, "%s/state", test_tmp);
    CHECK(strcmp(conf.state_dir, want) == 0, "state_dir %s", conf.state_dir);
    snprintf(want, sizeof want, "%s/models.d/weights/flux/slow", test_tmp);
    CHECK(strcmp(conf.models[1].path, want) == 0, "drop-in path %s", conf.models[1].path);
    /* ./ORG/NAME is a folder, not a hub id; a relative FILE still gives absolute paths. */
    CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    CHECK(remove(test_tmp_at("models.d/10-a.ini")) == 0, "remove the drop-in");
    CHECK(test_tmp_write("main.ini", "[model x]\npath = ./org/name\n") == 0, "write");
    CHECK(chdir(test_tmp) == 0, "chdir");
    rc = pictor_config_load("main.ini", &conf, err, sizeof err);
    CHECK(chdir(cwd) == 0, "chdir back");
    CHECK(rc == PICTOR_OK, "load: %s", err);
    snprintf(want, sizeof want, "%s/org/name", test_tmp);
    CHECK(conf.n_models == 1 && strcmp(conf.models[0].path, want) == 0, "path %s",
          conf.models[0].path);
}

static void test_find_model(void)
{
    int rc = load(full_main, full_dropin);
    CHECK(rc == PICTOR_OK, "load: %s", err);
    const struct pictor_model_conf *m = pictor_config_find_model(&conf, "quick");
    CHECK(m && strcmp(m->id, "org/fast") == 0, "alias quick");
    m = pictor_config_find_model(&conf, "org/slow");
    CHECK(m && m == &conf.models[1], "id org/slow");
    CHECK(pictor_config_find_model(&conf, "slow") == &conf.models[1], "alias slow");
    CHECK(pictor_config_find_model(&conf, "Quick") == NULL, "case matters");
    CHECK(pictor_config_find_model(&conf, "nope") == NULL, "unknown");
    CHECK(pictor_config_find_model(&conf, NULL) == NULL, "NULL name");
}

/* One bad configuration: where the error must point and what it must say. */
struct bad_case {
    const char *main;
    const char *dropin;
    const char *file; /* "main.ini" or "models.d/10-a.ini" */
    int line;
    const char *needle;
};

static const struct bad_case bad_cases[] = {
    {"[server]\nthreads = 2\n[bogus]\n", NULL, "main.ini", 3, "unknown section [bogus]"},
    {"[server]\nthread = 2\n", NULL, "main.ini", 2, "unknown key 'thread'"},
    {"[modes]\nfast = x\n", NULL, "main.ini", 2, "unknown key 'fast'"},
    {"[model m]\npath = /m\npaht = /m\n", NULL, "main.ini", 3, "unknown key 'paht'"},
    {"threads = 2\n", NULL, "main.ini", 1, "outside a section"},
    {"[server]\n\nthreads = many\n", NULL, "main.ini", 3, "not an integer"},
    {"[server]\nthreads = 0\n", NULL, "main.ini", 2, "out of range"},
    {"[server]\nthreads = 257\n", NULL, "main.ini", 2, "out of range"},
    {"[server]\nthreads = 4x\n", NULL, "main.ini", 2, "not an integer"},
    {"[server]\nbody_limit = 1023\n", NULL, "main.ini", 2, "out of range"},
    {"[server]\nbody_limit = 67108865\n", NULL, "main.ini", 2, "out of range"},
    {"[server]\nqueue_length = -1\n", NULL, "main.ini", 2, "out of range"},
    {"[server]\nqueue_length = 10001\n", NULL, "main.ini", 2, "out of range"},
    {"[server]\ndrain_timeout = 3601\n", NULL, "main.ini", 2, "out of range"},
    {"[server]\ndrain_timeout = nan\n", NULL, "main.ini", 2, "not a number"},
    {"[server]\nlisten = 127.0.0.1\n", NULL, "main.ini", 2, "listen"},
    {"[server]\nlisten = 127.0.0.1:0\n", NULL, "main.ini", 2, "port"},
    {"[server]\nlisten = 127.0.0.1:65536\n", NULL, "main.ini", 2, "port"},
    {"[server]\nlisten = 127.0.0.1:80x\n", NULL, "main.ini", 2, "port"},
    {"[server]\nlisten = localhost:80\n", NULL, "main.ini", 2, "IPv4"},
    {"[server]\nlisten = ::1:80\n", NULL, "main.ini", 2, "IPv4"},
    {"[server]\nlisten = [::1:80\n", NULL, "main.ini", 2, "[IPV6]:PORT"},
    {"[server]\nlisten = [1.2.3.4]:80\n", NULL, "main.ini", 2, "IPv6"},
    {"[server]\ndevices = gpu\n", NULL, "main.ini", 2, "'gpu' is not cpu, cuda or cuda:N"},
    {"[server]\ndevices = cuda:x\n", NULL, "main.ini", 2, "cuda:N"},
    {"[server]\ndevices = cpu, cpu\n", NULL, "main.ini", 2, "twice"},
    {"[server]\ndevices =\n", NULL, "main.ini", 2, "empty"},
    {"[server]\ndevices = cuda:0,cuda:1,cuda:2,cuda:3,cuda:4,cuda:5,cuda:6,cuda:7,cpu\n", NULL,
     "main.ini", 2, "more than 8 devices"},
    {"[model m]\npath = /m\nprecision = int4\n", NULL, "main.ini", 3, "precision"},
    {"[model m]\npath = /m\nscheduler = lms\n", NULL, "main.ini", 3, "scheduler"},
    {"[model m]\npath = /m\nsteps = 51\n", NULL, "main.ini", 3, "out of range"},
    {"[model m]\npath = /m\nstep_ceiling = 51\n", NULL, "main.ini", 3, "out of range"},
    {"[model m]\npath = /m\nguidance = 20.5\n", NULL, "main.ini", 3, "out of range"},
    {"[model m]\npath = /m\nguidance = -1\n", NULL, "main.ini", 3, "out of range"},
    {"[model m]\npath = /m\nguidance = high\n", NULL, "main.ini", 3, "not a number"},
    {"[model m]\npath = /m\nwarmup = yes\n", NULL, "main.ini", 3,
     "warmup: 'yes' is not one of auto, true, false"},
    {"[model m]\npath = /m\nsteps = 8\nstep_ceiling = 4\n", NULL, "main.ini", 1,
     "exceeds step_ceiling"},
    {"[model m]\npath = /m\n[model m]\npath = /n\n", NULL, "main.ini", 3, "already used"},
    {"[model m]\npath = /m\naliases = a, a\n", NULL, "main.ini", 3, "already used"},
    {"[model m]\npath = /m\naliases = a\n", "\n[model n]\npath = /n\naliases = b, a\n",
     "models.d/10-a.ini", 4, "alias 'a' is already used by [model m]"},
    {"[model m]\npath = /m\naliases = n\n", "[model n]\npath = /n\n", "models.d/10-a.ini", 1,
     "model id 'n'"},
    {"[model m]\nsteps = 4\n[model n]\npath = /n\n", NULL, "main.ini", 1, "has no path"},
    {"[model m]\n", NULL, "main.ini", 1, "has no path"},
    {"[model m]\npath =\n", NULL, "main.ini", 2, "path: empty"},
    {"[model]\npath = /m\n", NULL, "main.ini", 1, "unknown section"},
    {"[model a b]\npath = /m\n", NULL, "main.ini", 1, "one word"},
    {"[modes]\n\nquality = ghost\n[model m]\npath = /m\n", NULL, "main.ini", 3,
     "quality = ghost names no"},
    {"[modes]\nrealtime = ghost\n", "[model m]\npath = /m\n", "main.ini", 2, "realtime = ghost"},
    {"[model m]\npath = /m\naliases = a1,a2,a3,a4,a5,a6,a7,a8,a9\n", NULL, "main.ini", 3,
     "more than 8 aliases"},
    {"[server]\nthreads = 2\nthreads = 3\n", NULL, "main.ini", 3, "set twice"},
    {"[server]\n[server]\n", NULL, "main.ini", 2, "appears twice"},
    {"", "[model m]\npath = /m\n[server]\n", "models.d/10-a.ini", 3, "main file"},
    {"[server]\nthreads = 2\nthis is not ini\n", NULL, "main.ini", 3, "expected [section]"},
    {"[server]\nplugin_dir = /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
     NULL, "main.ini", 2, "line longer than"},
};

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *b = &bad_cases[i];
        char where[600];
        int rc = load(b->main, b->dropin);
        snprintf(where, sizeof where, "%s/%s:%d: ", test_tmp, b->file, b->line);
        CHECK(rc == PICTOR_E_FORMAT, "case %zu: status %d (%s)", i, rc, err);
        CHECK(strncmp(err, where, strlen(where)) == 0, "case %zu: '%s' does not start with '%s'",
              i, err, where);
        CHECK(strstr(err, b->needle) != NULL, "case %zu: '%s' lacks '%s'", i, err, b->needle);
    }
}

static void test_too_many_models(void)
{
    char text[PICTOR_CONF_MAX_MODELS * 40 + 64];
    size_t n = 0;
    for (int i = 0; i <= PICTOR_CONF_MAX_MODELS; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "[model m%d]\npath = /m\n", i);
    int rc = load(text, NULL);
    char where[600];
    snprintf(where, sizeof where, "%s/main.ini:%d: ", test_tmp, 2 * PICTOR_CONF_MAX_MODELS + 1);
    CHECK(rc == PICTOR_E_FORMAT, "status %d", rc);
    CHECK(strncmp(err, where, strlen(where)) == 0 && strstr(err, "more than 32 models"),
          "message '%s'", err);
}

static void test_unreadable(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/absent.ini", test_tmp);
    int rc = pictor_config_load(path, &conf, err, sizeof err);
    CHECK(rc == PICTOR_E_IO, "status %d", rc);
    CHECK(strstr(err, "absent.ini") && strstr(err, "cannot open"), "message '%s'", err);
    /* models.d that is a file, not a folder. */
    rc = load("[server]\n", NULL);
    CHECK(test_tmp_write("models.d", "x") == 0, "write models.d file");
    rc = pictor_config_load(test_tmp_at("main.ini"), &conf, err, sizeof err);
    CHECK(rc == PICTOR_E_IO && strstr(err, "models.d"), "models.d file: %d '%s'", rc, err);
    remove(test_tmp_at("models.d"));
    /* A tiny error buffer is truncated, never overrun; NULL is allowed. */
    char small[8];
    rc = pictor_config_load(path, &conf, small, sizeof small);
    CHECK(rc == PICTOR_E_IO && strlen(small) == sizeof small - 1, "small buffer '%s'", small);
    CHECK(pictor_config_load(path, &conf, NULL, 0) == PICTOR_E_IO, "NULL buffer");
}

static void test_shipped_file(void)
{
    char path[PATH_MAX];
    CHECK(find_data("etc/pictor/pictord.ini", path, sizeof path), "find etc/pictor/pictord.ini");
    int rc = pictor_config_load(path, &conf, err, sizeof err);
    CHECK(rc == PICTOR_OK, "shipped file: %s", err);
    const struct pictor_model_conf *rt = pictor_config_find_model(&conf, conf.realtime);
    const struct pictor_model_conf *q = pictor_config_find_model(&conf, conf.quality);
    /* Both modes serve the embedded demo model (models/demo, issue 6), its path
     * relative to the file's folder and stored absolute. */
    CHECK(rt && strcmp(rt->id, "demo") == 0 && q == rt, "modes -> demo model");
    CHECK(rt && rt->path[0] == '/' && strstr(rt->path, "models/demo") && rt->steps == 4 &&
              rt->has_guidance && rt->guidance == 0 && rt->step_ceiling == 4 &&
              strcmp(rt->scheduler, "flow-match-euler") == 0,
          "demo settings: %s", rt ? rt->path : "(none)");
    CHECK(strcmp(conf.listen, "127.0.0.1:8080") == 0, "bound to localhost");
}

int main(void)
{
    if (test_tmp_create("pictor-cfg"))
        return 1;
    RUN(test_defaults);
    RUN(test_full_file_with_dropin);
    RUN(test_dropin_order_and_plain_model);
    RUN(test_relative_paths);
    RUN(test_find_model);
    RUN(test_errors);
    RUN(test_too_many_models);
    RUN(test_unreadable);
    RUN(test_shipped_file);
    test_tmp_remove();
    TEST_MAIN_END();
}
