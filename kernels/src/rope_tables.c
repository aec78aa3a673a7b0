/*
 * kernels/src/rope_tables.c — pictor_rope_tables (pictor/ops.h): FLUX's
 * multi-axis RoPE cos/sin tables, as diffusers' FluxPosEmbed computes them
 * through get_1d_rotary_pos_embed(axes_dim[a], ids[:, a], theta,
 * use_real=True, repeat_interleave_real=True, freqs_dtype=torch.float64):
 *   freqs_j = 1.0 / theta ** (arange(0, d, 2)[j] / d)   (f64)
 *   angle   = outer(pos, freqs)      (pos f32 promoted to f64)
 *   cos/sin in f64, repeat_interleave(2) -> c0, c0, c1, c1, ..., then f32;
 * the axes' tables are concatenated along the channels in axis order.
 * Host memory only; thread: any (pure function of its arguments).
 */
#include <math.h>

#include "pictor/ops.h"

void pictor_rope_tables(const float *ids, int64_t L, int n_axes,
                        const int *axes_dim, double theta, float *cos_out,
                        float *sin_out)
{
    int64_t D = 0;

    for (int a = 0; a < n_axes; a++)
        D += axes_dim[a];
    for (int64_t l = 0; l < L; l++) {
        int64_t off = 0;

        for (int a = 0; a < n_axes; a++) {
            int d = axes_dim[a];
            double pos = (double)ids[l * n_axes + a];

            for (int j = 0; j < d / 2; j++) {
                double w = 1.0 / pow(theta, (double)(2 * j) / (double)d);
                double angle = pos * w;
                float c = (float)cos(angle), s = (float)sin(angle);
                int64_t ch = l * D + off + 2 * j;

                cos_out[ch] = c;
                cos_out[ch + 1] = c;
                sin_out[ch] = s;
                sin_out[ch + 1] = s;
            }
            off += d;
        }
    }
}
