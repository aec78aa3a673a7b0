/*
 * pictor/jsonutil.h — small json-c helpers shared by core's file readers
 * (safetensors headers, *.safetensors.index.json, model_index.json,
 * config.json).
 *
 * Parsing is strict: RFC 8259 JSON (json-c JSON_TOKENER_STRICT), UTF-8
 * validated, exactly one value with nothing but whitespace after it.
 * Returned json objects belong to the caller (json_object_put).
 * Thread: any (no shared state).
 */
#ifndef PICTOR_JSONUTIL_H
#define PICTOR_JSONUTIL_H

#include <stddef.h>

struct json_object;

/* Largest JSON file pictor_json_load accepts (index and config files are
 * kilobytes; a FLUX index is ~100 KB). */
#define PICTOR_JSON_MAX_FILE (64u << 20)

/* Parses text[0..len) into *out. On failure returns PICTOR_E_FORMAT and
 * writes "LABEL: not valid JSON: <json-c reason> at byte K" into err. */
int pictor_json_parse(const char *text, size_t len, const char *label,
                      struct json_object **out, char *err, size_t errlen);

/* Reads and parses PATH (PICTOR_E_IO when it cannot be read or is larger
 * than PICTOR_JSON_MAX_FILE, PICTOR_E_FORMAT when malformed). */
int pictor_json_load(const char *path, struct json_object **out, char *err,
                     size_t errlen);

/* The string value of KEY in object OBJ, or NULL (absent, not a string, or
 * OBJ not an object). Valid as long as OBJ. */
const char *pictor_json_str(struct json_object *obj, const char *key);

#endif /* PICTOR_JSONUTIL_H */
