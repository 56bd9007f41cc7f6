/*
 * main.c - the `corral` command line: run, reload, check, query, rejects, version.
 *
 * Subcommands are dispatched on argv[1] and parse their own options with
 * getopt_long. Conventions (docs/operations.md): data on stdout, messages on
 * stderr; exit 0 on success, 1 on a runtime failure, 2 on a usage error, 78
 * (EX_CONFIG) when the config or a rule file is invalid.
 */
#include "cli.h"
#include "config.h"
#include "crashpoint.h"
#include "explain.h"
#include "ingest_file.h"
#include "ingest_kafka.h"
#include "kafka_dev.h"
#include "kafka_produce.h"
#include "output_kafka.h"
#include "pipeline.h"
#include "query_cli.h"
#include "reload.h"
#include "reload_cli.h"
#include "rule_tests.h"
#include "store.h"

#include "../rules/ruleset.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <hs/hs.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>


static const char *prog = "corral";

static void usage_main(FILE *f)
{
    fprintf(f,
            "usage: corral <command> [options]\n"
            "\n"
            "Commands:\n"
            "  run      consume Kafka (or read files), match rules, correlate, store incidents\n"
            "  demo     the whole path on an embedded Kafka broker: produce a sample, consume\n"
            "           it, print the incidents\n"
            "  kafka-dev  run an embedded Kafka-protocol broker on loopback (development)\n"
            "  produce  write the lines of a file to a Kafka topic\n"
            "  reload   check the rules, then make the running `corral run` swap them in\n"
            "  check    validate a config and its rules (exit 78 on any problem)\n"
            "  test-rules  run rule fixtures: records on a timeline and the incidents expected\n"
            "  explain     one record through parser and rules: fields, matching rules and why,\n"
            "              the incident and the correlation state it would touch\n"
            "  query    list stored incidents (table, ndjson, csv)\n"
            "  rejects  list records kept raw because they did not parse cleanly\n"
            "  version  print versions of corral and its libraries\n"
            "\n"
            "Run 'corral <command> --help' for the options of a command.\n");
}

static void usage_run(FILE *f)
{
    fprintf(f, "usage: corral run -c CONFIG [--input FILE|- ...] [--store DIR] [--workers N]\n"
               "                  [--shards N] [--stats-json] [--quiet]\n"
               "       corral run -c CONFIG [--brokers HOST:PORT] [--group ID] [--topic NAME[:FORMAT]]\n"
               "                  [-X PROPERTY=VALUE ...] [--until-caught-up] [--store DIR] ...\n"
               "\n"
               "With --input, reads each file (- is stdin) to its end, stores the incidents and\n"
               "exits 0. Without it, consumes the config's Kafka topics as a consumer group,\n"
               "checkpointing state and offsets together, until SIGINT/SIGTERM (or, with\n"
               "--until-caught-up, until every partition reached the end it had when assigned).\n"
               "Counters are printed on stderr at the end; --stats-json also prints them as one\n"
               "JSON object on stdout. SIGHUP (or `corral reload`) recompiles the config's rules\n"
               "in the background and swaps them in, keeping the state of unchanged rules.\n"
               "  -c, --config FILE      corral.yaml (see configs/corral.yaml)\n"
               "  -i, --input FILE       a log file, or - for stdin (repeatable)\n"
               "  -s, --store DIR        the store directory (overrides store.path)\n"
               "  -w, --workers N        parse+match threads (overrides engine.workers)\n"
               "  -S, --shards N         correlation threads (overrides engine.shards)\n"
               "  -b, --brokers LIST     Kafka bootstrap servers (overrides kafka.brokers)\n"
               "  -g, --group ID         consumer group (overrides kafka.group)\n"
               "  -t, --topic NAME[:FMT] topic to consume, replacing kafka.topics (repeatable)\n"
               "  -X PROPERTY=VALUE      librdkafka property (repeatable; TLS, SASL, fetch sizes)\n"
               "  -u, --until-caught-up  stop once caught up with what was there at assignment\n"
               "  -o, --output-topic T   also produce incidents to topic T (kafka.output_topic)\n"
               "  -r, --resume           with --input: continue from the store's checkpoint (state\n"
               "                         and position: a named file skips the lines already done,\n"
               "                         stdin continues its numbering); checkpoints every\n"
               "                         input.checkpoint_records records and at the end\n"
               "  -q, --quiet            no counters or progress on stderr\n");
}

static void usage_check(FILE *f)
{
    fprintf(f, "usage: corral check -c CONFIG [--stats-json]\n"
               "\n"
               "Loads the config and every rule file, compiles all rule regexes, and prints\n"
               "each problem as file:line: reason. Exits 0 if all is well, 78 otherwise.\n"
               "Sigma rules corral cannot run are skipped, never an error: each is printed\n"
               "as file:line: skipped: reason, and counted by reason.\n"
               "  --stats-json   also print one JSON object of the counts on stdout\n");
}

static int parse_count(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > 64)
        return -1;
    *out = (int)v;
    return 0;
}

/* Load the config; prints problems and returns CR_EXIT_CONFIG on failure. */
static int load_config(const char *config, struct cr_config *cfg)
{
    static char err[65536];
    err[0] = 0;
    if (cr_config_load(config, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return CR_EXIT_CONFIG;
    }
    return 0;
}

/* Load and compile the rules; prints problems and returns CR_EXIT_CONFIG. */
static int load_rules(const struct cr_config *cfg, struct cr_ruleset **rs)
{
    static char err[65536];
    struct cr_ruleset_opts ro = {.cache_dir = cfg->rule_cache};
    err[0] = 0;
    *rs = cr_ruleset_load((const char *const *)cfg->rule_paths, cfg->nrule_paths, &ro, err,
                          sizeof err);
    if (!*rs) {
        fprintf(stderr, "%s\n", err);
        return CR_EXIT_CONFIG;
    }
    return 0;
}

static void print_stats_text(const struct cr_pipeline_stats *st, uint64_t bytes, int ninputs)
{
    const struct cr_worker_stats *e = &st->events;
    double secs = st->seconds > 0 ? st->seconds : 1e-9;
    fprintf(stderr,
            "corral: read %llu records (%.1f MB) from %d input%s in %.3f s: %.0f records/s, "
            "%.1f MB/s, %d workers, %d shards\n",
            (unsigned long long)e->records, (double)bytes / 1e6, ninputs, ninputs == 1 ? "" : "s",
            st->seconds, (double)e->records / secs, (double)bytes / 1e6 / secs, st->workers,
            st->shards);
    fprintf(stderr,
            "corral: parsed %llu ok, %llu headerless, %llu unparseable, %llu oversized, "
            "%llu invalid UTF-8, %llu with NUL bytes, %llu without a time\n",
            (unsigned long long)e->parsed_ok, (unsigned long long)e->headerless,
            (unsigned long long)e->parse_errors, (unsigned long long)e->truncated,
            (unsigned long long)e->bad_utf8, (unsigned long long)e->nul_bytes,
            (unsigned long long)e->no_time);
    fprintf(stderr, "corral: %llu accepted, %llu rejected", (unsigned long long)e->accepted,
            (unsigned long long)e->rejected);
    const char *sep = " (";
    for (int c = 0; c < CR_REJECT_NCAUSES; c++) {
        if (!e->rejected_by[c])
            continue;
        fprintf(stderr, "%s%llu %s", sep, (unsigned long long)e->rejected_by[c],
                cr_reject_cause_name((enum cr_reject_cause)c));
        sep = ", ";
    }
    fprintf(stderr, "%s\n", *sep == ',' ? ")" : "");
    fprintf(stderr,
            "corral: %llu rule matches, %llu routed to correlation, %llu without their key "
            "fields, %llu match errors\n",
            (unsigned long long)e->rule_matches, (unsigned long long)e->routed,
            (unsigned long long)e->missing_key, (unsigned long long)e->match_errors);
    fprintf(stderr,
            "corral: incidents: %llu opened, %llu updates, %llu versions written in %llu "
            "commits; correlation states: %llu peak, %llu evicted\n",
            (unsigned long long)st->correlate.incidents_opened,
            (unsigned long long)st->correlate.incident_updates,
            (unsigned long long)st->store.incident_versions, (unsigned long long)st->store.commits,
            (unsigned long long)st->correlate.states_peak,
            (unsigned long long)st->correlate.evicted);
    fprintf(stderr,
            "corral: event time: %llu late matches (%llu taken as evidence by an open "
            "incident), %llu applied early at reorder_max_bytes, %llu held at most\n",
            (unsigned long long)st->reorder.late, (unsigned long long)st->late_evidence,
            (unsigned long long)st->reorder.forced, (unsigned long long)st->reorder.held_peak);
    fprintf(stderr, "corral: rejected records kept raw in the store: %llu (%llu over the limit, "
                    "counted only)\n",
            (unsigned long long)st->store.rejects_kept,
            (unsigned long long)st->store.rejects_not_kept);
}

static volatile sig_atomic_t *stop_flag;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (stop_flag)
        *stop_flag = 1;
}

static void print_kafka_text(const struct cr_kafka_stats *k, uint64_t restored)
{
    fprintf(stderr,
            "corral: kafka: %llu records consumed, %llu checkpoints, %llu rebalances, paused "
            "%llu times for %.2f s, %llu consumer errors, %llu invalid CloudEvents envelopes, "
            "%llu correlation states restored\n",
            (unsigned long long)k->records, (unsigned long long)k->checkpoints,
            (unsigned long long)k->rebalances, (unsigned long long)k->pauses, k->paused_seconds,
            (unsigned long long)k->consumer_errors, (unsigned long long)k->bad_envelopes,
            (unsigned long long)restored);
    for (int i = 0; i < k->npartitions; i++) {
        const struct cr_kafka_partition_stats *p = &k->part[i];
        long long lag = p->high >= 0 && p->next >= 0 && p->high > p->next ? p->high - p->next : 0;
        fprintf(stderr, "corral: kafka: %s: %llu records, next offset %lld, lag %lld\n",
                p->input, (unsigned long long)p->records, (long long)p->next, lag);
    }
}

static void print_stats_json(const struct cr_pipeline_stats *st, uint64_t bytes,
                             const struct cr_kafka_stats *k, const struct cr_reload_stats *rl)
{
    const struct cr_worker_stats *e = &st->events;
    printf("{\"records\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"workers\":%d,\"shards\":%d,"
           "\"parsed_ok\":%llu,\"headerless\":%llu,\"parse_errors\":%llu,\"oversized\":%llu,"
           "\"invalid_utf8\":%llu,\"nul_bytes\":%llu,\"no_time\":%llu,\"rule_matches\":%llu,"
           "\"routed\":%llu,\"missing_key\":%llu,\"incidents_opened\":%llu,"
           "\"incident_updates\":%llu,\"incident_versions_written\":%llu,\"commits\":%llu,"
           "\"states_peak\":%llu,\"states_evicted\":%llu,\"states_evicted_by_max_keys\":%llu,"
           "\"states_evicted_by_tenant_budget\":%llu,"
           "\"late_matches\":%llu,\"late_evidence\":%llu,\"reorder_forced\":%llu,"
           "\"reorder_held_peak\":%llu,\"rejects_kept\":%llu,"
           "\"rejects_not_kept\":%llu,\"reloads\":%llu,\"reloads_failed\":%llu,"
           "\"reloads_unchanged\":%llu,\"reload_states_kept\":%llu,"
           "\"reload_states_dropped\":%llu,\"provisional_versions\":%llu,"
           "\"provisional_rolled_back\":%llu,\"idle_releases\":%llu,",
           (unsigned long long)e->records, (unsigned long long)bytes, st->seconds, st->workers,
           st->shards, (unsigned long long)e->parsed_ok, (unsigned long long)e->headerless,
           (unsigned long long)e->parse_errors, (unsigned long long)e->truncated,
           (unsigned long long)e->bad_utf8, (unsigned long long)e->nul_bytes,
           (unsigned long long)e->no_time, (unsigned long long)e->rule_matches,
           (unsigned long long)e->routed, (unsigned long long)e->missing_key,
           (unsigned long long)st->correlate.incidents_opened,
           (unsigned long long)st->correlate.incident_updates,
           (unsigned long long)st->store.incident_versions, (unsigned long long)st->store.commits,
           (unsigned long long)st->correlate.states_peak,
           (unsigned long long)st->correlate.evicted,
           (unsigned long long)st->correlate.budget_evicted,
           (unsigned long long)st->correlate.tenant_evicted,
           (unsigned long long)st->reorder.late, (unsigned long long)st->late_evidence,
           (unsigned long long)st->reorder.forced, (unsigned long long)st->reorder.held_peak,
           (unsigned long long)st->store.rejects_kept,
           (unsigned long long)st->store.rejects_not_kept, (unsigned long long)rl->reloads,
           (unsigned long long)rl->failed, (unsigned long long)rl->unchanged,
           (unsigned long long)rl->states_kept, (unsigned long long)rl->states_dropped,
           (unsigned long long)st->store.provisional_versions,
           (unsigned long long)st->provisional_rolled_back,
           (unsigned long long)st->reorder.quiet_releases);
    printf("\"accepted\":%llu,\"rejected\":%llu,\"rejected_by_cause\":{",
           (unsigned long long)e->accepted, (unsigned long long)e->rejected);
    for (int c = 0; c < CR_REJECT_NCAUSES; c++)
        printf("%s\"%s\":%llu", c ? "," : "", cr_reject_cause_name((enum cr_reject_cause)c),
               (unsigned long long)e->rejected_by[c]);
    printf("}}\n");
    if (!k)
        return;
    /* Kafka runs add one more object on its own line */
    printf("{\"kafka_records\":%llu,\"checkpoints\":%llu,\"durable_checkpoints\":%llu,"
           "\"rebalances\":%llu,\"pauses\":%llu,\"paused_seconds\":%.3f,"
           "\"consumer_errors\":%llu,\"bad_envelopes\":%llu,\"restored_states\":%llu,"
           "\"rebuilt_partitions\":%llu,\"commit_failures\":%llu,\"consume_seconds\":%.6f,"
           "\"partitions\":[",
           (unsigned long long)k->records, (unsigned long long)k->checkpoints,
           (unsigned long long)st->store.epochs, (unsigned long long)k->rebalances,
           (unsigned long long)k->pauses, k->paused_seconds,
           (unsigned long long)k->consumer_errors, (unsigned long long)k->bad_envelopes,
           (unsigned long long)st->restored_states, (unsigned long long)k->rebuilt_partitions,
           (unsigned long long)k->commit_failures, k->consume_seconds);
    for (int i = 0; i < k->npartitions; i++) {
        const struct cr_kafka_partition_stats *p = &k->part[i];
        long long lag = p->high >= 0 && p->next >= 0 && p->high > p->next ? p->high - p->next : 0;
        printf("%s{\"input\":\"%s\",\"records\":%llu,\"next\":%lld,\"lag\":%lld}",
               i ? "," : "", p->input, (unsigned long long)p->records, (long long)p->next, lag);
    }
    printf("]}\n");
}

static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"input", required_argument, 0, 'i'},
        {"store", required_argument, 0, 's'},  {"workers", required_argument, 0, 'w'},
        {"shards", required_argument, 0, 'S'}, {"stats-json", no_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {"brokers", required_argument, 0, 'b'}, {"group", required_argument, 0, 'g'},
        {"topic", required_argument, 0, 't'},  {"until-caught-up", no_argument, 0, 'u'},
        {"output-topic", required_argument, 0, 'o'}, {"resume", no_argument, 0, 'r'},
        {0, 0, 0, 0}};
    const char *config = NULL, *store_dir = NULL, *brokers = NULL, *group = NULL;
    const char *output_topic = NULL;
    const char *inputs[CR_MAX_INPUTS], *topics[CR_MAX_TOPICS], *props[CR_MAX_KAFKA_PROPS];
    int ninputs = 0, workers = 0, shards = 0, stats_json = 0, quiet = 0, c;
    int ntopics = 0, nprops = 0, until_caught_up = 0, resume = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:i:s:w:S:qhb:g:t:X:uo:", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'i':
            if (ninputs == CR_MAX_INPUTS)
                return cr_cli_usage(stderr, "run", "at most %s inputs", "256");
            inputs[ninputs++] = optarg;
            break;
        case 's':
            store_dir = optarg;
            break;
        case 'w':
            if (parse_count(optarg, &workers) != 0)
                return cr_cli_usage(stderr, "run", "--workers: '%s' is not a number from 1 to 64", optarg);
            break;
        case 'S':
            if (parse_count(optarg, &shards) != 0)
                return cr_cli_usage(stderr, "run", "--shards: '%s' is not a number from 1 to 64", optarg);
            break;
        case 'j':
            stats_json = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'b':
            brokers = optarg;
            break;
        case 'g':
            group = optarg;
            break;
        case 't':
            if (ntopics == CR_MAX_TOPICS)
                return cr_cli_usage(stderr, "run", "at most %s topics", "32");
            topics[ntopics++] = optarg;
            break;
        case 'X':
            if (!strchr(optarg, '=') || optarg[0] == '=')
                return cr_cli_usage(stderr, "run", "-X: '%s' is not PROPERTY=VALUE", optarg);
            if (nprops == CR_MAX_KAFKA_PROPS)
                return cr_cli_usage(stderr, "run", "at most %s -X properties", "64");
            props[nprops++] = optarg;
            break;
        case 'u':
            until_caught_up = 1;
            break;
        case 'o':
            output_topic = optarg;
            break;
        case 'r':
            resume = 1;
            break;
        case 'h':
            usage_run(stdout);
            return 0;
        default:
            fprintf(stderr, "Try '%s run --help'.\n", prog);
            return CR_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cr_cli_usage(stderr, "run", "unexpected argument '%s'", argv[optind]);
    if (!config)
        return cr_cli_usage(stderr, "run", "%s", "-c CONFIG is required");
    if (resume && !ninputs)
        return cr_cli_usage(stderr, "run", "%s",
                            "--resume applies to --input (Kafka runs always resume)");
    if (ninputs && (brokers || group || ntopics || nprops || until_caught_up))
        return cr_cli_usage(stderr, "run", "%s", "--input reads files: Kafka options do not apply to it");

    struct cr_config cfg;
    struct cr_ruleset *rs = NULL;
    int rc = load_config(config, &cfg);
    if (rc) {
        cr_config_free(&cfg);
        return rc;
    }
    if (workers)
        cfg.workers = workers;
    if (shards)
        cfg.shards = shards;
    cfg.quiet = quiet;
    if (output_topic) {
        free(cfg.kafka_output_topic);
        cfg.kafka_output_topic = strdup(output_topic);
    }
    if (ninputs == 0) {
        /* Kafka: the command line refines the config's kafka section */
        if (brokers) {
            free(cfg.kafka_brokers);
            cfg.kafka_brokers = strdup(brokers);
        }
        if (group) {
            free(cfg.kafka_group);
            cfg.kafka_group = strdup(group);
        }
        if (ntopics) {
            for (int i = 0; i < cfg.nkafka_topics; i++)
                free(cfg.kafka_topics[i].name);
            cfg.nkafka_topics = 0;
            for (int i = 0; i < ntopics; i++) {
                const char *colon = strrchr(topics[i], ':');
                int fmt = CR_FMT_AUTO;
                if (colon && (fmt = cr_format_from_name(colon + 1)) < 0) {
                    cr_config_free(&cfg);
                    return cr_cli_usage(stderr, "run", "--topic: unknown format in '%s'", topics[i]);
                }
                size_t n = colon ? (size_t)(colon - topics[i]) : strlen(topics[i]);
                cfg.kafka_topics[cfg.nkafka_topics].name = strndup(topics[i], n);
                cfg.kafka_topics[cfg.nkafka_topics].format = (enum cr_format)fmt;
                cfg.nkafka_topics++;
            }
        }
        for (int i = 0; i < nprops; i++) {
            char *kv = strdup(props[i]), *eq = strchr(kv, '=');
            *eq = 0;
            cr_config_set_kafka_prop(&cfg, kv, eq + 1);
            free(kv);
        }
        if (!cfg.kafka_brokers || cfg.nkafka_topics == 0) {
            fprintf(stderr, "%s run: no input: give --input FILE|-, or Kafka brokers and topics "
                            "(kafka.brokers / kafka.topics in %s, or --brokers and --topic)\n",
                    prog, config);
            cr_config_free(&cfg);
            return CR_EXIT_USAGE;
        }
    }
    if (store_dir) {
        free(cfg.store_path);
        cfg.store_path = strdup(store_dir);
    }
    if (!cfg.rule_cache) {
        /* compiled Hyperscan databases live beside the incidents by default */
        if (mkdir(cfg.store_path, 0755) != 0 && errno != EEXIST)
            fprintf(stderr, "%s run: cannot create %s: %s\n", prog, cfg.store_path,
                    strerror(errno));
        size_t n = strlen(cfg.store_path) + sizeof "/hs-cache";
        cfg.rule_cache = malloc(n);
        snprintf(cfg.rule_cache, n, "%s/hs-cache", cfg.store_path);
    }
    if ((rc = load_rules(&cfg, &rs)) != 0) {
        cr_config_free(&cfg);
        return rc;
    }
    /* open every input before starting threads: a missing file is a
     * usage-level problem, reported before any work */
    int fds[CR_MAX_INPUTS];
    for (int i = 0; i < ninputs; i++) {
        if (strcmp(inputs[i], "-") == 0)
            fds[i] = 0;
        else if ((fds[i] = open(inputs[i], O_RDONLY | O_CLOEXEC)) < 0) {
            fprintf(stderr, "%s run: cannot open input %s: %s\n", prog, inputs[i],
                    strerror(errno));
            for (int j = 0; j < i; j++)
                if (fds[j] > 0)
                    close(fds[j]);
            cr_ruleset_free(rs);
            cr_config_free(&cfg);
            return 1;
        }
    }
    char err[1024];
    struct cr_store_opts so = {.map_size = cfg.map_size};
    struct cr_store *store = cr_store_open(cfg.store_path, &so, err, sizeof err);
    if (!store) {
        fprintf(stderr, "%s run: %s\n", prog, err);
        cr_ruleset_free(rs);
        cr_config_free(&cfg);
        return 1;
    }
    /* Kafka runs checkpoint state with offsets and resume from them; file
     * replays start from empty state (a replay must not count twice) */
    struct cr_pipeline_opts po = {.checkpoints = ninputs == 0 || resume,
                                  .restore = ninputs == 0 || resume};
    if (po.restore) {
        char fmt[128];
        if (cr_store_get_meta(store, "state_format", fmt, sizeof fmt) == 0 &&
            strcmp(fmt, cr_correlator_state_format()) != 0) {
            fprintf(stderr, "%s run: the store's correlation state was written by another build "
                            "(%s, this one writes %s): starting with empty state\n",
                    prog, fmt, cr_correlator_state_format());
            po.restore = 0;
        }
    }
    /* Incident versions the previous run stored when its input ended early
     * (store.h, provisional): a run that continues from its checkpoint takes
     * them back and derives them again in order; any other run keeps them. */
    uint64_t provisional = 0;
    {
        int src = cr_store_begin(store);
        if (src == 0)
            src = po.restore ? cr_store_rollback_provisional(store, &provisional)
                             : cr_store_settle_provisional(store, &provisional);
        if (src == 0)
            src = cr_store_commit(store);
        else
            cr_store_abort(store);
        if (src != 0) {
            fprintf(stderr, "%s run: %s: %s\n", prog, cfg.store_path, cr_store_errmsg(store));
            cr_store_close(store);
            cr_ruleset_free(rs);
            cr_config_free(&cfg);
            return 1;
        }
        if (!po.restore)
            provisional = 0;
        else if (provisional && !quiet)
            fprintf(stderr,
                    "%s run: %llu incidents stored early at the previous run's end are "
                    "derived again from the checkpoint\n",
                    prog, (unsigned long long)provisional);
    }
    /* before any thread exists: SIGHUP goes to the reload thread only */
    cr_reload_block_signal();
    struct cr_pipeline *pl = cr_pipeline_start(&cfg, rs, store, &po, err, sizeof err);
    if (!pl) {
        fprintf(stderr, "%s run: %s\n", prog, err);
        return 1;
    }
    struct cr_output_kafka *out = NULL;
    if (cfg.kafka_output_topic) {
        const char *brk = brokers ? brokers : cfg.kafka_brokers;
        const char *oprops[CR_MAX_KAFKA_PROPS + 1];
        char kvs[CR_MAX_KAFKA_PROPS][512];
        int no = 0;
        for (int i = 0; i < cfg.nkafka_props; i++) {
            /* the consumer's security settings apply to the producer too;
             * consumer-only properties would be rejected */
            const char *k = cfg.kafka_props[i][0];
            if (strncmp(k, "security.", 9) && strncmp(k, "ssl.", 4) && strncmp(k, "sasl.", 5))
                continue;
            snprintf(kvs[no], sizeof kvs[no], "%s=%s", k, cfg.kafka_props[i][1]);
            oprops[no] = kvs[no];
            no++;
        }
        oprops[no] = NULL;
        if (!brk || !(out = cr_output_kafka_new(brk, cfg.kafka_output_topic, oprops, err,
                                                sizeof err))) {
            fprintf(stderr, "%s run: kafka.output_topic: %s\n", prog,
                    brk ? err : "needs kafka.brokers or --brokers");
            return 1;
        }
        cr_pipeline_set_output(pl, out);
    }
    char pid_path[4200];
    if (cfg.pid_file)
        snprintf(pid_path, sizeof pid_path, "%s", cfg.pid_file);
    else
        snprintf(pid_path, sizeof pid_path, "%s/corral.pid", cfg.store_path);
    struct cr_reload_opts rlo = {.config_path = config, .rule_cache = cfg.rule_cache,
                                 .pid_path = pid_path, .quiet = quiet};
    err[0] = 0;
    struct cr_reload *rl = cr_reload_start(pl, rs, &rlo, err, sizeof err);
    if (err[0]) /* a missing pid file only disables `corral reload`, not SIGHUP */
        fprintf(stderr, "%s run: hot reload: %s\n", prog, err);
    uint64_t bytes = 0;
    struct cr_kafka_stats kst;
    int kafka = ninputs == 0;
    if (kafka) {
        static volatile sig_atomic_t stop;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal;
        stop_flag = &stop;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        struct cr_kafka_ingest_opts ko = {.until_caught_up = until_caught_up, .stop = &stop,
                                          .quiet = quiet};
        if (cr_ingest_kafka(pl, &cfg, store, &ko, &kst, err, sizeof err) != 0) {
            fprintf(stderr, "%s run: %s\n", prog, err);
            rc = 1;
        }
        bytes = kst.bytes;
    }
    /* every input is a source of event time from the start: matches wait
     * until each has shown how far it is (reorder.h) */
    int idxs[CR_MAX_INPUTS];
    for (int i = 0; i < ninputs && i < CR_MAX_INPUTS; i++) {
        idxs[i] = cr_pipeline_add_input(pl, strcmp(inputs[i], "-") == 0 ? "stdin" : inputs[i]);
        cr_pipeline_input_state(pl, idxs[i], CR_SOURCE_PENDING);
    }
    for (int i = 0; i < ninputs && rc == 0; i++) {
        const char *name = strcmp(inputs[i], "-") == 0 ? "stdin" : inputs[i];
        int idx = idxs[i];
        struct cr_ingest_stats ist;
        struct cr_ingest_resume res = {.name = name, .first_line = 1,
                                       .checkpoint_every = cfg.checkpoint_records,
                                       .year_state = -1};
        int64_t stored;
        char ykey[160];
        cr_ingest_year_key(ykey, sizeof ykey, name);
        if (resume && fds[i] == 0 && cr_store_get_offset(store, ykey, &stored) == 0)
            res.year_state = stored;
        if (resume && cr_store_get_offset(store, name, &stored) == 0 && stored > 1) {
            /* a named file is read again from its start and skips what was
             * done; stdin is the rest of a stream: its numbering continues */
            if (fds[i] == 0)
                res.first_line = (uint64_t)stored;
            else
                res.skip_before = (uint64_t)stored;
            if (!quiet)
                fprintf(stderr, "corral: %s: resuming at line %lld\n", name, (long long)stored);
        }
        if (cr_ingest_fd(pl, fds[i], idx, resume ? &res : NULL, &ist, err, sizeof err) != 0) {
            fprintf(stderr, "%s run: %s: %s\n", prog, inputs[i], err);
            rc = 1;
        }
        cr_pipeline_input_state(pl, idx, CR_SOURCE_IDLE); /* its end: nothing more to wait for */
        bytes += ist.bytes;
        if (fds[i] > 0)
            close(fds[i]);
    }
    /* the input ended: a reload still compiling finishes (or is refused)
     * before the pipeline drains */
    cr_reload_stop(rl);
    struct cr_reload_stats rls;
    cr_reload_get_stats(rl, &rls);
    struct cr_pipeline_stats st;
    if (cr_pipeline_finish(pl, &st, err, sizeof err) != 0) {
        fprintf(stderr, "%s run: %s\n", prog, err);
        rc = 1;
    }
    st.provisional_rolled_back = provisional;
    /* the counters below are per rule of the rules in use at the end */
    const struct cr_ruleset *initial_rs = rs;
    if (cr_reload_rules(rl))
        rs = (struct cr_ruleset *)cr_reload_rules(rl);
    for (int o = 0; st.budget_evicted && o < rs->nrules + rs->ncorrs; o++) {
        if (!st.budget_evicted[o])
            continue;
        /* never a silent loss of windows: always said, even with --quiet */
        int is_rule = o < rs->nrules;
        fprintf(stderr, "corral: %s '%s': %llu correlation states evicted at max_keys %llu\n",
                is_rule ? "rule" : "correlation",
                is_rule ? rs->rules[o].id : rs->corrs[o - rs->nrules].id,
                (unsigned long long)st.budget_evicted[o],
                (unsigned long long)(is_rule ? rs->rules[o].incident->max_keys
                                             : rs->corrs[o - rs->nrules].incident.max_keys));
    }
    for (size_t i = 0; i < st.ntenant_evicted && i < 10; i++) /* said even with --quiet */
        fprintf(stderr, "corral: tenant %08x: %llu correlation states evicted at "
                "max_keys_per_tenant %llu%s\n", st.tenant_evicted[i].tenant,
                (unsigned long long)st.tenant_evicted[i].evicted,
                (unsigned long long)cfg.max_keys_per_tenant,
                i == 9 && st.ntenant_evicted > 10 ? " (and more tenants)" : "");
    free(st.tenant_evicted);
    if (!quiet) {
        print_stats_text(&st, bytes, kafka ? kst.npartitions : ninputs);
        if (kafka)
            print_kafka_text(&kst, st.restored_states);
        if (rls.reloads || rls.failed || rls.unchanged)
            fprintf(stderr,
                    "corral: reloads: %llu applied, %llu refused, %llu unchanged; correlation "
                    "states at reloads: %llu kept, %llu dropped\n",
                    (unsigned long long)rls.reloads, (unsigned long long)rls.failed,
                    (unsigned long long)rls.unchanged, (unsigned long long)rls.states_kept,
                    (unsigned long long)rls.states_dropped);
    }
    if (stats_json)
        print_stats_json(&st, bytes, kafka ? &kst : NULL, &rls);
    free(st.budget_evicted);
    if (out) {
        if (!quiet)
            fprintf(stderr, "corral: output topic %s: %llu incident versions delivered, %llu "
                            "failed\n",
                    cfg.kafka_output_topic, (unsigned long long)st.store.output_sent,
                    (unsigned long long)st.store.output_failed);
        if (st.store.output_failed)
            rc = 1;
        cr_output_kafka_free(out);
    }
    cr_store_close(store);
    cr_reload_free(rl); /* the rules it compiled, after every thread that used them */
    cr_ruleset_free((struct cr_ruleset *)initial_rs);
    cr_config_free(&cfg);
    return rc;
}

static int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"stats-json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *config = NULL;
    int c, json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage_check(stdout);
            return 0;
        default:
            fprintf(stderr, "Try '%s check --help'.\n", prog);
            return CR_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cr_cli_usage(stderr, "check", "unexpected argument '%s'", argv[optind]);
    if (!config)
        return cr_cli_usage(stderr, "check", "%s", "-c CONFIG is required");
    struct cr_config cfg;
    struct cr_ruleset *rs = NULL;
    int rc = load_config(config, &cfg);
    if (rc == 0)
        rc = load_rules(&cfg, &rs);
    if (rc == 0) {
        int prefiltered = 0, cached = 0;
        for (int i = 0; i < rs->npatterns; i++)
            prefiltered += rs->patterns[i].kind == CR_PAT_PREFILTER;
        for (int i = 0; i < rs->nhs; i++)
            cached += rs->hs[i].from_cache;
        const struct cr_sigma_stats *sg = &rs->sigma;
        if (sg->skips)
            fputs(sg->skips, stderr);
        FILE *out = json ? stderr : stdout;
        fprintf(out,
                "%s: ok: %d match rules and %d correlations (%d of them Sigma rules, %d Sigma "
                "rules skipped), %d patterns (%d prefiltered for PCRE2 confirmation) in %d "
                "Hyperscan database%s (%d from cache)\n",
                config, rs->nrules, rs->ncorrs, sg->loaded, sg->skipped, rs->npatterns,
                prefiltered, rs->nhs, rs->nhs == 1 ? "" : "s", cached);
        if (json) {
            printf("{\"match_rules\":%d,\"correlations\":%d,\"patterns\":%d,"
                   "\"prefiltered\":%d,\"hs_databases\":%d,\"hs_from_cache\":%d,"
                   "\"sigma_loaded\":%d,\"sigma_silent\":%d,\"sigma_skipped\":%d,"
                   "\"sigma_skipped_by_reason\":{",
                   rs->nrules, rs->ncorrs, rs->npatterns, prefiltered, rs->nhs, cached,
                   sg->loaded, sg->silent, sg->skipped);
            for (int i = 0; i < CR_SIGMA_SKIP__COUNT; i++)
                printf("%s\"%s\":%d", i ? "," : "", cr_sigma_skip_name((enum cr_sigma_skip)i),
                       sg->by_reason[i]);
            printf("}}\n");
        }
        cr_ruleset_free(rs);
    }
    cr_config_free(&cfg);
    return rc;
}

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

static int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sample", required_argument, 0, 'f'},  {"config", required_argument, 0, 'c'},
        {"store", required_argument, 0, 's'},   {"brokers", required_argument, 0, 'b'},
        {"partitions", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'},
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
            if (parse_count(optarg, &partitions) != 0)
                return cr_cli_usage(stderr, "demo", "--partitions: '%s' is not a number from 1 to 64",
                                 optarg);
            break;
        case 'h':
            usage_demo(stdout);
            return 0;
        default:
            fprintf(stderr, "Try '%s demo --help'.\n", prog);
            return CR_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cr_cli_usage(stderr, "demo", "unexpected argument '%s'", argv[optind]);
    if (!sample)
        return cr_cli_usage(stderr, "demo", "%s", "--sample FILE is required (bench/demo.sh makes one)");
    static const char *const topics[] = {"corral.demo.logs", "corral.demo.incidents"};
    char err[1024];
    struct cr_kafka_dev *dev = NULL;
    if (!brokers) {
        dev = cr_kafka_dev_start(partitions, NULL, topics, 2, err, sizeof err);
        if (!dev) {
            fprintf(stderr, "%s demo: %s\n", prog, err);
            return 1;
        }
        brokers = cr_kafka_dev_bootstrap(dev);
        fprintf(stderr, "corral demo: embedded Kafka broker on %s\n", brokers);
    }
    uint64_t produced = 0;
    if (cr_kafka_produce_file(brokers, topics[0], sample, CR_KEY_HOST, NULL, &produced, err,
                              sizeof err) != 0) {
        fprintf(stderr, "%s demo: producing %s: %s\n", prog, sample, err);
        cr_kafka_dev_stop(dev);
        return 1;
    }
    fprintf(stderr, "corral demo: produced %llu records of %s to %s (keyed by host)\n",
            (unsigned long long)produced, sample, topics[0]);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", store);
    if (strchr(store, '\'') == NULL && system(cmd) != 0)
        fprintf(stderr, "%s demo: could not empty %s\n", prog, store);
    char *run_argv[] = {"run", "-c", (char *)config, "--brokers", (char *)brokers,
                        "--topic", (char *)topics[0], "--group", "corral-demo",
                        "--store", (char *)store, "--until-caught-up",
                        "--output-topic", (char *)topics[1],
                        "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500",
                        NULL};
    int rc = cmd_run((int)(sizeof run_argv / sizeof run_argv[0]) - 1, run_argv);
    if (rc == 0) {
        printf("\n== incidents (corral query --store %s --format table)\n", store);
        fflush(stdout);
        char *q_argv[] = {"query", "--store", (char *)store, "--format", "table", NULL};
        rc = cr_cmd_query(5, q_argv);
    }
    cr_kafka_dev_stop(dev);
    return rc;
}

static int cmd_version(void)
{
    printf("corral %s\n", CORRAL_VERSION);
    printf("hyperscan %s\n", hs_version());
    char pcre[64];
    pcre2_config(PCRE2_CONFIG_VERSION, pcre);
    printf("pcre2 %s\n", pcre);
    printf("librdkafka %s\n", rd_kafka_version_str());
    printf("libyaml %s\n", yaml_get_version_string());
    printf("lmdb %s\n", cr_store_lib_version());
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return CR_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (cr_crash_init() != 0)
        return CR_EXIT_USAGE;
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, "reload"))
        return cr_cmd_reload(argc - 1, argv + 1);
    if (!strcmp(cmd, "query"))
        return cr_cmd_query(argc - 1, argv + 1);
    if (!strcmp(cmd, "rejects"))
        return cr_cmd_rejects(argc - 1, argv + 1);
    if (!strcmp(cmd, "test-rules"))
        return cr_cmd_test_rules(argc - 1, argv + 1);
    if (!strcmp(cmd, "explain"))
        return cr_cmd_explain(argc - 1, argv + 1);
    if (!strcmp(cmd, "demo"))
        return cmd_demo(argc - 1, argv + 1);
    if (!strcmp(cmd, "kafka-dev"))
        return cr_cmd_kafka_dev(argc - 1, argv + 1);
    if (!strcmp(cmd, "produce"))
        return cr_cmd_produce(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version"))
        return cmd_version();
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage_main(stdout);
        return 0;
    }
    fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
    usage_main(stderr);
    return CR_EXIT_USAGE;
}
