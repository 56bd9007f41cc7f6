/*
 * store.h - corral's LMDB store: incidents, their indexes, rejected records
 * and run metadata. The only module that includes lmdb.h.
 *
 * Layout (named databases in one environment):
 *   incidents   id (32 hex chars)                      -> incident JSON
 *   by_time     first_seen (BE u64 ms) | id            -> last_seen (BE u64 ms) | priority
 *   by_category category | 0x00 | first_seen BE | id   -> ""
 *   by_entity   name=value | 0x00 | first_seen BE | id -> ""
 *   rejects     input name | 0x00 | position (BE u64) -> reason | 0x00 | raw bytes
 *   meta        name                                   -> value
 *   state       consumer id | 0x00 | key bytes         -> encoded correlation state
 *   offsets     input name                             -> next position (BE u64)
 *   provisional id                                     -> the version before (see below)
 * Times in keys are BE u64 of the ms value with the sign bit flipped, so
 * that byte order is numeric order even for CR_TIME_NONE (INT64_MIN).
 * first_seen, category and entities never change once an incident exists,
 * so an update rewrites the incidents value and the by_time summary
 * (last_seen and priority change; the query filters on them without
 * parsing JSON); the other index keys are written once, when the id is
 * first seen. (If first_seen does move - a late event - the update notices
 * and re-indexes; see store.c.)
 *
 * Writing: exactly one writer (the writer thread, or a test) calls
 * cr_store_begin / cr_store_put_* / cr_store_commit: one transaction per
 * batch, so a durable commit (two fsyncs) is paid per batch, not per
 * incident. Reading uses read-only transactions, on any thread of the
 * process (MDB_NOTLS: the Kafka ingest thread reads offsets and
 * checkpointed state while the writer thread writes; on the writer thread
 * a read inside its open batch sees the batch) and in other processes at
 * the same time (corral query, rejects). A reader without write access to
 * the directory reads without LMDB's lock file, each walk in a child
 * process (store.c).
 *
 * Errors: functions return 0 or a negative value; cr_store_errmsg() gives
 * the text of the last error on that handle.
 *
 * Caveats:
 *  - One handle per store directory per process (an LMDB rule: a second
 *    open of the same files in one process breaks its locks). Other
 *    processes may open it read-only at the same time.
 *  - A full map is never silent and never drops part of a batch: the put
 *    or commit returns CR_STORE_EFULL, the whole batch is rolled back, and
 *    the store stays readable. The caller stops and alarms; raising
 *    store.map_size and reopening lets it continue.
 *  - Commits are fully synced (no MDB_NOSYNC): a committed batch survives
 *    a crash, which is what allows input offsets to be committed after it.
 */
#ifndef CR_STORE_H
#define CR_STORE_H

#include "engine/store/incident.h"

#include <stddef.h>
#include <stdint.h>

struct cr_store;

/* Return codes (all other failures are CR_STORE_ERR). */
#define CR_STORE_OK 0
#define CR_STORE_ERR (-1)
#define CR_STORE_EFULL (-2)    /* map size reached or filesystem full; batch rolled back */
#define CR_STORE_NOTFOUND (-3) /* cr_store_get_meta: no such name */
#define CR_STORE_EXISTS (-4)   /* cr_store_put_reject: the record was kept already */

struct cr_store_opts {
    uint64_t map_size; /* bytes; default 1 GiB */
    int read_only;
};

/* Open (creating the directory if needed, unless read_only). opts may be
 * NULL (defaults). A read-only open of a directory that holds no store
 * fails with "no store at DIR". A writable open takes the store's writer
 * lock (DIR/writer.lock) until cr_store_close: a second writable open, in
 * this process or another, fails naming the holder's pid; read-only opens
 * take no lock. Returns NULL and writes the reason to err. */
struct cr_store *cr_store_open(const char *dir, const struct cr_store_opts *opts, char *err,
                               size_t errlen);
void cr_store_close(struct cr_store *s);
const char *cr_store_errmsg(const struct cr_store *s);

/* Write batch. Not on a read-only handle. begin fails if a batch is open.
 * After a failed put the batch is already rolled back: later puts and the
 * commit return the same error, so checking only the commit is enough;
 * cr_store_abort() is still allowed (and needed to end a batch early). */
int cr_store_begin(struct cr_store *s);
/* Upsert: json is the encoded incident. Index keys are added only when the
 * id is new. */
int cr_store_put_incident(struct cr_store *s, const struct cr_incident *inc, const char *json,
                          size_t jsonlen);
/* input: the input's name (file path, "kafka:TOPIC/PARTITION"); rejects
 * of every run share the table, so they are keyed by name, not by a run's
 * input index. A record rejected for several reasons (invalid UTF-8 and a
 * late match; several late matches) keeps them all, "a; b"; a reason it
 * has already (a replay) changes nothing. Either way the record was kept
 * before: CR_STORE_EXISTS. */
/* Provisional versions. At the end of its input a checkpointing run
 * releases the matches it still held for the allowed lateness, and stores
 * the incident versions they make; but the input may go on (a next file
 * part, a partition after a restart) with records that sort before them,
 * and the checkpoint holds those matches unreleased. Such versions are put
 * with cr_store_put_incident_provisional, which first remembers the version
 * before (or that there was none). A run that resumes from the checkpoint
 * calls cr_store_rollback_provisional: every such incident goes back to
 * its version before (or away, with its index keys), and the resumed run
 * derives it again from the held matches, in order with what came after.
 * A run that does not resume calls cr_store_settle_provisional: they stay
 * as they are. Both inside a write batch; counts go to the out parameter. */
int cr_store_put_incident_provisional(struct cr_store *s, const struct cr_incident *inc,
                                      const char *json, size_t jsonlen);
int cr_store_rollback_provisional(struct cr_store *s, uint64_t *rolled_back);
int cr_store_settle_provisional(struct cr_store *s, uint64_t *settled);
/* One incident's version is no longer provisional: someone acted on it (a
 * lifecycle move), and a resumed run must not roll that back. The resumed
 * run still derives its held matches again; the writer then finds the
 * version as the analyst left it (a closed incident: the new evidence
 * opens one that follows it). */
int cr_store_settle_incident(struct cr_store *s, const char *id);

int cr_store_put_reject(struct cr_store *s, const char *input, uint64_t position,
                        const char *reason, const char *raw, size_t rawlen);
int cr_store_put_meta(struct cr_store *s, const char *name, const char *value);
int cr_store_commit(struct cr_store *s);
void cr_store_abort(struct cr_store *s);

/* Query: incidents, newest first_seen first (or oldest, ascending), ids
 * breaking ties. Filters may be NULL / 0. */
struct cr_query {
    int64_t since_ms; /* last_seen >= since (INT64_MIN = none) */
    int64_t until_ms; /* first_seen <= until (INT64_MAX = none) */
    const char *category;
    const char *priority;
    const char *entity; /* "name=value" */
    size_t limit;       /* 0 = no limit */
    int ascending;      /* oldest first_seen first (default: newest first) */
    /* A cursor: start strictly past (after_ts, after_id) in the walk's
     * order, the first_seen and id of the last incident a page ended
     * with. after_id NULL (or not 32 characters): from the start. */
    int64_t after_ts;
    const char *after_id;
};
/* Every incident, newest first: struct cr_query q = CR_QUERY_ALL; */
#define CR_QUERY_ALL                                                                               \
    {                                                                                              \
        .since_ms = INT64_MIN, .until_ms = INT64_MAX                                               \
    }
/* Calls cb(json, len, arg) for each incident that passes, in order; json is
 * borrowed for the duration of the call. cb returns non-zero to stop (the
 * query then returns 0). Runs in its own read-only transaction, or inside
 * the open write batch if there is one (it then sees the batch). */
int cr_store_query(struct cr_store *s, const struct cr_query *q,
                   int (*cb)(const char *json, size_t len, void *arg), void *arg);
/* Rejected records, in input order: cb(input, position, reason, raw, rawlen). */
int cr_store_rejects(struct cr_store *s,
                     int (*cb)(const char *input, uint64_t position, const char *reason,
                               const char *raw, size_t rawlen, void *arg),
                     void *arg);
/* Copies the value, NUL-terminated, into out; CR_STORE_NOTFOUND if unset,
 * CR_STORE_ERR if it does not fit. */
int cr_store_get_meta(struct cr_store *s, const char *name, char *out, size_t outlen);
/* One incident's stored JSON by id: a malloc'd NUL-terminated copy in
 * *json (caller frees), its length in *len (may be NULL);
 * CR_STORE_NOTFOUND if there is none. Inside the open write batch if there
 * is one (it sees the batch). */
int cr_store_get_incident(struct cr_store *s, const char *id, char **json, size_t *len);
/* Counts for metrics: number of incidents stored. */
int cr_store_count_incidents(struct cr_store *s, uint64_t *n);
/* Checkpoints. Correlation state (key: consumer id | 0 | key bytes; value:
 * the correlator's encoding) and input positions (key: input name such as
 * "kafka:logs/0"; value: the next offset to read) are written in the same
 * write batch as the incidents they go with, so after a crash the store
 * holds a consistent cut: positions never run ahead of the state and
 * incidents that reflect them. */
int cr_store_put_state(struct cr_store *s, const void *key, size_t klen, const void *val,
                       size_t vlen);
int cr_store_del_state(struct cr_store *s, const void *key, size_t klen);
int cr_store_put_offset(struct cr_store *s, const char *input, int64_t next);
/* CR_STORE_NOTFOUND if the input has no recorded position. */
int cr_store_get_offset(struct cr_store *s, const char *input, int64_t *next);
/* Every state entry, in key order; values are borrowed for the call. cb
 * returns non-zero to stop. */
int cr_store_each_state(struct cr_store *s,
                        int (*cb)(const void *key, size_t klen, const void *val, size_t vlen,
                                  void *arg),
                        void *arg);

/* Sizes for metrics: the map and the pages in use, entries per table,
 * and the last committed transaction (it moves with every commit). */
struct cr_store_usage {
    uint64_t map_bytes, used_bytes, last_txn;
    uint64_t incidents, rejects, state_entries;
};
int cr_store_usage(struct cr_store *s, struct cr_store_usage *u);

/* The LMDB library version string (for `corral version`). */
const char *cr_store_lib_version(void);

#endif
