/*
 * op_count.c - event_count: the last N matches per key, and windows with an
 * upper bound anchored at their first match (fired by the deadline heap).
 */
#include "engine/correlate/correlate_int.h"

/* The start every counting operator shares, for state s, whose `have`
 * entries are unpacked in e: note the event time, forget an incident that
 * has closed. If one is still open, the match updates it (and the
 * correlations chained to it) and there is nothing left to count: returns
 * 0. */
int corr_count_begin(struct cr_correlator *c, uint32_t k, struct state *s, const struct cr_match *m,
                     struct cr_version **extra, const void *e, uint32_t have)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t t = m->time_ms, before = s->last_ms;
    if (t > s->last_ms)
        s->last_ms = t;
    struct cr_incident *open = corr_close_if_expired(c, s, t, extra);
    if (!open)
        return 1;
    if (have && s->last_ms != before)
        corr_entries_store(c, s, e, have); /* packed relative to last_ms */
    corr_update_incident(c, s, open, m, t, corr_open_for(&co->incident, co->timespan_ms));
    corr_chain(c, k, m->key, m->key_len, t, open, 0);
    return 0;
}

void corr_apply_count(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                      struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    if (co->windowed) {
        corr_apply_window(c, k, m);
        return;
    }
    uint32_t n = corr_cap(co);
    int64_t ofor = corr_open_for(&co->incident, co->timespan_ms);
    int64_t t = m->time_ms;
    struct state *s = corr_lookup(c, (uint32_t)c->rs->nrules + k, m->key, m->key_len);
    struct evref *ring = corr_scratch(c, (size_t)s->n + 1);
    uint32_t have = corr_ring_load(c, s, ring);
    if (!corr_count_begin(c, k, s, m, extra, ring, have))
        return;
    /* insert (t, ref) keeping the ring sorted by time; a full ring drops
     * its oldest entry, which can no longer be part of a newer window of N */
    struct evref e = evref_make(t, m->position, m->input);
    if (have == n) {
        if (t < ring[0].t)
            return; /* older than all N kept: cannot complete a window with them */
        memmove(ring, ring + 1, (size_t)(n - 1) * sizeof *ring);
        have--;
    }
    uint32_t pos = have;
    while (pos > 0 && ring[pos - 1].t > t) {
        ring[pos] = ring[pos - 1];
        pos--;
    }
    ring[pos] = e;
    have++;
    /* written so that a forged time (INT64_MIN, from a corrupt checkpoint)
     * cannot overflow: the newest is at least this match's time */
    if (have < n || ring[0].t < ring[n - 1].t - co->timespan_ms) {
        /* an entry more than timespan older than the newest can never share
         * a window with it, nor with anything newer: dropping it changes no
         * outcome (the newest stays) */
        uint32_t d = 0;
        while (d + 1 < have && ring[d].t < ring[have - 1].t - co->timespan_ms)
            d++;
        if (d) {
            memmove(ring, ring + d, (size_t)(have - d) * sizeof *ring);
            have -= d;
        }
        corr_ring_store(c, s, ring, have);
        return;
    }

    struct cr_incident *inc = corr_new_incident(c, co->id, co->title, &co->incident, co->group_by,
                                                co->ngroup_by, s, ring[0].t);
    inc->first_seen_ms = ring[0].t;
    inc->last_seen_ms = ring[n - 1].t;
    inc->event_count = n;
    for (uint32_t i = 0; i < n; i++)
        cr_incident_add_ref(inc, evref_input(&ring[i]), evref_pos(&ring[i]), ring[i].t);
    corr_note_match(c, inc, m);
    char span[32];
    int64_t secs = (ring[n - 1].t - ring[0].t) / 1000;
    snprintf(span, sizeof span, "%llds", (long long)secs);
    cr_incident_add_reason(inc, "%u matches of %s within %s (threshold: >= %u in %llds)", n,
                           co->nsteps == 1 ? c->rs->rules[co->steps[0].index].id : "its rules",
                           span, n, (long long)(co->timespan_ms / 1000));
    corr_ring_store(c, s, ring, 0); /* the threshold restarts once it fired */
    corr_open_incident(c, s, inc, inc->last_seen_ms + ofor);
    corr_chain(c, k, m->key, m->key_len, t, inc, 0);
}

/* ---- event_count with an upper bound: anchored windows ---- */

/* The condition as text, for reasons: ">= 5", "<= 2", "== 3", ">= 3 and <= 10". */
static void condition_text(const struct cr_correlation *co, char *buf, size_t len)
{
    if (co->lte == UINT32_MAX)
        snprintf(buf, len, ">= %u", co->gte);
    else if (co->gte == co->lte)
        snprintf(buf, len, "== %u", co->gte);
    else if (co->gte <= 1)
        snprintf(buf, len, "<= %u", co->lte);
    else
        snprintf(buf, len, ">= %u and <= %u", co->gte, co->lte);
}

/* A count with an upper bound is only known once its window has ended, so
 * the window cannot slide: it opens at the key's first match (after the
 * previous window), ends timespan later, and is decided when the event-time
 * watermark passes its end (the deadline heap, as for absence). A match
 * older than the open window's start, or one for a window already decided,
 * is not counted. */
void corr_apply_window(struct cr_correlator *c, uint32_t k, const struct cr_match *m)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t t = m->time_ms;
    struct state *s = corr_lookup(c, (uint32_t)c->rs->nrules + k, m->key, m->key_len);
    struct cwindow *w = payload(c, s);
    struct evref *refs = (struct evref *)payload(c, s) + WINDOW_HEAD;
    if (t > s->last_ms)
        s->last_ms = t;
    if (s->n == 0) {
        if (w->end && t <= w->end)
            return; /* late: its window was decided already */
        w->start = w->last = t;
        w->end = t + co->timespan_ms;
        w->count = 0;
        s->n = (uint32_t)WINDOW_HEAD;
        corr_heap_push(c, w->end, s);
    }
    if (t < w->start || t > w->end)
        return;
    w->count++;
    if (t > w->last)
        w->last = t;
    if (s->n < c->cap[s->owner] - 1) { /* the last entry is the deadline count */
        refs[s->n - WINDOW_HEAD] = evref_make(t, m->position, m->input);
        s->n++;
    }
}

/* The watermark passed the end of state s's window (deadline `at`). */
void corr_fire_window(struct cr_correlator *c, struct state *s, int64_t at)
{
    uint32_t k = s->owner - (uint32_t)c->rs->nrules;
    const struct cr_correlation *co = &c->rs->corrs[k];
    struct cwindow *w = payload(c, s);
    const struct evref *refs = (const struct evref *)payload(c, s) + WINDOW_HEAD;
    if (s->n == 0 || w->end != at)
        return; /* stale entry: the window was dropped */
    uint32_t nref = s->n - (uint32_t)WINDOW_HEAD;
    s->n = 0;
    corr_mark_changed(c, s);
    if (s->last_ms < at)
        s->last_ms = at;
    if (w->count < co->gte || w->count > co->lte)
        return;
    int64_t ofor = corr_open_for(&co->incident, co->timespan_ms);
    struct cr_incident *open = corr_close_if_expired(c, s, at, &c->extra);
    if (open) {
        struct cr_incident *inc = open;
        for (uint32_t i = 0; i < nref; i++)
            cr_incident_add_ref(inc, evref_input(&refs[i]), evref_pos(&refs[i]), refs[i].t);
        inc->event_count += w->count;
        if (w->last > inc->last_seen_ms)
            inc->last_seen_ms = w->last;
        if (at + ofor > meta(inc)->until)
            meta(inc)->until = at + ofor;
        c->stats.incident_updates++;
        corr_mark_dirty(c, s);
    } else {
        struct cr_incident *inc = corr_new_incident(c, co->id, co->title, &co->incident,
                                                    co->group_by, co->ngroup_by, s, w->start);
        inc->first_seen_ms = w->start;
        inc->last_seen_ms = w->last;
        inc->event_count = w->count;
        for (uint32_t i = 0; i < nref; i++)
            cr_incident_add_ref(inc, evref_input(&refs[i]), evref_pos(&refs[i]), refs[i].t);
        char cond[48], a[32];
        condition_text(co, cond, sizeof cond);
        cr_time_format(w->start, a, sizeof a);
        cr_incident_add_reason(inc,
                               "%llu matches of %s in the %llds window from %s (condition: %s)",
                               (unsigned long long)w->count,
                               co->nsteps == 1 ? c->rs->rules[co->steps[0].index].id : "its rules",
                               (long long)(co->timespan_ms / 1000), a, cond);
        corr_open_incident(c, s, inc, at + ofor);
    }
    c->cur_tenant = state_tenant(c, s); /* what it chains to belongs to the same tenant */
    corr_chain(c, k, state_key(c, s), s->keylen, at, open_get(c, s), 0);
}
