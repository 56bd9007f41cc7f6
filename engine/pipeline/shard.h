/*
 * shard.h - correlation shard threads.
 *
 * Shard s owns the correlation state placed on it (rules/ruleset.h,
 * cr_ruleset_route_shard: by the key's hash, or a pinned group's); no
 * other thread touches it, so there are no
 * locks. It reads one ring per worker and merges them back into input
 * order: batch k was parsed by worker k % W, so the shard reads worker
 * (k % W)'s ring up to BATCH_END(k), then moves to k + 1. Matches go into
 * the shard's reorder buffer (reorder.h); at each batch end those the
 * event-time watermark has passed reach the correlator in event-time
 * order, and the correlator's clock advances to the watermark (absence
 * deadlines). Both depend only on the records, so the incidents are
 * identical for any thread count and any arrival order within the allowed
 * lateness. A late match is counted, kept in the store's rejects with its
 * reason, and given to its key's open incident as evidence.
 *
 * At each batch end the shard hands the incidents that changed to the
 * writer in one list. At a checkpoint mark it also sends a snapshot of the
 * state that changed (checkpoint.h); every shard cuts at the same sequence
 * number, so the snapshots of one epoch describe one point of the input.
 * With `restore`, the shard first loads the checkpointed states whose keys
 * it owns. At a rules swap (CR_MSG_RELOAD, swap.h) it flushes, migrates
 * its state to the new rules and from then on reads them through `rs`.
 *
 * Threading: one thread per shard; counters are read after join.
 */
#ifndef CR_SHARD_H
#define CR_SHARD_H

#include "engine/correlate/correlate.h"
#include "engine/pipeline/reorder.h"
#include "engine/pipeline/ring.h"
#include "engine/pipeline/writer.h"

#include <pthread.h>

struct cr_shard {
    int index;
    pthread_t thread;
    const struct cr_ruleset *rs;
    struct cr_ring **in; /* [workers], of struct cr_match */
    int nworkers;
    uint64_t max_keys;
    uint64_t max_keys_per_tenant; /* correlation.max_keys_per_tenant */
    int64_t lateness_ms, idle_ms; /* reorder.h */
    uint64_t reorder_max_bytes;
    struct cr_writer *writer;
    int nshards;
    int checkpoints;                    /* snapshot state at CR_MSG_MARK */
    struct cr_store *restore;           /* load checkpointed state at start (NULL: start empty) */
    uint64_t restored, restore_dropped; /* states and held matches (reorder.h) */
    uint64_t dropped;                   /* states forgotten by CR_MSG_DROP */
    uint64_t *budget_evicted; /* per owner (rule, then correlation), after join; caller frees */
    struct cr_tenant_evictions *tenant_evicted; /* tenants that lost states, after join;
                                                 * caller frees */
    size_t ntenant_evicted;
    struct cr_correlator_stats stats; /* final, after join */
    struct cr_reorder_stats reorder;  /* final, after join */
    uint64_t late_evidence;           /* late matches added to an open incident as evidence */
    uint64_t batches;
};

int cr_shard_start(struct cr_shard *s);
void cr_shard_join(struct cr_shard *s);

#endif
