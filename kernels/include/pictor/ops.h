/*
 * pictor/ops.h — every tensor operation the model families need, as one
 * validated entry point per op on top of a pictor_backend.
 *
 * Contract common to all ops
 *   - Tensors live on the backend's device (t->device == backend device);
 *     ops never allocate or resize their outputs: the caller passes an output
 *     descriptor of the exact shape documented below.
 *   - Any strides are accepted (views from pictor/tensor_util.h: slices,
 *     permutes, transposes). A backend that needs a layout it lacks reports
 *     PICTOR_E_UNSUPPORTED rather than computing something else.
 *   - Float operands may be F32, F16, BF16, F8_E4M3 or F8_E5M2 (FP8 scaled by
 *     t->scale and t->row_scale). Arithmetic is done in f32 (statistics of
 *     norms in f64 on the CPU); results are rounded to the output dtype
 *     (round-to-nearest-even). The CPU backend accepts every combination; a
 *     GPU backend may restrict (supports()).
 *   - Elementwise ops, norms, softmax and rope may run in place: the output
 *     may be the very same view as the first input. Otherwise outputs must not
 *     overlap inputs.
 *   - Wrappers check shapes and dtypes, then dispatch; on failure they return
 *     a negative pictor_status and leave a message naming the op, the operand
 *     and its shape in pictor_backend_error(be).
 *   - Threads: [worker thread] — the thread that owns the backend.
 */
#ifndef PICTOR_OPS_H
#define PICTOR_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "pictor/backend.h"

typedef struct pictor_tensor pictor_tensor;

/* The argument block handed to backend op slots (one member per op). */
struct pictor_op_args {
    enum pictor_op op;
    union {
        struct { /* c = act(alpha * (a @ b) * col_scale + bias), or with
                    a gate c += gate * act(...) (pictor_linear_gated) */
            const pictor_tensor *a;    /* [..., M, K] */
            const pictor_tensor *b;    /* [..., K, N] */
            const pictor_tensor *bias; /* [N] or NULL */
            const float *col_scale;    /* [N] f32 on the backend's device
                                          (a linear's per-output-channel
                                          FP8 weight scales), or NULL */
            bool has_act;              /* apply act last (an epilogue) */
            enum pictor_unary act;
            float alpha;
            pictor_tensor *c; /* [..., M, N]; batch dims of a and b broadcast
                                 (NumPy rules) to those of c */
            const pictor_tensor *gate; /* NULL: c is written. Else c (f32)
                                          is read and written: c += gate *
                                          act(...), the gate broadcasting
                                          to c (e.g. [B, 1, N] or [N]);
                                          it must not overlap c */
        } matmul;
        struct {
            const pictor_tensor *x;    /* [B, Cin, H, W] */
            const pictor_tensor *w;    /* [Cout, Cin, KH, KW] */
            const pictor_tensor *bias; /* [Cout] or NULL */
            int stride_h, stride_w, pad_h, pad_w; /* zero padding */
            pictor_tensor *y; /* [B, Cout, (H+2ph-KH)/sh+1, (W+2pw-KW)/sw+1] */
        } conv2d;
        struct {
            const pictor_tensor *x; /* [B, C, ...] ndim >= 2 */
            int groups;             /* divides C; contiguous channel groups */
            float eps;
            const pictor_tensor *gamma, *beta; /* [C] or NULL */
            bool silu;              /* apply SiLU after the affine */
            pictor_tensor *y;       /* same shape as x */
        } group_norm;
        struct {
            const pictor_tensor *x; /* [..., D], biased variance */
            float eps;
            const pictor_tensor *gamma, *beta; /* [D] or NULL */
            pictor_tensor *y;
        } layer_norm;
        struct {
            const pictor_tensor *x; /* [..., D]: x / sqrt(mean(x^2) + eps) * w */
            float eps;
            const pictor_tensor *weight; /* [D] or NULL */
            pictor_tensor *y;
        } rms_norm;
        struct {
            const pictor_tensor *x; /* [..., N], over the last dim */
            pictor_tensor *y;
        } softmax;
        struct { /* o = softmax(scale * q k^T + mask [+ causal]) v */
            const pictor_tensor *q;    /* [B, H, Lq, D] */
            const pictor_tensor *k;    /* [B, H, Lk, D] */
            const pictor_tensor *v;    /* [B, H, Lk, Dv] */
            const pictor_tensor *mask; /* additive, broadcastable to
                                          [B, H, Lq, Lk], or NULL */
            float scale;
            bool causal; /* key j > query i masked (top-left aligned) */
            pictor_tensor *o; /* [B, H, Lq, Dv] */
        } sdpa;
        struct {
            enum pictor_unary fn;
            const pictor_tensor *x;
            pictor_tensor *y; /* same shape */
        } unary;
        struct {
            enum pictor_binary fn;
            const pictor_tensor *a, *b; /* broadcast (NumPy rules) to y */
            pictor_tensor *y;
        } binary;
        struct {
            const pictor_tensor *src;
            pictor_tensor *dst; /* same shape; dtype conversion as torch's
                                   .to(): RNE, NaN kept, FP8 divides by
                                   dst->scale (row_scale ignored) */
            bool saturate;      /* FP8 dst: clamp to +-max finite instead of
                                   torch's overflow (NaN / inf) */
        } copy;
        struct {
            const pictor_tensor *x; /* [B, C, H, W] */
            pictor_tensor *y;       /* [B, C, 2H, 2W] */
        } upsample;
        struct {
            const pictor_tensor *table; /* [V, D] */
            const pictor_tensor *ids;   /* [...] I32 or I64, each in [0, V) */
            pictor_tensor *y;           /* [..., D] */
        } embedding;
        struct { /* FLUX rotary embedding on interleaved channel pairs */
            const pictor_tensor *x;   /* [B, L, H, D], D even */
            const pictor_tensor *cos; /* [L, D] */
            const pictor_tensor *sin; /* [L, D] */
            pictor_tensor *y;         /* same shape as x */
        } rope;
        struct { /* diffusers get_timestep_embedding */
            const pictor_tensor *t; /* [B] */
            bool flip_sin_to_cos;
            float downscale_freq_shift;
            float scale;
            float max_period;
            pictor_tensor *y; /* [B, dim] */
        } timestep;
        struct {
            float value;
            pictor_tensor *y;
        } fill;
        struct { /* dynamic per-row FP8 quantisation */
            const pictor_tensor *x; /* [..., K] float */
            pictor_tensor *y;       /* same shape, F8_E4M3, contiguous */
            pictor_tensor *scales;  /* [rows] F32, rows = numel / K */
        } quantize_rows;
        struct { /* y = LN(x) * (1 + scale) + shift (AdaLN modulation) */
            const pictor_tensor *x;     /* [..., D]; LN without affine */
            float eps;
            const pictor_tensor *scale; /* broadcasts to x, e.g. [B, 1, D] */
            const pictor_tensor *shift; /* broadcasts to x */
            pictor_tensor *y;           /* x's shape, may be x itself; or an
                                           FP8 rows view [rows, D] */
        } ada_layer_norm;
        struct { /* x += gate * y (gated residual) */
            pictor_tensor *x;          /* [...], read and written */
            const pictor_tensor *y;    /* x's shape; not written */
            const pictor_tensor *gate; /* broadcasts to x, e.g. [B, 1, D] */
        } gated_add;
        struct { /* per-head RMSNorm, then FLUX RoPE (interleaved pairs) */
            const pictor_tensor *x;      /* [B, L, H, Dh], Dh even */
            float eps;
            const pictor_tensor *weight; /* [Dh] or NULL */
            const pictor_tensor *cos;    /* [L, Dh] */
            const pictor_tensor *sin;    /* [L, Dh] */
            pictor_tensor *y;            /* x's shape; may be x itself */
        } rms_norm_rope;
        struct { /* FP8 attention (pictor_sdpa_fp8) */
            const pictor_tensor *q; /* [B, H, Lq, D] F8_E4M3, q->scale */
            const pictor_tensor *k; /* [B, H, Lk, D] F8_E4M3, k->scale */
            const pictor_tensor *v; /* [B, H, Lk, D] F32, F16 or BF16 */
            float scale;
            pictor_tensor *o;       /* [B, H, Lq, D] F32, F16 or BF16 */
        } sdpa_fp8;
    } u;
};

/* The most tensor operands any argument block has. */
#define PICTOR_OP_MAX_TENSORS 8

/* Pointers to every tensor field of a's member for a->op (NULL-valued
 * fields included), in declaration order; returns their number. For
 * backends that keep argument blocks beyond the call (the CPU graph
 * recorder copies the tensors and re-points these fields). */
int pictor_op_args_tensors(struct pictor_op_args *a,
                           const pictor_tensor **slots[PICTOR_OP_MAX_TENSORS]);

/* c[..., M, N] = alpha * a[..., M, K] @ b[..., K, N] + bias[N]. */
int pictor_matmul(pictor_backend *be, const pictor_tensor *a,
                  const pictor_tensor *b, const pictor_tensor *bias,
                  float alpha, pictor_tensor *c);

/* torch.nn.Linear: y[..., N] = x[..., K] @ w[N, K]^T + bias[N]. */
int pictor_linear(pictor_backend *be, const pictor_tensor *x,
                  const pictor_tensor *w, const pictor_tensor *bias,
                  pictor_tensor *y);

/* y = act(x @ w^T + bias): the activation as the GEMM's epilogue, rounded
 * into y once (the CPU applies it to the f32 product; a GPU backend fuses
 * it where its GEMM path allows, else runs it in place afterwards). */
int pictor_linear_act(pictor_backend *be, const pictor_tensor *x,
                      const pictor_tensor *w, const pictor_tensor *bias,
                      enum pictor_unary act, pictor_tensor *y);

/*
 * Gated residual linear: y += gate * (x @ w^T + bias), the product kept in
 * f32 and never rounded to a 16-bit dtype before the gate: one rounding
 * fewer than pictor_linear into a 16-bit y followed by pictor_gated_add
 * (into an f32 y, the CPU gives the very bytes of that composition). y is
 * the f32 residual stream (FLUX's h), read and written; gate broadcasts to
 * y (NumPy rules: FLUX's [B, 1, N] chunk of the modulation, or [N]) and
 * must not overlap it; x, w, bias as for pictor_linear (an FP8 w with
 * row_scale, an FP8 rows view x). The CUDA backend fuses the gate into the
 * GEMM's epilogue (kernels/cuda/fp8_route.h); pictor/fp8_linear.h's
 * pictor_linear_fp8_gated is the model-facing form.
 */
int pictor_linear_gated(pictor_backend *be, const pictor_tensor *x,
                        const pictor_tensor *w, const pictor_tensor *bias,
                        const pictor_tensor *gate, pictor_tensor *y);

/* torch.nn.functional.conv2d (cross-correlation, zero padding, groups 1). */
int pictor_conv2d(pictor_backend *be, const pictor_tensor *x,
                  const pictor_tensor *w, const pictor_tensor *bias,
                  int stride_h, int stride_w, int pad_h, int pad_w,
                  pictor_tensor *y);

int pictor_group_norm(pictor_backend *be, const pictor_tensor *x, int groups,
                      float eps, const pictor_tensor *gamma,
                      const pictor_tensor *beta, bool silu, pictor_tensor *y);

int pictor_layer_norm(pictor_backend *be, const pictor_tensor *x, float eps,
                      const pictor_tensor *gamma, const pictor_tensor *beta,
                      pictor_tensor *y);

int pictor_rms_norm(pictor_backend *be, const pictor_tensor *x, float eps,
                    const pictor_tensor *weight, pictor_tensor *y);

int pictor_softmax(pictor_backend *be, const pictor_tensor *x,
                   pictor_tensor *y);

/* torch.nn.functional.scaled_dot_product_attention; a fully masked row
 * gives zeros (not NaN). */
int pictor_sdpa(pictor_backend *be, const pictor_tensor *q,
                const pictor_tensor *k, const pictor_tensor *v,
                const pictor_tensor *mask, float scale, bool causal,
                pictor_tensor *o);

/*
 * FP8 attention: what cuDNN's per-tensor-scaled FP8 SDPA computes on
 * Hopper (CUDA.md §2.3), defined here so that every backend computes the
 * same thing. q and k are E4M3 codes with per-tensor dequantisation scales
 * (real = code * q->scale; row_scale must be NULL); v and o are float.
 * No mask, not causal; Dv = D. In f32, with e4m3() pictor_f32_to_e4m3
 * (round to nearest even, saturating):
 *   1. av = max |v| over the whole tensor, raised to PICTOR_FP8_AMAX_FLOOR
 *      (NaN anywhere gives NaN); dv = av / 448;
 *      v8 = e4m3(v * (448 / av))                (per-tensor, like V's scale)
 *   2. s[i, j] = (sum_d q8[i, d] * k8[j, d]) * scale * q->scale * k->scale
 *   3. p = softmax_j(s)                          (max subtracted, f32)
 *   4. p8 = e4m3(p * PICTOR_SDPA_FP8_P_SCALE)    (p <= 1: codes <= 448)
 *   5. O[i, :] = (sum_j p8[i, j] * v8[j, :]) / PICTOR_SDPA_FP8_P_SCALE * dv
 *   6. so = 448 / (av * PICTOR_SDPA_FP8_O_MARGIN); o = e4m3(O * so) / so,
 *      rounded to o's dtype. |O| <= (sum_j p8 / 448) * av, and the rounded
 *      p8 of a row sum to at most 17/16 (each rounds up by under 2^-4), so
 *      the margin keeps O inside E4M3's range.
 * The CPU follows these steps in this order (sums over d and j in index
 * order). cuDNN's fused kernel does the same arithmetic in another order
 * (an online softmax over key blocks; whether it rounds the normalised
 * probabilities or ones relative to a running row maximum to E4M3 is not
 * documented), so the CUDA backend matches the CPU only to within the
 * error FP8 itself adds (each is ~4 % rel_l2 from exact attention on
 * random data; the two orders differ by about as much), not bit for bit;
 * it runs only where cuDNN offers an FP8 engine for the shape (Hopper or
 * B200, D a multiple of 16: ask pictor_op_supported). q, k, v, o may be strided views (head dim
 * stride 1 on CUDA); o must not overlap the inputs.
 */
#define PICTOR_SDPA_FP8_P_SCALE 448.0f
#define PICTOR_SDPA_FP8_O_MARGIN 1.0625f
int pictor_sdpa_fp8(pictor_backend *be, const pictor_tensor *q,
                    const pictor_tensor *k, const pictor_tensor *v,
                    float scale, pictor_tensor *o);

/* Whether pictor_sdpa_fp8 (args->op PICTOR_OP_SDPA_FP8 with every operand
 * set; shapes, dtypes and strides are read, data is not) would run on be
 * rather than fail with PICTOR_E_UNSUPPORTED: the backend has the op and its
 * supports() accepts the operands. The wrapper's own validation is not
 * repeated here. Other ops work the same way. */
bool pictor_op_supported(pictor_backend *be, const struct pictor_op_args *args);

int pictor_unary(pictor_backend *be, enum pictor_unary fn,
                 const pictor_tensor *x, pictor_tensor *y);
int pictor_binary(pictor_backend *be, enum pictor_binary fn,
                  const pictor_tensor *a, const pictor_tensor *b,
                  pictor_tensor *y);
int pictor_add(pictor_backend *be, const pictor_tensor *a,
               const pictor_tensor *b, pictor_tensor *y);
int pictor_mul(pictor_backend *be, const pictor_tensor *a,
               const pictor_tensor *b, pictor_tensor *y);

/* Strided copy with dtype conversion (permute = copy from a permuted view). */
int pictor_copy(pictor_backend *be, const pictor_tensor *src,
                pictor_tensor *dst);
/* As pictor_copy; saturate selects clamping for FP8 destinations. */
int pictor_copy_ex(pictor_backend *be, const pictor_tensor *src,
                   pictor_tensor *dst, bool saturate);

/* torch.cat(srcs, dim) into dst (copies into slices of dst). */
int pictor_concat(pictor_backend *be, const pictor_tensor *const *srcs, int n,
                  int dim, pictor_tensor *dst);

int pictor_upsample_nearest2x(pictor_backend *be, const pictor_tensor *x,
                              pictor_tensor *y);

/* y[..., :] = table[ids[...], :]; an id out of range is PICTOR_E_INVALID. */
int pictor_embedding(pictor_backend *be, const pictor_tensor *table,
                     const pictor_tensor *ids, pictor_tensor *y);

/* FLUX apply_rotary_emb (use_real, unbind_dim -1) on x [B, L, H, D]. */
int pictor_rope(pictor_backend *be, const pictor_tensor *x,
                const pictor_tensor *cos, const pictor_tensor *sin,
                pictor_tensor *y);

/* diffusers get_timestep_embedding(t, dim, flip_sin_to_cos,
 * downscale_freq_shift, scale, max_period); dim = y->shape[1]; an odd dim is
 * zero-padded at the end. */
int pictor_timestep_embedding(pictor_backend *be, const pictor_tensor *t,
                              bool flip_sin_to_cos, float downscale_freq_shift,
                              float scale, float max_period, pictor_tensor *y);

int pictor_fill(pictor_backend *be, pictor_tensor *y, float value);

/*
 * Dynamic per-row ("per-token", torchao's row-wise float8) quantisation of
 * x [..., K] to E4M3. For each row r of the rows = numel / K rows (leading
 * dims flattened, row-major): amax = max |x[r, :]| in f32, raised to
 * PICTOR_FP8_AMAX_FLOOR (NaN anywhere in the row gives NaN), then
 * y[r, k] = e4m3(x[r, k] * (448 / amax)) rounded to nearest even and
 * scales[r] = amax / 448, so code * scales[r] gives x back to within
 * E4M3's relative precision (2^-4). y must be contiguous with scale 1 (its
 * row_scale is not read); pictor_fp8_rows_view makes the [rows, K] view
 * with the scales attached that matmul takes as a. Every backend gives the
 * same bytes (the same f32 operations in the same order).
 */
#define PICTOR_FP8_AMAX_FLOOR 1e-12f
int pictor_quantize_rows(pictor_backend *be, const pictor_tensor *x,
                         pictor_tensor *y, pictor_tensor *scales);

/* The [rows, K] 2-D view of a pictor_quantize_rows output with its row
 * scales attached (scales->data), ready to be matmul's a. */
pictor_tensor pictor_fp8_rows_view(const pictor_tensor *y,
                                   const pictor_tensor *scales);

/*
 * Fused FLUX ops (kernels/src/ops_fused.c). Each is one pass over its
 * activations with f32 arithmetic and a single rounding into the output
 * dtype, so it equals the composition of the separate ops it replaces to
 * f32 precision (~1e-6) at f32, and within one output rounding at 16 bits
 * (the composition rounds after every step).
 */

/* AdaLN modulation: y = LN(x) * (1 + scale) + shift, LN over the last dim
 * D of x with biased variance and no affine (pictor_layer_norm with NULL
 * gamma/beta). scale and shift broadcast to x (NumPy rules): FLUX passes
 * [B, 1, D] chunk views of its modulation tensor (strided, as a slice of
 * [B, k*D]). y has x's shape; y may be x itself (in place).
 *
 * FP8 output (the input of FP8 linears, quantised per token where it is
 * produced): y may instead be an f8_e4m3 rows view,
 * pictor_fp8_rows_view(codes, scales) of contiguous E4M3 codes with scale
 * 1 and a [rows] f32 scales tensor: y is [rows, D], rows = numel(x) / D.
 * Each row's modulated values, kept in f32, are then quantised with
 * pictor_quantize_rows' f32 operations: the op writes row_scale[r] =
 * amax / 448 (through the const pointer: the scales must be writable) and
 * the codes e4m3(v * (448 / amax)). On the CPU the bytes equal
 * ada_layer_norm into an f32 tensor followed by pictor_quantize_rows; the
 * CUDA backend does the same f32 operations from the same f64 row
 * statistics, summed in another order: its bytes equal the CPU's unless a
 * row's f64 mean or rstd lies within the sums' last-bit difference of an
 * f32 rounding boundary (estimated well below 1e-6 per row; none in 4e5
 * emulated FLUX rows).
 * Neither codes nor scales may overlap x, scale or shift (no in place); an
 * FP8 y without row scales, with a scale other than 1, of another shape or
 * strided is refused, as are row scales on an f8_e5m2 y. */
int pictor_ada_layer_norm(pictor_backend *be, const pictor_tensor *x,
                          float eps, const pictor_tensor *scale,
                          const pictor_tensor *shift, pictor_tensor *y);

/* Gated residual: x += gate * y, elementwise, x updated in place (e.g. an
 * f32 residual stream while y is bf16). y has x's shape and is not
 * modified; gate broadcasts to x (FLUX: a [B, 1, D] chunk, repeated over
 * tokens). Neither y nor gate may overlap x. */
int pictor_gated_add(pictor_backend *be, pictor_tensor *x,
                     const pictor_tensor *y, const pictor_tensor *gate);

/* FLUX's QK normalisation and rotary embedding in one pass, per head:
 * n = x / sqrt(mean(x^2) + eps) * weight over Dh (pictor_rms_norm; weight
 * [Dh] or NULL), then y = RoPE(n) with cos/sin [L, Dh] exactly as
 * pictor_rope (interleaved channel pairs; row l of the tables for token l).
 * x [B, L, H, Dh] with Dh even; y has x's shape and may be x itself. To
 * process a token range [t0, t0 + L) of a longer sequence, pass the
 * matching row slices of the tables. */
int pictor_rms_norm_rope(pictor_backend *be, const pictor_tensor *x,
                         float eps, const pictor_tensor *weight,
                         const pictor_tensor *cos, const pictor_tensor *sin,
                         pictor_tensor *y);

/*
 * Host helper (CPU memory, no backend): FLUX's 3-axis RoPE tables.
 * ids [L, n_axes] positions (f32); axes_dim[a] even, sum = D. For axis a,
 * j < axes_dim[a]/2: w = theta^(-2j/axes_dim[a]) and angle = ids[l, a] * w,
 * evaluated in f64 as diffusers does; cos/sin written to channels
 * (offset_a + 2j, offset_a + 2j + 1) of row l of cos_out/sin_out [L, D] f32.
 */
void pictor_rope_tables(const float *ids, int64_t L, int n_axes,
                        const int *axes_dim, double theta, float *cos_out,
                        float *sin_out);

#endif /* PICTOR_OPS_H */
