/* plugins/common/jconfig.c — see pictor/jconfig.h. */
#include "pictor/jconfig.h"

#include <json-c/json.h>
#include <stdint.h>

/* The value of key, or NULL when absent or null (keep the default). */
static struct json_object *field(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    return v;
}

bool pictor_jcfg_int(struct json_object *o, const char *key, int *out)
{
    struct json_object *v = field(o, key);
    if (!v)
        return true;
    if (!json_object_is_type(v, json_type_int))
        return false;
    int64_t x = json_object_get_int64(v);
    if (x < INT32_MIN || x > INT32_MAX)
        return false;
    *out = (int)x;
    return true;
}

bool pictor_jcfg_bool(struct json_object *o, const char *key, bool *out)
{
    struct json_object *v = field(o, key);
    if (!v)
        return true;
    if (!json_object_is_type(v, json_type_boolean))
        return false;
    *out = json_object_get_boolean(v);
    return true;
}

bool pictor_jcfg_double(struct json_object *o, const char *key, double *out)
{
    struct json_object *v = field(o, key);
    if (!v)
        return true;
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return false;
    *out = json_object_get_double(v);
    return true;
}

bool pictor_jcfg_float(struct json_object *o, const char *key, float *out)
{
    double d = *out;
    if (!pictor_jcfg_double(o, key, &d))
        return false;
    *out = (float)d;
    return true;
}

const char *pictor_jcfg_str(struct json_object *o, const char *key)
{
    struct json_object *v = field(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}
