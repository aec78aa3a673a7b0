/* plugins/common/vae_config.c — AutoencoderKL config.json reading; see
 * pictor/vae.h. Defaults are diffusers' AutoencoderKL.__init__ defaults. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "pictor/jconfig.h"
#include "pictor/status.h"
#include "pictor/vae.h"

int pictor_vae_config_load(const char *dir, struct pictor_vae_config *cfg,
                           char *err, size_t errlen)
{
    char path[4096];
    int rc = PICTOR_E_FORMAT;
    snprintf(path, sizeof path, "%s/config.json", dir);
    struct json_object *root = json_object_from_file(path);
    if (!root) {
        snprintf(err, errlen, "%s: cannot read or parse: %s", path,
                 json_util_get_last_err() ? json_util_get_last_err() : "?");
        return PICTOR_E_IO;
    }
    /* diffusers AutoencoderKL defaults */
    memset(cfg, 0, sizeof *cfg);
    cfg->latent_channels = 4;
    cfg->out_channels = 3;
    cfg->n_blocks = 1;
    cfg->block_out_channels[0] = 64;
    cfg->layers_per_block = 1;
    cfg->norm_num_groups = 32;
    cfg->mid_block_add_attention = true;
    cfg->use_post_quant_conv = true;
    cfg->scaling_factor = 0.18215;
    cfg->shift_factor = 0.0;

    struct json_object *v;
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "%s: not a JSON object", path);
        goto out;
    }
    if (json_object_object_get_ex(root, "_class_name", &v) &&
        strcmp(json_object_get_string(v), "AutoencoderKL") != 0) {
        snprintf(err, errlen, "%s: _class_name is %s, expected AutoencoderKL",
                 path, json_object_get_string(v));
        goto out;
    }
    if (json_object_object_get_ex(root, "act_fn", &v) &&
        strcmp(json_object_get_string(v), "silu") != 0) {
        snprintf(err, errlen, "%s: act_fn %s is not supported (only silu)",
                 path, json_object_get_string(v));
        goto out;
    }
    if (json_object_object_get_ex(root, "up_block_types", &v) &&
        json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            const char *t = json_object_get_string(json_object_array_get_idx(v, i));
            if (strcmp(t, "UpDecoderBlock2D") != 0) {
                snprintf(err, errlen, "%s: up block type %s is not supported",
                         path, t);
                goto out;
            }
        }
    }
    if (json_object_object_get_ex(root, "block_out_channels", &v)) {
        size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
        if (n < 1 || n > PICTOR_VAE_MAX_BLOCKS) {
            snprintf(err, errlen, "%s: block_out_channels must list 1..%d values",
                     path, PICTOR_VAE_MAX_BLOCKS);
            goto out;
        }
        cfg->n_blocks = (int)n;
        for (size_t i = 0; i < n; i++)
            cfg->block_out_channels[i] = json_object_get_int(json_object_array_get_idx(v, i));
    }
    if (!pictor_jcfg_int(root, "latent_channels", &cfg->latent_channels) ||
        !pictor_jcfg_int(root, "out_channels", &cfg->out_channels) ||
        !pictor_jcfg_int(root, "layers_per_block", &cfg->layers_per_block) ||
        !pictor_jcfg_int(root, "norm_num_groups", &cfg->norm_num_groups) ||
        !pictor_jcfg_bool(root, "mid_block_add_attention", &cfg->mid_block_add_attention) ||
        !pictor_jcfg_bool(root, "use_post_quant_conv", &cfg->use_post_quant_conv) ||
        !pictor_jcfg_double(root, "scaling_factor", &cfg->scaling_factor) ||
        !pictor_jcfg_double(root, "shift_factor", &cfg->shift_factor)) {
        snprintf(err, errlen, "%s: a field has the wrong JSON type", path);
        goto out;
    }
    bool ok = cfg->latent_channels > 0 && cfg->out_channels > 0 &&
              cfg->layers_per_block >= 0 && cfg->norm_num_groups > 0;
    for (int i = 0; ok && i < cfg->n_blocks; i++)
        ok = cfg->block_out_channels[i] > 0 &&
             cfg->block_out_channels[i] % cfg->norm_num_groups == 0;
    if (!ok) {
        snprintf(err, errlen, "%s: channel counts must be positive and divisible "
                 "by norm_num_groups (%d)", path, cfg->norm_num_groups);
        goto out;
    }
    rc = PICTOR_OK;
out:
    json_object_put(root);
    return rc;
}

int pictor_vae_scale(const struct pictor_vae_config *cfg)
{
    return 1 << (cfg->n_blocks - 1);
}
