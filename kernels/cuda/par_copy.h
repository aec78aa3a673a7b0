/*
 * kernels/cuda/par_copy.h — memcpy over several threads, for the pinned
 * staging of large uploads (cuda_upload.c). Plain C, built in every
 * configuration so that it is tested without a GPU (tests/unit/
 * test_par_copy.c).
 */
#ifndef PICTOR_PAR_COPY_H
#define PICTOR_PAR_COPY_H

#include <stddef.h>

/* Most threads one copy uses. */
#define PAR_COPY_MAX_THREADS 8

/* Bytes of each part when n bytes are split over `threads` (clamped to
 * 1..PAR_COPY_MAX_THREADS): ceil(n / threads) rounded up to a page, so that
 * the parts (the last one shorter) cover all n bytes; 0 only for n == 0. */
size_t par_copy_part_bytes(size_t n, int threads);

/* memcpy(dst, src, n) in par_copy_part_bytes pieces, one thread each (the
 * caller's thread takes the first; a thread that cannot start leaves its
 * piece to the caller). */
void par_copy(char *dst, const char *src, size_t n, int threads);

#endif /* PICTOR_PAR_COPY_H */
