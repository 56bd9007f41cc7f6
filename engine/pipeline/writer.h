/*
 * writer.h - the single LMDB writer thread and its inbox.
 *
 * Shards send incident versions and workers send rejected raw records to
 * the writer's inbox; the writer batches them into one LMDB write
 * transaction per commit interval (or per 4096 items, or at the end of the
 * input), so durable commits cost two fsyncs per batch rather than per
 * incident. Items arrive rarely next to events (incidents, malformed
 * records), so the inbox is a mutex-protected list: senders take the lock
 * once per batch end (a shard's versions go as one list) or per reject,
 * never per event. The inbox is bounded (65,536 messages): a sender waits
 * while the writer is behind, so backpressure reaches the shards, then the
 * workers, then ingest; after a store failure nobody waits.
 *
 * Checkpoints: ingest sends CR_W_EPOCH(e) with the input positions of epoch
 * e, and each shard sends CR_W_SNAPSHOT(e) with its state delta when it
 * reaches e's mark. When all have arrived, the writer commits the pending
 * incidents, the deltas and the positions in one transaction, then calls
 * the durable callback: only then may ingest tell Kafka the offsets.
 *
 * A store error (map full, I/O) is fatal for the run: the writer records it,
 * keeps draining its inbox without writing (senders never block forever),
 * and cr_writer_failed() lets ingest stop reading. Nothing is lost silently:
 * the run exits non-zero and says why.
 *
 * Ownership: cr_writer_send takes ownership of the message (allocated with
 * cr_wmsg_incident / cr_wmsg_reject). Threading: any thread may send; one
 * writer thread consumes.
 */
#ifndef CR_WRITER_H
#define CR_WRITER_H

#include "base/counters.h"
#include "engine/store/checkpoint.h"
#include "engine/correlate/correlate.h"
#include "engine/store/incident.h"
#include "engine/store/store.h"

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

enum cr_wmsg_kind {
    CR_W_INCIDENT = 1,
    CR_W_REJECT = 2,
    CR_W_DONE = 3,
    CR_W_SNAPSHOT = 4, /* raw = a shard's state delta for `epoch` */
    CR_W_EPOCH = 5,    /* raw = struct cr_position[npositions] of `epoch` */
    CR_W_GRADING = 6,  /* raw = struct cr_wgrading: grade with these from here (a reload) */
    CR_W_ACTION = 7,   /* raw = struct cr_waction: a person's move, from the HTTP API */
};

/* A message to the writer: small (an incident travels as a pointer to its
 * version), the variable part in raw[]. */
struct cr_wmsg {
    struct cr_wmsg *next;
    enum cr_wmsg_kind kind;
    struct cr_version *version; /* CR_W_INCIDENT: owned by the message */
    uint32_t input;             /* CR_W_REJECT */
    uint64_t position;          /* CR_W_REJECT */
    uint64_t epoch;             /* CR_W_SNAPSHOT, CR_W_EPOCH */
    int npositions;             /* CR_W_EPOCH */
    char reason[96];            /* CR_W_REJECT */
    size_t rawlen;
    char raw[];
};

/* Takes ownership of v. */
struct cr_wmsg *cr_wmsg_incident(struct cr_version *v);
struct cr_wmsg *cr_wmsg_reject(uint32_t input, uint64_t position, const char *reason,
                               const char *raw, size_t rawlen);
/* The last message of each sender. */
struct cr_wmsg *cr_wmsg_done(void);
struct cr_wmsg *cr_wmsg_snapshot(uint64_t epoch, const char *delta, size_t len);
struct cr_wmsg *cr_wmsg_epoch(uint64_t epoch, const struct cr_position *pos, int n);

/* X(field, "json name", merge): base/counters.h */
#define CR_WRITER_COUNTERS(X)                                                                      \
    X(incidents_created, "incidents_created", SUM)                                                 \
    X(incidents_reopened, "incidents_reopened", SUM) /* new evidence after closing: a new one */   \
    X(regraded, "incidents_regraded", SUM)           /* raised by the wall clock (assess.h) */     \
    X(incident_versions, "incident_versions_written", SUM) /* creations + updates */               \
    X(provisional_versions, "provisional_versions", SUM) /* ... of those, provisional (store.h) */ \
    X(rejects_kept, "rejects_kept", SUM)                                                           \
    X(rejects_not_kept, "rejects_not_kept", SUM) /* beyond store.max_rejects: counted only */      \
    X(commits, "commits", SUM)                                                                     \
    X(epochs, "durable_checkpoints", SUM)  /* checkpoints made durable */                          \
    X(output_sent, "output_sent", SUM)     /* versions acknowledged by the output topic */         \
    X(output_failed, "output_failed", SUM) /* ... and deliveries that failed */                    \
    X(state_bytes, "state_bytes", SUM)     /* state deltas written */

struct cr_writer_stats {
    CR_WRITER_COUNTERS(CR_COUNTER_FIELD)
};
_Static_assert(sizeof(struct cr_writer_stats) ==
                   (CR_COUNTERS_N(CR_WRITER_COUNTERS)) * sizeof(uint64_t),
               "every counter of struct cr_writer_stats is in CR_WRITER_COUNTERS");

struct cr_writer;

/* senders = number of threads that will each send one CR_W_DONE. The store
 * is borrowed. input_names is borrowed and must stay valid: the pipeline's
 * ingest thread appends to it while the writer runs (a Kafka partition
 * assigned mid-run), writing the name before it publishes the new count
 * with a release store; the writer reads the count with an acquire load,
 * so every name below it is complete. A message's input was registered
 * before its record entered the pipeline, so its name is always there. */
struct cr_writer *cr_writer_start(struct cr_store *store, int senders, int64_t commit_interval_ms,
                                  uint64_t max_rejects, const char *const *input_names,
                                  const _Atomic int *ninputs);
/* Where committed incident versions also go (the Kafka output topic,
 * engine/kafka/output_kafka.h): send(arg, id, json, len) for each version
 * after its transaction committed, then finish(arg, &sent, &failed) once at
 * the end, which waits for outstanding deliveries and reports the counts.
 * Both run on the writer thread. */
struct cr_output {
    void (*send)(void *arg, const char *id, const char *json, size_t len);
    void (*finish)(void *arg, uint64_t *sent, uint64_t *failed);
    void *arg;
};
/* Grading (engine/grade/assess.h): every version is graded against inv
 * (borrowed until cr_writer_join; NULL: none) with policy p (copied; NULL:
 * the defaults) and merged with its stored version before it is written;
 * every regrade.interval the open outages are graded again as the wall
 * clock moves. Call before any incident is sent. */
struct cr_inventory;
struct cr_grade_policy;
void cr_writer_set_grading(struct cr_writer *w, const struct cr_inventory *inv,
                           const struct cr_grade_policy *p);
/* A reload while the writer runs: versions taken from the inbox after this
 * message are graded against inv and p (copied). Returns a generation
 * (> 0); cr_writer_grading_applied(w) reaches it once the writer switched,
 * and only then may the caller free the inventory it replaced. The run's
 * root-cause memory starts again (it refers to the old inventory). */
uint64_t cr_writer_send_grading(struct cr_writer *w, const struct cr_inventory *inv,
                                const struct cr_grade_policy *p);
uint64_t cr_writer_grading_applied(struct cr_writer *w);
/* The writer copies *out and borrows out->arg until cr_writer_join. */
void cr_writer_set_output(struct cr_writer *w, const struct cr_output *out);

/* Checkpoints: `shards` snapshots make an epoch complete; cb(arg, epoch)
 * runs on the writer thread after the epoch's transaction committed, and
 * once with epoch 0 when the writer fails (after cr_writer_failed turns
 * true), so that a thread waiting for an epoch wakes and sees the failure
 * instead of waiting out its timeout. Call before any checkpoint is sent. */
void cr_writer_set_checkpoints(struct cr_writer *w, int shards,
                               void (*cb)(void *arg, uint64_t epoch), void *arg);
void cr_writer_send(struct cr_writer *w, struct cr_wmsg *m);
/* Send a list of incident versions (cr_correlator_flush's) in one lock;
 * takes ownership. */
void cr_writer_send_versions(struct cr_writer *w, struct cr_version *head);
/* Send a list linked through ->next in one lock. */
void cr_writer_send_list(struct cr_writer *w, struct cr_wmsg *head, struct cr_wmsg *tail, size_t n);
int cr_writer_failed(struct cr_writer *w);
/* A person's move (engine/grade/action.h) while the engine writes the
 * store, from any thread (the HTTP API's): the writer applies it in its
 * next batch, in order with the incidents before it, and commits that
 * batch at once; this returns when the batch is durable (or failed), with
 * the CR_ACTION_* result and the incident as it now is in *json
 * (malloc'd). After the writer stopped it returns CR_ACTION_ERROR. */
struct cr_action;
int cr_writer_act(struct cr_writer *w, const struct cr_action *a, char **json, char *err,
                  size_t errlen);
/* The counters as of the last commit, from any thread (the /metrics of a
 * running engine); and the wall-clock ms of the last durable checkpoint
 * (0: none yet). */
void cr_writer_published(struct cr_writer *w, struct cr_writer_stats *st, int64_t *last_epoch_ms);
/* Waits for every sender's DONE, commits the rest, stops the thread.
 * Returns 0, or -1 if a store error happened (message in err). */
int cr_writer_join(struct cr_writer *w, struct cr_writer_stats *stats, char *err, size_t errlen);

#endif
