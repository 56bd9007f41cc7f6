/*
 * cmd_check.c - `corral check`: a config and every rule file loaded and
 * compiled as `corral run` would, each problem as file:line: reason, and
 * what was loaded (Sigma rules skipped by reason) as text or JSON.
 */
#include "cli/cli.h"
#include "cli/commands.h"

#include "engine/assets/inventory.h"
#include "engine/grade/policy.h"
#include "engine/config/config.h"
#include "rules/ruleset.h"

#include <getopt.h>
#include <stdio.h>

static void usage_check(FILE *f)
{
    fprintf(f, "usage: corral check -c CONFIG [--stats-json]\n"
               "       corral check --keys\n"
               "\n"
               "Loads the config and every rule file, compiles all rule regexes, and prints\n"
               "each problem as file:line: reason. Exits 0 if all is well, 78 otherwise.\n"
               "Sigma rules corral cannot run are skipped, never an error: each is printed\n"
               "as file:line: skipped: reason, and counted by reason.\n"
               "  --stats-json   also print one JSON object of the counts on stdout\n"
               "  --keys         print every config key, its default and meaning (Markdown)\n");
}

int cr_cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"stats-json", no_argument, 0, 'j'},
                                         {"keys", no_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *config = NULL;
    int c, json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'k':
            cr_config_keys_markdown(stdout);
            return 0;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage_check(stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'corral check --help'.\n");
            return CR_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cr_cli_usage(stderr, "check", "unexpected argument '%s'", argv[optind]);
    if (!config)
        config = cr_cli_default_config();
    if (!config)
        return cr_cli_usage(stderr, "check", "-c CONFIG is required (there is no %s)",
                            CORRAL_DEFAULT_CONFIG);
    struct cr_config cfg;
    struct cr_ruleset *rs = NULL;
    struct cr_inventory *inv = NULL;
    int rc = cr_cli_load_rules(config, 1, &cfg, &rs);
    struct cr_grade_policy grading;
    if (rc == 0 && ((rc = cr_cli_load_grading(&cfg, &grading)) != 0 ||
                    (rc = cr_cli_load_assets(&cfg, &grading, &inv)) != 0)) {
        cr_ruleset_free(rs);
        cr_inventory_free(inv);
    }
    if (rc == 0) {
        int prefiltered = 0, cached = 0;
        for (int i = 0; i < rs->npatterns; i++)
            prefiltered += rs->patterns[i].kind == CR_PAT_PREFILTER;
        for (int i = 0; i < rs->nhs; i++)
            cached += rs->hs[i].from_cache;
        const struct cr_sigma_stats *sg = &rs->sigma;
        if (sg->skips)
            fputs(sg->skips, stderr);
        FILE *out = json ? stderr : stdout;
        fprintf(out,
                "%s: ok: %d match rules and %d correlations (%d of them Sigma rules, %d Sigma "
                "rules skipped), %d patterns (%d prefiltered for PCRE2 confirmation) in %d "
                "Hyperscan database%s (%d from cache)\n",
                config, rs->nrules, rs->ncorrs, sg->loaded, sg->skipped, rs->npatterns, prefiltered,
                rs->nhs, rs->nhs == 1 ? "" : "s", cached);
        if (inv)
            fprintf(out, "%s: inventory: %d tenants, %d systems, %d assets\n", cfg.assets_path,
                    cr_inventory_ntenants(inv), cr_inventory_nsystems(inv),
                    cr_inventory_nassets(inv));
        if (json) {
            printf(
                "{\"match_rules\":%d,\"correlations\":%d,\"patterns\":%d,"
                "\"prefiltered\":%d,\"hs_databases\":%d,\"hs_from_cache\":%d,"
                "\"sigma_loaded\":%d,\"sigma_silent\":%d,\"sigma_filters\":%d,\"sigma_skipped\":%d,"
                "\"sigma_skipped_by_reason\":{",
                rs->nrules, rs->ncorrs, rs->npatterns, prefiltered, rs->nhs, cached, sg->loaded,
                sg->silent, sg->filters, sg->skipped);
            for (int i = 0; i < CR_SIGMA_SKIP__COUNT; i++)
                printf("%s\"%s\":%d", i ? "," : "", cr_sigma_skip_name((enum cr_sigma_skip)i),
                       sg->by_reason[i]);
            printf("}");
            if (inv)
                printf(",\"tenants\":%d,\"systems\":%d,\"assets\":%d", cr_inventory_ntenants(inv),
                       cr_inventory_nsystems(inv), cr_inventory_nassets(inv));
            printf("}\n");
        }
        cr_ruleset_free(rs);
        cr_inventory_free(inv);
    }
    cr_config_free(&cfg);
    return rc;
}
