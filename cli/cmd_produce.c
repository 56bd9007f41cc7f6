/*
 * cmd_produce.c - `corral produce`: the options of a replay into a topic;
 * the producing itself is engine/kafka/kafka_produce.c's.
 */
#include "cli/cli.h"
#include "cli/commands.h"
#include "engine/kafka/kafka_produce.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROPS 128

static const char usage_text[] =
    "usage: corral produce --brokers B --topic T [--key none|host|src_ip]\n"
    "                      [--rate N] [-X key=value ...] FILE|-\n"
    "\n"
    "Produces each line of FILE (- is stdin) as one record, with an idempotent\n"
    "producer, and waits until every record is acknowledged.\n"
    "  -b, --brokers B     bootstrap servers (e.g. 127.0.0.1:9092)\n"
    "  -t, --topic T       topic to produce to\n"
    "  -k, --key K         record key: none (default), host (syslog HOSTNAME),\n"
    "                      src_ip (first IP address in the line)\n"
    "  -r, --rate N        at most N records per second (default: as fast as the\n"
    "                      brokers take them): replays at a live rate, overload tests\n"
    "  -X key=value        a librdkafka property (repeatable; overrides defaults)\n"
    "  -h, --help          show this help\n"
    "\n"
    "Prints 'corral produce: N records to T' on stderr.\n"
    "Exit status: 0 all delivered, 1 runtime error or failed deliveries, 2 usage error.\n";

int cr_cmd_produce(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'}, {"topic", required_argument, NULL, 't'},
        {"key", required_argument, NULL, 'k'},     {"rate", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *brokers = NULL, *topic = NULL;
    const char *props[MAX_PROPS + 1];
    int nprops = 0, c;
    enum cr_produce_key key = CR_KEY_NONE;
    double rate = 0;

    optind = 0; /* glibc: full reset, so the command can run more than once */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":b:t:k:r:X:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            brokers = optarg;
            break;
        case 't':
            topic = optarg;
            break;
        case 'k':
            if (cr_produce_key_parse(optarg, &key) != 0)
                return cr_cli_usage(stderr, "produce", "invalid --key '%s' (none, host or src_ip)",
                                    optarg);
            break;
        case 'r': {
            char *end;
            errno = 0;
            rate = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(rate > 0) || rate > 1e9)
                return cr_cli_usage(stderr, "produce",
                                    "invalid --rate '%s' (records per second, > 0)", optarg);
            break;
        }
        case 'X':
            if (!strchr(optarg, '=') || optarg[0] == '=')
                return cr_cli_usage(stderr, "produce", "invalid -X '%s' (expected key=value)",
                                    optarg);
            if (nprops == MAX_PROPS)
                return cr_cli_usage(stderr, "produce", "too many -X properties (at most %d)",
                                    MAX_PROPS);
            props[nprops++] = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        case ':':
            return cr_cli_usage(stderr, "produce", "option '%s' needs an argument",
                                argv[optind - 1]);
        default:
            return cr_cli_usage(stderr, "produce", "unknown option '%s'", argv[optind - 1]);
        }
    }
    props[nprops] = NULL;
    if (!brokers || !*brokers)
        return cr_cli_usage(stderr, "produce", "%s", "--brokers is required");
    if (!topic || !*topic)
        return cr_cli_usage(stderr, "produce", "%s", "--topic is required");
    if (optind >= argc)
        return cr_cli_usage(stderr, "produce", "%s", "missing FILE (or - for stdin)");
    if (optind + 1 < argc)
        return cr_cli_usage(stderr, "produce", "unexpected argument '%s'", argv[optind + 1]);

    char err[512];
    uint64_t n = 0;
    int rc = cr_kafka_produce_file_at(brokers, topic, argv[optind], key, props, rate, &n, err,
                                      sizeof err);
    if (rc != 0) {
        if (n)
            fprintf(stderr, "corral produce: %s (%llu records delivered before)\n", err,
                    (unsigned long long)n);
        else
            fprintf(stderr, "corral produce: %s\n", err);
        return 1;
    }
    fprintf(stderr, "corral produce: %llu records to %s\n", (unsigned long long)n, topic);
    return 0;
}
