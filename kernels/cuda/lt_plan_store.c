/*
 * kernels/cuda/lt_plan_store.c — the plan folder: cuBLASLt algorithm
 * choices persisted per GPU model (lt_plan.h "the plan folder", the file
 * format in lt_algo_store.h). Built only with CUDA.
 *
 * When it writes: after every new choice (lt_plan_store_record), and at
 * destroy for whatever a failed save left. New choices only appear while
 * a shape is met for the first time (a few dozen GEMM problems per model
 * and resolution), so the file is rewritten a few dozen times in a
 * server's life, each time a few tens of KB; in exchange a server killed
 * with SIGKILL loses at most the choice it was making.
 */
#ifdef PICTOR_HAVE_CUDA
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lt_plan.h"

/* Reports a failed save on stderr the first time only. */
static void warn_once(struct cuda_libs *l, const char *what)
{
    if (l->algo_warned)
        return;
    l->algo_warned = true;
    fprintf(stderr, "pictor: cuBLASLt algorithm cache: %s (further failures are not "
            "reported; the algorithms are searched again at the next start)\n", what);
}

/* Saves the store when it holds unsaved choices and may write. */
static void save(struct cuda_libs *l)
{
    char err[512];

    if (l->algo_read_only || !lt_algo_store_dirty(l->algo_store))
        return;
    if (lt_algo_store_save(l->algo_store, l->algo_path, err, sizeof err))
        warn_once(l, err);
}

void lt_plan_store_detach(struct cuda_libs *l)
{
    if (!l->algo_store)
        return;
    save(l);
    lt_algo_store_destroy(l->algo_store);
    l->algo_store = NULL;
    l->algo_path[0] = '\0';
    l->algo_read_only = false;
    l->algo_warned = false;
}

bool lt_plan_store_find(const struct cuda_libs *l, const struct gemm_key *k,
                        struct lt_stored_algos *out)
{
    const void *blob = l->algo_store ? lt_algo_store_get(l->algo_store, k) : NULL;

    if (blob) /* copied: the store's bytes need not be aligned for the struct */
        memcpy(out, blob, sizeof *out);
    return blob != NULL;
}

void lt_plan_store_record(struct cuda_libs *l, const struct gemm_plan *p)
{
    struct lt_stored_algos st;
    char msg[600];

    if (!l->algo_store || p->n_algos < 1)
        return;
    memset(&st, 0, sizeof st);
    st.n_algos = (uint32_t)p->n_algos;
    st.epilogue = p->epilogue;
    for (int i = 0; i < p->n_algos && i < GEMM_ALGOS; i++)
        st.algos[i] = p->algos[i].algo;
    if (lt_algo_store_put(l->algo_store, &p->key, &st)) {
        snprintf(msg, sizeof msg, "%.500s: full (%d problems) or out of memory: new choices are "
                 "not kept", l->algo_path, LT_PLAN_STORE_MAX);
        warn_once(l, msg);
        return;
    }
    save(l);
}

/* Creates folder dir when missing (one level); PICTOR_OK when it is a
 * folder afterwards. */
static int ensure_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cuBLASLt algorithm cache: cannot create %s: %s", dir,
                 strerror(errno));
        return PICTOR_E_IO;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cuBLASLt algorithm cache: %s is not a folder", dir);
        return PICTOR_E_IO;
    }
    return PICTOR_OK;
}

int lt_plan_store_attach(struct cuda_ctx *ctx, const char *dir, char *err, size_t errlen)
{
    struct cuda_libs *l = ctx->libs;
    struct lt_algo_store_id id = {.gpu_name = ctx->name, .layout = LT_PLAN_STORE_LAYOUT,
                                  .key_bytes = sizeof(struct gemm_key),
                                  .blob_bytes = sizeof(struct lt_stored_algos)};
    char msg[768];
    int rc;

    if (errlen)
        err[0] = '\0';
    lt_plan_store_detach(l);
    if (!dir || !dir[0])
        return PICTOR_OK;
    if (!l->lt_handle) {
        snprintf(err, errlen, "cuBLASLt algorithm cache: off, cuBLASLt is unusable: %s",
                 l->lt_error);
        return PICTOR_E_UNSUPPORTED;
    }
    if ((rc = RT_CHECK(cudaDeviceGetAttribute(&id.cc_major, cudaDevAttrComputeCapabilityMajor,
                                              ctx->device), err, errlen)) ||
        (rc = RT_CHECK(cudaDeviceGetAttribute(&id.cc_minor, cudaDevAttrComputeCapabilityMinor,
                                              ctx->device), err, errlen)) ||
        (rc = RT_CHECK(cudaDeviceGetAttribute(&id.sm_count, cudaDevAttrMultiProcessorCount,
                                              ctx->device), err, errlen)))
        return rc;
    id.lib_version = l->lt_version;
    if (lt_algo_store_file_name(dir, ctx->name, id.cc_major, id.cc_minor, l->algo_path,
                                sizeof l->algo_path)) {
        snprintf(err, errlen, "cuBLASLt algorithm cache: folder name too long: %.200s...",
                 dir);
        return PICTOR_E_INVALID;
    }
    if ((rc = ensure_dir(dir, err, errlen)))
        return rc;
    if (!(l->algo_store = lt_algo_store_create(&id, LT_PLAN_STORE_MAX))) {
        snprintf(err, errlen, "cuBLASLt algorithm cache: out of memory");
        return PICTOR_E_NOMEM;
    }
    msg[0] = '\0';
    rc = lt_algo_store_load(l->algo_store, l->algo_path, msg, sizeof msg);
    if (rc == PICTOR_OK)
        snprintf(err, errlen, "cuBLASLt algorithm cache: %zu problems loaded from %s",
                 lt_algo_store_count(l->algo_store), l->algo_path);
    else if (rc == PICTOR_E_NOT_FOUND)
        snprintf(err, errlen, "cuBLASLt algorithm cache: none yet, choices will be saved in %s",
                 l->algo_path);
    else /* the file is not used; the next save replaces it */
        snprintf(err, errlen, "cuBLASLt algorithm cache: ignored %s (algorithms are searched "
                 "again and the file rewritten)", msg);
    if (access(dir, W_OK) != 0) {
        int e = errno;

        l->algo_read_only = true;
        snprintf(err, errlen, "cuBLASLt algorithm cache: %s is not writable (%s): the %zu "
                 "problems stored there are used, new choices are not saved", dir,
                 strerror(e), lt_algo_store_count(l->algo_store));
        return PICTOR_E_IO;
    }
    return PICTOR_OK;
}

#endif /* PICTOR_HAVE_CUDA */
