/*
 * fuzz_incident.c - the stored-incident decoder: what reads incident JSON
 * back out of the store. The store keeps each incident as the JSON
 * cr_incident_to_json made, and decodes it again in
 *  - engine/store/store.c: stored_first_seen (an update whose first_seen moved,
 *    a provisional version's "version before") and summary_from_json (the
 *    rollback of provisional versions);
 *  - cli/cmd_query.c: `corral query --format table|csv` (print_incident,
 *    entities_text, the display-width cell code), and `corral rejects`
 *    (display_escape of the raw bytes of rejected records).
 *
 * Each input is the stored bytes of one incident version (and the raw
 * bytes of one rejected record). Per input:
 *  1. in a writable store kept open: the input is stored as incident X,
 *     then a provisional version of X with another first_seen is put (its
 *     "version before" is the input), then the provisional versions are
 *     rolled back (which decodes the input twice), and the batch is
 *     queried and aborted;
 *  2. in a second store: the input is committed as incident X and as a
 *     reject, the store is closed, and `corral query` (table, csv, ndjson)
 *     and `corral rejects` (table, ndjson) read it through their real entry
 *     points, writing to /dev/null.
 *
 * The store is a cache of our own writes, but a store on disk can be
 * damaged or written by another version: bytes there that are not an
 * incident must be reported ("could not be read as JSON") or skipped,
 * never crash `corral query` or the engine.
 *
 * Checked: every call returns a documented status (store.h: 0 or a
 * negative code; the commands: 0 or 1, never 2 for these arguments).
 */
#include "fuzz_common.h"
#include "engine/store/incident.h"
#include "cli/commands.h"
#include "engine/store/store.h"

#include <dirent.h>

static struct cr_store *w;
static char qdir[600];
static FILE *devnull;

static void base_incident(struct cr_incident *inc, int64_t first_seen)
{
    memset(inc, 0, sizeof *inc);
    memcpy(inc->id, "0123456789abcdef0123456789abcdef", 33);
    snprintf(inc->rule, sizeof inc->rule, "brute");
    snprintf(inc->title, sizeof inc->title, "Brute force");
    snprintf(inc->category, sizeof inc->category, "S-ATK-BRUTE");
    snprintf(inc->priority, sizeof inc->priority, "P2");
    snprintf(inc->status, sizeof inc->status, "detected");
    inc->nentities = 2;
    snprintf(inc->entities[0].name, sizeof inc->entities[0].name, "src_ip");
    snprintf(inc->entities[0].value, sizeof inc->entities[0].value, "203.0.113.7");
    snprintf(inc->entities[1].name, sizeof inc->entities[1].name, "user");
    snprintf(inc->entities[1].value, sizeof inc->entities[1].value, "root");
    inc->first_seen_ms = first_seen;
    inc->last_seen_ms = first_seen + 60000;
    inc->window_start_ms = first_seen;
    inc->event_count = 5;
}

/* Empty the second store's directory: each input starts from no store, so
 * the reject written is the one read. */
static void clear_qdir(void)
{
    DIR *d = opendir(qdir);
    if (!d)
        return;
    struct dirent *e;
    char path[1200];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", qdir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static int query_cb(const char *json, size_t len, void *arg)
{
    fuzz_touch(json, len);
    return 0;
}

static int run(int (*cmd)(int, char **, FILE *, FILE *), const char *name, const char *fmt)
{
    char a0[16], a1[] = "--store", a3[] = "--format", a4[16];
    snprintf(a0, sizeof a0, "%s", name);
    snprintf(a4, sizeof a4, "%s", fmt);
    char *argv[] = {a0, a1, qdir, a3, a4, NULL};
    int rc = cmd(5, argv, devnull, devnull);
    FUZZ_ASSERT(rc == 0 || rc == 1);
    return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[600], err[512];
    snprintf(dir, sizeof dir, "%s/inc-w", fuzz_tmpdir());
    snprintf(qdir, sizeof qdir, "%s/inc-q", fuzz_tmpdir());
    struct cr_store_opts o = {.map_size = 256u << 20};
    w = cr_store_open(dir, &o, err, sizeof err);
    if (!w) {
        fprintf(stderr, "fuzz_incident: %s\n", err);
        abort();
    }
    devnull = fopen("/dev/null", "w");
    FUZZ_ASSERT(devnull != NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    static const char good[] =
        "{\"id\":\"0123456789abcdef0123456789abcdef\",\"rule\":\"brute\",\"first_seen\":"
        "\"2026-03-02T08:00:00.000Z\",\"last_seen\":\"2026-03-02T08:01:00.000Z\","
        "\"priority\":\"P2\"}";
    struct cr_incident a, b;
    base_incident(&a, FUZZ_REFERENCE_MS);
    base_incident(&b, FUZZ_REFERENCE_MS - 3600000);

    /* 1. the write path's decoders, in a batch that is thrown away */
    FUZZ_ASSERT(cr_store_begin(w) == 0);
    int rc = cr_store_put_incident(w, &a, json, size);
    FUZZ_ASSERT(rc <= 0);
    if (rc == 0) {
        rc = cr_store_put_incident_provisional(w, &b, json, size);
        FUZZ_ASSERT(rc <= 0);
    }
    if (rc == 0) {
        /* an update whose first_seen moved back: re-reads the stored JSON */
        rc = cr_store_put_incident(w, &a, good, sizeof good - 1);
        FUZZ_ASSERT(rc <= 0);
    }
    if (rc == 0) {
        uint64_t n = 0;
        rc = cr_store_rollback_provisional(w, &n);
        FUZZ_ASSERT(rc <= 0);
    }
    if (rc == 0) {
        struct cr_query q;
        memset(&q, 0, sizeof q);
        q.since_ms = INT64_MIN;
        q.until_ms = INT64_MAX;
        FUZZ_ASSERT(cr_store_query(w, &q, query_cb, NULL) <= 0);
    }
    cr_store_abort(w);

    /* 2. the command line's decoders, on a committed store */
    char err[512];
    struct cr_store_opts o = {.map_size = 64u << 20};
    clear_qdir();
    struct cr_store *q = cr_store_open(qdir, &o, err, sizeof err);
    FUZZ_ASSERT(q != NULL);
    FUZZ_ASSERT(cr_store_begin(q) == 0);
    rc = cr_store_put_incident(q, &a, json, size);
    FUZZ_ASSERT(rc <= 0);
    if (rc == 0) {
        rc = cr_store_put_reject(q, "fuzz.log", 7, "parse error", json, size);
        FUZZ_ASSERT(rc <= 0 || rc == CR_STORE_EXISTS);
        if (rc == CR_STORE_EXISTS)
            rc = 0;
    }
    if (rc == 0)
        FUZZ_ASSERT(cr_store_commit(q) == 0);
    else
        cr_store_abort(q);
    cr_store_close(q);
    if (rc == 0) {
        run(cr_cmd_query_io, "query", "table");
        run(cr_cmd_query_io, "query", "csv");
        run(cr_cmd_query_io, "query", "ndjson");
        run(cr_cmd_rejects_io, "rejects", "table");
        run(cr_cmd_rejects_io, "rejects", "ndjson");
    }
    return 0;
}
