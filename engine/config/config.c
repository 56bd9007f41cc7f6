/*
 * config.c - load and validate corral.yaml (see config.h and
 * configs/corral.yaml, the annotated reference).
 *
 * Validation is exhaustive: a bad config gets every problem listed at once,
 * each with its line, because an operator fixing a config over a slow
 * change process should not need one round trip per typo.
 *
 * Every key is described once, in the table `keys` below: its section and
 * name, its type and range, its field, its default and what it means. The
 * table sets the defaults, checks the keys of each section, parses and
 * range-checks each value and assigns it, and prints the documentation
 * (cr_config_keys_markdown: docs/operations.md's table, checked by
 * test_config). Keys whose values are more than a scalar (topics,
 * properties, the rule paths, the input format and zone, the tenant field)
 * have a handler in the table instead of a type.
 */
#include "engine/config/config.h"
#include "base/log.h"

#include "base/yaml_doc.h"

#include <errno.h>
#include <stddef.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void set_str(char **dst, char *v)
{
    free(*dst);
    *dst = v;
}

char *cr_config_path(const struct cr_config *c, const char *p)
{
    if (p[0] == '/' || !c->dir)
        return strdup(p);
    size_t n = strlen(c->dir) + strlen(p) + 2;
    char *out = malloc(n);
    snprintf(out, n, "%s/%s", c->dir, p);
    return out;
}

int cr_parse_tz(const char *s, int *minutes)
{
    if (!strcmp(s, "UTC") || !strcmp(s, "Z") || !strcmp(s, "utc")) {
        *minutes = 0;
        return 0;
    }
    int sign;
    if (s[0] == '+')
        sign = 1;
    else if (s[0] == '-')
        sign = -1;
    else
        return -1;
    s++;
    int d[4], n = 0;
    for (; *s && n < 4; s++) {
        if (*s == ':' && n == 2)
            continue;
        if (*s < '0' || *s > '9')
            return -1;
        d[n++] = *s - '0';
    }
    if (*s || n != 4)
        return -1;
    int h = d[0] * 10 + d[1], m = d[2] * 10 + d[3];
    if (h > 14 || m > 59)
        return -1;
    *minutes = sign * (h * 60 + m);
    return 0;
}

int cr_config_set_kafka_prop(struct cr_config *c, const char *key, const char *value)
{
    for (int i = 0; i < c->nkafka_props; i++)
        if (strcmp(c->kafka_props[i][0], key) == 0) {
            set_str(&c->kafka_props[i][1], strdup(value));
            return 0;
        }
    if (c->nkafka_props == CR_MAX_KAFKA_PROPS)
        return -1;
    c->kafka_props[c->nkafka_props][0] = strdup(key);
    c->kafka_props[c->nkafka_props][1] = strdup(value);
    c->nkafka_props++;
    return 0;
}

static int set_topics(struct cr_yaml *y, yaml_node_t *n, struct cr_config *c, char *err,
                      size_t errlen)
{
    int bad = 0;
    if (!cr_yaml_is_seq(n)) {
        cr_yaml_error(y, n, err, errlen, "kafka.topics: expected a list");
        bad++;
    }
    for (int i = 0; i < cr_yaml_seq_len(n); i++) {
        yaml_node_t *t = cr_yaml_seq_at(y, n, i);
        const char *name = cr_yaml_str(t);
        enum cr_format fmt = CR_FMT_AUTO;
        if (cr_yaml_is_map(t)) {
            static const char *const tkeys[] = {"name", "format", NULL};
            bad += cr_yaml_check_keys(y, t, tkeys, "a kafka topic", err, errlen);
            name = cr_yaml_str(cr_yaml_get(y, t, "name"));
            yaml_node_t *f = cr_yaml_get(y, t, "format");
            if (f) {
                const char *fs = cr_yaml_str(f);
                int fi = fs ? cr_format_from_name(fs) : -1;
                if (fi < 0) {
                    cr_yaml_error(y, f, err, errlen,
                                  "kafka topic format: unknown format '%s' (supported: "
                                  "auto, syslog, rfc3164, rfc5424, json, cloudevents, raw)",
                                  fs ? fs : "");
                    bad++;
                } else
                    fmt = (enum cr_format)fi;
            }
        }
        if (!name || !*name) {
            cr_yaml_error(y, t, err, errlen, "kafka.topics: each topic needs a name");
            bad++;
            continue;
        }
        if (c->nkafka_topics == CR_MAX_TOPICS) {
            cr_yaml_error(y, t, err, errlen, "kafka.topics: at most %d topics", CR_MAX_TOPICS);
            bad++;
            break;
        }
        c->kafka_topics[c->nkafka_topics].name = strdup(name);
        c->kafka_topics[c->nkafka_topics].format = fmt;
        c->nkafka_topics++;
    }
    return bad;
}

static int set_properties(struct cr_yaml *y, yaml_node_t *n, struct cr_config *c, char *err,
                          size_t errlen)
{
    int bad = 0;
    if (!cr_yaml_is_map(n)) {
        cr_yaml_error(y, n, err, errlen,
                      "kafka.properties: expected a mapping of "
                      "librdkafka properties");
        bad++;
    }
    for (int i = 0; i < cr_yaml_map_len(n); i++) {
        yaml_node_t *kn;
        const char *k = cr_yaml_map_key(y, n, i, &kn);
        const char *val = cr_yaml_str(cr_yaml_map_value(y, n, i));
        if (!k || !val) {
            cr_yaml_error(y, kn, err, errlen, "kafka.properties: values must be scalars");
            bad++;
        } else if (cr_config_set_kafka_prop(c, k, val) != 0) {
            cr_yaml_error(y, kn, err, errlen, "kafka.properties: at most %d properties",
                          CR_MAX_KAFKA_PROPS);
            bad++;
        }
    }
    return bad;
}

static int set_rules(struct cr_yaml *y, yaml_node_t *n, struct cr_config *c, char *err,
                     size_t errlen)
{
    int bad = 0;
    if (cr_yaml_str(n) && !cr_yaml_is_null(n)) {
        c->rule_paths[c->nrule_paths++] = cr_config_path(c, cr_yaml_str(n));
    } else if (cr_yaml_is_seq(n)) {
        for (int i = 0; i < cr_yaml_seq_len(n); i++) {
            yaml_node_t *it = cr_yaml_seq_at(y, n, i);
            const char *s = cr_yaml_str(it);
            if (!s || !*s) {
                cr_yaml_error(y, it, err, errlen, "rules: expected a file or directory path");
                bad++;
            } else if (c->nrule_paths == CR_MAX_RULE_PATHS) {
                cr_yaml_error(y, it, err, errlen, "rules: at most %d paths", CR_MAX_RULE_PATHS);
                bad++;
                break;
            } else
                c->rule_paths[c->nrule_paths++] = cr_config_path(c, s);
        }
    } else {
        cr_yaml_error(y, n, err, errlen, "rules: expected a path or a list of paths");
        bad++;
    }
    return bad;
}

static int set_tenant_field(struct cr_yaml *y, yaml_node_t *n, struct cr_config *c, char *err,
                            size_t errlen)
{
    int bad = 0;
    /* a field name as rules write it: a builtin, a capture, a JSON path */
    const char *f = cr_yaml_is_null(n) ? NULL : cr_yaml_str(n);
    size_t i = 0;
    while (f && f[i] &&
           (f[i] == '_' || f[i] == '.' || f[i] == '-' || (f[i] >= 'a' && f[i] <= 'z') ||
            (f[i] >= 'A' && f[i] <= 'Z') || (f[i] >= '0' && f[i] <= '9')))
        i++;
    if (!f || !*f || f[i]) {
        cr_yaml_error(y, n, err, errlen,
                      "correlation.tenant_field: expected a field name (letters, "
                      "digits, '_', '.', '-')");
        bad++;
    } else
        set_str(&c->tenant_field, strdup(f));
    return bad;
}

static int set_asset_fields(struct cr_yaml *y, yaml_node_t *n, struct cr_config *c, char *err,
                            size_t errlen)
{
    char buf[512] = "";
    int len = cr_yaml_seq_len(n);
    if (!cr_yaml_is_seq(n) || len < 1) {
        cr_yaml_error(y, n, err, errlen, "asset_fields: expected a list of field names");
        return 1;
    }
    for (int i = 0; i < len; i++) {
        yaml_node_t *it = cr_yaml_seq_at(y, n, i);
        const char *f = cr_yaml_str(it);
        if (!f || !*f || strchr(f, ',') || strlen(buf) + strlen(f) + 2 > sizeof buf) {
            cr_yaml_error(y, it, err, errlen, "asset_fields: expected a field name");
            return 1;
        }
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "," : "", f);
    }
    set_str(&c->asset_fields, strdup(buf));
    return 0;
}

static int set_format(struct cr_yaml *y, yaml_node_t *n, struct cr_config *c, char *err,
                      size_t errlen)
{
    const char *s = cr_yaml_str(n);
    int f = s ? cr_format_from_name(s) : -1;
    if (f < 0) {
        cr_yaml_error(y, n, err, errlen,
                      "input.format: unknown format '%s' (supported: auto, syslog, rfc3164, "
                      "rfc5424, json, cloudevents, raw)",
                      s ? s : "");
        return 1;
    }
    c->format = (enum cr_format)f;
    return 0;
}

static int set_log_format(struct cr_yaml *y, yaml_node_t *n, struct cr_config *c, char *err,
                          size_t errlen)
{
    const char *s = cr_yaml_str(n);
    if (cr_log_parse_format(s, &c->log_json) != 0) {
        cr_yaml_error(y, n, err, errlen, "log.format: '%s' is not text or json", s ? s : "");
        return 1;
    }
    return 0;
}

static int set_timezone(struct cr_yaml *y, yaml_node_t *n, struct cr_config *c, char *err,
                        size_t errlen)
{
    const char *s = cr_yaml_str(n);
    if (!s || cr_parse_tz(s, &c->tz_offset_min) != 0) {
        cr_yaml_error(y, n, err, errlen, "input.timezone: '%s' is not a zone (UTC, +08:00, -05:30)",
                      s ? s : "");
        return 1;
    }
    return 0;
}

enum key_type {
    K_INT,      /* an integer in [min, max] */
    K_SIZE,     /* bytes ("64KiB"), in [min, max] */
    K_DURATION, /* milliseconds ("500ms", "30s"), at least min */
    K_STR,      /* a non-empty string (strdup'd) */
    K_PATH,     /* a path, relative to the config's directory */
    K_CUSTOM,   /* the handler's */
};

#define KEY_NULLABLE 1u /* null keeps the default (NULL for a string) */
#define KEY_CLAMP 2u    /* a value below min is raised to it, not refused */

struct key {
    const char *section; /* NULL: a top-level key */
    const char *name;
    enum key_type type;
    int64_t min, max;
    size_t off, size;    /* the field of struct cr_config (size: 4 or 8 for numbers) */
    int64_t def;         /* numeric default */
    const char *def_str; /* string default (strdup'd), or NULL */
    unsigned flags;
    const char *expect; /* K_STR, K_PATH: what a bad value should have been */
    int (*custom)(struct cr_yaml *, yaml_node_t *, struct cr_config *, char *, size_t);
    const char *shown; /* the default as the docs show it, when not the value itself */
    const char *doc;
};

#define F(field) offsetof(struct cr_config, field), sizeof(((struct cr_config *)0)->field)
#define NOF 0, 0
#define KiB 1024LL
#define MiB (1024LL * 1024)
#define GiB (1024LL * 1024 * 1024)

static const struct key keys[] = {
    {"engine", "workers", K_INT, 1, 64, F(workers), 2, NULL, 0, NULL, NULL, NULL,
     "parse+match threads"},
    {"engine", "shards", K_INT, 1, 64, F(shards), 2, NULL, 0, NULL, NULL, NULL,
     "correlation threads (each owns the state of its keys)"},
    {"engine", "batch_size", K_SIZE, 4 * KiB, 256 * MiB, F(batch_bytes), 1 * MiB, NULL, 0, NULL,
     NULL, NULL, "input bytes per batch"},
    {"engine", "batches", K_INT, 2, 4096, F(batches), 16, NULL, 0, NULL, NULL, NULL,
     "batches in flight: memory bound = batches × batch_size"},
    {"engine", "queue_depth", K_INT, 16, 1 << 20, F(queue_depth), 4096, NULL, 0, NULL, NULL, NULL,
     "match records per worker→shard ring"},
    {"engine", "pid_file", K_PATH, 0, 0, F(pid_file), 0, NULL, KEY_NULLABLE,
     "expected a file path or null", NULL, "`<store>/corral.pid`",
     "`corral run` writes its pid (and, on line 2, the config it reloads) here; `corral reload` "
     "reads it. The reload status is `<pid_file>.status`"},
    {"log", "format", K_CUSTOM, 0, 0, NOF, 0, NULL, 0, NULL, set_log_format, "text",
     "the lines `run` and `serve` write on stderr, each with its time and level: text, or json "
     "(one object per line: time, level, msg); CORRAL_LOG_FORMAT overrides it"},
    {"input", "format", K_CUSTOM, 0, 0, NOF, 0, NULL, 0, NULL, set_format, "auto",
     "auto, syslog, rfc3164, rfc5424, json, cloudevents, raw"},
    {"input", "timezone", K_CUSTOM, 0, 0, NOF, 0, NULL, 0, NULL, set_timezone, "UTC",
     "zone of stamps without one (RFC 3164); many network devices log in local time (`+08:00`)"},
    {"input", "year", K_INT, 1970, 9999, F(year), 0, NULL, KEY_NULLABLE, NULL, NULL, "null",
     "year of RFC 3164 stamps; null infers it (see architecture.md, Event time); set it when "
     "replaying old logs"},
    {"input", "max_record_size", K_SIZE, 256, 16 * MiB, F(max_record_bytes), 64 * KiB, NULL, 0,
     NULL, NULL, NULL, "longer records are cut, flagged, counted and kept raw"},
    {"input", "checkpoint_records", K_INT, 1, INT64_MAX, F(checkpoint_records), 100000, NULL, 0,
     NULL, NULL, NULL, "with `--resume`: records between checkpoints of a file or stdin"},
    {NULL, "rules", K_CUSTOM, 0, 0, NOF, 0, NULL, 0, NULL, set_rules, "—",
     "rule files or directories"},
    {NULL, "rule_cache", K_PATH, 0, 0, F(rule_cache), 0, NULL, KEY_NULLABLE,
     "expected a directory path or null", NULL, "`<store>/hs-cache`",
     "compiled Hyperscan databases; safe to delete (recompiled on start)"},
    {NULL, "assets", K_PATH, 0, 0, F(assets_path), 0, NULL, KEY_NULLABLE,
     "expected a file path or null", NULL, "null",
     "the asset inventory (`configs/assets.yaml`; format in `engine/assets/inventory.h`): "
     "tenants, business systems with their 等保 level, CII flag and portal class, assets and "
     "what they depend on; refused with `file:line: reason` like the config"},
    {NULL, "asset_fields", K_CUSTOM, 0, 0, F(asset_fields), 0, "ups,device,dst_ip,host,tenant_id",
     0, NULL, set_asset_fields, "`[ups, device, dst_ip, host, tenant_id]`",
     "the fields of a matching record whose value names its asset (a host name, an address, a "
     "cloud account, a namespace), tried in order; the first the inventory knows is the "
     "record's asset"},
    {NULL, "grading", K_PATH, 0, 0, F(grading_path), 0, NULL, KEY_NULLABLE,
     "expected a file path or null", NULL, "null",
     "the grading policy (`configs/grading.yaml`; every [P] number of DOMAIN.md (b)); null = "
     "the built-in defaults, which that file repeats"},
    {"correlation", "max_keys_per_shard", K_INT, 1000, INT64_MAX, F(max_keys_per_shard), 1000000,
     NULL, 0, NULL, NULL, NULL,
     "correlation state bound; beyond it the least recently used states are evicted and counted"},
    {"correlation", "allowed_lateness", K_DURATION, 0, INT64_MAX, F(allowed_lateness_ms), 10000,
     NULL, 0, NULL, NULL, NULL,
     "matches wait until every input's event time is this far past them, then are correlated in "
     "event-time order; a record later than this behind a newer record of its input is *late* "
     "(counted, kept in `rejects`, evidence only). Larger: more disorder tolerated, incidents "
     "open later (live) and more matches held"},
    {"correlation", "source_idle", K_DURATION, 0, INT64_MAX, F(source_idle_ms), 300000, NULL, 0,
     NULL, NULL, NULL,
     "an input whose newest time trails the newest input by more than this stops holding the "
     "watermark back (its records then risk being late); 0 = never"},
    {"correlation", "idle_release", K_DURATION, 0, INT64_MAX, F(idle_release_ms), 60000, NULL, 0,
     NULL, NULL, NULL,
     "Kafka runs: when no partition has delivered a record for this long (wall clock), every "
     "held match is correlated at once and event time moves to the newest record, so the "
     "incidents of a burst followed by silence open without waiting for new data "
     "(`idle_releases`). A record that arrives afterwards older than that newest record is "
     "late. 0 = never (strict replay equality, incidents wait for the next records)"},
    {"correlation", "reorder_max_bytes", K_SIZE, 1 * MiB, INT64_MAX, F(reorder_max_bytes), 64 * MiB,
     NULL, KEY_CLAMP, NULL, NULL, NULL,
     "per shard, memory for held matches; past it the oldest are correlated early and counted "
     "(`reorder_forced`); at least 1MiB"},
    {"correlation", "tenant_field", K_CUSTOM, 0, 0, F(tenant_field), 0, "tenant_id", 0, NULL,
     set_tenant_field, NULL,
     "the field that names a record's tenant unit (a CloudTrail account, a GCP project): a "
     "builtin field or one a rule uses (a capture, a JSON path, a `group_by` field); with a "
     "budget set and a field no rule knows, corral says so at start and no match has a tenant"},
    {"correlation", "max_keys_per_tenant", K_INT, 0, INT64_MAX, F(max_keys_per_tenant), 0, NULL, 0,
     NULL, NULL, "0 (off)",
     "per shard and tenant: past it, the tenant's own least recently touched state is evicted "
     "and counted (never another tenant's); see rules.md, `max_keys`"},
    {"store", "path", K_PATH, 0, 0, F(store_path), 0, "corral-data", 0, "expected a directory path",
     NULL, "./corral-data", "LMDB directory (`--store` overrides)"},
    {"store", "map_size", K_SIZE, 1 * MiB, INT64_MAX, F(map_size), 1 * GiB, NULL, 0, NULL, NULL,
     NULL, "the store cannot grow past it"},
    {"store", "commit_interval", K_DURATION, 0, INT64_MAX, F(commit_interval_ms), 200, NULL, 0,
     NULL, NULL, NULL, "incidents are committed at least this often"},
    {"store", "max_rejects", K_INT, 0, INT64_MAX, F(max_rejects), 100000, NULL, 0, NULL, NULL, NULL,
     "raw records kept in `rejects`; beyond, counted only"},
    {"kafka", "brokers", K_STR, 0, 0, F(kafka_brokers), 0, NULL, 0,
     "expected host:port[,host:port...]", NULL, "—", "bootstrap servers (`--brokers`)"},
    {"kafka", "group", K_STR, 0, 0, F(kafka_group), 0, "corral", 0, "expected a consumer group id",
     NULL, NULL, "consumer group id (`--group`)"},
    {"kafka", "topics", K_CUSTOM, 0, 0, NOF, 0, NULL, 0, NULL, set_topics, "—",
     "list of `{name, format}` (`--topic NAME[:FORMAT]`); format as `input.format`, "
     "`cloudevents` for CloudEvents in either Kafka binding mode"},
    {"kafka", "properties", K_CUSTOM, 0, 0, NOF, 0, NULL, 0, NULL, set_properties, "—",
     "librdkafka properties passed through (TLS, SASL, fetch sizes, `session.timeout.ms`, ...; "
     "`-X k=v`). `enable.auto.offset.store` is always false: offsets are stored only once "
     "durable"},
    {"kafka", "checkpoint_interval", K_DURATION, 10, INT64_MAX, F(checkpoint_interval_ms), 1000,
     NULL, 0, NULL, NULL, NULL,
     "how often state + offsets become durable together; a crash replays at most this much"},
    {"kafka", "rebuild_records", K_INT, 0, INT64_MAX, F(rebuild_records), 100000, NULL, 0, NULL,
     NULL, NULL,
     "records per partition replayed to rebuild state for a partition taken over from another "
     "member"},
    {"kafka", "output_topic", K_STR, 0, 0, F(kafka_output_topic), 0, NULL, KEY_NULLABLE,
     "expected a topic name or null", NULL, "null",
     "also produce every committed incident version as JSON, keyed by id (`--output-topic`)"},
    {"kafka", "stats_interval", K_DURATION, 0, INT64_MAX, F(stats_interval_ms), 10000, NULL, 0,
     NULL, NULL, NULL,
     "progress line on stderr (records, checkpoints, paused time, lag per partition)"},
    {"serve", "listen", K_STR, 0, 0, F(serve_listen), 0, NULL, KEY_NULLABLE,
     "expected HOST:PORT (127.0.0.1:8780) or null", NULL, "null (off)",
     "`corral run` also serves the HTTP API, the web page, `/healthz` and `/metrics` here "
     "while it runs (`corral serve` listens on 127.0.0.1:8780 when this is null); bind "
     "beyond 127.0.0.1 only behind TLS"},
    {"serve", "tokens", K_PATH, 0, 0, F(serve_tokens), 0, NULL, KEY_NULLABLE,
     "expected a file path or null", NULL, "null",
     "the API's bearer tokens with their roles (`configs/tokens.example.yaml`; "
     "`engine/serve/tokens.h`); required to serve"},
    {"serve", "audit_log", K_PATH, 0, 0, F(serve_audit_log), 0, NULL, KEY_NULLABLE,
     "expected a file path or null", NULL, "`<store>/audit.log`",
     "the append-only, hash-chained record of every API request (`corral audit verify`)"},
    {"serve", "tls_cert", K_PATH, 0, 0, F(serve_tls_cert), 0, NULL, KEY_NULLABLE,
     "expected a file path or null", NULL, "null", "PEM certificate: with `tls_key`, HTTPS"},
    {"serve", "tls_key", K_PATH, 0, 0, F(serve_tls_key), 0, NULL, KEY_NULLABLE,
     "expected a file path or null", NULL, "null", "PEM private key of `tls_cert`"},
    {"serve", "threads", K_INT, 1, 64, F(serve_threads), 4, NULL, 0, NULL, NULL, NULL,
     "HTTP handler threads (each reads the store in its own read transaction)"},
};
#define NKEYS (sizeof keys / sizeof keys[0])

static const char *const sections[] = {"engine", "input", "correlation", "store",
                                       "kafka",  "serve", "log"};
#define NSECTIONS (sizeof sections / sizeof sections[0])

static void put_num(struct cr_config *c, const struct key *k, int64_t v)
{
    char *f = (char *)c + k->off;
    if (k->size == 4) {
        int32_t x = (int32_t)v;
        memcpy(f, &x, 4);
    } else
        memcpy(f, &v, 8);
}

static char **str_field(struct cr_config *c, const struct key *k)
{
    return (char **)(void *)((char *)c + k->off);
}

void cr_config_defaults(struct cr_config *c)
{
    memset(c, 0, sizeof *c);
    c->format = CR_FMT_AUTO;
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        if (k->type == K_INT || k->type == K_SIZE || k->type == K_DURATION)
            put_num(c, k, k->def);
        else if (k->def_str)
            *str_field(c, k) = strdup(k->def_str);
    }
}

/* "4KiB", "256MiB", "1GiB", or bytes. */
static void fmt_size(char *out, size_t cap, int64_t v)
{
    if (v >= GiB && v % GiB == 0)
        snprintf(out, cap, "%lldGiB", (long long)(v / GiB));
    else if (v >= MiB && v % MiB == 0)
        snprintf(out, cap, "%lldMiB", (long long)(v / MiB));
    else if (v >= KiB && v % KiB == 0)
        snprintf(out, cap, "%lldKiB", (long long)(v / KiB));
    else
        snprintf(out, cap, "%lld", (long long)v);
}

/* "200ms", "10s", "5m", "2h". */
static void fmt_duration(char *out, size_t cap, int64_t ms)
{
    if (ms >= 3600000 && ms % 3600000 == 0)
        snprintf(out, cap, "%lldh", (long long)(ms / 3600000));
    else if (ms >= 300000 && ms % 60000 == 0)
        snprintf(out, cap, "%lldm", (long long)(ms / 60000));
    else if (ms >= 1000 && ms % 1000 == 0)
        snprintf(out, cap, "%llds", (long long)(ms / 1000));
    else
        snprintf(out, cap, "%lldms", (long long)ms);
}

static int load_key(struct cr_yaml *y, yaml_node_t *n, const struct key *k, struct cr_config *c,
                    char *err, size_t errlen)
{
    char what[64];
    snprintf(what, sizeof what, "%s%s%s", k->section ? k->section : "", k->section ? "." : "",
             k->name);
    if ((k->flags & KEY_NULLABLE) && cr_yaml_is_null(n))
        return 0;
    int64_t v;
    uint64_t u;
    char lo[32], hi[32];
    switch (k->type) {
    case K_INT:
        if (cr_yaml_int(y, n, what, k->min, k->max, &v, err, errlen) != 0)
            return 1;
        put_num(c, k, v);
        return 0;
    case K_SIZE:
        if (cr_yaml_size(y, n, what, &u, err, errlen) != 0)
            return 1;
        if (u < (uint64_t)k->min && (k->flags & KEY_CLAMP))
            u = (uint64_t)k->min;
        if (u < (uint64_t)k->min || u > (uint64_t)k->max) {
            fmt_size(lo, sizeof lo, k->min);
            fmt_size(hi, sizeof hi, k->max);
            if (k->max == INT64_MAX)
                cr_yaml_error(y, n, err, errlen, "%s must be at least %s", what, lo);
            else
                cr_yaml_error(y, n, err, errlen, "%s must be between %s and %s", what, lo, hi);
            return 1;
        }
        put_num(c, k, (int64_t)u);
        return 0;
    case K_DURATION:
        if (cr_yaml_duration_ms(y, n, what, &v, err, errlen) != 0)
            return 1;
        if (v < k->min) {
            fmt_duration(lo, sizeof lo, k->min);
            cr_yaml_error(y, n, err, errlen, "%s must be at least %s", what, lo);
            return 1;
        }
        put_num(c, k, v);
        return 0;
    case K_STR:
    case K_PATH: {
        const char *s = cr_yaml_str(n);
        if (!s || !*s) {
            cr_yaml_error(y, n, err, errlen, "%s: %s", what, k->expect);
            return 1;
        }
        set_str(str_field(c, k), k->type == K_PATH ? cr_config_path(c, s) : strdup(s));
        return 0;
    }
    case K_CUSTOM:
        return k->custom(y, n, c, err, errlen);
    }
    return 1;
}

/* The keys of one section (NULL: the top level) against the table. */
static int load_section(struct cr_yaml *y, yaml_node_t *m, const char *section, struct cr_config *c,
                        char *err, size_t errlen)
{
    const char *allowed[NKEYS + NSECTIONS + 1];
    size_t na = 0;
    for (size_t i = 0; i < NKEYS; i++)
        if ((keys[i].section == NULL) == (section == NULL) &&
            (!section || strcmp(keys[i].section, section) == 0))
            allowed[na++] = keys[i].name;
    if (!section)
        for (size_t i = 0; i < NSECTIONS; i++)
            allowed[na++] = sections[i];
    allowed[na] = NULL;
    int bad = cr_yaml_check_keys(y, m, allowed, section ? section : "the config", err, errlen);
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        if ((k->section == NULL) != (section == NULL) || (section && strcmp(k->section, section)))
            continue;
        yaml_node_t *n = cr_yaml_get(y, m, k->name);
        if (n)
            bad += load_key(y, n, k, c, err, errlen);
    }
    return bad;
}

void cr_config_keys_markdown(FILE *f)
{
    fprintf(f, "| key | default | meaning |\n|---|---|---|\n");
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        char def[64];
        if (k->shown)
            snprintf(def, sizeof def, "%s", k->shown);
        else if (k->type == K_SIZE)
            fmt_size(def, sizeof def, k->def);
        else if (k->type == K_DURATION)
            fmt_duration(def, sizeof def, k->def);
        else if (k->type == K_INT)
            snprintf(def, sizeof def, "%lld", (long long)k->def);
        else
            snprintf(def, sizeof def, "%s", k->def_str ? k->def_str : "—");
        fprintf(f, "| `%s%s%s` | %s | %s |\n", k->section ? k->section : "", k->section ? "." : "",
                k->name, def, k->doc);
    }
}

void cr_config_free(struct cr_config *c)
{
    free(c->file);
    free(c->dir);
    for (int i = 0; i < c->nrule_paths; i++)
        free(c->rule_paths[i]);
    free(c->rule_cache);
    free(c->assets_path);
    free(c->asset_fields);
    free(c->grading_path);
    free(c->serve_listen);
    free(c->serve_tokens);
    free(c->serve_audit_log);
    free(c->serve_tls_cert);
    free(c->serve_tls_key);
    free(c->store_path);
    free(c->pid_file);
    free(c->kafka_brokers);
    free(c->kafka_group);
    for (int i = 0; i < c->nkafka_topics; i++)
        free(c->kafka_topics[i].name);
    free(c->kafka_output_topic);
    free(c->tenant_field);
    for (int i = 0; i < c->nkafka_props; i++) {
        free(c->kafka_props[i][0]);
        free(c->kafka_props[i][1]);
    }
    memset(c, 0, sizeof *c);
}

int cr_config_default_rule_cache(struct cr_config *c, char *err, size_t errlen)
{
    if (c->rule_cache)
        return 0;
    int rc = 0;
    if (mkdir(c->store_path, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", c->store_path, strerror(errno));
        rc = -1;
    }
    size_t n = strlen(c->store_path) + sizeof "/hs-cache";
    c->rule_cache = malloc(n);
    if (!c->rule_cache)
        abort();
    snprintf(c->rule_cache, n, "%s/hs-cache", c->store_path);
    return rc;
}

int cr_config_load(const char *path, struct cr_config *c, char *err, size_t errlen)
{
    cr_config_defaults(c);
    if (err && errlen)
        err[0] = 0;
    c->file = strdup(path);
    char *tmp = strdup(path);
    c->dir = strdup(dirname(tmp));
    free(tmp);
    /* the default store path is relative to where corral runs, not to the
     * config: keep it as is unless the file sets one. */

    struct cr_yaml *y = cr_yaml_load(path, err, errlen);
    if (!y)
        return -1;
    yaml_node_t *root = cr_yaml_root(y);
    if (y->dup_line) {
        char why[128];
        snprintf(err, errlen, "%s:%d: %s", y->file, y->dup_line,
                 cr_yaml_dup_reason(y, why, sizeof why));
        cr_yaml_free(y);
        return -1;
    }
    if (!cr_yaml_is_map(root)) {
        cr_yaml_error(y, root, err, errlen, "the config must be a mapping of sections");
        cr_yaml_free(y);
        return -1;
    }
    int bad = load_section(y, root, NULL, c, err, errlen);
    for (size_t i = 0; i < NSECTIONS; i++) {
        yaml_node_t *n = cr_yaml_get(y, root, sections[i]);
        if (!n)
            continue;
        if (!cr_yaml_is_map(n)) {
            cr_yaml_error(y, n, err, errlen, "%s: expected a mapping", sections[i]);
            bad++;
        } else
            bad += load_section(y, n, sections[i], c, err, errlen);
    }
    if (c->nrule_paths == 0) {
        cr_yaml_error(y, root, err, errlen, "rules: no rule files configured");
        bad++;
    }
    if (c->max_record_bytes > c->batch_bytes / 2) {
        cr_yaml_error(y, root, err, errlen,
                      "input.max_record_size (%u) must be at most half of engine.batch_size (%zu)",
                      c->max_record_bytes, c->batch_bytes);
        bad++;
    }
    cr_yaml_free(y);
    return bad ? -1 : 0;
}
