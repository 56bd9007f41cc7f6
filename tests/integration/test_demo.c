/*
 * test_demo.c - the README's first command's main step, `corral demo`, on
 * the bundled sample (gen_corpus seed 42, as bench/demo.sh makes it): an
 * embedded Kafka-protocol broker on loopback, the engine as a consumer,
 * and incidents graded with the sample's inventory: levels, priorities,
 * deadlines, a reportable incident and a grouped root cause.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(demo, the_sample_shows_graded_incidents_and_a_root_cause, .timeout = 300)
{
    char *tmp = cr_test_tmpdir(), cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "'%s' --seed 42 --lines 100000 --bad --out '%s/sample.log' --truth '%s/t.jsonl'",
             CORRAL_GEN_CORPUS, tmp, tmp);
    cr_assert_eq(cr_test_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' demo --sample '%s/sample.log' --store '%s/store' --partitions 6 "
             "2>/dev/null",
             CORRAL_SOURCE_DIR, CORRAL_BINARY, tmp, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", out ? out : "");
    /* the table with level, priority and status */
    cr_expect(strstr(out, "PRIO LEVEL STATUS"), "%s", out);
    const char *g = strstr(out, "== graded");
    cr_assert(g, "%s", out);
    /* a compromised host of the CII social-security system: III, P1, 1 h report route */
    cr_expect(strstr(g, "SSH login accepted from a brute-forcing source  level III, P1"), "%s", g);
    cr_expect(strstr(g, "report (cii) by"), "%s", g);
    /* a distribution switch flapping, the access switch below it grouped under it */
    cr_expect(strstr(g, "Interface flapping  level IV, P2"), "%s", g);
    cr_expect(strstr(g, "root cause of 1 incident(s), grouped under it"), "%s", g);
    cr_expect(strstr(g, "respond by "), "%s", g);
    free(out);
    cr_test_rmtree(tmp);
    free(tmp);
}
