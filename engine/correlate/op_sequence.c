/*
 * op_sequence.c - sequences: temporal_ordered per key, temporal (any order),
 * and temporal_ordered across keys with steps joined on fields.
 */
#include "engine/correlate/correlate_int.h"

/* Step `step` of sequence correlation k happened at t for key. m is the
 * match (NULL when the step is a chained correlation's incident). */
void corr_apply_seq(struct cr_correlator *c, uint32_t k, int step, const char *key, size_t keylen,
                    int64_t t, const struct cr_match *m, const struct cr_incident *from, int depth,
                    struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t ofor = corr_open_for(&co->incident, co->timespan_ms);
    uint32_t owner = (uint32_t)c->rs->nrules + k;
    struct state *s = corr_lookup(c, owner, key, keylen);
    struct stage *st = payload(c, s);
    char *link = (char *)&st[co->nsteps]; /* id of the incident behind step 0, or "" */
    if (s->n == 0) {
        for (int i = 0; i < co->nsteps; i++)
            st[i].start = st[i].reached = INT64_MIN;
        link[0] = 0;
        s->n = 1;
    }
    if (t > s->last_ms)
        s->last_ms = t;
    struct cr_incident *open = corr_close_if_expired(c, s, t, extra);
    int last = co->nsteps - 1;
    if (step == 0) {
        if (t >= st[0].start) { /* the newest start leaves the most time for what follows */
            st[0].start = t;
            st[0].reached = t;
            snprintf(link, 33, "%s", from ? from->id : "");
        }
        if (last > 0)
            return;
    }
    int64_t start = st[step == 0 ? 0 : step - 1].start;
    if (step > 0) {
        struct stage *prev = &st[step - 1];
        if (prev->reached == INT64_MIN || t < prev->reached || prev->start < t - co->timespan_ms)
            return;
        if (step < last) {
            st[step].start = prev->start;
            st[step].reached = t;
            return;
        }
    }
    /* the last step completed a sequence */
    if (open) {
        corr_update_incident(c, s, open, m, t, ofor);
        corr_chain(c, k, key, keylen, t, open, depth + 1);
        return;
    }
    struct cr_incident *inc = corr_new_incident(c, co->id, co->title, &co->incident, co->group_by,
                                                co->ngroup_by, s, start);
    inc->first_seen_ms = start;
    inc->last_seen_ms = t;
    inc->event_count = 1;
    if (m) {
        cr_incident_add_ref(inc, m->input, m->position, t);
        corr_note_match(c, inc, m);
    }
    char a[32], b[32];
    cr_time_format(start, a, sizeof a);
    cr_time_format(t, b, sizeof b);
    const struct cr_input_ref *first = &co->steps[0];
    const char *first_id =
        first->is_correlation ? c->rs->corrs[first->index].id : c->rs->rules[first->index].id;
    const struct cr_input_ref *lastref = &co->steps[last];
    const char *last_id =
        lastref->is_correlation ? c->rs->corrs[lastref->index].id : c->rs->rules[lastref->index].id;
    cr_incident_add_reason(inc, "%s at %s, then %s at %s (within %llds)", first_id, a, last_id, b,
                           (long long)(co->timespan_ms / 1000));
    if (link[0]) {
        const struct cr_correlation *first_co = &c->rs->corrs[first->index];
        cr_incident_add_reason(inc, "follows incident %s (%s)", link, first_co->incident.category);
    }
    corr_open_incident(c, s, inc, t + ofor);
    corr_chain(c, k, key, keylen, t, inc, depth + 1);
}

/* ---- temporal (every step, or `gte` of them, in any order) ---- */

void corr_apply_all(struct cr_correlator *c, uint32_t k, int step, const char *key, size_t keylen,
                    int64_t t, const struct cr_match *m, int depth, struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t ofor = corr_open_for(&co->incident, co->timespan_ms);
    struct state *s = corr_lookup(c, (uint32_t)c->rs->nrules + k, key, keylen);
    struct stage *st = payload(c, s);
    if (s->n == 0) {
        for (int i = 0; i < co->nsteps; i++)
            st[i].start = st[i].reached = INT64_MIN;
        s->n = 1;
    }
    if (t > s->last_ms)
        s->last_ms = t;
    struct cr_incident *open = corr_close_if_expired(c, s, t, extra);
    if (open) {
        corr_update_incident(c, s, open, m, t, ofor);
        corr_chain(c, k, key, keylen, t, open, depth + 1);
        return;
    }
    if (t > st[step].reached)
        st[step].reached = t; /* the latest occurrence of each step */
    /* `need` of the steps (every one, unless the condition says fewer)
     * within timespan: with the latest occurrence of each, if any `need` of
     * them fit in a window, the window that ends at the newest does */
    uint32_t need = co->gte && co->gte < (uint32_t)co->nsteps ? co->gte : (uint32_t)co->nsteps;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int i = 0; i < co->nsteps; i++)
        if (st[i].reached > hi)
            hi = st[i].reached;
    uint32_t have = 0;
    for (int i = 0; i < co->nsteps; i++) {
        if (st[i].reached == INT64_MIN || hi - st[i].reached > co->timespan_ms)
            continue;
        have++;
        if (st[i].reached < lo)
            lo = st[i].reached;
    }
    if (have < need)
        return;
    struct cr_incident *inc =
        corr_new_incident(c, co->id, co->title, &co->incident, co->group_by, co->ngroup_by, s, lo);
    inc->first_seen_ms = lo;
    inc->last_seen_ms = hi;
    inc->event_count = have;
    if (m) {
        cr_incident_add_ref(inc, m->input, m->position, t);
        corr_note_match(c, inc, m);
    }
    if (need == (uint32_t)co->nsteps)
        cr_incident_add_reason(inc, "all %d of its steps within %llds (window %llds)", co->nsteps,
                               (long long)((hi - lo) / 1000), (long long)(co->timespan_ms / 1000));
    else
        cr_incident_add_reason(inc, "%u of its %d steps within %llds (threshold: >= %u in %llds)",
                               have, co->nsteps, (long long)((hi - lo) / 1000), need,
                               (long long)(co->timespan_ms / 1000));
    for (int i = 0; i < co->nsteps; i++)
        st[i].reached = INT64_MIN;
    corr_open_incident(c, s, inc, hi + ofor);
    corr_chain(c, k, key, keylen, t, inc, depth + 1);
}

/* ---- temporal_ordered across keys (steps joined on fields) ---- */

/* Part `pos` of a key (values joined by CR_KEY_SEP); 0 if absent or empty. */
static int key_part(const char *key, size_t len, int pos, const char **p, size_t *n)
{
    size_t off = 0;
    for (int i = 0; pos >= 0; i++) {
        const char *e = memchr(key + off, CR_KEY_SEP, len - off);
        size_t l = e ? (size_t)(e - (key + off)) : len - off;
        if (i == pos) {
            *p = key + off;
            *n = l;
            return l > 0;
        }
        if (!e)
            return 0;
        off += l + 1;
    }
    return 0;
}

/* State key of a partial that reached `step` (or, for the last step, of the
 * completed sequence): the step as one character, 0x1e, then the value. */
static size_t jkey(char *out, int step, const char *v, size_t n)
{
    if (n > CR_KEY_MAX)
        n = CR_KEY_MAX;
    out[0] = (char)('0' + step);
    out[1] = 0x1e;
    memcpy(out + 2, v, n);
    return n + 2;
}

struct state *corr_find_state(struct cr_correlator *c, uint32_t owner, const char *key, size_t len)
{
    uint64_t h = key_hash(owner, key, len);
    for (uint32_t x = c->buckets[h & (c->nbuckets - 1)]; x;) {
        struct state *s = S(c, x);
        if (s->owner == owner && s->keylen == len && memcmp(state_key(c, s), key, len) == 0)
            return s;
        x = s->next;
    }
    return NULL;
}

static const char *input_id(const struct cr_correlator *c, const struct cr_input_ref *r)
{
    return r->is_correlation ? c->rs->corrs[r->index].id : c->rs->rules[r->index].id;
}

/* Step `step` of joined sequence k happened at t; key is the step input's
 * key (join[step].fields). Every pending partial is a state of its own,
 * keyed by (step reached, value the next step must show): a step looks up
 * the partial its join value continues, and stores the continued partial
 * under the value its successor must show. When two partials meet on the
 * same (step, value), the one with the latest start stays: among partials
 * already reached when a later step comes (input order), it is the one
 * that can still complete for the longest. The last step completes the
 * sequence; its incident's key is the corr_chain of join values. */
void corr_apply_jseq(struct cr_correlator *c, uint32_t k, int step, const char *key, size_t keylen,
                     int64_t t, const struct cr_match *m, const struct cr_incident *from, int depth,
                     struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    const struct cr_join_step *js = &co->join[step];
    uint32_t owner = (uint32_t)c->rs->nrules + k;
    int64_t ofor = corr_open_for(&co->incident, co->timespan_ms);
    int last = co->nsteps - 1;
    const char *x = NULL, *y = NULL;
    size_t xn = 0, yn = 0;
    if (step > 0 && !key_part(key, keylen, js->in_pos, &x, &xn))
        return;
    if (step < last && !key_part(key, keylen, js->out_pos, &y, &yn))
        return;
    struct jpartial p;
    char k2[2 + CR_KEY_MAX];
    if (step == 0) {
        memset(&p, 0, sizeof p);
        p.start = p.reached = t;
        for (int i = 0; i < CR_MAX_STEPS; i++)
            p.refs[i].t = INT64_MIN;
        snprintf(p.link, sizeof p.link, "%s", from ? from->id : "");
        p.olen = (uint16_t)(keylen < CR_KEY_MAX ? keylen : CR_KEY_MAX);
        memcpy(p.origin, key, p.olen);
    } else {
        const struct state *ps = corr_find_state(c, owner, k2, jkey(k2, step - 1, x, xn));
        if (!ps || ps->n == 0)
            return;
        const struct jpartial *pp = payload(c, ps);
        if (t < pp->reached || t - pp->start > co->timespan_ms)
            return; /* before the previous step, or too late */
        p = *pp;
        p.reached = t;
        if (p.vlen && p.vlen < CR_KEY_MAX)
            p.vals[p.vlen++] = CR_KEY_SEP;
        size_t n = xn < (size_t)(CR_KEY_MAX - p.vlen) ? xn : (size_t)(CR_KEY_MAX - p.vlen);
        memcpy(p.vals + p.vlen, x, n);
        p.vlen = (uint16_t)(p.vlen + n);
    }
    if (m)
        p.refs[step] = evref_make(t, m->position, m->input);
    else if (from && from->nrefs > 0) /* a chained step: where its incident started */
        p.refs[step] =
            evref_make(from->refs[0].time_ms, from->refs[0].position, from->refs[0].input);
    if (step < last) {
        struct state *ns = corr_lookup(c, owner, k2, jkey(k2, step, y, yn));
        struct jpartial *np = payload(c, ns);
        if (t > ns->last_ms)
            ns->last_ms = t;
        if (ns->n && (np->start > p.start || (np->start == p.start && np->reached <= p.reached)))
            return; /* the partial already there dominates */
        *np = p;
        ns->n = 1;
        return;
    }
    /* the last step completed a sequence */
    struct state *s = corr_lookup(c, owner, k2, jkey(k2, last, p.vals, p.vlen));
    if (t > s->last_ms)
        s->last_ms = t;
    struct cr_incident *open = corr_close_if_expired(c, s, t, extra);
    if (open) {
        corr_update_incident(c, s, open, m, t, ofor);
        corr_chain(c, k, p.vals, p.vlen, t, open, depth + 1);
        return;
    }
    struct cr_incident *inc = corr_new_incident_key(
        c, co->id, co->title, &co->incident, co->group_by, co->ngroup_by, p.vals, p.vlen, p.start);
    inc->first_seen_ms = p.start;
    inc->last_seen_ms = t;
    inc->event_count = 1;
    for (int i = 0; i <= last; i++)
        if (p.refs[i].t != INT64_MIN)
            cr_incident_add_ref(inc, evref_input(&p.refs[i]), evref_pos(&p.refs[i]), p.refs[i].t);
    if (m)
        corr_note_match(c, inc, m);
    char a[32], b[32], origin[CR_KEY_MAX + 1];
    cr_time_format(p.start, a, sizeof a);
    cr_time_format(t, b, sizeof b);
    cr_incident_add_reason(inc, "%s at %s, then %s at %s (within %llds)",
                           input_id(c, &co->steps[0]), a, input_id(c, &co->steps[last]), b,
                           (long long)(co->timespan_ms / 1000));
    for (size_t i = 0; i < p.olen; i++)
        origin[i] = p.origin[i] == CR_KEY_SEP ? ',' : p.origin[i];
    origin[p.olen] = 0;
    cr_incident_add_reason(inc, "started by %s for %s", input_id(c, &co->steps[0]), origin);
    if (p.link[0])
        cr_incident_add_reason(inc, "follows incident %s (%s)", p.link,
                               c->rs->corrs[co->steps[0].index].incident.category);
    corr_open_incident(c, s, inc, t + ofor);
    corr_chain(c, k, p.vals, p.vlen, t, inc, depth + 1);
}
