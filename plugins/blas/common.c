/*
 * Helpers shared by the blas ops: error lines, a fork-join parallel loop on
 * pthreads, OpenBLAS's thread setting, dtype checks and the fused output pass
 * (bias + residual + Relu/Clip/HardSwish) that Conv, ConvTranspose and Gemm apply while
 * their output tile is still in cache.
 *
 * The parallel loop starts its threads per call rather than keeping a pool: a
 * thread start costs tens of microseconds, the loops it runs cost milliseconds,
 * and no pool means no state to share between sessions or to shut down.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <string.h>

#include <cblas.h>

#include "blas.h"

semseg_status blas_fail(char *err, semseg_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, SEMSEG_ERRMSG_SIZE, fmt, ap);
        va_end(ap);
    }
    return st;
}

#define BLAS_MAX_THREADS 64

/* Work is claimed in chunks of `grain` items from a shared counter rather
 * than split up front: on a machine shared with other processes a thread is
 * often descheduled for a while, and a static split would make the whole op
 * wait for it. For the same reason the caller waits only until every item is
 * done, not for the helper threads to exit: a helper that the scheduler
 * starts late finds no work left and leaves on its own (threads are
 * detached; the loop record is freed by whoever leaves it last). */
typedef struct blas_loop {
    blas_task_fn fn;
    void *arg;
    int64_t n, grain;
    atomic_llong next;       /* first unclaimed item */
    atomic_llong done;       /* items finished */
    atomic_int refs;         /* caller + started helpers still using the record */
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* signalled when done reaches n */
} blas_loop;

typedef struct blas_helper {
    blas_loop *loop;
    int id;
} blas_helper;

static void blas_loop_release(blas_loop *l)
{
    if (atomic_fetch_sub(&l->refs, 1) == 1) {
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->cv);
        free(l);
    }
}

static void blas_loop_work(blas_loop *l, int id)
{
    for (;;) {
        int64_t b = (int64_t)atomic_fetch_add(&l->next, l->grain);
        if (b >= l->n) return;
        int64_t e = b + l->grain < l->n ? b + l->grain : l->n;
        l->fn(l->arg, b, e, id);
        if ((int64_t)atomic_fetch_add(&l->done, e - b) + (e - b) == l->n) {
            pthread_mutex_lock(&l->mu);
            pthread_cond_signal(&l->cv);
            pthread_mutex_unlock(&l->mu);
        }
    }
}

static void *blas_helper_main(void *p)
{
    blas_helper h = *(blas_helper *)p;
    free(p);
    blas_loop_work(h.loop, h.id);
    blas_loop_release(h.loop);
    return NULL;
}

void blas_parallel_for(int threads, int64_t n, int64_t grain, blas_task_fn fn, void *arg)
{
    if (n <= 0) return;
    if (threads > BLAS_MAX_THREADS) threads = BLAS_MAX_THREADS;
    if (grain <= 0) grain = n / ((int64_t)threads * 8);
    if (grain < 1) grain = 1;
    if (threads > (n + grain - 1) / grain) threads = (int)((n + grain - 1) / grain);
    blas_loop *l = threads > 1 ? malloc(sizeof *l) : NULL;
    if (!l || pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l);
        fn(arg, 0, n, 0);
        return;
    }
    if (pthread_cond_init(&l->cv, NULL) != 0) {
        pthread_mutex_destroy(&l->mu);
        free(l);
        fn(arg, 0, n, 0);
        return;
    }
    l->fn = fn;
    l->arg = arg;
    l->n = n;
    l->grain = grain;
    atomic_init(&l->next, 0);
    atomic_init(&l->done, 0);
    atomic_init(&l->refs, 1);
    for (int t = 1; t < threads; t++) {
        blas_helper *h = malloc(sizeof *h);
        if (!h) break;
        *h = (blas_helper){ l, t };
        atomic_fetch_add(&l->refs, 1);
        pthread_t tid;
        pthread_attr_t attr;
        int ok = pthread_attr_init(&attr) == 0;
        ok = ok && pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0;
        ok = ok && pthread_create(&tid, &attr, blas_helper_main, h) == 0;
        pthread_attr_destroy(&attr);
        if (!ok) {   /* the others do its share */
            atomic_fetch_sub(&l->refs, 1);
            free(h);
            break;
        }
    }
    blas_loop_work(l, 0);
    pthread_mutex_lock(&l->mu);
    while ((int64_t)atomic_load(&l->done) < n) pthread_cond_wait(&l->cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    blas_loop_release(l);
}

void blas_gemm_threads(int threads)
{
    if (threads < 1) threads = 1;
    if (openblas_get_num_threads() != threads) openblas_set_num_threads(threads);
}

int blas_all_float(const semseg_node_info *n, int rank)
{
    for (int32_t i = 0; i < n->n_inputs; i++) {
        if (!semseg_input_present(n, i)) continue;
        if (n->inputs[i].dtype != SEMSEG_DTYPE_FLOAT) return 0;
    }
    for (int32_t i = 0; i < n->n_outputs; i++) {
        if (n->outputs[i].dtype != SEMSEG_DTYPE_FLOAT) return 0;
        if (rank >= 0 && n->outputs[i].rank != rank) return 0;
    }
    return 1;
}

int blas_epilogue_from_node(const semseg_node_info *n, int first_free_input, blas_epilogue *e)
{
    *e = (blas_epilogue){ SEMSEG_ACT_NONE, 0.0f, 0.0f, -1 };
    const semseg_epilogue *p = n->epilogue;
    if (!p) return 0;
    if (p->act != SEMSEG_ACT_NONE && p->act != SEMSEG_ACT_RELU && p->act != SEMSEG_ACT_CLIP &&
        p->act != SEMSEG_ACT_HARDSWISH)
        return 0;
    if (p->residual >= 0) {
        if (p->residual < first_free_input || p->residual >= n->n_inputs) return 0;
        const semseg_value_info *r = &n->inputs[p->residual];
        const semseg_value_info *y = &n->outputs[0];
        if (r->dtype != SEMSEG_DTYPE_FLOAT || r->rank != y->rank) return 0;
        for (int i = 0; i < r->rank; i++)
            if (r->dims[i] != y->dims[i]) return 0;
    }
    e->act = p->act;
    e->lo = p->act_min;
    e->hi = p->act_max;
    e->residual = p->residual;
    return 1;
}

/* One row of the epilogue in one pass; inlined below with act constant, so
 * each copy is a plain loop the compiler vectorises. */
static inline void epi_loop(int act, float lo, float hi, float *y, int64_t n, float bv, const float *r)
{
    if (r)
        for (int64_t c = 0; c < n; c++) y[c] = blas_act(act, y[c] + (bv + r[c]), lo, hi);
    else
        for (int64_t c = 0; c < n; c++) y[c] = blas_act(act, y[c] + bv, lo, hi);
}

BLAS_HOT static void epi_row(int act, float lo, float hi, float *y, int64_t n, const float *b, const float *r)
{
    const float bv = b ? *b : 0.0f;
    switch (act) {
    case SEMSEG_ACT_RELU: epi_loop(SEMSEG_ACT_RELU, lo, hi, y, n, bv, r); break;
    case SEMSEG_ACT_CLIP: epi_loop(SEMSEG_ACT_CLIP, lo, hi, y, n, bv, r); break;
    case SEMSEG_ACT_HARDSWISH: epi_loop(SEMSEG_ACT_HARDSWISH, lo, hi, y, n, bv, r); break;
    default: epi_loop(SEMSEG_ACT_NONE, lo, hi, y, n, bv, r); break;
    }
}

void blas_epilogue_apply(const blas_epilogue *e, float *y, int64_t ldy, int64_t rows,
                         int64_t cols, const float *bias, const float *res, int64_t ldr)
{
    if (res == y) res = NULL;
    if (!bias && !res && e->act == SEMSEG_ACT_NONE) return;
    for (int64_t r = 0; r < rows; r++)
        epi_row(e->act, e->lo, e->hi, y + r * ldy, cols, bias ? bias + r : NULL, res ? res + r * ldr : NULL);
}

float *blas_copy_floats(const void *src, int64_t n)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (p && n > 0) memcpy(p, src, (size_t)n * sizeof(float));
    return p;
}
