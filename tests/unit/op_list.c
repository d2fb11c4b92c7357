/* Prints every operator the runtime knows (domain, op), one per line: the
 * test check_op_table.py compares this with docs/operators.md so the
 * documented table cannot drift from the code. */
#include <stdio.h>

#include "opdef.h"

int main(void)
{
    const opdef *tables[] = { opdef_nn_table, opdef_tensor_table, opdef_semseg_table };
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const opdef *d = tables[t]; d->op; d++) printf("%s %s\n", d->domain[0] ? d->domain : "ai.onnx", d->op);
    return 0;
}
