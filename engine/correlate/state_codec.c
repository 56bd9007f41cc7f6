/*
 * state_codec.c - the checkpoint codec: correlation state as store records
 * (snapshot of what changed), and back (restore); dropping an input's state.
 */
#include "engine/correlate/correlate_int.h"

static const char *owner_id(const struct cr_correlator *c, uint32_t owner)
{
    return owner < (uint32_t)c->rs->nrules ? c->rs->rules[owner].id
                                           : c->rs->corrs[owner - (uint32_t)c->rs->nrules].id;
}

/* Checkpoint key of a state: consumer id, NUL, key bytes. Returns its length
 * (0 if it does not fit in cap). */
size_t corr_ckpt_key(const struct cr_correlator *c, struct state *s, char *out, size_t cap)
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

size_t corr_entry_size(void)
{
    return sizeof(struct evref) > sizeof(struct stage) ? sizeof(struct evref)
                                                       : sizeof(struct stage);
}

const char *cr_correlator_state_format(void)
{
    static char fmt[64];
    snprintf(fmt, sizeof fmt, "v%d/head%zu/entry%zu/incident%zu", CKPT_VERSION,
             sizeof(struct ckpt_head), corr_entry_size(), sizeof(struct cr_incident));
    return fmt;
}

void cr_correlator_enable_checkpoints(struct cr_correlator *c) { c->checkpointing = 1; }

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
    /* Deletions of states freed since the last snapshot come first: a key
     * whose state was freed and then made again in this interval has a
     * tombstone and a put, and the store applies the delta in order, so
     * the put must come last. (A changed state is never freed before the
     * snapshot, so no tombstone deletes a state this delta puts.) */
    for (size_t i = 0; i + 2 <= c->tomb_len;) {
        size_t kl = (size_t)(unsigned char)c->tomb[i] << 8 | (unsigned char)c->tomb[i + 1];
        cr_ckpt_del(&b, c->tomb + i + 2, kl);
        i += 2 + kl;
    }
    c->tomb_len = 0;
    for (size_t i = c->changed.n; i-- > 0;) { /* newest first, as the list used to be */
        struct state *s = c->changed.v[i];
        s->changed = 0;
        size_t kl = corr_ckpt_key(c, s, key, sizeof key);
        if (!kl)
            continue; /* longer than a store key: kept in memory only */
        struct cr_incident *inc = open_get(c, s);
        struct ckpt_head h = {.version = CKPT_VERSION,
                              .kind = (uint8_t)owner_kind(c, s->owner),
                              .has_open = inc != NULL,
                              .created = s->created,
                              .n = s->n,
                              .cap = c->cap[s->owner],
                              .last_ms = s->last_ms,
                              .open_until = inc ? meta(inc)->until : INT64_MIN,
                              .src = state_src(c, s),
                              .tenant = state_tenant(c, s)};
        const void *ents = payload(c, s);
        size_t elen = (size_t)h.cap * corr_entry_size();
        if (c->lay[s->owner] == LAY_RING) {
            struct evref *r = corr_scratch(c, s->n);
            ents = r;
            elen = (size_t)corr_ring_load(c, s, r) * sizeof *r;
        } else if (c->lay[s->owner] == LAY_VALS) {
            struct vref *r = corr_scratch(c, s->n);
            ents = r;
            elen = (size_t)corr_vals_load(c, s, r) * sizeof *r;
        }
        const void *parts[3] = {&h, ents, inc};
        size_t lens[3] = {sizeof h, elen, sizeof(struct cr_incident)};
        cr_ckpt_put(&b, key, kl, parts, lens, 3);
        s->persisted = 1;
    }
    c->changed.n = 0;
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
     * threshold or steps changed starts from corr_scratch */
    uint32_t owner, cap;
    int r = cr_ruleset_find_rule(c->rs, id), co = cr_ruleset_find_corr(c->rs, id);
    if (r >= 0 && c->rs->rules[r].incident)
        owner = (uint32_t)r;
    else if (co >= 0)
        owner = (uint32_t)(c->rs->nrules + co);
    else
        return 0;
    cap = c->cap[owner];
    int lay = c->lay[owner];
    if (h.n > cap)
        return 0;
    /* a forged or corrupt window: its refs would be read past the state
     * (found by fuzz_checkpoint); the last entry is the deadline count */
    if (h.kind == KIND_RULE + CR_CORR_EVENT_COUNT + KIND_WINDOWED && h.n &&
        (h.n < WINDOW_HEAD || h.n > cap - 1))
        return 0;
    /* value_sum / value_avg: the buckets, then at most AGG_REFS refs */
    if ((h.kind == KIND_RULE + CR_CORR_VALUE_SUM || h.kind == KIND_RULE + CR_CORR_VALUE_AVG) &&
        h.n > 1 + AGG_REFS)
        return 0;
    size_t elen = lay != LAY_PLAIN ? (size_t)h.n * 16 : (size_t)cap * corr_entry_size();
    size_t need = sizeof h + elen + (h.has_open ? sizeof(struct cr_incident) : 0);
    if (h.kind != owner_kind(c, owner) || h.cap != cap || vlen != need)
        return 0;
    const char *ck = nul + 1;
    size_t cklen = klen - idlen - 1;
    int was = c->checkpointing;
    c->checkpointing = 0; /* restoring is not a change */
    c->cur_src = h.src;
    c->cur_tenant = h.tenant;
    struct state *s = corr_lookup(c, owner, ck, cklen);
    c->checkpointing = was;
    const char *v = (const char *)val + sizeof h;
    s->last_ms = h.last_ms;
    if (lay != LAY_PLAIN) {
        corr_clear_entries(c, s);
        void *e = corr_scratch(c, h.n);
        memcpy(e, v, elen);
        corr_entries_store(c, s, e, h.n); /* packed relative to last_ms */
    } else {
        memcpy(payload(c, s), v, elen);
        if (s->heaped == 0 && (h.kind == KIND_RULE + CR_CORR_ABSENCE ||
                               h.kind == KIND_RULE + CR_CORR_EVENT_COUNT + KIND_WINDOWED))
            *corr_heap_count(c, s) = 0; /* the snapshot's count: the pushes below count anew */
        s->n = h.n;
    }
    s->persisted = 1;
    if (h.has_open) {
        corr_open_clear(c, s);
        struct cr_incident *inc = corr_incident_alloc();
        memcpy(inc, v + elen, sizeof *inc);
        meta(inc)->until = h.open_until;
        corr_open_set(c, s, inc);
    }
    if (s->last_ms > c->watermark)
        c->watermark = s->last_ms;
    const struct stage *st = payload(c, s);
    if (h.kind == KIND_RULE + CR_CORR_ABSENCE && s->n && st[0].start != INT64_MIN)
        corr_heap_push(c, st[0].reached, s); /* a pending absence keeps its deadline */
    if (h.kind == KIND_RULE + CR_CORR_EVENT_COUNT + KIND_WINDOWED && s->n) {
        struct cwindow w;
        memcpy(&w, payload(c, s), sizeof w);
        corr_heap_push(c, w.end, s); /* an open window keeps its deadline */
    }
    return 1;
}

uint64_t cr_correlator_drop_src(struct cr_correlator *c, uint32_t src)
{
    uint64_t n = 0;
    for (size_t i = 0; i < c->nbuckets; i++) {
        uint32_t *link = &c->buckets[i];
        while (*link) {
            struct state *s = S(c, *link);
            int its = state_src(c, s) == src;
            /* flushed states only: the shard flushes before it drops */
            if (its && !s->dirty && !s->changed && !s->heaped) {
                corr_remove_state(c, link, s);
                n++;
            } else if (its && (s->changed || s->heaped)) {
                /* touched since the last snapshot: its snapshot entry must
                 * become a deletion, so keep it until then, but empty */
                corr_clear_entries(c, s); /* a pending absence deadline becomes stale: heap
                                           * entries check */
                corr_open_clear(c, s);
                s->last_ms = INT64_MIN;
                n++;
                link = &s->next;
            } else
                link = &s->next;
        }
    }
    return n;
}
