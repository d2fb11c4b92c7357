/* The ai.semseg domain's operators in the ref plugin. */
#include "densecrf.h"
#include "ref.h"

extern const ref_op ref_op_adaptive_avg_pool2d;
extern const ref_op ref_op_densecrf;

const ref_op *const ref_ops_semseg[] = {
    &ref_op_adaptive_avg_pool2d,
    &ref_op_densecrf,
    NULL,
};

const ref_threaded ref_threaded_ops[] = {
    { &ref_op_densecrf, densecrf_set_threads },
    { NULL, NULL },
};
