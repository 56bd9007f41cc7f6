/*
 * action.c - see action.h. The analyst's grading inputs live here (moved
 * from the command line) because the API takes the same ones.
 */
#include "engine/grade/action.h"

#include "base/impact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
#define CR_ACTION_NAME(id, name) name,
    CR_ACTIONS(CR_ACTION_NAME)
#undef CR_ACTION_NAME
};

const char *cr_action_name(int kind) { return kind >= 0 && kind < CR_ACT__N ? names[kind] : "?"; }

int cr_action_parse(const char *name)
{
    for (int i = 0; name && i < CR_ACT__N; i++)
        if (!strcmp(name, names[i]))
            return i;
    return -1;
}

#define FORBID(...)                                                                                \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return CR_ACTION_FORBIDDEN;                                                                \
    } while (0)

int cr_action_permitted(const struct cr_action *a, char *err, size_t errlen)
{
    const char *role = cr_role_name(a->role);
    if (a->role < 0 || a->role >= CR_ROLE__N)
        FORBID("unknown role");
    if (a->role == CR_ROLE_SUPERVISOR)
        FORBID("the supervisor role may not act on incidents: the supervisor (监理方) reads and "
               "audits");
    switch (a->kind) {
    case CR_ACT_ACK:
        if (a->role == CR_ROLE_TENANT)
            FORBID("the %s role may not acknowledge an incident", role);
        return 0;
    case CR_ACT_TRANSITION:
        if (a->role == CR_ROLE_TENANT && a->state != CR_ST_VERIFIED)
            FORBID("the tenant role may only verify a resolved incident (verified_by_tenant)");
        if (a->role == CR_ROLE_OPERATOR && a->state == CR_ST_VERIFIED)
            FORBID("verified_by_tenant is the tenant's (or the administrator's) to give");
        return 0;
    case CR_ACT_NOTE:
        return 0;
    case CR_ACT_CONFIRM_LEVEL:
        if (a->role != CR_ROLE_ADMIN)
            FORBID("only the administrator (管理方) confirms a level, not the %s role", role);
        return 0;
    case CR_ACT_INPUT:
    case CR_ACT_REGRADE:
        if (a->role != CR_ROLE_ADMIN && a->role != CR_ROLE_OPERATOR)
            FORBID("the %s role may not change grading inputs", role);
        return 0;
    default:
        FORBID("unknown action");
    }
}

/* INPUT KEY=VALUE: a grading input only an analyst knows, recorded in the
 * history, then the incident graded again (levels only go up). */
static int analyst_input(json_t *o, const struct cr_action *a, const struct cr_assessor *as,
                         int64_t now, char *err, size_t errlen)
{
    const char *kv = a->input, *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        snprintf(err, errlen, "expected KEY=VALUE, not '%s'", kv);
        return CR_ACTION_REFUSED;
    }
    char key[32];
    snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
    const char *val = eq + 1;
    char *end;
    long long n = strtoll(val, &end, 10);
    int isnum = *val >= '0' && *val <= '9' && !*end;
    json_t *im = json_object_get(o, "impact");
    int known = (!strcmp(key, "economic_loss_cny") && isnum) ||
                (!strcmp(key, "pi_records") && isnum) ||
                (!strcmp(key, "outage") && cr_outage_parse(val) >= 0) ||
                (!strcmp(key, "data") && cr_data_impact_parse(val) >= 0);
    if (!known) {
        snprintf(err, errlen,
                 "unknown input '%s' (economic_loss_cny=N, pi_records=N, "
                 "outage=none|degraded|main|full, data=important|key_leaked|key_tampered|"
                 "key_destroyed)",
                 kv);
        return CR_ACTION_REFUSED;
    }
    if (!json_is_object(im)) {
        im = json_object();
        json_object_set_new(o, "impact", im);
    }
    if (!strcmp(key, "economic_loss_cny"))
        json_object_set_new(o, "economic_loss_cny", json_integer(n));
    else if (!strcmp(key, "pi_records"))
        json_object_set_new(im, "records", json_integer(n));
    else
        json_object_set_new(im, key, json_string(val));
    cr_history_add(o, now, a->actor, cr_role_name(a->role), "input", NULL, kv, NULL);
    cr_assess_regrade(as, o, now, "analyst input");
    return CR_ACTION_DONE;
}

int cr_action_apply(json_t *inc, const struct cr_action *a, const struct cr_assessor *as,
                    int64_t now_ms, char *err, size_t errlen)
{
    int rc = cr_action_permitted(a, err, errlen);
    if (rc)
        return rc;
    struct cr_actor who = {a->actor, a->role};
    const char *note = a->note[0] ? a->note : NULL;
    const struct cr_grade_policy *p = &as->policy;
    switch (a->kind) {
    case CR_ACT_ACK:
        rc = cr_lifecycle_transition(inc, CR_ST_ACKNOWLEDGED, &who, note, now_ms, p, err, errlen);
        break;
    case CR_ACT_TRANSITION:
        rc = cr_lifecycle_transition(inc, a->state, &who, note, now_ms, p, err, errlen);
        break;
    case CR_ACT_NOTE:
        rc = cr_lifecycle_note(inc, &who, note, now_ms, err, errlen);
        break;
    case CR_ACT_CONFIRM_LEVEL:
        rc = cr_lifecycle_confirm_level(inc, a->level, &who, note, now_ms, p, err, errlen);
        break;
    case CR_ACT_INPUT:
        return analyst_input(inc, a, as, now_ms, err, errlen);
    case CR_ACT_REGRADE:
        return cr_assess_regrade(as, inc, now_ms, "time passed") ? CR_ACTION_DONE
                                                                 : CR_ACTION_UNCHANGED;
    }
    return rc ? CR_ACTION_REFUSED : CR_ACTION_DONE;
}

int cr_action_put_back(struct cr_store *s, const json_t *inc)
{
    struct cr_incident idx;
    char *j = json_dumps(inc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    int rc = !j || cr_incident_index_from_json(inc, &idx) != 0 ||
             cr_store_put_incident(s, &idx, j, strlen(j)) != 0 ||
             cr_store_settle_incident(s, idx.id) != 0;
    free(j);
    return rc ? -1 : 0;
}

int cr_action_store(struct cr_store *s, const struct cr_action *a, const struct cr_assessor *as,
                    int64_t now_ms, char **json, char *err, size_t errlen)
{
    if (json)
        *json = NULL;
    int rc = cr_action_permitted(a, err, errlen);
    if (rc)
        return rc;
    char *stored = NULL;
    rc = cr_store_get_incident(s, a->id, &stored, NULL);
    if (rc == CR_STORE_NOTFOUND) {
        snprintf(err, errlen, "no incident %s", a->id);
        return CR_ACTION_NOTFOUND;
    }
    json_t *o = rc == 0 ? json_loads(stored, 0, NULL) : NULL;
    free(stored);
    if (!o) {
        snprintf(err, errlen, "%s: cannot read it: %s", a->id,
                 rc ? cr_store_errmsg(s) : "stored JSON does not parse");
        return CR_ACTION_ERROR;
    }
    rc = cr_action_apply(o, a, as, now_ms, err, errlen);
    if (rc == CR_ACTION_DONE && cr_action_put_back(s, o) != 0) {
        snprintf(err, errlen, "%s: writing it: %s", a->id, cr_store_errmsg(s));
        rc = CR_ACTION_ERROR;
    }
    if ((rc == CR_ACTION_DONE || rc == CR_ACTION_UNCHANGED) && json)
        *json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return rc;
}
