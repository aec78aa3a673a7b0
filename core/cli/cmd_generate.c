/* core/cli/cmd_generate.c — `pictor generate`: one image through the same
 * plugin, scheduler and pipeline code the server runs (ARCHITECTURE.md
 * "Contracts"). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "pictor/backend_cuda.h"
#include "pictor/check.h"
#include "pictor/common_host.h"
#include "pictor/model_dir.h"
#include "pictor/pipeline.h"
#include "pictor/png.h"

#define GEN_MAX_SIDE 2048 /* API.md: each side 64..2048 */
#define GEN_MIN_SIDE 64
#define GEN_MAX_STEPS 50

struct gen_args {
    const char *model, *prompt, *negative, *scheduler, *out, *device;
    const char *state_dir; /* cuBLASLt algorithm cache folder, NULL: none */
    int width, height, steps, precision;
    float guidance;
    bool has_guidance, has_seed;
    uint64_t seed;
};

static void gen_usage(FILE *f)
{
    fputs("usage: pictor generate --model DIR|FILE|ORG/NAME --prompt TEXT -o OUT.png\n"
          "         [--size WxH] [--steps N] [--guidance G] [--scheduler NAME] [--seed N]\n"
          "         [--negative-prompt TEXT] [--precision auto|fp32|bf16|fp16|fp8]\n"
          "         [--device cpu|cuda[:N]]   (auto: fp32 on the CPU, bf16 on a GPU)\n"
          "         [--state-dir DIR]   (CUDA: keep cuBLASLt algorithm choices in DIR)\n",
          f);
}

static int parse_args(int argc, char **argv, struct gen_args *a)
{
    memset(a, 0, sizeof *a);
    a->device = "cpu";
    a->precision = -1; /* auto, resolved once the device is known */
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!v) {
            fprintf(stderr, "pictor generate: %s needs a value\n", k);
            return -1;
        }
        i++;
        if (!strcmp(k, "--model")) a->model = v;
        else if (!strcmp(k, "--prompt")) a->prompt = v;
        else if (!strcmp(k, "--negative-prompt")) a->negative = v;
        else if (!strcmp(k, "--scheduler")) a->scheduler = v;
        else if (!strcmp(k, "-o") || !strcmp(k, "--output")) a->out = v;
        else if (!strcmp(k, "--device")) a->device = v;
        else if (!strcmp(k, "--state-dir")) a->state_dir = v;
        else if (!strcmp(k, "--size")) {
            if (pictor_cli_parse_size("generate", v, GEN_MIN_SIDE, GEN_MAX_SIDE, &a->width,
                                      &a->height))
                return -1;
        } else if (!strcmp(k, "--steps")) {
            if (pictor_cli_parse_long(v, 1, GEN_MAX_STEPS, &n)) {
                fprintf(stderr, "pictor generate: --steps %s: 1..%d\n", v, GEN_MAX_STEPS);
                return -1;
            }
            a->steps = (int)n;
        } else if (!strcmp(k, "--seed")) {
            if (pictor_cli_parse_long(v, 0, 2147483647L, &n)) {
                fprintf(stderr, "pictor generate: --seed %s: 0..2147483647\n", v);
                return -1;
            }
            a->seed = (uint64_t)n;
            a->has_seed = true;
        } else if (!strcmp(k, "--guidance")) {
            char *end;
            a->guidance = strtof(v, &end);
            if (*end || end == v || a->guidance < 0 || a->guidance > 20) {
                fprintf(stderr, "pictor generate: --guidance %s: 0..20\n", v);
                return -1;
            }
            a->has_guidance = true;
        } else if (!strcmp(k, "--precision")) {
            a->precision = strcmp(v, "auto") ? pictor_precision_parse(v) : -1;
            if (a->precision < 0 && strcmp(v, "auto")) {
                fprintf(stderr, "pictor generate: --precision %s: auto, fp32, bf16, fp16 or "
                        "fp8\n", v);
                return -1;
            }
        } else {
            fprintf(stderr, "pictor generate: unknown option %s\n", k);
            return -1;
        }
    }
    if (!a->model || !a->prompt || !a->out) {
        gen_usage(stderr);
        return -1;
    }
    return 0;
}

static pictor_backend *open_backend(const char *device, const char *state_dir)
{
    char err[512];
    if (!strcmp(device, "cpu")) {
        return pictor_backend_cpu_create(0);
    }
    if (!strncmp(device, "cuda", 4) && (device[4] == '\0' || device[4] == ':')) {
        pictor_backend *be = pictor_backend_cuda_create(device[4] ? atoi(device + 5) : 0, err,
                                                        sizeof err);
        if (!be)
            fprintf(stderr, "pictor generate: %s\n", err);
        else if (state_dir) {
            pictor_backend_cuda_set_plan_dir(be, state_dir, err, sizeof err);
            if (err[0]) /* what was loaded, or why not: never fatal */
                fprintf(stderr, "pictor generate: %s\n", err);
        }
        return be;
    }
    fprintf(stderr, "pictor generate: unknown device '%s' (cpu, cuda[:N])\n", device);
    return NULL;
}

/* Whole file into a NUL-terminated malloc'd string, or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        if (len >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len + 1))) {
            if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
                free(buf);
                buf = NULL;
            } else {
                buf[len] = '\0';
            }
        }
    }
    fclose(f);
    return buf;
}

int pictor_cmd_generate(int argc, char **argv)
{
    struct gen_args a;
    struct pictor_model_dir *md = NULL;
    struct pictor_plugin_set *set = NULL;
    pictor_backend *be = NULL;
    void *model = NULL;
    char *sched_json = NULL;
    uint8_t *rgb = NULL;
    char err[1024] = "", dir[4096], path[4200];
    int code = 1;
    if (parse_args(argc, argv, &a))
        return 2;
    pictor_common_set_host(pictor_default_host_api());
    if (pictor_model_dir_open(a.model, NULL, &md, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor generate: %s\n", err);
        return 1;
    }
    if (pictor_plugins_create(pictor_default_host_api(), &set) != PICTOR_OK ||
        pictor_default_plugin_dir(dir, sizeof dir) != PICTOR_OK ||
        pictor_plugins_load_dir(set, dir, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor generate: cannot load plugins: %s\n", err);
        goto out;
    }
    const struct pictor_plugin *fam = NULL, *sch = NULL;
    struct pictor_probe_result pr = {.struct_size = sizeof pr};
    if (pictor_plugins_probe(set, md->root, &fam, &pr, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor generate: %s\n", err);
        goto out;
    }
    if (pr.licence[0])
        fprintf(stderr, "pictor: %s: %s\n", pr.variant, pr.licence);
    if (!(be = open_backend(a.device, a.state_dir)))
        goto out;
    if (a.precision < 0) /* auto: the precision policy of jobs.c */
        a.precision = pictor_precision_auto(be);
    if (pictor_precision_offered(be, a.precision, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor generate: %s\n", err);
        goto out;
    }
    struct pictor_open_params op = {.struct_size = sizeof op, .model_dir = md->root,
                                    .backend = be, .precision = a.precision};
    if (fam->family.open(&op, &model, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor generate: %s\n", err);
        goto out;
    }
    struct pictor_family_defaults d = {.struct_size = sizeof d};
    if (fam->family.defaults)
        fam->family.defaults(model, &d);
    int steps = a.steps ? a.steps : d.steps;
    if (d.step_ceiling && steps > d.step_ceiling) {
        fprintf(stderr, "pictor generate: %s allows at most %d steps, %d asked\n", pr.variant,
                d.step_ceiling, steps);
        goto out;
    }
    int w = a.width ? a.width : d.default_width, h = a.height ? a.height : d.default_height;
    int g = d.size_granularity > 0 ? d.size_granularity : 1;
    if (w % g || h % g) {
        fprintf(stderr, "pictor generate: size %dx%d: each side must be a multiple of %d for %s\n",
                w, h, g, pr.variant);
        goto out;
    }
    if (pictor_plugins_pick_scheduler(set, fam->entry.name, &d, a.scheduler, &sch, err,
                                      sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor generate: %s\n", err);
        goto out;
    }
    snprintf(path, sizeof path, "%s/scheduler/scheduler_config.json", md->root);
    sched_json = slurp(path);
    uint64_t seed = a.has_seed ? a.seed : ((uint64_t)time(NULL) * 2654435761u) % 2147483648u;
    struct pictor_pipeline_request r = {
        .family = fam, .model = model, .scheduler = sch, .scheduler_config_json = sched_json,
        .gp = {.struct_size = sizeof r.gp, .prompt = a.prompt, .negative_prompt = a.negative,
               .width = w, .height = h, .batch = 1,
               .guidance = a.has_guidance ? a.guidance : d.guidance, .seed = seed},
        .steps = steps};
    struct pictor_pipeline_timing tm;
    if (pictor_pipeline_run(be, &r, &rgb, &tm, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor generate: %s\n", err);
        goto out;
    }
    char params[2048];
    snprintf(params, sizeof params,
             "%s\nNegative prompt: %s\nSteps: %d, Guidance: %g, Scheduler: %s, Seed: %" PRIu64
             ", Size: %dx%d, Model: %s",
             a.prompt, a.negative ? a.negative : "", steps, r.gp.guidance, sch->entry.name, seed,
             w, h, pr.variant);
    struct pictor_png_text text = {"parameters", params};
    if (pictor_png_write_file(a.out, rgb, w, h, &text, 1, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor generate: %s\n", err);
        goto out;
    }
    printf("{\"output\":\"%s\",\"seed\":%" PRIu64 ",\"width\":%d,\"height\":%d,\"steps\":%d,"
           "\"scheduler\":\"%s\",\"device\":\"%s\",\"precision\":\"%s\",\"encode_ms\":%.1f,"
           "\"denoise_ms\":%.1f,\"decode_ms\":%.1f}\n",
           a.out, seed, w, h, steps, sch->entry.name, a.device, pictor_precision_name(a.precision),
           tm.encode_ms, tm.denoise_ms, tm.decode_ms);
    code = 0;
out:
    free(rgb);
    free(sched_json);
    if (model)
        fam->family.close(model);
    pictor_backend_destroy(be);
    pictor_plugins_unload(set);
    pictor_model_dir_close(md);
    return code;
}
