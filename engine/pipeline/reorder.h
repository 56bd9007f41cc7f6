/*
 * reorder.h - the event-time reorder buffer of one correlation shard.
 *
 * Records arrive in input order, which is not event-time order: syslog from
 * many hosts, Kafka partitions read at different speeds, a device whose
 * buffer flushes late. Correlation windows must not depend on that order,
 * so a shard holds its matches back here and applies them in event-time
 * order once the watermark has passed them.
 *
 * Watermark. Each input (a file, stdin, a Kafka partition: `src`) reports
 * the newest event time it has reached, for every record, matched or not
 * (CR_MSG_WATERMARK, at batch ends). The watermark is
 *     min over active inputs of (their newest time) - allowed_lateness
 * where an input is active unless it trails the newest input by more than
 * source_idle (a quiet partition must not stop the others), and one that
 * says it is BEHIND (records are waiting for it: a Kafka partition with
 * lag) is active however far it trails: it is not quiet, and its records
 * would otherwise arrive behind the frontier, late, and count in no window. Matches with a
 * time below the watermark leave, sorted by (time, hash of the raw record,
 * input, position, rule, route): a total order that does not depend on
 * arrival, so a replay of the same records in another order (within the
 * lateness) applies the same matches in the same order and produces the
 * same incidents.
 *
 * Late matches. A match more than the lateness behind a newer record of its
 * own input, or older than what has already left (the frontier), cannot be
 * put back in order; cr_reorder_push says so, and the shard counts it and
 * keeps the record. It still leaves, marked late, at the point of event
 * time where it would have been on time: the incident of its key open then
 * takes it as evidence, but no window counts it. If held matches exceed max_bytes, the oldest leave
 * early and are counted (`forced`): memory stays bounded, and nothing is lost.
 *
 * Checkpoints: held matches and the inputs' times are part of a shard's
 * checkpoint (keys prefixed with CR_REORDER_KEY_*), so a restarted run
 * continues with exactly the matches the stopped one held.
 *
 * Memory: entries are appended to 256 KiB chunks recycled when all their
 * entries have left; no allocation per match in the steady state.
 *
 * Threading: owned by one shard thread.
 */
#ifndef CR_REORDER_H
#define CR_REORDER_H

#include "base/counters.h"
#include "engine/store/checkpoint.h"
#include "engine/correlate/match.h"

#include "rules/ruleset.h"

#include <stddef.h>
#include <stdint.h>

/* Checkpoint key prefixes (a consumer id can never start with 0x01). */
#define CR_REORDER_KEY_HELD "\x01held"
#define CR_REORDER_KEY_SOURCE "\x01source"
#define CR_REORDER_KEY_FRONTIER                                                                    \
    "\x01"                                                                                         \
    "frontier" /* split: "\x01f" would be one hex escape */

struct cr_reorder;

/* X(field, "json name", merge): base/counters.h */
#define CR_REORDER_COUNTERS(X)                                                                     \
    X(held, "reorder_held", SUM)           /* matches held now */                                  \
    X(held_peak, "reorder_held_peak", SUM) /* per shard, summed: an upper bound */                 \
    X(bytes_peak, "reorder_bytes_peak", SUM)                                                       \
    X(late, "late_matches", SUM)         /* arrived behind the frontier */                         \
    X(forced, "reorder_forced", SUM)     /* left before the watermark passed them (max_bytes) */   \
    X(restored, "reorder_restored", SUM) /* held matches loaded from a checkpoint */               \
    X(restore_dropped, "reorder_restore_dropped", SUM) /* ... whose rule changed shape */          \
    X(reload_dropped, "reorder_reload_dropped", SUM)   /* held matches a reload removed */         \
    X(quiet_releases, "idle_releases",                                                             \
      MAX) /* every input quiet: all applied (each shard counts it) */

struct cr_reorder_stats {
    CR_REORDER_COUNTERS(CR_COUNTER_FIELD)
};
_Static_assert(sizeof(struct cr_reorder_stats) ==
                   (CR_COUNTERS_N(CR_REORDER_COUNTERS)) * sizeof(uint64_t),
               "every counter of struct cr_reorder_stats is in CR_REORDER_COUNTERS");

struct cr_reorder *cr_reorder_new(const struct cr_ruleset *rs, int64_t lateness_ms, int64_t idle_ms,
                                  uint64_t max_bytes);
void cr_reorder_free(struct cr_reorder *r);

/* Hold a match. Returns 0, or 1 if it is late: then *behind_ms says by how
 * much it missed, and it is held anyway, to leave (marked late) where it
 * would have been on time. */
int cr_reorder_push(struct cr_reorder *r, const struct cr_match *m, int64_t *behind_ms);
/* Input src has reached event time t. */
void cr_reorder_source(struct cr_reorder *r, uint32_t src, int64_t t);

/* Input src is pending (holds the watermark back until it reports a
 * time) or idle (does not hold it back until it reports a newer time);
 * BEHIND / CAUGHT_UP set and clear its backlog flag, which keeps it holding
 * the watermark back while it trails by more than source_idle.
 * Inputs are checkpointed with their time and state, so a restored
 * pending input holds the watermark back as it did before the stop. */
void cr_reorder_source_state(struct cr_reorder *r, uint32_t src, enum cr_source_state state);
/* The consumer's assignment is in (Kafka): inputs restored from the
 * checkpoint that no cr_reorder_source_state or time has claimed since
 * belong to another member now, and stop holding the watermark back (idle,
 * until they report again). */
void cr_reorder_assigned(struct cr_reorder *r);

/* Apply (through fn) every held match the watermark has passed, in order;
 * with `all`, every held match (the input is complete). Returns how many. */
typedef void (*cr_reorder_fn)(void *arg, const struct cr_match *m, int64_t late_at);
/* late_at: INT64_MIN for a match on time; for a late one, the point of
 * event time where it leaves (an incident open then may take it). */
size_t cr_reorder_release(struct cr_reorder *r, int all, cr_reorder_fn fn, void *arg);

/* Every input has been quiet for correlation.idle_release (wall clock): apply
 * every held match, in order, as at the end of the input, and move the
 * frontier to the newest time of any input, so that a record arriving
 * later and older than that is late (counted, kept, evidence) instead of
 * being counted in a window out of order. The frontier is part of the
 * next checkpoint. Returns how many left. */
size_t cr_reorder_release_quiet(struct cr_reorder *r, cr_reorder_fn fn, void *arg);

/* The watermark now (INT64_MIN before any input reported a time); with
 * `complete`, the newest time of any input (nothing more will come). */
int64_t cr_reorder_watermark(const struct cr_reorder *r, int complete);

/* Everything before this time has left: an arrival before it is late. */
int64_t cr_reorder_frontier(const struct cr_reorder *r);
/* After restoring: what the stopped run had released is the frontier
 * again. Every checkpoint stores each shard's frontier (key
 * CR_REORDER_KEY_FRONTIER + BE u32 shard index): it cannot be derived from
 * the restored input times, since inputs that had not reported yet held
 * the watermark back then (at the start of a Kafka run, partitions not yet
 * fetched), and the restored times know nothing of them; recomputing it
 * made the restarted run treat their first records as late (issue 9). */
void cr_reorder_resume(struct cr_reorder *r);
/* This buffer's shard index (default 0): names its frontier's key. */
void cr_reorder_set_shard(struct cr_reorder *r, uint32_t index);

/* Forget input src: its held matches and its time (a rebalance moved it
 * to another process). Returns how many matches were dropped. */
uint64_t cr_reorder_drop_src(struct cr_reorder *r, uint32_t src);

/* New rules (hot reload): held matches move to the same rule id and an
 * equivalent route (same group_by and counted field) of rs; those whose
 * rule or route is gone are dropped and counted. Returns how many. */
uint64_t cr_reorder_switch_rules(struct cr_reorder *r, const struct cr_ruleset *rs);

/* Checkpoint delta: held matches not yet persisted, deletions of persisted
 * ones that have left, inputs whose time moved. */
void cr_reorder_snapshot(struct cr_reorder *r, struct cr_ckpt_buf *b);
/* Is this stored state key one of ours? */
int cr_reorder_is_key(const void *key, size_t klen);
/* The correlation key of a held match's entry (NULL for an input entry). */
const char *cr_reorder_entry_key(const void *key, size_t klen, size_t *keylen);
/* Which of nshards shards a stored entry goes to at restore: the shard its
 * match would be routed to now; -1 for an input entry (every shard). */
int cr_reorder_entry_shard(const struct cr_ruleset *rs, const void *key, size_t klen,
                           const void *val, size_t vlen, int nshards);
/* Load one entry. Returns 1 if kept, 0 if dropped (its rule changed). */
int cr_reorder_restore(struct cr_reorder *r, const void *key, size_t klen, const void *val,
                       size_t vlen);

const struct cr_reorder_stats *cr_reorder_stats(const struct cr_reorder *r);

#endif
