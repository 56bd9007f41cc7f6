/*
 * pipeline.c - see pipeline.h.
 */
#include "pipeline.h"

#include "match.h"
#include "shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cr_pipeline {
    const struct cr_config *cfg;
    const struct cr_ruleset *rs;
    struct cr_batch_pool *pool;
    int W, S;
    struct cr_ring **batch_rings;  /* [W] */
    struct cr_ring **match_rings;  /* [W * S]: worker w -> shard s at w * S + s */
    struct cr_worker *workers;
    struct cr_shard *shards;
    struct cr_writer *writer;
    uint64_t next_seq;
    char *input_names[CR_MAX_INPUTS];
    int ninputs;
    int64_t start_ms;
    struct timespec t0;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct cr_pipeline *cr_pipeline_start(const struct cr_config *cfg, const struct cr_ruleset *rs,
                                      struct cr_store *store, char *err, size_t errlen)
{
    struct cr_pipeline *pl = calloc(1, sizeof *pl);
    if (!pl)
        return NULL;
    pl->cfg = cfg;
    pl->rs = rs;
    pl->W = cfg->workers;
    pl->S = cfg->shards;
    pl->start_ms = wall_ms();
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
    for (int s = 0; s < pl->S; s++) {
        struct cr_shard *sh = &pl->shards[s];
        sh->index = s;
        sh->rs = rs;
        sh->nworkers = pl->W;
        sh->max_keys = cfg->max_keys_per_shard;
        sh->writer = pl->writer;
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
        wk->quiet = cfg->quiet;
        if (cr_worker_start(wk) != 0) {
            snprintf(err, errlen, "cannot start worker thread %d", w);
            return NULL;
        }
    }
    return pl;
}

int cr_pipeline_add_input(struct cr_pipeline *pl, const char *name)
{
    if (pl->ninputs >= CR_MAX_INPUTS)
        return -1;
    pl->input_names[pl->ninputs] = strdup(name);
    return pl->ninputs++;
}

const char *const *cr_pipeline_input_names(const struct cr_pipeline *pl, int *n)
{
    *n = pl->ninputs;
    return (const char *const *)pl->input_names;
}

struct cr_batch *cr_pipeline_get_batch(struct cr_pipeline *pl)
{
    struct cr_batch *b = cr_batch_pool_get(pl->pool);
    b->fallback_ms = pl->start_ms;
    return b;
}

void cr_pipeline_put_batch(struct cr_pipeline *pl, struct cr_batch *b)
{
    cr_batch_pool_put(pl->pool, b);
}

void cr_pipeline_submit(struct cr_pipeline *pl, struct cr_batch *b)
{
    struct cr_batch_msg msg = {.batch = b, .seq = pl->next_seq};
    b->seq = pl->next_seq++;
    cr_ring_push(pl->batch_rings[b->seq % (uint64_t)pl->W], &msg, 1);
}

int cr_pipeline_failed(struct cr_pipeline *pl)
{
    return cr_writer_failed(pl->writer);
}

const struct cr_config *cr_pipeline_config(const struct cr_pipeline *pl)
{
    return pl->cfg;
}

int64_t cr_pipeline_start_ms(const struct cr_pipeline *pl)
{
    return pl->start_ms;
}

static void add_worker_stats(struct cr_worker_stats *a, const struct cr_worker_stats *b)
{
    const uint64_t *src = (const uint64_t *)b;
    uint64_t *dst = (uint64_t *)a;
    for (size_t i = 0; i < sizeof *a / sizeof(uint64_t); i++)
        dst[i] += src[i];
}

int cr_pipeline_finish(struct cr_pipeline *pl, struct cr_pipeline_stats *stats, char *err,
                       size_t errlen)
{
    struct cr_batch_msg eof = {.batch = NULL, .seq = pl->next_seq};
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
        const struct cr_correlator_stats *c = &pl->shards[s].stats;
        st.correlate.matches += c->matches;
        st.correlate.states += c->states;
        st.correlate.states_peak += c->states_peak;
        st.correlate.expired += c->expired;
        st.correlate.evicted += c->evicted;
        st.correlate.incidents_opened += c->incidents_opened;
        st.correlate.incident_updates += c->incident_updates;
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
    free(pl->batch_rings);
    free(pl->match_rings);
    free(pl->workers);
    free(pl->shards);
    free(pl);
    if (stats)
        *stats = st;
    return rc;
}
