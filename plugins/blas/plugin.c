/*
 * The `blas` plugin's ABI table: a context per session holding the thread
 * count, support queries and kernels dispatched to the op files by name.
 * Everything runs on host memory, so the mem_* slots stay NULL and the host
 * shares its arena with `ref` without copies.
 */
#include <string.h>

#include <cblas.h>

#include "blas.h"

struct semseg_kernel {
    const blas_op *op;
    void *state;
};

static const blas_op *const blas_ops[] = {
    &blas_op_conv,
    &blas_op_conv_transpose,
    &blas_op_gemm,
    &blas_op_matmul,
    &blas_op_resize,
    &blas_op_concat,
    &blas_op_pool_max,
    &blas_op_pool_avg,
    &blas_op_pool_global_avg,
    &blas_op_add, &blas_op_sub, &blas_op_mul, &blas_op_div,
    &blas_op_hardsigmoid, &blas_op_hardswish, &blas_op_relu, &blas_op_sigmoid,
    NULL
};

static const blas_op *blas_find(const semseg_node_info *n)
{
    if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) return NULL;
    for (int i = 0; blas_ops[i]; i++)
        if (strcmp(blas_ops[i]->op, n->op) == 0) return blas_ops[i];
    return NULL;
}

static semseg_status blas_init(const semseg_plugin_config *cfg, void **ctx, char *err)
{
    blas_ctx *c = calloc(1, sizeof *c);
    if (!c) return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "blas: out of memory");
    c->threads = (cfg && cfg->threads > 0) ? cfg->threads : 1;
    *ctx = c;
    return SEMSEG_STATUS_OK;
}

static void blas_shutdown(void *ctx)
{
    free(ctx);
}

static void blas_describe(void *ctx, char *buf, size_t size)
{
    const blas_ctx *c = ctx;
    snprintf(buf, size, "OpenBLAS %s, core %s, %d thread(s)", openblas_get_config(),
             openblas_get_corename(), c ? c->threads : 1);
}

static semseg_support blas_supports(void *ctx, const semseg_node_info *n)
{
    const blas_op *op = blas_find(n);
    return op ? op->supports(ctx, n) : SEMSEG_SUPPORT_NO;
}

static semseg_status blas_kernel_create(void *ctx, const semseg_node_info *n,
                                        semseg_kernel **kernel, size_t *scratch_bytes, char *err)
{
    const blas_op *op = blas_find(n);
    if (!op)
        return blas_fail(err, SEMSEG_STATUS_UNSUPPORTED, "blas: no kernel for %s node '%s'", n->op, n->name);
    semseg_kernel *k = calloc(1, sizeof *k);
    if (!k) return blas_fail(err, SEMSEG_STATUS_NO_MEMORY, "blas: out of memory for node '%s'", n->name);
    k->op = op;
    semseg_status st = op->create(ctx, n, &k->state, scratch_bytes, err);
    if (st != SEMSEG_STATUS_OK) {
        free(k);
        return st;
    }
    *kernel = k;
    return SEMSEG_STATUS_OK;
}

static semseg_status blas_kernel_run(semseg_kernel *k, const semseg_tensor *inputs, int32_t n_inputs,
                                     const semseg_tensor *outputs, int32_t n_outputs,
                                     const semseg_tensor *scratch, char *err)
{
    void *sp = scratch ? semseg_tensor_data(scratch) : NULL;
    return k->op->run(k->state, inputs, n_inputs, outputs, n_outputs, sp, err);
}

static void blas_kernel_destroy(semseg_kernel *k)
{
    if (!k) return;
    if (k->op->destroy) k->op->destroy(k->state);
    else free(k->state);
    free(k);
}

static const semseg_plugin_i blas_plugin = {
    /* .abi_major      = */ SEMSEG_PLUGIN_ABI_MAJOR,
    /* .abi_minor      = */ SEMSEG_PLUGIN_ABI_MINOR,
    /* .struct_size    = */ sizeof(semseg_plugin_i),
    /* .name           = */ "blas",
    /* .version        = */ "0.1.0",
    /* .description    = */ "Conv (im2col/1x1/Winograd/depthwise), ConvTranspose, Gemm, MatMul on OpenBLAS sgemm; threaded Resize, Concat, pooling, element-wise",
    /* .init           = */ blas_init,
    /* .shutdown       = */ blas_shutdown,
    /* .describe       = */ blas_describe,
    /* .supports       = */ blas_supports,
    /* .kernel_create  = */ blas_kernel_create,
    /* .kernel_run     = */ blas_kernel_run,
    /* .kernel_destroy = */ blas_kernel_destroy,
    /* .mem_alloc      = */ NULL,
    /* .mem_free       = */ NULL,
    /* .mem_write      = */ NULL,
    /* .mem_read       = */ NULL,
    /* .synchronize    = */ NULL,
};

SEMSEG_PLUGIN_EXPORT const semseg_plugin_i *semseg_plugin_entry(void)
{
    return &blas_plugin;
}
