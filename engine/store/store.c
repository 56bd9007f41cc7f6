/*
 * store.c - the LMDB store: incidents, their indexes, rejected records and
 * run metadata. The only file that includes lmdb.h, so the rest of corral
 * sees a handful of verbs and never an MDB_val.
 *
 * Why it is shaped this way (reference/architecture.md B.4, C.5):
 *
 *  - One environment, nine named databases (store.h has the layout). The
 *    incident value is the JSON exactly as `corral query --format ndjson`
 *    prints it, so a query is a cursor walk plus a memcpy-free callback.
 *
 *  - Writes come in batches from one writer: cr_store_begin opens the one
 *    write transaction, puts add to it, commit pays the two fsyncs once per
 *    batch. Sync stays on (no MDB_NOSYNC): the writer commits input offsets
 *    only after a batch is durable, and NOSYNC would break that promise.
 *
 *  - Index keys carry first_seen as a sign-flipped big-endian u64 so that
 *    memcmp order is time order; walking an index backwards from
 *    (prefix, until) gives newest-first without sorting. The by_time value
 *    holds the two fields that change after creation and that queries
 *    filter on (last_seen, priority), so filtering never parses JSON.
 *
 *  - MDB_MAP_FULL is an operational event, not a bug: the batch is rolled
 *    back whole (never half-written, never silently dropped), the error
 *    says how to fix it, and because LMDB is copy-on-write the committed
 *    data stays readable.
 *
 *  - MDB_NOTLS: read transactions belong to the handle, not the thread, so
 *    a query may run on any thread of the process. Readers in other
 *    processes use LMDB's lock file; mdb_reader_check at open clears slots
 *    left by a reader that crashed.
 *
 *  - A reader who may read the store but not write its directory cannot
 *    open lock.mdb, so LMDB refuses it. Such a read-only open falls back
 *    to MDB_NOLOCK: the writer cannot see that reader, and may reuse the
 *    pages of its snapshot two commits later. So an unlocked query or
 *    rejects walk first copies what it reads, then checks that the store
 *    advanced by fewer than two commits meanwhile (else it walks again),
 *    and only then hands the copies to the caller: slower and bounded by
 *    memory, but never torn. Each walk runs in a child process, because
 *    a snapshot that changed under it can make LMDB assert (abort) before
 *    the check: the child dies and the walk is retried.
 *
 *  - One writer per store: a writable open takes an exclusive flock on
 *    DIR/writer.lock and writes its pid there. A second writer is refused
 *    with that pid; readers take no lock. The kernel drops the lock with
 *    the process, so a kill -9 leaves nothing stale to clean up.
 */
#include "engine/store/store.h"

#include "base/crashpoint.h"

#include "base/event.h"
#include "base/timeparse.h"

#include <errno.h>
#include <jansson.h>
#include <lmdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

#define DEFAULT_MAP_SIZE (1ULL << 30)
#define ID_LEN 32
#define TS_LEN 8
/* Longest index key: entity name (31) '=' value (127) NUL ts id; LMDB's
 * default maximum key size is 511, far above it. */
#define KEY_MAX 512

struct cr_store {
    MDB_env *env;
    MDB_dbi incidents, by_time, by_category, by_entity, rejects, meta, state, offsets;
    MDB_dbi provisional; /* 0 in a read-only open of a store that has none */
    MDB_txn *txn;        /* the open write batch, or NULL */
    int failed;          /* error code of a batch that failed and was rolled back */
    int read_only;
    int lock_fd;    /* DIR/writer.lock, flocked, for a writable open; -1 otherwise */
    char dir[4096]; /* as opened: every error message names it */
    int unlocked;   /* read-only open without LMDB's lock file (see below) */
    int torn;       /* an unlocked read overlapped two commits: its pages may be reused */
    int collecting; /* inside cr_store_query's or cr_store_rejects' first pass */
    pthread_mutex_t unlocked_mu; /* an unlocked handle reads one walk at a time (torn) */
};

/* The last error, per thread and handle: the writer thread and the HTTP
 * API's threads share one handle (one per process, store.h), and each
 * asks for the reason of its own failure. */
static _Thread_local struct {
    const struct cr_store *s;
    char msg[1024];
} last_err;

static void set_err(struct cr_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct cr_store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_err.msg, sizeof last_err.msg, fmt, ap);
    va_end(ap);
    last_err.s = s;
}

const char *cr_store_errmsg(const struct cr_store *s)
{
    if (!s)
        return "no store";
    return last_err.s == s ? last_err.msg : "no error on this thread";
}

/* Translate an LMDB error into our message and code. */
static int lmdb_err(struct cr_store *s, int rc, const char *what)
{
    MDB_envinfo info;
    unsigned long long size = 0;
    if (mdb_env_info(s->env, &info) == 0)
        size = (unsigned long long)info.me_mapsize;
    if (rc == MDB_MAP_FULL) {
        set_err(s, "store %s: store full: map size %llu bytes reached; raise store.map_size",
                s->dir, size);
        return CR_STORE_EFULL;
    }
    if (rc == MDB_TXN_FULL) {
        set_err(s, "store %s: %s: batch too large for one transaction (%s)", s->dir, what,
                mdb_strerror(rc));
        return CR_STORE_ERR;
    }
    /* A full filesystem shows as ENOSPC, or as EIO when LMDB's write came
     * back short: say which limit was hit, since the map was not. */
    struct statvfs fs;
    if ((rc == ENOSPC || rc == EIO || rc == EDQUOT) && statvfs(s->dir, &fs) == 0 &&
        (unsigned long long)fs.f_bavail * fs.f_frsize < (16ull << 20)) {
        set_err(s,
                "store %s: %s: %s: the filesystem is full (%llu bytes free); free space "
                "there or move store.path (store.map_size, %llu bytes, was not reached)",
                s->dir, what, mdb_strerror(rc), (unsigned long long)fs.f_bavail * fs.f_frsize,
                size);
        return CR_STORE_EFULL;
    }
    set_err(s, "store %s: %s: %s", s->dir, what, mdb_strerror(rc));
    return CR_STORE_ERR;
}

/* A write inside the batch failed: LMDB leaves the transaction unusable,
 * so roll it back now and remember why, for the later puts and commit. */
static int batch_fail(struct cr_store *s, int rc, const char *what)
{
    int code = lmdb_err(s, rc, what);
    mdb_txn_abort(s->txn);
    s->txn = NULL;
    s->failed = code;
    return code;
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Sign bit flipped: INT64_MIN -> 0, 0 -> 2^63, so unsigned order is
 * signed order. */
static void put_time(unsigned char *p, int64_t ms) { put_be64(p, (uint64_t)ms ^ (1ULL << 63)); }

static int64_t get_time(const unsigned char *p) { return (int64_t)(get_be64(p) ^ (1ULL << 63)); }

/* ---- open / close ------------------------------------------------------ */

struct dbdef {
    const char *name;
    size_t off;
    int optional; /* added later: a read-only open of an older store goes on without it */
};

static const struct dbdef dbdefs[] = {
    {"incidents", offsetof(struct cr_store, incidents), 0},
    {"by_time", offsetof(struct cr_store, by_time), 0},
    {"by_category", offsetof(struct cr_store, by_category), 0},
    {"by_entity", offsetof(struct cr_store, by_entity), 0},
    {"rejects", offsetof(struct cr_store, rejects), 0},
    {"meta", offsetof(struct cr_store, meta), 0},
    {"state", offsetof(struct cr_store, state), 0},
    {"offsets", offsetof(struct cr_store, offsets), 0},
    {"provisional", offsetof(struct cr_store, provisional), 1},
};
#define NDBS (sizeof dbdefs / sizeof dbdefs[0])

/* Begin a transaction; if another process grew the map, adopt the new size
 * and retry (lmdb.h: MDB_MAP_RESIZED). */
static int txn_begin(MDB_env *env, unsigned flags, MDB_txn **txn)
{
    int rc = mdb_txn_begin(env, NULL, flags, txn);
    if (rc == MDB_MAP_RESIZED) {
        rc = mdb_env_set_mapsize(env, 0);
        if (rc == 0)
            rc = mdb_txn_begin(env, NULL, flags, txn);
    }
    return rc;
}

/* The writer's lock: an exclusive, non-blocking flock on DIR/writer.lock,
 * holding the pid of its owner. Returns the descriptor, or -1 with the
 * reason (naming the other writer's pid when there is one). */
static int writer_lock(const char *dir, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/writer.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        if (e == EWOULDBLOCK)
            snprintf(err, errlen,
                     "store %s is in use by another writer (pid %s): one corral run per store", dir,
                     pid[0] ? pid : "unknown");
        else
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
        close(fd);
        return -1;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct cr_store *cr_store_open(const char *dir, const struct cr_store_opts *opts, char *err,
                               size_t errlen)
{
    struct cr_store_opts o = {0};
    if (opts)
        o = *opts;
    if (o.map_size == 0)
        o.map_size = DEFAULT_MAP_SIZE;

    struct stat st;
    if (o.read_only) {
        char path[4096];
        snprintf(path, sizeof path, "%s/data.mdb", dir);
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || stat(path, &st) != 0) {
            snprintf(err, errlen, "no store at %s", dir);
            return NULL;
        }
    } else if (stat(dir, &st) != 0) {
        if (errno != ENOENT || mkdir(dir, 0755) != 0) {
            snprintf(err, errlen, "cannot create store directory %s: %s", dir, strerror(errno));
            return NULL;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "store path %s is not a directory", dir);
        return NULL;
    }

    struct cr_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->read_only = o.read_only;
    s->lock_fd = -1;
    pthread_mutex_init(&s->unlocked_mu, NULL);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    if (!o.read_only && (s->lock_fd = writer_lock(dir, err, errlen)) < 0) {
        free(s);
        return NULL;
    }
    int rc = mdb_env_create(&s->env);
    const char *what = "mdb_env_create";
    if (rc == 0) {
        what = "setting the number of databases";
        rc = mdb_env_set_maxdbs(s->env, NDBS);
    }
    /* A reader takes the size recorded by the writer (mdb_env_open uses
     * the larger of the two), so only the writer sets it. */
    if (rc == 0 && !o.read_only) {
        what = "setting the map size";
        rc = mdb_env_set_mapsize(s->env, (size_t)o.map_size);
    }
    if (rc == 0) {
        what = "opening the LMDB environment";
        rc = mdb_env_open(s->env, dir, MDB_NOTLS | (o.read_only ? MDB_RDONLY : 0), 0644);
        if (rc == EACCES && o.read_only) {
            /* lock.mdb is not ours to write: read without it (above) */
            mdb_env_close(s->env);
            s->env = NULL;
            rc = mdb_env_create(&s->env);
            if (rc == 0)
                rc = mdb_env_set_maxdbs(s->env, NDBS);
            if (rc == 0)
                rc = mdb_env_open(s->env, dir, MDB_NOTLS | MDB_RDONLY | MDB_NOLOCK, 0644);
            s->unlocked = rc == 0;
        }
    }
    if (rc == 0 && !s->unlocked) {
        int dead = 0;
        mdb_reader_check(s->env, &dead);
    }
    MDB_txn *txn = NULL;
    if (rc == 0) {
        what = "opening the databases";
        rc = txn_begin(s->env, o.read_only ? MDB_RDONLY : 0, &txn);
    }
    for (size_t i = 0; rc == 0 && i < NDBS; i++) {
        MDB_dbi *dbi = (MDB_dbi *)((char *)s + dbdefs[i].off);
        rc = mdb_dbi_open(txn, dbdefs[i].name, o.read_only ? 0 : MDB_CREATE, dbi);
        if (rc == MDB_NOTFOUND && dbdefs[i].optional) {
            *dbi = 0;
            rc = 0;
            continue;
        }
        if (rc == MDB_NOTFOUND) {
            snprintf(err, errlen, "no store at %s (database '%s' missing)", dir, dbdefs[i].name);
            mdb_txn_abort(txn);
            cr_store_close(s);
            return NULL;
        }
    }
    if (txn) {
        /* Committing (even a read-only txn) keeps the dbi handles open for
         * the life of the environment. */
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    if (rc != 0) {
        if (rc == MDB_MAP_FULL)
            snprintf(err, errlen,
                     "store %s: store full: map size %llu bytes reached; raise store.map_size", dir,
                     (unsigned long long)o.map_size);
        else
            snprintf(err, errlen, "%s: %s: %s", dir, what, mdb_strerror(rc));
        cr_store_close(s);
        return NULL;
    }
    return s;
}

void cr_store_close(struct cr_store *s)
{
    if (!s)
        return;
    if (s->txn)
        mdb_txn_abort(s->txn);
    if (s->env)
        mdb_env_close(s->env);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the writer's lock */
    pthread_mutex_destroy(&s->unlocked_mu);
    if (last_err.s == s)
        last_err.s = NULL;
    free(s);
}

/* ---- write batch ------------------------------------------------------- */

/* The store whose write batch this thread opened. A read on the thread that
 * holds the batch sees the batch; a read on any other thread (the Kafka
 * ingest thread reading an input position while the writer thread has a
 * batch open) gets a read-only transaction of its own: an LMDB write
 * transaction belongs to its thread, and a read must not see positions that
 * are not durable yet. */
static _Thread_local struct cr_store *batch_store;

int cr_store_begin(struct cr_store *s)
{
    if (s->read_only) {
        set_err(s, "store opened read-only");
        return CR_STORE_ERR;
    }
    if (s->txn) {
        set_err(s, "a write batch is already open");
        return CR_STORE_ERR;
    }
    s->failed = 0;
    int rc = txn_begin(s->env, 0, &s->txn);
    if (rc != 0) {
        s->txn = NULL;
        return lmdb_err(s, rc, "beginning a write batch");
    }
    batch_store = s;
    return CR_STORE_OK;
}

/* Common entry check for the put functions. */
static int batch_ready(struct cr_store *s)
{
    if (s->failed)
        return s->failed; /* message of the original failure kept */
    if (!s->txn) {
        set_err(s, "no write batch open (call cr_store_begin)");
        return CR_STORE_ERR;
    }
    return CR_STORE_OK;
}

/* prefix | ts | id into key; returns the key length or 0 if too long. */
static size_t index_key(unsigned char *key, const char *prefix, size_t plen, int64_t ts,
                        const char *id)
{
    if (plen + TS_LEN + ID_LEN > KEY_MAX)
        return 0;
    memcpy(key, prefix, plen);
    put_time(key + plen, ts);
    memcpy(key + plen + TS_LEN, id, ID_LEN);
    return plen + TS_LEN + ID_LEN;
}

/* "name=value\0" or "category\0": the NUL keeps "ab" from matching "abc". */
static size_t entity_prefix(char *buf, size_t cap, const char *name, size_t nlen, const char *value,
                            size_t vlen)
{
    if (nlen + 1 + vlen + 1 > cap)
        return 0;
    memcpy(buf, name, nlen);
    buf[nlen] = '=';
    memcpy(buf + nlen + 1, value, vlen);
    buf[nlen + 1 + vlen] = 0;
    return nlen + vlen + 2;
}

/* Put (del = 0) or delete (del = 1) the category and entity index keys of inc
 * at first_seen ts. Deleting a key that is not there is not an error. */
static int secondary_keys(struct cr_store *s, const struct cr_incident *inc, int64_t ts, int del)
{
    unsigned char key[KEY_MAX];
    char prefix[KEY_MAX];
    MDB_val k, v = {0, ""};
    size_t plen, klen;
    int rc;

    plen = strnlen(inc->category, sizeof inc->category);
    memcpy(prefix, inc->category, plen);
    prefix[plen++] = 0;
    klen = index_key(key, prefix, plen, ts, inc->id);
    k.mv_size = klen;
    k.mv_data = key;
    rc = del ? mdb_del(s->txn, s->by_category, &k, NULL)
             : mdb_put(s->txn, s->by_category, &k, &v, 0);
    if (rc != 0 && !(del && rc == MDB_NOTFOUND))
        return rc;

    int ne = inc->nentities < 0                     ? 0
             : inc->nentities > CR_INC_MAX_ENTITIES ? CR_INC_MAX_ENTITIES
                                                    : inc->nentities;
    for (int i = 0; i < ne; i++) {
        const char *name = inc->entities[i].name, *value = inc->entities[i].value;
        plen =
            entity_prefix(prefix, sizeof prefix, name, strnlen(name, sizeof inc->entities[i].name),
                          value, strnlen(value, sizeof inc->entities[i].value));
        klen = plen ? index_key(key, prefix, plen, ts, inc->id) : 0;
        if (!klen)
            continue;
        k.mv_size = klen;
        k.mv_data = key;
        rc = del ? mdb_del(s->txn, s->by_entity, &k, NULL)
                 : mdb_put(s->txn, s->by_entity, &k, &v, 0);
        if (rc != 0 && !(del && rc == MDB_NOTFOUND))
            return rc;
    }
    return 0;
}

/* first_seen of the stored JSON, for the rare re-index; 0 if found. */
static int stored_first_seen(const MDB_val *json, int64_t *ts)
{
    json_t *o = json_loadb(json->mv_data, json->mv_size, 0, NULL);
    if (!o)
        return -1;
    json_t *fs = json_object_get(o, "first_seen");
    int rc = -1;
    if (json_is_null(fs)) {
        *ts = CR_TIME_NONE;
        rc = 0;
    } else if (json_is_string(fs)) {
        const char *t = json_string_value(fs);
        size_t n = cr_time_parse_rfc3339(t, strlen(t), 0, ts);
        rc = n > 0 ? 0 : -1;
    }
    json_decref(o);
    return rc;
}

int cr_store_put_incident(struct cr_store *s, const struct cr_incident *inc, const char *json,
                          size_t jsonlen)
{
    int rc = batch_ready(s);
    if (rc != 0)
        return rc;
    if (strnlen(inc->id, sizeof inc->id) != ID_LEN) {
        set_err(s, "incident id '%.*s' is not %d hex digits", (int)sizeof inc->id, inc->id, ID_LEN);
        return CR_STORE_ERR;
    }

    MDB_val k = {ID_LEN, (void *)inc->id};
    MDB_val v = {jsonlen, (void *)json};
    unsigned char tkey[TS_LEN + ID_LEN];
    index_key(tkey, "", 0, inc->first_seen_ms, inc->id);
    MDB_val tk = {sizeof tkey, tkey};
    /* by_time value: last_seen | priority (no NUL; its length is the rest). */
    unsigned char summary[TS_LEN + sizeof inc->priority];
    size_t plen = strnlen(inc->priority, sizeof inc->priority);
    put_time(summary, inc->last_seen_ms);
    memcpy(summary + TS_LEN, inc->priority, plen);
    MDB_val tv = {TS_LEN + plen, summary};

    int isnew = 1;
    rc = mdb_put(s->txn, s->incidents, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        isnew = 0;
        /* An update. The index keys exist already unless first_seen moved
         * (a late event older than the first one): one lookup tells. */
        MDB_val old = v; /* NOOVERWRITE returned the stored value in v */
        MDB_val cur;
        rc = mdb_get(s->txn, s->by_time, &tk, &cur);
        if (rc == MDB_NOTFOUND) {
            int64_t oldts;
            if (stored_first_seen(&old, &oldts) == 0) {
                unsigned char okey[TS_LEN + ID_LEN];
                index_key(okey, "", 0, oldts, inc->id);
                MDB_val ok = {sizeof okey, okey};
                rc = mdb_del(s->txn, s->by_time, &ok, NULL);
                if (rc == 0 || rc == MDB_NOTFOUND)
                    rc = secondary_keys(s, inc, oldts, 1);
                if (rc != 0)
                    return batch_fail(s, rc, "re-indexing an incident");
            }
            /* (If the stored JSON cannot be read - only if something other
             * than this file wrote it - the old keys stay behind; the query
             * then lists the incident under both times, which is visible
             * and harmless, unlike losing the update.) */
            isnew = 1; /* write all index keys at the new first_seen */
        } else if (rc != 0) {
            return batch_fail(s, rc, "reading the time index");
        }
        v.mv_size = jsonlen;
        v.mv_data = (void *)json;
        rc = mdb_put(s->txn, s->incidents, &k, &v, 0);
    }
    if (rc != 0)
        return batch_fail(s, rc, "writing an incident");
    rc = mdb_put(s->txn, s->by_time, &tk, &tv, 0);
    if (rc == 0 && isnew)
        rc = secondary_keys(s, inc, inc->first_seen_ms, 0);
    if (rc != 0)
        return batch_fail(s, rc, "writing the incident indexes");
    return CR_STORE_OK;
}

/* ---- provisional versions: what the end of an input released early ---- */

/* A provisional entry: has_prev (1 byte); the incident whose category and
 * entities index the id (the version before, or the first provisional
 * one); and, if has_prev, the stored JSON of the version before. */
int cr_store_put_incident_provisional(struct cr_store *s, const struct cr_incident *inc,
                                      const char *json, size_t jsonlen)
{
    int rc = batch_ready(s);
    if (rc != 0)
        return rc;
    if (!s->provisional) {
        set_err(s, "store opened without its provisional table");
        return CR_STORE_ERR;
    }
    if (strnlen(inc->id, sizeof inc->id) != ID_LEN)
        return cr_store_put_incident(s, inc, json, jsonlen); /* reports the bad id */
    MDB_val k = {ID_LEN, (void *)inc->id}, pv, cur;
    rc = mdb_get(s->txn, s->provisional, &k, &pv);
    if (rc == MDB_NOTFOUND) {
        /* the first provisional version of this id: remember the one before */
        rc = mdb_get(s->txn, s->incidents, &k, &cur);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return batch_fail(s, rc, "reading an incident");
        int has_prev = rc == 0;
        /* the indexes of the version before: its category and entities
         * (which never change) from this version, its first_seen from its
         * JSON (the rollback reads last_seen and priority there too) */
        struct cr_incident basis = *inc;
        size_t plen = has_prev ? cur.mv_size : 0;
        if (has_prev && stored_first_seen(&cur, &basis.first_seen_ms) != 0) {
            set_err(s, "incident %.32s: stored JSON unreadable", inc->id);
            return batch_fail(s, MDB_CORRUPTED, "reading an incident");
        }
        MDB_val v = {1 + sizeof basis + plen, NULL};
        rc = mdb_put(s->txn, s->provisional, &k, &v, MDB_RESERVE);
        if (rc != 0)
            return batch_fail(s, rc, "writing a provisional version");
        unsigned char *p = v.mv_data;
        p[0] = (unsigned char)has_prev;
        memcpy(p + 1, &basis, sizeof basis);
        if (has_prev) {
            /* cur may have moved: read it again after the put */
            rc = mdb_get(s->txn, s->incidents, &k, &cur);
            if (rc != 0)
                return batch_fail(s, rc, "reading an incident");
            memcpy(p + 1 + sizeof basis, cur.mv_data, plen);
        }
    } else if (rc != 0)
        return batch_fail(s, rc, "reading a provisional version");
    return cr_store_put_incident(s, inc, json, jsonlen);
}

/* last_seen and priority of a stored JSON version into inc: what its by_time
 * summary is rebuilt from when the rollback puts it back. */
static int summary_from_json(const char *json, size_t len, struct cr_incident *inc)
{
    json_t *o = json_loadb(json, len, 0, NULL);
    if (!o)
        return -1;
    json_t *ls = json_object_get(o, "last_seen"), *pr = json_object_get(o, "priority");
    int rc = 0;
    if (json_is_null(ls))
        inc->last_seen_ms = CR_TIME_NONE;
    else if (!json_is_string(ls) ||
             cr_time_parse_rfc3339(json_string_value(ls), strlen(json_string_value(ls)), 0,
                                   &inc->last_seen_ms) == 0)
        rc = -1;
    if (json_is_string(pr))
        snprintf(inc->priority, sizeof inc->priority, "%s", json_string_value(pr));
    json_decref(o);
    return rc;
}

int cr_store_rollback_provisional(struct cr_store *s, uint64_t *rolled_back)
{
    *rolled_back = 0;
    int rc = batch_ready(s);
    if (rc != 0)
        return rc;
    if (!s->provisional)
        return CR_STORE_OK;
    MDB_cursor *cur;
    rc = mdb_cursor_open(s->txn, s->provisional, &cur);
    if (rc != 0)
        return batch_fail(s, rc, "reading provisional versions");
    MDB_val k, v;
    int op = MDB_FIRST;
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        op = MDB_NEXT;
        const unsigned char *p = v.mv_data;
        struct cr_incident basis;
        if (k.mv_size != ID_LEN || v.mv_size < 1 + sizeof basis)
            continue;
        memcpy(&basis, p + 1, sizeof basis);
        memcpy(basis.id, k.mv_data, ID_LEN);
        basis.id[ID_LEN] = 0;
        /* take the current version out with every index key it has */
        MDB_val json;
        int64_t ts;
        MDB_val ik = {ID_LEN, basis.id};
        rc = mdb_get(s->txn, s->incidents, &ik, &json);
        if (rc == 0 && stored_first_seen(&json, &ts) == 0) {
            unsigned char tkey[TS_LEN + ID_LEN];
            index_key(tkey, "", 0, ts, basis.id);
            MDB_val tk = {sizeof tkey, tkey};
            rc = mdb_del(s->txn, s->by_time, &tk, NULL);
            if (rc == 0 || rc == MDB_NOTFOUND)
                rc = secondary_keys(s, &basis, ts, 1);
            if (rc == 0)
                rc = mdb_del(s->txn, s->incidents, &ik, NULL);
        } else if (rc == MDB_NOTFOUND)
            rc = 0;
        else if (rc == 0)
            rc = MDB_CORRUPTED;
        if (rc != 0) {
            mdb_cursor_close(cur);
            return batch_fail(s, rc, "rolling back a provisional incident");
        }
        /* and put the version before back */
        if (p[0]) {
            size_t jl = v.mv_size - 1 - sizeof basis;
            char *prev = malloc(jl + 1);
            if (!prev)
                abort();
            memcpy(prev, p + 1 + sizeof basis, jl);
            prev[jl] = 0;
            if (summary_from_json(prev, jl, &basis) != 0) {
                free(prev);
                mdb_cursor_close(cur);
                set_err(s, "incident %.32s: previous version unreadable", basis.id);
                return batch_fail(s, MDB_CORRUPTED, "rolling back a provisional incident");
            }
            rc = cr_store_put_incident(s, &basis, prev, jl);
            free(prev);
            if (rc != 0) {
                mdb_cursor_close(cur);
                return rc;
            }
        }
        (*rolled_back)++;
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
        return batch_fail(s, rc, "reading provisional versions");
    rc = mdb_drop(s->txn, s->provisional, 0);
    if (rc != 0)
        return batch_fail(s, rc, "clearing provisional versions");
    return CR_STORE_OK;
}

int cr_store_settle_provisional(struct cr_store *s, uint64_t *settled)
{
    *settled = 0;
    int rc = batch_ready(s);
    if (rc != 0)
        return rc;
    if (!s->provisional)
        return CR_STORE_OK;
    MDB_stat st;
    rc = mdb_stat(s->txn, s->provisional, &st);
    if (rc == 0) {
        *settled = st.ms_entries;
        rc = mdb_drop(s->txn, s->provisional, 0);
    }
    if (rc != 0)
        return batch_fail(s, rc, "settling provisional versions");
    return CR_STORE_OK;
}

int cr_store_settle_incident(struct cr_store *s, const char *id)
{
    int rc = batch_ready(s);
    if (rc != 0)
        return rc;
    if (!s->provisional)
        return CR_STORE_OK;
    MDB_val k = {strlen(id), (void *)id};
    rc = mdb_del(s->txn, s->provisional, &k, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return batch_fail(s, rc, "settling a provisional version");
    return CR_STORE_OK;
}

int cr_store_put_reject(struct cr_store *s, const char *input, uint64_t position,
                        const char *reason, const char *raw, size_t rawlen)
{
    int rc = batch_ready(s);
    if (rc != 0)
        return rc;
    /* input name | 0x00 | position (BE): sorted by input, then in input order */
    size_t n = input ? strlen(input) : 0;
    if (n > 400)
        n = 400;
    unsigned char key[400 + 9];
    if (n)
        memcpy(key, input, n);
    key[n] = 0;
    put_be64(key + n + 1, position);
    if (!reason)
        reason = "";
    if (!raw)
        rawlen = 0;
    size_t rlen = strlen(reason) + 1;
    MDB_val k = {n + 9, key};
    /* MDB_RESERVE: LMDB gives us the space and we fill it, saving a
     * concatenation buffer for records of any size. */
    MDB_val v = {rlen + rawlen, NULL};
    rc = mdb_put(s->txn, s->rejects, &k, &v, MDB_RESERVE | MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        /* v is the stored record. One record can be rejected for several
         * reasons (invalid UTF-8 and, later, a late match; two late
         * matches): its reasons are kept together, "a; b", and a reason
         * it already has (a replay after a restart) changes nothing. */
        const char *old = v.mv_data;
        size_t olen = strnlen(old, v.mv_size);
        for (const char *part = old; part < old + olen;) {
            const char *end = memchr(part, ';', (size_t)(old + olen - part));
            size_t plen = end ? (size_t)(end - part) : (size_t)(old + olen - part);
            if (plen == rlen - 1 && memcmp(part, reason, plen) == 0)
                return CR_STORE_EXISTS;
            part += plen + (end ? 2 : 0); /* "; " */
        }
        size_t orawlen = olen < v.mv_size ? v.mv_size - olen - 1 : 0;
        char *merged = malloc(olen + 2 + rlen + orawlen);
        if (!merged) {
            set_err(s, "out of memory merging the reasons of a rejected record");
            return CR_STORE_ERR;
        }
        memcpy(merged, old, olen);
        memcpy(merged + olen, "; ", 2);
        memcpy(merged + olen + 2, reason, rlen);
        if (orawlen)
            memcpy(merged + olen + 2 + rlen, old + olen + 1, orawlen);
        MDB_val mv = {olen + 2 + rlen + orawlen, merged};
        rc = mdb_put(s->txn, s->rejects, &k, &mv, 0);
        free(merged);
        if (rc != 0)
            return batch_fail(s, rc, "writing a rejected record");
        return CR_STORE_EXISTS; /* the record was kept already */
    }
    if (rc != 0)
        return batch_fail(s, rc, "writing a rejected record");
    memcpy(v.mv_data, reason, rlen);
    if (rawlen)
        memcpy((char *)v.mv_data + rlen, raw, rawlen);
    return CR_STORE_OK;
}

int cr_store_put_meta(struct cr_store *s, const char *name, const char *value)
{
    int rc = batch_ready(s);
    if (rc != 0)
        return rc;
    MDB_val k = {strlen(name), (void *)name};
    MDB_val v = {strlen(value), (void *)value};
    if (k.mv_size == 0 || k.mv_size > 511) {
        set_err(s, "meta name must be 1..511 bytes");
        return CR_STORE_ERR;
    }
    rc = mdb_put(s->txn, s->meta, &k, &v, 0);
    if (rc != 0)
        return batch_fail(s, rc, "writing metadata");
    return CR_STORE_OK;
}

int cr_store_commit(struct cr_store *s)
{
    if (s->failed) {
        int code = s->failed;
        s->failed = 0;
        return code;
    }
    if (!s->txn) {
        set_err(s, "no write batch open (call cr_store_begin)");
        return CR_STORE_ERR;
    }
    /* mdb_txn_commit frees the transaction whatever it returns. */
    int rc;
    if (cr_fail_point(CR_FAIL_COMMIT)) {
        mdb_txn_abort(s->txn);
        rc = EIO;
    } else
        rc = mdb_txn_commit(s->txn);
    s->txn = NULL;
    if (batch_store == s)
        batch_store = NULL;
    if (rc != 0)
        return lmdb_err(s, rc, "committing a write batch");
    return CR_STORE_OK;
}

void cr_store_abort(struct cr_store *s)
{
    if (s->txn)
        mdb_txn_abort(s->txn);
    s->txn = NULL;
    if (batch_store == s)
        batch_store = NULL;
    s->failed = 0;
}

/* ---- reading ----------------------------------------------------------- */

/* A transaction to read in: the open batch if there is one (the writer
 * sees its own writes), else a fresh read-only one that the caller ends
 * with read_end. */
static int read_begin(struct cr_store *s, MDB_txn **txn)
{
    if (batch_store == s && s->txn) {
        *txn = s->txn;
        return 0;
    }
    if (s->unlocked && !s->collecting)
        pthread_mutex_lock(&s->unlocked_mu);
    int rc = txn_begin(s->env, MDB_RDONLY, txn);
    if (rc != 0) {
        if (s->unlocked && !s->collecting)
            pthread_mutex_unlock(&s->unlocked_mu);
        return lmdb_err(s, rc, "beginning a read transaction");
    }
    return 0;
}

static void read_end(struct cr_store *s, MDB_txn *txn)
{
    if (s->unlocked) {
        MDB_envinfo info;
        if (mdb_env_info(s->env, &info) != 0 || info.me_last_txnid >= mdb_txn_id(txn) + 2)
            s->torn = 1;
    }
    if (!(batch_store == s && txn == s->txn))
        mdb_txn_abort(txn);
    if (s->unlocked && !s->collecting)
        pthread_mutex_unlock(&s->unlocked_mu);
}

/* ---- unlocked reads: copy, check, then hand over ------------------------ */

#define UNLOCKED_ATTEMPTS 20

/* What a first pass read: records of up to four length-prefixed parts. */
struct copies {
    char *buf;
    size_t len, cap;
    int oom;
};

static void copy_part(struct copies *c, const void *p, size_t n)
{
    if (c->oom)
        return;
    if (c->len + sizeof n + n > c->cap) {
        size_t cap = c->cap ? c->cap : 1 << 16;
        while (cap < c->len + sizeof n + n)
            cap *= 2;
        char *b = realloc(c->buf, cap);
        if (!b) {
            c->oom = 1;
            return;
        }
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, &n, sizeof n);
    memcpy(c->buf + c->len + sizeof n, p, n);
    c->len += sizeof n + n;
}

static const char *next_part(const struct copies *c, size_t *at, size_t *n)
{
    memcpy(n, c->buf + *at, sizeof *n);
    const char *p = c->buf + *at + sizeof *n;
    *at += sizeof *n + *n;
    return p;
}

static int copy_incident(const char *json, size_t len, void *arg)
{
    copy_part(arg, json, len);
    return 0;
}

static int copy_reject(const char *input, uint64_t position, const char *reason, const char *raw,
                       size_t rawlen, void *arg)
{
    copy_part(arg, input, strlen(input) + 1);
    copy_part(arg, &position, sizeof position);
    copy_part(arg, reason, strlen(reason) + 1);
    copy_part(arg, raw, rawlen);
    return 0;
}

/* What a pass in the child reports before its copies. */
struct attempt_head {
    int rc, torn, oom;
    size_t len;
    char err[1024];
};

static int write_all(int fd, const void *p, size_t n)
{
    for (const char *b = p; n;) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n)
{
    for (char *b = p; n;) {
        ssize_t r = read(fd, b, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

#define ATTEMPT_TORN 3 /* a child's exit status: LMDB asserted on a changed snapshot */

static void child_assert(MDB_env *env, const char *msg)
{
    (void)env;
    (void)msg;
    _exit(ATTEMPT_TORN); /* quietly: the parent retries */
}

/* One pass, walked in a child process: a snapshot whose pages the writer
 * reused can make LMDB assert (abort) or follow garbage, and that must
 * cost a retry, not the reader (an unlocked walk aborted in
 * mdb_cursor_prev: 'IS_LEAF(mp)' while a run wrote). The child opens the
 * store afresh (LMDB handles do not cross fork), walks it copying into c,
 * and sends the copies through a pipe. Returns 0 with *torn set, -1 on a
 * failure to say in s->err; a child killed by a signal is a torn pass. */
static int unlocked_attempt(struct cr_store *s, struct copies *c,
                            int (*walk)(struct cr_store *, void *), void *warg, int *torn)
{
    int fds[2];
    if (pipe(fds) != 0) {
        set_err(s, "store %s: pipe: %s", s->dir, strerror(errno));
        return -1;
    }
    int die = cr_fail_point(CR_FAIL_UNLOCKED_WALK); /* counted here: children are copies */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        set_err(s, "store %s: fork: %s", s->dir, strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        struct attempt_head h = {.rc = CR_STORE_ERR};
        struct cr_store_opts o = {.read_only = 1};
        struct cr_store *t = cr_store_open(s->dir, &o, h.err, sizeof h.err);
        if (die)
            raise(SIGKILL); /* as a segfault on a reused page would */
        if (t) {
            mdb_env_set_assert(t->env, child_assert);
            t->collecting = 1;
            c->len = 0;
            c->oom = 0;
            h.rc = walk(t, warg);
            h.torn = t->torn;
            h.oom = c->oom;
            h.len = c->len;
            snprintf(h.err, sizeof h.err, "%s", cr_store_errmsg(t));
        }
        int ok = write_all(fds[1], &h, sizeof h) == 0 &&
                 (h.rc != 0 || h.oom || h.torn || write_all(fds[1], c->buf, h.len) == 0);
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    struct attempt_head h;
    int got = read_all(fds[0], &h, sizeof h) == 0;
    int rc = 0;
    *torn = 0;
    if (got && h.rc == 0 && !h.oom && !h.torn) {
        char *b = h.len > c->cap ? realloc(c->buf, h.len) : c->buf;
        if (!b && h.len) {
            set_err(s, "store %s: out of memory copying an unlocked read", s->dir);
            rc = -1;
        } else {
            if (h.len > c->cap) {
                c->buf = b;
                c->cap = h.len;
            }
            got = read_all(fds[0], c->buf, h.len) == 0;
            c->len = h.len;
        }
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (rc != 0)
        return rc;
    if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == ATTEMPT_TORN) || !got) {
        *torn = 1; /* died on a snapshot that changed under it */
        return 0;
    }
    if (h.rc != 0 || h.oom) {
        set_err(s, "%s", h.oom ? "out of memory copying an unlocked read" : h.err);
        return -1;
    }
    *torn = h.torn;
    return 0;
}

/* Run `walk` (cr_store_query or cr_store_rejects with a copying callback)
 * until one pass was not torn. */
static int unlocked_pass(struct cr_store *s, struct copies *c,
                         int (*walk)(struct cr_store *, void *), void *warg)
{
    for (int i = 0; i < UNLOCKED_ATTEMPTS; i++) {
        int torn;
        if (unlocked_attempt(s, c, walk, warg, &torn) != 0)
            return CR_STORE_ERR;
        if (!torn)
            return 0;
    }
    set_err(s,
            "store %s: changed faster than it could be read without its lock file "
            "(%d attempts); let this user write %s/lock.mdb",
            s->dir, UNLOCKED_ATTEMPTS, s->dir);
    return CR_STORE_ERR;
}

struct scan {
    MDB_dbi dbi;
    const unsigned char *prefix;
    size_t plen;
};

struct query_walk {
    const struct cr_query *q;
    struct copies *c;
};

static int query_walk(struct cr_store *s, void *arg)
{
    struct query_walk *w = arg;
    return cr_store_query(s, w->q, copy_incident, w->c);
}

int cr_store_query(struct cr_store *s, const struct cr_query *q,
                   int (*cb)(const char *json, size_t len, void *arg), void *arg)
{
    if (s->unlocked && !s->collecting) {
        struct copies c = {0};
        struct query_walk w = {q, &c};
        pthread_mutex_lock(&s->unlocked_mu);
        int rc = unlocked_pass(s, &c, query_walk, &w);
        pthread_mutex_unlock(&s->unlocked_mu);
        for (size_t at = 0, n; rc == 0 && at < c.len;) {
            const char *json = next_part(&c, &at, &n);
            if (cb(json, n, arg) != 0)
                break;
        }
        free(c.buf);
        return rc;
    }
    struct cr_query none = CR_QUERY_ALL;
    if (!q)
        q = &none;

    /* The walk goes through the most selective index that applies; the
     * other filters are checked per entry with point lookups. */
    char ebuf[KEY_MAX], cbuf[KEY_MAX];
    size_t elen = 0, clen = 0;
    if (q->entity && *q->entity) {
        const char *eq = strchr(q->entity, '=');
        if (!eq) {
            set_err(s, "entity filter '%s' is not name=value", q->entity);
            return CR_STORE_ERR;
        }
        elen = entity_prefix(ebuf, sizeof ebuf, q->entity, (size_t)(eq - q->entity), eq + 1,
                             strlen(eq + 1));
        if (!elen || elen + TS_LEN + ID_LEN > KEY_MAX)
            return CR_STORE_OK; /* longer than any stored entity: nothing matches */
    }
    if (q->category && *q->category) {
        clen = strlen(q->category) + 1;
        if (clen + TS_LEN + ID_LEN > KEY_MAX)
            return CR_STORE_OK;
        memcpy(cbuf, q->category, clen);
    }
    struct scan sc = {s->by_time, (const unsigned char *)"", 0};
    if (elen)
        sc = (struct scan){s->by_entity, (const unsigned char *)ebuf, elen};
    else if (clen)
        sc = (struct scan){s->by_category, (const unsigned char *)cbuf, clen};

    MDB_txn *txn;
    int rc = read_begin(s, &txn);
    if (rc != 0)
        return rc;
    MDB_cursor *cur;
    rc = mdb_cursor_open(txn, sc.dbi, &cur);
    if (rc != 0) {
        read_end(s, txn);
        return lmdb_err(s, rc, "opening a cursor");
    }

    /* Newest first: seek just past (prefix, until, any id) - ids are hex,
     * below 0xff - or to the cursor, and step back. Oldest first: seek
     * the start of the prefix or the cursor, and step forward. A cursor
     * is a position only: every filter still applies past it. */
    unsigned char seek[KEY_MAX + 1];
    memcpy(seek, sc.prefix, sc.plen);
    int cursor = q->after_id && strlen(q->after_id) == ID_LEN &&
                 (q->ascending ? 1 : q->after_ts <= q->until_ms);
    MDB_cursor_op step = q->ascending ? MDB_NEXT : MDB_PREV;
    MDB_val k, v;
    if (cursor) {
        put_time(seek + sc.plen, q->after_ts);
        memcpy(seek + sc.plen + TS_LEN, q->after_id, ID_LEN);
        k = (MDB_val){sc.plen + TS_LEN + ID_LEN, seek};
    } else {
        put_time(seek + sc.plen, q->ascending ? INT64_MIN : q->until_ms);
        seek[sc.plen + TS_LEN] = q->ascending ? 0 : 0xff;
        k = (MDB_val){sc.plen + TS_LEN + 1, seek};
    }
    unsigned char at[KEY_MAX + 1];
    size_t atlen = k.mv_size;
    memcpy(at, seek, atlen);
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (q->ascending) {
        if (rc == 0 && cursor && k.mv_size == atlen && memcmp(k.mv_data, at, atlen) == 0)
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT); /* strictly past the cursor */
    } else if (rc == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    }

    size_t emitted = 0;
    int ret = CR_STORE_OK;
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, step)) {
        const unsigned char *kp = k.mv_data;
        /* Keys with the prefix are contiguous: the first one without it
         * (walking down) ends the walk. */
        if (k.mv_size < sc.plen || memcmp(kp, sc.prefix, sc.plen) != 0)
            break;
        if (k.mv_size != sc.plen + TS_LEN + ID_LEN)
            continue; /* a longer entity value sharing the prefix cannot
                       * happen (NUL-terminated), but never trust a key */
        const unsigned char *tsid = kp + sc.plen;
        const char *id = (const char *)tsid + TS_LEN;
        if (q->ascending && get_time(tsid) > q->until_ms)
            break;

        MDB_val sum = v;
        if (sc.dbi != s->by_time) {
            MDB_val tk = {TS_LEN + ID_LEN, (void *)tsid};
            if (mdb_get(txn, s->by_time, &tk, &sum) != 0)
                continue; /* stale secondary key: skip, never fail a query */
        }
        if (sum.mv_size < TS_LEN)
            continue;
        const unsigned char *sp = sum.mv_data;
        if (get_time(sp) < q->since_ms)
            continue;
        if (q->priority && *q->priority) {
            size_t pl = strlen(q->priority);
            if (sum.mv_size - TS_LEN != pl || memcmp(sp + TS_LEN, q->priority, pl) != 0)
                continue;
        }
        if (elen && clen) {
            /* Walking by entity; the category must also match. */
            unsigned char ck[KEY_MAX];
            memcpy(ck, cbuf, clen);
            memcpy(ck + clen, tsid, TS_LEN + ID_LEN);
            MDB_val ckv = {clen + TS_LEN + ID_LEN, ck}, dummy;
            if (mdb_get(txn, s->by_category, &ckv, &dummy) != 0)
                continue;
        }
        MDB_val ik = {ID_LEN, (void *)id}, json;
        if (mdb_get(txn, s->incidents, &ik, &json) != 0)
            continue;
        emitted++;
        if (cb(json.mv_data, json.mv_size, arg) != 0)
            break;
        if (q->limit && emitted >= q->limit)
            break;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        ret = lmdb_err(s, rc, "reading the incident index");
    mdb_cursor_close(cur);
    read_end(s, txn);
    return ret;
}

static int rejects_walk(struct cr_store *s, void *arg)
{
    return cr_store_rejects(s, copy_reject, arg);
}

int cr_store_rejects(struct cr_store *s,
                     int (*cb)(const char *input, uint64_t position, const char *reason,
                               const char *raw, size_t rawlen, void *arg),
                     void *arg)
{
    if (s->unlocked && !s->collecting) {
        struct copies c = {0};
        pthread_mutex_lock(&s->unlocked_mu);
        int rc = unlocked_pass(s, &c, rejects_walk, &c);
        pthread_mutex_unlock(&s->unlocked_mu);
        for (size_t at = 0, n; rc == 0 && at < c.len;) {
            const char *input = next_part(&c, &at, &n);
            uint64_t position;
            memcpy(&position, next_part(&c, &at, &n), sizeof position);
            const char *reason = next_part(&c, &at, &n);
            const char *raw = next_part(&c, &at, &n);
            if (cb(input, position, reason, raw, n, arg) != 0)
                break;
        }
        free(c.buf);
        return rc;
    }
    MDB_txn *txn;
    int rc = read_begin(s, &txn);
    if (rc != 0)
        return rc;
    MDB_cursor *cur;
    rc = mdb_cursor_open(txn, s->rejects, &cur);
    if (rc != 0) {
        read_end(s, txn);
        return lmdb_err(s, rc, "opening a cursor");
    }
    MDB_val k, v;
    int ret = CR_STORE_OK;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *kp = k.mv_data;
        const char *vp = v.mv_data;
        const char *nul = v.mv_size ? memchr(vp, 0, v.mv_size) : NULL;
        const unsigned char *knul = k.mv_size >= 9 ? memchr(kp, 0, k.mv_size) : NULL;
        if (!nul || !knul || (size_t)(knul - kp) + 9 != k.mv_size)
            continue; /* not ours */
        char input[401];
        memcpy(input, kp, (size_t)(knul - kp));
        input[knul - kp] = 0;
        uint64_t position = get_be64(knul + 1);
        size_t rlen = (size_t)(nul - vp) + 1;
        if (cb(input, position, vp, vp + rlen, v.mv_size - rlen, arg) != 0)
            break;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        ret = lmdb_err(s, rc, "reading rejected records");
    mdb_cursor_close(cur);
    read_end(s, txn);
    return ret;
}

int cr_store_get_meta(struct cr_store *s, const char *name, char *out, size_t outlen)
{
    MDB_txn *txn;
    int rc = read_begin(s, &txn);
    if (rc != 0)
        return rc;
    MDB_val k = {strlen(name), (void *)name}, v;
    int ret = CR_STORE_OK;
    rc = k.mv_size ? mdb_get(txn, s->meta, &k, &v) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND) {
        set_err(s, "no meta value '%s'", name);
        ret = CR_STORE_NOTFOUND;
    } else if (rc != 0) {
        ret = lmdb_err(s, rc, "reading metadata");
    } else if (v.mv_size >= outlen) {
        set_err(s, "meta value '%s' is %zu bytes, buffer holds %zu", name, v.mv_size,
                outlen ? outlen - 1 : 0);
        ret = CR_STORE_ERR;
    } else {
        /* Copy before the transaction ends: LMDB memory is borrowed. */
        memcpy(out, v.mv_data, v.mv_size);
        out[v.mv_size] = 0;
    }
    read_end(s, txn);
    return ret;
}

int cr_store_get_incident(struct cr_store *s, const char *id, char **json, size_t *len)
{
    *json = NULL;
    MDB_txn *txn;
    int rc = read_begin(s, &txn);
    if (rc != 0)
        return rc;
    MDB_val k = {strlen(id), (void *)id}, v;
    int ret = CR_STORE_OK;
    rc = k.mv_size ? mdb_get(txn, s->incidents, &k, &v) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND) {
        set_err(s, "no incident %s", id);
        ret = CR_STORE_NOTFOUND;
    } else if (rc != 0) {
        ret = lmdb_err(s, rc, "reading an incident");
    } else {
        *json = malloc(v.mv_size + 1);
        if (!*json) {
            ret = CR_STORE_ERR;
            set_err(s, "out of memory");
        } else {
            memcpy(*json, v.mv_data, v.mv_size);
            (*json)[v.mv_size] = 0;
            if (len)
                *len = v.mv_size;
        }
    }
    read_end(s, txn);
    return ret;
}

int cr_store_count_incidents(struct cr_store *s, uint64_t *n)
{
    MDB_txn *txn;
    int rc = read_begin(s, &txn);
    if (rc != 0)
        return rc;
    MDB_stat st;
    rc = mdb_stat(txn, s->incidents, &st);
    read_end(s, txn);
    if (rc != 0)
        return lmdb_err(s, rc, "counting incidents");
    *n = st.ms_entries;
    return CR_STORE_OK;
}

int cr_store_usage(struct cr_store *s, struct cr_store_usage *u)
{
    memset(u, 0, sizeof *u);
    MDB_envinfo info;
    MDB_stat est;
    if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &est) != 0) {
        set_err(s, "store %s: reading its size", s->dir);
        return CR_STORE_ERR;
    }
    u->map_bytes = (uint64_t)info.me_mapsize;
    u->used_bytes = (uint64_t)(info.me_last_pgno + 1) * est.ms_psize;
    u->last_txn = (uint64_t)info.me_last_txnid;
    MDB_txn *txn;
    int rc = read_begin(s, &txn);
    if (rc != 0)
        return rc;
    MDB_stat st;
    if (mdb_stat(txn, s->incidents, &st) == 0)
        u->incidents = st.ms_entries;
    if (mdb_stat(txn, s->rejects, &st) == 0)
        u->rejects = st.ms_entries;
    if (mdb_stat(txn, s->state, &st) == 0)
        u->state_entries = st.ms_entries;
    read_end(s, txn);
    return CR_STORE_OK;
}

const char *cr_store_lib_version(void) { return mdb_version(NULL, NULL, NULL); }

/* ---- checkpoints: correlation state and input positions ---- */

int cr_store_put_state(struct cr_store *s, const void *key, size_t klen, const void *val,
                       size_t vlen)
{
    int rc = batch_ready(s);
    if (rc != 0)
        return rc;
    if (klen == 0 || klen > 511) {
        set_err(s, "state key must be 1..511 bytes");
        return CR_STORE_ERR;
    }
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    rc = mdb_put(s->txn, s->state, &k, &v, 0);
    if (rc != 0)
        return batch_fail(s, rc, "writing correlation state");
    return CR_STORE_OK;
}

int cr_store_del_state(struct cr_store *s, const void *key, size_t klen)
{
    int rc = batch_ready(s);
    if (rc != 0)
        return rc;
    if (klen == 0 || klen > 511)
        return CR_STORE_OK; /* never stored */
    MDB_val k = {klen, (void *)key};
    rc = mdb_del(s->txn, s->state, &k, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return batch_fail(s, rc, "deleting correlation state");
    return CR_STORE_OK;
}

int cr_store_put_offset(struct cr_store *s, const char *input, int64_t next)
{
    int rc = batch_ready(s);
    if (rc != 0)
        return rc;
    size_t n = strlen(input);
    if (n == 0 || n > 511) {
        set_err(s, "input name must be 1..511 bytes");
        return CR_STORE_ERR;
    }
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)((uint64_t)next >> (56 - 8 * i));
    MDB_val k = {n, (void *)input}, v = {8, be};
    rc = mdb_put(s->txn, s->offsets, &k, &v, 0);
    if (rc != 0)
        return batch_fail(s, rc, "writing an input position");
    return CR_STORE_OK;
}

int cr_store_get_offset(struct cr_store *s, const char *input, int64_t *next)
{
    MDB_txn *txn;
    int rc = read_begin(s, &txn);
    if (rc != 0)
        return rc;
    MDB_val k = {strlen(input), (void *)input}, v;
    int ret = CR_STORE_OK;
    rc = k.mv_size ? mdb_get(txn, s->offsets, &k, &v) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND) {
        set_err(s, "no position for input '%s'", input);
        ret = CR_STORE_NOTFOUND;
    } else if (rc != 0 || v.mv_size != 8) {
        ret = rc ? lmdb_err(s, rc, "reading an input position") : CR_STORE_ERR;
    } else {
        const unsigned char *b = v.mv_data;
        uint64_t x = 0;
        for (int i = 0; i < 8; i++)
            x = x << 8 | b[i];
        *next = (int64_t)x;
    }
    read_end(s, txn);
    return ret;
}

int cr_store_each_state(struct cr_store *s,
                        int (*cb)(const void *key, size_t klen, const void *val, size_t vlen,
                                  void *arg),
                        void *arg)
{
    MDB_txn *txn;
    int rc = read_begin(s, &txn);
    if (rc != 0)
        return rc;
    MDB_cursor *cur;
    rc = mdb_cursor_open(txn, s->state, &cur);
    if (rc != 0) {
        read_end(s, txn);
        return lmdb_err(s, rc, "reading correlation state");
    }
    MDB_val k, v;
    int op = MDB_FIRST, stop = 0;
    while (!stop && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        op = MDB_NEXT;
        stop = cb(k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg);
    }
    mdb_cursor_close(cur);
    read_end(s, txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return lmdb_err(s, rc, "reading correlation state");
    return CR_STORE_OK;
}
