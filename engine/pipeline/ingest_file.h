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
 * With a resume position (corral run --resume) the reader checkpoints every
 * `checkpoint_every` records and at the end: the pipeline makes the state
 * of everything before the position durable together with the position
 * (pipeline.h, checkpoints), so a later --resume run continues exactly.
 *
 * Rules swaps (hot reload): between reads the reader checks whether new
 * rules were offered and, if so, submits the records read so far and places
 * the barrier after them (pipeline.h). A pipe or terminal is polled
 * together with the pipeline's wake descriptor, so an idle stdin still
 * swaps at once.
 *
 * Threading: runs in the caller's thread (the ingest thread).
 */
#ifndef CR_INGEST_FILE_H
#define CR_INGEST_FILE_H

#include "engine/pipeline/pipeline.h"

#include <stddef.h>
#include <stdint.h>

struct cr_ingest_stats {
    uint64_t lines;
    uint64_t bytes;
    uint64_t oversized;
    uint64_t skipped; /* lines before the resume position, read and not processed */
    uint64_t checkpoints;
};

/* Resuming (corral run --resume): where this input continues. */
struct cr_ingest_resume {
    const char *name;          /* the input's name in checkpoints (path, or "stdin") */
    uint64_t first_line;       /* number of the first line read (1, or a stdin continuation) */
    uint64_t skip_before;      /* lines numbered below this are skipped (a named file resumed) */
    uint64_t checkpoint_every; /* records between checkpoints; 0 = none (not resuming) */
    int64_t year_state;        /* the year rollover state checkpointed with the position (under
                                * cr_ingest_year_key), -1 = none: a stdin continuation does not
                                * see the lines before it */
};

/* The checkpoint key of an input's year rollover state (years rolled over
 * x 16 + the last month), stored beside its position: name + "\x1fyear". */
void cr_ingest_year_key(char *out, size_t cap, const char *name);

/* Where input `name` continues after the store's checkpoint (corral run
 * --resume): a named file is read again from its start and skips the lines
 * already done; stdin (is_stdin) is the rest of a stream, so its numbering
 * continues and it takes the year rollover state stored with it. Fills
 * *res for cr_ingest_fd; returns the stored line position (0: none). */
uint64_t cr_ingest_resume_point(struct cr_store *store, const char *name, int is_stdin,
                                uint64_t checkpoint_every, struct cr_ingest_resume *res);

/* Read fd to its end. resume may be NULL (a plain replay: no checkpoints).
 * Returns 0, or -1 with the reason in err (a read error, or the pipeline's
 * store failed). */
int cr_ingest_fd(struct cr_pipeline *pl, int fd, int input, const struct cr_ingest_resume *resume,
                 struct cr_ingest_stats *st, char *err, size_t errlen);

#endif
