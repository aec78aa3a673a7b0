/*
 * tests/harness/test.h — the minimal unit-test harness every test binary
 * uses. Each test is a void function run by RUN(); checks record failures
 * and go on. A binary prints one line per test:
 *   PASS <name>
 *   FAIL <name>: <first failure message> (file:line)
 * and exits 1 when any test failed. tests/run-all counts these lines, so a
 * test that checks nothing still has to say PASS through at least one CHECK
 * (RUN reports a test with zero checks as FAIL: a test must assert).
 */
#ifndef PICTOR_TEST_H
#define PICTOR_TEST_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct test_state {
    const char *name;
    int checks;
    int failures;
    char first[512];
    char skipped[256]; /* why the running test skipped itself ("" if not) */
    int total_failed;
    int total_run;
};

extern struct test_state test_state_;

void test_fail_(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The running test cannot say anything here (e.g. a GPU test at FLUX size
 * under the CUDA emulator): RUN prints "SKIP <name>: <why>" instead of
 * PASS/FAIL, unless a check already failed. tests/run-all shows SKIP lines
 * and does not count them. */
void test_skip_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void test_run_(const char *name, void (*fn)(void));
int test_finish_(void);

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        test_state_.checks++;                                                \
        if (!(cond))                                                         \
            test_fail_(__FILE__, __LINE__, __VA_ARGS__);                     \
    } while (0)

/* |a - b| <= tol, NaN never passes. */
#define CHECK_NEAR(a, b, tol, what)                                          \
    do {                                                                     \
        double a_ = (double)(a), b_ = (double)(b);                           \
        CHECK(fabs(a_ - b_) <= (tol), "%s: %.9g vs %.9g (tol %.3g)", (what), \
              a_, b_, (double)(tol));                                        \
    } while (0)

/* Runs one test function; TEST_ONLY="name1,name2" in the environment runs
 * just those, TEST_VERBOSE=1 prints every failed check, not only the first. */
#define RUN(fn) test_run_(#fn, fn)
#define TEST_MAIN_END() return test_finish_()

/* Relative L2 error ||a-b|| / ||b|| over n floats (NaN if any NaN). */
double test_rel_l2(const float *a, const float *b, size_t n);
/* Deterministic uniform floats in [lo, hi) from a 64-bit seed. */
void test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);

#endif
