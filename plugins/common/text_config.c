/* plugins/common/text_config.c — config.json reading for the text encoders:
 * CLIPTextConfig (pictor/clip_text.h) and T5Config (pictor/t5_encoder.h).
 * Defaults are the transformers classes' own; a key that is absent or null
 * keeps its default, a key of the wrong JSON type is an error. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "pictor/jconfig.h"
#include "pictor/clip_text.h"
#include "pictor/status.h"
#include "pictor/t5_encoder.h"

static bool architectures_contain(struct json_object *o, const char *name)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, "architectures", &v) ||
        !json_object_is_type(v, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        const char *s = json_object_get_string(json_object_array_get_idx(v, i));
        if (s && strcmp(s, name) == 0)
            return true;
    }
    return false;
}

static struct json_object *open_config(const char *dir, char *path, size_t pathlen,
                                       char *err, size_t errlen)
{
    snprintf(path, pathlen, "%s/config.json", dir);
    struct json_object *root = json_object_from_file(path);
    if (!root) {
        snprintf(err, errlen, "%s: cannot read or parse: %s", path,
                 json_util_get_last_err() ? json_util_get_last_err() : "?");
        return NULL;
    }
    if (!json_object_is_type(root, json_type_object)) {
        snprintf(err, errlen, "%s: not a JSON object", path);
        json_object_put(root);
        return NULL;
    }
    return root;
}

/* ---- CLIP ---------------------------------------------------------------- */

int pictor_clip_text_config_load(const char *dir, struct pictor_clip_text_config *cfg,
                                 char *err, size_t errlen)
{
    char path[4096];
    int rc = PICTOR_E_FORMAT;
    struct json_object *root = open_config(dir, path, sizeof path, err, errlen);
    if (!root)
        return PICTOR_E_IO;
    /* transformers CLIPTextConfig defaults */
    memset(cfg, 0, sizeof *cfg);
    cfg->vocab_size = 49408;
    cfg->hidden = 512;
    cfg->intermediate = 2048;
    cfg->projection_dim = 512;
    cfg->layers = 12;
    cfg->heads = 8;
    cfg->max_positions = 77;
    cfg->act = PICTOR_UNARY_QUICK_GELU;
    cfg->eps = 1e-5f;
    cfg->eos_token_id = 49407;
    cfg->with_projection = architectures_contain(root, "CLIPTextModelWithProjection");

    struct json_object *o = root, *tc;
    /* a full CLIPConfig: the text tower's settings are under text_config */
    if (json_object_object_get_ex(root, "text_config", &tc) &&
        json_object_is_type(tc, json_type_object))
        o = tc;
    int eos = (int)cfg->eos_token_id;
    if (!pictor_jcfg_int(o, "vocab_size", &cfg->vocab_size) ||
        !pictor_jcfg_int(o, "hidden_size", &cfg->hidden) ||
        !pictor_jcfg_int(o, "intermediate_size", &cfg->intermediate) ||
        !pictor_jcfg_int(o, "projection_dim", &cfg->projection_dim) ||
        !pictor_jcfg_int(o, "num_hidden_layers", &cfg->layers) ||
        !pictor_jcfg_int(o, "num_attention_heads", &cfg->heads) ||
        !pictor_jcfg_int(o, "max_position_embeddings", &cfg->max_positions) ||
        !pictor_jcfg_float(o, "layer_norm_eps", &cfg->eps) ||
        !pictor_jcfg_int(o, "eos_token_id", &eos)) {
        snprintf(err, errlen, "%s: a field has the wrong JSON type", path);
        goto out;
    }
    cfg->eos_token_id = eos;
    if (o != root)
        pictor_jcfg_int(root, "projection_dim", &cfg->projection_dim);
    const char *act = pictor_jcfg_str(o, "hidden_act");
    if (act && strcmp(act, "quick_gelu") == 0)
        cfg->act = PICTOR_UNARY_QUICK_GELU;
    else if (act && strcmp(act, "gelu") == 0)
        cfg->act = PICTOR_UNARY_GELU_ERF;
    else if (act && (strcmp(act, "gelu_new") == 0 || strcmp(act, "gelu_pytorch_tanh") == 0))
        cfg->act = PICTOR_UNARY_GELU_TANH;
    else if (act) {
        snprintf(err, errlen, "%s: hidden_act %s is not supported "
                 "(quick_gelu, gelu, gelu_new)", path, act);
        rc = PICTOR_E_UNSUPPORTED;
        goto out;
    }
    if (cfg->vocab_size <= 0 || cfg->hidden <= 0 || cfg->intermediate <= 0 || cfg->layers <= 0 ||
        cfg->heads <= 0 || cfg->max_positions <= 0 || cfg->hidden % cfg->heads != 0 ||
        cfg->projection_dim <= 0 || !(cfg->eps > 0)) {
        snprintf(err, errlen, "%s: sizes must be positive and hidden_size (%d) divisible by "
                 "num_attention_heads (%d)", path, cfg->hidden, cfg->heads);
        goto out;
    }
    rc = PICTOR_OK;
out:
    json_object_put(root);
    return rc;
}

/* ---- T5 ------------------------------------------------------------------ */

/* transformers ACT2FN names the T5 feed-forward may use. */
static bool t5_act(const char *name, int *act)
{
    if (strcmp(name, "gelu_new") == 0 || strcmp(name, "gelu_pytorch_tanh") == 0)
        *act = PICTOR_UNARY_GELU_TANH;
    else if (strcmp(name, "gelu") == 0)
        *act = PICTOR_UNARY_GELU_ERF;
    else if (strcmp(name, "silu") == 0 || strcmp(name, "swish") == 0)
        *act = PICTOR_UNARY_SILU;
    else
        return false;
    return true;
}

int pictor_t5_config_load(const char *dir, struct pictor_t5_config *cfg, char *err,
                          size_t errlen)
{
    char path[4096];
    int rc = PICTOR_E_FORMAT;
    struct json_object *root = open_config(dir, path, sizeof path, err, errlen);
    if (!root)
        return PICTOR_E_IO;
    /* transformers T5Config defaults */
    memset(cfg, 0, sizeof *cfg);
    cfg->vocab_size = 32128;
    cfg->d_model = 512;
    cfg->d_kv = 64;
    cfg->d_ff = 2048;
    cfg->layers = 6;
    cfg->heads = 8;
    cfg->num_buckets = 32;
    cfg->max_distance = 128;
    cfg->eps = 1e-6f;
    if (!pictor_jcfg_int(root, "vocab_size", &cfg->vocab_size) ||
        !pictor_jcfg_int(root, "d_model", &cfg->d_model) ||
        !pictor_jcfg_int(root, "d_kv", &cfg->d_kv) ||
        !pictor_jcfg_int(root, "d_ff", &cfg->d_ff) ||
        !pictor_jcfg_int(root, "num_layers", &cfg->layers) ||
        !pictor_jcfg_int(root, "num_heads", &cfg->heads) ||
        !pictor_jcfg_int(root, "relative_attention_num_buckets", &cfg->num_buckets) ||
        !pictor_jcfg_int(root, "relative_attention_max_distance", &cfg->max_distance) ||
        !pictor_jcfg_float(root, "layer_norm_epsilon", &cfg->eps)) {
        snprintf(err, errlen, "%s: a field has the wrong JSON type", path);
        goto out;
    }
    /* T5Config.__post_init__: dense_act_fn and is_gated_act are derived from
     * feed_forward_proj ("gated-gelu" maps to gelu_new for compatibility). */
    const char *ff = pictor_jcfg_str(root, "feed_forward_proj");
    if (!ff)
        ff = "relu";
    const char *dash = strrchr(ff, '-');
    const char *act = dash ? dash + 1 : ff;
    cfg->gated = strstr(ff, "gated-") == ff;
    if (strcmp(ff, "gated-gelu") == 0)
        act = "gelu_new";
    if (!t5_act(act, &cfg->act)) {
        snprintf(err, errlen, "%s: feed_forward_proj %s is not supported "
                 "(gated-gelu, gated-silu, gelu_new, gelu, silu)", path, ff);
        rc = PICTOR_E_UNSUPPORTED;
        goto out;
    }
    if (cfg->vocab_size <= 0 || cfg->d_model <= 0 || cfg->d_kv <= 0 || cfg->d_ff <= 0 ||
        cfg->layers <= 0 || cfg->heads <= 0 || cfg->num_buckets < 4 ||
        cfg->max_distance <= cfg->num_buckets / 4 || !(cfg->eps > 0)) {
        snprintf(err, errlen, "%s: sizes must be positive, relative_attention_num_buckets >= 4 "
                 "and relative_attention_max_distance > num_buckets / 4", path);
        goto out;
    }
    rc = PICTOR_OK;
out:
    json_object_put(root);
    return rc;
}
