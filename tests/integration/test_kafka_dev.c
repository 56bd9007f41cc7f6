/*
 * test_kafka_dev.c - the development broker, `corral produce` and the Kafka
 * incident output, against librdkafka's in-process mock cluster.
 *
 * Every record is read back with a plain librdkafka consumer and checked
 * against what was written: count, payload (each line exactly once) and key
 * (computed here from how the line was generated, not by the code under
 * test). Most consumers use assign() from the beginning, which skips the
 * mock's 3 s first-join delay; the forwarder test subscribes, so the group
 * path through a fixed bootstrap port is covered too.
 *
 * Each Criterion test runs in its own process with its own mock cluster;
 * everything listens on 127.0.0.1 only.
 */
#include "testutil.h"

#include "cli/commands.h"
#include "engine/kafka/kafka_dev.h"
#include "engine/kafka/kafka_produce.h"
#include "engine/kafka/output_kafka.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct rec {
    char *key; /* NULL when the record has no key */
    size_t klen;
    char *val;
    size_t vlen;
    int32_t part;
    int seen;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A port that was free a moment ago: bind 127.0.0.1:0 and release it. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void cset(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char errstr[256];
    cr_assert_eq(rd_kafka_conf_set(conf, k, v, errstr, sizeof errstr), RD_KAFKA_CONF_OK, "%s: %s",
                 k, errstr);
}

/* Read `want` records of topic (partitions 0..nparts-1) into a new array,
 * or fewer if `timeout_s` passes; then keep polling 300 ms to catch
 * duplicates. subscribe: join group `group` instead of assigning. */
static struct rec *consume(const char *brokers, const char *topic, int nparts, int subscribe,
                           const char *group, size_t want, double timeout_s, size_t *got)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    cset(conf, "bootstrap.servers", brokers);
    cset(conf, "group.id", group);
    cset(conf, "auto.offset.reset", "earliest");
    cset(conf, "enable.auto.commit", "false");
    /* the mock's first join waits 3 s; later rebalances session.timeout - 1 s */
    cset(conf, "session.timeout.ms", "6000");
    cset(conf, "heartbeat.interval.ms", "500");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    cr_assert_not_null(rk, "%s", errstr);
    rd_kafka_poll_set_consumer(rk);

    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(nparts);
    if (subscribe) {
        rd_kafka_topic_partition_list_add(tp, topic, RD_KAFKA_PARTITION_UA);
        cr_assert_eq(rd_kafka_subscribe(rk, tp), RD_KAFKA_RESP_ERR_NO_ERROR);
    } else {
        for (int p = 0; p < nparts; p++)
            rd_kafka_topic_partition_list_add(tp, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        cr_assert_eq(rd_kafka_assign(rk, tp), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    rd_kafka_topic_partition_list_destroy(tp);

    size_t cap = want + 16, n = 0;
    struct rec *r = calloc(cap, sizeof *r);
    double deadline = now_s() + timeout_s, extra_until = 0;
    for (;;) {
        double t = now_s();
        if (n >= want && extra_until == 0)
            extra_until = t + 0.3;
        if (t > deadline || (extra_until && t > extra_until))
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (m->err) {
            cr_assert(m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF, "consume error: %s",
                      rd_kafka_message_errstr(m));
        } else {
            if (n == cap) {
                cap *= 2;
                r = realloc(r, cap * sizeof *r);
            }
            struct rec *x = &r[n++];
            memset(x, 0, sizeof *x);
            if (m->key) {
                x->key = malloc(m->key_len + 1);
                memcpy(x->key, m->key, m->key_len);
                x->key[m->key_len] = '\0';
                x->klen = m->key_len;
            }
            x->val = malloc(m->len + 1);
            if (m->len)
                memcpy(x->val, m->payload, m->len);
            x->val[m->len] = '\0';
            x->vlen = m->len;
            x->part = m->partition;
        }
        rd_kafka_message_destroy(m);
    }
    /* messages are destroyed; close, then destroy */
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    *got = n;
    return r;
}

static void free_recs(struct rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].key);
        free(r[i].val);
    }
    free(r);
}

/* Check that recs hold exactly lines[0..n) (each once) with keys keys[i]
 * (NULL = no key), and that records with equal keys share a partition. */
static void check_exactly(struct rec *recs, size_t got, char **lines, char **keys, size_t n)
{
    cr_assert_eq(got, n, "received %zu records, produced %zu", got, n);
    for (size_t i = 0; i < n; i++) {
        size_t hit = got;
        for (size_t j = 0; j < got; j++) {
            if (!recs[j].seen && recs[j].vlen == strlen(lines[i]) &&
                memcmp(recs[j].val, lines[i], recs[j].vlen) == 0) {
                hit = j;
                break;
            }
        }
        cr_assert_lt(hit, got, "line %zu never arrived: %s", i, lines[i]);
        recs[hit].seen = 1;
        if (keys[i])
            cr_assert(recs[hit].key && strcmp(recs[hit].key, keys[i]) == 0,
                      "line %zu: key '%s', expected '%s'", i,
                      recs[hit].key ? recs[hit].key : "(none)", keys[i]);
        else
            cr_assert_null(recs[hit].key, "line %zu: unexpected key '%s'", i, recs[hit].key);
    }
    for (size_t a = 0; a < got; a++)
        for (size_t b = a + 1; b < got; b++)
            if (recs[a].key && recs[b].key && strcmp(recs[a].key, recs[b].key) == 0)
                cr_assert_eq(recs[a].part, recs[b].part, "key %s on partitions %d and %d",
                             recs[a].key, recs[a].part, recs[b].part);
}

static void write_lines(const char *path, char **lines, size_t n, int crlf_every)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", lines[i], crlf_every && i % crlf_every == 0 ? "\r\n" : "\n");
    fclose(f);
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

Test(kafka_dev, produce_keyed_by_host_consumes_back_exactly_once)
{
    enum { N = 400 };
    const char *topics[] = {"logs"};
    char err[512];
    struct cr_kafka_dev *d = cr_kafka_dev_start(3, NULL, topics, 1, err, sizeof err);
    cr_assert_not_null(d, "%s", err);

    char **lines = calloc(N, sizeof *lines), **keys = calloc(N, sizeof *keys);
    for (int i = 0; i < N; i++) {
        char l[256], k[32];
        int h = i % 7;
        switch (i % 5) {
        case 0: /* RFC 3164, space-padded day */
            snprintf(l, sizeof l,
                     "<38>Mar  2 08:%02d:%02d web-%02d sshd[%d]: Failed password for root from "
                     "10.0.%d.%d port 22 ssh2",
                     i / 60 % 60, i % 60, h, 1000 + i, i / 256, i % 256);
            snprintf(k, sizeof k, "web-%02d", h);
            keys[i] = strdup(k);
            break;
        case 1: /* RFC 5424 */
            snprintf(l, sizeof l, "<165>1 2026-03-02T08:00:%02d.000Z db-%02d app 77 ID47 - msg %d",
                     i % 60, h, i);
            snprintf(k, sizeof k, "db-%02d", h);
            keys[i] = strdup(k);
            break;
        case 2: /* JSON: no key */
            snprintf(l, sizeof l, "{\"host\":\"web-%02d\",\"n\":%d}", h, i);
            break;
        case 3: /* RFC 5424 with NILVALUE host: no key */
            snprintf(l, sizeof l, "<34>1 2026-03-02T08:00:00Z - su - - - 'su root' failed %d", i);
            break;
        default: /* RFC 3164 two-digit day, no PRI */
            snprintf(l, sizeof l, "Mar 12 09:00:%02d fw-%02d kernel: drop n=%d", i % 60, h, i);
            snprintf(k, sizeof k, "fw-%02d", h);
            keys[i] = strdup(k);
            break;
        }
        lines[i] = strdup(i == 123 ? "" : l); /* an empty line is an empty record */
        if (i == 123) {
            free(keys[i]);
            keys[i] = NULL;
        }
    }
    char *tmp = cr_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/in.log", tmp);
    write_lines(path, lines, N, 3); /* every third line ends in CRLF */

    /* a 64-record local queue: QUEUE_FULL must slow the reader, not drop lines */
    const char *props[] = {"queue.buffering.max.messages=64", NULL};
    uint64_t produced = 0;
    cr_assert_eq(cr_kafka_produce_file(cr_kafka_dev_bootstrap(d), "logs", path, CR_KEY_HOST, props,
                                       &produced, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(produced, N);

    size_t got;
    struct rec *recs = consume(cr_kafka_dev_bootstrap(d), "logs", 3, 0, "t1", N, 20, &got);
    check_exactly(recs, got, lines, keys, N);

    free_recs(recs, got);
    free_strs(lines, N);
    free_strs(keys, N);
    cr_kafka_dev_stop(d);
    cr_test_rmtree(tmp);
    free(tmp);
}

/* --rate paces records, it does not drop them: 60 records at 200/s all
 * arrive, and the last one is not produced before 59/200 s have passed
 * (a lower bound the pacing guarantees, not a speed measurement). */
Test(kafka_dev, produce_at_a_rate_delivers_everything_no_sooner_than_paced)
{
    enum { N = 60 };
    const char *topics[] = {"paced"};
    char err[512];
    struct cr_kafka_dev *d = cr_kafka_dev_start(1, NULL, topics, 1, err, sizeof err);
    cr_assert_not_null(d, "%s", err);
    char **lines = calloc(N, sizeof *lines), **keys = calloc(N, sizeof *keys);
    for (int i = 0; i < N; i++) {
        char l[128];
        snprintf(l, sizeof l, "<38>Mar  2 08:00:%02d web-01 sshd[1]: paced record %d", i % 60, i);
        lines[i] = strdup(l);
    }
    char *tmp = cr_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/paced.log", tmp);
    write_lines(path, lines, N, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t produced = 0;
    cr_assert_eq(cr_kafka_produce_file_at(cr_kafka_dev_bootstrap(d), "paced", path, CR_KEY_NONE,
                                          NULL, 200, &produced, err, sizeof err),
                 0, "%s", err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_eq(produced, N);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert_geq(secs, (N - 1) / 200.0, "60 records at 200/s took only %.3f s", secs);
    size_t got;
    struct rec *recs = consume(cr_kafka_dev_bootstrap(d), "paced", 1, 0, "t-paced", N, 20, &got);
    check_exactly(recs, got, lines, keys, N);
    free_recs(recs, got);
    free_strs(lines, N);
    free_strs(keys, N);
    cr_kafka_dev_stop(d);
    cr_test_rmtree(tmp);
    free(tmp);
}

Test(kafka_dev, key_extraction_rules)
{
    static const struct {
        enum cr_produce_key pol;
        const char *line;
        const char *key; /* NULL: no key */
    } cases[] = {
        {CR_KEY_HOST, "<13>Mar  2 08:00:00 web-01 sshd[1]: x", "web-01"},
        {CR_KEY_HOST, "<13>Mar 12 08:00:00 a.example.org x", "a.example.org"},
        {CR_KEY_HOST, "<13>2026-03-02T08:00:00+01:00 rs-1 app: x", "rs-1"},
        {CR_KEY_HOST, "<13>Mar  2 08:00:00 sshd[1]: no host", NULL},
        {CR_KEY_HOST, "<165>1 2026-03-02T08:00:00Z h5424 app - - - m", "h5424"},
        {CR_KEY_HOST, "<165>1 - - app - - - m", NULL},
        {CR_KEY_HOST, "{\"host\":\"x\"}", NULL},
        {CR_KEY_HOST, "garbage line", NULL},
        {CR_KEY_HOST, "<13>Mar  2 08:00:00", NULL},
        {CR_KEY_SRC_IP, "Failed password for root from 10.1.2.3 port 22", "10.1.2.3"},
        {CR_KEY_SRC_IP, "Mar  2 08:00:00 h conn [2001:db8::1]:443 to 10.0.0.1", "2001:db8::1"},
        {CR_KEY_SRC_IP, "at 08:00:00 from fe80::1.", "fe80::1"},
        {CR_KEY_SRC_IP, "src=192.168.0.1:5353 dst=10.0.0.2", "192.168.0.1"},
        {CR_KEY_SRC_IP, "version 1.2.3 and 256.1.1.1 only", NULL},
        {CR_KEY_SRC_IP, "{\"sourceIPAddress\":\"203.0.113.9\"}", "203.0.113.9"},
        {CR_KEY_SRC_IP, "host10.0.0.1 glued", NULL},
        {CR_KEY_NONE, "from 10.1.2.3", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *k = NULL;
        size_t kl = 0;
        int rc = cr_produce_key_of(cases[i].pol, cases[i].line, strlen(cases[i].line), &k, &kl);
        if (!cases[i].key) {
            cr_expect_neq(rc, 0, "'%s': unexpected key '%.*s'", cases[i].line, (int)kl, k ? k : "");
        } else {
            cr_expect_eq(rc, 0, "'%s': no key", cases[i].line);
            cr_expect(rc == 0 && kl == strlen(cases[i].key) && memcmp(k, cases[i].key, kl) == 0,
                      "'%s': key '%.*s', expected '%s'", cases[i].line, (int)kl, k ? k : "",
                      cases[i].key);
        }
    }
    enum cr_produce_key pk;
    cr_expect_eq(cr_produce_key_parse("src_ip", &pk), 0);
    cr_expect_eq(pk, CR_KEY_SRC_IP);
    cr_expect_neq(cr_produce_key_parse("ip", &pk), 0);
}

Test(kafka_dev, listen_forwarder_serves_a_group_consumer)
{
    enum { N = 200 };
    const char *topics[] = {"fw"};
    char err[512], listen[64], want[64];
    int port = free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    struct cr_kafka_dev *d = cr_kafka_dev_start(2, listen, topics, 1, err, sizeof err);
    cr_assert_not_null(d, "%s", err);
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    cr_assert_str_eq(cr_kafka_dev_bootstrap(d), want);

    /* the port is taken now: a second broker on it fails with a reason */
    struct cr_kafka_dev *d2 = cr_kafka_dev_start(1, listen, topics, 1, err, sizeof err);
    cr_assert_null(d2);
    cr_assert(strstr(err, "cannot listen"), "%s", err);

    char **lines = calloc(N, sizeof *lines), **keys = calloc(N, sizeof *keys);
    for (int i = 0; i < N; i++) {
        char l[200], k[32];
        snprintf(k, sizeof k, "10.9.%d.%d", i % 5, i % 3);
        snprintf(l, sizeof l, "<38>Mar  2 08:00:00 gw sshd[9]: Invalid user u%d from %s port %d", i,
                 k, 40000 + i);
        lines[i] = strdup(l);
        keys[i] = strdup(k);
    }
    char *tmp = cr_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/in.log", tmp);
    write_lines(path, lines, N, 0);

    /* both clients bootstrap through the forwarder only */
    uint64_t produced = 0;
    cr_assert_eq(
        cr_kafka_produce_file(listen, "fw", path, CR_KEY_SRC_IP, NULL, &produced, err, sizeof err),
        0, "%s", err);
    cr_assert_eq(produced, N);
    size_t got;
    struct rec *recs = consume(listen, "fw", 2, 1, "g-fw", N, 25, &got);
    check_exactly(recs, got, lines, keys, N);

    free_recs(recs, got);
    free_strs(lines, N);
    free_strs(keys, N);
    cr_kafka_dev_stop(d);
    cr_test_rmtree(tmp);
    free(tmp);
}

Test(kafka_dev, non_loopback_listen_is_refused)
{
    static const char *const refused[] = {"0.0.0.0:9092", "10.1.2.3:9092", "[::]:9092",
                                          "192.168.1.1:1"};
    static const char *const malformed[] = {"localhost:9092", "127.0.0.1", "127.0.0.1:70000",
                                            "127.0.0.1:", ""};
    const char *topics[] = {"logs"};
    char err[512];
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        err[0] = '\0';
        cr_expect_null(cr_kafka_dev_start(1, refused[i], topics, 1, err, sizeof err));
        cr_expect(strstr(err, "loopback") != NULL, "%s: '%s'", refused[i], err);
    }
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        err[0] = '\0';
        cr_expect_null(cr_kafka_dev_start(1, malformed[i], topics, 1, err, sizeof err));
        cr_expect(err[0] != '\0', "%s: no reason given", malformed[i]);
    }
    cr_expect_eq(cr_kafka_dev_check_listen("[::1]:0", err, sizeof err), 0, "%s", err);
    cr_expect_eq(cr_kafka_dev_check_listen("127.8.9.10:1", err, sizeof err), 0, "%s", err);

    /* the command turns it into a usage error before starting anything */
    char *argv[] = {"kafka-dev", "--listen", "0.0.0.0:9092", NULL};
    cr_expect_eq(cr_cmd_kafka_dev(3, argv), 2);
}

Test(kafka_dev, output_kafka_delivers_incidents_keyed_by_id_through_errors)
{
    enum { N = 150 };
    const char *topics[] = {"incidents"};
    char err[512];
    struct cr_kafka_dev *d = cr_kafka_dev_start(3, NULL, topics, 1, err, sizeof err);
    cr_assert_not_null(d, "%s", err);
    /* the first Produce requests fail with retriable errors (ApiKey 0 =
     * Produce): the idempotent producer must retry without duplicating */
    rd_kafka_mock_push_request_errors(
        cr_kafka_dev_mock(d), 0, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);

    struct cr_output_kafka *o =
        cr_output_kafka_new(cr_kafka_dev_bootstrap(d), "incidents", NULL, err, sizeof err);
    cr_assert_not_null(o, "%s", err);
    char **lines = calloc(N, sizeof *lines), **keys = calloc(N, sizeof *keys);
    char buf[256];
    for (int i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "inc-%04d", i % 50); /* three versions of each incident */
        int n = snprintf(buf, sizeof buf, "{\"id\":\"%s\",\"version\":%d,\"count\":%d}", id,
                         i / 50 + 1, i * 3);
        cr_assert_eq(cr_output_kafka_send(o, id, buf, (size_t)n), 0);
        memset(buf, 'x', sizeof buf); /* the payload was copied */
        lines[i] = malloc((size_t)n + 1);
        snprintf(lines[i], (size_t)n + 1, "{\"id\":\"%s\",\"version\":%d,\"count\":%d}", id,
                 i / 50 + 1, i * 3);
        keys[i] = strdup(id);
    }
    cr_assert_eq(cr_output_kafka_flush(o, 20000), 0);
    uint64_t sent, failed;
    cr_output_kafka_stats(o, &sent, &failed);
    cr_assert_eq(sent, N);
    cr_assert_eq(failed, 0);
    cr_assert_eq(cr_output_kafka_pending(o), 0);
    cr_output_kafka_free(o);

    size_t got;
    struct rec *recs = consume(cr_kafka_dev_bootstrap(d), "incidents", 3, 0, "t-out", N, 20, &got);
    check_exactly(recs, got, lines, keys, N);
    /* versions of one incident arrive in the order they were sent */
    for (size_t a = 0; a < got; a++)
        for (size_t b = a + 1; b < got; b++)
            if (strcmp(recs[a].key, recs[b].key) == 0 && recs[a].part == recs[b].part)
                cr_assert_lt(strstr(recs[a].val, "version")[9], strstr(recs[b].val, "version")[9],
                             "%s then %s", recs[a].val, recs[b].val);

    free_recs(recs, got);
    free_strs(lines, N);
    free_strs(keys, N);
    cr_kafka_dev_stop(d);
}

Test(kafka_dev, output_kafka_counts_failed_deliveries)
{
    const char *topics[] = {"incidents"};
    char err[512];
    struct cr_kafka_dev *d = cr_kafka_dev_start(1, NULL, topics, 1, err, sizeof err);
    cr_assert_not_null(d, "%s", err);

    const char *bad[] = {"no.such.property=1", NULL};
    cr_assert_null(
        cr_output_kafka_new(cr_kafka_dev_bootstrap(d), "incidents", bad, err, sizeof err));
    cr_assert(strstr(err, "no.such.property"), "%s", err);

    /* the broker is down for good: every record times out and is counted */
    cr_assert_eq(rd_kafka_mock_broker_set_down(cr_kafka_dev_mock(d), 1), 0);
    const char *props[] = {"message.timeout.ms=1500", NULL};
    struct cr_output_kafka *o =
        cr_output_kafka_new(cr_kafka_dev_bootstrap(d), "incidents", props, err, sizeof err);
    cr_assert_not_null(o, "%s", err);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(cr_output_kafka_send(o, "inc-x", "{}", 2), 0);
    cr_assert_eq(cr_output_kafka_flush(o, 15000), -5);
    uint64_t sent, failed;
    cr_output_kafka_stats(o, &sent, &failed);
    cr_assert_eq(sent, 0);
    cr_assert_eq(failed, 5);
    cr_output_kafka_free(o);

    /* the file producer to the broker that is down: it gives up at once
     * (bounded by its connect wait), nothing produced */
    char *tmp = cr_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/in.log", tmp);
    cr_assert_eq(cr_test_write_file(path, "a\nb\nc\n", 6), 0);
    uint64_t produced = 99;
    cr_assert_eq(cr_kafka_produce_file(cr_kafka_dev_bootstrap(d), "incidents", path, CR_KEY_NONE,
                                       props, &produced, err, sizeof err),
                 -1);
    cr_assert_eq(produced, 0);
    cr_assert(strstr(err, "cannot reach the brokers at"), "%s", err);
    /* up again, but refusing every produce request: a failure is an error,
     * with a count */
    cr_assert_eq(rd_kafka_mock_broker_set_up(cr_kafka_dev_mock(d), 1), 0);
    rd_kafka_resp_err_t refusals[64];
    for (int i = 0; i < 64; i++)
        refusals[i] = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
    rd_kafka_mock_push_request_errors_array(cr_kafka_dev_mock(d), 0 /* Produce */, 64, refusals);
    produced = 99;
    cr_assert_eq(cr_kafka_produce_file(cr_kafka_dev_bootstrap(d), "incidents", path, CR_KEY_NONE,
                                       props, &produced, err, sizeof err),
                 -1);
    cr_assert_eq(produced, 0);
    cr_assert(strstr(err, "3 of 3 records not delivered"), "%s", err);
    cr_kafka_dev_stop(d);
    cr_test_rmtree(tmp);
    free(tmp);
}

/* Read one line from fd within timeout_s; returns its length or -1. */
static int read_line(int fd, char *buf, size_t cap, double timeout_s)
{
    size_t n = 0;
    double deadline = now_s() + timeout_s;
    while (n + 1 < cap) {
        int left = (int)((deadline - now_s()) * 1000);
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left) <= 0)
            continue;
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0)
            return -1;
        if (buf[n] == '\n') {
            buf[n] = '\0';
            return (int)n;
        }
        n++;
    }
    return -1;
}

Test(kafka_dev, command_prints_its_address_serves_produce_and_stops_on_sigterm)
{
    cr_assert_eq(access(CORRAL_BINARY, X_OK), 0, "%s is not built", CORRAL_BINARY);
    char listen[64], cmd[8192], *out = NULL;
    int port = free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);

    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execl(CORRAL_BINARY, CORRAL_BINARY, "kafka-dev", "--listen", listen, "--partitions", "2",
              "--topic", "a", "--topic", "b", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    char line[512], want[512];
    int n = read_line(pfd[0], line, sizeof line, 15);
    if (n < 0)
        kill(pid, SIGKILL);
    cr_assert_geq(n, 0, "no ready line from corral kafka-dev");
    snprintf(want, sizeof want, "corral kafka-dev: listening on %s (topics: a, b)", listen);
    cr_assert_str_eq(line, want);

    /* corral produce against it, through the fixed port */
    char *tmp = cr_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/in.log", tmp);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 50; i++)
        fprintf(f, "<13>Mar  2 08:00:%02d h%d app: event %d\n", i, i % 4, i);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "'%s' produce --brokers %s --topic b --key host -X linger.ms=5 '%s' 2>&1",
             CORRAL_BINARY, listen, path);
    int rc = cr_test_run(cmd, &out);
    cr_expect_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "corral produce: 50 records to b\n") != NULL, "%s", out);
    free(out);

    cr_assert_eq(kill(pid, SIGTERM), 0);
    int st = 0;
    double deadline = now_s() + 15;
    pid_t w;
    while ((w = waitpid(pid, &st, WNOHANG)) == 0 && now_s() < deadline)
        usleep(20000);
    if (w == 0)
        kill(pid, SIGKILL), waitpid(pid, &st, 0);
    cr_assert_eq(w, pid, "corral kafka-dev did not stop on SIGTERM");
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
    close(pfd[0]);

    /* usage: --help is exit 0 on stdout; bad input exit 2 */
    snprintf(cmd, sizeof cmd, "'%s' kafka-dev --help", CORRAL_BINARY);
    cr_expect_eq(cr_test_run(cmd, &out), 0);
    cr_expect(strstr(out, "usage: corral kafka-dev") != NULL, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' kafka-dev --partitions 0 2>/dev/null", CORRAL_BINARY);
    cr_expect_eq(cr_test_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "'%s' produce --topic t - </dev/null 2>/dev/null", CORRAL_BINARY);
    cr_expect_eq(cr_test_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "'%s' produce --brokers %s --topic t --key mac - 2>/dev/null",
             CORRAL_BINARY, listen);
    cr_expect_eq(cr_test_run(cmd, NULL), 2);
    cr_test_rmtree(tmp);
    free(tmp);
}
