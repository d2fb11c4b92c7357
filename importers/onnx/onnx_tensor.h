/*
 * Private to importers/onnx/: decoding of one ONNX TensorProto into dense,
 * row-major, little-endian host data. Shared by the model importer
 * (initializers, Constant nodes, TENSOR attributes) and the tensor-file reader
 * (reference data, input_K.pb / output_K.pb), so both apply the same checks:
 * rank, negative dims, element-count overflow and limits, raw_data size,
 * typed-field counts, supported data types.
 */
#ifndef SEMSEG_ONNX_TENSOR_H
#define SEMSEG_ONNX_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "onnx/onnx.pb-c.h"
#include "semseg/plugin.h"

/* Hard cap on nested protobuf messages, checked before protobuf-c (which
 * recurses without a limit) ever sees a buffer. ONNX models nest a few levels
 * (model > graph > node > attribute > tensor, subgraphs a few more). */
#define ONNX_MAX_NESTING 64

typedef struct onnx_tensor_shape {
    int32_t file_dtype;            /* data_type as stored in the file */
    int32_t dtype;                 /* after conversion (FLOAT16 -> FLOAT if asked) */
    int32_t rank;
    int64_t dims[SEMSEG_MAX_RANK];
    int64_t numel;
    size_t nbytes;                 /* dense bytes in dtype */
    int external;                  /* data_location == EXTERNAL */
} onnx_tensor_shape;

/* Name of a TensorProto data type for messages ("FLOAT", "INT64", ...). */
const char *onnx_dtype_name(int32_t dtype);

/* Formats "FLOAT[3,3,2,2]" into buf. */
void onnx_format_type(char *buf, size_t size, int32_t dtype, int32_t rank, const int64_t *dims);

/* Checks type and dims of t and computes sizes. `what` names the tensor in
 * messages ("model.onnx: initializer 'conv1.weight'"). f16_to_float: report
 * FLOAT16 tensors as FLOAT (the importer converts them at load). */
semseg_status onnx_tensor_shape_of(const Onnx__TensorProto *t, const char *what,
                                   int64_t max_elements, int f16_to_float,
                                   onnx_tensor_shape *s, char *err);

/* Checks that raw_data or the typed field holds exactly the elements the dims
 * declare (not for external data). Callers check before allocating, so a
 * small file cannot make them allocate what its dims claim. */
semseg_status onnx_tensor_check_data(const Onnx__TensorProto *t, const char *what,
                                     const onnx_tensor_shape *s, char *err);

/* Fills dst (s->nbytes) from raw_data or the typed field (checking it first);
 * not for external data. */
semseg_status onnx_tensor_fill(const Onnx__TensorProto *t, const char *what,
                               const onnx_tensor_shape *s, void *dst, char *err);

/* Converts numel elements of little-endian file data (file_dtype) to dst (dtype):
 * FLOAT16 -> FLOAT when the types differ, bools normalised to 0/1, else a copy. */
void onnx_tensor_from_le(const onnx_tensor_shape *s, const void *src, void *dst);

/* 0 when buf nests messages of `desc` at most ONNX_MAX_NESTING deep and every
 * length fits, -1 otherwise (then protobuf-c must not be called on it). */
int onnx_check_nesting(const uint8_t *buf, size_t len, const ProtobufCMessageDescriptor *desc);

/* Names in a file may hold any byte: replaces control characters (newlines
 * included) in a finished message so it stays one printable line. */
void onnx_sanitize_message(char *msg);

/* Sets up a plain malloc/free allocator for protobuf-c, so the importer may
 * free a bytes field early (raw_data, once copied) knowing how it was made. */
void onnx_allocator_init(ProtobufCAllocator *a);

/* Reads a whole regular file of at most max_bytes into a malloc'd buffer
 * (*data NULL when the file is empty). Messages name the file. */
semseg_status onnx_read_file(const char *path, size_t max_bytes, uint8_t **data,
                             size_t *size, char *err);

#endif
