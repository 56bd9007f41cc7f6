/*
 * fuzz_checkpoint.c - the checkpoint state decoder: a checkpoint delta
 * (engine/store/checkpoint.h: PUT/DEL operations) applied to an LMDB write batch
 * by cr_ckpt_apply, then every stored entry read back the way a
 * restarting shard does (engine/pipeline/shard.c restore_one): held matches and
 * input times into a reorder buffer (cr_reorder_restore, engine/pipeline/reorder.c),
 * correlation states and their open incidents into a correlator
 * (cr_correlator_restore, engine/correlate/correlate.c), against the rule set of
 * fuzz_rules_fixture.h. The restored correlator is then driven: every
 * restored key takes a match of every rule, held matches are released,
 * time moves on, incidents are flushed and encoded as JSON, and a new
 * snapshot is taken.
 *
 * The store can hold bytes written by an older build, a torn disk or
 * someone else; its meta state_format only guards the layout, not the
 * values. So a corrupted or forged state must be refused (dropped), never
 * crash, leak, or leave a state the engine then trips over.
 *
 * Checked:
 *  - cr_ckpt_apply accepts exactly well-formed deltas: if it returns 0,
 *    the input decodes per checkpoint.h and re-encodes (cr_ckpt_put /
 *    cr_ckpt_del) to the same bytes;
 *  - round trip: every correlation state in the snapshot the restored
 *    correlator writes is accepted by cr_correlator_restore in a fresh
 *    correlator (the build reads what it writes).
 *
 * The store lives in a scratch directory; each input's batch is aborted.
 */
#include "fuzz_common.h"
#include "fuzz_rules_fixture.h"
#include "engine/store/checkpoint.h"
#include "engine/correlate/correlate.h"
#include "engine/store/incident.h"
#include "engine/pipeline/reorder.h"
#include "engine/store/store.h"
#include "rules/ruleset.h"

static struct cr_ruleset *rs;
static struct cr_store *st;

#define MAX_KEYS 16

struct rctx {
    struct cr_correlator *c;
    struct cr_reorder *ro;
    int nkeys;
    char keys[MAX_KEYS][CR_KEY_MAX];
    uint16_t klen[MAX_KEYS];
    int64_t last_time;
};

static int restore_one(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    struct rctx *r = arg;
    if (cr_reorder_is_key(key, klen)) {
        int s = cr_reorder_entry_shard(rs, key, klen, val, vlen, 1);
        FUZZ_ASSERT(s == -1 || s == 0);
        size_t kl = 0;
        const char *ck = cr_reorder_entry_key(key, klen, &kl);
        if (ck)
            fuzz_touch(ck, kl);
        cr_reorder_restore(r->ro, key, klen, val, vlen);
        return 0;
    }
    const char *nul = memchr(key, 0, klen);
    if (!nul)
        return 0;
    const char *ck = nul + 1;
    size_t cklen = klen - (size_t)(nul - (const char *)key) - 1;
    FUZZ_ASSERT(cr_ruleset_state_shard(rs, key, ck, cklen, 1) == 0);
    if (cr_correlator_restore(r->c, key, klen, val, vlen) && r->nkeys < MAX_KEYS &&
        cklen <= CR_KEY_MAX) {
        memcpy(r->keys[r->nkeys], ck, cklen);
        r->klen[r->nkeys++] = (uint16_t)cklen;
    }
    return 0;
}

static void apply_released(void *arg, const struct cr_match *m, int64_t late_at)
{
    struct rctx *r = arg;
    if (late_at == INT64_MIN)
        cr_correlator_apply(r->c, m);
    else
        cr_correlator_apply_late(r->c, m, late_at);
}

/* Decode a delta per checkpoint.h and re-encode it; 1 if it is well formed
 * and re-encodes to the same bytes. */
static int reencodes(const uint8_t *p, size_t len)
{
    struct cr_ckpt_buf b = {0};
    size_t i = 0;
    int ok = 1;
    while (ok && i < len) {
        if (i + 3 > len) {
            ok = 0;
            break;
        }
        int op = p[i];
        size_t kl = (size_t)p[i + 1] << 8 | p[i + 2];
        i += 3;
        if (i + kl > len) {
            ok = 0;
            break;
        }
        const uint8_t *k = p + i;
        i += kl;
        if (op == 1) {
            if (i + 4 > len) {
                ok = 0;
                break;
            }
            size_t vl =
                (size_t)p[i] << 24 | (size_t)p[i + 1] << 16 | (size_t)p[i + 2] << 8 | p[i + 3];
            i += 4;
            if (i + vl > len) {
                ok = 0;
                break;
            }
            const void *parts[1] = {p + i};
            size_t lens[1] = {vl};
            cr_ckpt_put(&b, k, kl, parts, lens, 1);
            i += vl;
        } else if (op == 2) {
            cr_ckpt_del(&b, k, kl);
        } else
            ok = 0;
    }
    if (ok)
        ok = b.len == len && (len == 0 || memcmp(b.p, p, len) == 0);
    free(b.p);
    return ok;
}

/* The snapshot a restored correlator writes must restore again. */
static void check_round_trip(const char *d, size_t len)
{
    struct cr_correlator *c2 = cr_correlator_new(rs, 1000);
    const unsigned char *u = (const unsigned char *)d;
    size_t i = 0;
    while (i < len) {
        FUZZ_ASSERT(i + 3 <= len);
        int op = u[i];
        size_t kl = (size_t)u[i + 1] << 8 | u[i + 2];
        i += 3;
        FUZZ_ASSERT(i + kl <= len);
        const char *k = d + i;
        i += kl;
        if (op == 2)
            continue;
        FUZZ_ASSERT(op == 1 && i + 4 <= len);
        size_t vl = (size_t)u[i] << 24 | (size_t)u[i + 1] << 16 | (size_t)u[i + 2] << 8 | u[i + 3];
        i += 4;
        FUZZ_ASSERT(i + vl <= len);
        if (!cr_reorder_is_key(k, kl))
            FUZZ_ASSERT(cr_correlator_restore(c2, k, kl, d + i, vl) == 1);
        i += vl;
    }
    cr_correlator_free(c2);
}

static void drain(struct cr_correlator *c, int all)
{
    struct cr_version *h = NULL, *t = NULL;
    if (all)
        cr_correlator_flush(c, &h, &t);
    else
        cr_correlator_flush_batch(c, &h, &t);
    for (struct cr_version *w = h, *nx; w; w = nx) {
        nx = w->next;
        char *json = cr_incident_to_json(&w->inc, NULL, 0);
        FUZZ_ASSERT(json != NULL);
        fuzz_touch(json, strlen(json));
        free(json);
        free(w);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = fuzz_write_file("ckpt_rules.yaml", (const uint8_t *)FUZZ_CKPT_RULES,
                                       sizeof FUZZ_CKPT_RULES - 1);
    char err[4096] = "";
    const char *paths[] = {path};
    rs = cr_ruleset_load(paths, 1, NULL, err, sizeof err);
    if (!rs) {
        fprintf(stderr, "fuzz_checkpoint: rules: %s\n", err);
        abort();
    }
    char dir[600];
    snprintf(dir, sizeof dir, "%s/ckpt-store", fuzz_tmpdir());
    struct cr_store_opts o = {.map_size = 256u << 20};
    st = cr_store_open(dir, &o, err, sizeof err);
    if (!st) {
        fprintf(stderr, "fuzz_checkpoint: store: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FUZZ_ASSERT(cr_store_begin(st) == 0);
    int rc = cr_ckpt_apply((const char *)data, size, st);
    if (rc == 0)
        FUZZ_ASSERT(reencodes(data, size));
    if (rc != 0) {
        cr_store_abort(st);
        return 0;
    }
    struct rctx r = {0};
    r.c = cr_correlator_new(rs, 1000);
    if (size % 3 == 0)
        cr_correlator_set_tenant_budget(r.c, 2); /* the other state layout (LRU links) */
    cr_correlator_enable_checkpoints(r.c);
    r.ro = cr_reorder_new(rs, 5000, 0, 1u << 20);
    cr_store_each_state(st, restore_one, &r);
    cr_store_abort(st);
    cr_reorder_resume(r.ro);

    /* drive what was restored: every restored key takes a match of every
     * rule along each of its routes */
    int64_t t = FUZZ_REFERENCE_MS;
    uint64_t pos = 1;
    for (int k = 0; k < r.nkeys; k++) {
        for (int ri = 0; ri < rs->nrules; ri++) {
            for (int rt = 0; rt < rs->rules[ri].nroutes && rt < 4; rt++) {
                struct cr_match m;
                memset(&m, 0, sizeof m);
                m.kind = CR_MSG_MATCH;
                m.rule = (uint32_t)ri;
                m.route = (uint8_t)rt;
                m.key_len = r.klen[k];
                memcpy(m.key, r.keys[k], m.key_len);
                m.time_ms = t + (int64_t)pos * 1000;
                m.seen_ms = INT64_MIN;
                m.position = pos++;
                m.value = pos * 0x9e3779b97f4a7c15ull;
                m.raw_len = (uint16_t)snprintf(m.raw, sizeof m.raw, "fuzz %d %d", ri, k);
                if (k & 1) {
                    int64_t behind;
                    cr_reorder_push(r.ro, &m, &behind);
                } else
                    cr_correlator_apply(r.c, &m);
            }
        }
        drain(r.c, 0);
    }
    cr_reorder_release(r.ro, 1, apply_released, &r);
    cr_correlator_advance(r.c, t + 86400000LL);
    drain(r.c, 1);

    size_t dlen = 0;
    char *delta = cr_correlator_snapshot(r.c, &dlen);
    check_round_trip(delta, dlen);
    free(delta);
    struct cr_ckpt_buf b = {0};
    cr_reorder_snapshot(r.ro, &b);
    free(b.p);

    cr_reorder_free(r.ro);
    cr_correlator_free(r.c);
    return 0;
}
