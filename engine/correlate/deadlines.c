/*
 * deadlines.c - firing what the event-time watermark passed: absence
 * deadlines and count windows with an upper bound.
 */
#include "engine/correlate/correlate_int.h"

/* Fire every absence and count window whose deadline the event-time
 * watermark has passed. */
void corr_fire_due(struct cr_correlator *c)
{
    while (c->nheap && c->heap[0].at < c->watermark) {
        struct deadline d = corr_heap_pop(c);
        struct state *s = d.s;
        uint32_t k = s->owner - (uint32_t)c->rs->nrules;
        if (c->rs->corrs[k].type == CR_CORR_EVENT_COUNT) {
            corr_fire_window(c, s, d.at);
            continue;
        }
        struct stage *st = payload(c, s);
        if (st[0].start == INT64_MIN || st[0].reached != d.at)
            continue; /* answered, or replaced: a stale entry */
        const struct cr_correlation *co = &c->rs->corrs[k];
        int64_t start = st[0].start, ofor = corr_open_for(&co->incident, co->timespan_ms);
        st[0].start = INT64_MIN;
        corr_mark_changed(c, s);
        struct cr_incident *open = corr_close_if_expired(c, s, d.at, &c->extra);
        if (open) {
            corr_update_incident(c, s, open, NULL, d.at, ofor);
        } else {
            struct cr_incident *inc = corr_new_incident(c, co->id, co->title, &co->incident,
                                                        co->group_by, co->ngroup_by, s, start);
            inc->first_seen_ms = start;
            inc->last_seen_ms = d.at;
            inc->event_count = 1;
            if (st[1].start >= 0)
                cr_incident_add_ref(inc, (uint32_t)st[1].reached, (uint64_t)st[1].start, start);
            char a[32];
            cr_time_format(start, a, sizeof a);
            const struct cr_input_ref *s0 = &co->steps[0], *s1 = &co->steps[1];
            cr_incident_add_reason(
                inc, "%s at %s, no %s within %llds",
                s0->is_correlation ? c->rs->corrs[s0->index].id : c->rs->rules[s0->index].id, a,
                s1->is_correlation ? c->rs->corrs[s1->index].id : c->rs->rules[s1->index].id,
                (long long)(co->timespan_ms / 1000));
            const char *link = (const char *)&st[2];
            if (link[0])
                cr_incident_add_reason(inc, "follows incident %s", link);
            corr_open_incident(c, s, inc, d.at + ofor);
        }
        if (s->last_ms < d.at)
            s->last_ms = d.at;
        c->cur_tenant = state_tenant(c, s);
        corr_chain(c, k, state_key(c, s), s->keylen, d.at, open_get(c, s), 0);
    }
}
