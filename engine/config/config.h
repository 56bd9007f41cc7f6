/*
 * config.h - corral.yaml: thread counts, input defaults, rule paths, store.
 *
 * The config is read once by the main thread, validated completely (every
 * problem reported as `file:line: reason`), and then only read. Paths in the
 * file (rules, store, cache) are relative to the directory of the config
 * file, so a config and its rule pack can be moved together.
 *
 * Every key is described once, in config.c's key table: name, type, range,
 * default and meaning. The defaults, the checks and the documentation
 * (cr_config_keys_markdown, docs/operations.md) all come from it.
 *
 * Ownership: cr_config_load fills a caller-provided struct; release it with
 * cr_config_free. Threading: load-time only; read-only afterwards.
 */
#ifndef CR_CONFIG_H
#define CR_CONFIG_H

#include "base/event.h"

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define CR_MAX_RULE_PATHS 32
#define CR_MAX_TOPICS 32
#define CR_MAX_KAFKA_PROPS 64

struct cr_kafka_topic {
    char *name;
    enum cr_format format;
};

struct cr_config {
    char *file; /* the config file as given, NULL for defaults */
    char *dir;  /* its directory: base for relative paths */

    /* engine */
    int workers;        /* parse+match threads */
    int shards;         /* correlation threads */
    size_t batch_bytes; /* bytes of input per batch */
    int batches;        /* batches in the pool: bounds memory and is the backpressure signal */
    int queue_depth;    /* match records per worker->shard ring */
    char *pid_file;     /* `corral run` writes its pid here for `corral reload`;
                         * NULL = <store>/corral.pid */
    int log_json;       /* log.format: 1 = JSON lines on stderr (base/log.h) */

    /* input defaults (files, stdin) */
    enum cr_format format;
    int tz_offset_min;
    int year;
    uint32_t max_record_bytes;
    uint64_t checkpoint_records; /* --resume: records between checkpoints of a file or stdin */

    /* rules */
    char *rule_paths[CR_MAX_RULE_PATHS];
    int nrule_paths;
    char *rule_cache;   /* Hyperscan cache directory; NULL = off */
    char *assets_path;  /* the asset inventory (engine/assets/inventory.h); NULL = none */
    char *asset_fields; /* comma-separated: the fields whose values name a record's asset,
                         * tried in order (engine/pipeline/enrich.h) */
    char *grading_path; /* the grading policy (engine/grade/policy.h); NULL = built-in */

    /* correlation */
    uint64_t max_keys_per_shard;
    int64_t allowed_lateness_ms;  /* matches are held back this long (event time) behind each
                                   * input's newest record, then applied in time order */
    int64_t source_idle_ms;       /* an input this far behind the newest one stops holding
                                   * the watermark back (0 = never) */
    int64_t idle_release_ms;      /* Kafka: no record from any partition for this long (wall
                                   * clock): every held match is applied (0 = never) */
    uint64_t reorder_max_bytes;   /* per shard: past it, the oldest held matches are applied
                                   * early (counted) */
    char *tenant_field;           /* the field naming a match's tenant (default tenant_id) */
    uint64_t max_keys_per_tenant; /* per shard and tenant: past it, the tenant's least recently
                                   * touched state is evicted (counted); 0 = off */

    /* store */
    char *store_path;
    uint64_t map_size;
    int64_t commit_interval_ms;
    uint64_t max_rejects; /* raw records kept in the store's rejects db */

    /* kafka (the main input; `run` without --input) */
    char *kafka_brokers; /* bootstrap servers */
    char *kafka_group;   /* consumer group id */
    struct cr_kafka_topic kafka_topics[CR_MAX_TOPICS];
    int nkafka_topics;
    char *kafka_output_topic; /* incidents are produced here as JSON keyed by id; NULL = off */
    int64_t checkpoint_interval_ms;
    int64_t rebuild_records;   /* per partition taken over from another member: records
                                * replayed to rebuild correlation state (0 = none) */
    int64_t stats_interval_ms; /* progress line on stderr while consuming; 0 = off */
    char *kafka_props[CR_MAX_KAFKA_PROPS][2]; /* librdkafka properties passed through */
    int nkafka_props;

    /* serve (engine/serve): the HTTP API */
    char *serve_listen;    /* HOST:PORT; NULL = `corral run` does not serve */
    char *serve_tokens;    /* the tokens file */
    char *serve_audit_log; /* NULL = <store>/audit.log */
    char *serve_tls_cert, *serve_tls_key;
    int serve_threads;

    /* set by the command line, not the file */
    int quiet; /* no per-record messages on stderr */
};

void cr_config_defaults(struct cr_config *c);
/* Every key of corral.yaml as a Markdown table (key, default, meaning):
 * the one description config.c loads, checks and documents from
 * (docs/operations.md holds its output). */
void cr_config_keys_markdown(FILE *f);
/* Load and validate; on error returns -1 with all problems in err (one
 * `file:line: reason` per line). c is filled with defaults first. */
int cr_config_load(const char *path, struct cr_config *c, char *err, size_t errlen);
void cr_config_free(struct cr_config *c);
/* Without rules.cache, compiled Hyperscan databases live beside the
 * incidents: rule_cache = store_path/hs-cache (the store directory is
 * created if missing). Returns 0, or -1 with the reason in err when the
 * store directory cannot be created (the cache then fails to write, which
 * only costs compile time). */
int cr_config_default_rule_cache(struct cr_config *c, char *err, size_t errlen);
/* Parse a zone: "UTC", "Z", "+08:00", "-0530". Returns 0 and minutes east. */
int cr_parse_tz(const char *s, int *minutes);
/* Set a librdkafka property (command line -X k=v, or kafka.properties).
 * Returns -1 past CR_MAX_KAFKA_PROPS. */
int cr_config_set_kafka_prop(struct cr_config *c, const char *key, const char *value);
/* Resolve p against c->dir (absolute paths pass through). Caller frees. */
char *cr_config_path(const struct cr_config *c, const char *p);

#endif
