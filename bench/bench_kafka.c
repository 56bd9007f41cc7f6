/*
 * bench_kafka.c - the bare Kafka consume baseline.
 *
 * Owns: the rate at which one high-level consumer can merely receive
 * records (rd_kafka_consumer_poll, then discard), so the engine's Kafka
 * ingest can be reported as a fraction of it: whatever the engine loses
 * beyond this is ours, not librdkafka's.
 *
 * Two modes:
 *   bench_kafka --brokers B --topic T [--group G] [--expect N]
 *       consume N records of an existing topic (from the earliest offset,
 *       with a fresh group) and stop;
 *   bench_kafka [--expect N] [--partitions P] [--file PATH]
 *       start an in-process mock broker (cr_kafka_dev_start), produce N
 *       generated RFC 3164 lines of about 140 bytes (or the lines of PATH)
 *       with `corral produce`'s producer, then consume them.
 *
 * The clock starts at the first record received, not at subscribe: the
 * mock delays a group's first join by 3 s and a real broker's rebalance
 * time is not what is measured. The mock prunes a partition beyond ~5 MiB
 * (of lz4 batches, as produced) or 100,000 message sets, so the default
 * spreads 200,000 records evenly (no sticky partitioning) over 8 partitions,
 * and the watermarks are checked before consuming: a pruned run fails
 * instead of measuring fewer records. In mock mode the broker shares the
 * CPUs with the consumer: the figure is a floor, not broker capacity.
 *
 * Output: a human line, then one machine line for scripts:
 *   RESULT records=N bytes=N seconds=S records_per_s=R mb_per_s=M
 * MB is 10^6 bytes of record payload.
 */
#include "engine/kafka/kafka_dev.h"
#include "engine/kafka/kafka_produce.h"

#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_kafka --brokers B --topic T [--group G] [--expect N]\n"
               "       bench_kafka [--expect N] [--partitions P] [--file PATH]  (in-process mock)\n"
               "  --expect N       records to consume (default 200000; with --file: its lines)\n"
               "  --partitions P   mock mode: partitions of the topic (default 8)\n"
               "  --file PATH      mock mode: produce these lines instead of generated ones\n"
               "  --timeout S      give up after S seconds without progress (default 30)\n");
}

/* Deterministic sshd/kernel/app lines of ~140 bytes: shaped like the
 * corpus the engine sees, with varying hosts, users and addresses. */
static int generate(const char *path, long n)
{
    static const char *const users[] = {"root", "admin", "oracle", "deploy", "test", "ubuntu"};
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    uint32_t x = 2463534242u;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        int sec = (int)(i / 100 % 86400);
        switch (x % 3) {
        case 0:
            fprintf(f,
                    "<38>Mar  2 %02d:%02d:%02d web-%02u sshd[%u]: Failed password for invalid "
                    "user %s from 10.%u.%u.%u port %u ssh2 [preauth] session=%08x\n",
                    sec / 3600, sec / 60 % 60, sec % 60, x >> 8 & 31, 1000 + (x >> 4 & 8191),
                    users[(x >> 16) % 6], x >> 8 & 255, x >> 16 & 255, x >> 24, 1024 + (x & 32767),
                    x);
            break;
        case 1:
            fprintf(f,
                    "<4>Mar  2 %02d:%02d:%02d fw-%02u kernel: DROP IN=eth0 OUT= SRC=192.0.%u.%u "
                    "DST=10.0.0.%u LEN=60 TOS=0x00 TTL=52 ID=%u DF PROTO=TCP SPT=%u DPT=%u SYN\n",
                    sec / 3600, sec / 60 % 60, sec % 60, x >> 8 & 7, x >> 12 & 255, x >> 20 & 255,
                    x >> 4 & 255, x & 65535, 1024 + (x & 32767), (x >> 9) % 1024);
            break;
        default:
            fprintf(f,
                    "<134>Mar  2 %02d:%02d:%02d app-%02u nginx: 172.16.%u.%u - - \"GET /api/v1/"
                    "items/%u HTTP/1.1\" %d %u \"-\" \"curl/8.5.0\" rt=0.%03u\n",
                    sec / 3600, sec / 60 % 60, sec % 60, x >> 8 & 15, x >> 12 & 255, x >> 20 & 255,
                    x >> 4 & 65535, (x & 7) == 0 ? 500 : 200, 200 + (x >> 3 & 4095), x % 1000);
            break;
        }
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char errstr[256];
    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "bench_kafka: %s: %s\n", k, errstr);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"group", required_argument, NULL, 'g'},
        {"expect", required_argument, NULL, 'n'},
        {"partitions", required_argument, NULL, 'p'},
        {"file", required_argument, NULL, 'f'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *brokers = NULL, *topic = "bench", *file = NULL;
    char group[128];
    long expect = -1, partitions = 8, timeout = 30;
    int c;
    snprintf(group, sizeof group, "bench_kafka-%ld", (long)getpid()); /* fresh: from earliest */
    while ((c = getopt_long(argc, argv, "b:t:g:n:p:f:T:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            brokers = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 'g':
            snprintf(group, sizeof group, "%s", optarg);
            break;
        case 'n':
            expect = strtol(optarg, NULL, 10);
            break;
        case 'p':
            partitions = strtol(optarg, NULL, 10);
            break;
        case 'f':
            file = optarg;
            break;
        case 'T':
            timeout = strtol(optarg, NULL, 10);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || (expect == 0 || expect < -1) || partitions < 1 || timeout < 1) {
        usage(stderr);
        return 2;
    }

    struct cr_kafka_dev *dev = NULL;
    char err[512], tmpdir[] = "/tmp/bench_kafka-XXXXXX", genpath[64] = "";
    if (!brokers) {
        const char *topics[] = {topic};
        dev = cr_kafka_dev_start((int)partitions, NULL, topics, 1, err, sizeof err);
        if (!dev) {
            fprintf(stderr, "bench_kafka: %s\n", err);
            return 1;
        }
        brokers = cr_kafka_dev_bootstrap(dev);
        if (!file) {
            if (expect < 0)
                expect = 200000;
            if (!mkdtemp(tmpdir)) {
                fprintf(stderr, "bench_kafka: mkdtemp: %s\n", strerror(errno));
                return 1;
            }
            snprintf(genpath, sizeof genpath, "%s/gen.log", tmpdir);
            if (generate(genpath, expect) != 0) {
                fprintf(stderr, "bench_kafka: cannot write %s\n", genpath);
                return 1;
            }
            file = genpath;
        }
        uint64_t produced = 0;
        double t0 = now_s();
        /* no sticky partitioning: unkeyed records spread evenly, so no
         * partition outgrows the mock's log limit before the others fill */
        const char *props[] = {"sticky.partitioning.linger.ms=0", NULL};
        int rc = cr_kafka_produce_file(brokers, topic, file, CR_KEY_NONE, props, &produced, err,
                                       sizeof err);
        double dt = now_s() - t0;
        if (genpath[0]) {
            unlink(genpath);
            rmdir(tmpdir);
        }
        if (rc != 0) {
            fprintf(stderr, "bench_kafka: produce: %s\n", err);
            cr_kafka_dev_stop(dev);
            return 1;
        }
        if (expect < 0)
            expect = (long)produced;
        fprintf(stderr, "bench_kafka: produced %llu records to the mock in %.2f s (%.0f/s)\n",
                (unsigned long long)produced, dt, (double)produced / dt);
    } else if (expect < 0) {
        expect = 200000;
    }

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    if (set(conf, "bootstrap.servers", brokers) || set(conf, "group.id", group) ||
        set(conf, "auto.offset.reset", "earliest") || set(conf, "enable.auto.commit", "false") ||
        set(conf, "session.timeout.ms", "6000") || set(conf, "heartbeat.interval.ms", "500") ||
        set(conf, "fetch.wait.max.ms", "100") ||
        set(conf, "partition.assignment.strategy", "cooperative-sticky")) {
        rd_kafka_conf_destroy(conf);
        cr_kafka_dev_stop(dev);
        return 1;
    }
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "bench_kafka: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        cr_kafka_dev_stop(dev);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    if (dev) {
        /* the mock drops a partition's oldest records past its limit:
         * measure only if everything produced is still there */
        int64_t kept = 0, lo, hi;
        for (int p = 0; p < (int)partitions; p++) {
            e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
            if (e) {
                fprintf(stderr, "bench_kafka: watermarks: %s\n", rd_kafka_err2str(e));
                break;
            }
            kept += hi - lo;
        }
        if (!e && kept < expect) {
            fprintf(stderr,
                    "bench_kafka: the mock kept only %lld of %ld records (per-partition "
                    "limit ~5 MiB); use more --partitions\n",
                    (long long)kept, expect);
            rd_kafka_destroy(rk);
            cr_kafka_dev_stop(dev);
            return 1;
        }
    }
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    e = rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        fprintf(stderr, "bench_kafka: subscribe: %s\n", rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        cr_kafka_dev_stop(dev);
        return 1;
    }

    uint64_t n = 0, bytes = 0;
    double first = 0, last = 0, progress = now_s();
    while (n < (uint64_t)expect) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        double t = now_s();
        if (!m) {
            if (t - progress > (double)timeout)
                break;
            continue;
        }
        if (!m->err) {
            if (n == 0)
                first = t;
            n++;
            bytes += m->len;
            last = t;
            progress = t;
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "bench_kafka: %s\n", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    int mock = dev != NULL;
    char where[256];
    snprintf(where, sizeof where, "%s", mock ? "in-process mock" : brokers);
    cr_kafka_dev_stop(dev); /* brokers pointed into dev in mock mode */

    if (n < (uint64_t)expect) {
        fprintf(stderr, "bench_kafka: only %llu of %ld records within %ld s of no progress\n",
                (unsigned long long)n, expect, timeout);
        return 1;
    }
    /* n - 1 intervals between the first and the last record */
    double secs = last - first;
    double rate = secs > 0 ? (double)(n - 1) / secs : 0;
    double mbps = secs > 0 ? (double)bytes / secs / 1e6 : 0;
    printf("bench_kafka: %llu records (%.1f MB) in %.3f s from the first record: %.0f records/s, "
           "%.1f MB/s (%s)\n",
           (unsigned long long)n, (double)bytes / 1e6, secs, rate, mbps, where);
    printf("RESULT records=%llu bytes=%llu seconds=%.3f records_per_s=%.0f mb_per_s=%.2f\n",
           (unsigned long long)n, (unsigned long long)bytes, secs, rate, mbps);
    return 0;
}
