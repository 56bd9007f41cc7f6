/*
 * test_event_time.c - windows run on event time with an allowed lateness
 * (engine/pipeline/reorder.h), through the real `corral run`:
 *  - a file reordered within the lateness gives exactly the incidents of the
 *    sorted file (ids, counts, first and last seen), whatever the thread
 *    counts; with no lateness allowed the same file does not (the check can
 *    fail);
 *  - the reordered file read in three parts with --resume gives the
 *    incidents of one uninterrupted run of it, evidence positions included;
 *    a part whose end released a match early, followed by one that sorts
 *    before it, leaves no incident of that early release behind;
 *  - a record later than the lateness is counted, kept in the rejects with
 *    its reason, taken as evidence by its key's open incident, and never
 *    counted in a window.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *tmp;

static void sh(const char *cmd)
{
    char full[16384];
    snprintf(full, sizeof full, "cd '%s' && %s", tmp, cmd);
    int rc = cr_test_run(full, NULL);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, cmd);
}

static void write_config(const char *name, const char *extra)
{
    char path[4200], cfg[4096];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    int n = snprintf(cfg, sizeof cfg,
                     "rules: [%s]\ninput: { year: 2026, checkpoint_records: 1000 }\n%s",
                     cr_test_source_path("configs/rules"), extra);
    cr_assert_eq(cr_test_write_file(path, cfg, (size_t)n), 0);
}

static void setup(void)
{
    tmp = cr_test_tmpdir();
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' --seed 33 --lines 60000 --out sorted.log --truth truth && "
             "python3 '%s' 10 5 < sorted.log > shuffled.log",
             CORRAL_GEN_CORPUS, cr_test_source_path("tests/support/shuffle_within.py"));
    sh(cmd);
    write_config("c.yaml", "correlation: { allowed_lateness: 10s }\n");
    write_config("strict.yaml", "correlation: { allowed_lateness: 0s }\n");
}

static void teardown(void)
{
    cr_test_rmtree(tmp);
    free(tmp);
}

/* A store's incidents as sorted lines: id, rule, count, first and last
 * seen, and (with refs) the evidence positions. */
static char *incidents(const char *store, int refs)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' query --store '%s/%s' --format ndjson | python3 -c \""
             "import json,sys\n"
             "rows=[]\n"
             "for l in sys.stdin:\n"
             "  d=json.loads(l)\n"
             "  r=[d['id'],d['rule'],str(d['event_count']),d['first_seen'],d['last_seen']]\n"
             "  if %d: r.append(json.dumps([x['position'] for x in d['evidence']['refs']]))\n"
             "  rows.append(' '.join(r))\n"
             "print('\\n'.join(sorted(rows)))\"",
             CORRAL_BINARY, tmp, store, refs);
    char *out = NULL;
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", cmd);
    return out;
}

/* One counter of a run's --stats-json (its first line). */
static long long stat_of(const char *json, const char *name)
{
    char key[96];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *p = strstr(json, key);
    cr_assert(p != NULL, "no %s in %s", name, json);
    return atoll(p + strlen(key));
}

static char *run_stats(const char *cmd)
{
    char full[16384];
    snprintf(full, sizeof full, "cd '%s' && %s", tmp, cmd);
    char *out = NULL;
    cr_assert_eq(cr_test_run(full, &out), 0, "%s", cmd);
    return out;
}

#define RUN "'" CORRAL_BINARY "' run --quiet "

Test(event_time, reordered_within_lateness_equals_sorted, .init = setup, .fini = teardown,
     .timeout = 180)
{
    sh(RUN "-c c.yaml --input sorted.log --store sorted --workers 1 --shards 1");
    char *st = run_stats(RUN "-c c.yaml --input shuffled.log --store shuffled --workers 2 "
                             "--shards 3 --stats-json");
    cr_assert_eq(stat_of(st, "late_matches"), 0, "%s", st);
    sh(RUN "-c strict.yaml --input shuffled.log --store strict");
    char *a = incidents("sorted", 0), *b = incidents("shuffled", 0), *c = incidents("strict", 0);
    cr_assert_gt(strlen(a), 1000, "the corpus should open incidents");
    cr_assert_str_eq(b, a);
    cr_assert_str_neq(c, a,
                      "without lateness the reordered file correlates differently: "
                      "this test would not see a broken reorder buffer");
    free(a);
    free(b);
    free(c);
    free(st);
}

Test(event_time, reordered_file_resumed_in_parts_equals_one_run, .init = setup, .fini = teardown,
     .timeout = 180)
{
    sh("cat shuffled.log | " RUN "-c c.yaml --input - --store whole");
    sh("head -n 20001 shuffled.log | " RUN "-c c.yaml --input - --store parts --resume");
    sh("sed -n 20002,41234p shuffled.log | " RUN "-c c.yaml --input - --store parts --resume");
    sh("tail -n +41235 shuffled.log | " RUN "-c c.yaml --input - --store parts --resume");
    char *a = incidents("whole", 1), *b = incidents("parts", 1);
    cr_assert_gt(strlen(a), 1000);
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
}

Test(event_time, late_records_are_counted_kept_and_evidence, .init = setup, .fini = teardown)
{
    /* five failures open a brute force at 08:00:40; time moves to 08:01:10;
     * a sixth failure stamped 08:00:45 arrives (25 s late); time moves to
     * 08:05:00; a failure from another source stamped 08:01:00 arrives
     * (240 s late); one 5 s out of order is within the lateness */
    char text[16384];
    size_t n = 0;
    cr_test_ssh_failures(text, sizeof text, &n, 5);
    for (int t = 45; t <= 300; t += 5) {
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "<30>Mar  2 08:%02d:%02d app-01 systemd[1]: Started session-%d.scope "
                              "- Session %d of User app.\n",
                              t / 60, t % 60, t, t);
        if (t == 70)
            n += (size_t)snprintf(text + n, sizeof text - n,
                                  "<38>Mar  2 08:00:45 web-01 sshd[1040]: Failed password for "
                                  "root from 203.0.113.5 port 40009 ssh2\n");
    }
    n += (size_t)snprintf(text + n, sizeof text - n,
                          "<38>Mar  2 08:01:00 web-02 sshd[2040]: Failed password for admin from "
                          "198.51.100.7 port 50001 ssh2\n"
                          "<38>Mar  2 08:04:55 web-03 sshd[3040]: Failed password for admin from "
                          "198.51.100.9 port 50002 ssh2\n");
    char path[4200];
    snprintf(path, sizeof path, "%s/late.log", tmp);
    cr_assert_eq(cr_test_write_file(path, text, n), 0);
    char *st = run_stats(RUN "-c c.yaml --input late.log --store late --stats-json");
    /* sshd.auth.failed has two routes (brute force and spray): two matches each */
    cr_assert_eq(stat_of(st, "late_matches"), 4, "%s", st);
    cr_assert_eq(stat_of(st, "late_evidence"), 1, "%s", st);
    cr_assert_eq(stat_of(st, "rejects_kept"), 2, "one kept record per late line: %s", st);
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' rejects --store '%s/late'", CORRAL_BINARY, tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0);
    cr_assert(strstr(out, "late: 25s behind") != NULL, "%s", out);
    cr_assert(strstr(out, "late: 240s behind") != NULL, "%s", out);
    cr_assert(strstr(out, "198.51.100.9") == NULL, "within the lateness is not late: %s", out);
    free(out);
    char *inc = incidents("late", 1);
    /* the brute force counts its five on-time failures; the late one (line 12) is evidence */
    cr_assert(strstr(inc, "ssh.bruteforce 5 2026-03-02T08:00:00.000Z 2026-03-02T08:00:40.000Z "
                          "[1, 2, 3, 4, 5, 12]") != NULL,
              "%s", inc);
    free(inc);
    free(st);
}

/* The end of an input releases every held match, so a run that stops there
 * stores incidents the next part could still change: here the first part
 * ends with a fan failure at 08:01:40 and the second begins with one of the
 * same host at 08:01:35, within the lateness. One uninterrupted run opens a
 * single incident at 08:01:35; the parts must end with exactly that one, not
 * also the one the first part's end opened at 08:01:40. */
Test(event_time, resumed_after_the_end_keeps_no_incident_of_the_early_release, .init = setup,
     .fini = teardown)
{
    char rules[4200], cfg[8400];
    snprintf(rules, sizeof rules, "%s/fan.yaml", tmp);
    const char *r = "rules:\n"
                    "  - id: hw.fan_failed\n"
                    "    match: 'fan failure on (?<host>\\S+)'\n"
                    "    group_by: [host]\n"
                    "    incident: { category: F-FAC-COOL, priority: P3, open_for: 1h }\n";
    cr_assert_eq(cr_test_write_file(rules, r, strlen(r)), 0);
    snprintf(cfg, sizeof cfg, "%s/fan-c.yaml", tmp);
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "rules: [%s]\ninput: { year: 2026 }\n"
                     "correlation: { allowed_lateness: 10s }\n",
                     rules);
    cr_assert_eq(cr_test_write_file(cfg, text, (size_t)n), 0);
    const char *p1 = "<30>Mar  2 08:01:00 bmc-01 ipmi: temperature ok on app-01\n"
                     "<28>Mar  2 08:01:40 bmc-01 ipmi: fan failure on app-01\n";
    const char *p2 = "<28>Mar  2 08:01:35 bmc-01 ipmi: fan failure on app-01\n"
                     "<30>Mar  2 08:03:00 bmc-01 ipmi: temperature ok on app-01\n";
    char path[4200];
    snprintf(path, sizeof path, "%s/p1.log", tmp);
    cr_assert_eq(cr_test_write_file(path, p1, strlen(p1)), 0);
    snprintf(path, sizeof path, "%s/p2.log", tmp);
    cr_assert_eq(cr_test_write_file(path, p2, strlen(p2)), 0);
    sh("cat p1.log p2.log | " RUN "-c fan-c.yaml --input - --store whole");
    sh("cat p1.log | " RUN "-c fan-c.yaml --input - --store parts --resume");
    sh("cat p2.log | " RUN "-c fan-c.yaml --input - --store parts --resume");
    char *a = incidents("whole", 1), *b = incidents("parts", 1);
    cr_assert(strstr(a, "hw.fan_failed 2 2026-03-02T08:01:35.000Z") != NULL, "%s", a);
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
}

/* A replay of year-less stamps from December into January (input.year
 * 2025): January's lines are 2026, not eleven months before December's, so
 * none is late and January's brute force is an incident of 2026. Read in
 * two parts through stdin with --resume, split after the turn of the year,
 * the second part continues in 2026 (the rollover state is checkpointed)
 * and the incidents are those of one run. */
Test(event_time, a_replay_rolls_the_year_over_from_december_to_january, .init = setup,
     .fini = teardown, .timeout = 120)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/year.log", tmp);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    /* a line a minute from Dec 31 20:00 to Jan 1 04:00, and a burst of six
     * failures from one source on each side of midnight */
    for (int i = 0; i < 480; i++) {
        int h = (20 + i / 60) % 24, mi = i % 60;
        const char *mon = i < 240 ? "Dec 31" : "Jan  1";
        fprintf(f, "<38>%s %02d:%02d:00 web-01 cron[%d]: (root) CMD (run-parts /etc/cron.hourly)\n",
                mon, h, mi, 1000 + i);
        if (i == 100 || i == 400)
            for (int k = 0; k < 6; k++)
                fprintf(f,
                        "<38>%s %02d:%02d:%02d web-01 sshd[77]: Failed password for root from "
                        "203.0.113.%d port 4%04d ssh2\n",
                        mon, h, mi, 5 * k + 1, i == 100 ? 50 : 60, k);
    }
    fclose(f);
    write_config("y.yaml", "correlation: { allowed_lateness: 10s }\n");
    char cfg[4300], text[4096];
    snprintf(cfg, sizeof cfg, "%s/y.yaml", tmp);
    int n = snprintf(text, sizeof text,
                     "rules: [%s]\ninput: { year: 2025, checkpoint_records: 50 }\n"
                     "correlation: { allowed_lateness: 10s }\n",
                     cr_test_source_path("configs/rules"));
    cr_assert_eq(cr_test_write_file(cfg, text, (size_t)n), 0);
    char *st = run_stats(RUN "-c y.yaml --input year.log --store whole --workers 2 --stats-json");
    cr_assert_eq(stat_of(st, "late_matches"), 0, "%s", st);
    char *whole = incidents("whole", 1);
    cr_assert(strstr(whole, "ssh.bruteforce") && strstr(whole, "2025-12-31T21:40:01") &&
                  strstr(whole, "2026-01-01T02:40:01"),
              "December's burst in 2025, January's in 2026:\n%s", whole);
    /* the same in two stdin parts, split after midnight */
    sh("head -n 300 year.log | " RUN "-c y.yaml --input - --store parts --resume");
    sh("tail -n +301 year.log | " RUN "-c y.yaml --input - --store parts --resume");
    char *parts = incidents("parts", 1);
    cr_assert_str_eq(parts, whole);
    free(st);
    free(whole);
    free(parts);
}
