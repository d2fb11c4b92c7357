/*
 * ONNX ModelProto -> IR (see onnx_import.h for the contract).
 *
 * The file is first checked for sane nesting (protobuf-c recurses without a
 * depth limit), then unpacked by protobuf-c, then walked once:
 *
 *   model fields, opset_import, metadata_props
 *   initializers          -> constant values (raw/typed/external data, float16
 *                            widened to float), each freed from the message as
 *                            soon as it is copied so peak memory stays ~2x
 *   graph inputs          -> input values, except those that are initializers
 *                            (IR < 4 lists every weight as an input)
 *   node outputs          -> values (Constant nodes become constant values and
 *                            emit no node)
 *   nodes                 -> IR nodes, inputs resolved through a hash map
 *   graph outputs, value_info (element type only)
 *   ir_toposort
 *
 * Node domains "ai.onnx" and "" are both stored as "" so later stages compare
 * one spelling. Attribute kinds the IR has no slot for (TENSORS, GRAPHS,
 * SPARSE_TENSOR(S), TYPE_PROTO(S)) are kept by name with type UNDEFINED, like
 * GRAPH is kept by name and type only: no operator we run takes one.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx_import.h"
#include "onnx_tensor.h"

#define DEFAULT_MAX_FILE_BYTES ((size_t)4 << 30)
#define DEFAULT_MAX_TENSOR_ELEMENTS ((int64_t)1 << 31)
#define DEFAULT_MAX_TOTAL_BYTES ((size_t)8 << 30)

/* Open-addressing map from value name to value index (slot = index + 1). */
typedef struct name_map {
    int32_t *slot;
    uint32_t cap; /* power of two */
    uint32_t used;
} name_map;

typedef struct importer {
    ir_graph *g;
    onnx_import_limits lim;
    const char *src;      /* how messages name the model: its path or "<buffer>" */
    const char *base_dir; /* external data folder, or NULL */
    char *err;
    size_t total_bytes;   /* constant data so far, against lim.max_total_bytes */
    name_map map;
    ProtobufCAllocator alloc;
} importer;

static const char *str(const char *s)
{
    return s ? s : "";
}

static semseg_status fail(importer *im, semseg_status st, const char *fmt, ...)
{
    int n = snprintf(im->err, SEMSEG_ERRMSG_SIZE, "%s: ", im->src);
    if (n < 0 || n >= SEMSEG_ERRMSG_SIZE) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(im->err + n, SEMSEG_ERRMSG_SIZE - (size_t)n, fmt, ap);
    va_end(ap);
    return st;
}

static semseg_status oom(importer *im)
{
    return fail(im, SEMSEG_STATUS_NO_MEMORY, "out of memory while importing");
}

/* ---- name map ---- */

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int32_t map_find(const importer *im, const char *name)
{
    if (!im->map.cap) return -1;
    uint32_t mask = im->map.cap - 1;
    for (uint32_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
        int32_t s = im->map.slot[i];
        if (s == 0) return -1;
        if (strcmp(im->g->values[s - 1].name, name) == 0) return s - 1;
    }
}

static int map_insert(importer *im, int32_t index)
{
    name_map *m = &im->map;
    if ((m->used + 1) * 2 > m->cap) { /* keep the load under 1/2 */
        uint32_t nc = m->cap ? m->cap * 2 : 64;
        if (nc < m->cap || nc > (UINT32_MAX >> 2)) return -1;
        int32_t *ns = calloc(nc, sizeof *ns);
        if (!ns) return -1;
        for (uint32_t i = 0; i < m->cap; i++) {
            int32_t s = m->slot[i];
            if (!s) continue;
            uint32_t j = hash_name(im->g->values[s - 1].name) & (nc - 1);
            while (ns[j]) j = (j + 1) & (nc - 1);
            ns[j] = s;
        }
        free(m->slot);
        m->slot = ns;
        m->cap = nc;
    }
    uint32_t j = hash_name(im->g->values[index].name) & (m->cap - 1);
    while (m->slot[j]) j = (j + 1) & (m->cap - 1);
    m->slot[j] = index + 1;
    m->used++;
    return 0;
}

/* Adds a value known not to exist yet; -1 on OOM. */
static int32_t add_value(importer *im, const char *name)
{
    int32_t v = ir_add_value(im->g, name);
    if (v < 0 || map_insert(im, v) != 0) return -1;
    return v;
}

/* ---- tensors ---- */

static semseg_status account(importer *im, const char *what, size_t nbytes)
{
    if (nbytes > im->lim.max_total_bytes - im->total_bytes) {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE,
                 "%s: constant data exceeds the limit of %zu bytes for the whole model", what,
                 im->lim.max_total_bytes);
        return SEMSEG_STATUS_MODEL;
    }
    im->total_bytes += nbytes;
    return SEMSEG_STATUS_OK;
}

/* Parses a non-negative decimal integer that fits int64. */
static int parse_size(const char *s, int64_t *out)
{
    if (!s || *s < '0' || *s > '9') return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0) return -1;
    *out = v;
    return 0;
}

/* A relative path without ".." components. (Symlinks are caught by the
 * realpath check that follows; this refuses the obvious cases by name.) */
static int location_is_plain(const char *loc)
{
    if (!loc[0] || loc[0] == '/') return 0;
    for (const char *p = loc; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') return 0;
        p += n;
        if (*p == '/') p++;
    }
    return 1;
}

/* Resolves location under base_dir and refuses anything (symlinks included)
 * that ends up outside it. Returns a malloc'd real path or NULL with err set. */
static char *resolve_external(importer *im, const char *what, const char *loc)
{
    if (!im->base_dir) {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE,
                 "%s: uses external data ('%s') but the model was given without a folder to "
                 "read it from", what, loc);
        return NULL;
    }
    if (!location_is_plain(loc)) {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE,
                 "%s: external data location '%s' is not a plain relative path inside the "
                 "model's folder", what, loc);
        return NULL;
    }
    char *base = realpath(im->base_dir, NULL);
    if (!base) {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE, "%s: model folder '%s': %s", what, im->base_dir,
                 strerror(errno));
        return NULL;
    }
    size_t bl = strlen(base), ll = strlen(loc);
    char *joined = malloc(bl + ll + 2);
    char *real = NULL;
    if (!joined) {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE, "%s: out of memory", what);
        goto out;
    }
    memcpy(joined, base, bl);
    joined[bl] = '/';
    memcpy(joined + bl + 1, loc, ll + 1);
    real = realpath(joined, NULL);
    if (!real) {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE, "%s: external data file '%s': %s", what, loc,
                 strerror(errno));
        goto out;
    }
    /* base "/" is a prefix of everything; otherwise require base + '/'. */
    int inside = (bl == 1 && base[0] == '/') ||
                 (strncmp(real, base, bl) == 0 && real[bl] == '/');
    if (!inside) {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE,
                 "%s: external data file '%s' resolves outside the model's folder", what, loc);
        free(real);
        real = NULL;
    }
out:
    free(base);
    free(joined);
    return real;
}

/* Allocates *dst (s->nbytes, pool memory) only once the file is known to hold
 * the data, so a few bytes of model cannot claim gigabytes. */
static semseg_status read_external(importer *im, const Onnx__TensorProto *t, const char *what,
                                   const onnx_tensor_shape *s, void **dst)
{
    const char *loc = NULL;
    int64_t offset = 0, length = -1;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const char *k = str(t->external_data[i]->key), *v = t->external_data[i]->value;
        if (strcmp(k, "location") == 0) {
            loc = str(v);
        } else if (strcmp(k, "offset") == 0 || strcmp(k, "length") == 0) {
            int64_t *dstv = k[0] == 'o' ? &offset : &length;
            if (parse_size(v, dstv) != 0) {
                snprintf(im->err, SEMSEG_ERRMSG_SIZE,
                         "%s: external data %s '%s' is not a non-negative integer", what, k, str(v));
                return SEMSEG_STATUS_MODEL;
            }
        }
    }
    if (!loc) {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE, "%s: external data has no location", what);
        return SEMSEG_STATUS_MODEL;
    }
    int64_t want = s->numel * (int64_t)semseg_dtype_size(s->file_dtype);
    if (length >= 0 && length != want) {
        char ty[160];
        onnx_format_type(ty, sizeof ty, s->file_dtype, s->rank, s->dims);
        snprintf(im->err, SEMSEG_ERRMSG_SIZE,
                 "%s: external data length is %" PRId64 " bytes, expected %" PRId64 " for %s",
                 what, length, want, ty);
        return SEMSEG_STATUS_MODEL;
    }
    char *path = resolve_external(im, what, loc);
    if (!path) return SEMSEG_STATUS_MODEL;

    semseg_status st = SEMSEG_STATUS_OK;
    void *tmp = NULL;
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE, "%s: cannot read external data file '%s'", what, loc);
        st = SEMSEG_STATUS_IO;
        goto out;
    }
    if (offset > (int64_t)sb.st_size || want > (int64_t)sb.st_size - offset) {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE,
                 "%s: external data offset %" PRId64 " + length %" PRId64
                 " runs past the end of '%s' (%lld bytes)",
                 what, offset, want, loc, (long long)sb.st_size);
        st = SEMSEG_STATUS_MODEL;
        goto out;
    }
    if (!(*dst = ir_alloc(im->g, s->nbytes))) {
        st = oom(im);
        goto out;
    }
    /* Read straight into place unless the bytes need converting. */
    int convert = s->file_dtype != s->dtype || s->file_dtype == SEMSEG_DTYPE_BOOL;
    void *buf = *dst;
    if (convert && want > 0) {
        tmp = malloc((size_t)want);
        if (!tmp) {
            st = oom(im);
            goto out;
        }
        buf = tmp;
    }
    if (want > 0 && (fseeko(f, (off_t)offset, SEEK_SET) != 0 ||
                     fread(buf, 1, (size_t)want, f) != (size_t)want)) {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE, "%s: short read from external data file '%s'",
                 what, loc);
        st = SEMSEG_STATUS_IO;
        goto out;
    }
    if (convert) onnx_tensor_from_le(s, buf, *dst);
out:
    if (f) fclose(f);
    free(tmp);
    free(path);
    return st;
}

/* Decodes a TensorProto into pool memory: shape into *s, data into *data. */
static semseg_status load_tensor(importer *im, const Onnx__TensorProto *t, const char *what,
                                 onnx_tensor_shape *s, void **data)
{
    semseg_status st = onnx_tensor_shape_of(t, what, im->lim.max_tensor_elements, 1, s, im->err);
    if (st != SEMSEG_STATUS_OK) return st;
    if ((st = account(im, what, s->nbytes)) != SEMSEG_STATUS_OK) return st;
    if (s->external) return read_external(im, t, what, s, data);
    /* the payload must match the dims before the dims decide an allocation */
    if ((st = onnx_tensor_check_data(t, what, s, im->err)) != SEMSEG_STATUS_OK) return st;
    *data = ir_alloc(im->g, s->nbytes);
    if (!*data) return oom(im);
    return onnx_tensor_fill(t, what, s, *data, im->err);
}

static void set_value_tensor(ir_value *v, const onnx_tensor_shape *s, void *data)
{
    v->dtype = s->dtype;
    v->rank = s->rank;
    for (int32_t i = 0; i < SEMSEG_MAX_RANK; i++) v->dims[i] = i < s->rank ? s->dims[i] : IR_DIM_UNKNOWN;
    v->data = data;
    v->nbytes = s->nbytes;
}

/* ---- model header ---- */

static semseg_status import_header(importer *im, const Onnx__ModelProto *m)
{
    ir_graph *g = im->g;
    g->ir_version = m->has_ir_version ? m->ir_version : 0;
    g->producer_name = ir_strdup(g, str(m->producer_name));
    g->producer_version = ir_strdup(g, str(m->producer_version));
    g->graph_name = ir_strdup(g, str(m->graph->name));
    if (!g->producer_name || !g->producer_version || !g->graph_name) return oom(im);

    size_t n = m->n_opset_import;
    /* IR < 3 had no opset_import: the default domain is then at version 1. */
    int implicit = n == 0 && g->ir_version < 3;
    g->opsets = ir_alloc(g, sizeof *g->opsets * (n + 1));
    if (!g->opsets) return oom(im);
    for (size_t i = 0; i < n; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        const char *d = str(o->domain);
        if (!o->has_version || o->version < 1 || o->version > INT32_MAX)
            return fail(im, SEMSEG_STATUS_MODEL, "opset_import for domain '%s' has no valid version", d);
        if (ir_opset_version(g, d) >= 0)
            return fail(im, SEMSEG_STATUS_MODEL, "opset_import lists domain '%s' twice", d);
        ir_opset *os = &g->opsets[g->n_opsets];
        if (!(os->domain = ir_strdup(g, d))) return oom(im);
        os->version = o->version;
        g->n_opsets++;
    }
    if (implicit) {
        g->opsets[0].domain = ir_strdup(g, "");
        if (!g->opsets[0].domain) return oom(im);
        g->opsets[0].version = 1;
        g->n_opsets = 1;
    }

    g->meta = ir_alloc(g, sizeof *g->meta * (m->n_metadata_props + 1));
    if (!g->meta) return oom(im);
    for (size_t i = 0; i < m->n_metadata_props; i++) {
        ir_meta *e = &g->meta[i];
        e->key = ir_strdup(g, str(m->metadata_props[i]->key));
        e->value = ir_strdup(g, str(m->metadata_props[i]->value));
        if (!e->key || !e->value) return oom(im);
        g->n_meta++;
    }
    return SEMSEG_STATUS_OK;
}

/* ---- values ---- */

static semseg_status import_initializers(importer *im, Onnx__GraphProto *gp)
{
    if (gp->n_sparse_initializer)
        return fail(im, SEMSEG_STATUS_UNSUPPORTED, "sparse initializers are not supported ('%s')",
                    str(gp->sparse_initializer[0]->values ? gp->sparse_initializer[0]->values->name : ""));
    for (size_t i = 0; i < gp->n_initializer; i++) {
        Onnx__TensorProto *t = gp->initializer[i];
        const char *name = str(t->name);
        char what[384];
        snprintf(what, sizeof what, "%s: initializer '%s'", im->src, name);
        if (!name[0]) return fail(im, SEMSEG_STATUS_MODEL, "initializer %zu has no name", i);
        if (map_find(im, name) >= 0)
            return fail(im, SEMSEG_STATUS_MODEL, "initializer '%s' is listed twice", name);
        onnx_tensor_shape s;
        void *data;
        semseg_status st = load_tensor(im, t, what, &s, &data);
        if (st != SEMSEG_STATUS_OK) return st;
        int32_t v = add_value(im, name);
        if (v < 0) return oom(im);
        set_value_tensor(&im->g->values[v], &s, data);
        im->g->values[v].flags |= IR_VALUE_INITIALIZER;
        /* The copy is ours now: give the message's bytes back early. */
        if (t->has_raw_data && t->raw_data.data) {
            im->alloc.free(im->alloc.allocator_data, t->raw_data.data);
            t->raw_data.data = NULL;
            t->raw_data.len = 0;
        }
    }
    return SEMSEG_STATUS_OK;
}

/* Element type and (when with_shape) dims of a declared graph input/output. */
static semseg_status import_type(importer *im, const Onnx__ValueInfoProto *vi, const char *kind,
                                 ir_value *v, int with_shape)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp) return SEMSEG_STATUS_OK; /* untyped: inference decides */
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return fail(im, SEMSEG_STATUS_UNSUPPORTED, "%s '%s' is not a tensor (sequence, map, "
                    "optional and sparse types are not supported)", kind, str(vi->name));
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (v->dtype == SEMSEG_DTYPE_UNDEFINED && tt->has_elem_type) v->dtype = tt->elem_type;
    if (!with_shape || !tt->shape) return SEMSEG_STATUS_OK;
    const Onnx__TensorShapeProto *sh = tt->shape;
    if (sh->n_dim > SEMSEG_MAX_RANK)
        return fail(im, SEMSEG_STATUS_UNSUPPORTED, "%s '%s' has rank %zu, more than the maximum of %d",
                    kind, str(vi->name), sh->n_dim, SEMSEG_MAX_RANK);
    v->rank = (int32_t)sh->n_dim;
    for (size_t i = 0; i < sh->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
        v->dims[i] = IR_DIM_UNKNOWN;
        v->dim_param[i] = NULL;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0)
                return fail(im, SEMSEG_STATUS_MODEL, "%s '%s': dim %zu is negative (%" PRId64 ")",
                            kind, str(vi->name), i, d->dim_value);
            v->dims[i] = d->dim_value;
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                   d->dim_param && d->dim_param[0]) {
            if (!(v->dim_param[i] = ir_strdup(im->g, d->dim_param))) return oom(im);
        }
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status import_inputs(importer *im, const Onnx__GraphProto *gp)
{
    ir_graph *g = im->g;
    g->inputs = ir_alloc(g, sizeof(int32_t) * (gp->n_input + 1));
    if (!g->inputs) return oom(im);
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *name = str(vi->name);
        if (!name[0]) return fail(im, SEMSEG_STATUS_MODEL, "graph input %zu has no name", i);
        int32_t v = map_find(im, name);
        if (v >= 0 && (g->values[v].flags & IR_VALUE_INITIALIZER)) continue; /* a weight */
        if (v >= 0) return fail(im, SEMSEG_STATUS_MODEL, "graph input '%s' is listed twice", name);
        if ((v = add_value(im, name)) < 0) return oom(im);
        g->values[v].flags |= IR_VALUE_INPUT;
        semseg_status st = import_type(im, vi, "graph input", &g->values[v], 1);
        if (st != SEMSEG_STATUS_OK) return st;
        g->inputs[g->n_inputs++] = v;
    }
    return SEMSEG_STATUS_OK;
}

/* ---- nodes ---- */

static int is_default_domain(const char *d)
{
    return d[0] == '\0' || strcmp(d, "ai.onnx") == 0;
}

static int is_constant_node(const Onnx__NodeProto *n)
{
    return strcmp(str(n->op_type), "Constant") == 0 && is_default_domain(str(n->domain));
}

/* The node's own name, or "<op>_<index in the file>" when it has none. */
static const char *node_name(const Onnx__NodeProto *n, size_t index, char *buf, size_t size)
{
    if (n->name && n->name[0]) return n->name;
    snprintf(buf, size, "%s_%zu", str(n->op_type), index);
    return buf;
}

static int attr_kind(const Onnx__AttributeProto *a)
{
    if (a->has_type) return (int)a->type;
    /* Files from before AttributeProto.type existed: infer from the payload. */
    if (a->n_floats) return SEMSEG_ATTR_FLOATS;
    if (a->n_ints) return SEMSEG_ATTR_INTS;
    if (a->n_strings) return SEMSEG_ATTR_STRINGS;
    if (a->t) return SEMSEG_ATTR_TENSOR;
    if (a->g) return SEMSEG_ATTR_GRAPH;
    if (a->has_s) return SEMSEG_ATTR_STRING;
    if (a->has_i) return SEMSEG_ATTR_INT;
    if (a->has_f) return SEMSEG_ATTR_FLOAT;
    return SEMSEG_ATTR_UNDEFINED;
}

static semseg_status import_attr_tensor(importer *im, const Onnx__TensorProto *t, const char *what,
                                        const char *fallback_name, const semseg_value_info **out)
{
    onnx_tensor_shape s;
    void *data;
    semseg_status st = load_tensor(im, t, what, &s, &data);
    if (st != SEMSEG_STATUS_OK) return st;
    semseg_value_info *vi = ir_alloc(im->g, sizeof *vi);
    int64_t *dims = ir_alloc(im->g, sizeof(int64_t) * (size_t)(s.rank + 1));
    const char *name = ir_strdup(im->g, t->name && t->name[0] ? t->name : fallback_name);
    if (!vi || !dims || !name) return oom(im);
    memcpy(dims, s.dims, sizeof(int64_t) * (size_t)s.rank);
    vi->name = name;
    vi->dtype = s.dtype;
    vi->rank = s.rank;
    vi->dims = dims;
    vi->data = data;
    *out = vi;
    return SEMSEG_STATUS_OK;
}

static semseg_status import_attr(importer *im, const Onnx__AttributeProto *a, const char *node_what,
                                 semseg_attr *out)
{
    ir_graph *g = im->g;
    const char *name = str(a->name);
    char what[512];
    snprintf(what, sizeof what, "%s: attribute '%s'", node_what, name);
    if (!name[0]) {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE, "%s: an attribute has no name", node_what);
        return SEMSEG_STATUS_MODEL;
    }
    if (!(out->name = ir_strdup(g, name))) return oom(im);
    int kind = attr_kind(a);
    out->type = SEMSEG_ATTR_UNDEFINED;
    switch (kind) {
    case SEMSEG_ATTR_FLOAT: out->f = a->f; break;
    case SEMSEG_ATTR_INT: out->i = a->i; break;
    case SEMSEG_ATTR_STRING:
        if (!(out->s = ir_strndup(g, (const char *)a->s.data, a->s.len))) return oom(im);
        break;
    case SEMSEG_ATTR_TENSOR: {
        if (!a->t) {
            snprintf(im->err, SEMSEG_ERRMSG_SIZE, "%s: TENSOR attribute without a tensor", what);
            return SEMSEG_STATUS_MODEL;
        }
        semseg_status st = import_attr_tensor(im, a->t, what, name, &out->t);
        if (st != SEMSEG_STATUS_OK) return st;
        break;
    }
    case SEMSEG_ATTR_GRAPH: break;
    case SEMSEG_ATTR_FLOATS: {
        float *v = ir_alloc(g, sizeof(float) * (a->n_floats + 1));
        if (!v) return oom(im);
        if (a->n_floats) memcpy(v, a->floats, sizeof(float) * a->n_floats);
        out->floats = v;
        out->n = (int64_t)a->n_floats;
        break;
    }
    case SEMSEG_ATTR_INTS: {
        int64_t *v = ir_alloc(g, sizeof(int64_t) * (a->n_ints + 1));
        if (!v) return oom(im);
        if (a->n_ints) memcpy(v, a->ints, sizeof(int64_t) * a->n_ints);
        out->ints = v;
        out->n = (int64_t)a->n_ints;
        break;
    }
    case SEMSEG_ATTR_STRINGS: {
        const char **v = ir_alloc(g, sizeof(char *) * (a->n_strings + 1));
        if (!v) return oom(im);
        for (size_t i = 0; i < a->n_strings; i++)
            if (!(v[i] = ir_strndup(g, (const char *)a->strings[i].data, a->strings[i].len)))
                return oom(im);
        out->strings = v;
        out->n = (int64_t)a->n_strings;
        break;
    }
    default:
        /* TENSORS, GRAPHS, SPARSE_TENSOR(S), TYPE_PROTO(S): name only (see top). */
        return SEMSEG_STATUS_OK;
    }
    out->type = kind;
    return SEMSEG_STATUS_OK;
}

/* Turns a Constant node into constant data on its output value. */
static semseg_status import_constant(importer *im, const Onnx__NodeProto *n, const char *what,
                                     int32_t v)
{
    if (n->n_attribute != 1) {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE, "%s: needs exactly one attribute, has %zu", what,
                 n->n_attribute);
        return SEMSEG_STATUS_MODEL;
    }
    const Onnx__AttributeProto *a = n->attribute[0];
    const char *an = str(a->name);
    onnx_tensor_shape s = {.rank = 0, .numel = 1};
    void *data = NULL;
    char awhat[512];
    snprintf(awhat, sizeof awhat, "%s: attribute '%s'", what, an);
    if (strcmp(an, "value") == 0 && a->t) {
        semseg_status st = load_tensor(im, a->t, awhat, &s, &data);
        if (st != SEMSEG_STATUS_OK) return st;
    } else if (strcmp(an, "value_float") == 0 || strcmp(an, "value_int") == 0 ||
               strcmp(an, "value_floats") == 0 || strcmp(an, "value_ints") == 0) {
        int is_float = an[6] == 'f';
        int is_list = an[strlen(an) - 1] == 's';
        int want = is_float ? (is_list ? SEMSEG_ATTR_FLOATS : SEMSEG_ATTR_FLOAT)
                            : (is_list ? SEMSEG_ATTR_INTS : SEMSEG_ATTR_INT);
        if (attr_kind(a) != want) {
            snprintf(im->err, SEMSEG_ERRMSG_SIZE, "%s: has attribute type %d, expected %d (%s)",
                     awhat, attr_kind(a), want, is_list ? (is_float ? "FLOATS" : "INTS")
                                                        : (is_float ? "FLOAT" : "INT"));
            return SEMSEG_STATUS_MODEL;
        }
        size_t count = is_list ? (is_float ? a->n_floats : a->n_ints) : 1;
        s.dtype = s.file_dtype = is_float ? SEMSEG_DTYPE_FLOAT : SEMSEG_DTYPE_INT64;
        s.rank = is_list ? 1 : 0;
        s.dims[0] = (int64_t)count;
        s.numel = (int64_t)count;
        s.nbytes = count * semseg_dtype_size(s.dtype);
        semseg_status st = account(im, awhat, s.nbytes);
        if (st != SEMSEG_STATUS_OK) return st;
        if (!(data = ir_alloc(im->g, s.nbytes))) return oom(im);
        if (s.nbytes && is_float)
            memcpy(data, is_list ? (const void *)a->floats : &a->f, s.nbytes);
        else if (s.nbytes)
            memcpy(data, is_list ? (const void *)a->ints : &a->i, s.nbytes);
    } else {
        snprintf(im->err, SEMSEG_ERRMSG_SIZE, "%s: attribute '%s' is not supported (only value, "
                 "value_float(s) and value_int(s))", what, an);
        return SEMSEG_STATUS_UNSUPPORTED;
    }
    set_value_tensor(&im->g->values[v], &s, data);
    return SEMSEG_STATUS_OK;
}

/* Pass 1: a value for every node output, refusing names produced twice.
 * values[].producer temporarily holds the file index of the producing node. */
static semseg_status import_node_outputs(importer *im, const Onnx__GraphProto *gp)
{
    ir_graph *g = im->g;
    char nb[160], ob[200], pb[160];
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *n = gp->node[i];
        const char *nn = node_name(n, i, nb, sizeof nb);
        for (size_t k = 0; k < n->n_output; k++) {
            const char *name = str(n->output[k]);
            if (!name[0]) continue; /* absent optional output */
            int32_t v = map_find(im, name);
            if (v >= 0) {
                const ir_value *old = &g->values[v];
                const char *other = old->flags & IR_VALUE_INITIALIZER ? "an initializer"
                                    : old->flags & IR_VALUE_INPUT     ? "a graph input"
                                                                      : NULL;
                if (!other) {
                    snprintf(ob, sizeof ob, "node '%s'",
                             node_name(gp->node[old->producer], (size_t)old->producer, pb, sizeof pb));
                    other = ob;
                }
                return fail(im, SEMSEG_STATUS_MODEL,
                            "node '%s' (%s): output '%s' is already produced by %s", nn,
                            str(n->op_type), name, other);
            }
            if ((v = add_value(im, name)) < 0) return oom(im);
            g->values[v].producer = (int32_t)i;
        }
        if (is_constant_node(n)) {
            char what[384];
            snprintf(what, sizeof what, "%s: node '%s' (Constant)", im->src, nn);
            if (n->n_output != 1 || !str(n->output[0])[0]) {
                snprintf(im->err, SEMSEG_ERRMSG_SIZE, "%s: needs exactly one output", what);
                return SEMSEG_STATUS_MODEL;
            }
            semseg_status st = import_constant(im, n, what, map_find(im, n->output[0]));
            if (st != SEMSEG_STATUS_OK) return st;
        }
    }
    return SEMSEG_STATUS_OK;
}

static semseg_status import_node(importer *im, const Onnx__NodeProto *n, size_t index)
{
    ir_graph *g = im->g;
    char nb[160];
    const char *nn = node_name(n, index, nb, sizeof nb);
    const char *op = str(n->op_type);
    const char *domain = is_default_domain(str(n->domain)) ? "" : n->domain;
    char what[384];
    snprintf(what, sizeof what, "%s: node '%s' (%s)", im->src, nn, op);
    if (!op[0]) return fail(im, SEMSEG_STATUS_MODEL, "node '%s' has no op_type", nn);
    if (n->n_input > INT32_MAX || n->n_output > INT32_MAX || n->n_attribute > INT32_MAX)
        return fail(im, SEMSEG_STATUS_MODEL, "node '%s' has too many inputs/outputs", nn);
    int64_t opset = ir_opset_version(g, domain);
    if (opset < 0)
        return fail(im, SEMSEG_STATUS_MODEL, "node '%s' (%s): domain '%s' is not in the model's "
                    "opset_import", nn, op, domain);

    int32_t ni = ir_add_node(g, nn, domain, op, (int32_t)n->n_input, (int32_t)n->n_output);
    if (ni < 0) return oom(im);
    ir_node *node = &g->nodes[ni];
    node->opset = (int32_t)opset;
    for (size_t k = 0; k < n->n_input; k++) {
        const char *name = str(n->input[k]);
        if (!name[0]) continue; /* absent optional input: stays -1 */
        int32_t v = map_find(im, name);
        if (v < 0)
            return fail(im, SEMSEG_STATUS_MODEL, "node '%s' (%s): input %zu '%s' is not produced "
                        "by any node, nor a graph input or initializer", nn, op, k, name);
        node->inputs[k] = v;
    }
    for (size_t k = 0; k < n->n_output; k++)
        if (str(n->output[k])[0]) node->outputs[k] = map_find(im, n->output[k]);

    semseg_attr *attrs = ir_alloc(g, sizeof *attrs * (n->n_attribute + 1));
    if (!attrs) return oom(im);
    for (size_t k = 0; k < n->n_attribute; k++) {
        for (size_t j = 0; j < k; j++)
            if (strcmp(str(n->attribute[j]->name), str(n->attribute[k]->name)) == 0)
                return fail(im, SEMSEG_STATUS_MODEL, "node '%s' (%s): attribute '%s' is given twice",
                            nn, op, str(n->attribute[k]->name));
        semseg_status st = import_attr(im, n->attribute[k], what, &attrs[k]);
        if (st != SEMSEG_STATUS_OK) return st;
    }
    g->nodes[ni].attrs = attrs;
    g->nodes[ni].n_attrs = (int32_t)n->n_attribute;
    return SEMSEG_STATUS_OK;
}

static semseg_status import_outputs(importer *im, const Onnx__GraphProto *gp)
{
    ir_graph *g = im->g;
    g->outputs = ir_alloc(g, sizeof(int32_t) * (gp->n_output + 1));
    if (!g->outputs) return oom(im);
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        const char *name = str(vi->name);
        int32_t v = map_find(im, name);
        if (v < 0)
            return fail(im, SEMSEG_STATUS_MODEL, "graph output '%s' is not produced by any node, "
                        "nor a graph input or initializer", name);
        ir_value *val = &g->values[v];
        if (val->flags & IR_VALUE_OUTPUT)
            return fail(im, SEMSEG_STATUS_MODEL, "graph output '%s' is listed twice", name);
        val->flags |= IR_VALUE_OUTPUT;
        /* Declared dims (symbolic ones included) describe computed outputs only. */
        int with_shape = !val->data && !(val->flags & IR_VALUE_INPUT);
        semseg_status st = import_type(im, vi, "graph output", val, with_shape);
        if (st != SEMSEG_STATUS_OK) return st;
        g->outputs[g->n_outputs++] = v;
    }
    return SEMSEG_STATUS_OK;
}

/* value_info: element types only (shapes come from inference at the real size). */
static void import_value_info(importer *im, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        int32_t v = vi->name ? map_find(im, vi->name) : -1;
        if (v < 0 || !vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) continue;
        ir_value *val = &im->g->values[v];
        const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
        if (val->dtype == SEMSEG_DTYPE_UNDEFINED && tt->has_elem_type) val->dtype = tt->elem_type;
    }
}

static semseg_status import_model(importer *im, Onnx__ModelProto *m)
{
    if (!m->graph) return fail(im, SEMSEG_STATUS_MODEL, "the model has no graph");
    Onnx__GraphProto *gp = m->graph;
    semseg_status st;
    if ((st = import_header(im, m)) != SEMSEG_STATUS_OK) return st;
    if ((st = import_initializers(im, gp)) != SEMSEG_STATUS_OK) return st;
    if ((st = import_inputs(im, gp)) != SEMSEG_STATUS_OK) return st;
    if ((st = import_node_outputs(im, gp)) != SEMSEG_STATUS_OK) return st;
    for (size_t i = 0; i < gp->n_node; i++) {
        if (is_constant_node(gp->node[i])) continue;
        if ((st = import_node(im, gp->node[i], i)) != SEMSEG_STATUS_OK) return st;
    }
    if ((st = import_outputs(im, gp)) != SEMSEG_STATUS_OK) return st;
    import_value_info(im, gp);

    char msg[SEMSEG_ERRMSG_SIZE];
    st = ir_toposort(im->g, msg, sizeof msg);
    if (st != SEMSEG_STATUS_OK) return fail(im, st, "%s", msg);
    return SEMSEG_STATUS_OK;
}

/* Unpacks and imports; frees `owned` (the file's bytes) right after unpacking. */
static semseg_status import_bytes(const uint8_t *data, size_t size, uint8_t *owned,
                                  const char *src, const char *base_dir,
                                  const onnx_import_limits *limits, ir_graph **out, char *err)
{
    importer im = {.src = src, .base_dir = base_dir, .err = err};
    im.lim.max_file_bytes = limits && limits->max_file_bytes ? limits->max_file_bytes
                                                             : DEFAULT_MAX_FILE_BYTES;
    im.lim.max_tensor_elements = limits && limits->max_tensor_elements > 0
                                     ? limits->max_tensor_elements
                                     : DEFAULT_MAX_TENSOR_ELEMENTS;
    im.lim.max_total_bytes = limits && limits->max_total_bytes ? limits->max_total_bytes
                                                               : DEFAULT_MAX_TOTAL_BYTES;
    onnx_allocator_init(&im.alloc);

    semseg_status st;
    Onnx__ModelProto *m = NULL;
    if (size == 0) {
        st = fail(&im, SEMSEG_STATUS_INVALID_ARGUMENT, "empty (0 bytes), not an ONNX model");
        goto out;
    }
    if (size > im.lim.max_file_bytes) {
        st = fail(&im, SEMSEG_STATUS_INVALID_ARGUMENT, "model has %zu bytes, more than the limit "
                  "of %zu", size, im.lim.max_file_bytes);
        goto out;
    }
    int from_file = owned != NULL;
    int nest = onnx_check_nesting(data, size, &onnx__model_proto__descriptor);
    if (nest == -2) {
        st = fail(&im, SEMSEG_STATUS_INVALID_ARGUMENT, "messages nest deeper than %d levels; "
                  "not a usable ONNX model", ONNX_MAX_NESTING);
        goto out;
    }
    if (nest == 0) m = onnx__model_proto__unpack(&im.alloc, size, data);
    free(owned);
    owned = NULL;
    if (!m) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "%s%s is not a valid ONNX model (protobuf parse failed): is it truncated, or not an .onnx file?",
                 from_file ? "file " : "", src);
        st = SEMSEG_STATUS_INVALID_ARGUMENT;
        goto out;
    }
    if (!(im.g = ir_new())) {
        st = oom(&im);
        goto out;
    }
    st = import_model(&im, m);

out:
    free(owned);
    if (m) onnx__model_proto__free_unpacked(m, &im.alloc);
    free(im.map.slot);
    if (st != SEMSEG_STATUS_OK) {
        onnx_sanitize_message(err);
        ir_free(im.g);
        im.g = NULL;
    }
    *out = im.g;
    return st;
}

semseg_status onnx_import_file(const char *path, const onnx_import_limits *limits,
                               ir_graph **out, char *err)
{
    char local[SEMSEG_ERRMSG_SIZE];
    if (!err) err = local;
    *out = NULL;
    if (!path) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "model path is NULL");
        return SEMSEG_STATUS_INVALID_ARGUMENT;
    }
    size_t max = limits && limits->max_file_bytes ? limits->max_file_bytes : DEFAULT_MAX_FILE_BYTES;
    uint8_t *buf;
    size_t size;
    semseg_status st = onnx_read_file(path, max, &buf, &size, err);
    if (st != SEMSEG_STATUS_OK) return st;

    /* External data lives next to the model file. */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? malloc((size_t)(slash - path) + 2) : NULL;
    if (slash && !dir) {
        free(buf);
        snprintf(err, SEMSEG_ERRMSG_SIZE, "out of memory");
        return SEMSEG_STATUS_NO_MEMORY;
    }
    if (dir) {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    st = import_bytes(buf, size, buf, path, dir ? dir : ".", limits, out, err);
    free(dir);
    return st;
}

semseg_status onnx_import_buffer(const void *data, size_t size, const char *base_dir,
                                 const onnx_import_limits *limits, ir_graph **out, char *err)
{
    char local[SEMSEG_ERRMSG_SIZE];
    if (!err) err = local;
    *out = NULL;
    if (!data && size) {
        snprintf(err, SEMSEG_ERRMSG_SIZE, "model buffer is NULL");
        return SEMSEG_STATUS_INVALID_ARGUMENT;
    }
    return import_bytes(data, size, NULL, "<buffer>", base_dir, limits, out, err);
}
