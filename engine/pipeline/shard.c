/*
 * shard.c - see shard.h.
 */
#include "engine/pipeline/shard.h"

#include "engine/correlate/match.h"
#include "engine/pipeline/swap.h"
#include "engine/pipeline/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POP_MAX 64

struct restore_ctx {
    struct cr_shard *sh;
    struct cr_correlator *c;
    struct cr_reorder *ro;
    uint64_t kept, dropped;
};

static int restore_one(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    struct restore_ctx *r = arg;
    if (cr_reorder_is_key(key, klen)) {
        /* held matches go with their key; input times to every shard */
        int s = cr_reorder_entry_shard(r->sh->rs, key, klen, val, vlen, r->sh->nshards);
        if (s >= 0 && s != r->sh->index)
            return 0;
        /* held matches count as restored state; input times are bookkeeping */
        if (cr_reorder_restore(r->ro, key, klen, val, vlen) && s >= 0)
            r->kept++;
        return 0;
    }
    const char *nul = memchr(key, 0, klen);
    if (!nul)
        return 0;
    const char *ck = nul + 1;
    size_t cklen = klen - (size_t)(nul - (const char *)key) - 1;
    /* the same placement as live matches (a pinned consumer's states all on one shard) */
    if ((int)cr_ruleset_state_shard(r->sh->rs, key, ck, cklen, r->sh->nshards) != r->sh->index)
        return 0;
    if (cr_correlator_restore(r->c, key, klen, val, vlen))
        r->kept++;
    else
        r->dropped++;
    return 0;
}

/* Load this shard's part of the checkpointed state. */
static uint64_t restore(struct cr_shard *sh, struct cr_correlator *c, struct cr_reorder *ro)
{
    struct restore_ctx r = {sh, c, ro, 0, 0};
    cr_store_each_state(sh->restore, restore_one, &r);
    sh->restore_dropped = r.dropped;
    return r.kept;
}

struct release_ctx {
    struct cr_shard *sh;
    struct cr_correlator *c;
};

static void apply_released(void *arg, const struct cr_match *m, int64_t late_at)
{
    struct release_ctx *rc = arg;
    if (late_at == INT64_MIN)
        cr_correlator_apply(rc->c, m);
    else if (cr_correlator_apply_late(rc->c, m, late_at))
        rc->sh->late_evidence++;
}

/* A late match: it will join no window. Keep the record with the reason
 * (the open incident of its key takes it as evidence when it leaves the
 * reorder buffer). */
static void keep_late(struct cr_shard *sh, const struct cr_match *m, int64_t behind_ms)
{
    if (m->replay)
        return; /* rebuilding state: kept by the run that read it first */
    char reason[160];
    const char *rule = m->rule < (uint32_t)sh->rs->nrules ? sh->rs->rules[m->rule].id : "?";
    snprintf(reason, sizeof reason,
             "late: %llds behind a newer record of its input (allowed lateness %llds), rule %s",
             (long long)((behind_ms + 999) / 1000), (long long)(sh->lateness_ms / 1000), rule);
    cr_writer_send(sh->writer, cr_wmsg_reject(m->input, m->position, reason, m->raw, m->raw_len));
}

/* A rules swap at this point of the input order (after a forced flush, so
 * every incident of the old rules is out): the correlator keeps the state
 * of unchanged rules and correlations and drops the rest. */
static void switch_rules(struct cr_shard *sh, struct cr_correlator *c, struct cr_reorder *ro,
                         struct cr_swap *sw)
{
    uint64_t kept = 0, dropped = 0;
    cr_reorder_switch_rules(ro, cr_swap_rules(sw)); /* matches held back move too */
    cr_correlator_migrate(c, cr_swap_rules(sw), &kept, &dropped);
    sh->rs = cr_swap_rules(sw);
    cr_swap_ack(sw, kept, dropped); /* the old rules are no longer used here */
}

static void *shard_main(void *arg)
{
    struct cr_shard *sh = arg;
    char name[16];
    snprintf(name, sizeof name, "cr-shard-%d", sh->index);
    pthread_setname_np(pthread_self(), name);
    struct cr_correlator *c = cr_correlator_new(sh->rs, sh->max_keys);
    if (c)
        cr_correlator_set_tenant_budget(c, sh->max_keys_per_tenant);
    struct cr_reorder *ro =
        cr_reorder_new(sh->rs, sh->lateness_ms, sh->idle_ms, sh->reorder_max_bytes);
    struct cr_match *buf = malloc(sizeof(struct cr_match) * POP_MAX);
    if (!c || !ro || !buf)
        abort();
    uint64_t seq = 0, epoch = 0;
    int done = 0, mark = 0, drop = 0, quiet = 0;
    uint32_t drop_src = 0;
    struct cr_swap *swap = NULL;
    cr_reorder_set_shard(ro, (uint32_t)sh->index);
    if (sh->checkpoints)
        cr_correlator_enable_checkpoints(c);
    if (sh->restore)
        sh->restored = restore(sh, c, ro);
    cr_reorder_resume(ro);
    struct release_ctx rctx = {sh, c};
    int64_t behind = 0;
    /* Each ring is read in runs; `have`/`at` keep what was popped but not
     * yet consumed, per worker, because a pop may run past BATCH_END(seq)
     * into the same worker's next batch (seq + W). */
    int W = sh->nworkers;
    struct cr_match **pend = calloc((size_t)W, sizeof *pend);
    size_t *have = calloc((size_t)W, sizeof *have), *at = calloc((size_t)W, sizeof *at);
    int *eof = calloc((size_t)W, sizeof *eof);
    if (!pend || !have || !at || !eof)
        abort();
    for (int w = 0; w < W; w++) {
        pend[w] = malloc(sizeof(struct cr_match) * POP_MAX);
        if (!pend[w])
            abort();
    }
    while (!done) {
        int w = (int)(seq % (uint64_t)W);
        int batch_done = 0;
        while (!batch_done) {
            if (at[w] == have[w]) {
                have[w] = cr_ring_pop(sh->in[w], pend[w], POP_MAX);
                at[w] = 0;
                if (have[w] == 0) { /* closed without EOF: treat as the end */
                    done = 1;
                    break;
                }
            }
            const struct cr_match *m = &pend[w][at[w]++];
            switch (m->kind) {
            case CR_MSG_MATCH:
                if (cr_reorder_push(ro, m, &behind))
                    keep_late(sh, m, behind);
                break;
            case CR_MSG_WATERMARK:
                cr_reorder_source(ro, m->src, m->time_ms);
                break;
            case CR_MSG_BATCH_END:
                batch_done = 1;
                break;
            case CR_MSG_MARK:
                batch_done = 1;
                mark = 1;
                epoch = m->epoch;
                break;
            case CR_MSG_SOURCE:
                batch_done = 1;
                cr_reorder_source_state(ro, m->src, (enum cr_source_state)m->source);
                break;
            case CR_MSG_QUIET:
                batch_done = 1;
                quiet = 1;
                break;
            case CR_MSG_ASSIGNED:
                batch_done = 1;
                cr_reorder_assigned(ro);
                break;
            case CR_MSG_DROP:
                batch_done = 1;
                drop = 1;
                drop_src = m->src;
                break;
            case CR_MSG_RELOAD:
                batch_done = 1;
                swap = m->swap;
                break;
            case CR_MSG_EOF:
                /* worker w has no batch `seq`: the input ended before it */
                eof[w] = 1;
                done = 1;
                batch_done = 1;
                break;
            }
        }
        /* matches the watermark passed, in event-time order; at the end of
         * the input, all of them */
        if (quiet) {
            /* every input quiet (wall clock): what is held goes now */
            cr_reorder_release_quiet(ro, apply_released, &rctx);
            int64_t wm = cr_reorder_watermark(ro, 1);
            if (wm != INT64_MIN)
                cr_correlator_advance(c, wm);
            quiet = 0;
        } else if (!mark && !drop) {
            cr_reorder_release(ro, done, apply_released, &rctx);
            int64_t wm = cr_reorder_watermark(ro, done);
            if (wm != INT64_MIN)
                cr_correlator_advance(c, wm);
        }
        struct cr_version *head, *tail;
        /* a checkpoint or the end of the input takes every pending version */
        if (mark || done || swap)
            cr_correlator_flush(c, &head, &tail);
        else
            cr_correlator_flush_batch(c, &head, &tail);
        /* The end of the input released what the watermark had not passed,
         * and the checkpoint holds those matches unreleased: what they made
         * is provisional until a resumed run derives it again (store.h). */
        if (done && sh->checkpoints)
            for (struct cr_version *v = head; v; v = v->next)
                v->provisional = 1;
        cr_writer_send_versions(sh->writer, head);
        if (swap) {
            switch_rules(sh, c, ro, swap);
            swap = NULL;
        }
        if (drop) {
            cr_reorder_drop_src(ro, drop_src);
            sh->dropped += cr_correlator_drop_src(c, drop_src);
            drop = 0;
        }
        if (mark) {
            /* after this batch's incidents, so the writer has them before the
             * state that reflects them */
            struct cr_ckpt_buf b = {0};
            if (sh->checkpoints) {
                b.p = cr_correlator_snapshot(c, &b.len);
                b.cap = b.len;
                cr_reorder_snapshot(ro, &b); /* the matches still held, and input times */
            }
            cr_writer_send(sh->writer, cr_wmsg_snapshot(epoch, b.p, b.len));
            free(b.p);
            mark = 0;
        }
        if (!done) {
            seq++;
            sh->batches++;
        }
    }
    /* drain: the other workers' EOF markers are still in their rings */
    for (int w = 0; w < W; w++) {
        for (size_t i = at[w]; i < have[w]; i++)
            eof[w] |= pend[w][i].kind == CR_MSG_EOF;
        while (!eof[w]) {
            size_t k = cr_ring_pop(sh->in[w], buf, POP_MAX);
            if (k == 0)
                break;
            for (size_t i = 0; i < k; i++)
                eof[w] |= buf[i].kind == CR_MSG_EOF;
        }
    }
    sh->stats = *cr_correlator_stats(c);
    sh->reorder = *cr_reorder_stats(ro);
    cr_reorder_free(ro);
    int nowners = sh->rs->nrules + sh->rs->ncorrs;
    sh->budget_evicted = calloc((size_t)nowners + 1, sizeof *sh->budget_evicted);
    for (int o = 0; sh->budget_evicted && o < nowners; o++)
        sh->budget_evicted[o] = cr_correlator_budget_evictions(c, o);
    sh->tenant_evicted = malloc(CR_TENANT_REPORT_MAX * sizeof *sh->tenant_evicted);
    sh->ntenant_evicted = sh->tenant_evicted ? cr_correlator_tenant_evictions(c, sh->tenant_evicted,
                                                                              CR_TENANT_REPORT_MAX)
                                             : 0;
    cr_writer_send(sh->writer, cr_wmsg_done());
    for (int w = 0; w < W; w++)
        free(pend[w]);
    free(pend);
    free(have);
    free(at);
    free(eof);
    free(buf);
    cr_correlator_free(c);
    return NULL;
}

int cr_shard_start(struct cr_shard *s)
{
    return pthread_create(&s->thread, NULL, shard_main, s) == 0 ? 0 : -1;
}

void cr_shard_join(struct cr_shard *s) { pthread_join(s->thread, NULL); }
