/* core/server/models.c — GET /v1/models [http thread]: the OpenAI list
 * shape plus family, mode, defaults and licence of each configured model. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* "realtime", "quality", "realtime,quality" or null: which modes name it. */
static json_object *modes_of(struct pictord *s, int idx)
{
    const char *names[2] = {"realtime", "quality"};
    const char *ids[2] = {s->conf->realtime, s->conf->quality};
    char buf[32] = "";
    for (int k = 0; k < 2; k++) {
        if (ids[k][0] && pictor_jobs_find_model(s->jobs, ids[k]) == idx) {
            if (buf[0])
                strcat(buf, ",");
            strcat(buf, names[k]);
        }
    }
    return buf[0] ? json_object_new_string(buf) : NULL;
}

char *pictord_models_json(struct pictord *s)
{
    json_object *root = json_object_new_object(), *data = json_object_new_array();
    size_t n = pictor_jobs_model_count(s->jobs);
    for (size_t i = 0; i < n; i++) {
        const struct pictor_jobs_model *m = pictor_jobs_model_at(s->jobs, i);
        const char *id = m->conf->id, *slash = strchr(id, '/');
        char owner[PICTOR_CONF_ID_LEN] = "pictor";
        if (slash && slash > id)
            snprintf(owner, sizeof owner, "%.*s", (int)(slash - id), id);
        json_object *o = json_object_new_object(), *d = json_object_new_object(),
                    *al = json_object_new_array();
        json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "object", json_object_new_string("model"));
        json_object_object_add(o, "created", json_object_new_int64((int64_t)s->started));
        json_object_object_add(o, "owned_by", json_object_new_string(owner));
        json_object_object_add(o, "family", json_object_new_string(m->family->entry.name));
        json_object_object_add(o, "variant", json_object_new_string(m->probe.variant));
        json_object_object_add(o, "mode", modes_of(s, (int)i));
        for (int a = 0; a < m->conf->n_aliases; a++)
            json_object_array_add(al, json_object_new_string(m->conf->aliases[a]));
        json_object_object_add(o, "aliases", al);
        /* defaults are known once the model is loaded (see /readyz) */
        bool loaded = pictor_jobs_ready(s->jobs);
        json_object_object_add(d, "steps", loaded ? json_object_new_int(m->defaults.steps) : NULL);
        json_object_object_add(d, "guidance",
                               loaded ? json_object_new_double(m->defaults.guidance) : NULL);
        json_object_object_add(d, "scheduler",
                               loaded ? json_object_new_string(m->defaults.scheduler) : NULL);
        json_object_object_add(d, "step_ceiling",
                               loaded ? json_object_new_int(m->defaults.step_ceiling) : NULL);
        if (loaded) {
            char size[32];
            snprintf(size, sizeof size, "%dx%d", m->defaults.default_width,
                     m->defaults.default_height);
            json_object_object_add(d, "size", json_object_new_string(size));
            json_object_object_add(d, "size_granularity",
                                   json_object_new_int(m->defaults.size_granularity));
        }
        json_object_object_add(o, "defaults", d);
        const char *lic = loaded && m->defaults.licence[0] ? m->defaults.licence : m->probe.licence;
        json_object_object_add(o, "licence", json_object_new_string(lic));
        json_object_array_add(data, o);
    }
    json_object_object_add(root, "object", json_object_new_string("list"));
    json_object_object_add(root, "data", data);
    char *s_out = strdup(json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return s_out;
}
