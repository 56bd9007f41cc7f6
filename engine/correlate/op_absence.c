/*
 * op_absence.c - absence: a step 0 whose follow-up did not come before its
 * deadline, and the deadline heap entries it and count windows keep.
 */
#include "engine/correlate/correlate_int.h"

/* ---- absence ---- */

/* Deadline heap entries that point at state s (an absence or a count
 * window with an upper bound): in its last entry, so that the states of
 * other operators do not carry the field. While it is not 0 (s->heaped),
 * the state is not freed. */
uint32_t *corr_heap_count(const struct cr_correlator *c, struct state *s)
{
    return (uint32_t *)(void *)((struct stage *)payload(c, s) + c->cap[s->owner] - 1);
}

void corr_heap_push(struct cr_correlator *c, int64_t at, struct state *s)
{
    if (c->nheap == c->heap_cap) {
        c->heap_cap = c->heap_cap ? c->heap_cap * 2 : 64;
        c->heap = realloc(c->heap, c->heap_cap * sizeof *c->heap);
        if (!c->heap)
            abort();
    }
    size_t i = c->nheap++;
    while (i > 0 && c->heap[(i - 1) / 2].at > at) {
        c->heap[i] = c->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    c->heap[i] = (struct deadline){at, s};
    uint32_t *cnt = corr_heap_count(c, s);
    if ((*cnt)++ == 0)
        s->heaped = 1;
}

struct deadline corr_heap_pop(struct cr_correlator *c)
{
    struct deadline top = c->heap[0], last = c->heap[--c->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < c->nheap && c->heap[l].at < (m == i ? last.at : c->heap[m].at))
            m = l;
        if (r < c->nheap && c->heap[r].at < (m == i ? last.at : c->heap[m].at))
            m = r;
        if (m == i)
            break;
        c->heap[i] = c->heap[m];
        i = m;
    }
    if (c->nheap)
        c->heap[i] = last;
    uint32_t *cnt = corr_heap_count(c, top.s);
    if (--*cnt == 0)
        top.s->heaped = 0;
    return top;
}

/* Absence state: stages[0] = {start of the unanswered step 0, its deadline},
 * stages[1] = {its position, its input} for evidence, then the link id. */
void corr_apply_absent(struct cr_correlator *c, uint32_t k, int step, const char *key,
                       size_t keylen, int64_t t, const struct cr_match *m,
                       const struct cr_incident *from, struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    struct state *s = corr_lookup(c, (uint32_t)c->rs->nrules + k, key, keylen);
    struct stage *st = payload(c, s);
    char *link = (char *)&st[2];
    if (s->n == 0) {
        st[0].start = st[0].reached = INT64_MIN;
        link[0] = 0;
        s->n = 1;
    }
    if (t > s->last_ms)
        s->last_ms = t;
    corr_close_if_expired(c, s, t, extra);
    if (step == 1) {
        if (st[0].start != INT64_MIN && t >= st[0].start)
            st[0].start = INT64_MIN; /* answered in time (due deadlines fired before) */
        return;
    }
    if (st[0].start != INT64_MIN)
        return; /* already waiting: the first unanswered start sets the deadline */
    st[0].start = t;
    st[0].reached = t + co->timespan_ms;
    st[1].start = m ? (int64_t)m->position : -1;
    st[1].reached = m ? (int64_t)m->input : -1;
    snprintf(link, 33, "%s", from ? from->id : "");
    corr_heap_push(c, st[0].reached, s);
}
