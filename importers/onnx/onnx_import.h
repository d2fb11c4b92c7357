/*
 * ONNX ModelProto -> IR. The only code that touches protobuf-c types.
 *
 * Reads ir_version, opset_import, metadata_props, producer, the graph's
 * initializers (raw_data and the typed fields; float, double, float16 (to
 * float), int64, int32, int8, uint8, bool), external data (location, offset,
 * length relative to base_dir, never outside it), Constant nodes (turned into
 * constant values), every attribute kind, inputs/outputs with symbolic dims.
 * Every problem becomes a status plus one line naming the node, tensor or
 * field; hostile files never crash and never make it allocate past the limits.
 */
#ifndef SEMSEG_ONNX_IMPORT_H
#define SEMSEG_ONNX_IMPORT_H

#include <stddef.h>

#include "ir.h"

/* Documented caps on what a file may declare (0 fields mean the defaults). */
typedef struct onnx_import_limits {
    size_t max_file_bytes;       /* default 4 GiB */
    int64_t max_tensor_elements; /* per tensor, default 2^31 */
    size_t max_total_bytes;      /* all constant data of a model, default 8 GiB */
} onnx_import_limits;

/* err: SEMSEG_ERRMSG_SIZE bytes. limits may be NULL. */
semseg_status onnx_import_file(const char *path, const onnx_import_limits *limits,
                               ir_graph **out, char *err);
/* base_dir NULL: a model that uses external data is refused. */
semseg_status onnx_import_buffer(const void *data, size_t size, const char *base_dir,
                                 const onnx_import_limits *limits, ir_graph **out, char *err);

#endif
