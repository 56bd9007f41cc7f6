/*
 * ingest_file.c - see ingest_file.h.
 */
#include "engine/pipeline/ingest_file.h"
#include "base/log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct reader {
    struct cr_pipeline *pl;
    int input;
    uint32_t max;
    uint64_t line;        /* 1-based number of the next line */
    int skipping;         /* inside the tail of an oversized line */
    uint64_t skip_before; /* lines numbered below this are not records (resuming) */
    uint64_t since_ckpt;
    struct cr_ingest_stats *st;
    int last_month;   /* of the last year-less stamp seen (1..12), 0 = none yet */
    int32_t year_add; /* year rollovers seen so far */
};

/* The month of an RFC 3164 stamp at the start of a line ("<PRI>Mmm dd"),
 * 0 if the line does not start with one. */
static int line_month(const char *s, size_t len)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    size_t i = 0;
    if (i < len && s[i] == '<') {
        while (i < len && i < 6 && s[i] != '>')
            i++;
        i++;
    }
    if (i + 4 > len || s[i + 3] != ' ')
        return 0;
    for (int m = 0; m < 12; m++)
        if (memcmp(s + i, names + 3 * m, 3) == 0)
            return m + 1;
    return 0;
}

/* Year rollover in a replay of year-less stamps: a month more than six
 * before the last one (Dec -> Jan) starts the next year; one more than six
 * after it (a December straggler after January) belongs to the year
 * before. Every line counts, the ones a resume skips too, so a resumed run
 * places the same lines in the same years. */
static int32_t year_of_line(struct reader *r, const char *s, size_t len)
{
    int m = line_month(s, len);
    if (!m)
        return r->year_add;
    if (r->last_month && m < r->last_month - 6) {
        r->year_add++;
        r->last_month = m;
    } else if (r->last_month && m > r->last_month + 6) {
        return r->year_add - 1;
    } else {
        r->last_month = m;
    }
    return r->year_add;
}

static void add(struct reader *r, struct cr_batch *b, size_t start, size_t len, uint32_t flags,
                size_t orig)
{
    int32_t year_add = year_of_line(r, b->buf + start, len);
    if (r->line < r->skip_before) {
        /* before the resume position: processed by an earlier run */
        r->line++;
        r->st->skipped++;
        return;
    }
    if (len && b->buf[start + len - 1] == '\r')
        len--;
    if (len > r->max) {
        flags |= CR_REC_TRUNCATED;
        orig = len;
        len = r->max;
    }
    if (flags & CR_REC_TRUNCATED)
        r->st->oversized++;
    if (cr_batch_add_rec(b, (uint32_t)start, (uint32_t)len, r->line++, flags,
                         orig > UINT32_MAX ? UINT32_MAX : (uint32_t)orig) != 0) {
        /* the index could not grow: out of memory is not survivable without loss */
        cr_log_line(CR_LV_ERROR, "corral: out of memory indexing records\n");
        abort();
    }
    b->recs[b->nrecs - 1].year_add = year_add;
    r->st->lines++;
    r->since_ckpt++;
}

/* Index the complete lines of b->buf from `start` (the unfinished line's
 * start), looking for newlines only from `scan` (bytes before it were
 * already searched). Returns the start of the new unfinished line. */
static size_t split(struct reader *r, struct cr_batch *b, size_t start, size_t scan)
{
    const char *buf = b->buf;
    for (;;) {
        const char *nl = memchr(buf + scan, '\n', b->len - scan);
        if (!nl)
            break;
        size_t end = (size_t)(nl - buf);
        if (r->skipping)
            r->skipping = 0; /* the oversized line ends here; its head was recorded */
        else
            add(r, b, start, end - start, 0, end - start);
        scan = start = end + 1;
    }
    return start;
}

void cr_ingest_year_key(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s\x1fyear", name);
}

/* A checkpoint after everything submitted so far: the next line to read,
 * and the year rollover state reached (a continuation resumes it). */
static void checkpoint(struct reader *r, const struct cr_ingest_resume *res)
{
    struct cr_position pos[2];
    snprintf(pos[0].input, sizeof pos[0].input, "%s", res->name);
    pos[0].next = (int64_t)r->line;
    cr_ingest_year_key(pos[1].input, sizeof pos[1].input, res->name);
    pos[1].next = (int64_t)r->year_add * 16 + r->last_month;
    cr_pipeline_checkpoint(r->pl, pos, 2);
    r->since_ckpt = 0;
    r->st->checkpoints++;
}

/* Hand b's complete records to the pipeline and return a fresh batch that
 * starts with the unfinished line (`partial` bytes from line_start). */
static struct cr_batch *submit_keep_partial(struct reader *r, struct cr_batch *b, size_t line_start,
                                            size_t partial)
{
    struct cr_batch *next = cr_pipeline_get_batch(r->pl);
    next->input = (uint32_t)r->input;
    memcpy(next->buf, b->buf + line_start, partial);
    next->len = partial;
    b->len = line_start;
    cr_pipeline_submit(r->pl, b);
    return next;
}

/* A rules swap was offered (hot reload): the records read so far go before
 * the barrier, with the old rules; the unfinished line comes after it. */
static struct cr_batch *swap_rules(struct reader *r, struct cr_batch *b, size_t *line_start)
{
    if (b->nrecs > 0) {
        b = submit_keep_partial(r, b, *line_start, b->len - *line_start);
        *line_start = 0;
    }
    cr_pipeline_swap_rules(r->pl, r->input, (int64_t)r->line - 1);
    return b;
}

/* Pipes and terminals: wait for input or for a rules swap offer. Returns 1
 * when the input is readable (or closed), 0 when a swap was offered. */
static int wait_input(struct cr_pipeline *pl, int fd)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                          {.fd = cr_pipeline_wake_fd(pl), .events = POLLIN}};
    for (;;) {
        int n = poll(p, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || p[0].revents)
            return 1; /* a poll failure falls back to the blocking read */
        if (p[1].revents)
            return 0;
    }
}

int cr_ingest_fd(struct cr_pipeline *pl, int fd, int input, const struct cr_ingest_resume *resume,
                 struct cr_ingest_stats *st, char *err, size_t errlen)
{
    const struct cr_config *cfg = cr_pipeline_config(pl);
    struct cr_ingest_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    struct reader r = {.pl = pl, .input = input, .max = cfg->max_record_bytes, .line = 1, .st = st};
    if (resume) {
        r.line = resume->first_line ? resume->first_line : 1;
        r.skip_before = resume->skip_before;
        if (resume->year_state >= 0 && r.line > 1) { /* a continuation: what was reached */
            r.year_add = (int32_t)(resume->year_state / 16);
            r.last_month = (int)(resume->year_state % 16);
        }
    }
    int ckpt = resume && resume->checkpoint_every > 0;
    struct stat sb;
    int regular = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);

    struct cr_batch *b = cr_pipeline_get_batch(pl);
    b->input = (uint32_t)input;
    size_t line_start = 0; /* start of the unfinished line in b */
    int rc = 0;
    for (;;) {
        if (cr_pipeline_failed(pl)) {
            snprintf(err, errlen, "stopped reading: the store failed");
            rc = -1;
            break;
        }
        if (cr_pipeline_rules_offered(pl))
            b = swap_rules(&r, b, &line_start);
        if (!regular && !wait_input(pl, fd)) {
            b = swap_rules(&r, b, &line_start); /* (also empties the wake pipe) */
            continue;
        }
        size_t want = b->cap - b->len;
        ssize_t n = read(fd, b->buf + b->len, want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "read error: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0) {
            /* end of input: a last line without a newline is still a record */
            if (b->len > line_start && !r.skipping)
                add(&r, b, line_start, b->len - line_start, 0, b->len - line_start);
            break;
        }
        st->bytes += (uint64_t)n;
        size_t scan = b->len;
        b->len += (size_t)n;
        if (scan < line_start)
            scan = line_start;
        line_start = split(&r, b, line_start, scan);
        size_t partial = b->len - line_start;
        if (r.skipping) {
            /* still inside an oversized line's tail: drop those bytes */
            b->len = line_start;
            partial = 0;
        } else if (partial > r.max) {
            /* an oversized line: record its head now, skip the rest */
            add(&r, b, line_start, r.max, CR_REC_TRUNCATED, partial);
            b->len = line_start + r.max;
            line_start = b->len;
            partial = 0;
            r.skipping = 1;
        }
        int full = b->cap - b->len < r.max + 1;
        int short_read = !regular && (size_t)n < want;
        if ((full || short_read) && b->nrecs > 0) {
            b = submit_keep_partial(&r, b, line_start, partial);
            line_start = 0;
            /* checkpoints fall on batch boundaries: the position is then the
             * first line of the next batch, with nothing of it processed */
            if (ckpt && r.since_ckpt >= resume->checkpoint_every)
                checkpoint(&r, resume);
        } else if (full) {
            /* no record in a full buffer: every complete line was skipped
             * (resuming). Keep only the unfinished line, at the start. */
            memmove(b->buf, b->buf + line_start, partial);
            b->len = partial;
            line_start = 0;
        }
    }
    if (b->nrecs > 0)
        cr_pipeline_submit(pl, b);
    else
        cr_pipeline_put_batch(pl, b);
    if (ckpt && rc == 0)
        checkpoint(&r, resume); /* the end: everything read is in it */
    return rc;
}

uint64_t cr_ingest_resume_point(struct cr_store *store, const char *name, int is_stdin,
                                uint64_t checkpoint_every, struct cr_ingest_resume *res)
{
    *res = (struct cr_ingest_resume){
        .name = name, .first_line = 1, .checkpoint_every = checkpoint_every, .year_state = -1};
    int64_t stored;
    char ykey[160];
    cr_ingest_year_key(ykey, sizeof ykey, name);
    if (is_stdin && cr_store_get_offset(store, ykey, &stored) == 0)
        res->year_state = stored;
    if (cr_store_get_offset(store, name, &stored) != 0 || stored <= 1)
        return 0;
    if (is_stdin)
        res->first_line = (uint64_t)stored;
    else
        res->skip_before = (uint64_t)stored;
    return (uint64_t)stored;
}
