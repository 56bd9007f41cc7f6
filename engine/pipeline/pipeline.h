/*
 * pipeline.h - creates the threads and rings of one run and wires them.
 *
 *   ingest (caller's thread) --batch--> worker[k % W] --match by hash(key)--> shard[s]
 *        ^                                  |                                    |
 *        +----------- batch pool <----------+            incidents, rejects     v
 *                                                       ----------------> writer --> LMDB
 *
 * Ingest (ingest_file.c today, ingest_kafka.c next) asks for an empty batch,
 * fills it and submits it; the pipeline numbers batches and deals them to
 * workers round-robin. cr_pipeline_finish() sends the end of input, waits
 * for every thread and returns the run's counters.
 *
 * Rules swap (hot reload, swap.h): another thread offers a new ruleset with
 * cr_pipeline_offer_rules; the ingest thread, between batches, calls
 * cr_pipeline_swap_rules, which places a RELOAD barrier in the input order
 * like a checkpoint mark. Batches before it are matched and correlated with
 * the old rules, batches after it with the new ones.
 *
 * Ownership: the pipeline borrows the config, the rulesets and the store;
 * all must outlive it (a ruleset replaced by a swap only until the swap is
 * acknowledged). Threading: every function here is called from the ingest
 * thread only, except where it says "any thread".
 */
#ifndef CR_PIPELINE_H
#define CR_PIPELINE_H

#include "engine/pipeline/batch.h"
#include "engine/config/config.h"
#include "engine/correlate/correlate.h"
#include "engine/correlate/match.h"
#include "engine/pipeline/reorder.h"
#include "engine/store/store.h"
#include "engine/pipeline/worker.h"
#include "engine/pipeline/writer.h"

#include "rules/ruleset.h"

#define CR_MAX_INPUTS 256

/* The pipeline's own counters (base/counters.h). */
#define CR_PIPELINE_COUNTERS(X)                                                                    \
    X(late_evidence, "late_evidence", SUM) /* late matches an open incident took as evidence */    \
    X(batches, "batches", SUM)                                                                     \
    X(restored_states, "restored_states", SUM)                                                     \
    X(provisional_rolled_back, "provisional_rolled_back", SUM) /* the previous run's early         \
                                                                * releases, put back (store.h);    \
                                                                * set by the caller */

struct cr_pipeline_stats {
    struct cr_worker_stats events;        /* summed over workers */
    struct cr_correlator_stats correlate; /* summed over shards */
    struct cr_reorder_stats reorder;      /* summed over shards (peaks too: an upper bound) */
    struct cr_writer_stats store;
    CR_PIPELINE_COUNTERS(CR_COUNTER_FIELD)
    uint64_t *budget_evicted; /* per owner (rule index, then nrules + correlation index):
                               * states evicted by its max_keys; caller frees */
    struct cr_tenant_evictions *tenant_evicted; /* per tenant, summed over shards, most
                                                 * first; caller frees */
    size_t ntenant_evicted;
    int workers, shards;
    double seconds;
};

/* Every counter of st (each list of base/counters.h, and the rejects by
 * cause as "rejected_by_cause":{...}) as ,"name":value members. */
void cr_pipeline_stats_json(FILE *f, const struct cr_pipeline_stats *st);

struct cr_pipeline;

struct cr_inventory;
struct cr_grade_policy;

struct cr_pipeline_opts {
    int checkpoints; /* shards snapshot state at cr_pipeline_checkpoint marks */
    int restore;     /* shards load the store's checkpointed state before any record */
    const struct cr_inventory *inventory;  /* borrowed for the run; NULL: none */
    const struct cr_grade_policy *grading; /* borrowed; NULL: the built-in defaults */
};

/* Before starting a run on store: if opts->restore and the store's
 * correlation state was written by another build's format, restore turns
 * off (with the reason in note; note[0] stays 0 otherwise); then the
 * incident versions the previous run stored provisionally at its end
 * (store.h) are rolled back (restore: this run derives them again) or
 * settled (kept as they are), *provisional = how many were rolled back.
 * Returns 0, or -1 with the store's error in err. */
int cr_pipeline_prepare_store(struct cr_store *store, struct cr_pipeline_opts *opts,
                              uint64_t *provisional, char *note, size_t notelen, char *err,
                              size_t errlen);

/* opts may be NULL (no checkpoints: file replay). */
struct cr_pipeline *cr_pipeline_start(const struct cr_config *cfg, const struct cr_ruleset *rs,
                                      struct cr_store *store, const struct cr_pipeline_opts *opts,
                                      char *err, size_t errlen);
/* Checkpoint: everything submitted so far, and `pos` (where each input
 * stands after it), become durable together. Returns the epoch (1, 2, ...).
 * Needs opts.checkpoints. */
uint64_t cr_pipeline_checkpoint(struct cr_pipeline *pl, const struct cr_position *pos, int npos);
/* Forget the correlation state that came from `input`, at this point of
 * the input order (a partition whose group offset moved past this process's
 * state: another member processed it meanwhile). */
void cr_pipeline_drop_input(struct cr_pipeline *pl, int input);
/* Input `input` will send records and holds the event-time watermark back
 * until it does (CR_SOURCE_PENDING: registered before reading), or has
 * nothing more for now and stops holding it (CR_SOURCE_IDLE: its end, a
 * caught-up partition). Sources' times decide when held matches are
 * correlated (reorder.h). */
void cr_pipeline_input_state(struct cr_pipeline *pl, int input, enum cr_source_state state);
/* Every input has been quiet for correlation.idle_release (wall clock): the
 * shards apply every match they hold, in order, as at the end of the input;
 * a record that later arrives older than what was applied is late. Input
 * thread only, in sequence with the batches (call after submitting the
 * last batch). */
void cr_pipeline_inputs_quiet(struct cr_pipeline *pl);
/* A consumer-group assignment was applied (after its inputs' states were
 * sent): inputs restored from the checkpoint that it did not claim are
 * another member's and stop holding the watermark back (reorder.h). */
void cr_pipeline_inputs_assigned(struct cr_pipeline *pl);
/* The newest durable epoch (0: none yet). Any thread. */
uint64_t cr_pipeline_durable(const struct cr_pipeline *pl);
/* Wait until epoch is durable, the store failed, or timeout_ms passed.
 * Returns 0 if durable. */
int cr_pipeline_wait_durable(struct cr_pipeline *pl, uint64_t epoch, int timeout_ms);
/* Send committed incident versions to an output too (writer.h; out->arg is
 * borrowed: free it after cr_pipeline_finish). Call right after start. */
void cr_pipeline_set_output(struct cr_pipeline *pl, const struct cr_output *out);

/* Register an input by name (file path, "-" for stdin, topic/partition);
 * returns its index for batches, or -1 past CR_MAX_INPUTS. */
int cr_pipeline_add_input(struct cr_pipeline *pl, const char *name);
/* The same with a format other than the config's input.format. Adding a
 * name twice returns the first index. */
int cr_pipeline_add_input_format(struct cr_pipeline *pl, const char *name, enum cr_format fmt);
/* An empty batch (blocks while all are in flight: backpressure). */
struct cr_batch *cr_pipeline_get_batch(struct cr_pipeline *pl);
/* An empty batch, or NULL if all are in flight (Kafka ingest pauses then). */
struct cr_batch *cr_pipeline_try_get_batch(struct cr_pipeline *pl);
/* Hand a filled batch to the workers (ownership moves). */
void cr_pipeline_submit(struct cr_pipeline *pl, struct cr_batch *b);
/* Give back a batch that was not submitted. */
void cr_pipeline_put_batch(struct cr_pipeline *pl, struct cr_batch *b);
/* 1 if the store failed: ingest should stop reading. */
/* A person's move while the run writes the store (the HTTP API of a
 * `corral run` with serve.listen): applied by the writer thread in its next
 * batch, returning once durable (writer.h, cr_writer_act). Any thread. */
struct cr_action;
int cr_pipeline_act(struct cr_pipeline *pl, const struct cr_action *a, char **json, char *err,
                    size_t errlen);
/* The writer's counters as of its last commit and the wall-clock ms of the
 * last durable checkpoint (0: none), from any thread (/metrics). */
void cr_pipeline_writer_published(struct cr_pipeline *pl, struct cr_writer_stats *st,
                                  int64_t *last_epoch_ms);
int cr_pipeline_failed(struct cr_pipeline *pl);
const struct cr_config *cr_pipeline_config(const struct cr_pipeline *pl);

/* Any thread: offer a rules swap (not owned; the offerer waits on it with
 * cr_swap_wait). At most one offer is outstanding: the offerer waits for
 * one before making the next. The ingest thread is woken through
 * cr_pipeline_wake_fd. */
struct cr_swap;
void cr_pipeline_offer_rules(struct cr_pipeline *pl, struct cr_swap *sw);
/* 1 if a swap is offered and not yet placed (one atomic load: ingest loops
 * check it between batches). */
int cr_pipeline_rules_offered(struct cr_pipeline *pl);
/* Place the offered swap (if any) after everything submitted so far: the
 * caller submits the records it has read first. `input`/`last` name the
 * position before the barrier for the reload report (input -1: unknown).
 * Also empties the wake fd. Returns 1 if a swap was placed. */
int cr_pipeline_swap_rules(struct cr_pipeline *pl, int input, int64_t last);
/* A descriptor that becomes readable when a swap is offered: an ingest
 * blocked on a pipe polls it with its input. */
int cr_pipeline_wake_fd(const struct cr_pipeline *pl);
/* A reload's grading inputs for the writer (writer.h,
 * cr_writer_send_grading); wait for cr_pipeline_grading_applied to reach
 * the returned generation before freeing the inventory it replaces. */
uint64_t cr_pipeline_send_grading(struct cr_pipeline *pl, const struct cr_inventory *inv,
                                  const struct cr_grade_policy *p);
uint64_t cr_pipeline_grading_applied(struct cr_pipeline *pl);
/* Cancel an offered swap that was not placed yet (the input ended).
 * cr_pipeline_finish does it too. */
void cr_pipeline_cancel_rules(struct cr_pipeline *pl);
/* End of input: flush, join, fill stats, free. Returns 0, or -1 with the
 * reason in err (a store failure). */
int cr_pipeline_finish(struct cr_pipeline *pl, struct cr_pipeline_stats *stats, char *err,
                       size_t errlen);

#endif
