/*
 * match.h - the record a worker sends to a correlation shard.
 *
 * A match is a fixed-size value copied into a ring slot (no allocation):
 * which rule matched, along which route (group_by list), the correlation key
 * (the route's field values joined by 0x1f), the event time, where the
 * record came from, and a bounded copy of its raw bytes for evidence.
 * Matches are a small fraction of events, so the ~800 bytes are cheap next
 * to the batch they came from, and copying them lets the worker give its
 * batch back at once.
 *
 * The same ring carries control records: CR_MSG_BATCH_END(seq) after the
 * last match of batch `seq` (shards use it to merge workers' outputs back
 * into input order), CR_MSG_MARK(seq, epoch) in place of a batch at a
 * checkpoint (the shard snapshots its state there: every shard cuts at the
 * same point of the input), CR_MSG_WATERMARK(src, time) before a batch end
 * for each input the batch held (reorder.h), CR_MSG_RELOAD(seq) in place of
 * a batch at a rules swap (the shard migrates its state to the new rules
 * there: swap.h), and CR_MSG_EOF when the input is exhausted.
 *
 * Threading: values; owned by whoever holds the copy.
 */
#ifndef CR_MATCH_H
#define CR_MATCH_H

#include <stdint.h>
#include <string.h>

#define CR_KEY_MAX 256
#define CR_MATCH_RAW 511
#define CR_KEY_SEP '\x1f'
#define CR_MATCH_CARRIED 192

enum cr_msg_kind {
    CR_MSG_MATCH = 1,
    CR_MSG_BATCH_END = 2,
    CR_MSG_EOF = 3,
    CR_MSG_MARK = 4,
    CR_MSG_DROP = 5,   /* forget the state of input `src` (a partition another process moved on) */
    CR_MSG_SOURCE = 7, /* input `src` is pending or idle (`source`): takes a seq */
    CR_MSG_WATERMARK = 6, /* input `src` has reached event time `time_ms` (its records of
                           * this batch, matched or not; before BATCH_END) */
    CR_MSG_RELOAD = 8,    /* switch to new rules here: `swap` */
    CR_MSG_QUIET = 9,     /* no input has sent anything for correlation.idle_release of wall
                           * time: apply everything held (reorder.h, cr_reorder_release_quiet) */
    CR_MSG_ASSIGNED = 10, /* the Kafka assignment is in: restored inputs it did not claim
                           * stop holding the watermark back (cr_reorder_assigned) */
};

/* What an input tells the reorder buffer of its shards besides its times
 * (reorder.h): PENDING has records to come and no time yet; IDLE has
 * nothing to come for now; BEHIND has a backlog waiting (a Kafka partition
 * whose high watermark is past the next offset), and CAUGHT_UP ends that. */
enum cr_source_state {
    CR_SOURCE_PENDING = 1,
    CR_SOURCE_IDLE = 2,
    CR_SOURCE_BEHIND = 3,
    CR_SOURCE_CAUGHT_UP = 4
};

struct cr_swap;

struct cr_match {
    uint8_t kind;  /* enum cr_msg_kind */
    uint8_t route; /* index into the rule's routes[] */
    uint16_t key_len;
    uint16_t raw_len;
    uint16_t flags; /* CR_EV_* of the event, truncated to 16 bits */
    uint8_t replay; /* rebuilding state after a rebalance: update state, emit nothing */
    uint8_t source; /* CR_MSG_SOURCE: the input's enum cr_source_state */
    uint32_t src;   /* stable id of the input (hash of its name): whose state this is */
    uint32_t rule;  /* match rule index */
    uint32_t input;
    uint64_t seq;   /* batch sequence number */
    uint64_t epoch; /* CR_MSG_MARK: the checkpoint */
    uint64_t position;
    /* Which event of the record at position: the object of a JSON-array
     * record (sub), the copy of a "message repeated N times" line (rep).
     * With src, input and position it names one event: the correlator
     * counts an event once for a correlation even when it matched several
     * of the rules that correlation counts. */
    uint32_t sub;
    uint32_t rep;
    int64_t time_ms;
    union {
        uint64_t value;       /* value_count routes: hash of the counted field's value;
                               * value_sum / value_avg routes (cr_route.value_num): the
                               * field's number as a double's bits (cr_match_number), a
                               * NaN when the value is not a number */
        struct cr_swap *swap; /* CR_MSG_RELOAD: the new rules (engine/pipeline/swap.h) */
    };
    int64_t seen_ms;     /* the newest time of its input in its batch up to this record
                          * (INT64_MIN: none): a match older than that minus the allowed
                          * lateness is late, wherever the batch boundaries fall */
    uint32_t tenant;     /* hash of the event's correlation.tenant_field value; 0 = none */
    uint8_t has_measure; /* the rule's impact measure field held a number (measure) */
    int64_t measure;
    char asset[48];      /* the record's asset id (enrichment: engine/pipeline/enrich.h), "" */
    char src_asset[48];  /* the asset its source address belongs to, "" */
    uint8_t carried_len; /* bytes of carried */
    char carried[CR_MATCH_CARRIED]; /* values the incident keeps (a rule's `fields`): per
                                     * field its id (u16, little endian), length (u8), bytes */
    char key[CR_KEY_MAX];
    char raw[CR_MATCH_RAW + 1];
};

/* The number of a value_num route's match, and back. A value that is not
 * a number travels as a NaN: the correlator counts and skips it. */
static inline double cr_match_number(uint64_t value)
{
    double x;
    memcpy(&x, &value, sizeof x);
    return x;
}
static inline uint64_t cr_match_number_value(double x)
{
    uint64_t v;
    memcpy(&v, &x, sizeof v);
    return v;
}

#endif
