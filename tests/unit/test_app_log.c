/*
 * test_app_log.c - log4j-style application log lines (parsers/app_log.c)
 * through the RFC 3164 parser: Hadoop, ZooKeeper, HDFS and Spark lines as
 * loghub recorded them (../shared/data/loghub-2k, every line of each
 * file), the fields they give, and the lines they must not be confused
 * with (syslog with an RFC 3339 stamp and a real host, a host named like a
 * level, digits that are not a stamp).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/parser.h"
#include "testutil.h"

static struct cr_parser *p;

static void setup(void)
{
    struct cr_parse_opts o = {.format = CR_FMT_AUTO, .year = 2026};
    p = cr_parser_new(&o);
    cr_assert_not_null(p);
}

static void teardown(void) { cr_parser_free(p); }

TestSuite(app_log, .init = setup, .fini = teardown);

static int has(const struct cr_event *ev, unsigned f, const char *v)
{
    return cr_event_has(ev, f) && ev->f[f].len == strlen(v) &&
           memcmp(ev->f[f].p, v, ev->f[f].len) == 0;
}

Test(app_log, the_four_shapes)
{
    struct cr_event ev;
    const char *l = "2015-10-18 18:01:47,978 INFO [main] "
                    "org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster for "
                    "application appattempt_1445144423722_0020_000001";
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_OK);
    cr_assert_not(cr_event_has(&ev, CR_F_HOST), "a level is not a host");
    cr_assert(has(&ev, CR_F_PROGRAM, "org.apache.hadoop.mapreduce.v2.app.MRAppMaster"));
    cr_assert(has(&ev, CR_F_MSG,
                  "Created MRAppMaster for application appattempt_1445144423722_0020_000001"));
    cr_assert(has(&ev, CR_F_SEVERITY_VENDOR, "INFO"));
    cr_assert_eq(ev.severity, 6);
    cr_assert_eq(ev.time_ms, 1445191307978LL, "%lld", (long long)ev.time_ms);

    l = "2015-07-29 19:04:29,071 - WARN  [SendWorker:188978561024:QuorumCnxManager$SendWorker@688]"
        " - Send worker leaving thread";
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_OK);
    cr_assert(has(&ev, CR_F_PROGRAM, "QuorumCnxManager$SendWorker"));
    cr_assert(has(&ev, CR_F_MSG, "Send worker leaving thread"));
    cr_assert_eq(ev.severity, 4);
    cr_assert_not(cr_event_has(&ev, CR_F_HOST));

    /* nested brackets in the thread name */
    l = "2015-07-29 17:41:44,747 - INFO  "
        "[QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection"
        "@774] - Notification time out: 3200";
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_OK);
    cr_assert(has(&ev, CR_F_PROGRAM, "FastLeaderElection"));
    cr_assert(has(&ev, CR_F_MSG, "Notification time out: 3200"));

    l = "081109 204005 35 INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap "
        "updated: 10.251.73.220:50010 is added to blk_7128370237687728475 size 67108864";
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_OK);
    cr_assert(has(&ev, CR_F_PROGRAM, "dfs.FSNamesystem"));
    cr_assert(has(&ev, CR_F_PID, "35"));
    cr_assert_eq(ev.time_ms, 1226263205000LL, "%lld", (long long)ev.time_ms);

    l = "17/06/09 20:11:11 ERROR executor.CoarseGrainedExecutorBackend: RECEIVED SIGNAL 15: "
        "SIGTERM";
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_OK);
    cr_assert(has(&ev, CR_F_PROGRAM, "executor.CoarseGrainedExecutorBackend"));
    cr_assert(has(&ev, CR_F_MSG, "RECEIVED SIGNAL 15: SIGTERM"));
    cr_assert_eq(ev.severity, 3);
    cr_assert_eq(ev.time_ms, 1497039071000LL, "%lld", (long long)ev.time_ms);
}

Test(app_log, look_alikes_stay_syslog)
{
    struct cr_event ev;
    const char *l = "2026-03-02T10:00:00Z web-01 sshd[1]: Accepted password for bob";
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_OK);
    cr_assert(has(&ev, CR_F_HOST, "web-01"));
    cr_assert(has(&ev, CR_F_PROGRAM, "sshd"));
    /* a host that starts like a level */
    l = "2026-03-02T10:00:00Z INFOSRV01 app: started";
    cr_parse(p, l, strlen(l), 0, &ev);
    cr_assert(has(&ev, CR_F_HOST, "INFOSRV01"));
    /* six digits twice, then no level: not an HDFS stamp */
    l = "081109 203615 148 something else";
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_FALLBACK);
    cr_assert(ev.flags & CR_EV_HEADERLESS);
    l = "17/06/09 20:10:40 hello";
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_FALLBACK);
    /* an impossible date is not a stamp */
    l = "081399 203615 148 INFO x: y";
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_FALLBACK);
    /* a level and nothing else */
    l = "2015-10-18 18:01:47,978 ERROR";
    cr_assert_eq(cr_parse(p, l, strlen(l), 0, &ev), CR_PARSE_OK);
    cr_assert(has(&ev, CR_F_MSG, ""));
}

/* Every line of loghub's Hadoop, ZooKeeper, HDFS and Spark samples: a time
 * of its own, a level, no host; prefixes never read past the end. */
Test(app_log, loghub_samples)
{
    static const char *const files[] = {
        "loghub-2k/Hadoop/Hadoop_2k.log", "loghub-2k/Zookeeper/Zookeeper_2k.log",
        "loghub-2k/HDFS/HDFS_2k.log", "loghub-2k/Spark/Spark_2k.log"};
    const char *first = cr_test_shared_path(files[0]);
    cr_test_need_shared(first, "../shared/data/loghub-2k absent");
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        size_t len;
        char *text = cr_test_slurp(cr_test_shared_path(files[f]), &len);
        cr_assert_not_null(text, "%s", files[f]);
        int n = 0, ok = 0;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            size_t l = strlen(line);
            if (l && line[l - 1] == '\r')
                line[--l] = 0;
            struct cr_event ev;
            enum cr_parse_result r = cr_parse(p, line, l, 0, &ev);
            n++;
            if (r == CR_PARSE_OK && !(ev.flags & CR_EV_NO_TIME) && !cr_event_has(&ev, CR_F_HOST) &&
                cr_event_has(&ev, CR_F_SEVERITY_VENDOR) && ev.severity >= 0)
                ok++;
            else
                cr_log_warn("%s: not read as an application log: %s", files[f], line);
            char *copy = malloc(l ? l : 1);
            for (size_t k = 0; k < l; k += 5) {
                memcpy(copy, line, k);
                cr_parse(p, copy, k, 0, &ev);
            }
            free(copy);
        }
        cr_assert_eq(n, 2000, "%s: %d lines", files[f], n);
        cr_assert_eq(ok, n, "%s: %d of %d lines", files[f], ok, n);
        free(text);
    }
}
