/*
 * rules_fixture.h - compile a rule set from YAML text written in a test.
 *
 * The tests of the correlator and of checkpoints describe their rules
 * inline; this writes the text to DIR/name and loads it, failing the test
 * with the loader's `file:line: reason` if it does not compile. The caller
 * frees the ruleset with cr_ruleset_free.
 */
#ifndef CR_RULES_FIXTURE_H
#define CR_RULES_FIXTURE_H

#include "rules/ruleset.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static inline struct cr_ruleset *cr_test_rules(const char *dir, const char *name, const char *yaml)
{
    char path[4200], err[4096] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(cr_test_write_file(path, yaml, strlen(yaml)), 0, "cannot write %s", path);
    const char *paths[] = {path};
    struct cr_ruleset *rs = cr_ruleset_load(paths, 1, NULL, err, sizeof err);
    cr_assert(rs != NULL, "%s", err);
    return rs;
}

#endif
