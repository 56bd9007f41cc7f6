/*
 * cmd_kafka_dev.c - `corral kafka-dev`: the embedded development broker
 * (engine/kafka/kafka_dev.c) as a foreground process until SIGINT/SIGTERM.
 */
#include "cli/cli.h"
#include "cli/commands.h"
#include "engine/kafka/kafka_dev.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TOPICS 64

static const char usage_text[] =
    "usage: corral kafka-dev [--listen 127.0.0.1:PORT] [--partitions N] [--topic NAME ...]\n"
    "\n"
    "Runs an in-process Kafka broker (librdkafka's mock cluster) for development and\n"
    "tests until SIGINT or SIGTERM. Data is kept in memory only, and each partition\n"
    "keeps only its last ~5 MiB.\n"
    "  -l, --listen ADDR     fixed loopback bootstrap address (127.0.0.0/8 or [::1]);\n"
    "                        clients then connect to the broker's own 127.0.0.1 port\n"
    "  -p, --partitions N    partitions per topic (default 3)\n"
    "  -t, --topic NAME      a topic to create (repeatable; default: logs)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Prints 'corral kafka-dev: listening on ADDR (topics: ...)' once ready.\n"
    "Exit status: 0 ok, 1 runtime error, 2 usage error.\n";

int cr_cmd_kafka_dev(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"partitions", required_argument, NULL, 'p'},
        {"topic", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *listen = NULL;
    const char *topics[MAX_TOPICS];
    int ntopics = 0, partitions = 3, c;
    char err[512];

    optind = 0; /* glibc: full reset, so the command can run more than once */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":l:p:t:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (cr_kafka_dev_check_listen(optarg, err, sizeof err) != 0)
                return cr_cli_usage(stderr, "kafka-dev", "%s", err);
            listen = optarg;
            break;
        case 'p': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 1000)
                return cr_cli_usage(stderr, "kafka-dev", "invalid --partitions '%s' (1 to 1000)",
                                    optarg);
            partitions = (int)v;
            break;
        }
        case 't':
            if (!*optarg)
                return cr_cli_usage(stderr, "kafka-dev", "%s", "empty --topic name");
            if (ntopics == MAX_TOPICS)
                return cr_cli_usage(stderr, "kafka-dev", "too many topics (at most %d)",
                                    MAX_TOPICS);
            topics[ntopics++] = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        case ':':
            return cr_cli_usage(stderr, "kafka-dev", "option '%s' needs an argument",
                                argv[optind - 1]);
        default:
            return cr_cli_usage(stderr, "kafka-dev", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cr_cli_usage(stderr, "kafka-dev", "unexpected argument '%s'", argv[optind]);
    if (ntopics == 0)
        topics[ntopics++] = "logs";

    /* Block the stop signals before any thread exists, so librdkafka's and
     * the forwarder's threads inherit the mask and sigwait() below is the
     * only place they are delivered. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);

    struct cr_kafka_dev *d =
        cr_kafka_dev_start(partitions, listen, topics, ntopics, err, sizeof err);
    if (!d) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        fprintf(stderr, "corral kafka-dev: %s\n", err);
        return 1;
    }
    printf("corral kafka-dev: listening on %s (topics: ", cr_kafka_dev_bootstrap(d));
    for (int i = 0; i < ntopics; i++)
        printf("%s%s", i ? ", " : "", topics[i]);
    printf(")\n");
    fflush(stdout); /* a script or test waits for this line on a pipe */

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    cr_kafka_dev_stop(d);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    fprintf(stderr, "corral kafka-dev: stopped (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return 0;
}
