/*
 * kafka_dev.h - an embedded Kafka broker for development, tests and benches.
 *
 * Owns: one librdkafka mock cluster (one broker) with the requested topics,
 * and optionally a loopback TCP forwarder that gives the cluster a fixed
 * bootstrap port. `corral kafka-dev` wraps it as a command so that a
 * developer can run `corral produce` and an engine against it without a JVM.
 *
 * Why a forwarder: librdkafka 2.0.2's rdkafka_mock.h has no way to choose the
 * port a mock broker listens on (they bind 127.0.0.1:0). A client only needs
 * a fixed address to *bootstrap*: the Metadata response then names the mock
 * broker's own (ephemeral) 127.0.0.1 address and the client connects there
 * directly. So the forwarder carries the bootstrap connection only, and
 * everything stays on the loopback interface.
 *
 * The mock cluster is librdkafka's functional test broker: it prunes each
 * partition beyond about 5 MiB or 100,000 message sets, has a 3 s delay on a
 * group's first join, and is not a throughput reference.
 *
 * Lifecycle: cr_kafka_dev_start -> cr_kafka_dev_bootstrap / cr_kafka_dev_mock
 * -> cr_kafka_dev_stop. Clients of the cluster must be destroyed before
 * cr_kafka_dev_stop (a client left connected only logs connection errors,
 * but its pending requests will never be answered).
 *
 * Threading: start and stop from one thread; bootstrap and mock may be
 * called from any thread between them. The forwarder runs in its own thread;
 * the mock broker runs in librdkafka's threads.
 */
#ifndef CR_KAFKA_DEV_H
#define CR_KAFKA_DEV_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stddef.h>

struct cr_kafka_dev;

/* Start a one-broker mock cluster with `ntopics` topics (borrowed; copied by
 * the mock) of `partitions` partitions each (replication factor 1).
 *
 * listen: NULL, or "127.0.0.1:PORT" / "[::1]:PORT" (any 127.0.0.0/8 address;
 * PORT 0 picks a free one, see cr_kafka_dev_bootstrap). Any other address,
 * including host names and 0.0.0.0, is refused: the mock has no
 * authentication and must never be reachable from another machine.
 *
 * Returns the handle, or NULL with a one-line reason in err (bad listen
 * address, port in use, mock creation failure). Caller stops it with
 * cr_kafka_dev_stop. */
struct cr_kafka_dev *cr_kafka_dev_start(int partitions, const char *listen,
                                        const char *const *topics, int ntopics, char *err,
                                        size_t errlen);

/* The address clients put in bootstrap.servers: the forwarder's actual
 * "HOST:PORT" when listen was given, else the mock's own bootstrap list.
 * Borrowed; valid until cr_kafka_dev_stop. */
const char *cr_kafka_dev_bootstrap(const struct cr_kafka_dev *d);

/* The mock cluster, for error injection (rd_kafka_mock_push_request_errors,
 * rd_kafka_mock_broker_set_down, ...). Borrowed; valid until cr_kafka_dev_stop. */
rd_kafka_mock_cluster_t *cr_kafka_dev_mock(struct cr_kafka_dev *d);

/* Stop the forwarder (closing its connections), destroy the mock cluster and
 * its host handle, free d. NULL is a no-op. */
void cr_kafka_dev_stop(struct cr_kafka_dev *d);

/* Check a listen address without binding it: 0 if it is a loopback
 * "HOST:PORT", else -1 with the reason in err. */
int cr_kafka_dev_check_listen(const char *listen, char *err, size_t errlen);

#endif
