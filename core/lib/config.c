/*
 * core/lib/config.c — pictord.ini and models.d/NAME.ini (pictor/config.h).
 *
 * inih splits lines into sections and key = value pairs; everything else is
 * here. inih's handler gets no line number in the Debian build
 * (INI_HANDLER_LINENO is 0), so the file is fed through our own reader
 * (read_line), which counts lines, sees every section header (inih calls
 * the handler only for keys, so an empty or unknown section would pass
 * unseen), strips leading blanks (an indented key is a key, never an inih
 * continuation line) and refuses a line longer than inih's buffer instead
 * of letting inih split it. The first error stops the reader; its message
 * is "FILE:LINE: what".
 */
#include "pictor/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pictor/model_dir.h"
#include "pictor/status.h"

/* Ranges from the server issue (docs/configuration.md lists them). */
#define THREADS_MIN 1
#define THREADS_MAX 256
#define BODY_LIMIT_MIN 1024L             /* 1 KiB */
#define BODY_LIMIT_MAX (64L << 20)       /* 64 MiB */
#define QUEUE_LENGTH_MAX 10000
#define DRAIN_TIMEOUT_MAX 3600.0         /* seconds */
#define STEPS_MAX 50
#define GUIDANCE_MAX 20.0
#define PORT_MAX 65535
#define CUDA_INDEX_MAX 255
#define DROPIN_DIR "models.d"
#define DROPIN_EXT ".ini"

enum section { SECT_NONE, SECT_SERVER, SECT_MODES, SECT_MODEL };

struct cfg_state {
    struct pictor_server_conf *c;
    const char *name;           /* the file as shown in messages */
    char dir[PATH_MAX];         /* its folder, absolute: relative paths start here */
    bool dropin;                /* models.d file: [model ...] sections only */
    FILE *f;
    char *buf;                  /* getline buffer */
    size_t cap;
    int line;                   /* line last handed to inih */
    enum section sect;
    int sect_line;
    unsigned seen;              /* keys already set in this section (bit = table index) */
    bool server_seen, modes_seen;
    char mode_origin[2][PATH_MAX + 16]; /* "file:line" of realtime, quality */
    int status;
    char *err;
    size_t errlen;
};

/* ---- errors ----------------------------------------------------------- */

/* Records the first error as "ORIGIN: message"; later ones are dropped. */
static void fail_origin(struct cfg_state *s, int status, const char *origin, const char *fmt,
                        va_list ap)
{
    if (s->status != PICTOR_OK)
        return;
    s->status = status;
    if (!s->err || !s->errlen)
        return;
    int n = snprintf(s->err, s->errlen, "%s: ", origin);
    if (n >= 0 && (size_t)n < s->errlen)
        vsnprintf(s->err + n, s->errlen - (size_t)n, fmt, ap);
}

/* A content error at LINE of the current file. */
__attribute__((format(printf, 3, 4)))
static void fail_line(struct cfg_state *s, int line, const char *fmt, ...)
{
    char origin[PATH_MAX + 16];
    snprintf(origin, sizeof origin, "%s:%d", s->name, line);
    va_list ap;
    va_start(ap, fmt);
    fail_origin(s, PICTOR_E_FORMAT, origin, fmt, ap);
    va_end(ap);
}

/* A content error at the line being parsed; returns false for the key setters. */
__attribute__((format(printf, 2, 3)))
static bool fail(struct cfg_state *s, const char *fmt, ...)
{
    char origin[PATH_MAX + 16];
    snprintf(origin, sizeof origin, "%s:%d", s->name, s->line);
    va_list ap;
    va_start(ap, fmt);
    fail_origin(s, PICTOR_E_FORMAT, origin, fmt, ap);
    va_end(ap);
    return false;
}

/* An error not tied to a line (open, read, folder listing). */
__attribute__((format(printf, 4, 5)))
static int fail_file(struct cfg_state *s, int status, const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_origin(s, status, file, fmt, ap);
    va_end(ap);
    return s->status;
}

/* ---- value parsers ---------------------------------------------------- */

static bool copy_str(struct cfg_state *s, const char *key, const char *v, char *dst, size_t n)
{
    if (strlen(v) >= n)
        return fail(s, "%s: value longer than %zu characters", key, n - 1);
    memcpy(dst, v, strlen(v) + 1);
    return true;
}

static bool parse_long(struct cfg_state *s, const char *key, const char *v, long lo, long hi,
                       long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno == ERANGE)
        return fail(s, "%s: '%s' is not an integer", key, v);
    if (x < lo || x > hi)
        return fail(s, "%s: %ld is out of range %ld..%ld", key, x, lo, hi);
    *out = x;
    return true;
}

static bool parse_int(struct cfg_state *s, const char *key, const char *v, int lo, int hi,
                      int *out)
{
    long x;
    if (!parse_long(s, key, v, lo, hi, &x))
        return false;
    *out = (int)x;
    return true;
}

static bool parse_real(struct cfg_state *s, const char *key, const char *v, double lo, double hi,
                       double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !isfinite(x))
        return fail(s, "%s: '%s' is not a number", key, v);
    if (x < lo || x > hi)
        return fail(s, "%s: %g is out of range %g..%g", key, x, lo, hi);
    *out = x;
    return true;
}

static bool in_list(const char *v, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(v, *list) == 0)
            return true;
    return false;
}

static bool parse_enum(struct cfg_state *s, const char *key, const char *v,
                       const char *const *list, const char *allowed, char *dst, size_t n)
{
    if (!in_list(v, list))
        return fail(s, "%s: '%s' is not one of %s", key, v, allowed);
    return copy_str(s, key, v, dst, n);
}

/* V as is when absolute or empty, else joined to the file's folder. */
static bool resolve_path(struct cfg_state *s, const char *key, const char *v, char *dst, size_t n)
{
    if (!*v || v[0] == '/')
        return copy_str(s, key, v, dst, n);
    while (v[0] == '.' && v[1] == '/')
        v += 2;
    int w = snprintf(dst, n, "%s/%s", s->dir, v);
    if (w < 0 || (size_t)w >= n)
        return fail(s, "%s: resolved path longer than %zu characters", key, n - 1);
    return true;
}

/* Ids and aliases: non-empty, printable, no blank and no comma. */
static bool valid_name(const char *v)
{
    if (!*v)
        return false;
    for (; *v; v++)
        if (!isgraph((unsigned char)*v) || *v == ',')
            return false;
    return true;
}

/* Splits a comma list in place: the next trimmed item, or NULL at the end. */
static char *next_item(char **cursor)
{
    char *p = *cursor;
    if (!p)
        return NULL;
    char *comma = strchr(p, ',');
    *cursor = comma ? comma + 1 : NULL;
    if (comma)
        *comma = '\0';
    while (isspace((unsigned char)*p))
        p++;
    char *e = p + strlen(p);
    while (e > p && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return p;
}

/* ---- [server] ----------------------------------------------------------- */

static bool valid_port(const char *p)
{
    if (!*p || strlen(p) > 5)
        return false;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    long port = strtol(p, NULL, 10);
    return port >= 1 && port <= PORT_MAX;
}

/* ADDR:PORT with an IPv4 literal, or [IPv6]:PORT. */
static bool set_listen(struct cfg_state *s, const char *v)
{
    char addr[64];
    const char *port;
    int family = AF_INET;
    if (v[0] == '[') {
        const char *close = strchr(v, ']');
        if (!close || close[1] != ':' || (size_t)(close - v - 1) >= sizeof addr)
            return fail(s, "listen: '%s' is not [IPV6]:PORT", v);
        snprintf(addr, sizeof addr, "%.*s", (int)(close - v - 1), v + 1);
        port = close + 2;
        family = AF_INET6;
    } else {
        const char *colon = strrchr(v, ':');
        if (!colon || (size_t)(colon - v) >= sizeof addr)
            return fail(s, "listen: '%s' is not ADDR:PORT", v);
        snprintf(addr, sizeof addr, "%.*s", (int)(colon - v), v);
        port = colon + 1;
    }
    unsigned char bin[16];
    if (inet_pton(family, addr, bin) != 1)
        return fail(s, "listen: '%s' is not an IPv4 address or a bracketed IPv6 address", addr);
    if (!valid_port(port))
        return fail(s, "listen: port '%s' is not 1..%d", port, PORT_MAX);
    return copy_str(s, "listen", v, s->c->listen, sizeof s->c->listen);
}

static bool valid_device(const char *d)
{
    if (strcmp(d, "cpu") == 0 || strcmp(d, "cuda") == 0)
        return true;
    if (strncmp(d, "cuda:", 5) != 0 || !d[5] || strlen(d + 5) > 3)
        return false;
    for (const char *p = d + 5; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return strtol(d + 5, NULL, 10) <= CUDA_INDEX_MAX;
}

static bool add_device(struct cfg_state *s, const char *d)
{
    struct pictor_server_conf *c = s->c;
    if (!valid_device(d))
        return fail(s, "devices: '%s' is not cpu, cuda or cuda:N", d);
    for (int i = 0; i < c->n_devices; i++)
        if (strcmp(c->devices[i], d) == 0)
            return fail(s, "devices: '%s' is listed twice", d);
    if (c->n_devices == PICTOR_CONF_MAX_DEVICES)
        return fail(s, "devices: more than %d devices", PICTOR_CONF_MAX_DEVICES);
    snprintf(c->devices[c->n_devices++], sizeof c->devices[0], "%s", d);
    return true;
}

static bool set_devices(struct cfg_state *s, const char *v)
{
    char list[INI_MAX_LINE * 4];
    if (!*v)
        return fail(s, "devices: empty list");
    if (!copy_str(s, "devices", v, list, sizeof list))
        return false;
    s->c->n_devices = 0;
    char *cursor = list;
    for (char *d; (d = next_item(&cursor));)
        if (!add_device(s, d))
            return false;
    return true;
}

static bool set_threads(struct cfg_state *s, const char *v)
{
    return parse_int(s, "threads", v, THREADS_MIN, THREADS_MAX, &s->c->threads);
}

static bool set_body_limit(struct cfg_state *s, const char *v)
{
    long x;
    if (!parse_long(s, "body_limit", v, BODY_LIMIT_MIN, BODY_LIMIT_MAX, &x))
        return false;
    s->c->body_limit = (size_t)x;
    return true;
}

static bool set_queue_length(struct cfg_state *s, const char *v)
{
    return parse_int(s, "queue_length", v, 0, QUEUE_LENGTH_MAX, &s->c->queue_length);
}

static bool set_drain_timeout(struct cfg_state *s, const char *v)
{
    return parse_real(s, "drain_timeout", v, 0, DRAIN_TIMEOUT_MAX, &s->c->drain_timeout);
}

static bool set_api_key_file(struct cfg_state *s, const char *v)
{
    return resolve_path(s, "api_key_file", v, s->c->api_key_file, sizeof s->c->api_key_file);
}

static bool set_plugin_dir(struct cfg_state *s, const char *v)
{
    return resolve_path(s, "plugin_dir", v, s->c->plugin_dir, sizeof s->c->plugin_dir);
}

static bool set_state_dir(struct cfg_state *s, const char *v)
{
    return resolve_path(s, "state_dir", v, s->c->state_dir, sizeof s->c->state_dir);
}

/* ---- [modes] ------------------------------------------------------------ */

/* Which model a mode names is checked after every file is read. */
static bool set_mode(struct cfg_state *s, int which, const char *key, const char *v, char *dst)
{
    if (!valid_name(v))
        return fail(s, "%s: '%s' is not a model id or alias", key, v);
    snprintf(s->mode_origin[which], sizeof s->mode_origin[which], "%s:%d", s->name, s->line);
    return copy_str(s, key, v, dst, PICTOR_CONF_ID_LEN);
}

static bool set_realtime(struct cfg_state *s, const char *v)
{
    return set_mode(s, 0, "realtime", v, s->c->realtime);
}

static bool set_quality(struct cfg_state *s, const char *v)
{
    return set_mode(s, 1, "quality", v, s->c->quality);
}

/* ---- [model ID] --------------------------------------------------------- */

static struct pictor_model_conf *cur_model(struct cfg_state *s)
{
    return &s->c->models[s->c->n_models - 1];
}

/* A hub id (ORG/NAME) stays as written; a folder is resolved. */
static bool set_path(struct cfg_state *s, const char *v)
{
    struct pictor_model_conf *m = cur_model(s);
    if (!*v)
        return fail(s, "path: empty");
    if (pictor_hf_is_id(v))
        return copy_str(s, "path", v, m->path, sizeof m->path);
    return resolve_path(s, "path", v, m->path, sizeof m->path);
}

static bool set_plugin(struct cfg_state *s, const char *v)
{
    return copy_str(s, "plugin", v, cur_model(s)->plugin, sizeof cur_model(s)->plugin);
}

static bool set_precision(struct cfg_state *s, const char *v)
{
    static const char *const list[] = {"auto", "fp32", "bf16", "fp16", "fp8", NULL};
    return parse_enum(s, "precision", v, list, "auto, fp32, bf16, fp16, fp8",
                      cur_model(s)->precision, sizeof cur_model(s)->precision);
}

static bool set_scheduler(struct cfg_state *s, const char *v)
{
    static const char *const list[] = {"",    "flow-match-euler", "euler", "euler-a",
                                       "heun", "ddim",            "dpm++", NULL};
    return parse_enum(s, "scheduler", v, list,
                      "flow-match-euler, euler, euler-a, heun, ddim, dpm++ or empty",
                      cur_model(s)->scheduler, sizeof cur_model(s)->scheduler);
}

static bool set_steps(struct cfg_state *s, const char *v)
{
    return parse_int(s, "steps", v, 0, STEPS_MAX, &cur_model(s)->steps);
}

static bool set_step_ceiling(struct cfg_state *s, const char *v)
{
    return parse_int(s, "step_ceiling", v, 0, STEPS_MAX, &cur_model(s)->step_ceiling);
}

static bool set_guidance(struct cfg_state *s, const char *v)
{
    double g = 0;
    if (!parse_real(s, "guidance", v, 0, GUIDANCE_MAX, &g))
        return false;
    cur_model(s)->guidance = (float)g;
    cur_model(s)->has_guidance = true;
    return true;
}

static bool set_warmup(struct cfg_state *s, const char *v)
{
    int w = pictor_warmup_parse(v);
    if (w < 0)
        return fail(s, "warmup: '%s' is not one of auto, true, false", v);
    cur_model(s)->warmup = w;
    return true;
}

/* "… is already defined at FILE:LINE" when NAME is an id or alias in use. */
static bool name_free(struct cfg_state *s, const char *what, const char *name)
{
    const struct pictor_model_conf *other = pictor_config_find_model(s->c, name);
    if (other)
        return fail(s, "%s '%s' is already used by [model %s] at %s", what, name, other->id,
                    other->origin);
    return true;
}

static bool add_alias(struct cfg_state *s, const char *a)
{
    struct pictor_model_conf *m = cur_model(s);
    if (!valid_name(a) || strlen(a) >= PICTOR_CONF_ID_LEN)
        return fail(s, "aliases: '%s' is not a valid alias (no blanks, under %d characters)", a,
                    PICTOR_CONF_ID_LEN);
    if (m->n_aliases == PICTOR_CONF_MAX_ALIASES)
        return fail(s, "aliases: more than %d aliases", PICTOR_CONF_MAX_ALIASES);
    if (!name_free(s, "alias", a))
        return false;
    snprintf(m->aliases[m->n_aliases++], PICTOR_CONF_ID_LEN, "%s", a);
    return true;
}

static bool set_aliases(struct cfg_state *s, const char *v)
{
    char list[INI_MAX_LINE * 4];
    if (!*v)
        return true; /* "aliases =": none */
    if (!copy_str(s, "aliases", v, list, sizeof list))
        return false;
    char *cursor = list;
    for (char *a; (a = next_item(&cursor));)
        if (!add_alias(s, a))
            return false;
    return true;
}

/* ---- key tables ---------------------------------------------------------- */

struct key_def {
    const char *name;
    bool (*set)(struct cfg_state *s, const char *v);
};

static const struct key_def server_keys[] = {
    {"listen", set_listen},
    {"threads", set_threads},
    {"body_limit", set_body_limit},
    {"queue_length", set_queue_length},
    {"drain_timeout", set_drain_timeout},
    {"api_key_file", set_api_key_file},
    {"plugin_dir", set_plugin_dir},
    {"state_dir", set_state_dir},
    {"devices", set_devices},
    {NULL, NULL},
};

static const struct key_def mode_keys[] = {
    {"realtime", set_realtime},
    {"quality", set_quality},
    {NULL, NULL},
};

static const struct key_def model_keys[] = {
    {"path", set_path},
    {"plugin", set_plugin},
    {"precision", set_precision},
    {"steps", set_steps},
    {"guidance", set_guidance},
    {"scheduler", set_scheduler},
    {"step_ceiling", set_step_ceiling},
    {"aliases", set_aliases},
    {"warmup", set_warmup},
    {NULL, NULL},
};

static const struct key_def *section_keys(enum section sect)
{
    switch (sect) {
    case SECT_SERVER: return server_keys;
    case SECT_MODES: return mode_keys;
    case SECT_MODEL: return model_keys;
    default: return NULL;
    }
}

/* ---- sections ------------------------------------------------------------ */

/* Checks that need the whole section: a model has a path, steps fit the ceiling. */
static void end_section(struct cfg_state *s)
{
    if (s->sect != SECT_MODEL || s->status != PICTOR_OK)
        return;
    const struct pictor_model_conf *m = cur_model(s);
    if (!m->path[0])
        fail_line(s, s->sect_line, "[model %s] has no path", m->id);
    else if (m->steps && m->step_ceiling && m->steps > m->step_ceiling)
        fail_line(s, s->sect_line, "[model %s]: steps %d exceeds step_ceiling %d", m->id,
                  m->steps, m->step_ceiling);
}

static bool begin_model(struct cfg_state *s, const char *id)
{
    struct pictor_server_conf *c = s->c;
    if (!valid_name(id) || strlen(id) >= PICTOR_CONF_ID_LEN)
        return fail(s, "[model %s]: the id must be one word under %d characters", id,
                    PICTOR_CONF_ID_LEN);
    if (!name_free(s, "model id", id))
        return false;
    if (c->n_models == PICTOR_CONF_MAX_MODELS)
        return fail(s, "more than %d models", PICTOR_CONF_MAX_MODELS);
    struct pictor_model_conf *m = &c->models[c->n_models++];
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", id);
    snprintf(m->precision, sizeof m->precision, "auto");
    snprintf(m->origin, sizeof m->origin, "%s:%d", s->name, s->line);
    s->sect = SECT_MODEL;
    return true;
}

static bool begin_single(struct cfg_state *s, enum section sect, bool *seen, const char *name)
{
    if (s->dropin)
        return fail(s, "[%s] belongs in the main file; %s/ holds [model ID] sections only",
                    name, DROPIN_DIR);
    if (*seen)
        return fail(s, "[%s] appears twice", name);
    *seen = true;
    s->sect = sect;
    return true;
}

/* NAME is what stands between the brackets, unstripped (as inih sees it). */
static void begin_section(struct cfg_state *s, const char *name)
{
    end_section(s);
    if (s->status != PICTOR_OK)
        return;
    s->sect = SECT_NONE;
    s->sect_line = s->line;
    s->seen = 0;
    if (strcmp(name, "server") == 0)
        begin_single(s, SECT_SERVER, &s->server_seen, name);
    else if (strcmp(name, "modes") == 0)
        begin_single(s, SECT_MODES, &s->modes_seen, name);
    else if (strncmp(name, "model", 5) == 0 && (name[5] == ' ' || name[5] == '\t')) {
        const char *id = name + 5;
        while (*id == ' ' || *id == '\t')
            id++;
        begin_model(s, id);
    } else
        fail(s, "unknown section [%s] (expected [server], [modes] or [model ID])", name);
}

/* ---- inih glue ------------------------------------------------------------ */

/* The section header on LINE (first character '['), if it is complete. */
static void scan_section(struct cfg_state *s, const char *line)
{
    const char *close = strchr(line, ']');
    if (!close)
        return; /* inih reports the syntax error */
    char name[PICTOR_CONF_ID_LEN + 16];
    if ((size_t)(close - line - 1) >= sizeof name) {
        fail(s, "section name longer than %zu characters", sizeof name - 1);
        return;
    }
    snprintf(name, sizeof name, "%.*s", (int)(close - line - 1), line + 1);
    begin_section(s, name);
}

/* inih's fgets: one whole line per call, counted, blanks stripped in front. */
static char *read_line(char *str, int num, void *stream)
{
    struct cfg_state *s = stream;
    if (s->status != PICTOR_OK)
        return NULL;
    ssize_t n = getline(&s->buf, &s->cap, s->f);
    if (n < 0)
        return NULL;
    s->line++;
    char *p = s->buf;
    if (s->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* UTF-8 byte order mark */
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strlen(p);
    if (len + 1 > (size_t)num) {
        fail(s, "line longer than %d characters", num - 3);
        return NULL;
    }
    if (*p == '[')
        scan_section(s, p);
    memcpy(str, p, len + 1);
    return str;
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
    struct cfg_state *s = user;
    (void)section; /* the reader tracks sections (see begin_section) */
    if (s->status != PICTOR_OK)
        return 0;
    const struct key_def *keys = section_keys(s->sect);
    if (!keys)
        return fail(s, "key '%s' outside a section", key);
    for (int i = 0; keys[i].name; i++) {
        if (strcmp(keys[i].name, key) != 0)
            continue;
        if (s->seen & (1u << i))
            return fail(s, "key '%s' set twice in this section", key);
        s->seen |= 1u << i;
        return keys[i].set(s, value);
    }
    if (s->sect == SECT_MODEL)
        return fail(s, "unknown key '%s' in [model %s]", key, cur_model(s)->id);
    return fail(s, "unknown key '%s' in [%s]", key, s->sect == SECT_SERVER ? "server" : "modes");
}

/* ---- files -------------------------------------------------------------- */

/* DIR: the folder of FILE, absolute (not resolving links, so a linked file's
 * models.d is the one beside the link). */
static int folder_of(const char *file, char *dir, size_t len)
{
    const char *slash = strrchr(file, '/');
    char cwd[PATH_MAX];
    int w;
    if (file[0] == '/')
        w = snprintf(dir, len, "%.*s", (int)(slash - file), file);
    else if (!getcwd(cwd, sizeof cwd))
        return PICTOR_E_IO;
    else if (slash)
        w = snprintf(dir, len, "%s/%.*s", cwd, (int)(slash - file), file);
    else
        w = snprintf(dir, len, "%s", cwd);
    if (w < 0 || (size_t)w >= len)
        return PICTOR_E_INVALID;
    if (!dir[0])
        snprintf(dir, len, "/");
    return PICTOR_OK;
}

static int parse_file(struct cfg_state *s, const char *file, bool dropin)
{
    s->name = file;
    s->dropin = dropin;
    s->line = 0;
    s->sect = SECT_NONE;
    if (folder_of(file, s->dir, sizeof s->dir) != PICTOR_OK)
        return fail_file(s, PICTOR_E_IO, file, "cannot find the file's folder");
    s->f = fopen(file, "r");
    if (!s->f)
        return fail_file(s, PICTOR_E_IO, file, "cannot open: %s", strerror(errno));
    int bad = ini_parse_stream(read_line, s, on_key, s);
    if (bad > 0 && s->status == PICTOR_OK)
        fail_line(s, bad, "expected [section] or key = value");
    else if (s->status == PICTOR_OK && ferror(s->f))
        fail_file(s, PICTOR_E_IO, file, "read error");
    else if (bad == -2 && s->status == PICTOR_OK)
        fail_file(s, PICTOR_E_NOMEM, file, "out of memory");
    end_section(s);
    fclose(s->f);
    s->f = NULL;
    return s->status;
}

static int is_dropin(const struct dirent *e)
{
    size_t n = strlen(e->d_name), k = strlen(DROPIN_EXT);
    return e->d_name[0] != '.' && n > k && strcmp(e->d_name + n - k, DROPIN_EXT) == 0;
}

/* Byte order, whatever the locale. */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* MAIN's folder's models.d/NAME.ini in name order; no models.d is fine. */
static int parse_dropins(struct cfg_state *s, const char *main_file)
{
    char dir[PATH_MAX], file[PATH_MAX];
    const char *slash = strrchr(main_file, '/');
    int w = slash ? snprintf(dir, sizeof dir, "%.*s/%s", (int)(slash - main_file), main_file,
                             DROPIN_DIR)
                  : snprintf(dir, sizeof dir, "%s", DROPIN_DIR);
    if (w < 0 || (size_t)w >= sizeof dir)
        return fail_file(s, PICTOR_E_INVALID, main_file, "path too long");
    struct dirent **list = NULL;
    int n = scandir(dir, &list, is_dropin, by_name);
    if (n < 0)
        return errno == ENOENT ? PICTOR_OK
                               : fail_file(s, PICTOR_E_IO, dir, "cannot list: %s", strerror(errno));
    for (int i = 0; i < n && s->status == PICTOR_OK; i++) {
        w = snprintf(file, sizeof file, "%s/%s", dir, list[i]->d_name);
        if (w < 0 || (size_t)w >= sizeof file)
            fail_file(s, PICTOR_E_INVALID, dir, "path too long");
        else
            parse_file(s, file, true);
    }
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
    return s->status;
}

/* Modes may name a model defined in any file, so they are checked last. */
static int check_modes(struct cfg_state *s)
{
    const char *names[2] = {s->c->realtime, s->c->quality};
    const char *keys[2] = {"realtime", "quality"};
    for (int i = 0; i < 2; i++) {
        if (!names[i][0] || pictor_config_find_model(s->c, names[i]))
            continue;
        return fail_file(s, PICTOR_E_FORMAT, s->mode_origin[i],
                         "%s = %s names no [model] id or alias", keys[i], names[i]);
    }
    return PICTOR_OK;
}

/* ---- public --------------------------------------------------------------- */

int pictor_warmup_parse(const char *s)
{
    static const char *const names[PICTOR_WARMUP_COUNT] = {
        [PICTOR_WARMUP_AUTO] = "auto", [PICTOR_WARMUP_ON] = "true", [PICTOR_WARMUP_OFF] = "false"};
    for (int i = 0; s && i < PICTOR_WARMUP_COUNT; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void pictor_config_defaults(struct pictor_server_conf *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8080");
    c->threads = 8;
    c->body_limit = 65536;
    c->queue_length = 16;
    c->drain_timeout = 30;
    snprintf(c->devices[0], sizeof c->devices[0], "cpu");
    c->n_devices = 1;
}

int pictor_config_load(const char *file, struct pictor_server_conf *c, char *err, size_t errlen)
{
    struct cfg_state *s = calloc(1, sizeof *s);
    if (err && errlen)
        err[0] = '\0';
    if (!s) {
        if (err && errlen)
            snprintf(err, errlen, "%s: out of memory", file);
        return PICTOR_E_NOMEM;
    }
    s->c = c;
    s->err = err;
    s->errlen = errlen;
    pictor_config_defaults(c);
    int status = parse_file(s, file, false);
    if (status != PICTOR_OK)
        goto cleanup;
    status = parse_dropins(s, file);
    if (status != PICTOR_OK)
        goto cleanup;
    status = check_modes(s);
cleanup:
    free(s->buf);
    free(s);
    return status;
}

const struct pictor_model_conf *pictor_config_find_model(const struct pictor_server_conf *c,
                                                         const char *id_or_alias)
{
    if (!c || !id_or_alias)
        return NULL;
    for (int i = 0; i < c->n_models; i++) {
        const struct pictor_model_conf *m = &c->models[i];
        if (strcmp(m->id, id_or_alias) == 0)
            return m;
        for (int j = 0; j < m->n_aliases; j++)
            if (strcmp(m->aliases[j], id_or_alias) == 0)
                return m;
    }
    return NULL;
}
