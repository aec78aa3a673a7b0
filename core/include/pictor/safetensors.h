/*
 * pictor/safetensors.h — a zero-copy reader for one .safetensors file
 * (MODELS.md §1.6): 8-byte little-endian header length N, N bytes of UTF-8
 * JSON, then the raw little-endian tensor data.
 *
 * pictor_st_open maps the whole file read-only and validates the header
 * completely before returning; after that no call can fail on the file's
 * content. Checks, each failure a message "FILE: ..." naming the tensor:
 *   - file >= 8 bytes; N <= PICTOR_ST_MAX_HEADER and N <= file size - 8;
 *   - the header is UTF-8 JSON holding exactly one object (only whitespace
 *     after it: writers pad with spaces), no NUL byte;
 *   - tensor names are unique: json-c keeps the last of duplicate keys, so
 *     the raw text is scanned and its top-level key count compared with
 *     json-c's; a mismatch is rejected naming the duplicate;
 *   - each tensor: "dtype" one of F32 F16 BF16 F8_E4M3 F8_E5M2 I32 I64 (the
 *     pictor dtypes), or BOOL U8 I8 I16 U16 U32 U64 F64 (known to
 *     safetensors, listed and size-checked, but pictor_st_find answers
 *     PICTOR_E_UNSUPPORTED for them); any other dtype string is an error;
 *     "shape" an array of integers >= 0 with at most PICTOR_MAX_DIMS (5)
 *     entries (more: PICTOR_E_UNSUPPORTED); "data_offsets" [begin, end]
 *     integers with begin <= end <= data section size; end - begin equal to
 *     numel * element size (overflow-checked); no two non-empty tensors
 *     overlap. Gaps and trailing bytes are allowed;
 *   - "__metadata__", when present, is an object of string values.
 * Status codes: PICTOR_E_IO (open/stat/mmap), PICTOR_E_FORMAT (content),
 * PICTOR_E_UNSUPPORTED (ndim > 5), PICTOR_E_NOMEM.
 *
 * Data access: pictor_st_find fills a CPU, contiguous pictor_tensor whose
 * data points into the mapping (scale 1, row_scale NULL). When a tensor's
 * bytes are not aligned to its element size in memory (a header length
 * that is not a multiple of 8, or an odd-sized tensor before it), the first
 * pictor_st_find of it copies it into an aligned private buffer and serves
 * that from then on; pictor_st_info never copies and never touches data.
 * Tensor bytes are paged in on first access only, so opening a 20 GB file
 * costs its header. Zero-size tensors are allowed; their data pointer is
 * non-NULL and aligned but points at no bytes of the file.
 *
 * Ownership and lifetime: the pictor_st owns the mapping, the names, the
 * metadata strings and the private copies; every pointer it hands out
 * (names, metadata values, tensor data) stays valid until pictor_st_close.
 * Writing through a tensor's data is undefined (the mapping is read-only).
 * Truncating the file while it is open may raise SIGBUS on access.
 *
 * Thread: open/close on one thread; every other call is safe from any
 * thread concurrently on an open pictor_st (the lazy aligned copy is taken
 * under a mutex).
 */
#ifndef PICTOR_SAFETENSORS_H
#define PICTOR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "pictor/status.h"
#include "pictor/tensor.h"

/* safetensors' own bound on N (Rust crate MAX_HEADER_SIZE = 100_000_000). */
#define PICTOR_ST_MAX_HEADER 100000000ull

struct pictor_st;

/* One tensor's header facts. Pointers live as long as the pictor_st. */
struct pictor_st_info {
    const char *name;
    const char *dtype_name;      /* as written in the file: "BF16", "F64" */
    int dtype;                   /* enum pictor_dtype, or -1 when the dtype
                                    is known but unsupported (F64, BOOL...) */
    int ndim;                    /* 0..PICTOR_MAX_DIMS */
    int64_t shape[PICTOR_MAX_DIMS];
    uint64_t numel;
    uint64_t offset;             /* first data byte, from the file start */
    uint64_t nbytes;
};

/* Maps and validates PATH. *out is set only on success. */
int pictor_st_open(const char *path, struct pictor_st **out, char *err,
                   size_t errlen);

/* Validates a whole file image already in memory (buf, len): same checks
 * and messages as pictor_st_open, LABEL standing for the file name. With
 * out == NULL it only validates (the fuzzer's entry). With out != NULL the
 * pictor_st borrows buf: the caller keeps it alive and unchanged until
 * pictor_st_close. */
int pictor_st_parse_header(const uint8_t *buf, size_t len, const char *label,
                           struct pictor_st **out, char *err, size_t errlen);

/* Unmaps and frees everything; NULL is a no-op. */
void pictor_st_close(struct pictor_st *st);

/* The path (or label) the file was opened with. */
const char *pictor_st_path(const struct pictor_st *st);

/* Tensors, indexed 0..count-1 in strcmp order of their names. */
size_t pictor_st_count(const struct pictor_st *st);
/* Name of tensor i, or NULL when i >= count. */
const char *pictor_st_name(const struct pictor_st *st, size_t i);
/* Header facts of tensor i: PICTOR_OK or PICTOR_E_NOT_FOUND (i >= count). */
int pictor_st_info(const struct pictor_st *st, size_t i,
                   struct pictor_st_info *out);
/* Index of NAME (binary search), or (size_t)-1 when absent. */
size_t pictor_st_index(const struct pictor_st *st, const char *name);

/* CPU view of tensor NAME: PICTOR_OK, PICTOR_E_NOT_FOUND (no such name),
 * PICTOR_E_UNSUPPORTED (known dtype pictor has no enum for) or
 * PICTOR_E_NOMEM (the aligned copy could not be allocated). */
int pictor_st_find(const struct pictor_st *st, const char *name,
                   pictor_tensor *out);

/* Value of KEY in "__metadata__", or NULL. */
const char *pictor_st_metadata(const struct pictor_st *st, const char *key);

#endif /* PICTOR_SAFETENSORS_H */
