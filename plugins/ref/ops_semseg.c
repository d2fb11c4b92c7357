/* The ai.semseg domain's operators in the ref plugin. */
#include "ref.h"

extern const ref_op ref_op_adaptive_avg_pool2d;

const ref_op *const ref_ops_semseg[] = {
    &ref_op_adaptive_avg_pool2d,
    NULL,
};
