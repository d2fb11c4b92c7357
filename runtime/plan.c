/*
 * Offset assignment: slots are placed largest first, each at the lowest
 * aligned offset that overlaps no already placed slot whose lifetime overlaps
 * its own ("greedy by size", as TFLite's and ncnn's planners do). In-place
 * slots inherit their target's offset; their target's life is extended to
 * cover them first, so the union is planned as one interval.
 */
#include <stdlib.h>

#include "plan.h"

static size_t align_up(size_t x)
{
    return (x + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
}

static int32_t root(const plan_slot *s, int32_t i)
{
    while (s[i].alias >= 0) i = s[i].alias;
    return i;
}

static int by_size_desc(const void *a, const void *b)
{
    const plan_slot *x = *(const plan_slot *const *)a, *y = *(const plan_slot *const *)b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->first - y->first;
}

int plan_assign(plan_slot *slots, int32_t n, int32_t n_kinds, size_t *arena_bytes)
{
    for (int32_t k = 0; k < n_kinds; k++) arena_bytes[k] = 0;
    /* merge in-place chains into their roots */
    for (int32_t i = 0; i < n; i++) {
        if (slots[i].alias < 0) continue;
        int32_t r = root(slots, i);
        if (slots[i].first < slots[r].first) slots[r].first = slots[i].first;
        if (slots[i].last > slots[r].last) slots[r].last = slots[i].last;
        if (slots[i].bytes > slots[r].bytes) slots[r].bytes = slots[i].bytes;
    }
    plan_slot **order = malloc(sizeof *order * (size_t)(n + 1));
    plan_slot **placed = malloc(sizeof *placed * (size_t)(n + 1));
    if (!order || !placed) {
        free(order);
        free(placed);
        return -1;
    }
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++)
        if (slots[i].alias < 0 && !slots[i].external) order[m++] = &slots[i];
    qsort(order, (size_t)m, sizeof *order, by_size_desc);
    int32_t n_placed = 0;
    for (int32_t i = 0; i < m; i++) {
        plan_slot *s = order[i];
        size_t need = align_up(s->bytes ? s->bytes : 1);
        size_t off = 0;
        /* scan placed, overlapping-in-time slots by increasing offset: repeat until no clash */
        for (int moved = 1; moved;) {
            moved = 0;
            for (int32_t j = 0; j < n_placed; j++) {
                const plan_slot *p = placed[j];
                if (p->kind != s->kind || p->last < s->first || s->last < p->first) continue;
                size_t pend = p->offset + align_up(p->bytes ? p->bytes : 1);
                if (off < pend && p->offset < off + need) {
                    off = pend;
                    moved = 1;
                }
            }
        }
        s->offset = off;
        placed[n_placed++] = s;
        if (off + need > arena_bytes[s->kind]) arena_bytes[s->kind] = off + need;
    }
    for (int32_t i = 0; i < n; i++)
        if (slots[i].alias >= 0) slots[i].offset = slots[root(slots, i)].offset;
    free(order);
    free(placed);
    return 0;
}
