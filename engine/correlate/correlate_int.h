/*
 * correlate_int.h - the correlator's private parts, shared by the files of
 * engine/correlate/ and by nothing else (correlate.h is the interface).
 *
 * The correlator is one struct (struct cr_correlator, below) that its
 * files work on together: the containers it is built of (slab.c,
 * containers.c), the state table with its budgets and eviction (state.c),
 * incidents (incidents.c), the compact entry blocks of event_count and
 * value_count (entries.c), one file per operator family (op_count.c,
 * op_sequence.c, op_value.c, op_absence.c), the deadline heap they share
 * (deadlines.c), the checkpoint codec (state_codec.c) and hot-reload
 * migration (migrate.c); correlate.c builds the consumer plan and applies
 * matches. Small hot helpers are static inline here; everything else that
 * crosses files is declared at the end, prefixed corr_.
 *
 * Threading: as correlate.h: one shard thread owns a correlator.
 */
#ifndef CR_CORRELATE_INT_H
#define CR_CORRELATE_INT_H

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
    CONS_AGG = 9,    /* value_sum, value_avg */
    CONS_PCT = 10,   /* value_percentile */
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
 * used move out (corr_compact_blocks), so that a few long-lived blocks do not
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
    uint8_t draining; /* being emptied (corr_compact_blocks): not in the free-slot list */
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

/* One tracked (consumer, key), in the slab: this 24-byte header; then, if
 * its consumer keeps an LRU order (it has a max_keys budget, or the tenant
 * budget is on), its LRU neighbours (struct lru_link); then the operator's
 * payload (ring, stages, window; for event_count and value_count 8 bytes,
 * see corr_ring_load); then, except for event_count and value_count, the open
 * incident's pointer (8 bytes, open_slot); then the key bytes (at
 * c->koff[owner]). What every state would otherwise repeat lives with its
 * owner (capacity, horizon, layout: c->cap, c->horizon, c->lay, c->poff,
 * c->ioff, c->koff), with its open incident (open_meta), or in a table of
 * the few (input, tenant) pairs (c->ctx); the dirty and changed sets are
 * vectors in the correlator; the hash is recomputed from the key when the
 * table grows. Anything that points at a state (hash corr_chain, LRU neighbours
 * by handle; dirty/changed vectors, deadline heap, c->opens by address)
 * relies on it never moving: states are not reallocated, only their entry
 * blocks. */
struct state {
    uint32_t next;          /* hash corr_chain: handle of the next state in the bucket, 0: none */
    uint32_t ctx;           /* c->ctx index: input (src) of the latest match, and tenant */
    int64_t last_ms;        /* newest event time that touched this state */
    uint32_t n;             /* entries in use (operator-specific) */
    uint16_t owner;         /* rule index, or nrules + correlation index */
    uint16_t keylen : 9;    /* <= CR_KEY_MAX + 2 */
    uint16_t dirty : 1;     /* in c->dirty: its incident has unflushed changes */
    uint16_t created : 1;   /* the unflushed version is the opening one */
    uint16_t changed : 1;   /* in c->changed: touched since the last snapshot */
    uint16_t persisted : 1; /* checkpointing: a snapshot holds it */
    uint16_t heaped : 1;    /* deadlines point at it (count in corr_heap_count()) */
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

/* value_sum / value_avg (op_agg.c): AGG_BUCKETS time buckets of width
 * timespan / AGG_BUCKETS, then the evidence references of the AGG_REFS most
 * recent matches; s->n is 0 (untouched) or 1 + the references kept. */
#define AGG_BUCKETS 24
#define AGG_REFS 8
struct abucket {
    int64_t id;         /* floor(time / width); INT64_MIN: empty */
    double sum;         /* of its events' numbers */
    uint32_t count;     /* its events */
    uint32_t first_off; /* its first event's time - id * width */
};
#define AGG_CAP                                                                                    \
    ((AGG_BUCKETS * sizeof(struct abucket) + AGG_REFS * sizeof(struct evref) + ENTRY_SIZE - 1) /   \
     ENTRY_SIZE)

/* value_percentile (op_agg.c): the most recent numbers of the window, at
 * most PCT_MAX, as value_count's entries (struct vref: the double's bits,
 * its time). */
#define PCT_MAX 128u

/* Payload layouts: most operators keep cap entries of ENTRY_SIZE in the
 * state; event_count (without an upper bound) and value_count keep 8 bytes
 * there and corr_grow their entries on demand (corr_ring_load, corr_vals_load). */
enum { LAY_PLAIN = 0, LAY_RING = 1, LAY_VALS = 2 };

/* A growable array of state pointers (the dirty and changed sets). */
struct svec {
    struct state **v;
    size_t n, cap;
};

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
    void *corr_scratch; /* entries of one state unpacked (corr_ring_load, corr_vals_load) */
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
    /* The last counting applications (event, correlation, key): one event
     * that matched several rules of one event_count counts once. A ring:
     * the matches of one event come together (one batch, one worker), and
     * 16 covers an event matching 16 rules of its correlations. */
    struct applied {
        uint32_t src, input, sub, rep, k;
        uint64_t position, key_hash;
    } applied[16];
    uint32_t napplied;
    struct cr_correlator_stats stats;
};

/* Tenant budget (correlation.max_keys_per_tenant): the tenant of the new
 * state `keep` is over it. Evict that tenant's least recently touched
 * evictable state: looking from the tail of the new state's own consumer
 * (its LRU list), then of every other consumer in index order, at most
 * TENANT_SCAN states of each. Input order decides, as for max_keys. When
 * the tails hold only other tenants' states, the tenant stays over until
 * the next flush, which evicts its oldest states by a full pass
 * (corr_evict_tenants_over). */
#define TENANT_SCAN 64

struct tenant_ent {
    struct state *s;
    uint32_t h, tenant;
    size_t i;
};

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
 * unpack the entries into c->corr_scratch, work on them as before, and pack
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

/* slab.c */
uint32_t corr_slab_alloc(struct slab *sl, size_t size);
void corr_slab_free(struct slab *sl, uint32_t h);
uint32_t corr_slab_drain_begin(struct slab *sl);
void corr_slab_drain_end(struct slab *sl);
void corr_slab_destroy(struct slab *sl);

/* containers.c */
struct cr_incident *corr_incident_alloc(void);
void corr_incident_free(struct cr_incident *inc);
struct cr_incident *corr_omap_get(const struct omap *m, const struct state *s);
void corr_omap_put(struct omap *m, const struct state *s, struct cr_incident *inc);
struct cr_incident *corr_omap_del(struct omap *m, const struct state *s);
uint32_t corr_ctx_get(struct ctx_tab *t, uint32_t src, uint32_t tenant);
void corr_svec_push(struct svec *a, struct state *s);

/* state.c */
void corr_grow(struct cr_correlator *c);
void corr_lru_push(struct cr_correlator *c, struct owner_lru *l, uint32_t h);
void corr_evict_tenants_over(struct cr_correlator *c);
void corr_mark_changed(struct cr_correlator *c, struct state *s);
struct state *corr_lookup(struct cr_correlator *c, uint32_t owner, const char *key, size_t len);
void corr_mark_dirty(struct cr_correlator *c, struct state *s);
void corr_remove_state(struct cr_correlator *c, uint32_t *link, struct state *s);
void corr_expire(struct cr_correlator *c);

/* incidents.c */
struct cr_incident *corr_open_detach(struct cr_correlator *c, struct state *s);
void corr_open_attach(struct cr_correlator *c, struct state *s, struct cr_incident *inc);
void corr_open_set(struct cr_correlator *c, struct state *s, struct cr_incident *inc);
void corr_open_clear(struct cr_correlator *c, struct state *s);
/* A match's record is evidence of inc: its raw sample, its assets and its
 * measure. */
void corr_note_match(const struct cr_correlator *c, struct cr_incident *inc,
                     const struct cr_match *m);
struct cr_incident *corr_new_incident_key(struct cr_correlator *c, const char *rule_id,
                                          const char *rule_title,
                                          const struct cr_incident_spec *spec,
                                          const uint16_t *group_by, int ngroup, const char *key,
                                          size_t keylen, int64_t window_start);
struct cr_incident *corr_new_incident(struct cr_correlator *c, const char *rule_id,
                                      const char *rule_title, const struct cr_incident_spec *spec,
                                      const uint16_t *group_by, int ngroup, struct state *s,
                                      int64_t window_start);
int64_t corr_open_for(const struct cr_incident_spec *spec, int64_t fallback);
struct cr_incident *corr_close_if_expired(struct cr_correlator *c, struct state *s, int64_t t,
                                          struct cr_version **extra_head);
void corr_update_incident(struct cr_correlator *c, struct state *s, struct cr_incident *inc,
                          const struct cr_match *m, int64_t t, int64_t open_ms);
void corr_open_incident(struct cr_correlator *c, struct state *s, struct cr_incident *inc,
                        int64_t until);
void corr_apply_rule_incident(struct cr_correlator *c, uint32_t r, const struct cr_match *m,
                              struct cr_version **extra);

/* entries.c */
void *corr_scratch(struct cr_correlator *c, size_t n);
void corr_clear_entries(struct cr_correlator *c, struct state *s);
uint32_t corr_ring_load(const struct cr_correlator *c, const struct state *s, struct evref *r);
uint32_t corr_vals_load(const struct cr_correlator *c, const struct state *s, struct vref *r);
void corr_compact_blocks(struct cr_correlator *c);
void corr_ring_store(struct cr_correlator *c, struct state *s, const struct evref *r, uint32_t n);
void corr_vals_store(struct cr_correlator *c, struct state *s, const struct vref *r, uint32_t n);
void corr_entries_store(struct cr_correlator *c, struct state *s, const void *e, uint32_t n);

/* op_count.c */
int corr_count_begin(struct cr_correlator *c, uint32_t k, struct state *s, const struct cr_match *m,
                     struct cr_version **extra, const void *e, uint32_t have);
void corr_apply_count(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                      struct cr_version **extra);
void corr_apply_window(struct cr_correlator *c, uint32_t k, const struct cr_match *m);
void corr_fire_window(struct cr_correlator *c, struct state *s, int64_t at);

/* op_sequence.c */
void corr_apply_seq(struct cr_correlator *c, uint32_t k, int step, const char *key, size_t keylen,
                    int64_t t, const struct cr_match *m, const struct cr_incident *from, int depth,
                    struct cr_version **extra);
void corr_apply_all(struct cr_correlator *c, uint32_t k, int step, const char *key, size_t keylen,
                    int64_t t, const struct cr_match *m, int depth, struct cr_version **extra);
struct state *corr_find_state(struct cr_correlator *c, uint32_t owner, const char *key, size_t len);
void corr_apply_jseq(struct cr_correlator *c, uint32_t k, int step, const char *key, size_t keylen,
                     int64_t t, const struct cr_match *m, const struct cr_incident *from, int depth,
                     struct cr_version **extra);

/* op_value.c */
void corr_apply_value(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                      struct cr_version **extra);
void corr_apply_newval(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                       struct cr_version **extra);

/* op_agg.c */
void corr_apply_agg(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                    struct cr_version **extra);
void corr_apply_pct(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                    struct cr_version **extra);
/* Does aggregate x satisfy co's condition (num_lo .. num_hi)? */
int corr_agg_holds(const struct cr_correlation *co, double x);
/* co's condition as text, for reasons and explain: "> 1000000", ">= 2 and <= 5". */
void corr_agg_condition_text(const struct cr_correlation *co, char *buf, size_t len);

/* op_absence.c */
uint32_t *corr_heap_count(const struct cr_correlator *c, struct state *s);
void corr_heap_push(struct cr_correlator *c, int64_t at, struct state *s);
struct deadline corr_heap_pop(struct cr_correlator *c);
void corr_apply_absent(struct cr_correlator *c, uint32_t k, int step, const char *key,
                       size_t keylen, int64_t t, const struct cr_match *m,
                       const struct cr_incident *from, struct cr_version **extra);

/* deadlines.c */
void corr_fire_due(struct cr_correlator *c);

/* correlate.c */
void corr_build_plan(struct cr_correlator *c);
void corr_owner_layout(struct cr_correlator *c, const struct cr_ruleset *rs, uint32_t *cap,
                       int64_t *horizon, uint8_t *lay, uint16_t *poff, uint32_t *koff,
                       uint32_t *ioff, const struct owner_lru *lru);
uint32_t corr_cap(const struct cr_correlation *co);
int64_t corr_horizon(const struct cr_correlation *co);
void corr_chain(struct cr_correlator *c, uint32_t corr, const char *key, size_t keylen, int64_t t,
                const struct cr_incident *from, int depth);

/* state_codec.c */
size_t corr_ckpt_key(const struct cr_correlator *c, struct state *s, char *out, size_t cap);
size_t corr_entry_size(void);

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

static inline void *slab_ptr(const struct slab *sl, uint32_t h)
{
    const struct slab_chunk *ch = &sl->chunk[h >> SLAB_SLOT_BITS];
    return ch->base + (size_t)(h & SLAB_SLOT_MASK) * ch->size;
}

static inline int slab_draining(const struct slab *sl, uint32_t h)
{
    return sl->chunk[h >> SLAB_SLOT_BITS].draining;
}

static inline struct open_meta *meta(const struct cr_incident *inc)
{
    return (struct open_meta *)(void *)inc - 1;
}

static inline size_t omap_home(const struct omap *m, const struct state *s)
{
    return (size_t)(((uint64_t)(uintptr_t)s * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (m->cap - 1);
}

static inline uint32_t ctx_home(const struct ctx_tab *t, uint32_t src, uint32_t tenant)
{
    uint64_t h = ((uint64_t)src << 32 | tenant) * UINT64_C(0x9E3779B97F4A7C15);
    return (uint32_t)(h >> 32) & (t->nslot - 1);
}

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
        return corr_omap_get(&c->opens, s);
    struct cr_incident *inc;
    memcpy(&inc, slot, sizeof inc);
    return inc;
}

static inline size_t state_size(const struct cr_correlator *c, uint32_t owner, size_t keylen)
{
    return (size_t)c->koff[owner] + keylen;
}

static inline char *state_key(const struct cr_correlator *c, const struct state *s)
{
    return (char *)s + c->koff[s->owner];
}

static inline uint64_t key_hash(uint32_t owner, const char *key, size_t len)
{
    return XXH3_64bits_withSeed(key, len, owner);
}

static inline uint64_t state_hash(const struct cr_correlator *c, const struct state *s)
{
    return key_hash(s->owner, state_key(c, s), s->keylen);
}

/* Can state v be freed now (not waiting to be written, snapshotted, or for
 * a deadline)? */
static inline int evictable(const struct state *v)
{
    return !v->dirty && !v->changed && !v->heaped;
}

#endif
