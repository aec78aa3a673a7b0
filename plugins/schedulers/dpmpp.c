/* plugins/schedulers/dpmpp.c — the "dpm++" scheduler plugin: diffusers
 * DPMSolverMultistepScheduler 2M (Karras optional). The implementation is shared: scheduler_plugin.h. */
#define SCHED_PLUGIN_NAME "dpm++"
#define SCHED_PLUGIN_PREDICTION (PICTOR_PREDICT_EPSILON | PICTOR_PREDICT_V)
#define SCHED_PLUGIN_DESCRIPTION "diffusers DPMSolverMultistepScheduler 2M (Karras optional)"
#include "scheduler_plugin.h"
