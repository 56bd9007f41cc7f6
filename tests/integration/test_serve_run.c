/*
 * test_serve_run.c - `corral run` serving its own API (serve.listen) while
 * it consumes Kafka (librdkafka's mock cluster on loopback) and writes the
 * store: records arrive on a topic, the incident they make is
 * found through the API, acknowledged through it (the move goes to the
 * writer thread and is durable when the answer comes), more evidence for
 * the same incident keeps the acknowledgement, /metrics carries the
 * writer's counters, and on SIGTERM the run stops serving and exits 0
 * with the move in the store and in the audit log.
 */
#include "engine/kafka/kafka_dev.h"
#include "engine/kafka/kafka_produce.h"
#include "httptest.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OPER "operator-token-0000000000002"

static char *tmp;
static struct cr_kafka_dev *dev;

static void setup(void) { tmp = cr_test_tmpdir(); }
static void teardown(void)
{
    cr_kafka_dev_stop(dev);
    cr_test_rmtree(tmp);
    free(tmp);
}

TestSuite(serve_run, .init = setup, .fini = teardown, .timeout = 120);

/* The lines of text to the topic, as `corral produce` sends them. */
static void put(const char *text)
{
    static int part;
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/part-%d.log", tmp, part++);
    cr_assert_eq(cr_test_write_file(path, text, strlen(text)), 0);
    uint64_t n = 0;
    cr_assert_eq(cr_kafka_produce_file(cr_kafka_dev_bootstrap(dev), "logs", path, CR_KEY_HOST, NULL,
                                       &n, err, sizeof err),
                 0, "%s", err);
}

/* Wait (20 s at most) for the first incident of the list with query q. */
static json_t *wait_incident(const struct cr_test_server *s, const char *q)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v1/incidents?%s", q);
    for (int i = 0; i < 2000; i++) {
        char *out = NULL;
        long st = cr_test_http(s, "GET", path, OPER, NULL, &out, NULL, 0);
        cr_assert_eq(st, 200, "%s", out);
        json_t *o = json_loads(out, 0, NULL);
        free(out);
        json_t *it = json_array_get(json_object_get(o, "items"), 0);
        if (it) {
            json_incref(it);
            json_decref(o);
            return it;
        }
        json_decref(o);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert_fail("no incident for %s", q);
    return NULL;
}

Test(serve_run, the_running_engine_serves_and_takes_moves)
{
    char path[4200], cfg[8192];
    snprintf(path, sizeof path, "%s/tokens.yaml", tmp);
    const char *tokens = "tokens:\n  - {name: li.wei, role: operator, token: " OPER "}\n";
    cr_assert_eq(cr_test_write_file(path, tokens, strlen(tokens)), 0);
    char rules[4200]; /* cr_test_source_path's buffer is static */
    snprintf(rules, sizeof rules, "%s", cr_test_source_path("configs/rules"));
    snprintf(cfg, sizeof cfg,
             "rules: [%s]\nassets: %s\ninput: { year: 2026 }\n"
             "store: { path: st, commit_interval: 50ms }\n"
             "kafka: { checkpoint_interval: 50ms }\n"
             "serve: { listen: 127.0.0.1:0, tokens: tokens.yaml }\n",
             rules, cr_test_source_path("configs/assets.yaml"));
    snprintf(path, sizeof path, "%s/corral.yaml", tmp);
    cr_assert_eq(cr_test_write_file(path, cfg, strlen(cfg)), 0);
    char err[512];
    const char *topics[] = {"logs"};
    dev = cr_kafka_dev_start(1, NULL, topics, 1, err, sizeof err);
    cr_assert_not_null(dev, "mock cluster: %s", err);
    struct cr_test_server s;
    cr_assert_eq(cr_test_serve(&s, tmp, "run",
                               "run -c '%s/corral.yaml' --brokers '%s' --topic logs --group g "
                               "-X session.timeout.ms=6000 -X heartbeat.interval.ms=500",
                               tmp, cr_kafka_dev_bootstrap(dev)),
                 0, "%s", cr_test_slurp(s.log, NULL));

    /* six failures from one source in 50 s; a record 15 s later moves event
     * time past the allowed lateness (10 s), so the matches are applied; the
     * checkpoint (every 50 ms) takes the incident to the store */
    char buf[8192];
    size_t n = 0;
    cr_test_ssh_failures(buf, sizeof buf, &n, 6);
    n += (size_t)snprintf(buf + n, sizeof buf - n,
                          "<38>Mar  2 08:01:05 web-01 sshd[1041]: Connection closed by "
                          "198.51.100.7 port 5 [preauth]\n");
    put(buf);
    json_t *inc = wait_incident(&s, "rule=ssh.bruteforce&src_ip=203.0.113.5");
    char id[33];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(inc, "id")));
    json_int_t before = json_integer_value(json_object_get(inc, "event_count"));
    json_decref(inc);

    /* acknowledged through the running engine's API */
    char mv[128], *out = NULL;
    snprintf(mv, sizeof mv, "/api/v1/incidents/%s/ack", id);
    cr_assert_eq(
        cr_test_http(&s, "POST", mv, OPER, "{\"note\":\"blocking the source\"}", &out, NULL, 0),
        200, "%s", out);
    json_t *o = json_loads(out, 0, NULL);
    cr_expect_str_eq(json_string_value(json_object_get(o, "status")), "acknowledged");
    json_decref(o);
    free(out);

    /* more evidence for the same incident while it is open (open_for: the
     * 60 s timespan after its last failure): it grows, and stays
     * acknowledged */
    n = 0;
    for (int i = 0; i < 4; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n,
                              "<38>Mar  2 08:01:%02d web-01 sshd[1040]: Failed password for "
                              "admin from 203.0.113.5 port %d ssh2\n",
                              10 + 10 * i, 41001 + i);
    n += (size_t)snprintf(buf + n, sizeof buf - n,
                          "<38>Mar  2 08:01:55 web-01 sshd[1041]: Connection closed by "
                          "198.51.100.7 port 6 [preauth]\n");
    put(buf);
    json_t *grown = NULL;
    for (int i = 0; i < 2000; i++) {
        snprintf(mv, sizeof mv, "/api/v1/incidents/%s", id);
        cr_assert_eq(cr_test_http(&s, "GET", mv, OPER, NULL, &out, NULL, 0), 200, "%s", out);
        grown = json_loads(out, 0, NULL);
        free(out);
        if (json_integer_value(json_object_get(grown, "event_count")) > before)
            break;
        json_decref(grown);
        grown = NULL;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert_not_null(grown, "the new evidence reached the incident");
    cr_expect_str_eq(json_string_value(json_object_get(grown, "status")), "acknowledged",
                     "new evidence keeps the analyst's move");
    json_decref(grown);

    /* the writer's counters */
    cr_assert_eq(cr_test_http(&s, "GET", "/metrics", NULL, NULL, &out, NULL, 0), 200);
    cr_expect(strstr(out, "corral_incident_versions_written_total "), "%s", out);
    cr_expect(strstr(out, "corral_running 1"), "%s", out);
    cr_expect(strstr(out, "corral_api_actions_total 1"), "%s", out);
    free(out);
    o = NULL;
    cr_assert_eq(cr_test_http(&s, "GET", "/healthz", NULL, NULL, &out, NULL, 0), 200);
    cr_expect(strstr(out, "corral run"), "%s", out);
    free(out);

    /* SIGTERM: the run stops serving and exits 0 */
    cr_expect_eq(cr_test_serve_stop(&s), 0, "run: %s", cr_test_slurp(s.log, NULL));
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' incident show %s --store '%s/st'", CORRAL_BINARY, id, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0);
    o = json_loads(out, 0, NULL);
    free(out);
    cr_expect_str_eq(json_string_value(json_object_get(o, "status")), "acknowledged");
    json_t *h = json_object_get(o, "history");
    int found = 0;
    for (size_t i = 0; i < json_array_size(h); i++)
        found |=
            !strcmp(json_string_value(json_object_get(json_array_get(h, i), "actor")), "li.wei");
    cr_expect(found, "the history names who acknowledged it");
    json_decref(o);
    snprintf(cmd, sizeof cmd, "'%s' audit verify --store '%s/st'", CORRAL_BINARY, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", out);
    free(out);
}
