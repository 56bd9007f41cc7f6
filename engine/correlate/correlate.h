/*
 * correlate.h - correlation operators as state machines over per-key state.
 *
 * A correlator belongs to one shard and holds the state of every
 * (consumer, key) pair placed on that shard: by the key's hash, or, for a
 * cross-key sequence and everything chained to it, all on the shard its
 * pin names (rules/ruleset.h, placement). A consumer is what turns matches
 * into incidents: a match rule with its own `incident:` block, or a
 * correlation (`event_count`, `value_count`, `new_value`, and one step of a
 * `temporal`, `temporal_ordered` or `absence` correlation). Matches are
 * applied strictly in input order (the shard
 * guarantees it), and every window runs on event time, so the incidents
 * depend only on the input, never on thread counts or arrival speed.
 *
 * Operators:
 *  - single-event incident: the first match for a key opens an incident;
 *    matches while it is open (event time <= last_seen + open_for) update it.
 *  - event_count: the last N (= gte) matches per key are kept sorted by event
 *    time; when N of them fit in `timespan`, an incident opens (window start
 *    = the oldest of the N) and the counter restarts; matches while the
 *    incident is open update it instead of counting towards a new one.
 *  - event_count with an upper bound (lt, lte, eq, a range): one window per
 *    key anchored at its first match, counted until event time passes its
 *    end (the deadline heap below), then fired if the count is in range.
 *  - temporal_ordered across keys (steps joined on fields): one state per
 *    pending partial, keyed by (step reached, value the next step must
 *    show); the latest start wins where two meet (docs/rules.md). All of
 *    such a correlation's state, and of everything chained to it, lives on
 *    one shard (cr_ruleset_route_shard / cr_ruleset_state_shard).
 *  - new_value: per key, the most recently seen values of a field (hash,
 *    last seen), learning silently for `learn` after the key's first match;
 *    a value not seen within `history` opens an incident.
 *  - temporal_ordered: per key, for each step, the start and reach time of
 *    the most recent partial sequence; step k advances a partial that has
 *    reached step k-1, if it is within `timespan` of its start. The last step
 *    opens (or updates) an incident. A step may be another correlation: its
 *    incidents (openings and updates) feed the step for the same key.
 *  - value_count: per key, up to N distinct value hashes with the last time
 *    each was seen; N of them within `timespan` open an incident.
 *  - temporal: per key, the latest time of each step; all within `timespan`
 *    (any order) open an incident.
 *  - absence: per key, the first unanswered step 0 and its deadline, kept in
 *    a min-heap; when the watermark passes a deadline the step-1 match did
 *    not clear, an incident opens (before the match that moved time is
 *    applied, so a late follow-up answers nothing).
 *
 * Incident versions leave at batch ends: an opening at once, an update at
 * most every 16 batch ends (alert storms), everything at a forced flush
 * (checkpoint, end of input).
 *
 * Memory is bounded: states expire once the event-time watermark (the
 * newest event time the shard has seen) passes last_seen plus the longest
 * horizon that can still use them; past max_keys states, the oldest are
 * evicted and counted (correlator stats), never silently. Budgets: the
 * shard's (max_keys), each rule's or correlation's own (`max_keys:`), and
 * each tenant's (correlation.max_keys_per_tenant: a match carries a hash of
 * its tenant field's value, a state keeps the tenant of the match that
 * created it, and a tenant over its budget loses its own least recently
 * touched state, never another tenant's).
 *
 * Ownership and threading: one shard thread; nothing is shared. Incident
 * versions handed out by cr_correlator_flush are owned by the caller.
 */
#ifndef CR_CORRELATE_H
#define CR_CORRELATE_H

#include "base/counters.h"
#include "engine/store/incident.h"
#include "engine/correlate/match.h"

#include "rules/ruleset.h"

#include <stddef.h>
#include <stdint.h>

struct cr_correlator;

/* X(field, "json name", merge): base/counters.h */
#define CR_CORRELATOR_COUNTERS(X)                                                                  \
    X(matches, "correlated_matches", SUM)                                                          \
    X(states, "states", SUM)           /* live now */                                              \
    X(states_peak, "states_peak", SUM) /* per shard, summed: an upper bound */                     \
    X(expired, "states_expired", SUM)                                                              \
    X(evicted, "states_evicted",                                                                   \
      SUM) /* removed because a budget was reached (shard, rule, tenant) */                        \
    X(budget_evicted, "states_evicted_by_max_keys",                                                \
      SUM) /* ... of those, by a rule's own max_keys */                                            \
    X(tenant_evicted, "states_evicted_by_tenant_budget", SUM) /* ... by max_keys_per_tenant */     \
    X(incidents_opened, "incidents_opened", SUM)                                                   \
    X(incident_updates, "incident_updates", SUM)                                                   \
    X(values_evicted, "values_evicted", SUM) /* new_value: known values dropped at max_values */   \
    X(same_event, "same_event_matches",                                                            \
      SUM) /* matches of an event an event_count / value_sum / value_avg / value_percentile        \
             over several rules already took for that key */                                       \
    X(values_not_numeric, "values_not_numeric",                                                    \
      SUM) /* value_sum / value_avg: matches whose field held no number (skipped) */

struct cr_correlator_stats {
    CR_CORRELATOR_COUNTERS(CR_COUNTER_FIELD)
};
_Static_assert(sizeof(struct cr_correlator_stats) ==
                   (CR_COUNTERS_N(CR_CORRELATOR_COUNTERS)) * sizeof(uint64_t),
               "every counter of struct cr_correlator_stats is in CR_CORRELATOR_COUNTERS");

struct cr_correlator *cr_correlator_new(const struct cr_ruleset *rs, uint64_t max_keys);
void cr_correlator_free(struct cr_correlator *c);

/* Event time moved to t without a match (a rule test's clock tick):
 * absence deadlines before t fire. */
void cr_correlator_advance(struct cr_correlator *c, int64_t t);

/* Apply one CR_MSG_MATCH. */
void cr_correlator_apply(struct cr_correlator *c, const struct cr_match *m);

/* Hand out a copy of every incident changed since the last flush (a list
 * linked through ->next; returns its length), then expire old state. Call at
 * checkpoints and at the end of the input. */
size_t cr_correlator_flush(struct cr_correlator *c, struct cr_version **head,
                           struct cr_version **tail);
/* The same at a batch end: new incidents go out at once, an incident that
 * only changed goes out at most every 16 batch ends (alert storms), and
 * always at the next cr_correlator_flush. */
size_t cr_correlator_flush_batch(struct cr_correlator *c, struct cr_version **head,
                                 struct cr_version **tail);

const struct cr_correlator_stats *cr_correlator_stats(const struct cr_correlator *c);
/* Tenant budget: at most max_keys_per_tenant states per tenant (0 = no
 * budget, the default). Call before the first match or restore: with a
 * budget, every state keeps LRU neighbours, and the layout of the states is
 * fixed once the first one exists. */
void cr_correlator_set_tenant_budget(struct cr_correlator *c, uint64_t max_keys_per_tenant);
struct cr_tenant_evictions {
    uint32_t tenant; /* hash of the tenant field's value (cr_match.tenant) */
    uint64_t evicted;
};
/* Tenants that lost states to their budget, most first (ties: smaller hash
 * first); up to n into out. Returns how many. */
size_t cr_correlator_tenant_evictions(const struct cr_correlator *c,
                                      struct cr_tenant_evictions *out, size_t n);
/* Tenants a shard reports at the end of a run (the most evicted). */
#define CR_TENANT_REPORT_MAX 4096
/* Add the n counts of add into *all (*nall entries, realloc'd; caller frees
 * with free), summing a tenant's counts; *all stays sorted most first. */
void cr_tenant_evictions_merge(struct cr_tenant_evictions **all, size_t *nall,
                               const struct cr_tenant_evictions *add, size_t n);
/* States evicted by the max_keys of owner (a rule index, or nrules + a
 * correlation index). */
uint64_t cr_correlator_budget_evictions(const struct cr_correlator *c, int owner);
/* Bytes the correlator holds: the slab chunks its states and their entry
 * blocks live in (whole: free slots included), the hash table, the deadline
 * heap, the pending vectors and side tables, and the open incidents, whose
 * share is also in *incident_bytes. Cheap (no walk). */
uint64_t cr_correlator_memory(const struct cr_correlator *c, uint64_t *incident_bytes);

/* A match that arrived late (reorder.h), leaving at event time `at`: it
 * joins no window, but every incident of its key (of a consumer of its
 * route) still open at `at` takes it as evidence. Returns how many did. */
int cr_correlator_apply_late(struct cr_correlator *c, const struct cr_match *m, int64_t at);

/* Checkpoints (checkpoint.h). After enable, every state a match touches is
 * remembered; cr_correlator_snapshot encodes those and the deletions since
 * the previous snapshot as a delta (malloc'd, caller frees) and forgets
 * them. cr_correlator_restore loads one stored entry at startup; it returns
 * 0 (and drops the entry) when its rule no longer exists or changed shape.
 * cr_correlator_state_format names the encoding, which the store records. */
void cr_correlator_enable_checkpoints(struct cr_correlator *c);
char *cr_correlator_snapshot(struct cr_correlator *c, size_t *len);
int cr_correlator_restore(struct cr_correlator *c, const void *key, size_t klen, const void *val,
                          size_t vlen);
const char *cr_correlator_state_format(void);
/* Forget every state whose latest match came from input `src` (a hash of
 * the input's name): after a rebalance, state another process moved past.
 * Returns how many. Call after a flush. */
uint64_t cr_correlator_drop_src(struct cr_correlator *c, uint32_t src);

/* Hot reload: move the correlator to ruleset rs (borrowed; it must outlive
 * the correlator or the next migration). The state of every rule and
 * correlation whose id and definition (rules/ruleset_diff.h) are the same
 * in rs is kept as it is: windows, partial sequences, absence deadlines,
 * open incidents, budgets and LRU order. Every other state is dropped, and
 * a dropped state that a snapshot holds becomes a deletion in the next
 * snapshot. Call right after cr_correlator_flush (nothing pending), between
 * two matches. Counts go to *kept and *dropped (either may be NULL).
 * Returns 0. */
int cr_correlator_migrate(struct cr_correlator *c, const struct cr_ruleset *rs, uint64_t *kept,
                          uint64_t *dropped);

#endif
