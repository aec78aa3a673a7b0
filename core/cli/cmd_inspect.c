/* core/cli/cmd_inspect.c — `pictor inspect MODEL`: what pictor sees in a
 * model folder, file or hub id: the family plugin that claims it (with the
 * variant and licence notice), and each component with its class, tensor
 * count, parameter count and dtypes. Reads headers only. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pictor/model_dir.h"
#include "pictor/plugins.h"
#include "pictor/weights.h"

static void print_component(const struct pictor_model_component *c)
{
    struct pictor_weights *w = NULL;
    char err[512];
    printf("  %-16s %-40s", c->name, c->class_name[0] ? c->class_name : "-");
    if (pictor_weights_open(c->path, false, &w, err, sizeof err) != PICTOR_OK) {
        printf(" (no weights)\n");
        return;
    }
    size_t counts[PICTOR_DTYPE_COUNT] = {0}, other = 0;
    for (size_t i = 0; i < pictor_weights_count(w); i++) {
        struct pictor_st_info info;
        if (pictor_weights_info(w, pictor_weights_name(w, i), &info) == PICTOR_OK &&
            info.dtype >= 0 && info.dtype < PICTOR_DTYPE_COUNT)
            counts[info.dtype]++;
        else
            other++;
    }
    printf(" %6zu tensors %14llu params ", pictor_weights_count(w),
           (unsigned long long)pictor_weights_total_params(w));
    static const char *const names[PICTOR_DTYPE_COUNT] = {"f32", "f16", "bf16", "f8_e4m3",
                                                          "f8_e5m2", "i32", "i64"};
    for (int d = 0; d < PICTOR_DTYPE_COUNT; d++)
        if (counts[d])
            printf(" %s:%zu", names[d], counts[d]);
    if (other)
        printf(" other:%zu", other);
    printf("\n");
    pictor_weights_close(w);
}

int pictor_cmd_inspect(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: pictor inspect MODEL_DIR|FILE|ORG/NAME\n");
        return 2;
    }
    struct pictor_model_dir *md = NULL;
    struct pictor_plugin_set *set = NULL;
    char err[1024] = "", dir[4096];
    int code = 1;
    if (pictor_model_dir_open(argv[1], NULL, &md, err, sizeof err) != PICTOR_OK) {
        fprintf(stderr, "pictor inspect: %s\n", err);
        return 1;
    }
    printf("model:      %s\n", md->source);
    printf("folder:     %s%s%s\n", md->root, md->revision ? " @ " : "",
           md->revision ? md->revision : "");
    printf("class:      %s\n", md->class_name[0] ? md->class_name : "-");
    if (pictor_plugins_create(pictor_default_host_api(), &set) != PICTOR_OK ||
        pictor_default_plugin_dir(dir, sizeof dir) != PICTOR_OK ||
        pictor_plugins_load_dir(set, dir, err, sizeof err) != PICTOR_OK)
        fprintf(stderr, "pictor inspect: plugins not loaded: %s\n", err);
    const struct pictor_plugin *fam = NULL;
    struct pictor_probe_result pr = {.struct_size = sizeof pr};
    if (set && pictor_plugins_probe(set, md->root, &fam, &pr, err, sizeof err) == PICTOR_OK) {
        printf("family:     %s (%s plugin %s, score %d)\n", pr.variant, fam->entry.name,
               fam->entry.version ? fam->entry.version : "", pr.score);
        if (pr.detail[0])
            printf("detail:     %s\n", pr.detail);
        if (pr.licence[0])
            printf("licence:    %s\n", pr.licence);
        code = 0;
    } else {
        printf("family:     none (%s)\n", err);
    }
    printf("components:\n");
    for (size_t i = 0; i < md->n_components; i++)
        print_component(&md->components[i]);
    pictor_plugins_unload(set);
    pictor_model_dir_close(md);
    return code;
}
