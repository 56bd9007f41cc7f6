/*
 * bench_match.c - how much of the matching budget the rules cost.
 *
 *   bench_match RULES[,RULES...] CORPUS_FILE [PASSES]
 *
 * RULES are files or directories as under `rules:` (corral's and Sigma's,
 * with configs/sigma for the mapping); BENCH_HS_CACHE=DIR uses that
 * Hyperscan cache (a warm compile). Loads the rules, reads the corpus (one record per line) into
 * memory, and times two loops over it on one thread: (a) raw: hs_scan of every whole line against
 * the ruleset's msg database with a callback that only counts: the floor Hyperscan sets; (b) full:
 * cr_parse + cr_matcher_match per line: what a worker does before correlation (parsing, all field
 * databases, where predicates, PCRE2 confirmation and captures). It prints lines/s and MB/s of both
 * and the ratio (b)/(a), so a change that makes the matcher slower relative to Hyperscan is visible
 * regardless of the machine. Each loop repeats PASSES times (default: until 1 s elapsed). The
 * "cpu" line is the full rate per CPU second of the thread, steadier than wall time when the
 * machine is shared.
 */
#include "parsers/parser.h"
#include "rules/matcher.h"

#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: on a shared machine, what the loop cost us
 * rather than how long it waited for the core. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_cb(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *ctx)
{
    (*(uint64_t *)ctx)++;
    return 0;
}

struct line {
    const char *p;
    size_t len;
};

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static void report(const char *what, uint64_t lines, uint64_t bytes, double secs)
{
    printf("%-6s %10.0f lines/s  %8.1f MB/s  (%llu lines in %.3f s)\n", what, (double)lines / secs,
           (double)bytes / secs / 1e6, (unsigned long long)lines, secs);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s RULES[,RULES...] CORPUS_FILE [PASSES]\n", argv[0]);
        return 2;
    }
    int passes = argc > 3 ? atoi(argv[3]) : 0;
    static char err[65536];
    const char *paths[16];
    int npaths = 0;
    for (char *tok = strtok(argv[1], ","); tok && npaths < 16; tok = strtok(NULL, ","))
        paths[npaths++] = tok;
    struct cr_ruleset_opts ro = {.cache_dir = getenv("BENCH_HS_CACHE")};
    double t0 = now_s();
    struct cr_ruleset *rs = cr_ruleset_load(paths, npaths, &ro, err, sizeof err);
    if (!rs) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("rules: %d match rules (%d Sigma, %d Sigma skipped, %d checked on every record), %d "
           "correlations, %d patterns, %d databases, loaded in %.3f s\n",
           rs->nrules, rs->sigma.loaded, rs->sigma.skipped, rs->nunconditional, rs->ncorrs,
           rs->npatterns, rs->nhs, now_s() - t0);

    size_t len;
    char *corpus = slurp(argv[2], &len);
    if (!corpus) {
        fprintf(stderr, "%s: cannot read\n", argv[2]);
        return 1;
    }
    size_t nlines = 0, cap = 1024;
    struct line *lines = malloc(cap * sizeof *lines);
    for (char *p = corpus, *end = corpus + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (nlines == cap)
            lines = realloc(lines, (cap *= 2) * sizeof *lines);
        lines[nlines].p = p;
        lines[nlines++].len = l && p[l - 1] == '\r' ? l - 1 : l;
        p += l + 1;
    }
    if (nlines == 0) {
        fprintf(stderr, "%s: empty corpus\n", argv[2]);
        return 1;
    }

    /* (a) raw Hyperscan on the msg database, whole lines. */
    const struct cr_hs_field *msgdb = NULL;
    for (int i = 0; i < rs->nhs; i++)
        if (rs->hs[i].field == CR_F_MSG)
            msgdb = &rs->hs[i];
    double raw_rate = 0;
    if (msgdb) {
        hs_scratch_t *scratch = NULL;
        hs_clone_scratch(rs->scratch_proto, &scratch);
        uint64_t hits = 0, done = 0, bytes = 0;
        double start = now_s(), el;
        do {
            for (size_t i = 0; i < nlines; i++) {
                if (hs_scan(msgdb->db, lines[i].p, (unsigned)lines[i].len, 0, scratch, count_cb,
                            &hits) != HS_SUCCESS) {
                    fprintf(stderr, "hs_scan failed\n");
                    return 1;
                }
                bytes += lines[i].len;
            }
            done += nlines;
            el = now_s() - start;
        } while (passes ? done < (uint64_t)passes * nlines : el < 1.0);
        report("raw", done, bytes, el);
        printf("       %llu pattern reports\n", (unsigned long long)hits);
        raw_rate = (double)done / el;
        hs_free_scratch(scratch);
    } else {
        printf("raw    (no msg database in these rules)\n");
    }

    /* (b) parse + match, as a worker does. */
    struct cr_parse_opts popts;
    memset(&popts, 0, sizeof popts);
    popts.format = CR_FMT_AUTO;
    popts.extra_names = rs->field_names;
    popts.n_extra_names = (unsigned)rs->nfields;
    struct cr_parser *parser = cr_parser_new(&popts);
    struct cr_matcher *m = cr_matcher_new(rs);
    if (!parser || !m) {
        fprintf(stderr, "cannot create parser or matcher\n");
        return 1;
    }
    struct cr_event ev;
    uint32_t out[64];
    uint64_t done = 0, bytes = 0, matched = 0;
    double start = now_s(), cpu0 = cpu_s(), el;
    do {
        for (size_t i = 0; i < nlines; i++) {
            cr_parse(parser, lines[i].p, lines[i].len, 0, &ev);
            int n = cr_matcher_match(m, &ev, out, 64);
            if (n < 0) {
                fprintf(stderr, "matcher error\n");
                return 1;
            }
            matched += (uint64_t)n;
            bytes += lines[i].len;
        }
        done += nlines;
        el = now_s() - start;
    } while (passes ? done < (uint64_t)passes * nlines : el < 1.0);
    report("full", done, bytes, el);
    printf("cpu    %10.0f lines/s per CPU second of this thread (the machine may be shared)\n",
           (double)done / (cpu_s() - cpu0));
    const struct cr_matcher_stats *st = cr_matcher_stats(m);
    printf("       %llu rule matches, %llu scans, %llu candidates, %llu pcre runs, %llu pcre "
           "errors\n",
           (unsigned long long)matched, (unsigned long long)st->hs_scans,
           (unsigned long long)st->candidates, (unsigned long long)st->pcre_runs,
           (unsigned long long)st->pcre_errors);
    if (raw_rate > 0)
        printf("ratio  full/raw = %.2f\n", ((double)done / el) / raw_rate);

    cr_matcher_free(m);
    cr_parser_free(parser);
    cr_ruleset_free(rs);
    free(lines);
    free(corpus);
    return 0;
}
