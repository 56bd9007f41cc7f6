/*
 * test_writer.c - the writer thread without the binary: how it assembles a
 * checkpoint from its parts, against a real LMDB store in a temp directory.
 *
 * An epoch is durable only once ingest's positions and every shard's state
 * delta have arrived; its transaction holds the incident versions sent
 * before it; epochs become durable in order; an epoch missing a part never
 * does; and a failed commit wakes whoever waits for an epoch (the durable
 * callback with 0) instead of leaving it to its timeout. The durable
 * callback runs on the writer thread just after the commit, so it reads
 * the store there: what it sees is what a restart would find.
 */
#include "base/crashpoint.h"
#include "engine/pipeline/writer.h"
#include "engine/store/checkpoint.h"
#include "engine/store/store.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static char *tmp;
static struct cr_store *store;

static void setup(void)
{
    tmp = cr_test_tmpdir();
    char err[512];
    store = cr_store_open(tmp, NULL, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
}

static void teardown(void)
{
    cr_store_close(store);
    cr_test_rmtree(tmp);
    free(tmp);
}

/* What each durable callback saw. */
struct seen {
    int n;
    uint64_t epoch[8];
    int64_t offset[8]; /* the position of input "in" stored at that moment, -1: none */
    int incidents[8];  /* incidents stored at that moment */
    int states[8];     /* state entries stored at that moment */
};

static int count_one(const char *json, size_t len, void *arg)
{
    (void)json;
    (void)len;
    ++*(int *)arg;
    return 0;
}

static int count_state(const void *k, size_t kl, const void *v, size_t vl, void *arg)
{
    (void)k, (void)kl, (void)v, (void)vl;
    ++*(int *)arg;
    return 0;
}

static void on_durable(void *arg, uint64_t epoch)
{
    struct seen *s = arg;
    if (s->n == 8)
        return;
    int i = s->n++;
    s->epoch[i] = epoch;
    s->offset[i] = -1;
    if (epoch == 0)
        return; /* the writer failed: nothing new to read */
    cr_store_get_offset(store, "in", &s->offset[i]);
    cr_store_query(store, NULL, count_one, &s->incidents[i]);
    cr_store_each_state(store, count_state, &s->states[i]);
}

static struct cr_wmsg *epoch_msg(uint64_t e, int64_t next)
{
    struct cr_position p = {.next = next};
    snprintf(p.input, sizeof p.input, "in");
    return cr_wmsg_epoch(e, &p, 1);
}

/* A shard's delta for epoch e: one state, keyed by shard and epoch. */
static struct cr_wmsg *snap_msg(uint64_t e, int shard)
{
    struct cr_ckpt_buf b = {0};
    char key[32];
    int kl = snprintf(key, sizeof key, "rule%c%d.%llu", 0, shard, (unsigned long long)e);
    const void *parts[] = {"state"};
    size_t lens[] = {5};
    cr_ckpt_put(&b, key, (size_t)kl, parts, lens, 1);
    struct cr_wmsg *m = cr_wmsg_snapshot(e, b.p, b.len);
    free(b.p);
    return m;
}

static struct cr_wmsg *incident_msg(const char *id)
{
    struct cr_incident inc;
    memset(&inc, 0, sizeof inc);
    snprintf(inc.id, sizeof inc.id, "%s", id);
    snprintf(inc.rule, sizeof inc.rule, "ssh.bruteforce");
    snprintf(inc.status, sizeof inc.status, "detected");
    inc.first_seen_ms = inc.last_seen_ms = inc.window_start_ms = 1772438400000;
    inc.event_count = 5;
    return cr_wmsg_incident(cr_version_new(&inc, 1, NULL));
}

static const char *const names[] = {"in"};
static const _Atomic int nnames = 1;

/* No commit by the clock: only checkpoints and the end commit. */
static struct cr_writer *start(struct seen *seen)
{
    struct cr_writer *w = cr_writer_start(store, 1, 3600000, 100, names, &nnames);
    cr_assert_not_null(w);
    cr_writer_set_checkpoints(w, 2, on_durable, seen);
    return w;
}

Test(writer, an_epoch_is_durable_with_all_its_parts_and_in_order, .init = setup, .fini = teardown)
{
    struct seen seen = {0};
    struct cr_writer *w = start(&seen);
    /* how a run interleaves them: ingest's marks in order, each shard's
     * snapshots in order, the shards at their own pace */
    cr_writer_send(w, incident_msg("00000000000000000000000000000001"));
    cr_writer_send(w, epoch_msg(1, 100));
    cr_writer_send(w, snap_msg(1, 0));
    cr_writer_send(w, epoch_msg(2, 200));
    cr_writer_send(w, snap_msg(2, 0));
    cr_writer_send(w, snap_msg(1, 1));
    cr_writer_send(w, incident_msg("00000000000000000000000000000002"));
    cr_writer_send(w, snap_msg(2, 1));
    cr_writer_send(w, cr_wmsg_done());
    struct cr_writer_stats st;
    char err[256] = "";
    cr_assert_eq(cr_writer_join(w, &st, err, sizeof err), 0, "%s", err);
    cr_assert_eq(seen.n, 2, "one callback per epoch, got %d", seen.n);
    cr_assert_eq(seen.epoch[0], 1);
    cr_assert_eq(seen.epoch[1], 2);
    /* epoch 1's transaction: its position, both shards' states, and the
     * incident sent before it */
    cr_assert_eq(seen.offset[0], 100);
    cr_assert_eq(seen.states[0], 2);
    cr_assert_eq(seen.incidents[0], 1);
    /* epoch 2 adds its own, and the incident that came between the two */
    cr_assert_eq(seen.offset[1], 200);
    cr_assert_eq(seen.states[1], 4);
    cr_assert_eq(seen.incidents[1], 2);
    cr_assert_eq(st.epochs, 2);
    cr_assert_eq(st.incident_versions, 2);
    cr_assert_eq(st.incidents_created, 2);
}

Test(writer, an_epoch_missing_a_shard_never_becomes_durable, .init = setup, .fini = teardown)
{
    struct seen seen = {0};
    struct cr_writer *w = start(&seen);
    cr_writer_send(w, epoch_msg(1, 100));
    cr_writer_send(w, snap_msg(1, 0));
    cr_writer_send(w, incident_msg("00000000000000000000000000000003"));
    cr_writer_send(w, cr_wmsg_done());
    struct cr_writer_stats st;
    cr_assert_eq(cr_writer_join(w, &st, NULL, 0), 0);
    cr_assert_eq(seen.n, 0, "epoch 1 lacks shard 1's snapshot");
    int64_t next;
    cr_assert_eq(cr_store_get_offset(store, "in", &next), CR_STORE_NOTFOUND,
                 "no position without its state");
    int states = 0, incidents = 0;
    cr_store_each_state(store, count_state, &states);
    cr_assert_eq(states, 0);
    /* the incident is not lost: the end commit stores it */
    cr_store_query(store, NULL, count_one, &incidents);
    cr_assert_eq(incidents, 1);
    cr_assert_eq(st.epochs, 0);
}

Test(writer, a_failed_commit_wakes_the_waiter_and_stores_nothing_more, .init = setup,
     .fini = teardown)
{
    cr_assert_eq(setenv("CORRAL_FAIL_AT", "commit:1", 1), 0);
    cr_assert_eq(cr_crash_init(), 0);
    struct seen seen = {0};
    struct cr_writer *w = start(&seen);
    cr_writer_send(w, epoch_msg(1, 100));
    cr_writer_send(w, snap_msg(1, 0));
    cr_writer_send(w, snap_msg(1, 1));
    /* after the failure the writer drains without writing: senders never
     * block, and nothing later is stored */
    cr_writer_send(w, epoch_msg(2, 200));
    cr_writer_send(w, snap_msg(2, 0));
    cr_writer_send(w, snap_msg(2, 1));
    cr_writer_send(w, cr_wmsg_done());
    char err[256] = "";
    cr_assert_eq(cr_writer_join(w, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "commit"), "%s", err);
    cr_assert_eq(seen.n, 1, "one wake-up for the failure, got %d", seen.n);
    cr_assert_eq(seen.epoch[0], 0, "the waiter is woken with 0, not an epoch");
    int64_t next;
    cr_assert_eq(cr_store_get_offset(store, "in", &next), CR_STORE_NOTFOUND);
}
