/*
 * migrate.c - hot reload: the states of rules that did not change move to the
 * new ruleset's owners; the others are dropped and counted.
 */
#include "engine/correlate/correlate_int.h"

/* ---- rules swap (hot reload) ---- */

/* Where the states of old owner o go in rs: the index of the same id with
 * the same definition (ruleset_diff.h) and the same state layout, or
 * UINT32_MAX (dropped). */
static uint32_t migrate_target(const struct cr_ruleset *old, const struct cr_ruleset *rs, int o)
{
    if (o < old->nrules) {
        int r = cr_ruleset_find_rule(rs, old->rules[o].id);
        if (r < 0 || !rs->rules[r].incident || !old->rules[o].incident ||
            cr_rule_def_hash(old, o) != cr_rule_def_hash(rs, r))
            return UINT32_MAX;
        return (uint32_t)r;
    }
    int k = o - old->nrules;
    int nk = cr_ruleset_find_corr(rs, old->corrs[k].id);
    if (nk < 0 || cr_corr_def_hash(old, k) != cr_corr_def_hash(rs, nk) ||
        corr_cap(&old->corrs[k]) != corr_cap(&rs->corrs[nk]))
        return UINT32_MAX;
    return (uint32_t)(rs->nrules + nk);
}

int cr_correlator_migrate(struct cr_correlator *c, const struct cr_ruleset *rs, uint64_t *kept,
                          uint64_t *dropped)
{
    const struct cr_ruleset *old = c->rs;
    int oldn = old->nrules + old->ncorrs, newn = rs->nrules + rs->ncorrs;
    size_t nn = (size_t)newn + 1;
    uint32_t *to = malloc(((size_t)oldn + 1) * sizeof *to);
    struct owner_lru *lru = calloc(nn, sizeof *lru);
    uint32_t *cap = calloc(nn, sizeof *cap), *koff = calloc(nn, sizeof *koff);
    uint32_t *ioff = calloc(nn, sizeof *ioff);
    int64_t *horizon = calloc(nn, sizeof *horizon);
    uint8_t *lay = calloc(nn, sizeof *lay);
    uint16_t *poff = calloc(nn, sizeof *poff);
    if (!to || !lru || !cap || !koff || !ioff || !horizon || !lay || !poff)
        abort();
    /* the new budgets and per-owner layout */
    for (int r = 0; r < rs->nrules; r++)
        lru[r].max = rs->rules[r].incident ? rs->rules[r].incident->max_keys : 0;
    for (int k = 0; k < rs->ncorrs; k++)
        lru[rs->nrules + k].max = rs->corrs[k].incident.max_keys;
    corr_owner_layout(c, rs, cap, horizon, lay, poff, koff, ioff, lru);
    for (int o = 0; o < oldn; o++) {
        to[o] = migrate_target(old, rs, o);
        /* a kept owner has the same layout (the same definition, budget
         * included); a state that would need another is dropped */
        if (to[o] != UINT32_MAX && (lay[to[o]] != c->lay[o] || poff[to[o]] != c->poff[o] ||
                                    koff[to[o]] != c->koff[o] || ioff[to[o]] != c->ioff[o]))
            to[o] = UINT32_MAX;
    }

    /* 1. unhook every state from the deadline heap (kept ones are pushed
     * again once renumbered) and the dropped ones from the changed and
     * dirty sets (the caller flushed: the dirty set should be empty) */
    size_t nh = 0;
    for (size_t i = 0; i < c->nheap; i++) {
        struct state *hs = c->heap[i].s;
        *corr_heap_count(c, hs) = 0;
        hs->heaped = 0;
        if (to[hs->owner] != UINT32_MAX)
            c->heap[nh++] = c->heap[i];
    }
    size_t keep_heap = nh;
    c->nheap = 0;
    struct svec *sets[2] = {&c->changed, &c->dirty};
    for (int k = 0; k < 2; k++) {
        size_t w = 0;
        for (size_t i = 0; i < sets[k]->n; i++) {
            struct state *x = sets[k]->v[i];
            if (to[x->owner] != UINT32_MAX)
                sets[k]->v[w++] = x;
            else if (k == 0)
                x->changed = 0;
            else
                x->dirty = 0;
        }
        sets[k]->n = w;
    }

    /* 2. drop them, with the old ids: a persisted one becomes a deletion in
     * the next snapshot, so a restart cannot bring it back */
    uint64_t nd = 0;
    for (size_t i = 0; i < c->nbuckets; i++) {
        uint32_t *link = &c->buckets[i];
        while (*link) {
            struct state *x = S(c, *link);
            if (to[x->owner] == UINT32_MAX) {
                corr_remove_state(c, link, x);
                nd++;
            } else
                link = &x->next;
        }
    }

    /* 3. the new plan, budgets, per-owner layout and owner numbers; each
     * owner's LRU order is kept (tail first, pushed at the head), so
     * evictions stay input-driven. A kept owner has the same layout. */
    for (int i = 0; i < old->nrules * 4; i++)
        free(c->route_consumers[i].v);
    for (int i = 0; i < old->ncorrs; i++)
        free(c->chain_consumers[i].v);
    free(c->route_consumers);
    free(c->chain_consumers);
    c->rs = rs;
    corr_build_plan(c);
    uint64_t nk = 0;
    for (int o = 0; o < oldn; o++) {
        if (to[o] == UINT32_MAX)
            continue;
        struct owner_lru *nl = &lru[to[o]];
        nl->evicted = c->lru[o].evicted;
        nl->n = c->lru[o].n;
        nk += nl->n;
        if (c->poff[o] != STATE_HEAD_LRU)
            continue; /* it keeps no LRU order */
        for (uint32_t x = c->lru[o].tail, prev; x; x = prev) {
            prev = lru_of(c, x)->prev;
            corr_lru_push(c, nl, x);
        }
    }
    for (size_t i = 0; i < c->nbuckets; i++) /* every state left is kept: renumber */
        for (uint32_t x = c->buckets[i]; x; x = S(c, x)->next)
            S(c, x)->owner = (uint16_t)to[S(c, x)->owner];
    free(c->lru);
    c->lru = lru;
    free(c->cap);
    free(c->horizon);
    free(c->lay);
    free(c->poff);
    free(c->koff);
    free(c->ioff);
    c->cap = cap;
    c->horizon = horizon;
    c->lay = lay;
    c->poff = poff;
    c->koff = koff;
    c->ioff = ioff;
    for (size_t i = 0; i < keep_heap; i++)
        corr_heap_push(c, c->heap[i].at, c->heap[i].s); /* pushes only move entries down */

    /* 4. the owner seeds the hash: rehash every state */
    uint32_t all = 0;
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (uint32_t x = c->buckets[i], n; x; x = n) {
            struct state *s = S(c, x);
            n = s->next;
            s->next = all;
            all = x;
        }
        c->buckets[i] = 0;
    }
    for (uint32_t x = all, n; x; x = n) {
        struct state *s = S(c, x);
        n = s->next;
        size_t b = state_hash(c, s) & (c->nbuckets - 1);
        s->next = c->buckets[b];
        c->buckets[b] = x;
    }
    free(to);
    if (kept)
        *kept = nk;
    if (dropped)
        *dropped = nd;
    return 0;
}
