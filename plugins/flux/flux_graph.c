/*
 * plugins/flux/flux_graph.c — the FLUX transformer forward as a graph per
 * input shape (pictor/flux_transformer.h; pictor/backend.h "Graphs").
 * A graph freezes addresses, so each shape keeps its own input and output
 * tensors and RoPE tables; each call copies the caller's inputs in and the
 * output out (device copies, queued like the graph: no host wait). The
 * activations come from the model's arena, whose generation the graph
 * remembers: a regrown arena means a new capture.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flux_internal.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

enum { IN_X, IN_CTX, IN_POOLED, IN_T, IN_G, IN_COUNT };

struct flux_graph {
    bool used;                 /* slot taken */
    int64_t B, L, T;
    int dtype[IN_COUNT + 1];   /* inputs', then out's; -1: no guidance */
    pictor_tensor in[IN_COUNT], out;
    struct flux_rope_cache rope;
    pictor_graph *graph;       /* NULL: not captured (yet) */
    unsigned arena_gen;        /* m->arena.gen at capture */
    bool warm;                 /* ran eagerly once with these tensors */
    bool broken;               /* capture failed: eager from now on */
    uint64_t tick;             /* last use, for eviction */
};

struct flux_graphs {
    struct flux_graph g[PICTOR_FLUX_MAX_GRAPHS];
    uint64_t tick;
};

static void inputs_of(const struct pictor_flux_inputs *in, const pictor_tensor *t[IN_COUNT])
{
    t[IN_X] = in->hidden_states;
    t[IN_CTX] = in->encoder_hidden_states;
    t[IN_POOLED] = in->pooled_projections;
    t[IN_T] = in->timestep;
    t[IN_G] = in->guidance;
}

static void entry_free(pictor_backend *be, struct flux_graph *e)
{
    pictor_backend_graph_destroy(be, e->graph);
    for (int i = 0; i < IN_COUNT; i++)
        pictor_tensor_free(be, &e->in[i]);
    pictor_tensor_free(be, &e->out);
    flux_rope_cache_free(be, &e->rope);
    memset(e, 0, sizeof *e);
}

void flux_graphs_free(struct pictor_flux_transformer *m)
{
    if (!m->graphs)
        return;
    for (int i = 0; i < PICTOR_FLUX_MAX_GRAPHS; i++)
        if (m->graphs->g[i].used)
            entry_free(m->be, &m->graphs->g[i]);
    free(m->graphs);
    m->graphs = NULL;
}

static bool same_key(const struct flux_graph *e, const pictor_tensor *t[IN_COUNT],
                     const pictor_tensor *out)
{
    if (!e->used || e->B != t[IN_X]->shape[0] || e->L != t[IN_X]->shape[1] ||
        e->T != t[IN_CTX]->shape[1] || e->dtype[IN_COUNT] != out->dtype)
        return false;
    for (int i = 0; i < IN_COUNT; i++)
        if (e->dtype[i] != (t[i] ? t[i]->dtype : -1))
            return false;
    return true;
}

/* The entry of this shape: found, or made in a free (else the least
 * recently used) slot with its own inputs and output allocated. */
static int entry_for(struct pictor_flux_transformer *m, const pictor_tensor *t[IN_COUNT],
                     const pictor_tensor *out, struct flux_graph **res, char *err,
                     size_t errlen)
{
    struct flux_graphs *gs = m->graphs;
    struct flux_graph *e = NULL;
    *res = NULL;
    if (!gs && !(gs = m->graphs = calloc(1, sizeof *gs))) {
        snprintf(err, errlen, "flux transformer: out of memory (graphs)");
        return PICTOR_E_NOMEM;
    }
    for (int i = 0; i < PICTOR_FLUX_MAX_GRAPHS && !e; i++)
        if (same_key(&gs->g[i], t, out))
            e = &gs->g[i];
    if (!e) {
        e = &gs->g[0];
        for (int i = 0; i < PICTOR_FLUX_MAX_GRAPHS; i++)
            if (!gs->g[i].used || gs->g[i].tick < e->tick)
                e = &gs->g[i];
        if (e->used)
            entry_free(m->be, e);
        e->used = true;
        e->B = t[IN_X]->shape[0];
        e->L = t[IN_X]->shape[1];
        e->T = t[IN_CTX]->shape[1];
        e->dtype[IN_COUNT] = out->dtype;
        int rc = pictor_tensor_alloc(m->be, &e->out, out->dtype, out->ndim, out->shape);
        for (int i = 0; i < IN_COUNT; i++) {
            e->dtype[i] = t[i] ? t[i]->dtype : -1;
            if (t[i] && rc == PICTOR_OK)
                rc = pictor_tensor_alloc(m->be, &e->in[i], t[i]->dtype, t[i]->ndim,
                                         t[i]->shape);
        }
        if (rc) {
            snprintf(err, errlen, "flux transformer: graph inputs: %s",
                     pictor_backend_error(m->be));
            entry_free(m->be, e);
            return rc;
        }
    }
    e->tick = ++gs->tick;
    *res = e;
    return PICTOR_OK;
}

/* Captures e's graph (the forward on e's tensors); a failure is said on
 * stderr and marks the shape eager for good. */
static int capture(struct pictor_flux_transformer *m, struct flux_graph *e,
                   const struct pictor_flux_inputs *fin)
{
    char why[512] = "";
    int rc = pictor_backend_capture_begin(m->be);
    if (rc) {
        snprintf(why, sizeof why, "%s", pictor_backend_error(m->be));
    } else {
        int frc = flux_forward_run(m, fin, &e->out, &e->rope, true, why, sizeof why);
        rc = pictor_backend_capture_end(m->be, &e->graph);
        if (frc) /* the forward's own message says most */
            rc = frc;
        else if (rc)
            snprintf(why, sizeof why, "%s", pictor_backend_error(m->be));
    }
    if (rc == PICTOR_OK) {
        e->arena_gen = m->arena.gen;
        m->graph_captures++;
        return PICTOR_OK;
    }
    pictor_backend_graph_destroy(m->be, e->graph);
    e->graph = NULL;
    e->broken = true;
    fprintf(stderr, "pictor: flux transformer: capturing the forward of shape B=%lld L=%lld "
            "T=%lld as a graph failed (%s); this shape runs without a graph\n",
            (long long)e->B, (long long)e->L, (long long)e->T, why);
    return rc;
}

int flux_forward_graphed(struct pictor_flux_transformer *m, const struct pictor_flux_inputs *in,
                         pictor_tensor *out, char *err, size_t errlen)
{
    const pictor_tensor *t[IN_COUNT];
    struct flux_graph *e;
    inputs_of(in, t);
    if (!m->cfg.guidance_embeds)
        t[IN_G] = NULL; /* schnell ignores it */
    int rc = entry_for(m, t, out, &e, err, errlen);
    if (rc)
        return rc;
    for (int i = 0; i < IN_COUNT; i++)
        if (t[i] && (rc = pictor_copy(m->be, t[i], &e->in[i]))) {
            snprintf(err, errlen, "flux transformer: graph input: %s",
                     pictor_backend_error(m->be));
            return rc;
        }
    struct pictor_flux_inputs fin = {
        .hidden_states = &e->in[IN_X], .encoder_hidden_states = &e->in[IN_CTX],
        .pooled_projections = &e->in[IN_POOLED], .timestep = &e->in[IN_T],
        .guidance = t[IN_G] ? &e->in[IN_G] : NULL, .img_ids = in->img_ids,
        .txt_ids = in->txt_ids};
    /* new ids (their tables are uploaded by an eager run: a host copy) or
     * a regrown arena: the graph holds stale data or addresses */
    const bool ids_same = flux_rope_matches(&e->rope, in, m->cfg.n_axes);
    if (e->graph && (e->arena_gen != m->arena.gen || !ids_same)) {
        pictor_backend_graph_destroy(m->be, e->graph);
        e->graph = NULL;
    }
    if (!e->graph && e->warm && ids_same && !e->broken)
        capture(m, e, &fin); /* a failure is said; the eager run below serves */
    if (e->graph && (rc = pictor_backend_graph_launch(m->be, e->graph)) == PICTOR_OK)
        m->graph_replays++;
    else if (!e->graph)
        rc = flux_forward_run(m, &fin, &e->out, &e->rope, false, err, errlen);
    if (rc) {
        if (e->graph)
            snprintf(err, errlen, "flux transformer: %s", pictor_backend_error(m->be));
        return rc;
    }
    e->warm = true;
    if ((rc = pictor_copy(m->be, &e->out, out)))
        snprintf(err, errlen, "flux transformer: graph output: %s", pictor_backend_error(m->be));
    return rc;
}

void pictor_flux_transformer_graph_counts(const struct pictor_flux_transformer *m,
                                          uint64_t *captures, uint64_t *replays)
{
    *captures = m->graph_captures;
    *replays = m->graph_replays;
}
