/*
 * state.c - the state table: lookup and growth, the LRU lists and the budgets
 * that evict from them (shard, rule, tenant), expiry, memory accounting.
 */
#include "engine/correlate/correlate_int.h"

void corr_grow(struct cr_correlator *c)
{
    size_t nb = c->nbuckets * 2;
    uint32_t *b = calloc(nb, sizeof *b);
    if (!b)
        return; /* keep the longer chains; correctness does not depend on it */
    for (size_t i = 0; i < c->nbuckets; i++)
        for (uint32_t x = c->buckets[i], n; x; x = n) {
            struct state *s = S(c, x);
            n = s->next;
            size_t h = state_hash(c, s) & (nb - 1);
            s->next = b[h];
            b[h] = x;
        }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = nb;
}

/* The link (bucket or predecessor's next) that holds handle h of state s. */
static uint32_t *link_of(struct cr_correlator *c, const struct state *s, uint32_t h)
{
    uint32_t *link = &c->buckets[state_hash(c, s) & (c->nbuckets - 1)];
    while (*link != h)
        link = &S(c, *link)->next;
    return link;
}

/* LRU lists hold handles; only tracked owners (lru_tracked) have them. */
static void lru_unlink(struct cr_correlator *c, struct owner_lru *l, uint32_t h)
{
    struct lru_link *x = lru_of(c, h);
    if (x->prev)
        lru_of(c, x->prev)->next = x->next;
    else
        l->head = x->next;
    if (x->next)
        lru_of(c, x->next)->prev = x->prev;
    else
        l->tail = x->prev;
    x->prev = x->next = 0;
}

void corr_lru_push(struct cr_correlator *c, struct owner_lru *l, uint32_t h)
{
    struct lru_link *x = lru_of(c, h);
    x->prev = 0;
    x->next = l->head;
    if (l->head)
        lru_of(c, l->head)->prev = h;
    l->head = h;
    if (!l->tail)
        l->tail = h;
}

/* A consumer over its max_keys: evict its least recently touched state that
 * can go now (not waiting to be written, snapshotted, or for a deadline; not
 * the one being added). Input order decides, not timing: the same input
 * evicts the same keys. */
static void enforce_budget(struct cr_correlator *c, struct owner_lru *l, uint32_t keep)
{
    int tries = 0;
    for (uint32_t v = l->tail; v && l->n > l->max && tries < 64; tries++) {
        uint32_t prev = lru_of(c, v)->prev;
        struct state *vs = S(c, v);
        if (v != keep && evictable(vs)) {
            corr_remove_state(c, link_of(c, vs, v), vs);
            l->evicted++;
            c->stats.evicted++;
            c->stats.budget_evicted++;
        }
        v = prev;
    }
}

static void evict_for_tenant(struct cr_correlator *c, struct state *v, uint32_t vh)
{
    cr_tenants_find(&c->tenants, state_tenant(c, v))->evicted++;
    corr_remove_state(c, link_of(c, v, vh), v);
    c->stats.evicted++;
    c->stats.tenant_evicted++;
}

static void enforce_tenant(struct cr_correlator *c, struct cr_tenant *e, uint32_t keep)
{
    const struct state *ks = S(c, keep);
    uint32_t nowners = (uint32_t)(c->rs->nrules + c->rs->ncorrs), own = ks->owner;
    uint32_t tenant = state_tenant(c, ks);
    for (uint32_t i = 0; i < nowners && e->states > c->max_per_tenant; i++) {
        uint32_t o = i == 0 ? own : (i - 1 < own ? i - 1 : i);
        int tries = 0;
        for (uint32_t v = c->lru[o].tail; v && tries < TENANT_SCAN;
             tries++, v = lru_of(c, v)->prev) {
            struct state *vs = S(c, v);
            if (v == keep || state_tenant(c, vs) != tenant || !evictable(vs))
                continue;
            evict_for_tenant(c, vs, v);
            break;
        }
    }
    if (e->states > c->max_per_tenant)
        c->tenants_over = 1;
}

static int by_tenant_age_stable(const void *a, const void *b)
{
    const struct tenant_ent *x = a, *y = b;
    if (x->tenant != y->tenant)
        return x->tenant < y->tenant ? -1 : 1;
    if (x->s->last_ms != y->s->last_ms)
        return x->s->last_ms < y->s->last_ms ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* At a flush, for tenants still over budget: evict their states the least
 * recently touched first (ties: table order, which the input decides),
 * down to the budget. Walks the table: only when enforce_tenant could not
 * keep up. */
void corr_evict_tenants_over(struct cr_correlator *c)
{
    c->tenants_over = 0;
    size_t n = 0, cap = 0;
    struct tenant_ent *es = NULL;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (uint32_t x = c->buckets[i]; x; x = S(c, x)->next) {
            struct state *s = S(c, x);
            uint32_t tn = state_tenant(c, s);
            struct cr_tenant *e = tn ? cr_tenants_find(&c->tenants, tn) : NULL;
            if (!e || e->states <= c->max_per_tenant || !evictable(s))
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                es = realloc(es, cap * sizeof *es);
                if (!es)
                    abort();
            }
            es[n] = (struct tenant_ent){s, x, tn, n};
            n++;
        }
    /* qsort is not stable: make it so with the collection index as the last key */
    if (n)
        qsort(es, n, sizeof *es, by_tenant_age_stable);
    for (size_t i = 0; i < n; i++) {
        struct cr_tenant *e = cr_tenants_find(&c->tenants, es[i].tenant);
        if (e->states > c->max_per_tenant)
            evict_for_tenant(c, es[i].s, es[i].h);
        if (e->states > c->max_per_tenant)
            c->tenants_over = 1; /* not enough evictable now: try again next flush */
    }
    free(es);
}

void corr_mark_changed(struct cr_correlator *c, struct state *s)
{
    if (c->checkpointing && !s->changed) {
        s->changed = 1;
        corr_svec_push(&c->changed, s);
    }
}

struct state *corr_lookup(struct cr_correlator *c, uint32_t owner, const char *key, size_t len)
{
    uint64_t h = key_hash(owner, key, len);
    for (uint32_t x = c->buckets[h & (c->nbuckets - 1)]; x;) {
        struct state *s = S(c, x);
        if (s->owner == owner && s->keylen == len && memcmp(state_key(c, s), key, len) == 0) {
            corr_mark_changed(c, s);
            if (c->ctx.v[s->ctx].src != c->cur_src)
                s->ctx = corr_ctx_get(&c->ctx, c->cur_src, c->ctx.v[s->ctx].tenant);
            struct owner_lru *l = &c->lru[owner];
            if (l->head != x && lru_tracked(c, owner)) {
                lru_unlink(c, l, x);
                corr_lru_push(c, l, x);
            }
            return s;
        }
        x = s->next;
    }
    size_t sz = state_size(c, owner, len);
    uint32_t x = corr_slab_alloc(&c->slab, sz);
    struct state *s = S(c, x);
    memset(s, 0, sz);
    s->owner = (uint16_t)owner;
    s->ctx = corr_ctx_get(&c->ctx, c->cur_src, c->cur_tenant);
    s->keylen = (uint16_t)(len & 0x1ff);
    s->last_ms = INT64_MIN;
    memcpy(state_key(c, s), key, len);
    s->next = c->buckets[h & (c->nbuckets - 1)];
    c->buckets[h & (c->nbuckets - 1)] = x;
    c->stats.states++;
    if (c->stats.states > c->stats.states_peak)
        c->stats.states_peak = c->stats.states;
    if (c->stats.states > c->nbuckets)
        corr_grow(c);
    corr_mark_changed(c, s);
    struct owner_lru *l = &c->lru[owner];
    if (lru_tracked(c, owner))
        corr_lru_push(c, l, x);
    l->n++;
    if (l->max && l->n > l->max)
        enforce_budget(c, l, x);
    if (c->max_per_tenant && c->cur_tenant) {
        struct cr_tenant *e = cr_tenants_get(&c->tenants, c->cur_tenant);
        if (++e->states > c->max_per_tenant)
            enforce_tenant(c, e, x);
    }
    return s;
}

void corr_mark_dirty(struct cr_correlator *c, struct state *s)
{
    if (c->replaying) {
        /* the previous owner of the partition emitted this version already;
         * the next live match will emit the incident with its full state */
        s->created = 0;
        return;
    }
    if (!s->dirty) {
        s->dirty = 1;
        corr_svec_push(&c->dirty, s);
    }
}

/* Free state s, whose handle *link holds (its bucket or its predecessor's
 * next), with its entry block and open incident. */
void corr_remove_state(struct cr_correlator *c, uint32_t *link, struct state *s)
{
    if (s->persisted) {
        /* the snapshot must delete it too, or a restart would bring it back */
        char k[512];
        size_t kl = corr_ckpt_key(c, s, k, sizeof k);
        if (kl && c->tomb_len + 2 + kl > c->tomb_cap) {
            c->tomb_cap = (c->tomb_cap + kl + 2) * 2;
            c->tomb = realloc(c->tomb, c->tomb_cap);
            if (!c->tomb)
                abort();
        }
        if (kl) {
            c->tomb[c->tomb_len++] = (char)(kl >> 8);
            c->tomb[c->tomb_len++] = (char)kl;
            memcpy(c->tomb + c->tomb_len, k, kl);
            c->tomb_len += kl;
        }
    }
    uint32_t h = *link;
    *link = s->next;
    uint32_t tenant = state_tenant(c, s);
    if (c->max_per_tenant && tenant)
        cr_tenants_find(&c->tenants, tenant)->states--;
    struct owner_lru *l = &c->lru[s->owner];
    if (lru_tracked(c, s->owner))
        lru_unlink(c, l, h);
    l->n--;
    corr_open_clear(c, s);
    corr_clear_entries(c, s);
    corr_slab_free(&c->slab, h);
    c->stats.states--;
}

/* Drop states no window or open incident can use any more; then, if the
 * table is still over its budget, evict the least recently touched. */
void corr_expire(struct cr_correlator *c)
{
    for (size_t i = 0; i < c->nbuckets; i++) {
        uint32_t *link = &c->buckets[i];
        while (*link) {
            struct state *s = S(c, *link);
            int64_t until = s->last_ms == INT64_MIN ? INT64_MIN : s->last_ms + c->horizon[s->owner];
            const struct cr_incident *inc = open_get(c, s);
            if (inc && meta(inc)->until > until)
                until = meta(inc)->until;
            if (!s->dirty && !s->changed && !s->heaped && until < c->watermark) {
                corr_remove_state(c, link, s);
                c->stats.expired++;
            } else
                link = &s->next;
        }
    }
    if (c->stats.states <= c->max_keys) {
        corr_compact_blocks(c);
        return;
    }
    /* over budget: find the cut-off time that removes about 10% beyond the
     * budget, by sampling last_ms, then remove states older than it */
    uint64_t target = c->stats.states - c->max_keys + c->max_keys / 10;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (uint32_t x = c->buckets[i]; x; x = S(c, x)->next) {
            const struct state *s = S(c, x);
            if (s->last_ms < lo)
                lo = s->last_ms;
            if (s->last_ms > hi)
                hi = s->last_ms;
        }
    uint64_t removed = 0;
    while (removed < target && lo <= hi) {
        /* (a state emptied by drop_src has last_ms INT64_MIN: no signed overflow) */
        int64_t cut = lo + (int64_t)(((uint64_t)hi - (uint64_t)lo) / 8) + 1;
        for (size_t i = 0; i < c->nbuckets && removed < target; i++) {
            uint32_t *link = &c->buckets[i];
            while (*link && removed < target) {
                struct state *s = S(c, *link);
                if (!s->dirty && !s->changed && !s->heaped && s->last_ms < cut) {
                    corr_remove_state(c, link, s);
                    removed++;
                } else
                    link = &s->next;
            }
        }
        lo = cut;
    }
    c->stats.evicted += removed;
    corr_compact_blocks(c);
}

uint64_t cr_correlator_memory(const struct cr_correlator *c, uint64_t *incident_bytes)
{
    /* the slab's chunks whole (free slots included: they are memory held),
     * the chunk table, the bucket array, the deadline heap, the pending
     * vectors, the (input, tenant) and tenant tables, the corr_scratch; blocks
     * from malloc count with its 16-byte header, rounded to 16 (glibc) */
    uint64_t total = c->slab.bytes + (uint64_t)c->slab.capchunk * sizeof *c->slab.chunk +
                     (uint64_t)c->slab.capspare * sizeof *c->slab.spare;
    total += c->nbuckets * sizeof *c->buckets + c->heap_cap * sizeof *c->heap;
    total += (c->dirty.cap + c->later.cap + c->changed.cap) * sizeof(struct state *);
    total += cr_tenants_memory(&c->tenants);
    total += (uint64_t)c->ctx.cap * sizeof *c->ctx.v + (uint64_t)c->ctx.nslot * sizeof *c->ctx.slot;
    total += c->scratch_cap * 16;
    /* open incidents: each with its open_meta, and the map that finds them */
    uint64_t inc =
        c->nopen * ((sizeof(struct open_meta) + sizeof(struct cr_incident) + 8 + 15) / 16 * 16) +
        c->opens.cap * sizeof *c->opens.v;
    if (incident_bytes)
        *incident_bytes = inc;
    return total + inc;
}
