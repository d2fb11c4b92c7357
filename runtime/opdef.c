/*
 * Operator lookup across the family tables, and the helpers their shape
 * inference shares (numpy broadcasting, reading integer constants).
 */
#include <string.h>

#include "opdef.h"

static int domain_is_default(const char *d)
{
    return d == NULL || d[0] == '\0' || strcmp(d, "ai.onnx") == 0;
}

const opdef *opdef_find(const char *domain, const char *op)
{
    const opdef *tables[] = { opdef_nn_table, opdef_tensor_table, opdef_semseg_table };
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (const opdef *d = tables[t]; d->op; d++) {
            int same_domain = domain_is_default(domain) ? domain_is_default(d->domain)
                                                        : strcmp(domain, d->domain) == 0;
            if (same_domain && strcmp(op, d->op) == 0) return d;
        }
    }
    return NULL;
}

int opdef_broadcast(int32_t ra, const int64_t *da, int32_t rb, const int64_t *db,
                    int32_t *rank, int64_t *dims)
{
    int32_t r = ra > rb ? ra : rb;
    for (int32_t i = 0; i < r; i++) {
        int64_t a = i < r - ra ? 1 : da[i - (r - ra)];
        int64_t b = i < r - rb ? 1 : db[i - (r - rb)];
        if (a != b && a != 1 && b != 1) return -1;
        dims[i] = a == 1 ? b : a;
    }
    *rank = r;
    return 0;
}

int64_t opdef_const_int(const semseg_value_info *v, int64_t i)
{
    if (v->dtype == SEMSEG_DTYPE_INT64) return ((const int64_t *)v->data)[i];
    if (v->dtype == SEMSEG_DTYPE_INT32) return ((const int32_t *)v->data)[i];
    return 0;
}
