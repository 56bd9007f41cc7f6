/*
 * cmd_report.c - `corral report`: the monthly service report (incidents by
 * category and level, timeliness against the targets, backlog, top
 * entities, availability) from a store, as JSON or as one HTML page.
 *
 * The report itself is engine/serve/report.c, shared with GET
 * /api/v1/report: the command builds the same filter the API would (the
 * period, --tenant, --category) with no token scope, since whoever can read
 * the store directory can read every incident in it.
 *
 * Exit status: 0 ok, 1 runtime error (no store, unwritable output), 2 usage.
 * Threading: getopt keeps global state; call from one thread at a time.
 */
#include "cli/cli.h"
#include "cli/commands.h"

#include "engine/config/config.h"
#include "engine/grade/assess.h"
#include "engine/grade/policy.h"
#include "engine/serve/filter.h"
#include "engine/serve/report.h"
#include "engine/store/store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: corral report [--store DIR | -c CONFIG] --from TIME [--to TIME] [--tenant T ...]\n"
    "                     [--category C ...] [--format json|html] [-o FILE]\n"
    "\n"
    "The service report over a period: incidents detected in it by category, level and\n"
    "priority; respond, restore, resolve and report times against the grading policy's\n"
    "targets (MTTA, MTTR, breaches and rates); the open backlog at its end; top entities\n"
    "and rules; availability of the systems that had full outages against the policy's\n"
    "targets. TIME: RFC 3339, a date (2026-11-01) or relative (-30d); --to defaults to now.\n"
    "  -s, --store DIR      the store directory (overrides store.path)\n"
    "  -c, --config FILE    corral.yaml: store.path and the grading policy (targets)\n"
    "      --from TIME      the period's start (required)\n"
    "      --to TIME        the period's end (default: now)\n"
    "      --tenant T       only incidents of tenant T (repeatable: any of them)\n"
    "      --category C     only these categories or prefixes (repeatable)\n"
    "  -f, --format F       json (default) or html (one page, charts inline, no external asset)\n"
    "  -o, --output FILE    write there instead of standard output\n";

int cr_cmd_report(int argc, char **argv)
{
    const char *cmd = "report";
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},  {"config", required_argument, NULL, 'c'},
        {"from", required_argument, NULL, 'F'},   {"to", required_argument, NULL, 'T'},
        {"tenant", required_argument, NULL, 't'}, {"category", required_argument, NULL, 'C'},
        {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *config = NULL, *format = "json", *output = NULL;
    int have_from = 0, c;
    struct cr_filter f;
    cr_filter_init(&f, NULL);
    char why[512];
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:c:f:o:h", opts, NULL)) != -1) {
        const char *key = c == 'F'   ? "from"
                          : c == 'T' ? "to"
                          : c == 't' ? "tenant"
                          : c == 'C' ? "category"
                                     : NULL;
        if (key) {
            if (cr_filter_param(&f, key, optarg, why, sizeof why) != 0) {
                cr_filter_free(&f);
                return cr_cli_usage(stderr, cmd, "%s", why);
            }
            have_from |= c == 'F';
            continue;
        }
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            cr_filter_free(&f);
            fputs(usage, stdout);
            return 0;
        default:
            cr_filter_free(&f);
            return cr_cli_getopt_error(stderr, cmd, c, argv);
        }
    }
    int rc = 0;
    if (optind < argc)
        rc = cr_cli_usage(stderr, cmd, "unexpected argument '%s'", argv[optind]);
    else if (!have_from)
        rc = cr_cli_usage(stderr, cmd, "--from TIME is required (the period's start)");
    else if (strcmp(format, "json") && strcmp(format, "html"))
        rc = cr_cli_usage(stderr, cmd, "--format: '%s' is not json or html", format);
    else if (!dir && !config)
        rc = cr_cli_usage(stderr, cmd, "--store DIR (or -c CONFIG with store.path) is required");
    int64_t now = cr_assess_now();
    if (!rc && f.to_ms == INT64_MAX)
        f.to_ms = now;
    if (!rc && cr_filter_done(&f, why, sizeof why) != 0)
        rc = cr_cli_usage(stderr, cmd, "%s", why);
    if (rc) {
        cr_filter_free(&f);
        return rc;
    }
    struct cr_config cfg;
    if (config ? (rc = cr_cli_load_config(config, &cfg)) : (cr_config_defaults(&cfg), 0)) {
        cr_filter_free(&f);
        return rc;
    }
    struct cr_grade_policy policy;
    if (config && (rc = cr_cli_load_grading(&cfg, &policy)) != 0) {
        cr_config_free(&cfg);
        cr_filter_free(&f);
        return rc;
    }
    if (!config)
        cr_grade_policy_defaults(&policy);
    struct cr_store *s = cr_cli_open_store(dir ? dir : cfg.store_path, stderr);
    if (!s) {
        cr_config_free(&cfg);
        cr_filter_free(&f);
        return 1;
    }
    json_t *rep = cr_report_build(s, &f, f.from_ms, f.to_ms, now, &policy, why, sizeof why);
    cr_store_close(s);
    cr_config_free(&cfg);
    cr_filter_free(&f);
    if (!rep) {
        fprintf(stderr, "corral report: %s\n", why);
        return 1;
    }
    char *text;
    size_t len;
    if (!strcmp(format, "html")) {
        text = cr_report_html(rep, &len);
    } else {
        text = json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        len = text ? strlen(text) : 0;
    }
    json_decref(rep);
    if (!text) {
        fprintf(stderr, "corral report: out of memory\n");
        return 1;
    }
    FILE *out = output ? fopen(output, "w") : stdout;
    int bad = !out;
    if (out) {
        bad |= fwrite(text, 1, len, out) != len;
        if (text[len ? len - 1 : 0] != '\n')
            bad |= fputc('\n', out) == EOF;
        bad |= output ? fclose(out) != 0 : fflush(out) != 0;
    }
    free(text);
    if (bad) {
        fprintf(stderr, "corral report: cannot write %s\n", output ? output : "standard output");
        return 1;
    }
    return 0;
}
