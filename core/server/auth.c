/* core/server/auth.c — API keys: the key file (one key per line, '#'
 * comments, surrounding blanks trimmed), reloaded on SIGHUP; a
 * constant-time check of `Authorization: Bearer KEY`. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pictor/status.h"
#include "server.h"

#define KEY_LINE_MAX 1024

int pictord_auth_load(struct pictord_auth *a, const char *path, char *err, size_t errlen)
{
    char *keys[PICTORD_MAX_KEYS];
    int n = 0;
    if (path && path[0]) {
        FILE *f = fopen(path, "r");
        if (!f) {
            snprintf(err, errlen, "cannot read the API key file %s", path);
            return PICTOR_E_IO;
        }
        char line[KEY_LINE_MAX];
        while (fgets(line, sizeof line, f)) {
            char *p = line, *end;
            while (isspace((unsigned char)*p))
                p++;
            end = p + strlen(p);
            while (end > p && isspace((unsigned char)end[-1]))
                *--end = '\0';
            if (!*p || *p == '#')
                continue;
            if (n == PICTORD_MAX_KEYS || !(keys[n] = strdup(p))) {
                snprintf(err, errlen, "%s: more than %d keys or out of memory", path,
                         PICTORD_MAX_KEYS);
                fclose(f);
                while (n > 0)
                    free(keys[--n]);
                return PICTOR_E_INVALID;
            }
            n++;
        }
        fclose(f);
        if (n == 0) {
            snprintf(err, errlen, "the API key file %s holds no key", path);
            return PICTOR_E_INVALID;
        }
    }
    pthread_rwlock_wrlock(&a->lock);
    for (int i = 0; i < a->n_keys; i++)
        free(a->keys[i]);
    memcpy(a->keys, keys, (size_t)n * sizeof *keys);
    a->n_keys = n;
    if (path != a->path)
        snprintf(a->path, sizeof a->path, "%s", path ? path : "");
    pthread_rwlock_unlock(&a->lock);
    return PICTOR_OK;
}

void pictord_auth_free(struct pictord_auth *a)
{
    for (int i = 0; i < a->n_keys; i++)
        free(a->keys[i]);
    a->n_keys = 0;
}

/* Compares every byte of the presented token whatever the key, so the time
 * depends on the token's length only. */
static bool same(const char *key, const char *tok, size_t tlen)
{
    size_t klen = strlen(key);
    unsigned char diff = klen != tlen;
    for (size_t i = 0; i < tlen; i++)
        diff |= (unsigned char)tok[i] ^ (unsigned char)(i < klen ? key[i] : 0);
    return diff == 0;
}

bool pictord_auth_check(struct pictord_auth *a, const char *authorization)
{
    pthread_rwlock_rdlock(&a->lock);
    bool ok = a->n_keys == 0;
    if (!ok && authorization && !strncasecmp(authorization, "Bearer ", 7)) {
        const char *tok = authorization + 7;
        while (*tok == ' ')
            tok++;
        size_t tlen = strlen(tok);
        bool any = false;
        for (int i = 0; i < a->n_keys; i++)
            any |= same(a->keys[i], tok, tlen);
        ok = any;
    }
    pthread_rwlock_unlock(&a->lock);
    return ok;
}
