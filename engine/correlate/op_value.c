/*
 * op_value.c - value_count (N distinct values in a window) and new_value (a
 * value the key has not shown within its history).
 */
#include "engine/correlate/correlate_int.h"

/* ---- value_count ---- */

/* N distinct values of a field per key within the window. The state keeps,
 * for up to N distinct values, the latest time each was seen: if N distinct
 * values fall in a window, the N most recently seen ones do. */
void corr_apply_value(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                      struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    uint32_t n = corr_cap(co);
    int64_t ofor = corr_open_for(&co->incident, co->timespan_ms);
    int64_t t = m->time_ms;
    struct state *s = corr_lookup(c, (uint32_t)c->rs->nrules + k, m->key, m->key_len);
    struct vref *vr = corr_scratch(c, (size_t)s->n + 1);
    uint32_t have = corr_vals_load(c, s, vr);
    if (!corr_count_begin(c, k, s, m, extra, vr, have))
        return;
    uint32_t i, oldest = 0;
    for (i = 0; i < have && vr[i].v != m->value; i++)
        if (vr[i].t < vr[oldest].t)
            oldest = i;
    if (i < have) {
        if (t > vr[i].t)
            vr[i].t = t;
    } else if (have < n) {
        vr[have++] = (struct vref){m->value, t};
    } else if (t > vr[oldest].t) {
        vr[oldest] = (struct vref){m->value, t};
    } else
        return; /* older than every value kept: it cannot complete a newer window */
    int64_t newest = INT64_MIN, first = INT64_MAX;
    for (i = 0; i < have; i++)
        if (vr[i].t > newest)
            newest = vr[i].t;
    uint32_t in = 0;
    for (i = 0; i < have; i++)
        if (vr[i].t >= newest - co->timespan_ms) {
            in++;
            if (vr[i].t < first)
                first = vr[i].t;
        }
    if (in < n) {
        /* a value last seen more than timespan before the newest counts in
         * no window any more (times only corr_grow): dropping it changes no
         * outcome; if it comes back, it comes back with its new time */
        uint32_t w = 0;
        for (i = 0; i < have; i++)
            if (vr[i].t >= newest - co->timespan_ms)
                vr[w++] = vr[i];
        corr_vals_store(c, s, vr, w);
        return;
    }
    struct cr_incident *inc = corr_new_incident(c, co->id, co->title, &co->incident, co->group_by,
                                                co->ngroup_by, s, first);
    inc->first_seen_ms = first;
    inc->last_seen_ms = newest;
    inc->event_count = n;
    cr_incident_add_ref(inc, m->input, m->position, t);
    corr_note_match(c, inc, m);
    const char *fname = co->value_field >= 0 && co->value_field < c->rs->nfields
                            ? c->rs->field_names[co->value_field]
                            : "?";
    cr_incident_add_reason(inc, "%u distinct %s values within %llds (threshold: >= %u in %llds)", n,
                           fname, (long long)((newest - first) / 1000), n,
                           (long long)(co->timespan_ms / 1000));
    corr_vals_store(c, s, vr, 0);
    corr_open_incident(c, s, inc, newest + ofor);
    corr_chain(c, k, m->key, m->key_len, t, inc, 0);
}

/* ---- new_value ---- */

/* A value of `field` the key has not shown within `history`. State: entry 0
 * holds the key's first match time (learning runs from it), then up to
 * max_values (value hash, last seen) pairs; s->n = 1 + values kept. When
 * full, the least recently seen value makes room (counted: it will look new
 * if it comes back). */
void corr_apply_newval(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                       struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t t = m->time_ms;
    struct state *s = corr_lookup(c, (uint32_t)c->rs->nrules + k, m->key, m->key_len);
    struct evref *head = payload(c, s);
    struct vref *vr = (struct vref *)(void *)(head + 1);
    if (t > s->last_ms)
        s->last_ms = t;
    if (s->n == 0) {
        head->t = t;
        s->n = 1;
    } else if (t < head->t) {
        head->t = t;
    }
    uint32_t nv = s->n - 1, i, lru = 0;
    for (i = 0; i < nv && vr[i].v != m->value; i++)
        if (vr[i].t < vr[lru].t)
            lru = i;
    if (i < nv) {
        int known = t - vr[i].t <= co->timespan_ms;
        if (t > vr[i].t)
            vr[i].t = t;
        if (known)
            return;
    } else if (nv < co->max_values) {
        vr[nv] = (struct vref){m->value, t};
        s->n++;
    } else {
        vr[lru] = (struct vref){m->value, t};
        c->stats.values_evicted++;
    }
    if (t < head->t + co->learn_ms)
        return; /* still learning the key's usual values */
    int64_t ofor = corr_open_for(&co->incident, 3600000);
    struct cr_incident *open = corr_close_if_expired(c, s, t, extra);
    if (open) {
        corr_update_incident(c, s, open, m, t, ofor);
        corr_chain(c, k, m->key, m->key_len, t, open, 0);
        return;
    }
    struct cr_incident *inc =
        corr_new_incident(c, co->id, co->title, &co->incident, co->group_by, co->ngroup_by, s, t);
    inc->first_seen_ms = inc->last_seen_ms = t;
    inc->event_count = 1;
    cr_incident_add_ref(inc, m->input, m->position, t);
    corr_note_match(c, inc, m);
    const char *fname = co->value_field >= 0 && co->value_field < c->rs->nfields
                            ? c->rs->field_names[co->value_field]
                            : "?";
    char a[32];
    cr_time_format(head->t + co->learn_ms, a, sizeof a);
    cr_incident_add_reason(inc,
                           "a %s value not seen for this key within %llds (%u known; "
                           "learning ended %s)",
                           fname, (long long)(co->timespan_ms / 1000), s->n - 2, a);
    corr_open_incident(c, s, inc, t + ofor);
    corr_chain(c, k, m->key, m->key_len, t, inc, 0);
}
