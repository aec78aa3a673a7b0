/* plugins/schedulers/flow_match_euler.c — the "flow-match-euler" scheduler plugin: diffusers
 * FlowMatchEulerDiscreteScheduler (FLUX, SD3). The implementation is shared: scheduler_plugin.h. */
#define SCHED_PLUGIN_NAME "flow-match-euler"
#define SCHED_PLUGIN_PREDICTION (PICTOR_PREDICT_FLOW)
#define SCHED_PLUGIN_DESCRIPTION "diffusers FlowMatchEulerDiscreteScheduler (FLUX, SD3)"
#include "scheduler_plugin.h"
