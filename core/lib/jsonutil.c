/* core/lib/jsonutil.c — see pictor/jsonutil.h. */
#include "pictor/jsonutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "pictor/status.h"

int pictor_json_parse(const char *text, size_t len, const char *label,
                      struct json_object **out, char *err, size_t errlen)
{
    if (len > INT_MAX) {
        snprintf(err, errlen, "%s: JSON text of %zu bytes is too large", label, len);
        return PICTOR_E_FORMAT;
    }
    struct json_tokener *tok = json_tokener_new();
    if (!tok) {
        snprintf(err, errlen, "%s: out of memory", label);
        return PICTOR_E_NOMEM;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    /* A NUL byte stops json-c early with success: parse_end catches it,
     * as it catches text after the value. */
    if (!obj || jerr != json_tokener_success || end != len) {
        const char *why = !obj ? json_tokener_error_desc(jerr)
                          : (end < len && text[end] == '\0') ? "NUL byte"
                                                             : "unexpected text after the value";
        if (jerr == json_tokener_continue)
            why = "unexpected end of data";
        snprintf(err, errlen, "%s: not valid JSON: %s at byte %zu", label, why, end);
        json_object_put(obj);
        return PICTOR_E_FORMAT;
    }
    *out = obj;
    return PICTOR_OK;
}

int pictor_json_load(const char *path, struct json_object **out, char *err,
                     size_t errlen)
{
    int rc = PICTOR_E_IO;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return PICTOR_E_IO;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        goto out_close;
    }
    if ((unsigned long long)sb.st_size > PICTOR_JSON_MAX_FILE) {
        snprintf(err, errlen, "%s: %lld bytes is larger than the %u-byte limit for JSON files",
                 path, (long long)sb.st_size, PICTOR_JSON_MAX_FILE);
        goto out_close;
    }
    size_t len = (size_t)sb.st_size;
    buf = malloc(len ? len : 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = PICTOR_E_NOMEM;
        goto out_close;
    }
    if (fread(buf, 1, len, f) != len) {
        snprintf(err, errlen, "%s: read error", path);
        goto out_free;
    }
    rc = pictor_json_parse(buf, len, path, out, err, errlen);
out_free:
    free(buf);
out_close:
    fclose(f);
    return rc;
}

const char *pictor_json_str(struct json_object *obj, const char *key)
{
    struct json_object *v;
    if (!obj || !json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}
