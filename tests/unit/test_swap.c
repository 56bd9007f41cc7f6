/*
 * test_swap.c - one rules swap in flight (engine/pipeline/swap.h), without
 * a pipeline: the owner waits until every worker and shard acknowledged
 * (threads here stand in for them), sees the shards' kept and dropped
 * states summed, and is released by a cancel when the run ends first.
 */
#include "engine/pipeline/swap.h"

#include <criterion/criterion.h>
#include <pthread.h>

/* The swap only carries its ruleset (borrowed): any address stands for one. */
static char some_rules;
#define RULES ((const struct cr_ruleset *)(const void *)&some_rules)

struct acker {
    struct cr_swap *sw;
    uint64_t kept, dropped;
};

static void *ack_main(void *arg)
{
    struct acker *a = arg;
    cr_swap_ack(a->sw, a->kept, a->dropped);
    return NULL;
}

Test(swap, the_owner_waits_for_every_thread_and_sees_the_states_summed)
{
    const struct cr_ruleset *rs = RULES;
    struct cr_swap *sw = cr_swap_new(rs);
    cr_assert_not_null(sw);
    cr_assert_eq(cr_swap_rules(sw), rs);
    /* two workers (nothing to keep) and three shards */
    cr_swap_applied(sw, 42, 5, "in:1000");
    struct acker a[5] = {{sw, 0, 0}, {sw, 0, 0}, {sw, 10, 1}, {sw, 20, 2}, {sw, 30, 3}};
    pthread_t t[5];
    for (int i = 0; i < 5; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, ack_main, &a[i]), 0);
    struct cr_swap_result r;
    cr_assert_eq(cr_swap_wait(sw, 60000, &r), 0);
    for (int i = 0; i < 5; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(r.applied, 1);
    cr_assert_eq(r.seq, 42);
    cr_assert_str_eq(r.where, "in:1000");
    cr_assert_eq(r.states_kept, 60);
    cr_assert_eq(r.states_dropped, 6);
    cr_swap_free(sw);
}

Test(swap, one_thread_short_is_not_finished)
{
    const struct cr_ruleset *rs = RULES;
    struct cr_swap *sw = cr_swap_new(rs);
    cr_swap_applied(sw, 7, 3, "");
    cr_swap_ack(sw, 1, 0);
    cr_swap_ack(sw, 1, 0);
    struct cr_swap_result r;
    cr_assert_eq(cr_swap_wait(sw, 50, &r), -1, "the third thread never answered");
    cr_swap_ack(sw, 1, 0);
    cr_assert_eq(cr_swap_wait(sw, 60000, &r), 0);
    cr_assert_eq(r.states_kept, 3);
    cr_swap_free(sw);
}

static void *cancel_main(void *arg)
{
    cr_swap_cancel(arg);
    return NULL;
}

Test(swap, a_run_that_ends_first_cancels_and_releases_the_owner)
{
    const struct cr_ruleset *rs = RULES;
    struct cr_swap *sw = cr_swap_new(rs);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, cancel_main, sw), 0);
    struct cr_swap_result r;
    cr_assert_eq(cr_swap_wait(sw, 60000, &r), 0);
    pthread_join(t, NULL);
    cr_assert_eq(r.applied, 0, "never placed: the rules were never used");
    cr_swap_free(sw);
}
