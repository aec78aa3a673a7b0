/*
 * pictor/jconfig.h — reading typed fields of a model's config.json (json-c)
 * the way every block's config loader needs: an absent or null key keeps
 * the caller's default and returns true; a present key of the wrong JSON
 * type (or an int outside int32) returns false so the loader can name the
 * file in its error. Thread: any.
 */
#ifndef PICTOR_JCONFIG_H
#define PICTOR_JCONFIG_H

#include <stdbool.h>

struct json_object;

bool pictor_jcfg_int(struct json_object *o, const char *key, int *out);
bool pictor_jcfg_bool(struct json_object *o, const char *key, bool *out);
bool pictor_jcfg_double(struct json_object *o, const char *key, double *out);
bool pictor_jcfg_float(struct json_object *o, const char *key, float *out);
/* The string value, or NULL when absent, null or not a string. */
const char *pictor_jcfg_str(struct json_object *o, const char *key);

#endif /* PICTOR_JCONFIG_H */
