/* tests/harness/tmpdir.c — see tmpdir.h. */
#include "tmpdir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

char test_tmp[256];

int test_tmp_create(const char *prefix)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(test_tmp, sizeof test_tmp, "%s/%s-XXXXXX", base, prefix);
    if (!mkdtemp(test_tmp)) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

void test_tmp_remove(void)
{
    if (test_tmp[0])
        nftw(test_tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_tmp_at(const char *rel)
{
    static char p[2][512];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s", test_tmp, rel);
    return p[k];
}

void test_tmp_mkdir(const char *rel)
{
    mkdir(test_tmp_at(rel), 0755);
}

int test_tmp_write(const char *rel, const char *text)
{
    FILE *f = fopen(test_tmp_at(rel), "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}
