/*
 * lifecycle.h - an incident's life after detection (DOMAIN.md (b),
 * GB/T 28827.3's phases): states, who may move it, and the record of every
 * move.
 *
 *   detected -> acknowledged -> graded -> reported -> on_site -> mitigated
 *            -> restored -> resolved -> verified_by_tenant -> closed
 *            -> summary_filed
 *
 * Moves go forward only, and may skip a state that does not apply (a
 * level IV incident is never `reported`; a remote fix has no `on_site`),
 * with these exceptions, each refused with the reason:
 *  - `reported` and `summary_filed` only for a reportable level (III and
 *    above, the policy's reporting.min_level);
 *  - a reportable incident cannot be closed before it was reported;
 *  - `verified_by_tenant` and `closed` only after `resolved`;
 *  - nothing moves a closed incident but `summary_filed`.
 *
 * Roles (DOMAIN.md's 1-N-1-1): the administrator (管理方) may do anything,
 * and alone confirms a level; the operator (服务方) acknowledges and moves
 * incidents up to `closed`; a tenant (使用方) verifies and adds notes; the
 * supervisor (监理方) reads only. Every action appends one entry to the
 * incident's `history`: {at, actor, role, action, from, to, note}; a
 * level change also records the levels.
 *
 * These functions edit an incident's stored JSON object (jansson), so the
 * command line (`corral incident`) and the HTTP API take one code path.
 *
 * Threading: none; the caller owns the object.
 */
#ifndef CR_LIFECYCLE_H
#define CR_LIFECYCLE_H

#include "engine/grade/policy.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CR_LIFECYCLE_STATES(X)                                                                     \
    X(DETECTED, "detected")                                                                        \
    X(ACKNOWLEDGED, "acknowledged")                                                                \
    X(GRADED, "graded")                                                                            \
    X(REPORTED, "reported")                                                                        \
    X(ON_SITE, "on_site")                                                                          \
    X(MITIGATED, "mitigated")                                                                      \
    X(RESTORED, "restored")                                                                        \
    X(RESOLVED, "resolved")                                                                        \
    X(VERIFIED, "verified_by_tenant")                                                              \
    X(CLOSED, "closed")                                                                            \
    X(SUMMARY_FILED, "summary_filed")

enum cr_state {
#define CR_STATE_ENUM(id, name) CR_ST_##id,
    CR_LIFECYCLE_STATES(CR_STATE_ENUM)
#undef CR_STATE_ENUM
        CR_ST__N
};

enum cr_role { CR_ROLE_ADMIN, CR_ROLE_OPERATOR, CR_ROLE_TENANT, CR_ROLE_SUPERVISOR, CR_ROLE__N };

const char *cr_state_name(int st);
/* -1 if unknown. */
int cr_state_parse(const char *s);
const char *cr_role_name(int role);
/* "administrator", "operator", "tenant", "supervisor"; -1 if unknown. */
int cr_role_parse(const char *s);

/* The incident's state (its `status`; detected when absent or unknown). */
int cr_incident_state(const json_t *inc);
/* The member where a state's time is kept ("acknowledged_at", ...). */
const char *cr_state_time_key(int st);

struct cr_actor {
    const char *name; /* who: a user name */
    int role;         /* enum cr_role */
};

/* Move inc to state `to` at now_ms with an optional note. Returns 0, or -1
 * with the reason in err (nothing changed). */
int cr_lifecycle_transition(json_t *inc, int to, const struct cr_actor *who, const char *note,
                            int64_t now_ms, const struct cr_grade_policy *p, char *err,
                            size_t errlen);
/* Add a note. */
int cr_lifecycle_note(json_t *inc, const struct cr_actor *who, const char *note, int64_t now_ms,
                      char *err, size_t errlen);
/* The administrator confirms (or corrects) the level: reg_level_confirmed,
 * confirmed_by, confirmed_at; reg_level becomes it; report_due follows. */
int cr_lifecycle_confirm_level(json_t *inc, int level, const struct cr_actor *who, const char *note,
                               int64_t now_ms, const struct cr_grade_policy *p, char *err,
                               size_t errlen);

/* Append a history entry (the building block of the above and of
 * re-grading). level_from/level_to 0: not a level change. */
void cr_history_add(json_t *inc, int64_t at_ms, const char *actor, const char *role,
                    const char *action, const char *from, const char *to, const char *note);

/* The deadlines inc has missed at now_ms, as a JSON array of names
 * ("respond", "on_site", "restore", "resolve", "report", "summary"): a due
 * time in the past whose state was not reached. New reference. */
json_t *cr_incident_overdue(const json_t *inc, int64_t now_ms);

/* Set the deadline members from detected_at, the priority, the level and
 * the closing time (respond_due, on_site_due, restore_due, resolve_due,
 * report_due, report_route, summary_due). */
void cr_incident_set_deadlines(json_t *inc, const struct cr_grade_policy *p);

/* RFC 3339 time members: parse to ms (CR_TIME_NONE if absent or null) and
 * set (CR_TIME_NONE sets null). */
int64_t cr_json_time(const json_t *obj, const char *key);
void cr_json_set_time(json_t *obj, const char *key, int64_t ms);

#endif
