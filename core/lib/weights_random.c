/*
 * core/lib/weights_random.c — see pictor/weights_random.h. A source is the
 * parsed file as a name-sorted table; each entry's data is generated on
 * first get under the source's mutex and kept until close.
 */
#include "pictor/weights_random.h"
#include "pictor/errmsg.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pictor/convert.h"
#include "pictor/status.h"
#include "pictor/tensor_util.h"

/* Below this many elements one thread fills a tensor (thread start-up
 * would cost more than it saves). */
#define WR_MIN_PER_THREAD (1u << 20)
#define WR_MAX_LINE 4096

struct wr_entry {
    char *name;
    int line;
    struct pictor_wrandom_info info;
    void *data; /* NULL until first get */
};

struct pictor_wrandom {
    char *path;
    struct wr_entry *e; /* sorted by name */
    size_t n;
    uint64_t total_bytes, total_params;
    pthread_mutex_t lock;
};

/* ---- the generator --------------------------------------------------------- */

/* FNV-1a, 64-bit (offset basis and prime from the FNV reference). */
static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* splitmix64's output function (Steele, Lea, Flood 2014) on a counter. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1) from the top 24 bits (exact in f32). */
static float unit_value(uint64_t key, uint64_t i)
{
    uint64_t r = mix64(key + (i + 1) * 0x9e3779b97f4a7c15ull);
    return (float)(r >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

struct fill_job {
    const struct pictor_wrandom_info *info;
    uint64_t key;
    void *data;
    uint64_t begin, end; /* element range */
};

#define WR_CHUNK 4096 /* elements converted per pictor_row_from_f32 call */

static void *fill_range(void *arg)
{
    const struct fill_job *j = arg;
    const struct pictor_wrandom_info *in = j->info;
    size_t es = pictor_dtype_size(in->dtype);
    float buf[WR_CHUNK];
    for (uint64_t i = j->begin; i < j->end; i += WR_CHUNK) {
        size_t n = (size_t)(j->end - i < WR_CHUNK ? j->end - i : WR_CHUNK);
        for (size_t k = 0; k < n; k++) {
            switch (in->init) {
            case PICTOR_WRANDOM_ONES: buf[k] = 1.0f; break;
            case PICTOR_WRANDOM_ZEROS: buf[k] = 0.0f; break;
            default: buf[k] = in->bound * unit_value(j->key, i + k); break;
            }
        }
        pictor_row_from_f32((char *)j->data + i * es, in->dtype, buf, n, 1.0f, true);
    }
    return NULL;
}

static int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > PICTOR_WRANDOM_MAX_THREADS ? PICTOR_WRANDOM_MAX_THREADS : (int)n;
}

/* Fills entry data, splitting big tensors over threads; a thread that
 * cannot start leaves its range to the caller's thread. */
static void fill(const struct wr_entry *e, void *data)
{
    uint64_t n = e->info.numel, key = fnv1a64(e->name);
    uint64_t most = n / WR_MIN_PER_THREAD; /* threads worth starting */
    int nt = cpu_count();
    if (most < (uint64_t)nt)
        nt = most > 1 ? (int)most : 1;
    struct fill_job jobs[PICTOR_WRANDOM_MAX_THREADS];
    pthread_t tid[PICTOR_WRANDOM_MAX_THREADS];
    bool started[PICTOR_WRANDOM_MAX_THREADS] = {false};
    for (int t = 0; t < nt; t++) {
        jobs[t] = (struct fill_job){&e->info, key, data, n * (uint64_t)t / (uint64_t)nt,
                                    n * (uint64_t)(t + 1) / (uint64_t)nt};
        if (t > 0)
            started[t] = pthread_create(&tid[t], NULL, fill_range, &jobs[t]) == 0;
    }
    fill_range(&jobs[0]);
    for (int t = 1; t < nt; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            fill_range(&jobs[t]);
    }
}

/* ---- parsing --------------------------------------------------------------- */

int pictor_wrandom_parse_dtype(const char *s)
{
    static const struct { const char *a, *b; int dtype; } names[] = {
        {"f32", "F32", PICTOR_F32}, {"f16", "F16", PICTOR_F16},
        {"bf16", "BF16", PICTOR_BF16}, {"f8_e4m3", "F8_E4M3", PICTOR_F8_E4M3},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].a) || !strcmp(s, names[i].b))
            return names[i].dtype;
    return -1;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* SHAPE "a,b,c" (empty: scalar) into info. */
static int parse_shape(const char *s, struct pictor_wrandom_info *in, const char **why)
{
    in->ndim = 0;
    in->numel = 1;
    if (!*s)
        return 0;
    for (;;) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || errno || v < 0 || (*end && *end != ',')) {
            *why = "shape must be comma-separated integers >= 0";
            return -1;
        }
        if (in->ndim == PICTOR_MAX_DIMS) {
            *why = "shape has more than 5 dims";
            return -1;
        }
        if (v && in->numel > UINT64_MAX / 8 / (uint64_t)v) {
            *why = "shape is too large";
            return -1;
        }
        in->shape[in->ndim++] = v;
        in->numel *= (uint64_t)v;
        if (!*end)
            return 0;
        s = end + 1;
    }
}

/* INIT column into info, resolving auto by name and rank. */
static int parse_init(const char *s, const char *name, struct pictor_wrandom_info *in,
                      const char **why)
{
    uint64_t fan_in = 1;
    for (int d = 1; d < in->ndim; d++)
        fan_in *= (uint64_t)in->shape[d];
    if (!strcmp(s, "auto")) {
        if (in->ndim >= 2)
            s = "fan_in";
        else
            s = ends_with(name, "bias") ? "zeros" : "ones";
    }
    if (!strcmp(s, "fan_in")) {
        in->init = PICTOR_WRANDOM_FAN_IN;
        in->bound = fan_in ? (float)(1.0 / sqrt((double)fan_in)) : 0.0f;
    } else if (!strcmp(s, "ones")) {
        in->init = PICTOR_WRANDOM_ONES;
        in->bound = 1.0f;
    } else if (!strcmp(s, "zeros")) {
        in->init = PICTOR_WRANDOM_ZEROS;
        in->bound = 0.0f;
    } else if (!strncmp(s, "uniform:", 8)) {
        char *end;
        float a = strtof(s + 8, &end);
        if (end == s + 8 || *end || !isfinite(a) || a < 0) {
            *why = "uniform:A needs a finite A >= 0";
            return -1;
        }
        in->init = PICTOR_WRANDOM_UNIFORM;
        in->bound = a;
    } else {
        *why = "init must be auto, fan_in, ones, zeros or uniform:A";
        return -1;
    }
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct wr_entry *)a)->name, ((const struct wr_entry *)b)->name);
}

/* Splits LINE at tabs into at most max fields; returns the count. */
static int split_tabs(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p; p++) {
        if (*p == '\t') {
            if (n == max)
                return max + 1;
            *p = '\0';
            f[n++] = p + 1;
        }
    }
    return n;
}

/* One tensor line into a new table entry. */
static int parse_line(struct pictor_wrandom *w, char *line, int lineno, int ncols, char *err,
                      size_t errlen)
{
    char *f[4];
    const char *why = NULL;
    int n = split_tabs(line, f, 4);
    if (n != ncols)
        return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s:%d: %s%d tab-separated fields, the header "
                    "has %d", w->path, lineno, n > 4 ? "more than " : "", n > 4 ? 4 : n, ncols);
    if (!*f[0])
        return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s:%d: empty tensor name", w->path, lineno);
    struct wr_entry *e = &w->e[w->n];
    memset(e, 0, sizeof *e);
    e->line = lineno;
    e->info.dtype = PICTOR_BF16;
    if (parse_shape(f[1], &e->info, &why))
        return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s:%d: tensor '%s': %s (\"%s\")", w->path,
                    lineno, f[0], why, f[1]);
    if (ncols >= 3 && (e->info.dtype = pictor_wrandom_parse_dtype(f[2])) < 0)
        return pictor_fail(err, errlen, PICTOR_E_UNSUPPORTED,
                    "%s:%d: tensor '%s': dtype \"%s\" (f32, f16, bf16 or f8_e4m3)", w->path,
                    lineno, f[0], f[2]);
    const char *init = ncols >= 4 ? f[3] : "auto";
    if (parse_init(init, f[0], &e->info, &why))
        return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s:%d: tensor '%s': %s (\"%s\")", w->path,
                    lineno, f[0], why, init);
    if (!(e->name = strdup(f[0])))
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", w->path);
    e->info.name = e->name;
    e->info.nbytes = e->info.numel * pictor_dtype_size(e->info.dtype);
    w->total_bytes += e->info.nbytes;
    w->total_params += e->info.numel;
    w->n++;
    return PICTOR_OK;
}

/* Header "name\tshape[\tdtype[\tinit]]": the column count, or -1. */
static int parse_header(char *line)
{
    static const char *const cols[] = {"name", "shape", "dtype", "init"};
    char *f[4];
    int n = split_tabs(line, f, 4);
    if (n < 2 || n > 4)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(f[i], cols[i]))
            return -1;
    return n;
}

static int parse_file(struct pictor_wrandom *w, FILE *fp, char *err, size_t errlen)
{
    char line[WR_MAX_LINE];
    size_t cap = 0;
    int lineno = 0, ncols = 0, rc;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(fp))
            return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s:%d: line longer than %d bytes",
                        w->path, lineno, WR_MAX_LINE - 2);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!len || line[0] == '#')
            continue;
        if (!ncols) {
            if ((ncols = parse_header(line)) < 0)
                return pictor_fail(err, errlen, PICTOR_E_FORMAT,
                            "%s:%d: the header must be name<TAB>shape[<TAB>dtype[<TAB>init]]",
                            w->path, lineno);
            continue;
        }
        if (w->n == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            struct wr_entry *g = realloc(w->e, ncap * sizeof *g);
            if (!g)
                return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", w->path);
            w->e = g;
            cap = ncap;
        }
        if ((rc = parse_line(w, line, lineno, ncols, err, errlen)))
            return rc;
    }
    if (ferror(fp))
        return pictor_fail(err, errlen, PICTOR_E_IO, "%s: read error", w->path);
    if (!ncols)
        return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s: no header line (name<TAB>shape...)",
                    w->path);
    if (!w->n)
        return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s: no tensors listed", w->path);
    qsort(w->e, w->n, sizeof *w->e, entry_cmp);
    for (size_t i = 1; i < w->n; i++)
        if (!strcmp(w->e[i - 1].name, w->e[i].name)) {
            int a = w->e[i - 1].line, b = w->e[i].line;
            return pictor_fail(err, errlen, PICTOR_E_FORMAT, "%s:%d: tensor '%s' is also on line %d",
                        w->path, a > b ? a : b, w->e[i].name, a > b ? b : a);
        }
    return PICTOR_OK;
}

/* ---- open / close / queries -------------------------------------------------- */

static bool is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

bool pictor_wrandom_present(const char *path)
{
    struct stat sb;
    if (!is_dir(path))
        return (ends_with(path, "/" PICTOR_WRANDOM_FILE) || !strcmp(path, PICTOR_WRANDOM_FILE)) &&
               stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", path, PICTOR_WRANDOM_FILE);
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

int pictor_wrandom_open(const char *path, struct pictor_wrandom **out, char *err, size_t errlen)
{
    struct pictor_wrandom *w = calloc(1, sizeof *w);
    FILE *fp = NULL;
    int rc;
    if (!w)
        return pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", path);
    pthread_mutex_init(&w->lock, NULL);
    int len = is_dir(path) ? asprintf(&w->path, "%s/%s", path, PICTOR_WRANDOM_FILE)
                           : asprintf(&w->path, "%s", path);
    if (len < 0) {
        w->path = NULL;
        rc = pictor_fail(err, errlen, PICTOR_E_NOMEM, "%s: out of memory", path);
        goto out_close;
    }
    if (!(fp = fopen(w->path, "r"))) {
        rc = pictor_fail(err, errlen, errno == ENOENT ? PICTOR_E_NOT_FOUND : PICTOR_E_IO, "%s: %s",
                  w->path, strerror(errno));
        goto out_close;
    }
    rc = parse_file(w, fp, err, errlen);
    fclose(fp);
    if (rc != PICTOR_OK)
        goto out_close;
    *out = w;
    return PICTOR_OK;
out_close:
    pictor_wrandom_close(w);
    return rc;
}

void pictor_wrandom_close(struct pictor_wrandom *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->e[i].name);
        free(w->e[i].data);
    }
    free(w->e);
    free(w->path);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static struct wr_entry *lookup(const struct pictor_wrandom *w, const char *name)
{
    struct wr_entry key = {.name = (char *)name};
    return bsearch(&key, w->e, w->n, sizeof *w->e, entry_cmp);
}

const char *pictor_wrandom_path(const struct pictor_wrandom *w)
{
    return w->path;
}

size_t pictor_wrandom_count(const struct pictor_wrandom *w)
{
    return w->n;
}

const char *pictor_wrandom_name(const struct pictor_wrandom *w, size_t i)
{
    return i < w->n ? w->e[i].name : NULL;
}

int pictor_wrandom_info(const struct pictor_wrandom *w, const char *name,
                        struct pictor_wrandom_info *out)
{
    const struct wr_entry *e = lookup(w, name);
    if (!e)
        return PICTOR_E_NOT_FOUND;
    *out = e->info;
    return PICTOR_OK;
}

uint64_t pictor_wrandom_total_bytes(const struct pictor_wrandom *w)
{
    return w->total_bytes;
}

uint64_t pictor_wrandom_total_params(const struct pictor_wrandom *w)
{
    return w->total_params;
}

int pictor_wrandom_fill(const struct pictor_wrandom *w, const char *name, void *dst)
{
    const struct wr_entry *e = lookup(w, name);
    if (!e)
        return PICTOR_E_NOT_FOUND;
    if (e->data)
        memcpy(dst, e->data, (size_t)e->info.nbytes);
    else
        fill(e, dst);
    return PICTOR_OK;
}

int pictor_wrandom_get(struct pictor_wrandom *w, const char *name, pictor_tensor *out)
{
    struct wr_entry *e = lookup(w, name);
    int rc = PICTOR_OK;
    if (!e)
        return PICTOR_E_NOT_FOUND;
    pthread_mutex_lock(&w->lock);
    if (!e->data) {
        /* 64-byte aligned, at least one byte so a zero-size tensor has a
         * non-NULL pointer (as pictor_st_find gives). */
        size_t bytes = (size_t)e->info.nbytes;
        void *p = NULL;
        if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0) {
            rc = PICTOR_E_NOMEM;
        } else {
            fill(e, p);
            e->data = p;
        }
    }
    pthread_mutex_unlock(&w->lock);
    if (rc == PICTOR_OK)
        *out = pictor_tensor_make(e->data, e->info.dtype, e->info.ndim, e->info.shape);
    return rc;
}

static int ws_get(void *ctx, const char *name, struct pictor_tensor *out)
{
    return pictor_wrandom_get(ctx, name, out);
}

static const char *ws_where(void *ctx, const char *name)
{
    (void)name;
    return pictor_wrandom_path(ctx);
}

struct pictor_wsource pictor_wrandom_wsource(struct pictor_wrandom *w)
{
    return (struct pictor_wsource){w, ws_get, ws_where};
}

bool pictor_wrandom_is_wsource(const struct pictor_wsource *src)
{
    return src && src->get == ws_get;
}
