/* core/cli/components.c — the components `pictor check` knows. */
#include "cli.h"
#include "../../plugins/schedulers/sched/sched_eval.h"
#include "pictor/vae.h"

const struct pictor_check_component pictor_cli_components[] = {
    {"vae.decoder", pictor_eval_vae_decoder},
    {"rng.torch", pictor_eval_rng_torch},
};
const size_t pictor_cli_n_components =
    sizeof pictor_cli_components / sizeof pictor_cli_components[0];
