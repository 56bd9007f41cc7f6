/*
 * kafka_produce.h - load a log file into a Kafka topic, one line per record.
 *
 * Owns: `corral produce`, the way test data, replays and demos get into a
 * topic that the engine then consumes, and the record-key choice that
 * decides partition placement (records with the same key land on the same
 * partition, in order).
 *
 * Delivery: an idempotent producer (exactly once and in order per
 * partition, acks=all), linger.ms 20 and lz4 by default; -X properties
 * override them. A full local queue is backpressure: the reader waits for
 * delivery reports and retries, it never drops a line. The call returns
 * only after every record has a delivery report, and any failed delivery
 * makes it fail.
 *
 * Threading: cr_kafka_produce_file is reentrant (one producer per call);
 * cr_cmd_produce uses getopt (one thread at a time).
 */
#ifndef CR_KAFKA_PRODUCE_H
#define CR_KAFKA_PRODUCE_H

#include <librdkafka/rdkafka.h>

#include <stddef.h>
#include <stdint.h>

enum cr_produce_key {
    CR_KEY_NONE = 0, /* no key: librdkafka spreads records over partitions */
    CR_KEY_HOST,     /* the syslog HOSTNAME (RFC 3164 or RFC 5424); JSON lines: none */
    CR_KEY_SRC_IP,   /* the first IPv4/IPv6 literal in the line; none: no key */
};

/* Route librdkafka's own log lines through corral's format on stderr
 * ("corral: kafka: LEVEL FAC: message"), for every client corral makes
 * (consumer, producers, the embedded broker's client), instead of
 * librdkafka's default raw lines. Call on a conf before rd_kafka_new. The
 * callback runs on librdkafka's threads: one fprintf per line. */
void cr_kafka_conf_set_log(rd_kafka_conf_t *conf);

/* "none", "host", "src_ip" -> *key. Returns 0, or -1 if s is none of them. */
int cr_produce_key_parse(const char *s, enum cr_produce_key *key);

/* The key of one line (no trailing newline) under the given policy. On
 * return *key points into line (borrowed; valid as long as line) and *keylen
 * is its length; returns 0, or -1 when the line has no such key (then the
 * record is produced without a key). Exposed for tests and for tools that
 * must place records exactly as `corral produce` does.
 *   host, RFC 3164: "<PRI>Mmm dd hh:mm:ss HOST ..." (PRI optional; an ISO
 *         timestamp in place of the BSD one is accepted, as rsyslog writes it)
 *   host, RFC 5424: "<PRI>1 TIMESTAMP HOST ...", the 4th header field; "-"
 *         (NILVALUE) is no key
 *   src_ip: a maximal run of hex digits, ':' and '.' bounded by characters
 *         that are not letters, digits or '_', that inet_pton accepts as
 *         IPv4 or IPv6 ("10.0.0.1:22" keys as 10.0.0.1). */
int cr_produce_key_of(enum cr_produce_key policy, const char *line, size_t len, const char **key,
                      size_t *keylen);

/* Apply "key=value" properties (NULL-terminated list, or NULL; borrowed) to
 * conf. Returns 0, or -1 with "property 'k': reason" in err. Shared with
 * output_kafka so both accept -X style overrides the same way. */
int cr_kafka_conf_set_props(rd_kafka_conf_t *conf, const char *const *props, char *err,
                            size_t errlen);

/* Produce every line of `path` ("-" = stdin) to `topic` as one record
 * (without its "\n" or "\r\n"; empty lines become empty records, so record
 * N is line N as for file ingest).
 * brokers: bootstrap.servers. props: NULL or a NULL-terminated list of
 * "key=value" librdkafka properties applied after our defaults (borrowed).
 * On return *produced (may be NULL) is the number of records delivered.
 * Returns 0 when every line was delivered; -1 with the reason in err when a
 * property is invalid, the file cannot be read, or any delivery failed (err
 * then says how many and the first error). */
int cr_kafka_produce_file(const char *brokers, const char *topic, const char *path,
                          enum cr_produce_key key, const char *const *props, uint64_t *produced,
                          char *err, size_t errlen);

/* As cr_kafka_produce_file, at most `rate` records per second (<= 0: as
 * fast as the brokers take them): record i is not produced before
 * start + i / rate. */
int cr_kafka_produce_file_at(const char *brokers, const char *topic, const char *path,
                             enum cr_produce_key key, const char *const *props, double rate,
                             uint64_t *produced, char *err, size_t errlen);

#endif
