/*
 * pictor/config.h — pictord's configuration: `etc/pictor/pictord.ini` plus
 * drop-in `models.d/NAME.ini` files next to it (read in name order), parsed
 * with inih. Strict: an unknown section or key, a bad value, a duplicate
 * model id or alias, or a mode naming no model is one error message with
 * the file and line, and pictord refuses to start.
 *
 * Sections and keys (docs/configuration.md is the operator's page):
 *   [server]  listen = 127.0.0.1:8080      threads = 8
 *             body_limit = 65536           queue_length = 16
 *             drain_timeout = 30           (seconds)
 *             api_key_file = /etc/pictor/api-keys   (absent: open server)
 *             plugin_dir = /usr/lib/pictor/plugins  state_dir = /var/lib/pictor
 *             devices = cpu | cuda | cuda:0,cuda:1
 *   [modes]   realtime = MODEL_ID          quality = MODEL_ID
 *   [model ID]  (one section per model; ID like black-forest-labs/FLUX.1-schnell)
 *             path = DIR | ORG/NAME (HF cache id)   plugin = flux (optional:
 *             probe decides) precision = auto|fp32|bf16|fp16|fp8
 *             steps = 4   guidance = 0.0   scheduler = flow-match-euler
 *             step_ceiling = 4   aliases = schnell, flux-fast
 *             warmup = auto|true|false  (one generation at the model's
 *             default size and steps before pictord reports ready; auto:
 *             on GPU devices, not on the CPU)
 * Relative paths are relative to the folder of the file that names them
 * (made absolute; a path of the form ORG/NAME is a hub id: write ./ORG/NAME
 * for a folder). A model's steps may not exceed its step_ceiling.
 * Thread: any (pure parsing into the caller's struct).
 */
#ifndef PICTOR_CONFIG_H
#define PICTOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define PICTOR_CONF_MAX_MODELS 32
#define PICTOR_CONF_MAX_ALIASES 8
#define PICTOR_CONF_MAX_DEVICES 8
#define PICTOR_CONF_ID_LEN 128
#define PICTOR_CONF_PATH_LEN 4096

/* A model's warm-up generation at load (docs/configuration.md). */
enum pictor_warmup {
    PICTOR_WARMUP_AUTO = 0, /* on GPU workers (library load, plan search), off on the CPU */
    PICTOR_WARMUP_ON,
    PICTOR_WARMUP_OFF,
    PICTOR_WARMUP_COUNT
};

struct pictor_model_conf {
    char id[PICTOR_CONF_ID_LEN];
    char path[PICTOR_CONF_PATH_LEN];
    char plugin[64];        /* "" = decided by probe */
    char precision[16];     /* "auto" default */
    int steps;              /* 0 = the family's default */
    float guidance;         /* used when has_guidance */
    bool has_guidance;
    char scheduler[32];     /* "" = the family's default */
    int step_ceiling;       /* 0 = the family's ceiling */
    int warmup;             /* enum pictor_warmup; 0 (auto) by default */
    char aliases[PICTOR_CONF_MAX_ALIASES][PICTOR_CONF_ID_LEN];
    int n_aliases;
    char origin[PICTOR_CONF_PATH_LEN + 16]; /* "file:line" of the section */
};

struct pictor_server_conf {
    char listen[128];         /* "ADDR:PORT" */
    int threads;              /* HTTP threads */
    size_t body_limit;        /* bytes */
    int queue_length;         /* queued jobs beyond the running ones */
    double drain_timeout;     /* seconds */
    char api_key_file[PICTOR_CONF_PATH_LEN]; /* "" = no auth */
    char plugin_dir[PICTOR_CONF_PATH_LEN];   /* "" = next to the program */
    char state_dir[PICTOR_CONF_PATH_LEN];    /* "" = keep nothing; GPU workers
                                                keep cuBLASLt algorithm choices
                                                there (docs/configuration.md) */
    char devices[PICTOR_CONF_MAX_DEVICES][32];
    int n_devices;
    char realtime[PICTOR_CONF_ID_LEN]; /* model id or alias */
    char quality[PICTOR_CONF_ID_LEN];
    struct pictor_model_conf models[PICTOR_CONF_MAX_MODELS];
    int n_models;
};

/* "auto", "true" or "false" as enum pictor_warmup; -1 for anything else. */
int pictor_warmup_parse(const char *s);

/* Defaults: listen 127.0.0.1:8080, threads 8, body_limit 65536,
 * queue_length 16, drain_timeout 30, devices {"cpu"}, no models. */
void pictor_config_defaults(struct pictor_server_conf *c);

/* Fills *C with the defaults, then parses FILE and then every
 * models.d/NAME.ini beside FILE (names not starting with '.', byte order;
 * no models.d is fine). Drop-ins hold [model ID] sections only. Modes are
 * checked once every file is read. Returns PICTOR_OK; PICTOR_E_FORMAT for
 * bad content with "FILE:LINE: message" in ERR; PICTOR_E_IO when a file or
 * models.d cannot be read ("FILE: message"). On error *C is partly filled
 * and must not be used. Lines are limited to inih's buffer (200 bytes in
 * Debian's build); a longer line is an error, never silently split. */
int pictor_config_load(const char *file, struct pictor_server_conf *c, char *err,
                       size_t errlen);

/* The model with this id or alias, or NULL. */
const struct pictor_model_conf *pictor_config_find_model(const struct pictor_server_conf *c,
                                                         const char *id_or_alias);

#endif /* PICTOR_CONFIG_H */
