/*
 * report.c - the service report of report.h: one walk of the store over
 * the filter's incidents, counting into small tables, then the JSON; the
 * HTML is a rendering of that JSON, so both say the same.
 *
 * Why here (engine/serve) and not in the command: the API serves the same
 * report to a supervisor's browser, scoped by the same filter and tokens.
 */
#include "engine/serve/report.h"

#include "base/event.h"
#include "base/timeparse.h"
#include "engine/grade/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP_N 10

/* ---- timeliness ---- */

struct clock_tally {
    uint64_t met, breached, pending;
    double sum_s; /* from detection to the state, over those that reached it */
    uint64_t reached;
};

enum { TL_RESPOND, TL_RESTORE, TL_RESOLVE, TL_REPORT, TL__N };
static const char *const tl_names[TL__N] = {"respond", "restore", "resolve", "report"};
static const char *const tl_due[TL__N] = {"respond_due", "restore_due", "resolve_due",
                                          "report_due"};
static const int tl_state[TL__N] = {CR_ST_ACKNOWLEDGED, CR_ST_RESTORED, CR_ST_RESOLVED,
                                    CR_ST_REPORTED};
static const char *const tl_mean[TL__N] = {"mtta_s", "mttr_s", "mean_time_to_resolve_s",
                                           "mean_time_to_report_s"};

/* When inc reached state st or any later one (a move may skip states that
 * do not apply); CR_TIME_NONE if it has not. The report's own state is
 * not "later" than the work states: only REPORTED itself counts for it. */
static int64_t reached(const json_t *inc, int st)
{
    int64_t best = CR_TIME_NONE;
    int last = st == CR_ST_REPORTED ? CR_ST_REPORTED : CR_ST_SUMMARY_FILED;
    for (int s = st; s <= last; s++) {
        if (st != CR_ST_REPORTED && s == CR_ST_REPORTED)
            continue;
        int64_t t = cr_json_time(inc, cr_state_time_key(s));
        if (t != CR_TIME_NONE && (best == CR_TIME_NONE || t < best))
            best = t;
    }
    return best;
}

/* ---- availability ---- */

enum { AV_IAAS, AV_VM, AV_EXTRANET, AV_FACILITY, AV__N };
static const char *const av_names[AV__N] = {"iaas", "vm", "extranet_core", "facility"};

/* The class whose target an outage of this category is held against; -1:
 * not infrastructure (applications, security). */
static int av_class(const char *cat)
{
    if (!cat || cat[0] != 'F')
        return -1;
    if (!strcmp(cat, "F-CMP-VM"))
        return AV_VM;
    if (!strcmp(cat, "F-NET-LINK"))
        return AV_EXTRANET;
    if (!strncmp(cat, "F-FAC-", 6))
        return AV_FACILITY;
    if (!strncmp(cat, "F-CMP-", 6) || !strncmp(cat, "F-STO-", 6) || !strncmp(cat, "F-NET-", 6) ||
        !strncmp(cat, "F-PLT-", 6))
        return AV_IAAS;
    return -1;
}

struct outage {
    char unit[128];
    int cls;
    int64_t start, end;
};

/* ---- the walk ---- */

struct tally {
    const struct cr_filter *f;
    const struct cr_grade_policy *p;
    int64_t from, to, now, cut; /* cut: min(now, to), where "still open" is judged */
    uint64_t total, security, fault, active;
    json_t *by_category, *by_level, *by_priority, *entities, *rules;
    struct clock_tally tl[5][TL__N]; /* P1..P4, then all */
    uint64_t open, overdue, open_by_prio[5], open_age[4];
    struct outage *out;
    size_t nout, capout;
    int oom;
};

static void bump(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    json_object_set_new(o, key, json_integer((v ? json_integer_value(v) : 0) + 1));
}

static int prio_index(const json_t *inc)
{
    const char *p = json_string_value(json_object_get(inc, "priority"));
    return p && p[0] == 'P' && p[1] >= '1' && p[1] <= '4' && !p[2] ? p[1] - '1' : 3;
}

static void clock_one(struct tally *t, const json_t *inc, int pi, int k, int64_t det)
{
    int64_t due = cr_json_time(inc, tl_due[k]);
    int64_t at = reached(inc, tl_state[k]);
    if (at != CR_TIME_NONE && at > t->cut)
        at = CR_TIME_NONE; /* reached after the period: not yet, as of its end */
    for (int slot = 0; slot < 2; slot++) {
        struct clock_tally *c = &t->tl[slot ? 4 : pi][k];
        if (at != CR_TIME_NONE && det != CR_TIME_NONE && at >= det) {
            c->reached++;
            c->sum_s += (double)(at - det) / 1000.0;
        }
        if (due == CR_TIME_NONE)
            continue; /* no target for this priority or level */
        if (at != CR_TIME_NONE)
            at <= due ? c->met++ : c->breached++;
        else
            due < t->cut ? c->breached++ : c->pending++;
    }
}

static int in_scope_once(const char *json, size_t len, void *arg)
{
    struct tally *t = arg;
    if (!cr_filter_maybe(t->f, json, len))
        return 0;
    json_t *inc = json_loadb(json, len, 0, NULL);
    if (!inc)
        return 0;
    if (!cr_filter_match(t->f, inc, t->now)) {
        json_decref(inc);
        return 0;
    }
    t->active++;
    int64_t first = cr_json_time(inc, "first_seen"), last = cr_json_time(inc, "last_seen");
    int64_t det = cr_json_time(inc, "detected_at");
    if (det == CR_TIME_NONE)
        det = first;
    const char *cat = json_string_value(json_object_get(inc, "category"));
    int pi = prio_index(inc);

    /* detected in the period */
    if (first != CR_TIME_NONE && first >= t->from && first <= t->to) {
        t->total++;
        if (cat && cat[0] == 'S')
            t->security++;
        else if (cat && cat[0] == 'F')
            t->fault++;
        bump(t->by_category, cat ? cat : "?");
        const char *lv = json_string_value(json_object_get(inc, "reg_level"));
        bump(t->by_level, lv ? lv : "null");
        bump(t->by_priority, json_string_value(json_object_get(inc, "priority"))
                                 ? json_string_value(json_object_get(inc, "priority"))
                                 : "?");
        const char *rule = json_string_value(json_object_get(inc, "rule"));
        bump(t->rules, rule ? rule : "?");
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(inc, "entities"), k, v)
        {
            char e[200];
            snprintf(e, sizeof e, "%s=%s", k, json_string_value(v) ? json_string_value(v) : "");
            bump(t->entities, e);
        }
        for (int c = 0; c < TL__N; c++)
            clock_one(t, inc, pi, c, det);
    }

    /* backlog at the period's end */
    int64_t res = reached(inc, CR_ST_RESOLVED);
    if (first != CR_TIME_NONE && first <= t->to && (res == CR_TIME_NONE || res > t->cut)) {
        t->open++;
        t->open_by_prio[pi]++;
        int64_t age = t->cut - (det != CR_TIME_NONE ? det : first);
        t->open_age[age < 86400000LL        ? 0
                    : age < 7 * 86400000LL  ? 1
                    : age < 30 * 86400000LL ? 2
                                            : 3]++;
        int over = 0;
        for (int c = 0; c < TL__N && !over; c++) {
            int64_t due = cr_json_time(inc, tl_due[c]);
            int64_t at = reached(inc, tl_state[c]);
            over = due != CR_TIME_NONE && due < t->cut && (at == CR_TIME_NONE || at > due);
        }
        t->overdue += (uint64_t)over;
    }

    /* outages for availability */
    const char *outage =
        json_string_value(json_object_get(json_object_get(inc, "impact"), "outage"));
    int cls = av_class(cat);
    if (cls >= 0 && outage && !strcmp(outage, "full") && first != CR_TIME_NONE) {
        int64_t end = reached(inc, CR_ST_RESTORED);
        if (end == CR_TIME_NONE)
            end = res;
        if (end == CR_TIME_NONE)
            end = cr_incident_state(inc) >= CR_ST_CLOSED ? last : t->cut;
        int64_t a = first > t->from ? first : t->from, b = end < t->to ? end : t->to;
        json_t *systems = json_object_get(inc, "systems");
        size_t ns = json_array_size(systems);
        for (size_t i = 0; i < (ns ? ns : 1) && b > a; i++) {
            /* a system of the inventory ({id, name, tier, tenant}), else the host */
            json_t *sys = ns ? json_array_get(systems, i) : NULL;
            const char *unit = json_is_object(sys) ? json_string_value(json_object_get(sys, "id"))
                                                   : json_string_value(sys);
            if (!unit)
                unit = json_string_value(json_object_get(json_object_get(inc, "entities"), "host"));
            if (!unit)
                unit = "(no system named)";
            if (t->nout == t->capout) {
                size_t cap = t->capout ? t->capout * 2 : 64;
                struct outage *o = realloc(t->out, cap * sizeof *o);
                if (!o) {
                    t->oom = 1;
                    json_decref(inc);
                    return 1;
                }
                t->out = o;
                t->capout = cap;
            }
            struct outage *o = &t->out[t->nout++];
            snprintf(o->unit, sizeof o->unit, "%s", unit);
            o->cls = cls;
            o->start = a;
            o->end = b;
        }
    }
    json_decref(inc);
    return 0;
}

/* ---- building the JSON ---- */

static json_t *top(json_t *counts, const char *keyname)
{
    struct kv {
        const char *k;
        json_int_t n;
    } *v = NULL;
    size_t n = 0, cap = 0;
    const char *k;
    json_t *val;
    json_object_foreach(counts, k, val)
    {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct kv *nv = realloc(v, cap * sizeof *nv);
            if (!nv)
                break;
            v = nv;
        }
        v[n++] = (struct kv){k, json_integer_value(val)};
    }
    /* by count, then name: a stable order for equal counts */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && (v[j].n > v[j - 1].n ||
                                     (v[j].n == v[j - 1].n && strcmp(v[j].k, v[j - 1].k) < 0));
             j--) {
            struct kv x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    json_t *a = json_array();
    for (size_t i = 0; i < n && i < TOP_N; i++) {
        json_t *o = json_object();
        if (!strcmp(keyname, "entity")) {
            const char *eq = strchr(v[i].k, '=');
            json_object_set_new(o, "name", json_stringn(v[i].k, eq ? (size_t)(eq - v[i].k) : 0));
            json_object_set_new(o, "value", json_string(eq ? eq + 1 : v[i].k));
        } else {
            json_object_set_new(o, keyname, json_string(v[i].k));
        }
        json_object_set_new(o, "incidents", json_integer(v[i].n));
        json_array_append_new(a, o);
    }
    free(v);
    return a;
}

static json_t *rate(uint64_t part, uint64_t whole)
{
    return whole ? json_real((double)part / (double)whole) : json_null();
}

static json_t *clocks(const struct clock_tally *c)
{
    json_t *o = json_object();
    for (int k = 0; k < TL__N; k++) {
        json_t *x = json_object();
        json_object_set_new(x, "met", json_integer((json_int_t)c[k].met));
        json_object_set_new(x, "breached", json_integer((json_int_t)c[k].breached));
        json_object_set_new(x, "pending", json_integer((json_int_t)c[k].pending));
        json_object_set_new(x, "breach_rate", rate(c[k].breached, c[k].met + c[k].breached));
        json_object_set_new(x, tl_mean[k],
                            c[k].reached ? json_real(c[k].sum_s / (double)c[k].reached)
                                         : json_null());
        json_object_set_new(o, tl_names[k], x);
    }
    return o;
}

static int outage_cmp(const void *a, const void *b)
{
    const struct outage *x = a, *y = b;
    if (x->cls != y->cls)
        return x->cls - y->cls;
    int c = strcmp(x->unit, y->unit);
    if (c)
        return c;
    return x->start < y->start ? -1 : x->start > y->start;
}

static json_t *availability(struct tally *t)
{
    const int64_t target[AV__N] = {t->p->avail_iaas_ppm, t->p->avail_vm_ppm,
                                   t->p->avail_extranet_ppm, t->p->avail_facility_ppm};
    double period = (double)(t->to - t->from);
    if (t->nout) /* qsort takes no NULL array, even empty */
        qsort(t->out, t->nout, sizeof *t->out, outage_cmp);
    json_t *classes = json_object();
    for (int c = 0; c < AV__N; c++) {
        json_t *o = json_object();
        json_object_set_new(o, "target_percent", json_real((double)target[c] / 10000.0));
        json_object_set_new(o, "units", json_array());
        json_object_set_new(o, "missed", json_integer(0));
        json_object_set_new(classes, av_names[c], o);
    }
    for (size_t i = 0; i < t->nout;) {
        size_t j = i;
        int64_t down = 0, cs = t->out[i].start, ce = t->out[i].end;
        /* the union of this unit's outages */
        for (; j < t->nout && t->out[j].cls == t->out[i].cls &&
               !strcmp(t->out[j].unit, t->out[i].unit);
             j++) {
            if (t->out[j].start > ce) {
                down += ce - cs;
                cs = t->out[j].start;
                ce = t->out[j].end;
            } else if (t->out[j].end > ce) {
                ce = t->out[j].end;
            }
        }
        down += ce - cs;
        int c = t->out[i].cls;
        double avail = period > 0 ? 100.0 * (1.0 - (double)down / period) : 100.0;
        int met = avail * 10000.0 + 1e-6 >= (double)target[c];
        json_t *cls = json_object_get(classes, av_names[c]);
        json_t *u = json_object();
        json_object_set_new(u, "unit", json_string(t->out[i].unit));
        json_object_set_new(u, "downtime_s", json_integer((json_int_t)(down / 1000)));
        json_object_set_new(u, "availability_percent", json_real(avail));
        json_object_set_new(u, "met", json_boolean(met));
        json_array_append_new(json_object_get(cls, "units"), u);
        if (!met)
            json_object_set_new(
                cls, "missed",
                json_integer(json_integer_value(json_object_get(cls, "missed")) + 1));
        i = j;
    }
    return classes;
}

json_t *cr_report_build(struct cr_store *s, const struct cr_filter *f, int64_t from_ms,
                        int64_t to_ms, int64_t now_ms, const struct cr_grade_policy *p, char *err,
                        size_t errlen)
{
    if (from_ms == INT64_MIN || to_ms == INT64_MAX || to_ms <= from_ms) {
        snprintf(err, errlen, "a report needs a period: from before to");
        return NULL;
    }
    struct tally t;
    memset(&t, 0, sizeof t);
    t.f = f;
    t.p = p;
    t.from = from_ms;
    t.to = to_ms;
    t.now = now_ms;
    t.cut = now_ms < to_ms ? now_ms : to_ms;
    t.by_category = json_object();
    t.by_level = json_object();
    t.by_priority = json_object();
    t.entities = json_object();
    t.rules = json_object();
    struct cr_query q;
    cr_filter_store_query(f, &q);
    q.limit = 0;
    int rc = cr_store_query(s, &q, in_scope_once, &t);
    json_t *r = NULL;
    if (rc != 0 || t.oom) {
        snprintf(err, errlen, "%s", t.oom ? "out of memory" : cr_store_errmsg(s));
    } else {
        r = json_object();
        char a[40], b[40], g[40];
        cr_time_format(from_ms, a, sizeof a);
        cr_time_format(to_ms, b, sizeof b);
        cr_time_format(now_ms, g, sizeof g);
        json_t *period = json_object();
        json_object_set_new(period, "from", json_string(a));
        json_object_set_new(period, "to", json_string(b));
        json_object_set_new(r, "period", period);
        json_t *tenants = json_array();
        for (int i = 0; i < f->tenant.n; i++)
            json_array_append_new(tenants, json_string(f->tenant.v[i]));
        if (f->scope && f->scope->role == CR_ROLE_TENANT)
            for (int i = 0; i < f->scope->ntenants; i++)
                json_array_append_new(tenants, json_string(f->scope->tenants[i]));
        json_object_set_new(r, "tenants", tenants);
        json_object_set_new(r, "generated_at", json_string(g));
        json_t *inc = json_object();
        json_object_set_new(inc, "total", json_integer((json_int_t)t.total));
        json_object_set_new(inc, "security", json_integer((json_int_t)t.security));
        json_object_set_new(inc, "fault", json_integer((json_int_t)t.fault));
        json_object_set_new(inc, "active_in_period", json_integer((json_int_t)t.active));
        json_object_set(inc, "by_category", t.by_category);
        json_object_set(inc, "by_level", t.by_level);
        json_object_set(inc, "by_priority", t.by_priority);
        json_object_set_new(r, "incidents", inc);
        json_t *tl = json_object();
        static const char *const pn[5] = {"P1", "P2", "P3", "P4", "all"};
        for (int i = 0; i < 5; i++)
            json_object_set_new(tl, pn[i], clocks(t.tl[i]));
        json_object_set_new(r, "timeliness", tl);
        json_t *bl = json_object(), *bp = json_object(), *ba = json_object();
        json_object_set_new(bl, "open", json_integer((json_int_t)t.open));
        json_object_set_new(bl, "overdue", json_integer((json_int_t)t.overdue));
        for (int i = 0; i < 4; i++)
            json_object_set_new(bp, pn[i], json_integer((json_int_t)t.open_by_prio[i]));
        static const char *const ages[4] = {"under_1d", "1d_to_7d", "7d_to_30d", "over_30d"};
        for (int i = 0; i < 4; i++)
            json_object_set_new(ba, ages[i], json_integer((json_int_t)t.open_age[i]));
        json_object_set_new(bl, "by_priority", bp);
        json_object_set_new(bl, "by_age", ba);
        json_object_set_new(r, "backlog", bl);
        json_object_set_new(r, "top_entities", top(t.entities, "entity"));
        json_object_set_new(r, "top_rules", top(t.rules, "rule"));
        json_object_set_new(r, "availability", availability(&t));
    }
    json_decref(t.by_category);
    json_decref(t.by_level);
    json_decref(t.by_priority);
    json_decref(t.entities);
    json_decref(t.rules);
    free(t.out);
    return r;
}

/* ---- HTML ---- */

static void esc(FILE *o, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", o);
            break;
        case '>':
            fputs("&gt;", o);
            break;
        case '&':
            fputs("&amp;", o);
            break;
        case '"':
            fputs("&quot;", o);
            break;
        case '\'':
            fputs("&#39;", o);
            break;
        default:
            fputc(*s, o);
        }
    }
}

/* Horizontal bars, one per member of counts, as inline SVG. */
static void bars(FILE *o, const char *title, const json_t *counts)
{
    json_int_t max = 1;
    const char *k;
    json_t *v;
    size_t n = 0;
    json_object_foreach((json_t *)counts, k, v)
    {
        if (json_integer_value(v) > max)
            max = json_integer_value(v);
        n++;
    }
    fprintf(o, "<figure><figcaption>");
    esc(o, title);
    fprintf(o,
            "</figcaption><svg role=\"img\" width=\"560\" height=\"%zu\" "
            "xmlns=\"http://www.w3.org/2000/svg\">",
            n * 22 + 4);
    size_t i = 0;
    json_object_foreach((json_t *)counts, k, v)
    {
        double w = 360.0 * (double)json_integer_value(v) / (double)max;
        fprintf(o, "<text x=\"0\" y=\"%zu\" font-size=\"12\">", i * 22 + 15);
        esc(o, k);
        fprintf(o,
                "</text><rect x=\"150\" y=\"%zu\" width=\"%.1f\" height=\"16\" fill=\"#3b6ea5\"/>"
                "<text x=\"%.1f\" y=\"%zu\" font-size=\"12\">%lld</text>",
                i * 22 + 3, w, 156 + w, i * 22 + 15, (long long)json_integer_value(v));
        i++;
    }
    fprintf(o, "</svg></figure>\n");
}

static void num(FILE *o, const json_t *v, int pct)
{
    if (json_is_integer(v))
        fprintf(o, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        pct ? fprintf(o, "%.1f%%", 100.0 * json_real_value(v))
            : fprintf(o, "%.0f", json_real_value(v));
    else
        fputs("&ndash;", o);
}

char *cr_report_html(const json_t *r, size_t *len)
{
    char *buf = NULL;
    size_t blen = 0;
    FILE *o = open_memstream(&buf, &blen);
    if (!o)
        return NULL;
    const json_t *per = json_object_get(r, "period");
    fputs("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>corral service "
          "report</title><style>body{font-family:sans-serif;margin:2em;max-width:60em}"
          "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:"
          ".25em .6em;text-align:right}th:first-child,td:first-child{text-align:left}"
          ".missed{color:#b00020;font-weight:bold}</style></head><body>\n",
          o);
    fputs("<h1>Service report</h1><p>Period ", o);
    esc(o, json_string_value(json_object_get(per, "from")));
    fputs(" to ", o);
    esc(o, json_string_value(json_object_get(per, "to")));
    const json_t *tn = json_object_get(r, "tenants");
    if (json_array_size(tn)) {
        fputs("; tenants ", o);
        for (size_t i = 0; i < json_array_size(tn); i++) {
            fputs(i ? ", " : "", o);
            esc(o, json_string_value(json_array_get(tn, i)));
        }
    }
    fputs(". Generated ", o);
    esc(o, json_string_value(json_object_get(r, "generated_at")));
    fputs(".</p>\n", o);
    const json_t *inc = json_object_get(r, "incidents");
    fprintf(o, "<h2>Incidents</h2><p>%lld detected in the period: %lld security, %lld fault.</p>\n",
            (long long)json_integer_value(json_object_get(inc, "total")),
            (long long)json_integer_value(json_object_get(inc, "security")),
            (long long)json_integer_value(json_object_get(inc, "fault")));
    bars(o, "By category", json_object_get(inc, "by_category"));
    bars(o, "By regulatory level", json_object_get(inc, "by_level"));
    bars(o, "By priority", json_object_get(inc, "by_priority"));
    fputs("<h2>Timeliness against the targets</h2><table><tr><th>priority</th><th>clock</th>"
          "<th>met</th><th>breached</th><th>pending</th><th>breach rate</th><th>mean (s)</th>"
          "</tr>\n",
          o);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(r, "timeliness"), k, v)
    {
        const char *ck;
        json_t *c;
        json_object_foreach(v, ck, c)
        {
            fputs("<tr><td>", o);
            esc(o, k);
            fputs("</td><td>", o);
            esc(o, ck);
            fputs("</td><td>", o);
            num(o, json_object_get(c, "met"), 0);
            fputs("</td><td>", o);
            num(o, json_object_get(c, "breached"), 0);
            fputs("</td><td>", o);
            num(o, json_object_get(c, "pending"), 0);
            fputs("</td><td>", o);
            num(o, json_object_get(c, "breach_rate"), 1);
            fputs("</td><td>", o);
            const char *mk;
            json_t *mv;
            json_t *mean = NULL;
            json_object_foreach(c, mk, mv) if (strstr(mk, "_s")) mean = mv;
            num(o, mean, 0);
            fputs("</td></tr>\n", o);
        }
    }
    fputs("</table>\n", o);
    const json_t *bl = json_object_get(r, "backlog");
    fprintf(o, "<h2>Open backlog at the period's end</h2><p>%lld open, %lld overdue.</p>\n",
            (long long)json_integer_value(json_object_get(bl, "open")),
            (long long)json_integer_value(json_object_get(bl, "overdue")));
    bars(o, "Open by priority", json_object_get(bl, "by_priority"));
    bars(o, "Open by age", json_object_get(bl, "by_age"));
    fputs("<h2>Top entities</h2><table><tr><th>entity</th><th>incidents</th></tr>\n", o);
    const json_t *te = json_object_get(r, "top_entities");
    for (size_t i = 0; i < json_array_size(te); i++) {
        const json_t *e = json_array_get(te, i);
        fputs("<tr><td>", o);
        esc(o, json_string_value(json_object_get(e, "name")));
        fputs(" = ", o);
        esc(o, json_string_value(json_object_get(e, "value")));
        fprintf(o, "</td><td>%lld</td></tr>\n",
                (long long)json_integer_value(json_object_get(e, "incidents")));
    }
    fputs("</table><h2>Top rules</h2><table><tr><th>rule</th><th>incidents</th></tr>\n", o);
    const json_t *tr = json_object_get(r, "top_rules");
    for (size_t i = 0; i < json_array_size(tr); i++) {
        const json_t *e = json_array_get(tr, i);
        fputs("<tr><td>", o);
        esc(o, json_string_value(json_object_get(e, "rule")));
        fprintf(o, "</td><td>%lld</td></tr>\n",
                (long long)json_integer_value(json_object_get(e, "incidents")));
    }
    fputs("</table><h2>Availability</h2><table><tr><th>class / unit</th><th>target</th>"
          "<th>availability</th><th>downtime (s)</th></tr>\n",
          o);
    json_object_foreach(json_object_get(r, "availability"), k, v)
    {
        double target = json_real_value(json_object_get(v, "target_percent"));
        const json_t *units = json_object_get(v, "units");
        fputs("<tr><td>", o);
        esc(o, k);
        fprintf(o, "</td><td>%.2f%%</td><td>%s</td><td></td></tr>\n", target,
                json_array_size(units) ? "" : "no outage recorded");
        for (size_t i = 0; i < json_array_size(units); i++) {
            const json_t *u = json_array_get(units, i);
            int met = json_is_true(json_object_get(u, "met"));
            fputs("<tr><td>&nbsp;&nbsp;", o);
            esc(o, json_string_value(json_object_get(u, "unit")));
            fprintf(o, "</td><td></td><td class=\"%s\">%.3f%%%s</td><td>%lld</td></tr>\n",
                    met ? "met" : "missed",
                    json_real_value(json_object_get(u, "availability_percent")),
                    met ? "" : " (missed)",
                    (long long)json_integer_value(json_object_get(u, "downtime_s")));
        }
    }
    fputs("</table></body></html>\n", o);
    if (fclose(o) != 0) {
        free(buf);
        return NULL;
    }
    *len = blen;
    return buf;
}
