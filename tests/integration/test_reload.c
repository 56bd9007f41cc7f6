/*
 * test_reload.c - hot reload end to end, with real processes: a `corral run`
 * reads stdin from a pipe the test holds open, the test changes the rule
 * files in the middle of the input and asks for a reload (`corral reload`,
 * or SIGHUP), feeds the rest, closes stdin, and reads the store with
 * `corral query`.
 *
 * What it proves: a rule added by the reload fires only on events after
 * the barrier; a correlation whose definition did not change keeps its
 * windows and open incidents across the swap (a threshold reached by events
 * on both sides fires, an open incident keeps counting); a correlation whose
 * threshold changed starts again from nothing and uses the new threshold;
 * rules that do not validate are never sent (exit 78), and rules that only
 * the running process finds broken are refused by it, with `file:line:
 * reason`, leaving its rules and state as they were; the checkpoint written
 * after a reload restores the migrated state in a `--resume` run. The
 * counters of --stats-json say the same.
 *
 * The run waits for part 1's last incident in the store before reloading,
 * so the barrier falls exactly after part 1 (the status file says where).
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *tmp;

/* v1: SSH failures feed a brute-force count (unchanged by the reload) and a
 * burst count whose threshold the reload lowers from 4 to 3. */
static const char *SSH_V1 =
    "rules:\n"
    "  - id: sshd.auth.failed\n"
    "    title: SSH authentication failure\n"
    "    where: { program: [sshd] }\n"
    "    match: 'Failed password for (?:invalid user )?(?<user>\\S+) from (?<src_ip>[0-9.]+) port "
    "\\d+'\n"
    "  - id: sshd.auth.accepted\n"
    "    where: { program: [sshd] }\n"
    "    match: 'Accepted password for (?<user>\\S+) from (?<src_ip>[0-9.]+) port \\d+'\n"
    "correlations:\n"
    "  - id: ssh.bruteforce\n"
    "    type: event_count\n"
    "    rules: [sshd.auth.failed]\n"
    "    group_by: [src_ip]\n"
    "    timespan: 10m\n"
    "    condition: { gte: 5 }\n"
    "    incident: { category: S-ATK-BRUTE, priority: P3 }\n"
    "  - id: ssh.fail_burst\n"
    "    type: event_count\n"
    "    rules: [sshd.auth.failed]\n"
    "    group_by: [src_ip]\n"
    "    timespan: 10m\n"
    "    condition: { gte: 4 }\n"
    "    incident: { category: S-ATK-BRUTE, priority: P4 }\n";

/* v2: the same, burst at 3; written by replacing "gte: 4". */
/* The rule the reload adds, in a file of its own (a new capture field). */
static const char *SUDO =
    "rules:\n"
    "  - id: sudo.root_shell\n"
    "    title: root shell through sudo\n"
    "    where: { program: sudo }\n"
    "    match: '^\\s*(?<user>\\S+) : .*USER=root ; COMMAND=(?<command>\\S+)'\n"
    "    group_by: [user]\n"
    "    incident: { category: S-OPS-PRIV, priority: P2 }\n";

#define A1 "203.0.113.10" /* 3 failures before, 2 after: brute force across the swap */
#define A2 "192.0.2.30"   /* 5 before (both counts open incidents), 2 after */
#define B "198.51.100.20" /* 2 before, 2 after: burst must not fire (restarted, 2 < 3) */
#define C "198.51.100.77" /* 3 after: burst fires at the new threshold */

static char part1[8192], part2[8192];
static int part1_lines;

static int add(char *buf, size_t cap, int *lines, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int add(char *buf, size_t cap, int *lines, const char *fmt, ...)
{
    size_t o = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + o, cap - o, fmt, ap);
    va_end(ap);
    cr_assert_lt(o + (size_t)n + 1, cap);
    strcat(buf, "\n");
    if (lines)
        (*lines)++;
    return n;
}

static void fail_line(char *buf, int *lines, int min, int sec, const char *ip)
{
    add(buf, sizeof part1, lines,
        "Mar  2 08:%02d:%02d web1 sshd[%d]: Failed password for invalid user admin from %s port "
        "%d ssh2",
        min, sec, 4000 + sec, ip, 50000 + sec);
}

static void make_log(void)
{
    part1[0] = part2[0] = 0;
    int *n1 = &part1_lines;
    *n1 = 0;
    add(part1, sizeof part1, n1,
        "Mar  2 08:00:00 web1 CRON[310]: (root) CMD (run-parts /etc/cron.hourly)");
    add(part1, sizeof part1, n1,
        "Mar  2 08:00:01 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
        "COMMAND=/bin/bash");
    for (int s = 2; s < 5; s++)
        fail_line(part1, n1, 0, s, A1);
    add(part1, sizeof part1, n1,
        "Mar  2 08:00:05 web1 sshd[4100]: Accepted password for deploy from 10.1.2.3 port 40022 "
        "ssh2");
    fail_line(part1, n1, 0, 6, B);
    fail_line(part1, n1, 0, 7, B);
    add(part1, sizeof part1, n1, "Mar  2 08:00:08 web1 kernel: [12345.678] eth0: link up");
    for (int s = 10; s < 15; s++)
        fail_line(part1, n1, 0, s, A2); /* part 1 is in once A2's incident is */
    /* event time moves past the last failure: with no lateness allowed
     * (c.yaml) the matches before it leave the reorder buffer */
    add(part1, sizeof part1, n1, "Mar  2 08:00:15 web1 kernel: [12352.001] eth0: link up");

    add(part2, sizeof part2, NULL,
        "Mar  2 08:01:00 web1 sudo:    bob : TTY=pts/1 ; PWD=/home/bob ; USER=root ; "
        "COMMAND=/bin/sh");
    fail_line(part2, NULL, 1, 1, A1);
    fail_line(part2, NULL, 1, 2, A1);
    fail_line(part2, NULL, 1, 3, B);
    fail_line(part2, NULL, 1, 4, B);
    fail_line(part2, NULL, 1, 5, A2);
    fail_line(part2, NULL, 1, 6, A2);
    add(part2, sizeof part2, NULL, "Mar  2 08:01:07 web1 CRON[311]: (root) CMD (logrotate)");
    for (int s = 10; s < 13; s++)
        fail_line(part2, NULL, 1, s, C);
}

static void write_tmp(const char *rel, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", tmp, rel);
    cr_assert_eq(cr_test_write_file(path, text, strlen(text)), 0, "%s", path);
}

static void setup(void)
{
    tmp = cr_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/rules", tmp);
    cr_assert_eq(mkdir(path, 0755), 0);
    write_tmp("rules/ssh.yaml", SSH_V1);
    write_tmp("c.yaml", "rules: [rules]\ninput: { year: 2026 }\nstore: { commit_interval: 20ms }\n"
                        "correlation: { allowed_lateness: 0s }\n");
    make_log();
}

static void teardown(void)
{
    cr_test_rmtree(tmp);
    free(tmp);
}

/* The v2 rules: burst at 3, and the sudo rule in a new file. */
static void write_v2(const char *dir)
{
    char *v2 = strdup(SSH_V1), *p = strstr(v2, "gte: 4");
    cr_assert(p != NULL);
    p[5] = '3';
    char rel[256];
    snprintf(rel, sizeof rel, "%s/ssh.yaml", dir);
    write_tmp(rel, v2);
    snprintf(rel, sizeof rel, "%s/sudo.yaml", dir);
    write_tmp(rel, SUDO);
    free(v2);
}

struct run {
    pid_t pid;
    int in; /* the write end of its stdin */
};

/* corral run -c c.yaml --input - --store tmp/st [--resume], stdout (stats)
 * to tmp/run.out, stderr to tmp/run.err. */
static struct run start_run_with(int resume)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (chdir(tmp) != 0)
            _exit(120);
        dup2(p[0], 0);
        close(p[0]);
        close(p[1]);
        int o = open("run.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open("run.err", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, 1);
        dup2(e, 2);
        execl(CORRAL_BINARY, "corral", "run", "-c", "c.yaml", "--input", "-", "--store", "st",
              "--stats-json", resume ? "--resume" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    return (struct run){pid, p[1]};
}

static struct run start_run(void) { return start_run_with(0); }

static void feed(struct run *r, const char *text)
{
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(r->in, text + off, len - off);
        cr_assert_gt(n, 0, "write to corral's stdin: %s", strerror(errno));
        off += (size_t)n;
    }
}

/* Close stdin; the exit status of the run. */
static int finish(struct run *r)
{
    close(r->in);
    int st = 0;
    cr_assert_eq(waitpid(r->pid, &st, 0), r->pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* The stored incidents, one JSON object per element; NULL if the store is
 * not there yet and !must. */
static json_t *incidents_of(int must)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' query --store '%s/st' --format ndjson 2>/dev/null",
             CORRAL_BINARY, tmp);
    char *out = NULL;
    int rc = cr_test_run(cmd, &out);
    if (rc != 0 && !must) {
        free(out);
        return NULL;
    }
    cr_assert_eq(rc, 0, "%s", cmd);
    json_t *all = json_array();
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        cr_assert(o != NULL, "%s", line);
        json_array_append_new(all, o);
    }
    free(out);
    return all;
}

static json_t *incidents(void) { return incidents_of(1); }

/* Incidents of `rule` whose first entity value is `value`; the first in *first. */
static int find(json_t *all, const char *rule, const char *value, json_t **first)
{
    int n = 0;
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        const char *r = json_string_value(json_object_get(o, "rule"));
        json_t *ents = json_object_get(o, "entities");
        const char *k;
        json_t *v;
        int hit = 0;
        json_object_foreach(ents, k, v) hit |= strcmp(json_string_value(v), value) == 0;
        if (r && strcmp(r, rule) == 0 && hit) {
            if (n++ == 0 && first)
                *first = o;
        }
    }
    return n;
}

static long long count_of(json_t *inc)
{
    return json_integer_value(json_object_get(inc, "event_count"));
}

/* Wait (20 s at most) until part 1 is in the store: its last line opens
 * ssh.bruteforce for A2, and shards apply batches in input order. */
static void wait_part1(void)
{
    for (int i = 0; i < 400; i++) {
        json_t *all = incidents_of(0);
        int n = all ? find(all, "ssh.bruteforce", A2, NULL) : 0;
        json_decref(all);
        if (n)
            return;
        sleep_ms(50);
    }
    cr_assert_fail("part 1 never reached the store");
}

/* `cd tmp && corral reload ARGS`: exit status, stdout and stderr. */
static int reload_cmd(const char *args, char **out, char **err)
{
    char cmd[8192], errpath[4200];
    snprintf(errpath, sizeof errpath, "%s/reload.err", tmp);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' reload %s 2>'%s'", tmp, CORRAL_BINARY, args,
             errpath);
    int rc = cr_test_run(cmd, out);
    size_t len;
    *err = cr_test_slurp(errpath, &len);
    cr_assert(*err != NULL);
    return rc;
}

static char *status_file(void)
{
    char path[4200];
    size_t len;
    snprintf(path, sizeof path, "%s/st/corral.pid.status", tmp);
    return cr_test_slurp(path, &len);
}

static json_t *stats(void)
{
    char path[4200];
    size_t len;
    snprintf(path, sizeof path, "%s/run.out", tmp);
    char *out = cr_test_slurp(path, &len);
    cr_assert(out != NULL);
    json_error_t je;
    json_t *st = json_loads(out, JSON_DISABLE_EOF_CHECK, &je);
    cr_assert(st != NULL, "%s", out);
    free(out);
    return st;
}

static long long stat_of(json_t *st, const char *k)
{
    json_t *v = json_object_get(st, k);
    cr_assert(v != NULL, "no %s in --stats-json", k);
    return json_integer_value(v);
}

static char *run_err(void)
{
    char path[4200];
    size_t len;
    snprintf(path, sizeof path, "%s/run.err", tmp);
    return cr_test_slurp(path, &len);
}

TestSuite(reload, .init = setup, .fini = teardown, .timeout = 120);

Test(reload, keeps_unchanged_state_and_applies_new_rules_after_the_barrier)
{
    struct run r = start_run();
    feed(&r, part1);
    wait_part1();
    write_v2("rules");
    char *out = NULL, *err = NULL;
    int rc = reload_cmd("-c c.yaml --store st", &out, &err);
    cr_assert_eq(rc, 0, "corral reload: exit %d\n%s%s", rc, out, err);
    cr_assert(strstr(out, "reloaded: pid") != NULL, "%s", out);
    char *status = status_file();
    cr_assert(status != NULL);
    char want[64];
    snprintf(want, sizeof want, "barrier: stdin:%d\n", part1_lines);
    cr_assert(strstr(status, want) != NULL, "the barrier is right after part 1:\n%s", status);
    cr_assert(strstr(status, "result: ok\n") && strstr(status, "rules_added: 1\n") &&
                  strstr(status, "correlations_changed: 1\n"),
              "%s", status);
    free(status);
    free(out);
    free(err);

    feed(&r, part2);
    cr_assert_eq(finish(&r), 0);
    json_t *all = incidents(), *inc = NULL;

    /* the added rule: only the sudo after the barrier */
    cr_assert_eq(find(all, "sudo.root_shell", "bob", NULL), 1, "new rule, event after the reload");
    cr_assert_eq(find(all, "sudo.root_shell", "alice", NULL), 0,
                 "new rule must not fire on an event read before the reload");

    /* the unchanged correlation kept its windows */
    cr_assert_eq(find(all, "ssh.bruteforce", A1, &inc), 1,
                 "3 failures before + 2 after: the window spans the reload");
    cr_assert_eq(count_of(inc), 5);
    cr_assert_str_eq(json_string_value(json_object_get(inc, "first_seen")),
                     "2026-03-02T08:00:02.000Z");
    cr_assert_eq(find(all, "ssh.bruteforce", A2, &inc), 1, "the open incident went on");
    cr_assert_eq(count_of(inc), 7, "5 before the reload, 2 after");
    cr_assert_eq(find(all, "ssh.bruteforce", B, NULL), 0);

    /* the changed correlation restarted, at its new threshold */
    cr_assert_eq(find(all, "ssh.fail_burst", B, NULL), 0,
                 "2 before + 2 after: would fire if its state had been kept (4 >= 3), "
                 "or with the old rules (4 >= 4)");
    cr_assert_eq(find(all, "ssh.fail_burst", A2, &inc), 1);
    cr_assert_eq(count_of(inc), 5, "its open incident ended with its state at the reload");
    cr_assert_eq(find(all, "ssh.fail_burst", C, NULL), 1, "3 after the reload: new threshold");
    cr_assert_eq(find(all, "ssh.fail_burst", A1, NULL), 0);
    json_decref(all);

    json_t *st = stats();
    cr_assert_eq(stat_of(st, "reloads"), 1);
    cr_assert_eq(stat_of(st, "reloads_failed"), 0);
    cr_assert_eq(stat_of(st, "reload_states_kept"), 3, "bruteforce windows of A1, A2, B");
    cr_assert_eq(stat_of(st, "reload_states_dropped"), 3, "fail_burst windows of A1, A2, B");
    json_decref(st);

    char path[4200];
    snprintf(path, sizeof path, "%s/st/corral.pid", tmp);
    cr_assert_neq(access(path, F_OK), 0, "the pid file is removed at exit");
    rc = reload_cmd("-c c.yaml --store st", &out, &err);
    cr_assert_eq(rc, 1, "no running corral: exit 1");
    cr_assert(strstr(err, "no running corral") != NULL, "%s", err);
    free(out);
    free(err);
}

Test(reload, invalid_rules_change_nothing_and_say_why)
{
    struct run r = start_run();
    feed(&r, part1);
    wait_part1();

    /* 1. invalid for `corral reload` itself: exit 78, nothing sent */
    char *bad = strdup(SSH_V1), *p = strstr(bad, "'Failed password");
    cr_assert(p != NULL);
    p[1] = '('; /* an unclosed group, on line 5 */
    write_tmp("rules/ssh.yaml", bad);
    char *out = NULL, *err = NULL;
    int rc = reload_cmd("-c c.yaml --store st", &out, &err);
    cr_assert_eq(rc, 78, "exit %d\n%s", rc, err);
    cr_assert(strstr(err, "rules/ssh.yaml:5: rule 'sshd.auth.failed': regex") != NULL, "%s", err);
    cr_assert(strstr(err, "nothing was sent") != NULL, "%s", err);
    char *status = status_file();
    cr_assert(status == NULL, "the running process must not have been asked:\n%s", status);
    free(out);
    free(err);

    /* 2. valid where `corral reload` looks (c2.yaml), broken where the
     * running process looks (its own c.yaml): it refuses, keeps its rules */
    char path[4200];
    snprintf(path, sizeof path, "%s/rules2", tmp);
    cr_assert_eq(mkdir(path, 0755), 0);
    write_v2("rules2");
    write_tmp("c2.yaml", "rules: [rules2]\ninput: { year: 2026 }\n");
    rc = reload_cmd("-c c2.yaml --store st", &out, &err);
    cr_assert_eq(rc, 1, "the running process refused: exit %d\n%s%s", rc, out, err);
    cr_assert(strstr(err, "refused") != NULL, "%s", err);
    cr_assert(strstr(err, "rules/ssh.yaml:5: rule 'sshd.auth.failed': regex") != NULL,
              "the running process says why, as file:line: reason:\n%s", err);
    cr_assert(strstr(err, "reloads the rules of") != NULL,
              "the client notes that the process reloads its own config:\n%s", err);
    status = status_file();
    cr_assert(status && strstr(status, "result: failed\n") && strstr(status, "reason: ") &&
                  strstr(status, "ssh.yaml:5:"),
              "%s", status ? status : "(no status)");
    free(status);
    free(out);
    free(err);

    feed(&r, part2);
    cr_assert_eq(finish(&r), 0);
    json_t *all = incidents();
    /* the old rules, with the state from before the attempt */
    cr_assert_eq(find(all, "ssh.fail_burst", B, NULL), 1, "old threshold 4 reached by 2 + 2");
    cr_assert_eq(find(all, "ssh.fail_burst", C, NULL), 0, "the new threshold never applied");
    cr_assert_eq(find(all, "sudo.root_shell", "bob", NULL), 0, "the new rule never applied");
    cr_assert_eq(find(all, "ssh.bruteforce", A1, NULL), 1);
    json_decref(all);
    json_t *st = stats();
    cr_assert_eq(stat_of(st, "reloads"), 0);
    cr_assert_eq(stat_of(st, "reloads_failed"), 1);
    json_decref(st);
    char *e = run_err();
    cr_assert(e && strstr(e, "corral: reload: ") && strstr(e, "ssh.yaml:5:"),
              "the running process logs every file:line: reason:\n%s", e ? e : "");
    free(e);
    free(bad);
}

Test(reload, sighup_reloads_and_unchanged_rules_swap_nothing)
{
    struct run r = start_run();
    feed(&r, part1);
    wait_part1();
    write_v2("rules");
    cr_assert_eq(kill(r.pid, SIGHUP), 0);
    char *status = NULL;
    for (int i = 0; i < 400 && !status; i++) {
        status = status_file();
        if (!status)
            sleep_ms(50);
    }
    cr_assert(status != NULL, "no status after SIGHUP");
    cr_assert(strstr(status, "result: ok\n") && strstr(status, "generation: 1\n"), "%s", status);
    free(status);

    /* the same rules again: nothing to swap */
    char *out = NULL, *err = NULL;
    int rc = reload_cmd("-c c.yaml --store st", &out, &err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(strstr(out, "unchanged: pid") != NULL, "%s", out);
    status = status_file();
    cr_assert(strstr(status, "result: unchanged\n") && strstr(status, "generation: 1\n"), "%s",
              status);
    free(status);
    free(out);
    free(err);

    feed(&r, part2);
    cr_assert_eq(finish(&r), 0, "the run survives SIGHUP (blocked, taken by its reload thread)");
    json_t *all = incidents();
    cr_assert_eq(find(all, "sudo.root_shell", "bob", NULL), 1);
    cr_assert_eq(find(all, "sudo.root_shell", "alice", NULL), 0);
    cr_assert_eq(find(all, "ssh.fail_burst", C, NULL), 1);
    cr_assert_eq(find(all, "ssh.fail_burst", B, NULL), 0);
    cr_assert_eq(find(all, "ssh.bruteforce", A1, NULL), 1);
    json_decref(all);
    json_t *st = stats();
    cr_assert_eq(stat_of(st, "reloads"), 1);
    cr_assert_eq(stat_of(st, "reloads_unchanged"), 1);
    json_decref(st);
}

Test(reload, checkpoints_after_a_reload_restore)
{
    /* run 1 (--resume: checkpoints): part 1 with v1, reload to v2, then A1's
     * 4th failure and B's first two under v2; the final checkpoint holds
     * the state as migrated and grown after the swap */
    struct run r = start_run_with(1);
    feed(&r, part1);
    wait_part1();
    write_v2("rules");
    char *out = NULL, *err = NULL;
    int rc = reload_cmd("-c c.yaml --store st", &out, &err);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    free(out);
    free(err);
    char more[sizeof part1] = "";
    fail_line(more, NULL, 1, 1, A1);
    fail_line(more, NULL, 1, 3, B);
    fail_line(more, NULL, 1, 4, B);
    feed(&r, more);
    cr_assert_eq(finish(&r), 0);
    json_t *all = incidents();
    cr_assert_eq(find(all, "ssh.bruteforce", A1, NULL), 0, "4 of 5 so far");
    cr_assert_eq(find(all, "ssh.fail_burst", B, NULL), 0, "2 of 3 since the swap");
    json_decref(all);

    /* run 2 resumes (the files are v2 now) and adds one failure each */
    r = start_run_with(1);
    more[0] = 0;
    fail_line(more, NULL, 1, 20, A1);
    fail_line(more, NULL, 1, 21, B);
    feed(&r, more);
    cr_assert_eq(finish(&r), 0);
    all = incidents();
    json_t *inc = NULL;
    cr_assert_eq(find(all, "ssh.bruteforce", A1, &inc), 1,
                 "the window kept by the reload was checkpointed and restored");
    cr_assert_eq(count_of(inc), 5);
    cr_assert_str_eq(json_string_value(json_object_get(inc, "first_seen")),
                     "2026-03-02T08:00:02.000Z");
    cr_assert_eq(find(all, "ssh.fail_burst", B, &inc), 1,
                 "the window restarted by the reload was checkpointed and restored");
    cr_assert_eq(count_of(inc), 3);
    cr_assert_str_eq(json_string_value(json_object_get(inc, "first_seen")),
                     "2026-03-02T08:01:03.000Z", "only the failures after the swap count");
    json_decref(all);
}

/* A reload that fails after its rules were built (CORRAL_FAIL_AT=reload:1
 * stands for an allocation failure in the compile): the running process
 * refuses it with the reason, frees what it built (under ASan a leak would
 * change the run's exit status), keeps its rules and state, and the next
 * reload of the same files is applied at its own barrier. */
Test(reload, a_reload_failing_mid_way_keeps_the_old_rules_and_the_next_applies)
{
    setenv("CORRAL_FAIL_AT", "reload:1", 1); /* the run inherits it */
    struct run r = start_run();
    unsetenv("CORRAL_FAIL_AT");
    feed(&r, part1);
    wait_part1();
    write_v2("rules");
    char *out = NULL, *err = NULL;
    int rc = reload_cmd("-c c.yaml --store st", &out, &err);
    cr_assert_eq(rc, 1, "the injected failure is a refusal: exit %d\n%s%s", rc, out, err);
    cr_assert(strstr(err, "refused") && strstr(err, "injected by CORRAL_FAIL_AT"), "%s", err);
    char *status = status_file();
    cr_assert(status && strstr(status, "result: failed\n"), "%s", status ? status : "(none)");
    free(status);
    free(out);
    free(err);
    rc = reload_cmd("-c c.yaml --store st", &out, &err);
    cr_assert_eq(rc, 0, "the second reload: exit %d\n%s%s", rc, out, err);
    status = status_file();
    char want[64];
    snprintf(want, sizeof want, "barrier: stdin:%d\n", part1_lines);
    cr_assert(status && strstr(status, "result: ok\n") && strstr(status, want), "%s",
              status ? status : "(none)");
    free(status);
    free(out);
    free(err);
    feed(&r, part2);
    cr_assert_eq(finish(&r), 0);
    json_t *all = incidents(), *inc = NULL;
    cr_assert_eq(find(all, "sudo.root_shell", "bob", NULL), 1, "the new rules after the barrier");
    cr_assert_eq(find(all, "sudo.root_shell", "alice", NULL), 0);
    cr_assert_eq(find(all, "ssh.bruteforce", A2, &inc), 1);
    cr_assert_eq(count_of(inc), 7, "the unchanged correlation kept its state through both");
    json_decref(all);
    json_t *st = stats();
    cr_assert_eq(stat_of(st, "reloads"), 1);
    cr_assert_eq(stat_of(st, "reloads_failed"), 1);
    json_decref(st);
}

/* The inventory reloads with the rules: with the rules unchanged, a new
 * inventory is still swapped in, and records after the barrier are
 * enriched with it; a broken one is refused with file:line and changes
 * nothing. */
Test(reload, the_inventory_reloads_with_the_rules)
{
    struct run r = start_run();
    feed(&r, part1);
    wait_part1();
    /* a broken inventory: refused, the run keeps none */
    write_tmp("assets.yaml", "systems:\n  - {id: s1, dengbao: 7}\n");
    char *c = NULL;
    size_t len;
    char path[4200];
    snprintf(path, sizeof path, "%s/c.yaml", tmp);
    c = cr_test_slurp(path, &len);
    cr_assert(c);
    char *with = malloc(len + 64);
    snprintf(with, len + 64, "%sassets: assets.yaml\n", c);
    write_tmp("c.yaml", with);
    char *out = NULL, *err = NULL;
    int rc = reload_cmd("-c c.yaml --store st", &out, &err);
    cr_assert_neq(rc, 0, "a broken inventory is refused");
    cr_assert(strstr(err, "assets.yaml:2:") != NULL, "%s", err);
    free(out);
    free(err);
    /* a valid one: the rules are the same, the inventory is new */
    write_tmp("assets.yaml", "tenants:\n  - {id: t-gov}\n"
                             "systems:\n  - {id: portal, tenant: t-gov, dengbao: 3}\n"
                             "assets:\n  - {id: web1, kind: vm, system: portal, names: [web1]}\n");
    rc = reload_cmd("-c c.yaml --store st", &out, &err);
    cr_assert_eq(rc, 0, "%s%s", out, err);
    char *status = status_file();
    cr_assert(status && strstr(status, "result: ok\n"), "%s", status ? status : "");
    free(status);
    free(out);
    free(err);
    feed(&r, part2);
    cr_assert_eq(finish(&r), 0);
    json_t *all = incidents(), *inc = NULL;
    /* v1's burst of 4 for C (3 after the reload) does not fire; bob's sudo
     * rule is v2's; what is there after the barrier: B's burst */
    cr_assert_eq(find(all, "ssh.fail_burst", B, &inc), 1);
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(inc, "assets"), 0)), "web1",
                     "enriched with the inventory loaded by the reload");
    cr_expect_str_eq(json_string_value(
                         json_object_get(json_array_get(json_object_get(inc, "systems"), 0), "id")),
                     "portal", "graded with it");
    json_decref(all);
    json_t *st = stats();
    cr_assert_eq(stat_of(st, "reloads"), 1);
    cr_assert_eq(stat_of(st, "reloads_failed"), 1);
    json_decref(st);
    free(with);
    free(c);
}
