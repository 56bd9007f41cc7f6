/*
 * test_resume.c - `corral run --resume` on files and stdin: a run stopped at
 * any point and started again on the rest of the input stores exactly the
 * incidents (ids, counts, times, evidence positions) of one uninterrupted
 * run, because correlation state and the input position are checkpointed
 * together. Checkpoints every 1000 records, so several fall inside each part.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *tmp;

static void setup(void)
{
    tmp = cr_test_tmpdir();
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' --seed 21 --lines 120000 --out '%s/all.log' --truth '%s/t'",
             CORRAL_GEN_CORPUS, tmp, tmp);
    cr_assert_eq(cr_test_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s/c.yaml", tmp);
    char cfg[4096];
    int n =
        snprintf(cfg, sizeof cfg, "rules: [%s]\ninput: { year: 2026, checkpoint_records: 1000 }\n",
                 cr_test_source_path("configs/rules"));
    cr_assert_eq(cr_test_write_file(cmd, cfg, (size_t)n), 0);
}

static void teardown(void)
{
    cr_test_rmtree(tmp);
    free(tmp);
}

static void sh(const char *fmt, const char *a, const char *b)
{
    char cmd[16384], line[8192];
    snprintf(line, sizeof line, fmt, a, b);
    snprintf(cmd, sizeof cmd, "cd '%s' && %s", tmp, line);
    int rc = cr_test_run(cmd, NULL);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, cmd);
}

/* Incidents as one canonical text: sorted lines of id, count, times and
 * evidence refs, with input names replaced by `name_as`; `ndjson` is a
 * shell command that prints them as `corral query --format ndjson` does. */
static char *canonical(const char *ndjson, const char *name, const char *name_as)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s | python3 -c \""
             "import json,sys\n"
             "rows=[]\n"
             "for l in sys.stdin:\n"
             "  d=json.loads(l)\n"
             "  rows.append(' '.join([d['id'],str(d['event_count']),d['first_seen'],"
             "d['last_seen'],json.dumps(d['evidence']['refs']).replace('%s','%s')]))\n"
             "print('\\n'.join(sorted(rows)))\"",
             tmp, ndjson, name, name_as);
    char *out = NULL;
    cr_assert_eq(cr_test_run(cmd, &out), 0, "%s", cmd);
    return out;
}

/* The incidents of store `store` (a directory under tmp), canonical. */
static char *incidents(const char *store, const char *name, const char *name_as)
{
    char q[4200];
    snprintf(q, sizeof q, "'%s' query --store '%s' --format ndjson", CORRAL_BINARY, store);
    return canonical(q, name, name_as);
}

#define RUN "'" CORRAL_BINARY "' run -c c.yaml --quiet "

Test(resume, stdin_in_three_parts, .init = setup, .fini = teardown, .timeout = 120)
{
    sh("cat all.log | " RUN "--input - --store %s%s", "whole", "");
    sh("head -n 33333 all.log | " RUN "--input - --store %s --resume%s", "parts", "");
    sh("sed -n 33334,81001p all.log | " RUN "--input - --store %s --resume%s", "parts", "");
    sh("tail -n +81002 all.log | " RUN "--input - --store %s --resume%s", "parts", "");
    char *a = incidents("whole", "stdin", "stdin"), *b = incidents("parts", "stdin", "stdin");
    cr_assert_gt(strlen(a), 1000, "the corpus should open incidents");
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
}

Test(resume, a_growing_log_file, .init = setup, .fini = teardown, .timeout = 120)
{
    sh(RUN "--input all.log --store %s%s", "whole", "");
    sh("head -n 50001 all.log > grow.log && " RUN "--input grow.log --store %s --resume%s", "grow",
       "");
    sh("sed -n 50002,99999p all.log >> grow.log && " RUN "--input grow.log --store %s --resume%s",
       "grow", "");
    sh("tail -n +100000 all.log >> grow.log && " RUN "--input grow.log --store %s --resume%s",
       "grow", "");
    char *a = incidents("whole", "all.log", "F"), *b = incidents("grow", "grow.log", "F");
    cr_assert_gt(strlen(a), 1000);
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
}

/* Without --resume a run is a replay: it starts from empty state and reads
 * the whole file, whatever the store holds, and rewrites the same ids. */
Test(resume, replay_without_resume_starts_fresh, .init = setup, .fini = teardown, .timeout = 120)
{
    sh(RUN "--input all.log --store %s --resume%s", "s", "");
    char *a = incidents("s", "all.log", "F");
    sh(RUN "--input all.log --store %s%s", "s", "");
    char *b = incidents("s", "all.log", "F");
    cr_assert_str_eq(b, a, "a replay rewrites the same incidents, no double counts");
    /* and --resume on a finished file reads nothing new and changes nothing */
    sh(RUN "--input all.log --store %s --resume%s", "s", "");
    char *c = incidents("s", "all.log", "F");
    cr_assert_str_eq(c, a);
    free(a);
    free(b);
    free(c);
}

/* Killed (SIGKILL, at a chosen point: CORRAL_CRASH_AT, crashpoint.h) right
 * after every 3rd checkpoint became durable, and resumed each time until
 * the file is done: the incidents of one uninterrupted run. Deterministic,
 * unlike a kill at a random moment: each crash leaves the store exactly at
 * a checkpoint with the incidents written after it, which is what a
 * resumed run must absorb (states freed and made again between two
 * checkpoints, held matches, provisional versions, rewritten incidents). */
/* Runs `corral run --input <inputs> --resume` on store `crash`, each one
 * SIGKILLed right after its 3rd durable checkpoint, until one finishes;
 * returns how many were killed. Small batches, so that checkpoints (on
 * batch boundaries) are many. */
static int crash_chain(const char *inputs)
{
    char path[4200], cfg[4096];
    snprintf(path, sizeof path, "%s/ck.yaml", tmp);
    int n = snprintf(cfg, sizeof cfg,
                     "rules: [%s]\ninput: { year: 2026, checkpoint_records: 1000, "
                     "max_record_size: 32KiB }\nengine: { batch_size: 128KiB }\n",
                     cr_test_source_path("configs/rules"));
    cr_assert_eq(cr_test_write_file(path, cfg, (size_t)n), 0);
    int crashes = 0, rc = -1;
    for (int i = 0; i < 60 && rc != 0; i++) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && CORRAL_CRASH_AT=epoch:3 '" CORRAL_BINARY
                 "' run -c ck.yaml --quiet %s --store crash --resume 2>/dev/null",
                 tmp, inputs);
        rc = cr_test_run(cmd, NULL);
        cr_assert(rc == 0 || rc == 128 + 9, "exit %d: %s", rc, cmd);
        crashes += rc != 0;
    }
    cr_assert_eq(rc, 0, "the crashed runs never finished the input");
    return crashes;
}

/* An uninterrupted run of `inputs` (store whole) and a crash chain of the
 * same (store crash) store the same incidents; `name` is an input whose
 * name appears in both (evidence refs compare as they are). */
static void crashed_equals_whole(const char *inputs, const char *name)
{
    char line[4096];
    snprintf(line, sizeof line, RUN "%s --store %%s%%s", inputs);
    sh(line, "whole", "");
    int crashes = crash_chain(inputs);
    cr_assert_geq(crashes, 10, "only %d crashes: the crash point did not fire", crashes);
    char *a = incidents("whole", name, name), *b = incidents("crash", name, name);
    cr_assert_gt(strlen(a), 1000);
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
}

Test(resume, killed_after_checkpoints_and_resumed, .init = setup, .fini = teardown, .timeout = 240)
{
    crashed_equals_whole("--input all.log", "all.log");
}

/* The same with two inputs read one after the other (odd and even lines of
 * the corpus, both over the whole time range): while the first is read,
 * the second, registered but without a time yet, holds the watermark back,
 * so nothing leaves the reorder buffer. A restart that forgot that (it
 * recomputed the frontier from the restored times, which only know the
 * first input) made the second input's records late: issue 9's loss, here
 * at a chosen point. */
Test(resume, two_inputs_killed_while_the_second_waits, .init = setup, .fini = teardown,
     .timeout = 240)
{
    sh("awk 'NR %% 2 == 1' all.log > a.log && awk 'NR %% 2 == 0' all.log > b.log%s%s", "", "");
    crashed_equals_whole("--input a.log --input b.log", "a.log");
}

/* One writer per store: while a run holds the store (reading a pipe that
 * stays open), a second run on it exits 1 naming the first one's pid;
 * queries still read it. */
Test(resume, a_second_run_on_a_store_in_use_is_refused, .init = setup, .fini = teardown,
     .timeout = 60)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && { (head -n 20000 all.log; sleep 15) 2>/dev/null | " RUN
             "--input - --store busy >/dev/null 2>&1 & } >/dev/null 2>&1; echo $!",
             tmp);
    /* the pid printed is the background pipeline's last command: corral */
    char *out = NULL;
    cr_assert_eq(cr_test_run(cmd, &out), 0);
    long pid = atol(out);
    free(out);
    cr_assert_gt(pid, 0);
    char lock[4200];
    snprintf(lock, sizeof lock, "%s/busy/writer.lock", tmp);
    long holder = 0;
    for (int i = 0; i < 500 && holder != pid; i++) {
        char *l = cr_test_slurp(lock, NULL);
        holder = l ? atol(l) : 0;
        free(l);
        usleep(10000);
    }
    cr_assert_eq(holder, pid, "the first run did not take the writer lock");
    snprintf(cmd, sizeof cmd, "cd '%s' && " RUN "--input all.log --store busy 2>&1; echo rc=$?",
             tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0);
    char want[96];
    snprintf(want, sizeof want, "in use by another writer (pid %ld)", pid);
    cr_assert(strstr(out, want) && strstr(out, "rc=1"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' query --store '%s/busy' --format ndjson >/dev/null",
             CORRAL_BINARY, tmp);
    cr_assert_eq(cr_test_run(cmd, NULL), 0, "a reader could not read the store in use");
    cr_assert_eq(kill((pid_t)pid, SIGTERM), 0);
    for (int i = 0; i < 1000 && kill((pid_t)pid, 0) == 0; i++) /* not our child: poll */
        usleep(10000);
    cr_assert_neq(kill((pid_t)pid, 0), 0, "the first run did not stop on SIGTERM");
}

/* Runs `line` in tmp and returns what it printed (stdout and stderr). */
static char *output_of(const char *line)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && { %s; } 2>&1", tmp, line);
    char *out = NULL;
    cr_test_run(cmd, &out);
    cr_assert_not_null(out);
    return out;
}

/* Store full: a 1 MiB map fills long before the corpus ends. The run stops
 * with exit 1 and a message naming the store and the setting to raise;
 * what it had committed is intact, and the same command with the default
 * map and --resume ends with exactly the incidents of an uninterrupted
 * run (nothing was dropped when the commit failed, nothing written twice). */
Test(resume, a_full_map_stops_the_run_and_a_larger_one_continues, .init = setup, .fini = teardown,
     .timeout = 240)
{
    sh(RUN "--input all.log --store whole%s%s", "", "");
    char path[4200], cfg[4096];
    snprintf(path, sizeof path, "%s/small.yaml", tmp);
    int n = snprintf(cfg, sizeof cfg,
                     "rules: [%s]\ninput: { year: 2026, checkpoint_records: 1000 }\n"
                     "store: { map_size: 1MiB }\n",
                     cr_test_source_path("configs/rules"));
    cr_assert_eq(cr_test_write_file(path, cfg, (size_t)n), 0);
    char *out = output_of("'" CORRAL_BINARY "' run -c small.yaml --quiet --input all.log "
                          "--store full --resume; echo rc=$?");
    cr_assert(strstr(out, "store full: store full: map size 1048576 bytes reached") &&
                  strstr(out, "raise store.map_size") && strstr(out, "rc=1"),
              "%s", out);
    free(out);
    sh(RUN "--input all.log --store full --resume%s%s", "", "");
    char *a = incidents("whole", "all.log", "all.log"),
         *b = incidents("full", "all.log", "all.log");
    cr_assert_gt(strlen(a), 1000);
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
}

/* Disk full: the store on a 1 MiB tmpfs (in a private mount namespace, so
 * the test needs no privilege beyond user namespaces). The run stops with
 * exit 1 naming the store and saying the filesystem, not the map, is
 * full; after the filesystem grows, --resume ends exact. */
Test(resume, a_full_filesystem_stops_the_run_and_free_space_continues, .init = setup,
     .fini = teardown, .timeout = 240)
{
    if (cr_test_run("unshare -rm sh -c 'mount -t tmpfs -o size=1m tmpfs /mnt' 2>/dev/null", NULL) !=
        0) {
        cr_assert_null(getenv("CI"), "CI must be able to mount a tmpfs in a user namespace");
        cr_skip_test("cannot mount a tmpfs in a user namespace here");
    }
    sh(RUN "--input all.log --store whole%s%s", "", "");
    sh("mkdir fs && unshare -rm sh -c 'mount -t tmpfs -o size=1m tmpfs fs && "
       "{ " RUN "--input all.log --store fs/s --resume 2>err1; echo $? >rc1; "
       "mount -o remount,size=256m fs && " RUN "--input all.log --store fs/s --resume "
       "2>err2; echo $? >rc2; '" CORRAL_BINARY "' query --store fs/s --format ndjson "
       ">q.ndjson; }'%s%s",
       "", "");
    char *rc1 = output_of("cat rc1 err1"), *rc2 = output_of("cat rc2 err2");
    cr_assert(strncmp(rc1, "1\n", 2) == 0 && strstr(rc1, "store fs/s: ") &&
                  strstr(rc1, "the filesystem is full") &&
                  strstr(rc1, "store.map_size, 1073741824 bytes, was not reached"),
              "%s", rc1);
    cr_assert_str_eq(rc2, "0\n");
    free(rc1);
    free(rc2);
    char *a = incidents("whole", "all.log", "all.log"),
         *b = canonical("cat q.ndjson", "all.log", "all.log");
    cr_assert_gt(strlen(a), 1000);
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
}

/* A reader who may read the store but not write it (an analyst's account,
 * a read-only mount): query and rejects print what the owner sees, both on
 * a finished store and while a run writes one. LMDB's lock file cannot be
 * opened for them, so they read without it (see store.c). */
Test(resume, readers_without_write_access_see_what_the_writer_sees, .init = setup, .fini = teardown,
     .timeout = 120)
{
    /* the other user cannot read files under a private checkout (a mktemp
     * clone is 0700): TSan's suppressions file among them, which would stop
     * a ThreadSanitizer build before main; that user's run goes without it */
    const char *as = geteuid() == 0 ? "env -u TSAN_OPTIONS setpriv --reuid=65534 "
                                      "--regid=65534 --clear-groups "
                                    : "";
    sh("chmod 755 . && { head -n 60000 all.log; printf 'bad \\377\\376 bytes\\n{\"broken json\\n'; "
       "tail -n +60001 all.log; } > mixed.log && " RUN "--input mixed.log --store ro && "
       "chmod -R a-w ro%s%s",
       "", "");
    char q[8192];
    snprintf(q, sizeof q, "'" CORRAL_BINARY "' query --store ro --format ndjson");
    char *own = output_of(q);
    snprintf(q, sizeof q, "%s'" CORRAL_BINARY "' query --store ro --format ndjson", as);
    char *other = output_of(q);
    cr_assert_gt(strlen(own), 500);
    cr_assert_str_eq(other, own);
    free(own);
    free(other);
    snprintf(q, sizeof q, "'" CORRAL_BINARY "' rejects --store ro");
    own = output_of(q);
    snprintf(q, sizeof q, "%s'" CORRAL_BINARY "' rejects --store ro", as);
    other = output_of(q);
    cr_assert(strstr(own, "invalid UTF-8") && strstr(own, "invalid or truncated JSON"), "%s", own);
    cr_assert_str_eq(other, own);
    free(own);
    free(other);

    /* A walk that dies (a snapshot the writer changed can make the reader
     * fault, or LMDB assert, before the torn read is noticed) costs a
     * retry, not the query: the first walk of this reader is killed. */
    /* the variable before `as`: setpriv passes it on, and an `env` after
     * setpriv would exec the binary without the rights to reach it in a
     * private (0700) checkout */
    snprintf(q, sizeof q,
             "CORRAL_FAIL_AT=unlocked_walk:1 %s'" CORRAL_BINARY "' query --store ro "
             "--format ndjson 2>walk.err",
             as);
    other = output_of(q);
    own = output_of("cat walk.err");
    cr_assert(strstr(own, "CORRAL_FAIL_AT=unlocked_walk:1 reached"),
              "the reader should walk without the lock file: %s", own);
    free(own);
    snprintf(q, sizeof q, "'" CORRAL_BINARY "' query --store ro --format ndjson");
    own = output_of(q);
    cr_assert_str_eq(other, own);
    free(own);
    free(other);

    /* While a run writes: every read succeeds and is a consistent view
     * (whole lines of JSON) that never goes back. The run reads stdin from
     * a FIFO this test holds open, so it is alive for every read however
     * fast or slow the machine is; each 20,000-line part gives it about 20
     * checkpoint commits to make around the read that follows. */
    char path[4200];
    snprintf(path, sizeof path, "%s/live.fifo", tmp);
    cr_assert_eq(mkfifo(path, 0600), 0);
    sh("mkdir live && chmod 755 live%s%s", "", "");
    /* The shell lets go of popen's pipe first (exec), or popen would wait
     * for the background job to close it. */
    sh("exec </dev/null >/dev/null 2>&1; { " RUN "--input - --resume --store live/s "
       "<live.fifo 2>live.err; echo $? >live.rc; } &%s%s",
       "", "");
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0);
    size_t len = 0;
    snprintf(path, sizeof path, "%s/all.log", tmp);
    char *all = cr_test_slurp(path, &len);
    cr_assert_not_null(all);
    size_t off = 0, seen = 0;
    int reads = 0;
    while (off < len) {
        size_t end = off;
        for (int lines = 0; end < len && lines < 20000; end++)
            lines += all[end] == '\n';
        for (size_t w = off; w < end;) {
            ssize_t n = write(fd, all + w, end - w);
            cr_assert_gt(n, 0);
            w += (size_t)n;
        }
        off = end;
        snprintf(q, sizeof q,
                 "%s'" CORRAL_BINARY "' query --store live/s --format ndjson | python3 -c \""
                 "import json,sys\nn=0\nfor l in sys.stdin: json.loads(l); n+=1\nprint(n)\"",
                 as);
        char *out = output_of(q);
        size_t n = strtoul(out, NULL, 10);
        cr_assert(out[0] >= '0' && out[0] <= '9', "read %d while the run writes: %s", reads, out);
        cr_assert_geq(n, seen, "read %d saw %zu incidents after %zu", reads, n, seen);
        seen = n;
        reads++;
        free(out);
    }
    free(all);
    close(fd);
    sh("while ! test -s live.rc; do sleep 0.05; done; test \"$(cat live.rc)\" = 0 || "
       "{ cat live.err; exit 1; }%s%s",
       "", "");
    cr_assert_eq(reads, 6);
    snprintf(q, sizeof q, "%s'" CORRAL_BINARY "' query --store live/s --format ndjson | wc -l", as);
    char *out = output_of(q);
    cr_assert_geq(strtoul(out, NULL, 10), seen);
    cr_assert_gt(strtoul(out, NULL, 10), 10);
    free(out);
}

/* A store commit that fails as a dying disk's would (EIO, injected with
 * CORRAL_FAIL_AT=commit:N after several checkpoints): exit 1 naming the
 * store and the error; the aborted transaction leaves the last checkpoint,
 * and --resume ends exact. Under ASan a leak at this teardown would change
 * the exit status. */
Test(resume, a_failing_commit_stops_the_run_and_a_restart_continues, .init = setup,
     .fini = teardown, .timeout = 240)
{
    sh(RUN "--input all.log --store whole%s%s", "", "");
    char *out = output_of("CORRAL_FAIL_AT=commit:6 " RUN "--input all.log --store eio --resume; "
                          "echo rc=$?");
    cr_assert(strstr(out, "store eio: committing a write batch: Input/output error") &&
                  strstr(out, "rc=1"),
              "%s", out);
    free(out);
    sh(RUN "--input all.log --store eio --resume%s%s", "", "");
    char *a = incidents("whole", "all.log", "all.log"), *b = incidents("eio", "all.log", "all.log");
    cr_assert_gt(strlen(a), 1000);
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
}

/* -r is --resume: the help has always named it, and the option string now
 * takes it (it was refused as an unknown option). */
Test(resume, the_short_option_resumes_like_the_long_one, .init = setup, .fini = teardown,
     .timeout = 120)
{
    sh("head -n 33333 all.log | " RUN "-i - -s %s -r%s", "short", "");
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && tail -n +33334 all.log | '%s' run -c c.yaml -i - -s short -r 2>&1", tmp,
             CORRAL_BINARY);
    int rc = cr_test_run(cmd, &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_assert(strstr(out, "stdin: resuming at line 33334"), "%s", out);
    free(out);
    sh("cat all.log | " RUN "--input - --store %s%s", "whole", "");
    char *a = incidents("whole", "stdin", "stdin"), *b = incidents("short", "stdin", "stdin");
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
}

/* A stage that fails after the pipeline started (here the output topic,
 * which a file run cannot reach without brokers) tears the pipeline down
 * and says why: exit 1, nothing read, the store closed cleanly (a query
 * opens it). */
Test(resume, a_failure_after_the_pipeline_started_tears_it_down, .init = setup, .fini = teardown,
     .timeout = 60)
{
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && " RUN "-i all.log -s st --output-topic corral.incidents 2>&1; echo rc=$?",
             tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0);
    cr_assert(strstr(out, "kafka.output_topic: needs kafka.brokers or --brokers"), "%s", out);
    cr_assert(strstr(out, "rc=1"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' query --store '%s/st' --format ndjson | wc -l", CORRAL_BINARY,
             tmp);
    cr_assert_eq(cr_test_run(cmd, &out), 0);
    cr_assert_eq(atoi(out), 0, "no record was read, so no incident: %s", out);
    free(out);
}

/* A value_sum's running sum is correlation state like any other: three
 * uploads of 300 kB before the stop and one after cross 1 MB only if the
 * resumed run took the first three back from the checkpoint. */
Test(resume, a_value_sum_continues_across_a_resume, .init = setup, .fini = teardown, .timeout = 120)
{
    char path[1200], text[4096];
    snprintf(path, sizeof path, "%s/sigma", tmp);
    cr_assert_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/sigma/exfil.yml", tmp);
    const char *rule =
        "title: Website access\nid: 00000000-0000-0000-0000-000000000080\nname: website_access\n"
        "status: test\nlevel: low\nlogsource:\n  category: webserver\ndetection:\n  sel:\n"
        "    cs-method: POST\n  condition: sel\n"
        "---\n"
        "title: Possible Exfiltration to Website\nid: 00000000-0000-0000-0000-000000000081\n"
        "status: test\nlevel: high\ncorrelation:\n  type: value_sum\n  rules: [website_access]\n"
        "  group-by: [SourceIP, User]\n  timespan: 1h\n  condition:\n    field: bytes_sent\n"
        "    gt: 1000000\n";
    cr_assert_eq(cr_test_write_file(path, rule, strlen(rule)), 0);
    int n = snprintf(text, sizeof text, "rules: [%s, %s/sigma]\ninput: { checkpoint_records: 1 }\n",
                     cr_test_source_path("configs/sigma"), tmp);
    snprintf(path, sizeof path, "%s/s.yaml", tmp);
    cr_assert_eq(cr_test_write_file(path, text, (size_t)n), 0);
    FILE *f;
    snprintf(path, sizeof path, "%s/up.jsonl", tmp);
    cr_assert_not_null(f = fopen(path, "w"));
    for (int m = 0; m < 40; m += 10)
        fprintf(f,
                "{\"time\":\"2026-03-02T08:%02d:00Z\",\"event_type\":\"http_request\","
                "\"action\":\"POST\",\"SourceIP\":\"203.0.113.9\",\"User\":\"alice\","
                "\"bytes_sent\":300000}\n",
                m);
    fclose(f);
#define SRUN "'" CORRAL_BINARY "' run -c s.yaml --quiet "
    sh(SRUN "--input up.jsonl --store %s%s", "whole", "");
    sh("head -n 3 up.jsonl > part.jsonl && " SRUN "--input part.jsonl --store %s --resume%s",
       "parts", "");
    char *mid = incidents("parts", "part.jsonl", "F");
    cr_assert(strspn(mid, "\n") == strlen(mid), "900 kB: nothing yet, got [%s]", mid);
    free(mid);
    sh("tail -n 1 up.jsonl >> part.jsonl && " SRUN "--input part.jsonl --store %s --resume%s",
       "parts", "");
#undef SRUN
    char *a = incidents("whole", "up.jsonl", "F"), *b = incidents("parts", "part.jsonl", "F");
    cr_assert(strstr(a, " 4 2026-03-02T08:00:00.000Z 2026-03-02T08:30:00.000Z "), "%s", a);
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
}
