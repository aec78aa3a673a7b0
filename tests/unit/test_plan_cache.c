/*
 * tests/unit/test_plan_cache.c — the CUDA backend's plan cache
 * (kernels/cuda/plan_cache.h) on the CPU: lookups across table growth,
 * replacement and flush free values exactly once, the entry cap, a NULL
 * value refused. Values are counted allocations, so a leak or a double
 * free shows in the counters (and under ASan).
 */
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cuda/plan_cache.h"
#include "../harness/test.h"
#include "pictor/status.h"

/* A key with padding between its members (zeroed by memset). */
struct key {
    int32_t a;
    int64_t b;
};

static int g_live; /* values allocated and not yet freed */

static int *value(int v)
{
    int *p = malloc(sizeof *p);

    *p = v;
    g_live++;
    return p;
}

static void free_value(void *p)
{
    g_live--;
    free(p);
}

static struct key key(int32_t a, int64_t b)
{
    struct key k;

    memset(&k, 0, sizeof k);
    k.a = a;
    k.b = b;
    return k;
}

static void test_put_get_grow(void)
{
    struct plan_cache *pc = plan_cache_create(sizeof(struct key), 10000, free_value);
    int bad = 0;

    g_live = 0;
    CHECK(pc != NULL, "create");
    for (int i = 0; i < 1000; i++) {
        struct key k = key(i, -3 * (int64_t)i);

        CHECK(plan_cache_put(pc, &k, value(i)) == PICTOR_OK, "put %d", i);
    }
    CHECK(plan_cache_count(pc) == 1000, "count %zu", plan_cache_count(pc));
    for (int i = 0; i < 1000; i++) {
        struct key k = key(i, -3 * (int64_t)i);
        int *v = plan_cache_get(pc, &k);

        bad += !v || *v != i;
    }
    CHECK(bad == 0, "%d keys not found after growth", bad);
    {
        struct key k = key(5, 5);

        CHECK(plan_cache_get(pc, &k) == NULL, "absent key");
    }
    plan_cache_destroy(pc);
    CHECK(g_live == 0, "%d values leaked by destroy", g_live);
}

static void test_replace_and_refuse(void)
{
    struct plan_cache *pc = plan_cache_create(sizeof(struct key), 8, free_value);
    struct key k = key(1, 2);
    int *v;

    g_live = 0;
    CHECK(plan_cache_put(pc, &k, value(1)) == PICTOR_OK, "put");
    CHECK(plan_cache_put(pc, &k, value(2)) == PICTOR_OK, "replace");
    v = plan_cache_get(pc, &k);
    CHECK(v && *v == 2, "replaced value");
    CHECK(g_live == 1 && plan_cache_count(pc) == 1, "old value freed (%d live)", g_live);
    CHECK(plan_cache_put(pc, &k, NULL) == PICTOR_E_INVALID, "NULL value refused");
    CHECK(plan_cache_get(pc, &k) == v, "refusal keeps the entry");
    plan_cache_destroy(pc);
    CHECK(g_live == 0, "%d values leaked", g_live);
}

static void test_cap_flushes(void)
{
    struct plan_cache *pc = plan_cache_create(sizeof(struct key), 4, free_value);
    struct key k;

    g_live = 0;
    for (int i = 0; i < 4; i++) {
        k = key(i, 0);
        plan_cache_put(pc, &k, value(i));
    }
    CHECK(plan_cache_count(pc) == 4, "full");
    k = key(99, 0);
    CHECK(plan_cache_put(pc, &k, value(99)) == PICTOR_OK, "put past the cap");
    CHECK(plan_cache_count(pc) == 1 && g_live == 1, "flushed: %zu entries, %d live",
          plan_cache_count(pc), g_live);
    k = key(0, 0);
    CHECK(plan_cache_get(pc, &k) == NULL, "old entries gone");
    plan_cache_flush(pc);
    CHECK(plan_cache_count(pc) == 0 && g_live == 0, "flush");
    plan_cache_destroy(pc);
    CHECK(plan_cache_create(0, 4, free_value) == NULL, "zero key size refused");
}

int main(void)
{
    RUN(test_put_get_grow);
    RUN(test_replace_and_refuse);
    RUN(test_cap_flushes);
    TEST_MAIN_END();
}
