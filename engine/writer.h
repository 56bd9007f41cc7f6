/*
 * writer.h - the single LMDB writer thread and its inbox.
 *
 * Shards send incident versions and workers send rejected raw records to
 * the writer's inbox; the writer batches them into one LMDB write
 * transaction per commit interval (or per 4096 items, or at the end of the
 * input), so durable commits cost two fsyncs per batch rather than per
 * incident. Items arrive rarely next to events (incidents, malformed
 * records), so the inbox is a mutex-protected list: senders take the lock
 * once per batch-end or per reject, never per event.
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

#include "incident.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

enum cr_wmsg_kind { CR_W_INCIDENT = 1, CR_W_REJECT = 2, CR_W_DONE = 3 };

struct cr_wmsg {
    struct cr_wmsg *next;
    enum cr_wmsg_kind kind;
    int created; /* incident: 1 if this version is the one that opened it */
    struct cr_incident inc;
    uint32_t input;
    uint64_t position;
    char reason[96];
    size_t rawlen;
    char raw[];
};

struct cr_wmsg *cr_wmsg_incident(const struct cr_incident *inc, int created);
struct cr_wmsg *cr_wmsg_reject(uint32_t input, uint64_t position, const char *reason,
                               const char *raw, size_t rawlen);
/* The last message of each sender. */
struct cr_wmsg *cr_wmsg_done(void);

struct cr_writer_stats {
    uint64_t incidents_created;
    uint64_t incident_versions; /* versions written (creations + updates) */
    uint64_t rejects_kept;
    uint64_t rejects_not_kept;  /* beyond store.max_rejects: counted only */
    uint64_t commits;
};

struct cr_writer;

/* senders = number of threads that will each send one CR_W_DONE. The store
 * is borrowed. input_names is borrowed and must stay valid (the pipeline
 * appends to it as inputs are opened, before any of their records flow). */
struct cr_writer *cr_writer_start(struct cr_store *store, int senders, int64_t commit_interval_ms,
                                  uint64_t max_rejects, const char *const *input_names,
                                  const int *ninputs);
void cr_writer_send(struct cr_writer *w, struct cr_wmsg *m);
/* Send a list linked through ->next in one lock. */
void cr_writer_send_list(struct cr_writer *w, struct cr_wmsg *head, struct cr_wmsg *tail,
                         size_t n);
int cr_writer_failed(struct cr_writer *w);
/* Waits for every sender's DONE, commits the rest, stops the thread.
 * Returns 0, or -1 if a store error happened (message in err). */
int cr_writer_join(struct cr_writer *w, struct cr_writer_stats *stats, char *err, size_t errlen);

#endif
