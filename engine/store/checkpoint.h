/*
 * checkpoint.h - the format in which correlation state travels from a shard
 * to the writer at a checkpoint, and its application to the store.
 *
 * A checkpoint of one shard is a delta: a sequence of operations
 *   PUT: 0x01 | key length (BE u16) | key | value length (BE u32) | value
 *   DEL: 0x02 | key length (BE u16) | key
 * for the states changed or removed since the shard's previous checkpoint.
 * Keys are `consumer id | 0x00 | correlation key` (store.h); values are the
 * correlator's own encoding (correlate.c). The writer applies every shard's
 * delta for an epoch in the same LMDB transaction as that epoch's input
 * positions, so state and positions always describe the same cut.
 *
 * Ownership: a cr_ckpt_buf owns its bytes (free with free(b->p)).
 * Threading: a buffer is built by one thread and handed over whole.
 */
#ifndef CR_CHECKPOINT_H
#define CR_CHECKPOINT_H

#include "engine/store/store.h"

#include <stddef.h>

/* Where an input stands at a checkpoint: the next record to read. */
struct cr_position {
    char input[128]; /* "kafka:TOPIC/PARTITION", or a file name */
    int64_t next;
};

struct cr_ckpt_buf {
    char *p;
    size_t len, cap;
};

/* Append a PUT whose value is the concatenation of the given parts (a part
 * with a NULL pointer is skipped). */
void cr_ckpt_put(struct cr_ckpt_buf *b, const void *key, size_t klen, const void *const *parts,
                 const size_t *lens, int nparts);
void cr_ckpt_del(struct cr_ckpt_buf *b, const void *key, size_t klen);
/* Apply a delta to the store's open write batch. Returns 0, or a store error
 * (a malformed delta is CR_STORE_ERR: it would be a bug). */
int cr_ckpt_apply(const char *p, size_t len, struct cr_store *s);

#endif
