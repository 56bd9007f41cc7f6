/*
 * ocsf.c - see ocsf.h.
 */
#include "engine/store/ocsf.h"

#include "base/timeparse.h"

#include <string.h>

#define OCSF_VERSION "1.1.0"

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* An RFC 3339 member as epoch ms; -1 if absent. */
static json_int_t ms(const json_t *o, const char *k)
{
    const char *s = sget(o, k);
    int64_t v;
    if (!s || !cr_time_parse_rfc3339(s, strlen(s), 0, &v))
        return -1;
    return (json_int_t)v;
}

static void set_time(json_t *o, const char *key, json_int_t v)
{
    if (v >= 0)
        json_object_set_new(o, key, json_integer(v));
}

static int severity_of(const char *level)
{
    static const char *const lv[] = {"I", "II", "III", "IV"};
    static const int sev[] = {5, 4, 3, 2};
    for (int i = 0; level && i < 4; i++)
        if (!strcmp(level, lv[i]))
            return sev[i];
    return 0; /* Unknown */
}

static int status_of(const char *st)
{
    if (!st || !strcmp(st, "detected"))
        return 1;
    if (!strcmp(st, "resolved") || !strcmp(st, "verified_by_tenant"))
        return 4;
    if (!strcmp(st, "closed") || !strcmp(st, "summary_filed"))
        return 5;
    return 2;
}

json_t *cr_incident_to_ocsf(const json_t *inc)
{
    const char *id = sget(inc, "id");
    if (!json_is_object(inc) || !id)
        return NULL;
    json_int_t events = json_integer_value(json_object_get(inc, "event_count"));
    const json_t *children = json_object_get(inc, "children");
    const char *kind = sget(inc, "kind");
    int incident =
        (kind ? strcmp(kind, "detection") != 0 : events > 1) || json_array_size(children) > 0;
    int cls = incident ? 2005 : 2004;
    const char *st = sget(inc, "status");
    int status = status_of(st);
    int activity = status == 5 ? 3 : json_array_size(json_object_get(inc, "history")) > 1 ? 2 : 1;

    json_t *o = json_object();
    json_object_set_new(o, "class_uid", json_integer(cls));
    json_object_set_new(o, "class_name",
                        json_string(incident ? "Incident Finding" : "Detection Finding"));
    json_object_set_new(o, "category_uid", json_integer(2));
    json_object_set_new(o, "category_name", json_string("Findings"));
    json_object_set_new(o, "activity_id", json_integer(activity));
    json_object_set_new(o, "type_uid", json_integer(cls * 100 + activity));
    json_int_t t = ms(inc, "detected_at");
    set_time(o, "time", t >= 0 ? t : ms(inc, "first_seen"));
    set_time(o, "start_time", ms(inc, "first_seen"));
    set_time(o, "end_time", ms(inc, "last_seen"));
    json_object_set_new(o, "severity_id", json_integer(severity_of(sget(inc, "reg_level"))));
    json_object_set_new(o, "status_id", json_integer(status));
    if (st)
        json_object_set_new(o, "status", json_string(st));
    const char *pr = sget(inc, "priority");
    if (incident && pr && pr[0] == 'P' && pr[1] >= '1' && pr[1] <= '4')
        json_object_set_new(o, "priority_id", json_integer(5 - (pr[1] - '0')));
    if (sget(inc, "title"))
        json_object_set_new(o, "message", json_string(sget(inc, "title")));

    json_t *fi = json_object();
    json_object_set_new(fi, "uid", json_string(id));
    if (sget(inc, "title"))
        json_object_set_new(fi, "title", json_string(sget(inc, "title")));
    json_t *types = json_array();
    if (sget(inc, "category"))
        json_array_append_new(types, json_string(sget(inc, "category")));
    if (sget(inc, "reg_category"))
        json_array_append_new(types, json_string(sget(inc, "reg_category")));
    json_object_set_new(fi, "types", types);
    json_t *an = json_object();
    if (sget(inc, "rule")) {
        json_object_set_new(an, "uid", json_string(sget(inc, "rule")));
        json_object_set_new(an, "name", json_string(sget(inc, "rule")));
    }
    json_object_set_new(an, "type_id", json_integer(1));
    json_object_set_new(an, "type", json_string("Rule"));
    json_object_set_new(fi, "analytic", an);
    const json_t *attack = json_object_get(inc, "attack");
    if (json_array_size(attack)) {
        json_t *atk = json_array();
        size_t i;
        const json_t *v;
        json_array_foreach(attack, i, v)
        {
            json_t *a = json_object(), *tech = json_object();
            json_object_set_new(tech, "uid", json_string(json_string_value(v)));
            json_object_set_new(a, "technique", tech);
            json_object_set_new(a, "version", json_string("v14"));
            json_array_append_new(atk, a);
        }
        json_object_set_new(fi, "attacks", atk);
    }
    json_t *rel = json_array();
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(json_object_get(inc, "evidence"), "refs"), i, v)
    {
        json_t *e = json_object();
        char uid[600];
        const json_t *in = json_object_get(v, "input");
        snprintf(uid, sizeof uid, "%s:%lld", json_is_string(in) ? json_string_value(in) : "input",
                 (long long)json_integer_value(json_object_get(v, "position")));
        json_object_set_new(e, "uid", json_string(uid));
        json_array_append_new(rel, e);
    }
    json_object_set_new(fi, "related_events", rel);
    set_time(fi, "first_seen_time", ms(inc, "first_seen"));
    set_time(fi, "last_seen_time", ms(inc, "last_seen"));
    json_object_set_new(o, "finding_info", fi);

    json_t *res = json_array();
    json_array_foreach(json_object_get(inc, "systems"), i, v)
    {
        json_t *r = json_object();
        json_object_set_new(r, "uid", json_string(sget(v, "id") ? sget(v, "id") : ""));
        if (sget(v, "name"))
            json_object_set_new(r, "name", json_string(sget(v, "name")));
        json_object_set_new(r, "type", json_string(sget(v, "kind") ? "asset" : "business_system"));
        if (sget(v, "tier"))
            json_object_set_new(r, "criticality", json_string(sget(v, "tier")));
        json_array_append_new(res, r);
    }
    json_array_foreach(json_object_get(inc, "assets"), i, v)
    {
        json_t *r = json_object();
        json_object_set_new(r, "uid", json_string(json_string_value(v)));
        json_object_set_new(r, "type", json_string("asset"));
        json_array_append_new(res, r);
    }
    json_object_set_new(o, "resources", res);
    json_t *obs = json_array();
    const char *k;
    json_object_foreach((json_t *)json_object_get(inc, "entities"), k, v)
    {
        json_t *ob = json_object();
        json_object_set_new(ob, "name", json_string(k));
        json_object_set_new(ob, "value",
                            json_string(json_string_value(v) ? json_string_value(v) : ""));
        /* 2 IP Address, 4 User Name, 1 Hostname, 0 Unknown (OCSF observable types) */
        int tid = strstr(k, "ip") ? 2 : !strcmp(k, "user") ? 4 : !strcmp(k, "host") ? 1 : 0;
        json_object_set_new(ob, "type_id", json_integer(tid));
        json_array_append_new(obs, ob);
    }
    json_object_set_new(o, "observables", obs);

    json_t *meta = json_object(), *prod = json_object();
    json_object_set_new(prod, "name", json_string("corral"));
    json_object_set_new(prod, "vendor_name", json_string("corral"));
    json_object_set_new(meta, "product", prod);
    json_object_set_new(meta, "version", json_string(OCSF_VERSION));
    json_object_set_new(o, "metadata", meta);

    static const char *const unmapped[] = {"tenants",
                                           "grading",
                                           "reg_level_proposed",
                                           "reg_level_confirmed",
                                           "confirmed_by",
                                           "respond_due",
                                           "restore_due",
                                           "resolve_due",
                                           "report_due",
                                           "report_route",
                                           "history",
                                           "parent",
                                           "children",
                                           "follows",
                                           "suppressed",
                                           "source_assets",
                                           NULL};
    json_t *um = json_object();
    for (int j = 0; unmapped[j]; j++) {
        json_t *x = json_object_get(inc, unmapped[j]);
        if (x && !json_is_null(x))
            json_object_set(um, unmapped[j], x);
    }
    json_object_set_new(o, "unmapped", um);
    return o;
}
