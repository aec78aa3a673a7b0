/* core/cli/components.c — components `pictor check` answers itself. Model
 * components come from the plugins' eval entries (the code the server
 * runs); what stays here is the host's own: the torch-compatible noise
 * generator the pipeline runner draws initial latents with. */
#include "cli.h"
#include "../../plugins/schedulers/sched/sched_eval.h"

const struct pictor_check_component pictor_cli_components[] = {
    {"rng.torch", pictor_eval_rng_torch},
};
const size_t pictor_cli_n_components =
    sizeof pictor_cli_components / sizeof pictor_cli_components[0];
