/*
 * test_lifecycle.c - the incident lifecycle (engine/grade/lifecycle.h):
 * every state reachable forward, every refusal with its reason, roles,
 * level confirmation, deadlines from the priority and level, and the
 * deadlines an incident has missed.
 */
#include "engine/grade/lifecycle.h"
#include "engine/grade/policy.h"
#include "base/event.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <string.h>

#define MIN (60 * 1000LL)
#define T0 1780000000000LL /* the detection time of every incident here */

static struct cr_grade_policy pol;
static const struct cr_actor op = {"li.wei", CR_ROLE_OPERATOR};
static const struct cr_actor admin = {"wang.fang", CR_ROLE_ADMIN};
static const struct cr_actor tenant = {"t-hr.zhao", CR_ROLE_TENANT};
static const struct cr_actor supervisor = {"jianli", CR_ROLE_SUPERVISOR};

static void setup(void) { cr_grade_policy_defaults(&pol); }
TestSuite(lifecycle, .init = setup);

static json_t *incident(const char *level, const char *prio)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string("0123456789abcdef0123456789abcdef"));
    json_object_set_new(o, "priority", json_string(prio));
    json_object_set_new(o, "reg_level", json_string(level));
    json_object_set_new(o, "status", json_string("detected"));
    cr_json_set_time(o, "detected_at", T0);
    cr_incident_set_deadlines(o, &pol);
    return o;
}

static int move(json_t *o, int to, const struct cr_actor *who, int64_t at, char *err)
{
    return cr_lifecycle_transition(o, to, who, NULL, at, &pol, err, 512);
}

Test(lifecycle, every_state_forward_for_a_reportable_incident)
{
    json_t *o = incident("III", "P1");
    char err[512];
    int64_t t = T0;
    for (int st = CR_ST_ACKNOWLEDGED; st <= CR_ST_SUMMARY_FILED; st++) {
        const struct cr_actor *who = st == CR_ST_VERIFIED ? &tenant : &op;
        cr_assert_eq(move(o, st, who, t += MIN, err), 0, "%s: %s", cr_state_name(st), err);
        cr_expect_str_eq(json_string_value(json_object_get(o, "status")), cr_state_name(st));
        cr_expect_eq(cr_json_time(o, cr_state_time_key(st)), t);
    }
    json_t *h = json_object_get(o, "history");
    cr_expect_eq(json_array_size(h), CR_ST__N - 1, "one history entry per move");
    json_t *last = json_array_get(h, json_array_size(h) - 1);
    cr_expect_str_eq(json_string_value(json_object_get(last, "from")), "closed");
    cr_expect_str_eq(json_string_value(json_object_get(last, "to")), "summary_filed");
    cr_expect_str_eq(json_string_value(json_object_get(last, "actor")), "li.wei");
    cr_expect_str_eq(json_string_value(json_object_get(last, "role")), "operator");
    /* closing started the 30-day summary clock */
    cr_expect_eq(cr_json_time(o, "summary_due"), cr_json_time(o, "closed_at") + 30 * 24 * 60 * MIN);
    json_decref(o);
}

Test(lifecycle, refusals_say_why_and_change_nothing)
{
    char err[512];
    json_t *o = incident("IV", "P3");
    char *before = json_dumps(o, JSON_SORT_KEYS);
    cr_expect_eq(move(o, CR_ST_REPORTED, &op, T0, err), -1);
    cr_expect(strstr(err, "reported applies only to level III and above"), "%s", err);
    cr_expect_eq(move(o, CR_ST_CLOSED, &op, T0, err), -1);
    cr_expect(strstr(err, "closed needs resolved first"), "%s", err);
    cr_expect_eq(move(o, CR_ST_VERIFIED, &tenant, T0, err), -1);
    cr_expect(strstr(err, "needs resolved first"), "%s", err);
    cr_expect_eq(move(o, CR_ST_ACKNOWLEDGED, &supervisor, T0, err), -1);
    cr_expect(strstr(err, "the supervisor role may not"), "%s", err);
    cr_expect_eq(move(o, CR_ST_ACKNOWLEDGED, &tenant, T0, err), -1);
    cr_expect_eq(cr_lifecycle_note(o, &supervisor, "x", T0, err, sizeof err), -1);
    cr_expect_eq(cr_lifecycle_confirm_level(o, 3, &op, NULL, T0, &pol, err, sizeof err), -1);
    cr_expect(strstr(err, "only the administrator"), "%s", err);
    char *after = json_dumps(o, JSON_SORT_KEYS);
    cr_expect_str_eq(before, after, "a refused move changes nothing");
    free(before);
    free(after);
    /* backwards and repeats */
    cr_assert_eq(move(o, CR_ST_RESOLVED, &op, T0 + MIN, err), 0, "%s", err);
    cr_expect_eq(move(o, CR_ST_ACKNOWLEDGED, &op, T0, err), -1);
    cr_expect(strstr(err, "cannot go back"), "%s", err);
    cr_expect_eq(move(o, CR_ST_RESOLVED, &op, T0, err), -1);
    cr_expect(strstr(err, "cannot go again"), "%s", err);
    /* skipping: a move past detected implies the acknowledgement */
    cr_expect_eq(cr_json_time(o, "acknowledged_at"), T0 + MIN);
    cr_assert_eq(move(o, CR_ST_CLOSED, &op, T0 + 2 * MIN, err), 0, "%s", err);
    cr_expect_eq(move(o, CR_ST_RESTORED, &admin, T0, err), -1);
    cr_expect(strstr(err, "cannot go back"), "%s", err);
    cr_expect_eq(move(o, CR_ST_SUMMARY_FILED, &op, T0, err), -1, "level IV files no summary");
    json_decref(o);

    /* a reportable incident is reported before it closes */
    o = incident("II", "P1");
    cr_assert_eq(move(o, CR_ST_RESOLVED, &op, T0 + MIN, err), 0, "%s", err);
    cr_expect_eq(move(o, CR_ST_CLOSED, &op, T0 + MIN, err), -1);
    cr_expect(strstr(err, "must be reported before it is closed"), "%s", err);
    json_decref(o);
}

Test(lifecycle, confirmation_overrides_the_proposal_and_moves_the_report_clock)
{
    char err[512];
    json_t *o = incident("IV", "P3");
    json_object_set_new(o, "reg_level_proposed", json_string("IV"));
    cr_expect(json_is_null(json_object_get(o, "report_due")), "level IV: no report");
    cr_assert_eq(cr_lifecycle_confirm_level(o, 3, &admin, "citizens affected", T0 + MIN, &pol, err,
                                            sizeof err),
                 0, "%s", err);
    cr_expect_str_eq(json_string_value(json_object_get(o, "reg_level")), "III");
    cr_expect_str_eq(json_string_value(json_object_get(o, "reg_level_proposed")), "IV");
    cr_expect_str_eq(json_string_value(json_object_get(o, "reg_level_confirmed")), "III");
    cr_expect_str_eq(json_string_value(json_object_get(o, "confirmed_by")), "wang.fang");
    cr_expect_eq(cr_json_time(o, "confirmed_at"), T0 + MIN);
    /* the report clock runs from detection, not confirmation: 4 h (not CII) */
    cr_expect_eq(cr_json_time(o, "report_due"), T0 + 240 * MIN);
    json_object_set(o, "cii", json_true());
    cr_incident_set_deadlines(o, &pol);
    cr_expect_eq(cr_json_time(o, "report_due"), T0 + 60 * MIN, "CII: 1 h");
    cr_expect_str_eq(json_string_value(json_object_get(o, "report_route")), "cii");
    json_decref(o);
}

Test(lifecycle, deadlines_follow_the_priority_targets)
{
    static const struct {
        const char *prio;
        int64_t respond, restore, resolve;
    } want[] = {{"P1", 15, 120, 240}, {"P2", 30, 240, 1440}, {"P3", 120, 480, 4320}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        json_t *o = incident("IV", want[i].prio);
        cr_expect_eq(cr_json_time(o, "respond_due"), T0 + want[i].respond * MIN, "%s",
                     want[i].prio);
        cr_expect_eq(cr_json_time(o, "restore_due"), T0 + want[i].restore * MIN);
        cr_expect_eq(cr_json_time(o, "resolve_due"), T0 + want[i].resolve * MIN);
        json_decref(o);
    }
    json_t *o = incident("IV", "P4");
    cr_expect(json_is_null(json_object_get(o, "restore_due")), "P4 has no restore target");
    json_decref(o);
}

static int overdue_has(json_t *o, int64_t now, const char *name)
{
    json_t *od = cr_incident_overdue(o, now);
    int found = 0;
    for (size_t i = 0; i < json_array_size(od); i++)
        found |= !strcmp(json_string_value(json_array_get(od, i)), name);
    json_decref(od);
    return found;
}

Test(lifecycle, overdue_deadlines)
{
    char err[512];
    json_t *o = incident("III", "P1");
    cr_expect(!overdue_has(o, T0 + 10 * MIN, "respond"), "on time so far");
    cr_expect(overdue_has(o, T0 + 16 * MIN, "respond"), "P1: 15 min to acknowledge");
    cr_expect(!overdue_has(o, T0 + 16 * MIN, "report"));
    cr_expect(overdue_has(o, T0 + 241 * MIN, "report"), "reportable: 4 h");
    /* acknowledged late is still a breach; restored in time is not */
    cr_assert_eq(move(o, CR_ST_ACKNOWLEDGED, &op, T0 + 20 * MIN, err), 0, "%s", err);
    cr_expect(overdue_has(o, T0 + 21 * MIN, "respond"));
    cr_assert_eq(move(o, CR_ST_RESTORED, &op, T0 + 100 * MIN, err), 0, "%s", err);
    cr_expect(!overdue_has(o, T0 + 300 * MIN, "restore"));
    /* nobody on site and nothing restored by the 30-minute on-site target: a breach */
    cr_expect(overdue_has(o, T0 + 300 * MIN, "on_site"));
    cr_expect(overdue_has(o, T0 + 300 * MIN, "resolve"), "P1: resolve in 4 h");
    json_decref(o);
    /* fixed remotely before the on-site target: met */
    o = incident("IV", "P1");
    cr_assert_eq(move(o, CR_ST_RESTORED, &op, T0 + 25 * MIN, err), 0, "%s", err);
    cr_expect(!overdue_has(o, T0 + 300 * MIN, "on_site"));
    json_decref(o);
}
