/*
 * pictor/plugins.h — the host side of the plugin ABI (abi/pictor/plugin.h):
 * loading plugin `.so` files, checking their versions, probing model
 * folders and finding schedulers and evaluators.
 *
 * A pictor_plugin_set owns every plugin it loaded; pointers into it stay
 * valid until pictor_plugins_unload. Rejected files are logged through the
 * host API's log (one line naming the file and the reason, e.g. both ABI
 * versions) and skipped; they are not an error of the set.
 * Thread: [loader] for load/probe/unload; lookups are read-only and may be
 * called from any thread once loading is done.
 */
#ifndef PICTOR_PLUGINS_H
#define PICTOR_PLUGINS_H

#include <stdbool.h>
#include <stddef.h>

#include "pictor/plugin.h"

/* One accepted plugin. Every field was copied from the plugin's entry with
 * its struct_size respected: fields the plugin's minor lacks are NULL/0. */
struct pictor_plugin {
    char path[4096];
    void *dl;
    struct pictor_plugin_entry entry;    /* zero-extended copy */
    struct pictor_family_iface family;   /* zero-extended copy (FAMILY) */
    struct pictor_scheduler_iface scheduler; /* zero-extended copy */
    bool initialised;
};

struct pictor_plugin_set;

/* An empty set using `host` (copied; must outlive the set). */
int pictor_plugins_create(const struct pictor_host_api *host,
                          struct pictor_plugin_set **out);
/* Loads every `*.so` in dir (sorted by name). Unreadable dir: error. */
int pictor_plugins_load_dir(struct pictor_plugin_set *set, const char *dir,
                            char *err, size_t errlen);
/* Loads one file; returns PICTOR_OK, or the reason it was rejected (also
 * logged): PICTOR_E_IO (dlopen), PICTOR_E_NOT_FOUND (no entry symbol),
 * PICTOR_E_UNSUPPORTED (version/signature), PICTOR_E_FORMAT (bad entry),
 * PICTOR_E_INVALID (duplicate name) or init's own status. */
int pictor_plugins_load_file(struct pictor_plugin_set *set, const char *path,
                             char *err, size_t errlen);
void pictor_plugins_unload(struct pictor_plugin_set *set);

size_t pictor_plugins_count(const struct pictor_plugin_set *set);
const struct pictor_plugin *pictor_plugins_at(const struct pictor_plugin_set *set,
                                              size_t i);
const struct pictor_plugin *pictor_plugins_find(const struct pictor_plugin_set *set,
                                                int kind, const char *name);

/* Asks every family plugin to probe model_dir; picks the highest score
 * (> 0; ties: first loaded). PICTOR_E_NOT_FOUND when none claims it, with
 * a message listing what was tried. */
int pictor_plugins_probe(const struct pictor_plugin_set *set,
                         const char *model_dir,
                         const struct pictor_plugin **best,
                         struct pictor_probe_result *result, char *err,
                         size_t errlen);

/* The evaluator answering `component` (exact name or '.'-prefix), or NULL. */
pictor_eval_fn pictor_plugins_find_eval(const struct pictor_plugin_set *set,
                                        const char *component,
                                        const struct pictor_plugin **owner);

/* The host's compatibility rule: a scheduler may drive a family when they
 * share a prediction kind (flow matching vs. epsilon/v diffusion). */
bool pictor_scheduler_compatible(uint32_t family_prediction,
                                 uint32_t scheduler_prediction);

/* The host's choice of scheduler for a family: `requested` (NULL or "" =
 * the family's default) must name a loaded scheduler plugin whose
 * prediction kind the family's matches (pictor_scheduler_compatible).
 * PICTOR_E_NOT_FOUND (no such scheduler) or PICTOR_E_INVALID (incompatible,
 * e.g. "scheduler 'euler' predicts epsilon/v; family 'flux' needs flow"),
 * with a message listing the compatible schedulers. */
int pictor_plugins_pick_scheduler(const struct pictor_plugin_set *set,
                                  const char *family_name,
                                  const struct pictor_family_defaults *defaults,
                                  const char *requested,
                                  const struct pictor_plugin **out, char *err,
                                  size_t errlen);

/* The default host API (log to stderr at `level` and above, malloc/free,
 * weights through core's safetensors reader). */
const struct pictor_host_api *pictor_default_host_api(void);
/* Sets the stderr log threshold of the default host API. */
void pictor_host_set_log_level(int level);
/* Directory of plugins next to the running program:
 * $PICTOR_PLUGIN_DIR, else <exe dir>/../lib/pictor/plugins. */
int pictor_default_plugin_dir(char *buf, size_t len);

#endif /* PICTOR_PLUGINS_H */
