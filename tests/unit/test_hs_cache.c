/*
 * test_hs_cache.c - the on-disk Hyperscan database cache.
 *
 * A cache is only worth having if a hit behaves exactly like a compile,
 * a damaged file is never trusted, and a changed rule never reuses an old
 * database. Each test checks one of those through cr_ruleset_load, the way
 * the engine uses it, and looks at the files in the cache directory.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/hs_cache.h"
#include "rules/matcher.h"
#include "testutil.h"

static char *dir;
static char rules_path[1024], cache_dir[1024];
static char err[4096];

static const char *RULES = "rules:\n"
                           "  - id: sshd.auth.failed\n"
                           "    match: 'Failed password for (?<user>\\S+) from (?<src_ip>\\S+)'\n"
                           "  - id: repeated.word\n"
                           "    match: '\\b(\\w+) \\1\\b'\n";

static void setup(void)
{
    dir = cr_test_tmpdir();
    cr_assert_not_null(dir);
    snprintf(rules_path, sizeof rules_path, "%s/r.yaml", dir);
    snprintf(cache_dir, sizeof cache_dir, "%s/cache/hs", dir); /* created by the loader */
    cr_assert_eq(cr_test_write_file(rules_path, RULES, strlen(RULES)), 0);
}

static void teardown(void)
{
    cr_test_rmtree(dir);
    free(dir);
}

TestSuite(hs_cache, .init = setup, .fini = teardown);

static struct cr_ruleset *load(void)
{
    const char *paths[] = {rules_path};
    struct cr_ruleset_opts opts = {.cache_dir = cache_dir};
    struct cr_ruleset *rs = cr_ruleset_load(paths, 1, &opts, err, sizeof err);
    cr_assert_not_null(rs, "%s", err);
    cr_assert_eq(rs->nhs, 1);
    return rs;
}

/* Names of the *.hsdb files in the cache directory; returns how many. */
static int cache_files(char names[][256], int max)
{
    DIR *d = opendir(cache_dir);
    int n = 0;
    struct dirent *e;
    cr_assert_not_null(d);
    while ((e = readdir(d)) && n < max)
        if (strstr(e->d_name, ".hsdb"))
            snprintf(names[n++], 256, "%s", e->d_name);
    closedir(d);
    return n;
}

/* Match both sample lines; checks both behave as compiled. */
static void check_behaviour(struct cr_ruleset *rs)
{
    struct cr_matcher *m = cr_matcher_new(rs);
    struct cr_event ev;
    uint32_t out[4];
    const char *a = "Failed password for alice from 10.0.0.1 port 22";
    cr_event_reset(&ev);
    cr_event_set(&ev, CR_F_MSG, a, strlen(a));
    cr_assert_eq(cr_matcher_match(m, &ev, out, 4), 1);
    cr_assert_eq(out[0], 0);
    cr_assert_eq(ev.f[CR_F_USER].len, 5);
    const char *b = "the the end", *c = "the end";
    cr_event_reset(&ev);
    cr_event_set(&ev, CR_F_MSG, b, strlen(b));
    cr_assert_eq(cr_matcher_match(m, &ev, out, 4), 1);
    cr_assert_eq(out[0], 1);
    cr_event_reset(&ev);
    cr_event_set(&ev, CR_F_MSG, c, strlen(c));
    cr_assert_eq(cr_matcher_match(m, &ev, out, 4), 0);
    /* The prefilter classification survives a cache hit. */
    cr_assert_eq(rs->patterns[1].kind, CR_PAT_PREFILTER);
    cr_assert(rs->patterns[1].hs_flags & HS_FLAG_PREFILTER);
    cr_matcher_free(m);
}

Test(hs_cache, miss_then_hit)
{
    struct cr_ruleset *rs = load();
    cr_assert_eq(rs->hs[0].from_cache, 0);
    check_behaviour(rs);
    cr_ruleset_free(rs);
    char names[8][256];
    cr_assert_eq(cache_files(names, 8), 1);
    cr_assert_eq(strlen(names[0]), 32 + 5, "<32 hex>.hsdb");

    rs = load();
    cr_assert_eq(rs->hs[0].from_cache, 1);
    check_behaviour(rs);
    cr_ruleset_free(rs);
    cr_assert_eq(cache_files(names, 8), 1);
}

static void damage(void (*how)(char *buf, size_t *len))
{
    struct cr_ruleset *rs = load();
    cr_ruleset_free(rs);
    char names[8][256], path[2048];
    cr_assert_eq(cache_files(names, 8), 1);
    snprintf(path, sizeof path, "%s/%s", cache_dir, names[0]);
    size_t len;
    char *buf = cr_test_slurp(path, &len);
    cr_assert_not_null(buf);
    how(buf, &len);
    cr_assert_eq(cr_test_write_file(path, buf, len), 0);
    free(buf);

    rs = load();
    cr_assert_eq(rs->hs[0].from_cache, 0, "a damaged file must not be used");
    check_behaviour(rs);
    cr_ruleset_free(rs);
    /* ...and it was rewritten: the next load hits. */
    rs = load();
    cr_assert_eq(rs->hs[0].from_cache, 1);
    check_behaviour(rs);
    cr_ruleset_free(rs);
}

static void flip_middle(char *buf, size_t *len)
{
    for (size_t i = *len / 2; i < *len / 2 + 16 && i < *len; i++)
        buf[i] ^= 0x5a;
}

static void truncate_half(char *buf, size_t *len) { *len /= 2; }

static void bad_magic(char *buf, size_t *len) { buf[0] = 'X'; }

Test(hs_cache, corrupt_file_recompiled) { damage(flip_middle); }

Test(hs_cache, truncated_file_recompiled) { damage(truncate_half); }

Test(hs_cache, bad_magic_recompiled) { damage(bad_magic); }

Test(hs_cache, changed_rule_gets_a_new_key)
{
    struct cr_ruleset *rs = load();
    cr_ruleset_free(rs);
    const char *changed = "rules:\n"
                          "  - id: sshd.auth.failed\n"
                          "    match: 'Failed password for (?<user>\\S+) from (?<src_ip>\\S+)'\n"
                          "    caseless: true\n"
                          "  - id: repeated.word\n"
                          "    match: '\\b(\\w+) \\1\\b'\n";
    cr_assert_eq(cr_test_write_file(rules_path, changed, strlen(changed)), 0);
    rs = load();
    cr_assert_eq(rs->hs[0].from_cache, 0, "flags are part of the key");
    cr_ruleset_free(rs);
    char names[8][256];
    cr_assert_eq(cache_files(names, 8), 2);
}

Test(hs_cache, key_covers_ids_flags_and_bytes)
{
    const char *e1[] = {"abc", "def"}, *e2[] = {"abc", "deg"};
    unsigned f1[] = {HS_FLAG_SINGLEMATCH, HS_FLAG_SINGLEMATCH};
    unsigned f2[] = {HS_FLAG_SINGLEMATCH, HS_FLAG_SINGLEMATCH | HS_FLAG_CASELESS};
    unsigned i1[] = {0, 1}, i2[] = {1, 0};
    struct cr_hs_key k, k2;
    cr_hs_cache_key(e1, f1, i1, 2, &k);
    cr_hs_cache_key(e1, f1, i1, 2, &k2);
    cr_assert_eq(memcmp(k.b, k2.b, 16), 0, "deterministic");
    cr_hs_cache_key(e2, f1, i1, 2, &k2);
    cr_assert_neq(memcmp(k.b, k2.b, 16), 0);
    cr_hs_cache_key(e1, f2, i1, 2, &k2);
    cr_assert_neq(memcmp(k.b, k2.b, 16), 0);
    cr_hs_cache_key(e1, f1, i2, 2, &k2);
    cr_assert_neq(memcmp(k.b, k2.b, 16), 0);
    cr_hs_cache_key(e1, f1, i1, 1, &k2);
    cr_assert_neq(memcmp(k.b, k2.b, 16), 0);
}
