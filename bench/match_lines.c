/*
 * match_lines.c - which rules each record matches, for detection-coverage
 * scoring (bench/coverage.sh).
 *
 *   match_lines RULES[,RULES...] FILE
 *
 * Loads the rules as `rules:` would (corral's files, Sigma rules with
 * configs/sigma), parses each line of FILE with corral's parsers and prints
 * one line per record: its line number, a tab, and the ids of the matching
 * rules that open an incident on their own (space-separated; empty when
 * none). Correlation state is not run: this scores
 * what single records trigger, which is what per-event labelled sets
 * (Panther's rule tests) label. Uses BENCH_HS_CACHE like bench_match.
 * MATCH_LINES_ALL=1 prints every matching rule, building blocks included
 * (a before/after diff of the matcher's results on a corpus).
 */
#include "parsers/parser.h"
#include "rules/matcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s RULES[,RULES...] FILE\n", argv[0]);
        return 2;
    }
    static char err[65536];
    const char *paths[16];
    int npaths = 0;
    for (char *tok = strtok(argv[1], ","); tok && npaths < 16; tok = strtok(NULL, ","))
        paths[npaths++] = tok;
    struct cr_ruleset_opts ro = {.cache_dir = getenv("BENCH_HS_CACHE")};
    struct cr_ruleset *rs = cr_ruleset_load(paths, npaths, &ro, err, sizeof err);
    if (!rs) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    fprintf(stderr, "match_lines: %d match rules (%d Sigma, %d Sigma skipped), %d correlations\n",
            rs->nrules, rs->sigma.loaded, rs->sigma.skipped, rs->ncorrs);
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    struct cr_parse_opts po = {.format = CR_FMT_AUTO};
    po.extra_names = rs->field_names;
    po.n_extra_names = (unsigned)rs->nfields;
    struct cr_parser *p = cr_parser_new(&po);
    struct cr_matcher *m = cr_matcher_new(rs);
    if (!p || !m)
        return 1;
    static struct cr_event ev;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long no = 0;
    uint32_t out[256];
    const char *all_env = getenv("MATCH_LINES_ALL");
    int all = all_env && *all_env == '1';
    while ((n = getline(&line, &cap, f)) >= 0) {
        no++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        cr_parse(p, line, (size_t)n, 0, &ev);
        int k = cr_matcher_match(m, &ev, out, 256);
        printf("%lu\t", no);
        for (int i = 0, first = 1; i < k; i++) {
            const struct cr_rule *r = &rs->rules[out[i]];
            if (!r->incident && !all)
                continue; /* a building block or a correlation's input: not a detection alone */
            printf("%s%s", first ? "" : " ", r->id);
            first = 0;
        }
        printf("\n");
    }
    free(line);
    fclose(f);
    cr_matcher_free(m);
    cr_parser_free(p);
    cr_ruleset_free(rs);
    return 0;
}
