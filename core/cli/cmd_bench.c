/*
 * core/cli/cmd_bench.c — `pictor bench`: load a model (or a random-weights
 * copy of one, pictor/random_model.h), make one warm-up image, then K timed
 * images through the same plugin and pipeline code the server runs, and
 * print one JSON object (ARCHITECTURE.md "Contracts"; fields explained in
 * docs/benchmarks.md). Logs go to stderr, the JSON alone to stdout.
 *
 * Timing: load_s from resolving the model to the family's open() returning
 * (random weights are generated inside open, so it includes generation);
 * per run the pipeline runner's encode/denoise/decode times, one time per
 * model call from the progress callback's timestamps, the PNG encoding of
 * the image in memory, and the run's wall time; each stage is the median
 * over the K runs, step_median the median over all model calls of all runs.
 * Memory: peak_vram_gb is the high-water mark of the CUDA device's default
 * memory pool (the backend allocates with cudaMallocAsync from it) in GB
 * (1e9 bytes), null on the CPU; peak_rss_gb the process's peak resident set.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <json-c/json.h>

#ifdef PICTOR_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

#include "cli.h"
#include "pictor/backend_cuda.h"
#include "pictor/check.h"
#include "pictor/common_host.h"
#include "pictor/model_dir.h"
#include "pictor/pipeline.h"
#include "pictor/png.h"
#include "pictor/profile.h"
#include "pictor/random_model.h"
#include "pictor/weights_random.h"

#define BENCH_MAX_SIDE 2048 /* API.md: each side 64..2048 */
#define BENCH_MIN_SIDE 64
#define BENCH_MAX_STEPS 50
#define BENCH_MAX_RUNS 100
#define BENCH_DEFAULT_RUNS 3
#define BENCH_MAX_CALLS 200 /* model calls per image we time (2 x 50 steps, Heun) */
/* Share of MemAvailable the random weights may take: the rest is for
 * activations, the program and the page cache. */
#define BENCH_HOST_MEM_SHARE 0.9
#define BENCH_PROMPT "a photograph of an astronaut riding a horse on the moon"

struct bench_args {
    const char *model, *device, *data_dir, *prompt;
    const char *state_dir; /* cuBLASLt algorithm cache folder, NULL: none */
    bool random_weights;
    int width, height, steps, runs, precision, weights_dtype; /* -1: as listed */
    bool auto_precision;
    bool keep_random; /* leave the random-weights folder for pictord --model */
    bool profile;     /* one more image, every op timed (pictor/profile.h) */
    bool write_weights; /* random weights written as safetensors before loading */
};

static void bench_usage(FILE *f)
{
    fputs("usage: pictor bench --model ID|DIR [--random-weights] [--size WxH] [--steps N]\n"
          "         [--precision fp32|bf16|fp16|fp8|auto] [--device cpu|cuda[:N]] [--runs K]\n"
          "         [--prompt TEXT] [--weights-dtype f32|bf16|f16] [--data-dir DIR]\n"
          "         [--keep-random] [--write-weights] [--state-dir DIR] [--profile]\n"
          "  IDs with --random-weights: flux-schnell, flux-dev (also\n"
          "  black-forest-labs/FLUX.1-schnell, -dev); --keep-random leaves the random\n"
          "  model folder (named on stderr) for pictord --model; --write-weights writes\n"
          "  the random weights as safetensors files first, so loading (load_s) reads\n"
          "  real files from the page cache; --state-dir keeps the\n"
          "  cuBLASLt algorithm choices in DIR for the next run (CUDA only);\n"
          "  --profile makes one more image after the timed runs with every op timed\n"
          "  alone (no CUDA graphs) and prints the table, most time first, on stderr\n"
          "  (the JSON's times stay those of the unprofiled runs)\n"
          "  Prints one JSON object.\n",
          f);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse_args(int argc, char **argv, struct bench_args *a)
{
    memset(a, 0, sizeof *a);
    a->device = "cpu";
    a->prompt = BENCH_PROMPT;
    a->runs = BENCH_DEFAULT_RUNS;
    a->auto_precision = true;
    a->weights_dtype = -1;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        long n;
        if (!strcmp(k, "--random-weights")) {
            a->random_weights = true;
            continue;
        }
        if (!strcmp(k, "--keep-random")) {
            a->keep_random = true;
            continue;
        }
        if (!strcmp(k, "--profile")) {
            a->profile = true;
            continue;
        }
        if (!strcmp(k, "--write-weights")) {
            a->write_weights = true;
            continue;
        }
        if (!strcmp(k, "-h") || !strcmp(k, "--help")) {
            bench_usage(stdout);
            exit(0);
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (!v) {
            fprintf(stderr, "pictor bench: %s needs a value\n", k);
            return -1;
        }
        if (!strcmp(k, "--model")) a->model = v;
        else if (!strcmp(k, "--device")) a->device = v;
        else if (!strcmp(k, "--data-dir")) a->data_dir = v;
        else if (!strcmp(k, "--state-dir")) a->state_dir = v;
        else if (!strcmp(k, "--prompt")) a->prompt = v;
        else if (!strcmp(k, "--size")) {
            if (pictor_cli_parse_size("bench", v, BENCH_MIN_SIDE, BENCH_MAX_SIDE, &a->width,
                                      &a->height))
                return -1;
        } else if (!strcmp(k, "--steps")) {
            if (pictor_cli_parse_long(v, 1, BENCH_MAX_STEPS, &n)) {
                fprintf(stderr, "pictor bench: --steps %s: 1..%d\n", v, BENCH_MAX_STEPS);
                return -1;
            }
            a->steps = (int)n;
        } else if (!strcmp(k, "--runs")) {
            if (pictor_cli_parse_long(v, 1, BENCH_MAX_RUNS, &n)) {
                fprintf(stderr, "pictor bench: --runs %s: 1..%d\n", v, BENCH_MAX_RUNS);
                return -1;
            }
            a->runs = (int)n;
        } else if (!strcmp(k, "--precision")) {
            a->auto_precision = !strcmp(v, "auto");
            if (!a->auto_precision && (a->precision = pictor_precision_parse(v)) < 0) {
                fprintf(stderr, "pictor bench: --precision %s: fp32, bf16, fp16, fp8 or auto\n",
                        v);
                return -1;
            }
        } else if (!strcmp(k, "--weights-dtype")) {
            a->weights_dtype = pictor_wrandom_parse_dtype(v);
            if (a->weights_dtype < 0 || a->weights_dtype == PICTOR_F8_E4M3) {
                fprintf(stderr, "pictor bench: --weights-dtype %s: f32, bf16 or f16\n", v);
                return -1;
            }
        } else {
            fprintf(stderr, "pictor bench: unknown option %s\n", k);
            return -1;
        }
    }
    if (!a->model) {
        bench_usage(stderr);
        return -1;
    }
    if (a->write_weights && !a->random_weights) {
        fprintf(stderr, "pictor bench: --write-weights applies to --random-weights only\n");
        return -1;
    }
    if (a->keep_random && !a->random_weights) {
        fprintf(stderr, "pictor bench: --keep-random applies to --random-weights only\n");
        return -1;
    }
    if (a->weights_dtype >= 0 && !a->random_weights) {
        fprintf(stderr, "pictor bench: --weights-dtype applies to --random-weights only\n");
        return -1;
    }
    return 0;
}

/* ---- device ------------------------------------------------------------------ */

static bool is_cuda(const char *device)
{
    return !strncmp(device, "cuda", 4) && (device[4] == '\0' || device[4] == ':');
}

static int cuda_ordinal(const char *device)
{
    return device[4] ? atoi(device + 5) : 0;
}

static pictor_backend *open_backend(const struct bench_args *a)
{
    char err[512];
    if (!strcmp(a->device, "cpu"))
        return pictor_backend_cpu_create(0);
    if (is_cuda(a->device)) {
        pictor_backend *be = pictor_backend_cuda_create(cuda_ordinal(a->device), err, sizeof err);
        if (!be)
            fprintf(stderr, "pictor bench: %s\n", err);
        else if (a->state_dir) {
            pictor_backend_cuda_set_plan_dir(be, a->state_dir, err, sizeof err);
            if (err[0]) /* what was loaded, or why not: never fatal */
                fprintf(stderr, "pictor bench: %s\n", err);
        }
        return be;
    }
    fprintf(stderr, "pictor bench: unknown device '%s' (cpu, cuda[:N])\n", a->device);
    return NULL;
}

/* On CUDA: the graphs captured and launched, how the convolutions ran;
 * with --state-dir, where the
 * GEMM algorithms came from (a second run with the same folder should find
 * every one). */
static void log_algo_stats(const struct bench_args *a, const pictor_backend *be)
{
    struct pictor_cuda_stats st;

    if (pictor_backend_cuda_stats(be, &st) == PICTOR_OK) {
        fprintf(stderr, "pictor bench: CUDA graphs: %llu captured, %llu launches%s\n",
                (unsigned long long)st.graph_captures, (unsigned long long)st.graph_launches,
                pictor_backend_graphs_offered(be) ? "" : " (off: PICTOR_CUDA_GRAPHS=0)");
        fprintf(stderr, "pictor bench: conv2d: %llu calls, %llu by cuDNN (%llu as fused "
                "conv + bias graphs), %llu by the fallback kernel, %llu operands staged\n",
                (unsigned long long)st.conv_calls, (unsigned long long)st.conv_cudnn,
                (unsigned long long)st.conv_fused, (unsigned long long)st.conv_direct,
                (unsigned long long)st.conv_staged);
        if (st.dnn_tuned)
            fprintf(stderr, "pictor bench: cuDNN tuning: %llu graphs timed, %llu of them now "
                    "on a faster engine config than the heuristics' first\n",
                    (unsigned long long)st.dnn_tuned, (unsigned long long)st.dnn_tune_switched);
    }
    if (a->state_dir && pictor_backend_cuda_stats(be, &st) == PICTOR_OK)
        fprintf(stderr, "pictor bench: cuBLASLt algorithms: %llu from %s, %llu searched "
                "(%llu stored ones refused)\n", (unsigned long long)st.matmul_algo_hits,
                a->state_dir, (unsigned long long)st.matmul_algo_misses,
                (unsigned long long)st.matmul_algo_rejected);
}

/* High-water mark of the device's default pool in bytes; -1 when there is
 * none (CPU, or a build without CUDA). */
static double vram_peak_bytes(const struct bench_args *a)
{
#ifdef PICTOR_HAVE_CUDA
    if (is_cuda(a->device)) {
        cudaMemPool_t pool;
        unsigned long long high = 0;
        unsigned long long graph_high = 0; /* memory allocated inside CUDA graphs */
        cudaDeviceGetGraphMemAttribute(cuda_ordinal(a->device), cudaGraphMemAttrReservedMemHigh,
                                       &graph_high);
        if (cudaDeviceGetDefaultMemPool(&pool, cuda_ordinal(a->device)) == cudaSuccess &&
            cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemHigh, &high) == cudaSuccess)
            return (double)high + (double)graph_high;
    }
#else
    (void)a;
#endif
    return -1;
}

/* MemAvailable of /proc/meminfo in bytes, or 0 when unknown. */
static unsigned long long host_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024ull;
}

/* ---- timing ------------------------------------------------------------------ */

struct step_clock {
    pictor_backend *be;
    double t[BENCH_MAX_CALLS];
    int n;
};

/* A step's time is when its work is done: the denoising loop queues steps
 * without waiting for the GPU (scheduler steps on the device), so the bench
 * waits here, at each step's progress report. pictord does not. */
static bool on_progress(void *ctx, int step, int total)
{
    struct step_clock *c = ctx;
    (void)total;
    pictor_backend_synchronize(c->be);
    if (step >= 1 && step <= BENCH_MAX_CALLS && c->n < BENCH_MAX_CALLS)
        c->t[c->n++] = now_s();
    return true;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, int n)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct run_times {
    double encode, denoise, decode, png, total; /* ms */
};

/* One image: the pipeline, then PNG encoding; appends per-call ms to steps. */
static int one_image(pictor_backend *be, const struct pictor_pipeline_request *req,
                     struct run_times *rt, double *steps, int *n_steps, char *err, size_t errlen)
{
    struct step_clock clk = {.be = be, .n = 0};
    struct pictor_pipeline_request r = *req;
    struct pictor_pipeline_timing tm;
    uint8_t *rgb = NULL, *png = NULL;
    size_t png_len = 0;
    r.progress = on_progress;
    r.ctx = &clk;
    double t0 = now_s();
    int rc = pictor_pipeline_run(be, &r, &rgb, &tm, err, errlen);
    if (rc != PICTOR_OK)
        return rc;
    double t1 = now_s();
    struct pictor_png_text text = {"parameters", req->gp.prompt};
    rc = pictor_png_encode(rgb, req->gp.width, req->gp.height, &text, 1, &png, &png_len, err,
                           errlen);
    double t2 = now_s();
    free(rgb);
    free(png);
    if (rc != PICTOR_OK)
        return rc;
    *rt = (struct run_times){tm.encode_ms, tm.denoise_ms, tm.decode_ms, (t2 - t1) * 1e3,
                             (t2 - t0) * 1e3};
    /* The denoising loop's clock stops right after the last progress call,
     * so it started denoise_ms before that: the first call's origin. */
    double prev = clk.n ? clk.t[clk.n - 1] - tm.denoise_ms * 1e-3 : 0;
    for (int i = 0; steps && i < clk.n; i++) {
        steps[(*n_steps)++] = (clk.t[i] - prev) * 1e3;
        prev = clk.t[i];
    }
    return PICTOR_OK;
}

/* ---- JSON --------------------------------------------------------------------- */

static struct json_object *num(double v, const char *fmt)
{
    char s[64];
    snprintf(s, sizeof s, fmt, v);
    return json_object_new_double_s(v, s);
}

static void print_result(const struct bench_args *a, const char *variant, const char *sched,
                         int w, int h, int steps, const struct run_times *med,
                         double step_median, double load_s, double vram, bool gpu)
{
    static const char *const prec[] = {"fp32", "bf16", "fp16", "fp8"};
    struct json_object *o = json_object_new_object(), *st = json_object_new_object();
    char size[32];
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    snprintf(size, sizeof size, "%dx%d", w, h);
    json_object_object_add(o, "device", json_object_new_string(a->device));
    json_object_object_add(o, "model", json_object_new_string(a->model));
    json_object_object_add(o, "variant", json_object_new_string(variant));
    json_object_object_add(o, "random_weights", json_object_new_boolean(a->random_weights));
    json_object_object_add(o, "precision", json_object_new_string(prec[a->precision]));
    json_object_object_add(o, "size", json_object_new_string(size));
    json_object_object_add(o, "steps", json_object_new_int(steps));
    json_object_object_add(o, "scheduler", json_object_new_string(sched));
    json_object_object_add(o, "runs", json_object_new_int(a->runs));
    json_object_object_add(st, "text_encode", num(med->encode, "%.3f"));
    json_object_object_add(st, "step_median", num(step_median, "%.3f"));
    json_object_object_add(st, "denoise_total", num(med->denoise, "%.3f"));
    json_object_object_add(st, "vae_decode", num(med->decode, "%.3f"));
    json_object_object_add(st, "png_encode", num(med->png, "%.3f"));
    json_object_object_add(st, "image_total", num(med->total, "%.3f"));
    json_object_object_add(o, "stages_ms", st);
    json_object_object_add(o, "peak_vram_gb", gpu && vram >= 0 ? num(vram / 1e9, "%.3f") : NULL);
    /* ru_maxrss is in kilobytes on Linux (getrusage(2)). */
    json_object_object_add(o, "peak_rss_gb", num((double)ru.ru_maxrss * 1024.0 / 1e9, "%.3f"));
    json_object_object_add(o, "load_s", num(load_s, "%.3f"));
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

/* ---- the command ---------------------------------------------------------------- */

/* Resolves the model to a folder: md for a real one, *tmp_dir for a
 * random-weights copy (then md is that copy). */
static int resolve_model(const struct bench_args *a, struct pictor_model_dir **md,
                         char **tmp_dir)
{
    char err[1024] = "", data[4096];
    uint64_t bytes = 0;
    int rc;
    const char *variant = a->random_weights ? pictor_random_model_variant(a->model) : NULL;
    if (variant) {
        /* The released checkpoints are bf16; --weights-dtype overrides. */
        int dt = a->weights_dtype >= 0 ? a->weights_dtype : PICTOR_BF16;
        if ((rc = pictor_random_data_dir(a->data_dir, data, sizeof data, err, sizeof err)) ||
            (rc = pictor_random_model_from_variant(data, variant, dt, tmp_dir, &bytes, err,
                                                   sizeof err)))
            goto fail;
    } else {
        if ((rc = pictor_model_dir_open(a->model, NULL, md, err, sizeof err))) {
            if (a->random_weights && rc == PICTOR_E_NOT_FOUND)
                fprintf(stderr, "pictor bench: %s is neither a model folder nor an id pictor "
                        "has random weights for (flux-schnell, flux-dev)\n", a->model);
            goto fail;
        }
        if (!a->random_weights)
            return PICTOR_OK;
        rc = pictor_random_model_from_dir(*md, a->weights_dtype, tmp_dir, &bytes, err,
                                          sizeof err);
        pictor_model_dir_close(*md);
        *md = NULL;
        if (rc)
            goto fail;
    }
    /* Every tensor is generated in host memory first (and stays there:
     * pictor/weights_random.h), so the whole set must fit before anything is
     * generated; better a clear refusal than the OOM killer or thrashing. */
    unsigned long long avail = host_available();
    if (avail && (double)bytes > BENCH_HOST_MEM_SHARE * (double)avail) {
        fprintf(stderr,
                "pictor bench: the random weights of %s need %.1f GB of host memory (every "
                "tensor is generated on the host first), but only %.1f GB are available "
                "(MemAvailable); use a smaller model or a machine with more memory\n",
                a->model, (double)bytes / 1e9, (double)avail / 1e9);
        return PICTOR_E_NOMEM;
    }
    fprintf(stderr, "pictor bench: random weights of %s in %s (%.2f GB once generated)\n",
            a->model, *tmp_dir, (double)bytes / 1e9);
    if (a->write_weights) {
        uint64_t written = 0;
        double t0 = now_s();
        if ((rc = pictor_random_model_write(*tmp_dir, &written, err, sizeof err)))
            goto fail;
        fprintf(stderr, "pictor bench: wrote %.2f GB of safetensors in %.1f s (loading now "
                "reads them, from the page cache)\n", (double)written / 1e9, now_s() - t0);
    }
    if ((rc = pictor_model_dir_open(*tmp_dir, NULL, md, err, sizeof err)))
        goto fail;
    return PICTOR_OK;
fail:
    fprintf(stderr, "pictor bench: %s\n", err);
    return rc;
}

/* Whole file into a NUL-terminated malloc'd string, or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len + 1))) {
        if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        } else {
            buf[len] = '\0';
        }
    }
    fclose(f);
    return buf;
}

int pictor_cmd_bench(int argc, char **argv)
{
    struct bench_args a;
    struct pictor_model_dir *md = NULL;
    struct pictor_plugin_set *set = NULL;
    pictor_backend *be = NULL;
    const struct pictor_plugin *fam = NULL, *sch = NULL;
    void *model = NULL;
    char *sched_json = NULL, *tmp_dir = NULL;
    double *steps_ms = NULL;
    struct run_times *runs = NULL;
    char err[1024] = "", dir[4096], path[4200];
    int code = 1;
    if (parse_args(argc, argv, &a))
        return 2;
    pictor_common_set_host(pictor_default_host_api());
    if (!(be = open_backend(&a)))
        return 1;
    if (a.auto_precision) /* the precision policy of jobs.c */
        a.precision = pictor_precision_auto(be);
    if (pictor_precision_offered(be, a.precision, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor bench: %s\n", err);
        pictor_backend_destroy(be);
        return 1;
    }
    if (pictor_plugins_create(pictor_default_host_api(), &set) != PICTOR_OK ||
        pictor_default_plugin_dir(dir, sizeof dir) != PICTOR_OK ||
        pictor_plugins_load_dir(set, dir, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor bench: cannot load plugins: %s\n", err);
        goto out;
    }
    double t_load = now_s();
    if (resolve_model(&a, &md, &tmp_dir))
        goto out;
    struct pictor_probe_result pr = {.struct_size = sizeof pr};
    if (pictor_plugins_probe(set, md->root, &fam, &pr, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor bench: %s\n", err);
        goto out;
    }
    struct pictor_open_params op = {.struct_size = sizeof op, .model_dir = md->root,
                                    .backend = be, .precision = a.precision};
    if (fam->family.open(&op, &model, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor bench: %s\n", err);
        goto out;
    }
    double load_s = now_s() - t_load;
    struct pictor_family_defaults d = {.struct_size = sizeof d};
    if (fam->family.defaults)
        fam->family.defaults(model, &d);
    int steps = a.steps ? a.steps : d.steps;
    int w = a.width ? a.width : d.default_width, h = a.height ? a.height : d.default_height;
    int g = d.size_granularity > 0 ? d.size_granularity : 1;
    if (d.step_ceiling && steps > d.step_ceiling) {
        fprintf(stderr, "pictor bench: %s allows at most %d steps, %d asked\n", pr.variant,
                d.step_ceiling, steps);
        goto out;
    }
    if (w % g || h % g) {
        fprintf(stderr, "pictor bench: size %dx%d: each side must be a multiple of %d for %s\n",
                w, h, g, pr.variant);
        goto out;
    }
    if (pictor_plugins_pick_scheduler(set, fam->entry.name, &d, NULL, &sch, err, sizeof err)) {
        fprintf(stderr, "pictor bench: %s\n", err);
        goto out;
    }
    snprintf(path, sizeof path, "%s/scheduler/scheduler_config.json", md->root);
    sched_json = slurp(path);
    struct pictor_pipeline_request req = {
        .family = fam, .model = model, .scheduler = sch, .scheduler_config_json = sched_json,
        .gp = {.struct_size = sizeof req.gp, .prompt = a.prompt, .width = w, .height = h,
               .batch = 1, .guidance = d.guidance, .seed = 0},
        .steps = steps};
    runs = calloc((size_t)a.runs, sizeof *runs);
    steps_ms = calloc((size_t)a.runs * BENCH_MAX_CALLS, sizeof *steps_ms);
    if (!runs || !steps_ms) {
        fprintf(stderr, "pictor bench: out of memory\n");
        goto out;
    }
    fprintf(stderr, "pictor bench: %s loaded in %.2f s; warm-up image %dx%d, %d steps\n",
            pr.variant, load_s, w, h, steps);
    struct run_times warm;
    int n_steps = 0;
    if (one_image(be, &req, &warm, NULL, &n_steps, err, sizeof err)) {
        fprintf(stderr, "pictor bench: warm-up image: %s\n", err);
        goto out;
    }
    for (int k = 0; k < a.runs; k++) {
        if (one_image(be, &req, &runs[k], steps_ms, &n_steps, err, sizeof err)) {
            fprintf(stderr, "pictor bench: run %d: %s\n", k + 1, err);
            goto out;
        }
        fprintf(stderr, "pictor bench: run %d/%d: %.1f ms\n", k + 1, a.runs, runs[k].total);
    }
    log_algo_stats(&a, be);
    if (a.profile) { /* one more image, profiled: the JSON keeps the runs above */
        struct run_times prof;
        int prof_steps = 0;
        if (pictor_profile_enable(be, true) != PICTOR_OK) {
            fprintf(stderr, "pictor bench: --profile: %s\n", pictor_backend_error(be));
            goto out;
        }
        if (one_image(be, &req, &prof, NULL, &prof_steps, err, sizeof err)) {
            fprintf(stderr, "pictor bench: profiled image: %s\n", err);
            goto out;
        }
        fprintf(stderr, "pictor bench: op profile of one more image (%d steps; %.1f ms with "
                "every op timed alone):\n", steps, prof.total);
        pictor_profile_report(be, stderr, false);
        pictor_profile_enable(be, false);
    }
    double col[BENCH_MAX_RUNS];
    struct run_times med;
#define MEDIAN_OF(field)                                                                   \
    do {                                                                                   \
        for (int k = 0; k < a.runs; k++)                                                   \
            col[k] = runs[k].field;                                                        \
        med.field = median(col, a.runs);                                                   \
    } while (0)
    MEDIAN_OF(encode);
    MEDIAN_OF(denoise);
    MEDIAN_OF(decode);
    MEDIAN_OF(png);
    MEDIAN_OF(total);
#undef MEDIAN_OF
    print_result(&a, pr.variant, sch->entry.name, w, h, steps, &med, median(steps_ms, n_steps),
                 load_s, vram_peak_bytes(&a), is_cuda(a.device));
    code = 0;
out:
    free(runs);
    free(steps_ms);
    free(sched_json);
    if (model)
        fam->family.close(model);
    pictor_backend_destroy(be);
    pictor_plugins_unload(set);
    pictor_model_dir_close(md);
    if (tmp_dir) {
        if (a.keep_random)
            fprintf(stderr, "pictor bench: random-weights model kept in %s\n", tmp_dir);
        else
            pictor_random_model_remove(tmp_dir);
        free(tmp_dir);
    }
    return code;
}
