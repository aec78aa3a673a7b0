/*
 * kernels/src/backend.c — the backend handle's generic side: name tables,
 * error recording and the memory wrappers that forward to the iface.
 * See pictor/backend.h for the contract.
 */
#include "pictor/backend.h"

#include <stdio.h>
#include <stdlib.h>

#include "pictor/profile.h"

const char *const pictor_op_names[PICTOR_OP_COUNT] = {
    [PICTOR_OP_MATMUL] = "matmul",
    [PICTOR_OP_CONV2D] = "conv2d",
    [PICTOR_OP_GROUP_NORM] = "group_norm",
    [PICTOR_OP_LAYER_NORM] = "layer_norm",
    [PICTOR_OP_RMS_NORM] = "rms_norm",
    [PICTOR_OP_SOFTMAX] = "softmax",
    [PICTOR_OP_SDPA] = "sdpa",
    [PICTOR_OP_UNARY] = "unary",
    [PICTOR_OP_BINARY] = "binary",
    [PICTOR_OP_COPY] = "copy",
    [PICTOR_OP_UPSAMPLE_NEAREST2X] = "upsample_nearest2x",
    [PICTOR_OP_EMBEDDING] = "embedding",
    [PICTOR_OP_ROPE] = "rope",
    [PICTOR_OP_TIMESTEP_EMBEDDING] = "timestep_embedding",
    [PICTOR_OP_FILL] = "fill",
    [PICTOR_OP_QUANTIZE_ROWS] = "quantize_rows",
    [PICTOR_OP_ADA_LAYER_NORM] = "ada_layer_norm",
    [PICTOR_OP_GATED_ADD] = "gated_add",
    [PICTOR_OP_RMS_NORM_ROPE] = "rms_norm_rope",
    [PICTOR_OP_SDPA_FP8] = "sdpa_fp8",
};

const char *const pictor_unary_names[PICTOR_UNARY_COUNT] = {
    [PICTOR_UNARY_GELU_ERF] = "gelu_erf",
    [PICTOR_UNARY_GELU_TANH] = "gelu_tanh",
    [PICTOR_UNARY_QUICK_GELU] = "quick_gelu",
    [PICTOR_UNARY_SILU] = "silu",
};

const char *const pictor_dtype_names[PICTOR_DTYPE_COUNT] = {
    [PICTOR_F32] = "f32",
    [PICTOR_F16] = "f16",
    [PICTOR_BF16] = "bf16",
    [PICTOR_F8_E4M3] = "f8_e4m3",
    [PICTOR_F8_E5M2] = "f8_e5m2",
    [PICTOR_I32] = "i32",
    [PICTOR_I64] = "i64",
};

void pictor_backend_destroy(pictor_backend *be)
{
    if (!be)
        return;
    pictor_profile_enable(be, false);
    if (be->iface && be->iface->destroy)
        be->iface->destroy(be->ctx);
    free(be);
}

const char *pictor_backend_name(const pictor_backend *be)
{
    return be && be->iface && be->iface->name ? be->iface->name : "?";
}

enum pictor_device_kind pictor_backend_device(const pictor_backend *be)
{
    return be->iface->device;
}

const char *pictor_backend_error(const pictor_backend *be)
{
    return be ? be->error : "";
}

int pictor_backend_fail(pictor_backend *be, int status, const char *fmt, ...)
{
    va_list ap;

    if (!be)
        return status;
    va_start(ap, fmt);
    vsnprintf(be->error, sizeof be->error, fmt, ap);
    va_end(ap);
    return status;
}

int pictor_backend_alloc(pictor_backend *be, size_t bytes, void **out)
{
    int rc;

    *out = NULL;
    rc = be->iface->alloc(be->ctx, bytes, out);
    if (rc)
        return pictor_backend_fail(be, rc, "alloc: %zu bytes failed on backend %s%s", bytes,
                                   pictor_backend_name(be),
                                   rc == PICTOR_E_NOMEM ? ": out of memory" : "");
    return PICTOR_OK;
}

void pictor_backend_free(pictor_backend *be, void *ptr)
{
    if (ptr)
        be->iface->free(be->ctx, ptr);
}

int pictor_backend_upload(pictor_backend *be, void *dst, const void *src,
                          size_t n)
{
    int rc = be->iface->upload(be->ctx, dst, src, n);

    if (rc)
        return pictor_backend_fail(be, rc, "upload: %zu bytes failed on %s",
                                   n, pictor_backend_name(be));
    return PICTOR_OK;
}

int pictor_backend_download(pictor_backend *be, void *dst, const void *src,
                            size_t n)
{
    int rc = be->iface->download(be->ctx, dst, src, n);

    if (rc)
        return pictor_backend_fail(be, rc, "download: %zu bytes failed on %s",
                                   n, pictor_backend_name(be));
    return PICTOR_OK;
}

int pictor_backend_synchronize(pictor_backend *be)
{
    int rc = be->iface->synchronize(be->ctx);

    if (rc)
        return pictor_backend_fail(be, rc, "synchronize failed on %s",
                                   pictor_backend_name(be));
    return PICTOR_OK;
}

void pictor_backend_trim(pictor_backend *be)
{
    if (be && be->iface->trim)
        be->iface->trim(be->ctx);
}

/* ---- graphs ------------------------------------------------------------ */

bool pictor_backend_graphs_offered(const pictor_backend *be)
{
    return be && !be->profile && be->iface->capture_begin && be->iface->capture_end &&
           be->iface->graph_launch && be->iface->graph_destroy &&
           (!be->iface->graphs_on || be->iface->graphs_on(be->ctx));
}

static int graph_fail(pictor_backend *be, int rc, const char *what, const char *err)
{
    return pictor_backend_fail(be, rc, "%s on %s: %s", what, pictor_backend_name(be),
                               err[0] ? err : pictor_status_name(rc));
}

int pictor_backend_capture_begin(pictor_backend *be)
{
    char err[PICTOR_BACKEND_ERROR_LEN] = "";
    if (!pictor_backend_graphs_offered(be))
        return pictor_backend_fail(be, PICTOR_E_UNSUPPORTED, "graphs are not offered by %s",
                                   pictor_backend_name(be));
    int rc = be->iface->capture_begin(be->ctx, err, sizeof err);
    return rc ? graph_fail(be, rc, "graph capture", err) : PICTOR_OK;
}

int pictor_backend_capture_end(pictor_backend *be, pictor_graph **out)
{
    char err[PICTOR_BACKEND_ERROR_LEN] = "";
    void *g = NULL;
    *out = NULL;
    /* not graphs_offered: a capture begun ends even if graphs were turned
     * off (or profiling on) meanwhile */
    if (!be->iface->capture_end)
        return pictor_backend_fail(be, PICTOR_E_UNSUPPORTED, "graphs are not offered by %s",
                                   pictor_backend_name(be));
    int rc = be->iface->capture_end(be->ctx, &g, err, sizeof err);
    if (rc)
        return graph_fail(be, rc, "graph capture", err);
    *out = g;
    return PICTOR_OK;
}

int pictor_backend_graph_launch(pictor_backend *be, pictor_graph *g)
{
    char err[PICTOR_BACKEND_ERROR_LEN] = "";
    if (!pictor_backend_graphs_offered(be) || !g)
        return pictor_backend_fail(be, PICTOR_E_INVALID, "graph launch on %s: no graph",
                                   pictor_backend_name(be));
    int rc = be->iface->graph_launch(be->ctx, g, err, sizeof err);
    return rc ? graph_fail(be, rc, "graph launch", err) : PICTOR_OK;
}

void pictor_backend_graph_destroy(pictor_backend *be, pictor_graph *g)
{
    if (g && be && be->iface->graph_destroy)
        be->iface->graph_destroy(be->ctx, g);
}
