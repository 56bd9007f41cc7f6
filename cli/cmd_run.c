/*
 * cmd_run.c - `corral run`: the engine's main job, from the command line to
 * the counters at the end.
 *
 * The run is a sequence of stages over one struct run, each of which either
 * succeeds or says why on stderr and returns an exit status:
 *
 *   parse_args -> configure -> open_inputs -> open_store -> start -> ingest
 *   -> finish -> report
 *
 * and one teardown releases whatever the stages got to, in reverse, on
 * every path: a stage that fails after the pipeline started still drains
 * and joins its threads (the records already accepted reach the store).
 * Policy lives below the command line: the Kafka output's properties in
 * output_kafka.c, the store's preparation in pipeline.c, the file resume
 * point in ingest_file.c, the default rule cache in config.c.
 *
 * Threading: main thread; the stages start and join every other thread.
 */
#include "cli/cli.h"
#include "base/log.h"
#include "cli/commands.h"
#include "cli/serving.h"

#include "base/notify.h"
#include "engine/assets/inventory.h"
#include "engine/grade/policy.h"
#include "engine/config/config.h"
#include "engine/grade/action.h"
#include "engine/kafka/ingest_kafka.h"
#include "engine/kafka/output_kafka.h"
#include "engine/pipeline/ingest_file.h"
#include "engine/pipeline/pipeline.h"
#include "engine/pipeline/reload.h"
#include "engine/store/store.h"
#include "rules/ruleset.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The command line, as given. */
struct run_args {
    const char *config, *store_dir, *brokers, *group, *output_topic;
    const char *inputs[CR_MAX_INPUTS], *topics[CR_MAX_TOPICS], *props[CR_MAX_KAFKA_PROPS];
    int ninputs, ntopics, nprops;
    int workers, shards, stats_json, quiet, until_caught_up, resume;
};

/* Everything one run holds; teardown() releases it. */
struct run {
    struct run_args a;
    struct cr_config cfg;
    struct cr_ruleset *rs;    /* the rules loaded at the start */
    struct cr_inventory *inv; /* the asset inventory, if the config names one */
    struct cr_grade_policy grading;
    int fds[CR_MAX_INPUTS];
    int nfds; /* fds[0..nfds) are open (0 is stdin, never closed) */
    struct cr_store *store;
    struct cr_pipeline_opts po;
    uint64_t provisional; /* versions of the previous run rolled back */
    struct cr_pipeline *pl;
    struct cr_output_kafka *out;
    struct cr_reload *rl;
    int finished; /* cr_pipeline_finish ran */
    struct cr_pipeline_stats st;
    struct cr_reload_stats rls;
    struct cr_kafka_stats kst;
    uint64_t bytes;
    char err[1024];
    pthread_t watchdog; /* WATCHDOG=1 to systemd while the writer is healthy */
    int watching;
    _Atomic int watch_stop;
    struct cr_serving sv; /* the HTTP API, when serve.listen is set */
    int serving;
    char writer_desc[64];
};

static void usage_run(FILE *f)
{
    fprintf(
        f,
        "usage: corral run -c CONFIG [--input FILE|- ...] [--store DIR] [--workers N]\n"
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

static void print_stats_text(const struct cr_pipeline_stats *st, uint64_t bytes, int ninputs)
{
    const struct cr_worker_stats *e = &st->events;
    double secs = st->seconds > 0 ? st->seconds : 1e-9;
    cr_log_line(CR_LV_INFO,
                "corral: read %llu records (%.1f MB) from %d input%s in %.3f s: %.0f records/s, "
                "%.1f MB/s, %d workers, %d shards\n",
                (unsigned long long)e->records, (double)bytes / 1e6, ninputs,
                ninputs == 1 ? "" : "s", st->seconds, (double)e->records / secs,
                (double)bytes / 1e6 / secs, st->workers, st->shards);
    cr_log_line(CR_LV_INFO,
                "corral: parsed %llu ok, %llu headerless, %llu unparseable, %llu oversized, "
                "%llu invalid UTF-8, %llu with NUL bytes, %llu without a time\n",
                (unsigned long long)e->parsed_ok, (unsigned long long)e->headerless,
                (unsigned long long)e->parse_errors, (unsigned long long)e->truncated,
                (unsigned long long)e->bad_utf8, (unsigned long long)e->nul_bytes,
                (unsigned long long)e->no_time);
    char why[512] = "";
    size_t o = 0;
    const char *sep = " (";
    for (int c = 0; c < CR_REJECT_NCAUSES && o < sizeof why; c++) {
        if (!e->rejected_by[c])
            continue;
        o += (size_t)snprintf(why + o, sizeof why - o, "%s%llu %s", sep,
                              (unsigned long long)e->rejected_by[c],
                              cr_reject_cause_name((enum cr_reject_cause)c));
        sep = ", ";
    }
    cr_log_line(CR_LV_INFO, "corral: %llu accepted, %llu rejected%s%s",
                (unsigned long long)e->accepted, (unsigned long long)e->rejected, why,
                *sep == ',' ? ")" : "");
    cr_log_line(CR_LV_INFO,
                "corral: %llu rule matches, %llu routed to correlation, %llu without their key "
                "fields, %llu match errors\n",
                (unsigned long long)e->rule_matches, (unsigned long long)e->routed,
                (unsigned long long)e->missing_key, (unsigned long long)e->match_errors);
    cr_log_line(
        CR_LV_INFO,
        "corral: incidents: %llu opened, %llu updates, %llu versions written in %llu "
        "commits; correlation states: %llu peak, %llu evicted\n",
        (unsigned long long)st->correlate.incidents_opened,
        (unsigned long long)st->correlate.incident_updates,
        (unsigned long long)st->store.incident_versions, (unsigned long long)st->store.commits,
        (unsigned long long)st->correlate.states_peak, (unsigned long long)st->correlate.evicted);
    if (st->correlate.values_evicted) /* a forgotten value looks new if it comes back */
        cr_log_line(CR_LV_WARN, "corral: new_value: %llu known values dropped at max_values\n",
                    (unsigned long long)st->correlate.values_evicted);
    if (st->correlate.values_not_numeric) /* garbage is never summed: say how much was left out */
        cr_log_line(CR_LV_WARN,
                    "corral: value_sum / value_avg: %llu matches skipped, their field held no "
                    "number\n",
                    (unsigned long long)st->correlate.values_not_numeric);
    cr_log_line(CR_LV_INFO,
                "corral: event time: %llu late matches (%llu taken as evidence by an open "
                "incident), %llu applied early at reorder_max_bytes, %llu held at most\n",
                (unsigned long long)st->reorder.late, (unsigned long long)st->late_evidence,
                (unsigned long long)st->reorder.forced, (unsigned long long)st->reorder.held_peak);
    cr_log_line(CR_LV_INFO,
                "corral: rejected records kept raw in the store: %llu (%llu over the limit, "
                "counted only)\n",
                (unsigned long long)st->store.rejects_kept,
                (unsigned long long)st->store.rejects_not_kept);
}

static void print_kafka_text(const struct cr_kafka_stats *k, uint64_t restored)
{
    cr_log_line(CR_LV_INFO,
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
        cr_log_line(CR_LV_INFO, "corral: kafka: %s: %llu records, next offset %lld, lag %lld\n",
                    p->input, (unsigned long long)p->records, (long long)p->next, lag);
    }
}

static void print_stats_json(const struct cr_pipeline_stats *st, uint64_t bytes,
                             const struct cr_kafka_stats *k, const struct cr_reload_stats *rl)
{
    printf("{\"bytes\":%llu,\"seconds\":%.6f,\"workers\":%d,\"shards\":%d",
           (unsigned long long)bytes, st->seconds, st->workers, st->shards);
    cr_pipeline_stats_json(stdout, st);
    CR_COUNTERS_JSON(CR_RELOAD_COUNTERS, stdout, rl);
    printf("}\n");
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
           (unsigned long long)k->pauses, k->paused_seconds, (unsigned long long)k->consumer_errors,
           (unsigned long long)k->bad_envelopes, (unsigned long long)st->restored_states,
           (unsigned long long)k->rebuilt_partitions, (unsigned long long)k->commit_failures,
           k->consume_seconds);
    for (int i = 0; i < k->npartitions; i++) {
        const struct cr_kafka_partition_stats *p = &k->part[i];
        long long lag = p->high >= 0 && p->next >= 0 && p->high > p->next ? p->high - p->next : 0;
        printf("%s{\"input\":\"%s\",\"records\":%llu,\"next\":%lld,\"lag\":%lld}", i ? "," : "",
               p->input, (unsigned long long)p->records, (long long)p->next, lag);
    }
    printf("]}\n");
}

static int parse_args(struct run_args *a, int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"input", required_argument, 0, 'i'},
                                         {"store", required_argument, 0, 's'},
                                         {"workers", required_argument, 0, 'w'},
                                         {"shards", required_argument, 0, 'S'},
                                         {"stats-json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {"brokers", required_argument, 0, 'b'},
                                         {"group", required_argument, 0, 'g'},
                                         {"topic", required_argument, 0, 't'},
                                         {"until-caught-up", no_argument, 0, 'u'},
                                         {"output-topic", required_argument, 0, 'o'},
                                         {"resume", no_argument, 0, 'r'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:i:s:w:S:qhb:g:t:X:uo:r", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case 'i':
            if (a->ninputs == CR_MAX_INPUTS)
                return cr_cli_usage(stderr, "run", "at most %d inputs", CR_MAX_INPUTS);
            a->inputs[a->ninputs++] = optarg;
            break;
        case 's':
            a->store_dir = optarg;
            break;
        case 'w':
            if (cr_cli_parse_count(optarg, &a->workers) != 0)
                return cr_cli_usage(stderr, "run", "--workers: '%s' is not a number from 1 to 64",
                                    optarg);
            break;
        case 'S':
            if (cr_cli_parse_count(optarg, &a->shards) != 0)
                return cr_cli_usage(stderr, "run", "--shards: '%s' is not a number from 1 to 64",
                                    optarg);
            break;
        case 'j':
            a->stats_json = 1;
            break;
        case 'q':
            a->quiet = 1;
            break;
        case 'b':
            a->brokers = optarg;
            break;
        case 'g':
            a->group = optarg;
            break;
        case 't':
            if (a->ntopics == CR_MAX_TOPICS)
                return cr_cli_usage(stderr, "run", "at most %d topics", CR_MAX_TOPICS);
            a->topics[a->ntopics++] = optarg;
            break;
        case 'X':
            if (!strchr(optarg, '=') || optarg[0] == '=')
                return cr_cli_usage(stderr, "run", "-X: '%s' is not PROPERTY=VALUE", optarg);
            if (a->nprops == CR_MAX_KAFKA_PROPS)
                return cr_cli_usage(stderr, "run", "at most %d -X properties", CR_MAX_KAFKA_PROPS);
            a->props[a->nprops++] = optarg;
            break;
        case 'u':
            a->until_caught_up = 1;
            break;
        case 'o':
            a->output_topic = optarg;
            break;
        case 'r':
            a->resume = 1;
            break;
        case 'h':
            usage_run(stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'corral run --help'.\n");
            return CR_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cr_cli_usage(stderr, "run", "unexpected argument '%s'", argv[optind]);
    if (!a->config)
        a->config = cr_cli_default_config();
    if (!a->config)
        return cr_cli_usage(stderr, "run", "-c CONFIG is required (there is no %s)",
                            CORRAL_DEFAULT_CONFIG);
    if (a->resume && !a->ninputs)
        return cr_cli_usage(stderr, "run", "%s",
                            "--resume applies to --input (Kafka runs always resume)");
    if (a->ninputs && (a->brokers || a->group || a->ntopics || a->nprops || a->until_caught_up))
        return cr_cli_usage(stderr, "run", "%s",
                            "--input reads files: Kafka options do not apply to it");
    return -1; /* go on */
}

static void replace(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
    if (!*field)
        abort();
}

/* The config, refined by the command line; then the rules. */
static int configure(struct run *r)
{
    const struct run_args *a = &r->a;
    struct cr_config *cfg = &r->cfg;
    int rc = cr_cli_load_config(a->config, cfg);
    if (rc == 0)
        cr_log_set_json(cfg->log_json);
    if (rc)
        return rc;
    if (a->workers)
        cfg->workers = a->workers;
    if (a->shards)
        cfg->shards = a->shards;
    cfg->quiet = a->quiet;
    if (a->output_topic)
        replace(&cfg->kafka_output_topic, a->output_topic);
    if (a->ninputs == 0) {
        /* Kafka: the command line refines the config's kafka section */
        if (a->brokers)
            replace(&cfg->kafka_brokers, a->brokers);
        if (a->group)
            replace(&cfg->kafka_group, a->group);
        if (a->ntopics) {
            for (int i = 0; i < cfg->nkafka_topics; i++)
                free(cfg->kafka_topics[i].name);
            cfg->nkafka_topics = 0;
            for (int i = 0; i < a->ntopics; i++) {
                const char *t = a->topics[i], *colon = strrchr(t, ':');
                int fmt = CR_FMT_AUTO;
                if (colon && (fmt = cr_format_from_name(colon + 1)) < 0)
                    return cr_cli_usage(stderr, "run", "--topic: unknown format in '%s'", t);
                size_t n = colon ? (size_t)(colon - t) : strlen(t);
                cfg->kafka_topics[cfg->nkafka_topics].name = strndup(t, n);
                cfg->kafka_topics[cfg->nkafka_topics].format = (enum cr_format)fmt;
                cfg->nkafka_topics++;
            }
        }
        for (int i = 0; i < a->nprops; i++) {
            char *kv = strdup(a->props[i]), *eq = strchr(kv, '=');
            *eq = 0;
            cr_config_set_kafka_prop(cfg, kv, eq + 1);
            free(kv);
        }
        if (!cfg->kafka_brokers || cfg->nkafka_topics == 0) {
            cr_log_line(CR_LV_ERROR,
                        "corral run: no input: give --input FILE|-, or Kafka brokers and "
                        "topics (kafka.brokers / kafka.topics in %s, or --brokers and "
                        "--topic)\n",
                        a->config);
            return CR_EXIT_USAGE;
        }
    }
    if (a->store_dir)
        replace(&cfg->store_path, a->store_dir);
    if (cr_config_default_rule_cache(cfg, r->err, sizeof r->err) != 0)
        cr_log_line(CR_LV_ERROR, "corral run: %s\n", r->err);
    if ((rc = cr_cli_compile_rules(cfg, 1, &r->rs)) != 0)
        return rc;
    if ((rc = cr_cli_load_grading(cfg, &r->grading)) != 0)
        return rc;
    return cr_cli_load_assets(cfg, &r->grading, &r->inv);
}

/* Every input opens before any thread starts: a missing file is reported
 * before any work. */
static int open_inputs(struct run *r)
{
    for (int i = 0; i < r->a.ninputs; i++) {
        const char *in = r->a.inputs[i];
        int fd = strcmp(in, "-") == 0 ? 0 : open(in, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            cr_log_line(CR_LV_ERROR, "corral run: cannot open input %s: %s\n", in, strerror(errno));
            return CR_EXIT_RUNTIME;
        }
        r->fds[r->nfds++] = fd;
    }
    return 0;
}

static int open_store(struct run *r)
{
    struct cr_store_opts so = {.map_size = r->cfg.map_size};
    r->store = cr_store_open(r->cfg.store_path, &so, r->err, sizeof r->err);
    if (!r->store) {
        cr_log_line(CR_LV_ERROR, "corral run: %s\n", r->err);
        return CR_EXIT_RUNTIME;
    }
    /* Kafka runs checkpoint state with offsets and resume from them; file
     * replays start from empty state (a replay must not count twice) */
    int kafka = r->a.ninputs == 0;
    r->po.checkpoints = r->po.restore = kafka || r->a.resume;
    char note[512];
    if (cr_pipeline_prepare_store(r->store, &r->po, &r->provisional, note, sizeof note, r->err,
                                  sizeof r->err) != 0) {
        cr_log_line(CR_LV_ERROR, "corral run: %s: %s\n", r->cfg.store_path, r->err);
        return CR_EXIT_RUNTIME;
    }
    if (note[0])
        cr_log_line(CR_LV_INFO, "corral run: %s\n", note);
    if (r->provisional && !r->a.quiet)
        cr_log_line(CR_LV_INFO,
                    "corral run: %llu incidents stored early at the previous run's end are "
                    "derived again from the checkpoint\n",
                    (unsigned long long)r->provisional);
    return 0;
}

/* The pipeline's threads, the output topic, the reload thread. */
/* The HTTP API while the run writes (serve.listen): moves go to the
 * writer thread (cr_pipeline_act), /metrics adds the writer's counters. */
static int run_act(void *arg, const struct cr_action *a, char **json, char *err, size_t errlen)
{
    struct run *r = arg;
    return cr_pipeline_act(r->pl, a, json, err, errlen);
}

static void run_metrics(void *arg, FILE *out)
{
    struct run *r = arg;
    struct cr_writer_stats st;
    int64_t last_epoch;
    cr_pipeline_writer_published(r->pl, &st, &last_epoch);
#define CR_WRITER_PROM(field, name, merge)                                                         \
    fprintf(out, "# TYPE corral_%s_total counter\ncorral_%s_total %llu\n", name, name,             \
            (unsigned long long)st.field);
    CR_WRITER_COUNTERS(CR_WRITER_PROM)
#undef CR_WRITER_PROM
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    fprintf(out,
            "# HELP corral_checkpoint_age_seconds Since the last durable checkpoint (-1: none "
            "yet).\n# TYPE corral_checkpoint_age_seconds gauge\ncorral_checkpoint_age_seconds "
            "%.3f\n",
            last_epoch ? (double)(now - last_epoch) / 1000.0 : -1.0);
    fprintf(out, "# HELP corral_running 1 while corral run ingests.\n# TYPE corral_running "
                 "gauge\ncorral_running 1\n");
}

/* systemd's watchdog (WatchdogSec=): a ping every half interval while the
 * store writer has not failed. A run whose writer failed stops pinging and
 * systemd restarts it; a run that hangs elsewhere still pings, so the
 * watchdog covers the writer, not every thread. */
static void *watchdog_main(void *arg)
{
    struct run *r = arg;
    uint64_t usec = cr_notify_watchdog_usec() / 2;
    pthread_setname_np(pthread_self(), "cr-watchdog");
    while (!atomic_load(&r->watch_stop)) {
        if (!cr_pipeline_failed(r->pl))
            cr_notify("WATCHDOG=1");
        for (uint64_t slept = 0; slept < usec && !atomic_load(&r->watch_stop); slept += 50000) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static void notify_started(struct run *r)
{
    char st[256];
    snprintf(st, sizeof st, "READY=1\nSTATUS=%s%s%s",
             r->a.ninputs ? "reading files" : "consuming Kafka", r->serving ? ", serving " : "",
             r->serving ? cr_server_url(r->sv.srv) : "");
    cr_notify(st);
    if (cr_notify_watchdog_usec() && pthread_create(&r->watchdog, NULL, watchdog_main, r) == 0)
        r->watching = 1;
}

static void notify_stopping(struct run *r)
{
    cr_notify("STOPPING=1");
    if (r->watching) {
        atomic_store(&r->watch_stop, 1);
        pthread_join(r->watchdog, NULL);
        r->watching = 0;
    }
}

static int serve(struct run *r)
{
    if (!r->cfg.serve_listen)
        return 0;
    snprintf(r->writer_desc, sizeof r->writer_desc, "this process (corral run, pid %ld)",
             (long)getpid());
    struct cr_serve_backend b = {.store = r->store,
                                 .act = run_act,
                                 .metrics = run_metrics,
                                 .arg = r,
                                 .writer = r->writer_desc,
                                 .policy = &r->grading};
    int rc = cr_serving_start(&r->sv, &r->cfg, NULL, r->cfg.store_path, &b, "run");
    r->serving = rc == 0;
    return rc;
}

static int start(struct run *r)
{
    /* before any thread exists: SIGHUP goes to the reload thread only */
    cr_reload_block_signal();
    r->po.inventory = r->inv;
    r->po.grading = &r->grading;
    r->pl = cr_pipeline_start(&r->cfg, r->rs, r->store, &r->po, r->err, sizeof r->err);
    if (!r->pl) {
        cr_log_line(CR_LV_ERROR, "corral run: %s\n", r->err);
        return CR_EXIT_RUNTIME;
    }
    if (cr_output_kafka_for_config(&r->cfg, &r->out, r->err, sizeof r->err) != 0) {
        cr_log_line(CR_LV_ERROR, "corral run: %s\n", r->err);
        return CR_EXIT_RUNTIME;
    }
    if (r->out) {
        struct cr_output sink = cr_output_kafka_sink(r->out);
        cr_pipeline_set_output(r->pl, &sink);
    }
    char pid_path[4200];
    if (r->cfg.pid_file)
        snprintf(pid_path, sizeof pid_path, "%s", r->cfg.pid_file);
    else
        snprintf(pid_path, sizeof pid_path, "%s/corral.pid", r->cfg.store_path);
    struct cr_reload_opts rlo = {.inventory = r->inv,
                                 .grading = &r->grading,
                                 .config_path = r->a.config,
                                 .rule_cache = r->cfg.rule_cache,
                                 .pid_path = pid_path,
                                 .quiet = r->a.quiet};
    r->err[0] = 0;
    r->rl = cr_reload_start(r->pl, r->rs, &rlo, r->err, sizeof r->err);
    if (r->err[0]) /* a missing pid file only disables `corral reload`, not SIGHUP */
        cr_log_line(CR_LV_ERROR, "corral run: hot reload: %s\n", r->err);
    return serve(r);
}

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int ingest_kafka(struct run *r)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct cr_kafka_ingest_opts ko = {
        .until_caught_up = r->a.until_caught_up, .stop = &stop_requested, .quiet = r->a.quiet};
    int rc = 0;
    if (cr_ingest_kafka(r->pl, &r->cfg, r->store, &ko, &r->kst, r->err, sizeof r->err) != 0) {
        cr_log_line(CR_LV_ERROR, "corral run: %s\n", r->err);
        rc = CR_EXIT_RUNTIME;
    }
    r->bytes = r->kst.bytes;
    return rc;
}

static int ingest_files(struct run *r)
{
    /* every input is a source of event time from the start: matches wait
     * until each has shown how far it is (reorder.h) */
    int idx[CR_MAX_INPUTS];
    for (int i = 0; i < r->a.ninputs; i++) {
        const char *in = r->a.inputs[i];
        idx[i] = cr_pipeline_add_input(r->pl, strcmp(in, "-") == 0 ? "stdin" : in);
        cr_pipeline_input_state(r->pl, idx[i], CR_SOURCE_PENDING);
    }
    int rc = 0;
    for (int i = 0; i < r->a.ninputs && rc == 0; i++) {
        const char *in = r->a.inputs[i];
        const char *name = strcmp(in, "-") == 0 ? "stdin" : in;
        struct cr_ingest_resume res;
        if (r->a.resume) {
            uint64_t at = cr_ingest_resume_point(r->store, name, r->fds[i] == 0,
                                                 r->cfg.checkpoint_records, &res);
            if (at && !r->a.quiet)
                cr_log_line(CR_LV_INFO, "corral: %s: resuming at line %llu\n", name,
                            (unsigned long long)at);
        }
        struct cr_ingest_stats ist = {0};
        if (cr_ingest_fd(r->pl, r->fds[i], idx[i], r->a.resume ? &res : NULL, &ist, r->err,
                         sizeof r->err) != 0) {
            cr_log_line(CR_LV_ERROR, "corral run: %s: %s\n", in, r->err);
            rc = CR_EXIT_RUNTIME;
        }
        /* its end: nothing more to wait for */
        cr_pipeline_input_state(r->pl, idx[i], CR_SOURCE_IDLE);
        r->bytes += ist.bytes;
    }
    return rc;
}

/* The input ended (or a stage failed after start): a reload still
 * compiling finishes (or is refused), then the pipeline drains into the
 * store and its threads stop. */
static int finish(struct run *r)
{
    if (r->serving) { /* no move may wait on a writer that is about to stop */
        cr_serving_stop(&r->sv);
        r->serving = 0;
    }
    if (r->rl) {
        cr_reload_stop(r->rl);
        cr_reload_get_stats(r->rl, &r->rls);
    }
    r->finished = 1;
    if (cr_pipeline_finish(r->pl, &r->st, r->err, sizeof r->err) != 0) {
        cr_log_line(CR_LV_ERROR, "corral run: %s\n", r->err);
        return CR_EXIT_RUNTIME;
    }
    r->st.provisional_rolled_back = r->provisional;
    return 0;
}

/* Losses of state are said even with --quiet; the counters are not. */
static int report(struct run *r)
{
    int rc = 0;
    const struct cr_pipeline_stats *st = &r->st;
    /* the counters below are per rule of the rules in use at the end */
    const struct cr_ruleset *rs = r->rl && cr_reload_rules(r->rl) ? cr_reload_rules(r->rl) : r->rs;
    for (int o = 0; st->budget_evicted && o < rs->nrules + rs->ncorrs; o++) {
        if (!st->budget_evicted[o])
            continue;
        int is_rule = o < rs->nrules;
        cr_log_line(CR_LV_WARN,
                    "corral: %s '%s': %llu correlation states evicted at max_keys %llu\n",
                    is_rule ? "rule" : "correlation",
                    is_rule ? rs->rules[o].id : rs->corrs[o - rs->nrules].id,
                    (unsigned long long)st->budget_evicted[o],
                    (unsigned long long)(is_rule ? rs->rules[o].incident->max_keys
                                                 : rs->corrs[o - rs->nrules].incident.max_keys));
    }
    for (size_t i = 0; i < st->ntenant_evicted && i < 10; i++)
        cr_log_line(CR_LV_WARN,
                    "corral: tenant %08x: %llu correlation states evicted at "
                    "max_keys_per_tenant %llu%s\n",
                    st->tenant_evicted[i].tenant, (unsigned long long)st->tenant_evicted[i].evicted,
                    (unsigned long long)r->cfg.max_keys_per_tenant,
                    i == 9 && st->ntenant_evicted > 10 ? " (and more tenants)" : "");
    int kafka = r->a.ninputs == 0;
    if (!r->a.quiet) {
        print_stats_text(st, r->bytes, kafka ? r->kst.npartitions : r->a.ninputs);
        if (kafka)
            print_kafka_text(&r->kst, st->restored_states);
        const struct cr_reload_stats *l = &r->rls;
        if (l->reloads || l->failed || l->unchanged)
            cr_log_line(CR_LV_INFO,
                        "corral: reloads: %llu applied, %llu refused, %llu unchanged; correlation "
                        "states at reloads: %llu kept, %llu dropped\n",
                        (unsigned long long)l->reloads, (unsigned long long)l->failed,
                        (unsigned long long)l->unchanged, (unsigned long long)l->states_kept,
                        (unsigned long long)l->states_dropped);
    }
    if (r->a.stats_json)
        print_stats_json(st, r->bytes, kafka ? &r->kst : NULL, &r->rls);
    if (r->out) {
        if (!r->a.quiet)
            cr_log_line(CR_LV_INFO,
                        "corral: output topic %s: %llu incident versions delivered, %llu failed\n",
                        r->cfg.kafka_output_topic, (unsigned long long)st->store.output_sent,
                        (unsigned long long)st->store.output_failed);
        if (st->store.output_failed)
            rc = CR_EXIT_RUNTIME;
    }
    return rc;
}

static void teardown(struct run *r)
{
    notify_stopping(r);
    if (r->serving)
        cr_serving_stop(&r->sv);
    if (r->pl && !r->finished) {
        char err[1024];
        if (r->rl)
            cr_reload_stop(r->rl);
        cr_pipeline_finish(r->pl, &r->st, err, sizeof err);
    }
    free(r->st.tenant_evicted);
    free(r->st.budget_evicted);
    cr_output_kafka_free(r->out);
    for (int i = 0; i < r->nfds; i++)
        if (r->fds[i] > 0)
            close(r->fds[i]);
    if (r->store)
        cr_store_close(r->store);
    cr_reload_free(r->rl); /* the rules it compiled, after every thread that used them */
    cr_ruleset_free(r->rs);
    cr_inventory_free(r->inv);
    cr_config_free(&r->cfg);
}

int cr_cmd_run(int argc, char **argv)
{
    static struct run r; /* large (stats, inputs); one run per process */
    memset(&r, 0, sizeof r);
    int rc = parse_args(&r.a, argc, argv);
    if (rc >= 0)
        return rc;
    if ((rc = configure(&r)) == 0 && (rc = open_inputs(&r)) == 0 && (rc = open_store(&r)) == 0 &&
        (rc = start(&r)) == 0) {
        notify_started(&r);
        rc = r.a.ninputs ? ingest_files(&r) : ingest_kafka(&r);
        notify_stopping(&r);
        int frc = finish(&r);
        if (frc)
            rc = frc;
        int rrc = report(&r);
        if (!rc)
            rc = rrc;
    }
    teardown(&r);
    return rc;
}
