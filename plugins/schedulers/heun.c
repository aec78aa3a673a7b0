/* plugins/schedulers/heun.c — the "heun" scheduler plugin: diffusers
 * HeunDiscreteScheduler. The implementation is shared: scheduler_plugin.h. */
#define SCHED_PLUGIN_NAME "heun"
#define SCHED_PLUGIN_PREDICTION (PICTOR_PREDICT_EPSILON | PICTOR_PREDICT_V)
#define SCHED_PLUGIN_DESCRIPTION "diffusers HeunDiscreteScheduler"
#include "scheduler_plugin.h"
