/* tests/unit/test_params.c — parameter loading with shape checks and the
 * sticky first error (pictor/params.h). */
#include <string.h>

#include "../harness/test.h"
#include "pictor/params.h"
#include "pictor/tensor_util.h"

static float w_data[6] = {1, 2, 3, 4, 5, 6};
static int64_t i_data[2] = {1, 2};

static int fake_get(void *ctx, const char *name, pictor_tensor *out)
{
    (void)ctx;
    if (strcmp(name, "layer.weight") == 0) {
        *out = pictor_tensor_make(w_data, PICTOR_F32, 2, (int64_t[]){2, 3});
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

int main(void)
{
    RUN(test_get_ok);
    RUN(test_missing_names_file_and_tensor);
    RUN(test_wrong_shape_and_dtype);
    TEST_MAIN_END();
}
