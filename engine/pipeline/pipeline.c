/*
 * pipeline.c - see pipeline.h.
 */
#include "engine/pipeline/pipeline.h"
#include "base/log.h"
#include "base/clock.h"

#include "engine/correlate/match.h"
#include "engine/pipeline/shard.h"
#include "engine/pipeline/swap.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

struct cr_pipeline {
    const struct cr_config *cfg;
    const struct cr_ruleset *rs;
    struct cr_batch_pool *pool;
    int W, S;
    struct cr_ring **batch_rings; /* [W] */
    struct cr_ring **match_rings; /* [W * S]: worker w -> shard s at w * S + s */
    struct cr_worker *workers;
    struct cr_shard *shards;
    struct cr_writer *writer;
    uint64_t next_seq;
    char *input_names[CR_MAX_INPUTS];
    uint8_t input_formats[CR_MAX_INPUTS];
    uint32_t input_srcs[CR_MAX_INPUTS];
    _Atomic int ninputs; /* written by the ingest thread only; the writer reads it (writer.h) */
    int64_t start_ms;
    struct timespec t0;
    uint64_t epoch;           /* last checkpoint requested */
    _Atomic uint64_t durable; /* last checkpoint committed */
    pthread_mutex_t dmu;
    pthread_cond_t dcv;
    _Atomic(struct cr_swap *) offer; /* a rules swap waiting for the ingest thread */
    int wake[2];                     /* pipe: a byte per offer (cr_pipeline_wake_fd) */
};

static void on_durable(void *arg, uint64_t epoch)
{
    struct cr_pipeline *pl = arg;
    pthread_mutex_lock(&pl->dmu);
    if (epoch > atomic_load(&pl->durable)) /* 0: the writer failed, nothing new is durable */
        atomic_store(&pl->durable, epoch);
    pthread_cond_broadcast(&pl->dcv);
    pthread_mutex_unlock(&pl->dmu);
}

struct cr_pipeline *cr_pipeline_start(const struct cr_config *cfg, const struct cr_ruleset *rs,
                                      struct cr_store *store, const struct cr_pipeline_opts *opts,
                                      char *err, size_t errlen)
{
    struct cr_pipeline_opts none = {0};
    if (!opts)
        opts = &none;
    struct cr_pipeline *pl = calloc(1, sizeof *pl);
    if (!pl)
        return NULL;
    pl->cfg = cfg;
    pl->rs = rs;
    pl->W = cfg->workers;
    pl->S = cfg->shards;
    pl->start_ms = cr_wall_ms();
    pthread_mutex_init(&pl->dmu, NULL);
    pthread_cond_init(&pl->dcv, NULL);
    if (pipe2(pl->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot create the pipeline's wake pipe");
        free(pl);
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &pl->t0);
    /* one batch per worker in flight plus one being filled is the minimum
     * for the pipeline to keep every worker busy */
    int nb = cfg->batches > pl->W + 1 ? cfg->batches : pl->W + 2;
    pl->pool = cr_batch_pool_new(nb, cfg->batch_bytes);
    pl->batch_rings = calloc((size_t)pl->W, sizeof *pl->batch_rings);
    pl->match_rings = calloc((size_t)(pl->W * pl->S), sizeof *pl->match_rings);
    pl->workers = calloc((size_t)pl->W, sizeof *pl->workers);
    pl->shards = calloc((size_t)pl->S, sizeof *pl->shards);
    if (!pl->pool || !pl->batch_rings || !pl->match_rings || !pl->workers || !pl->shards) {
        snprintf(err, errlen, "out of memory creating the pipeline");
        return NULL;
    }
    for (int w = 0; w < pl->W; w++) {
        pl->batch_rings[w] = cr_ring_new((size_t)nb, sizeof(struct cr_batch_msg));
        for (int s = 0; s < pl->S; s++)
            pl->match_rings[w * pl->S + s] =
                cr_ring_new((size_t)cfg->queue_depth, sizeof(struct cr_match));
    }
    pl->writer = cr_writer_start(store, pl->W + pl->S, cfg->commit_interval_ms, cfg->max_rejects,
                                 (const char *const *)pl->input_names, &pl->ninputs);
    if (!pl->writer) {
        snprintf(err, errlen, "cannot start the writer thread");
        return NULL;
    }
    if (opts->checkpoints)
        cr_writer_set_checkpoints(pl->writer, pl->S, on_durable, pl);
    cr_writer_set_grading(pl->writer, opts->inventory, opts->grading);
    for (int s = 0; s < pl->S; s++) {
        struct cr_shard *sh = &pl->shards[s];
        sh->index = s;
        sh->rs = rs;
        sh->nworkers = pl->W;
        sh->max_keys = cfg->max_keys_per_shard;
        sh->max_keys_per_tenant = cfg->max_keys_per_tenant;
        sh->lateness_ms = cfg->allowed_lateness_ms;
        sh->idle_ms = cfg->source_idle_ms;
        sh->reorder_max_bytes = cfg->reorder_max_bytes;
        sh->writer = pl->writer;
        sh->nshards = pl->S;
        sh->checkpoints = opts->checkpoints;
        sh->restore = opts->restore ? store : NULL;
        sh->in = calloc((size_t)pl->W, sizeof *sh->in);
        for (int w = 0; w < pl->W; w++)
            sh->in[w] = pl->match_rings[w * pl->S + s];
        if (cr_shard_start(sh) != 0) {
            snprintf(err, errlen, "cannot start shard thread %d", s);
            return NULL;
        }
    }
    for (int w = 0; w < pl->W; w++) {
        struct cr_worker *wk = &pl->workers[w];
        wk->index = w;
        wk->rs = rs;
        wk->popts.format = cfg->format;
        wk->popts.tz_offset_min = cfg->tz_offset_min;
        wk->popts.year = cfg->year;
        wk->popts.reference_ms = pl->start_ms;
        wk->popts.extra_names = rs->field_names;
        wk->popts.n_extra_names = (unsigned)rs->nfields;
        wk->in = pl->batch_rings[w];
        wk->out = &pl->match_rings[w * pl->S];
        wk->nshards = pl->S;
        wk->pool = pl->pool;
        wk->writer = pl->writer;
        wk->input_names = (const char *const *)pl->input_names;
        wk->input_formats = pl->input_formats;
        wk->input_srcs = pl->input_srcs;
        wk->quiet = cfg->quiet;
        wk->tenant_field = cfg->tenant_field ? cr_ruleset_field(rs, cfg->tenant_field) : -1;
        wk->inventory = opts ? opts->inventory : NULL;
        wk->asset_fields = cfg->asset_fields;
        if (w == 0 && wk->tenant_field < 0 && cfg->max_keys_per_tenant)
            cr_log_line(CR_LV_WARN,
                        "corral: correlation.tenant_field '%s' is neither a builtin field "
                        "nor used by a rule: no match has a tenant, max_keys_per_tenant applies to "
                        "none\n",
                        cfg->tenant_field ? cfg->tenant_field : "");
        if (cr_worker_start(wk) != 0) {
            snprintf(err, errlen, "cannot start worker thread %d", w);
            return NULL;
        }
    }
    return pl;
}

uint64_t cr_pipeline_send_grading(struct cr_pipeline *pl, const struct cr_inventory *inv,
                                  const struct cr_grade_policy *p)
{
    return cr_writer_send_grading(pl->writer, inv, p);
}

uint64_t cr_pipeline_grading_applied(struct cr_pipeline *pl)
{
    return cr_writer_grading_applied(pl->writer);
}

int cr_pipeline_add_input(struct cr_pipeline *pl, const char *name)
{
    return cr_pipeline_add_input_format(pl, name, pl->cfg->format);
}

int cr_pipeline_add_input_format(struct cr_pipeline *pl, const char *name, enum cr_format fmt)
{
    for (int i = 0; i < pl->ninputs; i++)
        if (strcmp(pl->input_names[i], name) == 0)
            return i; /* a partition assigned again keeps its index */
    if (pl->ninputs >= CR_MAX_INPUTS)
        return -1;
    int n = pl->ninputs;
    pl->input_formats[n] = (uint8_t)fmt;
    pl->input_srcs[n] = XXH32(name, strlen(name), 0);
    pl->input_names[n] = strdup(name);
    if (!pl->input_names[n])
        abort();
    atomic_store_explicit(&pl->ninputs, n + 1, memory_order_release); /* names first */
    return n;
}

struct cr_batch *cr_pipeline_get_batch(struct cr_pipeline *pl)
{
    struct cr_batch *b = cr_batch_pool_get(pl->pool);
    b->fallback_ms = pl->start_ms;
    return b;
}

struct cr_batch *cr_pipeline_try_get_batch(struct cr_pipeline *pl)
{
    struct cr_batch *b = cr_batch_pool_try_get(pl->pool);
    if (b)
        b->fallback_ms = pl->start_ms;
    return b;
}

void cr_pipeline_put_batch(struct cr_pipeline *pl, struct cr_batch *b)
{
    cr_batch_pool_put(pl->pool, b);
}

void cr_pipeline_submit(struct cr_pipeline *pl, struct cr_batch *b)
{
    struct cr_batch_msg msg = {.batch = b, .seq = pl->next_seq, .kind = CR_BM_DATA};
    b->seq = pl->next_seq++;
    cr_ring_push(pl->batch_rings[b->seq % (uint64_t)pl->W], &msg, 1);
}

void cr_pipeline_inputs_quiet(struct cr_pipeline *pl)
{
    struct cr_batch_msg msg = {.batch = NULL, .seq = pl->next_seq, .kind = CR_BM_QUIET};
    pl->next_seq++;
    cr_ring_push(pl->batch_rings[msg.seq % (uint64_t)pl->W], &msg, 1);
}

void cr_pipeline_inputs_assigned(struct cr_pipeline *pl)
{
    struct cr_batch_msg msg = {.batch = NULL, .seq = pl->next_seq, .kind = CR_BM_ASSIGNED};
    pl->next_seq++;
    cr_ring_push(pl->batch_rings[msg.seq % (uint64_t)pl->W], &msg, 1);
}

uint64_t cr_pipeline_checkpoint(struct cr_pipeline *pl, const struct cr_position *pos, int npos)
{
    uint64_t e = ++pl->epoch;
    /* positions first: the writer holds them until every shard's snapshot
     * of the same epoch arrives */
    cr_writer_send(pl->writer, cr_wmsg_epoch(e, pos, npos));
    struct cr_batch_msg msg = {.batch = NULL, .seq = pl->next_seq, .epoch = e, .kind = CR_BM_MARK};
    pl->next_seq++;
    cr_ring_push(pl->batch_rings[msg.seq % (uint64_t)pl->W], &msg, 1);
    return e;
}

void cr_pipeline_drop_input(struct cr_pipeline *pl, int input)
{
    struct cr_batch_msg msg = {
        .batch = NULL, .seq = pl->next_seq, .src = pl->input_srcs[input], .kind = CR_BM_DROP};
    pl->next_seq++;
    cr_ring_push(pl->batch_rings[msg.seq % (uint64_t)pl->W], &msg, 1);
}

void cr_pipeline_input_state(struct cr_pipeline *pl, int input, enum cr_source_state state)
{
    struct cr_batch_msg msg = {.batch = NULL,
                               .seq = pl->next_seq,
                               .src = pl->input_srcs[input],
                               .source = (int)state,
                               .kind = CR_BM_SOURCE};
    pl->next_seq++;
    cr_ring_push(pl->batch_rings[msg.seq % (uint64_t)pl->W], &msg, 1);
}

uint64_t cr_pipeline_durable(const struct cr_pipeline *pl)
{
    return atomic_load(&((struct cr_pipeline *)pl)->durable);
}

int cr_pipeline_wait_durable(struct cr_pipeline *pl, uint64_t epoch, int timeout_ms)
{
    struct timespec ts = cr_deadline_in(timeout_ms);
    pthread_mutex_lock(&pl->dmu);
    int rc = 0;
    while (atomic_load(&pl->durable) < epoch && !cr_writer_failed(pl->writer) && rc == 0)
        rc = pthread_cond_timedwait(&pl->dcv, &pl->dmu, &ts);
    int ok = atomic_load(&pl->durable) >= epoch;
    pthread_mutex_unlock(&pl->dmu);
    return ok ? 0 : -1;
}

void cr_pipeline_set_output(struct cr_pipeline *pl, const struct cr_output *out)
{
    cr_writer_set_output(pl->writer, out);
}

int cr_pipeline_failed(struct cr_pipeline *pl) { return cr_writer_failed(pl->writer); }

const struct cr_config *cr_pipeline_config(const struct cr_pipeline *pl) { return pl->cfg; }

void cr_pipeline_offer_rules(struct cr_pipeline *pl, struct cr_swap *sw)
{
    atomic_store(&pl->offer, sw);
    ssize_t n = write(pl->wake[1], "r", 1); /* full pipe: a byte is already there */
    (void)n;
}

int cr_pipeline_rules_offered(struct cr_pipeline *pl)
{
    return atomic_load_explicit(&pl->offer, memory_order_relaxed) != NULL;
}

int cr_pipeline_wake_fd(const struct cr_pipeline *pl) { return pl->wake[0]; }

static void drain_wake(struct cr_pipeline *pl)
{
    char buf[64];
    while (read(pl->wake[0], buf, sizeof buf) > 0)
        ;
}

int cr_pipeline_swap_rules(struct cr_pipeline *pl, int input, int64_t last)
{
    drain_wake(pl);
    struct cr_swap *sw = atomic_exchange(&pl->offer, NULL);
    if (!sw)
        return 0;
    char where[160] = "";
    if (input >= 0 && input < pl->ninputs)
        snprintf(where, sizeof where, "%s:%lld", pl->input_names[input], (long long)last);
    /* the barrier takes a sequence number like a batch; every worker
     * switches at it, and the one whose turn it is tells the shards */
    uint64_t seq = pl->next_seq++;
    cr_swap_applied(sw, seq, pl->W + pl->S, where);
    pl->rs = cr_swap_rules(sw);
    for (int w = 0; w < pl->W; w++) {
        struct cr_batch_msg msg = {.batch = NULL,
                                   .seq = seq,
                                   .swap = sw,
                                   .kind = (uint64_t)w == seq % (uint64_t)pl->W ? CR_BM_RELOAD
                                                                                : CR_BM_SWITCH};
        cr_ring_push(pl->batch_rings[w], &msg, 1);
    }
    return 1;
}

void cr_pipeline_cancel_rules(struct cr_pipeline *pl)
{
    struct cr_swap *sw = atomic_exchange(&pl->offer, NULL);
    if (sw)
        cr_swap_cancel(sw);
}

static void add_worker_stats(struct cr_worker_stats *a, const struct cr_worker_stats *b)
{
    CR_COUNTERS_MERGE(CR_WORKER_COUNTERS, a, b);
    for (int c = 0; c < CR_REJECT_NCAUSES; c++)
        a->rejected_by[c] += b->rejected_by[c];
}

int cr_pipeline_finish(struct cr_pipeline *pl, struct cr_pipeline_stats *stats, char *err,
                       size_t errlen)
{
    cr_pipeline_cancel_rules(pl);
    struct cr_batch_msg eof = {.batch = NULL, .seq = pl->next_seq, .kind = CR_BM_EOF};
    for (int w = 0; w < pl->W; w++)
        cr_ring_push(pl->batch_rings[w], &eof, 1);
    struct cr_pipeline_stats st;
    memset(&st, 0, sizeof st);
    for (int w = 0; w < pl->W; w++) {
        cr_worker_join(&pl->workers[w]);
        add_worker_stats(&st.events, &pl->workers[w].stats);
    }
    for (int s = 0; s < pl->S; s++) {
        cr_shard_join(&pl->shards[s]);
        CR_COUNTERS_MERGE(CR_CORRELATOR_COUNTERS, &st.correlate, &pl->shards[s].stats);
        CR_COUNTERS_MERGE(CR_REORDER_COUNTERS, &st.reorder, &pl->shards[s].reorder);
        st.restored_states += pl->shards[s].restored;
        st.late_evidence += pl->shards[s].late_evidence;
        cr_tenant_evictions_merge(&st.tenant_evicted, &st.ntenant_evicted,
                                  pl->shards[s].tenant_evicted, pl->shards[s].ntenant_evicted);
        free(pl->shards[s].tenant_evicted);
        int nowners = pl->rs->nrules + pl->rs->ncorrs;
        if (!st.budget_evicted)
            st.budget_evicted = calloc((size_t)nowners + 1, sizeof *st.budget_evicted);
        for (int o = 0; st.budget_evicted && pl->shards[s].budget_evicted && o < nowners; o++)
            st.budget_evicted[o] += pl->shards[s].budget_evicted[o];
        free(pl->shards[s].budget_evicted);
        free(pl->shards[s].in);
    }
    int rc = cr_writer_join(pl->writer, &st.store, err, errlen);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    st.seconds = (double)(t1.tv_sec - pl->t0.tv_sec) + (double)(t1.tv_nsec - pl->t0.tv_nsec) / 1e9;
    st.batches = pl->next_seq;
    st.workers = pl->W;
    st.shards = pl->S;
    for (int w = 0; w < pl->W; w++) {
        cr_ring_free(pl->batch_rings[w]);
        for (int s = 0; s < pl->S; s++)
            cr_ring_free(pl->match_rings[w * pl->S + s]);
    }
    for (int i = 0; i < pl->ninputs; i++)
        free(pl->input_names[i]);
    cr_batch_pool_free(pl->pool);
    pthread_mutex_destroy(&pl->dmu);
    pthread_cond_destroy(&pl->dcv);
    close(pl->wake[0]);
    close(pl->wake[1]);
    free(pl->batch_rings);
    free(pl->match_rings);
    free(pl->workers);
    free(pl->shards);
    free(pl);
    if (stats)
        *stats = st;
    return rc;
}

int cr_pipeline_prepare_store(struct cr_store *store, struct cr_pipeline_opts *opts,
                              uint64_t *provisional, char *note, size_t notelen, char *err,
                              size_t errlen)
{
    note[0] = 0;
    *provisional = 0;
    if (opts->restore) {
        char fmt[128];
        if (cr_store_get_meta(store, "state_format", fmt, sizeof fmt) == 0 &&
            strcmp(fmt, cr_correlator_state_format()) != 0) {
            snprintf(note, notelen,
                     "the store's correlation state was written by another build (%s, this one "
                     "writes %s): starting with empty state",
                     fmt, cr_correlator_state_format());
            opts->restore = 0;
        }
    }
    uint64_t n = 0;
    int rc = cr_store_begin(store);
    if (rc == 0)
        rc = opts->restore ? cr_store_rollback_provisional(store, &n)
                           : cr_store_settle_provisional(store, &n);
    if (rc == 0)
        rc = cr_store_commit(store);
    else
        cr_store_abort(store);
    if (rc != 0) {
        snprintf(err, errlen, "%s", cr_store_errmsg(store));
        return -1;
    }
    if (opts->restore)
        *provisional = n;
    return 0;
}

void cr_pipeline_stats_json(FILE *f, const struct cr_pipeline_stats *st)
{
    CR_COUNTERS_JSON(CR_WORKER_COUNTERS, f, &st->events);
    CR_COUNTERS_JSON(CR_CORRELATOR_COUNTERS, f, &st->correlate);
    CR_COUNTERS_JSON(CR_REORDER_COUNTERS, f, &st->reorder);
    CR_COUNTERS_JSON(CR_WRITER_COUNTERS, f, &st->store);
    CR_COUNTERS_JSON(CR_PIPELINE_COUNTERS, f, st);
    fprintf(f, ",\"rejected_by_cause\":{");
    for (int c = 0; c < CR_REJECT_NCAUSES; c++)
        fprintf(f, "%s\"%s\":%llu", c ? "," : "", cr_reject_cause_name((enum cr_reject_cause)c),
                (unsigned long long)st->events.rejected_by[c]);
    fprintf(f, "}");
}

int cr_pipeline_act(struct cr_pipeline *pl, const struct cr_action *a, char **json, char *err,
                    size_t errlen)
{
    return cr_writer_act(pl->writer, a, json, err, errlen);
}

void cr_pipeline_writer_published(struct cr_pipeline *pl, struct cr_writer_stats *st,
                                  int64_t *last_epoch_ms)
{
    cr_writer_published(pl->writer, st, last_epoch_ms);
}
