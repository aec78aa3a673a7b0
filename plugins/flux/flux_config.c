/* plugins/flux/flux_config.c — FluxTransformer2DModel config.json reading
 * and validation; see pictor/flux_transformer.h. Defaults are diffusers'
 * FluxTransformer2DModel.__init__ defaults (the FLUX.1-schnell values). */
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pictor/jconfig.h"
#include "pictor/flux_transformer.h"
#include "pictor/status.h"

void pictor_flux_config_default(struct pictor_flux_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->patch_size = 1;
    cfg->in_channels = 64;
    cfg->out_channels = 64;
    cfg->num_layers = 19;
    cfg->num_single_layers = 38;
    cfg->attention_head_dim = 128;
    cfg->num_attention_heads = 24;
    cfg->joint_attention_dim = 4096;
    cfg->pooled_projection_dim = 768;
    cfg->guidance_embeds = false;
    cfg->n_axes = 3;
    cfg->axes_dims_rope[0] = 16;
    cfg->axes_dims_rope[1] = 56;
    cfg->axes_dims_rope[2] = 56;
}

int pictor_flux_inner_dim(const struct pictor_flux_config *cfg)
{
    return cfg->num_attention_heads * cfg->attention_head_dim;
}

int pictor_flux_config_validate(const struct pictor_flux_config *cfg,
                                char *err, size_t errlen)
{
    if (cfg->patch_size != 1) {
        snprintf(err, errlen, "flux transformer: patch_size %d is not supported "
                 "(only 1, as FLUX.1 ships)", cfg->patch_size);
        return PICTOR_E_UNSUPPORTED;
    }
    if (cfg->in_channels <= 0 || cfg->out_channels <= 0 || cfg->num_layers < 0 ||
        cfg->num_single_layers < 0 || cfg->attention_head_dim <= 0 ||
        cfg->num_attention_heads <= 0 || cfg->joint_attention_dim <= 0 ||
        cfg->pooled_projection_dim <= 0) {
        snprintf(err, errlen, "flux transformer: channel counts, heads and head dim "
                 "must be positive, layer counts non-negative");
        return PICTOR_E_FORMAT;
    }
    if (cfg->n_axes < 1 || cfg->n_axes > PICTOR_FLUX_MAX_AXES) {
        snprintf(err, errlen, "flux transformer: axes_dims_rope must list 1..%d values",
                 PICTOR_FLUX_MAX_AXES);
        return PICTOR_E_FORMAT;
    }
    int sum = 0;
    for (int a = 0; a < cfg->n_axes; a++) {
        if (cfg->axes_dims_rope[a] <= 0 || cfg->axes_dims_rope[a] % 2) {
            snprintf(err, errlen, "flux transformer: axes_dims_rope[%d] = %d must be "
                     "positive and even", a, cfg->axes_dims_rope[a]);
            return PICTOR_E_FORMAT;
        }
        sum += cfg->axes_dims_rope[a];
    }
    if (sum != cfg->attention_head_dim) {
        snprintf(err, errlen, "flux transformer: sum(axes_dims_rope) = %d must equal "
                 "attention_head_dim = %d (num_attention_heads %d x head dim %d = "
                 "inner dim %d)", sum, cfg->attention_head_dim,
                 cfg->num_attention_heads, cfg->attention_head_dim,
                 pictor_flux_inner_dim(cfg));
        return PICTOR_E_FORMAT;
    }
    if ((int64_t)cfg->num_attention_heads * cfg->attention_head_dim > (1 << 20)) {
        snprintf(err, errlen, "flux transformer: inner dim too large");
        return PICTOR_E_FORMAT;
    }
    return PICTOR_OK;
}

static int cfg_axes(struct json_object *root, struct pictor_flux_config *cfg,
                    const char *path, char *err, size_t errlen)
{
    struct json_object *v;
    if (!json_object_object_get_ex(root, "axes_dims_rope", &v) ||
        json_object_is_type(v, json_type_null))
        return PICTOR_OK;
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    if (n < 1 || n > PICTOR_FLUX_MAX_AXES) {
        snprintf(err, errlen, "%s: axes_dims_rope must be a list of 1..%d integers",
                 path, PICTOR_FLUX_MAX_AXES);
        return PICTOR_E_FORMAT;
    }
    cfg->n_axes = (int)n;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_int)) {
            snprintf(err, errlen, "%s: axes_dims_rope[%zu] is not an integer", path, i);
            return PICTOR_E_FORMAT;
        }
        cfg->axes_dims_rope[i] = json_object_get_int(e);
    }
    return PICTOR_OK;
}

int pictor_flux_config_load(const char *dir, struct pictor_flux_config *cfg,
                            char *err, size_t errlen)
{
    char path[4096];
    int rc = PICTOR_E_FORMAT;
    snprintf(path, sizeof path, "%s/config.json", dir);
    struct json_object *root = json_object_from_file(path), *v;
    if (!root) {
        snprintf(err, errlen, "%s: cannot read or parse: %s", path,
                 json_util_get_last_err() ? json_util_get_last_err() : "?");
        return PICTOR_E_IO;
    }
    pictor_flux_config_default(cfg);
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "%s: not a JSON object", path);
        goto out;
    }
    if (json_object_object_get_ex(root, "_class_name", &v) &&
        strcmp(json_object_get_string(v), "FluxTransformer2DModel") != 0) {
        snprintf(err, errlen, "%s: _class_name is %s, expected FluxTransformer2DModel",
                 path, json_object_get_string(v));
        goto out;
    }
    cfg->out_channels = 0; /* null/absent -> in_channels, resolved below */
    static const struct { const char *key; size_t off; } ints[] = {
        {"patch_size", offsetof(struct pictor_flux_config, patch_size)},
        {"in_channels", offsetof(struct pictor_flux_config, in_channels)},
        {"out_channels", offsetof(struct pictor_flux_config, out_channels)},
        {"num_layers", offsetof(struct pictor_flux_config, num_layers)},
        {"num_single_layers", offsetof(struct pictor_flux_config, num_single_layers)},
        {"attention_head_dim", offsetof(struct pictor_flux_config, attention_head_dim)},
        {"num_attention_heads", offsetof(struct pictor_flux_config, num_attention_heads)},
        {"joint_attention_dim", offsetof(struct pictor_flux_config, joint_attention_dim)},
        {"pooled_projection_dim", offsetof(struct pictor_flux_config, pooled_projection_dim)},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (!pictor_jcfg_int(root, ints[i].key, (int *)((char *)cfg + ints[i].off))) {
            snprintf(err, errlen, "%s: %s must be an integer", path, ints[i].key);
            goto out;
        }
    }
    if (!pictor_jcfg_bool(root, "guidance_embeds", &cfg->guidance_embeds)) {
        snprintf(err, errlen, "%s: guidance_embeds must be true or false", path);
        goto out;
    }
    if ((rc = cfg_axes(root, cfg, path, err, errlen)))
        goto out;
    if (cfg->out_channels == 0) /* diffusers: out_channels or in_channels */
        cfg->out_channels = cfg->in_channels;
    if ((rc = pictor_flux_config_validate(cfg, err, errlen))) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", err);
        snprintf(err, errlen, "%s: %s", path, msg);
    }
out:
    json_object_put(root);
    return rc;
}
