/* plugins/common/params.c — see pictor/params.h. */
#include "pictor/params.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/convert.h"
#include "pictor/eval.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

#define PARAM_NAME_MAX 256

void pictor_params_init(struct pictor_params *p, pictor_backend *be,
                        const struct pictor_wsource *src, char *err,
                        size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->be = be;
    p->src = src;
    p->err = err;
    p->errlen = errlen;
    p->status = PICTOR_OK;
}

static int params_fail(struct pictor_params *p, int status, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

static int params_fail(struct pictor_params *p, int status, const char *fmt,
                       ...)
{
    if (p->status == PICTOR_OK) {
        va_list ap;
        va_start(ap, fmt);
        if (p->err && p->errlen)
            vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
        p->status = status;
    }
    return p->status;
}

static const char *params_where(struct pictor_params *p, const char *name)
{
    const char *w = p->src->where ? p->src->where(p->src->ctx, name) : NULL;
    return w ? w : "weights";
}

static int params_track(struct pictor_params *p, void *ptr)
{
    if (p->n_allocs == p->cap_allocs) {
        size_t cap = p->cap_allocs ? p->cap_allocs * 2 : 64;
        void **n = realloc(p->allocs, cap * sizeof *n);
        if (!n)
            return PICTOR_E_NOMEM;
        p->allocs = n;
        p->cap_allocs = cap;
    }
    p->allocs[p->n_allocs++] = ptr;
    return PICTOR_OK;
}

int pictor_precision_compute_dtype(int precision)
{
    switch (precision) {
    case PICTOR_PRECISION_FP32:
        return PICTOR_F32;
    case PICTOR_PRECISION_BF16:
        return PICTOR_BF16;
    case PICTOR_PRECISION_FP16:
        return PICTOR_F16;
    case PICTOR_PRECISION_FP8:
        return PICTOR_BF16;
    default:
        return -1;
    }
}

bool pictor_precision_fp8_linears(int precision)
{
    return precision == PICTOR_PRECISION_FP8;
}

void pictor_params_set_dtype(struct pictor_params *p, int dtype)
{
    if (dtype != PICTOR_F32 && dtype != PICTOR_BF16 && dtype != PICTOR_F16) {
        /* -1: a precision without a compute dtype (pictor_precision_compute_dtype) */
        params_fail(p, PICTOR_E_UNSUPPORTED, "compute dtype %s is not supported: the model code "
                    "offers fp32, bf16 and fp16 activations",
                    dtype >= 0 && dtype < PICTOR_DTYPE_COUNT ? pictor_dtype_name(dtype)
                                                             : "of that precision");
        return;
    }
    p->dtype = dtype;
}

/* A host copy of the contiguous CPU tensor t in p->dtype (FP8 scale and
 * row scales applied), converted in chunks through f32; NULL when out of
 * memory. */
static void *params_convert(const struct pictor_params *p, const pictor_tensor *t)
{
    enum { CHUNK = 4096 };
    float buf[CHUNK];
    size_t n = (size_t)pictor_tensor_numel(t), es = pictor_dtype_size(t->dtype);
    size_t ds = pictor_dtype_size(p->dtype);
    size_t row = t->ndim > 0 && t->shape[0] > 0 ? n / (size_t)t->shape[0] : n;
    char *out = malloc(n ? n * ds : 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t r = row ? i / row : 0, k = n - i;
        if (k > CHUNK)
            k = CHUNK;
        if (row && k > (r + 1) * row - i) /* one row scale per chunk */
            k = (r + 1) * row - i;
        float scale = t->scale;
        if (t->row_scale)
            scale *= t->row_scale[r];
        pictor_row_to_f32(buf, (const char *)t->data + i * es, t->dtype, k, scale);
        pictor_row_from_f32(out + i * ds, p->dtype, buf, k, 1.0f, true);
        i += k;
    }
    return out;
}

/* Places a CPU source tensor on the backend's device, converted to the
 * compute dtype when one is set. */
static int params_place(struct pictor_params *p, const char *name,
                        pictor_tensor *t)
{
    bool convert = p->dtype != PICTOR_F32 && t->dtype != p->dtype;
    if (pictor_backend_device(p->be) == PICTOR_DEVICE_CPU && !convert)
        return PICTOR_OK;
    void *host = NULL;
    if (convert) {
        if (!pictor_tensor_is_contiguous(t))
            return params_fail(p, PICTOR_E_FORMAT, "%s: tensor '%s' is not contiguous",
                               params_where(p, name), name);
        if (!(host = params_convert(p, t)))
            return params_fail(p, PICTOR_E_NOMEM, "%s: tensor '%s': out of memory "
                               "converting to %s", params_where(p, name), name,
                               pictor_dtype_name(p->dtype));
        pictor_tensor c = pictor_tensor_make(host, p->dtype, t->ndim, t->shape);
        *t = c;
    }
    size_t n = pictor_tensor_nbytes(t);
    void *dev = NULL;
    int rc = pictor_backend_alloc(p->be, n ? n : 1, &dev);
    if (rc == PICTOR_OK && (rc = params_track(p, dev)) != PICTOR_OK)
        pictor_backend_free(p->be, dev);
    if (rc == PICTOR_OK)
        rc = pictor_backend_upload(p->be, dev, t->data, n);
    free(host);
    if (rc != PICTOR_OK)
        return params_fail(p, rc, "%s: tensor '%s': upload failed: %s",
                           params_where(p, name), name,
                           pictor_backend_error(p->be));
    t->data = dev;
    t->device = pictor_backend_device(p->be);
    return PICTOR_OK;
}

static int params_vget(struct pictor_params *p, pictor_tensor *out, int ndim,
                       const int64_t *shape, bool optional, const char *fmt,
                       va_list ap)
{
    char name[PARAM_NAME_MAX];
    memset(out, 0, sizeof *out);
    if (p->status != PICTOR_OK)
        return p->status;
    int n = vsnprintf(name, sizeof name, fmt, ap);
    if (n < 0 || (size_t)n >= sizeof name)
        return params_fail(p, PICTOR_E_INVALID, "tensor name too long: %s",
                           name);
    int rc = p->src->get(p->src->ctx, name, out);
    if (rc == PICTOR_E_NOT_FOUND && optional) {
        memset(out, 0, sizeof *out);
        return PICTOR_E_NOT_FOUND;
    }
    if (rc == PICTOR_E_NOT_FOUND)
        return params_fail(p, rc, "%s: missing tensor '%s'",
                           params_where(p, name), name);
    if (rc != PICTOR_OK)
        return params_fail(p, rc, "%s: cannot read tensor '%s'",
                           params_where(p, name), name);
    if (!pictor_dtype_is_float(out->dtype))
        return params_fail(p, PICTOR_E_FORMAT,
                           "%s: tensor '%s' has dtype %s, expected a float type",
                           params_where(p, name), name,
                           pictor_dtype_name(out->dtype));
    bool ok = out->ndim == ndim;
    for (int i = 0; ok && shape && i < ndim; i++)
        ok = out->shape[i] == shape[i];
    if (!ok) {
        char got[96], want[96] = "";
        pictor_tensor_describe(out, got, sizeof got);
        size_t w = 0;
        for (int i = 0; shape && i < ndim && w < sizeof want; i++)
            w += (size_t)snprintf(want + w, sizeof want - w, "%s%lld",
                                  i ? ", " : "[", (long long)shape[i]);
        if (shape && w < sizeof want)
            snprintf(want + w, sizeof want - w, "]");
        else if (!shape)
            snprintf(want, sizeof want, "%d dims", ndim);
        return params_fail(p, PICTOR_E_FORMAT,
                           "%s: tensor '%s' has shape %s, expected %s",
                           params_where(p, name), name, got, want);
    }
    p->n_values += pictor_tensor_numel(out);
    return params_place(p, name, out);
}

int pictor_params_get(struct pictor_params *p, pictor_tensor *out, int ndim,
                      const int64_t *shape, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = params_vget(p, out, ndim, shape, false, fmt, ap);
    va_end(ap);
    return rc;
}

bool pictor_params_get_opt(struct pictor_params *p, pictor_tensor *out,
                           int ndim, const int64_t *shape, const char *fmt,
                           ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = params_vget(p, out, ndim, shape, true, fmt, ap);
    va_end(ap);
    return rc == PICTOR_OK;
}

bool pictor_params_has(struct pictor_params *p, const char *fmt, ...)
{
    char name[PARAM_NAME_MAX];
    pictor_tensor t;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof name)
        return false;
    return p->src->get(p->src->ctx, name, &t) == PICTOR_OK;
}

int pictor_params_quantize_rows(struct pictor_params *p, pictor_tensor *w, const char *name)
{
    if (p->status != PICTOR_OK)
        return p->status;
    if (w->ndim != 2 || !pictor_dtype_is_float(w->dtype))
        return params_fail(p, PICTOR_E_INVALID, "%s: tensor '%s' cannot be quantised per row "
                           "(needs a 2-D float weight)", params_where(p, name), name);
    int64_t N = w->shape[0];
    pictor_tensor q = pictor_tensor_make(NULL, PICTOR_F8_E4M3, 2, w->shape);
    pictor_tensor sc = pictor_tensor_make(NULL, PICTOR_F32, 1, &N);
    void *qd = NULL, *sd = NULL;
    int rc = pictor_backend_alloc(p->be, pictor_tensor_nbytes(&q) ? pictor_tensor_nbytes(&q) : 1,
                                  &qd);
    if (rc == PICTOR_OK && (rc = pictor_backend_alloc(p->be, N ? (size_t)N * 4 : 1, &sd)))
        pictor_backend_free(p->be, qd);
    if (rc == PICTOR_OK && (rc = params_track(p, sd))) {
        pictor_backend_free(p->be, qd);
        pictor_backend_free(p->be, sd);
    }
    if (rc != PICTOR_OK)
        return params_fail(p, rc, "%s: tensor '%s': out of memory quantising to f8_e4m3",
                           params_where(p, name), name);
    q.data = qd;
    sc.data = sd;
    q.device = sc.device = w->device;
    q.device_index = sc.device_index = w->device_index;
    if ((rc = pictor_quantize_rows(p->be, w, &q, &sc)) != PICTOR_OK ||
        (rc = pictor_params_replace(p, w->data, qd)) != PICTOR_OK) {
        pictor_backend_free(p->be, qd);
        return params_fail(p, rc, "%s: tensor '%s': quantising to f8_e4m3: %s",
                           params_where(p, name), name, pictor_backend_error(p->be));
    }
    q.row_scale = sd;
    *w = q;
    return PICTOR_OK;
}

int pictor_params_replace(struct pictor_params *p, void *old, void *fresh)
{
    for (size_t i = 0; i < p->n_allocs; i++)
        if (p->allocs[i] == old) {
            pictor_backend_free(p->be, old);
            p->allocs[i] = fresh;
            return PICTOR_OK;
        }
    return params_track(p, fresh);
}

void pictor_params_release(struct pictor_params *p)
{
    for (size_t i = 0; i < p->n_allocs; i++)
        pictor_backend_free(p->be, p->allocs[i]);
    free(p->allocs);
    p->allocs = NULL;
    p->n_allocs = p->cap_allocs = 0;
}
