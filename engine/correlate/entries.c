/*
 * entries.c - the compact entry blocks of event_count and value_count: unpacked
 * into scratch to work on, packed again in the smallest form that holds them.
 */
#include "engine/correlate/correlate_int.h"

void *corr_scratch(struct cr_correlator *c, size_t n)
{
    if (n > c->scratch_cap || !c->corr_scratch) {
        size_t cap = c->scratch_cap ? c->scratch_cap : 64;
        while (cap < n)
            cap *= 2;
        free(c->corr_scratch);
        c->corr_scratch = malloc(cap * 16);
        if (!c->corr_scratch)
            abort();
        c->scratch_cap = cap;
    }
    return c->corr_scratch;
}

static struct ext ext_get(const struct cr_correlator *c, const struct state *s)
{
    struct ext e;
    memcpy(&e, payload(c, s), sizeof e);
    return e;
}

static void ext_free(struct cr_correlator *c, struct state *s)
{
    if (s->ext) {
        corr_slab_free(&c->slab, ext_get(c, s).h);
        s->ext = 0;
    }
}

/* A block with room for n entries of esize bytes for s (the one it has if
 * that fits and is not much bigger): its address. Room grows one entry at
 * a time up to 8, then by an eighth. */
static char *ext_fit(struct cr_correlator *c, struct state *s, uint32_t n, size_t esize,
                     uint32_t wide)
{
    uint64_t want = n <= 8 ? n : (uint64_t)n + n / 8;
    if (want > ~EXT_WIDE)
        want = ~EXT_WIDE;
    if (n > want)
        abort(); /* 2^31 entries in one state */
    if (s->ext) {
        struct ext e = ext_get(c, s);
        uint32_t have = e.capw & ~EXT_WIDE;
        if ((e.capw & EXT_WIDE) == wide && have >= n && have <= 2 * want)
            return slab_ptr(&c->slab, e.h);
        corr_slab_free(&c->slab, e.h);
    }
    struct ext e = {corr_slab_alloc(&c->slab, (size_t)want * esize), (uint32_t)want | wide};
    memcpy(payload(c, s), &e, sizeof e);
    s->ext = 1;
    return slab_ptr(&c->slab, e.h);
}

/* Forget the entries of s (any layout); an open incident stays. */
void corr_clear_entries(struct cr_correlator *c, struct state *s)
{
    if (c->lay[s->owner] == LAY_PLAIN) {
        s->n = 0;
        return;
    }
    struct cr_incident *inc = corr_open_detach(c, s);
    ext_free(c, s);
    s->n = 0;
    corr_open_attach(c, s, inc);
}

/* event_count: unpack s's ring (sorted by time) into r; returns s->n. */
uint32_t corr_ring_load(const struct cr_correlator *c, const struct state *s, struct evref *r)
{
    uint32_t n = s->n;
    if (n == 0)
        return 0;
    if (!s->ext) {
        uint64_t pi;
        memcpy(&pi, payload(c, s), sizeof pi);
        r[0] = (struct evref){s->last_ms, pi};
        return 1;
    }
    struct ext e = ext_get(c, s);
    const char *b = slab_ptr(&c->slab, e.h);
    if (e.capw & EXT_WIDE) {
        memcpy(r, b, (size_t)n * sizeof *r);
        return n;
    }
    uint64_t base;
    memcpy(&base, b, sizeof base);
    uint64_t bpos = base >> EVREF_INPUT_BITS, in = base & 0xff;
    const struct cref *ce = (const struct cref *)(const void *)(b + sizeof base);
    for (uint32_t i = 0; i + 1 < n; i++) {
        r[i].t = (int64_t)((uint64_t)s->last_ms - ce[i].age);
        r[i].pi = (bpos - (uint64_t)(int64_t)ce[i].dpos) << EVREF_INPUT_BITS | in;
    }
    r[n - 1] = (struct evref){s->last_ms, base};
    return n;
}

/* event_count: pack r[0..n) (sorted by time) into s, relative to s->last_ms. */
static void ring_pack(struct cr_correlator *c, struct state *s, const struct evref *r, uint32_t n)
{
    s->n = n;
    if (n == 0) {
        ext_free(c, s);
        return;
    }
    const struct evref *b = &r[n - 1];
    int64_t bpos = (int64_t)evref_pos(b);
    int compact = b->t == s->last_ms;
    for (uint32_t i = 0; compact && i + 1 < n; i++) {
        int64_t d = bpos - (int64_t)evref_pos(&r[i]);
        compact = r[i].t <= s->last_ms && (uint64_t)s->last_ms - (uint64_t)r[i].t <= UINT32_MAX &&
                  evref_input(&r[i]) == evref_input(b) && d >= INT32_MIN && d <= INT32_MAX;
    }
    if (compact && n == 1) {
        ext_free(c, s);
        memcpy(payload(c, s), &b->pi, sizeof b->pi);
        return;
    }
    if (!compact) {
        memcpy(ext_fit(c, s, n, sizeof *r, EXT_WIDE), r, (size_t)n * sizeof *r);
        return;
    }
    char *blk = ext_fit(c, s, n, sizeof(struct cref), 0);
    memcpy(blk, &b->pi, sizeof b->pi);
    struct cref *ce = (struct cref *)(void *)(blk + sizeof b->pi);
    for (uint32_t i = 0; i + 1 < n; i++)
        ce[i] = (struct cref){(uint32_t)((uint64_t)s->last_ms - (uint64_t)r[i].t),
                              (int32_t)(bpos - (int64_t)evref_pos(&r[i]))};
}

/* value_count: unpack s's values into r; returns s->n. */
uint32_t corr_vals_load(const struct cr_correlator *c, const struct state *s, struct vref *r)
{
    uint32_t n = s->n;
    if (n == 0)
        return 0;
    if (!s->ext) {
        memcpy(&r[0].v, payload(c, s), sizeof r[0].v);
        r[0].t = s->last_ms;
        return 1;
    }
    struct ext e = ext_get(c, s);
    const char *b = slab_ptr(&c->slab, e.h);
    if (e.capw & EXT_WIDE) {
        memcpy(r, b, (size_t)n * sizeof *r);
        return n;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t age;
        memcpy(&r[i].v, b + (size_t)i * VREF_PACKED, sizeof r[i].v);
        memcpy(&age, b + (size_t)i * VREF_PACKED + sizeof r[i].v, sizeof age);
        r[i].t = (int64_t)((uint64_t)s->last_ms - age);
    }
    return n;
}

/* value_count: pack r[0..n) into s, relative to s->last_ms. */
static void vals_pack(struct cr_correlator *c, struct state *s, const struct vref *r, uint32_t n)
{
    s->n = n;
    if (n == 0) {
        ext_free(c, s);
        return;
    }
    int compact = 1;
    for (uint32_t i = 0; compact && i < n; i++)
        compact = r[i].t <= s->last_ms && (uint64_t)s->last_ms - (uint64_t)r[i].t <= UINT32_MAX;
    if (compact && n == 1 && r[0].t == s->last_ms) {
        ext_free(c, s);
        memcpy(payload(c, s), &r[0].v, sizeof r[0].v);
        return;
    }
    if (!compact) {
        memcpy(ext_fit(c, s, n, sizeof *r, EXT_WIDE), r, (size_t)n * sizeof *r);
        return;
    }
    char *blk = ext_fit(c, s, n, VREF_PACKED, 0);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t age = (uint32_t)((uint64_t)s->last_ms - (uint64_t)r[i].t);
        memcpy(blk + (size_t)i * VREF_PACKED, &r[i].v, sizeof r[i].v);
        memcpy(blk + (size_t)i * VREF_PACKED + sizeof r[i].v, &age, sizeof age);
    }
}

/* Move the entry blocks out of the slab chunks at most a quarter used:
 * they are freed as their last block leaves (the slab's compaction; states
 * stay where they are). After expiry, which walks the table anyway. */
void corr_compact_blocks(struct cr_correlator *c)
{
    if (!corr_slab_drain_begin(&c->slab))
        return;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (uint32_t x = c->buckets[i]; x; x = S(c, x)->next) {
            struct state *s = S(c, x);
            if (!s->ext)
                continue;
            struct ext e = ext_get(c, s);
            if (!slab_draining(&c->slab, e.h))
                continue;
            size_t esize = (e.capw & EXT_WIDE)            ? 16
                           : c->lay[s->owner] == LAY_RING ? sizeof(struct cref)
                                                          : VREF_PACKED;
            uint32_t nh = corr_slab_alloc(&c->slab, (size_t)(e.capw & ~EXT_WIDE) * esize);
            memcpy(slab_ptr(&c->slab, nh), slab_ptr(&c->slab, e.h), (size_t)s->n * esize);
            corr_slab_free(&c->slab, e.h);
            e.h = nh;
            memcpy(payload(c, s), &e, sizeof e);
        }
    corr_slab_drain_end(&c->slab);
}

/* Pack entries into s; an open incident stays (the payload may have held
 * it, open_slot). */
void corr_ring_store(struct cr_correlator *c, struct state *s, const struct evref *r, uint32_t n)
{
    struct cr_incident *inc = corr_open_detach(c, s);
    ring_pack(c, s, r, n);
    corr_open_attach(c, s, inc);
}

void corr_vals_store(struct cr_correlator *c, struct state *s, const struct vref *r, uint32_t n)
{
    struct cr_incident *inc = corr_open_detach(c, s);
    vals_pack(c, s, r, n);
    corr_open_attach(c, s, inc);
}

/* Pack entries unpacked by corr_ring_load / corr_vals_load (after last_ms moved). */
void corr_entries_store(struct cr_correlator *c, struct state *s, const void *e, uint32_t n)
{
    if (c->lay[s->owner] == LAY_RING)
        corr_ring_store(c, s, e, n);
    else
        corr_vals_store(c, s, e, n);
}
