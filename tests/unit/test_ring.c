/*
 * test_ring.c - the SPSC ring: order, blocking when full/empty, close.
 */
#include "engine/pipeline/ring.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>

Test(ring, fifo_order_and_capacity)
{
    struct cr_ring *r = cr_ring_new(5, sizeof(uint64_t));
    cr_assert_eq(cr_ring_capacity(r), 8);
    uint64_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8] = {0};
    cr_ring_push(r, in, 8);
    cr_assert_eq(cr_ring_size(r), 8);
    cr_assert_eq(cr_ring_try_pop(r, out, 3), 3);
    cr_assert_eq(out[0], 1);
    cr_assert_eq(out[2], 3);
    cr_assert_eq(cr_ring_pop(r, out, 8), 5);
    cr_assert_eq(out[4], 8);
    cr_assert_eq(cr_ring_try_pop(r, out, 1), 0);
    cr_ring_free(r);
}

struct prod {
    struct cr_ring *r;
    uint64_t n;
};

static void *producer(void *arg)
{
    struct prod *p = arg;
    for (uint64_t i = 0; i < p->n; i++)
        cr_ring_push(p->r, &i, 1);
    cr_ring_close(p->r);
    return NULL;
}

/* A small ring forces both sides to sleep and wake many times; every value
 * must arrive once and in order, and close must end the consumer. */
Test(ring, blocking_transfer_in_order)
{
    struct cr_ring *r = cr_ring_new(4, sizeof(uint64_t));
    struct prod p = {r, 200000};
    pthread_t t;
    pthread_create(&t, NULL, producer, &p);
    uint64_t expect = 0, buf[3];
    size_t k;
    while ((k = cr_ring_pop(r, buf, 3)) > 0)
        for (size_t i = 0; i < k; i++)
            cr_assert_eq(buf[i], expect++, "got %lu expected %lu", (unsigned long)buf[i],
                         (unsigned long)expect);
    pthread_join(t, NULL);
    cr_assert_eq(expect, p.n);
    cr_ring_free(r);
}

Test(ring, close_drains_then_ends)
{
    struct cr_ring *r = cr_ring_new(8, sizeof(int));
    int v = 42, out = 0;
    cr_ring_push(r, &v, 1);
    cr_ring_close(r);
    cr_assert_eq(cr_ring_pop(r, &out, 1), 1);
    cr_assert_eq(out, 42);
    cr_assert_eq(cr_ring_pop(r, &out, 1), 0);
    cr_ring_free(r);
}
