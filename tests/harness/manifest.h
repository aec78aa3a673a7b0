/*
 * tests/harness/manifest.h — full-size checkpoints without their weights:
 * reads the manifests of tests/data/manifests (name<TAB>d0,d1,...) and
 * writes safetensors files whose header declares every tensor while the
 * data section is a sparse hole (ftruncate), so no disk is used and the
 * readers see real names, shapes and spans.
 */
#ifndef PICTOR_TEST_MANIFEST_H
#define PICTOR_TEST_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mtensor {
    char name[192];
    int ndim;
    int64_t shape[5];
};

/* Repository-relative path `rel`, from the cwd or a folder above the
 * running binary. */
bool find_data(const char *rel, char *out, size_t len);
/* Reads tests/data/manifests/FILE; returns the count or -1. */
int read_manifest(const char *file, struct mtensor *t, int cap);
/* BF16 header for t[0..n) except index `skip` (-1: none), sparse data. */
bool write_sparse_st(const char *path, const struct mtensor *t, int n, int skip);

#endif
