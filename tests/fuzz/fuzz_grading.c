/*
 * fuzz_grading.c - the grading layer on what it reads from outside: a
 * grading policy file (engine/grade/policy.c over base/yaml_doc.c), and a
 * stored incident's JSON, which grading, the lifecycle, the deadlines and
 * the OCSF mapping read back (engine/grade/{assess,lifecycle}.c,
 * engine/store/ocsf.c). A store written by an older corral, or edited by
 * hand, must not crash `corral incident`, `corral query` or the writer.
 *
 * An input that starts with '{' is an incident: it is assessed as a new
 * version over itself, graded again an hour later, moved to every state by
 * an administrator, confirmed, checked for overdue deadlines and mapped to
 * OCSF; after assessing, its level and priority must be valid. Any other
 * input is a policy file: refused with a reason, or accepted with its
 * invariants (rungs 1-8 and increasing, tier.unknown 1-3).
 */
#include "fuzz_common.h"
#include "engine/grade/assess.h"
#include "engine/grade/lifecycle.h"
#include "engine/store/incident.h"
#include "engine/store/ocsf.h"

#include <string.h>

static int valid_level(const char *s)
{
    return s && (!strcmp(s, "I") || !strcmp(s, "II") || !strcmp(s, "III") || !strcmp(s, "IV"));
}

static void incident(const uint8_t *data, size_t size)
{
    json_t *o = json_loadb((const char *)data, size, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return;
    }
    struct cr_assessor a = {.inv = NULL};
    cr_grade_policy_defaults(&a.policy);
    json_t *v = json_deep_copy(o);
    cr_assess(&a, v, o, FUZZ_REFERENCE_MS);
    FUZZ_ASSERT(valid_level(json_string_value(json_object_get(v, "reg_level_proposed"))));
    const char *pr = json_string_value(json_object_get(v, "priority"));
    FUZZ_ASSERT(pr && pr[0] == 'P' && pr[1] >= '1' && pr[1] <= '4' && !pr[2]);
    cr_assess_regrade(&a, v, FUZZ_REFERENCE_MS + 3600000, NULL);
    struct cr_actor admin = {"fuzz", CR_ROLE_ADMIN};
    char err[512];
    cr_lifecycle_confirm_level(v, 3, &admin, "n", FUZZ_REFERENCE_MS, &a.policy, err, sizeof err);
    for (int st = 0; st < CR_ST__N; st++)
        if (cr_lifecycle_transition(v, st, &admin, NULL, FUZZ_REFERENCE_MS, &a.policy, err,
                                    sizeof err) != 0)
            FUZZ_ASSERT(err[0] != 0);
    json_decref(cr_incident_overdue(v, FUZZ_REFERENCE_MS + 86400000));
    json_decref(cr_incident_overdue(o, FUZZ_REFERENCE_MS));
    json_t *oc = cr_incident_to_ocsf(o);
    char *t = oc ? json_dumps(oc, JSON_COMPACT) : NULL;
    free(t);
    json_decref(oc);
    struct cr_incident idx;
    cr_incident_index_from_json(o, &idx);
    json_decref(v);
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size && data[0] == '{') {
        incident(data, size);
        return 0;
    }
    struct cr_grade_policy p;
    cr_grade_policy_defaults(&p);
    char err[8192];
    if (cr_grade_policy_load_string("grading.yaml", (const char *)data, size, &p, err,
                                    sizeof err) != 0) {
        FUZZ_ASSERT(err[0] != 0);
        return 0;
    }
    FUZZ_ASSERT(p.nrungs >= 1 && p.nrungs <= CR_GRADE_MAX_RUNGS);
    for (int i = 1; i < p.nrungs; i++)
        FUZZ_ASSERT(p.rungs_ms[i] > p.rungs_ms[i - 1]);
    FUZZ_ASSERT(p.unknown_tier >= 1 && p.unknown_tier <= 3);
    return 0;
}
