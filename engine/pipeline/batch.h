/*
 * batch.h - a batch of input records and the bounded pool batches come from.
 *
 * A batch is one contiguous buffer of record bytes plus an index of
 * (offset, length, position) per record. Ingest fills it (for files, read()
 * lands directly in the buffer and records are found in place, so bytes are
 * copied once), a worker parses and matches it, and the worker returns it to
 * the pool. Every event of a batch is a slice into its buffer.
 *
 * The pool holds a fixed number of batches: memory is bounded by
 * batches x batch_bytes, and an empty pool is the backpressure signal that
 * stops ingest (for Kafka: pauses partitions).
 *
 * Sequence numbers: ingest numbers batches 0, 1, 2, ... in input order.
 * Batch k goes to worker k % W, and shards consume the workers' outputs in
 * sequence order, so the correlation sees matches in input order for any
 * number of workers (see docs/architecture.md, "Determinism").
 *
 * Threading: a batch has one owner at a time; the pool's get/put take a
 * mutex once per batch (thousands of records), never per record.
 */
#ifndef CR_BATCH_H
#define CR_BATCH_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum {
    CR_REC_TRUNCATED = 1u << 0,    /* longer than max_record_bytes: only the first part is here */
    CR_REC_BAD_ENVELOPE = 1u << 1, /* transport metadata was invalid (e.g. CloudEvents headers);
                                    * the bytes are the record's value as received */
    CR_REC_REPLAY = 1u << 2,       /* read again to rebuild correlation state after a
                                    * rebalance: it was already processed by the previous owner */
};

struct cr_rec {
    uint32_t off;
    uint32_t len;
    uint64_t position; /* line number (files) or offset (Kafka) */
    uint32_t flags;    /* CR_REC_* */
    uint32_t orig_len; /* length before truncation (saturated at UINT32_MAX) */
    uint32_t input;    /* input index (a Kafka batch mixes partitions) */
    int64_t ts_ms;     /* transport timestamp (Kafka record time); 0 = none */
    int32_t year_add;  /* files: years the replay rolled over before this line (a year-less
                        * stamp's month went back, Dec -> Jan); added to input.year */
};

struct cr_batch {
    uint64_t seq;
    uint32_t input;
    int64_t fallback_ms; /* time for records with none, until one with a time is seen */
    char *buf;
    size_t cap, len;
    struct cr_rec *recs;
    uint32_t nrecs, rec_cap;
};

struct cr_batch_pool;

struct cr_batch_pool *cr_batch_pool_new(int nbatches, size_t batch_bytes);
void cr_batch_pool_free(struct cr_batch_pool *p);
/* Blocks until a batch is free. The batch comes back empty (len = nrecs = 0). */
struct cr_batch *cr_batch_pool_get(struct cr_batch_pool *p);
/* Non-blocking: NULL if none is free. */
struct cr_batch *cr_batch_pool_try_get(struct cr_batch_pool *p);
void cr_batch_pool_put(struct cr_batch_pool *p, struct cr_batch *b);

/* Append a record index entry (grows the index, rarely) for input
 * b->input, without a transport timestamp. Returns 0 or -1. */
int cr_batch_add_rec(struct cr_batch *b, uint32_t off, uint32_t len, uint64_t position,
                     uint32_t flags, uint32_t orig_len);
/* The same, for any input and with a timestamp (Kafka ingest). */
int cr_batch_add_rec_ts(struct cr_batch *b, uint32_t off, uint32_t len, uint64_t position,
                        uint32_t flags, uint32_t orig_len, uint32_t input, int64_t ts_ms);

#endif
