/* core/server/main.c — pictord: configuration (--config FILE, or --model
 * DIR|ID with defaults), plugins, the job queue, civetweb, and signals
 * through a self-pipe [main]:
 *   SIGTERM/SIGINT  stop admitting (new requests 503), wait up to
 *                   drain_timeout for queued and running jobs, exit 0;
 *   SIGHUP          reload the API key file.
 * The handlers only write the signal number to the pipe. */
#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pictor/common_host.h"
#include "pictor/model_dir.h"
#include "server.h"

#define LOAD_POLL_MS 200 /* how often main checks for a failed model load */

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(sig_pipe[1], &b, 1) < 0) {
        /* pipe full: a signal is already pending */
    }
    errno = saved;
}

static void usage(FILE *f)
{
    fputs("usage: pictord --config FILE [--listen ADDR:PORT]\n"
          "       pictord --model DIR|ORG/NAME [--listen ADDR:PORT] [--device cpu|cuda[:N]]\n"
          "               [--api-key-file FILE]\n"
          "       --warmup auto|true|false  (either form) overrides every model's warmup\n",
          f);
}

struct args {
    const char *config, *model, *listen, *device, *key_file, *warmup;
};

static int parse_args(int argc, char **argv, struct args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(k, "-h") || !strcmp(k, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!v) {
            fprintf(stderr, "pictord: %s needs a value\n", k);
            return -1;
        }
        i++;
        if (!strcmp(k, "--config")) a->config = v;
        else if (!strcmp(k, "--model")) a->model = v;
        else if (!strcmp(k, "--listen")) a->listen = v;
        else if (!strcmp(k, "--device")) a->device = v;
        else if (!strcmp(k, "--api-key-file")) a->key_file = v;
        else if (!strcmp(k, "--warmup")) a->warmup = v;
        else {
            fprintf(stderr, "pictord: unknown option %s\n", k);
            return -1;
        }
    }
    if (!a->config == !a->model) {
        usage(stderr);
        return -1;
    }
    return 0;
}

/* The configuration: the INI file, or one model with defaults; the
 * command line's --listen/--device/--api-key-file/--warmup override either. */
static int build_conf(const struct args *a, struct pictor_server_conf *c)
{
    char err[1024];
    pictor_config_defaults(c);
    if (a->config) {
        if (pictor_config_load(a->config, c, err, sizeof err)) {
            fprintf(stderr, "pictord: %s\n", err);
            return -1;
        }
    } else {
        struct pictor_model_conf *m = &c->models[0];
        if (strlen(a->model) >= sizeof m->id) {
            fprintf(stderr, "pictord: --model %s: too long\n", a->model);
            return -1;
        }
        snprintf(m->id, sizeof m->id, "%s", a->model);
        snprintf(m->path, sizeof m->path, "%s", a->model);
        snprintf(m->precision, sizeof m->precision, "auto");
        snprintf(m->origin, sizeof m->origin, "--model");
        snprintf(c->realtime, sizeof c->realtime, "%s", a->model);
        c->n_models = 1;
    }
    if (a->listen)
        snprintf(c->listen, sizeof c->listen, "%s", a->listen);
    if (a->device) {
        snprintf(c->devices[0], sizeof c->devices[0], "%s", a->device);
        c->n_devices = 1;
    }
    if (a->key_file)
        snprintf(c->api_key_file, sizeof c->api_key_file, "%s", a->key_file);
    if (a->warmup) {
        int w = pictor_warmup_parse(a->warmup);
        if (w < 0) {
            fprintf(stderr, "pictord: --warmup %s: not auto, true or false\n", a->warmup);
            return -1;
        }
        for (int i = 0; i < c->n_models; i++)
            c->models[i].warmup = w;
    }
    return 0;
}

/* --model DIR: the probe's variant ("flux.1-schnell") becomes the id and
 * what was typed an alias; a hub id stays the id. Before HTTP starts. */
static void name_single_model(struct pictord *s, const struct args *a)
{
    if (!a->model || pictor_hf_is_id(a->model))
        return;
    const struct pictor_jobs_model *jm = pictor_jobs_model_at(s->jobs, 0);
    struct pictor_model_conf *m = &s->conf->models[0];
    if (!jm->probe.variant[0])
        return;
    snprintf(m->aliases[0], sizeof m->aliases[0], "%s", a->model);
    m->n_aliases = 1;
    snprintf(m->id, sizeof m->id, "%s", jm->probe.variant);
}

static struct mg_context *start_http(struct pictord *s)
{
    char threads[16], err[256] = "";
    unsigned code = 0;
    snprintf(threads, sizeof threads, "%d", s->conf->threads > 0 ? s->conf->threads : 8);
    const char *opts[] = {"listening_ports", s->conf->listen, "num_threads", threads,
                          "enable_keep_alive", "no", NULL};
    struct mg_callbacks cb = {.http_error = pictord_http_error};
    struct mg_init_data init = {.callbacks = &cb, .user_data = s, .configuration_options = opts};
    struct mg_error_data ed = {.code = &code, .text = err, .text_buffer_size = sizeof err};
    struct mg_context *ctx = mg_start2(&init, &ed);
    if (!ctx) {
        fprintf(stderr, "pictord: cannot listen on %s: %s\n", s->conf->listen, err);
        return NULL;
    }
    mg_set_request_handler(ctx, "/", pictord_http_handler, s);
    return ctx;
}

/* Waits for signals; returns the exit status. */
static int serve(struct pictord *s)
{
    bool announced = false;
    for (;;) {
        struct pollfd p = {.fd = sig_pipe[0], .events = POLLIN};
        int n = poll(&p, 1, LOAD_POLL_MS);
        char err[600];
        if (!announced && pictor_jobs_load_error(s->jobs, err, sizeof err)) {
            fprintf(stderr, "pictord: cannot load the models: %s\n", err);
            return 1;
        }
        if (!announced && pictor_jobs_ready(s->jobs)) {
            fprintf(stderr, "pictord: ready on %s\n", s->conf->listen);
            announced = true;
        }
        if (n <= 0)
            continue;
        unsigned char sig;
        if (read(sig_pipe[0], &sig, 1) != 1)
            continue;
        if (sig == SIGHUP) {
            if (pictord_auth_load(&s->auth, s->auth.path, err, sizeof err))
                fprintf(stderr, "pictord: SIGHUP: %s (keeping the old keys)\n", err);
            else
                fprintf(stderr, "pictord: SIGHUP: reloaded %d API key(s)\n", s->auth.n_keys);
            continue;
        }
        fprintf(stderr, "pictord: %s: draining (up to %g s)\n",
                sig == SIGTERM ? "SIGTERM" : "SIGINT", s->conf->drain_timeout);
        atomic_store(&s->draining, true);
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (!pictor_jobs_drain(s->jobs, s->conf->drain_timeout))
            fprintf(stderr, "pictord: drain timeout: cancelling what is left\n");
        /* A finished job still has its response to encode and send on its
         * HTTP thread: wait for those too, within the same timeout. */
        for (;;) {
            struct timespec now, nap = {0, 10 * 1000 * 1000};
            clock_gettime(CLOCK_MONOTONIC, &now);
            double spent = (double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
            if (atomic_load(&s->inflight) == 0 || spent > s->conf->drain_timeout)
                break;
            nanosleep(&nap, NULL);
        }
        return 0;
    }
}

/* After the drain timeout, how long cancelled requests get to answer. */
#define SHUTDOWN_GRACE_MS 3000

int main(int argc, char **argv)
{
    static struct pictor_server_conf conf; /* large: not on the stack */
    struct pictord s = {.conf = &conf, .started = time(NULL)};
    struct args a;
    struct mg_context *ctx = NULL;
    char err[1024] = "", dir[PICTOR_CONF_PATH_LEN];
    int code = 1;
    if (parse_args(argc, argv, &a) || build_conf(&a, &conf))
        return 2;
    pthread_rwlock_init(&s.auth.lock, NULL);
    atomic_init(&s.draining, false);
    atomic_init(&s.inflight, 0);
    if (pictord_auth_load(&s.auth, conf.api_key_file, err, sizeof err)) {
        fprintf(stderr, "pictord: %s\n", err);
        goto out;
    }
    if (!conf.api_key_file[0])
        fprintf(stderr, "pictord: warning: no api_key_file: the API is open to anyone who "
                        "can reach %s\n", conf.listen);
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK)) {
        perror("pictord: pipe");
        goto out;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Workers and civetweb threads inherit a mask blocking these, so the
     * handler runs on main only and no HTTP thread sees EINTR. */
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, NULL);

    pictor_common_set_host(pictor_default_host_api());
    if (conf.plugin_dir[0])
        snprintf(dir, sizeof dir, "%s", conf.plugin_dir);
    else if (pictor_default_plugin_dir(dir, sizeof dir) != PICTOR_OK) {
        fprintf(stderr, "pictord: cannot find the plugin folder\n");
        goto out;
    }
    if (pictor_plugins_create(pictor_default_host_api(), &s.plugins) != PICTOR_OK ||
        pictor_plugins_load_dir(s.plugins, dir, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictord: cannot load plugins from %s: %s\n", dir, err);
        goto out;
    }
    if (pictor_jobs_create(&conf, s.plugins, &s.jobs, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictord: %s\n", err);
        goto out;
    }
    name_single_model(&s, &a);
    mg_init_library(0);
    if (!(ctx = start_http(&s)))
        goto out;
    fprintf(stderr, "pictord: listening on %s, loading %d model(s)\n", conf.listen,
            conf.n_models);
    pthread_sigmask(SIG_UNBLOCK, &block, NULL);
    code = serve(&s);
out:
    /* Order: finish or cancel every job (HTTP threads waiting on one wake
     * and answer), then stop HTTP, then free what HTTP threads read. */
    atomic_store(&s.draining, true);
    if (s.jobs)
        pictor_jobs_stop(s.jobs);
    /* Cancelled jobs wake their HTTP threads, which answer with an error:
     * give them a moment to send it before the connections close. */
    for (int i = 0; i < SHUTDOWN_GRACE_MS / 10 && atomic_load(&s.inflight) > 0; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    if (ctx) {
        mg_stop(ctx);
        mg_exit_library();
    }
    pictor_jobs_destroy(s.jobs);
    pictor_plugins_unload(s.plugins);
    pictord_auth_free(&s.auth);
    pthread_rwlock_destroy(&s.auth.lock);
    if (sig_pipe[0] >= 0) {
        close(sig_pipe[0]);
        close(sig_pipe[1]);
    }
    fprintf(stderr, "pictord: stopped\n");
    return code;
}
