/*
 * test_grade.c - DOMAIN.md (b) grading (engine/grade/grade.h): the four
 * worked examples as golden cases at each rung, each social-impact trigger
 * row, the matrix, the priority floor the level implies, and the policy
 * file (every [P] number configurable; bad files refused with file:line).
 */
#include "engine/grade/grade.h"
#include "engine/grade/policy.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)

static struct cr_grade_policy pol;

static void setup(void) { cr_grade_policy_defaults(&pol); }

TestSuite(grade, .init = setup);

static struct cr_grade grade(const char *cat, int rule_pr, struct cr_impact im, int64_t dur,
                             const struct cr_grade_system *sys, int nsys, int ntenants)
{
    struct cr_grade_input in = {.category = cat,
                                .rule_priority = rule_pr,
                                .impact = im,
                                .duration_ms = dur,
                                .systems = sys,
                                .nsystems = nsys,
                                .ntenants = ntenants};
    struct cr_grade g;
    cr_grade_compute(&pol, &in, &g);
    return g;
}

static int has_reason(const struct cr_grade *g, const char *needle)
{
    for (int i = 0; i < g->nreasons; i++)
        if (strstr(g->reasons[i], needle))
            return 1;
    return 0;
}

static void dump(const struct cr_grade *g)
{
    for (int i = 0; i < g->nreasons; i++)
        fprintf(stderr, "  reason: %s\n", g->reasons[i]);
}

/* Example 1: a municipal portal (T2, city portal) down because of a storage
 * fault. 30 min: L3 -> IV, the portal rule gives IV, P2. 2 h: L2 -> III,
 * the portal rule III, reportable, P1. 6 h: II. */
Test(grade, worked_example_1_city_portal_down_on_a_storage_fault)
{
    struct cr_impact im;
    cr_impact_defaults(&im, "F-STO-UNAV");
    cr_assert_eq(im.outage, CR_OUTAGE_FULL);
    struct cr_grade_system portal = {.id = "portal", .tier = 2, .portal = 1};
    struct cr_grade g = grade("F-STO-UNAV", 3, im, 20 * MIN, &portal, 1, 1);
    cr_expect_eq(g.level, 4, "20 min: %d", g.level);
    cr_expect_eq(g.priority, 2, "a T2 system in full outage is P2");
    g = grade("F-STO-UNAV", 3, im, 30 * MIN, &portal, 1, 1);
    dump(&g);
    cr_expect_eq(g.loss, 3);
    cr_expect_eq(g.level, 4);
    cr_expect_eq(g.priority, 2);
    cr_expect(!g.reportable);
    cr_expect(has_reason(&g, "trigger: city portal portal unreachable for 30m -> IV"));
    g = grade("F-STO-UNAV", 3, im, 2 * HOUR, &portal, 1, 1);
    dump(&g);
    cr_expect_eq(g.loss, 2);
    cr_expect_eq(g.level, 3);
    cr_expect(g.reportable);
    cr_expect_eq(g.priority, 1);
    cr_expect(has_reason(&g, "matrix T2 x L2 -> III"));
    g = grade("F-STO-UNAV", 3, im, 6 * HOUR, &portal, 1, 1);
    cr_expect_eq(g.loss, 1);
    cr_expect_eq(g.level, 2);
    cr_expect_eq(g.priority, 1);
}

/* Example 2: ransomware on 3 VMs of a 等保二级 (T3) system, restored from
 * backup: L2 (ransomware on production) -> IV; P1 because ransomware on
 * production is a P1 criterion. */
Test(grade, worked_example_2_ransomware_on_a_tier_3_system)
{
    struct cr_impact im;
    cr_impact_defaults(&im, "S-MAL-RANS");
    im.compromised = 1;
    struct cr_grade_system sys = {.id = "clinic", .tier = 3, .hosts = 12, .compromised = 3};
    struct cr_grade g = grade("S-MAL-RANS", 3, im, 3 * HOUR, &sys, 1, 1);
    dump(&g);
    cr_expect_eq(g.loss, 2);
    cr_expect_eq(g.level, 4);
    cr_expect_eq(g.priority, 1);
    cr_expect(has_reason(&g, "ransomware on production"));
}

/* Example 3: 1.2 million citizens' records leaked from any system: III
 * (2025 final), reportable, P1. */
Test(grade, worked_example_3_personal_information_leak)
{
    struct cr_impact im;
    cr_impact_defaults(&im, "S-DATA-LEAK");
    im.measure = CR_MEASURE_RECORDS;
    struct cr_grade_input in = {.category = "S-DATA-LEAK",
                                .rule_priority = 3,
                                .impact = im,
                                .has_measure = 1,
                                .measure = 1200000};
    struct cr_grade g;
    cr_grade_compute(&pol, &in, &g);
    dump(&g);
    cr_expect_eq(g.level, 3);
    cr_expect(g.reportable);
    cr_expect_eq(g.priority, 1);
}

/* Example 4: mains lost with the UPS at 40 min runtime and the generator
 * starting: F-FAC-PWR, P2; the generator fails and runtime falls to 15
 * min or less: P1. */
Test(grade, worked_example_4_mains_lost_then_ups_runtime_low)
{
    struct cr_impact im;
    cr_impact_defaults(&im, "F-FAC-PWR");
    im.measure = CR_MEASURE_RUNTIME;
    struct cr_grade_system rack = {.id = "rack-a", .tier = 2};
    struct cr_grade_input in = {.category = "F-FAC-PWR",
                                .rule_priority = 3,
                                .impact = im,
                                .has_measure = 1,
                                .measure = 40,
                                .systems = &rack,
                                .nsystems = 1,
                                .ntenants = 1};
    struct cr_grade g;
    cr_grade_compute(&pol, &in, &g);
    cr_expect_eq(g.priority, 2);
    cr_expect_eq(g.level, 4);
    in.measure = 15;
    cr_grade_compute(&pol, &in, &g);
    dump(&g);
    cr_expect_eq(g.priority, 1);
    cr_expect(has_reason(&g, "UPS runtime 15 min"));
}

/* The matrix row by row, through full outages at each loss rung. */
Test(grade, matrix_of_tier_and_loss)
{
    static const int want[3][4] = {{1, 2, 3, 4}, {2, 3, 4, 4}, {3, 4, 4, 4}};
    static const int64_t dur[4] = {6 * HOUR, 2 * HOUR, 30 * MIN, 5 * MIN};
    struct cr_impact im = {.outage = CR_OUTAGE_FULL};
    for (int t = 1; t <= 3; t++)
        for (int l = 1; l <= 4; l++) {
            struct cr_grade_system s = {.id = "s", .tier = t};
            struct cr_grade g = grade("F-APP-DOWN", 4, im, dur[l - 1], &s, 1, 1);
            cr_expect_eq(g.loss, l, "T%d at rung %d: loss %d", t, l, g.loss);
            cr_expect_eq(g.level, want[t - 1][l - 1], "T%d L%d: level %d", t, l, g.level);
            /* the priority is never below what the level implies */
            cr_expect(g.priority <= (g.level <= 3 ? 1 : 3));
        }
}

/* Each trigger row of step 3, at its rungs. */
Test(grade, trigger_rows)
{
    struct cr_impact leak = {.measure = CR_MEASURE_RECORDS};
    static const struct {
        int64_t records;
        int level;
    } pi[] = {{100000000, 1}, {10000000, 2}, {1000000, 3}, {100000, 4}, {50, 4}};
    for (size_t i = 0; i < sizeof pi / sizeof *pi; i++) {
        struct cr_grade_input in = {
            .category = "S-DATA-LEAK", .impact = leak, .has_measure = 1, .measure = pi[i].records};
        struct cr_grade g;
        cr_grade_compute(&pol, &in, &g);
        cr_expect_eq(g.level, pi[i].level, "%lld records: %d", (long long)pi[i].records, g.level);
    }
    /* portal unreachable: provincial >= 24 h I; city >= 6 h II, >= 2 h III; any >= 30 min IV */
    struct cr_impact down = {.outage = CR_OUTAGE_FULL};
    struct cr_grade_system prov = {.id = "gov-portal", .tier = 3, .portal = 2};
    struct cr_grade_system city = {.id = "city-portal", .tier = 3, .portal = 1};
    cr_expect_eq(grade("F-APP-DOWN", 4, down, 24 * HOUR, &prov, 1, 1).level, 1);
    cr_expect_eq(grade("F-APP-DOWN", 4, down, 23 * HOUR, &prov, 1, 1).level, 2);
    cr_expect_eq(grade("F-APP-DOWN", 4, down, 6 * HOUR, &city, 1, 1).level, 2);
    cr_expect_eq(grade("F-APP-DOWN", 4, down, 2 * HOUR, &city, 1, 1).level, 3);
    cr_expect_eq(grade("F-APP-DOWN", 4, down, 30 * MIN, &city, 1, 1).level, 4);
    /* CII whole / main function: >= 6 h / 24 h I; 2 h / 6 h II; 30 min / 2 h III */
    struct cr_grade_system cii = {.id = "payroll", .tier = 3, .cii = 1};
    cr_expect_eq(grade("F-APP-DOWN", 4, down, 6 * HOUR, &cii, 1, 1).level, 1);
    cr_expect_eq(grade("F-APP-DOWN", 4, down, 2 * HOUR, &cii, 1, 1).level, 2);
    cr_expect_eq(grade("F-APP-DOWN", 4, down, 30 * MIN, &cii, 1, 1).level, 3);
    struct cr_impact main_fn = {.outage = CR_OUTAGE_MAIN};
    cr_expect_eq(grade("F-APP-DEG", 4, main_fn, 24 * HOUR, &cii, 1, 1).level, 1);
    cr_expect_eq(grade("F-APP-DEG", 4, main_fn, 6 * HOUR, &cii, 1, 1).level, 2);
    cr_expect_eq(grade("F-APP-DEG", 4, main_fn, 2 * HOUR, &cii, 1, 1).level, 3);
    /* defacement: home >= 6 h / 2 h / 30 min; other >= 24 h / 12 h / 2 h; any: IV */
    struct cr_grade_system page = {.id = "site", .tier = 3};
    struct cr_impact home = {.deface = CR_DEFACE_HOME}, other = {.deface = CR_DEFACE_OTHER};
    cr_expect_eq(grade("S-ATK-DEFACE", 4, home, 6 * HOUR, &page, 1, 1).level, 1);
    cr_expect_eq(grade("S-ATK-DEFACE", 4, home, 2 * HOUR, &page, 1, 1).level, 2);
    cr_expect_eq(grade("S-ATK-DEFACE", 4, home, 30 * MIN, &page, 1, 1).level, 3);
    cr_expect_eq(grade("S-ATK-DEFACE", 4, other, 24 * HOUR, &page, 1, 1).level, 1);
    cr_expect_eq(grade("S-ATK-DEFACE", 4, other, 12 * HOUR, &page, 1, 1).level, 2);
    cr_expect_eq(grade("S-ATK-DEFACE", 4, other, 2 * HOUR, &page, 1, 1).level, 3);
    struct cr_grade g = grade("S-ATK-DEFACE", 4, other, 1 * MIN, &page, 1, 1);
    cr_expect_eq(g.level, 4);
    cr_expect_eq(g.priority, 2, "defacement detected is P2");
    /* economic loss: >= 100 M I, 20 M II, 5 M III */
    struct cr_grade_input in = {.category = "S-ATK-EXPL", .economic_loss_cny = 20000000};
    cr_grade_compute(&pol, &in, &g);
    cr_expect_eq(g.level, 2);
}

/* Priority criteria on counts and facilities. */
Test(grade, priority_criteria)
{
    struct cr_impact none = {0};
    struct cr_grade_system s[20];
    for (int i = 0; i < 20; i++)
        s[i] = (struct cr_grade_system){.id = "s", .tier = 3};
    cr_expect_eq(grade("F-NET-DEV", 4, none, 0, s, 20, 1).priority, 1, "20 systems: P1");
    cr_expect_eq(grade("F-NET-DEV", 4, none, 0, s, 5, 1).priority, 2, "5 systems: P2");
    cr_expect_eq(grade("F-NET-DEV", 4, none, 0, s, 1, 10).priority, 1, "10 tenants: P1");
    cr_expect_eq(grade("F-NET-DEV", 4, none, 0, s, 1, 3).priority, 2, "3 tenants: P2");
    struct cr_impact fire = {.fire = 1};
    cr_expect_eq(grade("F-FAC-FIRE", 4, fire, 0, s, 1, 1).priority, 1);
    struct cr_impact hot = {.measure = CR_MEASURE_TEMPERATURE};
    struct cr_grade_input in = {.category = "F-FAC-ENV",
                                .rule_priority = 4,
                                .impact = hot,
                                .has_measure = 1,
                                .measure = 29};
    struct cr_grade g;
    cr_grade_compute(&pol, &in, &g);
    cr_expect_eq(g.priority, 2, "inlet 29 °C: P2");
    in.measure = 33;
    cr_grade_compute(&pol, &in, &g);
    cr_expect_eq(g.priority, 1, "inlet 33 °C: P1");
    /* a T1 system in full outage is P1 at once */
    struct cr_grade_system t1 = {.id = "ss", .tier = 1};
    struct cr_impact down = {.outage = CR_OUTAGE_FULL};
    g = grade("F-APP-DOWN", 4, down, 1 * MIN, &t1, 1, 1);
    cr_expect_eq(g.priority, 1);
    /* the rule's own priority is kept when nothing is graver */
    cr_expect_eq(grade("S-ATK-SCAN", 2, none, 0, s, 1, 1).priority, 2);
    /* no asset: the default tier, said in the reasons */
    g = grade("S-ATK-BRUTE", 3, none, 0, NULL, 0, 0);
    cr_expect_eq(g.level, 4);
    cr_expect_eq(g.priority, 3);
    cr_expect(has_reason(&g, "no affected asset in the inventory"));
}

/* A policy file changes the numbers; a bad one is refused with file:line. */
Test(grade, policy_file_overrides_and_refusals)
{
    const char *ok = "loss:\n  full_outage: {l3: 10m, l2: 1h, l1: 3h}\n"
                     "targets:\n  P1: {respond: 5m}\n"
                     "regrade:\n  rungs: [10m, 1h, 3h]\n";
    char err[2048];
    cr_assert_eq(cr_grade_policy_load_string("g.yaml", ok, strlen(ok), &pol, err, sizeof err), 0,
                 "%s", err);
    cr_expect_eq(pol.full_outage_ms[0], 10 * MIN);
    cr_expect_eq(pol.respond_ms[0], 5 * MIN);
    cr_expect_eq(pol.respond_ms[1], 30 * MIN, "unset keys keep their defaults");
    cr_expect_eq(pol.nrungs, 3);
    struct cr_grade_system portal = {.id = "portal", .tier = 2, .portal = 1};
    struct cr_impact down = {.outage = CR_OUTAGE_FULL};
    cr_expect_eq(grade("F-APP-DOWN", 3, down, 1 * HOUR, &portal, 1, 1).loss, 2);

    const char *bad = "loss:\n  full_outage: {l3: soon}\n"
                      "matrix:\n  T1: {L1: V}\n"
                      "targets:\n  P9: {respond: 5m}\n";
    struct cr_grade_policy before = pol;
    cr_assert_eq(cr_grade_policy_load_string("g.yaml", bad, strlen(bad), &pol, err, sizeof err),
                 -1);
    cr_expect(strstr(err, "g.yaml:2: loss.full_outage.l3: expected a duration"), "%s", err);
    cr_expect(strstr(err, "g.yaml:4: matrix.T1.L1: expected a level"), "%s", err);
    cr_expect(strstr(err, "g.yaml:6: unknown grading key 'targets.P9'"), "%s", err);
    cr_expect(memcmp(&before, &pol, sizeof pol) == 0, "a refused file changes nothing");

    /* availability targets are percentages (the service report) */
    const char *pct = "availability:\n  vm: 99.5\n  iaas: '99.995%'\n";
    cr_assert_eq(cr_grade_policy_load_string("g.yaml", pct, strlen(pct), &pol, err, sizeof err), 0,
                 "%s", err);
    cr_expect_eq(pol.avail_vm_ppm, 995000);
    cr_expect_eq(pol.avail_iaas_ppm, 999950);
    cr_expect_eq(pol.avail_facility_ppm, 999900, "the default 99.99");
    const char *badpct = "availability:\n  vm: 101\n  iaas: 99.9.9\n  facility: high\n";
    cr_assert_eq(
        cr_grade_policy_load_string("g.yaml", badpct, strlen(badpct), &pol, err, sizeof err), -1);
    cr_expect(strstr(err, "g.yaml:2: availability.vm: expected a percentage from 0 to 100"), "%s",
              err);
    cr_expect(strstr(err, "g.yaml:3: availability.iaas: expected a percentage"), "%s", err);
    cr_expect(strstr(err, "g.yaml:4: availability.facility: expected a percentage"), "%s", err);
}

static void count_key(const char *key, const char *def, const char *doc, void *arg)
{
    (void)def;
    (void)doc;
    const char *text = ((const char **)arg)[0];
    int *missing = (int *)((const char **)arg)[1];
    /* the file writes each key's last part under its sections */
    const char *leaf = strrchr(key, '.');
    leaf = leaf ? leaf + 1 : key;
    char pat[64];
    snprintf(pat, sizeof pat, "%s:", leaf);
    if (!strstr(text, pat)) {
        fprintf(stderr, "configs/grading.yaml does not set %s\n", key);
        (*missing)++;
    }
}

/* configs/grading.yaml is the table: loading it gives the built-in
 * defaults, and it names every key. */
Test(grade, shipped_policy_file_is_the_defaults)
{
    char path[512], err[2048];
    snprintf(path, sizeof path, "%s/configs/grading.yaml", CORRAL_SOURCE_DIR);
    struct cr_grade_policy def, file;
    cr_grade_policy_defaults(&def);
    cr_grade_policy_defaults(&file);
    memset(&file.respond_ms, 0, sizeof file.respond_ms); /* must come back from the file */
    cr_assert_eq(cr_grade_policy_load(path, &file, err, sizeof err), 0, "%s", err);
    cr_expect(memcmp(&def, &file, sizeof def) == 0,
              "configs/grading.yaml differs from the defaults");
    size_t len;
    char *text = cr_test_slurp(path, &len);
    cr_assert(text);
    int missing = 0;
    const char *arg[2] = {text, (const char *)&missing};
    cr_grade_policy_each_key(count_key, arg);
    cr_expect_eq(missing, 0);
    free(text);
}
