/*
 * correlate.c - see correlate.h.
 *
 * Layout: a consumer plan built once from the ruleset (which consumers a
 * rule's route feeds, which sequence steps a correlation's incidents feed),
 * a chained hash table of states keyed by (consumer, key bytes), and one
 * function per operator. States are allocated when a key is first seen for
 * a consumer and freed when they expire: allocation follows new keys, not
 * events. A joined sequence's partials are states too (one per step reached
 * and join value), so they follow the same expiry, budgets and checkpoints;
 * count windows with an upper bound share the absence deadline heap.
 *
 * Memory (docs/benchmarks.md, bench_correlate): states live in a slab of
 * their own (size classes every 8 bytes, chunks that never move, a free
 * list per chunk) and are named by 32-bit handles, so the hash chain, the
 * buckets and the LRU neighbours cost 4 bytes each. The (input, tenant)
 * pair of a state is an index into a small table; an open incident's
 * pointer has a slot only where the payload has no room for it (open_slot).
 * event_count and value_count keep their entries compact and grow them as
 * matches come (ring_load / ring_store, vals_load / vals_store).
 */
#include "engine/correlate/correlate_int.h"

static int same_group(const uint16_t *a, int na, const uint16_t *b, int nb)
{
    return na == nb && memcmp(a, b, (size_t)na * sizeof *a) == 0;
}

static void add_consumer(struct consumer_list *l, uint8_t kind, uint8_t step, uint32_t index)
{
    l->v = realloc(l->v, (size_t)(l->n + 1) * sizeof *l->v);
    if (!l->v)
        abort();
    l->v[l->n++] = (struct consumer){.kind = kind, .step = step, .index = index};
}

static uint8_t step_kind(const struct cr_correlation *co)
{
    return co->type == CR_CORR_TEMPORAL  ? CONS_ALL
           : co->type == CR_CORR_ABSENCE ? CONS_ABSENT
           : co->joined                  ? CONS_JSEQ
                                         : CONS_SEQ;
}

static int counts_rules(const struct cr_correlation *co)
{
    return co->type == CR_CORR_EVENT_COUNT || co->type == CR_CORR_VALUE_COUNT ||
           co->type == CR_CORR_NEW_VALUE || cr_corr_value_num(co);
}

void corr_build_plan(struct cr_correlator *c)
{
    const struct cr_ruleset *rs = c->rs;
    c->route_consumers = calloc((size_t)rs->nrules * 4 + 1, sizeof *c->route_consumers);
    c->chain_consumers = calloc((size_t)rs->ncorrs + 1, sizeof *c->chain_consumers);
    if (!c->route_consumers || !c->chain_consumers)
        abort();
    for (int r = 0; r < rs->nrules; r++) {
        const struct cr_rule *rule = &rs->rules[r];
        for (int i = 0; i < rule->nroutes && i < 4; i++) {
            const struct cr_route *rt = &rule->routes[i];
            struct consumer_list *l = &c->route_consumers[r * 4 + i];
            if (rule->incident && rt->pin == 0 &&
                same_group(rule->group_by, rule->ngroup_by, rt->group_by, rt->ngroup_by))
                add_consumer(l, CONS_RULE_INCIDENT, 0, (uint32_t)r);
            for (int k = 0; k < rs->ncorrs; k++) {
                const struct cr_correlation *co = &rs->corrs[k];
                if (co->pin != rt->pin)
                    continue;
                if (co->joined) {
                    /* later steps first: a match that is two steps at once first
                     * advances what came before it, then starts anew */
                    for (int s = co->nsteps - 1; s >= 0; s--)
                        if (!co->steps[s].is_correlation && co->steps[s].index == (uint32_t)r &&
                            rt->value_field < 0 &&
                            same_group(co->join[s].fields, co->join[s].nfields, rt->group_by,
                                       rt->ngroup_by))
                            add_consumer(l, CONS_JSEQ, (uint8_t)s, (uint32_t)k);
                    continue;
                }
                if (co->value_field != rt->value_field || cr_corr_value_num(co) != rt->value_num)
                    continue;
                /* absence: the follow-up first, so that one rule serving as both
                 * (a heartbeat) first answers the previous start, then starts anew */
                for (int j = 0; j < co->nsteps; j++) {
                    int s = co->type == CR_CORR_ABSENCE ? co->nsteps - 1 - j : j;
                    if (co->steps[s].is_correlation || co->steps[s].index != (uint32_t)r ||
                        !same_group(CR_STEP_GROUP_BY(co, s), co->ngroup_by, rt->group_by,
                                    rt->ngroup_by))
                        continue;
                    if (counts_rules(co)) {
                        add_consumer(l,
                                     co->type == CR_CORR_EVENT_COUNT        ? CONS_COUNT
                                     : co->type == CR_CORR_VALUE_COUNT      ? CONS_VALUE
                                     : co->type == CR_CORR_NEW_VALUE        ? CONS_NEWVAL
                                     : co->type == CR_CORR_VALUE_PERCENTILE ? CONS_PCT
                                                                            : CONS_AGG,
                                     0, (uint32_t)k);
                        break; /* any of the listed rules counts once */
                    }
                    add_consumer(l, step_kind(co), (uint8_t)s, (uint32_t)k);
                }
            }
        }
    }
    for (int k = 0; k < rs->ncorrs; k++) {
        const struct cr_correlation *co = &rs->corrs[k];
        if (counts_rules(co))
            continue;
        for (int i = 0; i < co->nsteps; i++) {
            int s = co->type == CR_CORR_ABSENCE || co->joined ? co->nsteps - 1 - i : i;
            if (co->steps[s].is_correlation)
                add_consumer(&c->chain_consumers[co->steps[s].index], step_kind(co), (uint8_t)s,
                             (uint32_t)k);
        }
    }
}

/* Per-owner layout: capacity, horizon, payload layout, offsets. */
void corr_owner_layout(struct cr_correlator *c, const struct cr_ruleset *rs, uint32_t *cap,
                       int64_t *horizon, uint8_t *lay, uint16_t *poff, uint32_t *koff,
                       uint32_t *ioff, const struct owner_lru *lru)
{
    int nowners = rs->nrules + rs->ncorrs;
    for (int o = 0; o < nowners; o++) {
        size_t pay = 0;
        cap[o] = 0;
        lay[o] = LAY_PLAIN;
        if (o < rs->nrules) {
            const struct cr_rule *r = &rs->rules[o];
            horizon[o] = r->incident ? corr_open_for(r->incident, 3600000) : 0;
        } else {
            const struct cr_correlation *co = &rs->corrs[o - rs->nrules];
            cap[o] = corr_cap(co);
            horizon[o] = corr_horizon(co);
            if (co->type == CR_CORR_EVENT_COUNT && !co->windowed)
                lay[o] = LAY_RING;
            else if (co->type == CR_CORR_VALUE_COUNT || co->type == CR_CORR_VALUE_PERCENTILE)
                lay[o] = LAY_VALS;
            pay = lay[o] != LAY_PLAIN ? 8 : (size_t)cap[o] * ENTRY_SIZE;
        }
        poff[o] = (uint16_t)(lru[o].max || c->max_per_tenant ? STATE_HEAD_LRU : STATE_HEAD);
        /* the open incident's pointer: after the payload, except where
         * the payload has room while an incident is open (open_slot) */
        ioff[o] = lay[o] == LAY_PLAIN ? (uint32_t)(poff[o] + pay) : 0;
        koff[o] = (uint32_t)(poff[o] + pay + (ioff[o] ? sizeof(struct cr_incident *) : 0));
    }
}

struct cr_correlator *cr_correlator_new(const struct cr_ruleset *rs, uint64_t max_keys)
{
    if (rs->nrules + rs->ncorrs > UINT16_MAX)
        return NULL; /* a state names its owner in 16 bits */
    struct cr_correlator *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->rs = rs;
    c->max_keys = max_keys ? max_keys : 1000000;
    c->nbuckets = 1024;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    c->watermark = INT64_MIN;
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    corr_build_plan(c);
    size_t nowners = (size_t)rs->nrules + (size_t)rs->ncorrs + 1;
    c->lru = calloc(nowners, sizeof *c->lru);
    c->cap = calloc(nowners, sizeof *c->cap);
    c->horizon = calloc(nowners, sizeof *c->horizon);
    c->lay = calloc(nowners, sizeof *c->lay);
    c->poff = calloc(nowners, sizeof *c->poff);
    c->koff = calloc(nowners, sizeof *c->koff);
    c->ioff = calloc(nowners, sizeof *c->ioff);
    if (!c->lru || !c->cap || !c->horizon || !c->lay || !c->poff || !c->koff || !c->ioff)
        abort();
    for (int r = 0; r < rs->nrules; r++)
        c->lru[r].max = rs->rules[r].incident ? rs->rules[r].incident->max_keys : 0;
    for (int k = 0; k < rs->ncorrs; k++)
        c->lru[rs->nrules + k].max = rs->corrs[k].incident.max_keys;
    corr_owner_layout(c, rs, c->cap, c->horizon, c->lay, c->poff, c->koff, c->ioff, c->lru);
    return c;
}

void cr_correlator_free(struct cr_correlator *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (uint32_t x = c->buckets[i]; x; x = S(c, x)->next)
            corr_incident_free(open_get(c, S(c, x)));
    free(c->opens.v);
    corr_slab_destroy(&c->slab);
    for (struct cr_version *m = c->extra, *n; m; m = n) {
        n = m->next;
        free(m);
    }
    for (int i = 0; i < c->rs->nrules * 4; i++)
        free(c->route_consumers[i].v);
    for (int i = 0; i < c->rs->ncorrs; i++)
        free(c->chain_consumers[i].v);
    free(c->route_consumers);
    free(c->chain_consumers);
    free(c->tomb);
    free(c->heap);
    free(c->lru);
    free(c->cap);
    free(c->horizon);
    free(c->lay);
    free(c->poff);
    free(c->koff);
    free(c->ioff);
    free(c->dirty.v);
    free(c->later.v);
    free(c->changed.v);
    free(c->ctx.v);
    free(c->ctx.slot);
    free(c->corr_scratch);
    cr_tenants_free(&c->tenants);
    free(c->buckets);
    free(c);
}

uint32_t corr_cap(const struct cr_correlation *co)
{
    switch (co->type) {
    case CR_CORR_EVENT_COUNT:
        if (co->windowed) /* the head, the refs, the deadline count */
            return (uint32_t)(WINDOW_HEAD +
                              (co->lte < CR_INC_MAX_REFS ? co->lte : CR_INC_MAX_REFS) + 1);
        return co->gte ? co->gte : 1;
    case CR_CORR_VALUE_COUNT:
        return co->gte ? co->gte : 1;
    case CR_CORR_NEW_VALUE:
        return 1 + co->max_values; /* the head, then one (hash, last seen) per value */
    case CR_CORR_VALUE_SUM:
    case CR_CORR_VALUE_AVG:
        return (uint32_t)AGG_CAP; /* the buckets, the last matches' refs */
    case CR_CORR_VALUE_PERCENTILE:
        return PCT_MAX; /* at most: the most recent numbers in the window */
    case CR_CORR_TEMPORAL_ORDERED:
        if (co->joined)
            return (uint32_t)JSEQ_CAP;
        return (uint32_t)(co->nsteps + LINK_STAGES);
    case CR_CORR_TEMPORAL:
        return (uint32_t)co->nsteps;
    case CR_CORR_ABSENCE: /* two stages, the link, the deadline count */
        return (uint32_t)(2 + LINK_STAGES + 1);
    }
    return 1;
}

int64_t corr_horizon(const struct cr_correlation *co)
{
    int64_t ofor = corr_open_for(&co->incident, co->timespan_ms);
    int64_t h = co->timespan_ms > ofor ? co->timespan_ms : ofor;
    return co->learn_ms > h ? co->learn_ms : h; /* new_value: learn; 0 elsewhere */
}

void corr_chain(struct cr_correlator *c, uint32_t corr, const char *key, size_t keylen, int64_t t,
                const struct cr_incident *from, int depth)
{
    const struct consumer_list *l = &c->chain_consumers[corr];
    if (depth > CR_MAX_STEPS * 4) /* cycles are refused at load; this is a second guard */
        return;
    for (int i = 0; i < l->n; i++) {
        const struct consumer *cs = &l->v[i];
        if (cs->kind == CONS_ALL)
            corr_apply_all(c, cs->index, cs->step, key, keylen, t, NULL, depth, &c->extra);
        else if (cs->kind == CONS_ABSENT)
            corr_apply_absent(c, cs->index, cs->step, key, keylen, t, NULL, from, &c->extra);
        else if (cs->kind == CONS_JSEQ)
            corr_apply_jseq(c, cs->index, cs->step, key, keylen, t, NULL, from, depth, &c->extra);
        else
            corr_apply_seq(c, cs->index, cs->step, key, keylen, t, NULL, from, depth, &c->extra);
    }
}

void cr_correlator_advance(struct cr_correlator *c, int64_t t)
{
    if (t > c->watermark) {
        c->watermark = t;
        corr_fire_due(c);
    }
}

/* Whether this event already counted for correlation k under this key;
 * if not, it is noted as counted now. */
static int counted_already(struct cr_correlator *c, uint32_t k, const struct cr_match *m)
{
    uint64_t h = key_hash(k, m->key, m->key_len);
    uint32_t n = c->napplied < 16 ? c->napplied : 16;
    for (uint32_t i = 0; i < n; i++) {
        const struct applied *a = &c->applied[i];
        if (a->k == k && a->key_hash == h && a->position == m->position && a->src == m->src &&
            a->input == m->input && a->sub == m->sub && a->rep == m->rep)
            return 1;
    }
    c->applied[c->napplied++ % 16] = (struct applied){.src = m->src,
                                                      .input = m->input,
                                                      .sub = m->sub,
                                                      .rep = m->rep,
                                                      .k = k,
                                                      .position = m->position,
                                                      .key_hash = h};
    return 0;
}

/* A counting correlation over several rules already took this event. */
static int same_event(struct cr_correlator *c, uint32_t k, const struct cr_match *m)
{
    if (c->rs->corrs[k].nsteps < 2 || !counted_already(c, k, m))
        return 0;
    c->stats.same_event++;
    return 1;
}

void cr_correlator_apply(struct cr_correlator *c, const struct cr_match *m)
{
    c->stats.matches++;
    c->replaying = m->replay;
    c->cur_src = m->src;
    if (m->time_ms > c->watermark) {
        c->watermark = m->time_ms;
        /* deadlines passed by this event fire before it is applied: a
         * follow-up that comes after its deadline is late */
        corr_fire_due(c);
    }
    c->cur_tenant = m->tenant;
    if (m->rule >= (uint32_t)c->rs->nrules || m->route >= 4)
        return;
    const struct consumer_list *l = &c->route_consumers[m->rule * 4 + m->route];
    for (int i = 0; i < l->n; i++) {
        const struct consumer *cs = &l->v[i];
        switch (cs->kind) {
        case CONS_RULE_INCIDENT:
            corr_apply_rule_incident(c, cs->index, m, &c->extra);
            break;
        case CONS_COUNT:
            if (same_event(c, cs->index, m))
                break;
            corr_apply_count(c, cs->index, m, &c->extra);
            break;
        case CONS_SEQ:
            corr_apply_seq(c, cs->index, cs->step, m->key, m->key_len, m->time_ms, m, NULL, 0,
                           &c->extra);
            break;
        case CONS_VALUE:
            corr_apply_value(c, cs->index, m, &c->extra);
            break;
        case CONS_ALL:
            corr_apply_all(c, cs->index, cs->step, m->key, m->key_len, m->time_ms, m, 0, &c->extra);
            break;
        case CONS_ABSENT:
            corr_apply_absent(c, cs->index, cs->step, m->key, m->key_len, m->time_ms, m, NULL,
                              &c->extra);
            break;
        case CONS_JSEQ:
            corr_apply_jseq(c, cs->index, cs->step, m->key, m->key_len, m->time_ms, m, NULL, 0,
                            &c->extra);
            break;
        case CONS_NEWVAL:
            corr_apply_newval(c, cs->index, m, &c->extra);
            break;
        case CONS_AGG: /* a sum or mean takes an event's number once, as a count does */
            if (same_event(c, cs->index, m))
                break;
            corr_apply_agg(c, cs->index, m, &c->extra);
            break;
        case CONS_PCT:
            if (same_event(c, cs->index, m))
                break;
            corr_apply_pct(c, cs->index, m, &c->extra);
            break;
        }
    }
}

void cr_correlator_set_tenant_budget(struct cr_correlator *c, uint64_t max_keys_per_tenant)
{
    c->max_per_tenant = max_keys_per_tenant;
    /* every consumer keeps an LRU order under a tenant budget: the state
     * layout follows, as long as there are no states yet (correlate.h) */
    if (c->slab.bytes == 0)
        corr_owner_layout(c, c->rs, c->cap, c->horizon, c->lay, c->poff, c->koff, c->ioff, c->lru);
}

size_t cr_correlator_tenant_evictions(const struct cr_correlator *c,
                                      struct cr_tenant_evictions *out, size_t n)
{
    struct cr_tenant *top = malloc((n ? n : 1) * sizeof *top);
    if (!top)
        abort();
    size_t k = cr_tenants_top(&c->tenants, top, n);
    for (size_t i = 0; i < k; i++)
        out[i] = (struct cr_tenant_evictions){.tenant = top[i].tenant, .evicted = top[i].evicted};
    free(top);
    return k;
}

static int by_evicted(const void *a, const void *b)
{
    const struct cr_tenant_evictions *x = a, *y = b;
    if (x->evicted != y->evicted)
        return x->evicted > y->evicted ? -1 : 1;
    return x->tenant < y->tenant ? -1 : x->tenant > y->tenant;
}

void cr_tenant_evictions_merge(struct cr_tenant_evictions **all, size_t *nall,
                               const struct cr_tenant_evictions *add, size_t n)
{
    if (!n)
        return;
    struct cr_tenant_evictions *v = realloc(*all, (*nall + n) * sizeof *v);
    if (!v)
        abort();
    size_t k = *nall;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k && v[j].tenant != add[i].tenant)
            j++;
        if (j < k)
            v[j].evicted += add[i].evicted;
        else
            v[k++] = add[i];
    }
    qsort(v, k, sizeof *v, by_evicted);
    *all = v;
    *nall = k;
}

uint64_t cr_correlator_budget_evictions(const struct cr_correlator *c, int owner)
{
    return c->lru[owner].evicted;
}

const struct cr_correlator_stats *cr_correlator_stats(const struct cr_correlator *c)
{
    return &c->stats;
}

/* ---- late matches ---- */

int cr_correlator_apply_late(struct cr_correlator *c, const struct cr_match *m, int64_t at)
{
    if (m->rule >= (uint32_t)c->rs->nrules || m->route >= 4)
        return 0;
    const struct consumer_list *l = &c->route_consumers[m->rule * 4 + m->route];
    int n = 0;
    c->replaying = m->replay;
    for (int i = 0; i < l->n; i++) {
        const struct consumer *cs = &l->v[i];
        uint32_t owner =
            cs->kind == CONS_RULE_INCIDENT ? cs->index : (uint32_t)c->rs->nrules + cs->index;
        struct state *s = corr_find_state(c, owner, m->key, m->key_len);
        struct cr_incident *inc = s ? open_get(c, s) : NULL;
        if (!inc || at > meta(inc)->until)
            continue;
        cr_incident_add_ref(inc, m->input, m->position, m->time_ms);
        corr_note_match(c, inc, m);
        corr_mark_changed(c, s);
        corr_mark_dirty(c, s);
        n++;
    }
    return n;
}
