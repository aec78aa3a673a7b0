/* core/lib/check.c — fixture case runner; see pictor/check.h. */
#include "pictor/check.h"

#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pictor/backend_cuda.h"
#include "pictor/convert.h"
#include "pictor/ops.h"
#include "pictor/safetensors.h"
#include "pictor/tensor_util.h"

#define CHECK_MAX_OUTPUTS 512
/* Bounds at reduced precision (docs/fixtures.md). */
#define CHECK_REL_L2_HALF 1e-2
#define CHECK_REL_L2_FP8 3e-2
#define CHECK_MAX_ABS_FRACTION 0.1
/* At bf16/fp16/fp8 a case may record how far the reference implementation
 * itself lands from its float64 expected output at that precision
 * ("reference_error", tools/fixtures/generate.py --reference-error; fp8:
 * the FP8 linears emulated over f32 activations); pictor may then be this
 * much worse than the reference, never less than the project's bound. */
#define CHECK_REFERENCE_MARGIN 1.25

struct check_output {
    char *name;
    int dtype; /* PICTOR_F32 or PICTOR_I64 */
    int ndim;
    int64_t shape[PICTOR_MAX_DIMS];
    void *data;
};

struct check_ctx {
    struct pictor_st *inputs; /* may be NULL */
    pictor_backend *be;
    struct check_output out[CHECK_MAX_OUTPUTS];
    int n_out;
    char err[1024];
};

const char *pictor_precision_name(int p)
{
    static const char *const names[PICTOR_PRECISION_COUNT] = {"fp32", "bf16", "fp16", "fp8"};
    return p >= 0 && p < PICTOR_PRECISION_COUNT ? names[p] : "?";
}

int pictor_precision_parse(const char *s)
{
    for (int p = 0; p < PICTOR_PRECISION_COUNT; p++)
        if (strcmp(s, pictor_precision_name(p)) == 0)
            return p;
    return -1;
}

int pictor_precision_offered(const struct pictor_backend *be, int precision, char *err,
                             size_t errlen)
{
    int sm = pictor_backend_cuda_sm(be);
    if (precision != PICTOR_PRECISION_FP8 || pictor_backend_device(be) == PICTOR_DEVICE_CPU ||
        sm >= PICTOR_FP8_MIN_SM)
        return PICTOR_OK;
    snprintf(err, errlen, "precision fp8 needs FP8 tensor cores (compute capability 8.9 or "
             "newer); this GPU is %d.%d: use bf16 or auto", sm / 10, sm % 10);
    return PICTOR_E_UNSUPPORTED;
}

int pictor_precision_auto(const struct pictor_backend *be)
{
    if (pictor_backend_device(be) == PICTOR_DEVICE_CPU)
        return PICTOR_PRECISION_FP32;
    return pictor_backend_cuda_sm(be) >= PICTOR_FP8_MIN_SM ? PICTOR_PRECISION_FP8
                                                           : PICTOR_PRECISION_BF16;
}

static int io_get_input(void *vctx, const char *name, pictor_tensor *t)
{
    struct check_ctx *c = vctx;
    if (!c->inputs)
        return PICTOR_E_NOT_FOUND;
    return pictor_st_find(c->inputs, name, t);
}

/* Copies any tensor (any device, any strides) into a host f32/i64 array. */
static int io_put_output(void *vctx, const char *name, const pictor_tensor *t)
{
    struct check_ctx *c = vctx;
    if (c->n_out >= CHECK_MAX_OUTPUTS)
        return PICTOR_E_INVALID;
    for (int i = 0; i < c->n_out; i++)
        if (strcmp(c->out[i].name, name) == 0)
            return PICTOR_E_INVALID;
    bool ints = t->dtype == PICTOR_I32 || t->dtype == PICTOR_I64;
    int64_t n = pictor_tensor_numel(t);
    struct check_output *o = &c->out[c->n_out];
    memset(o, 0, sizeof *o);
    o->dtype = ints ? PICTOR_I64 : PICTOR_F32;
    o->ndim = t->ndim;
    memcpy(o->shape, t->shape, sizeof o->shape);
    o->name = strdup(name);
    o->data = malloc((size_t)(n ? n : 1) * 8);
    pictor_tensor dev = {0};
    int rc = PICTOR_E_NOMEM;
    if (!o->name || !o->data)
        goto fail;
    /* Gather on the tensor's own device into a contiguous copy of the
     * output dtype, then download. */
    if (t->device != PICTOR_DEVICE_CPU) {
        if ((rc = pictor_tensor_alloc(c->be, &dev, o->dtype, t->ndim, t->shape)) ||
            (rc = pictor_copy(c->be, t, &dev)) ||
            (rc = pictor_backend_download(c->be, o->data, dev.data,
                                          pictor_tensor_nbytes(&dev))))
            goto fail;
        pictor_tensor_free(c->be, &dev);
    } else {
        /* A host tensor (host-side components: RNG, schedulers, tokenizers,
         * whatever the backend): gathered here, not by the backend, which
         * may be a GPU's. */
        size_t es = pictor_dtype_size(t->dtype);
        for (int64_t i = 0; i < n; i++) {
            int64_t off = 0, rem = i;
            for (int d = t->ndim - 1; d >= 0; d--) {
                off += (rem % t->shape[d]) * t->stride[d];
                rem /= t->shape[d];
            }
            const char *src = (const char *)t->data + (size_t)off * es;
            if (ints)
                ((int64_t *)o->data)[i] = t->dtype == PICTOR_I64 ? *(const int64_t *)src
                                                                 : *(const int32_t *)src;
            else
                pictor_row_to_f32((float *)o->data + i, src, t->dtype, 1, t->scale);
        }
    }
    c->n_out++;
    return PICTOR_OK;
fail:
    pictor_tensor_free(c->be, &dev);
    free(o->name);
    free(o->data);
    memset(o, 0, sizeof *o);
    return rc;
}

struct judged {
    double rel_l2, max_abs;
    bool pass;
};

static void judge_float(const float *out, const pictor_tensor *exp, const float *e,
                        int64_t n, double tol_rel, double tol_abs, struct judged *j)
{
    double num = 0, den = 0, mx = 0;
    bool nan = false;
    (void)exp;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)out[i] - (double)e[i];
        if (isnan(out[i]) || isnan(e[i]))
            nan = true;
        num += d * d;
        den += (double)e[i] * e[i];
        if (fabs(d) > mx)
            mx = fabs(d);
    }
    j->rel_l2 = den > 0 ? sqrt(num / den) : (num > 0 ? INFINITY : 0);
    j->max_abs = mx;
    if (nan) {
        j->rel_l2 = NAN;
        j->max_abs = NAN;
    }
    j->pass = !nan && j->rel_l2 <= tol_rel && j->max_abs <= tol_abs;
}

static void json_num(FILE *f, double v)
{
    if (isnan(v))
        fputs("null", f);
    else if (isinf(v))
        fputs("1e999", f);
    else
        fprintf(f, "%.3g", v);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static int fail2(FILE *out, const char *case_name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail2(FILE *out, const char *case_name, const char *fmt, ...)
{
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "pictor check: %s: %s\n", case_name, msg);
    fputs("{\"case\":", out);
    json_str(out, case_name);
    fputs(",\"error\":", out);
    json_str(out, msg);
    fputs(",\"pass\":false}\n", out);
    return 2;
}

static const char *json_get_str(struct json_object *o, const char *k)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static double json_get_num(struct json_object *o, const char *k, double dflt)
{
    struct json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v))
        return dflt;
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return dflt;
    return json_object_get_double(v);
}

static pictor_eval_fn find_component(const struct pictor_check_component *t, size_t n,
                                     const char *name)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(t[i].name);
        bool prefix = len && t[i].name[len - 1] == '.';
        if ((!prefix && strcmp(t[i].name, name) == 0) ||
            (prefix && strncmp(t[i].name, name, len) == 0 && name[len] != '\0'))
            return t[i].fn;
    }
    return NULL;
}

/* "dir/file" into buf, or NULL if rel is NULL/empty/"-"/"–". */
static const char *case_path(char *buf, size_t len, const char *dir, const char *rel)
{
    if (!rel || !*rel || strcmp(rel, "-") == 0 || strcmp(rel, "\xe2\x80\x93") == 0)
        return NULL;
    if (rel[0] == '/')
        snprintf(buf, len, "%s", rel);
    else
        snprintf(buf, len, "%s/%s", dir, rel);
    return buf;
}

static int compare_all(struct check_ctx *c, struct pictor_st *expected,
                       double tol_rel, double tol_abs_case, int precision,
                       const char *case_name, FILE *out, bool *pass_all,
                       char *report, size_t report_len)
{
    size_t used = 0;
    *pass_all = true;
    size_t n = pictor_st_count(expected);
    if (n == 0)
        return fail2(out, case_name, "expected.safetensors holds no tensor");
    for (size_t i = 0; i < n; i++) {
        const char *name = pictor_st_name(expected, i);
        pictor_tensor e;
        if (pictor_st_find(expected, name, &e) != PICTOR_OK)
            return fail2(out, case_name, "cannot read expected tensor '%s'", name);
        struct check_output *o = NULL;
        for (int k = 0; k < c->n_out; k++)
            if (strcmp(c->out[k].name, name) == 0)
                o = &c->out[k];
        if (!o)
            return fail2(out, case_name, "the component produced no output '%s'", name);
        bool same = o->ndim == e.ndim;
        for (int d = 0; same && d < e.ndim; d++)
            same = o->shape[d] == e.shape[d];
        if (!same) {
            char a[96], b[96];
            pictor_tensor ot = pictor_tensor_make(o->data, o->dtype, o->ndim, o->shape);
            return fail2(out, case_name, "output '%s' has shape %s, expected %s", name,
                         pictor_tensor_describe(&ot, a, sizeof a),
                         pictor_tensor_describe(&e, b, sizeof b));
        }
        int64_t cnt = pictor_tensor_numel(&e);
        struct judged j = {0};
        if (e.dtype == PICTOR_I64 || e.dtype == PICTOR_I32) {
            int64_t bad = 0;
            const int64_t *ov = o->data;
            for (int64_t k = 0; k < cnt; k++) {
                int64_t ev = e.dtype == PICTOR_I64 ? ((const int64_t *)e.data)[k]
                                                   : ((const int32_t *)e.data)[k];
                if (o->dtype != PICTOR_I64 || ov[k] != ev)
                    bad++;
            }
            j.rel_l2 = cnt ? (double)bad / (double)cnt : 0;
            j.max_abs = (double)bad;
            j.pass = bad == 0;
        } else {
            if (o->dtype != PICTOR_F32)
                return fail2(out, case_name, "output '%s' is integer, expected float", name);
            bool owned = false;
            float *ef = malloc((size_t)(cnt ? cnt : 1) * sizeof *ef);
            if (!ef)
                return fail2(out, case_name, "out of memory");
            pictor_row_to_f32(ef, e.data, e.dtype, (size_t)cnt, 1.0f);
            (void)owned;
            double tol_abs = tol_abs_case;
            if (precision != PICTOR_PRECISION_FP32) {
                double emax = 0;
                for (int64_t k = 0; k < cnt; k++)
                    emax = fmax(emax, fabs(ef[k]));
                tol_abs = fmax(tol_abs, CHECK_MAX_ABS_FRACTION * emax);
            }
            judge_float(o->data, &e, ef, cnt, tol_rel, tol_abs, &j);
            free(ef);
        }
        if (!j.pass)
            *pass_all = false;
        /* report fragment */
        FILE *mem = fmemopen(report + used, report_len - used, "w");
        if (mem) {
            fprintf(mem, "%s", i ? "," : "");
            json_str(mem, name);
            fputs(":{\"rel_l2\":", mem);
            json_num(mem, j.rel_l2);
            fputs(",\"max_abs\":", mem);
            json_num(mem, j.max_abs);
            fprintf(mem, ",\"pass\":%s}", j.pass ? "true" : "false");
            long pos = ftell(mem);
            fclose(mem);
            if (pos > 0)
                used += (size_t)pos;
            if (used >= report_len)
                used = report_len - 1;
        }
    }
    return 0;
}

/* Writes the outputs gathered so far as a safetensors file (F32 / I64,
 * little-endian hosts) and frees them, for --against. */
static int save_outputs(struct check_ctx *c, const char *path)
{
    struct json_object *hdr = json_object_new_object();
    size_t off = 0;
    int rc = PICTOR_E_IO;
    for (int i = 0; hdr && i < c->n_out; i++) {
        struct check_output *o = &c->out[i];
        pictor_tensor t = pictor_tensor_make(o->data, o->dtype, o->ndim, o->shape);
        struct json_object *e = json_object_new_object(), *sh = json_object_new_array(),
                           *offs = json_object_new_array();
        for (int d = 0; d < o->ndim; d++)
            json_object_array_add(sh, json_object_new_int64(o->shape[d]));
        json_object_array_add(offs, json_object_new_int64((int64_t)off));
        off += pictor_tensor_nbytes(&t);
        json_object_array_add(offs, json_object_new_int64((int64_t)off));
        json_object_object_add(e, "dtype", json_object_new_string(o->dtype == PICTOR_I64 ? "I64"
                                                                                         : "F32"));
        json_object_object_add(e, "shape", sh);
        json_object_object_add(e, "data_offsets", offs);
        json_object_object_add(hdr, o->name, e);
    }
    const char *h = hdr ? json_object_to_json_string_ext(hdr, JSON_C_TO_STRING_PLAIN) : NULL;
    FILE *f = h ? fopen(path, "wb") : NULL;
    if (f) {
        uint64_t n = strlen(h);
        bool ok = fwrite(&n, 8, 1, f) == 1 && fwrite(h, 1, n, f) == n;
        for (int i = 0; ok && i < c->n_out; i++) {
            pictor_tensor t = pictor_tensor_make(c->out[i].data, c->out[i].dtype,
                                                 c->out[i].ndim, c->out[i].shape);
            size_t nb = pictor_tensor_nbytes(&t);
            ok = fwrite(t.data, 1, nb, f) == nb;
        }
        rc = fclose(f) == 0 && ok ? PICTOR_OK : PICTOR_E_IO;
    }
    json_object_put(hdr);
    for (int i = 0; i < c->n_out; i++) {
        free(c->out[i].name);
        free(c->out[i].data);
    }
    c->n_out = 0;
    return rc;
}

int pictor_check_run(const char *case_dir, const struct pictor_check_options *opt,
                     const struct pictor_check_component *table, size_t n_table,
                     FILE *out)
{
    char path[PATH_MAX], model_buf[PATH_MAX], inputs_buf[PATH_MAX], exp_buf[PATH_MAX];
    char dir_copy[PATH_MAX], abs_model[PATH_MAX], against_path[PATH_MAX] = "";
    snprintf(dir_copy, sizeof dir_copy, "%s", case_dir);
    size_t dl = strlen(dir_copy);
    while (dl > 1 && dir_copy[dl - 1] == '/')
        dir_copy[--dl] = '\0';
    const char *case_name = basename(dir_copy);
    char case_name_buf[256];
    snprintf(case_name_buf, sizeof case_name_buf, "%s", case_name);
    snprintf(dir_copy, sizeof dir_copy, "%s", case_dir);
    case_name = case_name_buf;

    struct check_ctx *c = calloc(1, sizeof *c);
    struct json_object *root = NULL;
    struct pictor_st *expected = NULL;
    char *report = NULL;
    int code = 2;
    if (!c)
        return fail2(out, case_name, "out of memory");
    c->be = opt->backend;

    snprintf(path, sizeof path, "%s/case.json", case_dir);
    root = json_object_from_file(path);
    if (!root || !json_object_is_type(root, json_type_object)) {
        code = fail2(out, case_name, "%s: missing or not a JSON object", path);
        goto done;
    }
    const char *component = json_get_str(root, "component");
    if (!component) {
        code = fail2(out, case_name, "%s: no \"component\" string", path);
        goto done;
    }
    pictor_eval_fn fn = find_component(table, n_table, component);
    if (!fn) {
        code = fail2(out, case_name, "unknown component '%s'", component);
        goto done;
    }
    struct json_object *params = NULL, *tol = NULL;
    json_object_object_get_ex(root, "params", &params);
    json_object_object_get_ex(root, "tolerance", &tol);
    const char *params_json = params ? json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN) : "{}";

    const char *model = case_path(model_buf, sizeof model_buf, case_dir, json_get_str(root, "model"));
    if (model && !realpath(model, abs_model)) {
        code = fail2(out, case_name, "model folder %s does not exist", model);
        goto done;
    }
    const char *inputs = case_path(inputs_buf, sizeof inputs_buf, case_dir, json_get_str(root, "inputs"));
    const char *exp = case_path(exp_buf, sizeof exp_buf, case_dir,
                                json_get_str(root, "expected") ? json_get_str(root, "expected")
                                                               : "expected.safetensors");
    if (inputs && pictor_st_open(inputs, &c->inputs, c->err, sizeof c->err) != PICTOR_OK) {
        code = fail2(out, case_name, "%s", c->err);
        goto done;
    }
    struct pictor_eval_request req = {
        .struct_size = sizeof req,
        .component = component,
        .model_dir = model ? abs_model : NULL,
        .params_json = params_json,
        .backend = opt->backend,
        .precision = opt->against_set ? opt->against : opt->precision,
    };
    struct pictor_eval_io io = {
        .struct_size = sizeof io,
        .ctx = c,
        .get_input = io_get_input,
        .put_output = io_put_output,
    };
    char eerr[1024] = "";
    int rc;
    if (opt->against_set) { /* pictor's own outputs at `against` become the expected */
        const char *tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(against_path, sizeof against_path, "%s/pictor-check-XXXXXX", tmpdir);
        int fd = mkstemp(against_path);
        if (fd < 0) {
            against_path[0] = '\0';
            code = fail2(out, case_name, "cannot create a temporary file in %s", tmpdir);
            goto done;
        }
        close(fd);
        if ((rc = fn(&req, &io, eerr, sizeof eerr)) != PICTOR_OK) {
            code = fail2(out, case_name, "%s at %s failed: %s", component,
                         pictor_precision_name(opt->against),
                         eerr[0] ? eerr : pictor_status_name(rc));
            goto done;
        }
        if (save_outputs(c, against_path) != PICTOR_OK) {
            code = fail2(out, case_name, "cannot write %s", against_path);
            goto done;
        }
        exp = against_path;
        req.precision = opt->precision;
    }
    if (pictor_st_open(exp, &expected, c->err, sizeof c->err) != PICTOR_OK) {
        code = fail2(out, case_name, "%s", c->err);
        goto done;
    }
    double tol_rel = json_get_num(tol, "rel_l2", 1e-4);
    double tol_abs = json_get_num(tol, "max_abs", INFINITY);
    struct json_object *ref_err = NULL, *ref_abs = NULL;
    if (opt->precision != PICTOR_PRECISION_FP32 &&
        json_object_object_get_ex(root, "reference_max_abs", &ref_abs)) {
        double r = json_get_num(ref_abs, pictor_precision_name(opt->precision), NAN);
        if (isfinite(r) && r > 0 && isfinite(tol_abs))
            tol_abs = fmax(tol_abs, CHECK_REFERENCE_MARGIN * r);
    }
    if (opt->precision == PICTOR_PRECISION_BF16 || opt->precision == PICTOR_PRECISION_FP16) {
        tol_rel = fmax(tol_rel, CHECK_REL_L2_HALF);
        if (json_object_object_get_ex(root, "reference_error", &ref_err)) {
            double r = json_get_num(ref_err, pictor_precision_name(opt->precision), NAN);
            if (isfinite(r) && r > 0)
                tol_rel = fmax(tol_rel, CHECK_REFERENCE_MARGIN * r);
        }
    } else if (opt->precision == PICTOR_PRECISION_FP8) {
        tol_rel = fmax(tol_rel, CHECK_REL_L2_FP8);
        if (json_object_object_get_ex(root, "reference_error", &ref_err)) {
            double r = json_get_num(ref_err, "fp8", NAN);
            if (isfinite(r) && r > 0)
                tol_rel = fmax(tol_rel, CHECK_REFERENCE_MARGIN * r);
        }
    }
    if (opt->bound > 0) {
        tol_rel = opt->bound;
        tol_abs = INFINITY;
    }

    rc = fn(&req, &io, eerr, sizeof eerr);
    if (rc != PICTOR_OK) {
        code = fail2(out, case_name, "%s failed: %s", component, eerr[0] ? eerr : pictor_status_name(rc));
        goto done;
    }
    size_t report_len = 64 * 1024;
    report = calloc(1, report_len);
    if (!report) {
        code = fail2(out, case_name, "out of memory");
        goto done;
    }
    bool pass = false;
    code = compare_all(c, expected, tol_rel, tol_abs, opt->precision, case_name, out, &pass,
                       report, report_len);
    if (code)
        goto done;
    fputs("{\"case\":", out);
    json_str(out, case_name);
    fputs(",\"component\":", out);
    json_str(out, component);
    fprintf(out, ",\"device\":\"%s\",\"precision\":\"%s\",", opt->device_name,
            pictor_precision_name(opt->precision));
    if (opt->against_set)
        fprintf(out, "\"against\":\"%s\",", pictor_precision_name(opt->against));
    fprintf(out, "\"rel_l2_bound\":%.3g,\"outputs\":{%s},\"pass\":%s}\n", tol_rel, report,
            pass ? "true" : "false");
    code = pass ? 0 : 1;
done:
    free(report);
    for (int i = 0; i < c->n_out; i++) {
        free(c->out[i].name);
        free(c->out[i].data);
    }
    pictor_st_close(expected);
    if (against_path[0])
        unlink(against_path);
    pictor_st_close(c->inputs);
    free(c);
    json_object_put(root);
    return code;
}
