/*
 * lifecycle.c - see lifecycle.h.
 */
#include "engine/grade/lifecycle.h"

#include "base/event.h"
#include "base/timeparse.h"

#include <stdio.h>
#include <string.h>

static const char *const state_names[] = {
#define CR_STATE_NAME(id, name) name,
    CR_LIFECYCLE_STATES(CR_STATE_NAME)
#undef CR_STATE_NAME
};

/* the member holding the time each state was reached */
static const char *const state_time[] = {"detected_at", "acknowledged_at", "graded_at",
                                         "reported_at", "on_site_at",      "mitigated_at",
                                         "restored_at", "resolved_at",     "verified_at",
                                         "closed_at",   "summary_filed_at"};
_Static_assert(sizeof state_time / sizeof *state_time == CR_ST__N, "a time member per state");

static const char *const role_names[] = {"administrator", "operator", "tenant", "supervisor"};

const char *cr_state_name(int st) { return st >= 0 && st < CR_ST__N ? state_names[st] : "?"; }
const char *cr_state_time_key(int st) { return st >= 0 && st < CR_ST__N ? state_time[st] : NULL; }
const char *cr_role_name(int r) { return r >= 0 && r < CR_ROLE__N ? role_names[r] : "?"; }

int cr_state_parse(const char *s)
{
    for (int i = 0; s && i < CR_ST__N; i++)
        if (strcmp(s, state_names[i]) == 0)
            return i;
    return -1;
}

int cr_role_parse(const char *s)
{
    for (int i = 0; s && i < CR_ROLE__N; i++)
        if (strcmp(s, role_names[i]) == 0)
            return i;
    return -1;
}

int cr_incident_state(const json_t *inc)
{
    int st = cr_state_parse(json_string_value(json_object_get(inc, "status")));
    return st < 0 ? CR_ST_DETECTED : st;
}

int64_t cr_json_time(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    int64_t ms;
    if (!s || cr_time_parse_rfc3339(s, strlen(s), 0, &ms) == 0)
        return CR_TIME_NONE;
    return ms;
}

void cr_json_set_time(json_t *obj, const char *key, int64_t ms)
{
    if (ms == CR_TIME_NONE) {
        json_object_set_new(obj, key, json_null());
        return;
    }
    char buf[40];
    cr_time_format(ms, buf, sizeof buf);
    json_object_set_new(obj, key, json_string(buf));
}

void cr_history_add(json_t *inc, int64_t at_ms, const char *actor, const char *role,
                    const char *action, const char *from, const char *to, const char *note)
{
    json_t *h = json_object_get(inc, "history");
    if (!json_is_array(h)) {
        h = json_array();
        json_object_set_new(inc, "history", h);
    }
    json_t *e = json_object();
    cr_json_set_time(e, "at", at_ms);
    json_object_set_new(e, "actor", json_string(actor ? actor : "corral"));
    json_object_set_new(e, "role", json_string(role ? role : "engine"));
    json_object_set_new(e, "action", json_string(action));
    if (from)
        json_object_set_new(e, "from", json_string(from));
    if (to)
        json_object_set_new(e, "to", json_string(to));
    if (note && *note)
        json_object_set_new(e, "note", json_string(note));
    json_array_append_new(h, e);
}

static int level_of(const json_t *inc)
{
    static const char *const names[] = {"I", "II", "III", "IV"};
    const char *s = json_string_value(json_object_get(inc, "reg_level"));
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i + 1;
    return 0;
}

static int reportable(const json_t *inc, const struct cr_grade_policy *p)
{
    int l = level_of(inc);
    return l >= 1 && l <= p->report_min_level;
}

#define REFUSE(...)                                                                                \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -1;                                                                                 \
    } while (0)

/* May role move an incident to state `to`? */
static int role_may(int role, int to)
{
    switch (role) {
    case CR_ROLE_ADMIN:
        return 1;
    case CR_ROLE_OPERATOR:
        return to != CR_ST_VERIFIED;
    case CR_ROLE_TENANT:
        return to == CR_ST_VERIFIED;
    default:
        return 0;
    }
}

int cr_lifecycle_transition(json_t *inc, int to, const struct cr_actor *who, const char *note,
                            int64_t now_ms, const struct cr_grade_policy *p, char *err,
                            size_t errlen)
{
    int from = cr_incident_state(inc);
    if (to < 0 || to >= CR_ST__N)
        REFUSE("unknown state");
    if (!role_may(who->role, to))
        REFUSE("the %s role may not move an incident to %s", cr_role_name(who->role),
               cr_state_name(to));
    if (to <= from)
        REFUSE("the incident is %s: it cannot go %s to %s (the lifecycle only moves forward)",
               cr_state_name(from), to == from ? "again" : "back", cr_state_name(to));
    if (from >= CR_ST_CLOSED && to != CR_ST_SUMMARY_FILED)
        REFUSE("the incident is %s: only summary_filed may follow", cr_state_name(from));
    int rep = reportable(inc, p);
    if ((to == CR_ST_REPORTED || to == CR_ST_SUMMARY_FILED) && !rep)
        REFUSE("%s applies only to level %s and above (this incident is %s)", cr_state_name(to),
               p->report_min_level >= 1 && p->report_min_level <= 4
                   ? (const char *[]){"I", "II", "III", "IV"}[p->report_min_level - 1]
                   : "the reporting level",
               json_string_value(json_object_get(inc, "reg_level"))
                   ? json_string_value(json_object_get(inc, "reg_level"))
                   : "ungraded");
    if ((to == CR_ST_VERIFIED || to == CR_ST_CLOSED) && from < CR_ST_RESOLVED)
        REFUSE("the incident is %s: %s needs resolved first", cr_state_name(from),
               cr_state_name(to));
    if (to == CR_ST_CLOSED && rep && cr_json_time(inc, "reported_at") == CR_TIME_NONE)
        REFUSE("a level %s incident must be reported before it is closed",
               json_string_value(json_object_get(inc, "reg_level")));
    if (to == CR_ST_SUMMARY_FILED && from != CR_ST_CLOSED)
        REFUSE("summary_filed follows closed (the incident is %s)", cr_state_name(from));
    json_object_set_new(inc, "status", json_string(cr_state_name(to)));
    cr_json_set_time(inc, state_time[to], now_ms);
    /* skipped states: an acknowledgement is implied by any later move */
    if (from == CR_ST_DETECTED && cr_json_time(inc, "acknowledged_at") == CR_TIME_NONE)
        cr_json_set_time(inc, "acknowledged_at", now_ms);
    cr_history_add(inc, now_ms, who->name, cr_role_name(who->role), "transition",
                   cr_state_name(from), cr_state_name(to), note);
    cr_incident_set_deadlines(inc, p);
    return 0;
}

int cr_lifecycle_note(json_t *inc, const struct cr_actor *who, const char *note, int64_t now_ms,
                      char *err, size_t errlen)
{
    if (who->role == CR_ROLE_SUPERVISOR)
        REFUSE("a supervisor reads incidents and may not add notes");
    if (!note || !*note)
        REFUSE("a note needs text");
    cr_history_add(inc, now_ms, who->name, cr_role_name(who->role), "note", NULL, NULL, note);
    return 0;
}

int cr_lifecycle_confirm_level(json_t *inc, int level, const struct cr_actor *who, const char *note,
                               int64_t now_ms, const struct cr_grade_policy *p, char *err,
                               size_t errlen)
{
    static const char *const names[] = {"-", "I", "II", "III", "IV"};
    if (who->role != CR_ROLE_ADMIN)
        REFUSE("only the administrator (管理方) confirms a level, not the %s role",
               cr_role_name(who->role));
    if (level < 1 || level > 4)
        REFUSE("a level is I, II, III or IV");
    if (cr_incident_state(inc) >= CR_ST_CLOSED)
        REFUSE("the incident is closed");
    const char *was = json_string_value(json_object_get(inc, "reg_level"));
    char from[8];
    snprintf(from, sizeof from, "%s", was ? was : "null");
    json_object_set_new(inc, "reg_level_confirmed", json_string(names[level]));
    json_object_set_new(inc, "confirmed_by", json_string(who->name));
    cr_json_set_time(inc, "confirmed_at", now_ms);
    json_object_set_new(inc, "reg_level", json_string(names[level]));
    cr_history_add(inc, now_ms, who->name, cr_role_name(who->role), "confirm_level", from,
                   names[level], note);
    cr_incident_set_deadlines(inc, p);
    return 0;
}

static int priority_of(const json_t *inc)
{
    const char *s = json_string_value(json_object_get(inc, "priority"));
    return s && s[0] == 'P' && s[1] >= '1' && s[1] <= '4' ? s[1] - '0' : 3;
}

static void due(json_t *inc, const char *key, int64_t base, int64_t span)
{
    cr_json_set_time(inc, key, base == CR_TIME_NONE || span <= 0 ? CR_TIME_NONE : base + span);
}

void cr_incident_set_deadlines(json_t *inc, const struct cr_grade_policy *p)
{
    int64_t det = cr_json_time(inc, "detected_at");
    int pr = priority_of(inc) - 1;
    due(inc, "respond_due", det, p->respond_ms[pr]);
    due(inc, "on_site_due", det, p->on_site_ms[pr]);
    due(inc, "restore_due", det, p->restore_ms[pr]);
    due(inc, "resolve_due", det, p->resolve_ms[pr]);
    int cii = json_is_true(json_object_get(inc, "cii"));
    if (reportable(inc, p)) {
        due(inc, "report_due", det, cii ? p->report_cii_ms : p->report_other_ms);
        json_object_set_new(inc, "report_route", json_string(cii ? "cii" : "provincial_cac"));
        due(inc, "summary_due", cr_json_time(inc, "closed_at"), p->summary_ms);
    } else {
        json_object_set_new(inc, "report_due", json_null());
        json_object_set_new(inc, "report_route", json_null());
        json_object_set_new(inc, "summary_due", json_null());
    }
}

json_t *cr_incident_overdue(const json_t *inc, int64_t now_ms)
{
    static const struct {
        const char *name, *due;
        int state; /* reaching it (or any later one) meets the deadline */
    } d[] = {
        {"respond", "respond_due", CR_ST_ACKNOWLEDGED},
        {"on_site", "on_site_due", CR_ST_ON_SITE},
        {"restore", "restore_due", CR_ST_RESTORED},
        {"resolve", "resolve_due", CR_ST_RESOLVED},
        {"report", "report_due", CR_ST_REPORTED},
        {"summary", "summary_due", CR_ST_SUMMARY_FILED},
    };
    json_t *out = json_array();
    for (size_t i = 0; i < sizeof d / sizeof *d; i++) {
        int64_t t = cr_json_time(inc, d[i].due);
        if (t == CR_TIME_NONE)
            continue;
        /* when the deadline's state was met: reaching it or any later one
         * (a fix without going on site meets on_site); only a report meets
         * the report deadline */
        int64_t reached = CR_TIME_NONE;
        int last = d[i].state == CR_ST_REPORTED ? CR_ST_REPORTED : CR_ST__N - 1;
        for (int k = d[i].state; k <= last; k++) {
            int64_t at = cr_json_time(inc, state_time[k]);
            if (at != CR_TIME_NONE && (reached == CR_TIME_NONE || at < reached))
                reached = at;
        }
        if (reached == CR_TIME_NONE ? now_ms > t : reached > t)
            json_array_append_new(out, json_string(d[i].name));
    }
    return out;
}
