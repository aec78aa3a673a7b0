/*
 * pictor/tokenizer_eval.h — the `tokenizer.clip` and `tokenizer.t5`
 * evaluators (pictor/eval.h) that `pictor check` runs on fixture cases.
 *
 * Both read req->model_dir (the tokenizer folder) and params
 *   "prompts":    list of strings (required, may be empty strings),
 *   "max_length": int (default: CLIP model_max_length / 77; T5 512, the FLUX
 *                 pipeline's maximum — fixture cases always give it),
 * and return `input_ids` int64 [N, max_length], encoded exactly as the
 * pipelines call the tokenizer (padding="max_length", truncation=True).
 * No tensor inputs; the backend is not used (CPU-only work).
 * Thread: [worker thread], as every evaluator.
 */
#ifndef PICTOR_TOKENIZER_EVAL_H
#define PICTOR_TOKENIZER_EVAL_H

#include <stddef.h>

#include "pictor/eval.h"

int pictor_eval_tokenizer_clip(const struct pictor_eval_request *req,
                               const struct pictor_eval_io *io, char *err,
                               size_t errlen);
int pictor_eval_tokenizer_t5(const struct pictor_eval_request *req,
                             const struct pictor_eval_io *io, char *err,
                             size_t errlen);

#endif /* PICTOR_TOKENIZER_EVAL_H */
