/* tests/unit/test_mem_limit.c — PICTOR_CUDA_MEMORY_LIMIT's parser
 * (kernels/cuda/mem_limit.h; pure C, no GPU needed). */
#include "../../kernels/cuda/mem_limit.h"
#include "../harness/test.h"

static void test_parse_ok(void)
{
    static const struct { const char *s; uint64_t v; } ok[] = {
        {"1", 1}, {"4096", 4096}, {"1k", 1024}, {"2K", 2048}, {"3m", 3ull << 20},
        {"20G", 20ull << 30}, {"20g", 20ull << 30}, {"1T", 1ull << 40},
        {"18446744073709551615", UINT64_MAX}, {"16777215T", 16777215ull << 40},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 0;
        int rc = cuda_mem_limit_parse(ok[i].s, &v);
        CHECK(rc == 0 && v == ok[i].v, "'%s': rc %d value %llu (want %llu)", ok[i].s, rc,
              (unsigned long long)v, (unsigned long long)ok[i].v);
    }
}

static void test_parse_bad(void)
{
    static const char *const bad[] = {
        "", "0", "0G", "-1", "+1", " 1", "1 ", "1GB", "1.5G", "G", "1P", "1e9", "0x10",
        "18446744073709551616", "16777216T", "99999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 12345;
        int rc = cuda_mem_limit_parse(bad[i], &v);
        CHECK(rc == -1 && v == 12345, "'%s' accepted (%llu)", bad[i], (unsigned long long)v);
    }
    uint64_t v = 7;
    CHECK(cuda_mem_limit_parse(NULL, &v) == -1 && v == 7, "NULL accepted");
}

int main(void)
{
    RUN(test_parse_ok);
    RUN(test_parse_bad);
    TEST_MAIN_END();
}
