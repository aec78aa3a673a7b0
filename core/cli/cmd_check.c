/* core/cli/cmd_check.c — `pictor check CASE_DIR [--device D] [--precision P]
 * [--against P2] [--bound R]`
 * (FIXTURES.md, ARCHITECTURE.md "Contracts"). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include <stdlib.h>

#include "pictor/backend.h"
#include "pictor/backend_cuda.h"
#include "pictor/common_host.h"
#include "pictor/plugins.h"

#define CHECK_MAX_COMPONENTS 256

/* Components: every plugin's eval entries first (the code the server runs),
 * then the ones linked into the CLI. Returns the count. */
static size_t gather_components(const struct pictor_plugin_set *set,
                                struct pictor_check_component *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; set && i < pictor_plugins_count(set); i++) {
        const struct pictor_plugin *p = pictor_plugins_at(set, i);
        for (const char *const *c = p->entry.eval_components; p->entry.eval && c && *c; c++)
            if (n < cap)
                out[n++] = (struct pictor_check_component){*c, p->entry.eval};
    }
    for (size_t i = 0; i < pictor_cli_n_components && n < cap; i++)
        out[n++] = pictor_cli_components[i];
    return n;
}

int pictor_cmd_check(int argc, char **argv)
{
    const char *case_dir = NULL, *device = "cpu";
    int precision = PICTOR_PRECISION_FP32, against = -1;
    double bound = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            device = argv[++i];
        } else if ((strcmp(argv[i], "--precision") == 0 || strcmp(argv[i], "--against") == 0) &&
                   i + 1 < argc) {
            int *dst = argv[i][2] == 'p' ? &precision : &against;
            *dst = pictor_precision_parse(argv[++i]);
            if (*dst < 0) {
                fprintf(stderr, "pictor check: unknown precision '%s' "
                                "(fp32, bf16, fp16, fp8)\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--bound") == 0 && i + 1 < argc) {
            char *end;
            bound = strtod(argv[++i], &end);
            if (*end || !(bound > 0)) {
                fprintf(stderr, "pictor check: --bound wants a positive rel_l2, not '%s'\n",
                        argv[i]);
                return 2;
            }
        } else if (argv[i][0] == '-' || case_dir) {
            fprintf(stderr, "pictor check: unexpected argument '%s'\n", argv[i]);
            return 2;
        } else {
            case_dir = argv[i];
        }
    }
    if (!case_dir) {
        fprintf(stderr, "usage: pictor check CASE_DIR [--device cpu|cuda] "
                        "[--precision fp32|bf16|fp16|fp8] [--against PRECISION] [--bound R]\n"
                        "  --against: compare with pictor's own outputs at that precision\n"
                        "  (same model and inputs; no expected file needed) instead of the\n"
                        "  case's expected; --bound: judge rel_l2 by R instead of the\n"
                        "  documented bounds (docs/fixtures.md)\n");
        return 2;
    }
    pictor_backend *be = NULL;
    if (strcmp(device, "cpu") == 0) {
        be = pictor_backend_cpu_create(0);
    } else if (strncmp(device, "cuda", 4) == 0 && (device[4] == '\0' || device[4] == ':')) {
        char err[512];
        int ordinal = device[4] == ':' ? atoi(device + 5) : 0;
        be = pictor_backend_cuda_create(ordinal, err, sizeof err);
        if (!be) {
            fprintf(stderr, "pictor check: %s\n", err);
            return 2;
        }
    } else {
        fprintf(stderr, "pictor check: unknown device '%s' (cpu, cuda)\n", device);
        return 2;
    }
    if (!be) {
        fprintf(stderr, "pictor check: cannot create the %s backend\n", device);
        return 2;
    }
    struct pictor_plugin_set *set = NULL;
    char dir[4096], err[512] = "";
    pictor_common_set_host(pictor_default_host_api());
    if (pictor_plugins_create(pictor_default_host_api(), &set) != PICTOR_OK ||
        pictor_default_plugin_dir(dir, sizeof dir) != PICTOR_OK ||
        pictor_plugins_load_dir(set, dir, err, sizeof err) != PICTOR_OK)
        fprintf(stderr, "pictor check: plugins not loaded (%s); using built-in components\n",
                set ? err : "out of memory");
    struct pictor_check_component table[CHECK_MAX_COMPONENTS];
    size_t n = gather_components(set, table, CHECK_MAX_COMPONENTS);
    struct pictor_check_options opt = {
        .backend = be, .device_name = device, .precision = precision,
        .against_set = against >= 0, .against = against, .bound = bound};
    int code = pictor_check_run(case_dir, &opt, table, n, stdout);
    pictor_backend_destroy(be);
    pictor_plugins_unload(set);
    return code;
}
