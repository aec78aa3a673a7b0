/* plugins/schedulers/euler_a.c — the "euler-a" scheduler plugin: diffusers
 * EulerAncestralDiscreteScheduler (SDXL-Turbo). The implementation is shared: scheduler_plugin.h. */
#define SCHED_PLUGIN_NAME "euler-a"
#define SCHED_PLUGIN_PREDICTION (PICTOR_PREDICT_EPSILON | PICTOR_PREDICT_V)
#define SCHED_PLUGIN_DESCRIPTION "diffusers EulerAncestralDiscreteScheduler (SDXL-Turbo)"
#include "scheduler_plugin.h"
