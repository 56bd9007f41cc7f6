/*
 * swap.c - see swap.h.
 */
#include "engine/pipeline/swap.h"
#include "base/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct cr_swap {
    const struct cr_ruleset *rs;
    const struct cr_inventory *inv; /* the inventory the workers enrich with from here */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state; /* 0 offered, 1 applied, 2 cancelled */
    int acks_expected, acks;
    struct cr_swap_result res;
};

struct cr_swap *cr_swap_new(const struct cr_ruleset *rs)
{
    struct cr_swap *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->rs = rs;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    return s;
}

void cr_swap_free(struct cr_swap *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

const struct cr_ruleset *cr_swap_rules(const struct cr_swap *s) { return s->rs; }

void cr_swap_applied(struct cr_swap *s, uint64_t seq, int acks, const char *where)
{
    pthread_mutex_lock(&s->mu);
    s->state = 1;
    s->acks_expected = acks;
    s->res.applied = 1;
    s->res.seq = seq;
    snprintf(s->res.where, sizeof s->res.where, "%s", where ? where : "");
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void cr_swap_cancel(struct cr_swap *s)
{
    pthread_mutex_lock(&s->mu);
    s->state = 2;
    s->res.applied = 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void cr_swap_ack(struct cr_swap *s, uint64_t kept, uint64_t dropped)
{
    pthread_mutex_lock(&s->mu);
    s->acks++;
    s->res.states_kept += kept;
    s->res.states_dropped += dropped;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu); /* the owner may free s once this returns */
}

static int finished(const struct cr_swap *s)
{
    return s->state == 2 || (s->state == 1 && s->acks >= s->acks_expected);
}

int cr_swap_wait(struct cr_swap *s, int timeout_ms, struct cr_swap_result *out)
{
    struct timespec ts = cr_deadline_in(timeout_ms);
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    while (!finished(s) && rc == 0)
        rc = pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    int done = finished(s);
    if (done && out)
        *out = s->res;
    pthread_mutex_unlock(&s->mu);
    return done ? 0 : -1;
}

void cr_swap_set_inventory(struct cr_swap *s, const struct cr_inventory *inv) { s->inv = inv; }
const struct cr_inventory *cr_swap_inventory(const struct cr_swap *s) { return s->inv; }
