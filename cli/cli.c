/*
 * cli.c - see cli.h.
 */
#include "cli/cli.h"

#include "engine/assets/inventory.h"
#include "engine/grade/policy.h"
#include "engine/config/config.h"
#include "engine/store/store.h"

#include "rules/ruleset.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

int cr_cli_usage(FILE *err, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(err, "corral %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(err, fmt, ap);
    va_end(ap);
    fprintf(err, "\nTry 'corral %s --help' for more information.\n", cmd);
    return CR_EXIT_USAGE;
}

int cr_cli_parse_count(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 64)
        return -1;
    *out = (int)v;
    return 0;
}

int cr_cli_load_config(const char *config, struct cr_config *cfg)
{
    static char err[65536];
    err[0] = 0;
    if (cr_config_load(config, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        cr_config_free(cfg);
        return CR_EXIT_CONFIG;
    }
    return 0;
}

int cr_cli_compile_rules(const struct cr_config *cfg, int use_cache, struct cr_ruleset **rs)
{
    static char err[65536];
    err[0] = 0;
    struct cr_ruleset_opts ro = {.cache_dir = use_cache ? cfg->rule_cache : NULL};
    *rs = cr_ruleset_load((const char *const *)cfg->rule_paths, cfg->nrule_paths, &ro, err,
                          sizeof err);
    if (!*rs) {
        fprintf(stderr, "%s\n", err);
        return CR_EXIT_CONFIG;
    }
    return 0;
}

int cr_cli_load_rules(const char *config, int use_cache, struct cr_config *cfg,
                      struct cr_ruleset **rs)
{
    *rs = NULL;
    int rc = cr_cli_load_config(config, cfg);
    if (rc == 0 && (rc = cr_cli_compile_rules(cfg, use_cache, rs)) != 0)
        cr_config_free(cfg);
    return rc;
}

/* getopt_long's own complaint, in our words. opterr is off so getopt prints
 * nothing; with ':' first in optstring, a missing argument returns ':'. */
int cr_cli_getopt_error(FILE *err, const char *cmd, int c, char **argv)
{
    const char *opt = argv[optind - 1];
    if (c == ':')
        return cr_cli_usage(err, cmd, "option '%s' needs an argument", opt);
    if (optopt)
        return cr_cli_usage(err, cmd, "unknown option '-%c'", optopt);
    return cr_cli_usage(err, cmd, "unknown option '%s'", opt);
}

struct cr_store *cr_cli_open_store(const char *dir, FILE *err)
{
    char msg[512];
    struct cr_store_opts o = {.map_size = 0, .read_only = 1};
    struct cr_store *s = cr_store_open(dir, &o, msg, sizeof msg);
    if (!s)
        fprintf(err, "corral: %s\n", msg);
    return s;
}

int cr_cli_load_grading(const struct cr_config *cfg, struct cr_grade_policy *p)
{
    static char err[16384];
    cr_grade_policy_defaults(p);
    if (!cfg->grading_path)
        return 0;
    if (cr_grade_policy_load(cfg->grading_path, p, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return CR_EXIT_CONFIG;
    }
    return 0;
}

int cr_cli_load_assets(const struct cr_config *cfg, const struct cr_grade_policy *p,
                       struct cr_inventory **inv)
{
    static char err[65536];
    *inv = NULL;
    if (!cfg->assets_path)
        return 0;
    struct cr_inventory_opts o = {.shared_tenants = p ? (int)p->shared_tenants : 0};
    *inv = cr_inventory_load(cfg->assets_path, &o, err, sizeof err);
    if (!*inv) {
        fprintf(stderr, "%s\n", err);
        return CR_EXIT_CONFIG;
    }
    return 0;
}

const char *cr_cli_default_config(void)
{
    const char *e = getenv("CORRAL_CONFIG");
    if (e && *e)
        return e;
    return access(CORRAL_DEFAULT_CONFIG, R_OK) == 0 ? CORRAL_DEFAULT_CONFIG : NULL;
}
