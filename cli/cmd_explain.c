/*
 * cmd_explain.c - `corral explain`: one record through the parser and the
 * matcher, said in words (as wazuh-logtest does for Wazuh rules).
 *
 * For a rule author: the fields the parser set (and the JSON paths the
 * rules name that the record has), every rule that matches with the values
 * of the fields it tests, the incident it opens (category, priority, key),
 * and the correlations it feeds with the key their state would be kept
 * under. It runs no correlation state: one record cannot show a window.
 *
 * Threading: command-line code, main thread only.
 *
 * The record goes through the same pieces `corral run` uses (config, rule
 * load, parser with the rules' extra names, matcher, route keys), so what
 * it prints is what the engine does with that record; only the wording is
 * this file's.
 */
#include "cli/commands.h"

#include "cli/cli.h"
#include "engine/assets/inventory.h"
#include "engine/grade/policy.h"
#include "engine/config/config.h"
#include "engine/correlate/match.h"
#include "engine/pipeline/worker.h"

#include "parsers/parser.h"
#include "base/timeparse.h"
#include "rules/matcher.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_MAX 160 /* bytes of a value printed; longer ones end in "..." */

static const char *field_name(const struct cr_ruleset *rs, unsigned f)
{
    return f < CR_F__BUILTIN ? cr_field_builtin_name(f) : rs->field_names[f];
}

static void show_value(const struct cr_event *ev, unsigned f)
{
    size_t n = ev->f[f].len;
    putchar('\'');
    for (size_t i = 0; i < n && i < SHOW_MAX; i++) {
        unsigned char c = (unsigned char)ev->f[f].p[i];
        if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    printf(n > SHOW_MAX ? "'...(%zu bytes)" : "'", n);
}

/* "name='value'" for each field, or "name absent". */
static void show_fields(const struct cr_ruleset *rs, const struct cr_event *ev,
                        const uint16_t *fields, int n)
{
    for (int i = 0; i < n; i++) {
        printf("%s%s", i ? ", " : "", field_name(rs, fields[i]));
        if (cr_event_has(ev, fields[i])) {
            putchar('=');
            show_value(ev, fields[i]);
        } else {
            printf(" absent");
        }
    }
}

/* The fields a rule tests that the record has, each once: where / not,
 * patterns (match, not_match, Sigma values), Sigma atoms. */
static void show_tested(const struct cr_ruleset *rs, const struct cr_rule *r,
                        const struct cr_event *ev)
{
    uint64_t seen[CR_FIELD_WORDS] = {0};
    int k = 0;
#define TESTED(f)                                                                                  \
    do {                                                                                           \
        unsigned f_ = (f);                                                                         \
        if (f_ < CR_MAX_FIELDS && !(seen[f_ >> 6] >> (f_ & 63) & 1) && cr_event_has(ev, f_)) {     \
            seen[f_ >> 6] |= 1ull << (f_ & 63);                                                    \
            printf("%s%s=", k++ ? ", " : "      tests: ", field_name(rs, f_));                     \
            show_value(ev, f_);                                                                    \
        }                                                                                          \
    } while (0)
    for (int i = 0; i < r->nwhere; i++)
        TESTED(r->where[i].field);
    for (int i = 0; i < r->npatterns + r->nnegated; i++)
        TESTED(rs->patterns[r->patterns[i]].field);
    if (r->expr)
        for (int a = 0; a < r->expr->natoms; a++)
            for (int j = 0; j < r->expr->atoms[a].nalt; j++)
                TESTED(r->expr->atoms[a].fields[j]);
#undef TESTED
    if (k)
        putchar('\n');
}

static void show_key(const struct cr_ruleset *rs, const struct cr_event *ev, const uint16_t *g,
                     int n)
{
    if (n == 0) {
        printf("one state for all records");
        return;
    }
    printf("key ");
    show_fields(rs, ev, g, n);
}

/* The correlations that read input (a rule, or a correlation: chaining),
 * and those that read them in turn. */
static void show_consumers(const struct cr_ruleset *rs, const struct cr_event *ev, int is_corr,
                           uint32_t index, int depth)
{
    if (depth > 8)
        return;
    for (int c = 0; c < rs->ncorrs; c++) {
        const struct cr_correlation *co = &rs->corrs[c];
        int step = -1;
        for (int s = 0; s < co->nsteps && step < 0; s++)
            if (co->steps[s].is_correlation == is_corr && co->steps[s].index == index)
                step = s;
        if (step < 0)
            continue;
        printf("%*sfeeds %s (%s", 6 + 2 * depth, "", co->id, cr_corr_type_name(co->type));
        if (co->type == CR_CORR_TEMPORAL_ORDERED || co->type == CR_CORR_ABSENCE ||
            co->type == CR_CORR_TEMPORAL)
            printf(", step %d of %d", step + 1, co->nsteps);
        if (co->type == CR_CORR_EVENT_COUNT || co->type == CR_CORR_VALUE_COUNT)
            printf(", fires at %u", co->gte);
        if (co->type == CR_CORR_TEMPORAL && co->gte < (uint32_t)co->nsteps)
            printf(", fires at %u of them", co->gte);
        if (co->value_field >= 0 && cr_corr_value_num(co)) {
            char what[32];
            snprintf(what, sizeof what, "%s", cr_corr_type_name(co->type) + 6); /* "sum", ... */
            if (co->type == CR_CORR_VALUE_PERCENTILE)
                snprintf(what, sizeof what, "percentile %u", co->percentile);
            printf(", %s of %s %s%.15g", what, field_name(rs, (unsigned)co->value_field),
                   co->num_lo != -INFINITY ? (co->num_lo_strict ? "> " : ">= ")
                                           : (co->num_hi_strict ? "< " : "<= "),
                   co->num_lo != -INFINITY ? co->num_lo : co->num_hi);
        } else if (co->value_field >= 0)
            printf(" distinct %s", field_name(rs, (unsigned)co->value_field));
        printf(" within %llds, %s %s): ", (long long)(co->timespan_ms / 1000),
               co->incident.category, co->incident.priority);
        show_key(rs, ev, is_corr ? co->group_by : CR_STEP_GROUP_BY(co, step), co->ngroup_by);
        putchar('\n');
        show_consumers(rs, ev, 1, (uint32_t)c, depth + 1);
    }
}

/* What the inventory knows of the record's host and addresses: the asset,
 * its system and tier, its tenant (DOMAIN.md (b) step 1). */
static void show_assets(const struct cr_inventory *inv, const struct cr_event *ev)
{
    static const struct {
        int field;
        const char *what;
    } keys[] = {{CR_F_HOST, "host"}, {CR_F_SRC_IP, "src_ip"}, {CR_F_DST_IP, "dst_ip"}};
    printf("assets:\n");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int f = keys[i].field;
        if (!cr_event_has(ev, (unsigned)f))
            continue;
        const char *v = ev->f[f].p;
        size_t n = ev->f[f].len;
        int a = f == CR_F_HOST ? cr_inventory_by_name(inv, v, n) : cr_inventory_by_ip(inv, v, n);
        if (a < 0 && f == CR_F_HOST)
            a = cr_inventory_by_ip(inv, v, n); /* devices often log their address */
        printf("  %s %.*s: ", keys[i].what, (int)n, v);
        if (a < 0) {
            printf("in no asset of the inventory (graded with the defaults)\n");
            continue;
        }
        const struct cr_asset *as = cr_inventory_asset(inv, a);
        const struct cr_system *sys = cr_inventory_system(inv, as->system);
        const struct cr_tenant_unit *t = cr_inventory_tenant(inv, as->tenant);
        printf("asset %s (%s)", as->id, cr_asset_kind_name(as->kind));
        if (sys)
            printf(", system %s%s%s", sys->id, sys->name[0] ? " " : "", sys->name);
        printf(", tier T%d", (int)cr_inventory_asset_tier(inv, a));
        if (t)
            printf(", tenant %s%s%s", t->id, t->name[0] ? " " : "", t->name);
        printf(", its failure reaches %d tenant%s\n", cr_inventory_reach_tenants(inv, a),
               cr_inventory_reach_tenants(inv, a) == 1 ? "" : "s");
    }
}

static void explain(const struct cr_ruleset *rs, const struct cr_inventory *inv,
                    struct cr_parser *p, struct cr_matcher *m, const char *rec, size_t len)
{
    static struct cr_event ev;
    enum cr_parse_result pr = cr_parse(p, rec, len, 0, &ev);
    printf("record (%zu bytes): %.*s%s\n", len, len > 200 ? 200 : (int)len, rec,
           len > 200 ? "..." : "");
    char when[40] = "none in the record";
    if (!(ev.flags & CR_EV_NO_TIME))
        cr_time_format(ev.time_ms, when, sizeof when);
    printf("parsed as %s%s, time %s%s%s%s\n", cr_format_name((enum cr_format)ev.format),
           pr == CR_PARSE_ERROR      ? " (did not fit: kept raw, counted as a parse error)"
           : pr == CR_PARSE_FALLBACK ? " (partially)"
                                     : "",
           when, ev.flags & CR_EV_BAD_UTF8 ? ", invalid UTF-8" : "",
           ev.flags & CR_EV_TRUNCATED ? ", truncated" : "",
           ev.repeat > 1 ? ", stands for repeated records" : "");
    if (ev.repeat > 1)
        printf("repeat: %u (\"message repeated N times\": each match counts N times)\n", ev.repeat);
    uint64_t parsed[CR_FIELD_WORDS] = {0};
    for (unsigned f = 0; f < CR_MAX_FIELDS && f < (unsigned)rs->nfields; f++)
        if (cr_event_has(&ev, f))
            parsed[f >> 6] |= 1ull << (f & 63);
    uint32_t hits[512];
    int n = cr_matcher_match(m, &ev, hits, 512);
    printf("fields:\n");
    for (unsigned f = 0; f < CR_MAX_FIELDS && f < (unsigned)rs->nfields; f++) {
        if (!cr_event_has(&ev, f) || (f == CR_F_MSG && ev.f[f].len == len && len > 80))
            continue;
        printf("  %s = ", field_name(rs, f));
        show_value(&ev, f);
        int derived = 0;
        for (int d = 0; d < rs->nderived && !derived; d++)
            derived = rs->derived[d].field == f;
        printf("%s\n", parsed[f >> 6] >> (f & 63) & 1 ? ""
                       : derived                      ? "   (decoded by a rule's transforms)"
                                                      : "   (captured by a rule)");
    }
    if (inv)
        show_assets(inv, &ev);
    if (n == 0) {
        printf("no rule matches\n\n");
        return;
    }
    printf("rules that match (%d):\n", n);
    for (int h = 0; h < n; h++) {
        const struct cr_rule *r = &rs->rules[hits[h]];
        printf("  %s: %s\n      %s:%d", r->id, r->title ? r->title : "", r->file, r->line);
        if (r->sigma)
            printf(", Sigma, level %s, logsource %s%s%s",
                   r->sigma->level ? r->sigma->level : "none", r->sigma->logsource,
                   r->sigma->attack && r->sigma->attack[0] ? ", ATT&CK " : "",
                   r->sigma->attack ? r->sigma->attack : "");
        putchar('\n');
        show_tested(rs, r, &ev);
        if (r->incident) {
            printf("      opens an incident: %s %s, ", r->incident->category,
                   r->incident->priority);
            char key[CR_KEY_MAX];
            uint64_t v;
            /* the rule's own route, as link_all makes it */
            struct cr_route rt = {
                .ngroup_by = r->ngroup_by, .value_field = -1, .absent_ok = r->sigma != NULL};
            memcpy(rt.group_by, r->group_by, sizeof rt.group_by);
            if (r->ngroup_by && cr_route_key(&ev, &rt, key, &v) < 0) {
                printf("but not from this record: ");
                show_fields(rs, &ev, r->group_by, r->ngroup_by);
                printf(" (the key is incomplete)\n");
            } else {
                show_key(rs, &ev, r->group_by, r->ngroup_by);
                putchar('\n');
            }
        } else if (r->sigma) {
            printf("      opens no incident of its own (below sigma_min_level, or a "
                   "correlation's input)\n");
        }
        show_consumers(rs, &ev, 0, hits[h], 0);
    }
    putchar('\n');
}

int cr_cmd_explain(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *config = "configs/corral.yaml";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'h':
            printf("usage: corral explain [-c CONFIG] [RECORD...]\n"
                   "\n"
                   "Explains what the engine does with each RECORD (or each line of stdin):\n"
                   "the fields the parser sets, the rules that match with the values of the\n"
                   "fields they test, the incident each opens and the correlations it feeds,\n"
                   "with the key their state is kept under. CONFIG defaults to\n"
                   "configs/corral.yaml. No state is kept between records.\n");
            return 0;
        default:
            fprintf(stderr, "Try 'corral explain --help'.\n");
            return CR_EXIT_USAGE;
        }
    }
    struct cr_config cfg;
    struct cr_ruleset *rs;
    struct cr_inventory *inv = NULL;
    if (cr_cli_load_rules(config, 1, &cfg, &rs) != 0)
        return CR_EXIT_CONFIG;
    struct cr_grade_policy grading;
    if (cr_cli_load_grading(&cfg, &grading) != 0 || cr_cli_load_assets(&cfg, &grading, &inv) != 0) {
        cr_ruleset_free(rs);
        cr_config_free(&cfg);
        return CR_EXIT_CONFIG;
    }
    struct cr_parse_opts po = {.format = cfg.format,
                               .tz_offset_min = cfg.tz_offset_min,
                               .year = cfg.year,
                               .extra_names = rs->field_names,
                               .n_extra_names = (unsigned)rs->nfields};
    struct cr_parser *p = cr_parser_new(&po);
    struct cr_matcher *m = cr_matcher_new(rs);
    int rc = 0;
    if (!p || !m) {
        fprintf(stderr, "corral explain: out of memory\n");
        rc = CR_EXIT_RUNTIME;
    } else if (optind < argc) {
        for (int i = optind; i < argc; i++)
            explain(rs, inv, p, m, argv[i], strlen(argv[i]));
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, stdin)) >= 0) {
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
            if (n > 0)
                explain(rs, inv, p, m, line, (size_t)n);
        }
        free(line);
    }
    cr_matcher_free(m);
    cr_parser_free(p);
    cr_ruleset_free(rs);
    cr_inventory_free(inv);
    cr_config_free(&cfg);
    return rc;
}
