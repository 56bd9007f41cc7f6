/*
 * worker.c - see worker.h.
 */
#include "engine/pipeline/worker.h"
#include "base/log.h"
#include "base/clock.h"

#include "engine/correlate/match.h"
#include "engine/pipeline/swap.h"
#include "parsers/json_array.h"

#include "rules/matcher.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#define OUTBUF 64 /* matches buffered per shard before one ring push */

struct outbuf {
    struct cr_match *m;
    int n;
};

static void flush_out(struct cr_worker *w, struct outbuf *ob, int s)
{
    if (ob[s].n) {
        cr_ring_push(w->out[s], ob[s].m, (size_t)ob[s].n);
        ob[s].n = 0;
    }
}

double cr_parse_number(const char *p, size_t n)
{
    /* a decimal number, as JSON writes it or a log prints it: "1234",
     * "-5", "12.5", "1e6", with blanks around; not "inf", "nan", "0x10",
     * "12kB" or "1,234" (strtod would take some of them) */
    char buf[64];
    size_t i = 0, j = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    while (n > i && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (i == n || n - i >= sizeof buf)
        return NAN;
    int digits = 0;
    for (; i < n; i++) {
        char ch = p[i];
        if (ch >= '0' && ch <= '9')
            digits = 1;
        else if (ch != '-' && ch != '+' && ch != '.' && ch != 'e' && ch != 'E')
            return NAN;
        buf[j++] = ch;
    }
    buf[j] = 0;
    char *end;
    double x = strtod(buf, &end);
    if (!digits || *end || !isfinite(x))
        return NAN;
    return x;
}

int cr_route_key(const struct cr_event *ev, const struct cr_route *rt, char *key, uint64_t *value)
{
    if (rt->value_field >= 0) {
        unsigned vf = (unsigned)rt->value_field;
        if (!cr_event_has(ev, vf))
            return -1;
        if (rt->value_num)
            *value = cr_match_number_value(cr_parse_number(ev->f[vf].p, ev->f[vf].len));
        else
            *value = XXH3_64bits(ev->f[vf].p, ev->f[vf].len);
    } else
        *value = 0;
    size_t off = 0;
    for (int i = 0; i < rt->ngroup_by; i++) {
        unsigned f = rt->group_by[i];
        const char *v = ev->f[f].p;
        size_t n = ev->f[f].len;
        if (!cr_event_has(ev, f) || n == 0) {
            if (!rt->absent_ok)
                return -1;
            v = "-";
            n = 1;
        }
        if (i)
            key[off++] = CR_KEY_SEP;
        if (n > CR_KEY_MAX - 1 - off)
            n = CR_KEY_MAX - 1 - off;
        memcpy(key + off, v, n);
        off += n;
    }
    return (int)off;
}

/* The values of the rule's carried fields (its incidents' `fields`) into
 * buf (CR_MATCH_CARRIED bytes): per present field its id (u16 LE), length
 * (u8, values cut at 63 bytes) and bytes. Returns the length. */
static size_t carry(const struct cr_event *ev, const struct cr_rule *r, char *buf)
{
    size_t n = 0;
    for (int i = 0; i < r->ncarry; i++) {
        unsigned f = r->carry[i];
        if (!cr_event_has(ev, f) || ev->f[f].len == 0)
            continue;
        size_t len = ev->f[f].len < 63 ? ev->f[f].len : 63;
        if (n + 3 + len > CR_MATCH_CARRIED)
            break;
        buf[n] = (char)(f & 0xff);
        buf[n + 1] = (char)(f >> 8);
        buf[n + 2] = (char)len;
        memcpy(buf + n + 3, ev->f[f].p, len);
        n += 3 + len;
    }
    return n;
}

uint32_t cr_event_tenant(const struct cr_event *ev, int f)
{
    if (f < 0 || !cr_event_has(ev, (unsigned)f) || ev->f[f].len == 0)
        return 0;
    uint32_t h = (uint32_t)XXH3_64bits(ev->f[f].p, ev->f[f].len);
    return h ? h : 1;
}

const char *cr_reject_cause_name(enum cr_reject_cause c)
{
    static const char *const names[] = {
#define CR_REJECT_NAME(id, name) name,
        CR_REJECT_CAUSES(CR_REJECT_NAME)
#undef CR_REJECT_NAME
    };
    return (unsigned)c < CR_REJECT_NCAUSES ? names[c] : "unknown";
}

/* Why a record that did not fit its format did not (CR_EV_PARSE_ERROR). */
static enum cr_reject_cause parse_cause(const struct cr_event *ev, const struct cr_rec *rec)
{
    size_t k = 0;
    while (k < ev->raw.len && (ev->raw.p[k] == ' ' || ev->raw.p[k] == '\t'))
        k++;
    if (k == ev->raw.len)
        return CR_REJECT_EMPTY;
    if (rec->flags & CR_REC_BAD_ENVELOPE)
        return CR_REJECT_BAD_ENVELOPE;
    if (ev->flags & CR_EV_NO_ENVELOPE)
        return CR_REJECT_NO_ENVELOPE;
    if (ev->raw.p[k] == '{' || ev->format == CR_FMT_JSON || ev->format == CR_FMT_CLOUDEVENTS)
        return CR_REJECT_BROKEN_JSON;
    return CR_REJECT_UNPARSEABLE;
}

/* The one cause a rejected record is counted under (worker.h's order). */
static enum cr_reject_cause reject_cause(const struct cr_event *ev, const struct cr_rec *rec,
                                         uint32_t bad)
{
    if (bad & CR_EV_TRUNCATED)
        return CR_REJECT_OVERSIZED;
    if (bad & CR_EV_NUL)
        return CR_REJECT_NUL_BYTE;
    if (bad & CR_EV_BAD_UTF8)
        return CR_REJECT_INVALID_UTF8;
    return parse_cause(ev, rec);
}

static void reject(struct cr_worker *w, const struct cr_event *ev, const struct cr_rec *rec,
                   uint32_t flags)
{
    char reason[96];
    size_t o = 0;
    reason[0] = 0;
    if (flags & CR_EV_PARSE_ERROR) {
        static const char *const why[CR_REJECT_NCAUSES] = {
            [CR_REJECT_EMPTY] = "empty record",
            [CR_REJECT_BAD_ENVELOPE] = "invalid CloudEvents binary-mode headers",
            [CR_REJECT_NO_ENVELOPE] = "JSON without a CloudEvents envelope",
            [CR_REJECT_BROKEN_JSON] = "invalid or truncated JSON",
            [CR_REJECT_UNPARSEABLE] = "unparseable",
        };
        o += (size_t)snprintf(reason + o, sizeof reason - o, "%s%s (format %s)", o ? ", " : "",
                              why[parse_cause(ev, rec)],
                              cr_format_name((enum cr_format)w->popts.format));
    }
    if ((flags & CR_EV_TRUNCATED) && o < sizeof reason)
        o += (size_t)snprintf(reason + o, sizeof reason - o, "%soversized (%u bytes)",
                              o ? ", " : "", rec->orig_len);
    if ((flags & CR_EV_BAD_UTF8) && o < sizeof reason)
        o += (size_t)snprintf(reason + o, sizeof reason - o, "%sinvalid UTF-8", o ? ", " : "");
    if ((flags & CR_EV_NUL) && o < sizeof reason)
        snprintf(reason + o, sizeof reason - o, "%sNUL byte", o ? ", " : "");
    uint64_t nrej = w->stats.rejected;
    if (!w->quiet && nrej <= CR_WORKER_REJECT_LOG) {
        const char *name =
            w->input_names && w->input_names[ev->input] ? w->input_names[ev->input] : "input";
        cr_log_line(CR_LV_WARN, "corral: %s:%llu: %s (kept raw in the store's rejects)%s\n", name,
                    (unsigned long long)ev->position, reason,
                    nrej == CR_WORKER_REJECT_LOG ? "; further rejects are only counted here" : "");
    }
    cr_writer_send(w->writer,
                   cr_wmsg_reject(ev->input, ev->position, reason, ev->raw.p, ev->raw.len));
}

/* The newest event time of each input in a batch: the shards' watermarks. */
#define WM_SRCS 8
struct batch_times {
    int n;
    int64_t future; /* times past this are a wrong clock: they do not move a watermark */
    struct {
        uint32_t src;
        int64_t t;
    } v[WM_SRCS];
};

static void send_times(struct cr_worker *w, struct batch_times *bt, uint64_t seq)
{
    struct cr_match ctl[WM_SRCS];
    for (int i = 0; i < bt->n; i++) {
        ctl[i].kind = CR_MSG_WATERMARK;
        ctl[i].seq = seq;
        ctl[i].src = bt->v[i].src;
        ctl[i].time_ms = bt->v[i].t;
    }
    for (int s = 0; s < w->nshards && bt->n; s++)
        cr_ring_push(w->out[s], ctl, (size_t)bt->n);
    bt->n = 0;
}

/* Returns the newest time of src in this batch so far. */
static int64_t note_time(struct cr_worker *w, struct batch_times *bt, struct outbuf *ob,
                         uint64_t seq, uint32_t src, int64_t t)
{
    if (t > bt->future)
        return INT64_MIN;
    for (int i = 0; i < bt->n; i++)
        if (bt->v[i].src == src) {
            if (t > bt->v[i].t)
                bt->v[i].t = t;
            return bt->v[i].t;
        }
    if (bt->n == WM_SRCS) { /* many inputs in one batch: report these now */
        for (int s = 0; s < w->nshards; s++)
            flush_out(w, ob, s);
        send_times(w, bt, seq);
    }
    bt->v[bt->n].src = src;
    bt->v[bt->n].t = t;
    bt->n++;
    return t;
}

/* One record (or one object of a record that is a JSON array of them):
 * parse, count, keep it if rejected, match, and route its matches. */
static void process_rec(struct cr_worker *w, struct cr_parser *parser, struct cr_matcher *m,
                        const struct cr_batch *b, const struct cr_rec *rec, uint32_t sub,
                        const char *p, size_t len, int64_t *fallbackp, struct outbuf *ob,
                        uint32_t *hits, struct batch_times *bt)
{
    struct cr_event ev;
    int64_t fallback = *fallbackp;
    struct cr_worker_stats *st = &w->stats;
    const struct cr_ruleset *rs = w->rs;
    /* a record without a time of its own takes its transport's time
     * (the Kafka record timestamp), else the previous record's */
    enum cr_parse_result pr = cr_parse(parser, p, len, rec->ts_ms ? rec->ts_ms : fallback, &ev);
    ev.input = rec->input;
    ev.position = rec->position;
    if (rec->flags & CR_REC_TRUNCATED)
        ev.flags |= CR_EV_TRUNCATED;
    if ((rec->flags & CR_REC_BAD_ENVELOPE) && pr != CR_PARSE_ERROR) {
        ev.flags |= CR_EV_PARSE_ERROR;
        pr = CR_PARSE_ERROR;
    }
    st->records++;
    st->bytes += len;
    if (pr == CR_PARSE_OK)
        st->parsed_ok++;
    else if (pr == CR_PARSE_FALLBACK)
        st->headerless++;
    else
        st->parse_errors++;
    int64_t seen = INT64_MIN;
    if (ev.flags & CR_EV_NO_TIME)
        st->no_time++;
    else {
        fallback = *fallbackp = ev.time_ms;
        seen = note_time(w, bt, ob, b->seq, w->input_srcs[rec->input], ev.time_ms);
    }
    uint32_t bad = ev.flags & (CR_EV_PARSE_ERROR | CR_EV_TRUNCATED | CR_EV_BAD_UTF8 | CR_EV_NUL);
    if (bad) {
        st->rejected++;
        st->rejected_by[reject_cause(&ev, rec, bad)]++;
    } else {
        st->accepted++;
    }
    if (bad && !(rec->flags & CR_REC_REPLAY)) { /* a replayed reject was kept already */
        st->truncated += !!(bad & CR_EV_TRUNCATED);
        st->bad_utf8 += !!(bad & CR_EV_BAD_UTF8);
        st->nul_bytes += !!(bad & CR_EV_NUL);
        reject(w, &ev, rec, bad);
    }

    int n = cr_matcher_match(m, &ev, hits, rs->nrules);
    if (n < 0) {
        st->match_errors++;
        return;
    }
    st->rule_matches += (uint64_t)n;
    uint32_t tenant = n ? cr_event_tenant(&ev, w->tenant_field) : 0;
    const char *asset = "", *src_asset = "";
    if (n && w->enrich.inv) {
        int a = cr_enrich_asset(&w->enrich, &ev), sa = cr_enrich_source(&w->enrich, &ev);
        if (a >= 0) {
            asset = cr_inventory_asset(w->enrich.inv, a)->id;
            st->enriched++;
        } else
            st->unenriched++;
        if (sa >= 0)
            src_asset = cr_inventory_asset(w->enrich.inv, sa)->id;
    }
    /* inventory ids fit (CR_INVENTORY_ID_MAX) */
    size_t alen = strlen(asset), slen = strlen(src_asset);
    /* "message repeated N times": the same match N times (the same
     * position: replays and reordering see the same N) */
    for (uint32_t rep = 0; rep < ev.repeat; rep++)
        for (int h = 0; h < n; h++) {
            const struct cr_rule *rule = &rs->rules[hits[h]];
            for (int r = 0; r < rule->nroutes; r++) {
                char key[CR_KEY_MAX];
                uint64_t value;
                int klen = cr_route_key(&ev, &rule->routes[r], key, &value);
                if (klen < 0) {
                    st->missing_key++;
                    continue;
                }
                int s = (int)cr_ruleset_route_shard(rs, &rule->routes[r], key, (size_t)klen,
                                                    w->nshards);
                struct cr_match *out = &ob[s].m[ob[s].n];
                out->value = value;
                out->kind = CR_MSG_MATCH;
                out->route = (uint8_t)r;
                out->rule = hits[h];
                out->key_len = (uint16_t)klen;
                memcpy(out->key, key, (size_t)klen);
                out->time_ms = ev.time_ms;
                out->seen_ms = seen;
                out->input = ev.input;
                out->position = ev.position;
                out->sub = sub;
                out->rep = rep;
                out->seq = b->seq;
                out->flags = (uint16_t)ev.flags;
                out->replay = (rec->flags & CR_REC_REPLAY) != 0;
                out->src = w->input_srcs[rec->input];
                out->tenant = tenant;
                out->has_measure = rule->measure_field &&
                                   cr_event_number(&ev, rule->measure_field - 1, &out->measure);
                out->carried_len = (uint8_t)carry(&ev, rule, out->carried);
                memcpy(out->asset, asset, alen + 1);
                memcpy(out->src_asset, src_asset, slen + 1);
                size_t rl = ev.raw.len < CR_MATCH_RAW ? ev.raw.len : CR_MATCH_RAW;
                memcpy(out->raw, ev.raw.p, rl);
                out->raw_len = (uint16_t)rl;
                st->routed++;
                if (++ob[s].n == OUTBUF)
                    flush_out(w, ob, s);
            }
        }
}

/* JSON inputs: a record that is a JSON array of objects (a CloudEvents
 * batch) is each of its objects, at the record's position. */
static int json_input(enum cr_format f)
{
    return f == CR_FMT_AUTO || f == CR_FMT_JSON || f == CR_FMT_CLOUDEVENTS;
}

static void process_batch(struct cr_worker *w, struct cr_parser *parser, struct cr_matcher *m,
                          struct cr_batch *b, struct outbuf *ob, uint32_t *hits,
                          struct batch_times *bt)
{
    int64_t fallback = b->fallback_ms;
    uint32_t input = UINT32_MAX;
    int json = 0;
    for (uint32_t i = 0; i < b->nrecs; i++) {
        const struct cr_rec *rec = &b->recs[i];
        const char *p = b->buf + rec->off;
        if (rec->input != input) {
            input = rec->input;
            cr_parser_set_format(parser, (enum cr_format)w->input_formats[input]);
            json = json_input((enum cr_format)w->input_formats[input]);
        }
        cr_parser_set_year_add(parser, rec->year_add);
        size_t k = 0;
        while (k < rec->len && (p[k] == ' ' || p[k] == '\t'))
            k++;
        if (json && k < rec->len && p[k] == '[' && !(rec->flags & CR_REC_TRUNCATED) &&
            cr_json_array_count(p, rec->len) > 0) {
            w->stats.json_batches++;
            size_t pos = 0, off, olen;
            uint32_t sub = 0;
            while (cr_json_array_next(p, rec->len, &pos, &off, &olen))
                process_rec(w, parser, m, b, rec, sub++, p + off, olen, &fallback, ob, hits, bt);
            continue;
        }
        process_rec(w, parser, m, b, rec, 0, p, rec->len, &fallback, ob, hits, bt);
    }
}

/* A rules swap: batches after msg->seq are parsed and matched with the new
 * rules (their extra field names too). The worker whose turn the swap's
 * sequence number is carries the barrier to every shard. Once acknowledged,
 * nothing here refers to the previous ruleset. */
static void switch_rules(struct cr_worker *w, const struct cr_batch_msg *msg,
                         struct cr_parser **parser, struct cr_matcher **m, uint32_t **hits)
{
    const struct cr_ruleset *rs = cr_swap_rules(msg->swap);
    w->popts.extra_names = rs->field_names;
    w->popts.n_extra_names = (unsigned)rs->nfields;
    struct cr_parser *np = cr_parser_new(&w->popts);
    struct cr_matcher *nm = cr_matcher_new(rs);
    uint32_t *nh = malloc(sizeof(uint32_t) * (size_t)(rs->nrules + 1));
    if (!np || !nm || !nh)
        abort();
    cr_parser_free(*parser);
    cr_matcher_free(*m);
    free(*hits);
    *parser = np;
    *m = nm;
    *hits = nh;
    w->rs = rs;
    w->inventory = cr_swap_inventory(msg->swap);
    cr_enrich_init(&w->enrich, w->inventory, rs, w->asset_fields);
    if (msg->kind == CR_BM_RELOAD) {
        struct cr_match ctl;
        memset(&ctl, 0, sizeof ctl);
        ctl.kind = CR_MSG_RELOAD;
        ctl.seq = msg->seq;
        ctl.swap = msg->swap;
        for (int s = 0; s < w->nshards; s++)
            cr_ring_push(w->out[s], &ctl, 1);
    }
    cr_swap_ack(msg->swap, 0, 0);
}

static void *worker_main(void *arg)
{
    struct cr_worker *w = arg;
    char name[16];
    snprintf(name, sizeof name, "cr-worker-%d", w->index);
    pthread_setname_np(pthread_self(), name); /* visible in top -H, perf, gdb */
    struct cr_parser *parser = cr_parser_new(&w->popts);
    struct cr_matcher *m = cr_matcher_new(w->rs);
    struct outbuf *ob = calloc((size_t)w->nshards, sizeof *ob);
    uint32_t *hits = malloc(sizeof(uint32_t) * (size_t)(w->rs->nrules + 1));
    if (!parser || !m || !ob || !hits)
        abort();
    for (int s = 0; s < w->nshards; s++) {
        ob[s].m = malloc(sizeof(struct cr_match) * OUTBUF);
        if (!ob[s].m)
            abort();
    }
    struct cr_match ctl;
    memset(&ctl, 0, sizeof ctl);
    for (;;) {
        struct cr_batch_msg msg;
        if (cr_ring_pop(w->in, &msg, 1) == 0 || msg.kind == CR_BM_EOF) {
            ctl.kind = CR_MSG_EOF;
            ctl.seq = msg.seq;
            for (int s = 0; s < w->nshards; s++)
                cr_ring_push(w->out[s], &ctl, 1);
            break;
        }
        if (msg.kind == CR_BM_MARK || msg.kind == CR_BM_DROP || msg.kind == CR_BM_SOURCE ||
            msg.kind == CR_BM_QUIET || msg.kind == CR_BM_ASSIGNED) {
            ctl.kind = msg.kind == CR_BM_MARK     ? CR_MSG_MARK
                       : msg.kind == CR_BM_DROP   ? CR_MSG_DROP
                       : msg.kind == CR_BM_SOURCE ? CR_MSG_SOURCE
                       : msg.kind == CR_BM_QUIET  ? CR_MSG_QUIET
                                                  : CR_MSG_ASSIGNED;
            ctl.seq = msg.seq;
            ctl.epoch = msg.epoch;
            ctl.src = msg.src;
            ctl.source = (uint8_t)msg.source;
            for (int s = 0; s < w->nshards; s++)
                cr_ring_push(w->out[s], &ctl, 1);
            continue;
        }
        if (msg.kind == CR_BM_RELOAD || msg.kind == CR_BM_SWITCH) {
            switch_rules(w, &msg, &parser, &m, &hits);
            continue;
        }
        struct cr_batch *b = msg.batch;
        struct batch_times bt = {.n = 0, .future = cr_wall_ms() + 3600000};
        process_batch(w, parser, m, b, ob, hits, &bt);
        ctl.kind = CR_MSG_BATCH_END;
        ctl.seq = b->seq;
        for (int s = 0; s < w->nshards; s++)
            flush_out(w, ob, s);
        send_times(w, &bt, b->seq);
        for (int s = 0; s < w->nshards; s++)
            cr_ring_push(w->out[s], &ctl, 1);
        cr_batch_pool_put(w->pool, b);
    }
    cr_writer_send(w->writer, cr_wmsg_done());
    for (int s = 0; s < w->nshards; s++)
        free(ob[s].m);
    free(ob);
    free(hits);
    cr_matcher_free(m);
    cr_parser_free(parser);
    return NULL;
}

int cr_worker_start(struct cr_worker *w)
{
    cr_enrich_init(&w->enrich, w->inventory, w->rs, w->asset_fields);
    return pthread_create(&w->thread, NULL, worker_main, w) == 0 ? 0 : -1;
}

void cr_worker_join(struct cr_worker *w) { pthread_join(w->thread, NULL); }
