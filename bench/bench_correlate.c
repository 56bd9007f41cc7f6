/*
 * bench_correlate.c - correlation throughput and memory per key.
 *
 * Feeds one shard's correlator directly (no parsing, no matching, no
 * threads) with match records for K distinct keys, round-robin, event time
 * advancing 1 ms per match, and flushes every 8192 matches as a shard does
 * at batch ends. Reports matches/s and the memory the states take, per key.
 * Operators: event_count (gte 5) and value_count (gte 20 distinct values),
 * at two window sizes. The baseline printed beside each figure is the raw
 * cost of the same loop without the correlator (building the match
 * records), measured in the same run.
 *
 * Memory, two ways. "state B/key": the correlator's own accounting
 * (cr_correlator_memory, open incidents excluded) at the end, per live key.
 * "RSS B/key": how much the process's resident set (/proc/self/statm) grew
 * from before the correlator was created to after the run, per key at the
 * peak (states_peak): the resident set keeps its high-water mark (malloc
 * seldom gives memory back), and with the 60 s window the live keys swing
 * between ~60k and ~580k as expiry runs every 64 batches. A cross-check of
 * the accounting where there are no open incidents (it holds those too).
 * Each case runs in a child process, so that one case's freed memory does
 * not hide the next one's.
 *
 * Usage: bench_correlate [KEYS...]     (default: 10000 1000000 10000000)
 */
#include "engine/correlate/correlate.h"
#include "rules/ruleset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident bytes of this process (0 if unknown). */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, res = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &res) != 2)
        res = 0;
    fclose(f);
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static struct cr_ruleset *load(const char *window)
{
    char path[] = "/tmp/corral-bench-correlate-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "rules:\n"
                     "  - id: hit\n"
                     "    match: 'hit (?<src_ip>\\S+) (?<dst_port>\\d+)'\n"
                     "correlations:\n"
                     "  - id: count\n"
                     "    type: event_count\n"
                     "    rules: [hit]\n"
                     "    group_by: [src_ip]\n"
                     "    timespan: %s\n"
                     "    condition: { gte: 5 }\n"
                     "    incident: { category: S-ATK-BRUTE }\n"
                     "  - id: distinct\n"
                     "    type: value_count\n"
                     "    rules: [hit]\n"
                     "    group_by: [src_ip]\n"
                     "    field: dst_port\n"
                     "    timespan: %s\n"
                     "    condition: { gte: 20 }\n"
                     "    incident: { category: S-ATK-SCAN }\n",
                     window, window);
    if (write(fd, text, (size_t)n) != n) {
        close(fd);
        unlink(path);
        return NULL;
    }
    close(fd);
    const char *paths[] = {path};
    char err[2048] = "";
    struct cr_ruleset *rs = cr_ruleset_load(paths, 1, NULL, err, sizeof err);
    unlink(path);
    if (!rs)
        fprintf(stderr, "%s\n", err);
    return rs;
}

/* One pass: `matches` match records over `keys` keys. route selects the
 * operator (each route of rule `hit` feeds one correlation). With c == NULL
 * only the records are built (the baseline). */
static double run(struct cr_correlator *c, const struct cr_ruleset *rs, int route, uint64_t keys,
                  uint64_t matches)
{
    struct cr_match m;
    memset(&m, 0, sizeof m);
    m.kind = CR_MSG_MATCH;
    m.rule = 0;
    m.route = (uint8_t)route;
    volatile uint64_t sink = 0;
    double t0 = now_s();
    for (uint64_t i = 0; i < matches; i++) {
        uint64_t k = i % keys;
        m.key_len = (uint16_t)snprintf(m.key, sizeof m.key, "10.%u.%u.%u",
                                       (unsigned)(k >> 16 & 255), (unsigned)(k >> 8 & 255),
                                       (unsigned)(k & 255) + (unsigned)(k >> 24) * 256);
        m.time_ms = 1772409600000LL + (int64_t)i;
        m.value = XXH3_64bits(&i, sizeof i) % 64; /* 64 possible "ports" */
        if (c) {
            cr_correlator_apply(c, &m);
            if ((i & 8191) == 8191) {
                struct cr_version *h, *t;
                cr_correlator_flush_batch(c, &h, &t);
                for (struct cr_version *x = h, *n; x; x = n) {
                    n = x->next;
                    free(x);
                }
            }
        } else
            sink += m.key_len;
    }
    (void)rs;
    double t = now_s() - t0;
    if (sink == UINT64_MAX) /* never: only makes the sink a use (clang -Wunused-but-set) */
        fprintf(stderr, "sink\n");
    return t;
}

int main(int argc, char **argv)
{
    uint64_t def[] = {10000, 1000000, 10000000};
    uint64_t *ks = def;
    int nk = 3;
    uint64_t custom[16];
    if (argc > 1) {
        nk = 0;
        for (int i = 1; i < argc && nk < 16; i++)
            custom[nk++] = strtoull(argv[i], NULL, 10);
        ks = custom;
    }
    const char *windows[] = {"60s", "1h"};
    printf("%-12s %-7s %-9s %9s %12s %12s %7s %11s %10s %10s %10s %10s\n", "operator", "window",
           "keys", "matches", "matches/s", "baseline/s", "x base", "state B/key", "RSS B/key",
           "live keys", "peak keys", "incidents");
    fflush(stdout);
    for (int w = 0; w < 2; w++) {
        struct cr_ruleset *rs = load(windows[w]);
        if (!rs)
            return 1;
        /* routes of rule `hit`: 0 = event_count (group_by src_ip), 1 = value_count */
        for (int op = 0; op < 2; op++) {
            for (int i = 0; i < nk; i++) {
                pid_t pid = fork();
                if (pid < 0) {
                    perror("fork");
                    return 1;
                }
                if (pid > 0) {
                    int st;
                    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        return 1;
                    continue;
                }
                uint64_t keys = ks[i], matches = keys * 3 < 3000000 ? 3000000 : keys * 3;
                double base = run(NULL, rs, op, keys, matches);
                uint64_t rss0 = rss_bytes();
                struct cr_correlator *c = cr_correlator_new(rs, keys * 2);
                double secs = run(c, rs, op, keys, matches);
                uint64_t rss1 = rss_bytes();
                const struct cr_correlator_stats *st = cr_correlator_stats(c);
                uint64_t live = st->states, peak = st->states_peak, inc = 0;
                uint64_t bytes = cr_correlator_memory(c, &inc);
                /* per key: the state's own bytes, without open incidents (their
                 * number depends on the storm, not on the key count) */
                printf("%-12s %-7s %-9llu %9llu %12.0f %12.0f %7.3f %11.1f %10.1f %10llu %10llu "
                       "%10llu\n",
                       op == 0 ? "event_count" : "value_count", windows[w],
                       (unsigned long long)keys, (unsigned long long)matches,
                       (double)matches / secs, (double)matches / base,
                       ((double)matches / secs) / ((double)matches / base),
                       live ? (double)(bytes - inc) / (double)live : 0.0,
                       peak && rss1 > rss0 ? (double)(rss1 - rss0) / (double)peak : 0.0,
                       (unsigned long long)live, (unsigned long long)peak,
                       (unsigned long long)st->incidents_opened);
                fflush(stdout);
                cr_correlator_free(c);
                cr_ruleset_free(rs);
                _exit(0);
            }
        }
        cr_ruleset_free(rs);
    }
    return 0;
}
