/*
 * tests/unit/test_sdpa_select.c — the CUDA backend's attention routing
 * decisions (kernels/cuda/op_sdpa_select.c, pure C) on the CPU: which calls
 * the own kernels, the tensor-core flash kernel and cuDNN's fused SDPA
 * take, which views the flash kernel reads in place, PICTOR_SDPA parsing,
 * and the cuDNN plan key (equal for views that address the same elements,
 * different for other shapes). Descriptors only: data pointers are fake
 * addresses chosen for their alignment and never dereferenced.
 */
#include <stdint.h>
#include <string.h>

#include "../../kernels/cuda/op_sdpa_internal.h"
#include "../harness/test.h"
#include "pictor/tensor_util.h"

/* Fake device addresses: 256-byte aligned, and 2 bytes off. */
#define ALIGNED ((void *)(uintptr_t)0x10000)
#define OFF_BY_2 ((void *)(uintptr_t)0x10002)

/* Contiguous [B, H, L, D] descriptor. */
static pictor_tensor bhld(int dtype, int64_t B, int64_t H, int64_t L, int64_t D)
{
    return pictor_tensor_make(ALIGNED, dtype, 4, (int64_t[]){ B, H, L, D });
}

/* [B, L, H, D] storage viewed as [B, H, L, D] (FLUX's permuted heads). */
static pictor_tensor blhd(int dtype, int64_t B, int64_t H, int64_t L, int64_t D)
{
    pictor_tensor t = pictor_tensor_make(ALIGNED, dtype, 4, (int64_t[]){ B, L, H, D });

    return pictor_tensor_transpose(&t, 1, 2);
}

struct call {
    pictor_tensor q, k, v, o, m;
    struct pictor_op_args a;
};

/* A plain call: q [B, H, Lq, D], k/v [B, H, Lk, D], o [B, H, Lq, D]. */
static void call_init(struct call *c, int dtype, int64_t B, int64_t H, int64_t Lq, int64_t Lk,
                      int64_t D)
{
    memset(c, 0, sizeof *c);
    c->q = bhld(dtype, B, H, Lq, D);
    c->k = bhld(dtype, B, H, Lk, D);
    c->v = bhld(dtype, B, H, Lk, D);
    c->o = bhld(dtype, B, H, Lq, D);
    c->a.op = PICTOR_OP_SDPA;
    c->a.u.sdpa.q = &c->q;
    c->a.u.sdpa.k = &c->k;
    c->a.u.sdpa.v = &c->v;
    c->a.u.sdpa.o = &c->o;
    c->a.u.sdpa.scale = 0.125f;
}

static void test_parse_force(void)
{
    enum cuda_sdpa_force f;

    CHECK(cuda_sdpa_parse_force(NULL, &f) && f == CUDA_SDPA_FORCE_AUTO, "NULL -> auto");
    CHECK(cuda_sdpa_parse_force("", &f) && f == CUDA_SDPA_FORCE_AUTO, "empty -> auto");
    CHECK(cuda_sdpa_parse_force("auto", &f) && f == CUDA_SDPA_FORCE_AUTO, "auto");
    CHECK(cuda_sdpa_parse_force("cudnn", &f) && f == CUDA_SDPA_FORCE_CUDNN, "cudnn");
    CHECK(cuda_sdpa_parse_force("flash", &f) && f == CUDA_SDPA_FORCE_FLASH, "flash");
    CHECK(!cuda_sdpa_parse_force("CUDNN", &f) && f == CUDA_SDPA_FORCE_AUTO,
          "unknown value refused, auto");
}

static void test_kernels_support(void)
{
    struct call c;
    char why[256] = "";
    float rs[2] = { 1.0f, 2.0f };

    call_init(&c, PICTOR_BF16, 1, 1, 300, 300, CUDA_SDPA_MAX_HEAD_DIM); /* the VAE's 512 */
    CHECK(cuda_sdpa_kernels_support(&c.a, why, sizeof why), "D 512: %s", why);
    c.q.shape[3] = c.k.shape[3] = CUDA_SDPA_MAX_HEAD_DIM + 1;
    CHECK(!cuda_sdpa_kernels_support(&c.a, why, sizeof why), "D 513 accepted");
    CHECK(strstr(why, "512") != NULL, "reason names the limit: '%s'", why);
    call_init(&c, PICTOR_F32, 1, 1, 8, 8, 64);
    c.v.shape[3] = CUDA_SDPA_MAX_HEAD_DIM + 8;
    CHECK(!cuda_sdpa_kernels_support(&c.a, NULL, 0), "Dv 520 accepted");
    call_init(&c, PICTOR_F32, 1, 70000, 8, 8, 64);
    CHECK(!cuda_sdpa_kernels_support(&c.a, NULL, 0), "70000 heads accepted");
    /* FP8 mask: plain scale fine, per-row scales refused. */
    call_init(&c, PICTOR_F32, 2, 1, 8, 8, 64);
    c.m = pictor_tensor_make(ALIGNED, PICTOR_F8_E4M3, 2, (int64_t[]){ 8, 8 });
    c.a.u.sdpa.mask = &c.m;
    CHECK(cuda_sdpa_kernels_support(&c.a, NULL, 0), "FP8 mask refused");
    c.m.row_scale = rs;
    CHECK(!cuda_sdpa_kernels_support(&c.a, why, sizeof why), "FP8 row_scale mask accepted");
}

static void test_flash_eligible(void)
{
    struct call c;

    call_init(&c, PICTOR_BF16, 1, 24, 4352, 4352, 128);
    CHECK(cuda_sdpa_flash_eligible(&c.a), "bf16 D 128");
    call_init(&c, PICTOR_F16, 2, 3, 77, 77, 64);
    CHECK(cuda_sdpa_flash_eligible(&c.a), "f16 D 64");
    call_init(&c, PICTOR_BF16, 1, 2, 90, 90, 80);
    CHECK(!cuda_sdpa_flash_eligible(&c.a), "D 80 taken by the flash kernel");
    call_init(&c, PICTOR_F32, 1, 2, 90, 90, 64);
    CHECK(!cuda_sdpa_flash_eligible(&c.a), "f32 taken by the flash kernel");
    call_init(&c, PICTOR_BF16, 1, 2, 90, 90, 64);
    c.k.dtype = PICTOR_F16;
    CHECK(!cuda_sdpa_flash_eligible(&c.a), "bf16 q with f16 k taken");
    call_init(&c, PICTOR_BF16, 1, 2, 90, 90, 128);
    c.v.shape[3] = 64;
    CHECK(!cuda_sdpa_flash_eligible(&c.a), "Dv != D taken");
    call_init(&c, PICTOR_BF16, 1, 2, 90, 0, 128);
    CHECK(!cuda_sdpa_flash_eligible(&c.a), "Lk 0 taken");
    /* mask and o dtypes do not matter */
    call_init(&c, PICTOR_BF16, 1, 2, 90, 90, 128);
    c.o.dtype = PICTOR_F32;
    c.m = pictor_tensor_make(ALIGNED, PICTOR_F32, 2, (int64_t[]){ 90, 90 });
    c.a.u.sdpa.mask = &c.m;
    c.a.u.sdpa.causal = true;
    CHECK(cuda_sdpa_flash_eligible(&c.a), "mask, causal, f32 o refused");
}

/* The GEMM route: unmasked, non-causal, one float dtype, long keys; its
 * query chunk keeps S and P within the budget. */
static void test_gemm_route(void)
{
    struct call c;

    call_init(&c, PICTOR_BF16, 1, 1, 16384, 16384, 512);
    CHECK(cuda_sdpa_gemm_eligible(&c.a), "the VAE's 16384-token head of 512");
    /* 16384 keys x (4 + 2) bytes per query row: 256 MiB hold 2730 -> 2688 */
    CHECK(cuda_sdpa_gemm_chunk(&c.a, CUDA_SDPA_GEMM_BUDGET) == 2688, "chunk %lld",
          (long long)cuda_sdpa_gemm_chunk(&c.a, CUDA_SDPA_GEMM_BUDGET));
    CHECK(cuda_sdpa_gemm_chunk(&c.a, 1) == 1, "at least one row");
    call_init(&c, PICTOR_F32, 1, 2, 40, 2048, 64);
    CHECK(cuda_sdpa_gemm_eligible(&c.a) && cuda_sdpa_gemm_chunk(&c.a, (size_t)1 << 40) == 40,
          "f32; a chunk is at most Lq");
    call_init(&c, PICTOR_BF16, 1, 1, 300, 300, 512);
    CHECK(!cuda_sdpa_gemm_eligible(&c.a), "short keys stay on the SIMT kernel");
    call_init(&c, PICTOR_BF16, 1, 1, 2048, 2048, 512);
    c.a.u.sdpa.causal = true;
    CHECK(!cuda_sdpa_gemm_eligible(&c.a), "causal refused");
    call_init(&c, PICTOR_BF16, 1, 1, 2048, 2048, 512);
    c.m = pictor_tensor_make(ALIGNED, PICTOR_F32, 2, (int64_t[]){ 2048, 2048 });
    c.a.u.sdpa.mask = &c.m;
    CHECK(!cuda_sdpa_gemm_eligible(&c.a), "mask refused");
    call_init(&c, PICTOR_BF16, 1, 1, 2048, 2048, 512);
    c.o.dtype = PICTOR_F32;
    CHECK(!cuda_sdpa_gemm_eligible(&c.a), "mixed dtypes refused");
}

static void test_flash_layout(void)
{
    pictor_tensor t = bhld(PICTOR_BF16, 2, 3, 77, 64), u;
    pictor_tensor qkv = pictor_tensor_make(ALIGNED, PICTOR_BF16, 5,
                                           (int64_t[]){ 2, 200, 3, 3, 64 });

    CHECK(cuda_sdpa_flash_layout_ok(&t), "contiguous");
    u = blhd(PICTOR_BF16, 1, 24, 4352, 128);
    CHECK(cuda_sdpa_flash_layout_ok(&u), "permuted heads");
    /* k of a fused [B, L, 3, H, D] projection: offset H*D, row stride 3HD. */
    u = bhld(PICTOR_BF16, 2, 3, 200, 64);
    u.data = (char *)ALIGNED + 3 * 64 * 2;
    u.stride[0] = qkv.stride[0];
    u.stride[1] = qkv.stride[3];
    u.stride[2] = qkv.stride[1];
    CHECK(cuda_sdpa_flash_layout_ok(&u), "fused qkv slice");
    u = t;
    u.data = OFF_BY_2;
    CHECK(!cuda_sdpa_flash_layout_ok(&u), "2-byte offset read in place");
    u = pictor_tensor_make(ALIGNED, PICTOR_BF16, 4, (int64_t[]){ 1, 2, 130, 129 });
    u = pictor_tensor_slice(&u, 3, 0, 128);
    CHECK(!cuda_sdpa_flash_layout_ok(&u), "row stride 129 read in place");
    u = pictor_tensor_transpose(&t, 2, 3);
    CHECK(!cuda_sdpa_flash_layout_ok(&u), "non-unit last stride read in place");
    /* A dim of length 1 may have any stride. */
    u = bhld(PICTOR_F16, 1, 1, 5, 64);
    u.stride[0] = 3;
    u.stride[1] = 5;
    CHECK(cuda_sdpa_flash_layout_ok(&u), "odd strides of length-1 dims refused");
}

static void test_dnn_eligible(void)
{
    struct call c;
    char why[256] = "";

    call_init(&c, PICTOR_BF16, 1, 24, 4352, 4352, 128);
    c.q = blhd(PICTOR_BF16, 1, 24, 4352, 128);
    c.k = blhd(PICTOR_BF16, 1, 24, 4352, 128);
    c.v = blhd(PICTOR_BF16, 1, 24, 4352, 128);
    c.o = blhd(PICTOR_BF16, 1, 24, 4352, 128);
    CHECK(cuda_sdpa_dnn_eligible(&c.a, why, sizeof why), "FLUX attention: %s", why);

    call_init(&c, PICTOR_F16, 1, 2, 64, 64, 64);
    c.m = pictor_tensor_make(ALIGNED, PICTOR_F16, 2, (int64_t[]){ 64, 64 });
    c.a.u.sdpa.mask = &c.m;
    CHECK(!cuda_sdpa_dnn_eligible(&c.a, why, sizeof why) && strstr(why, "mask"),
          "mask: '%s'", why);
    c.a.u.sdpa.mask = NULL;
    c.a.u.sdpa.causal = true;
    CHECK(!cuda_sdpa_dnn_eligible(&c.a, why, sizeof why) && strstr(why, "causal"),
          "causal: '%s'", why);

    call_init(&c, PICTOR_F32, 1, 2, 64, 64, 64);
    CHECK(!cuda_sdpa_dnn_eligible(&c.a, why, sizeof why), "f32 taken by cuDNN");
    call_init(&c, PICTOR_BF16, 1, 2, 64, 64, CUDA_SDPA_DNN_MAX_HEAD_DIM + 8);
    CHECK(!cuda_sdpa_dnn_eligible(&c.a, why, sizeof why), "D 264 taken by cuDNN");
    call_init(&c, PICTOR_BF16, 1, 2, 64, 64, 84);
    CHECK(!cuda_sdpa_dnn_eligible(&c.a, why, sizeof why), "D 84 taken by cuDNN");
    call_init(&c, PICTOR_BF16, 1, 2, 64, 64, 80);
    CHECK(cuda_sdpa_dnn_eligible(&c.a, why, sizeof why), "D 80: %s", why);
    c.v.shape[3] = c.o.shape[3] = 64;
    CHECK(!cuda_sdpa_dnn_eligible(&c.a, why, sizeof why), "Dv != D taken by cuDNN");
    call_init(&c, PICTOR_BF16, 1, 2, 64, 0, 64);
    CHECK(!cuda_sdpa_dnn_eligible(&c.a, why, sizeof why), "Lk 0 taken by cuDNN");
    call_init(&c, PICTOR_BF16, 1, 2, 64, 64, 64);
    c.o.dtype = PICTOR_F32;
    CHECK(!cuda_sdpa_dnn_eligible(&c.a, why, sizeof why) && strstr(why, "o is"),
          "f32 o: '%s'", why);
    call_init(&c, PICTOR_BF16, 1, 2, 64, 64, 64);
    c.k.data = OFF_BY_2;
    CHECK(!cuda_sdpa_dnn_eligible(&c.a, why, sizeof why) && strstr(why, "k is"),
          "unaligned k: '%s'", why);
    call_init(&c, PICTOR_BF16, 1, 2, 64, 64, 64);
    c.v.stride[1] = 0; /* one v shared by both heads */
    CHECK(!cuda_sdpa_dnn_eligible(&c.a, why, sizeof why) && strstr(why, "stride"),
          "stride-0 v: '%s'", why);
}

static void test_dnn_key(void)
{
    struct call c, d;
    struct cuda_sdpa_dnn_key k1, k2, p;
    int64_t st[4];

    /* B = 1: the batch stride of a view addresses nothing. */
    call_init(&c, PICTOR_BF16, 1, 24, 4352, 4352, 128);
    c.q = blhd(PICTOR_BF16, 1, 24, 4352, 128);
    cuda_sdpa_norm_strides(&c.q, st);
    CHECK(st[0] == 24 * 128 && st[1] == 128 && st[2] == 24 * 128 && st[3] == 1,
          "normalized strides %lld %lld %lld %lld", (long long)st[0], (long long)st[1],
          (long long)st[2], (long long)st[3]);
    d = c;
    d.a.u.sdpa.q = &d.q;
    d.a.u.sdpa.k = &d.k;
    d.a.u.sdpa.v = &d.v;
    d.a.u.sdpa.o = &d.o;
    d.q.stride[0] = 999; /* same elements addressed */
    d.a.u.sdpa.scale = 1.0f;
    cuda_sdpa_dnn_key_of(&c.a, &k1);
    cuda_sdpa_dnn_key_of(&d.a, &k2);
    CHECK(memcmp(&k1, &k2, sizeof k1) == 0, "keys differ for the same layout and shape");
    d.k.shape[2] = d.v.shape[2] = 4351;
    cuda_sdpa_dnn_key_of(&d.a, &k2);
    CHECK(memcmp(&k1, &k2, sizeof k1) != 0, "Lk not in the key");
    d.k.shape[2] = d.v.shape[2] = 4352;
    d.o.dtype = d.q.dtype = d.k.dtype = d.v.dtype = PICTOR_F16;
    cuda_sdpa_dnn_key_of(&d.a, &k2);
    CHECK(memcmp(&k1, &k2, sizeof k1) != 0, "dtype not in the key");

    cuda_sdpa_dnn_probe_key(&p);
    CHECK(p.dtype == PICTOR_BF16 && p.B == 1 && p.H == 1 && p.Lq == 128 && p.Lk == 128 &&
              p.D == 128 && p.qs[2] == 128 && p.qs[3] == 1 && p.os[2] == 128,
          "probe key");
}

int main(void)
{
    RUN(test_parse_force);
    RUN(test_kernels_support);
    RUN(test_flash_eligible);
    RUN(test_flash_layout);
    RUN(test_gemm_route);
    RUN(test_dnn_eligible);
    RUN(test_dnn_key);
    TEST_MAIN_END();
}
