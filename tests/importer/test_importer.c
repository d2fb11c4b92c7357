/*
 * Tests of the ONNX importer and the tensor-file reader/writer.
 *
 * Expectations come from outside the code under test: gen_models.py writes
 * each model with the ONNX Python package and, next to it, a manifest of what
 * that package reads back (MODEL.expect); tensor files come with what numpy
 * wrote (tensors.expect); bad inputs come with the substring their one-line
 * error must contain. Written tensor files are checked by numpy in turn
 * (gen_models.py --check-written).
 *
 *   test_importer model FILE.onnx        import from the file, compare with FILE.expect
 *   test_importer buffer FILE.onnx       same through onnx_import_buffer
 *   test_importer bad DIR NAME           DIR/NAME.onnx must fail as DIR/expected.txt says
 *   test_importer fuzz FILE.onnx [light] every truncation and many corruptions: no crash
 *   test_importer limits FULL EXT        import limits and the missing base folder
 *   test_importer tensors DIR            DIR/tensors.expect and DIR/bad.expect
 *   test_importer write DIR              writes tensors for --check-written, reads them back
 *   test_importer fuzz_tensor FILE       damaged .npy/.pb copies: no crash, clean errors
 *   test_importer corpus LIST            ONNX's node-test models (see gen_models.py node_corpus)
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_import.h"
#include "semseg/semseg.h"

static int failures;

static void check(int ok, const char *fmt, ...)
{
    if (ok) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    failures++;
}

static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    if (size) *size = (size_t)n;
    return buf;
}

/* ---- manifest lines as token arrays ---- */

typedef struct line {
    int n, cap;
    char **t;
} line;

static int split(char *s, line *l)
{
    int need = (int)(strlen(s) / 2 + 2); /* tokens are separated by single spaces */
    if (need > l->cap) {
        free(l->t);
        l->t = malloc(sizeof(char *) * (size_t)need);
        l->cap = l->t ? need : 0;
        if (!l->t) return l->n = 0;
    }
    l->n = 0;
    for (char *tok = strtok(s, " "); tok; tok = strtok(NULL, " ")) l->t[l->n++] = tok;
    return l->n;
}

static const char *untok(const char *s)
{
    return strcmp(s, "-") == 0 ? "" : s;
}

static double element(const void *data, int32_t dtype, int64_t i)
{
    switch (dtype) {
    case SEMSEG_DTYPE_FLOAT: return ((const float *)data)[i];
    case SEMSEG_DTYPE_DOUBLE: return ((const double *)data)[i];
    case SEMSEG_DTYPE_INT64: return (double)((const int64_t *)data)[i];
    case SEMSEG_DTYPE_INT32: return ((const int32_t *)data)[i];
    case SEMSEG_DTYPE_INT16: return ((const int16_t *)data)[i];
    case SEMSEG_DTYPE_INT8: return ((const int8_t *)data)[i];
    case SEMSEG_DTYPE_UINT64: return (double)((const uint64_t *)data)[i];
    case SEMSEG_DTYPE_UINT32: return ((const uint32_t *)data)[i];
    case SEMSEG_DTYPE_UINT16: return ((const uint16_t *)data)[i];
    case SEMSEG_DTYPE_FLOAT16: { /* only in tensor files: decode independently */
        uint16_t h = ((const uint16_t *)data)[i];
        int e = (h >> 10) & 31, m = h & 1023;
        double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
        return (h & 0x8000) ? -v : v;
    }
    case SEMSEG_DTYPE_UINT8:
    case SEMSEG_DTYPE_BOOL: return ((const uint8_t *)data)[i];
    default: return NAN;
    }
}

static int same(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

/* Compares "DTYPE RANK DIM... COUNT V..." starting at token k. */
static void check_tensor(const line *l, int k, const char *what, int32_t dtype, int32_t rank,
                         const int64_t *dims, const void *data, size_t nbytes)
{
    int32_t want_dtype = atoi(l->t[k]), want_rank = atoi(l->t[k + 1]);
    check(dtype == want_dtype, "%s: dtype %d, expected %d", what, dtype, want_dtype);
    check(rank == want_rank, "%s: rank %d, expected %d", what, rank, want_rank);
    if (dtype != want_dtype || rank != want_rank) return;
    for (int i = 0; i < rank; i++)
        check(dims[i] == atoll(l->t[k + 2 + i]), "%s: dim %d is %lld, expected %s", what, i,
              (long long)dims[i], l->t[k + 2 + i]);
    int64_t count = atoll(l->t[k + 2 + rank]);
    check(nbytes == (size_t)count * semseg_dtype_size(dtype), "%s: %zu bytes for %lld elements", what,
          nbytes, (long long)count);
    check(data != NULL, "%s: no data", what);
    if (!data || nbytes != (size_t)count * semseg_dtype_size(dtype)) return;
    for (int64_t i = 0; i < count && k + 3 + rank + i < l->n; i++) {
        double want = strtod(l->t[k + 3 + rank + i], NULL), got = element(data, dtype, i);
        check(same(got, want), "%s: element %lld is %.17g, expected %.17g", what, (long long)i, got, want);
    }
}

static void check_dims(const line *l, int k, const char *what, const ir_value *v)
{
    int rank = atoi(l->t[k]);
    check(v->rank == rank, "%s: rank %d, expected %d", what, v->rank, rank);
    if (v->rank != rank) return;
    for (int i = 0; i < rank; i++) {
        const char *d = l->t[k + 1 + i];
        if (d[0] == '?') {
            check(v->dims[i] == IR_DIM_UNKNOWN, "%s: dim %d should be unknown", what, i);
            if (d[1])
                check(v->dim_param[i] && strcmp(v->dim_param[i], d + 1) == 0,
                      "%s: dim %d param '%s', expected '%s'", what, i,
                      v->dim_param[i] ? v->dim_param[i] : "(null)", d + 1);
            else
                check(v->dim_param[i] == NULL, "%s: dim %d should have no name", what, i);
        } else {
            check(v->dims[i] == atoll(d), "%s: dim %d is %lld, expected %s", what, i,
                  (long long)v->dims[i], d);
        }
    }
}

static const ir_node *find_node(const ir_graph *g, const char *name)
{
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0) return &g->nodes[i];
    return NULL;
}

static int32_t value_of(const ir_graph *g, const char *name, const char *what)
{
    int32_t v = ir_find_value(g, name);
    check(v >= 0, "%s: no value '%s'", what, name);
    return v;
}

static void hex_of(const char *s, char *out)
{
    size_t n = strlen(s);
    out[0] = 'x';
    for (size_t i = 0; i < n; i++) sprintf(out + 1 + 2 * i, "%02x", (unsigned char)s[i]);
    out[1 + 2 * n] = '\0';
}

static void check_attr(const ir_graph *g, const line *l)
{
    char what[300];
    snprintf(what, sizeof what, "node '%s' attribute '%s'", l->t[1], l->t[2]);
    const ir_node *n = find_node(g, l->t[1]);
    if (!n) return; /* reported by the node line */
    const semseg_attr *a = NULL;
    for (int32_t i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, l->t[2]) == 0) a = &n->attrs[i];
    check(a != NULL, "%s: missing", what);
    if (!a) return;
    int type = atoi(l->t[3]);
    check(a->type == type, "%s: type %d, expected %d", what, a->type, type);
    if (a->type != type) return;
    char hex[1024];
    switch (type) {
    case SEMSEG_ATTR_FLOAT: check(same(a->f, strtod(l->t[4], NULL)), "%s: %g", what, a->f); break;
    case SEMSEG_ATTR_INT: check(a->i == atoll(l->t[4]), "%s: %lld", what, (long long)a->i); break;
    case SEMSEG_ATTR_STRING:
        hex_of(a->s, hex);
        check(strcmp(hex, l->t[4]) == 0, "%s: '%s'", what, a->s);
        break;
    case SEMSEG_ATTR_TENSOR:
        check(a->t && a->t->data, "%s: no tensor data", what);
        if (a->t)
            check_tensor(l, 4, what, a->t->dtype, a->t->rank, a->t->dims, a->t->data,
                         (size_t)semseg_numel(a->t->rank, a->t->dims) * semseg_dtype_size(a->t->dtype));
        break;
    case SEMSEG_ATTR_FLOATS:
    case SEMSEG_ATTR_INTS:
    case SEMSEG_ATTR_STRINGS:
        check(a->n == atoll(l->t[4]), "%s: %lld entries, expected %s", what, (long long)a->n, l->t[4]);
        for (int64_t i = 0; i < a->n && i == (int)i && 5 + i < l->n; i++) {
            const char *w = l->t[5 + i];
            if (type == SEMSEG_ATTR_FLOATS)
                check(same(a->floats[i], strtod(w, NULL)), "%s[%lld]: %g", what, (long long)i, a->floats[i]);
            else if (type == SEMSEG_ATTR_INTS)
                check(a->ints[i] == atoll(w), "%s[%lld]: %lld", what, (long long)i, (long long)a->ints[i]);
            else {
                hex_of(a->strings[i], hex);
                check(strcmp(hex, w) == 0, "%s[%lld]: '%s'", what, (long long)i, a->strings[i]);
            }
        }
        break;
    default: break;
    }
}

static void check_node(const ir_graph *g, const line *l)
{
    char what[300];
    snprintf(what, sizeof what, "node '%s'", l->t[1]);
    const ir_node *n = find_node(g, l->t[1]);
    check(n != NULL, "%s: missing", what);
    if (!n) return;
    check(strcmp(n->domain, untok(l->t[2])) == 0, "%s: domain '%s'", what, n->domain);
    check(strcmp(n->op, l->t[3]) == 0, "%s: op '%s'", what, n->op);
    check(n->opset == atoi(l->t[4]), "%s: opset %d, expected %s", what, n->opset, l->t[4]);
    int nin = atoi(l->t[5]), k = 6;
    check(n->n_inputs == nin, "%s: %d inputs, expected %d", what, n->n_inputs, nin);
    for (int i = 0; i < nin && i < n->n_inputs; i++, k++) {
        const char *want = untok(l->t[k]);
        int32_t v = n->inputs[i];
        check(want[0] ? v >= 0 && strcmp(g->values[v].name, want) == 0 : v == -1,
              "%s: input %d is '%s', expected '%s'", what, i, v >= 0 ? g->values[v].name : "(absent)", want);
    }
    k = 6 + nin;
    int nout = atoi(l->t[k++]);
    check(n->n_outputs == nout, "%s: %d outputs, expected %d", what, n->n_outputs, nout);
    for (int i = 0; i < nout && i < n->n_outputs; i++, k++) {
        const char *want = untok(l->t[k]);
        int32_t v = n->outputs[i];
        check(want[0] ? v >= 0 && strcmp(g->values[v].name, want) == 0 : v == -1,
              "%s: output %d is '%s', expected '%s'", what, i, v >= 0 ? g->values[v].name : "(absent)", want);
    }
}

/* Every input comes before its consumer; producers point at the right node. */
static void check_sorted(const ir_graph *g)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        for (int32_t k = 0; k < n->n_inputs; k++) {
            int32_t v = n->inputs[k];
            if (v < 0) continue;
            const ir_value *val = &g->values[v];
            if (val->producer < 0)
                check(val->data || (val->flags & IR_VALUE_INPUT),
                      "node '%s': input '%s' has no producer and is no constant or input", n->name, val->name);
            else
                check(val->producer < i, "node '%s' comes before the producer of '%s'", n->name, val->name);
        }
        for (int32_t k = 0; k < n->n_outputs; k++)
            if (n->outputs[k] >= 0)
                check(g->values[n->outputs[k]].producer == i, "node '%s': producer of output %d", n->name, k);
    }
}

static void compare_manifest(const ir_graph *g, const char *expect_path)
{
    char *text = slurp(expect_path, NULL);
    check(text != NULL, "cannot read %s", expect_path);
    if (!text) return;
    line l = {0};
    int n_inputs = 0, n_outputs = 0, n_nodes = 0, n_consts = 0, n_opsets = 0, n_meta = 0;
    for (char *save = NULL, *s = strtok_r(text, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
        if (!split(s, &l)) continue;
        const char *k = l.t[0];
        char what[300];
        snprintf(what, sizeof what, "%s '%s'", k, l.n > 1 ? l.t[1] : "");
        if (strcmp(k, "ir_version") == 0) {
            check(g->ir_version == atoll(l.t[1]), "ir_version %lld", (long long)g->ir_version);
        } else if (strcmp(k, "producer") == 0) {
            check(strcmp(g->producer_name, untok(l.t[1])) == 0, "producer_name '%s'", g->producer_name);
            check(strcmp(g->producer_version, untok(l.t[2])) == 0, "producer_version '%s'", g->producer_version);
        } else if (strcmp(k, "graph") == 0) {
            check(strcmp(g->graph_name, untok(l.t[1])) == 0, "graph name '%s'", g->graph_name);
        } else if (strcmp(k, "opset") == 0) {
            n_opsets++;
            check(ir_opset_version(g, untok(l.t[1])) == atoll(l.t[2]), "%s: version %lld", what,
                  (long long)ir_opset_version(g, untok(l.t[1])));
        } else if (strcmp(k, "meta") == 0) {
            int found = 0;
            n_meta++;
            for (int32_t i = 0; i < g->n_meta; i++)
                if (strcmp(g->meta[i].key, untok(l.t[1])) == 0)
                    found = strcmp(g->meta[i].value, untok(l.t[2])) == 0;
            check(found, "%s: missing or wrong value", what);
        } else if (strcmp(k, "const") == 0) {
            n_consts++;
            int32_t v = value_of(g, l.t[1], what);
            if (v < 0) continue;
            const ir_value *val = &g->values[v];
            check(!(val->flags & IR_VALUE_INPUT), "%s: marked as a graph input", what);
            check(val->producer == -1, "%s: has a producer", what);
            check_tensor(&l, 2, what, val->dtype, val->rank, val->dims, val->data, val->nbytes);
        } else if (strcmp(k, "input") == 0) {
            int32_t v = value_of(g, l.t[1], what);
            check(n_inputs < g->n_inputs && g->inputs[n_inputs] == v, "%s: not graph input %d", what, n_inputs);
            n_inputs++;
            if (v < 0) continue;
            check(g->values[v].flags & IR_VALUE_INPUT, "%s: not flagged as input", what);
            check(g->values[v].dtype == atoi(l.t[2]), "%s: dtype %d", what, g->values[v].dtype);
            check_dims(&l, 3, what, &g->values[v]);
        } else if (strcmp(k, "output") == 0) {
            int32_t v = value_of(g, l.t[1], what);
            check(n_outputs < g->n_outputs && g->outputs[n_outputs] == v, "%s: not graph output %d", what, n_outputs);
            n_outputs++;
            if (v < 0) continue;
            check(g->values[v].flags & IR_VALUE_OUTPUT, "%s: not flagged as output", what);
            check(g->values[v].dtype == atoi(l.t[2]), "%s: dtype %d", what, g->values[v].dtype);
            if (!g->values[v].data) check_dims(&l, 3, what, &g->values[v]);
        } else if (strcmp(k, "vdtype") == 0) {
            int32_t v = value_of(g, l.t[1], what);
            if (v >= 0) check(g->values[v].dtype == atoi(l.t[2]), "%s: dtype %d", what, g->values[v].dtype);
        } else if (strcmp(k, "node") == 0) {
            n_nodes++;
            check_node(g, &l);
        } else if (strcmp(k, "attr") == 0) {
            check_attr(g, &l);
        } else {
            check(0, "unknown manifest line '%s'", k);
        }
    }
    int consts = 0;
    for (int32_t i = 0; i < g->n_values; i++) consts += g->values[i].data != NULL;
    check(g->n_inputs == n_inputs, "%d graph inputs, expected %d", g->n_inputs, n_inputs);
    check(g->n_outputs == n_outputs, "%d graph outputs, expected %d", g->n_outputs, n_outputs);
    check(g->n_nodes == n_nodes, "%d nodes, expected %d", g->n_nodes, n_nodes);
    check(consts == n_consts, "%d constant values, expected %d", consts, n_consts);
    check(g->n_opsets == n_opsets, "%d opsets, expected %d", g->n_opsets, n_opsets);
    check(g->n_meta == n_meta, "%d metadata entries, expected %d", g->n_meta, n_meta);
    check_sorted(g);
    free(l.t);
    free(text);
}

static char *expect_path_of(const char *model)
{
    size_t n = strlen(model);
    char *p = malloc(n + 8);
    memcpy(p, model, n + 1);
    if (n > 5 && strcmp(p + n - 5, ".onnx") == 0) p[n - 5] = '\0';
    strcat(p, ".expect");
    return p;
}

static char *dir_of(const char *path)
{
    char *d = strdup(path);
    char *s = strrchr(d, '/');
    if (s) *s = '\0';
    else strcpy(d, ".");
    return d;
}

static int cmd_model(const char *path, int via_buffer)
{
    char err[SEMSEG_ERRMSG_SIZE] = "";
    ir_graph *g = NULL;
    semseg_status st;
    if (via_buffer) {
        size_t size;
        char *buf = slurp(path, &size);
        char *dir = dir_of(path);
        st = onnx_import_buffer(buf, size, dir, NULL, &g, err);
        free(buf);
        free(dir);
    } else {
        st = onnx_import_file(path, NULL, &g, err);
    }
    check(st == SEMSEG_STATUS_OK, "import %s: %s", path, err);
    if (st != SEMSEG_STATUS_OK) return 1;
    char *ep = expect_path_of(path);
    compare_manifest(g, ep);
    free(ep);
    printf("%s: %d values, %d nodes, %d inputs, %d outputs\n", path, g->n_values, g->n_nodes,
           g->n_inputs, g->n_outputs);
    ir_free(g);
    return failures != 0;
}

/* The message is one non-empty line that contains `needle`. */
static void check_message(const char *what, const char *err, const char *needle)
{
    check(err[0] != '\0', "%s: empty error message", what);
    check(strchr(err, '\n') == NULL, "%s: message has several lines: %s", what, err);
    check(strstr(err, needle) != NULL, "%s: message '%s' does not contain '%s'", what, err, needle);
}

static int cmd_bad(const char *dir, const char *name)
{
    char path[1024], *text;
    snprintf(path, sizeof path, "%s/expected.txt", dir);
    text = slurp(path, NULL);
    check(text != NULL, "cannot read %s", path);
    if (!text) return 1;
    const char *needle = NULL;
    size_t nl = strlen(name);
    for (char *save = NULL, *s = strtok_r(text, "\n", &save); s; s = strtok_r(NULL, "\n", &save))
        if (strncmp(s, name, nl) == 0 && s[nl] == '\t') needle = s + nl + 1;
    check(needle != NULL, "no expectation for %s", name);
    if (needle) {
        snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
        char err[SEMSEG_ERRMSG_SIZE] = "";
        ir_graph *g = (ir_graph *)1;
        semseg_status st = onnx_import_file(path, NULL, &g, err);
        check(st != SEMSEG_STATUS_OK, "%s: imported without error", path);
        check(g == NULL, "%s: *out not NULL after an error", path);
        check_message(path, err, needle);
        check(strstr(err, path) != NULL, "%s: message does not name the file: %s", path, err);
        printf("%s -> %s\n", path, err);
        if (st == SEMSEG_STATUS_OK) ir_free(g);
    }
    free(text);
    return failures != 0;
}

/* Imports a damaged copy; the only requirement is a clean status. */
static void try_damaged(const char *buf, size_t size, const char *dir, int *ok, int *refused)
{
    char err[SEMSEG_ERRMSG_SIZE] = "";
    ir_graph *g = NULL;
    semseg_status st = onnx_import_buffer(buf, size, dir, NULL, &g, err);
    if (st == SEMSEG_STATUS_OK) {
        check(g != NULL, "OK without a graph");
        (*ok)++;
    } else {
        check(g == NULL && err[0] && !strchr(err, '\n'), "bad error for damaged input: '%s'", err);
        (*refused)++;
    }
    ir_free(g);
}

/* light: fewer corruptions per byte, for models whose every import opens
 * external files. */
static int cmd_fuzz(const char *path, int light)
{
    size_t size;
    char *orig = slurp(path, &size);
    check(orig != NULL, "cannot read %s", path);
    if (!orig) return 1;
    char *dir = dir_of(path);
    char *buf = malloc(size + 1);
    int ok = 0, refused = 0;
    for (size_t n = 0; n < size; n++) { /* every truncation */
        memcpy(buf, orig, n);
        try_damaged(buf, n, dir, &ok, &refused);
    }
    int trunc_ok = ok, trunc_refused = refused;
    uint32_t rng = 12345;
    static const uint8_t pokes[] = {0x00, 0xff, 0x80, 0x7f, 0x01};
    for (size_t i = 0; i < size; i++) { /* each byte set to edge values, plus bit flips */
        for (size_t p = light ? sizeof pokes - 1 : 0; p < sizeof pokes + 2; p++) {
            memcpy(buf, orig, size);
            rng = rng * 1103515245u + 12345u;
            buf[i] = p < sizeof pokes ? (char)pokes[p] : (char)(orig[i] ^ (1 << ((rng >> 16) % 8)));
            try_damaged(buf, size, dir, &ok, &refused);
        }
    }
    printf("%s: %zu bytes; truncations: %d refused, %d still valid; corruptions: %d refused, %d still valid\n",
           path, size, trunc_refused, trunc_ok, refused - trunc_refused, ok - trunc_ok);
    /* Cutting off the graph's tail must be caught by protobuf-c or the checks. */
    check(trunc_refused > (int)size * 9 / 10, "too many truncations accepted (%d of %zu)", trunc_ok, size);
    free(buf);
    free(dir);
    free(orig);
    return failures != 0;
}

static int cmd_limits(const char *full, const char *ext)
{
    char err[SEMSEG_ERRMSG_SIZE];
    ir_graph *g = NULL;
    onnx_import_limits lim = {0};

    lim.max_tensor_elements = 10;
    check(onnx_import_file(full, &lim, &g, err) == SEMSEG_STATUS_MODEL, "element limit not applied");
    check_message("element limit", err, "more than the limit of 10 elements");
    printf("%s\n", err);

    lim = (onnx_import_limits){.max_total_bytes = 100};
    check(onnx_import_file(full, &lim, &g, err) == SEMSEG_STATUS_MODEL, "total limit not applied");
    check_message("total limit", err, "constant data exceeds the limit of 100 bytes");
    printf("%s\n", err);

    lim = (onnx_import_limits){.max_file_bytes = 100};
    check(onnx_import_file(full, &lim, &g, err) == SEMSEG_STATUS_INVALID_ARGUMENT, "file limit not applied");
    check_message("file limit", err, "more than the limit of 100");
    printf("%s\n", err);

    size_t size;
    char *buf = slurp(ext, &size);
    check(onnx_import_buffer(buf, size, NULL, NULL, &g, err) != SEMSEG_STATUS_OK, "external data without a folder");
    check_message("no folder", err, "uses external data ('weights.bin') but the model was given without a folder");
    printf("%s\n", err);
    free(buf);

    check(onnx_import_file("/nonexistent/model.onnx", NULL, &g, err) == SEMSEG_STATUS_IO, "missing file");
    check_message("missing file", err, "cannot open /nonexistent/model.onnx");
    printf("%s\n", err);
    return failures != 0;
}

static int cmd_tensors(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tensors.expect", dir);
    char *text = slurp(path, NULL);
    check(text != NULL, "cannot read %s", path);
    if (!text) return 1;
    line l = {0};
    int n = 0;
    for (char *save = NULL, *s = strtok_r(text, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
        if (split(s, &l) < 4) continue;
        if (l.t[0][0] == '/')
            snprintf(path, sizeof path, "%s", l.t[0]);
        else
            snprintf(path, sizeof path, "%s/%s", dir, l.t[0]);
        semseg_tensor_file t;
        semseg_error e;
        semseg_status st = semseg_tensor_file_read(path, &t, &e);
        check(st == SEMSEG_STATUS_OK, "%s: %s", path, e.message);
        if (st != SEMSEG_STATUS_OK) continue;
        check(strcmp(t.name, untok(l.t[1])) == 0, "%s: name '%s'", path, t.name);
        check_tensor(&l, 2, path, t.dtype, t.rank, t.dims, t.data, t.nbytes);
        semseg_tensor_file_clear(&t);
        check(t.data == NULL, "%s: clear left data", path);
        n++;
    }
    free(text);
    free(l.t);
    printf("%d tensor files read\n", n);

    snprintf(path, sizeof path, "%s/bad.expect", dir);
    text = slurp(path, NULL); /* optional */
    if (!text) return failures != 0;
    for (char *save = NULL, *s = strtok_r(text, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(s, '\t');
        if (!tab) continue;
        *tab = '\0';
        snprintf(path, sizeof path, "%s/%s", dir, s);
        semseg_tensor_file t;
        semseg_error e;
        check(semseg_tensor_file_read(path, &t, &e) != SEMSEG_STATUS_OK, "%s: read without error", path);
        check(t.data == NULL, "%s: data left after an error", path);
        check_message(path, e.message, tab + 1);
        printf("%s -> %s\n", s, e.message);
    }
    free(text);
    /* err may be NULL. */
    semseg_tensor_file t;
    check(semseg_tensor_file_read("/nonexistent.npy", &t, NULL) == SEMSEG_STATUS_IO, "missing file");
    return failures != 0;
}

/* The same formula as gen_models.py's arange(), computed here independently. */
static void formula(int32_t dtype, int64_t n, void *out)
{
    for (int64_t i = 0; i < n; i++) {
        double f = ((double)i - (double)n / 2) * 0.37;
        int64_t s = (i * 7 % 200) - 100, u = i * 7 % 251;
        switch (dtype) {
        case SEMSEG_DTYPE_FLOAT: ((float *)out)[i] = (float)f; break;
        case SEMSEG_DTYPE_DOUBLE: ((double *)out)[i] = f; break;
        case SEMSEG_DTYPE_INT64: ((int64_t *)out)[i] = s; break;
        case SEMSEG_DTYPE_INT32: ((int32_t *)out)[i] = (int32_t)s; break;
        case SEMSEG_DTYPE_INT16: ((int16_t *)out)[i] = (int16_t)s; break;
        case SEMSEG_DTYPE_INT8: ((int8_t *)out)[i] = (int8_t)s; break;
        case SEMSEG_DTYPE_UINT64: ((uint64_t *)out)[i] = (uint64_t)u; break;
        case SEMSEG_DTYPE_UINT32: ((uint32_t *)out)[i] = (uint32_t)u; break;
        case SEMSEG_DTYPE_UINT16: ((uint16_t *)out)[i] = (uint16_t)u; break;
        case SEMSEG_DTYPE_UINT8: ((uint8_t *)out)[i] = (uint8_t)u; break;
        case SEMSEG_DTYPE_BOOL: ((uint8_t *)out)[i] = i % 3 == 1; break;
        default: break;
        }
    }
}

static int cmd_write(const char *dir)
{
    static const int32_t types[] = {
        SEMSEG_DTYPE_FLOAT, SEMSEG_DTYPE_DOUBLE, SEMSEG_DTYPE_INT64, SEMSEG_DTYPE_INT32,
        SEMSEG_DTYPE_INT16, SEMSEG_DTYPE_INT8, SEMSEG_DTYPE_UINT64, SEMSEG_DTYPE_UINT32,
        SEMSEG_DTYPE_UINT16, SEMSEG_DTYPE_UINT8, SEMSEG_DTYPE_BOOL};
    const int64_t dims[3] = {2, 3, 2};
    char path[1024], name[64];
    uint64_t data[12];
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        formula(types[k], 12, data);
        snprintf(path, sizeof path, "%s/written_%d.pb", dir, types[k]);
        snprintf(name, sizeof name, "written_%d", types[k]);
        semseg_error e;
        check(semseg_tensor_file_write(path, name, types[k], 3, dims, data, &e) == SEMSEG_STATUS_OK,
              "%s: %s", path, e.message);
        semseg_tensor_file t;
        check(semseg_tensor_file_read(path, &t, &e) == SEMSEG_STATUS_OK, "%s: %s", path, e.message);
        check(t.dtype == types[k] && t.rank == 3 && t.nbytes == 12 * semseg_dtype_size(types[k]) &&
                  memcmp(t.data, data, t.nbytes) == 0 && strcmp(t.name, name) == 0,
              "%s: read back differs", path);
        semseg_tensor_file_clear(&t);
    }
    /* float16 bits of 1, -2, 0.5, 65504, inf, 0 */
    const uint16_t h[6] = {0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0x0000};
    const int64_t hd[1] = {6};
    snprintf(path, sizeof path, "%s/written_f16.pb", dir);
    check(semseg_tensor_file_write(path, "f16", SEMSEG_DTYPE_FLOAT16, 1, hd, h, NULL) == SEMSEG_STATUS_OK, "f16 write");
    snprintf(path, sizeof path, "%s/written_scalar.pb", dir);
    float one = 1.0f;
    check(semseg_tensor_file_write(path, NULL, SEMSEG_DTYPE_FLOAT, 0, NULL, &one, NULL) == SEMSEG_STATUS_OK, "scalar write");
    semseg_error e;
    check(semseg_tensor_file_write(path, "s", SEMSEG_DTYPE_STRING, 0, NULL, &one, &e) == SEMSEG_STATUS_UNSUPPORTED,
          "string write refused");
    check_message("string write", e.message, "cannot write data type STRING");
    check(semseg_tensor_file_write("/nonexistent/x.pb", "s", SEMSEG_DTYPE_FLOAT, 0, NULL, &one, &e) == SEMSEG_STATUS_IO,
          "write to a missing folder");
    return failures != 0;
}

/* Reads a damaged copy of a tensor file through a scratch file next to it. */
static void try_damaged_tensor(const char *tmp, const char *buf, size_t size, int *ok, int *refused)
{
    remove(tmp); /* a fresh file: rewriting a truncated one makes ext4 flush it */
    FILE *f = fopen(tmp, "wb");
    check(f && fwrite(buf, 1, size, f) == size, "cannot write %s", tmp);
    if (f) fclose(f);
    semseg_tensor_file t;
    semseg_error e;
    semseg_status st = semseg_tensor_file_read(tmp, &t, &e);
    if (st == SEMSEG_STATUS_OK) {
        check(t.data != NULL, "OK without data");
        (*ok)++;
    } else {
        check(t.data == NULL && e.message[0] && !strchr(e.message, '\n'), "bad error: '%s'", e.message);
        (*refused)++;
    }
    semseg_tensor_file_clear(&t);
}

static int cmd_fuzz_tensor(const char *path)
{
    size_t size;
    char *orig = slurp(path, &size);
    check(orig != NULL, "cannot read %s", path);
    if (!orig) return 1;
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.fuzz", path);
    char *buf = malloc(size + 1);
    int ok = 0, refused = 0;
    for (size_t n = 0; n < size; n++) {
        memcpy(buf, orig, n);
        try_damaged_tensor(tmp, buf, n, &ok, &refused);
    }
    static const uint8_t pokes[] = {0x00, 0xff, ')', '9', ','};
    for (size_t i = 0; i < size; i++) {
        for (size_t p = 0; p < sizeof pokes; p++) {
            memcpy(buf, orig, size);
            buf[i] = (char)pokes[p];
            try_damaged_tensor(tmp, buf, size, &ok, &refused);
        }
    }
    remove(tmp);
    printf("%s: %zu bytes; %d damaged copies refused, %d still readable\n", path, size, refused, ok);
    free(buf);
    free(orig);
    return failures != 0;
}

/* LIST lines: "ok MODEL EXPECT" (import and compare) or "refuse MODEL -". */
static int cmd_corpus(const char *list)
{
    char *text = slurp(list, NULL);
    check(text != NULL, "cannot read %s", list);
    if (!text) return 1;
    int ok = 0, refused = 0, bad = 0;
    for (char *save = NULL, *s = strtok_r(text, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
        char kind[16], model[1024], expect[1024];
        if (sscanf(s, "%15s %1023s %1023s", kind, model, expect) != 3) continue;
        int before = failures;
        char err[SEMSEG_ERRMSG_SIZE] = "";
        ir_graph *g = NULL;
        semseg_status st = onnx_import_file(model, NULL, &g, err);
        if (strcmp(kind, "ok") == 0) {
            check(st == SEMSEG_STATUS_OK, "%s", err);
            if (g) compare_manifest(g, expect);
            ok++;
        } else {
            check(st != SEMSEG_STATUS_OK && err[0] && !strchr(err, '\n'), "%s: not refused cleanly", model);
            if (st != SEMSEG_STATUS_OK) printf("refused as expected: %s\n", err);
            refused++;
        }
        if (failures != before) {
            fprintf(stderr, "  ^ in %s\n", model);
            bad++;
        }
        ir_free(g);
    }
    free(text);
    printf("%d models imported and compared, %d refused as expected, %d with failures\n", ok, refused, bad);
    return failures != 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "model") == 0) return cmd_model(argv[2], 0);
    if (argc >= 3 && strcmp(argv[1], "buffer") == 0) return cmd_model(argv[2], 1);
    if (argc >= 4 && strcmp(argv[1], "bad") == 0) return cmd_bad(argv[2], argv[3]);
    if (argc >= 3 && strcmp(argv[1], "fuzz") == 0) return cmd_fuzz(argv[2], argc >= 4 && strcmp(argv[3], "light") == 0);
    if (argc >= 4 && strcmp(argv[1], "limits") == 0) return cmd_limits(argv[2], argv[3]);
    if (argc >= 3 && strcmp(argv[1], "tensors") == 0) return cmd_tensors(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "write") == 0) return cmd_write(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "corpus") == 0) return cmd_corpus(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "fuzz_tensor") == 0) return cmd_fuzz_tensor(argv[2]);
    fprintf(stderr, "usage: test_importer model|buffer|fuzz FILE.onnx | bad DIR NAME | "
                    "limits FULL EXT | tensors DIR | write DIR\n");
    return 2;
}
