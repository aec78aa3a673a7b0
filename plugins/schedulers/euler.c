/* plugins/schedulers/euler.c — the "euler" scheduler plugin: diffusers
 * EulerDiscreteScheduler (SDXL, SDXL-Lightning trailing). The implementation is shared: scheduler_plugin.h. */
#define SCHED_PLUGIN_NAME "euler"
#define SCHED_PLUGIN_PREDICTION (PICTOR_PREDICT_EPSILON | PICTOR_PREDICT_V)
#define SCHED_PLUGIN_DESCRIPTION "diffusers EulerDiscreteScheduler (SDXL, SDXL-Lightning trailing)"
#include "scheduler_plugin.h"
