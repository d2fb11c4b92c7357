/*
 * A small test harness for backend plugins, used by the opencl tests before
 * and independently of the runtime: it dlopens a plugin .so, initialises it,
 * and builds semseg_node_info values by hand (inputs with random or given
 * data, attributes, output dims worked out by the test itself). One node
 * builder holds all the storage its node_info points into.
 */
#ifndef SEMSEG_TEST_HARNESS_H
#define SEMSEG_TEST_HARNESS_H

#include "semseg/plugin.h"

typedef struct plug {
    void *dl;
    const semseg_plugin_i *p;
    void *ctx;
} plug;

/* Opens and initialises; on failure returns the init status (or PLUGIN for
 * a load problem) with one line in err. */
semseg_status plug_open(plug *pl, const char *path, int threads, char *err);
void plug_close(plug *pl);

#define NB_MAX_IN 8
#define NB_MAX_ATTR 16

typedef struct node_b {
    semseg_node_info n;
    char name[128];
    semseg_value_info in[NB_MAX_IN], out[2];
    int64_t in_dims[NB_MAX_IN][SEMSEG_MAX_RANK], out_dims[2][SEMSEG_MAX_RANK];
    void *data[NB_MAX_IN];     /* host data of every input (constants and not) */
    semseg_attr attrs[NB_MAX_ATTR];
    int64_t attr_ints[NB_MAX_ATTR][8];
    float attr_floats[NB_MAX_ATTR][8];
    semseg_epilogue epi;
} node_b;

void nb_init(node_b *b, const char *domain, const char *op, int opset, const char *name);
void nb_free(node_b *b);
/* Float input with uniform random data in [lo, hi]; is_const makes it a
 * load-time constant (value_info.data set). Returns its index. */
int nb_input(node_b *b, int rank, const int64_t *dims, float lo, float hi, int is_const);
/* Input with the given data (copied), always constant. */
int nb_input_const(node_b *b, int32_t dtype, int rank, const int64_t *dims, const void *data);
/* An absent optional input. */
int nb_input_absent(node_b *b);
void nb_output(node_b *b, int32_t dtype, int rank, const int64_t *dims);
void nb_attr_int(node_b *b, const char *name, int64_t v);
void nb_attr_ints(node_b *b, const char *name, int n, const int64_t *v);
void nb_attr_float(node_b *b, const char *name, float v);
void nb_attr_floats(node_b *b, const char *name, int n, const float *v);
void nb_attr_string(node_b *b, const char *name, const char *v);
void nb_epilogue(node_b *b, int act, float lo, float hi, int residual);
float *nb_fdata(node_b *b, int i);

/* Deterministic uniform floats in [lo, hi]. */
float test_rand(float lo, float hi);

#endif
