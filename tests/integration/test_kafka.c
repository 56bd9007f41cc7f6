/*
 * test_kafka.c - corral's Kafka input, end to end: the real `corral` binary
 * consuming from librdkafka's mock cluster over loopback.
 *
 * What is tested, and the reference each test is held to:
 *  - a topic gives the same incidents as the file it was produced from
 *    (the file run is the reference: Kafka must not change what is found);
 *  - kill -9 in the middle of a run, then a restart with the same group and
 *    store, ends with the incidents of a clean run and no duplicates (the
 *    durability order: offsets never run ahead of the state they go with);
 *  - injected broker errors (Fetch, OffsetFetch, OffsetCommit) are survived
 *    with the clean run's incidents;
 *  - malformed CloudEvents records (bad binary headers, broken JSON, empty
 *    values, non-UTF-8) are counted and kept, while valid binary-mode and
 *    structured-mode events are parsed and matched by a rule of the test;
 *  - two processes in one group, the second joining mid-run, together find
 *    what one process finds.
 * Incident sets are compared as sorted lists of (id, event_count,
 * first_seen, last_seen), so any missing, extra, double-counted or shifted
 * incident fails the comparison.
 *
 * Why it is shaped this way: each Criterion test runs in its own process,
 * so each starts its own mock cluster in-process and every corral it runs
 * is a child process pointed at it (127.0.0.1 only). The mock delays a
 * group's first join by 3 s and later rebalances by session.timeout.ms - 1 s,
 * hence session.timeout.ms=6000 on every run. The mock prunes partitions
 * beyond ~5 MiB / 100k message sets, so every produce checks that nothing
 * was pruned (low watermark 0): a test on a silently truncated topic would
 * prove nothing. Disturbed runs (kill, errors, a second member) are held to
 * a clean Kafka run of the same topic in a fresh group and store. The mock
 * refuses OffsetCommit while a rebalance is in progress (real brokers accept
 * it from current members), so group commits are only checked where no
 * rebalance can overlap the last commit. Temp dirs come from mkdtemp and
 * group ids are per test, so `--jobs 2` is safe.
 */
#include "testutil.h"

#include "engine/kafka/kafka_dev.h"
#include "engine/kafka/kafka_produce.h"
#include "engine/store/store.h"

#include <criterion/criterion.h>
#include <jansson.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PATHLEN 4096
#define CMDLEN 16384

/* ---- per-test context ---------------------------------------------------- */

static char *tmp;
static struct cr_kafka_dev *dev;
static const char *brokers;
static int npartitions;

static void setup(void)
{
    tmp = cr_test_tmpdir();
    cr_assert_not_null(tmp);
}

static void teardown(void)
{
    cr_kafka_dev_stop(dev);
    dev = NULL;
    cr_test_rmtree(tmp);
    free(tmp);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* out = TMP/<printf fmt> */
static void tpath(char *out, const char *fmt, ...)
{
    char rel[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    snprintf(out, PATHLEN, "%s/%s", tmp, rel);
}

/* A one-broker mock cluster with one topic of `partitions` partitions. */
static void start_cluster(int partitions, const char *topic)
{
    char err[512];
    const char *topics[] = {topic};
    dev = cr_kafka_dev_start(partitions, NULL, topics, 1, err, sizeof err);
    cr_assert_not_null(dev, "mock cluster: %s", err);
    brokers = cr_kafka_dev_bootstrap(dev);
    npartitions = partitions;
}

/* ---- data ---------------------------------------------------------------- */

/* TMP/name.log from the real generator. */
static void gen(const char *name, int seed, int lines, char *path)
{
    char cmd[CMDLEN];
    tpath(path, "%s.log", name);
    snprintf(cmd, sizeof cmd,
             "'%s' --seed %d --lines %d --out '%s' --truth '%s/%s.truth' 2>/dev/null",
             CORRAL_GEN_CORPUS, seed, lines, path, tmp, name);
    cr_assert_eq(cr_test_run(cmd, NULL), 0, "gen_corpus failed: %s", cmd);
}

/* Every partition of topic still starts at offset 0 (the mock pruned
 * nothing), holds at least one record, and together they hold `total`. */
static void assert_unpruned(const char *topic, uint64_t total)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof errstr),
                 RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    cr_assert_not_null(rk, "%s", errstr);
    int64_t sum = 0;
    for (int p = 0; p < npartitions; p++) {
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
        cr_assert_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR, "watermarks: %s", rd_kafka_err2str(e));
        cr_assert_eq(lo, 0, "%s/%d: the mock pruned %lld records: produce less per partition",
                     topic, p, (long long)lo);
        cr_assert_gt(hi, 0, "%s/%d is empty: the test would not cover every partition", topic, p);
        sum += hi;
    }
    rd_kafka_destroy(rk);
    cr_assert_eq((uint64_t)sum, total, "%s holds %lld records, %llu produced", topic,
                 (long long)sum, (unsigned long long)total);
}

/* The group's committed offset (-1: none) and the end of each partition of
 * topic, read with a consumer handle that does not join the group. */
static void group_offsets(const char *group, const char *topic, int64_t *committed, int64_t *end)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof errstr),
                 RD_KAFKA_CONF_OK);
    cr_assert_eq(rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr),
                 RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    cr_assert_not_null(rk, "%s", errstr);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(npartitions);
    for (int p = 0; p < npartitions; p++)
        rd_kafka_topic_partition_list_add(l, topic, p);
    rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, 10000);
    for (int p = 0; p < npartitions && e == RD_KAFKA_RESP_ERR_NO_ERROR; p++) {
        int64_t lo = -1;
        committed[p] = l->elems[p].offset >= 0 ? l->elems[p].offset : -1;
        e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &end[p], 10000);
    }
    /* partition lists before the handle (see architecture.md B.5) */
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    cr_assert_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR, "group offsets: %s", rd_kafka_err2str(e));
}

/* After --until-caught-up exited 0 everything read is committed: the
 * group's offset of every partition is the partition's end. */
static void assert_group_committed(const char *group, const char *topic)
{
    int64_t committed[64], end[64];
    group_offsets(group, topic, committed, end);
    for (int p = 0; p < npartitions; p++)
        cr_assert_eq(committed[p], end[p],
                     "group %s: %s/%d committed at %lld, the partition ends at %lld", group, topic,
                     p, (long long)committed[p], (long long)end[p]);
}

/* Every line of file to topic, keyed by host as `corral produce` does. */
static void produce(const char *topic, const char *file, uint64_t lines, const char *const *props)
{
    char err[512];
    uint64_t n = 0;
    cr_assert_eq(
        cr_kafka_produce_file(brokers, topic, file, CR_KEY_HOST, props, &n, err, sizeof err), 0,
        "produce: %s", err);
    cr_assert_eq(n, lines);
    assert_unpruned(topic, lines);
}

/* TMP/name.yaml: the default rule pack (plus extra_rules if not NULL), RFC
 * 3164 year 2026 (the generator's), 50 ms checkpoints, extra kafka keys. */
static void write_config(const char *name, const char *extra_rules, const char *kafka_extra,
                         char *path)
{
    char text[8192];
    int n = snprintf(text, sizeof text,
                     "rules: ['%s'%s%s%s]\n"
                     "input: {year: 2026}\n"
                     "kafka: {checkpoint_interval: 50ms%s%s}\n",
                     cr_test_source_path("configs/rules"), extra_rules ? ", '" : "",
                     extra_rules ? extra_rules : "", extra_rules ? "'" : "",
                     kafka_extra ? ", " : "", kafka_extra ? kafka_extra : "");
    tpath(path, "%s.yaml", name);
    cr_assert_eq(cr_test_write_file(path, text, (size_t)n), 0);
}

/* ---- running corral ------------------------------------------------------ */

/* The Kafka run command; extra: more options (may be NULL). */
static void kafka_cmd(char *cmd, const char *cfg, const char *topic, const char *group,
                      const char *store, const char *extra)
{
    snprintf(cmd, CMDLEN,
             "'%s' run -c '%s' --brokers '%s' --topic '%s' --group '%s' --store '%s' "
             "--until-caught-up -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 %s "
             "--quiet --stats-json",
             CORRAL_BINARY, cfg, brokers, topic, group, store, extra ? extra : "");
}

struct proc {
    pid_t pid;
    int status; /* waitpid status once done */
    int done;
    char out[PATHLEN], err[PATHLEN];
};

/* Start cmd in the background: stdout and stderr to TMP/name.out/.err.
 * `exec` makes the pid corral's own, so a kill reaches it. */
static void proc_start(struct proc *p, const char *cmd, const char *name)
{
    memset(p, 0, sizeof *p);
    tpath(p->out, "%s.out", name);
    tpath(p->err, "%s.err", name);
    char sh[CMDLEN + 2 * PATHLEN + 32];
    snprintf(sh, sizeof sh, "exec %s > '%s' 2> '%s'", cmd, p->out, p->err);
    fflush(NULL);
    p->pid = fork();
    cr_assert_geq(p->pid, 0);
    if (p->pid == 0) {
        execl("/bin/sh", "sh", "-c", sh, (char *)NULL);
        _exit(127);
    }
}

static int proc_alive(struct proc *p)
{
    if (!p->done && waitpid(p->pid, &p->status, WNOHANG) == p->pid)
        p->done = 1;
    return !p->done;
}

/* Wait at most timeout_s; a hung corral is killed and fails the test. */
static void proc_wait(struct proc *p, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    while (proc_alive(p)) {
        if (now_s() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &p->status, 0);
            p->done = 1;
            char *e = cr_test_slurp(p->err, NULL);
            cr_assert_fail("corral did not finish in %.0f s; stderr:\n%s", timeout_s, e ? e : "");
        }
        sleep_ms(20);
    }
}

struct stats {
    json_t *eng; /* engine counters */
    json_t *kaf; /* the Kafka object */
};

static void stats_free(struct stats *s)
{
    json_decref(s->eng);
    json_decref(s->kaf);
}

/* Wait for a clean exit (0) and parse the two --stats-json lines. */
static void proc_stats(struct proc *p, struct stats *st)
{
    proc_wait(p, 120);
    char *e = cr_test_slurp(p->err, NULL);
    cr_assert(WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0,
              "corral (%s) ended with status 0x%x; stderr:\n%s", p->out, p->status, e ? e : "");
    free(e);
    char *out = cr_test_slurp(p->out, NULL);
    cr_assert_not_null(out);
    char *nl = strchr(out, '\n');
    cr_assert_not_null(nl, "stats: %s", out);
    *nl = 0;
    json_error_t je;
    st->eng = json_loads(out, 0, &je);
    st->kaf = json_loads(nl + 1, 0, &je);
    cr_assert(st->eng && st->kaf, "stats are not two JSON lines: %s\n%s", out, nl + 1);
    free(out);
}

/* Foreground run: start, wait, stats. */
static void run_kafka(const char *cfg, const char *topic, const char *group, const char *store,
                      const char *extra, struct stats *st)
{
    char cmd[CMDLEN];
    kafka_cmd(cmd, cfg, topic, group, store, extra);
    struct proc p;
    const char *base = strrchr(store, '/');
    proc_start(&p, cmd, base ? base + 1 : store);
    proc_stats(&p, st);
}

static long long jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "no integer '%s' in the stats", key);
    return (long long)json_integer_value(v);
}

/* Sum of a per-partition field, and assert every partition's lag is 0. */
static long long partitions_caught_up(json_t *kaf, int want_parts)
{
    json_t *parts = json_object_get(kaf, "partitions"), *p;
    cr_assert(json_is_array(parts));
    cr_assert_eq((int)json_array_size(parts), want_parts, "%zu partitions reported, %d expected",
                 json_array_size(parts), want_parts);
    size_t i;
    long long recs = 0;
    json_array_foreach(parts, i, p)
    {
        cr_assert_eq(jint(p, "lag"), 0, "%s: lag %lld after --until-caught-up",
                     json_string_value(json_object_get(p, "input")), jint(p, "lag"));
        recs += jint(p, "records");
    }
    return recs;
}

/* The store's last durable checkpoint, or -1 (no store yet / no epoch). */
static long store_epoch(const char *dir)
{
    char err[256], buf[32];
    struct cr_store *s =
        cr_store_open(dir, &(struct cr_store_opts){.read_only = 1}, err, sizeof err);
    if (!s)
        return -1;
    long e = cr_store_get_meta(s, "epoch", buf, sizeof buf) == 0 ? atol(buf) : -1;
    cr_store_close(s);
    return e;
}

/* Poll until the store's epoch is >= min while p runs: 1; 0 if p exited
 * first. Fails after timeout_s. */
static int wait_epoch(struct proc *p, const char *store, long min, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    while (now_s() < deadline) {
        if (!proc_alive(p))
            return 0;
        if (store_epoch(store) >= min)
            return 1;
        sleep_ms(3);
    }
    kill(p->pid, SIGKILL);
    proc_wait(p, 10);
    cr_assert_fail("no epoch %ld in %s after %.0f s", min, store, timeout_s);
    return 0;
}

/* ---- incident sets ------------------------------------------------------- */

struct inc {
    char id[64];
    long long count;
    char row[256]; /* "id count first_seen last_seen" */
};

struct incs {
    size_t n;
    struct inc *v;
};

static int inc_cmp(const void *a, const void *b)
{
    const struct inc *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    if (c)
        return c;
    /* the same id: highest event_count first (see union_max) */
    return (x->count < y->count) - (x->count > y->count);
}

/* `corral query --format ndjson` of a store, sorted by id. Optionally
 * also returns the raw objects (caller decrefs). */
static struct incs load_incidents(const char *store, json_t **objs)
{
    char cmd[CMDLEN];
    snprintf(cmd, sizeof cmd, "'%s' query --store '%s' --format ndjson", CORRAL_BINARY, store);
    char *out = NULL;
    int rc = cr_test_run(cmd, &out);
    cr_assert_eq(rc, 0, "%s: exit %d", cmd, rc);
    struct incs s = {0, NULL};
    size_t cap = 0;
    if (objs)
        *objs = json_array();
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        cr_assert_not_null(o, "bad ndjson line: %s", line);
        if (s.n == cap) {
            cap = cap ? 2 * cap : 64;
            s.v = realloc(s.v, cap * sizeof *s.v);
        }
        struct inc *c = &s.v[s.n++];
        const char *id = json_string_value(json_object_get(o, "id"));
        cr_assert_not_null(id, "incident without id: %s", line);
        snprintf(c->id, sizeof c->id, "%s", id);
        c->count = jint(o, "event_count");
        char *f = json_dumps(json_object_get(o, "first_seen"), JSON_ENCODE_ANY);
        char *l = json_dumps(json_object_get(o, "last_seen"), JSON_ENCODE_ANY);
        cr_assert(f && l, "incident %s without first_seen/last_seen", id);
        snprintf(c->row, sizeof c->row, "%s %lld %s %s", id, c->count, f, l);
        free(f);
        free(l);
        if (objs)
            json_array_append_new(*objs, o);
        else
            json_decref(o);
    }
    free(out);
    if (s.n)
        qsort(s.v, s.n, sizeof *s.v, inc_cmp);
    return s;
}

static void assert_unique_ids(const struct incs *s, const char *what)
{
    for (size_t i = 1; i < s->n; i++)
        cr_assert_str_neq(s->v[i - 1].id, s->v[i].id, "%s: incident %s listed twice", what,
                          s->v[i].id);
}

/* got equals want row for row; reports up to 8 differences. */
static void assert_same_incidents(const struct incs *got, const struct incs *want, const char *what)
{
    char diff[4096];
    size_t o = 0, i = 0, j = 0;
    int ndiff = 0;
    while (i < got->n || j < want->n) {
        int c = i == got->n ? 1 : j == want->n ? -1 : strcmp(got->v[i].row, want->v[j].row);
        if (c == 0) {
            i++;
            j++;
            continue;
        }
        if (ndiff++ < 8 && o < sizeof diff - 300)
            o += (size_t)snprintf(
                diff + o, sizeof diff - o, "  %s %s\n",
                c < 0 ? "extra:  " : "missing:", c < 0 ? got->v[i].row : want->v[j].row);
        if (c < 0)
            i++;
        else
            j++;
    }
    diff[o] = 0;
    cr_assert_eq(ndiff, 0, "%s: %d differences (%zu incidents vs %zu expected), e.g.\n%s", what,
                 ndiff, got->n, want->n, diff);
}

/* Per id, the version with the highest event_count of a and b. */
static struct incs union_max(const struct incs *a, const struct incs *b)
{
    struct incs all = {a->n + b->n, malloc((a->n + b->n + 1) * sizeof(struct inc))};
    memcpy(all.v, a->v, a->n * sizeof(struct inc));
    memcpy(all.v + a->n, b->v, b->n * sizeof(struct inc));
    qsort(all.v, all.n, sizeof(struct inc), inc_cmp);
    size_t k = 0;
    for (size_t i = 0; i < all.n; i++)
        if (k == 0 || strcmp(all.v[k - 1].id, all.v[i].id) != 0)
            all.v[k++] = all.v[i];
    all.n = k; /* ids are now unique, so id order is row order */
    return all;
}

static void incs_free(struct incs *s)
{
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* A clean single-process run of the topic (fresh group, fresh store):
 * the reference for the tests that disturb a run. */
static struct incs clean_run(const char *cfg, const char *topic, const char *group, long long lines)
{
    char store[PATHLEN];
    tpath(store, "clean");
    struct stats st;
    run_kafka(cfg, topic, group, store, NULL, &st);
    cr_assert_eq(jint(st.kaf, "kafka_records"), lines);
    partitions_caught_up(st.kaf, npartitions);
    stats_free(&st);
    struct incs s = load_incidents(store, NULL);
    cr_assert_gt(s.n, 10, "the corpus should open incidents");
    return s;
}

/* ---- tests --------------------------------------------------------------- */

/* The same lines through Kafka (4 partitions, keyed by host) and from the
 * file give the same incidents; every partition is read to its end. */
/* Every record of an output topic (assigned directly: no group join),
 * keeping the last version per key, as a compacted topic would. Each value
 * must be an incident whose id is the record key. */
static struct incs output_latest(const char *topic)
{
    char e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, e, sizeof e),
                 RD_KAFKA_CONF_OK);
    rd_kafka_conf_set(conf, "group.id", "output-check", e, sizeof e);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", e, sizeof e);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    cr_assert_not_null(rk, "%s", e);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    cr_assert_eq(rd_kafka_metadata(rk, 0, rkt, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    cr_assert_eq(md->topic_cnt, 1);
    int nparts = md->topics[0].partition_cnt;
    cr_assert_gt(nparts, 0, "the output topic %s does not exist", topic);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    for (int i = 0; i < nparts; i++)
        rd_kafka_topic_partition_list_add(l, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    cr_assert_eq(rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    json_t *latest = json_object(); /* id -> last value seen */
    int eofs = 0;
    double t0 = now_s();
    while (eofs < nparts && now_s() - t0 < 30) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eofs++;
        } else if (!m->err) {
            json_error_t je;
            json_t *o = json_loadb(m->payload, m->len, 0, &je);
            cr_assert_not_null(o, "output record is not JSON: %.*s", (int)m->len,
                               (const char *)m->payload);
            const char *id = json_string_value(json_object_get(o, "id"));
            cr_assert(id && m->key_len == strlen(id) && memcmp(m->key, id, m->key_len) == 0,
                      "output record key is not its incident id");
            json_object_set_new(latest, id, o);
        }
        rd_kafka_message_destroy(m);
    }
    cr_assert_eq(eofs, nparts, "did not reach the end of %s", topic);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    struct incs s = {0, NULL};
    s.v = calloc(json_object_size(latest) + 1, sizeof *s.v);
    const char *id;
    json_t *o;
    json_object_foreach(latest, id, o)
    {
        struct inc *c = &s.v[s.n++];
        snprintf(c->id, sizeof c->id, "%s", id);
        c->count = jint(o, "event_count");
        char *f = json_dumps(json_object_get(o, "first_seen"), JSON_ENCODE_ANY);
        char *la = json_dumps(json_object_get(o, "last_seen"), JSON_ENCODE_ANY);
        snprintf(c->row, sizeof c->row, "%s %lld %s %s", id, c->count, f, la);
        free(f);
        free(la);
    }
    json_decref(latest);
    if (s.n)
        qsort(s.v, s.n, sizeof *s.v, inc_cmp);
    return s;
}

Test(kafka, topic_equals_file, .init = setup, .fini = teardown, .timeout = 120)
{
    const int lines = 60000;
    char log[PATHLEN], cfg[PATHLEN], fstore[PATHLEN], kstore[PATHLEN];
    start_cluster(4, "logs");
    gen("c", 11, lines, log);
    produce("logs", log, lines, NULL);
    write_config("c", NULL, NULL, cfg);

    /* the file run first: it needs no broker and is the reference */
    tpath(fstore, "file");
    char cmd[CMDLEN];
    snprintf(cmd, sizeof cmd, "'%s' run -c '%s' --input '%s' --store '%s' --quiet", CORRAL_BINARY,
             cfg, log, fstore);
    cr_assert_eq(cr_test_run(cmd, NULL), 0, "%s", cmd);

    tpath(kstore, "kafka");
    struct stats st;
    run_kafka(cfg, "logs", "g-equal", kstore, "--output-topic incidents", &st);
    cr_assert_eq(jint(st.kaf, "kafka_records"), lines);
    cr_assert_eq(jint(st.eng, "records"), lines);
    cr_assert_eq(partitions_caught_up(st.kaf, 4), lines);
    cr_assert_gt(jint(st.kaf, "durable_checkpoints"), 0);
    cr_assert_eq(jint(st.kaf, "consumer_errors"), 0);
    assert_group_committed("g-equal", "logs");

    struct incs f = load_incidents(fstore, NULL), k = load_incidents(kstore, NULL);
    cr_assert_gt(f.n, 10, "the corpus should open incidents");
    assert_unique_ids(&k, "kafka run");
    assert_same_incidents(&k, &f, "kafka run vs file run");
    /* the output topic carries every committed version, keyed by id: its
     * latest version per id is what the store holds */
    struct incs o = output_latest("incidents");
    assert_same_incidents(&o, &k, "output topic vs store");
    incs_free(&o);
    incs_free(&f);
    incs_free(&k);
    stats_free(&st);
}

/* Incidents in a store another process is writing; -1 if there is none yet. */
static long long store_incidents(const char *dir)
{
    char err[256];
    struct cr_store *s =
        cr_store_open(dir, &(struct cr_store_opts){.read_only = 1}, err, sizeof err);
    if (!s)
        return -1;
    uint64_t n = 0;
    long long r = cr_store_count_incidents(s, &n) == 0 ? (long long)n : -1;
    cr_store_close(s);
    return r;
}

/* A live topic goes quiet right after a brute force: its last failures are
 * within the allowed lateness of the newest record, so the watermark never
 * passes them. With correlation.idle_release the incident is stored while
 * the consumer still runs, and nothing is left for the end (no provisional
 * versions). */
Test(kafka, a_quiet_topic_releases_held_matches, .init = setup, .fini = teardown, .timeout = 120)
{
    start_cluster(1, "quiet");
    char log[PATHLEN], cfg[PATHLEN], store[PATHLEN], text[4096];
    size_t n = 0;
    cr_test_ssh_failures(text, sizeof text, &n, 5);
    tpath(log, "quiet.log");
    cr_assert_eq(cr_test_write_file(log, text, n), 0);
    produce("quiet", log, 5, NULL);
    int cn = snprintf(text, sizeof text,
                      "rules: ['%s']\ninput: {year: 2026}\n"
                      "correlation: {allowed_lateness: 10s, idle_release: 1s}\n"
                      "kafka: {checkpoint_interval: 50ms}\n",
                      cr_test_source_path("configs/rules"));
    tpath(cfg, "quiet.yaml");
    cr_assert_eq(cr_test_write_file(cfg, text, (size_t)cn), 0);
    tpath(store, "quiet-store");
    char cmd[CMDLEN];
    snprintf(cmd, sizeof cmd,
             "'%s' run -c '%s' --brokers '%s' --topic quiet --group g-quiet --store '%s' "
             "-X session.timeout.ms=6000 -X heartbeat.interval.ms=500 --quiet --stats-json",
             CORRAL_BINARY, cfg, brokers, store);
    struct proc p;
    proc_start(&p, cmd, "quiet");
    double deadline = now_s() + 60;
    long long got = -1;
    while (now_s() < deadline && proc_alive(&p) && (got = store_incidents(store)) < 1)
        sleep_ms(50);
    int alive = proc_alive(&p);
    if (!alive || got != 1) { /* a failed test leaves no consumer behind */
        kill(p.pid, SIGKILL);
        waitpid(p.pid, &p.status, 0);
    }
    cr_assert(alive, "corral ended on its own");
    cr_assert_eq(got, 1, "the brute force is stored while the consumer runs");
    kill(p.pid, SIGTERM);
    struct stats st;
    proc_stats(&p, &st);
    cr_assert_eq(jint(st.eng, "records"), 5);
    cr_assert_geq(jint(st.eng, "idle_releases"), 1);
    cr_assert_eq(jint(st.eng, "provisional_versions"), 0, "nothing was left for the end");
    cr_assert_eq(jint(st.eng, "late_matches"), 0);
    struct incs k = load_incidents(store, NULL);
    cr_assert_eq(k.n, 1);
    cr_assert_eq(k.v[0].count, 5);
    incs_free(&k);
    stats_free(&st);
}

/* kill -9 after the third durable checkpoint, restart with the same group
 * and store: the clean run's incidents, each once, state restored. */
Test(kafka, kill9_and_restart, .init = setup, .fini = teardown, .timeout = 240)
{
    const int lines = 200000;
    char log[PATHLEN], cfg[PATHLEN];
    start_cluster(8, "logs");
    gen("big", 5, lines, log);
    produce("logs", log, lines, NULL);
    write_config("c", NULL, NULL, cfg);
    struct incs clean = clean_run(cfg, "logs", "g-kill-clean", lines);

    int landed = 0;
    for (int attempt = 0; attempt < 4 && !landed; attempt++) {
        char store[PATHLEN], group[64], cmd[CMDLEN], name[32];
        tpath(store, "kill%d", attempt);
        snprintf(group, sizeof group, "g-kill-%d", attempt);
        snprintf(name, sizeof name, "kill%d", attempt);
        kafka_cmd(cmd, cfg, "logs", group, store, NULL);
        struct proc p;
        proc_start(&p, cmd, name);
        if (!wait_epoch(&p, store, 3, 60)) {
            cr_log_warn("attempt %d: corral finished before epoch 3; retrying", attempt);
            continue;
        }
        kill(p.pid, SIGKILL);
        proc_wait(&p, 10);
        if (!WIFSIGNALED(p.status) || WTERMSIG(p.status) != SIGKILL) {
            cr_log_warn("attempt %d: corral exited (0x%x) before the kill; retrying", attempt,
                        p.status);
            continue;
        }
        landed = 1;
        long at_kill = store_epoch(store);
        cr_assert_geq(at_kill, 3);

        /* the restart: same command, same group, same store */
        struct stats st;
        run_kafka(cfg, "logs", group, store, NULL, &st);
        partitions_caught_up(st.kaf, 8);
        long long again = jint(st.kaf, "kafka_records");
        cr_assert_lt(again, lines,
                     "the restart re-read everything (%lld records): the killed "
                     "run's checkpoints were not used",
                     again);
        cr_assert_gt(jint(st.kaf, "restored_states"), 0,
                     "the restart restored no correlation state");
        assert_group_committed(group, "logs");
        struct incs got = load_incidents(store, NULL);
        assert_unique_ids(&got, "killed + restarted run");
        assert_same_incidents(&got, &clean, "killed + restarted run vs clean run");
        incs_free(&got);
        stats_free(&st);
    }
    cr_assert(landed, "corral never was still running at its third checkpoint");
    incs_free(&clean);
}

/* Killed at chosen points instead of a random moment (CORRAL_CRASH_AT,
 * crashpoint.h): right after its 2nd store transaction (incidents written
 * ahead of the next checkpoint), then a restarted member right after its
 * 2nd checkpoint became durable in the store (the group's offsets lag
 * behind it), then the next one after its first; a last member finishes.
 * The clean run's incidents, each once. */
Test(kafka, crashed_at_checkpoints_and_restarted, .init = setup, .fini = teardown, .timeout = 240)
{
    const int lines = 200000;
    char log[PATHLEN], cfg[PATHLEN], store[PATHLEN];
    start_cluster(8, "logs");
    gen("big", 5, lines, log);
    produce("logs", log, lines, NULL);
    write_config("c", NULL, NULL, cfg);
    struct incs clean = clean_run(cfg, "logs", "g-crash-clean", lines);
    tpath(store, "crash");
    /* early and small, so that each run reaches its point on a fast machine
     * too: its final checkpoint is a pass through `epoch` as well */
    const char *points[] = {"txn:2", "epoch:2", "epoch:1"};
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        char cmd[CMDLEN], name[32];
        snprintf(name, sizeof name, "crash%zu", i);
        kafka_cmd(cmd, cfg, "logs", "g-crash", store, NULL);
        setenv("CORRAL_CRASH_AT", points[i], 1); /* the child inherits it */
        struct proc p;
        proc_start(&p, cmd, name);
        unsetenv("CORRAL_CRASH_AT");
        proc_wait(&p, 120);
        char *e = cr_test_slurp(p.err, NULL);
        cr_assert(WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGKILL,
                  "run %zu (%s) was not killed at its crash point (status 0x%x); stderr:\n%s", i,
                  points[i], p.status, e ? e : "");
        free(e);
    }
    /* Failures instead of deaths (base/crashpoint.h): a store commit
     * failing as a dying disk's would, then librdkafka raising a fatal
     * error. Each run stops with exit 1 and says why; under ASan a leak or
     * a hang at teardown would show here too (exit 23, or the timeout). */
    const struct {
        const char *point, *says;
    } fails[] = {{"commit:3", "committing a write batch: Input/output error"},
                 /* the first record consumed: whatever the commit:3 run left (at
                  * least its failed epoch's records), however fast the machine
                  * read the topic before it; 3000 was not reached on an idle
                  * machine, where the commit:3 run had made all but a few
                  * hundred records durable */
                 {"kafka:1", "kafka: fatal consumer error: "}};
    for (size_t i = 0; i < sizeof fails / sizeof fails[0]; i++) {
        char cmd[CMDLEN], name[32];
        snprintf(name, sizeof name, "fail%zu", i);
        kafka_cmd(cmd, cfg, "logs", "g-crash", store, NULL);
        setenv("CORRAL_FAIL_AT", fails[i].point, 1);
        struct proc p;
        proc_start(&p, cmd, name);
        unsetenv("CORRAL_FAIL_AT");
        proc_wait(&p, 120);
        char *e = cr_test_slurp(p.err, NULL);
        cr_assert(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 1 && e &&
                      strstr(e, fails[i].says),
                  "run with CORRAL_FAIL_AT=%s: status 0x%x; stderr:\n%s", fails[i].point, p.status,
                  e ? e : "");
        free(e);
    }
    struct stats st;
    run_kafka(cfg, "logs", "g-crash", store, NULL, &st);
    partitions_caught_up(st.kaf, 8);
    cr_assert_gt(jint(st.kaf, "restored_states"), 0, "the last run restored no state");
    struct incs got = load_incidents(store, NULL);
    assert_unique_ids(&got, "crashed + restarted runs");
    assert_same_incidents(&got, &clean, "crashed + restarted runs vs clean run");
    incs_free(&got);
    stats_free(&st);
    incs_free(&clean);
}

/* `corral produce` to a broker that is not there (a loopback port nobody
 * listens on) ends on its own with exit 1 and a message naming the
 * address, instead of queueing forever; librdkafka's own complaints come
 * out in corral's format, not as its raw lines. */
Test(kafka, produce_to_a_dead_broker_fails_with_a_message, .init = setup, .fini = teardown,
     .timeout = 120)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    int port = ntohs(a.sin_port);
    close(fd); /* nothing listens there now */
    char log[PATHLEN], cmd[CMDLEN];
    gen("small", 3, 1000, log);
    snprintf(cmd, sizeof cmd, "'%s' produce --brokers 127.0.0.1:%d --topic logs '%s'",
             CORRAL_BINARY, port, log);
    struct proc p;
    proc_start(&p, cmd, "produce");
    proc_wait(&p, 90);
    char *e = cr_test_slurp(p.err, NULL);
    cr_assert(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 1, "status 0x%x; stderr:\n%s",
              p.status, e ? e : "");
    char want[96];
    snprintf(want, sizeof want, "cannot reach the brokers at 127.0.0.1:%d", port);
    cr_assert(e && strstr(e, want), "%s", e ? e : "");
    for (char *save = NULL, *line = strtok_r(e, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        cr_assert(strncmp(line, "corral", 6) == 0, "a line not in corral's format: %s", line);
    free(e);
}

/* Request errors on Fetch, OffsetFetch and OffsetCommit, pushed before the
 * run and again while it runs: corral retries through them. */
/* The broker down when the run starts, then gone again in the middle of
 * it: the run waits (it neither exits nor gives up on the partitions) and,
 * when the broker is back, goes on to the end with the clean run's
 * incidents. */
Test(kafka, broker_down_at_start_and_mid_run, .init = setup, .fini = teardown, .timeout = 240)
{
    const int lines = 100000;
    char log[PATHLEN], cfg[PATHLEN], store[PATHLEN], cmd[CMDLEN];
    start_cluster(4, "logs");
    gen("c", 13, lines, log);
    produce("logs", log, lines, NULL);
    write_config("c", NULL, NULL, cfg);
    struct incs clean = clean_run(cfg, "logs", "g-down-clean", lines);
    rd_kafka_mock_cluster_t *mc = cr_kafka_dev_mock(dev);
    const int32_t broker = 1;
    cr_assert_eq(rd_kafka_mock_broker_set_down(mc, broker), RD_KAFKA_RESP_ERR_NO_ERROR);
    tpath(store, "down");
    kafka_cmd(cmd, cfg, "logs", "g-down", store, NULL);
    struct proc p;
    proc_start(&p, cmd, "down");
    sleep_ms(4000);
    cr_assert(proc_alive(&p), "the run did not wait for a broker that is down at start");
    long before_up = store_epoch(store);
    cr_assert_eq(rd_kafka_mock_broker_set_up(mc, broker), RD_KAFKA_RESP_ERR_NO_ERROR);
    /* the first checkpoint after the broker came back: the run is consuming.
     * (Waiting for a later one let a fast run on an idle machine, or a slow
     * poll on a loaded one, reach the end of the 100,000 records before the
     * broker went down again: a test whose premise, "mid-run", did not hold.) */
    cr_assert(wait_epoch(&p, store, before_up < 1 ? 1 : before_up + 1, 60),
              "the run ended before its first checkpoint after the broker came back");
    cr_assert_eq(rd_kafka_mock_broker_set_down(mc, broker), RD_KAFKA_RESP_ERR_NO_ERROR);
    long at_down = store_epoch(store);
    sleep_ms(4000);
    if (!proc_alive(&p)) {
        char *e = cr_test_slurp(p.err, NULL);
        cr_assert_fail("the run did not wait for a broker gone mid-run (epoch %ld when it went "
                       "down; exit status 0x%x); stderr:\n%s",
                       at_down, p.status, e ? e : "");
    }
    cr_assert_eq(rd_kafka_mock_broker_set_up(mc, broker), RD_KAFKA_RESP_ERR_NO_ERROR);
    struct stats st;
    proc_stats(&p, &st);
    cr_assert_eq(partitions_caught_up(st.kaf, 4), lines);
    struct incs got = load_incidents(store, NULL);
    assert_unique_ids(&got, "run with the broker down twice");
    assert_same_incidents(&got, &clean, "run with the broker down twice vs clean run");
    incs_free(&got);
    incs_free(&clean);
    stats_free(&st);
}

Test(kafka, broker_errors_survived, .init = setup, .fini = teardown, .timeout = 180)
{
    /* Kafka API keys (rdkafka_protocol.h, not installed by Debian) */
    enum { API_FETCH = 1, API_OFFSET_COMMIT = 8, API_OFFSET_FETCH = 9 };
    const int lines = 100000;
    char log[PATHLEN], cfg[PATHLEN], store[PATHLEN], cmd[CMDLEN];
    start_cluster(4, "logs");
    gen("c", 13, lines, log);
    produce("logs", log, lines, NULL);
    write_config("c", NULL, NULL, cfg);
    struct incs clean = clean_run(cfg, "logs", "g-err-clean", lines);

    rd_kafka_mock_cluster_t *mc = cr_kafka_dev_mock(dev);
    rd_kafka_mock_push_request_errors(mc, API_OFFSET_FETCH, 2,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    rd_kafka_mock_push_request_errors(mc, API_FETCH, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    rd_kafka_mock_push_request_errors(mc, API_OFFSET_COMMIT, 3, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
    tpath(store, "errors");
    kafka_cmd(cmd, cfg, "logs", "g-err", store, NULL);
    struct proc p;
    proc_start(&p, cmd, "errors");
    cr_assert(wait_epoch(&p, store, 2, 60), "the run ended before its second checkpoint");
    /* and again in the middle of the run, slowly, on the broker's own error
     * stack: unlike the cluster's, its depth can be read back, which proves
     * that the run went through these errors */
    const int32_t broker = 1; /* the mock numbers its brokers from 1 */
    cr_assert_eq(rd_kafka_mock_broker_push_request_error_rtts(
                     mc, broker, API_FETCH, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, 100,
                     RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, 0,
                     RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, 300),
                 RD_KAFKA_RESP_ERR_NO_ERROR);
    cr_assert_eq(rd_kafka_mock_broker_push_request_error_rtts(
                     mc, broker, API_OFFSET_COMMIT, 1, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, 200),
                 RD_KAFKA_RESP_ERR_NO_ERROR);
    struct stats st;
    proc_stats(&p, &st);
    size_t left_fetch = 99, left_commit = 99;
    rd_kafka_mock_broker_error_stack_cnt(mc, broker, API_FETCH, &left_fetch);
    rd_kafka_mock_broker_error_stack_cnt(mc, broker, API_OFFSET_COMMIT, &left_commit);
    cr_assert(left_fetch == 0 && left_commit == 0,
              "injected errors not reached (Fetch %zu, OffsetCommit %zu left): the run ended "
              "too soon to test them",
              left_fetch, left_commit);
    cr_assert_eq(jint(st.kaf, "kafka_records"), lines);
    cr_assert_eq(partitions_caught_up(st.kaf, 4), lines);
    assert_group_committed("g-err", "logs");
    struct incs got = load_incidents(store, NULL);
    assert_unique_ids(&got, "run with broker errors");
    assert_same_incidents(&got, &clean, "run with broker errors vs clean run");
    incs_free(&got);
    incs_free(&clean);
    stats_free(&st);
}

struct ce_rec {
    const char *what;
    const char *value;
    size_t vlen;
    const char *hdr[16]; /* name, value pairs; NULL-terminated */
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    if (m->err)
        ++*(int *)opaque;
}

/* Produce recs to partition 0 of topic (in order) with their headers. */
static void produce_ce(const char *topic, const struct ce_rec *recs, int n)
{
    char errstr[256];
    int failed = 0;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof errstr),
                 RD_KAFKA_CONF_OK);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, &failed);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    cr_assert_not_null(rk, "%s", errstr);
    for (int i = 0; i < n; i++) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(8);
        for (int j = 0; recs[i].hdr[j]; j += 2)
            rd_kafka_header_add(h, recs[i].hdr[j], -1, recs[i].hdr[j + 1], -1);
        rd_kafka_resp_err_t e =
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_VALUE((void *)recs[i].value, recs[i].vlen),
                              RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        cr_assert_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR, "%s: %s", recs[i].what, rd_kafka_err2str(e));
    }
    cr_assert_eq(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
    cr_assert_eq(failed, 0, "%d records were not delivered", failed);
}

/* A :cloudevents topic with valid binary-mode and structured-mode events
 * and four broken records: everything is consumed, the broken records are
 * counted and kept, and the valid events open the test rule's incident. */
Test(kafka, malformed_cloudevents_counted_and_kept, .init = setup, .fini = teardown, .timeout = 120)
{
#define CT "content-type"
#define CE_JSON "application/cloudevents+json"
#define DEPLOY "com.corral.test.deploy"
    static const char structured[] =
        "{\"specversion\":\"1.0\",\"id\":\"s-1\",\"source\":\"/ci\",\"type\":\"" DEPLOY "\","
        "\"subject\":\"svc-a\",\"time\":\"2026-03-02T08:00:05Z\",\"data\":{\"n\":2}}";
    static const char broken[] = "{\"specversion\":\"1.0\",\"id\":\"broken-json\",\"type\":";
    static const char utf8[] = "\xff\xfe not-utf8 \x80\xc3";
    static const struct ce_rec recs[] = {
        {"binary mode",
         "{\"n\":1}",
         7,
         {"ce_specversion", "1.0", "ce_id", "b-1", "ce_source", "/ci", "ce_type", DEPLOY,
          "ce_subject", "svc-a", "ce_time", "2026-03-02T08:00:00Z", CT, "application/json", NULL}},
        {"structured mode", structured, sizeof structured - 1, {CT, CE_JSON, NULL}},
        {"broken JSON", broken, sizeof broken - 1, {CT, CE_JSON, NULL}},
        {"empty value", "", 0, {CT, CE_JSON, NULL}},
        /* the same type and subject as the valid events: if the bad
         * envelope were used, the incident would count 3 */
        {"binary mode without ce_id",
         "{\"n\":3}",
         7,
         {"ce_specversion", "1.0", "ce_source", "/ci", "ce_type", DEPLOY, "ce_subject", "svc-a",
          "ce_time", "2026-03-02T08:00:10Z", CT, "application/json", NULL}},
        {"non-UTF-8", utf8, sizeof utf8 - 1, {NULL}},
    };
    const int n = (int)(sizeof recs / sizeof recs[0]);
    start_cluster(2, "events");
    produce_ce("events", recs, n);

    char rules[PATHLEN], cfg[PATHLEN], store[PATHLEN];
    tpath(rules, "deploy.yaml");
    static const char rule_text[] =
        "rules:\n"
        "  - id: test.ce.deploy\n"
        "    title: Deploy event (test)\n"
        "    where: { event_type: " DEPLOY " }\n"
        "    group_by: [object_id]\n"
        "    incident: { category: S-OPS-PRIV, priority: P3, open_for: 1h }\n";
    cr_assert_eq(cr_test_write_file(rules, rule_text, sizeof rule_text - 1), 0);
    write_config("c", rules, NULL, cfg);
    tpath(store, "ce");
    struct stats st;
    run_kafka(cfg, "events:cloudevents", "g-ce", store, NULL, &st);

    cr_assert_eq(jint(st.kaf, "kafka_records"), n);
    cr_assert_eq(jint(st.eng, "records"), n);
    cr_assert_eq(jint(st.kaf, "bad_envelopes"), 1);
    cr_assert_eq(jint(st.eng, "parse_errors"), 4, "broken JSON, empty, no ce_id, non-UTF-8");
    cr_assert_eq(jint(st.eng, "invalid_utf8"), 1);
    cr_assert_eq(jint(st.eng, "rejects_kept"), 4);
    partitions_caught_up(st.kaf, 2);

    /* the valid events: one incident of the test rule, counting both */
    json_t *objs = NULL;
    struct incs s = load_incidents(store, &objs);
    cr_assert_eq(s.n, 1, "expected only the deploy incident, got %zu", s.n);
    json_t *inc = json_array_get(objs, 0);
    cr_assert_str_eq(json_string_value(json_object_get(inc, "rule")), "test.ce.deploy");
    cr_assert_eq(jint(inc, "event_count"), 2,
                 "binary and structured mode events both count (and the bad envelope not)");
    json_t *want = json_pack("{s:s}", "object_id", "svc-a");
    cr_assert(json_equal(json_object_get(inc, "entities"), want));
    json_decref(want);

    /* the broken ones are listed by `corral rejects`, raw */
    char cmd[CMDLEN];
    snprintf(cmd, sizeof cmd, "'%s' rejects --store '%s' --format ndjson", CORRAL_BINARY, store);
    char *out = NULL;
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", cmd);
    int listed = 0, saw_broken = 0, saw_noid = 0, saw_empty = 0, saw_utf8 = 0;
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        cr_assert_not_null(o, "bad rejects line: %s", line);
        const char *raw = json_string_value(json_object_get(o, "raw"));
        cr_assert_not_null(raw, "%s", line);
        listed++;
        saw_broken += strstr(raw, "broken-json") != NULL;
        saw_noid += strstr(raw, "\"n\":3") != NULL;
        saw_empty += raw[0] == 0;
        saw_utf8 += strstr(raw, "not-utf8") != NULL;
        json_decref(o);
    }
    cr_assert_eq(listed, 4, "rejects listed %d:\n%s", listed, out);
    cr_assert(saw_broken == 1 && saw_noid == 1 && saw_empty == 1 && saw_utf8 == 1,
              "rejects: broken %d, no ce_id %d, empty %d, non-UTF-8 %d:\n%s", saw_broken, saw_noid,
              saw_empty, saw_utf8, out);
    free(out);
    json_decref(objs);
    incs_free(&s);
    stats_free(&st);
#undef CT
#undef CE_JSON
#undef DEPLOY
}

/* Process A consumes slowly; once it has checkpointed, B joins the group
 * with its own store. Together they find what one process finds: B
 * rebuilds the correlation state of the partitions it takes over. */
Test(kafka, two_processes_rebalance, .init = setup, .fini = teardown, .timeout = 240)
{
    const int lines = 40000;
    char log[PATHLEN], cfg_a[PATHLEN], cfg_b[PATHLEN], sa[PATHLEN], sb[PATHLEN];
    char cmd[CMDLEN];
    start_cluster(8, "logs");
    gen("c", 17, lines, log);
    /* small message sets, so that the fetch limits below really throttle */
    static const char *const small[] = {"batch.size=2048", "linger.ms=5", NULL};
    produce("logs", log, lines, small);
    write_config("a", NULL, NULL, cfg_a);
    write_config("b", NULL, "rebuild_records: 1000000", cfg_b);

    /* The fetch limits below make the mock return two or three of these
     * small message sets per Fetch (it sends at most one per partition and
     * stops adding partitions past fetch.max.bytes); a 5 ms broker RTT then
     * caps a consumer at a few thousand records per second, so A is still
     * busy when the rebalance that B's join starts is over (the mock waits
     * session.timeout.ms - 1 s for it). */
    cr_assert_eq(rd_kafka_mock_broker_set_rtt(cr_kafka_dev_mock(dev), 1, 5),
                 RD_KAFKA_RESP_ERR_NO_ERROR);

    /* the reference runs beside A: another group, its own store */
    char clean_store[PATHLEN];
    tpath(clean_store, "clean");
    kafka_cmd(cmd, cfg_a, "logs", "g-two-clean", clean_store, NULL);
    struct proc pc;
    proc_start(&pc, cmd, "clean");

    static const char throttle[] = "-X fetch.max.bytes=4096 -X message.max.bytes=4096 "
                                   "-X max.partition.fetch.bytes=1024";
    tpath(sa, "a");
    tpath(sb, "b");
    kafka_cmd(cmd, cfg_a, "logs", "g-two", sa, throttle);
    struct proc pa, pb;
    proc_start(&pa, cmd, "a");
    cr_assert(wait_epoch(&pa, sa, 2, 60), "A finished before its second checkpoint: "
                                          "the throttle no longer slows it down enough");
    /* and until the group holds A's offsets (auto-commit, every second), so
     * that B takes over partitions committed ahead of its own empty state:
     * the case that rebuild_records is for */
    int64_t committed[8], end[8];
    for (int any = 0; !any;) {
        cr_assert(proc_alive(&pa), "A finished before the group had committed offsets");
        group_offsets("g-two", "logs", committed, end);
        for (int p = 0; p < 8; p++)
            any |= committed[p] > 0;
        if (!any)
            sleep_ms(50);
    }
    kafka_cmd(cmd, cfg_b, "logs", "g-two", sb, throttle);
    proc_start(&pb, cmd, "b");

    struct stats sta, stb, stc;
    proc_stats(&pc, &stc);
    proc_stats(&pa, &sta);
    proc_stats(&pb, &stb);
    cr_assert_eq(jint(stc.kaf, "kafka_records"), lines);
    struct incs clean = load_incidents(clean_store, NULL);
    cr_assert_gt(clean.n, 10, "the corpus should open incidents");

    /* A: assigned, revoked when B joined, assigned its share again (and,
     * eager or cooperative, at least these three callbacks) */
    cr_assert_geq(jint(sta.kaf, "rebalances"), 3,
                  "A saw %lld rebalance callbacks: it was never given partitions after B "
                  "joined (it left the group in the middle of the rebalance?)",
                  jint(sta.kaf, "rebalances"));
    cr_assert_gt(jint(stb.kaf, "rebalances"), 0);
    cr_assert_gt(jint(sta.kaf, "kafka_records"), 0);
    cr_assert_lt(jint(sta.kaf, "kafka_records"), lines, "A read everything: B took over nothing");
    cr_assert_gt(jint(stb.kaf, "kafka_records"), 0, "B consumed nothing: A was done first");
    cr_assert_gt(jint(stb.kaf, "rebuilt_partitions"), 0,
                 "B rebuilt no partition's state from the records before the committed offset");
    cr_assert_geq(jint(sta.kaf, "kafka_records") + jint(stb.kaf, "kafka_records"), lines);
    /* No assert_group_committed here: the mock refuses every OffsetCommit
     * while a rebalance is in progress (real brokers accept them from
     * current members then), so when A and B finish close together the
     * last one's final commit may be refused by the rebalance the first
     * one's exit started. */

    struct incs a = load_incidents(sa, NULL), b = load_incidents(sb, NULL);
    assert_unique_ids(&a, "A");
    assert_unique_ids(&b, "B");
    struct incs u = union_max(&a, &b);
    assert_same_incidents(&u, &clean, "A and B together vs one process");
    incs_free(&u);
    incs_free(&a);
    incs_free(&b);
    incs_free(&clean);
    stats_free(&sta);
    stats_free(&stb);
    stats_free(&stc);
}
