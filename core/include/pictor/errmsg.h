/*
 * pictor/errmsg.h — the one way core's loaders report an error: a message
 * into the caller's (err, errlen) buffer and a status code back.
 */
#ifndef PICTOR_ERRMSG_H
#define PICTOR_ERRMSG_H

#include <stddef.h>

/* Formats the message into err (when err is not NULL and errlen > 0) and
 * returns status, so a caller writes `return pictor_fail(err, errlen,
 * PICTOR_E_IO, "%s: ...", path);`. */
int pictor_fail(char *err, size_t errlen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* PICTOR_ERRMSG_H */
