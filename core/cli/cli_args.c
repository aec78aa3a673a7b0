/* core/cli/cli_args.c — option values shared by the subcommands (cli.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int pictor_cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)s[0]) && !(s[0] == '-' && isdigit((unsigned char)s[1])))
        return -1;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Digits only (no sign, no blanks), at most 5 of them. */
static const char *side(const char *s, int *out)
{
    int v = 0, n = 0;
    while (isdigit((unsigned char)*s) && n < 6) {
        v = v * 10 + (*s++ - '0');
        n++;
    }
    if (n == 0 || n > 5)
        return NULL;
    *out = v;
    return s;
}

int pictor_cli_parse_size(const char *cmd, const char *v, int lo, int hi, int *w, int *h)
{
    const char *p = side(v, w);
    if (p && *p == 'x' && (p = side(p + 1, h)) && !*p && *w >= lo && *w <= hi && *h >= lo &&
        *h <= hi)
        return 0;
    fprintf(stderr, "pictor %s: --size %s: WxH with each side %d..%d\n", cmd, v, lo, hi);
    return -1;
}
