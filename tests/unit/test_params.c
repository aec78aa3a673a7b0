/* tests/unit/test_params.c — parameter loading with shape checks and the
 * sticky first error (pictor/params.h). */
#include <math.h>
#include <string.h>

#include "../harness/test.h"
#include "pictor/convert.h"
#include "pictor/eval.h"
#include "pictor/params.h"
#include "pictor/tensor_util.h"

static float w_data[6] = {1, 2, 3, 4, 5, 1.00390625f}; /* 1 + 2^-8: a bf16 tie */
static uint8_t q_data[4] = {0x38, 0x40, 0xb8, 0x48};   /* e4m3: 1, 2, -1, 4 */
static const float q_rows[2] = {0.5f, 3.0f};
static int64_t i_data[2] = {1, 2};

static int fake_get(void *ctx, const char *name, pictor_tensor *out)
{
    (void)ctx;
    if (strcmp(name, "layer.weight") == 0) {
        *out = pictor_tensor_make(w_data, PICTOR_F32, 2, (int64_t[]){2, 3});
        return PICTOR_OK;
    }
    if (strcmp(name, "layer.fp8") == 0) {
        *out = pictor_tensor_make(q_data, PICTOR_F8_E4M3, 2, (int64_t[]){2, 2});
        out->scale = 2.0f;
        out->row_scale = q_rows;
        return PICTOR_OK;
    }
    if (strcmp(name, "layer.ids") == 0) {
        *out = pictor_tensor_make(i_data, PICTOR_I64, 1, (int64_t[]){2});
        return PICTOR_OK;
    }
    return PICTOR_E_NOT_FOUND;
}

static const char *fake_where(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return "model.safetensors";
}

static const struct pictor_wsource src = {NULL, fake_get, fake_where};

static void test_get_ok(void)
{
    char err[256] = "";
    pictor_backend *be = pictor_backend_cpu_create(1);
    struct pictor_params p;
    pictor_params_init(&p, be, &src, err, sizeof err);
    pictor_tensor t;
    int rc = pictor_params_get(&p, &t, 2, (int64_t[]){2, 3}, "layer.%s", "weight");
    CHECK(rc == PICTOR_OK, "get: %s", err);
    CHECK(t.data == w_data, "CPU tensors are used in place (zero copy)");
    CHECK(p.n_values == 6, "counts parameters: %lld", (long long)p.n_values);
    CHECK(pictor_params_has(&p, "layer.weight") && !pictor_params_has(&p, "nope"), "has()");
    pictor_params_release(&p);
    pictor_backend_destroy(be);
}

static void test_missing_names_file_and_tensor(void)
{
    char err[256] = "";
    pictor_backend *be = pictor_backend_cpu_create(1);
    struct pictor_params p;
    pictor_params_init(&p, be, &src, err, sizeof err);
    pictor_tensor t;
    CHECK(!pictor_params_get_opt(&p, &t, 1, NULL, "absent.bias") && t.data == NULL,
          "optional absent tensor is no error");
    CHECK(p.status == PICTOR_OK, "optional lookup leaves status ok");
    int rc = pictor_params_get(&p, &t, 1, NULL, "absent.bias");
    CHECK(rc == PICTOR_E_NOT_FOUND, "missing tensor: %d", rc);
    CHECK(strstr(err, "model.safetensors") && strstr(err, "'absent.bias'"), "message: %s", err);
    /* sticky: a later valid get returns the first error, message unchanged */
    rc = pictor_params_get(&p, &t, 2, (int64_t[]){2, 3}, "layer.weight");
    CHECK(rc == PICTOR_E_NOT_FOUND && strstr(err, "absent.bias"), "sticky first error: %s", err);
    pictor_params_release(&p);
    pictor_backend_destroy(be);
}

static void test_wrong_shape_and_dtype(void)
{
    char err[256] = "";
    pictor_backend *be = pictor_backend_cpu_create(1);
    struct pictor_params p;
    pictor_params_init(&p, be, &src, err, sizeof err);
    pictor_tensor t;
    int rc = pictor_params_get(&p, &t, 2, (int64_t[]){3, 2}, "layer.weight");
    CHECK(rc == PICTOR_E_FORMAT, "wrong shape: %d", rc);
    CHECK(strstr(err, "'layer.weight'") && strstr(err, "[2, 3]") && strstr(err, "[3, 2]"),
          "message names both shapes: %s", err);
    pictor_params_init(&p, be, &src, err, sizeof err);
    rc = pictor_params_get(&p, &t, 1, NULL, "layer.ids");
    CHECK(rc == PICTOR_E_FORMAT && strstr(err, "i64"), "integer weight rejected: %s", err);
    pictor_params_release(&p);
    pictor_backend_destroy(be);
}

/* A compute dtype converts every tensor once at load (FP8 scales applied),
 * on the CPU too; an unsupported one is the set's first error. */
static void test_compute_dtype(void)
{
    char err[256] = "";
    pictor_backend *be = pictor_backend_cpu_create(1);
    struct pictor_params p;
    pictor_params_init(&p, be, &src, err, sizeof err);
    pictor_params_set_dtype(&p, PICTOR_BF16);
    pictor_tensor t, q;
    int rc = pictor_params_get(&p, &t, 2, (int64_t[]){2, 3}, "layer.weight");
    CHECK(rc == PICTOR_OK, "get bf16: %s", err);
    CHECK(t.dtype == PICTOR_BF16 && t.data != w_data, "converted into a copy: dtype %s",
          pictor_dtype_name(t.dtype));
    float back[6];
    if (rc == PICTOR_OK) {
        pictor_row_to_f32(back, t.data, PICTOR_BF16, 6, 1.0f);
        CHECK(back[0] == 1.0f && back[4] == 5.0f, "values kept: %g %g", back[0], back[4]);
        CHECK(back[5] == 1.0f, "round to nearest even: %.9g", back[5]);
    }
    rc = pictor_params_get(&p, &q, 2, (int64_t[]){2, 2}, "layer.fp8");
    CHECK(rc == PICTOR_OK && q.dtype == PICTOR_BF16 && q.row_scale == NULL, "fp8 -> bf16: %s",
          err);
    if (rc == PICTOR_OK) {
        float v[4];
        pictor_row_to_f32(v, q.data, PICTOR_BF16, 4, 1.0f);
        /* code x scale 2 x row scale (0.5 for row 0, 3 for row 1) */
        CHECK(v[0] == 1.0f && v[1] == 2.0f && v[2] == -6.0f && v[3] == 24.0f,
              "fp8 scales applied: %g %g %g %g", v[0], v[1], v[2], v[3]);
    }
    pictor_params_release(&p);

    pictor_params_init(&p, be, &src, err, sizeof err);
    pictor_params_set_dtype(&p, PICTOR_F32);
    rc = pictor_params_get(&p, &t, 2, (int64_t[]){2, 3}, "layer.weight");
    CHECK(rc == PICTOR_OK && t.data == w_data, "f32: as stored, in place");
    pictor_params_release(&p);

    pictor_params_init(&p, be, &src, err, sizeof err);
    pictor_params_set_dtype(&p, PICTOR_F8_E4M3);
    rc = pictor_params_get(&p, &t, 2, (int64_t[]){2, 3}, "layer.weight");
    CHECK(rc == PICTOR_E_UNSUPPORTED && strstr(err, "compute dtype"), "fp8 refused: %d %s", rc,
          err);
    pictor_params_release(&p);
    pictor_backend_destroy(be);

    CHECK(pictor_precision_compute_dtype(PICTOR_PRECISION_BF16) == PICTOR_BF16 &&
              pictor_precision_compute_dtype(PICTOR_PRECISION_FP16) == PICTOR_F16 &&
              pictor_precision_compute_dtype(PICTOR_PRECISION_FP32) == PICTOR_F32 &&
              pictor_precision_compute_dtype(PICTOR_PRECISION_FP8) == PICTOR_BF16 &&
              pictor_precision_compute_dtype(99) == -1,
          "precision -> compute dtype");
    CHECK(pictor_precision_fp8_linears(PICTOR_PRECISION_FP8) &&
              !pictor_precision_fp8_linears(PICTOR_PRECISION_BF16) &&
              !pictor_precision_fp8_linears(PICTOR_PRECISION_FP32),
          "only fp8 quantises the linears");
}

/* replace: an owned copy is freed and swapped, an in-place CPU tensor is
 * not freed and the fresh buffer becomes owned (released with the set). */
static void test_replace(void)
{
    char err[256] = "";
    pictor_backend *be = pictor_backend_cpu_create(1);
    struct pictor_params p;
    pictor_params_init(&p, be, &src, err, sizeof err);
    pictor_params_set_dtype(&p, PICTOR_BF16); /* converted: an owned copy */
    pictor_tensor t;
    CHECK(pictor_params_get(&p, &t, 2, (int64_t[]){2, 3}, "layer.weight") == PICTOR_OK,
          "get: %s", err);
    size_t owned = p.n_allocs;
    void *fresh = NULL;
    CHECK(pictor_backend_alloc(be, 16, &fresh) == PICTOR_OK, "alloc");
    CHECK(pictor_params_replace(&p, t.data, fresh) == PICTOR_OK && p.n_allocs == owned &&
              p.allocs[owned - 1] == fresh,
          "owned copy swapped in place (%zu allocations)", p.n_allocs);
    void *fresh2 = NULL;
    CHECK(pictor_backend_alloc(be, 16, &fresh2) == PICTOR_OK, "alloc");
    CHECK(pictor_params_replace(&p, w_data, fresh2) == PICTOR_OK && p.n_allocs == owned + 1,
          "unowned: the fresh buffer is tracked (%zu allocations)", p.n_allocs);
    pictor_params_release(&p); /* frees fresh and fresh2 (ASan: no leak, no double free) */
    pictor_backend_destroy(be);
}

/* quantize_rows: a loaded weight becomes E4M3 with one scale per row (from
 * a converted owned copy, and from a tensor used in place), its values back
 * within E4M3's precision; a 1-D tensor is refused with the tensor's name. */
static void test_quantize_rows(void)
{
    char err[256] = "";
    pictor_backend *be = pictor_backend_cpu_create(1);
    struct pictor_params p;
    for (int convert = 0; convert < 2; convert++) {
        pictor_params_init(&p, be, &src, err, sizeof err);
        if (convert)
            pictor_params_set_dtype(&p, PICTOR_BF16);
        pictor_tensor t;
        CHECK(pictor_params_get(&p, &t, 2, (int64_t[]){2, 3}, "layer.weight") == PICTOR_OK,
              "get: %s", err);
        CHECK(pictor_params_quantize_rows(&p, &t, "layer.weight") == PICTOR_OK, "quantize: %s",
              err);
        CHECK(t.dtype == PICTOR_F8_E4M3 && t.row_scale && t.scale == 1.0f && t.data != w_data,
              "an E4M3 copy with row scales (dtype %s)", pictor_dtype_name(t.dtype));
        /* row maxima 3 and 5: scales 3/448 and 5/448 */
        CHECK(t.row_scale[0] == 3.0f / 448.0f && t.row_scale[1] == 5.0f / 448.0f,
              "row scales %g %g", (double)t.row_scale[0], (double)t.row_scale[1]);
        for (int i = 0; i < 6; i++) {
            float v = pictor_e4m3_to_f32(((const uint8_t *)t.data)[i]) * t.row_scale[i / 3];
            CHECK(fabsf(v - w_data[i]) <= w_data[i] * 0x1p-4f, "value %d: %g vs %g", i,
                  (double)v, (double)w_data[i]);
        }
        pictor_params_release(&p); /* ASan: copies and scales freed once */
    }
    pictor_params_init(&p, be, &src, err, sizeof err);
    pictor_tensor ids;
    pictor_tensor bad = pictor_tensor_make(w_data, PICTOR_F32, 1, (int64_t[]){6});
    CHECK(pictor_params_quantize_rows(&p, &bad, "layer.bias") == PICTOR_E_INVALID &&
              strstr(err, "layer.bias") && strstr(err, "model.safetensors"),
          "1-D refused naming the tensor: %s", err);
    CHECK(pictor_params_get(&p, &ids, 1, NULL, "layer.ids") == PICTOR_E_INVALID,
          "the failure is sticky");
    pictor_params_release(&p);
    pictor_backend_destroy(be);
}

int main(void)
{
    RUN(test_get_ok);
    RUN(test_missing_names_file_and_tensor);
    RUN(test_wrong_shape_and_dtype);
    RUN(test_compute_dtype);
    RUN(test_replace);
    RUN(test_quantize_rows);
    TEST_MAIN_END();
}
