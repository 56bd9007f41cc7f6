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
 */
#include "correlate.h"

#include "checkpoint.h"
#include "tenant.h"

#include "../parsers/timeparse.h"
#include "../rules/ruleset_diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

enum consumer_kind {
    CONS_RULE_INCIDENT = 1,
    CONS_COUNT = 2,  /* event_count */
    CONS_SEQ = 3,    /* temporal_ordered: one step */
    CONS_VALUE = 4,  /* value_count */
    CONS_ALL = 5,    /* temporal: one step, any order */
    CONS_ABSENT = 6, /* absence: step 0 (start) or 1 (expected follow-up) */
    CONS_JSEQ = 7,   /* temporal_ordered whose steps join on fields: one step */
    CONS_NEWVAL = 8, /* new_value */
};

struct consumer {
    uint8_t kind;
    uint8_t step;   /* CONS_SEQ: which step this input is */
    uint32_t index; /* rule index (RULE_INCIDENT) or correlation index */
};

struct consumer_list {
    struct consumer *v;
    int n;
};

/* An evidence reference: event time, and the input index (< CR_MAX_INPUTS,
 * 8 bits) with the position (line or offset, < 2^56) packed in one word. */
struct evref {
    int64_t t;
    uint64_t pi; /* position << 8 | input */
};

#define EVREF_INPUT_BITS 8
#define EVREF_POS_MAX ((UINT64_C(1) << (64 - EVREF_INPUT_BITS)) - 1)

static inline struct evref evref_make(int64_t t, uint64_t position, uint32_t input)
{
    /* an input index is < CR_MAX_INPUTS (256); a position past 2^56 (no
     * file or partition gets there) saturates rather than wrapping */
    if (position > EVREF_POS_MAX)
        position = EVREF_POS_MAX;
    return (struct evref){.t = t, .pi = position << EVREF_INPUT_BITS | (input & 0xff)};
}
static inline uint64_t evref_pos(const struct evref *e) { return e->pi >> EVREF_INPUT_BITS; }
static inline uint32_t evref_input(const struct evref *e) { return (uint32_t)(e->pi & 0xff); }

struct stage {
    int64_t start;   /* start time of the partial sequence that reached this step */
    int64_t reached; /* when it reached it */
};

/* One tracked (consumer, key). 56 bytes of header, then the operator's
 * entries (ring, stages, window; c->cap[owner] of them), then the key bytes.
 * What every state would otherwise repeat lives with its owner (capacity,
 * horizon: c->cap, c->horizon) or with its open incident (open_meta); the
 * dirty and changed sets are vectors in the correlator; the hash is
 * recomputed from the key when the table grows. Anything that points at a
 * state (hash chain, LRU neighbours, dirty/changed vectors, deadline heap)
 * relies on it never moving: states are not reallocated. */
struct state {
    struct state *next;                /* hash chain */
    struct state *lru_prev, *lru_next; /* its consumer's states, most recently touched first */
    struct cr_incident *open;          /* open incident (open_meta precedes it), or NULL */
    int64_t last_ms;                   /* newest event time that touched this state */
    uint32_t src;                      /* input (partition) of the latest match: whose state */
    uint32_t n;                        /* entries in use (operator-specific) */
    uint32_t tenant;                   /* hash of the tenant field's value (0: none) */
    uint16_t owner;                    /* rule index, or nrules + correlation index */
    uint16_t keylen : 9;               /* <= CR_KEY_MAX + 2 */
    uint16_t dirty : 1;                /* in c->dirty: its incident has unflushed changes */
    uint16_t created : 1;              /* the unflushed version is the opening one */
    uint16_t changed : 1;              /* in c->changed: touched since the last snapshot */
    uint16_t persisted : 1;            /* checkpointing: a snapshot holds it */
    uint16_t heaped : 1;               /* deadlines point at it (count in heap_count()) */
    union {
        struct evref ring[1];
        struct stage stages[1];
    } u; /* cap entries, then the key bytes. temporal_ordered: the entries are
          * the steps' stages, then LINK_STAGES more that hold the id of the
          * incident that satisfied the partial sequence's first step */
};

_Static_assert(offsetof(struct state, u) == 56, "the state header is 56 bytes");

/* What only an open incident needs, allocated in front of it. */
struct open_meta {
    int64_t until;    /* event time until which matches update it */
    uint64_t emitted; /* flush count when its last version went out */
};

static struct cr_incident *incident_alloc(void)
{
    struct open_meta *m = calloc(1, sizeof *m + sizeof(struct cr_incident));
    if (!m)
        abort();
    return (struct cr_incident *)(void *)(m + 1);
}

static inline struct open_meta *meta(const struct cr_incident *inc)
{
    return (struct open_meta *)(void *)inc - 1;
}

static void incident_free(struct cr_incident *inc)
{
    if (inc)
        free(meta(inc));
}

/* Stage-sized slots that hold an incident id (33 bytes) after the stages. */
#define LINK_STAGES ((33 + sizeof(struct stage) - 1) / sizeof(struct stage))

/* Size of one state entry (ring slot or stage). */
#define ENTRY_SIZE (sizeof(struct evref) > sizeof(struct stage) ? sizeof(struct evref) \
                                                                : sizeof(struct stage))

/* event_count with an upper bound: the head of the state (WINDOW_HEAD
 * entries), then up to CR_INC_MAX_REFS evidence refs. s->n is 0 when no
 * window is open, else WINDOW_HEAD + the refs kept. */
struct cwindow {
    int64_t start, end; /* the window: [its first match, + timespan] */
    int64_t last;       /* newest match in it */
    uint64_t count;
};
#define WINDOW_HEAD ((sizeof(struct cwindow) + ENTRY_SIZE - 1) / ENTRY_SIZE)

/* A pending partial match of a joined temporal_ordered: the state keyed by
 * (step it reached, the value the next step must show in its join field). */
struct jpartial {
    int64_t start, reached;
    struct evref refs[CR_MAX_STEPS]; /* one record per step reached (t = INT64_MIN: none) */
    char link[33];                   /* id of the incident behind step 0, or "" */
    uint16_t vlen, olen;
    char vals[CR_KEY_MAX];   /* the join values so far, joined by CR_KEY_SEP */
    char origin[CR_KEY_MAX]; /* the key of step 0's own input */
};
#define JSEQ_CAP ((sizeof(struct jpartial) + ENTRY_SIZE - 1) / ENTRY_SIZE)

/* A growable array of state pointers (the dirty and changed sets). */
struct svec {
    struct state **v;
    size_t n, cap;
};

static void svec_push(struct svec *a, struct state *s)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 256;
        a->v = realloc(a->v, a->cap * sizeof *a->v);
        if (!a->v)
            abort();
    }
    a->v[a->n++] = s;
}

struct cr_correlator {
    const struct cr_ruleset *rs;
    uint64_t max_keys;
    uint32_t *cap;      /* [owner]: entries in each of its states */
    int64_t *horizon;   /* [owner]: how long after last_ms a state can still matter */
    struct consumer_list *route_consumers; /* [rule * 4 + route] */
    struct consumer_list *chain_consumers; /* [correlation]: seq steps fed by its incidents */
    struct state **buckets;
    size_t nbuckets;
    struct svec dirty;     /* states whose incident has unflushed changes, oldest first */
    struct svec later;     /* flush: the dirty states that wait for a later batch end */
    int64_t watermark;
    uint64_t flushes;
    struct cr_wmsg *extra; /* versions of incidents closed before a flush */
    int checkpointing;     /* track changes for cr_correlator_snapshot */
    int replaying;         /* the current match rebuilds state: emit no incident version */
    struct owner_lru {     /* per consumer (rule, then correlation): its budget (max_keys) */
        struct state *head, *tail;
        uint64_t n, max, evicted;
    } *lru;
    struct deadline {      /* absence: a min-heap of pending deadlines (event time) */
        int64_t at;
        struct state *s;
    } *heap;
    size_t nheap, heap_cap;
    uint32_t cur_src;      /* src of the current match */
    uint32_t cur_tenant;   /* tenant of the current match (a new state takes it) */
    struct svec changed;   /* states touched since the last snapshot */
    char *tomb;            /* keys of persisted states freed since the last snapshot */
    size_t tomb_len, tomb_cap;
    uint64_t max_per_tenant;  /* correlation.max_keys_per_tenant; 0 = off */
    struct cr_tenants tenants; /* states and evictions per tenant (when max_per_tenant) */
    int tenants_over;          /* a tenant stayed over its budget: flush evicts (tenant.h) */
    struct cr_correlator_stats stats;
};

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
           co->type == CR_CORR_NEW_VALUE;
}

static size_t entry_size(void);
static uint32_t corr_cap(const struct cr_correlation *co);
static int64_t corr_horizon(const struct cr_correlation *co);
static int64_t open_for(const struct cr_incident_spec *spec, int64_t fallback);

static void build_plan(struct cr_correlator *c)
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
                if (!same_group(co->group_by, co->ngroup_by, rt->group_by, rt->ngroup_by) ||
                    co->value_field != rt->value_field)
                    continue;
                /* absence: the follow-up first, so that one rule serving as both
                 * (a heartbeat) first answers the previous start, then starts anew */
                for (int j = 0; j < co->nsteps; j++) {
                    int s = co->type == CR_CORR_ABSENCE ? co->nsteps - 1 - j : j;
                    if (co->steps[s].is_correlation || co->steps[s].index != (uint32_t)r)
                        continue;
                    if (counts_rules(co)) {
                        add_consumer(l,
                                     co->type == CR_CORR_EVENT_COUNT   ? CONS_COUNT
                                     : co->type == CR_CORR_VALUE_COUNT ? CONS_VALUE
                                                                       : CONS_NEWVAL,
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
                add_consumer(&c->chain_consumers[co->steps[s].index], step_kind(co),
                             (uint8_t)s, (uint32_t)k);
        }
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
    build_plan(c);
    int nowners = rs->nrules + rs->ncorrs;
    c->lru = calloc((size_t)nowners + 1, sizeof *c->lru);
    if (!c->lru)
        abort();
    c->cap = calloc((size_t)nowners + 1, sizeof *c->cap);
    c->horizon = calloc((size_t)nowners + 1, sizeof *c->horizon);
    if (!c->cap || !c->horizon)
        abort();
    for (int r = 0; r < rs->nrules; r++) {
        c->lru[r].max = rs->rules[r].incident ? rs->rules[r].incident->max_keys : 0;
        c->horizon[r] = rs->rules[r].incident ? open_for(rs->rules[r].incident, 3600000) : 0;
    }
    for (int k = 0; k < rs->ncorrs; k++) {
        c->lru[rs->nrules + k].max = rs->corrs[k].incident.max_keys;
        c->cap[rs->nrules + k] = corr_cap(&rs->corrs[k]);
        c->horizon[rs->nrules + k] = corr_horizon(&rs->corrs[k]);
    }
    return c;
}

static void free_state(struct state *s)
{
    incident_free(s->open);
    free(s);
}

void cr_correlator_free(struct cr_correlator *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (struct state *s = c->buckets[i], *n; s; s = n) {
            n = s->next;
            free_state(s);
        }
    for (struct cr_wmsg *m = c->extra, *n; m; m = n) {
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
    free(c->dirty.v);
    free(c->later.v);
    free(c->changed.v);
    cr_tenants_free(&c->tenants);
    free(c->buckets);
    free(c);
}

static inline size_t state_size(const struct cr_correlator *c, uint32_t owner, size_t keylen)
{
    return offsetof(struct state, u) + (size_t)c->cap[owner] * ENTRY_SIZE + keylen;
}

static inline char *state_key(const struct cr_correlator *c, const struct state *s)
{
    return (char *)s + offsetof(struct state, u) + (size_t)c->cap[s->owner] * ENTRY_SIZE;
}

static uint64_t key_hash(uint32_t owner, const char *key, size_t len)
{
    return XXH3_64bits_withSeed(key, len, owner);
}

static inline uint64_t state_hash(const struct cr_correlator *c, const struct state *s)
{
    return key_hash(s->owner, state_key(c, s), s->keylen);
}

static void grow(struct cr_correlator *c)
{
    size_t nb = c->nbuckets * 2;
    struct state **b = calloc(nb, sizeof *b);
    if (!b)
        return; /* keep the longer chains; correctness does not depend on it */
    for (size_t i = 0; i < c->nbuckets; i++)
        for (struct state *s = c->buckets[i], *n; s; s = n) {
            n = s->next;
            size_t h = state_hash(c, s) & (nb - 1);
            s->next = b[h];
            b[h] = s;
        }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = nb;
}

static void lru_unlink(struct owner_lru *l, struct state *s)
{
    if (s->lru_prev)
        s->lru_prev->lru_next = s->lru_next;
    else
        l->head = s->lru_next;
    if (s->lru_next)
        s->lru_next->lru_prev = s->lru_prev;
    else
        l->tail = s->lru_prev;
    s->lru_prev = s->lru_next = NULL;
}

static void lru_push(struct owner_lru *l, struct state *s)
{
    s->lru_prev = NULL;
    s->lru_next = l->head;
    if (l->head)
        l->head->lru_prev = s;
    l->head = s;
    if (!l->tail)
        l->tail = s;
}

static void remove_state(struct cr_correlator *c, struct state **link, struct state *s);

/* Can state v be freed now (not waiting to be written, snapshotted, or for
 * a deadline)? */
static inline int evictable(const struct state *v)
{
    return !v->dirty && !v->changed && !v->heaped;
}


/* A consumer over its max_keys: evict its least recently touched state that
 * can go now (not waiting to be written, snapshotted, or for a deadline; not
 * the one being added). Input order decides, not timing: the same input
 * evicts the same keys. */
static void enforce_budget(struct cr_correlator *c, struct owner_lru *l, struct state *keep)
{
    int tries = 0;
    for (struct state *v = l->tail; v && l->n > l->max && tries < 64; tries++) {
        struct state *prev = v->lru_prev;
        if (v != keep && evictable(v)) {
            struct state **link = &c->buckets[state_hash(c, v) & (c->nbuckets - 1)];
            while (*link != v)
                link = &(*link)->next;
            remove_state(c, link, v);
            l->evicted++;
            c->stats.evicted++;
            c->stats.budget_evicted++;
        }
        v = prev;
    }
}

static void evict_for_tenant(struct cr_correlator *c, struct state *v)
{
    struct state **link = &c->buckets[state_hash(c, v) & (c->nbuckets - 1)];
    while (*link != v)
        link = &(*link)->next;
    cr_tenants_find(&c->tenants, v->tenant)->evicted++;
    remove_state(c, link, v);
    c->stats.evicted++;
    c->stats.tenant_evicted++;
}

/* Tenant budget (correlation.max_keys_per_tenant): the tenant of the new
 * state `keep` is over it. Evict that tenant's least recently touched
 * evictable state: looking from the tail of the new state's own consumer
 * (its LRU list), then of every other consumer in index order, at most
 * TENANT_SCAN states of each. Input order decides, as for max_keys. When
 * the tails hold only other tenants' states, the tenant stays over until
 * the next flush, which evicts its oldest states by a full pass
 * (evict_tenants_over). */
#define TENANT_SCAN 64

static void enforce_tenant(struct cr_correlator *c, struct cr_tenant *e, struct state *keep)
{
    uint32_t nowners = (uint32_t)(c->rs->nrules + c->rs->ncorrs), own = keep->owner;
    for (uint32_t i = 0; i < nowners && e->states > c->max_per_tenant; i++) {
        uint32_t o = i == 0 ? own : (i - 1 < own ? i - 1 : i);
        int tries = 0;
        for (struct state *v = c->lru[o].tail; v && tries < TENANT_SCAN;
             tries++, v = v->lru_prev) {
            if (v == keep || v->tenant != keep->tenant || !evictable(v))
                continue;
            evict_for_tenant(c, v);
            break;
        }
    }
    if (e->states > c->max_per_tenant)
        c->tenants_over = 1;
}

struct tenant_ent {
    struct state *s;
    size_t i;
};

static int by_tenant_age_stable(const void *a, const void *b)
{
    const struct tenant_ent *x = a, *y = b;
    if (x->s->tenant != y->s->tenant)
        return x->s->tenant < y->s->tenant ? -1 : 1;
    if (x->s->last_ms != y->s->last_ms)
        return x->s->last_ms < y->s->last_ms ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* At a flush, for tenants still over budget: evict their states the least
 * recently touched first (ties: table order, which the input decides),
 * down to the budget. Walks the table: only when enforce_tenant could not
 * keep up. */
static void evict_tenants_over(struct cr_correlator *c)
{
    c->tenants_over = 0;
    size_t n = 0, cap = 0;
    struct state **v = NULL;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (struct state *s = c->buckets[i]; s; s = s->next) {
            struct cr_tenant *e = s->tenant ? cr_tenants_find(&c->tenants, s->tenant) : NULL;
            if (!e || e->states <= c->max_per_tenant || !evictable(s))
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                v = realloc(v, cap * sizeof *v);
                if (!v)
                    abort();
            }
            v[n++] = s;
        }
    /* qsort is not stable: make it so with the collection index as the last key */
    struct tenant_ent *es = malloc((n ? n : 1) * sizeof *es);
    if (!es)
        abort();
    for (size_t i = 0; i < n; i++)
        es[i] = (struct tenant_ent){v[i], i};
    qsort(es, n, sizeof *es, by_tenant_age_stable);
    for (size_t i = 0; i < n; i++) {
        struct cr_tenant *e = cr_tenants_find(&c->tenants, es[i].s->tenant);
        if (e->states > c->max_per_tenant)
            evict_for_tenant(c, es[i].s);
        if (e->states > c->max_per_tenant)
            c->tenants_over = 1; /* not enough evictable now: try again next flush */
    }
    free(es);
    free(v);
}

static void mark_changed(struct cr_correlator *c, struct state *s)
{
    if (c->checkpointing && !s->changed) {
        s->changed = 1;
        svec_push(&c->changed, s);
    }
}

static struct state *lookup(struct cr_correlator *c, uint32_t owner, const char *key, size_t len)
{
    uint64_t h = key_hash(owner, key, len);
    for (struct state *s = c->buckets[h & (c->nbuckets - 1)]; s; s = s->next)
        if (s->owner == owner && s->keylen == len && memcmp(state_key(c, s), key, len) == 0) {
            mark_changed(c, s);
            s->src = c->cur_src;
            struct owner_lru *l = &c->lru[owner];
            if (l->head != s) {
                lru_unlink(l, s);
                lru_push(l, s);
            }
            return s;
        }
    struct state *s = calloc(1, state_size(c, owner, len));
    if (!s)
        abort();
    s->owner = (uint16_t)owner;
    s->tenant = c->cur_tenant;
    s->keylen = (uint16_t)(len & 0x1ff);
    s->last_ms = INT64_MIN;
    memcpy(state_key(c, s), key, len);
    s->next = c->buckets[h & (c->nbuckets - 1)];
    c->buckets[h & (c->nbuckets - 1)] = s;
    c->stats.states++;
    if (c->stats.states > c->stats.states_peak)
        c->stats.states_peak = c->stats.states;
    if (c->stats.states > c->nbuckets)
        grow(c);
    mark_changed(c, s);
    s->src = c->cur_src;
    struct owner_lru *l = &c->lru[owner];
    lru_push(l, s);
    l->n++;
    if (l->max && l->n > l->max)
        enforce_budget(c, l, s);
    if (c->max_per_tenant && s->tenant) {
        struct cr_tenant *e = cr_tenants_get(&c->tenants, s->tenant);
        if (++e->states > c->max_per_tenant)
            enforce_tenant(c, e, s);
    }
    return s;
}

static void mark_dirty(struct cr_correlator *c, struct state *s)
{
    if (c->replaying) {
        /* the previous owner of the partition emitted this version already;
         * the next live match will emit the incident with its full state */
        s->created = 0;
        return;
    }
    if (!s->dirty) {
        s->dirty = 1;
        svec_push(&c->dirty, s);
    }
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* A fresh incident for a consumer owning state s. */
static struct cr_incident *new_incident_key(struct cr_correlator *c, const char *rule_id,
                                            const char *rule_title,
                                            const struct cr_incident_spec *spec,
                                            const uint16_t *group_by, int ngroup,
                                            const char *key, size_t keylen, int64_t window_start)
{
    const struct cr_ruleset *rs = c->rs;
    struct cr_incident *inc = incident_alloc();
    cr_incident_make_id(inc->id, rule_id, key, keylen, window_start);
    copy_str(inc->rule, sizeof inc->rule, rule_id);
    copy_str(inc->title, sizeof inc->title, spec->title ? spec->title : rule_title);
    copy_str(inc->category, sizeof inc->category, spec->category);
    copy_str(inc->reg_category, sizeof inc->reg_category, spec->reg_category);
    copy_str(inc->priority, sizeof inc->priority, spec->priority[0] ? spec->priority : "P3");
    inc->reg_level = spec->reg_level;
    copy_str(inc->status, sizeof inc->status, "detected");
    inc->window_start_ms = window_start;
    /* entities: the group_by field names with the key's values */
    size_t off = 0;
    for (int i = 0; i < ngroup && i < CR_INC_MAX_ENTITIES; i++) {
        const char *v = key + off;
        const char *end = memchr(v, CR_KEY_SEP, keylen - off);
        size_t vlen = end ? (size_t)(end - v) : keylen - off;
        const char *name = group_by[i] < rs->nfields ? rs->field_names[group_by[i]] : "?";
        copy_str(inc->entities[i].name, sizeof inc->entities[i].name, name);
        size_t cap = sizeof inc->entities[i].value - 1;
        size_t n = vlen < cap ? vlen : cap;
        memcpy(inc->entities[i].value, v, n);
        inc->entities[i].value[n] = 0;
        inc->nentities++;
        off += vlen + 1;
        if (off > keylen)
            break;
    }
    return inc;
}

/* A fresh incident whose key is the key of state s. */
static struct cr_incident *new_incident(struct cr_correlator *c, const char *rule_id,
                                        const char *rule_title,
                                        const struct cr_incident_spec *spec,
                                        const uint16_t *group_by, int ngroup, struct state *s,
                                        int64_t window_start)
{
    return new_incident_key(c, rule_id, rule_title, spec, group_by, ngroup, state_key(c, s),
                            s->keylen, window_start);
}

static int64_t open_for(const struct cr_incident_spec *spec, int64_t fallback)
{
    return spec->open_for_ms > 0 ? spec->open_for_ms : fallback;
}

/* The incident of state s is past its open window: forget it (its last
 * version was flushed, or is flushed now). */
static void close_if_expired(struct cr_correlator *c, struct state *s, int64_t t,
                             struct cr_wmsg **extra_head)
{
    if (!s->open || t <= meta(s->open)->until)
        return;
    if (s->dirty) {
        /* unflushed changes of the old incident: hand them out now */
        struct cr_wmsg *m = cr_wmsg_incident(s->open, s->created);
        m->next = *extra_head;
        *extra_head = m;
        s->created = 0;
        /* keep s in the dirty list: harmless, flush skips states without incidents */
    }
    incident_free(s->open);
    s->open = NULL;
}

static void update_incident(struct cr_correlator *c, struct state *s, const struct cr_match *m,
                            int64_t t, int64_t open_ms)
{
    struct cr_incident *inc = s->open;
    inc->event_count++;
    if (t > inc->last_seen_ms)
        inc->last_seen_ms = t;
    if (t < inc->first_seen_ms)
        inc->first_seen_ms = t;
    if (m) {
        cr_incident_add_ref(inc, m->input, m->position, t);
        cr_incident_add_sample(inc, m->raw, m->raw_len);
    }
    if (t + open_ms > meta(inc)->until)
        meta(inc)->until = t + open_ms;
    c->stats.incident_updates++;
    mark_dirty(c, s);
}

/* State s now has incident inc open until `until` (event time): it is new,
 * counted, and goes to the writer at the next flush. */
static void open_incident(struct cr_correlator *c, struct state *s, struct cr_incident *inc,
                          int64_t until)
{
    s->open = inc;
    meta(inc)->until = until;
    s->created = 1;
    c->stats.incidents_opened++;
    mark_dirty(c, s);
}

static void chain(struct cr_correlator *c, uint32_t corr, const char *key, size_t keylen,
                  int64_t t, const struct cr_incident *from, int depth);

static void apply_rule_incident(struct cr_correlator *c, uint32_t r, const struct cr_match *m,
                                struct cr_wmsg **extra)
{
    const struct cr_rule *rule = &c->rs->rules[r];
    const struct cr_incident_spec *spec = rule->incident;
    int64_t ofor = open_for(spec, 3600000);
    int64_t t = m->time_ms;
    struct state *s = lookup(c, r, m->key, m->key_len);
    if (t > s->last_ms)
        s->last_ms = t;
    close_if_expired(c, s, t, extra);
    if (s->open) {
        update_incident(c, s, m, t, ofor);
        return;
    }
    struct cr_incident *inc =
        new_incident(c, rule->id, rule->title, spec, rule->group_by, rule->ngroup_by, s, t);
    inc->first_seen_ms = inc->last_seen_ms = t;
    inc->event_count = 1;
    cr_incident_add_ref(inc, m->input, m->position, t);
    cr_incident_add_sample(inc, m->raw, m->raw_len);
    cr_incident_add_reason(inc, "matched rule %s", rule->id);
    open_incident(c, s, inc, t + ofor);
}

static uint32_t corr_cap(const struct cr_correlation *co)
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

static int64_t corr_horizon(const struct cr_correlation *co)
{
    int64_t ofor = open_for(&co->incident, co->timespan_ms);
    int64_t h = co->timespan_ms > ofor ? co->timespan_ms : ofor;
    return co->learn_ms > h ? co->learn_ms : h; /* new_value: learn; 0 elsewhere */
}

/* The start every counting operator shares: find the key's state, note the
 * event time, forget an incident that has closed. If one is still open, the
 * match updates it (and the correlations chained to it) and there is nothing
 * left to count: returns NULL. */
static struct state *count_begin(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                                 struct cr_wmsg **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t t = m->time_ms;
    struct state *s = lookup(c, (uint32_t)c->rs->nrules + k, m->key, m->key_len);
    if (t > s->last_ms)
        s->last_ms = t;
    close_if_expired(c, s, t, extra);
    if (!s->open)
        return s;
    update_incident(c, s, m, t, open_for(&co->incident, co->timespan_ms));
    chain(c, k, m->key, m->key_len, t, s->open, 0);
    return NULL;
}

static void apply_window(struct cr_correlator *c, uint32_t k, const struct cr_match *m);

static void apply_count(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                        struct cr_wmsg **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    if (co->windowed) {
        apply_window(c, k, m);
        return;
    }
    uint32_t n = corr_cap(co);
    int64_t ofor = open_for(&co->incident, co->timespan_ms);
    int64_t t = m->time_ms;
    struct state *s = count_begin(c, k, m, extra);
    if (!s)
        return;
    /* insert (t, ref) keeping the ring sorted by time; a full ring drops
     * its oldest entry, which can no longer be part of a newer window of N */
    struct evref e = evref_make(t, m->position, m->input);
    struct evref *ring = s->u.ring;
    if (s->n == n) {
        if (t < ring[0].t)
            return; /* older than all N kept: cannot complete a window with them */
        memmove(ring, ring + 1, (size_t)(n - 1) * sizeof *ring);
        s->n--;
    }
    uint32_t pos = s->n;
    while (pos > 0 && ring[pos - 1].t > t) {
        ring[pos] = ring[pos - 1];
        pos--;
    }
    ring[pos] = e;
    s->n++;
    if (s->n < n || ring[n - 1].t - ring[0].t > co->timespan_ms)
        return;

    struct cr_incident *inc = new_incident(c, co->id, co->title, &co->incident, co->group_by,
                                           co->ngroup_by, s, ring[0].t);
    inc->first_seen_ms = ring[0].t;
    inc->last_seen_ms = ring[n - 1].t;
    inc->event_count = n;
    for (uint32_t i = 0; i < n; i++)
        cr_incident_add_ref(inc, evref_input(&ring[i]), evref_pos(&ring[i]), ring[i].t);
    cr_incident_add_sample(inc, m->raw, m->raw_len);
    char span[32];
    int64_t secs = (ring[n - 1].t - ring[0].t) / 1000;
    snprintf(span, sizeof span, "%llds", (long long)secs);
    cr_incident_add_reason(inc, "%u matches of %s within %s (threshold: >= %u in %llds)", n,
                           co->nsteps == 1 ? c->rs->rules[co->steps[0].index].id : "its rules",
                           span, n, (long long)(co->timespan_ms / 1000));
    s->n = 0; /* the threshold restarts once it fired */
    open_incident(c, s, inc, inc->last_seen_ms + ofor);
    chain(c, k, m->key, m->key_len, t, inc, 0);
}

/* Step `step` of sequence correlation k happened at t for key. m is the
 * match (NULL when the step is a chained correlation's incident). */
static void apply_seq(struct cr_correlator *c, uint32_t k, int step, const char *key,
                      size_t keylen, int64_t t, const struct cr_match *m,
                      const struct cr_incident *from, int depth, struct cr_wmsg **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t ofor = open_for(&co->incident, co->timespan_ms);
    uint32_t owner = (uint32_t)c->rs->nrules + k;
    struct state *s =
        lookup(c, owner, key, keylen);
    struct stage *st = s->u.stages;
    char *link = (char *)&st[co->nsteps]; /* id of the incident behind step 0, or "" */
    if (s->n == 0) {
        for (int i = 0; i < co->nsteps; i++)
            st[i].start = st[i].reached = INT64_MIN;
        link[0] = 0;
        s->n = 1;
    }
    if (t > s->last_ms)
        s->last_ms = t;
    close_if_expired(c, s, t, extra);
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
        if (prev->reached == INT64_MIN || t < prev->reached || t - prev->start > co->timespan_ms)
            return;
        if (step < last) {
            st[step].start = prev->start;
            st[step].reached = t;
            return;
        }
    }
    /* the last step completed a sequence */
    if (s->open) {
        update_incident(c, s, m, t, ofor);
        chain(c, k, key, keylen, t, s->open, depth + 1);
        return;
    }
    struct cr_incident *inc =
        new_incident(c, co->id, co->title, &co->incident, co->group_by, co->ngroup_by, s, start);
    inc->first_seen_ms = start;
    inc->last_seen_ms = t;
    inc->event_count = 1;
    if (m) {
        cr_incident_add_ref(inc, m->input, m->position, t);
        cr_incident_add_sample(inc, m->raw, m->raw_len);
    }
    char a[32], b[32];
    cr_time_format(start, a, sizeof a);
    cr_time_format(t, b, sizeof b);
    const struct cr_input_ref *first = &co->steps[0];
    const char *first_id =
        first->is_correlation ? c->rs->corrs[first->index].id : c->rs->rules[first->index].id;
    const struct cr_input_ref *lastref = &co->steps[last];
    const char *last_id = lastref->is_correlation ? c->rs->corrs[lastref->index].id
                                                  : c->rs->rules[lastref->index].id;
    cr_incident_add_reason(inc, "%s at %s, then %s at %s (within %llds)", first_id, a, last_id, b,
                           (long long)(co->timespan_ms / 1000));
    if (link[0]) {
        const struct cr_correlation *first_co = &c->rs->corrs[first->index];
        cr_incident_add_reason(inc, "follows incident %s (%s)", link,
                               first_co->incident.category);
    }
    open_incident(c, s, inc, t + ofor);
    chain(c, k, key, keylen, t, inc, depth + 1);
}


/* ---- value_count ---- */

struct vref {
    uint64_t v;
    int64_t t;
};

/* N distinct values of a field per key within the window. The state keeps,
 * for up to N distinct values, the latest time each was seen: if N distinct
 * values fall in a window, the N most recently seen ones do. */
static void apply_value(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                        struct cr_wmsg **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    uint32_t n = corr_cap(co);
    int64_t ofor = open_for(&co->incident, co->timespan_ms);
    int64_t t = m->time_ms;
    struct state *s = count_begin(c, k, m, extra);
    if (!s)
        return;
    struct vref *vr = (struct vref *)&s->u;
    uint32_t i, oldest = 0;
    for (i = 0; i < s->n && vr[i].v != m->value; i++)
        if (vr[i].t < vr[oldest].t)
            oldest = i;
    if (i < s->n) {
        if (t > vr[i].t)
            vr[i].t = t;
    } else if (s->n < n) {
        vr[s->n++] = (struct vref){m->value, t};
    } else if (t > vr[oldest].t) {
        vr[oldest] = (struct vref){m->value, t};
    } else
        return; /* older than every value kept: it cannot complete a newer window */
    int64_t newest = INT64_MIN, first = INT64_MAX;
    for (i = 0; i < s->n; i++)
        if (vr[i].t > newest)
            newest = vr[i].t;
    uint32_t in = 0;
    for (i = 0; i < s->n; i++)
        if (vr[i].t >= newest - co->timespan_ms) {
            in++;
            if (vr[i].t < first)
                first = vr[i].t;
        }
    if (in < n)
        return;
    struct cr_incident *inc =
        new_incident(c, co->id, co->title, &co->incident, co->group_by, co->ngroup_by, s, first);
    inc->first_seen_ms = first;
    inc->last_seen_ms = newest;
    inc->event_count = n;
    cr_incident_add_ref(inc, m->input, m->position, t);
    cr_incident_add_sample(inc, m->raw, m->raw_len);
    const char *fname =
        co->value_field >= 0 && co->value_field < c->rs->nfields ? c->rs->field_names[co->value_field]
                                                                  : "?";
    cr_incident_add_reason(inc, "%u distinct %s values within %llds (threshold: >= %u in %llds)",
                           n, fname, (long long)((newest - first) / 1000), n,
                           (long long)(co->timespan_ms / 1000));
    s->n = 0;
    open_incident(c, s, inc, newest + ofor);
    chain(c, k, m->key, m->key_len, t, inc, 0);
}

/* ---- new_value ---- */

/* A value of `field` the key has not shown within `history`. State: entry 0
 * holds the key's first match time (learning runs from it), then up to
 * max_values (value hash, last seen) pairs; s->n = 1 + values kept. When
 * full, the least recently seen value makes room (counted: it will look new
 * if it comes back). */
static void apply_newval(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                         struct cr_wmsg **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t t = m->time_ms;
    struct state *s = lookup(c, (uint32_t)c->rs->nrules + k, m->key, m->key_len);
    struct evref *head = &s->u.ring[0];
    struct vref *vr = (struct vref *)(void *)(s->u.ring + 1);
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
    int64_t ofor = open_for(&co->incident, 3600000);
    close_if_expired(c, s, t, extra);
    if (s->open) {
        update_incident(c, s, m, t, ofor);
        chain(c, k, m->key, m->key_len, t, s->open, 0);
        return;
    }
    struct cr_incident *inc =
        new_incident(c, co->id, co->title, &co->incident, co->group_by, co->ngroup_by, s, t);
    inc->first_seen_ms = inc->last_seen_ms = t;
    inc->event_count = 1;
    cr_incident_add_ref(inc, m->input, m->position, t);
    cr_incident_add_sample(inc, m->raw, m->raw_len);
    const char *fname = co->value_field >= 0 && co->value_field < c->rs->nfields
                            ? c->rs->field_names[co->value_field]
                            : "?";
    char a[32];
    cr_time_format(head->t + co->learn_ms, a, sizeof a);
    cr_incident_add_reason(inc, "a %s value not seen for this key within %llds (%u known; "
                           "learning ended %s)",
                           fname, (long long)(co->timespan_ms / 1000), s->n - 2, a);
    open_incident(c, s, inc, t + ofor);
    chain(c, k, m->key, m->key_len, t, inc, 0);
}

/* ---- temporal (every step, any order) ---- */

static void apply_all(struct cr_correlator *c, uint32_t k, int step, const char *key,
                      size_t keylen, int64_t t, const struct cr_match *m, int depth,
                      struct cr_wmsg **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t ofor = open_for(&co->incident, co->timespan_ms);
    struct state *s =
        lookup(c, (uint32_t)c->rs->nrules + k, key, keylen);
    struct stage *st = s->u.stages;
    if (s->n == 0) {
        for (int i = 0; i < co->nsteps; i++)
            st[i].start = st[i].reached = INT64_MIN;
        s->n = 1;
    }
    if (t > s->last_ms)
        s->last_ms = t;
    close_if_expired(c, s, t, extra);
    if (s->open) {
        update_incident(c, s, m, t, ofor);
        chain(c, k, key, keylen, t, s->open, depth + 1);
        return;
    }
    if (t > st[step].reached)
        st[step].reached = t; /* the latest occurrence of each step */
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int i = 0; i < co->nsteps; i++) {
        if (st[i].reached == INT64_MIN)
            return;
        if (st[i].reached < lo)
            lo = st[i].reached;
        if (st[i].reached > hi)
            hi = st[i].reached;
    }
    if (hi - lo > co->timespan_ms)
        return;
    struct cr_incident *inc =
        new_incident(c, co->id, co->title, &co->incident, co->group_by, co->ngroup_by, s, lo);
    inc->first_seen_ms = lo;
    inc->last_seen_ms = hi;
    inc->event_count = (uint64_t)co->nsteps;
    if (m) {
        cr_incident_add_ref(inc, m->input, m->position, t);
        cr_incident_add_sample(inc, m->raw, m->raw_len);
    }
    cr_incident_add_reason(inc, "all %d of its steps within %llds (window %llds)", co->nsteps,
                           (long long)((hi - lo) / 1000), (long long)(co->timespan_ms / 1000));
    for (int i = 0; i < co->nsteps; i++)
        st[i].reached = INT64_MIN;
    open_incident(c, s, inc, hi + ofor);
    chain(c, k, key, keylen, t, inc, depth + 1);
}

/* ---- absence ---- */

/* Deadline heap entries that point at state s (an absence or a count
 * window with an upper bound): in its last entry, so that the states of
 * other operators do not carry the field. While it is not 0 (s->heaped),
 * the state is not freed. */
static uint32_t *heap_count(const struct cr_correlator *c, struct state *s)
{
    return (uint32_t *)(void *)&s->u.stages[c->cap[s->owner] - 1];
}

static void heap_push(struct cr_correlator *c, int64_t at, struct state *s)
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
    uint32_t *cnt = heap_count(c, s);
    if ((*cnt)++ == 0)
        s->heaped = 1;
}

static struct deadline heap_pop(struct cr_correlator *c)
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
    uint32_t *cnt = heap_count(c, top.s);
    if (--*cnt == 0)
        top.s->heaped = 0;
    return top;
}

/* Absence state: stages[0] = {start of the unanswered step 0, its deadline},
 * stages[1] = {its position, its input} for evidence, then the link id. */
static void apply_absent(struct cr_correlator *c, uint32_t k, int step, const char *key,
                         size_t keylen, int64_t t, const struct cr_match *m,
                         const struct cr_incident *from, struct cr_wmsg **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    struct state *s =
        lookup(c, (uint32_t)c->rs->nrules + k, key, keylen);
    struct stage *st = s->u.stages;
    char *link = (char *)&st[2];
    if (s->n == 0) {
        st[0].start = st[0].reached = INT64_MIN;
        link[0] = 0;
        s->n = 1;
    }
    if (t > s->last_ms)
        s->last_ms = t;
    close_if_expired(c, s, t, extra);
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
    heap_push(c, st[0].reached, s);
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
static void apply_window(struct cr_correlator *c, uint32_t k, const struct cr_match *m)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t t = m->time_ms;
    struct state *s = lookup(c, (uint32_t)c->rs->nrules + k, m->key, m->key_len);
    struct cwindow *w = (struct cwindow *)(void *)&s->u;
    struct evref *refs = s->u.ring + WINDOW_HEAD;
    if (t > s->last_ms)
        s->last_ms = t;
    if (s->n == 0) {
        if (w->end && t <= w->end)
            return; /* late: its window was decided already */
        w->start = w->last = t;
        w->end = t + co->timespan_ms;
        w->count = 0;
        s->n = (uint32_t)WINDOW_HEAD;
        heap_push(c, w->end, s);
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
static void fire_window(struct cr_correlator *c, struct state *s, int64_t at)
{
    uint32_t k = s->owner - (uint32_t)c->rs->nrules;
    const struct cr_correlation *co = &c->rs->corrs[k];
    struct cwindow *w = (struct cwindow *)(void *)&s->u;
    const struct evref *refs = s->u.ring + WINDOW_HEAD;
    if (s->n == 0 || w->end != at)
        return; /* stale entry: the window was dropped */
    uint32_t nref = s->n - (uint32_t)WINDOW_HEAD;
    s->n = 0;
    mark_changed(c, s);
    if (s->last_ms < at)
        s->last_ms = at;
    if (w->count < co->gte || w->count > co->lte)
        return;
    int64_t ofor = open_for(&co->incident, co->timespan_ms);
    close_if_expired(c, s, at, &c->extra);
    if (s->open) {
        struct cr_incident *inc = s->open;
        for (uint32_t i = 0; i < nref; i++)
            cr_incident_add_ref(inc, evref_input(&refs[i]), evref_pos(&refs[i]), refs[i].t);
        inc->event_count += w->count;
        if (w->last > inc->last_seen_ms)
            inc->last_seen_ms = w->last;
        if (at + ofor > meta(inc)->until)
            meta(inc)->until = at + ofor;
        c->stats.incident_updates++;
        mark_dirty(c, s);
    } else {
        struct cr_incident *inc = new_incident(c, co->id, co->title, &co->incident,
                                               co->group_by, co->ngroup_by, s, w->start);
        inc->first_seen_ms = w->start;
        inc->last_seen_ms = w->last;
        inc->event_count = w->count;
        for (uint32_t i = 0; i < nref; i++)
            cr_incident_add_ref(inc, evref_input(&refs[i]), evref_pos(&refs[i]), refs[i].t);
        char cond[48], a[32];
        condition_text(co, cond, sizeof cond);
        cr_time_format(w->start, a, sizeof a);
        cr_incident_add_reason(inc, "%llu matches of %s in the %llds window from %s (condition: %s)",
                               (unsigned long long)w->count,
                               co->nsteps == 1 ? c->rs->rules[co->steps[0].index].id : "its rules",
                               (long long)(co->timespan_ms / 1000), a, cond);
        open_incident(c, s, inc, at + ofor);
    }
    c->cur_tenant = s->tenant; /* what it chains to belongs to the same tenant */
    chain(c, k, state_key(c, s), s->keylen, at, s->open, 0);
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

static struct state *find_state(struct cr_correlator *c, uint32_t owner, const char *key,
                                size_t len)
{
    uint64_t h = key_hash(owner, key, len);
    for (struct state *s = c->buckets[h & (c->nbuckets - 1)]; s; s = s->next)
        if (s->owner == owner && s->keylen == len && memcmp(state_key(c, s), key, len) == 0)
            return s;
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
 * sequence; its incident's key is the chain of join values. */
static void apply_jseq(struct cr_correlator *c, uint32_t k, int step, const char *key,
                       size_t keylen, int64_t t, const struct cr_match *m,
                       const struct cr_incident *from, int depth, struct cr_wmsg **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    const struct cr_join_step *js = &co->join[step];
    uint32_t owner = (uint32_t)c->rs->nrules + k;
    int64_t ofor = open_for(&co->incident, co->timespan_ms);
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
        const struct state *ps = find_state(c, owner, k2, jkey(k2, step - 1, x, xn));
        if (!ps || ps->n == 0)
            return;
        const struct jpartial *pp = (const struct jpartial *)(const void *)&ps->u;
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
        struct state *ns = lookup(c, owner, k2, jkey(k2, step, y, yn));
        struct jpartial *np = (struct jpartial *)(void *)&ns->u;
        if (t > ns->last_ms)
            ns->last_ms = t;
        if (ns->n && (np->start > p.start || (np->start == p.start && np->reached <= p.reached)))
            return; /* the partial already there dominates */
        *np = p;
        ns->n = 1;
        return;
    }
    /* the last step completed a sequence */
    struct state *s = lookup(c, owner, k2, jkey(k2, last, p.vals, p.vlen));
    if (t > s->last_ms)
        s->last_ms = t;
    close_if_expired(c, s, t, extra);
    if (s->open) {
        update_incident(c, s, m, t, ofor);
        chain(c, k, p.vals, p.vlen, t, s->open, depth + 1);
        return;
    }
    struct cr_incident *inc = new_incident_key(c, co->id, co->title, &co->incident, co->group_by,
                                               co->ngroup_by, p.vals, p.vlen, p.start);
    inc->first_seen_ms = p.start;
    inc->last_seen_ms = t;
    inc->event_count = 1;
    for (int i = 0; i <= last; i++)
        if (p.refs[i].t != INT64_MIN)
            cr_incident_add_ref(inc, evref_input(&p.refs[i]), evref_pos(&p.refs[i]), p.refs[i].t);
    if (m)
        cr_incident_add_sample(inc, m->raw, m->raw_len);
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
    open_incident(c, s, inc, t + ofor);
    chain(c, k, p.vals, p.vlen, t, inc, depth + 1);
}

/* Fire every absence and count window whose deadline the event-time
 * watermark has passed. */
static void fire_due(struct cr_correlator *c)
{
    while (c->nheap && c->heap[0].at < c->watermark) {
        struct deadline d = heap_pop(c);
        struct state *s = d.s;
        uint32_t k = s->owner - (uint32_t)c->rs->nrules;
        if (c->rs->corrs[k].type == CR_CORR_EVENT_COUNT) {
            fire_window(c, s, d.at);
            continue;
        }
        struct stage *st = s->u.stages;
        if (st[0].start == INT64_MIN || st[0].reached != d.at)
            continue; /* answered, or replaced: a stale entry */
        const struct cr_correlation *co = &c->rs->corrs[k];
        int64_t start = st[0].start, ofor = open_for(&co->incident, co->timespan_ms);
        st[0].start = INT64_MIN;
        mark_changed(c, s);
        close_if_expired(c, s, d.at, &c->extra);
        if (s->open) {
            update_incident(c, s, NULL, d.at, ofor);
        } else {
            struct cr_incident *inc = new_incident(c, co->id, co->title, &co->incident,
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
            open_incident(c, s, inc, d.at + ofor);
        }
        if (s->last_ms < d.at)
            s->last_ms = d.at;
        c->cur_tenant = s->tenant;
        chain(c, k, state_key(c, s), s->keylen, d.at, s->open, 0);
    }
}

static void chain(struct cr_correlator *c, uint32_t corr, const char *key, size_t keylen,
                  int64_t t, const struct cr_incident *from, int depth)
{
    const struct consumer_list *l = &c->chain_consumers[corr];
    if (depth > CR_MAX_STEPS * 4) /* cycles are refused at load; this is a second guard */
        return;
    for (int i = 0; i < l->n; i++) {
        const struct consumer *cs = &l->v[i];
        if (cs->kind == CONS_ALL)
            apply_all(c, cs->index, cs->step, key, keylen, t, NULL, depth, &c->extra);
        else if (cs->kind == CONS_ABSENT)
            apply_absent(c, cs->index, cs->step, key, keylen, t, NULL, from, &c->extra);
        else if (cs->kind == CONS_JSEQ)
            apply_jseq(c, cs->index, cs->step, key, keylen, t, NULL, from, depth, &c->extra);
        else
            apply_seq(c, cs->index, cs->step, key, keylen, t, NULL, from, depth, &c->extra);
    }
}

void cr_correlator_advance(struct cr_correlator *c, int64_t t)
{
    if (t > c->watermark) {
        c->watermark = t;
        fire_due(c);
    }
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
        fire_due(c);
    }
    c->cur_tenant = m->tenant;
    if (m->rule >= (uint32_t)c->rs->nrules || m->route >= 4)
        return;
    const struct consumer_list *l = &c->route_consumers[m->rule * 4 + m->route];
    for (int i = 0; i < l->n; i++) {
        const struct consumer *cs = &l->v[i];
        switch (cs->kind) {
        case CONS_RULE_INCIDENT:
            apply_rule_incident(c, cs->index, m, &c->extra);
            break;
        case CONS_COUNT:
            apply_count(c, cs->index, m, &c->extra);
            break;
        case CONS_SEQ:
            apply_seq(c, cs->index, cs->step, m->key, m->key_len, m->time_ms, m, NULL, 0,
                      &c->extra);
            break;
        case CONS_VALUE:
            apply_value(c, cs->index, m, &c->extra);
            break;
        case CONS_ALL:
            apply_all(c, cs->index, cs->step, m->key, m->key_len, m->time_ms, m, 0, &c->extra);
            break;
        case CONS_ABSENT:
            apply_absent(c, cs->index, cs->step, m->key, m->key_len, m->time_ms, m, NULL,
                         &c->extra);
            break;
        case CONS_JSEQ:
            apply_jseq(c, cs->index, cs->step, m->key, m->key_len, m->time_ms, m, NULL, 0,
                       &c->extra);
            break;
        case CONS_NEWVAL:
            apply_newval(c, cs->index, m, &c->extra);
            break;
        }
    }
}

static const char *owner_id(const struct cr_correlator *c, uint32_t owner)
{
    return owner < (uint32_t)c->rs->nrules ? c->rs->rules[owner].id
                                           : c->rs->corrs[owner - (uint32_t)c->rs->nrules].id;
}

/* Checkpoint key of a state: consumer id, NUL, key bytes. Returns its length
 * (0 if it does not fit in cap). */
static size_t ckpt_key(const struct cr_correlator *c, struct state *s, char *out, size_t cap)
{
    const char *id = owner_id(c, s->owner);
    size_t n = strlen(id);
    if (n + 1 + s->keylen > cap)
        return 0;
    memcpy(out, id, n);
    out[n] = 0;
    memcpy(out + n + 1, state_key(c, s), s->keylen);
    return n + 1 + s->keylen;
}

static void remove_state(struct cr_correlator *c, struct state **link, struct state *s)
{
    if (s->persisted) {
        /* the snapshot must delete it too, or a restart would bring it back */
        char k[512];
        size_t kl = ckpt_key(c, s, k, sizeof k);
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
    *link = s->next;
    if (c->max_per_tenant && s->tenant)
        cr_tenants_find(&c->tenants, s->tenant)->states--;
    struct owner_lru *l = &c->lru[s->owner];
    lru_unlink(l, s);
    l->n--;
    free_state(s);
    c->stats.states--;
}

/* Drop states no window or open incident can use any more; then, if the
 * table is still over its budget, evict the least recently touched. */
static void expire(struct cr_correlator *c)
{
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct state **link = &c->buckets[i];
        while (*link) {
            struct state *s = *link;
            int64_t until =
                s->last_ms == INT64_MIN ? INT64_MIN : s->last_ms + c->horizon[s->owner];
            if (s->open && meta(s->open)->until > until)
                until = meta(s->open)->until;
            if (!s->dirty && !s->changed && !s->heaped && until < c->watermark) {
                remove_state(c, link, s);
                c->stats.expired++;
            } else
                link = &s->next;
        }
    }
    if (c->stats.states <= c->max_keys)
        return;
    /* over budget: find the cut-off time that removes about 10% beyond the
     * budget, by sampling last_ms, then remove states older than it */
    uint64_t target = c->stats.states - c->max_keys + c->max_keys / 10;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (struct state *s = c->buckets[i]; s; s = s->next) {
            if (s->last_ms < lo)
                lo = s->last_ms;
            if (s->last_ms > hi)
                hi = s->last_ms;
        }
    uint64_t removed = 0;
    while (removed < target && lo <= hi) {
        int64_t cut = lo + (hi - lo) / 8 + 1;
        for (size_t i = 0; i < c->nbuckets && removed < target; i++) {
            struct state **link = &c->buckets[i];
            while (*link && removed < target) {
                struct state *s = *link;
                if (!s->dirty && !s->changed && !s->heaped && s->last_ms < cut) {
                    remove_state(c, link, s);
                    removed++;
                } else
                    link = &s->next;
            }
        }
        lo = cut;
    }
    c->stats.evicted += removed;
}

/* An updated incident goes out at most every EMIT_EVERY batch ends (an
 * opening always at once): in an alert storm every hot incident changes in
 * every batch, and writing each version cost more than correlating. */
#define EMIT_EVERY 16

static size_t flush_impl(struct cr_correlator *c, struct cr_wmsg **head, struct cr_wmsg **tail,
                         int force)
{
    fire_due(c);
    struct cr_wmsg *h = c->extra, *t = NULL;
    size_t n = 0;
    c->extra = NULL;
    for (struct cr_wmsg *m = h; m; m = m->next) {
        t = m;
        n++;
    }
    /* newest first (the order incidents have always gone out in); the states
     * that wait keep their relative order in the next round */
    c->later.n = 0;
    for (size_t i = c->dirty.n; i-- > 0;) {
        struct state *s = c->dirty.v[i];
        if (s->open && !force && !s->created &&
            c->flushes - meta(s->open)->emitted < EMIT_EVERY) {
            svec_push(&c->later, s);
            continue;
        }
        s->dirty = 0;
        if (!s->open)
            continue;
        struct cr_wmsg *m = cr_wmsg_incident(s->open, s->created);
        s->created = 0;
        meta(s->open)->emitted = c->flushes;
        m->next = NULL;
        if (t)
            t->next = m;
        else
            h = m;
        t = m;
        n++;
    }
    /* the old walk relinked waiting states in reverse: later.v[0] was walked
     * first and is now the oldest */
    struct svec tmp = c->dirty;
    c->dirty = c->later;
    c->later = tmp;
    /* expiry walks the whole table: do it every 64 flushes, or when over budget */
    if (++c->flushes % 64 == 0 || c->stats.states > c->max_keys)
        expire(c);
    if (c->tenants_over)
        evict_tenants_over(c);
    *head = h;
    *tail = t;
    return n;
}

size_t cr_correlator_flush(struct cr_correlator *c, struct cr_wmsg **head, struct cr_wmsg **tail)
{
    return flush_impl(c, head, tail, 1);
}

size_t cr_correlator_flush_batch(struct cr_correlator *c, struct cr_wmsg **head,
                                 struct cr_wmsg **tail)
{
    return flush_impl(c, head, tail, 0);
}

uint64_t cr_correlator_memory(const struct cr_correlator *c, uint64_t *incident_bytes)
{
    /* what malloc hands out for each block, with its 16-byte header rounded
     * to 16 (glibc on 64-bit), plus the bucket array and the deadline heap */
    uint64_t total = c->nbuckets * sizeof *c->buckets + c->heap_cap * sizeof *c->heap, inc = 0;
    total += (c->dirty.cap + c->later.cap + c->changed.cap) * sizeof(struct state *);
    total += cr_tenants_memory(&c->tenants);
    for (size_t i = 0; i < c->nbuckets; i++)
        for (const struct state *s = c->buckets[i]; s; s = s->next) {
            size_t sz = state_size(c, s->owner, s->keylen);
            total += (sz + 8 + 15) / 16 * 16;
            if (s->open)
                inc += (sizeof(struct open_meta) + sizeof *s->open + 8 + 15) / 16 * 16;
        }
    if (incident_bytes)
        *incident_bytes = inc;
    return total + inc;
}

void cr_correlator_set_tenant_budget(struct cr_correlator *c, uint64_t max_keys_per_tenant)
{
    c->max_per_tenant = max_keys_per_tenant;
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

/* ---- checkpoints ---- */

/* correlations: KIND_RULE + their cr_corr_type, + KIND_WINDOWED for an
 * event_count with an upper bound, + KIND_JOINED for a joined sequence (the
 * state layouts differ). Version 3: those two and new_value. Version 4: the
 * compact state (evidence refs pack input and position in one word; the
 * horizon is the owner's; a deadline count slot; the tenant). */
enum { CKPT_VERSION = 4, KIND_RULE = 1, KIND_WINDOWED = 16, KIND_JOINED = 32 };

/* Fixed head of an encoded state; the entries (ring or stages, `cap` of
 * them, as in memory) and, if has_open, the open incident follow. The
 * encoding is the in-memory layout of this build: the store's meta
 * `state_format` records it, and a store written by a different layout is
 * not restored (docs/operations.md). */
struct ckpt_head {
    uint8_t version, kind;
    uint8_t has_open;
    uint8_t created;
    uint32_t n, cap;
    int64_t last_ms, open_until;
    uint32_t src;
    uint32_t tenant;
};

static size_t entry_size(void)
{
    return sizeof(struct evref) > sizeof(struct stage) ? sizeof(struct evref)
                                                       : sizeof(struct stage);
}

const char *cr_correlator_state_format(void)
{
    static char fmt[64];
    snprintf(fmt, sizeof fmt, "v%d/head%zu/entry%zu/incident%zu", CKPT_VERSION,
             sizeof(struct ckpt_head), entry_size(), sizeof(struct cr_incident));
    return fmt;
}

void cr_correlator_enable_checkpoints(struct cr_correlator *c)
{
    c->checkpointing = 1;
}

static int owner_kind(const struct cr_correlator *c, uint32_t owner)
{
    if (owner < (uint32_t)c->rs->nrules)
        return KIND_RULE;
    const struct cr_correlation *co = &c->rs->corrs[owner - (uint32_t)c->rs->nrules];
    return KIND_RULE + (int)co->type + (co->windowed ? KIND_WINDOWED : 0) +
           (co->joined ? KIND_JOINED : 0);
}

char *cr_correlator_snapshot(struct cr_correlator *c, size_t *len)
{
    struct cr_ckpt_buf b = {0};
    char key[512];
    for (size_t i = c->changed.n; i-- > 0;) { /* newest first, as the list used to be */
        struct state *s = c->changed.v[i];
        s->changed = 0;
        size_t kl = ckpt_key(c, s, key, sizeof key);
        if (!kl)
            continue; /* longer than a store key: kept in memory only */
        struct ckpt_head h = {.version = CKPT_VERSION,
                              .kind = (uint8_t)owner_kind(c, s->owner),
                              .has_open = s->open != NULL,
                              .created = s->created,
                              .n = s->n,
                              .cap = c->cap[s->owner],
                              .last_ms = s->last_ms,
                              .open_until = s->open ? meta(s->open)->until : INT64_MIN,
                              .src = s->src,
                              .tenant = s->tenant};
        const void *parts[3] = {&h, &s->u, s->open};
        size_t lens[3] = {sizeof h, (size_t)h.cap * entry_size(), sizeof(struct cr_incident)};
        cr_ckpt_put(&b, key, kl, parts, lens, 3);
        s->persisted = 1;
    }
    c->changed.n = 0;
    /* deletions of states freed since the last snapshot */
    for (size_t i = 0; i + 2 <= c->tomb_len;) {
        size_t kl = (size_t)(unsigned char)c->tomb[i] << 8 | (unsigned char)c->tomb[i + 1];
        cr_ckpt_del(&b, c->tomb + i + 2, kl);
        i += 2 + kl;
    }
    c->tomb_len = 0;
    *len = b.len;
    return b.p;
}

int cr_correlator_restore(struct cr_correlator *c, const void *key, size_t klen, const void *val,
                          size_t vlen)
{
    const char *k = key;
    const char *nul = memchr(k, 0, klen);
    struct ckpt_head h;
    if (!nul || vlen < sizeof h)
        return 0;
    memcpy(&h, val, sizeof h);
    char id[256];
    size_t idlen = (size_t)(nul - k);
    if (idlen >= sizeof id || h.version != CKPT_VERSION)
        return 0;
    memcpy(id, k, idlen);
    id[idlen] = 0;
    /* the consumer must still exist with the same shape: a rule whose
     * threshold or steps changed starts from scratch */
    uint32_t owner, cap;
    int r = cr_ruleset_find_rule(c->rs, id), co = cr_ruleset_find_corr(c->rs, id);
    if (r >= 0 && c->rs->rules[r].incident)
        owner = (uint32_t)r;
    else if (co >= 0)
        owner = (uint32_t)(c->rs->nrules + co);
    else
        return 0;
    cap = c->cap[owner];
    size_t need = sizeof h + (size_t)cap * entry_size() + (h.has_open ? sizeof(struct cr_incident) : 0);
    if (h.kind != owner_kind(c, owner) || h.cap != cap || vlen != need)
        return 0;
    const char *ck = nul + 1;
    size_t cklen = klen - idlen - 1;
    int was = c->checkpointing;
    c->checkpointing = 0; /* restoring is not a change */
    c->cur_src = h.src;
    c->cur_tenant = h.tenant;
    struct state *s = lookup(c, owner, ck, cklen);
    c->checkpointing = was;
    const char *v = (const char *)val + sizeof h;
    memcpy(&s->u, v, (size_t)cap * entry_size());
    if (s->heaped == 0 && (h.kind == KIND_RULE + CR_CORR_ABSENCE ||
                           h.kind == KIND_RULE + CR_CORR_EVENT_COUNT + KIND_WINDOWED))
        *heap_count(c, s) = 0; /* the snapshot's count: the pushes below count anew */
    s->n = h.n;
    s->last_ms = h.last_ms;
    s->src = h.src;
    s->persisted = 1;
    if (h.has_open) {
        incident_free(s->open);
        s->open = incident_alloc();
        memcpy(s->open, v + (size_t)cap * entry_size(), sizeof *s->open);
        meta(s->open)->until = h.open_until;
    }
    if (s->last_ms > c->watermark)
        c->watermark = s->last_ms;
    if (h.kind == KIND_RULE + CR_CORR_ABSENCE && s->n && s->u.stages[0].start != INT64_MIN)
        heap_push(c, s->u.stages[0].reached, s); /* a pending absence keeps its deadline */
    if (h.kind == KIND_RULE + CR_CORR_EVENT_COUNT + KIND_WINDOWED && s->n) {
        struct cwindow w;
        memcpy(&w, &s->u, sizeof w);
        heap_push(c, w.end, s); /* an open window keeps its deadline */
    }
    return 1;
}

uint64_t cr_correlator_drop_src(struct cr_correlator *c, uint32_t src)
{
    uint64_t n = 0;
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct state **link = &c->buckets[i];
        while (*link) {
            struct state *s = *link;
            /* flushed states only: the shard flushes before it drops */
            if (s->src == src && !s->dirty && !s->changed && !s->heaped) {
                remove_state(c, link, s);
                n++;
            } else if (s->src == src && (s->changed || s->heaped)) {
                /* touched since the last snapshot: its snapshot entry must
                 * become a deletion, so keep it until then, but empty */
                s->n = 0; /* a pending absence deadline becomes stale: heap entries check */
                incident_free(s->open);
                s->open = NULL;
                s->last_ms = INT64_MIN;
                n++;
                link = &s->next;
            } else
                link = &s->next;
        }
    }
    return n;
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
        struct state *s = find_state(c, owner, m->key, m->key_len);
        if (!s || !s->open || at > meta(s->open)->until)
            continue;
        cr_incident_add_ref(s->open, m->input, m->position, m->time_ms);
        cr_incident_add_sample(s->open, m->raw, m->raw_len);
        mark_changed(c, s);
        mark_dirty(c, s);
        n++;
    }
    return n;
}

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
    uint32_t *to = malloc(((size_t)oldn + 1) * sizeof *to);
    struct owner_lru *lru = calloc((size_t)newn + 1, sizeof *lru);
    if (!to || !lru)
        abort();
    for (int o = 0; o < oldn; o++)
        to[o] = migrate_target(old, rs, o);

    /* 1. unhook every state from the deadline heap (kept ones are pushed
     * again once renumbered) and the dropped ones from the changed and
     * dirty sets (the caller flushed: the dirty set should be empty) */
    size_t nh = 0;
    for (size_t i = 0; i < c->nheap; i++) {
        struct state *hs = c->heap[i].s;
        *heap_count(c, hs) = 0;
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
        struct state **link = &c->buckets[i];
        while (*link) {
            struct state *x = *link;
            if (to[x->owner] == UINT32_MAX) {
                remove_state(c, link, x);
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
    build_plan(c);
    uint32_t *cap = calloc((size_t)newn + 1, sizeof *cap);
    int64_t *horizon = calloc((size_t)newn + 1, sizeof *horizon);
    if (!cap || !horizon)
        abort();
    for (int r = 0; r < rs->nrules; r++) {
        lru[r].max = rs->rules[r].incident ? rs->rules[r].incident->max_keys : 0;
        horizon[r] = rs->rules[r].incident ? open_for(rs->rules[r].incident, 3600000) : 0;
    }
    for (int k = 0; k < rs->ncorrs; k++) {
        lru[rs->nrules + k].max = rs->corrs[k].incident.max_keys;
        cap[rs->nrules + k] = corr_cap(&rs->corrs[k]);
        horizon[rs->nrules + k] = corr_horizon(&rs->corrs[k]);
    }
    uint64_t nk = 0;
    for (int o = 0; o < oldn; o++) {
        if (to[o] == UINT32_MAX)
            continue;
        struct owner_lru *nl = &lru[to[o]];
        nl->evicted = c->lru[o].evicted;
        for (struct state *x = c->lru[o].tail, *prev; x; x = prev) {
            prev = x->lru_prev;
            x->owner = (uint16_t)to[o];
            lru_push(nl, x);
            nl->n++;
            nk++;
        }
    }
    free(c->lru);
    c->lru = lru;
    free(c->cap);
    free(c->horizon);
    c->cap = cap;
    c->horizon = horizon;
    for (size_t i = 0; i < keep_heap; i++)
        heap_push(c, c->heap[i].at, c->heap[i].s); /* pushes only move entries down */

    /* 4. the owner seeds the hash: rehash every state */
    struct state *all = NULL;
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (struct state *x = c->buckets[i], *n; x; x = n) {
            n = x->next;
            x->next = all;
            all = x;
        }
        c->buckets[i] = NULL;
    }
    for (struct state *x = all, *n; x; x = n) {
        n = x->next;
        size_t b = state_hash(c, x) & (c->nbuckets - 1);
        x->next = c->buckets[b];
        c->buckets[b] = x;
    }
    free(to);
    if (kept)
        *kept = nk;
    if (dropped)
        *dropped = nd;
    return 0;
}
