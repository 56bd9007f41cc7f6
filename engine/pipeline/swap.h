/*
 * swap.h - one rules swap in flight through the pipeline (hot reload).
 *
 * A swap carries a new ruleset from the thread that compiled it
 * (reload.c) to every worker and shard, and carries their answers back.
 * The ingest thread puts it into the input order as a barrier
 * (cr_pipeline_swap_rules): every worker switches matcher and parser before
 * its first batch after the barrier and acknowledges; every shard, at the
 * barrier's place in the merged order, migrates its correlation state to the
 * new rules and acknowledges with the number of states it kept and dropped.
 * When all W + S have acknowledged, nothing uses the previous ruleset any
 * more: the owner of that ruleset may free it.
 *
 * It is a separate object (not a pipeline field) so that its lifetime is
 * the reload's, not the pipeline's: the compiling thread waits on it and
 * frees it, and a pipeline that ends before applying it cancels it.
 *
 * Ownership: created and freed by the thread that offers it
 * (cr_swap_new / cr_swap_free, after cr_swap_wait returned). The ruleset is
 * borrowed: it must outlive every thread that switched to it.
 * Threading: cr_swap_applied is called by the ingest thread, cr_swap_ack by
 * workers and shards (once each), cr_swap_wait by the owner; a mutex guards
 * the counters. Nothing here is on the per-event path.
 */
#ifndef CR_SWAP_H
#define CR_SWAP_H

#include "rules/ruleset.h"

#include <stdint.h>

struct cr_swap;

struct cr_swap_result {
    int applied;          /* 0: cancelled (the run ended first) */
    uint64_t seq;         /* the barrier's sequence number */
    char where[160];      /* the input position before the barrier, when known */
    uint64_t states_kept; /* summed over shards */
    uint64_t states_dropped;
};

struct cr_swap *cr_swap_new(const struct cr_ruleset *rs);
void cr_swap_free(struct cr_swap *s);
/* The new rules. */
const struct cr_ruleset *cr_swap_rules(const struct cr_swap *s);
/* The asset inventory that goes with them (borrowed like the rules; set
 * before the swap is offered): workers enrich with it after the barrier. */
struct cr_inventory;
void cr_swap_set_inventory(struct cr_swap *s, const struct cr_inventory *inv);
const struct cr_inventory *cr_swap_inventory(const struct cr_swap *s);

/* The ingest thread placed the barrier at `seq`; `acks` threads will answer. */
void cr_swap_applied(struct cr_swap *s, uint64_t seq, int acks, const char *where);
/* The run ended before the barrier was placed: the rules were never used. */
void cr_swap_cancel(struct cr_swap *s);
/* A worker (kept = dropped = 0) or a shard switched to the new rules. */
void cr_swap_ack(struct cr_swap *s, uint64_t kept, uint64_t dropped);
/* Wait until every thread acknowledged, or the swap was cancelled, or
 * timeout_ms passed. Returns 0 when finished (result filled), -1 on
 * timeout. */
int cr_swap_wait(struct cr_swap *s, int timeout_ms, struct cr_swap_result *out);

#endif
