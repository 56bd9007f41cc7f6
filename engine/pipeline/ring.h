/*
 * ring.h - bounded single-producer / single-consumer ring of fixed-size
 * elements, with blocking push and pop.
 *
 * This is the queue between pipeline threads (ingest -> worker, worker ->
 * shard). Elements are copied by value into slots, so nothing is allocated
 * per element. The fast path is two atomic loads and one release store; a
 * thread sleeps on a condition variable only when the ring is full (producer)
 * or empty (consumer), and the other side takes the mutex only when it sees
 * a sleeper. Bounded capacity is the backpressure: a full ring blocks its
 * producer, which in turn stops consuming its own input.
 *
 * Threading: exactly one producer thread and one consumer thread per ring.
 * cr_ring_close() may be called by the producer: the consumer then drains
 * what is left and gets 0.
 */
#ifndef CR_RING_H
#define CR_RING_H

#include <stddef.h>
#include <stdint.h>

struct cr_ring;

/* capacity is rounded up to a power of two. NULL on out-of-memory. */
struct cr_ring *cr_ring_new(size_t capacity, size_t elem_size);
void cr_ring_free(struct cr_ring *r);

/* Copy n elements in, blocking while full. */
void cr_ring_push(struct cr_ring *r, const void *elems, size_t n);
/* Copy up to max elements out, blocking while empty. Returns the number
 * copied (>= 1), or 0 if the ring is closed and empty. */
size_t cr_ring_pop(struct cr_ring *r, void *out, size_t max);
/* Non-blocking pop: returns 0 if empty. */
size_t cr_ring_try_pop(struct cr_ring *r, void *out, size_t max);
void cr_ring_close(struct cr_ring *r);
size_t cr_ring_size(const struct cr_ring *r);
size_t cr_ring_capacity(const struct cr_ring *r);

#endif
