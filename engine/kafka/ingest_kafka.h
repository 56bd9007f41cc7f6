/*
 * ingest_kafka.h - the Kafka consumer: corral's main input.
 *
 * One high-level consumer (one rd_kafka_t, one consumer-group member) runs
 * in the caller's thread. It polls records into batches (copying each
 * value and destroying the message at once, so librdkafka's buffers are
 * never pinned), and deals them to the pipeline like any other input.
 *
 * Durability order (docs/architecture.md, "Checkpoints"): every
 * kafka.checkpoint_interval the consumer asks the pipeline for a
 * checkpoint carrying the next offset of each assigned partition. The
 * writer commits those offsets in the same LMDB transaction as the
 * correlation state and incidents of everything before them; only then
 * does the consumer store them in librdkafka (enable.auto.offset.store is
 * forced off) for the group commit. On start, and on every assignment, a
 * partition resumes from the larger of corral's own durable offset and the
 * group's committed one.
 *
 * Backpressure: when no batch is free, the assigned partitions are paused
 * and polling continues (the group stays alive; records that were already
 * fetched are held, not dropped); they resume when a batch comes back.
 *
 * Rebalances: on revoke the consumer checkpoints, waits until that is
 * durable, and commits the revoked partitions' offsets synchronously
 * before letting them go. Eager and cooperative assignment both work.
 *
 * CloudEvents: records of a topic with format `cloudevents` may be in
 * structured mode (content-type application/cloudevents+json: the value is
 * the envelope) or binary mode (ce_* headers: converted to a structured
 * envelope at ingest, so one parser handles both and the kept raw record is
 * self-describing). Invalid binary headers keep the value, flagged, counted
 * and stored as a reject.
 *
 * Rules swaps (hot reload): checked with the clock (every 256 records or
 * after an empty poll, so within 100 ms); the batch being filled is
 * submitted and the barrier placed after it (pipeline.h).
 *
 * Threading: everything here runs on the ingest thread, including the
 * rebalance callback (it is served from rd_kafka_consumer_poll).
 */
#ifndef CR_INGEST_KAFKA_H
#define CR_INGEST_KAFKA_H

#include "engine/pipeline/pipeline.h"
#include "engine/store/store.h"

#include <signal.h>
#include <stdint.h>

struct cr_kafka_ingest_opts {
    int until_caught_up;         /* stop once every assigned partition reached the end it
                                  * had when it was assigned */
    volatile sig_atomic_t *stop; /* set by a signal handler: checkpoint and stop */
    int quiet;                   /* no progress lines */
};

#define CR_KAFKA_MAX_PARTITIONS 256

struct cr_kafka_partition_stats {
    char input[128]; /* "kafka:TOPIC/PARTITION" */
    int64_t next;    /* next offset to read */
    int64_t high;    /* high watermark last seen */
    uint64_t records;
};

struct cr_kafka_stats {
    uint64_t records; /* consumed */
    uint64_t bytes;
    uint64_t consumer_errors; /* errors reported by the consumer (the run continues) */
    uint64_t bad_envelopes;   /* CloudEvents records with invalid binary headers */
    uint64_t pauses;
    double paused_seconds;
    uint64_t checkpoints;
    uint64_t rebalances;
    uint64_t rebuilt_partitions; /* taken over from another member and rebuilt by replay */
    uint64_t commit_failures;    /* group commits the broker refused (offsets stay durable) */
    double consume_seconds;      /* first record received -> last checkpoint durable: the
                                  * engine's time, without the group join before it */
    int npartitions;
    struct cr_kafka_partition_stats part[CR_KAFKA_MAX_PARTITIONS];
};

/* Consume until stopped (or caught up). Returns 0, or -1 with the reason in
 * err (cannot create the consumer, store failure). */
int cr_ingest_kafka(struct cr_pipeline *pl, const struct cr_config *cfg, struct cr_store *store,
                    const struct cr_kafka_ingest_opts *opts, struct cr_kafka_stats *st, char *err,
                    size_t errlen);

#endif
