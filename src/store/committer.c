/* SPDX-License-Identifier: MIT
 * committer.c - the writer thread, fed through a mutex-guarded FIFO of batches: each
 * round takes the whole FIFO, so everything that arrived during a commit goes into the
 * next one. */
#include "committer.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

struct sw_committer {
    struct sw_store *store;
    void (*notify)(void *arg);
    void *arg;
    pthread_t writer;
    pthread_mutex_t lock;
    pthread_cond_t wake_writer;
    struct sw_store_batch *head, *tail; /* queued batches, guarded by lock */
    int stopping;                       /* guarded by lock */
    atomic_int failing;
    atomic_uint_least64_t committed_seq;
    atomic_uint_least64_t batches, ops, commit_us;
};

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void commit_until_done(struct sw_committer *c, struct sw_store_batch *first,
                              uint64_t last_seq)
{
    int64_t backoff = 10;
    int64_t start = sw_clock_mono_us();
    size_t ops = 0;
    for (struct sw_store_batch *b = first; b; b = b->next)
        ops += b->len;
    for (;;) {
        int rc = c->store->ops->commit(c->store, first);
        if (rc == 0)
            break;
        atomic_store(&c->failing, 1);
        sw_log_error("store",
                     "msg=\"commit failed, retrying\" seq=%llu ops=%zu error=%s "
                     "retry_ms=%lld",
                     (unsigned long long)last_seq, ops, sw_strerror_code(rc), (long long)backoff);
        sleep_ms(backoff);
        backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
    }
    atomic_store(&c->failing, 0);
    atomic_fetch_add(&c->commit_us, (uint64_t)(sw_clock_mono_us() - start));
    atomic_fetch_add(&c->batches, 1);
    atomic_fetch_add(&c->ops, ops);
}

static void *writer_main(void *arg)
{
    struct sw_committer *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (c->head == NULL && !c->stopping)
            pthread_cond_wait(&c->wake_writer, &c->lock);
        struct sw_store_batch *first = c->head;
        if (first == NULL)
            break;
        uint64_t last_seq = c->tail->seq;
        c->head = c->tail = NULL;
        pthread_mutex_unlock(&c->lock);
        commit_until_done(c, first, last_seq);
        while (first) {
            struct sw_store_batch *next = first->next;
            sw_store_batch_free(first);
            first = next;
        }
        atomic_store(&c->committed_seq, last_seq);
        c->notify(c->arg);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int sw_committer_start(struct sw_committer **out, struct sw_store *store, void (*notify)(void *arg),
                       void *arg)
{
    struct sw_committer *c = sw_calloc(1, sizeof *c);
    if (c == NULL)
        return SW_ENOMEM;
    c->store = store;
    c->notify = notify;
    c->arg = arg;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake_writer, NULL);
    if (pthread_create(&c->writer, NULL, writer_main, c)) {
        sw_free(c);
        return SW_EIO;
    }
    *out = c;
    return 0;
}

void sw_committer_submit(struct sw_committer *c, struct sw_store_batch *b)
{
    b->next = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->tail)
        c->tail->next = b;
    else
        c->head = b;
    c->tail = b;
    pthread_cond_signal(&c->wake_writer);
    pthread_mutex_unlock(&c->lock);
}

uint64_t sw_committer_poll(struct sw_committer *c)
{
    return atomic_load(&c->committed_seq);
}

int sw_committer_failing(struct sw_committer *c)
{
    return atomic_load(&c->failing);
}

void sw_committer_stats(struct sw_committer *c, uint64_t *batches, uint64_t *ops,
                        uint64_t *commit_us_total)
{
    *batches = atomic_load(&c->batches);
    *ops = atomic_load(&c->ops);
    *commit_us_total = atomic_load(&c->commit_us);
}

void sw_committer_stop(struct sw_committer *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = 1;
    pthread_cond_broadcast(&c->wake_writer);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->writer, NULL);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake_writer);
    sw_free(c);
}
