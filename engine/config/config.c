/*
 * config.c - load and validate corral.yaml (see config.h and
 * configs/corral.yaml, the annotated reference).
 *
 * Validation is exhaustive: a bad config gets every problem listed at once,
 * each with its line, because an operator fixing a config over a slow
 * change process should not need one round trip per typo.
 */
#include "engine/config/config.h"

#include "base/yaml_doc.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void cr_config_defaults(struct cr_config *c)
{
    memset(c, 0, sizeof *c);
    c->workers = 2;
    c->shards = 2;
    c->batch_bytes = 1u << 20;
    c->batches = 16;
    c->queue_depth = 4096;
    c->format = CR_FMT_AUTO;
    c->tz_offset_min = 0;
    c->year = 0;
    c->max_record_bytes = 64 * 1024;
    c->checkpoint_records = 100000;
    c->max_keys_per_shard = 1000000;
    c->allowed_lateness_ms = 10000;
    c->source_idle_ms = 300000;
    c->idle_release_ms = 60000;
    c->reorder_max_bytes = 64ull << 20;
    c->tenant_field = strdup("tenant_id");
    c->max_keys_per_tenant = 0;
    c->store_path = strdup("corral-data");
    c->map_size = 1ull << 30;
    c->commit_interval_ms = 200;
    c->max_rejects = 100000;
    c->kafka_group = strdup("corral");
    c->checkpoint_interval_ms = 1000;
    c->rebuild_records = 100000;
    c->stats_interval_ms = 10000;
}

void cr_config_free(struct cr_config *c)
{
    free(c->file);
    free(c->dir);
    for (int i = 0; i < c->nrule_paths; i++)
        free(c->rule_paths[i]);
    free(c->rule_cache);
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

char *cr_config_path(const struct cr_config *c, const char *p)
{
    if (p[0] == '/' || !c->dir)
        return strdup(p);
    size_t n = strlen(c->dir) + strlen(p) + 2;
    char *out = malloc(n);
    snprintf(out, n, "%s/%s", c->dir, p);
    return out;
}

static void set_str(char **dst, char *v)
{
    free(*dst);
    *dst = v;
}

static int load_engine(struct cr_yaml *y, yaml_node_t *m, struct cr_config *c, char *err,
                       size_t errlen)
{
    static const char *const keys[] = {"workers",     "shards",   "batch_size", "batches",
                                       "queue_depth", "pid_file", NULL};
    int bad = cr_yaml_check_keys(y, m, keys, "engine", err, errlen);
    int64_t v;
    uint64_t u;
    yaml_node_t *n;
    if ((n = cr_yaml_get(y, m, "workers"))) {
        if (cr_yaml_int(y, n, "engine.workers", 1, 64, &v, err, errlen) == 0)
            c->workers = (int)v;
        else
            bad++;
    }
    if ((n = cr_yaml_get(y, m, "shards"))) {
        if (cr_yaml_int(y, n, "engine.shards", 1, 64, &v, err, errlen) == 0)
            c->shards = (int)v;
        else
            bad++;
    }
    if ((n = cr_yaml_get(y, m, "batch_size"))) {
        if (cr_yaml_size(y, n, "engine.batch_size", &u, err, errlen) != 0)
            bad++;
        else if (u < 4096 || u > (256u << 20)) {
            cr_yaml_error(y, n, err, errlen, "engine.batch_size must be between 4KiB and 256MiB");
            bad++;
        } else
            c->batch_bytes = u;
    }
    if ((n = cr_yaml_get(y, m, "batches"))) {
        if (cr_yaml_int(y, n, "engine.batches", 2, 4096, &v, err, errlen) == 0)
            c->batches = (int)v;
        else
            bad++;
    }
    if ((n = cr_yaml_get(y, m, "queue_depth"))) {
        if (cr_yaml_int(y, n, "engine.queue_depth", 16, 1 << 20, &v, err, errlen) == 0)
            c->queue_depth = (int)v;
        else
            bad++;
    }
    if ((n = cr_yaml_get(y, m, "pid_file")) && !cr_yaml_is_null(n)) {
        const char *s = cr_yaml_str(n);
        if (!s || !*s) {
            cr_yaml_error(y, n, err, errlen, "engine.pid_file: expected a file path or null");
            bad++;
        } else
            set_str(&c->pid_file, cr_config_path(c, s));
    }
    return bad;
}

static int load_input(struct cr_yaml *y, yaml_node_t *m, struct cr_config *c, char *err,
                      size_t errlen)
{
    static const char *const keys[] = {"format",          "timezone",           "year",
                                       "max_record_size", "checkpoint_records", NULL};
    int bad = cr_yaml_check_keys(y, m, keys, "input", err, errlen);
    yaml_node_t *n;
    int64_t v;
    uint64_t u;
    if ((n = cr_yaml_get(y, m, "format"))) {
        const char *s = cr_yaml_str(n);
        int f = s ? cr_format_from_name(s) : -1;
        if (f < 0) {
            cr_yaml_error(y, n, err, errlen,
                          "input.format: unknown format '%s' (supported: auto, syslog, rfc3164, "
                          "rfc5424, json, cloudevents, raw)",
                          s ? s : "");
            bad++;
        } else
            c->format = (enum cr_format)f;
    }
    if ((n = cr_yaml_get(y, m, "timezone"))) {
        const char *s = cr_yaml_str(n);
        if (!s || cr_parse_tz(s, &c->tz_offset_min) != 0) {
            cr_yaml_error(y, n, err, errlen,
                          "input.timezone: '%s' is not a zone (UTC, +08:00, -05:30)", s ? s : "");
            bad++;
        }
    }
    if ((n = cr_yaml_get(y, m, "year")) && !cr_yaml_is_null(n)) {
        if (cr_yaml_int(y, n, "input.year", 1970, 9999, &v, err, errlen) == 0)
            c->year = (int)v;
        else
            bad++;
    }
    if ((n = cr_yaml_get(y, m, "checkpoint_records"))) {
        if (cr_yaml_int(y, n, "input.checkpoint_records", 1, INT64_MAX, &v, err, errlen) == 0)
            c->checkpoint_records = (uint64_t)v;
        else
            bad++;
    }
    if ((n = cr_yaml_get(y, m, "max_record_size"))) {
        if (cr_yaml_size(y, n, "input.max_record_size", &u, err, errlen) != 0)
            bad++;
        else if (u < 256 || u > (16u << 20)) {
            cr_yaml_error(y, n, err, errlen, "input.max_record_size must be between 256 and 16MiB");
            bad++;
        } else
            c->max_record_bytes = (uint32_t)u;
    }
    return bad;
}

static int load_store(struct cr_yaml *y, yaml_node_t *m, struct cr_config *c, char *err,
                      size_t errlen)
{
    static const char *const keys[] = {"path", "map_size", "commit_interval", "max_rejects", NULL};
    int bad = cr_yaml_check_keys(y, m, keys, "store", err, errlen);
    yaml_node_t *n;
    int64_t v;
    uint64_t u;
    if ((n = cr_yaml_get(y, m, "path"))) {
        const char *s = cr_yaml_str(n);
        if (!s || !*s) {
            cr_yaml_error(y, n, err, errlen, "store.path: expected a directory path");
            bad++;
        } else
            set_str(&c->store_path, cr_config_path(c, s));
    }
    if ((n = cr_yaml_get(y, m, "map_size"))) {
        if (cr_yaml_size(y, n, "store.map_size", &u, err, errlen) != 0)
            bad++;
        else if (u < (1u << 20)) {
            cr_yaml_error(y, n, err, errlen, "store.map_size must be at least 1MiB");
            bad++;
        } else
            c->map_size = u;
    }
    if ((n = cr_yaml_get(y, m, "commit_interval"))) {
        if (cr_yaml_duration_ms(y, n, "store.commit_interval", &v, err, errlen) == 0)
            c->commit_interval_ms = v;
        else
            bad++;
    }
    if ((n = cr_yaml_get(y, m, "max_rejects"))) {
        if (cr_yaml_int(y, n, "store.max_rejects", 0, INT64_MAX, &v, err, errlen) == 0)
            c->max_rejects = (uint64_t)v;
        else
            bad++;
    }
    return bad;
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

static int load_kafka(struct cr_yaml *y, yaml_node_t *m, struct cr_config *c, char *err,
                      size_t errlen)
{
    static const char *const keys[] = {"brokers",
                                       "group",
                                       "topics",
                                       "output_topic",
                                       "checkpoint_interval",
                                       "stats_interval",
                                       "properties",
                                       "rebuild_records",
                                       NULL};
    int bad = cr_yaml_check_keys(y, m, keys, "kafka", err, errlen);
    yaml_node_t *n;
    int64_t v;
    if ((n = cr_yaml_get(y, m, "brokers"))) {
        const char *s = cr_yaml_str(n);
        if (!s || !*s) {
            cr_yaml_error(y, n, err, errlen, "kafka.brokers: expected host:port[,host:port...]");
            bad++;
        } else
            set_str(&c->kafka_brokers, strdup(s));
    }
    if ((n = cr_yaml_get(y, m, "group"))) {
        const char *s = cr_yaml_str(n);
        if (!s || !*s) {
            cr_yaml_error(y, n, err, errlen, "kafka.group: expected a consumer group id");
            bad++;
        } else
            set_str(&c->kafka_group, strdup(s));
    }
    if ((n = cr_yaml_get(y, m, "output_topic")) && !cr_yaml_is_null(n)) {
        const char *s = cr_yaml_str(n);
        if (!s || !*s) {
            cr_yaml_error(y, n, err, errlen, "kafka.output_topic: expected a topic name or null");
            bad++;
        } else
            set_str(&c->kafka_output_topic, strdup(s));
    }
    if ((n = cr_yaml_get(y, m, "checkpoint_interval"))) {
        if (cr_yaml_duration_ms(y, n, "kafka.checkpoint_interval", &v, err, errlen) != 0)
            bad++;
        else if (v < 10) {
            cr_yaml_error(y, n, err, errlen, "kafka.checkpoint_interval must be at least 10ms");
            bad++;
        } else
            c->checkpoint_interval_ms = v;
    }
    if ((n = cr_yaml_get(y, m, "rebuild_records"))) {
        if (cr_yaml_int(y, n, "kafka.rebuild_records", 0, INT64_MAX, &v, err, errlen) == 0)
            c->rebuild_records = v;
        else
            bad++;
    }
    if ((n = cr_yaml_get(y, m, "stats_interval"))) {
        if (cr_yaml_duration_ms(y, n, "kafka.stats_interval", &v, err, errlen) == 0)
            c->stats_interval_ms = v;
        else
            bad++;
    }
    if ((n = cr_yaml_get(y, m, "topics"))) {
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
    }
    if ((n = cr_yaml_get(y, m, "properties"))) {
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
    }
    return bad;
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
    int bad = 0;
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
    static const char *const top[] = {"engine",      "input", "rules", "rule_cache",
                                      "correlation", "store", "kafka", NULL};
    bad += cr_yaml_check_keys(y, root, top, "the config", err, errlen);

    yaml_node_t *n;
    if ((n = cr_yaml_get(y, root, "engine"))) {
        if (!cr_yaml_is_map(n)) {
            cr_yaml_error(y, n, err, errlen, "engine: expected a mapping");
            bad++;
        } else
            bad += load_engine(y, n, c, err, errlen);
    }
    if ((n = cr_yaml_get(y, root, "input"))) {
        if (!cr_yaml_is_map(n)) {
            cr_yaml_error(y, n, err, errlen, "input: expected a mapping");
            bad++;
        } else
            bad += load_input(y, n, c, err, errlen);
    }
    if ((n = cr_yaml_get(y, root, "kafka"))) {
        if (!cr_yaml_is_map(n)) {
            cr_yaml_error(y, n, err, errlen, "kafka: expected a mapping");
            bad++;
        } else
            bad += load_kafka(y, n, c, err, errlen);
    }
    if ((n = cr_yaml_get(y, root, "store"))) {
        if (!cr_yaml_is_map(n)) {
            cr_yaml_error(y, n, err, errlen, "store: expected a mapping");
            bad++;
        } else
            bad += load_store(y, n, c, err, errlen);
    }
    if ((n = cr_yaml_get(y, root, "rules"))) {
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
    }
    if ((n = cr_yaml_get(y, root, "rule_cache")) && !cr_yaml_is_null(n)) {
        const char *s = cr_yaml_str(n);
        if (!s || !*s) {
            cr_yaml_error(y, n, err, errlen, "rule_cache: expected a directory path or null");
            bad++;
        } else
            set_str(&c->rule_cache, cr_config_path(c, s));
    }
    if ((n = cr_yaml_get(y, root, "correlation"))) {
        static const char *const keys[] = {
            "max_keys_per_shard", "allowed_lateness",    "source_idle",  "reorder_max_bytes",
            "tenant_field",       "max_keys_per_tenant", "idle_release", NULL};
        bad += cr_yaml_check_keys(y, n, keys, "correlation", err, errlen);
        yaml_node_t *k = cr_yaml_get(y, n, "max_keys_per_shard");
        int64_t v;
        if (k) {
            if (cr_yaml_int(y, k, "correlation.max_keys_per_shard", 1000, INT64_MAX, &v, err,
                            errlen) == 0)
                c->max_keys_per_shard = (uint64_t)v;
            else
                bad++;
        }
        if ((k = cr_yaml_get(y, n, "allowed_lateness"))) {
            if (cr_yaml_duration_ms(y, k, "correlation.allowed_lateness", &v, err, errlen) == 0)
                c->allowed_lateness_ms = v;
            else
                bad++;
        }
        if ((k = cr_yaml_get(y, n, "source_idle"))) {
            if (cr_yaml_duration_ms(y, k, "correlation.source_idle", &v, err, errlen) == 0)
                c->source_idle_ms = v;
            else
                bad++;
        }
        if ((k = cr_yaml_get(y, n, "idle_release"))) {
            if (cr_yaml_duration_ms(y, k, "correlation.idle_release", &v, err, errlen) == 0)
                c->idle_release_ms = v;
            else
                bad++;
        }
        if ((k = cr_yaml_get(y, n, "max_keys_per_tenant"))) {
            if (cr_yaml_int(y, k, "correlation.max_keys_per_tenant", 0, INT64_MAX, &v, err,
                            errlen) == 0)
                c->max_keys_per_tenant = (uint64_t)v;
            else
                bad++;
        }
        if ((k = cr_yaml_get(y, n, "tenant_field"))) {
            /* a field name as rules write it: a builtin, a capture, a JSON path */
            const char *f = cr_yaml_is_null(k) ? NULL : cr_yaml_str(k);
            size_t i = 0;
            while (f && f[i] &&
                   (f[i] == '_' || f[i] == '.' || f[i] == '-' || (f[i] >= 'a' && f[i] <= 'z') ||
                    (f[i] >= 'A' && f[i] <= 'Z') || (f[i] >= '0' && f[i] <= '9')))
                i++;
            if (!f || !*f || f[i]) {
                cr_yaml_error(y, k, err, errlen,
                              "correlation.tenant_field: expected a field name (letters, "
                              "digits, '_', '.', '-')");
                bad++;
            } else
                set_str(&c->tenant_field, strdup(f));
        }
        if ((k = cr_yaml_get(y, n, "reorder_max_bytes"))) {
            uint64_t sz;
            if (cr_yaml_size(y, k, "correlation.reorder_max_bytes", &sz, err, errlen) == 0)
                c->reorder_max_bytes = sz < (1u << 20) ? (1u << 20) : sz;
            else
                bad++;
        }
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
