/*
 * kernels/cuda/op_sdpa_fp8.c — the CUDA backend's sdpa_fp8 slot and its
 * supports() (op_sdpa_fp8.h): the probe, the per-key plan cache, one
 * stream-ordered scratch block per call, and the order of the work.
 *
 * State (ctx->sdpa.fp8, made on first use): the probe's verdict (once per
 * backend: compute capability, cuDNN version, a plan for the probe key),
 * the plans per cuda_sdpa_fp8_key (a key without an engine is cached too,
 * with the reason), and the latest reason a call was refused.
 * Scratch per call, one cudaMallocAsync block freed stream-ordered after
 * the work: the scalar slots, v8, O8, cuDNN's workspace when the shared
 * one is too small, and q/k copies when their base is not 16-byte aligned.
 * Built only with CUDA (PICTOR_HAVE_CUDA).
 */
#ifdef PICTOR_HAVE_CUDA
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_libs.h"
#include "dnn_tune.h"
#include "op_sdpa_fp8.h"
#include "op_sdpa_fp8_graph.h"
#include "pictor/tensor_util.h"

/* Alignment of each part of the scratch block (cudaMallocAsync's own). */
#define PART_ALIGN 256

struct cuda_sdpa_fp8_state {
    int dnn;                  /* 0 not probed, 1 usable, -1 not (probe_note) */
    char probe_note[256];     /* why the probe failed */
    char note[384];           /* the latest refusal, "" if none */
    struct plan_cache *plans; /* struct dnn_graph_plan per key */
};

static void plan_free(void *v)
{
    dnn_graph_plan_release(v);
    free(v);
}

/* ctx's state, made on first use; NULL when out of memory. */
static struct cuda_sdpa_fp8_state *state_of(struct cuda_ctx *ctx)
{
    if (!ctx->sdpa.fp8)
        ctx->sdpa.fp8 = calloc(1, sizeof *ctx->sdpa.fp8);
    return ctx->sdpa.fp8;
}

/* Why nothing is planned while capturing: cuDNN loads kernels when a plan
 * finalizes, which a stream capture does not allow; a failure then would
 * be cached as "no engine" for good. */
#define CAPTURE_NOTE "a shape first met while capturing a CUDA graph: run sdpa_fp8 once " \
                     "for it before capturing (cuDNN plans are built outside graphs)"

/* The cached plan of key in *out (built for the backend's handle on first
 * use; a plan without descriptor says why). PICTOR_E_NOMEM, or
 * PICTOR_E_UNSUPPORTED while capturing a key not planned yet. */
static int plan_of(struct cuda_ctx *ctx, struct cuda_sdpa_fp8_state *s,
                   const struct cuda_sdpa_fp8_key *key, struct dnn_graph_plan **out,
                   char *err, size_t errlen)
{
    const struct dnn_target target = { .handle = ctx->libs->dnn_handle };
    struct dnn_graph_plan *p = plan_cache_get(s->plans, key);

    *out = p;
    if (p)
        return PICTOR_OK;
    if (ctx->capturing) {
        snprintf(err, errlen, "%s", CAPTURE_NOTE);
        return PICTOR_E_UNSUPPORTED;
    }
    p = malloc(sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory for a cuDNN FP8 SDPA plan");
        return PICTOR_E_NOMEM;
    }
    if (cuda_sdpa_fp8_plan_build(ctx->libs, key, &target, CUDA_SDPA_FP8_GRAPH, p, err, errlen))
        dnn_graph_plan_release(p); /* keep only the reason */
    if (plan_cache_put(s->plans, key, p)) { /* frees p */
        snprintf(err, errlen, "out of memory caching a cuDNN FP8 SDPA plan");
        return PICTOR_E_NOMEM;
    }
    *out = p;
    return PICTOR_OK;
}

/* Whether cuDNN's FP8 SDPA can run on this backend at all: asked once. */
static bool probe(struct cuda_ctx *ctx, struct cuda_sdpa_fp8_state *s)
{
    const struct cuda_libs *l = ctx->libs;
    struct cuda_sdpa_fp8_key key;
    struct dnn_graph_plan *p;
    char why[320] = "";

    if (s->dnn != 0)
        return s->dnn > 0;
    if (ctx->capturing) { /* asked again after the capture */
        snprintf(s->probe_note, sizeof s->probe_note, "%s", CAPTURE_NOTE);
        return false;
    }
    s->dnn = -1;
    if (!cuda_sdpa_fp8_sm_ok(ctx->sm)) {
        snprintf(s->probe_note, sizeof s->probe_note,
                 "cuDNN's FP8 attention runs on compute capability 9.0 (Hopper) and 10.0 "
                 "(B200); this GPU is %d.%d", ctx->sm / 10, ctx->sm % 10);
    } else if (!l->dnn_handle) {
        snprintf(s->probe_note, sizeof s->probe_note, "cuDNN unusable: %.200s", l->dnn_error);
    } else if (l->dnn_version < CUDA_SDPA_FP8_MIN_DNN || l->dnn_version == CUDA_SDPA_FP8_BAD_DNN) {
        snprintf(s->probe_note, sizeof s->probe_note,
                 "cuDNN %zu has no usable FP8 attention (needs %d or newer, not %d)",
                 l->dnn_version, CUDA_SDPA_FP8_MIN_DNN, CUDA_SDPA_FP8_BAD_DNN);
    } else if (!(s->plans = plan_cache_create(sizeof key, CUDA_LIBS_MAX_PLANS, plan_free))) {
        snprintf(s->probe_note, sizeof s->probe_note, "out of memory for the FP8 plan cache");
    } else {
        cuda_sdpa_fp8_probe_key(&key);
        plan_of(ctx, s, &key, &p, why, sizeof why);
        if (p && p->plan)
            s->dnn = 1;
        else
            snprintf(s->probe_note, sizeof s->probe_note,
                     "cuDNN %zu: no engine for the FP8 SDPA graph (probe B 1, H 1, L 128, "
                     "D 128): %.150s", l->dnn_version, p ? p->why : why);
    }
    return s->dnn > 0;
}

/* Whether call a runs: PICTOR_OK with *plan its key's plan (NULL when
 * there are no keys: nothing for cuDNN to do), or PICTOR_E_UNSUPPORTED /
 * PICTOR_E_NOMEM with why. */
static int admit(struct cuda_ctx *ctx, const struct pictor_op_args *a,
                 struct dnn_graph_plan **plan, char *why, size_t whylen)
{
    struct cuda_sdpa_fp8_state *s;
    struct cuda_sdpa_fp8_key key;
    struct dnn_graph_plan *p;
    int rc;

    *plan = NULL;
    if (!cuda_sdpa_fp8_eligible(a, why, whylen))
        return PICTOR_E_UNSUPPORTED;
    if (!(s = state_of(ctx))) {
        snprintf(why, whylen, "out of memory");
        return PICTOR_E_NOMEM;
    }
    if (!probe(ctx, s)) {
        snprintf(why, whylen, "%s", s->probe_note);
        return PICTOR_E_UNSUPPORTED;
    }
    if (a->u.sdpa_fp8.k->shape[2] == 0)
        return PICTOR_OK;
    cuda_sdpa_fp8_key_of(a, &key);
    if ((rc = plan_of(ctx, s, &key, &p, why, whylen)))
        return rc;
    if (!p->plan) {
        snprintf(why, whylen, "no cuDNN engine for B %lld, H %lld, Lq %lld, Lk %lld, D %lld: %s",
                 (long long)key.B, (long long)key.H, (long long)key.Lq, (long long)key.Lk,
                 (long long)key.D, p->why);
        return PICTOR_E_UNSUPPORTED;
    }
    *plan = p;
    return PICTOR_OK;
}

/* Keeps why as the latest refusal (creating the state: the first call may
 * be refused before anything else made it). */
static void note(struct cuda_ctx *ctx, const char *why)
{
    struct cuda_sdpa_fp8_state *s = state_of(ctx);

    if (s)
        snprintf(s->note, sizeof s->note, "%s", why);
}

bool cuda_sdpa_fp8_supports(struct cuda_ctx *ctx, const struct pictor_op_args *a)
{
    struct dnn_graph_plan *p;
    char why[384];

    if (admit(ctx, a, &p, why, sizeof why) == PICTOR_OK)
        return true;
    note(ctx, why);
    return false;
}

/* Bytes of part n rounded up to PART_ALIGN. */
static size_t part(size_t n)
{
    return (n + PART_ALIGN - 1) / PART_ALIGN * PART_ALIGN;
}

/* A contiguous copy descriptor of q or k in scratch (data set later). */
static pictor_tensor staged_of(const pictor_tensor *t)
{
    pictor_tensor c = pictor_tensor_make(NULL, t->dtype, 4, t->shape);

    c.scale = t->scale; /* same scale: the copy moves the bytes */
    c.device = t->device;
    c.device_index = t->device_index;
    return c;
}

/* Copies t into its staged descriptor c (whose data is set). */
static int stage(struct cuda_ctx *ctx, const pictor_tensor *t, pictor_tensor *c, char *err,
                 size_t errlen)
{
    struct pictor_op_args cp;

    memset(&cp, 0, sizeof cp);
    cp.op = PICTOR_OP_COPY;
    cp.u.copy.src = t;
    cp.u.copy.dst = c;
    ctx->libs->stats.sdpa_fp8_staged++;
    return cuda_op_copy(ctx, &cp, err, errlen);
}

/* One candidate run of tuning (dnn_tune.h): the call's operands. */
struct fp8_tune_run {
    const struct cuda_libs *l;
    struct cuda_sdpa_fp8_io io;
};

static int fp8_tune_run(void *arg, cudnnBackendDescriptor_t plan, void *ws, char *err,
                        size_t errlen)
{
    struct fp8_tune_run *r = arg;

    r->io.workspace = ws;
    return cuda_sdpa_fp8_execute_plan(r->l, plan, &r->io, err, errlen);
}

/* Times the FP8 graph's engine configs once per shape with this call's
 * prepared operands (PICTOR_CUDA_DNN_TUNE=1); the workspace io will use
 * follows the plan kept. */
static int fp8_tune(struct cuda_ctx *ctx, struct dnn_graph_plan *p, const pictor_tensor *q,
                    const pictor_tensor *k, struct cuda_sdpa_fp8_io *io, char *err,
                    size_t errlen)
{
    struct cuda_libs *l = ctx->libs;
    struct fp8_tune_run r = { l, *io };
    const struct dnn_tune_args a = dnn_tune_args_of(ctx, fp8_tune_run, &r);
    char what[160];
    int rc;

    snprintf(what, sizeof what, "sdpa_fp8 B %lld H %lld Lq %lld Lk %lld D %lld",
             (long long)q->shape[0], (long long)q->shape[1], (long long)q->shape[2],
             (long long)k->shape[2], (long long)q->shape[3]);
    if ((rc = dnn_graph_plan_tune(l, p, &a, what, err, errlen)))
        return rc;
    if (p->workspace <= (int64_t)l->workspace_bytes) /* a plan tuning chose fits it */
        io->workspace = p->workspace > 0 ? l->workspace : NULL;
    return PICTOR_OK;
}

/* The work of an admitted call with keys (op_sdpa_fp8.h steps 1 to 4). */
static int run(struct cuda_ctx *ctx, const struct pictor_op_args *a,
               struct dnn_graph_plan *p, char *err, size_t errlen)
{
    struct cuda_libs *l = ctx->libs;
    const pictor_tensor *q = a->u.sdpa_fp8.q, *k = a->u.sdpa_fp8.k, *v = a->u.sdpa_fp8.v;
    pictor_tensor *o = a->u.sdpa_fp8.o;
    bool stage_q = !cuda_sdpa_fp8_base_aligned(q), stage_k = !cuda_sdpa_fp8_base_aligned(k);
    pictor_tensor sq = staged_of(q), sk = staged_of(k);
    struct cuda_sdpa_fp8_io io = { .attn_scale = a->u.sdpa_fp8.scale };
    size_t n_sc, n_v8, n_o8, n_q, n_k, n_ws = 0;
    char *buf = NULL, *at;
    uint8_t *v8;
    int rc;

    if (stage_q || stage_k) { /* the staged operands' key has its own plan */
        struct pictor_op_args b = *a;

        b.u.sdpa_fp8.q = stage_q ? &sq : q;
        b.u.sdpa_fp8.k = stage_k ? &sk : k;
        if ((rc = admit(ctx, &b, &p, err, errlen)))
            return rc;
    }
    if ((size_t)p->workspace > l->workspace_bytes)
        n_ws = part((size_t)p->workspace);
    n_sc = part(CUDA_SDPA_FP8_SCALAR_BYTES);
    n_v8 = part((size_t)pictor_tensor_numel(v));
    n_o8 = part((size_t)pictor_tensor_numel(o));
    n_q = stage_q ? part((size_t)pictor_tensor_numel(q)) : 0;
    n_k = stage_k ? part((size_t)pictor_tensor_numel(k)) : 0;
    if ((rc = cuda_scratch_alloc(ctx, n_sc + n_v8 + n_o8 + n_q + n_k + n_ws, "sdpa_fp8",
                                 (void **)&buf, err, errlen)))
        return rc;
    /* The block's parts, in this order. */
    at = buf;
    io.scalars = (float *)at;
    v8 = (uint8_t *)(at += n_sc);
    io.v8 = v8;
    io.o8 = at += n_v8;
    sq.data = at += n_o8;
    sk.data = at += n_q;
    at += n_k;
    io.workspace = n_ws ? at : p->workspace > 0 ? l->workspace : NULL;
    io.q = stage_q ? sq.data : q->data;
    io.k = stage_k ? sk.data : k->data;

    rc = cuda_sdpa_fp8_prepare(ctx, v, q->scale, k->scale, v8, io.scalars, err, errlen);
    if (!rc && stage_q)
        rc = stage(ctx, q, &sq, err, errlen);
    if (!rc && stage_k)
        rc = stage(ctx, k, &sk, err, errlen);
    if (!rc && l->dnn_tune && !p->tuned)
        rc = fp8_tune(ctx, p, q, k, &io, err, errlen);
    if (!rc)
        rc = cuda_sdpa_fp8_execute(l, p, &io, err, errlen);
    if (!rc)
        rc = cuda_sdpa_fp8_finish(ctx, (const uint8_t *)io.o8, io.scalars, o, err, errlen);
    if (!rc)
        l->stats.sdpa_fp8_cudnn++;
    cuda_scratch_free(ctx, buf); /* stream-ordered: after the work */
    return rc;
}

int cuda_op_sdpa_fp8(void *vctx, const struct pictor_op_args *a, char *err, size_t errlen)
{
    struct cuda_ctx *ctx = vctx;
    struct dnn_graph_plan *p;
    struct pictor_op_args fill;
    char why[384];
    int rc;

    if (pictor_tensor_numel(a->u.sdpa_fp8.o) == 0)
        return PICTOR_OK;
    if ((rc = admit(ctx, a, &p, why, sizeof why))) {
        note(ctx, why);
        snprintf(err, errlen, "sdpa_fp8: %s", why);
        return rc;
    }
    ctx->libs->stats.sdpa_fp8_calls++;
    if (p)
        return run(ctx, a, p, err, errlen);
    /* No keys: the softmax of nothing, zeros as on the CPU. */
    memset(&fill, 0, sizeof fill);
    fill.op = PICTOR_OP_FILL;
    fill.u.fill.value = 0.0f;
    fill.u.fill.y = a->u.sdpa_fp8.o;
    return cuda_op_fill(ctx, &fill, err, errlen);
}

const char *cuda_sdpa_fp8_note(const struct cuda_ctx *ctx)
{
    return ctx->sdpa.fp8 ? ctx->sdpa.fp8->note : "";
}

void cuda_sdpa_fp8_release(struct cuda_ctx *ctx)
{
    if (!ctx->sdpa.fp8)
        return;
    plan_cache_destroy(ctx->sdpa.fp8->plans);
    free(ctx->sdpa.fp8);
    ctx->sdpa.fp8 = NULL;
}

#endif /* PICTOR_HAVE_CUDA */
