/*
 * ring.c - see ring.h.
 *
 * Sleeping without lost wake-ups: a thread that finds the ring unusable
 * announces itself (`sleepers`, seq_cst) under the mutex, re-checks the
 * ring, and only then waits. The other side publishes its index (seq_cst)
 * and then reads `sleepers`; if anyone announced, it takes the mutex and
 * broadcasts. Either the sleeper's re-check sees the new index or the
 * publisher sees the sleeper: the two seq_cst operations cannot both miss.
 * The timed wait is a second line of defence, not the mechanism.
 */
#include "engine/pipeline/ring.h"
#include "base/clock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cr_ring {
    _Alignas(64) _Atomic size_t head; /* next slot to write; written by the producer */
    _Alignas(64) _Atomic size_t tail; /* next slot to read; written by the consumer */
    _Alignas(64) size_t mask;
    size_t elem;
    char *slots;
    _Atomic int sleepers;
    _Atomic int closed;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

struct cr_ring *cr_ring_new(size_t capacity, size_t elem_size)
{
    size_t cap = 2;
    while (cap < capacity)
        cap <<= 1;
    struct cr_ring *r = aligned_alloc(64, sizeof(struct cr_ring));
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->slots = malloc(cap * elem_size);
    if (!r->slots) {
        free(r);
        return NULL;
    }
    r->mask = cap - 1;
    r->elem = elem_size;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    return r;
}

void cr_ring_free(struct cr_ring *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r->slots);
    free(r);
}

static void wake(struct cr_ring *r)
{
    if (atomic_load(&r->sleepers)) {
        pthread_mutex_lock(&r->mu);
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
}

/* Sleep until ready(r) is true; ready is re-checked after announcing. */
static void sleep_until(struct cr_ring *r, int (*ready)(struct cr_ring *))
{
    pthread_mutex_lock(&r->mu);
    atomic_fetch_add(&r->sleepers, 1);
    while (!ready(r)) {
        struct timespec ts = cr_deadline_in(10);
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    atomic_fetch_sub(&r->sleepers, 1);
    pthread_mutex_unlock(&r->mu);
}

static int has_space(struct cr_ring *r)
{
    return atomic_load(&r->head) - atomic_load(&r->tail) <= r->mask;
}

static int has_data_or_closed(struct cr_ring *r)
{
    return atomic_load(&r->head) != atomic_load(&r->tail) || atomic_load(&r->closed);
}

void cr_ring_push(struct cr_ring *r, const void *elems, size_t n)
{
    const char *src = elems;
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    while (n > 0) {
        size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        size_t space = r->mask + 1 - (head - tail);
        if (space == 0) {
            for (int spin = 0; spin < 64 && !has_space(r); spin++)
                ;
            if (!has_space(r))
                sleep_until(r, has_space);
            continue;
        }
        size_t k = n < space ? n : space;
        for (size_t i = 0; i < k; i++) {
            memcpy(r->slots + ((head + i) & r->mask) * r->elem, src, r->elem);
            src += r->elem;
        }
        head += k;
        n -= k;
        atomic_store(&r->head, head); /* seq_cst: pairs with the sleeper's announce */
        wake(r);
    }
}

size_t cr_ring_try_pop(struct cr_ring *r, void *out, size_t max)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t avail = head - tail;
    if (avail == 0)
        return 0;
    size_t k = avail < max ? avail : max;
    char *dst = out;
    for (size_t i = 0; i < k; i++) {
        memcpy(dst, r->slots + ((tail + i) & r->mask) * r->elem, r->elem);
        dst += r->elem;
    }
    atomic_store(&r->tail, tail + k);
    wake(r);
    return k;
}

size_t cr_ring_pop(struct cr_ring *r, void *out, size_t max)
{
    for (;;) {
        size_t k = cr_ring_try_pop(r, out, max);
        if (k)
            return k;
        if (atomic_load(&r->closed)) {
            /* the producer may have pushed right before closing */
            return cr_ring_try_pop(r, out, max);
        }
        for (int spin = 0; spin < 64 && !has_data_or_closed(r); spin++)
            ;
        if (!has_data_or_closed(r))
            sleep_until(r, has_data_or_closed);
    }
}

void cr_ring_close(struct cr_ring *r)
{
    atomic_store(&r->closed, 1);
    pthread_mutex_lock(&r->mu);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

size_t cr_ring_size(const struct cr_ring *r)
{
    return atomic_load(&((struct cr_ring *)r)->head) - atomic_load(&((struct cr_ring *)r)->tail);
}

size_t cr_ring_capacity(const struct cr_ring *r) { return r->mask + 1; }
