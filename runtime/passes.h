/*
 * Graph passes run once the input dims are known, in this order:
 *   passes_remove_identity   Identity/Dropout (inference) bypassed
 *   passes_infer_fold        shape/type inference of every node in topological
 *                            order; a node whose inputs are all constants (or
 *                            that reads only dims, like Shape) is evaluated by
 *                            the ref plugin right away, so the Shape→Gather→
 *                            Concat→...→Resize chains PyTorch writes fold away
 *   passes_fold_batchnorm    Conv followed by BatchNormalization -> one Conv
 *   passes_fuse_hardswish    Mul(x, HardSigmoid(x; 1/6, 0.5)) -> HardSwish(x)
 *   passes_mark_fusion       proposals
 *                            Conv -> [Add residual] -> [Relu|Clip|HardSwish]
 * Each pass leaves dead nodes behind; ir_toposort drops them.
 */
#ifndef SEMSEG_PASSES_H
#define SEMSEG_PASSES_H

#include "host.h"
#include "ir.h"

/* Load-time check that the runtime knows every op (before any dims are known). */
semseg_status passes_check_ops(const ir_graph *g, char *err);
void passes_remove_identity(ir_graph *g);
/* max_elements caps every graph input and every inferred tensor (0: the
 * default SEMSEG_DEFAULT_MAX_TENSOR_ELEMENTS), so a hostile file cannot make
 * folding or planning allocate more than the user allowed. */
semseg_status passes_infer_fold(ir_graph *g, host_plugin *ref, int64_t max_elements, char *err);
semseg_status passes_fold_batchnorm(ir_graph *g, char *err);
/* HardSigmoid(x; alpha (float)(1/6), beta 0.5) whose only reader is
 * Mul(x, it), either operand order, becomes one HardSwish(x) node: PyTorch
 * exports hardswish that way below opset 14. The Mul node is rewritten in
 * place (its output keeps its value); the HardSigmoid dies. float32 only. */
void passes_fuse_hardswish(ir_graph *g);
void passes_mark_fusion(ir_graph *g);

/* Number of live nodes reading each value (+1 for graph outputs); malloc'd. */
int32_t *passes_use_counts(const ir_graph *g);

#endif
