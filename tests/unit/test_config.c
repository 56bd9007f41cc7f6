/*
 * test_config.c - corral.yaml loading: defaults, the shipped config, and
 * every kind of mistake reported with file:line.
 */
#include "engine/config/config.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *write_tmp(const char *dir, const char *name, const char *text)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    cr_assert_eq(cr_test_write_file(p, text, strlen(text)), 0);
    return p;
}

Test(config, shipped_config_is_valid)
{
    struct cr_config c;
    char err[4096] = "";
    int rc = cr_config_load(cr_test_source_path("configs/corral.yaml"), &c, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(c.workers, 2);
    cr_assert_eq(c.shards, 2);
    cr_assert_eq(c.batch_bytes, 1u << 20);
    cr_assert_eq(c.max_record_bytes, 64 * 1024);
    cr_assert_eq(c.nrule_paths, 2);
    cr_assert(strstr(c.rule_paths[0], "configs/rules") != NULL, "%s", c.rule_paths[0]);
    cr_assert(strstr(c.rule_paths[1], "configs/sigma") != NULL, "the Sigma logsource mapping: %s",
              c.rule_paths[1]);
    cr_assert_eq(c.commit_interval_ms, 200);
    cr_config_free(&c);
}

Test(config, values_and_relative_paths)
{
    char *d = cr_test_tmpdir();
    char *p = write_tmp(d, "c.yaml",
                        "engine: {workers: 3, shards: 1, batch_size: 256KiB}\n"
                        "input: {format: rfc5424, timezone: '+08:00', year: 2025}\n"
                        "rules: [r1, /abs/r2]\n"
                        "store: {path: data, map_size: 2GiB, commit_interval: 1s}\n");
    struct cr_config c;
    char err[4096] = "";
    cr_assert_eq(cr_config_load(p, &c, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.workers, 3);
    cr_assert_eq(c.shards, 1);
    cr_assert_eq(c.batch_bytes, 256 * 1024);
    cr_assert_eq(c.format, CR_FMT_RFC5424);
    cr_assert_eq(c.tz_offset_min, 480);
    cr_assert_eq(c.year, 2025);
    char want[4200];
    snprintf(want, sizeof want, "%s/r1", d);
    cr_assert_str_eq(c.rule_paths[0], want);
    cr_assert_str_eq(c.rule_paths[1], "/abs/r2");
    snprintf(want, sizeof want, "%s/data", d);
    cr_assert_str_eq(c.store_path, want);
    cr_assert_eq(c.map_size, 2ull << 30);
    cr_assert_eq(c.commit_interval_ms, 1000);
    cr_config_free(&c);
    cr_test_rmtree(d);
    free(d);
    free(p);
}

/* All problems of a file are reported at once, each with its line. */
Test(config, every_error_with_file_and_line)
{
    char *d = cr_test_tmpdir();
    char *p = write_tmp(d, "bad.yaml",
                        "engine:\n"
                        "  workers: zero\n" /* line 2 */
                        "  shards: 0\n"     /* line 3 */
                        "  turbo: true\n"   /* line 4 */
                        "input:\n"
                        "  format: xml\n"            /* line 6 */
                        "  timezone: Mars/Olympus\n" /* line 7 */
                        "store:\n"
                        "  commit_interval: soon\n" /* line 9 */
                        "rules: [r]\n"
                        "colour: blue\n"); /* line 11 */
    struct cr_config c;
    char err[8192] = "";
    cr_assert_eq(cr_config_load(p, &c, err, sizeof err), -1);
    char want[4200];
    const char *lines[][2] = {{"2", "engine.workers"},       {"3", "engine.shards"},
                              {"4", "unknown key 'turbo'"},  {"6", "unknown format 'xml'"},
                              {"7", "input.timezone"},       {"9", "store.commit_interval"},
                              {"11", "unknown key 'colour'"}};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        snprintf(want, sizeof want, "%s:%s: ", p, lines[i][0]);
        const char *at = strstr(err, want);
        cr_assert(at != NULL, "missing '%s' in:\n%s", want, err);
        cr_assert(strstr(at, lines[i][1]) != NULL, "line %s should mention %s:\n%s", lines[i][0],
                  lines[i][1], err);
    }
    cr_config_free(&c);
    cr_test_rmtree(d);
    free(d);
    free(p);
}

/* Tenant budgets: defaults, values, and bad values with file:line. */
Test(config, tenant_budget)
{
    struct cr_config c;
    cr_config_defaults(&c);
    cr_assert_str_eq(c.tenant_field, "tenant_id");
    cr_assert_eq(c.max_keys_per_tenant, 0, "off by default");
    cr_config_free(&c);

    char *d = cr_test_tmpdir();
    char *p = write_tmp(d, "t.yaml",
                        "rules: [r]\n"
                        "correlation:\n"
                        "  tenant_field: account\n"
                        "  max_keys_per_tenant: 20000\n");
    char err[4096] = "";
    cr_assert_eq(cr_config_load(p, &c, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(c.tenant_field, "account");
    cr_assert_eq(c.max_keys_per_tenant, 20000);
    cr_config_free(&c);
    free(p);

    p = write_tmp(d, "bad.yaml",
                  "rules: [r]\n"
                  "correlation:\n"
                  "  tenant_field: 'my tenant'\n" /* line 3 */
                  "  max_keys_per_tenant: -1\n"); /* line 4 */
    cr_assert_eq(cr_config_load(p, &c, err, sizeof err), -1);
    char want[4200];
    snprintf(want, sizeof want, "%s:3: correlation.tenant_field", p);
    cr_assert(strstr(err, want) != NULL, "missing '%s' in:\n%s", want, err);
    snprintf(want, sizeof want, "%s:4: correlation.max_keys_per_tenant", p);
    cr_assert(strstr(err, want) != NULL, "missing '%s' in:\n%s", want, err);
    cr_config_free(&c);
    free(p);

    p = write_tmp(d, "bad2.yaml",
                  "rules: [r]\n"
                  "correlation:\n"
                  "  tenant_field: [a, b]\n"        /* line 3 */
                  "  max_keys_per_tenant: many\n"); /* line 4 */
    cr_assert_eq(cr_config_load(p, &c, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:3: correlation.tenant_field", p);
    cr_assert(strstr(err, want) != NULL, "missing '%s' in:\n%s", want, err);
    snprintf(want, sizeof want, "%s:4: correlation.max_keys_per_tenant", p);
    cr_assert(strstr(err, want) != NULL, "missing '%s' in:\n%s", want, err);
    cr_config_free(&c);
    free(p);
    cr_test_rmtree(d);
    free(d);
}

Test(config, syntax_error_and_missing_file)
{
    char *d = cr_test_tmpdir();
    char *p = write_tmp(d, "syntax.yaml", "engine:\n  workers: [1,\n");
    struct cr_config c;
    char err[4096] = "";
    cr_assert_eq(cr_config_load(p, &c, err, sizeof err), -1);
    cr_assert(strstr(err, "syntax.yaml:") != NULL && strstr(err, "YAML syntax error") != NULL, "%s",
              err);
    cr_config_free(&c);
    err[0] = 0;
    cr_assert_eq(cr_config_load("/nonexistent/corral.yaml", &c, err, sizeof err), -1);
    cr_assert(strstr(err, "/nonexistent/corral.yaml:0: cannot open") != NULL, "%s", err);
    cr_config_free(&c);
    cr_test_rmtree(d);
    free(d);
    free(p);
}

Test(config, zones)
{
    int m;
    cr_assert_eq(cr_parse_tz("UTC", &m), 0);
    cr_assert_eq(m, 0);
    cr_assert_eq(cr_parse_tz("-05:30", &m), 0);
    cr_assert_eq(m, -330);
    cr_assert_eq(cr_parse_tz("+0800", &m), 0);
    cr_assert_eq(m, 480);
    cr_assert_eq(cr_parse_tz("+8", &m), -1);
    cr_assert_eq(cr_parse_tz("CST", &m), -1);
}

Test(config, duplicate_key_names_both_lines)
{
    char *d = cr_test_tmpdir();
    char *p = write_tmp(d, "dup.yaml", "workers: 2\nstore: /tmp/x\nworkers: 4\n");
    struct cr_config c;
    char err[4096] = "";
    cr_assert_neq(cr_config_load(p, &c, err, sizeof err), 0);
    char want[4200];
    snprintf(want, sizeof want, "%s:3: duplicate key 'workers' (first on line 1)", p);
    cr_assert_str_eq(err, want);
    cr_config_free(&c);
    free(p);
    cr_test_rmtree(d);
    free(d);
}

/* The key table is the documentation: docs/operations.md's configuration
 * table is exactly what cr_config_keys_markdown prints, so a key added,
 * renamed or given another default cannot leave the docs behind. */
Test(config, the_documented_keys_are_the_loaded_keys)
{
    char *table = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&table, &tlen);
    cr_assert_not_null(f);
    cr_config_keys_markdown(f);
    fclose(f);
    size_t dlen = 0;
    char *doc = cr_test_slurp(cr_test_source_path("docs/operations.md"), &dlen);
    cr_assert_not_null(doc);
    const char *at = strstr(doc, "| key | default | meaning |");
    cr_assert_not_null(at, "docs/operations.md has no configuration table");
    const char *end = strstr(at, "\n\n");
    cr_assert_not_null(end);
    size_t n = (size_t)(end + 1 - at);
    cr_assert(n == tlen && memcmp(at, table, n) == 0,
              "docs/operations.md's table differs from the key table; replace it with:\n%s", table);
    free(table);
    free(doc);
}
