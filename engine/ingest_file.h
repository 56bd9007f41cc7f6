/*
 * ingest_file.h - read a file or stdin into batches (replay, tests, bench).
 *
 * Bytes are read straight into the batch buffer and records are found in
 * place with memchr, so each byte is copied once. One record per line; a
 * trailing CR is dropped. A record longer than the input's
 * max_record_size keeps its first max_record_size bytes, is flagged
 * truncated (counted, and kept raw in the store's rejects), and the rest of
 * the line is skipped. For pipes and terminals a batch is submitted as soon
 * as a read comes back short, so a live `tail -f | corral run --input -`
 * does not wait for a batch to fill.
 *
 * Threading: runs in the caller's thread (the ingest thread).
 */
#ifndef CR_INGEST_FILE_H
#define CR_INGEST_FILE_H

#include "pipeline.h"

#include <stddef.h>
#include <stdint.h>

struct cr_ingest_stats {
    uint64_t lines;
    uint64_t bytes;
    uint64_t oversized;
};

/* Read fd to its end. Returns 0, or -1 with the reason in err (a read
 * error, or the pipeline's store failed). */
int cr_ingest_fd(struct cr_pipeline *pl, int fd, int input, struct cr_ingest_stats *st, char *err,
                 size_t errlen);

#endif
