/*
 * batch.c - see batch.h.
 */
#include "engine/pipeline/batch.h"

#include <stdlib.h>
#include <string.h>

struct cr_batch_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct cr_batch **free_list;
    int nfree, total;
    struct cr_batch *all;
};

struct cr_batch_pool *cr_batch_pool_new(int nbatches, size_t batch_bytes)
{
    struct cr_batch_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->all = calloc((size_t)nbatches, sizeof *p->all);
    p->free_list = calloc((size_t)nbatches, sizeof *p->free_list);
    if (!p->all || !p->free_list)
        goto fail;
    for (int i = 0; i < nbatches; i++) {
        struct cr_batch *b = &p->all[i];
        b->cap = batch_bytes;
        b->buf = malloc(batch_bytes);
        b->rec_cap = (uint32_t)(batch_bytes / 64 + 16);
        b->recs = malloc(b->rec_cap * sizeof *b->recs);
        if (!b->buf || !b->recs)
            goto fail;
        p->free_list[p->nfree++] = b;
        p->total++;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return p;
fail:
    for (int i = 0; p->all && i < nbatches; i++) {
        free(p->all[i].buf);
        free(p->all[i].recs);
    }
    free(p->all);
    free(p->free_list);
    free(p);
    return NULL;
}

void cr_batch_pool_free(struct cr_batch_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->total; i++) {
        free(p->all[i].buf);
        free(p->all[i].recs);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->all);
    free(p->free_list);
    free(p);
}

static struct cr_batch *take(struct cr_batch_pool *p)
{
    struct cr_batch *b = p->free_list[--p->nfree];
    b->len = 0;
    b->nrecs = 0;
    return b;
}

struct cr_batch *cr_batch_pool_get(struct cr_batch_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->nfree == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    struct cr_batch *b = take(p);
    pthread_mutex_unlock(&p->mu);
    return b;
}

struct cr_batch *cr_batch_pool_try_get(struct cr_batch_pool *p)
{
    pthread_mutex_lock(&p->mu);
    struct cr_batch *b = p->nfree ? take(p) : NULL;
    pthread_mutex_unlock(&p->mu);
    return b;
}

void cr_batch_pool_put(struct cr_batch_pool *p, struct cr_batch *b)
{
    pthread_mutex_lock(&p->mu);
    p->free_list[p->nfree++] = b;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int cr_batch_add_rec(struct cr_batch *b, uint32_t off, uint32_t len, uint64_t position,
                     uint32_t flags, uint32_t orig_len)
{
    return cr_batch_add_rec_ts(b, off, len, position, flags, orig_len, b->input, 0);
}

int cr_batch_add_rec_ts(struct cr_batch *b, uint32_t off, uint32_t len, uint64_t position,
                        uint32_t flags, uint32_t orig_len, uint32_t input, int64_t ts_ms)
{
    if (b->nrecs == b->rec_cap) {
        uint32_t ncap = b->rec_cap * 2;
        struct cr_rec *nr = realloc(b->recs, ncap * sizeof *nr);
        if (!nr)
            return -1;
        b->recs = nr;
        b->rec_cap = ncap;
    }
    struct cr_rec *r = &b->recs[b->nrecs++];
    r->off = off;
    r->len = len;
    r->position = position;
    r->flags = flags;
    r->orig_len = orig_len;
    r->input = input;
    r->ts_ms = ts_ms;
    r->year_add = 0;
    return 0;
}
