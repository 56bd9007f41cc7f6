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
#include "engine/correlate/correlate.h"

#include "engine/store/checkpoint.h"
#include "engine/correlate/tenant.h"

#include "base/timeparse.h"
#include "rules/ruleset_diff.h"

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

/* ---- slab: where states and their entry blocks live ----
 *
 * A handle is (chunk index << SLAB_SLOT_BITS | slot); handle 0 is no
 * state (chunk 0 is never used). A chunk holds slots of one size class
 * (every 8 bytes up to SLAB_SMALL, then 8 classes per doubling up to
 * SLAB_CHUNK_MAX); a bigger allocation gets a chunk of its own. Chunks never
 * move, so a state's address is stable for its whole life. Each chunk has
 * its own free list (and hands out its never-used slots in order, so a new
 * chunk is not touched before it is used); a class allocates from its
 * chunks with free slots (a list), and a chunk whose last slot is freed goes
 * back to malloc at once, unless it is the class's only empty chunk (kept
 * against churn). States never move; entry blocks (struct ext) have one
 * owner each and do: after expiry, the blocks in chunks at most a quarter
 * used move out (compact_blocks), so that a few long-lived blocks do not
 * pin chunks that are otherwise free. The memory a correlator reports is
 * its chunks, free slots included. */
#define SLAB_SLOT_BITS 12
#define SLAB_SLOT_MASK ((1u << SLAB_SLOT_BITS) - 1)
#define SLAB_SLOTS_MAX (1u << SLAB_SLOT_BITS)
#define SLAB_CHUNKS_MAX (1u << (32 - SLAB_SLOT_BITS))
#define SLAB_CHUNK_MIN 4096u
#define SLAB_CHUNK_MAX 65536u
#define SLAB_SMALL 4096u
#define SLAB_NCLASS (SLAB_SMALL / 8 + 4 * 8)
#define SLAB_OWN 0xffffu    /* cls of a chunk that is one allocation */
#define SLAB_MALLOC_HEAD 16 /* what malloc adds to each chunk (glibc, 64-bit) */

struct slab_chunk {
    char *base;          /* NULL: index free for reuse */
    uint32_t size;       /* slot size (SLAB_OWN: the allocation's size) */
    uint32_t free;       /* handle of its first free slot (its first 4 bytes: the next), 0: none */
    uint32_t prev, next; /* its class's chunks with free slots (chunk indices) */
    uint16_t nslots;
    uint16_t fresh; /* slots [fresh, nslots) were never handed out */
    uint16_t live;  /* slots in use */
    uint16_t cls;
    uint8_t draining; /* being emptied (compact_blocks): not in the free-slot list */
};

struct slab_class {
    uint32_t partial; /* first chunk with a free slot, 0: none */
    uint32_t empty;   /* a chunk without a live slot that is kept, 0: none */
    uint32_t nchunks;
};

struct slab {
    struct slab_chunk *chunk;
    uint32_t nchunk, capchunk;
    uint32_t *spare; /* chunk indices free for reuse */
    uint32_t nspare, capspare;
    uint64_t bytes; /* chunk bytes held, malloc's header included */
    struct slab_class cls[SLAB_NCLASS];
};

static uint32_t slab_class_of(size_t size, uint32_t *slot)
{
    if (size <= SLAB_SMALL) {
        uint32_t k = (uint32_t)((size + 7) / 8);
        if (k == 0)
            k = 1;
        *slot = k * 8;
        return k - 1;
    }
    /* size in (2^j, 2^(j+1)], j = 12..15: rounded up to a multiple of 2^j / 8 */
    uint32_t j = 63u - (uint32_t)__builtin_clzll((unsigned long long)size - 1);
    size_t step = (size_t)1 << (j - 3);
    size_t r = (size + step - 1) / step * step;
    *slot = (uint32_t)r;
    return SLAB_SMALL / 8 + (j - 12) * 8 + (uint32_t)(r / step) - 9;
}

static inline void *slab_ptr(const struct slab *sl, uint32_t h)
{
    const struct slab_chunk *ch = &sl->chunk[h >> SLAB_SLOT_BITS];
    return ch->base + (size_t)(h & SLAB_SLOT_MASK) * ch->size;
}

static uint32_t slab_chunk_new(struct slab *sl, size_t bytes, uint32_t size, uint32_t nslots,
                               uint32_t cls)
{
    uint32_t ci;
    if (sl->nspare) {
        ci = sl->spare[--sl->nspare];
    } else {
        if (sl->nchunk == 0)
            sl->nchunk = 1; /* chunk 0 stays unused: handle 0 is "none" */
        if (sl->nchunk >= SLAB_CHUNKS_MAX) {
            fprintf(stderr, "corral: correlation state: more than %u slab chunks\n",
                    SLAB_CHUNKS_MAX);
            abort();
        }
        if (sl->nchunk >= sl->capchunk) {
            sl->capchunk = sl->capchunk ? sl->capchunk * 2 : 64;
            sl->chunk = realloc(sl->chunk, (size_t)sl->capchunk * sizeof *sl->chunk);
            if (!sl->chunk)
                abort();
        }
        ci = sl->nchunk++;
    }
    char *base = malloc(bytes);
    if (!base)
        abort();
    sl->chunk[ci] = (struct slab_chunk){
        .base = base, .size = size, .nslots = (uint16_t)nslots, .cls = (uint16_t)cls};
    sl->bytes += bytes + SLAB_MALLOC_HEAD;
    return ci;
}

static void slab_chunk_drop(struct slab *sl, uint32_t ci)
{
    struct slab_chunk *ch = &sl->chunk[ci];
    sl->bytes -=
        (ch->cls == SLAB_OWN ? ch->size : (uint64_t)ch->nslots * ch->size) + SLAB_MALLOC_HEAD;
    free(ch->base);
    ch->base = NULL;
    if (sl->nspare == sl->capspare) {
        sl->capspare = sl->capspare ? sl->capspare * 2 : 64;
        sl->spare = realloc(sl->spare, (size_t)sl->capspare * sizeof *sl->spare);
        if (!sl->spare)
            abort();
    }
    sl->spare[sl->nspare++] = ci;
}

static void partial_unlink(struct slab *sl, struct slab_class *cl, uint32_t ci)
{
    struct slab_chunk *ch = &sl->chunk[ci];
    if (ch->prev)
        sl->chunk[ch->prev].next = ch->next;
    else
        cl->partial = ch->next;
    if (ch->next)
        sl->chunk[ch->next].prev = ch->prev;
    ch->prev = ch->next = 0;
}

static void partial_push(struct slab *sl, struct slab_class *cl, uint32_t ci)
{
    struct slab_chunk *ch = &sl->chunk[ci];
    ch->prev = 0;
    ch->next = cl->partial;
    if (cl->partial)
        sl->chunk[cl->partial].prev = ci;
    cl->partial = ci;
}

/* A slot of at least `size` bytes (not zeroed). */
static uint32_t slab_alloc(struct slab *sl, size_t size)
{
    if (size > SLAB_CHUNK_MAX) {
        if (size > UINT32_MAX - 8)
            abort();
        size = (size + 7) & ~(size_t)7;
        uint32_t ci = slab_chunk_new(sl, size, (uint32_t)size, 1, SLAB_OWN);
        sl->chunk[ci].live = 1;
        return ci << SLAB_SLOT_BITS;
    }
    uint32_t slot, k = slab_class_of(size, &slot);
    struct slab_class *cl = &sl->cls[k];
    uint32_t ci = cl->partial;
    if (!ci) {
        /* chunks of a class grow from 4 KiB to 64 KiB: a small correlator stays small */
        size_t bytes = (size_t)SLAB_CHUNK_MIN << (cl->nchunks < 4 ? cl->nchunks : 4);
        uint32_t n = (uint32_t)(bytes / slot);
        if (n == 0)
            n = 1;
        if (n > SLAB_SLOTS_MAX)
            n = SLAB_SLOTS_MAX;
        ci = slab_chunk_new(sl, (size_t)n * slot, slot, n, k);
        cl->nchunks++;
        partial_push(sl, cl, ci);
    }
    struct slab_chunk *ch = &sl->chunk[ci];
    uint32_t h;
    if (ch->free) {
        h = ch->free;
        memcpy(&ch->free, ch->base + (size_t)(h & SLAB_SLOT_MASK) * ch->size, sizeof ch->free);
    } else {
        h = ci << SLAB_SLOT_BITS | ch->fresh++;
    }
    if (ch->live++ == 0 && cl->empty == ci)
        cl->empty = 0;
    if (ch->live == ch->nslots)
        partial_unlink(sl, cl, ci);
    return h;
}

static void slab_free(struct slab *sl, uint32_t h)
{
    uint32_t ci = h >> SLAB_SLOT_BITS;
    struct slab_chunk *ch = &sl->chunk[ci];
    if (ch->cls == SLAB_OWN) {
        slab_chunk_drop(sl, ci);
        return;
    }
    struct slab_class *cl = &sl->cls[ch->cls];
    memcpy(ch->base + (size_t)(h & SLAB_SLOT_MASK) * ch->size, &ch->free, sizeof ch->free);
    ch->free = h;
    if (ch->live-- == ch->nslots && !ch->draining)
        partial_push(sl, cl, ci);
    if (ch->live)
        return;
    if (ch->draining) { /* not in the list */
        cl->nchunks--;
        slab_chunk_drop(sl, ci);
        return;
    }
    /* empty: keep one per class, give the others back */
    if (!cl->empty) {
        cl->empty = ci;
        return;
    }
    partial_unlink(sl, cl, ci);
    cl->nchunks--;
    slab_chunk_drop(sl, ci);
}

/* Compaction, step 1: take the chunks at most a quarter used out of the
 * free-slot lists (of classes with more than one chunk). Returns how many. */
static uint32_t slab_drain_begin(struct slab *sl)
{
    uint32_t n = 0;
    for (uint32_t ci = 1; ci < sl->nchunk; ci++) {
        struct slab_chunk *ch = &sl->chunk[ci];
        if (!ch->base || ch->cls == SLAB_OWN || !ch->live || ch->live > ch->nslots / 4 ||
            sl->cls[ch->cls].nchunks < 2)
            continue;
        if (ch->live < ch->nslots) /* not full: it is in the list */
            partial_unlink(sl, &sl->cls[ch->cls], ci);
        ch->draining = 1;
        n++;
    }
    return n;
}

/* Compaction, step 3: the chunks still in use (they hold states, which do
 * not move) go back to the lists. */
static void slab_drain_end(struct slab *sl)
{
    for (uint32_t ci = 1; ci < sl->nchunk; ci++) {
        struct slab_chunk *ch = &sl->chunk[ci];
        if (!ch->base || !ch->draining)
            continue;
        ch->draining = 0;
        partial_push(sl, &sl->cls[ch->cls], ci);
    }
}

static inline int slab_draining(const struct slab *sl, uint32_t h)
{
    return sl->chunk[h >> SLAB_SLOT_BITS].draining;
}

static void slab_destroy(struct slab *sl)
{
    for (uint32_t ci = 1; ci < sl->nchunk; ci++)
        free(sl->chunk[ci].base);
    free(sl->chunk);
    free(sl->spare);
}

/* One tracked (consumer, key), in the slab: this 24-byte header; then, if
 * its consumer keeps an LRU order (it has a max_keys budget, or the tenant
 * budget is on), its LRU neighbours (struct lru_link); then the operator's
 * payload (ring, stages, window; for event_count and value_count 8 bytes,
 * see ring_load); then, except for event_count and value_count, the open
 * incident's pointer (8 bytes, open_slot); then the key bytes (at
 * c->koff[owner]). What every state would otherwise repeat lives with its
 * owner (capacity, horizon, layout: c->cap, c->horizon, c->lay, c->poff,
 * c->ioff, c->koff), with its open incident (open_meta), or in a table of
 * the few (input, tenant) pairs (c->ctx); the dirty and changed sets are
 * vectors in the correlator; the hash is recomputed from the key when the
 * table grows. Anything that points at a state (hash chain, LRU neighbours
 * by handle; dirty/changed vectors, deadline heap, c->opens by address)
 * relies on it never moving: states are not reallocated, only their entry
 * blocks. */
struct state {
    uint32_t next;          /* hash chain: handle of the next state in the bucket, 0: none */
    uint32_t ctx;           /* c->ctx index: input (src) of the latest match, and tenant */
    int64_t last_ms;        /* newest event time that touched this state */
    uint32_t n;             /* entries in use (operator-specific) */
    uint16_t owner;         /* rule index, or nrules + correlation index */
    uint16_t keylen : 9;    /* <= CR_KEY_MAX + 2 */
    uint16_t dirty : 1;     /* in c->dirty: its incident has unflushed changes */
    uint16_t created : 1;   /* the unflushed version is the opening one */
    uint16_t changed : 1;   /* in c->changed: touched since the last snapshot */
    uint16_t persisted : 1; /* checkpointing: a snapshot holds it */
    uint16_t heaped : 1;    /* deadlines point at it (count in heap_count()) */
    uint16_t open : 1;      /* it has an open incident (open_get) */
    uint16_t ext : 1;       /* event_count/value_count: entries in a block (struct ext) */
};

_Static_assert(sizeof(struct state) == 24, "the state header is 24 bytes");

struct lru_link {
    uint32_t prev, next; /* handles: its consumer's states, most recently touched first */
};

#define STATE_HEAD ((uint32_t)sizeof(struct state))
#define STATE_HEAD_LRU ((uint32_t)(sizeof(struct state) + sizeof(struct lru_link)))

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

/* Open incidents by state address (open addressing, linear probing,
 * backward-shift deletion): only states with s->open have an entry. */
struct omap_ent {
    const struct state *s; /* NULL: empty */
    struct cr_incident *inc;
};

struct omap {
    struct omap_ent *v;
    size_t cap, n; /* cap: a power of two, or 0 */
};

static inline size_t omap_home(const struct omap *m, const struct state *s)
{
    return (size_t)(((uint64_t)(uintptr_t)s * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (m->cap - 1);
}

static struct cr_incident *omap_get(const struct omap *m, const struct state *s)
{
    if (!m->cap)
        return NULL;
    for (size_t i = omap_home(m, s);; i = (i + 1) & (m->cap - 1)) {
        if (m->v[i].s == s)
            return m->v[i].inc;
        if (!m->v[i].s)
            return NULL;
    }
}

static void omap_put(struct omap *m, const struct state *s, struct cr_incident *inc)
{
    if (2 * (m->n + 1) > m->cap) {
        struct omap old = *m;
        m->cap = old.cap ? old.cap * 2 : 64;
        m->v = calloc(m->cap, sizeof *m->v);
        if (!m->v)
            abort();
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.v[i].s)
                omap_put(m, old.v[i].s, old.v[i].inc);
        free(old.v);
    }
    size_t i = omap_home(m, s);
    while (m->v[i].s && m->v[i].s != s)
        i = (i + 1) & (m->cap - 1);
    if (!m->v[i].s)
        m->n++;
    m->v[i] = (struct omap_ent){s, inc};
}

/* Remove s's entry; returns its incident. */
static struct cr_incident *omap_del(struct omap *m, const struct state *s)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1, i = omap_home(m, s);
    while (m->v[i].s != s) {
        if (!m->v[i].s)
            return NULL;
        i = (i + 1) & mask;
    }
    struct cr_incident *inc = m->v[i].inc;
    for (size_t j = i;;) {
        j = (j + 1) & mask;
        if (!m->v[j].s)
            break;
        size_t h = omap_home(m, m->v[j].s);
        /* move entry j back to i unless its home lies cyclically in (i, j] */
        if ((i <= j) ? (h <= i || h > j) : (h <= i && h > j)) {
            m->v[i] = m->v[j];
            i = j;
        }
    }
    m->v[i] = (struct omap_ent){NULL, NULL};
    m->n--;
    return inc;
}

/* The (input, tenant) pairs states name by index: few (inputs times
 * tenants), never removed (like the tenant table). */
struct ctx_ent {
    uint32_t src, tenant;
};

struct ctx_tab {
    struct ctx_ent *v;
    uint32_t n, cap;
    uint32_t *slot; /* open addressing: index + 1, 0: empty */
    uint32_t nslot; /* a power of two, or 0 */
    uint32_t last;  /* the index found last (v[last] valid when n) */
};

static inline uint32_t ctx_home(const struct ctx_tab *t, uint32_t src, uint32_t tenant)
{
    uint64_t h = ((uint64_t)src << 32 | tenant) * UINT64_C(0x9E3779B97F4A7C15);
    return (uint32_t)(h >> 32) & (t->nslot - 1);
}

static uint32_t ctx_get(struct ctx_tab *t, uint32_t src, uint32_t tenant)
{
    if (t->n && t->v[t->last].src == src && t->v[t->last].tenant == tenant)
        return t->last;
    if (2 * (t->n + 1) > t->nslot) {
        free(t->slot);
        t->nslot = t->nslot ? t->nslot * 2 : 16;
        t->slot = calloc(t->nslot, sizeof *t->slot);
        if (!t->slot)
            abort();
        for (uint32_t k = 0; k < t->n; k++) {
            uint32_t i = ctx_home(t, t->v[k].src, t->v[k].tenant);
            while (t->slot[i])
                i = (i + 1) & (t->nslot - 1);
            t->slot[i] = k + 1;
        }
    }
    uint32_t i = ctx_home(t, src, tenant);
    for (; t->slot[i]; i = (i + 1) & (t->nslot - 1)) {
        const struct ctx_ent *e = &t->v[t->slot[i] - 1];
        if (e->src == src && e->tenant == tenant)
            return t->last = t->slot[i] - 1;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->v = realloc(t->v, (size_t)t->cap * sizeof *t->v);
        if (!t->v)
            abort();
    }
    t->v[t->n] = (struct ctx_ent){src, tenant};
    t->slot[i] = t->n + 1;
    return t->last = t->n++;
}

/* Stage-sized slots that hold an incident id (33 bytes) after the stages. */
#define LINK_STAGES ((33 + sizeof(struct stage) - 1) / sizeof(struct stage))

/* Size of one state entry (ring slot or stage). */
#define ENTRY_SIZE                                                                                 \
    (sizeof(struct evref) > sizeof(struct stage) ? sizeof(struct evref) : sizeof(struct stage))

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

/* Payload layouts: most operators keep cap entries of ENTRY_SIZE in the
 * state; event_count (without an upper bound) and value_count keep 8 bytes
 * there and grow their entries on demand (ring_load, vals_load). */
enum { LAY_PLAIN = 0, LAY_RING = 1, LAY_VALS = 2 };

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
    uint32_t *cap;    /* [owner]: entries in each of its states (event_count, value_count:
                       * at most) */
    int64_t *horizon; /* [owner]: how long after last_ms a state can still matter */
    uint8_t *lay;     /* [owner]: LAY_* */
    uint16_t *poff;   /* [owner]: payload offset (STATE_HEAD, or STATE_HEAD_LRU) */
    uint32_t *koff;   /* [owner]: key offset (poff + payload bytes) */
    uint32_t *ioff;   /* [owner]: offset of its open incident's pointer, 0: see open_slot */
    struct consumer_list *route_consumers; /* [rule * 4 + route] */
    struct consumer_list *chain_consumers; /* [correlation]: seq steps fed by its incidents */
    struct slab slab;
    uint32_t *buckets; /* handles */
    size_t nbuckets;
    struct omap opens;  /* open incidents of states that have no place for them (open_slot) */
    uint64_t nopen;     /* open incidents */
    struct ctx_tab ctx; /* (src, tenant) pairs */
    void *scratch;      /* entries of one state unpacked (ring_load, vals_load) */
    size_t scratch_cap; /* in entries of 16 bytes */
    struct svec dirty;  /* states whose incident has unflushed changes, oldest first */
    struct svec later;  /* flush: the dirty states that wait for a later batch end */
    int64_t watermark;
    uint64_t flushes;
    struct cr_version *extra; /* versions of incidents closed before a flush */
    int checkpointing;        /* track changes for cr_correlator_snapshot */
    int replaying;            /* the current match rebuilds state: emit no incident version */
    struct owner_lru {        /* per consumer (rule, then correlation): its budget (max_keys) */
        uint32_t head, tail;  /* handles; kept only when poff says so (tracked) */
        uint64_t n, max, evicted;
    } * lru;
    struct deadline { /* absence: a min-heap of pending deadlines (event time) */
        int64_t at;
        struct state *s;
    } * heap;
    size_t nheap, heap_cap;
    uint32_t cur_src;    /* src of the current match */
    uint32_t cur_tenant; /* tenant of the current match (a new state takes it) */
    struct svec changed; /* states touched since the last snapshot */
    char *tomb;          /* keys of persisted states freed since the last snapshot */
    size_t tomb_len, tomb_cap;
    uint64_t max_per_tenant;   /* correlation.max_keys_per_tenant; 0 = off */
    struct cr_tenants tenants; /* states and evictions per tenant (when max_per_tenant) */
    int tenants_over;          /* a tenant stayed over its budget: flush evicts (tenant.h) */
    struct cr_correlator_stats stats;
};

static inline struct state *S(const struct cr_correlator *c, uint32_t h)
{
    return (struct state *)slab_ptr(&c->slab, h);
}

static inline void *payload(const struct cr_correlator *c, const struct state *s)
{
    return (char *)s + c->poff[s->owner];
}

static inline struct lru_link *lru_of(const struct cr_correlator *c, uint32_t h)
{
    return (struct lru_link *)(void *)((char *)S(c, h) + STATE_HEAD);
}

static inline int lru_tracked(const struct cr_correlator *c, uint32_t owner)
{
    return c->poff[owner] == STATE_HEAD_LRU;
}

static inline uint32_t state_tenant(const struct cr_correlator *c, const struct state *s)
{
    return c->ctx.v[s->ctx].tenant;
}

static inline uint32_t state_src(const struct cr_correlator *c, const struct state *s)
{
    return c->ctx.v[s->ctx].src;
}

/* Where the pointer to s's open incident is kept: a slot of its own (most
 * owners: c->ioff), or, for event_count and value_count, which hold no
 * entries while an incident is open, the payload; NULL: in c->opens (such
 * a state with entries and an incident: not made by the operators, kept
 * exact all the same). */
static inline char *open_slot(const struct cr_correlator *c, const struct state *s)
{
    uint32_t off = c->ioff[s->owner];
    if (off)
        return (char *)s + off;
    if (s->n == 0 && !s->ext)
        return payload(c, s);
    return NULL;
}

static inline struct cr_incident *open_get(const struct cr_correlator *c, const struct state *s)
{
    if (!s->open)
        return NULL;
    const char *slot = open_slot(c, s);
    if (!slot)
        return omap_get(&c->opens, s);
    struct cr_incident *inc;
    memcpy(&inc, slot, sizeof inc);
    return inc;
}

/* Take s's incident out of where it is kept (not freed). */
static struct cr_incident *open_detach(struct cr_correlator *c, struct state *s)
{
    if (!s->open)
        return NULL;
    struct cr_incident *inc;
    char *slot = open_slot(c, s);
    if (slot)
        memcpy(&inc, slot, sizeof inc);
    else
        inc = omap_del(&c->opens, s);
    s->open = 0;
    return inc;
}

/* Keep inc as s's incident (where open_slot says). */
static void open_attach(struct cr_correlator *c, struct state *s, struct cr_incident *inc)
{
    if (!inc)
        return;
    char *slot = open_slot(c, s);
    if (slot)
        memcpy(slot, &inc, sizeof inc);
    else
        omap_put(&c->opens, s, inc);
    s->open = 1;
}

static void open_set(struct cr_correlator *c, struct state *s, struct cr_incident *inc)
{
    open_attach(c, s, inc);
    c->nopen++;
}

/* Forget s's open incident (freed). */
static void open_clear(struct cr_correlator *c, struct state *s)
{
    if (!s->open)
        return;
    incident_free(open_detach(c, s));
    c->nopen--;
}

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
                add_consumer(&c->chain_consumers[co->steps[s].index], step_kind(co), (uint8_t)s,
                             (uint32_t)k);
        }
    }
}

/* Per-owner layout: capacity, horizon, payload layout, offsets. */
static void owner_layout(struct cr_correlator *c, const struct cr_ruleset *rs, uint32_t *cap,
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
            horizon[o] = r->incident ? open_for(r->incident, 3600000) : 0;
        } else {
            const struct cr_correlation *co = &rs->corrs[o - rs->nrules];
            cap[o] = corr_cap(co);
            horizon[o] = corr_horizon(co);
            if (co->type == CR_CORR_EVENT_COUNT && !co->windowed)
                lay[o] = LAY_RING;
            else if (co->type == CR_CORR_VALUE_COUNT)
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
    build_plan(c);
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
    owner_layout(c, rs, c->cap, c->horizon, c->lay, c->poff, c->koff, c->ioff, c->lru);
    return c;
}

void cr_correlator_free(struct cr_correlator *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (uint32_t x = c->buckets[i]; x; x = S(c, x)->next)
            incident_free(open_get(c, S(c, x)));
    free(c->opens.v);
    slab_destroy(&c->slab);
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
    free(c->scratch);
    cr_tenants_free(&c->tenants);
    free(c->buckets);
    free(c);
}

static inline size_t state_size(const struct cr_correlator *c, uint32_t owner, size_t keylen)
{
    return (size_t)c->koff[owner] + keylen;
}

static inline char *state_key(const struct cr_correlator *c, const struct state *s)
{
    return (char *)s + c->koff[s->owner];
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

static void lru_push(struct cr_correlator *c, struct owner_lru *l, uint32_t h)
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

static void remove_state(struct cr_correlator *c, uint32_t *link, struct state *s);

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
static void enforce_budget(struct cr_correlator *c, struct owner_lru *l, uint32_t keep)
{
    int tries = 0;
    for (uint32_t v = l->tail; v && l->n > l->max && tries < 64; tries++) {
        uint32_t prev = lru_of(c, v)->prev;
        struct state *vs = S(c, v);
        if (v != keep && evictable(vs)) {
            remove_state(c, link_of(c, vs, v), vs);
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
    remove_state(c, link_of(c, v, vh), v);
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

struct tenant_ent {
    struct state *s;
    uint32_t h, tenant;
    size_t i;
};

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
static void evict_tenants_over(struct cr_correlator *c)
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
    for (uint32_t x = c->buckets[h & (c->nbuckets - 1)]; x;) {
        struct state *s = S(c, x);
        if (s->owner == owner && s->keylen == len && memcmp(state_key(c, s), key, len) == 0) {
            mark_changed(c, s);
            if (c->ctx.v[s->ctx].src != c->cur_src)
                s->ctx = ctx_get(&c->ctx, c->cur_src, c->ctx.v[s->ctx].tenant);
            struct owner_lru *l = &c->lru[owner];
            if (l->head != x && lru_tracked(c, owner)) {
                lru_unlink(c, l, x);
                lru_push(c, l, x);
            }
            return s;
        }
        x = s->next;
    }
    size_t sz = state_size(c, owner, len);
    uint32_t x = slab_alloc(&c->slab, sz);
    struct state *s = S(c, x);
    memset(s, 0, sz);
    s->owner = (uint16_t)owner;
    s->ctx = ctx_get(&c->ctx, c->cur_src, c->cur_tenant);
    s->keylen = (uint16_t)(len & 0x1ff);
    s->last_ms = INT64_MIN;
    memcpy(state_key(c, s), key, len);
    s->next = c->buckets[h & (c->nbuckets - 1)];
    c->buckets[h & (c->nbuckets - 1)] = x;
    c->stats.states++;
    if (c->stats.states > c->stats.states_peak)
        c->stats.states_peak = c->stats.states;
    if (c->stats.states > c->nbuckets)
        grow(c);
    mark_changed(c, s);
    struct owner_lru *l = &c->lru[owner];
    if (lru_tracked(c, owner))
        lru_push(c, l, x);
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
                                            const uint16_t *group_by, int ngroup, const char *key,
                                            size_t keylen, int64_t window_start)
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
                                        const char *rule_title, const struct cr_incident_spec *spec,
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

/* What the incident of a state's owner carries beside its fields (a Sigma
 * rule's or correlation's attribution), or NULL. */
static const char *annotation_of(const struct cr_correlator *c, uint32_t owner)
{
    if (owner >= (uint32_t)c->rs->nrules)
        return c->rs->corrs[owner - (uint32_t)c->rs->nrules].annotation;
    return c->rs->rules[owner].sigma ? c->rs->rules[owner].sigma->annotation : NULL;
}

/* The incident of state s is past its open window: forget it (its last
 * version was flushed, or is flushed now). */
static struct cr_incident *close_if_expired(struct cr_correlator *c, struct state *s, int64_t t,
                                            struct cr_version **extra_head)
{
    struct cr_incident *inc = open_get(c, s);
    if (!inc || t <= meta(inc)->until)
        return inc;
    if (s->dirty) {
        /* unflushed changes of the old incident: hand them out now */
        struct cr_version *m = cr_version_new(inc, s->created, annotation_of(c, s->owner));
        m->next = *extra_head;
        *extra_head = m;
        s->created = 0;
        /* keep s in the dirty list: harmless, flush skips states without incidents */
    }
    open_clear(c, s);
    return NULL;
}

static void update_incident(struct cr_correlator *c, struct state *s, struct cr_incident *inc,
                            const struct cr_match *m, int64_t t, int64_t open_ms)
{
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
    open_set(c, s, inc);
    meta(inc)->until = until;
    s->created = 1;
    c->stats.incidents_opened++;
    mark_dirty(c, s);
}

static void chain(struct cr_correlator *c, uint32_t corr, const char *key, size_t keylen, int64_t t,
                  const struct cr_incident *from, int depth);

static void apply_rule_incident(struct cr_correlator *c, uint32_t r, const struct cr_match *m,
                                struct cr_version **extra)
{
    const struct cr_rule *rule = &c->rs->rules[r];
    const struct cr_incident_spec *spec = rule->incident;
    int64_t ofor = open_for(spec, 3600000);
    int64_t t = m->time_ms;
    struct state *s = lookup(c, r, m->key, m->key_len);
    if (t > s->last_ms)
        s->last_ms = t;
    struct cr_incident *open = close_if_expired(c, s, t, extra);
    if (open) {
        update_incident(c, s, open, m, t, ofor);
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

/* ---- compact entries: event_count and value_count ----
 *
 * The 8 payload bytes of an event_count (no upper bound) or value_count
 * state hold its one entry (s->ext == 0, s->n <= 1: the entry's time is
 * last_ms), or name a block of entries in the slab (s->ext == 1, struct
 * ext). A compact block keeps 8 bytes per event_count entry (an age below
 * last_ms, a position delta below the newest entry's) and 12 per
 * value_count entry (the value hash, an age); when an entry does not fit
 * (an age of 2^32 ms or more, another input, a position 2^31 or more
 * apart) the block is wide: full 16-byte entries, nothing lost. Operators
 * unpack the entries into c->scratch, work on them as before, and pack
 * them again, in the smallest form that holds them. */
struct ext {
    uint32_t h;    /* slab handle of the block */
    uint32_t capw; /* entries it has room for, | EXT_WIDE: full 16-byte entries */
};
#define EXT_WIDE 0x80000000u

/* event_count: a compact entry below the newest (the block starts with the
 * newest's position << 8 | input, whose time is last_ms) */
struct cref {
    uint32_t age; /* last_ms - time */
    int32_t dpos; /* newest's position - position (same input) */
};

/* value_count: a distinct value, and the last time it was seen */
struct vref {
    uint64_t v;
    int64_t t;
};
#define VREF_PACKED 12 /* value hash, age */

static void *scratch(struct cr_correlator *c, size_t n)
{
    if (n > c->scratch_cap || !c->scratch) {
        size_t cap = c->scratch_cap ? c->scratch_cap : 64;
        while (cap < n)
            cap *= 2;
        free(c->scratch);
        c->scratch = malloc(cap * 16);
        if (!c->scratch)
            abort();
        c->scratch_cap = cap;
    }
    return c->scratch;
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
        slab_free(&c->slab, ext_get(c, s).h);
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
        slab_free(&c->slab, e.h);
    }
    struct ext e = {slab_alloc(&c->slab, (size_t)want * esize), (uint32_t)want | wide};
    memcpy(payload(c, s), &e, sizeof e);
    s->ext = 1;
    return slab_ptr(&c->slab, e.h);
}

/* Forget the entries of s (any layout); an open incident stays. */
static void clear_entries(struct cr_correlator *c, struct state *s)
{
    if (c->lay[s->owner] == LAY_PLAIN) {
        s->n = 0;
        return;
    }
    struct cr_incident *inc = open_detach(c, s);
    ext_free(c, s);
    s->n = 0;
    open_attach(c, s, inc);
}

/* event_count: unpack s's ring (sorted by time) into r; returns s->n. */
static uint32_t ring_load(const struct cr_correlator *c, const struct state *s, struct evref *r)
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
static uint32_t vals_load(const struct cr_correlator *c, const struct state *s, struct vref *r)
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
static void compact_blocks(struct cr_correlator *c)
{
    if (!slab_drain_begin(&c->slab))
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
            uint32_t nh = slab_alloc(&c->slab, (size_t)(e.capw & ~EXT_WIDE) * esize);
            memcpy(slab_ptr(&c->slab, nh), slab_ptr(&c->slab, e.h), (size_t)s->n * esize);
            slab_free(&c->slab, e.h);
            e.h = nh;
            memcpy(payload(c, s), &e, sizeof e);
        }
    slab_drain_end(&c->slab);
}

/* Pack entries into s; an open incident stays (the payload may have held
 * it, open_slot). */
static void ring_store(struct cr_correlator *c, struct state *s, const struct evref *r, uint32_t n)
{
    struct cr_incident *inc = open_detach(c, s);
    ring_pack(c, s, r, n);
    open_attach(c, s, inc);
}

static void vals_store(struct cr_correlator *c, struct state *s, const struct vref *r, uint32_t n)
{
    struct cr_incident *inc = open_detach(c, s);
    vals_pack(c, s, r, n);
    open_attach(c, s, inc);
}

/* Pack entries unpacked by ring_load / vals_load (after last_ms moved). */
static void entries_store(struct cr_correlator *c, struct state *s, const void *e, uint32_t n)
{
    if (c->lay[s->owner] == LAY_RING)
        ring_store(c, s, e, n);
    else
        vals_store(c, s, e, n);
}

/* The start every counting operator shares, for state s, whose `have`
 * entries are unpacked in e: note the event time, forget an incident that
 * has closed. If one is still open, the match updates it (and the
 * correlations chained to it) and there is nothing left to count: returns
 * 0. */
static int count_begin(struct cr_correlator *c, uint32_t k, struct state *s,
                       const struct cr_match *m, struct cr_version **extra, const void *e,
                       uint32_t have)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t t = m->time_ms, before = s->last_ms;
    if (t > s->last_ms)
        s->last_ms = t;
    struct cr_incident *open = close_if_expired(c, s, t, extra);
    if (!open)
        return 1;
    if (have && s->last_ms != before)
        entries_store(c, s, e, have); /* packed relative to last_ms */
    update_incident(c, s, open, m, t, open_for(&co->incident, co->timespan_ms));
    chain(c, k, m->key, m->key_len, t, open, 0);
    return 0;
}

static void apply_window(struct cr_correlator *c, uint32_t k, const struct cr_match *m);

static void apply_count(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                        struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    if (co->windowed) {
        apply_window(c, k, m);
        return;
    }
    uint32_t n = corr_cap(co);
    int64_t ofor = open_for(&co->incident, co->timespan_ms);
    int64_t t = m->time_ms;
    struct state *s = lookup(c, (uint32_t)c->rs->nrules + k, m->key, m->key_len);
    struct evref *ring = scratch(c, (size_t)s->n + 1);
    uint32_t have = ring_load(c, s, ring);
    if (!count_begin(c, k, s, m, extra, ring, have))
        return;
    /* insert (t, ref) keeping the ring sorted by time; a full ring drops
     * its oldest entry, which can no longer be part of a newer window of N */
    struct evref e = evref_make(t, m->position, m->input);
    if (have == n) {
        if (t < ring[0].t)
            return; /* older than all N kept: cannot complete a window with them */
        memmove(ring, ring + 1, (size_t)(n - 1) * sizeof *ring);
        have--;
    }
    uint32_t pos = have;
    while (pos > 0 && ring[pos - 1].t > t) {
        ring[pos] = ring[pos - 1];
        pos--;
    }
    ring[pos] = e;
    have++;
    if (have < n || ring[n - 1].t - ring[0].t > co->timespan_ms) {
        /* an entry more than timespan older than the newest can never share
         * a window with it, nor with anything newer: dropping it changes no
         * outcome (the newest stays) */
        uint32_t d = 0;
        while (d + 1 < have && ring[have - 1].t - ring[d].t > co->timespan_ms)
            d++;
        if (d) {
            memmove(ring, ring + d, (size_t)(have - d) * sizeof *ring);
            have -= d;
        }
        ring_store(c, s, ring, have);
        return;
    }

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
    ring_store(c, s, ring, 0); /* the threshold restarts once it fired */
    open_incident(c, s, inc, inc->last_seen_ms + ofor);
    chain(c, k, m->key, m->key_len, t, inc, 0);
}

/* Step `step` of sequence correlation k happened at t for key. m is the
 * match (NULL when the step is a chained correlation's incident). */
static void apply_seq(struct cr_correlator *c, uint32_t k, int step, const char *key, size_t keylen,
                      int64_t t, const struct cr_match *m, const struct cr_incident *from,
                      int depth, struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t ofor = open_for(&co->incident, co->timespan_ms);
    uint32_t owner = (uint32_t)c->rs->nrules + k;
    struct state *s = lookup(c, owner, key, keylen);
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
    struct cr_incident *open = close_if_expired(c, s, t, extra);
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
        update_incident(c, s, open, m, t, ofor);
        chain(c, k, key, keylen, t, open, depth + 1);
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
    const char *last_id =
        lastref->is_correlation ? c->rs->corrs[lastref->index].id : c->rs->rules[lastref->index].id;
    cr_incident_add_reason(inc, "%s at %s, then %s at %s (within %llds)", first_id, a, last_id, b,
                           (long long)(co->timespan_ms / 1000));
    if (link[0]) {
        const struct cr_correlation *first_co = &c->rs->corrs[first->index];
        cr_incident_add_reason(inc, "follows incident %s (%s)", link, first_co->incident.category);
    }
    open_incident(c, s, inc, t + ofor);
    chain(c, k, key, keylen, t, inc, depth + 1);
}

/* ---- value_count ---- */

/* N distinct values of a field per key within the window. The state keeps,
 * for up to N distinct values, the latest time each was seen: if N distinct
 * values fall in a window, the N most recently seen ones do. */
static void apply_value(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                        struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    uint32_t n = corr_cap(co);
    int64_t ofor = open_for(&co->incident, co->timespan_ms);
    int64_t t = m->time_ms;
    struct state *s = lookup(c, (uint32_t)c->rs->nrules + k, m->key, m->key_len);
    struct vref *vr = scratch(c, (size_t)s->n + 1);
    uint32_t have = vals_load(c, s, vr);
    if (!count_begin(c, k, s, m, extra, vr, have))
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
         * no window any more (times only grow): dropping it changes no
         * outcome; if it comes back, it comes back with its new time */
        uint32_t w = 0;
        for (i = 0; i < have; i++)
            if (vr[i].t >= newest - co->timespan_ms)
                vr[w++] = vr[i];
        vals_store(c, s, vr, w);
        return;
    }
    struct cr_incident *inc =
        new_incident(c, co->id, co->title, &co->incident, co->group_by, co->ngroup_by, s, first);
    inc->first_seen_ms = first;
    inc->last_seen_ms = newest;
    inc->event_count = n;
    cr_incident_add_ref(inc, m->input, m->position, t);
    cr_incident_add_sample(inc, m->raw, m->raw_len);
    const char *fname = co->value_field >= 0 && co->value_field < c->rs->nfields
                            ? c->rs->field_names[co->value_field]
                            : "?";
    cr_incident_add_reason(inc, "%u distinct %s values within %llds (threshold: >= %u in %llds)", n,
                           fname, (long long)((newest - first) / 1000), n,
                           (long long)(co->timespan_ms / 1000));
    vals_store(c, s, vr, 0);
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
                         struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t t = m->time_ms;
    struct state *s = lookup(c, (uint32_t)c->rs->nrules + k, m->key, m->key_len);
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
    int64_t ofor = open_for(&co->incident, 3600000);
    struct cr_incident *open = close_if_expired(c, s, t, extra);
    if (open) {
        update_incident(c, s, open, m, t, ofor);
        chain(c, k, m->key, m->key_len, t, open, 0);
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
    cr_incident_add_reason(inc,
                           "a %s value not seen for this key within %llds (%u known; "
                           "learning ended %s)",
                           fname, (long long)(co->timespan_ms / 1000), s->n - 2, a);
    open_incident(c, s, inc, t + ofor);
    chain(c, k, m->key, m->key_len, t, inc, 0);
}

/* ---- temporal (every step, any order) ---- */

static void apply_all(struct cr_correlator *c, uint32_t k, int step, const char *key, size_t keylen,
                      int64_t t, const struct cr_match *m, int depth, struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    int64_t ofor = open_for(&co->incident, co->timespan_ms);
    struct state *s = lookup(c, (uint32_t)c->rs->nrules + k, key, keylen);
    struct stage *st = payload(c, s);
    if (s->n == 0) {
        for (int i = 0; i < co->nsteps; i++)
            st[i].start = st[i].reached = INT64_MIN;
        s->n = 1;
    }
    if (t > s->last_ms)
        s->last_ms = t;
    struct cr_incident *open = close_if_expired(c, s, t, extra);
    if (open) {
        update_incident(c, s, open, m, t, ofor);
        chain(c, k, key, keylen, t, open, depth + 1);
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
    return (uint32_t *)(void *)((struct stage *)payload(c, s) + c->cap[s->owner] - 1);
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
                         const struct cr_incident *from, struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    struct state *s = lookup(c, (uint32_t)c->rs->nrules + k, key, keylen);
    struct stage *st = payload(c, s);
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
    struct cwindow *w = payload(c, s);
    struct evref *refs = (struct evref *)payload(c, s) + WINDOW_HEAD;
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
    struct cwindow *w = payload(c, s);
    const struct evref *refs = (const struct evref *)payload(c, s) + WINDOW_HEAD;
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
    struct cr_incident *open = close_if_expired(c, s, at, &c->extra);
    if (open) {
        struct cr_incident *inc = open;
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
        struct cr_incident *inc = new_incident(c, co->id, co->title, &co->incident, co->group_by,
                                               co->ngroup_by, s, w->start);
        inc->first_seen_ms = w->start;
        inc->last_seen_ms = w->last;
        inc->event_count = w->count;
        for (uint32_t i = 0; i < nref; i++)
            cr_incident_add_ref(inc, evref_input(&refs[i]), evref_pos(&refs[i]), refs[i].t);
        char cond[48], a[32];
        condition_text(co, cond, sizeof cond);
        cr_time_format(w->start, a, sizeof a);
        cr_incident_add_reason(inc,
                               "%llu matches of %s in the %llds window from %s (condition: %s)",
                               (unsigned long long)w->count,
                               co->nsteps == 1 ? c->rs->rules[co->steps[0].index].id : "its rules",
                               (long long)(co->timespan_ms / 1000), a, cond);
        open_incident(c, s, inc, at + ofor);
    }
    c->cur_tenant = state_tenant(c, s); /* what it chains to belongs to the same tenant */
    chain(c, k, state_key(c, s), s->keylen, at, open_get(c, s), 0);
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
 * sequence; its incident's key is the chain of join values. */
static void apply_jseq(struct cr_correlator *c, uint32_t k, int step, const char *key,
                       size_t keylen, int64_t t, const struct cr_match *m,
                       const struct cr_incident *from, int depth, struct cr_version **extra)
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
        struct state *ns = lookup(c, owner, k2, jkey(k2, step, y, yn));
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
    struct state *s = lookup(c, owner, k2, jkey(k2, last, p.vals, p.vlen));
    if (t > s->last_ms)
        s->last_ms = t;
    struct cr_incident *open = close_if_expired(c, s, t, extra);
    if (open) {
        update_incident(c, s, open, m, t, ofor);
        chain(c, k, p.vals, p.vlen, t, open, depth + 1);
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
        struct stage *st = payload(c, s);
        if (st[0].start == INT64_MIN || st[0].reached != d.at)
            continue; /* answered, or replaced: a stale entry */
        const struct cr_correlation *co = &c->rs->corrs[k];
        int64_t start = st[0].start, ofor = open_for(&co->incident, co->timespan_ms);
        st[0].start = INT64_MIN;
        mark_changed(c, s);
        struct cr_incident *open = close_if_expired(c, s, d.at, &c->extra);
        if (open) {
            update_incident(c, s, open, NULL, d.at, ofor);
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
        c->cur_tenant = state_tenant(c, s);
        chain(c, k, state_key(c, s), s->keylen, d.at, open_get(c, s), 0);
    }
}

static void chain(struct cr_correlator *c, uint32_t corr, const char *key, size_t keylen, int64_t t,
                  const struct cr_incident *from, int depth)
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

/* Free state s, whose handle *link holds (its bucket or its predecessor's
 * next), with its entry block and open incident. */
static void remove_state(struct cr_correlator *c, uint32_t *link, struct state *s)
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
    uint32_t h = *link;
    *link = s->next;
    uint32_t tenant = state_tenant(c, s);
    if (c->max_per_tenant && tenant)
        cr_tenants_find(&c->tenants, tenant)->states--;
    struct owner_lru *l = &c->lru[s->owner];
    if (lru_tracked(c, s->owner))
        lru_unlink(c, l, h);
    l->n--;
    open_clear(c, s);
    clear_entries(c, s);
    slab_free(&c->slab, h);
    c->stats.states--;
}

/* Drop states no window or open incident can use any more; then, if the
 * table is still over its budget, evict the least recently touched. */
static void expire(struct cr_correlator *c)
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
                remove_state(c, link, s);
                c->stats.expired++;
            } else
                link = &s->next;
        }
    }
    if (c->stats.states <= c->max_keys) {
        compact_blocks(c);
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
                    remove_state(c, link, s);
                    removed++;
                } else
                    link = &s->next;
            }
        }
        lo = cut;
    }
    c->stats.evicted += removed;
    compact_blocks(c);
}

/* An updated incident goes out at most every EMIT_EVERY batch ends (an
 * opening always at once): in an alert storm every hot incident changes in
 * every batch, and writing each version cost more than correlating. */
#define EMIT_EVERY 16

static size_t flush_impl(struct cr_correlator *c, struct cr_version **head,
                         struct cr_version **tail, int force)
{
    fire_due(c);
    struct cr_version *h = c->extra, *t = NULL;
    size_t n = 0;
    c->extra = NULL;
    for (struct cr_version *m = h; m; m = m->next) {
        t = m;
        n++;
    }
    /* newest first (the order incidents have always gone out in); the states
     * that wait keep their relative order in the next round */
    c->later.n = 0;
    for (size_t i = c->dirty.n; i-- > 0;) {
        struct state *s = c->dirty.v[i];
        struct cr_incident *inc = open_get(c, s);
        if (inc && !force && !s->created && c->flushes - meta(inc)->emitted < EMIT_EVERY) {
            svec_push(&c->later, s);
            continue;
        }
        s->dirty = 0;
        if (!inc)
            continue;
        struct cr_version *m = cr_version_new(inc, s->created, annotation_of(c, s->owner));
        s->created = 0;
        meta(inc)->emitted = c->flushes;
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

size_t cr_correlator_flush(struct cr_correlator *c, struct cr_version **head,
                           struct cr_version **tail)
{
    return flush_impl(c, head, tail, 1);
}

size_t cr_correlator_flush_batch(struct cr_correlator *c, struct cr_version **head,
                                 struct cr_version **tail)
{
    return flush_impl(c, head, tail, 0);
}

uint64_t cr_correlator_memory(const struct cr_correlator *c, uint64_t *incident_bytes)
{
    /* the slab's chunks whole (free slots included: they are memory held),
     * the chunk table, the bucket array, the deadline heap, the pending
     * vectors, the (input, tenant) and tenant tables, the scratch; blocks
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

void cr_correlator_set_tenant_budget(struct cr_correlator *c, uint64_t max_keys_per_tenant)
{
    c->max_per_tenant = max_keys_per_tenant;
    /* every consumer keeps an LRU order under a tenant budget: the state
     * layout follows, as long as there are no states yet (correlate.h) */
    if (c->slab.bytes == 0)
        owner_layout(c, c->rs, c->cap, c->horizon, c->lay, c->poff, c->koff, c->ioff, c->lru);
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
 * horizon is the owner's; a deadline count slot; the tenant). Version 5:
 * event_count (without an upper bound) and value_count store the n entries
 * they hold, unpacked (16 bytes each), not `cap` of them. */
enum { CKPT_VERSION = 5, KIND_RULE = 1, KIND_WINDOWED = 16, KIND_JOINED = 32 };

/* Fixed head of an encoded state; the entries and, if has_open, the open
 * incident follow. The entries: for event_count (no upper bound) and
 * value_count the n held, as struct evref / struct vref; for the others
 * `cap` of them, as in memory. The encoding is this build's: the store's
 * meta `state_format` records it, and a store written by a different
 * layout is not restored (docs/operations.md). */
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
        size_t kl = ckpt_key(c, s, key, sizeof key);
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
        size_t elen = (size_t)h.cap * entry_size();
        if (c->lay[s->owner] == LAY_RING) {
            struct evref *r = scratch(c, s->n);
            ents = r;
            elen = (size_t)ring_load(c, s, r) * sizeof *r;
        } else if (c->lay[s->owner] == LAY_VALS) {
            struct vref *r = scratch(c, s->n);
            ents = r;
            elen = (size_t)vals_load(c, s, r) * sizeof *r;
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
    int lay = c->lay[owner];
    if (h.n > cap)
        return 0;
    /* a forged or corrupt window: its refs would be read past the state
     * (found by fuzz_checkpoint); the last entry is the deadline count */
    if (h.kind == KIND_RULE + CR_CORR_EVENT_COUNT + KIND_WINDOWED && h.n &&
        (h.n < WINDOW_HEAD || h.n > cap - 1))
        return 0;
    size_t elen = lay != LAY_PLAIN ? (size_t)h.n * 16 : (size_t)cap * entry_size();
    size_t need = sizeof h + elen + (h.has_open ? sizeof(struct cr_incident) : 0);
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
    s->last_ms = h.last_ms;
    if (lay != LAY_PLAIN) {
        clear_entries(c, s);
        void *e = scratch(c, h.n);
        memcpy(e, v, elen);
        entries_store(c, s, e, h.n); /* packed relative to last_ms */
    } else {
        memcpy(payload(c, s), v, elen);
        if (s->heaped == 0 && (h.kind == KIND_RULE + CR_CORR_ABSENCE ||
                               h.kind == KIND_RULE + CR_CORR_EVENT_COUNT + KIND_WINDOWED))
            *heap_count(c, s) = 0; /* the snapshot's count: the pushes below count anew */
        s->n = h.n;
    }
    s->persisted = 1;
    if (h.has_open) {
        open_clear(c, s);
        struct cr_incident *inc = incident_alloc();
        memcpy(inc, v + elen, sizeof *inc);
        meta(inc)->until = h.open_until;
        open_set(c, s, inc);
    }
    if (s->last_ms > c->watermark)
        c->watermark = s->last_ms;
    const struct stage *st = payload(c, s);
    if (h.kind == KIND_RULE + CR_CORR_ABSENCE && s->n && st[0].start != INT64_MIN)
        heap_push(c, st[0].reached, s); /* a pending absence keeps its deadline */
    if (h.kind == KIND_RULE + CR_CORR_EVENT_COUNT + KIND_WINDOWED && s->n) {
        struct cwindow w;
        memcpy(&w, payload(c, s), sizeof w);
        heap_push(c, w.end, s); /* an open window keeps its deadline */
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
                remove_state(c, link, s);
                n++;
            } else if (its && (s->changed || s->heaped)) {
                /* touched since the last snapshot: its snapshot entry must
                 * become a deletion, so keep it until then, but empty */
                clear_entries(c, s); /* a pending absence deadline becomes stale: heap
                                      * entries check */
                open_clear(c, s);
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
        struct cr_incident *inc = s ? open_get(c, s) : NULL;
        if (!inc || at > meta(inc)->until)
            continue;
        cr_incident_add_ref(inc, m->input, m->position, m->time_ms);
        cr_incident_add_sample(inc, m->raw, m->raw_len);
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
    owner_layout(c, rs, cap, horizon, lay, poff, koff, ioff, lru);
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
        uint32_t *link = &c->buckets[i];
        while (*link) {
            struct state *x = S(c, *link);
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
            lru_push(c, nl, x);
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
        heap_push(c, c->heap[i].at, c->heap[i].s); /* pushes only move entries down */

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
