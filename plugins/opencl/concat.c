/*
 * Concat on OpenCL, float32: inputs joined along `axis` (negative counts from
 * the end). Seen as [outer][inner] rows, input k fills columns
 * [off_k, off_k + inner_k) of each output row; empty inputs skipped. A
 * few rows (the batch, for a channel concat) go as copy commands, one per
 * row; more as one copy_slab launch per input.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ocl.h"

typedef struct concat_state {
    ocl_ctx *ctx;
    char name[128];
    cl_kernel k;
    int n_inputs;
    cl_int outer, inner_out;
    cl_int *inner, *off;
} concat_state;

static void concat_destroy(void *state)
{
    concat_state *s = state;
    if (!s) return;
    if (s->k) clReleaseKernel(s->k);
    free(s->inner);
    free(s->off);
    free(s);
}

static int concat_axis(const semseg_node_info *n)
{
    int r = n->outputs[0].rank;
    int64_t a = semseg_attr_int(n, "axis", 0);
    if (a < 0) a += r;
    return (a < 0 || a >= r) ? -1 : (int)a;
}

static semseg_support concat_supports(const ocl_ctx *c, const semseg_node_info *n)
{
    (void)c;
    if (n->n_inputs < 1 || n->n_outputs != 1 || !ocl_all_float(n, n->n_inputs) ||
        concat_axis(n) < 0)
        return SEMSEG_SUPPORT_NO;
    for (int i = 0; i < n->n_inputs; i++)
        if (n->inputs[i].rank != n->outputs[0].rank) return SEMSEG_SUPPORT_NO;
    return SEMSEG_SUPPORT_YES;
}

static semseg_status concat_create(ocl_ctx *c, const semseg_node_info *n, void **state, char *err)
{
    concat_state *s = calloc(1, sizeof *s);
    if (!s) return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    *state = s;
    s->ctx = c;
    snprintf(s->name, sizeof s->name, "%s", n->name);
    s->n_inputs = n->n_inputs;
    s->inner = calloc((size_t)n->n_inputs, sizeof *s->inner);
    s->off = calloc((size_t)n->n_inputs, sizeof *s->off);
    if (!s->inner || !s->off)
        return ocl_fail(err, SEMSEG_STATUS_NO_MEMORY, "opencl: node %s: out of memory", n->name);
    const semseg_value_info *y = &n->outputs[0];
    int axis = concat_axis(n);
    int64_t outer = 1, tail = 1;
    for (int i = 0; i < axis; i++) outer *= y->dims[i];
    for (int i = axis + 1; i < y->rank; i++) tail *= y->dims[i];
    s->outer = (cl_int)outer;
    s->inner_out = (cl_int)(y->dims[axis] * tail);
    int64_t off = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        s->inner[i] = (cl_int)(n->inputs[i].dims[axis] * tail);
        s->off[i] = (cl_int)off;
        off += s->inner[i];
    }
    if (off != s->inner_out)
        return ocl_fail(err, SEMSEG_STATUS_MODEL, "opencl: node %s: inputs do not add up to axis %d",
                        n->name, axis);
    return ocl_kernel(c, OCL_PROG_CONCAT, "copy_slab", &s->k, err);
}

/* Rows of up to this many: input i goes as one copy command per row (the
 * driver's memcpy; PoCL ran copy_slab at a few bytes per cycle, and its
 * clEnqueueCopyBufferRect no faster). More rows: copy_slab. */
#define CONCAT_COPY_ROWS 16

/* Input i's rows as copy commands; UNSUPPORTED when there are too many. */
static semseg_status copy_rows(const concat_state *s, const semseg_tensor *x, const semseg_tensor *y,
                               int i, char *err)
{
    if (s->outer > CONCAT_COPY_ROWS) return SEMSEG_STATUS_UNSUPPORTED;
    size_t row = (size_t)s->inner[i] * sizeof(float), pitch = (size_t)s->inner_out * sizeof(float);
    size_t dst = y->offset + (size_t)s->off[i] * sizeof(float);
    for (cl_int r = 0; r < s->outer; r++) {
        cl_int rc = clEnqueueCopyBuffer(s->ctx->queue, ocl_mem(x), ocl_mem(y), x->offset + r * row,
                                        dst + r * pitch, row, 0, NULL, NULL);
        if (rc != CL_SUCCESS) return ocl_check(rc, "clEnqueueCopyBuffer", s->name, err);
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status concat_run(void *state, const semseg_tensor *in, int32_t n_in,
                                const semseg_tensor *out, int32_t n_out, char *err)
{
    concat_state *s = state;
    (void)n_out;
    for (int i = 0; i < n_in && i < s->n_inputs; i++) {
        cl_int count = s->outer * s->inner[i];
        if (count == 0) continue;
        semseg_status st = copy_rows(s, &in[i], &out[0], i, err);
        if (st != SEMSEG_STATUS_UNSUPPORTED) {
            if (st) return st;
            continue;
        }
        ocl_args a = {s->k, 0, CL_SUCCESS};
        ocl_arg_tensor(&a, &in[i]);
        ocl_arg_tensor(&a, &out[0]);
        OCL_ARG(&a, s->inner[i]);
        OCL_ARG(&a, s->inner_out);
        OCL_ARG(&a, s->off[i]);
        if (a.rc != CL_SUCCESS) return ocl_check(a.rc, "clSetKernelArg", s->name, err);
        st = ocl_launch2(s->ctx, s->k, (size_t)s->inner[i], (size_t)s->outer,
                                       s->name, err);
        if (st) return st;
    }
    return SEMSEG_STATUS_OK;
}

const ocl_op ocl_ops_concat[] = {
    {"", "Concat", concat_supports, concat_create, concat_run, concat_destroy, 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
