/*
 * action.h - what a person does to a stored incident, as one value:
 * acknowledge it, move it, add a note, confirm its level, give a grading
 * input, grade it again. The command line (`corral incident`), the HTTP
 * API (engine/serve) and the running engine's writer (which applies the
 * API's actions inside its own write batch while `corral run` writes) all
 * describe an action with struct cr_action and apply it with
 * cr_action_store, so the rules (lifecycle.h) and the record of it (the
 * incident's history) cannot differ between them.
 *
 * Threading: none; the caller owns the store batch and the assessor.
 */
#ifndef CR_ACTION_H
#define CR_ACTION_H

#include "engine/grade/assess.h"
#include "engine/grade/lifecycle.h"
#include "engine/store/store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CR_ACTIONS(X)                                                                              \
    X(ACK, "ack")                                                                                  \
    X(TRANSITION, "transition")                                                                    \
    X(NOTE, "note")                                                                                \
    X(CONFIRM_LEVEL, "confirm-level")                                                              \
    X(INPUT, "input")                                                                              \
    X(REGRADE, "regrade")

enum cr_action_kind {
#define CR_ACTION_ENUM(id, name) CR_ACT_##id,
    CR_ACTIONS(CR_ACTION_ENUM)
#undef CR_ACTION_ENUM
        CR_ACT__N
};

struct cr_action {
    int kind;        /* enum cr_action_kind */
    char id[33];     /* the incident's full id */
    int state;       /* TRANSITION: enum cr_state */
    int level;       /* CONFIRM_LEVEL: 1..4 */
    char actor[64];  /* who (a token's name, --actor) */
    int role;        /* enum cr_role */
    char note[2048]; /* NOTE: the text; other moves: an optional note */
    char input[160]; /* INPUT: KEY=VALUE */
};

/* Results of cr_action_apply and cr_action_store. */
#define CR_ACTION_DONE 0
#define CR_ACTION_UNCHANGED 1    /* REGRADE: the grade did not move */
#define CR_ACTION_REFUSED (-1)   /* the lifecycle says no: the reason in err */
#define CR_ACTION_FORBIDDEN (-2) /* the role may never do this: the reason in err */
#define CR_ACTION_NOTFOUND (-3)
#define CR_ACTION_ERROR (-4) /* the store failed: the reason in err */

const char *cr_action_name(int kind);
/* -1 if unknown. */
int cr_action_parse(const char *name);

/* May `role` ever take this action, whatever the incident's state? 0 yes,
 * CR_ACTION_FORBIDDEN with the reason in err. (The lifecycle checks the
 * state; this is the part an API answers with 403.) */
int cr_action_permitted(const struct cr_action *a, char *err, size_t errlen);

/* Apply a to the incident object at now_ms. */
int cr_action_apply(json_t *inc, const struct cr_action *a, const struct cr_assessor *as,
                    int64_t now_ms, char *err, size_t errlen);

/* Read a->id from s, apply a, and put the result back (settled: a resumed
 * run must not roll an analyst's move back), inside the caller's open
 * write batch. On CR_ACTION_DONE or CR_ACTION_UNCHANGED, *json (if not
 * NULL) receives the incident as it now is (malloc'd, caller frees). */
int cr_action_store(struct cr_store *s, const struct cr_action *a, const struct cr_assessor *as,
                    int64_t now_ms, char **json, char *err, size_t errlen);

/* Put an edited incident object back (its index from its JSON), settled. */
int cr_action_put_back(struct cr_store *s, const json_t *inc);

#endif
