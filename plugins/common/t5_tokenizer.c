/* plugins/common/t5_tokenizer.c — placeholder while the reader is written. */
#include "pictor/t5_tokenizer.h"

#include <stdio.h>

#include "pictor/status.h"

int pictor_t5_tokenizer_load(const char *dir, struct pictor_t5_tokenizer **out,
                             char *err, size_t errlen)
{
    *out = NULL;
    snprintf(err, errlen, "%s: T5 tokenizer not implemented yet", dir);
    return PICTOR_E_UNSUPPORTED;
}

void pictor_t5_tokenizer_free(struct pictor_t5_tokenizer *tok)
{
    (void)tok;
}

int64_t pictor_t5_tokenizer_pad_id(const struct pictor_t5_tokenizer *tok)
{
    (void)tok;
    return 0;
}

int pictor_t5_tokenizer_encode(const struct pictor_t5_tokenizer *tok, const char *text,
                               size_t len, int max_length, int64_t *ids_out,
                               int64_t *n_tokens, char *err, size_t errlen)
{
    snprintf(err, errlen, "T5 tokenizer not implemented yet");
    return PICTOR_E_UNSUPPORTED;
}
