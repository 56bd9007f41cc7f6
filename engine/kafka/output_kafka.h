/*
 * output_kafka.h - incidents to a Kafka topic, for downstream consumers
 * (SOAR, ticketing, a second correlation tier).
 *
 * Owns: one idempotent producer (acks=all, exactly once and in order per
 * partition) and its delivery accounting. Each incident version is one
 * record whose key is the incident id, so every version of an incident
 * lands on the same partition in the order it was written, and a compacted
 * topic keeps the latest version of each.
 *
 * A full local queue is backpressure, not loss: send waits for deliveries
 * and retries. A delivery that fails (message.timeout.ms elapsed, a
 * non-retriable broker error) is counted; flush reports the count so the
 * caller can decide whether the run failed.
 *
 * Threading: one caller thread (the writer) for every function; delivery
 * reports are served inside send/flush on that thread, so the counters need
 * no locks.
 */
#ifndef CR_OUTPUT_KAFKA_H
#define CR_OUTPUT_KAFKA_H

#include "engine/pipeline/writer.h"

#include <stddef.h>
#include <stdint.h>

struct cr_output_kafka;

/* brokers: bootstrap.servers; topic: destination topic; props: NULL or a
 * NULL-terminated "key=value" list of librdkafka properties applied after
 * our defaults (all borrowed, copied). Returns the output, or NULL with the
 * reason in err (invalid property, handle creation failure). Connecting is
 * asynchronous: an unreachable broker shows up as failed deliveries later.
 * Caller frees with cr_output_kafka_free. */
struct cr_output_kafka *cr_output_kafka_new(const char *brokers, const char *topic,
                                            const char *const *props, char *err, size_t errlen);

/* Queue one record: key = id (NUL-terminated), value = json[0..len). Both are
 * copied; the caller keeps ownership. Blocks while the local queue is full.
 * Returns 0 when queued, or -1 when librdkafka refused it for good (too
 * large, fatal producer state); that record is also counted as failed. */
int cr_output_kafka_send(struct cr_output_kafka *o, const char *id, const char *json, size_t len);

/* Wait up to timeout_ms for outstanding deliveries. Returns 0 if no delivery
 * has failed so far, else minus the number of failures so far (clamped to
 * INT_MIN+1). Records still in flight at the timeout are neither: see
 * cr_output_kafka_pending. */
int cr_output_kafka_flush(struct cr_output_kafka *o, int timeout_ms);

/* sent: records the broker acknowledged; failed: failed deliveries (both
 * may be NULL). */
void cr_output_kafka_stats(const struct cr_output_kafka *o, uint64_t *sent, uint64_t *failed);

/* Records queued but without a delivery report yet. */
uint64_t cr_output_kafka_pending(const struct cr_output_kafka *o);

/* The output a run's config asks for (kafka.output_topic, NULL if none: 0
 * and *out NULL): a producer to kafka.brokers (--brokers already applied)
 * with the consumer's security properties (security.*, ssl.*, sasl.*; the
 * consumer-only ones would be refused). Returns 0, or -1 with the reason
 * in err (no brokers, an invalid property). */
struct cr_config;
int cr_output_kafka_for_config(const struct cr_config *cfg, struct cr_output_kafka **out, char *err,
                               size_t errlen);

/* The writer's output (writer.h) producing to o: send is
 * cr_output_kafka_send, finish flushes for up to 30 s and reports the
 * counts. */
struct cr_output cr_output_kafka_sink(struct cr_output_kafka *o);

/* Flush for up to 5 s, purge what is still queued (those count as failed),
 * destroy the producer and free o. Call cr_output_kafka_flush first to wait
 * longer. NULL is a no-op. */
void cr_output_kafka_free(struct cr_output_kafka *o);

#endif
