/*
 * Memory planner. A slot is one tensor's buffer in one memory kind (host = 0,
 * each plugin with its own memory another kind), alive from the step that
 * writes it to the last step that reads it. Slots of one kind share an arena;
 * a slot's offset may be reused once its life has ended. External slots (graph
 * inputs and outputs, constants) live outside the arenas and are never reused.
 * An in-place slot (alias >= 0) takes the memory of the slot it aliases.
 */
#ifndef SEMSEG_PLAN_H
#define SEMSEG_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define PLAN_ALIGN 256 /* byte alignment of every slot (OpenCL base-address friendly) */

typedef struct plan_slot {
    int32_t value;     /* IR value, or -1 for a scratch buffer */
    int32_t kind;      /* memory kind */
    size_t bytes;
    int32_t first;     /* step that writes it (-1: before the first step) */
    int32_t last;      /* last step that reads it */
    int32_t alias;     /* slot whose memory this one reuses in place, or -1 */
    int32_t external;  /* 1: not in an arena */
    size_t offset;     /* in the kind's arena, set by plan_assign */
} plan_slot;

/* Assigns offsets; arena_bytes[kind] receives each kind's arena size.
 * Returns 0, or -1 on OOM. */
int plan_assign(plan_slot *slots, int32_t n, int32_t n_kinds, size_t *arena_bytes);

#endif
