/*
 * Tensors in files: the TensorProto decoding that the model importer shares
 * (onnx_tensor.h), and the public tensor-file API of semseg.h — reading ONNX
 * TensorProto .pb files (the input_K.pb / output_K.pb of ONNX's test-data
 * layout) and NumPy .npy files (format versions 1, 2 and 3), and writing
 * TensorProto files with raw_data.
 *
 * All data is little-endian on disk (ONNX's raw_data and the .npy dtypes we
 * accept), and the project supports little-endian hosts only, so decoding is a
 * copy except for float16 -> float and the normalisation of bools to 0/1.
 * Tensor files keep their element type (a FLOAT16 .pb stays FLOAT16); only the
 * model importer turns float16 weights into float.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx_tensor.h"
#include "semseg/semseg.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "semseg-onnx reads little-endian tensor data and supports little-endian hosts only"
#endif

/* Tensor files are reference data for one model run, never weights. */
#define TENSOR_FILE_MAX_BYTES ((size_t)4 << 30)
#define TENSOR_FILE_MAX_ELEMENTS ((int64_t)1 << 31)

static void set_err(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, SEMSEG_ERRMSG_SIZE, fmt, ap);
    va_end(ap);
}

/* ---- data types ---- */

const char *onnx_dtype_name(int32_t dtype)
{
    static const char *const names[] = {
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
        "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
        "COMPLEX128", "BFLOAT16"};
    if (dtype >= 0 && dtype < (int32_t)(sizeof names / sizeof names[0])) return names[dtype];
    return "unknown type";
}

void onnx_format_type(char *buf, size_t size, int32_t dtype, int32_t rank, const int64_t *dims)
{
    size_t n = (size_t)snprintf(buf, size, "%s[", onnx_dtype_name(dtype));
    for (int32_t i = 0; i < rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%" PRId64, i ? "," : "", dims[i]);
    if (n < size) snprintf(buf + n, size - n, "]");
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13); /* inf, nan (payload kept) */
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {
        /* Subnormal half: shift the leading one into the implicit position. */
        uint32_t e = 0;
        while (!(man & 0x400u)) {
            man <<= 1;
            e++;
        }
        bits = sign | ((113u - e) << 23) | ((man & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Element types we decode: fixed size, numeric. */
static int dtype_supported(int32_t dtype)
{
    return dtype != SEMSEG_DTYPE_STRING && semseg_dtype_size(dtype) > 0;
}

semseg_status onnx_tensor_shape_of(const Onnx__TensorProto *t, const char *what,
                                   int64_t max_elements, int f16_to_float,
                                   onnx_tensor_shape *s, char *err)
{
    memset(s, 0, sizeof *s);
    s->file_dtype = t->has_data_type ? t->data_type : SEMSEG_DTYPE_UNDEFINED;
    if (!dtype_supported(s->file_dtype)) {
        set_err(err, "%s: data type %s (%d) is not supported", what,
                onnx_dtype_name(s->file_dtype), (int)s->file_dtype);
        return SEMSEG_STATUS_UNSUPPORTED;
    }
    s->dtype = (f16_to_float && s->file_dtype == SEMSEG_DTYPE_FLOAT16) ? SEMSEG_DTYPE_FLOAT
                                                                       : s->file_dtype;
    if (t->n_dims > SEMSEG_MAX_RANK) {
        set_err(err, "%s: rank %zu exceeds the maximum of %d", what, t->n_dims, SEMSEG_MAX_RANK);
        return SEMSEG_STATUS_UNSUPPORTED;
    }
    s->rank = (int32_t)t->n_dims;
    /* Bound the product of the non-zero dims so [0, 2^62, 2^62] is refused too. */
    int64_t numel = 1, bound = 1;
    for (int32_t i = 0; i < s->rank; i++) {
        int64_t d = t->dims[i];
        s->dims[i] = d;
        if (d < 0) {
            set_err(err, "%s: dim %d is negative (%" PRId64 ")", what, (int)i, d);
            return SEMSEG_STATUS_MODEL;
        }
        if (d > 0 && bound > max_elements / d) {
            char ty[160];
            onnx_format_type(ty, sizeof ty, s->file_dtype, s->rank, t->dims);
            set_err(err, "%s: %s has more than the limit of %" PRId64 " elements", what, ty,
                    max_elements);
            return SEMSEG_STATUS_MODEL;
        }
        if (d > 0) bound *= d;
        numel *= d;
    }
    s->numel = numel;
    s->nbytes = (size_t)numel * semseg_dtype_size(s->dtype);
    s->external = t->has_data_location &&
                  t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    return SEMSEG_STATUS_OK;
}

void onnx_tensor_from_le(const onnx_tensor_shape *s, const void *src, void *dst)
{
    if (s->file_dtype == SEMSEG_DTYPE_FLOAT16 && s->dtype == SEMSEG_DTYPE_FLOAT) {
        const uint8_t *p = src;
        float *o = dst;
        for (int64_t i = 0; i < s->numel; i++)
            o[i] = half_to_float((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
    } else if (s->file_dtype == SEMSEG_DTYPE_BOOL) {
        const uint8_t *p = src;
        uint8_t *o = dst;
        for (int64_t i = 0; i < s->numel; i++) o[i] = p[i] != 0;
    } else if (s->nbytes > 0) {
        memcpy(dst, src, s->nbytes);
    }
}

/* Fills from int32_data, which ONNX uses for every type of 16 bits or less. */
static void fill_from_int32(const onnx_tensor_shape *s, const int32_t *v, void *dst)
{
    for (int64_t i = 0; i < s->numel; i++) {
        switch (s->dtype) {
        case SEMSEG_DTYPE_INT32: ((int32_t *)dst)[i] = v[i]; break;
        case SEMSEG_DTYPE_INT16: ((int16_t *)dst)[i] = (int16_t)v[i]; break;
        case SEMSEG_DTYPE_UINT16:
        case SEMSEG_DTYPE_FLOAT16: ((uint16_t *)dst)[i] = (uint16_t)v[i]; break;
        case SEMSEG_DTYPE_INT8: ((int8_t *)dst)[i] = (int8_t)v[i]; break;
        case SEMSEG_DTYPE_UINT8: ((uint8_t *)dst)[i] = (uint8_t)v[i]; break;
        case SEMSEG_DTYPE_BOOL: ((uint8_t *)dst)[i] = v[i] != 0; break;
        case SEMSEG_DTYPE_FLOAT: /* float16 bits, converted */
            ((float *)dst)[i] = half_to_float((uint16_t)v[i]);
            break;
        default: break;
        }
    }
}

semseg_status onnx_tensor_check_data(const Onnx__TensorProto *t, const char *what,
                                     const onnx_tensor_shape *s, char *err)
{
    char ty[160];
    onnx_format_type(ty, sizeof ty, s->file_dtype, s->rank, s->dims);
    if (t->has_raw_data) {
        size_t want = (size_t)s->numel * semseg_dtype_size(s->file_dtype);
        if (t->raw_data.len != want) {
            set_err(err, "%s: raw_data has %zu bytes, expected %zu for %s", what,
                    t->raw_data.len, want, ty);
            return SEMSEG_STATUS_MODEL;
        }
        return SEMSEG_STATUS_OK;
    }
    const char *field;
    size_t count;
    switch (s->file_dtype) {
    case SEMSEG_DTYPE_FLOAT: field = "float_data"; count = t->n_float_data; break;
    case SEMSEG_DTYPE_DOUBLE: field = "double_data"; count = t->n_double_data; break;
    case SEMSEG_DTYPE_INT64: field = "int64_data"; count = t->n_int64_data; break;
    case SEMSEG_DTYPE_UINT32:
    case SEMSEG_DTYPE_UINT64: field = "uint64_data"; count = t->n_uint64_data; break;
    default: field = "int32_data"; count = t->n_int32_data; break;
    }
    if (count != (size_t)s->numel) {
        set_err(err, "%s: %s has %zu values, expected %" PRId64 " for %s", what, field, count,
                s->numel, ty);
        return SEMSEG_STATUS_MODEL;
    }
    return SEMSEG_STATUS_OK;
}

semseg_status onnx_tensor_fill(const Onnx__TensorProto *t, const char *what,
                               const onnx_tensor_shape *s, void *dst, char *err)
{
    semseg_status st = onnx_tensor_check_data(t, what, s, err);
    if (st != SEMSEG_STATUS_OK) return st;
    if (t->has_raw_data) {
        if (s->nbytes > 0) onnx_tensor_from_le(s, t->raw_data.data, dst);
        return SEMSEG_STATUS_OK;
    }
    if (s->numel == 0) return SEMSEG_STATUS_OK;
    switch (s->file_dtype) {
    case SEMSEG_DTYPE_FLOAT: memcpy(dst, t->float_data, s->nbytes); break;
    case SEMSEG_DTYPE_DOUBLE: memcpy(dst, t->double_data, s->nbytes); break;
    case SEMSEG_DTYPE_INT64: memcpy(dst, t->int64_data, s->nbytes); break;
    case SEMSEG_DTYPE_UINT64: memcpy(dst, t->uint64_data, s->nbytes); break;
    case SEMSEG_DTYPE_UINT32:
        for (int64_t i = 0; i < s->numel; i++)
            ((uint32_t *)dst)[i] = (uint32_t)t->uint64_data[i];
        break;
    default: fill_from_int32(s, t->int32_data, dst); break;
    }
    return SEMSEG_STATUS_OK;
}

void onnx_sanitize_message(char *msg)
{
    for (unsigned char *p = (unsigned char *)msg; *p; p++)
        if (*p < 0x20 || *p == 0x7f) *p = '?';
}

/* ---- protobuf helpers ---- */

static void *pb_alloc(void *data, size_t size)
{
    (void)data;
    return malloc(size);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    free(p);
}

void onnx_allocator_init(ProtobufCAllocator *a)
{
    a->alloc = pb_alloc;
    a->free = pb_free;
    a->allocator_data = NULL;
}

static int read_varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*i >= len) return -1;
        uint8_t b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 0;
    }
    return -1;
}

/* Walks the wire format with the message descriptors: -1 malformed, -2 too deep. */
static int check_message(const uint8_t *p, size_t len, const ProtobufCMessageDescriptor *d,
                         int depth)
{
    if (depth > ONNX_MAX_NESTING) return -2;
    size_t i = 0;
    while (i < len) {
        uint64_t key, v;
        if (read_varint(p, len, &i, &key)) return -1;
        if ((key >> 3) == 0 || (key >> 3) > UINT32_MAX) return -1;
        switch (key & 7) {
        case 0:
            if (read_varint(p, len, &i, &v)) return -1;
            break;
        case 1:
            if (len - i < 8) return -1;
            i += 8;
            break;
        case 5:
            if (len - i < 4) return -1;
            i += 4;
            break;
        case 2: {
            if (read_varint(p, len, &i, &v)) return -1;
            if (v > len - i) return -1;
            const ProtobufCFieldDescriptor *f =
                d ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3)) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int r = check_message(p + i, (size_t)v, f->descriptor, depth + 1);
                if (r) return r;
            }
            i += (size_t)v;
            break;
        }
        default: return -1; /* groups: not used by ONNX */
        }
    }
    return 0;
}

int onnx_check_nesting(const uint8_t *buf, size_t len, const ProtobufCMessageDescriptor *desc)
{
    return check_message(buf, len, desc, 0);
}

semseg_status onnx_read_file(const char *path, size_t max_bytes, uint8_t **data,
                             size_t *size, char *err)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, "cannot open %s: %s", path, strerror(errno));
        return SEMSEG_STATUS_IO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        set_err(err, "%s is not a regular file", path);
        fclose(f);
        return SEMSEG_STATUS_IO;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)max_bytes) {
        set_err(err, "%s has %lld bytes, more than the limit of %zu", path,
                (long long)st.st_size, max_bytes);
        fclose(f);
        return SEMSEG_STATUS_INVALID_ARGUMENT;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = n ? malloc(n) : NULL;
    if (n && !buf) {
        set_err(err, "out of memory reading %s (%zu bytes)", path, n);
        fclose(f);
        return SEMSEG_STATUS_NO_MEMORY;
    }
    size_t got = n ? fread(buf, 1, n, f) : 0;
    int failed = ferror(f);
    fclose(f);
    if (got != n || failed) {
        set_err(err, "cannot read %s: short read (%zu of %zu bytes)", path, got, n);
        free(buf);
        return SEMSEG_STATUS_IO;
    }
    *data = buf;
    *size = n;
    return SEMSEG_STATUS_OK;
}

/* ---- public API: tensor files ---- */

static semseg_status report(semseg_error *e, semseg_status st, const char *msg)
{
    if (e) {
        e->status = st;
        snprintf(e->message, sizeof e->message, "%s", msg);
        onnx_sanitize_message(e->message);
    }
    return st;
}

static semseg_status read_pb(const char *path, const uint8_t *buf, size_t size,
                             semseg_tensor_file *t, char *err)
{
    if (onnx_check_nesting(buf, size, &onnx__tensor_proto__descriptor) != 0) {
        set_err(err, "%s is not a valid TensorProto or .npy file (protobuf parse failed)", path);
        return SEMSEG_STATUS_INVALID_ARGUMENT;
    }
    ProtobufCAllocator alloc;
    onnx_allocator_init(&alloc);
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&alloc, size, buf);
    if (!tp) {
        set_err(err, "%s is not a valid TensorProto or .npy file (protobuf parse failed)", path);
        return SEMSEG_STATUS_INVALID_ARGUMENT;
    }
    char what[320];
    snprintf(what, sizeof what, "%s: tensor '%s'", path, tp->name ? tp->name : "");
    onnx_tensor_shape s;
    semseg_status st = onnx_tensor_shape_of(tp, what, TENSOR_FILE_MAX_ELEMENTS, 0, &s, err);
    if (st == SEMSEG_STATUS_OK && s.external) {
        set_err(err, "%s: external data is not supported in tensor files", what);
        st = SEMSEG_STATUS_UNSUPPORTED;
    }
    /* the payload must match the dims before dims decide an allocation */
    if (st == SEMSEG_STATUS_OK) st = onnx_tensor_check_data(tp, what, &s, err);
    if (st == SEMSEG_STATUS_OK) {
        /* One spare byte so an empty tensor still has a non-NULL buffer. */
        t->data = malloc(s.nbytes + 1);
        if (!t->data) {
            set_err(err, "%s: out of memory (%zu bytes)", what, s.nbytes);
            st = SEMSEG_STATUS_NO_MEMORY;
        }
    }
    if (st == SEMSEG_STATUS_OK) st = onnx_tensor_fill(tp, what, &s, t->data, err);
    if (st == SEMSEG_STATUS_OK) {
        snprintf(t->name, sizeof t->name, "%s", tp->name ? tp->name : "");
        t->dtype = s.dtype;
        t->rank = s.rank;
        memcpy(t->dims, s.dims, sizeof t->dims);
        t->nbytes = s.nbytes;
    }
    onnx__tensor_proto__free_unpacked(tp, &alloc);
    return st;
}

/* Finds 'key' (single or double quoted) in a .npy header and returns the text
 * after the following colon, or NULL. */
static const char *npy_value(const char *hdr, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = hdr; (p = strstr(p, key)) != NULL; p += kl) {
        if (p == hdr || (p[-1] != '\'' && p[-1] != '"') || p[kl] != p[-1]) continue;
        const char *q = p + kl + 1;
        while (*q == ' ') q++;
        if (*q != ':') continue;
        q++;
        while (*q == ' ') q++;
        return q;
    }
    return NULL;
}

static const struct {
    const char *descr;
    int32_t dtype;
} npy_types[] = {
    {"<f4", SEMSEG_DTYPE_FLOAT}, {"<f8", SEMSEG_DTYPE_DOUBLE}, {"<f2", SEMSEG_DTYPE_FLOAT16},
    {"<i8", SEMSEG_DTYPE_INT64}, {"<i4", SEMSEG_DTYPE_INT32},  {"<i2", SEMSEG_DTYPE_INT16},
    {"|i1", SEMSEG_DTYPE_INT8},  {"<u8", SEMSEG_DTYPE_UINT64}, {"<u4", SEMSEG_DTYPE_UINT32},
    {"<u2", SEMSEG_DTYPE_UINT16}, {"|u1", SEMSEG_DTYPE_UINT8}, {"|b1", SEMSEG_DTYPE_BOOL},
};

static semseg_status npy_parse_header(const char *path, const char *hdr, semseg_tensor_file *t,
                                      char *err)
{
    const char *v = npy_value(hdr, "descr");
    char descr[16] = "";
    if (v && (*v == '\'' || *v == '"')) {
        const char *end = strchr(v + 1, *v);
        if (end && (size_t)(end - v - 1) < sizeof descr) memcpy(descr, v + 1, (size_t)(end - v - 1));
    }
    if (!descr[0]) {
        set_err(err, "%s: .npy header has no readable 'descr'", path);
        return SEMSEG_STATUS_INVALID_ARGUMENT;
    }
    t->dtype = SEMSEG_DTYPE_UNDEFINED;
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++) {
        const char *d = npy_types[i].descr;
        /* Single-byte types carry no byte order; numpy writes '|', accept '<' too. */
        if (strcmp(descr, d) == 0 || (d[0] == '|' && descr[0] == '<' && strcmp(descr + 1, d + 1) == 0))
            t->dtype = npy_types[i].dtype;
    }
    if (t->dtype == SEMSEG_DTYPE_UNDEFINED) {
        set_err(err, "%s: .npy dtype '%s' is not supported (%s)", path, descr,
                descr[0] == '>' ? "big-endian; save with arr.astype(arr.dtype.newbyteorder('<'))"
                                : "use float32/64, int8/16/32/64, uint8/16/32/64 or bool");
        return SEMSEG_STATUS_UNSUPPORTED;
    }

    v = npy_value(hdr, "shape");
    if (!v || *v != '(') {
        set_err(err, "%s: .npy header has no readable 'shape'", path);
        return SEMSEG_STATUS_INVALID_ARGUMENT;
    }
    const char *p = v + 1;
    t->rank = 0;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        if (*p < '0' || *p > '9') {
            set_err(err, "%s: .npy header has a malformed 'shape'", path);
            return SEMSEG_STATUS_INVALID_ARGUMENT;
        }
        if (t->rank == SEMSEG_MAX_RANK) {
            set_err(err, "%s: .npy array has more than %d dims", path, SEMSEG_MAX_RANK);
            return SEMSEG_STATUS_UNSUPPORTED;
        }
        char *end;
        errno = 0;
        long long d = strtoll(p, &end, 10);
        if (errno || d < 0) {
            set_err(err, "%s: .npy header has a malformed 'shape'", path);
            return SEMSEG_STATUS_INVALID_ARGUMENT;
        }
        t->dims[t->rank++] = d;
        p = end;
        if (*p == 'L') p++; /* Python 2 longs */
    }

    v = npy_value(hdr, "fortran_order");
    if (!v || (strncmp(v, "False", 5) != 0 && strncmp(v, "True", 4) != 0)) {
        set_err(err, "%s: .npy header has no readable 'fortran_order'", path);
        return SEMSEG_STATUS_INVALID_ARGUMENT;
    }
    if (strncmp(v, "True", 4) == 0 && t->rank > 1) {
        set_err(err, "%s: .npy array is in Fortran (column-major) order, which is not "
                     "supported; save np.ascontiguousarray(a) instead", path);
        return SEMSEG_STATUS_UNSUPPORTED;
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status read_npy(const char *path, const uint8_t *buf, size_t size,
                              semseg_tensor_file *t, char *err)
{
    if (size < 10 || buf[6] < 1 || buf[6] > 3 || (buf[6] > 1 && size < 12)) {
        set_err(err, "%s: unsupported or truncated .npy header (format version %d)", path,
                size > 6 ? buf[6] : 0);
        return SEMSEG_STATUS_INVALID_ARGUMENT;
    }
    size_t start = buf[6] == 1 ? 10 : 12;
    size_t hlen = buf[6] == 1 ? (size_t)(buf[8] | buf[9] << 8)
                              : (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
                                    (size_t)buf[11] << 24;
    if (hlen > size - start) {
        set_err(err, "%s: .npy header length %zu runs past the end of the file", path, hlen);
        return SEMSEG_STATUS_INVALID_ARGUMENT;
    }
    char *hdr = malloc(hlen + 1);
    if (!hdr) {
        set_err(err, "%s: out of memory", path);
        return SEMSEG_STATUS_NO_MEMORY;
    }
    memcpy(hdr, buf + start, hlen);
    hdr[hlen] = '\0';
    semseg_status st = npy_parse_header(path, hdr, t, err);
    free(hdr);
    if (st != SEMSEG_STATUS_OK) return st;

    onnx_tensor_shape s = {.file_dtype = t->dtype, .dtype = t->dtype, .rank = t->rank};
    int64_t bound = 1;
    s.numel = 1;
    for (int32_t i = 0; i < t->rank; i++) {
        int64_t d = t->dims[i];
        if (d > 0 && bound > TENSOR_FILE_MAX_ELEMENTS / d) {
            set_err(err, "%s: .npy array has more than %" PRId64 " elements", path,
                    TENSOR_FILE_MAX_ELEMENTS);
            return SEMSEG_STATUS_INVALID_ARGUMENT;
        }
        if (d > 0) bound *= d;
        s.numel *= d;
    }
    s.nbytes = (size_t)s.numel * semseg_dtype_size(t->dtype);
    size_t have = size - start - hlen;
    if (have != s.nbytes) {
        char ty[160];
        onnx_format_type(ty, sizeof ty, t->dtype, t->rank, t->dims);
        set_err(err, "%s: .npy data has %zu bytes, expected %zu for %s", path, have, s.nbytes, ty);
        return SEMSEG_STATUS_INVALID_ARGUMENT;
    }
    t->data = malloc(s.nbytes + 1);
    if (!t->data) {
        set_err(err, "%s: out of memory (%zu bytes)", path, s.nbytes);
        return SEMSEG_STATUS_NO_MEMORY;
    }
    onnx_tensor_from_le(&s, buf + start + hlen, t->data);
    t->nbytes = s.nbytes;
    return SEMSEG_STATUS_OK;
}

semseg_status semseg_tensor_file_read(const char *path, semseg_tensor_file *t, semseg_error *e)
{
    char err[SEMSEG_ERRMSG_SIZE];
    memset(t, 0, sizeof *t);
    if (!path) return report(e, SEMSEG_STATUS_INVALID_ARGUMENT, "tensor file path is NULL");
    uint8_t *buf;
    size_t size;
    semseg_status st = onnx_read_file(path, TENSOR_FILE_MAX_BYTES, &buf, &size, err);
    if (st != SEMSEG_STATUS_OK) return report(e, st, err);
    if (size == 0) {
        free(buf);
        snprintf(err, sizeof err, "%s is empty", path);
        return report(e, SEMSEG_STATUS_INVALID_ARGUMENT, err);
    }
    if (size >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0)
        st = read_npy(path, buf, size, t, err);
    else
        st = read_pb(path, buf, size, t, err);
    free(buf);
    if (st != SEMSEG_STATUS_OK) {
        semseg_tensor_file_clear(t);
        return report(e, st, err);
    }
    if (e) {
        e->status = SEMSEG_STATUS_OK;
        e->message[0] = '\0';
    }
    return SEMSEG_STATUS_OK;
}

semseg_status semseg_tensor_file_write(const char *path, const char *name, int32_t dtype,
                                       int32_t rank, const int64_t *dims, const void *data,
                                       semseg_error *e)
{
    char err[SEMSEG_ERRMSG_SIZE];
    if (!path || (rank > 0 && !dims) || rank < 0 || rank > SEMSEG_MAX_RANK)
        return report(e, SEMSEG_STATUS_INVALID_ARGUMENT, "tensor file write: bad path or rank");
    if (!dtype_supported(dtype)) {
        snprintf(err, sizeof err, "%s: cannot write data type %s (%d)", path,
                 onnx_dtype_name(dtype), (int)dtype);
        return report(e, SEMSEG_STATUS_UNSUPPORTED, err);
    }
    int64_t d64[SEMSEG_MAX_RANK];
    int64_t numel = 1;
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 0 || (dims[i] > 0 && numel > TENSOR_FILE_MAX_ELEMENTS / dims[i])) {
            snprintf(err, sizeof err, "%s: dim %d (%" PRId64 ") is negative or too large", path,
                     (int)i, dims[i]);
            return report(e, SEMSEG_STATUS_INVALID_ARGUMENT, err);
        }
        d64[i] = dims[i];
        numel *= dims[i];
    }
    size_t nbytes = (size_t)numel * semseg_dtype_size(dtype);
    if (nbytes && !data) return report(e, SEMSEG_STATUS_INVALID_ARGUMENT, "tensor file write: data is NULL");

    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.n_dims = (size_t)rank;
    tp.dims = d64;
    tp.has_data_type = 1;
    tp.data_type = dtype;
    tp.name = (char *)(name ? name : "");
    tp.has_raw_data = 1;
    tp.raw_data.len = nbytes;
    tp.raw_data.data = (uint8_t *)data; /* only read by pack */
    size_t packed = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *out = malloc(packed ? packed : 1);
    if (!out) {
        snprintf(err, sizeof err, "%s: out of memory (%zu bytes)", path, packed);
        return report(e, SEMSEG_STATUS_NO_MEMORY, err);
    }
    onnx__tensor_proto__pack(&tp, out);
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, sizeof err, "cannot create %s: %s", path, strerror(errno));
        free(out);
        return report(e, SEMSEG_STATUS_IO, err);
    }
    size_t put = fwrite(out, 1, packed, f);
    int closed = fclose(f);
    free(out);
    if (put != packed || closed != 0) {
        snprintf(err, sizeof err, "cannot write %s: %s", path, strerror(errno));
        return report(e, SEMSEG_STATUS_IO, err);
    }
    if (e) {
        e->status = SEMSEG_STATUS_OK;
        e->message[0] = '\0';
    }
    return SEMSEG_STATUS_OK;
}

void semseg_tensor_file_clear(semseg_tensor_file *t)
{
    if (!t) return;
    free(t->data);
    t->data = NULL;
    t->nbytes = 0;
}
