/* plugins/schedulers/ddim.c — the "ddim" scheduler plugin: diffusers
 * DDIMScheduler. The implementation is shared: scheduler_plugin.h. */
#define SCHED_PLUGIN_NAME "ddim"
#define SCHED_PLUGIN_PREDICTION (PICTOR_PREDICT_EPSILON | PICTOR_PREDICT_V)
#define SCHED_PLUGIN_DESCRIPTION "diffusers DDIMScheduler"
#include "scheduler_plugin.h"
