/*
 * test_shard.c - a correlation shard thread without the binary: its merge
 * of the workers' rings back into input order, with a real writer and
 * store behind it.
 *
 * Batch k comes from worker k % W, and the workers finish in any order;
 * the shard must read batch 0 before batch 1 whatever arrived first. Here
 * worker 1's batch (later events) is complete in its ring before worker
 * 0's batch is even written. With no allowed lateness, applying batch 1
 * first would make batch 0's matches late (counted, kept as rejects, not
 * counted towards a window); read in order, each batch opens its own
 * brute-force incident and nothing is late.
 */
#include "engine/correlate/match.h"
#include "engine/pipeline/ring.h"
#include "engine/pipeline/shard.h"
#include "engine/pipeline/writer.h"
#include "engine/store/store.h"
#include "rules_fixture.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *RULES = "rules:\n"
                           "  - id: fail\n"
                           "    match: 'Failed from (?<src_ip>\\S+)'\n"
                           "correlations:\n"
                           "  - id: brute\n"
                           "    type: event_count\n"
                           "    rules: [fail]\n"
                           "    group_by: [src_ip]\n"
                           "    timespan: 60s\n"
                           "    condition: { gte: 3 }\n"
                           "    incident: { category: S-ATK-BRUTE }\n";

#define T0 1772438400000LL

static struct cr_match match(const struct cr_ruleset *rs, uint64_t seq, int sec, uint64_t line)
{
    struct cr_match m;
    memset(&m, 0, sizeof m);
    m.kind = CR_MSG_MATCH;
    m.rule = (uint32_t)cr_ruleset_find_rule(rs, "fail");
    m.src = 7;
    m.seq = seq;
    m.time_ms = T0 + sec * 1000LL;
    m.seen_ms = m.time_ms; /* the newest of its input so far: itself */
    m.position = line;
    const char *ip = "203.0.113.5";
    m.key_len = (uint16_t)strlen(ip);
    memcpy(m.key, ip, m.key_len);
    m.raw_len = (uint16_t)snprintf(m.raw, sizeof m.raw, "Failed from %s", ip);
    return m;
}

static void control(struct cr_ring *r, uint8_t kind, uint64_t seq)
{
    struct cr_match m;
    memset(&m, 0, sizeof m);
    m.kind = kind;
    m.seq = seq;
    cr_ring_push(r, &m, 1);
}

/* What a worker sends before a batch end: how far the input got. */
static void watermark(struct cr_ring *r, uint64_t seq, int sec)
{
    struct cr_match m;
    memset(&m, 0, sizeof m);
    m.kind = CR_MSG_WATERMARK;
    m.seq = seq;
    m.src = 7;
    m.time_ms = T0 + sec * 1000LL;
    cr_ring_push(r, &m, 1);
}

static int collect(const char *json, size_t len, void *arg)
{
    json_t *all = arg, *o = json_loadb(json, len, 0, NULL);
    cr_assert_not_null(o);
    json_array_append_new(all, o);
    return 0;
}

Test(shard, batches_are_applied_in_input_order_whichever_worker_is_first)
{
    char *dir = cr_test_tmpdir();
    struct cr_ruleset *rs = cr_test_rules(dir, "r.yaml", RULES);
    char sdir[4200], err[512];
    snprintf(sdir, sizeof sdir, "%s/store", dir);
    struct cr_store *store = cr_store_open(sdir, NULL, err, sizeof err);
    cr_assert_not_null(store, "%s", err);
    static const char *const names[] = {"in"};
    static const _Atomic int nnames = 1;
    struct cr_writer *wr = cr_writer_start(store, 1, 1, 100, names, &nnames);
    cr_assert_not_null(wr);

    struct cr_ring *rings[2] = {cr_ring_new(64, sizeof(struct cr_match)),
                                cr_ring_new(64, sizeof(struct cr_match))};
    /* worker 1 is done with batch 1 (events at 100..102 s) and the end... */
    for (int i = 0; i < 3; i++) {
        struct cr_match m = match(rs, 1, 100 + i, 4 + (uint64_t)i);
        cr_ring_push(rings[1], &m, 1);
    }
    watermark(rings[1], 1, 102);
    control(rings[1], CR_MSG_BATCH_END, 1);
    control(rings[1], CR_MSG_EOF, 2);

    struct cr_shard sh = {.index = 0,
                          .rs = rs,
                          .in = rings,
                          .nworkers = 2,
                          .max_keys = 1000,
                          .lateness_ms = 0,
                          .idle_ms = 0,
                          .reorder_max_bytes = 1 << 20,
                          .writer = wr,
                          .nshards = 1};
    cr_assert_eq(cr_shard_start(&sh), 0);
    /* ... before worker 0 writes batch 0 (events at 0..2 s) */
    for (int i = 0; i < 3; i++) {
        struct cr_match m = match(rs, 0, i, 1 + (uint64_t)i);
        cr_ring_push(rings[0], &m, 1);
    }
    watermark(rings[0], 0, 2);
    control(rings[0], CR_MSG_BATCH_END, 0);
    control(rings[0], CR_MSG_EOF, 2);
    cr_shard_join(&sh);
    struct cr_writer_stats ws;
    cr_assert_eq(cr_writer_join(wr, &ws, err, sizeof err), 0, "%s", err);

    cr_assert_eq(sh.reorder.late, 0, "%llu matches taken as late",
                 (unsigned long long)sh.reorder.late);
    json_t *all = json_array();
    cr_assert_eq(cr_store_query(store, NULL, collect, all), 0);
    cr_assert_eq(json_array_size(all), 2, "one incident per batch's burst, got %zu",
                 json_array_size(all));
    for (size_t i = 0; i < 2; i++) {
        json_t *inc = json_array_get(all, i);
        cr_assert_eq(json_integer_value(json_object_get(inc, "event_count")), 3);
    }
    json_decref(all);
    free(sh.budget_evicted);
    free(sh.tenant_evicted);
    cr_ring_free(rings[0]);
    cr_ring_free(rings[1]);
    cr_store_close(store);
    cr_ruleset_free(rs);
    cr_test_rmtree(dir);
    free(dir);
}
