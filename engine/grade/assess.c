/*
 * assess.c - see assess.h.
 */
#include "engine/grade/assess.h"

#include "base/event.h"
#include "base/impact.h"
#include "base/timeparse.h"
#include "engine/grade/grade.h"
#include "engine/grade/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SYSTEMS 64

static const char *const level_names[] = {NULL, "I", "II", "III", "IV"};

int64_t cr_assess_now(void)
{
    const char *s = getenv("CORRAL_NOW");
    int64_t ms;
    if (s && *s && cr_time_parse(s, &ms) == 0)
        return ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int level_parse(const char *s)
{
    for (int i = 1; s && i <= 4; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return 0;
}

static int prio_parse(const char *s)
{
    return s && s[0] == 'P' && s[1] >= '1' && s[1] <= '4' && !s[2] ? s[1] - '0' : 0;
}

/* The impact and measure back from the members incident.c wrote. */
static void read_impact(const json_t *obj, struct cr_impact *im, int *has_measure, int64_t *measure)
{
    memset(im, 0, sizeof *im);
    *has_measure = 0;
    const json_t *j = json_object_get(obj, "impact");
    int v;
    if ((v = cr_outage_parse(json_string_value(json_object_get(j, "outage")))) > 0)
        im->outage = (uint8_t)v;
    if ((v = cr_data_impact_parse(json_string_value(json_object_get(j, "data")))) > 0)
        im->data = (uint8_t)v;
    if ((v = cr_deface_parse(json_string_value(json_object_get(j, "defacement")))) > 0)
        im->deface = (uint8_t)v;
    im->compromised = json_is_true(json_object_get(j, "compromised"));
    im->ransomware = json_is_true(json_object_get(j, "ransomware"));
    im->lateral = json_is_true(json_object_get(j, "lateral"));
    im->control_plane = json_is_true(json_object_get(j, "control_plane"));
    im->mains_lost = json_is_true(json_object_get(j, "mains_lost"));
    im->on_battery = json_is_true(json_object_get(j, "on_battery"));
    im->fire = json_is_true(json_object_get(j, "fire"));
    for (int m = CR_MEASURE_RECORDS; m <= CR_MEASURE_TEMPERATURE; m++) {
        const json_t *x = json_object_get(j, cr_measure_name(m));
        if (!x)
            continue;
        im->measure = (uint8_t)m;
        if (json_is_integer(x)) {
            *has_measure = 1;
            *measure = json_integer_value(x);
        }
    }
}

struct affected {
    struct cr_grade_system sys[MAX_SYSTEMS];
    char via[MAX_SYSTEMS][96];
    int n;
    int tenants[MAX_SYSTEMS * 2];
    int ntenants;
};

static void add_tenant(struct affected *af, int t)
{
    if (t < 0)
        return;
    for (int i = 0; i < af->ntenants; i++)
        if (af->tenants[i] == t)
            return;
    if (af->ntenants < (int)(sizeof af->tenants / sizeof *af->tenants))
        af->tenants[af->ntenants++] = t;
}

/* The entry for system s (or, s < 0, for asset a standing for itself). */
static struct cr_grade_system *entry(const struct cr_inventory *inv, struct affected *af, int s,
                                     int a, const char *via)
{
    const char *id = s >= 0 ? cr_inventory_system(inv, s)->id : cr_inventory_asset(inv, a)->id;
    for (int i = 0; i < af->n; i++)
        if (strcmp(af->sys[i].id, id) == 0)
            return &af->sys[i];
    if (af->n == MAX_SYSTEMS)
        return NULL;
    struct cr_grade_system *g = &af->sys[af->n];
    memset(g, 0, sizeof *g);
    g->id = id;
    if (s >= 0) {
        const struct cr_system *sy = cr_inventory_system(inv, s);
        g->tier = (int)cr_inventory_tier(inv, s);
        g->cii = sy->cii;
        g->portal = (int)sy->portal;
        add_tenant(af, sy->tenant);
    } else {
        g->tier = (int)cr_inventory_asset_tier(inv, a);
        add_tenant(af, cr_inventory_asset(inv, a)->tenant);
    }
    snprintf(af->via[af->n], sizeof af->via[af->n], "%s", via ? via : "");
    g->why = af->via[af->n];
    af->n++;
    return g;
}

static int hosts_of(const struct cr_inventory *inv, int s)
{
    int n = 0;
    for (int i = 0; i < cr_inventory_nassets(inv); i++) {
        const struct cr_asset *a = cr_inventory_asset(inv, i);
        n += a->system == s && (a->kind == CR_ASSET_HOST || a->kind == CR_ASSET_VM);
    }
    return n;
}

/* Systems and tenants the incident affects. */
static void find_affected(const struct cr_inventory *inv, struct cr_inventory_walk *walk,
                          const json_t *assets, const struct cr_impact *im, struct affected *af)
{
    memset(af, 0, sizeof *af);
    if (!inv)
        return;
    size_t i;
    const json_t *v;
    json_array_foreach(assets, i, v)
    {
        int a = cr_inventory_find_asset(inv, json_string_value(v) ? json_string_value(v) : "");
        if (a < 0)
            continue;
        const struct cr_asset *as = cr_inventory_asset(inv, a);
        add_tenant(af, as->tenant);
        struct cr_grade_system *g = entry(inv, af, as->system, a, NULL);
        if (g && im->compromised && as->system >= 0)
            g->compromised++;
        if (im->outage == CR_OUTAGE_NONE)
            continue;
        /* a failure reaches everything that depends on the asset */
        int n = cr_inventory_dependants(inv, a, walk);
        for (int k = 1; k < n; k++) {
            const struct cr_asset *d = cr_inventory_asset(inv, walk->out[k]);
            add_tenant(af, d->tenant);
            if (d->system >= 0) {
                char via[96];
                snprintf(via, sizeof via, "depends on %s", as->id);
                entry(inv, af, d->system, walk->out[k], via);
            }
        }
    }
    for (int k = 0; k < af->n; k++)
        if (af->sys[k].compromised) {
            int s = cr_inventory_find_system(inv, af->sys[k].id);
            af->sys[k].hosts = s >= 0 ? hosts_of(inv, s) : 0;
        }
}

/* Members an incident's stored version keeps over a new one: what people
 * did and what the engine decided before. */
static const char *const carried[] = {"status",
                                      "detected_at",
                                      "acknowledged_at",
                                      "graded_at",
                                      "reported_at",
                                      "on_site_at",
                                      "mitigated_at",
                                      "restored_at",
                                      "resolved_at",
                                      "verified_at",
                                      "closed_at",
                                      "summary_filed_at",
                                      "reg_level_confirmed",
                                      "confirmed_by",
                                      "confirmed_at",
                                      "history",
                                      "parent",
                                      "children",
                                      "follows",
                                      "economic_loss_cny",
                                      "evidence_at",
                                      NULL};

static void set_str(json_t *o, const char *k, const char *v)
{
    json_object_set_new(o, k, v ? json_string(v) : json_null());
}

/* The grading of obj at now, written into it; prev_level / prev_priority
 * are the floors (0: none). Returns 1 if level or priority differ from the
 * floors. */
static int grade_into(const struct cr_assessor *a, json_t *obj, int prev_level, int prev_prio,
                      int64_t now_ms)
{
    const struct cr_grade_policy *p = &a->policy;
    struct cr_impact im;
    int has_measure;
    int64_t measure = 0;
    read_impact(obj, &im, &has_measure, &measure);
    struct affected af;
    find_affected(a->inv, a->walk, json_object_get(obj, "assets"), &im, &af);

    /* duration: the evidence's span, plus wall time since the last new
     * evidence while the outage is not restored */
    int64_t first = cr_json_time(obj, "first_seen"), last = cr_json_time(obj, "last_seen");
    int64_t span = first != CR_TIME_NONE && last != CR_TIME_NONE && last > first ? last - first : 0;
    int64_t ev_at = cr_json_time(obj, "evidence_at");
    int st = cr_incident_state(obj);
    int64_t until = now_ms;
    if (st >= CR_ST_RESTORED) {
        int64_t r = CR_TIME_NONE;
        for (int k = CR_ST_RESTORED; k < CR_ST__N && r == CR_TIME_NONE; k++)
            r = cr_json_time(obj, cr_state_time_key(k));
        until = r != CR_TIME_NONE ? r : ev_at;
    }
    int64_t dur = span + (ev_at != CR_TIME_NONE && until > ev_at ? until - ev_at : 0);

    struct cr_grade_input in = {
        .category = json_string_value(json_object_get(obj, "category")),
        .rule_priority = prio_parse(json_string_value(json_object_get(obj, "rule_priority"))),
        .impact = im,
        .duration_ms = dur,
        .has_measure = has_measure,
        .measure = measure,
        .systems = af.sys,
        .nsystems = af.n,
        .ntenants = af.ntenants,
        .economic_loss_cny = json_integer_value(json_object_get(obj, "economic_loss_cny")),
    };
    struct cr_grade g;
    cr_grade_compute(p, &in, &g);
    int level = g.level, prio = g.priority;
    int open = st < CR_ST_CLOSED;
    if (open && prev_level && prev_level < level)
        level = prev_level; /* levels only go up while open */
    if (open && prev_prio && prev_prio < prio)
        prio = prev_prio;

    json_t *systems = json_array(), *tenants = json_array();
    int cii = 0;
    for (int i = 0; i < af.n; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "id", json_string(af.sys[i].id));
        int si = cr_inventory_find_system(a->inv, af.sys[i].id);
        const struct cr_system *sy = si >= 0 ? cr_inventory_system(a->inv, si) : NULL;
        if (sy && sy->name)
            json_object_set_new(s, "name", json_string(sy->name));
        if (!sy)
            json_object_set_new(s, "kind", json_string("asset"));
        char t[4];
        snprintf(t, sizeof t, "T%d", af.sys[i].tier);
        json_object_set_new(s, "tier", json_string(t));
        if (sy && sy->tenant >= 0)
            json_object_set_new(s, "tenant",
                                json_string(cr_inventory_tenant(a->inv, sy->tenant)->id));
        if (af.sys[i].why && *af.sys[i].why)
            json_object_set_new(s, "via", json_string(af.sys[i].why));
        json_array_append_new(systems, s);
        cii |= af.sys[i].cii;
    }
    for (int i = 0; i < af.ntenants; i++)
        json_array_append_new(tenants, json_string(cr_inventory_tenant(a->inv, af.tenants[i])->id));
    json_object_set_new(obj, "tenants", tenants);
    json_object_set_new(obj, "systems", systems);
    json_object_set(obj, "cii", cii ? json_true() : json_false());
    json_object_set_new(obj, "duration_s", json_integer(dur / 1000));

    json_t *gr = json_object(), *why = json_array();
    char t[4], l[4];
    snprintf(t, sizeof t, "T%d", g.tier);
    snprintf(l, sizeof l, "L%d", g.loss);
    json_object_set_new(gr, "tier", json_string(t));
    json_object_set_new(gr, "loss", json_string(l));
    for (int i = 0; i < g.nreasons; i++)
        json_array_append_new(why, json_string(g.reasons[i]));
    if (level != g.level)
        json_array_append_new(why, json_string("level kept from before: levels only go up "
                                               "while an incident is open"));
    if (prio != g.priority)
        json_array_append_new(why, json_string("priority kept from before"));
    json_object_set_new(gr, "reasons", why);
    json_object_set_new(obj, "grading", gr);
    set_str(obj, "reg_level_proposed", level_names[level]);
    const char *conf = json_string_value(json_object_get(obj, "reg_level_confirmed"));
    set_str(obj, "reg_level", conf ? conf : level_names[level]);
    char pr[4];
    snprintf(pr, sizeof pr, "P%d", prio);
    set_str(obj, "priority", pr);
    /* the reasons a reader sees first: the correlator's, then the grade's */
    json_t *reasons = json_object_get(obj, "reasons");
    if (json_is_array(reasons))
        for (int i = 0; i < g.nreasons; i++)
            json_array_append_new(reasons, json_string(g.reasons[i]));
    cr_incident_set_deadlines(obj, p);
    return level != prev_level || prio != prev_prio;
}

static void record_change(json_t *obj, int from_level, int from_prio, int64_t now_ms,
                          const char *why)
{
    const char *lv = json_string_value(json_object_get(obj, "reg_level_proposed"));
    const char *pr = json_string_value(json_object_get(obj, "priority"));
    char from[16], to[16], note[320];
    snprintf(from, sizeof from, "%s/P%d", from_level ? level_names[from_level] : "-", from_prio);
    int first = !from_level && !from_prio;
    snprintf(to, sizeof to, "%s/%s", lv ? lv : "-", pr ? pr : "-");
    const json_t *g = json_object_get(json_object_get(obj, "grading"), "reasons");
    snprintf(note, sizeof note, "%s: %s", why,
             json_string_value(json_array_get(g, 0)) ? json_string_value(json_array_get(g, 0))
                                                     : "");
    cr_history_add(obj, now_ms, "corral", "engine", first ? "grade" : "regrade",
                   first ? NULL : from, to, note);
}

int cr_assess(const struct cr_assessor *a, json_t *obj, const json_t *prev, int64_t now_ms)
{
    int prev_level = 0, prev_prio = 0;
    if (prev) {
        for (int i = 0; carried[i]; i++) {
            json_t *v = json_object_get(prev, carried[i]);
            if (v)
                json_object_set(obj, carried[i], v);
        }
        prev_level = level_parse(json_string_value(json_object_get(prev, "reg_level_proposed")));
        prev_prio = prio_parse(json_string_value(json_object_get(prev, "priority")));
    } else {
        json_object_set_new(obj, "status", json_string("detected"));
        cr_json_set_time(obj, "detected_at", now_ms);
    }
    /* new evidence restarts the wall-clock part of the duration */
    json_int_t n = json_integer_value(json_object_get(obj, "event_count"));
    if (!prev || n != json_integer_value(json_object_get(prev, "event_count")) ||
        cr_json_time(obj, "evidence_at") == CR_TIME_NONE)
        cr_json_set_time(obj, "evidence_at", now_ms);
    int changed = grade_into(a, obj, prev_level, prev_prio, now_ms);
    if (!prev || changed)
        record_change(obj, prev_level, prev_prio ? prev_prio : 0, now_ms,
                      prev ? "new evidence" : "detected");
    return !prev || changed;
}

int cr_assess_regrade(const struct cr_assessor *a, json_t *obj, int64_t now_ms, const char *why)
{
    int st = cr_incident_state(obj);
    if (st >= CR_ST_RESTORED)
        return 0;
    int prev_level = level_parse(json_string_value(json_object_get(obj, "reg_level_proposed")));
    int prev_prio = prio_parse(json_string_value(json_object_get(obj, "priority")));
    json_t *copy = json_deep_copy(obj);
    /* the stored reasons already hold the previous grade's: rebuild them
     * from the correlator's, which come first */
    json_t *reasons = json_object_get(copy, "reasons");
    const json_t *old = json_object_get(json_object_get(obj, "grading"), "reasons");
    if (json_is_array(reasons) && json_is_array(old)) {
        size_t keep = json_array_size(reasons) >= json_array_size(old)
                          ? json_array_size(reasons) - json_array_size(old)
                          : 0;
        while (json_array_size(reasons) > keep)
            json_array_remove(reasons, json_array_size(reasons) - 1);
    }
    int changed = grade_into(a, copy, prev_level, prev_prio, now_ms);
    int lv = level_parse(json_string_value(json_object_get(copy, "reg_level_proposed")));
    int pr = prio_parse(json_string_value(json_object_get(copy, "priority")));
    if (!changed || (lv >= prev_level && pr >= prev_prio)) {
        json_decref(copy);
        return 0;
    }
    record_change(copy, prev_level, prev_prio, now_ms, why ? why : "time passed");
    json_object_update(obj, copy);
    json_decref(copy);
    return 1;
}
