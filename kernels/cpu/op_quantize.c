/*
 * kernels/cpu/op_quantize.c — dynamic per-row E4M3 quantisation on the CPU
 * (pictor_quantize_rows, pictor/ops.h): per row, amax in f32, the amax
 * floor PICTOR_FP8_AMAX_FLOOR, inv = 448 / amax, codes = e4m3(x * inv)
 * (RNE), scales[r] = amax / 448. The CUDA twin does the same f32 operations
 * in the same order, so both give identical bytes. The row arithmetic is
 * cpu_row_quantize_e4m3 (rows.c), shared with ada_layer_norm's FP8 output.
 */
#include <stdio.h>

#include "cpu_internal.h"
#include "cpu_rows.h"

struct quant_arg {
    float *scales; /* [rows] f32, contiguous */
};

static void quant_row(const void *varg, int64_t r, float *x, float *tmp, int64_t D)
{
    const struct quant_arg *a = varg;

    (void)tmp;
    a->scales[r] = cpu_row_quantize_e4m3(x, D);
}

int cpu_op_quantize_rows(void *vctx, const struct pictor_op_args *args, char *err,
                         size_t errlen)
{
    struct quant_arg a = { .scales = args->u.quantize_rows.scales->data };
    int rc = cpu_rows_run(vctx, args->u.quantize_rows.x, args->u.quantize_rows.y, quant_row,
                          &a);

    if (rc)
        snprintf(err, errlen, "quantize_rows: out of memory");
    return rc;
}
