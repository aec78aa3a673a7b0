/*
 * tests/unit/test_tensor_util.c — descriptor arithmetic of
 * pictor/tensor_util.h: dtype facts, make/contiguity, slice, permute,
 * transpose, reshape, unsqueeze, describe, and alloc/free through the CPU
 * backend.
 */
#include <stdint.h>
#include <string.h>

#include "pictor/backend.h"
#include "pictor/tensor_util.h"
#include "../harness/test.h"

static void test_dtypes(void)
{
    static const char *names[] = { "f32", "f16", "bf16", "f8_e4m3",
                                   "f8_e5m2", "i32", "i64" };
    static const size_t sizes[] = { 4, 2, 2, 1, 1, 4, 8 };

    for (int d = 0; d < PICTOR_DTYPE_COUNT; d++) {
        CHECK(strcmp(pictor_dtype_name(d), names[d]) == 0, "name %d", d);
        CHECK(pictor_dtype_size(d) == sizes[d], "size %d", d);
        CHECK(pictor_dtype_valid(d), "valid %d", d);
        CHECK(pictor_dtype_is_float(d) == (d <= PICTOR_F8_E5M2), "float %d",
              d);
    }
    CHECK(strcmp(pictor_dtype_name(PICTOR_DTYPE_COUNT), "?") == 0, "?");
    CHECK(strcmp(pictor_dtype_name(-1), "?") == 0, "? for -1");
    CHECK(pictor_dtype_size(99) == 0, "size of a bad dtype is 0");
    CHECK(!pictor_dtype_valid(PICTOR_DTYPE_COUNT), "COUNT is not valid");
}

static void test_make_contiguous(void)
{
    float buf[24];
    int64_t shape[3] = { 2, 3, 4 };
    pictor_tensor t = pictor_tensor_make(buf, PICTOR_F32, 3, shape);

    CHECK(t.stride[0] == 12 && t.stride[1] == 4 && t.stride[2] == 1,
          "strides %lld %lld %lld", (long long)t.stride[0],
          (long long)t.stride[1], (long long)t.stride[2]);
    CHECK(t.scale == 1.0f && t.row_scale == NULL, "scale 1");
    CHECK(t.device == PICTOR_DEVICE_CPU, "cpu");
    CHECK(pictor_tensor_numel(&t) == 24, "numel");
    CHECK(pictor_tensor_nbytes(&t) == 96, "nbytes");
    CHECK(pictor_tensor_is_contiguous(&t), "contiguous");

    pictor_tensor s = pictor_tensor_make(NULL, PICTOR_BF16, 0, NULL);
    CHECK(pictor_tensor_numel(&s) == 1 && pictor_tensor_is_contiguous(&s),
          "scalar");
    CHECK(pictor_tensor_nbytes(&s) == 2, "scalar bytes");
}

static void test_slice(void)
{
    float buf[24];
    int64_t shape[3] = { 2, 3, 4 };
    pictor_tensor t = pictor_tensor_make(buf, PICTOR_F32, 3, shape);
    pictor_tensor s = pictor_tensor_slice(&t, 1, 1, 2);

    CHECK(s.shape[1] == 2 && s.data == buf + 4, "slice dim 1");
    CHECK(!pictor_tensor_is_contiguous(&s), "middle slice not contiguous");
    s = pictor_tensor_slice(&t, 0, 1, 1);
    CHECK(s.data == buf + 12 && pictor_tensor_is_contiguous(&s),
          "slice of dim 0 stays contiguous");
    s = pictor_tensor_slice(&t, 2, 3, 1);
    CHECK(s.data == buf + 3 && s.shape[2] == 1, "last column");

    uint16_t h[6];
    int64_t hs[2] = { 3, 2 };
    float rs[3] = { 1, 2, 3 };
    pictor_tensor q = pictor_tensor_make(h, PICTOR_F8_E4M3, 2, hs);
    q.row_scale = rs;
    s = pictor_tensor_slice(&q, 0, 1, 2);
    CHECK(s.row_scale == rs + 1, "row_scale follows a dim-0 slice");
    CHECK((char *)s.data == (char *)h + 2, "FP8 offsets count 1 byte");
}

static void test_permute_transpose(void)
{
    float buf[24];
    int64_t shape[3] = { 2, 3, 4 };
    pictor_tensor t = pictor_tensor_make(buf, PICTOR_F32, 3, shape);
    int perm[3] = { 2, 0, 1 };
    pictor_tensor p = pictor_tensor_permute(&t, perm);

    CHECK(p.shape[0] == 4 && p.shape[1] == 2 && p.shape[2] == 3, "shape");
    CHECK(p.stride[0] == 1 && p.stride[1] == 12 && p.stride[2] == 4,
          "strides");
    CHECK(!pictor_tensor_is_contiguous(&p), "permuted is not contiguous");
    pictor_tensor tr = pictor_tensor_transpose(&t, 0, 2);
    CHECK(tr.shape[0] == 4 && tr.shape[2] == 2 && tr.stride[0] == 1 &&
              tr.stride[2] == 12, "transpose 0,2");
    pictor_tensor back = pictor_tensor_transpose(&tr, 0, 2);
    CHECK(pictor_tensor_is_contiguous(&back) && back.data == buf,
          "transpose twice");
}

static void test_reshape(void)
{
    float buf[24];
    int64_t shape[3] = { 2, 3, 4 }, s2[2] = { 6, -1 }, bad[2] = { 5, -1 },
            two_inf[2] = { -1, -1 }, wrong[2] = { 5, 5 };
    pictor_tensor t = pictor_tensor_make(buf, PICTOR_F32, 3, shape), r;

    CHECK(pictor_tensor_reshape(&t, 2, s2, &r) == PICTOR_OK, "reshape");
    CHECK(r.ndim == 2 && r.shape[0] == 6 && r.shape[1] == 4 &&
              r.stride[0] == 4 && r.stride[1] == 1, "inferred [6, 4]");
    CHECK(pictor_tensor_reshape(&t, 2, bad, &r) == PICTOR_E_INVALID,
          "24 not divisible by 5");
    CHECK(pictor_tensor_reshape(&t, 2, two_inf, &r) == PICTOR_E_INVALID,
          "two -1");
    CHECK(pictor_tensor_reshape(&t, 2, wrong, &r) == PICTOR_E_INVALID,
          "numel mismatch");
    pictor_tensor tr = pictor_tensor_transpose(&t, 1, 2);
    CHECK(pictor_tensor_reshape(&tr, 2, s2, &r) == PICTOR_E_INVALID,
          "non-contiguous refused");
    /* FP8 per-row scales: kept when dim 0 keeps its extent, else refused. */
    uint8_t q[24];
    float rs[2] = { 1, 2 };
    int64_t keep[3] = { 2, 6, 2 }, lose[2] = { 4, 6 };
    pictor_tensor tq = pictor_tensor_make(q, PICTOR_F8_E4M3, 3, shape);
    tq.row_scale = rs;
    CHECK(pictor_tensor_reshape(&tq, 3, keep, &r) == PICTOR_OK &&
              r.row_scale == rs, "row_scale kept");
    CHECK(pictor_tensor_reshape(&tq, 2, lose, &r) == PICTOR_E_INVALID,
          "reshape that moves row_scale's dim refused");
    /* In place (out == t), as model code does. */
    int64_t flat[1] = { 24 };
    CHECK(pictor_tensor_reshape(&t, 1, flat, &t) == PICTOR_OK &&
              t.ndim == 1 && t.shape[0] == 24 && t.stride[0] == 1,
          "in-place reshape");
}

static void test_unsqueeze(void)
{
    float buf[6];
    int64_t shape[2] = { 2, 3 };
    pictor_tensor t = pictor_tensor_make(buf, PICTOR_F32, 2, shape);
    pictor_tensor u = pictor_tensor_unsqueeze(&t, 1);

    CHECK(u.ndim == 3 && u.shape[0] == 2 && u.shape[1] == 1 &&
              u.shape[2] == 3, "[2, 1, 3]");
    CHECK(u.stride[0] == 3 && u.stride[2] == 1, "strides kept");
    CHECK(pictor_tensor_is_contiguous(&u), "still contiguous");
    u = pictor_tensor_unsqueeze(&t, 2);
    CHECK(u.ndim == 3 && u.shape[2] == 1 && pictor_tensor_is_contiguous(&u),
          "trailing unit dim");
    pictor_tensor tr = pictor_tensor_transpose(&t, 0, 1);
    u = pictor_tensor_unsqueeze(&tr, 0);
    CHECK(u.shape[0] == 1 && u.shape[1] == 3 && u.stride[1] == 1 &&
              u.stride[2] == 3, "unsqueeze of a transposed view");
}

static void test_describe(void)
{
    char buf[64];
    int64_t shape[3] = { 2, 3, 4 };
    pictor_tensor t = pictor_tensor_make(NULL, PICTOR_BF16, 3, shape);

    CHECK(strcmp(pictor_tensor_describe(&t, buf, sizeof buf),
                 "[2, 3, 4] bf16") == 0, "got '%s'", buf);
    pictor_tensor s = pictor_tensor_make(NULL, PICTOR_F8_E4M3, 0, NULL);
    CHECK(strcmp(pictor_tensor_describe(&s, buf, sizeof buf),
                 "[] f8_e4m3") == 0, "got '%s'", buf);
    char tiny[6];
    pictor_tensor_describe(&t, tiny, sizeof tiny);
    CHECK(strlen(tiny) < sizeof tiny && strncmp(tiny, "[2, 3", 5) == 0,
          "truncated safely: '%s'", tiny);
}

static void test_same_shape(void)
{
    int64_t a[2] = { 2, 3 }, b[2] = { 3, 2 };
    pictor_tensor x = pictor_tensor_make(NULL, PICTOR_F32, 2, a);
    pictor_tensor y = pictor_tensor_make(NULL, PICTOR_F16, 2, a);
    pictor_tensor z = pictor_tensor_make(NULL, PICTOR_F32, 2, b);

    CHECK(pictor_tensor_same_shape(&x, &y), "dtype does not matter");
    CHECK(!pictor_tensor_same_shape(&x, &z), "[2,3] vs [3,2]");
    pictor_tensor u = pictor_tensor_unsqueeze(&x, 0);
    CHECK(!pictor_tensor_same_shape(&x, &u), "ndim differs");
}

static void test_alloc_free(void)
{
    pictor_backend *be = pictor_backend_cpu_create(2);
    int64_t shape[2] = { 5, 7 };
    pictor_tensor t;

    CHECK(be != NULL, "cpu backend");
    if (!be)
        return;
    CHECK(pictor_tensor_alloc(be, &t, PICTOR_F16, 2, shape) == PICTOR_OK,
          "alloc");
    CHECK(t.data && ((uintptr_t)t.data % 256) == 0, "256-byte aligned");
    CHECK(pictor_tensor_is_contiguous(&t) && t.dtype == PICTOR_F16, "layout");
    memset(t.data, 0xab, pictor_tensor_nbytes(&t)); /* ASan: size is right */
    pictor_tensor_free(be, &t);
    CHECK(t.data == NULL, "free clears data");
    int64_t neg[1] = { -1 };
    CHECK(pictor_tensor_alloc(be, &t, PICTOR_F32, 1, neg) == PICTOR_E_INVALID,
          "negative dim refused");
    CHECK(strstr(pictor_backend_error(be), "negative") != NULL,
          "message: %s", pictor_backend_error(be));
    CHECK(strcmp(pictor_backend_name(be), "cpu") == 0, "name");
    pictor_backend_destroy(be);
}

int main(void)
{
    RUN(test_dtypes);
    RUN(test_make_contiguous);
    RUN(test_slice);
    RUN(test_permute_transpose);
    RUN(test_reshape);
    RUN(test_unsqueeze);
    RUN(test_describe);
    RUN(test_same_shape);
    RUN(test_alloc_free);
    TEST_MAIN_END();
}
