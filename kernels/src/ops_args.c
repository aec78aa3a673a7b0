/* kernels/src/ops_args.c — the tensor fields of each argument block
 * (pictor_op_args_tensors, pictor/ops.h). A new op or a new tensor field
 * in struct pictor_op_args must be listed here: tests/unit/test_graph.c
 * records every op on the CPU and compares replays with direct calls. */
#include "pictor/ops.h"

/* Fields are `const pictor_tensor *` or `pictor_tensor *`; both are
 * addressed as `const pictor_tensor **` (same representation). */
#define T(field) (slots[n++] = (const pictor_tensor **)(void *)&a->u.field)

int pictor_op_args_tensors(struct pictor_op_args *a,
                           const pictor_tensor **slots[PICTOR_OP_MAX_TENSORS])
{
    int n = 0;
    switch (a->op) {
    case PICTOR_OP_MATMUL:
        T(matmul.a), T(matmul.b), T(matmul.bias), T(matmul.c), T(matmul.gate);
        break;
    case PICTOR_OP_CONV2D:
        T(conv2d.x), T(conv2d.w), T(conv2d.bias), T(conv2d.y);
        break;
    case PICTOR_OP_GROUP_NORM:
        T(group_norm.x), T(group_norm.gamma), T(group_norm.beta), T(group_norm.y);
        break;
    case PICTOR_OP_LAYER_NORM:
        T(layer_norm.x), T(layer_norm.gamma), T(layer_norm.beta), T(layer_norm.y);
        break;
    case PICTOR_OP_RMS_NORM:
        T(rms_norm.x), T(rms_norm.weight), T(rms_norm.y);
        break;
    case PICTOR_OP_SOFTMAX:
        T(softmax.x), T(softmax.y);
        break;
    case PICTOR_OP_SDPA:
        T(sdpa.q), T(sdpa.k), T(sdpa.v), T(sdpa.mask), T(sdpa.o);
        break;
    case PICTOR_OP_UNARY:
        T(unary.x), T(unary.y);
        break;
    case PICTOR_OP_BINARY:
        T(binary.a), T(binary.b), T(binary.y);
        break;
    case PICTOR_OP_COPY:
        T(copy.src), T(copy.dst);
        break;
    case PICTOR_OP_UPSAMPLE_NEAREST2X:
        T(upsample.x), T(upsample.y);
        break;
    case PICTOR_OP_EMBEDDING:
        T(embedding.table), T(embedding.ids), T(embedding.y);
        break;
    case PICTOR_OP_ROPE:
        T(rope.x), T(rope.cos), T(rope.sin), T(rope.y);
        break;
    case PICTOR_OP_TIMESTEP_EMBEDDING:
        T(timestep.t), T(timestep.y);
        break;
    case PICTOR_OP_FILL:
        T(fill.y);
        break;
    case PICTOR_OP_QUANTIZE_ROWS:
        T(quantize_rows.x), T(quantize_rows.y), T(quantize_rows.scales);
        break;
    case PICTOR_OP_ADA_LAYER_NORM:
        T(ada_layer_norm.x), T(ada_layer_norm.scale), T(ada_layer_norm.shift),
            T(ada_layer_norm.y);
        break;
    case PICTOR_OP_GATED_ADD:
        T(gated_add.x), T(gated_add.y), T(gated_add.gate);
        break;
    case PICTOR_OP_RMS_NORM_ROPE:
        T(rms_norm_rope.x), T(rms_norm_rope.weight), T(rms_norm_rope.cos),
            T(rms_norm_rope.sin), T(rms_norm_rope.y);
        break;
    case PICTOR_OP_SDPA_FP8:
        T(sdpa_fp8.q), T(sdpa_fp8.k), T(sdpa_fp8.v), T(sdpa_fp8.o);
        break;
    case PICTOR_OP_COUNT:
        break;
    }
    return n;
}
