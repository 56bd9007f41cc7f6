/*
 * cmd_test_rules.c - `corral test-rules`: fixtures written by rule authors.
 *
 * A fixture file (YAML, every *.yaml of the directory) holds tests; each
 * test is a list of records with virtual timestamps and the incidents they
 * must and must not produce:
 *
 *   tests:
 *     - name: five failures in a minute are a brute force
 *       events:
 *         - at: 0s                      # offset from the test's start
 *           log: "<38>Mar  2 08:00:00 web-01 sshd[1]: Failed password for ..."
 *           repeat: 5                   # optional: 5 copies ...
 *           every: 10s                  # ... 10 s apart
 *         - at: 2h                      # no log: the clock moves (absence deadlines)
 *       expect:                         # each must match one incident produced
 *         - rule: ssh.bruteforce
 *           category: S-ATK-BRUTE
 *           entities: { src_ip: 203.0.113.5 }
 *           event_count: 5              # optional keys: priority, reg_level, reg_category
 *       expect_none:                    # none may match an incident produced
 *         - rule: ssh.login_after_bruteforce
 *       exact: true                     # optional: no incident beyond `expect`
 *
 * `at` sets the event time of the record, whatever its own stamp says, so a
 * fixture reads as a timeline. The records go through the real parser,
 * matcher and correlator, in order, on one thread: the same code as `run`.
 *
 * Output: one line per test ("ok" or "FAIL file:line: name: why"), then
 * "N passed, M failed". Exit 0 if all passed, 1 if any failed, 78 if a
 * fixture or the rules are invalid, 2 on a usage error.
 *
 * The runner feeds the engine's own pieces in the order a shard would see
 * them (parser -> matcher -> route key -> correlator), so a fixture that
 * passes here describes what `corral run` does with the same records. One
 * test at a time, each with fresh state.
 */
#include "cli/commands.h"

#include "cli/cli.h"
#include "engine/config/config.h"
#include "engine/correlate/correlate.h"
#include "engine/correlate/match.h"
#include "engine/pipeline/worker.h"
#include "base/yaml_doc.h"

#include "parsers/parser.h"
#include "base/timeparse.h"
#include "rules/matcher.h"

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Virtual time zero of every test: 2026-03-02T00:00:00Z. */
#define T0 1772409600000LL

struct got {
    struct cr_incident *v;
    int n, cap;
};

static void keep_versions(struct got *g, struct cr_correlator *c)
{
    struct cr_version *h, *t;
    cr_correlator_flush(c, &h, &t);
    for (struct cr_version *m = h, *next; m; m = next) {
        next = m->next;
        int i;
        for (i = 0; i < g->n && strcmp(g->v[i].id, m->inc.id) != 0; i++)
            ;
        if (i == g->n) {
            if (g->n == g->cap) {
                g->cap = g->cap ? g->cap * 2 : 16;
                g->v = realloc(g->v, (size_t)g->cap * sizeof *g->v);
                if (!g->v)
                    abort();
            }
            g->n++;
        }
        g->v[i] = m->inc; /* the latest version wins */
        free(m);
    }
}

/* How an incident differs from an expectation: the number of keys that
 * differ (0: it matches), each said in why ("priority is P3, expected P2";
 * why may be NULL). */
static int differences(struct cr_yaml *y, yaml_node_t *want, const struct cr_incident *inc,
                       char *why, size_t cap)
{
    int nd = 0;
    size_t o = 0;
#define DIFF(...)                                                                                  \
    do {                                                                                           \
        if (why && o < cap)                                                                        \
            o += (size_t)snprintf(why + o, cap - o, nd ? "; " : "");                               \
        if (why && o < cap)                                                                        \
            o += (size_t)snprintf(why + o, cap - o, __VA_ARGS__);                                  \
        nd++;                                                                                      \
    } while (0)
    static const char *const keys[] = {"rule", "category", "reg_category", "priority"};
    const char *have[] = {inc->rule, inc->category, inc->reg_category, inc->priority};
    const char *s;
    for (int i = 0; i < 4; i++)
        if ((s = cr_yaml_str(cr_yaml_get(y, want, keys[i]))) && strcmp(s, have[i]))
            DIFF("%s is %s, expected %s", keys[i], have[i], s);
    yaml_node_t *n = cr_yaml_get(y, want, "reg_level");
    if (n) {
        int lvl = cr_yaml_is_null(n) ? 0 : cr_reg_level_parse(cr_yaml_str(n));
        if (lvl != inc->reg_level)
            DIFF("reg_level is %d, expected %s", inc->reg_level,
                 cr_yaml_is_null(n) ? "null" : cr_yaml_str(n));
    }
    if ((s = cr_yaml_str(cr_yaml_get(y, want, "event_count"))) &&
        strtoull(s, NULL, 10) != inc->event_count)
        DIFF("event_count is %llu, expected %s", (unsigned long long)inc->event_count, s);
    n = cr_yaml_get(y, want, "entities");
    if (n) {
        if (cr_yaml_map_len(n) != inc->nentities)
            DIFF("%d entities, expected %d", inc->nentities, cr_yaml_map_len(n));
        for (int i = 0; i < cr_yaml_map_len(n); i++) {
            const char *k = cr_yaml_map_key(y, n, i, NULL);
            const char *v = cr_yaml_str(cr_yaml_map_value(y, n, i));
            int e = 0;
            while (e < inc->nentities && !(k && !strcmp(inc->entities[e].name, k)))
                e++;
            if (e == inc->nentities)
                DIFF("no entity %s, expected %s", k ? k : "?", v ? v : "?");
            else if (!v || strcmp(inc->entities[e].value, v))
                DIFF("entities.%s is '%s', expected '%s'", k, inc->entities[e].value, v ? v : "?");
        }
    }
#undef DIFF
    return nd;
}

/* 1 if incident inc has every property the expectation node names. */
static int matches(struct cr_yaml *y, yaml_node_t *want, const struct cr_incident *inc)
{
    return differences(y, want, inc, NULL, 0) == 0;
}

static void describe(const struct cr_incident *inc, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "%s %s {", inc->rule, inc->category);
    for (int e = 0; e < inc->nentities && o < cap; e++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s: %s", e ? ", " : "", inc->entities[e].name,
                              inc->entities[e].value);
    if (o < cap)
        snprintf(out + o, cap - o, "} x%llu", (unsigned long long)inc->event_count);
}

struct runner {
    const struct cr_ruleset *rs;
    struct cr_matcher *m;
    struct cr_parser *p;
    int passed, failed, invalid;
    int verbose;
    uint64_t records; /* fed so far: a record's position, as a file input numbers lines */
};

/* Problems with the fixture itself (not the rules under test). */
static int bad_fixture(struct runner *r, struct cr_yaml *y, yaml_node_t *n, const char *what)
{
    char err[512] = "";
    cr_yaml_error(y, n, err, sizeof err, "%s", what);
    fprintf(stderr, "%s\n", err);
    r->invalid++;
    return -1;
}

static int feed_record(struct runner *r, struct cr_correlator *c, const char *log, int64_t t,
                       uint32_t *hits)
{
    struct cr_event ev;
    cr_parse(r->p, log, strlen(log), t, &ev);
    ev.time_ms = t; /* the fixture's timeline, whatever the record's own stamp */
    ev.flags &= ~(uint32_t)CR_EV_NO_TIME;
    int n = cr_matcher_match(r->m, &ev, hits, r->rs->nrules);
    uint64_t position = ++r->records;
    for (uint32_t rep = 0; rep < ev.repeat; rep++) /* "message repeated N times", as worker.c */
        for (int h = 0; h < n; h++) {
            const struct cr_rule *rule = &r->rs->rules[hits[h]];
            for (int k = 0; k < rule->nroutes; k++) {
                struct cr_match m;
                memset(&m, 0, sizeof m);
                int klen = cr_route_key(&ev, &rule->routes[k], m.key, &m.value);
                if (klen < 0)
                    continue;
                m.kind = CR_MSG_MATCH;
                m.rule = hits[h];
                m.route = (uint8_t)k;
                m.key_len = (uint16_t)klen;
                m.time_ms = t;
                m.position = position;
                m.rep = rep;
                size_t rl = strlen(log) < CR_MATCH_RAW ? strlen(log) : CR_MATCH_RAW;
                memcpy(m.raw, log, rl);
                m.raw_len = (uint16_t)rl;
                cr_correlator_apply(c, &m);
            }
        }
    return n;
}

static void run_test(struct runner *r, struct cr_yaml *y, yaml_node_t *t)
{
    static const char *const keys[] = {"name",  "events", "expect", "expect_none",
                                       "exact", "format", NULL};
    char err[2048] = "";
    const char *name = cr_yaml_str(cr_yaml_get(y, t, "name"));
    if (!name) {
        bad_fixture(r, y, t, "a test needs a name");
        return;
    }
    if (cr_yaml_check_keys(y, t, keys, "a test", err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        r->invalid++;
        return;
    }
    const char *fmt = cr_yaml_str(cr_yaml_get(y, t, "format"));
    int f = fmt ? cr_format_from_name(fmt) : CR_FMT_AUTO;
    if (f < 0) {
        bad_fixture(r, y, cr_yaml_get(y, t, "format"), "unknown format");
        return;
    }
    cr_parser_set_format(r->p, (enum cr_format)f);
    struct cr_correlator *c = cr_correlator_new(r->rs, 1000000);
    uint32_t *hits = malloc(sizeof(uint32_t) * (size_t)(r->rs->nrules + 1));
    struct got g = {0};
    yaml_node_t *events = cr_yaml_get(y, t, "events");
    if (!cr_yaml_is_seq(events)) {
        bad_fixture(r, y, t, "a test needs a list of events");
        goto out;
    }
    for (int i = 0; i < cr_yaml_seq_len(events); i++) {
        yaml_node_t *e = cr_yaml_seq_at(y, events, i);
        static const char *const ekeys[] = {"at", "log", "repeat", "every", NULL};
        err[0] = 0;
        if (cr_yaml_check_keys(y, e, ekeys, "an event", err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            r->invalid++;
            goto out;
        }
        int64_t at = 0, every = 0, repeat = 1;
        yaml_node_t *n;
        if (!(n = cr_yaml_get(y, e, "at")) ||
            cr_yaml_duration_ms(y, n, "at", &at, err, sizeof err) != 0 ||
            ((n = cr_yaml_get(y, e, "every")) &&
             cr_yaml_duration_ms(y, n, "every", &every, err, sizeof err) != 0) ||
            ((n = cr_yaml_get(y, e, "repeat")) &&
             cr_yaml_int(y, n, "repeat", 1, 100000, &repeat, err, sizeof err) != 0)) {
            if (!err[0])
                cr_yaml_error(y, e, err, sizeof err, "an event needs 'at' (e.g. 0s, +30s, 2h)");
            fprintf(stderr, "%s\n", err);
            r->invalid++;
            goto out;
        }
        const char *log = cr_yaml_str(cr_yaml_get(y, e, "log"));
        for (int64_t k = 0; k < repeat; k++) {
            int64_t when = T0 + at + k * every;
            if (log)
                feed_record(r, c, log, when, hits);
            else
                cr_correlator_advance(c, when);
        }
        keep_versions(&g, c);
    }
    keep_versions(&g, c);

    /* compare */
    char why[4096] = "";
    size_t o = 0;
    int line = cr_yaml_line(t);
    yaml_node_t *expect = cr_yaml_get(y, t, "expect"), *none = cr_yaml_get(y, t, "expect_none");
    int *used = calloc((size_t)g.n + 1, sizeof *used);
    for (int i = 0; i < cr_yaml_seq_len(expect); i++) {
        yaml_node_t *w = cr_yaml_seq_at(y, expect, i);
        int found = -1;
        for (int k = 0; k < g.n && found < 0; k++)
            if (!used[k] && matches(y, w, &g.v[k]))
                found = k;
        if (found >= 0)
            used[found] = 1;
        else if (o < sizeof why) {
            o += (size_t)snprintf(why + o, sizeof why - o, "\n    expected (line %d) not produced",
                                  cr_yaml_line(w));
            /* the closest incident left (fewest differing keys): what differed */
            int best = -1, bestn = 1 << 30;
            for (int k = 0; k < g.n; k++) {
                int d = used[k] ? 1 << 30 : differences(y, w, &g.v[k], NULL, 0);
                if (d < bestn)
                    best = k, bestn = d;
            }
            if (best >= 0 && o < sizeof why) {
                char diff[1024];
                differences(y, w, &g.v[best], diff, sizeof diff);
                o += (size_t)snprintf(why + o, sizeof why - o, ": the closest, %s, differs: %s",
                                      g.v[best].rule, diff);
            }
        }
    }
    for (int i = 0; i < cr_yaml_seq_len(none); i++) {
        yaml_node_t *w = cr_yaml_seq_at(y, none, i);
        for (int k = 0; k < g.n; k++)
            if (matches(y, w, &g.v[k]) && o < sizeof why) {
                char d[512];
                describe(&g.v[k], d, sizeof d);
                o += (size_t)snprintf(why + o, sizeof why - o, "\n    unexpected (line %d): %s",
                                      cr_yaml_line(w), d);
            }
    }
    const char *exact = cr_yaml_str(cr_yaml_get(y, t, "exact"));
    if (exact && !strcmp(exact, "true"))
        for (int k = 0; k < g.n; k++)
            if (!used[k] && o < sizeof why) {
                char d[512];
                describe(&g.v[k], d, sizeof d);
                o += (size_t)snprintf(why + o, sizeof why - o, "\n    not expected: %s", d);
            }
    if (o) {
        r->failed++;
        printf("FAIL %s:%d: %s%s\n    produced:", y->file, line, name, why);
        for (int k = 0; k < g.n; k++) {
            char d[512];
            describe(&g.v[k], d, sizeof d);
            printf("\n      %s", d);
        }
        printf("%s\n", g.n ? "" : " nothing");
    } else {
        r->passed++;
        if (r->verbose)
            printf("ok   %s:%d: %s\n", y->file, line, name);
    }
    free(used);
out:
    free(g.v);
    free(hits);
    cr_correlator_free(c);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cr_cmd_test_rules(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *config = "configs/corral.yaml";
    int verbose = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            printf("usage: corral test-rules [-c CONFIG] [--verbose] DIR|FILE...\n"
                   "\n"
                   "Runs the rule fixtures in DIR (every *.yaml) or FILE against the rules of\n"
                   "CONFIG (default configs/corral.yaml): records with virtual timestamps and\n"
                   "the incidents they must and must not produce (docs/rules.md, \"Testing\n"
                   "rules\"). Prints each failure, then 'N passed, M failed'. Exit 0 if all\n"
                   "passed, 1 if any failed, 78 if a fixture or the rules are invalid.\n");
            return 0;
        default:
            fprintf(stderr, "Try 'corral test-rules --help'.\n");
            return CR_EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return cr_cli_usage(stderr, "test-rules", "a fixture directory or file is required");
    struct cr_config cfg;
    struct cr_ruleset *rs;
    if (cr_cli_load_rules(config, 0, &cfg, &rs) != 0)
        return CR_EXIT_CONFIG;
    struct cr_parse_opts po = {.format = CR_FMT_AUTO,
                               .tz_offset_min = cfg.tz_offset_min,
                               .year = 2026,
                               .extra_names = rs->field_names,
                               .n_extra_names = (unsigned)rs->nfields};
    struct runner r = {.rs = rs, .verbose = verbose};
    r.m = cr_matcher_new(rs);
    r.p = cr_parser_new(&po);
    for (int a = optind; a < argc; a++) {
        char *files[512];
        int nf = 0;
        DIR *d = opendir(argv[a]);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) && nf < 512) {
                size_t l = strlen(e->d_name);
                if (l > 5 &&
                    (!strcmp(e->d_name + l - 5, ".yaml") || !strcmp(e->d_name + l - 4, ".yml"))) {
                    size_t n = strlen(argv[a]) + l + 2;
                    files[nf] = malloc(n);
                    snprintf(files[nf++], n, "%s/%s", argv[a], e->d_name);
                }
            }
            closedir(d);
            qsort(files, (size_t)nf, sizeof *files, cmp_str);
        } else
            files[nf++] = strdup(argv[a]);
        for (int i = 0; i < nf; i++) {
            static char err[4096];
            err[0] = 0;
            struct cr_yaml *y = cr_yaml_load(files[i], err, sizeof err);
            if (!y) {
                fprintf(stderr, "%s\n", err);
                r.invalid++;
            } else if (y->dup_line) {
                char why[128];
                fprintf(stderr, "%s:%d: %s\n", y->file, y->dup_line,
                        cr_yaml_dup_reason(y, why, sizeof why));
                r.invalid++;
                cr_yaml_free(y);
            } else {
                yaml_node_t *tests = cr_yaml_get(y, cr_yaml_root(y), "tests");
                if (!cr_yaml_is_seq(tests))
                    bad_fixture(&r, y, cr_yaml_root(y), "a fixture file holds 'tests:', a list");
                for (int k = 0; k < cr_yaml_seq_len(tests); k++)
                    run_test(&r, y, cr_yaml_seq_at(y, tests, k));
                cr_yaml_free(y);
            }
            free(files[i]);
        }
    }
    printf("%d passed, %d failed\n", r.passed, r.failed + r.invalid);
    cr_parser_free(r.p);
    cr_matcher_free(r.m);
    cr_ruleset_free(rs);
    cr_config_free(&cfg);
    if (r.invalid)
        return CR_EXIT_CONFIG;
    return r.failed ? 1 : 0;
}
