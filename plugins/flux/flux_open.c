/* plugins/flux/flux_open.c — probe, open, defaults and close of the FLUX
 * family (flux_family.h). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flux_audit.h"
#include "flux_bfl.h"
#include "flux_family.h"
#include "pictor/common_host.h"
#include "pictor/params.h"
#include "pictor/tensor_util.h"

#define FLUX_T5_LEN_SCHNELL 256 /* diffusers docs: schnell max_sequence_length <= 256 */
#define FLUX_T5_LEN_DEV 512     /* FluxPipeline default */
#define PROBE_DIFFUSERS 95      /* model_index.json says FluxPipeline */
#define PROBE_SINGLE_FILE 80    /* BFL key names in one safetensors file */
#define PROBE_TRANSFORMER 70    /* a bare FluxTransformer2DModel folder */

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *json_str(struct json_object *o, const char *key)
{
    struct json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

/* guidance_embeds of transformer/config.json: 1 true, 0 false, -1 unreadable. */
static int transformer_guidance(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/transformer/config.json", dir);
    struct json_object *o = json_object_from_file(p), *v;
    int r = -1;
    if (o && json_object_object_get_ex(o, "guidance_embeds", &v))
        r = json_object_get_boolean(v) ? 1 : 0;
    else if (o)
        r = 0;
    json_object_put(o);
    return r;
}

/* Original BFL single-file checkpoints (MODELS.md §4.2): key names only. */
static int probe_single_file(const char *path, struct pictor_probe_result *out)
{
    const struct pictor_host_api *host = pictor_common_host();
    struct pictor_wsource src;
    char err[256];
    if (!host || host->weights_peek(path, &src, err, sizeof err) != PICTOR_OK)
        return PICTOR_OK;
    pictor_tensor t;
    if (src.get(src.ctx, "double_blocks.0.img_attn.qkv.weight", &t) == PICTOR_OK) {
        bool dev = src.get(src.ctx, "guidance_in.in_layer.weight", &(pictor_tensor){0}) ==
                   PICTOR_OK;
        out->score = PROBE_SINGLE_FILE;
        snprintf(out->variant, sizeof out->variant, "flux.1-%s", dev ? "dev" : "schnell");
        snprintf(out->detail, sizeof out->detail,
                 "original BFL single-file transformer (%s weights); text encoders and VAE "
                 "must come from a diffusers folder", pictor_dtype_name(t.dtype));
        snprintf(out->licence, sizeof out->licence, "%s",
                 dev ? FLUX_LICENCE_DEV : FLUX_LICENCE_SCHNELL);
    }
    host->weights_close(&src);
    return PICTOR_OK;
}

int flux_probe(const char *model_dir, struct pictor_probe_result *out)
{
    char p[4200];
    out->score = 0;
    if (is_file(model_dir))
        return probe_single_file(model_dir, out);
    snprintf(p, sizeof p, "%s/model_index.json", model_dir);
    struct json_object *idx = json_object_from_file(p);
    const char *cls = json_str(idx, "_class_name");
    int g = transformer_guidance(model_dir);
    if (cls && strncmp(cls, "Flux", 4) == 0 && strstr(cls, "Pipeline") && g >= 0) {
        out->score = PROBE_DIFFUSERS;
        snprintf(out->detail, sizeof out->detail, "diffusers %s folder", cls);
    } else if (!idx && g >= 0) {
        snprintf(p, sizeof p, "%s/transformer/config.json", model_dir);
        struct json_object *tc = json_object_from_file(p);
        const char *tcls = json_str(tc, "_class_name");
        if (tcls && strcmp(tcls, "FluxTransformer2DModel") == 0) {
            out->score = PROBE_TRANSFORMER;
            snprintf(out->detail, sizeof out->detail, "FluxTransformer2DModel folder");
        }
        json_object_put(tc);
    }
    json_object_put(idx);
    if (out->score) {
        snprintf(out->variant, sizeof out->variant, "flux.1-%s", g == 1 ? "dev" : "schnell");
        snprintf(out->licence, sizeof out->licence, "%s",
                 g == 1 ? FLUX_LICENCE_DEV : FLUX_LICENCE_SCHNELL);
    }
    return PICTOR_OK;
}

static double cfg_num(struct json_object *o, const char *key, double dflt)
{
    struct json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) ||
        !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        return dflt;
    return json_object_get_double(v);
}

/* diffusers FlowMatchEulerDiscreteScheduler defaults for the mu line. */
static void read_scheduler(struct flux_model *m)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/scheduler/scheduler_config.json", m->dir);
    struct json_object *o = json_object_from_file(p);
    m->base_seq = cfg_num(o, "base_image_seq_len", 256);
    m->max_seq = cfg_num(o, "max_image_seq_len", 4096);
    m->base_shift = cfg_num(o, "base_shift", 0.5);
    m->max_shift = cfg_num(o, "max_shift", 1.15);
    json_object_put(o);
}

static int open_source(struct flux_model *m, int which, const char *sub, char *err, size_t errlen)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", m->dir, sub);
    return pictor_common_host()->weights_open(p, false, &m->src[which], err, errlen);
}

/* Tensors a block leaves alone on purpose (decoding needs only the VAE's
 * decoder; T5's embedding is stored under two tied names; CLIP may carry
 * its position_ids buffer). */
static bool vae_unused(const char *n)
{
    return strncmp(n, "encoder.", 8) == 0 || strncmp(n, "quant_conv.", 11) == 0;
}

static bool t5_unused(const char *n)
{
    return strcmp(n, "encoder.embed_tokens.weight") == 0 || strcmp(n, "shared.weight") == 0;
}

static bool clip_unused(const char *n)
{
    return strstr(n, "position_ids") != NULL;
}

static size_t host_count(const struct pictor_wsource *s)
{
    return pictor_common_host()->weights_count(s);
}

static const char *host_name(const struct pictor_wsource *s, size_t i)
{
    return pictor_common_host()->weights_name(s, i);
}

/* Logs the component's tensors its block did not use (flux_audit.h). */
static void audit(struct flux_model *m, const char *component, const struct flux_recorder *r,
                  const struct pictor_wsource *listed, bool (*known)(const char *))
{
    char names[1024];
    bool bfl = flux_bfl_is_wrapper(listed);
    size_t n = flux_recorder_unexpected(r, listed, bfl ? flux_bfl_count : host_count,
                                        bfl ? flux_bfl_name : host_name, known, names,
                                        sizeof names);
    if (n)
        pictor_common_host()->log(PICTOR_LOG_WARN, "flux",
                                  "%s/%s: %zu tensor%s not used by pictor: %s", m->dir, component,
                                  n, n == 1 ? "" : "s", names);
}

/* Opens the four networks through recorders, then accounts for every
 * tensor of each component. */
static int open_blocks(struct flux_model *m, const struct pictor_wsource *dit_src, char *err,
                       size_t errlen)
{
    struct flux_recorder r[FLUX_SRC_COUNT];
    flux_recorder_init(&r[FLUX_SRC_TRANSFORMER], dit_src);
    flux_recorder_init(&r[FLUX_SRC_CLIP], &m->src[FLUX_SRC_CLIP]);
    flux_recorder_init(&r[FLUX_SRC_T5], &m->src[FLUX_SRC_T5]);
    flux_recorder_init(&r[FLUX_SRC_VAE], &m->src[FLUX_SRC_VAE]);
    int rc;
    if ((rc = pictor_flux_transformer_open(&m->dit_cfg, &r[FLUX_SRC_TRANSFORMER].self, m->be,
                                           &m->dit, err, errlen)) ||
        (rc = pictor_clip_text_open(&m->clip_cfg, &r[FLUX_SRC_CLIP].self, m->be, &m->clip, err,
                                    errlen)) ||
        (rc = pictor_t5_encoder_open(&m->t5_cfg, &r[FLUX_SRC_T5].self, m->be, &m->t5, err,
                                     errlen)) ||
        (rc = pictor_vae_decoder_open(&m->vae_cfg, &r[FLUX_SRC_VAE].self, m->be, &m->vae, err,
                                      errlen)))
        goto out;
    audit(m, "transformer", &r[FLUX_SRC_TRANSFORMER], dit_src, NULL);
    audit(m, "text_encoder", &r[FLUX_SRC_CLIP], &m->src[FLUX_SRC_CLIP], clip_unused);
    audit(m, "text_encoder_2", &r[FLUX_SRC_T5], &m->src[FLUX_SRC_T5], t5_unused);
    audit(m, "vae", &r[FLUX_SRC_VAE], &m->src[FLUX_SRC_VAE], vae_unused);
out:
    for (int i = 0; i < FLUX_SRC_COUNT; i++)
        flux_recorder_free(&r[i]);
    return rc;
}

/* PICTOR_T5_PRECISION: unset, "" or "fp8" (T5 follows the model's fp8),
 * "bf16" (T5 stays bf16 under fp8); anything else is said and ignored. */
static bool t5_fp8_allowed(void)
{
    const char *v = getenv("PICTOR_T5_PRECISION");
    if (!v || !*v || strcmp(v, "fp8") == 0)
        return true;
    if (strcmp(v, "bf16") == 0)
        return false;
    fprintf(stderr, "pictor: flux: PICTOR_T5_PRECISION=%.32s is not fp8 or bf16: ignored\n", v);
    return true;
}

int flux_open(const struct pictor_open_params *p, void **out, char *err, size_t errlen)
{
    const struct pictor_host_api *host = pictor_common_host();
    char d[4200];
    int rc;
    *out = NULL;
    if (!host) {
        snprintf(err, errlen, "flux: plugin not initialised (no host API)");
        return PICTOR_E_INVALID;
    }
    if (is_file(p->model_dir)) {
        snprintf(err, errlen, "%s: a single-file FLUX transformer has no text encoders or VAE; "
                 "give pictor the diffusers folder (transformer/, vae/, text_encoder*/, "
                 "tokenizer*/, scheduler/)", p->model_dir);
        return PICTOR_E_UNSUPPORTED;
    }
    const int cd = pictor_precision_compute_dtype(p->precision);
    if (cd < 0) {
        snprintf(err, errlen, "flux: unknown precision %d (fp32, bf16, fp16 or fp8)",
                 p->precision);
        return PICTOR_E_UNSUPPORTED;
    }
    struct flux_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "flux: out of memory");
        return PICTOR_E_NOMEM;
    }
    m->be = p->backend;
    snprintf(m->dir, sizeof m->dir, "%s", p->model_dir);
    read_scheduler(m);
#define SUB(name) (snprintf(d, sizeof d, "%s/%s", m->dir, name), d)
    if ((rc = pictor_flux_config_load(SUB("transformer"), &m->dit_cfg, err, errlen)) ||
        (rc = pictor_vae_config_load(SUB("vae"), &m->vae_cfg, err, errlen)) ||
        (rc = pictor_clip_text_config_load(SUB("text_encoder"), &m->clip_cfg, err, errlen)) ||
        (rc = pictor_t5_config_load(SUB("text_encoder_2"), &m->t5_cfg, err, errlen)) ||
        (rc = pictor_clip_tokenizer_load(SUB("tokenizer"), &m->clip_tok, err, errlen)) ||
        (rc = pictor_t5_tokenizer_load(SUB("tokenizer_2"), &m->t5_tok, err, errlen)))
        goto fail;
#undef SUB
    m->dit_cfg.compute_dtype = m->vae_cfg.compute_dtype = cd;
    m->clip_cfg.compute_dtype = m->t5_cfg.compute_dtype = cd;
    /* fp8: the transformer's block linears and T5's linears (docs/fixtures.md:
     * T5 in FP8 stays within its fixtures' bounds — 1.25x the torch
     * emulation's own FP8 error — and the pipeline images within 3e-2;
     * PICTOR_T5_PRECISION=bf16 keeps T5 in bf16). */
    m->dit_cfg.fp8_linears = pictor_precision_fp8_linears(p->precision);
    m->t5_cfg.fp8_linears = m->dit_cfg.fp8_linears && t5_fp8_allowed();
    m->dit_cfg.fp8_attention = m->dit_cfg.fp8_linears && pictor_flux_fp8_attention_env();
    if ((rc = open_source(m, FLUX_SRC_TRANSFORMER, "transformer", err, errlen)) ||
        (rc = open_source(m, FLUX_SRC_CLIP, "text_encoder", err, errlen)) ||
        (rc = open_source(m, FLUX_SRC_T5, "text_encoder_2", err, errlen)) ||
        (rc = open_source(m, FLUX_SRC_VAE, "vae", err, errlen)))
        goto fail;
    const struct pictor_wsource *dit_src = &m->src[FLUX_SRC_TRANSFORMER];
    if (flux_bfl_detect(dit_src)) { /* original BFL key names (MODELS.md §4.2) */
        if ((rc = flux_bfl_wrap(dit_src, &m->dit_cfg, &m->bfl, err, errlen)))
            goto fail;
        dit_src = &m->bfl;
    }
    if ((rc = open_blocks(m, dit_src, err, errlen)))
        goto fail;
    if (m->dit_cfg.in_channels != 4 * m->vae_cfg.latent_channels) {
        snprintf(err, errlen, "%s: transformer in_channels %d is not 4 x the VAE's %d latent "
                 "channels", m->dir, m->dit_cfg.in_channels, m->vae_cfg.latent_channels);
        rc = PICTOR_E_FORMAT;
        goto fail;
    }
    m->variant = m->dit_cfg.guidance_embeds ? FLUX_DEV : FLUX_SCHNELL;
    m->max_sequence_length = m->variant == FLUX_DEV ? FLUX_T5_LEN_DEV : FLUX_T5_LEN_SCHNELL;
    *out = m;
    return PICTOR_OK;
fail:
    flux_close(m);
    return rc;
}

void flux_close(void *model)
{
    struct flux_model *m = model;
    if (!m)
        return;
    pictor_vae_decoder_close(m->vae);
    pictor_t5_encoder_close(m->t5);
    pictor_clip_text_close(m->clip);
    pictor_flux_transformer_close(m->dit);
    pictor_t5_tokenizer_free(m->t5_tok);
    pictor_clip_tokenizer_free(m->clip_tok);
    flux_bfl_unwrap(&m->bfl); /* before the source it wraps */
    for (int i = 0; i < FLUX_SRC_COUNT; i++)
        if (m->src[i].ctx)
            pictor_common_host()->weights_close(&m->src[i]);
    free(m);
}

/* The seed product's defaults (issue: schnell 4 steps / guidance 0 /
 * ceiling 4; dev 28 / 3.5 / 50), 1024² images, sizes in multiples of 16. */
void flux_defaults(void *model, struct pictor_family_defaults *d)
{
    struct flux_model *m = model;
    bool dev = m->variant == FLUX_DEV;
    d->steps = dev ? 28 : 4;
    d->step_ceiling = dev ? 50 : 4;
    d->guidance = dev ? 3.5f : 0.0f;
    snprintf(d->scheduler, sizeof d->scheduler, "flow-match-euler");
    d->size_granularity = 2 * pictor_vae_scale(&m->vae_cfg);
    d->default_width = d->default_height = 1024;
    d->prediction = PICTOR_PREDICT_FLOW;
    snprintf(d->licence, sizeof d->licence, "%s", dev ? FLUX_LICENCE_DEV : FLUX_LICENCE_SCHNELL);
    d->negative_prompt_ignored = true; /* no CFG: dev's guidance is embedded */
}
