/*
 * pictor/text_eval.h — evaluators (pictor/eval.h) for the text encoders,
 * as `pictor check` runs them on fixture cases (FIXTURES.md):
 *
 *   "clip.text"  input  input_ids [B, L] int64
 *                output last_hidden_state [B, L, D], penultimate_hidden_state
 *                       [B, L, D] (hidden_states[-2]), pooled [B, D], and
 *                       text_embeds [B, P] when the model has a projection
 *   "t5.encoder" input  input_ids [B, L] int64
 *                output last_hidden_state [B, L, d_model]
 *
 * Weights come through pictor_common_host()->weights_open on
 * req->model_dir. Thread: [worker thread].
 */
#ifndef PICTOR_TEXT_EVAL_H
#define PICTOR_TEXT_EVAL_H

#include <stddef.h>

#include "pictor/eval.h"

int pictor_eval_clip_text(const struct pictor_eval_request *req,
                          const struct pictor_eval_io *io, char *err,
                          size_t errlen);

int pictor_eval_t5_encoder(const struct pictor_eval_request *req,
                           const struct pictor_eval_io *io, char *err,
                           size_t errlen);

#endif /* PICTOR_TEXT_EVAL_H */
