/*
 * ingest_kafka.c - see ingest_kafka.h.
 *
 * librdkafka 2.0.2 notes (reference/architecture.md B.5): the batch consume
 * API of this version loses messages around pause/resume and rebalances, so
 * records are taken one at a time with rd_kafka_consumer_poll into our own
 * batches; rd_kafka_offset_store_message does not exist yet, so offsets are
 * stored with rd_kafka_offsets_store as "next offset" (last + 1); partition
 * lists that went through offsets_store/committed are destroyed at once,
 * since live references make rd_kafka_destroy hang.
 */
#include "engine/kafka/ingest_kafka.h"
#include "base/log.h"
#include "engine/kafka/kafka_produce.h"
#include "base/clock.h"
#include "base/crashpoint.h"

#include "parsers/cloudevents_kafka.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_HEADERS 64
#define MAX_PENDING_CKPT 64
#define LINGER_MS 20         /* a partly filled batch waits at most this long for more records */
#define BACKLOG_CHECK_MS 100 /* how often partitions' backlogs are looked at (track_backlog) */

struct part {
    char topic[96];
    int32_t partition;
    char input[128];
    int idx; /* pipeline input index */
    enum cr_format format;
    int assigned;
    int64_t next;         /* next offset to read; -1 unknown */
    int64_t target;       /* --until-caught-up: end at assignment; -1 unknown */
    int64_t replay_until; /* records below this offset only rebuild state */
    uint64_t records;
    int idle;   /* reached its end at assignment: told the pipeline (reorder.h) */
    int behind; /* records wait in the broker for it: told the pipeline (BEHIND) */
};

struct ckpt {
    uint64_t epoch;
    int n;
    struct cr_position pos[CR_KAFKA_MAX_PARTITIONS];
    int part[CR_KAFKA_MAX_PARTITIONS];
};

struct kctx {
    rd_kafka_t *rk;
    struct cr_pipeline *pl;
    const struct cr_config *cfg;
    struct cr_store *store;
    const struct cr_kafka_ingest_opts *opts;
    struct cr_kafka_stats *st;
    struct part parts[CR_KAFKA_MAX_PARTITIONS];
    int nparts;
    int ever_assigned;
    int cooperative;
    struct cr_batch *b;
    int64_t batch_started;
    uint64_t since_ckpt; /* records since the last checkpoint */
    struct ckpt *pend;   /* checkpoints not yet stored in librdkafka, oldest first */
    int npend;
    int paused;
    int64_t paused_at;
    rd_kafka_message_t **held;
    int nheld, held_cap;
    int fatal; /* librdkafka raised a fatal error: no group commit, no close */
    int64_t first_record_ms;
    int64_t last_rebalance_ms; /* start, or the last assign/revoke */
    int in_rebalance;          /* partitions were revoked; the next assignment is pending */
    char *err;
    size_t errlen;
};

static struct part *find_part(struct kctx *k, const char *topic, int32_t partition)
{
    for (int i = 0; i < k->nparts; i++)
        if (k->parts[i].partition == partition && strcmp(k->parts[i].topic, topic) == 0)
            return &k->parts[i];
    return NULL;
}

static enum cr_format topic_format(const struct cr_config *cfg, const char *topic)
{
    for (int i = 0; i < cfg->nkafka_topics; i++)
        if (strcmp(cfg->kafka_topics[i].name, topic) == 0)
            return cfg->kafka_topics[i].format;
    return CR_FMT_AUTO;
}

static struct part *add_part(struct kctx *k, const char *topic, int32_t partition)
{
    struct part *p = find_part(k, topic, partition);
    if (p)
        return p;
    if (k->nparts == CR_KAFKA_MAX_PARTITIONS)
        return NULL;
    p = &k->parts[k->nparts++];
    memset(p, 0, sizeof *p);
    snprintf(p->topic, sizeof p->topic, "%s", topic);
    p->partition = partition;
    snprintf(p->input, sizeof p->input, "kafka:%s/%d", topic, (int)partition);
    p->format = topic_format(k->cfg, topic);
    p->idx = cr_pipeline_add_input_format(k->pl, p->input, p->format);
    p->next = -1;
    p->target = -1;
    p->replay_until = -1;
    return p;
}

static void submit(struct kctx *k)
{
    if (k->b && k->b->nrecs) {
        cr_pipeline_submit(k->pl, k->b);
        k->b = NULL;
    }
}

/* A checkpoint of everything handed to the pipeline so far. */
static void checkpoint(struct kctx *k)
{
    submit(k);
    if (k->npend == MAX_PENDING_CKPT) {
        /* the writer is far behind: wait for the oldest before piling up more */
        cr_pipeline_wait_durable(k->pl, k->pend[0].epoch, 60000);
    }
    struct ckpt *c = &k->pend[k->npend < MAX_PENDING_CKPT ? k->npend : MAX_PENDING_CKPT - 1];
    c->n = 0;
    for (int i = 0; i < k->nparts; i++) {
        struct part *p = &k->parts[i];
        /* a partition still replaying has nothing new to commit: committing
         * its replay position would move the group backwards */
        if (!p->assigned || p->next < 0 || p->next < p->replay_until)
            continue;
        snprintf(c->pos[c->n].input, sizeof c->pos[c->n].input, "%s", p->input);
        c->pos[c->n].next = p->next;
        c->part[c->n] = i;
        c->n++;
    }
    c->epoch = cr_pipeline_checkpoint(k->pl, c->pos, c->n);
    if (k->npend < MAX_PENDING_CKPT)
        k->npend++;
    k->since_ckpt = 0;
    k->st->checkpoints++;
}

/* Tell librdkafka the offsets of every durable checkpoint (for partitions
 * still assigned: storing for others fails with __STATE). */
static void store_durable(struct kctx *k)
{
    uint64_t d = cr_pipeline_durable(k->pl);
    int done = 0;
    while (done < k->npend && k->pend[done].epoch <= d)
        done++;
    if (!done)
        return;
    const struct ckpt *c = &k->pend[done - 1]; /* the newest durable one covers the others */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(c->n ? c->n : 1);
    for (int i = 0; i < c->n; i++) {
        struct part *p = &k->parts[c->part[i]];
        if (p->assigned)
            rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = c->pos[i].next;
    }
    if (l->cnt)
        rd_kafka_offsets_store(k->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    memmove(k->pend, k->pend + done, (size_t)(k->npend - done) * sizeof *k->pend);
    k->npend -= done;
}

static rd_kafka_topic_partition_list_t *assigned_list(struct kctx *k)
{
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(k->nparts ? k->nparts : 1);
    for (int i = 0; i < k->nparts; i++)
        if (k->parts[i].assigned)
            rd_kafka_topic_partition_list_add(l, k->parts[i].topic, k->parts[i].partition);
    return l;
}

static void set_paused(struct kctx *k, int pause)
{
    if (pause == k->paused)
        return;
    rd_kafka_topic_partition_list_t *l = assigned_list(k);
    if (pause) {
        rd_kafka_pause_partitions(k->rk, l);
        k->paused_at = cr_mono_ms();
        k->st->pauses++;
    } else {
        rd_kafka_resume_partitions(k->rk, l);
        k->st->paused_seconds += (double)(cr_mono_ms() - k->paused_at) / 1000.0;
    }
    rd_kafka_topic_partition_list_destroy(l);
    k->paused = pause;
}

static void on_assign(struct kctx *k, rd_kafka_topic_partition_list_t *parts)
{
    /* the group's committed offsets, then corral's own durable ones: resume
     * from the larger (our own is newer after a crash between our commit and
     * the group commit; the group's is newer if another member moved on) */
    rd_kafka_resp_err_t cerr = rd_kafka_committed(k->rk, parts, 10000);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        struct part *p = add_part(k, tp->topic, tp->partition);
        if (!p)
            continue;
        int64_t committed = cerr == RD_KAFKA_RESP_ERR_NO_ERROR && tp->offset >= 0 ? tp->offset : -1;
        int64_t local = -1;
        if (cr_store_get_offset(k->store, p->input, &local) != 0)
            local = -1;
        int64_t start = committed > local ? committed : local;
        tp->offset = start >= 0 ? start : RD_KAFKA_OFFSET_INVALID;
        int64_t lo = 0, hi = -1;
        if (rd_kafka_query_watermark_offsets(k->rk, tp->topic, tp->partition, &lo, &hi, 10000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
            hi = -1;
        p->next = start >= 0 ? start : lo;
        p->target = hi;
        p->replay_until = -1;
        if (committed > local) {
            /* Another member moved this partition past our own state (or we
             * never had it): our state for its keys is stale. Forget it, and
             * rebuild it from the partition's recent records, which update
             * state but emit nothing (the previous owner stored those
             * incident versions). Keys must be partitioned by correlation key
             * for this to be exact (docs/operations.md). */
            submit(k);
            cr_pipeline_drop_input(k->pl, p->idx);
            if (k->cfg->rebuild_records > 0 && committed > lo) {
                int64_t from = committed - k->cfg->rebuild_records;
                if (from < lo)
                    from = lo;
                tp->offset = from;
                p->next = from;
                p->replay_until = committed;
                k->st->rebuilt_partitions++;
            }
        }
        p->assigned = 1;
        /* a partition with records to read holds the event-time watermark
         * back until they come; an empty one does not (reorder.h) */
        p->idle = !(hi >= 0 && p->next < hi);
        submit(k);
        cr_pipeline_input_state(k->pl, p->idx, p->idle ? CR_SOURCE_IDLE : CR_SOURCE_PENDING);
        /* a backlog, however far behind in event time, holds the watermark
         * back (its flag is not in the checkpoint: said again here) */
        p->behind = !p->idle;
        cr_pipeline_input_state(k->pl, p->idx, p->behind ? CR_SOURCE_BEHIND : CR_SOURCE_CAUGHT_UP);
    }
    /* restored inputs this assignment did not claim are another member's */
    submit(k);
    cr_pipeline_inputs_assigned(k->pl);
    k->ever_assigned = 1;
    k->st->rebalances++;
    if (k->cooperative)
        rd_kafka_incremental_assign(k->rk, parts);
    else
        rd_kafka_assign(k->rk, parts);
    if (k->paused) {
        /* new partitions join the pause */
        rd_kafka_pause_partitions(k->rk, parts);
    }
}

/* A synchronous group commit. A failure loses nothing (corral's own offsets
 * in the store are durable and win on this member's restart), but another
 * member taking the partitions over would start from the older group
 * offset and rebuild from there: say so and count it. */
static void commit_sync(struct kctx *k, const rd_kafka_topic_partition_list_t *l, const char *when)
{
    rd_kafka_resp_err_t e = rd_kafka_commit(k->rk, l, 0);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        k->st->commit_failures++;
        cr_log_line(CR_LV_ERROR,
                    "corral: kafka: group commit %s failed: %s (offsets are durable in the "
                    "store; the group's may lag)\n",
                    when, rd_kafka_err2str(e));
    }
}

static void on_revoke(struct kctx *k, rd_kafka_topic_partition_list_t *parts)
{
    /* make everything read so far durable, then commit it for the next owner */
    checkpoint(k);
    uint64_t e = k->pend[k->npend - 1].epoch;
    if (cr_pipeline_wait_durable(k->pl, e, 60000) == 0) {
        store_durable(k);
        rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_new(parts->cnt);
        for (int i = 0; i < parts->cnt; i++) {
            struct part *p = find_part(k, parts->elems[i].topic, parts->elems[i].partition);
            if (p && p->next >= 0)
                rd_kafka_topic_partition_list_add(c, p->topic, p->partition)->offset = p->next;
        }
        if (c->cnt)
            commit_sync(k, c, "on revoke");
        rd_kafka_topic_partition_list_destroy(c);
    } else {
        /* nothing is lost: the next owner reads from the last committed offset */
        cr_log_line(CR_LV_WARN,
                    "corral: kafka: partitions revoked before their checkpoint was durable; "
                    "the next owner re-reads from the last committed offsets\n");
    }
    for (int i = 0; i < parts->cnt; i++) {
        struct part *p = find_part(k, parts->elems[i].topic, parts->elems[i].partition);
        if (p)
            p->assigned = 0;
    }
    /* Records held back by a pause (fetched, not yet in a batch) of the
     * revoked partitions go too: their offsets are at or past p->next, so
     * whoever is assigned the partition next, this process included, fetches
     * them again from there; appending the held copies as well would count
     * them twice. */
    int kept = 0;
    for (int i = 0; i < k->nheld; i++) {
        rd_kafka_message_t *m = k->held[i];
        struct part *p = find_part(k, rd_kafka_topic_name(m->rkt), m->partition);
        if (p && !p->assigned)
            rd_kafka_message_destroy(m);
        else
            k->held[kept++] = m;
    }
    k->nheld = kept;
    k->st->rebalances++;
    if (k->cooperative)
        rd_kafka_incremental_unassign(k->rk, parts);
    else
        rd_kafka_assign(k->rk, NULL);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct kctx *k = opaque;
    k->last_rebalance_ms = cr_mono_ms();
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        on_assign(k, parts);
        k->in_rebalance = 0;
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        on_revoke(k, parts);
        k->in_rebalance = 1;
    } else {
        cr_log_line(CR_LV_ERROR, "corral: kafka: rebalance error: %s\n", rd_kafka_err2str(err));
        if (k->cooperative)
            rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    }
}

/* Get a batch to fill without blocking; NULL if none is free. */
static struct cr_batch *ensure_batch(struct kctx *k)
{
    if (!k->b) {
        k->b = cr_pipeline_try_get_batch(k->pl);
        if (k->b)
            k->batch_started = cr_mono_ms(); /* once per batch */
    }
    return k->b;
}

/* Copy one record into the current batch. Returns 0, or -1 when no batch
 * has room (the caller holds the message and pauses). */
static int append(struct kctx *k, const rd_kafka_message_t *m)
{
    struct part *p = find_part(k, rd_kafka_topic_name(m->rkt), m->partition);
    if (!p)
        p = add_part(k, rd_kafka_topic_name(m->rkt), m->partition);
    if (!p)
        return 0; /* more partitions than corral tracks: cannot happen below the limit */
    uint32_t max = k->cfg->max_record_bytes;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct cr_batch *b = ensure_batch(k);
        if (!b)
            return -1;
        size_t room = b->cap - b->len;
        if (room < (size_t)max + 1 && b->nrecs) {
            submit(k);
            continue;
        }
        char *dst = b->buf + b->len;
        size_t len = m->len, orig = m->len;
        uint32_t flags = m->offset < p->replay_until ? CR_REC_REPLAY : 0;
        int converted = 0;
        if (p->format == CR_FMT_CLOUDEVENTS) {
            rd_kafka_headers_t *hdrs = NULL;
            struct cr_kafka_header h[MAX_HEADERS];
            size_t nh = 0;
            if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                const char *name;
                const void *val;
                size_t vlen;
                for (size_t i = 0;
                     nh < MAX_HEADERS && rd_kafka_header_get_all(hdrs, i, &name, &val, &vlen) ==
                                             RD_KAFKA_RESP_ERR_NO_ERROR;
                     i++) {
                    h[nh].name = name;
                    h[nh].value = val;
                    h[nh].len = vlen;
                    nh++;
                }
            }
            if (cr_cloudevents_kafka_mode(h, nh) == CR_CE_BINARY) {
                char why[160];
                long n = cr_cloudevents_binary_to_json(h, nh, m->payload, m->len, dst, max, why,
                                                       sizeof why);
                if (n >= 0) {
                    len = orig = (size_t)n;
                    converted = 1;
                } else {
                    flags |= CR_REC_BAD_ENVELOPE;
                    k->st->bad_envelopes++;
                }
            }
        }
        if (!converted) {
            if (len > max) {
                flags |= CR_REC_TRUNCATED;
                len = max;
            }
            if (len)
                memcpy(dst, m->payload, len);
        }
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        if (cr_batch_add_rec_ts(b, (uint32_t)b->len, (uint32_t)len, (uint64_t)m->offset, flags,
                                orig > UINT32_MAX ? UINT32_MAX : (uint32_t)orig, (uint32_t)p->idx,
                                ts > 0 ? ts : 0) != 0)
            abort();
        b->len += len;
        p->next = m->offset + 1;
        p->records++;
        if (!k->st->records)
            k->first_record_ms = cr_mono_ms();
        k->st->records++;
        k->st->bytes += m->len;
        k->since_ckpt++;
        if (!p->idle && p->target >= 0 && p->next >= p->target) {
            /* caught up: this partition stops holding the event-time
             * watermark back (after the batch with its last record) */
            submit(k);
            cr_pipeline_input_state(k->pl, p->idx, CR_SOURCE_IDLE);
            p->idle = 1;
        }
        return 0;
    }
    return -1;
}

/* Caught up: this member holds an assignment (it joined, and no revoke is
 * waiting for the next assignment) and every assigned partition reached
 * the end it had when it was assigned. An empty assignment (more members
 * than partitions) counts once it stayed empty for IDLE_EXIT_MS: an
 * incremental rebalance may still be handing partitions out. */
#define IDLE_EXIT_MS 3000

static int caught_up(struct kctx *k, int64_t now)
{
    if (!k->ever_assigned || k->in_rebalance)
        return 0;
    int assigned = 0;
    for (int i = 0; i < k->nparts; i++) {
        const struct part *p = &k->parts[i];
        if (!p->assigned)
            continue;
        assigned++;
        if (p->target < 0 || p->next < p->target)
            return 0;
    }
    if (assigned)
        return 1;
    return now - k->last_rebalance_ms >= IDLE_EXIT_MS;
}

static void progress(struct kctx *k, int64_t elapsed_ms)
{
    char line[1024];
    size_t o = 0;
    uint64_t lag_total = 0;
    for (int i = 0; i < k->nparts && o < sizeof line - 64; i++) {
        struct part *p = &k->parts[i];
        int64_t lo = 0, hi = -1;
        rd_kafka_get_watermark_offsets(k->rk, p->topic, p->partition, &lo, &hi);
        if (!p->assigned || hi < 0 || p->next < 0)
            continue;
        int64_t lag = hi > p->next ? hi - p->next : 0;
        lag_total += (uint64_t)lag;
        o += (size_t)snprintf(line + o, sizeof line - o, " %s/%d=%lld", p->topic, (int)p->partition,
                              (long long)lag);
    }
    cr_log_line(
        CR_LV_INFO,
        "corral: kafka: %llu records in %.1f s, %llu checkpoints, paused %.1f s, lag %llu:%s\n",
        (unsigned long long)k->st->records, (double)elapsed_ms / 1000.0,
        (unsigned long long)k->st->checkpoints, k->st->paused_seconds,
        (unsigned long long)lag_total, o ? line : " (none assigned)");
}

/* Which assigned partitions have a backlog (the high watermark librdkafka
 * last saw is past the next offset): those hold the event-time watermark
 * back however far they trail the others (reorder.h, BEHIND). Reading a
 * backlog, librdkafka fetches some partitions ahead of others; without
 * this, one trailing by more than correlation.source_idle stopped holding
 * the watermark and its records arrived behind the frontier, late, in no
 * window (issue 9: 14,617 late matches catching up on 1M records in 48
 * partitions). Not while paused: nothing is fetched then, and the cached
 * watermarks go stale. */
static void track_backlog(struct kctx *k)
{
    if (k->paused)
        return;
    for (int i = 0; i < k->nparts; i++) {
        struct part *p = &k->parts[i];
        int64_t lo = 0, hi = -1;
        if (!p->assigned || p->next < 0 ||
            rd_kafka_get_watermark_offsets(k->rk, p->topic, p->partition, &lo, &hi) || hi < 0)
            continue;
        int behind = p->next < hi;
        if (behind == p->behind)
            continue;
        submit(k); /* after the records read so far */
        cr_pipeline_input_state(k->pl, p->idx, behind ? CR_SOURCE_BEHIND : CR_SOURCE_CAUGHT_UP);
        p->behind = behind;
    }
}

static void hold(struct kctx *k, rd_kafka_message_t *m)
{
    if (k->nheld == k->held_cap) {
        k->held_cap = k->held_cap ? k->held_cap * 2 : 64;
        k->held = realloc(k->held, (size_t)k->held_cap * sizeof *k->held);
        if (!k->held)
            abort();
    }
    k->held[k->nheld++] = m;
}

/* Feed held records once batches are free again; 1 if all went in. */
static int drain_held(struct kctx *k)
{
    int i = 0;
    while (i < k->nheld && append(k, k->held[i]) == 0)
        rd_kafka_message_destroy(k->held[i++]);
    if (i && i < k->nheld) /* (held may still be NULL when nothing was ever held) */
        memmove(k->held, k->held + i, (size_t)(k->nheld - i) * sizeof *k->held);
    k->nheld -= i;
    return k->nheld == 0;
}

static void final_stats(struct kctx *k)
{
    struct cr_kafka_stats *st = k->st;
    st->npartitions = 0;
    for (int i = 0; i < k->nparts; i++) {
        struct part *p = &k->parts[i];
        struct cr_kafka_partition_stats *ps = &st->part[st->npartitions++];
        int64_t lo = 0, hi = -1;
        rd_kafka_get_watermark_offsets(k->rk, p->topic, p->partition, &lo, &hi);
        snprintf(ps->input, sizeof ps->input, "%s", p->input);
        ps->next = p->next;
        ps->high = hi;
        ps->records = p->records;
    }
}

int cr_ingest_kafka(struct cr_pipeline *pl, const struct cr_config *cfg, struct cr_store *store,
                    const struct cr_kafka_ingest_opts *opts, struct cr_kafka_stats *st, char *err,
                    size_t errlen)
{
    struct kctx *k = calloc(1, sizeof *k);
    k->pend = calloc(MAX_PENDING_CKPT, sizeof *k->pend);
    if (!k || !k->pend)
        abort();
    memset(st, 0, sizeof *st);
    k->pl = pl;
    k->cfg = cfg;
    k->store = store;
    k->opts = opts;
    k->st = st;
    k->err = err;
    k->errlen = errlen;
    int rc = -1;

    char e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* defaults first, then the user's properties, then what the durability
     * order depends on (which the user cannot turn off) */
    struct {
        const char *k, *v;
    } defaults[] = {{"client.id", "corral"},
                    {"auto.offset.reset", "earliest"},
                    {"enable.auto.commit", "true"},
                    {"auto.commit.interval.ms", "1000"},
                    {"enable.partition.eof", "false"}};
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        rd_kafka_conf_set(conf, defaults[i].k, defaults[i].v, e, sizeof e);
    if (cfg->kafka_brokers && rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka_brokers, e,
                                                sizeof e) != RD_KAFKA_CONF_OK)
        goto conf_fail;
    if (rd_kafka_conf_set(conf, "group.id", cfg->kafka_group, e, sizeof e) != RD_KAFKA_CONF_OK)
        goto conf_fail;
    for (int i = 0; i < cfg->nkafka_props; i++)
        if (rd_kafka_conf_set(conf, cfg->kafka_props[i][0], cfg->kafka_props[i][1], e, sizeof e) !=
            RD_KAFKA_CONF_OK)
            goto conf_fail;
    if (rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", e, sizeof e) !=
        RD_KAFKA_CONF_OK)
        goto conf_fail;
    cr_kafka_conf_set_log(conf);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, k);
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e); /* takes ownership of conf */
    if (!k->rk) {
        snprintf(err, errlen, "kafka: cannot create the consumer: %s", e);
        free(k->pend);
        free(k);
        return -1;
    }
    k->cooperative = strcmp(rd_kafka_rebalance_protocol(k->rk), "COOPERATIVE") == 0;
    rd_kafka_poll_set_consumer(k->rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(cfg->nkafka_topics);
    for (int i = 0; i < cfg->nkafka_topics; i++)
        rd_kafka_topic_partition_list_add(topics, cfg->kafka_topics[i].name, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t serr = rd_kafka_subscribe(k->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (serr) {
        snprintf(err, errlen, "kafka: cannot subscribe: %s", rd_kafka_err2str(serr));
        goto out;
    }

    int64_t t0 = cr_mono_ms(), last_ckpt = t0, last_progress = t0, last_active = t0,
            last_backlog = t0;
    int active = 0, quiet_sent = 0; /* correlation.idle_release */
    k->last_rebalance_ms = t0;
    uint64_t logged_errors = 0, tick = 0;
    for (;;) {
        if (opts->stop && *opts->stop)
            break;
        if (cr_pipeline_failed(pl)) {
            snprintf(err, errlen, "stopped consuming: the store failed");
            goto out;
        }
        store_durable(k);
        if (k->paused) {
            if (ensure_batch(k) && drain_held(k))
                set_paused(k, 0);
        } else if (!ensure_batch(k)) {
            set_paused(k, 1); /* backpressure: the pool is empty */
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, k->paused ? 50 : 100);
        if (m) {
            active |= !m->err;
            if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                    st->consumer_errors++;
                    if (logged_errors++ < 10)
                        cr_log_line(CR_LV_WARN, "corral: kafka: %s\n", rd_kafka_message_errstr(m));
                }
                /* a fatal error arrives as __FATAL; the instance's own
                 * record of it (rd_kafka_fatal_error) names the cause */
                char fe[256];
                int fatal = m->err == RD_KAFKA_RESP_ERR__FATAL;
                if (rd_kafka_fatal_error(k->rk, fe, sizeof fe) != RD_KAFKA_RESP_ERR_NO_ERROR)
                    fatal = 1;
                else if (fatal)
                    snprintf(fe, sizeof fe, "%s", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                if (fatal) {
                    k->fatal = 1;
                    snprintf(err, errlen, "kafka: fatal consumer error: %s", fe);
                    goto out;
                }
            } else if (cr_fail_point(CR_FAIL_KAFKA) &&
                       rd_kafka_test_fatal_error(k->rk, RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID,
                                                 "injected by CORRAL_FAIL_AT") != 0) {
                abort(); /* the hook refused: the test would prove nothing */
            } else if (k->paused || k->nheld || append(k, m) != 0) {
                hold(k, m); /* fetched before the pause took effect: kept, in order */
                set_paused(k, 1);
            } else
                rd_kafka_message_destroy(m);
        }
        /* the clock is read every 256 records or when the poll came back
         * empty: per record it cost 6% of the ingest thread */
        if (m && (++tick & 255))
            continue;
        int64_t now = cr_mono_ms();
        if (k->b && k->b->nrecs && (!m || now - k->batch_started >= LINGER_MS))
            submit(k);
        if (active) {
            last_active = now;
            active = 0;
            quiet_sent = 0;
        } else if (cfg->idle_release_ms > 0 && !quiet_sent && k->st->records &&
                   now - last_active >= cfg->idle_release_ms) {
            /* nothing from any partition for idle_release: the matches held
             * for the lateness are applied now, not when records come back */
            submit(k);
            cr_pipeline_inputs_quiet(pl);
            quiet_sent = 1;
        }
        if (cr_pipeline_rules_offered(pl)) {
            /* hot reload: what was consumed so far is matched with the old
             * rules, everything after the barrier with the new ones */
            submit(k);
            cr_pipeline_swap_rules(pl, -1, 0);
        }
        if (k->since_ckpt && now - last_ckpt >= cfg->checkpoint_interval_ms) {
            checkpoint(k);
            last_ckpt = now;
        }
        if (now - last_backlog >= BACKLOG_CHECK_MS) {
            track_backlog(k);
            last_backlog = now;
        }
        if (!opts->quiet && cfg->stats_interval_ms > 0 &&
            now - last_progress >= cfg->stats_interval_ms) {
            progress(k, now - t0);
            last_progress = now;
        }
        if (opts->until_caught_up && !k->nheld && caught_up(k, now))
            break;
    }
    rc = 0;
out:
    /* make everything read durable and committed before leaving the group */
    for (int i = 0; i < k->nheld; i++)
        rd_kafka_message_destroy(k->held[i]); /* not handed over: re-read next time */
    k->nheld = 0;
    if (!cr_pipeline_failed(pl)) {
        checkpoint(k);
        if (cr_pipeline_wait_durable(pl, k->pend[k->npend - 1].epoch, 120000) == 0) {
            store_durable(k);
            if (!k->fatal) /* the group refuses a fatally failed member */
                commit_sync(k, NULL, "at shutdown");
        } else if (rc == 0) {
            snprintf(err, errlen, "kafka: the final checkpoint did not become durable");
            rc = -1;
        }
    }
    if (k->paused)
        set_paused(k, 0);
    if (k->first_record_ms)
        st->consume_seconds = (double)(cr_mono_ms() - k->first_record_ms) / 1000.0;
    final_stats(k);
    if (k->fatal) {
        /* librdkafka will not close a consumer with a fatal error set (its
         * close never starts, and a plain destroy waits for it forever):
         * leave the group by the session timeout instead */
        rd_kafka_destroy_flags(k->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    } else {
        rd_kafka_consumer_close(k->rk);
        rd_kafka_destroy(k->rk);
    }
    free(k->held);
    free(k->pend);
    free(k);
    return rc;
conf_fail:
    snprintf(err, errlen, "kafka: %s", e);
    rd_kafka_conf_destroy(conf);
    free(k->pend);
    free(k);
    return -1;
}
