/* core/cli/components.c — the components `pictor check` knows. */
#include "cli.h"
#include "../../plugins/schedulers/sched/sched_eval.h"
#include "pictor/tokenizer_eval.h"
#include "pictor/flux_eval.h"
#include "pictor/text_eval.h"
#include "pictor/vae.h"

const struct pictor_check_component pictor_cli_components[] = {
    {"vae.decoder", pictor_eval_vae_decoder},
    {"rng.torch", pictor_eval_rng_torch},
    {"clip.text", pictor_eval_clip_text},
    {"t5.encoder", pictor_eval_t5_encoder},
    {"flux.transformer", pictor_eval_flux_transformer},
    {"tokenizer.clip", pictor_eval_tokenizer_clip},
    {"tokenizer.t5", pictor_eval_tokenizer_t5},
};
const size_t pictor_cli_n_components =
    sizeof pictor_cli_components / sizeof pictor_cli_components[0];
