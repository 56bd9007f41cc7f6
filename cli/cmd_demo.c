/*
 * cmd_demo.c - `corral demo`: corral's main path end to end on an embedded
 * Kafka-protocol broker (or a real cluster): produce a sample, run the
 * engine as a consumer until caught up, print the graded incidents. It
 * composes the other commands (produce's producer, run, query) rather than
 * doing anything of its own.
 */
#include "cli/cli.h"
#include "cli/commands.h"

#include "engine/store/store.h"

#include "engine/kafka/kafka_dev.h"
#include "engine/kafka/kafka_produce.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <jansson.h>

static void usage_demo(FILE *f)
{
    fprintf(f, "usage: corral demo --sample FILE [-c CONFIG] [--store DIR] [--brokers LIST]\n"
               "                   [--partitions N]\n"
               "\n"
               "corral's main path end to end: starts an embedded Kafka-protocol broker on\n"
               "loopback (or uses --brokers), produces the sample's lines to the topic\n"
               "corral.demo.logs (keyed by host), runs the engine as a consumer of it until\n"
               "caught up (incidents also go to the topic corral.demo.incidents), and prints\n"
               "the graded incidents. bench/demo.sh generates the sample.\n"
               "  --sample FILE       the log lines to produce\n"
               "  -c, --config FILE   default configs/corral.yaml\n"
               "  -s, --store DIR     default ./corral-demo (emptied first)\n"
               "  -b, --brokers LIST  a real Kafka cluster instead of the embedded broker\n"
               "  -p, --partitions N  partitions of the embedded broker's topics (default 3)\n");
}

/* What grading made of the run: the incidents that are reportable or
 * are a root cause, with their systems, deadlines and consequences. */
static int graded_one(const char *json, size_t len, void *arg)
{
    int *n = arg;
    json_t *o = json_loadb(json, len, 0, NULL);
    const char *lv = json_string_value(json_object_get(o, "reg_level"));
    json_t *children = json_object_get(o, "children");
    int reportable = lv && (!strcmp(lv, "I") || !strcmp(lv, "II") || !strcmp(lv, "III"));
    if (o && (reportable || json_array_size(children) > 0)) {
        (*n)++;
        printf("\n%.12s  %s  level %s, %s, %s\n", json_string_value(json_object_get(o, "id")),
               json_string_value(json_object_get(o, "title")), lv ? lv : "-",
               json_string_value(json_object_get(o, "priority")),
               json_string_value(json_object_get(o, "status")));
        size_t i;
        json_t *v;
        printf("  affects:");
        json_array_foreach(json_object_get(o, "systems"), i, v)
        {
            printf("%s %s (%s)", i ? "," : "", json_string_value(json_object_get(v, "id")),
                   json_string_value(json_object_get(v, "tier")));
        }
        printf("\n  tenants:");
        json_array_foreach(json_object_get(o, "tenants"), i, v) printf(" %s", json_string_value(v));
        json_t *g = json_object_get(json_object_get(o, "grading"), "reasons");
        json_array_foreach(g, i, v) printf("\n  why: %s", json_string_value(v));
        printf("\n  respond by %s, restore by %s",
               json_string_value(json_object_get(o, "respond_due")),
               json_string_value(json_object_get(o, "restore_due")));
        if (json_string_value(json_object_get(o, "report_due")))
            printf(", report (%s) by %s", json_string_value(json_object_get(o, "report_route")),
                   json_string_value(json_object_get(o, "report_due")));
        printf("\n");
        if (json_array_size(children)) {
            printf("  root cause of %zu incident(s), grouped under it:", json_array_size(children));
            json_array_foreach(children, i, v) printf(" %.12s", json_string_value(v));
            printf("\n");
        }
    }
    json_decref(o);
    return 0;
}

static int print_graded(const char *store)
{
    printf("\n== graded: reportable incidents (level III and above) and root causes\n");
    struct cr_store *s = cr_cli_open_store(store, stderr);
    if (!s)
        return 1;
    struct cr_query q = CR_QUERY_ALL;
    int n = 0, rc = cr_store_query(s, &q, graded_one, &n);
    if (rc != 0)
        fprintf(stderr, "corral demo: %s\n", cr_store_errmsg(s));
    cr_store_close(s);
    if (!n)
        printf("(none)\n");
    printf("\nMove one along: corral incident ack ID --store %s --actor YOU; "
           "see what is late: corral query --store %s --overdue\n",
           store, store);
    fflush(stdout);
    return rc ? 1 : 0;
}

int cr_cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {{"sample", required_argument, 0, 'f'},
                                         {"config", required_argument, 0, 'c'},
                                         {"store", required_argument, 0, 's'},
                                         {"brokers", required_argument, 0, 'b'},
                                         {"partitions", required_argument, 0, 'p'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *sample = NULL, *config = "configs/corral.yaml", *store = "corral-demo";
    const char *brokers = NULL;
    int partitions = 3, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:c:s:b:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            sample = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 's':
            store = optarg;
            break;
        case 'b':
            brokers = optarg;
            break;
        case 'p':
            if (cr_cli_parse_count(optarg, &partitions) != 0)
                return cr_cli_usage(stderr, "demo",
                                    "--partitions: '%s' is not a number from 1 to 64", optarg);
            break;
        case 'h':
            usage_demo(stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'corral demo --help'.\n");
            return CR_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cr_cli_usage(stderr, "demo", "unexpected argument '%s'", argv[optind]);
    if (!sample)
        return cr_cli_usage(stderr, "demo", "%s",
                            "--sample FILE is required (bench/demo.sh makes one)");
    static const char *const topics[] = {"corral.demo.logs", "corral.demo.incidents"};
    char err[1024];
    struct cr_kafka_dev *dev = NULL;
    if (!brokers) {
        dev = cr_kafka_dev_start(partitions, NULL, topics, 2, err, sizeof err);
        if (!dev) {
            fprintf(stderr, "corral demo: %s\n", err);
            return 1;
        }
        brokers = cr_kafka_dev_bootstrap(dev);
        fprintf(stderr, "corral demo: embedded Kafka broker on %s\n", brokers);
    }
    uint64_t produced = 0;
    if (cr_kafka_produce_file(brokers, topics[0], sample, CR_KEY_HOST, NULL, &produced, err,
                              sizeof err) != 0) {
        fprintf(stderr, "corral demo: producing %s: %s\n", sample, err);
        cr_kafka_dev_stop(dev);
        return 1;
    }
    fprintf(stderr, "corral demo: produced %llu records of %s to %s (keyed by host)\n",
            (unsigned long long)produced, sample, topics[0]);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", store);
    if (strchr(store, '\'') == NULL && system(cmd) != 0)
        fprintf(stderr, "corral demo: could not empty %s\n", store);
    char *run_argv[] = {"run",
                        "-c",
                        (char *)config,
                        "--brokers",
                        (char *)brokers,
                        "--topic",
                        (char *)topics[0],
                        "--group",
                        "corral-demo",
                        "--store",
                        (char *)store,
                        "--until-caught-up",
                        "--output-topic",
                        (char *)topics[1],
                        "-X",
                        "session.timeout.ms=6000",
                        "-X",
                        "heartbeat.interval.ms=500",
                        NULL};
    int rc = cr_cmd_run((int)(sizeof run_argv / sizeof run_argv[0]) - 1, run_argv);
    if (rc == 0) {
        printf("\n== incidents (corral query --store %s --format table)\n", store);
        fflush(stdout);
        char *q_argv[] = {"query", "--store", (char *)store, "--format", "table", NULL};
        rc = cr_cmd_query(5, q_argv);
        if (rc == 0)
            rc = print_graded(store);
    }
    cr_kafka_dev_stop(dev);
    return rc;
}
