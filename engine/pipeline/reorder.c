/*
 * reorder.c - see reorder.h.
 *
 * Held matches are variable-size entries (header, key, raw sample) packed
 * into chunks; a binary min-heap of pointers orders them. Matches leave
 * roughly in arrival order (the disorder is bounded by the lateness), so a
 * chunk empties soon after newer chunks started filling and goes back to a
 * short free list.
 */
#include "engine/pipeline/reorder.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define CHUNK_BYTES (256u << 10)
#define FREE_CHUNKS 4

struct chunk {
    struct chunk *next;
    size_t used, live;
    _Alignas(8) char mem[];
};

struct held {
    int64_t t;    /* where it sorts: its event time, or for a late match the time
                   * the watermark had to reach for it to be on time */
    int64_t ev_t; /* its event time */
    uint64_t tie; /* hash of the raw record: orders equal times by content */
    uint64_t position;
    uint64_t value;
    uint32_t src, rule, input;
    uint32_t sub, rep; /* cr_match's: which event of the record (not checkpointed: a
                        * restored match is the record's first event) */
    uint32_t tenant;   /* cr_match.tenant */
    uint16_t key_len, raw_len, flags;
    uint8_t route, replay, persisted, late;
    uint8_t has_measure, asset_len, src_asset_len, carried_len; /* cr_match's */
    int64_t measure;
    struct chunk *chunk;
    char data[]; /* key, raw, asset, src_asset, carried */
};

struct source {
    uint32_t src;
    uint8_t dirty, persisted;
    uint8_t state;    /* 0 active, or enum cr_source_state */
    uint8_t restored; /* from the checkpoint, not claimed by this run yet (cr_reorder_assigned) */
    uint8_t behind;   /* a backlog is waiting (CR_SOURCE_BEHIND): holds the watermark back
                       * however far it trails; not checkpointed (the consumer says it
                       * again at assignment) */
    int64_t t;        /* newest event time it reported; INT64_MIN: none yet */
};

struct cr_reorder {
    const struct cr_ruleset *rs;
    int64_t lateness, idle;
    uint64_t max_bytes;
    int64_t frontier;   /* everything below it has left */
    int frontier_dirty; /* it moved (or was never stored): the next snapshot stores it */
    uint32_t shard;     /* this shard's index: the frontier's key (cr_reorder_set_shard) */
    int64_t restored_own, restored_max; /* frontiers read back at restore (INT64_MIN: none) */
    int restored_any;
    struct held **heap;
    size_t n, cap;
    struct chunk *cur, *spare;
    size_t nspare, nchunks;
    struct source *srcs;
    size_t nsrcs, srcs_cap;
    char *tomb; /* keys of persisted entries that left: (BE u16 length, key)* */
    size_t tomb_len, tomb_cap;
    struct cr_match out; /* the match handed to fn */
    struct cr_reorder_stats st;
};

struct cr_reorder *cr_reorder_new(const struct cr_ruleset *rs, int64_t lateness_ms, int64_t idle_ms,
                                  uint64_t max_bytes)
{
    struct cr_reorder *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->rs = rs;
    r->lateness = lateness_ms > 0 ? lateness_ms : 0;
    r->idle = idle_ms > 0 ? idle_ms : 0;
    r->max_bytes = max_bytes ? max_bytes : 64ull << 20;
    r->frontier = INT64_MIN;
    r->frontier_dirty = 1; /* every checkpoint holds a frontier, INT64_MIN included */
    r->restored_own = r->restored_max = INT64_MIN;
    return r;
}

void cr_reorder_set_shard(struct cr_reorder *r, uint32_t index) { r->shard = index; }

static void free_chunks(struct chunk *c)
{
    while (c) {
        struct chunk *n = c->next;
        free(c);
        c = n;
    }
}

void cr_reorder_free(struct cr_reorder *r)
{
    if (!r)
        return;
    /* every chunk with live entries is reachable from an entry in the heap */
    for (size_t i = 0; i < r->n; i++) {
        struct chunk *c = r->heap[i]->chunk;
        if (c != r->cur && --c->live == 0) {
            c->next = r->spare;
            r->spare = c;
        }
    }
    free(r->cur);
    free_chunks(r->spare);
    free(r->heap);
    free(r->srcs);
    free(r->tomb);
    free(r);
}

/* ---- order ---- */

static int before(const struct held *a, const struct held *b)
{
    if (a->t != b->t)
        return a->t < b->t;
    if (a->tie != b->tie)
        return a->tie < b->tie;
    if (a->src != b->src)
        return a->src < b->src;
    if (a->position != b->position)
        return a->position < b->position;
    if (a->rule != b->rule)
        return a->rule < b->rule;
    return a->route < b->route;
}

static void sift_up(struct cr_reorder *r, size_t i)
{
    struct held *h = r->heap[i];
    while (i > 0 && before(h, r->heap[(i - 1) / 2])) {
        r->heap[i] = r->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    r->heap[i] = h;
}

static void sift_down(struct cr_reorder *r, size_t i)
{
    struct held *h = r->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const struct held *best = h;
        if (l < r->n && before(r->heap[l], best)) {
            m = l;
            best = r->heap[l];
        }
        if (l + 1 < r->n && before(r->heap[l + 1], best))
            m = l + 1;
        if (m == i)
            break;
        r->heap[i] = r->heap[m];
        i = m;
    }
    r->heap[i] = h;
}

/* ---- memory ---- */

static struct held *alloc_held(struct cr_reorder *r, size_t datalen)
{
    size_t sz = (sizeof(struct held) + datalen + 7) & ~(size_t)7;
    if (!r->cur || r->cur->used + sz > CHUNK_BYTES) {
        struct chunk *old = r->cur;
        if (r->spare) {
            r->cur = r->spare;
            r->spare = r->spare->next;
            r->nspare--;
        } else {
            r->cur = malloc(sizeof(struct chunk) + CHUNK_BYTES);
            if (!r->cur)
                abort();
            r->nchunks++;
        }
        r->cur->used = r->cur->live = 0;
        r->cur->next = NULL;
        if (old && old->live == 0) { /* nothing of it is held: reuse it later */
            old->next = r->spare;
            r->spare = old;
            r->nspare++;
        }
    }
    struct held *h = (struct held *)(r->cur->mem + r->cur->used);
    r->cur->used += sz;
    r->cur->live++;
    h->chunk = r->cur;
    return h;
}

static void release_held(struct cr_reorder *r, struct held *h)
{
    struct chunk *c = h->chunk;
    if (--c->live || c == r->cur)
        return;
    if (r->nspare < FREE_CHUNKS) {
        c->next = r->spare;
        r->spare = c;
        r->nspare++;
    } else {
        free(c);
        r->nchunks--;
    }
}

static uint64_t bytes_in_use(const struct cr_reorder *r)
{
    return (uint64_t)(r->nchunks - r->nspare) * CHUNK_BYTES;
}

static void heap_add(struct cr_reorder *r, struct held *h)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->heap = realloc(r->heap, r->cap * sizeof *r->heap);
        if (!r->heap)
            abort();
    }
    r->heap[r->n++] = h;
    sift_up(r, r->n - 1);
    r->st.held = r->n;
    if (r->n > r->st.held_peak)
        r->st.held_peak = r->n;
    if (bytes_in_use(r) > r->st.bytes_peak)
        r->st.bytes_peak = bytes_in_use(r);
}

/* ---- checkpoint keys ---- */

#define HELD_PREFIX_LEN 6 /* "\x01held\0" */
#define HELD_FIXED (HELD_PREFIX_LEN + 8 + 8 + 4 + 8 + 4 + 1)
#define SOURCE_PREFIX_LEN 8                                      /* "\x01source\0" */
#define FRONTIER_PREFIX_LEN (sizeof CR_REORDER_KEY_FRONTIER - 1) /* "\x01frontier" */

static void be64(char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (char)(v & 0xff);
}

static void be32(char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (char)(v & 0xff);
}

static uint64_t rd64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (unsigned char)p[i];
    return v;
}

static uint32_t rd32(const char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | (unsigned char)p[i];
    return v;
}

static uint32_t rule_hash(const struct cr_ruleset *rs, uint32_t rule)
{
    const char *id = rs->rules[rule].id;
    return XXH32(id, strlen(id), 0);
}

/* What a route means, independent of rule and field numbering. */
static uint32_t route_sig(const struct cr_ruleset *rs, uint32_t rule, unsigned route)
{
    const struct cr_route *rt = &rs->rules[rule].routes[route];
    /* the group_by names, each NUL-terminated, then "=" and the counted field */
    char buf[(CR_MAX_GROUP_BY + 1) * 128];
    size_t n = 0;
    for (int i = 0; i <= rt->ngroup_by; i++) {
        int last = i == rt->ngroup_by;
        if (last && rt->value_field < 0)
            break;
        const char *f = rs->field_names[last ? rt->value_field : rt->group_by[i]];
        size_t len = strnlen(f, 126);
        if (last)
            buf[n++] = rt->value_num ? '#' : '='; /* a number, or a value's hash */
        memcpy(buf + n, f, len);
        n += len;
        if (!last)
            buf[n++] = 0;
    }
    return XXH32(buf, n, 0);
}

static size_t held_key(const struct cr_reorder *r, const struct held *h, char *out)
{
    memcpy(out, CR_REORDER_KEY_HELD, HELD_PREFIX_LEN);
    char *p = out + HELD_PREFIX_LEN;
    be64(p, (uint64_t)h->t ^ (1ull << 63)); /* sorts by time in the store */
    be64(p + 8, h->tie);
    be32(p + 16, h->src);
    be64(p + 20, h->position);
    be32(p + 28, rule_hash(r->rs, h->rule));
    p[32] = (char)h->route;
    memcpy(out + HELD_FIXED, h->data, h->key_len);
    return HELD_FIXED + h->key_len;
}

static void tomb_add(struct cr_reorder *r, const char *key, size_t kl)
{
    if (r->tomb_len + 2 + kl > r->tomb_cap) {
        r->tomb_cap = (r->tomb_cap + kl + 2) * 2;
        r->tomb = realloc(r->tomb, r->tomb_cap);
        if (!r->tomb)
            abort();
    }
    r->tomb[r->tomb_len++] = (char)(kl >> 8);
    r->tomb[r->tomb_len++] = (char)kl;
    memcpy(r->tomb + r->tomb_len, key, kl);
    r->tomb_len += kl;
}

/* An entry leaves the buffer (applied or dropped). */
static void retire(struct cr_reorder *r, struct held *h)
{
    if (h->persisted) {
        char key[HELD_FIXED + CR_KEY_MAX];
        tomb_add(r, key, held_key(r, h, key));
    }
    release_held(r, h);
}

/* ---- holding and leaving ---- */

/* The enrichment a held match carries back into m. */
static void held_enrichment(const struct held *h, struct cr_match *m)
{
    const char *p = h->data + h->key_len + h->raw_len;
    m->has_measure = h->has_measure;
    m->measure = h->measure;
    memcpy(m->asset, p, h->asset_len);
    m->asset[h->asset_len] = 0;
    memcpy(m->src_asset, p + h->asset_len, h->src_asset_len);
    m->src_asset[h->src_asset_len] = 0;
    m->carried_len = h->carried_len;
    memcpy(m->carried, p + h->asset_len + h->src_asset_len, h->carried_len);
}

static struct held *hold(struct cr_reorder *r, const struct cr_match *m, int64_t at)
{
    size_t al = strnlen(m->asset, sizeof m->asset - 1),
           sl = strnlen(m->src_asset, sizeof m->src_asset - 1);
    struct held *h = alloc_held(r, (size_t)m->key_len + m->raw_len + al + sl + m->carried_len);
    h->t = at;
    h->ev_t = m->time_ms;
    h->late = at != m->time_ms;
    h->tie = XXH3_64bits(m->raw, m->raw_len);
    h->position = m->position;
    h->sub = m->sub;
    h->rep = m->rep;
    h->value = m->value;
    h->src = m->src;
    h->tenant = m->tenant;
    h->rule = m->rule;
    h->input = m->input;
    h->key_len = m->key_len;
    h->raw_len = m->raw_len;
    h->flags = m->flags;
    h->route = m->route;
    h->replay = m->replay;
    h->persisted = 0;
    h->has_measure = m->has_measure;
    h->measure = m->measure;
    h->asset_len = (uint8_t)al;
    h->src_asset_len = (uint8_t)sl;
    memcpy(h->data, m->key, m->key_len);
    memcpy(h->data + m->key_len, m->raw, m->raw_len);
    memcpy(h->data + m->key_len + m->raw_len, m->asset, al);
    memcpy(h->data + m->key_len + m->raw_len + al, m->src_asset, sl);
    h->carried_len = m->carried_len;
    memcpy(h->data + m->key_len + m->raw_len + al + sl, m->carried, m->carried_len);
    return h;
}

static struct source *find_source(struct cr_reorder *r, uint32_t src);

int cr_reorder_push(struct cr_reorder *r, const struct cr_match *m, int64_t *behind_ms)
{
    /* Late: behind what has left, or more than the lateness behind a newer
     * record of its own input. The second test sees every record before it
     * (the batch's part through seen_ms), so it does not depend on where
     * batches end; while the input is active it implies the first. */
    int64_t newest = m->seen_ms;
    const struct source *s = find_source(r, m->src);
    if (s && s->t > newest)
        newest = s->t;
    int64_t due = newest == INT64_MIN ? INT64_MIN : newest - r->lateness;
    if (m->time_ms < r->frontier || m->time_ms < due) {
        /* it leaves where it would have been on time: after the matches it
         * is behind, so the incident they open can take it as evidence */
        int64_t at = due > r->frontier ? due : r->frontier;
        *behind_ms = at - m->time_ms + r->lateness;
        r->st.late++;
        heap_add(r, hold(r, m, at));
        return 1;
    }
    heap_add(r, hold(r, m, m->time_ms));
    return 0;
}

static struct source *find_source(struct cr_reorder *r, uint32_t src)
{
    for (size_t i = 0; i < r->nsrcs; i++)
        if (r->srcs[i].src == src)
            return &r->srcs[i];
    return NULL;
}

static struct source *get_source(struct cr_reorder *r, uint32_t src)
{
    struct source *s = find_source(r, src);
    if (s)
        return s;
    if (r->nsrcs == r->srcs_cap) {
        r->srcs_cap = r->srcs_cap ? r->srcs_cap * 2 : 16;
        r->srcs = realloc(r->srcs, r->srcs_cap * sizeof *r->srcs);
        if (!r->srcs)
            abort();
    }
    s = &r->srcs[r->nsrcs++];
    *s = (struct source){.src = src, .t = INT64_MIN};
    return s;
}

/* Sources are stored with their state (a pending input that has not
 * reported holds the watermark back, and so the frontier, and a restarted
 * run must know it): a state change makes the entry dirty too. */
static void set_state(struct source *s, uint8_t state)
{
    if (s->state != state) {
        s->state = state;
        s->dirty = 1;
    }
    s->restored = 0;
}

void cr_reorder_source(struct cr_reorder *r, uint32_t src, int64_t t)
{
    struct source *s = get_source(r, src);
    set_state(s, 0); /* it reported: active again */
    if (t > s->t) {
        s->t = t;
        s->dirty = 1;
    }
}

void cr_reorder_source_state(struct cr_reorder *r, uint32_t src, enum cr_source_state state)
{
    struct source *s = get_source(r, src);
    if (state == CR_SOURCE_BEHIND || state == CR_SOURCE_CAUGHT_UP) {
        s->behind = state == CR_SOURCE_BEHIND;
        return;
    }
    if (state == CR_SOURCE_PENDING)
        set_state(s, s->t == INT64_MIN ? CR_SOURCE_PENDING : 0); /* a restored time counts */
    else
        set_state(s, CR_SOURCE_IDLE);
}

void cr_reorder_assigned(struct cr_reorder *r)
{
    for (size_t i = 0; i < r->nsrcs; i++)
        if (r->srcs[i].restored)
            set_state(&r->srcs[i], CR_SOURCE_IDLE); /* another member's now */
}

int64_t cr_reorder_watermark(const struct cr_reorder *r, int complete)
{
    int64_t newest = INT64_MIN;
    int pending = 0;
    for (size_t i = 0; i < r->nsrcs; i++) {
        if (r->srcs[i].t > newest)
            newest = r->srcs[i].t;
        pending |= r->srcs[i].state == CR_SOURCE_PENDING ||
                   (r->srcs[i].behind && r->srcs[i].t == INT64_MIN);
    }
    if (complete || newest == INT64_MIN)
        return newest;
    if (pending)
        return INT64_MIN; /* an input has records to come and no time yet */
    int64_t wm = INT64_MAX;
    for (size_t i = 0; i < r->nsrcs; i++) {
        const struct source *s = &r->srcs[i];
        if ((s->state == CR_SOURCE_IDLE && !s->behind) || s->t == INT64_MIN)
            continue; /* nothing to come for now */
        if (r->idle && !s->behind && s->t < newest - r->idle)
            continue; /* quiet for too long (event time): does not hold the others back;
                       * one with a backlog is not quiet, only behind (issue 9) */
        if (s->t < wm)
            wm = s->t;
    }
    if (wm == INT64_MAX)
        wm = newest; /* every input idle */
    return wm - r->lateness;
}

static void leave(struct cr_reorder *r, cr_reorder_fn fn, void *arg)
{
    struct held *h = r->heap[0];
    r->heap[0] = r->heap[--r->n];
    if (r->n)
        sift_down(r, 0);
    r->st.held = r->n;
    struct cr_match *m = &r->out;
    m->kind = CR_MSG_MATCH;
    m->route = h->route;
    m->key_len = h->key_len;
    m->raw_len = h->raw_len;
    m->flags = h->flags;
    m->replay = h->replay;
    m->src = h->src;
    m->tenant = h->tenant;
    m->rule = h->rule;
    m->input = h->input;
    m->position = h->position;
    m->sub = h->sub;
    m->rep = h->rep;
    m->time_ms = h->ev_t;
    m->value = h->value;
    memcpy(m->key, h->data, h->key_len);
    memcpy(m->raw, h->data + h->key_len, h->raw_len);
    held_enrichment(h, m);
    int64_t late_at = h->late ? h->t : INT64_MIN;
    retire(r, h);
    fn(arg, m, late_at);
}

size_t cr_reorder_release(struct cr_reorder *r, int all, cr_reorder_fn fn, void *arg)
{
    size_t n = 0;
    int64_t wm = all ? INT64_MAX : cr_reorder_watermark(r, 0);
    int64_t before = r->frontier;
    while (r->n && r->heap[0]->t < wm) {
        int64_t t = r->heap[0]->t;
        leave(r, fn, arg);
        if (all && t > r->frontier)
            r->frontier = t;
        n++;
    }
    if (!all && wm > r->frontier)
        r->frontier = wm;
    /* over the memory budget: the oldest go now, and the frontier with them */
    while (r->n && bytes_in_use(r) > r->max_bytes) {
        int64_t t = r->heap[0]->t;
        leave(r, fn, arg);
        if (t > r->frontier)
            r->frontier = t;
        r->st.forced++;
        n++;
    }
    if (r->frontier != before)
        r->frontier_dirty = 1;
    return n;
}

size_t cr_reorder_release_quiet(struct cr_reorder *r, cr_reorder_fn fn, void *arg)
{
    size_t n = cr_reorder_release(r, 1, fn, arg);
    /* the same point in every shard (they all see every input's time), so
     * each shard's checkpoint stores the same frontier */
    int64_t newest = cr_reorder_watermark(r, 1);
    if (newest != INT64_MIN && newest > r->frontier)
        r->frontier = newest;
    r->frontier_dirty = 1;
    r->st.quiet_releases++;
    return n;
}

int64_t cr_reorder_frontier(const struct cr_reorder *r) { return r->frontier; }

void cr_reorder_resume(struct cr_reorder *r)
{
    if (r->restored_any) {
        /* exactly what the stopped run had released: its own frontier, or,
         * when the shard count changed, the furthest any shard had gone */
        r->frontier = r->restored_own != INT64_MIN ? r->restored_own : r->restored_max;
        return;
    }
    /* a checkpoint without frontiers (written before every checkpoint held
     * one): the watermark of the restored input times */
    int64_t wm = cr_reorder_watermark(r, 0);
    if (wm > r->frontier)
        r->frontier = wm;
}

uint64_t cr_reorder_drop_src(struct cr_reorder *r, uint32_t src)
{
    uint64_t dropped = 0;
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->heap[i]->src == src) {
            retire(r, r->heap[i]);
            dropped++;
        } else
            r->heap[k++] = r->heap[i];
    }
    r->n = k;
    for (size_t i = r->n / 2; i-- > 0;)
        sift_down(r, i);
    r->st.held = r->n;
    struct source *s = find_source(r, src);
    if (s) {
        if (s->persisted) {
            char key[SOURCE_PREFIX_LEN + 4];
            memcpy(key, CR_REORDER_KEY_SOURCE, SOURCE_PREFIX_LEN);
            be32(key + SOURCE_PREFIX_LEN, src);
            tomb_add(r, key, sizeof key);
        }
        *s = r->srcs[--r->nsrcs];
    }
    return dropped;
}

uint64_t cr_reorder_switch_rules(struct cr_reorder *r, const struct cr_ruleset *rs)
{
    const struct cr_ruleset *old = r->rs;
    uint64_t dropped = 0;
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        struct held *h = r->heap[i];
        int nr = cr_ruleset_find_rule(rs, old->rules[h->rule].id), route = -1;
        if (nr >= 0) {
            uint32_t sig = route_sig(old, h->rule, h->route);
            for (int j = 0; j < rs->rules[nr].nroutes && route < 0; j++)
                if (route_sig(rs, (uint32_t)nr, (unsigned)j) == sig)
                    route = j;
        }
        if (route < 0) {
            retire(r, h); /* with the old rules: its stored key names them */
            dropped++;
            continue;
        }
        if (h->persisted && (uint8_t)route != h->route) {
            char key[HELD_FIXED + CR_KEY_MAX]; /* stored under the old route: store anew */
            tomb_add(r, key, held_key(r, h, key));
            h->persisted = 0;
        }
        h->rule = (uint32_t)nr;
        h->route = (uint8_t)route;
        r->heap[k++] = h;
    }
    r->n = k;
    r->rs = rs;
    for (size_t i = r->n / 2; i-- > 0;)
        sift_down(r, i);
    r->st.held = r->n;
    r->st.reload_dropped += dropped;
    return dropped;
}

/* ---- checkpoints ---- */

/* Value of a held entry: input, flags, replay, route signature, value,
 * rule id, raw sample. */
struct held_val {
    uint32_t input;
    uint16_t flags;
    uint8_t replay, route;
    uint32_t route_sig;
    uint16_t rule_len, raw_len;
    uint64_t value;
    int64_t ev_t;
    uint8_t late, pad[3];
    uint32_t tenant; /* was padding: a store written before tenants restores tenant 0 */
};

void cr_reorder_snapshot(struct cr_reorder *r, struct cr_ckpt_buf *b)
{
    for (size_t i = 0; i + 2 <= r->tomb_len;) {
        size_t kl = (size_t)(unsigned char)r->tomb[i] << 8 | (unsigned char)r->tomb[i + 1];
        cr_ckpt_del(b, r->tomb + i + 2, kl);
        i += 2 + kl;
    }
    r->tomb_len = 0;
    char key[HELD_FIXED + CR_KEY_MAX];
    for (size_t i = 0; i < r->n; i++) {
        struct held *h = r->heap[i];
        if (h->persisted)
            continue;
        const char *id = r->rs->rules[h->rule].id;
        struct held_val v = {.input = h->input,
                             .flags = h->flags,
                             .replay = h->replay,
                             .route = h->route,
                             .route_sig = route_sig(r->rs, h->rule, h->route),
                             .rule_len = (uint16_t)strlen(id),
                             .raw_len = h->raw_len,
                             .value = h->value,
                             .ev_t = h->ev_t,
                             .late = h->late,
                             .tenant = h->tenant};
        /* the enrichment tail: has_measure, measure (BE), asset, src_asset
         * (each a length byte and its bytes); a checkpoint written before it
         * existed restores without */
        char tail[12 + 2 * 48 + CR_MATCH_CARRIED];
        size_t tl = 0;
        tail[tl++] = (char)h->has_measure;
        be64(tail + tl, (uint64_t)h->measure);
        tl += 8;
        const char *ap = h->data + h->key_len + h->raw_len;
        tail[tl++] = (char)h->asset_len;
        memcpy(tail + tl, ap, h->asset_len);
        tl += h->asset_len;
        tail[tl++] = (char)h->src_asset_len;
        memcpy(tail + tl, ap + h->asset_len, h->src_asset_len);
        tl += h->src_asset_len;
        tail[tl++] = (char)h->carried_len;
        memcpy(tail + tl, ap + h->asset_len + h->src_asset_len, h->carried_len);
        tl += h->carried_len;
        const void *parts[4] = {&v, id, h->data + h->key_len, tail};
        size_t lens[4] = {sizeof v, v.rule_len, h->raw_len, tl};
        cr_ckpt_put(b, key, held_key(r, h, key), parts, lens, 4);
        h->persisted = 1;
    }
    if (r->frontier_dirty) {
        char fk[FRONTIER_PREFIX_LEN + 4], fv[8];
        memcpy(fk, CR_REORDER_KEY_FRONTIER, FRONTIER_PREFIX_LEN);
        be32(fk + FRONTIER_PREFIX_LEN, r->shard);
        be64(fv, (uint64_t)r->frontier);
        const void *parts[1] = {fv};
        size_t lens[1] = {sizeof fv};
        cr_ckpt_put(b, fk, sizeof fk, parts, lens, 1);
        r->frontier_dirty = 0;
    }
    for (size_t i = 0; i < r->nsrcs; i++) {
        struct source *s = &r->srcs[i];
        if (!s->dirty)
            continue;
        char sk[SOURCE_PREFIX_LEN + 4];
        memcpy(sk, CR_REORDER_KEY_SOURCE, SOURCE_PREFIX_LEN);
        be32(sk + SOURCE_PREFIX_LEN, s->src);
        char tv[9]; /* time, then state */
        be64(tv, (uint64_t)s->t);
        tv[8] = (char)s->state;
        const void *parts[1] = {tv};
        size_t lens[1] = {sizeof tv};
        cr_ckpt_put(b, sk, sizeof sk, parts, lens, 1);
        s->dirty = 0;
        s->persisted = 1;
    }
}

int cr_reorder_is_key(const void *key, size_t klen)
{
    return klen > 0 && *(const char *)key == '\x01';
}

const char *cr_reorder_entry_key(const void *key, size_t klen, size_t *keylen)
{
    if (klen < HELD_FIXED || memcmp(key, CR_REORDER_KEY_HELD, HELD_PREFIX_LEN) != 0)
        return NULL;
    *keylen = klen - HELD_FIXED;
    return (const char *)key + HELD_FIXED;
}

int cr_reorder_entry_shard(const struct cr_ruleset *rs, const void *key, size_t klen,
                           const void *val, size_t vlen, int nshards)
{
    size_t keylen;
    const char *mkey = cr_reorder_entry_key(key, klen, &keylen);
    if (!mkey)
        return -1;
    struct held_val hv;
    char id[256];
    int rule = -1;
    if (vlen >= sizeof hv) {
        memcpy(&hv, val, sizeof hv);
        if (hv.rule_len < sizeof id && vlen >= sizeof hv + hv.rule_len) {
            memcpy(id, (const char *)val + sizeof hv, hv.rule_len);
            id[hv.rule_len] = 0;
            rule = cr_ruleset_find_rule(rs, id);
        }
    }
    if (rule < 0 || hv.route >= rs->rules[rule].nroutes)
        return 0; /* restore drops it: any one shard */
    return (int)cr_ruleset_route_shard(rs, &rs->rules[rule].routes[hv.route], mkey, keylen,
                                       nshards);
}

int cr_reorder_restore(struct cr_reorder *r, const void *key, size_t klen, const void *val,
                       size_t vlen)
{
    const char *k = key, *v = val;
    /* a shard's frontier ("\x01frontier" + BE u32 shard), or the single one
     * of older checkpoints (no shard): cr_reorder_resume picks */
    if ((klen == FRONTIER_PREFIX_LEN + 4 || klen == FRONTIER_PREFIX_LEN) &&
        memcmp(k, CR_REORDER_KEY_FRONTIER, FRONTIER_PREFIX_LEN) == 0) {
        if (vlen != 8)
            return 0;
        int64_t f = (int64_t)rd64(v);
        if (klen == FRONTIER_PREFIX_LEN + 4 && rd32(k + FRONTIER_PREFIX_LEN) == r->shard)
            r->restored_own = f;
        if (!r->restored_any || f > r->restored_max)
            r->restored_max = f;
        r->restored_any = 1;
        return 1;
    }
    if (klen == SOURCE_PREFIX_LEN + 4 && memcmp(k, CR_REORDER_KEY_SOURCE, SOURCE_PREFIX_LEN) == 0) {
        /* 8 bytes: a time only (checkpoints before states were kept: active) */
        if ((vlen != 8 && vlen != 9) || (vlen == 9 && (unsigned char)v[8] > CR_SOURCE_IDLE))
            return 0;
        uint32_t src = rd32(k + SOURCE_PREFIX_LEN);
        struct source *s = get_source(r, src);
        s->t = (int64_t)rd64(v);
        s->state = vlen == 9 ? (uint8_t)v[8] : 0;
        if (s->state == 0 && s->t == INT64_MIN)
            s->state = CR_SOURCE_PENDING; /* never reported: still holds the others back */
        s->dirty = 0;
        s->persisted = 1;
        s->restored = 1;
        return 1;
    }
    size_t keylen;
    const char *mkey = cr_reorder_entry_key(key, klen, &keylen);
    struct held_val hv;
    if (!mkey || keylen > CR_KEY_MAX || vlen < sizeof hv)
        return 0;
    memcpy(&hv, v, sizeof hv);
    size_t base = sizeof hv + hv.rule_len + hv.raw_len;
    if (vlen < base || hv.raw_len > CR_MATCH_RAW)
        return 0;
    char id[256];
    if (hv.rule_len >= sizeof id)
        return 0;
    memcpy(id, v + sizeof hv, hv.rule_len);
    id[hv.rule_len] = 0;
    int rule = cr_ruleset_find_rule(r->rs, id);
    if (rule < 0 || hv.route >= r->rs->rules[rule].nroutes ||
        route_sig(r->rs, (uint32_t)rule, hv.route) != hv.route_sig) {
        r->st.restore_dropped++;
        return 0;
    }
    struct cr_match *m = &r->out;
    int64_t at = (int64_t)(rd64(k + HELD_PREFIX_LEN) ^ (1ull << 63));
    m->time_ms = hv.ev_t;
    m->src = rd32(k + HELD_PREFIX_LEN + 16);
    m->position = rd64(k + HELD_PREFIX_LEN + 20);
    m->sub = 0;
    m->rep = 0;
    m->rule = (uint32_t)rule;
    m->route = hv.route;
    m->input = hv.input;
    m->flags = hv.flags;
    m->replay = hv.replay;
    m->value = hv.value;
    m->tenant = hv.tenant;
    m->key_len = (uint16_t)keylen;
    memcpy(m->key, mkey, keylen);
    m->raw_len = hv.raw_len;
    memcpy(m->raw, v + sizeof hv + hv.rule_len, hv.raw_len);
    m->has_measure = 0;
    m->measure = 0;
    m->asset[0] = m->src_asset[0] = 0;
    m->carried_len = 0;
    if (vlen > base) { /* the enrichment tail */
        const char *t = v + base;
        size_t left = vlen - base;
        if (left < 10)
            return 0;
        m->has_measure = (uint8_t)t[0];
        m->measure = (int64_t)rd64(t + 1);
        size_t al = (unsigned char)t[9];
        if (al >= sizeof m->asset || left < 11 + al)
            return 0;
        memcpy(m->asset, t + 10, al);
        m->asset[al] = 0;
        size_t sl = (unsigned char)t[10 + al];
        if (sl >= sizeof m->src_asset || left < 11 + al + sl)
            return 0;
        memcpy(m->src_asset, t + 11 + al, sl);
        m->src_asset[sl] = 0;
        size_t rest = left - (11 + al + sl); /* the carried values, when there */
        if (rest) {
            size_t cl = (unsigned char)t[11 + al + sl];
            if (cl > CR_MATCH_CARRIED || rest != 1 + cl)
                return 0;
            memcpy(m->carried, t + 12 + al + sl, cl);
            m->carried_len = (uint8_t)cl;
        }
    }
    struct held *h = hold(r, m, at);
    h->late = hv.late;
    h->persisted = 1;
    heap_add(r, h);
    r->st.restored++;
    return 1;
}

const struct cr_reorder_stats *cr_reorder_stats(const struct cr_reorder *r) { return &r->st; }
