/*
 * slab.c - the slab states and their entry blocks live in: size classes every 8 bytes,
 * chunks that never move, 32-bit handles (correlate_int.h has the layout).
 */
#include "engine/correlate/correlate_int.h"
#include "base/log.h"

static uint32_t slab_class_of(size_t size, uint32_t *slot)
{
    if (size <= SLAB_SMALL) {
        uint32_t k = (uint32_t)((size + 7) / 8);
        if (k == 0)
            k = 1;
        *slot = k * 8;
        return k - 1;
    }
    /* size in (2^j, 2^(j+1)], j = 12..15: rounded up to a multiple of 2^j / 8 */
    uint32_t j = 63u - (uint32_t)__builtin_clzll((unsigned long long)size - 1);
    size_t step = (size_t)1 << (j - 3);
    size_t r = (size + step - 1) / step * step;
    *slot = (uint32_t)r;
    return SLAB_SMALL / 8 + (j - 12) * 8 + (uint32_t)(r / step) - 9;
}

static uint32_t slab_chunk_new(struct slab *sl, size_t bytes, uint32_t size, uint32_t nslots,
                               uint32_t cls)
{
    uint32_t ci;
    if (sl->nspare) {
        ci = sl->spare[--sl->nspare];
    } else {
        if (sl->nchunk == 0)
            sl->nchunk = 1; /* chunk 0 stays unused: handle 0 is "none" */
        if (sl->nchunk >= SLAB_CHUNKS_MAX) {
            cr_log_line(CR_LV_ERROR, "corral: correlation state: more than %u slab chunks\n",
                        SLAB_CHUNKS_MAX);
            abort();
        }
        if (sl->nchunk >= sl->capchunk) {
            sl->capchunk = sl->capchunk ? sl->capchunk * 2 : 64;
            sl->chunk = realloc(sl->chunk, (size_t)sl->capchunk * sizeof *sl->chunk);
            if (!sl->chunk)
                abort();
        }
        ci = sl->nchunk++;
    }
    char *base = malloc(bytes);
    if (!base)
        abort();
    sl->chunk[ci] = (struct slab_chunk){
        .base = base, .size = size, .nslots = (uint16_t)nslots, .cls = (uint16_t)cls};
    sl->bytes += bytes + SLAB_MALLOC_HEAD;
    return ci;
}

static void slab_chunk_drop(struct slab *sl, uint32_t ci)
{
    struct slab_chunk *ch = &sl->chunk[ci];
    sl->bytes -=
        (ch->cls == SLAB_OWN ? ch->size : (uint64_t)ch->nslots * ch->size) + SLAB_MALLOC_HEAD;
    free(ch->base);
    ch->base = NULL;
    if (sl->nspare == sl->capspare) {
        sl->capspare = sl->capspare ? sl->capspare * 2 : 64;
        sl->spare = realloc(sl->spare, (size_t)sl->capspare * sizeof *sl->spare);
        if (!sl->spare)
            abort();
    }
    sl->spare[sl->nspare++] = ci;
}

static void partial_unlink(struct slab *sl, struct slab_class *cl, uint32_t ci)
{
    struct slab_chunk *ch = &sl->chunk[ci];
    if (ch->prev)
        sl->chunk[ch->prev].next = ch->next;
    else
        cl->partial = ch->next;
    if (ch->next)
        sl->chunk[ch->next].prev = ch->prev;
    ch->prev = ch->next = 0;
}

static void partial_push(struct slab *sl, struct slab_class *cl, uint32_t ci)
{
    struct slab_chunk *ch = &sl->chunk[ci];
    ch->prev = 0;
    ch->next = cl->partial;
    if (cl->partial)
        sl->chunk[cl->partial].prev = ci;
    cl->partial = ci;
}

/* A slot of at least `size` bytes (not zeroed). */
uint32_t corr_slab_alloc(struct slab *sl, size_t size)
{
    if (size > SLAB_CHUNK_MAX) {
        if (size > UINT32_MAX - 8)
            abort();
        size = (size + 7) & ~(size_t)7;
        uint32_t ci = slab_chunk_new(sl, size, (uint32_t)size, 1, SLAB_OWN);
        sl->chunk[ci].live = 1;
        return ci << SLAB_SLOT_BITS;
    }
    uint32_t slot, k = slab_class_of(size, &slot);
    struct slab_class *cl = &sl->cls[k];
    uint32_t ci = cl->partial;
    if (!ci) {
        /* chunks of a class corr_grow from 4 KiB to 64 KiB: a small correlator stays small */
        size_t bytes = (size_t)SLAB_CHUNK_MIN << (cl->nchunks < 4 ? cl->nchunks : 4);
        uint32_t n = (uint32_t)(bytes / slot);
        if (n == 0)
            n = 1;
        if (n > SLAB_SLOTS_MAX)
            n = SLAB_SLOTS_MAX;
        ci = slab_chunk_new(sl, (size_t)n * slot, slot, n, k);
        cl->nchunks++;
        partial_push(sl, cl, ci);
    }
    struct slab_chunk *ch = &sl->chunk[ci];
    uint32_t h;
    if (ch->free) {
        h = ch->free;
        memcpy(&ch->free, ch->base + (size_t)(h & SLAB_SLOT_MASK) * ch->size, sizeof ch->free);
    } else {
        h = ci << SLAB_SLOT_BITS | ch->fresh++;
    }
    if (ch->live++ == 0 && cl->empty == ci)
        cl->empty = 0;
    if (ch->live == ch->nslots)
        partial_unlink(sl, cl, ci);
    return h;
}

void corr_slab_free(struct slab *sl, uint32_t h)
{
    uint32_t ci = h >> SLAB_SLOT_BITS;
    struct slab_chunk *ch = &sl->chunk[ci];
    if (ch->cls == SLAB_OWN) {
        slab_chunk_drop(sl, ci);
        return;
    }
    struct slab_class *cl = &sl->cls[ch->cls];
    memcpy(ch->base + (size_t)(h & SLAB_SLOT_MASK) * ch->size, &ch->free, sizeof ch->free);
    ch->free = h;
    if (ch->live-- == ch->nslots && !ch->draining)
        partial_push(sl, cl, ci);
    if (ch->live)
        return;
    if (ch->draining) { /* not in the list */
        cl->nchunks--;
        slab_chunk_drop(sl, ci);
        return;
    }
    /* empty: keep one per class, give the others back */
    if (!cl->empty) {
        cl->empty = ci;
        return;
    }
    partial_unlink(sl, cl, ci);
    cl->nchunks--;
    slab_chunk_drop(sl, ci);
}

/* Compaction, step 1: take the chunks at most a quarter used out of the
 * free-slot lists (of classes with more than one chunk). Returns how many. */
uint32_t corr_slab_drain_begin(struct slab *sl)
{
    uint32_t n = 0;
    for (uint32_t ci = 1; ci < sl->nchunk; ci++) {
        struct slab_chunk *ch = &sl->chunk[ci];
        if (!ch->base || ch->cls == SLAB_OWN || !ch->live || ch->live > ch->nslots / 4 ||
            sl->cls[ch->cls].nchunks < 2)
            continue;
        if (ch->live < ch->nslots) /* not full: it is in the list */
            partial_unlink(sl, &sl->cls[ch->cls], ci);
        ch->draining = 1;
        n++;
    }
    return n;
}

/* Compaction, step 3: the chunks still in use (they hold states, which do
 * not move) go back to the lists. */
void corr_slab_drain_end(struct slab *sl)
{
    for (uint32_t ci = 1; ci < sl->nchunk; ci++) {
        struct slab_chunk *ch = &sl->chunk[ci];
        if (!ch->base || !ch->draining)
            continue;
        ch->draining = 0;
        partial_push(sl, &sl->cls[ch->cls], ci);
    }
}

void corr_slab_destroy(struct slab *sl)
{
    for (uint32_t ci = 1; ci < sl->nchunk; ci++)
        free(sl->chunk[ci].base);
    free(sl->chunk);
    free(sl->spare);
}
