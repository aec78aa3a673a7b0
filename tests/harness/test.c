/* tests/harness/test.c — see test.h. */
#include "test.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct test_state test_state_;

void test_fail_(const char *file, int line, const char *fmt, ...)
{
    if (getenv("TEST_VERBOSE")) { /* every failed check, not just the first */
        va_list ap;
        va_start(ap, fmt);
        printf("  check failed: ");
        vprintf(fmt, ap);
        printf(" (%s:%d)\n", file, line);
        va_end(ap);
    }
    if (test_state_.failures++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(test_state_.first, sizeof test_state_.first, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof test_state_.first)
            snprintf(test_state_.first + n, sizeof test_state_.first - (size_t)n,
                     " (%s:%d)", file, line);
    }
}

/* TEST_ONLY="a,b": run just the tests of those names. */
static bool test_selected(const char *name)
{
    const char *only = getenv("TEST_ONLY");
    size_t n = strlen(name);
    if (!only || !*only)
        return true;
    for (const char *p = only; (p = strstr(p, name)) != NULL; p += n)
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

void test_run_(const char *name, void (*fn)(void))
{
    if (!test_selected(name))
        return;
    test_state_.name = name;
    test_state_.checks = 0;
    test_state_.failures = 0;
    test_state_.first[0] = '\0';
    test_state_.skipped[0] = '\0';
    fn();
    test_state_.total_run++;
    if (test_state_.skipped[0] && !test_state_.failures) {
        printf("SKIP %s: %s\n", name, test_state_.skipped);
    } else if (test_state_.checks == 0) {
        printf("FAIL %s: no checks were made\n", name);
        test_state_.total_failed++;
    } else if (test_state_.failures) {
        printf("FAIL %s: %s (%d of %d checks failed)\n", name, test_state_.first,
               test_state_.failures, test_state_.checks);
        test_state_.total_failed++;
    } else {
        printf("PASS %s\n", name);
    }
    fflush(stdout);
}

void test_skip_(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(test_state_.skipped, sizeof test_state_.skipped, fmt, ap);
    va_end(ap);
}

int test_finish_(void)
{
    return test_state_.total_failed ? 1 : 0;
}

double test_rel_l2(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    if (den == 0)
        return num == 0 ? 0 : INFINITY;
    return sqrt(num / den);
}

void test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double u = (double)(s >> 11) * (1.0 / 9007199254740992.0);
        x[i] = (float)(lo + (hi - lo) * u);
    }
}
