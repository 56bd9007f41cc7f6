/*
 * op_agg.c - value_sum and value_avg: the sum, or the mean, of a numeric
 * field over a sliding event-time window per key; value_percentile, one of
 * its percentiles (at the end of the file: its state is a list of numbers,
 * not buckets).
 *
 * The state is fixed-size, whatever the number of events: the window is cut
 * into AGG_BUCKETS time buckets of width timespan / AGG_BUCKETS (at least
 * 1 ms), each holding the sum and the count of its events and when its first
 * one came; a bucket is reused (reset) when time has moved a whole window
 * past it. So a key costs the same for 10 events an hour or 10 million, and
 * nothing grows per event. The price is the window's trailing edge: the
 * aggregate after a match at time t covers the buckets from the one holding
 * t back to AGG_BUCKETS - 1 before it, which is never more than timespan,
 * and at least timespan - timespan / AGG_BUCKETS. An event older than
 * timespan is never counted; one a little younger than timespan may already
 * be out (docs/rules.md: limits). Sums are doubles: exact for integers up to
 * 2^53.
 *
 * After the buckets, the state keeps evidence references to the AGG_REFS
 * most recent matches: the incident names them (a window of a million
 * events cannot name them all). s->n is 0 before the first match, then 1 +
 * the references kept.
 *
 * The condition is evaluated after each match on the trailing window, like
 * event_count's sliding threshold: the incident opens at the first match
 * after which it holds, and the buckets restart (while the incident is
 * open, matches update it instead of counting). A value that is not a
 * number is counted (values_not_numeric) and skipped: it neither adds to
 * the sum nor to the count of a mean.
 */
#include "engine/correlate/correlate_int.h"

#include <math.h>

static int64_t agg_width(const struct cr_correlation *co)
{
    int64_t w = co->timespan_ms / AGG_BUCKETS;
    return w > 0 ? w : 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int corr_agg_holds(const struct cr_correlation *co, double x)
{
    if (isnan(x))
        return 0;
    if (co->num_lo_strict ? !(x > co->num_lo) : !(x >= co->num_lo))
        return 0;
    if (co->num_hi_strict ? !(x < co->num_hi) : !(x <= co->num_hi))
        return 0;
    return 1;
}

/* A number for a reason: integers with thousands separators
 * ("1,234,567"), others with up to 6 significant digits. */
static void num_text(double x, char *buf, size_t len)
{
    if (x == floor(x) && fabs(x) < 1e15) {
        char d[32];
        long long v = (long long)x;
        int n = snprintf(d, sizeof d, "%lld", v < 0 ? -v : v);
        size_t o = 0;
        if (v < 0 && o + 1 < len)
            buf[o++] = '-';
        for (int i = 0; i < n && o + 2 < len; i++) {
            if (i && (n - i) % 3 == 0)
                buf[o++] = ',';
            buf[o++] = d[i];
        }
        buf[o] = 0;
    } else {
        snprintf(buf, len, "%.6g", x);
    }
}

void corr_agg_condition_text(const struct cr_correlation *co, char *buf, size_t len)
{
    int lo = co->num_lo != -INFINITY, hi = co->num_hi != INFINITY;
    if (lo && hi && co->num_lo == co->num_hi && !co->num_lo_strict && !co->num_hi_strict)
        snprintf(buf, len, "== %.15g", co->num_lo);
    else if (lo && hi)
        snprintf(buf, len, "%s %.15g and %s %.15g", co->num_lo_strict ? ">" : ">=", co->num_lo,
                 co->num_hi_strict ? "<" : "<=", co->num_hi);
    else if (lo)
        snprintf(buf, len, "%s %.15g", co->num_lo_strict ? ">" : ">=", co->num_lo);
    else if (hi)
        snprintf(buf, len, "%s %.15g", co->num_hi_strict ? "<" : "<=", co->num_hi);
    else
        snprintf(buf, len, "any");
}

static void agg_reset(struct abucket *b)
{
    for (int i = 0; i < AGG_BUCKETS; i++)
        b[i] = (struct abucket){.id = INT64_MIN};
}

void corr_apply_agg(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                    struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    double x = cr_match_number(m->value);
    if (!isfinite(x)) {
        c->stats.values_not_numeric++; /* not a number: in neither the sum nor the mean */
        return;
    }
    int64_t t = m->time_ms, w = agg_width(co);
    struct state *s = corr_lookup(c, (uint32_t)c->rs->nrules + k, m->key, m->key_len);
    struct abucket *b = payload(c, s);
    struct evref *refs = (struct evref *)(void *)(b + AGG_BUCKETS);
    if (s->n == 0) {
        agg_reset(b);
        s->n = 1;
    }
    if (!corr_count_begin(c, k, s, m, extra, NULL, 0))
        return; /* its incident is open: the match updated it */
    int64_t id = floor_div(t, w), newest = floor_div(s->last_ms, w);
    if (id <= newest - AGG_BUCKETS)
        return; /* older than the window of the newest match: in no window any more */
    struct abucket *bk = &b[((id % AGG_BUCKETS) + AGG_BUCKETS) % AGG_BUCKETS];
    int64_t off = t - id * w; /* 0 <= off < w */
    if (bk->id != id)
        *bk = (struct abucket){.id = id, .first_off = (uint32_t)(off < UINT32_MAX ? off : 0)};
    else if (off < bk->first_off)
        bk->first_off = (uint32_t)off;
    bk->sum += x;
    bk->count++;
    uint32_t nref = s->n - 1;
    if (nref == AGG_REFS) {
        memmove(refs, refs + 1, (AGG_REFS - 1) * sizeof *refs);
        nref--;
    }
    refs[nref++] = evref_make(t, m->position, m->input);
    s->n = 1 + nref;

    double sum = 0;
    uint64_t count = 0;
    int64_t first = INT64_MAX;
    for (int i = 0; i < AGG_BUCKETS; i++) {
        if (b[i].id == INT64_MIN || b[i].id <= newest - AGG_BUCKETS || b[i].id > newest)
            continue;
        sum += b[i].sum;
        count += b[i].count;
        int64_t f = b[i].id * w + (int64_t)b[i].first_off;
        if (f < first)
            first = f;
    }
    if (count == 0)
        return;
    double agg = co->type == CR_CORR_VALUE_AVG ? sum / (double)count : sum;
    if (!corr_agg_holds(co, agg))
        return;

    int64_t ofor = corr_open_for(&co->incident, co->timespan_ms);
    struct cr_incident *inc = corr_new_incident(c, co->id, co->title, &co->incident, co->group_by,
                                                co->ngroup_by, s, first);
    inc->first_seen_ms = first;
    inc->last_seen_ms = s->last_ms;
    inc->event_count = count;
    int64_t from = (newest - AGG_BUCKETS + 1) * w;
    for (uint32_t i = 0; i < nref; i++)
        if (refs[i].t >= from)
            cr_incident_add_ref(inc, evref_input(&refs[i]), evref_pos(&refs[i]), refs[i].t);
    corr_note_match(c, inc, m);
    const char *fname = co->value_field >= 0 && co->value_field < c->rs->nfields
                            ? c->rs->field_names[co->value_field]
                            : "?";
    char v[48], cond[96];
    num_text(agg, v, sizeof v);
    corr_agg_condition_text(co, cond, sizeof cond);
    if (co->type == CR_CORR_VALUE_AVG)
        cr_incident_add_reason(inc,
                               "average of %s %s over %llu events within %llds (threshold: %s "
                               "in %llds)",
                               fname, v, (unsigned long long)count,
                               (long long)((s->last_ms - first) / 1000), cond,
                               (long long)(co->timespan_ms / 1000));
    else
        cr_incident_add_reason(inc, "sum of %s %s within %llds (threshold: %s in %llds)", fname, v,
                               (long long)((s->last_ms - first) / 1000), cond,
                               (long long)(co->timespan_ms / 1000));
    agg_reset(b); /* the threshold restarts once it fired */
    s->n = 1;
    corr_open_incident(c, s, inc, s->last_ms + ofor);
    corr_chain(c, k, m->key, m->key_len, t, inc, 0);
}

/* ---- value_percentile ---- */

/* A total order (a NaN, which only a forged checkpoint could hold, sorts
 * last), as qsort needs. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return x < y ? -1 : x > y;
}

/* The percentile-th percentile (nearest rank: the smallest value with at
 * least that share of the values at or below it) of the numbers the key
 * showed within the window, compared after each match. The state keeps the
 * window's numbers with their times (value_count's compact entries), at
 * most PCT_MAX of them: the most recent ones, so past PCT_MAX events in a
 * window it is the percentile of the latest PCT_MAX. */
void corr_apply_pct(struct cr_correlator *c, uint32_t k, const struct cr_match *m,
                    struct cr_version **extra)
{
    const struct cr_correlation *co = &c->rs->corrs[k];
    double x = cr_match_number(m->value);
    if (!isfinite(x)) {
        c->stats.values_not_numeric++;
        return;
    }
    int64_t t = m->time_ms;
    struct state *s = corr_lookup(c, (uint32_t)c->rs->nrules + k, m->key, m->key_len);
    /* the entries, then room for their numbers to sort */
    struct vref *vr = corr_scratch(c, 2 * ((size_t)s->n + 1));
    double *num = (double *)(void *)(vr + s->n + 1);
    uint32_t have = corr_vals_load(c, s, vr);
    if (!corr_count_begin(c, k, s, m, extra, vr, have))
        return;
    int64_t edge = s->last_ms - co->timespan_ms;
    uint32_t w = 0, oldest = 0;
    for (uint32_t i = 0; i < have; i++)
        if (vr[i].t >= edge) /* a number older than the window is in none any more */
            vr[w++] = vr[i];
    have = w;
    if (t < edge) {
        corr_vals_store(c, s, vr, have);
        return;
    }
    if (have == PCT_MAX) { /* full: the oldest makes room */
        for (uint32_t i = 1; i < have; i++)
            if (vr[i].t < vr[oldest].t)
                oldest = i;
        vr[oldest] = vr[--have];
    }
    vr[have++] = (struct vref){m->value, t};
    int64_t first = INT64_MAX;
    for (uint32_t i = 0; i < have; i++) {
        num[i] = cr_match_number(vr[i].v);
        if (vr[i].t < first)
            first = vr[i].t;
    }
    qsort(num, have, sizeof *num, cmp_double);
    uint32_t rank = (uint32_t)ceil((double)co->percentile * have / 100.0);
    double p = num[rank ? rank - 1 : 0];
    if (!corr_agg_holds(co, p)) {
        corr_vals_store(c, s, vr, have);
        return;
    }
    int64_t ofor = corr_open_for(&co->incident, co->timespan_ms);
    struct cr_incident *inc = corr_new_incident(c, co->id, co->title, &co->incident, co->group_by,
                                                co->ngroup_by, s, first);
    inc->first_seen_ms = first;
    inc->last_seen_ms = s->last_ms;
    inc->event_count = have;
    cr_incident_add_ref(inc, m->input, m->position, t);
    corr_note_match(c, inc, m);
    const char *fname = co->value_field >= 0 && co->value_field < c->rs->nfields
                            ? c->rs->field_names[co->value_field]
                            : "?";
    char v[48], cond[96];
    num_text(p, v, sizeof v);
    corr_agg_condition_text(co, cond, sizeof cond);
    cr_incident_add_reason(inc,
                           "percentile %u of %s %s over %u events within %llds (threshold: %s in "
                           "%llds)",
                           co->percentile, fname, v, have, (long long)((s->last_ms - first) / 1000),
                           cond, (long long)(co->timespan_ms / 1000));
    corr_vals_store(c, s, vr, 0); /* the window restarts once it fired */
    corr_open_incident(c, s, inc, s->last_ms + ofor);
    corr_chain(c, k, m->key, m->key_len, t, inc, 0);
}
