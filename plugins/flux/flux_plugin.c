/*
 * plugins/flux/flux_plugin.c — the `flux` family plugin's entry: FLUX.1
 * [schnell] and [dev] from diffusers folders (probe also recognises the
 * original single-file checkpoints). The one exported symbol is
 * pictor_plugin_entry; everything else is hidden.
 *
 * eval answers the components this plugin's code implements, so
 * `pictor check` proves the code the server runs: tokenizer.clip,
 * tokenizer.t5, clip.text, t5.encoder, vae.decoder, flux.transformer,
 * pipeline.flux.
 */
#include <string.h>

#include "flux_family.h"
#include "pictor/common_host.h"
#include "pictor/flux_eval.h"
#include "pictor/text_eval.h"
#include "pictor/tokenizer_eval.h"

static int flux_init(const struct pictor_host_api *host, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    pictor_common_set_host(host);
    return PICTOR_OK;
}

static const struct pictor_family_iface flux_family = {
    .struct_size = sizeof(struct pictor_family_iface),
    .probe = flux_probe,
    .open = flux_open,
    .defaults = flux_defaults,
    .encode = flux_encode,
    .latent_shape = flux_latent_shape,
    .schedule = flux_schedule,
    .predict = flux_predict,
    .decode = flux_decode,
    .release_cond = flux_release_cond,
    .close = flux_close,
    .preview = flux_preview,
};

static const struct {
    const char *name;
    pictor_eval_fn fn;
} flux_evals[] = {
    {"tokenizer.clip", pictor_eval_tokenizer_clip},
    {"tokenizer.t5", pictor_eval_tokenizer_t5},
    {"clip.text", pictor_eval_clip_text},
    {"t5.encoder", pictor_eval_t5_encoder},
    {"vae.decoder", pictor_eval_vae_decoder},
    {"flux.transformer", pictor_eval_flux_transformer},
    {"pipeline.flux", flux_eval_pipeline},
};

#define N_EVALS (sizeof flux_evals / sizeof flux_evals[0])

static const char *const flux_components[N_EVALS + 1] = {
    "tokenizer.clip", "tokenizer.t5",     "clip.text",     "t5.encoder",
    "vae.decoder",    "flux.transformer", "pipeline.flux", NULL,
};

static int flux_eval(const struct pictor_eval_request *req, const struct pictor_eval_io *io,
                     char *err, size_t errlen)
{
    for (size_t i = 0; i < N_EVALS; i++)
        if (strcmp(req->component, flux_evals[i].name) == 0)
            return flux_evals[i].fn(req, io, err, errlen);
    return PICTOR_E_NOT_FOUND;
}

PICTOR_PLUGIN_EXPORT const struct pictor_plugin_entry pictor_plugin_entry = {
    .struct_size = sizeof(struct pictor_plugin_entry),
    .abi_major = PICTOR_ABI_MAJOR,
    .abi_minor = PICTOR_ABI_MINOR,
    .build_signature = PICTOR_BUILD_SIGNATURE,
    .kind = PICTOR_PLUGIN_FAMILY,
    .name = "flux",
    .version = "1.0",
    .description = "FLUX.1 [schnell] and [dev] (black-forest-labs), diffusers layout",
    .init = flux_init,
    .family = &flux_family,
    .eval = flux_eval,
    .eval_components = flux_components,
};
