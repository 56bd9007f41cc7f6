/*
 * app_log.c - application log lines in the log4j / logback style, as
 * Hadoop, HDFS, Spark, ZooKeeper, Kafka and most Java services write them
 * to their own files:
 *
 *   2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop...MRAppMaster: Created ...
 *   2015-07-29 19:04:12,394 - INFO  [/10.10.34.11:3888:QuorumCnxManager$Listener@493] - Received
 * ... 081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 ... 17/06/09 20:10:40
 * INFO spark.SecurityManager: Changing view acls to: yarn,curi
 *
 * These have no host: after the stamp comes a level word, which a syslog
 * reading would take for the host name. The RFC 3164 parser asks here
 * first, and only when the token after its stamp (or, for the HDFS and
 * Spark stamps it does not know, the start of the line) is an upper-case
 * level. Fields: severity (syslog's scale) and severity_vendor (the word),
 * program (the logger, or for ZooKeeper's `[thread:Class@line]` the class),
 * pid (HDFS's thread id), msg (what follows). The host stays unset: the
 * line does not say, and a wrong host is worse than none.
 *
 * Everything is a slice of the record; nothing is allocated.
 */
#include "parsers/parser_int.h"

#include "base/timeparse.h"

static const struct {
    const char *word;
    int8_t sev; /* syslog severity */
} levels[] = {{"TRACE", 7}, {"DEBUG", 7},    {"INFO", 6},     {"NOTICE", 5},
              {"WARN", 4},  {"WARNING", 4},  {"ERROR", 3},    {"SEVERE", 2},
              {"FATAL", 2}, {"CRITICAL", 2}, {"EMERGENCY", 0}};

/* The level word at s[i..] followed by a space or the end: its length. */
static size_t level_at(const char *s, size_t len, size_t i, int8_t *sev)
{
    for (size_t k = 0; k < sizeof levels / sizeof *levels; k++) {
        size_t n = strlen(levels[k].word);
        if (i + n <= len && memcmp(s + i, levels[k].word, n) == 0 &&
            (i + n == len || s[i + n] == ' ')) {
            *sev = levels[k].sev;
            return n;
        }
    }
    return 0;
}

static size_t skip_sp(const char *s, size_t len, size_t i)
{
    while (i < len && s[i] == ' ')
        i++;
    return i;
}

/* The end of a bracket starting at s[i] == '[' (nested brackets count), or 0. */
static size_t bracket_end(const char *s, size_t len, size_t i)
{
    int depth = 0;
    for (size_t k = i; k < len && k < i + 512; k++) {
        if (s[k] == '[')
            depth++;
        else if (s[k] == ']' && --depth == 0)
            return k;
    }
    return 0;
}

int cr_app_log_fields(const char *s, size_t len, size_t i, struct cr_event *ev)
{
    size_t a = i;
    if (a + 2 <= len && s[a] == '-' && s[a + 1] == ' ')
        a = skip_sp(s, len, a + 2); /* ZooKeeper: "- INFO" */
    int8_t sev;
    size_t ln = level_at(s, len, a, &sev);
    if (!ln)
        return 0;
    ev->severity = sev;
    cr_event_set(ev, CR_F_SEVERITY_VENDOR, s + a, ln);
    size_t k = skip_sp(s, len, a + ln);
    if (k < len && s[k] == '[') {
        size_t e = bracket_end(s, len, k);
        if (e) {
            /* ZooKeeper's [thread:Class@line]: the class is the program */
            const char *at = memchr(s + k, '@', e - k);
            if (at) {
                size_t c = (size_t)(at - s);
                while (c > k + 1 && s[c - 1] != ':' && s[c - 1] != '/' && s[c - 1] != '[')
                    c--;
                if ((size_t)(at - s) > c)
                    cr_event_set(ev, CR_F_PROGRAM, s + c, (size_t)(at - s) - c);
            }
            k = skip_sp(s, len, e + 1);
            if (k + 2 <= len && s[k] == '-' && s[k + 1] == ' ')
                k = skip_sp(s, len, k + 2);
        }
    }
    if (!cr_event_has(ev, CR_F_PROGRAM)) {
        /* "logger: message": a token without spaces ending in ':' */
        size_t t = k;
        while (t < len && s[t] != ' ' && s[t] != ':')
            t++;
        if (t > k && t < len && s[t] == ':' && (t + 1 == len || s[t + 1] == ' ')) {
            cr_event_set(ev, CR_F_PROGRAM, s + k, t - k);
            k = skip_sp(s, len, t + 1);
        }
    }
    cr_event_set(ev, CR_F_MSG, s + k, len - k);
    return 1;
}

/* n digits at s[i..] as a number; -1 if not all digits. */
static int num(const char *s, size_t len, size_t i, size_t n)
{
    if (i + n > len)
        return -1;
    int v = 0;
    for (size_t k = 0; k < n; k++) {
        if (s[i + k] < '0' || s[i + k] > '9')
            return -1;
        v = v * 10 + (s[i + k] - '0');
    }
    return v;
}

size_t cr_app_log_stamp(const struct cr_parser *p, const char *s, size_t len, size_t i, int64_t *ms,
                        struct cr_event *ev)
{
    int y, mo, d, h, mi, sec;
    size_t e;
    if (i + 13 <= len && s[i + 6] == ' ' && (y = num(s, len, i, 2)) >= 0 &&
        (mo = num(s, len, i + 2, 2)) >= 0 && (d = num(s, len, i + 4, 2)) >= 0 &&
        (h = num(s, len, i + 7, 2)) >= 0 && (mi = num(s, len, i + 9, 2)) >= 0 &&
        (sec = num(s, len, i + 11, 2)) >= 0 && (i + 13 == len || s[i + 13] == ' ')) {
        e = i + 13; /* HDFS: "081109 203615" then the thread id */
        size_t t = skip_sp(s, len, e), u = t;
        while (u < len && s[u] >= '0' && s[u] <= '9')
            u++;
        if (u > t && u < len && s[u] == ' ') {
            int8_t sev;
            if (!level_at(s, len, skip_sp(s, len, u), &sev))
                return 0;
            cr_event_set(ev, CR_F_PID, s + t, u - t);
            e = u;
        }
    } else if (i + 17 <= len && s[i + 2] == '/' && s[i + 5] == '/' && s[i + 8] == ' ' &&
               s[i + 11] == ':' && s[i + 14] == ':' && (y = num(s, len, i, 2)) >= 0 &&
               (mo = num(s, len, i + 3, 2)) >= 0 && (d = num(s, len, i + 6, 2)) >= 0 &&
               (h = num(s, len, i + 9, 2)) >= 0 && (mi = num(s, len, i + 12, 2)) >= 0 &&
               (sec = num(s, len, i + 15, 2)) >= 0) {
        e = i + 17; /* Spark: "17/06/09 20:10:40" */
    } else {
        return 0;
    }
    int8_t sev;
    if (!level_at(s, len, skip_sp(s, len, e), &sev))
        return 0;
    int64_t t = cr_time_from_civil(2000 + y, mo, d, h, mi, sec, 0);
    if (t < 0)
        return 0;
    *ms = t - (int64_t)p->opts.tz_offset_min * 60000;
    return e;
}
