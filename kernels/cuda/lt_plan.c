/*
 * kernels/cuda/lt_plan.c — cuBLASLt plans: descriptors, layouts, the
 * algorithms (a checked stored choice, or the heuristic), the launch
 * (lt_plan.h). Built only with CUDA.
 */
#ifdef PICTOR_HAVE_CUDA
#include "lt_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t cuda_gemm_plan_key_bytes(void)
{
    return sizeof(struct gemm_key);
}

void cuda_gemm_plan_free(void *vp)
{
    struct gemm_plan *p = vp;

    if (!p)
        return;
    if (p->ld)
        p->libs->lt.cublasLtMatrixLayoutDestroy(p->ld);
    if (p->lb)
        p->libs->lt.cublasLtMatrixLayoutDestroy(p->lb);
    if (p->la)
        p->libs->lt.cublasLtMatrixLayoutDestroy(p->la);
    if (p->desc)
        p->libs->lt.cublasLtMatmulDescDestroy(p->desc);
    free(p);
}

cudaDataType_t lt_type(int dtype)
{
    switch (dtype) {
    case PICTOR_F16:
        return CUDA_R_16F;
    case PICTOR_BF16:
        return CUDA_R_16BF;
    case PICTOR_F8_E4M3: /* op_matmul.c's direct FP8 GEMM */
        return CUDA_R_8F_E4M3;
    default:
        return CUDA_R_32F;
    }
}

static int set_layout(const struct cuda_libs *l, cublasLtMatrixLayout_t *out, int32_t type,
                      int64_t rows, int64_t cols, int64_t ld, int32_t batch, int64_t stride,
                      char *err, size_t errlen)
{
    int rc;

    if ((rc = LT_CHECK(l, l->lt.cublasLtMatrixLayoutCreate(out, (cudaDataType_t)type,
                                                           (uint64_t)rows, (uint64_t)cols, ld),
                       err, errlen)))
        return rc;
    if (batch == 1)
        return PICTOR_OK;
    if ((rc = LT_CHECK(l, l->lt.cublasLtMatrixLayoutSetAttribute(
                              *out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof batch),
                       err, errlen)))
        return rc;
    return LT_CHECK(l, l->lt.cublasLtMatrixLayoutSetAttribute(
                           *out, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                           sizeof stride), err, errlen);
}

/* Whether k asks for cuBLASLt's vector scales (OUTER_VEC_32F). */
static bool vector_scaled(const struct gemm_key *k)
{
    return k->scale_mode != CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F;
}

/* Asks the heuristic for up to GEMM_ALGOS algorithms; keeps the usable
 * ones (none is not an error here). */
static int heuristic(struct cuda_libs *l, struct gemm_plan *p, cublasLtMatmulPreference_t pref,
                     char *err, size_t errlen)
{
    cublasLtMatmulHeuristicResult_t res[GEMM_ALGOS];
    int n = 0;
    cublasStatus_t s;

    memset(res, 0, sizeof res);
    s = l->lt.cublasLtMatmulAlgoGetHeuristic(l->lt_handle, p->desc, p->la, p->lb, p->ld, p->ld,
                                             pref, GEMM_ALGOS, res, &n);
    p->n_algos = 0;
    if (s == CUBLAS_STATUS_NOT_SUPPORTED) /* no algorithm for this problem */
        return PICTOR_OK;
    /* A combination the library does not know (scale mode with this
     * epilogue or bias type) may be reported as invalid rather than
     * unsupported: for vector-scaled plans that too means "none". */
    if (s == CUBLAS_STATUS_INVALID_VALUE && vector_scaled(&p->key))
        return PICTOR_OK;
    if (s != CUBLAS_STATUS_SUCCESS)
        return cuda_lt_check_(l, s, "cublasLtMatmulAlgoGetHeuristic", __FILE__, __LINE__, err,
                              errlen);
    for (int i = 0; i < n && i < GEMM_ALGOS; i++)
        if (res[i].state == CUBLAS_STATUS_SUCCESS)
            p->algos[p->n_algos++] = res[i];
    return PICTOR_OK;
}

/* Appends the problem of key k to err: " (m=.. n=.. k=.. ...)". */
static void append_key(const struct gemm_key *k, char *err, size_t errlen)
{
    size_t used = strlen(err);

    if (used + 1 >= errlen)
        return;
    snprintf(err + used, errlen - used, " (m=%lld n=%lld k=%lld, types %d/%d, ops %d/%d, lds "
             "%lld/%lld/%lld, batch %d strides %lld/%lld/%lld, alignments %u/%u/%u, epilogue "
             "%d, scale mode %d, bias type %d%s)", (long long)k->m, (long long)k->n,
             (long long)k->k, k->type_ab, k->type_d, k->op_a, k->op_b, (long long)k->ld_a,
             (long long)k->ld_b, (long long)k->ld_d, k->batch, (long long)k->stride_a,
             (long long)k->stride_b, (long long)k->stride_d, k->align_a, k->align_b,
             k->align_d, k->epilogue, k->scale_mode, k->bias_type,
             k->accumulate ? ", beta 1" : "");
}

static int desc_set(const struct cuda_libs *l, cublasLtMatmulDesc_t d,
                    cublasLtMatmulDescAttributes_t attr, const void *v, size_t n, char *err,
                    size_t errlen)
{
    return LT_CHECK(l, l->lt.cublasLtMatmulDescSetAttribute(d, attr, v, n), err, errlen);
}

static int pref_set(const struct cuda_libs *l, cublasLtMatmulPreference_t pref,
                    cublasLtMatmulPreferenceAttributes_t attr, const void *v, size_t n,
                    char *err, size_t errlen)
{
    return LT_CHECK(l, l->lt.cublasLtMatmulPreferenceSetAttribute(pref, attr, v, n), err,
                    errlen);
}

/* cuBLASLt's epilogue for GEMM_EPI_* flags e. */
static cublasLtEpilogue_t lt_epilogue(uint32_t e)
{
    switch (e & GEMM_EPI_ALL) {
    case GEMM_EPI_BIAS:
        return CUBLASLT_EPILOGUE_BIAS;
    case GEMM_EPI_GELU:
        return CUBLASLT_EPILOGUE_GELU;
    case GEMM_EPI_BIAS | GEMM_EPI_GELU:
        return CUBLASLT_EPILOGUE_GELU_BIAS;
    default:
        return CUBLASLT_EPILOGUE_DEFAULT;
    }
}

/* Sets p's epilogue to GEMM_EPI_* flags e: with the bias, its pointer
 * (the library reads its alignment) and, when the key names one, its
 * type. */
static int set_epilogue(const struct cuda_libs *l, struct gemm_plan *p, uint32_t e,
                        const struct gemm_ptrs *ptrs, char *err, size_t errlen)
{
    /* Attribute types from cublasLt.h: EPILOGUE uint32_t, BIAS_DATA_TYPE
     * int32_t (a cudaDataType_t; unset it is D's type, except for FP8
     * kernels with an f32 or FP8 D). */
    uint32_t epi = (uint32_t)lt_epilogue(e);
    int32_t bias_type = p->key.bias_type;
    const void *bias = ptrs ? ptrs->bias : NULL;
    int rc;

    if ((rc = desc_set(l, p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi, err,
                       errlen)))
        return rc;
    if ((e & GEMM_EPI_BIAS) &&
        ((rc = desc_set(l, p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias, err,
                        errlen)) ||
         (bias_type >= 0 && (rc = desc_set(l, p->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                                           &bias_type, sizeof bias_type, err, errlen)))))
        return rc;
    p->epilogue = e & GEMM_EPI_ALL;
    return PICTOR_OK;
}

/* With OUTER_VEC_32F: A's and B's scale vectors (device pointers,
 * cublasLt.h A/B_SCALE_POINTER: const void *). */
static int set_scales(const struct cuda_libs *l, struct gemm_plan *p,
                      const struct gemm_ptrs *ptrs, char *err, size_t errlen)
{
    const void *sa = ptrs ? ptrs->scale_a : NULL, *sb = ptrs ? ptrs->scale_b : NULL;
    int rc;

    if (!vector_scaled(&p->key))
        return PICTOR_OK;
    if ((rc = desc_set(l, p->desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &sa, sizeof sa, err,
                       errlen)))
        return rc;
    return desc_set(l, p->desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &sb, sizeof sb, err,
                    errlen);
}

/* Creates p's descriptor and matrix layouts from p->key. */
static int plan_describe(const struct cuda_libs *l, struct gemm_plan *p, char *err,
                         size_t errlen)
{
    const struct gemm_key *k = &p->key;
    int rc;

    if ((rc = LT_CHECK(l, l->lt.cublasLtMatmulDescCreate(&p->desc, CUBLAS_COMPUTE_32F,
                                                         CUDA_R_32F), err, errlen)) ||
        (rc = desc_set(l, p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &k->op_a, sizeof k->op_a, err,
                       errlen)) ||
        (rc = desc_set(l, p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &k->op_b, sizeof k->op_b, err,
                       errlen)) ||
        /* A_/B_SCALE_MODE: int32_t (cublasLt.h), both set (CUDA.md §1.3) */
        (vector_scaled(k) &&
         ((rc = desc_set(l, p->desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &k->scale_mode,
                         sizeof k->scale_mode, err, errlen)) ||
          (rc = desc_set(l, p->desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &k->scale_mode,
                         sizeof k->scale_mode, err, errlen)))) ||
        (rc = set_layout(l, &p->la, k->type_ab, k->rows_a, k->cols_a, k->ld_a, k->batch,
                         k->stride_a, err, errlen)) ||
        (rc = set_layout(l, &p->lb, k->type_ab, k->rows_b, k->cols_b, k->ld_b, k->batch,
                         k->stride_b, err, errlen)))
        return rc;
    return set_layout(l, &p->ld, k->type_d, k->m, k->n, k->ld_d, k->batch, k->stride_d, err,
                      errlen);
}

/* Fills p's algorithm list from the heuristic: with the epilogue the key
 * asks for when some algorithm offers it, else with the first of its
 * fallbacks that one offers (gemm_epilogue_fallback: the bias is dropped
 * only from a SCALAR_32F plan). None at all is no error here: n_algos 0.
 * ptrs: the pointers the heuristic is told about (alignments). */
static int plan_search(struct cuda_libs *l, struct gemm_plan *p, const struct gemm_ptrs *ptrs,
                       char *err, size_t errlen)
{
    const struct gemm_key *k = &p->key;
    cublasLtMatmulPreference_t pref = NULL;
    uint64_t ws = l->workspace_bytes;
    uint32_t e = (uint32_t)k->epilogue;
    int rc;

    p->n_algos = 0;
    p->from_store = false;
    if ((rc = LT_CHECK(l, l->lt.cublasLtMatmulPreferenceCreate(&pref), err, errlen)) ||
        (rc = pref_set(l, pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws, err,
                       errlen)) ||
        (rc = pref_set(l, pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &k->align_a,
                       sizeof k->align_a, err, errlen)) ||
        (rc = pref_set(l, pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &k->align_b,
                       sizeof k->align_b, err, errlen)) ||
        (rc = pref_set(l, pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &k->align_d,
                       sizeof k->align_d, err, errlen)) ||
        (rc = pref_set(l, pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &k->align_d,
                       sizeof k->align_d, err, errlen)))
        goto out;
    if ((rc = set_scales(l, p, ptrs, err, errlen)))
        goto out;
    for (;;) {
        if ((rc = set_epilogue(l, p, e, ptrs, err, errlen)) ||
            (rc = heuristic(l, p, pref, err, errlen)))
            goto out;
        if (p->n_algos || !gemm_epilogue_fallback(e, !vector_scaled(k), &e))
            break;
    }
    l->stats.matmul_algo_misses++;
out:
    if (pref)
        l->lt.cublasLtMatmulPreferenceDestroy(pref);
    return rc;
}

/* Takes p's algorithms from the plan folder's file: those of the stored
 * choice for p->key that cublasLtMatmulAlgoCheck accepts for p's
 * descriptors and that fit the workspace. false when there is no stored
 * choice or none of it is accepted (then p's epilogue is whatever the
 * search sets next). */
static bool plan_from_store(struct cuda_libs *l, struct gemm_plan *p,
                            const struct gemm_ptrs *ptrs)
{
    const struct gemm_key *k = &p->key;
    struct lt_stored_algos st;
    char msg[256];

    if (!lt_plan_store_find(l, k, &st))
        return false;
    p->n_algos = 0;
    if (st.n_algos < 1 || st.n_algos > GEMM_ALGOS ||
        !gemm_epilogue_reachable((uint32_t)k->epilogue, st.epilogue, !vector_scaled(k)) ||
        set_scales(l, p, ptrs, msg, sizeof msg) ||
        set_epilogue(l, p, st.epilogue, ptrs, msg, sizeof msg))
        goto rejected;
    for (uint32_t i = 0; i < st.n_algos; i++) {
        cublasLtMatmulHeuristicResult_t r;

        memset(&r, 0, sizeof r);
        /* The check never writes r.algo (cublasLt.h): copy it in. */
        if (l->lt.cublasLtMatmulAlgoCheck(l->lt_handle, p->desc, p->la, p->lb, p->ld, p->ld,
                                          &st.algos[i], &r) != CUBLAS_STATUS_SUCCESS ||
            r.workspaceSize > l->workspace_bytes)
            continue;
        r.algo = st.algos[i];
        r.state = CUBLAS_STATUS_SUCCESS;
        p->algos[p->n_algos++] = r;
    }
    if (p->n_algos) {
        p->from_store = true;
        l->stats.matmul_algo_hits++;
        return true;
    }
rejected:
    l->stats.matmul_algo_rejected++;
    return false;
}

/* Builds descriptors, layouts and the algorithm list for key k: from the
 * plan folder when it has an accepted choice, else by the heuristic (and
 * then recorded there). ptrs: the pointers the heuristic is told about.
 * A plan without algorithms (the verdict "none") is a success here. */
static int plan_build(struct cuda_libs *l, const struct gemm_key *k, const struct gemm_ptrs *ptrs,
                      struct gemm_plan **out, char *err, size_t errlen)
{
    struct gemm_plan *p = calloc(1, sizeof *p);
    int rc;

    *out = NULL;
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return PICTOR_E_NOMEM;
    }
    p->libs = l;
    p->key = *k;
    if ((rc = plan_describe(l, p, err, errlen))) {
        if (!vector_scaled(k))
            goto fail;
        /* The library refused the scale mode (its version said it has
         * it): no algorithm, as far as this problem is concerned. */
        if (errlen)
            err[0] = '\0';
        *out = p;
        return PICTOR_OK;
    }
    if (!plan_from_store(l, p, ptrs)) {
        if ((rc = plan_search(l, p, ptrs, err, errlen)))
            goto fail;
        lt_plan_store_record(l, p);
    }
    *out = p;
    return PICTOR_OK;

fail:
    append_key(k, err, errlen);
    cuda_gemm_plan_free(p);
    return rc;
}

/* Queues the GEMM with p's algorithms in order until one is taken (the
 * ones refused before it are dropped from p); the last status. */
static cublasStatus_t launch(struct cuda_ctx *ctx, struct gemm_plan *p, float alpha,
                             const void *A, const void *B, void *D)
{
    struct cuda_libs *l = ctx->libs;
    cublasStatus_t s = CUBLAS_STATUS_NOT_SUPPORTED;
    float beta = p->key.accumulate ? 1.0f : 0.0f; /* C is D */

    for (int i = 0; i < p->n_algos; i++) {
        s = l->lt.cublasLtMatmul(l->lt_handle, p->desc, &alpha, A, p->la, B, p->lb, &beta, D,
                                 p->ld, D, p->ld, &p->algos[i].algo, l->workspace,
                                 l->workspace_bytes, ctx->stream);
        if (s == CUBLAS_STATUS_SUCCESS) {
            if (i > 0) { /* drop the refused ones */
                memmove(p->algos, p->algos + i, (size_t)(p->n_algos - i) * sizeof p->algos[0]);
                p->n_algos -= i;
            }
            l->stats.matmul_lt_launches++;
            return s;
        }
        /* A host-side refusal of this algorithm: try the next one. */
        if (s != CUBLAS_STATUS_NOT_SUPPORTED && s != CUBLAS_STATUS_INVALID_VALUE)
            break;
    }
    return s;
}

int lt_plan_run(struct cuda_ctx *ctx, struct gemm_plan *p, float alpha, const void *A,
                const void *B, void *D, const struct gemm_ptrs *ptrs, char *err,
                size_t errlen)
{
    struct cuda_libs *l = ctx->libs;
    const void *bias = ptrs ? ptrs->bias : NULL;
    cublasStatus_t s;
    int rc;

    if (((p->epilogue & GEMM_EPI_BIAS) &&
         (rc = desc_set(l, p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias, err,
                        errlen))) ||
        (rc = set_scales(l, p, ptrs, err, errlen)))
        return rc;
    s = launch(ctx, p, alpha, A, B, D);
    if ((s == CUBLAS_STATUS_NOT_SUPPORTED || s == CUBLAS_STATUS_INVALID_VALUE) &&
        p->from_store) {
        /* Every stored algorithm refused (the check passed, the launch did
         * not): search as if none had been stored, once. The new
         * epilogue choice is what the caller's finish step reads. */
        l->stats.matmul_algo_rejected++;
        if ((rc = plan_search(l, p, ptrs, err, errlen))) {
            append_key(&p->key, err, errlen);
            return rc;
        }
        lt_plan_store_record(l, p);
        s = launch(ctx, p, alpha, A, B, D);
    }
    if (s == CUBLAS_STATUS_SUCCESS) {
        /* Proven: no search later, so the epilogue never changes between
         * the batches of one call (the caller's finish step reads it). */
        p->from_store = false;
        return PICTOR_OK;
    }
    rc = cuda_lt_check_(l, s, "cublasLtMatmul", __FILE__, __LINE__, err, errlen);
    append_key(&p->key, err, errlen);
    return rc;
}

int lt_plan_get(struct cuda_libs *l, const struct gemm_key *k, const struct gemm_ptrs *ptrs,
                struct gemm_plan **out, char *err, size_t errlen)
{
    int rc;

    *out = plan_cache_get(l->gemm_plans, k);
    if (!*out) {
        if ((rc = plan_build(l, k, ptrs, out, err, errlen)))
            return rc;
        if ((rc = plan_cache_put(l->gemm_plans, k, *out))) { /* the cache freed it */
            *out = NULL;
            snprintf(err, errlen, "out of memory caching a matmul plan");
            return rc;
        }
    }
    if (!(*out)->n_algos) { /* the cached verdict */
        *out = NULL;
        snprintf(err, errlen, "cuBLASLt has no algorithm for this problem");
        append_key(k, err, errlen);
        return PICTOR_E_UNSUPPORTED;
    }
    return PICTOR_OK;
}

#endif /* PICTOR_HAVE_CUDA */
