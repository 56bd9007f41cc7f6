/*
 * worker.h - parse+match threads.
 *
 * A worker takes whole batches from its input ring and runs each record to
 * completion: parse (parsers/), match (rules/matcher), then for every rule
 * that matched and feeds a correlation or an incident, build the
 * correlation key from the route's group_by fields and copy a cr_match into
 * the ring of the shard that owns hash(key). After the batch it sends
 * BATCH_END(seq) to every shard and gives the batch back to the pool.
 *
 * Records that did not parse cleanly (parse errors, oversized, invalid
 * UTF-8, NUL bytes) are still matched and counted, and their raw bytes are
 * sent to the writer's rejects table: nothing is dropped silently.
 *
 * Ownership and threading: a worker owns its parser, matcher and counters.
 * At a rules swap (swap.h) it replaces its parser and matcher and from then
 * on reads the new ruleset through `rs`; only the worker thread touches `rs`
 * and `popts` after start.
 * Counters are plain integers written only by the worker; read them after
 * the worker has been joined.
 */
#ifndef CR_WORKER_H
#define CR_WORKER_H

#include "base/counters.h"
#include "engine/pipeline/batch.h"
#include "engine/pipeline/enrich.h"
#include "engine/pipeline/ring.h"
#include "engine/pipeline/writer.h"

#include "parsers/parser.h"
#include "rules/ruleset.h"

#include <pthread.h>
#include <stdint.h>

/* What flows in a worker's input ring: a batch, a checkpoint mark (which
 * takes a sequence number like a batch, so it lands at one point of the
 * input order), or the end of input. A rules swap (swap.h) goes to every
 * worker, which switches rules before its next batch: as CR_BM_RELOAD to
 * the worker whose turn the swap's sequence number is (it also carries the
 * barrier to the shards, like a mark), as CR_BM_SWITCH to the others. */
enum cr_batch_msg_kind {
    CR_BM_DATA = 0,
    CR_BM_MARK = 1,
    CR_BM_EOF = 2,
    CR_BM_DROP = 3,
    CR_BM_RELOAD = 4,
    CR_BM_SWITCH = 5,
    CR_BM_SOURCE = 6,   /* input `src` will send records (`source` = CR_SOURCE_PENDING) or
                         * has none for now (CR_SOURCE_IDLE): reorder.h */
    CR_BM_QUIET = 7,    /* no input has sent anything for correlation.idle_release */
    CR_BM_ASSIGNED = 8, /* the Kafka assignment is in (cr_pipeline_inputs_assigned) */
};

struct cr_swap;

struct cr_batch_msg {
    struct cr_batch *batch; /* CR_BM_DATA */
    uint64_t seq;           /* the batch's or mark's sequence number; EOF: the first unused */
    uint64_t epoch;         /* CR_BM_MARK */
    uint32_t src;           /* CR_BM_DROP, CR_BM_SOURCE: the input */
    struct cr_swap *swap;   /* CR_BM_RELOAD, CR_BM_SWITCH: the new rules */
    int source;             /* CR_BM_SOURCE: enum cr_source_state */
    int kind;
};

/* Rejected records are reported on stderr as `input:line: cause`, the
 * first CR_WORKER_REJECT_LOG per worker; all are counted and kept. */
#define CR_WORKER_REJECT_LOG 10

/* Why a record was rejected, one cause per record: the first that applies
 * in this order (byte-level damage first, since it is what breaks the
 * parse). `records = accepted + rejected` and `rejected` is the sum of
 * `rejected_by`; a rejected record is still matched and kept raw in the
 * store. The names are the keys of --stats-json's rejected_by_cause. */
#define CR_REJECT_CAUSES(X)                                                                        \
    X(OVERSIZED, "oversized")                  /* longer than input.max_line_bytes */              \
    X(NUL_BYTE, "nul_byte")                    /* a NUL byte in the record */                      \
    X(INVALID_UTF8, "invalid_utf8")            /* not valid UTF-8 */                               \
    X(EMPTY, "empty")                          /* nothing but blanks */                            \
    X(BAD_ENVELOPE, "bad_cloudevents_headers") /* Kafka binary-mode headers unusable */            \
    X(NO_ENVELOPE, "no_cloudevents_envelope")  /* JSON read as cloudevents, no envelope */         \
    X(BROKEN_JSON, "broken_json")              /* invalid or truncated JSON */                     \
    X(UNPARSEABLE, "unparseable")              /* fits no syslog or access-log shape */

enum cr_reject_cause {
#define CR_REJECT_ENUM(id, name) CR_REJECT_##id,
    CR_REJECT_CAUSES(CR_REJECT_ENUM)
#undef CR_REJECT_ENUM
        CR_REJECT_NCAUSES
};

/* The stable name of a cause ("broken_json"). */
const char *cr_reject_cause_name(enum cr_reject_cause c);

/* X(field, "json name", merge): base/counters.h */
#define CR_WORKER_COUNTERS(X)                                                                      \
    X(records, "records", SUM)                                                                     \
    X(accepted, "accepted", SUM)  /* records not rejected */                                       \
    X(rejected, "rejected", SUM)  /* sum of rejected_by */                                         \
    X(bytes, "record_bytes", SUM) /* bytes of the records parsed */                                \
    X(parsed_ok, "parsed_ok", SUM)                                                                 \
    X(headerless, "headerless", SUM) /* parsed only as headerless / partial */                     \
    X(parse_errors, "parse_errors", SUM)                                                           \
    X(truncated, "oversized", SUM) /* cut at input.max_record_bytes */                             \
    X(bad_utf8, "invalid_utf8", SUM)                                                               \
    X(nul_bytes, "nul_bytes", SUM)                                                                 \
    X(no_time, "no_time", SUM)                                                                     \
    X(rule_matches, "rule_matches", SUM)                                                           \
    X(routed, "routed", SUM)           /* match records sent to shards */                          \
    X(missing_key, "missing_key", SUM) /* a match whose event lacked a group_by field */           \
    X(match_errors, "match_errors", SUM)                                                           \
    X(enriched, "enriched_matches", SUM)     /* matching records whose asset was found */          \
    X(unenriched, "unenriched_matches", SUM) /* ... and not (graded with tier.unknown) */          \
    X(json_batches, "json_batches", SUM)     /* records that were a JSON array of objects (a       \
                                              * CloudEvents batch): each object is one of records */

struct cr_worker_stats {
    CR_WORKER_COUNTERS(CR_COUNTER_FIELD)
    uint64_t rejected_by[CR_REJECT_NCAUSES]; /* enum cr_reject_cause: "rejected_by_cause" */
};
_Static_assert(sizeof(struct cr_worker_stats) ==
                   (CR_COUNTERS_N(CR_WORKER_COUNTERS) + CR_REJECT_NCAUSES) * sizeof(uint64_t),
               "every counter of struct cr_worker_stats is in CR_WORKER_COUNTERS");

struct cr_worker {
    int index;
    pthread_t thread;
    const struct cr_ruleset *rs;
    struct cr_parse_opts popts;
    struct cr_ring *in;   /* of struct cr_batch_msg */
    struct cr_ring **out; /* [shards], of struct cr_match */
    int nshards;
    struct cr_batch_pool *pool;
    struct cr_writer *writer;
    const char *const *input_names; /* borrowed from the pipeline, which appends while
                                     * workers run (a Kafka partition assigned mid-run); a
                                     * record's input name is written before the record
                                     * enters a batch, and the ring orders the two */
    const uint8_t *input_formats;   /* borrowed: format per input index (enum cr_format) */
    const uint32_t *input_srcs;     /* borrowed: stable id per input index (hash of the name) */
    int quiet;                      /* no per-record messages on stderr */
    int tenant_field;               /* field id of correlation.tenant_field, -1: none */
    const struct cr_inventory *inventory; /* borrowed; NULL: none (enrich.h); replaced at a
                                           * swap, like rs */
    const char *asset_fields;             /* config asset_fields, borrowed */
    struct cr_enrich enrich;              /* resolved against rs (again at a swap) */
    struct cr_worker_stats stats;
    int failed;
};

int cr_worker_start(struct cr_worker *w);
void cr_worker_join(struct cr_worker *w);

/* The correlation key of a route for an event: its group_by values joined
 * by CR_KEY_SEP into key (CR_KEY_MAX bytes; longer values are cut, the key
 * stays deterministic), and for value_count routes the hash of the counted
 * field's value; for value_num routes (value_sum, value_avg) its number
 * (cr_match_number; NaN when it is not one: cr_parse_number). Returns the
 * key length, or -1 if a field is missing (unless the route is absent_ok: a
 * missing field keys as "-"). */
int cr_route_key(const struct cr_event *ev, const struct cr_route *rt, char *key, uint64_t *value);

/* The n bytes at p as a decimal number (blanks around allowed; digits, one
 * sign, a point, an exponent; at most 63 bytes), or NaN when they are not one
 * ("", "n/a", "12kB", "1,234", "0x10", "inf"). No allocation. */
double cr_parse_number(const char *p, size_t n);

/* The tenant of an event: a hash of field f's value (never 0), or 0 when
 * f < 0 or the event lacks it. Matches carry it for tenant budgets. */
uint32_t cr_event_tenant(const struct cr_event *ev, int f);

#endif
