/*
 * tests/harness/tmpdir.h — one scratch folder per test binary:
 * test_tmp_create makes $TMPDIR/PREFIX-XXXXXX (or /tmp), test_tmp_at names a
 * path inside it (two rotating buffers, so two may be live at once),
 * test_tmp_remove deletes the whole tree at the end.
 */
#ifndef PICTOR_TEST_TMPDIR_H
#define PICTOR_TEST_TMPDIR_H

extern char test_tmp[256];

/* 0 on success; prints the reason and returns -1 otherwise. */
int test_tmp_create(const char *prefix);
void test_tmp_remove(void);
const char *test_tmp_at(const char *rel);
void test_tmp_mkdir(const char *rel);
/* Writes text to TMP/REL; 0 on success. */
int test_tmp_write(const char *rel, const char *text);

#endif
