/*
 * hs_db.c - per-field Hyperscan databases; see hs_db.h for the shape.
 *
 * Classification runs in two passes. First every pattern is checked alone
 * with hs_expression_info, which parses and analyses an expression without
 * building a database: cheap, and it catches almost everything Hyperscan
 * refuses. Then all patterns of a field go into one hs_compile_multi; if
 * that still fails, hs_compile_error_t.expression names the culprit, which
 * is reclassified and the compile retried. Both passes apply the same
 * ladder per pattern:
 *   1. "matches empty buffer" -> add HS_FLAG_ALLOWEMPTY (a rule like
 *      `^(?<x>\S*)` legitimately matches empty input);
 *   2. otherwise -> HS_FLAG_PREFILTER with the pattern as written;
 *   3. then HS_FLAG_PREFILTER with captures rewritten;
 *   4. then it is the rule's error.
 */
#include "rules/hs_db.h"

#include "rules/hs_cache.h"
#include "rules/rule_error.h"

#include <hs/hs.h>
#include <stdlib.h>
#include <string.h>

char *cr_hs_rewrite_captures(const char *re)
{
    size_t n = strlen(re);
    /* "(" becomes "(?:": at most 3x, and names only shrink. */
    char *out = malloc(3 * n + 1);
    size_t o = 0, i = 0;
    if (!out)
        abort();
    while (i < n) {
        char c = re[i];
        if (c == '\\') {
            if (re[i + 1] == 'Q') {
                /* \Q...\E quotes: copy verbatim up to and including \E. */
                const char *e = strstr(re + i + 2, "\\E");
                size_t end = e ? (size_t)(e - re) + 2 : n;
                memcpy(out + o, re + i, end - i);
                o += end - i;
                i = end;
                continue;
            }
            out[o++] = re[i++];
            if (i < n)
                out[o++] = re[i++];
            continue;
        }
        if (c == '[') {
            /* A character class: '(' inside is a literal. */
            size_t j = i + 1;
            if (re[j] == '^')
                j++;
            if (re[j] == ']')
                j++;
            while (j < n && re[j] != ']') {
                if (re[j] == '\\' && j + 1 < n)
                    j += 2;
                else if (re[j] == '[' && re[j + 1] == ':') {
                    const char *e = strstr(re + j + 2, ":]");
                    j = e ? (size_t)(e - re) + 2 : j + 1;
                } else
                    j++;
            }
            if (j < n)
                j++;
            memcpy(out + o, re + i, j - i);
            o += j - i;
            i = j;
            continue;
        }
        if (c == '(') {
            size_t skip = 0;
            if (re[i + 1] != '?' && re[i + 1] != '*') {
                skip = 1; /* plain numbered group */
            } else if (re[i + 1] == '?') {
                const char *close = NULL;
                if (re[i + 2] == '<' && re[i + 3] != '=' && re[i + 3] != '!')
                    close = strchr(re + i + 3, '>');
                else if (re[i + 2] == 'P' && re[i + 3] == '<')
                    close = strchr(re + i + 4, '>');
                else if (re[i + 2] == '\'')
                    close = strchr(re + i + 3, '\'');
                if (close)
                    skip = (size_t)(close - (re + i)) + 1;
            }
            if (skip) {
                memcpy(out + o, "(?:", 3);
                o += 3;
                i += skip;
                continue;
            }
        }
        out[o++] = re[i++];
    }
    out[o] = 0;
    return out;
}

/* Per-pattern state while classifying one field. */
struct hs_cand {
    uint32_t pat;     /* index into rs->patterns */
    char *rewritten;  /* captures made non-capturing */
    const char *expr; /* what is compiled now: rewritten or the original */
    unsigned flags;
    int alive;
};

static int is_empty_error(const char *msg) { return msg && strstr(msg, "empty") != NULL; }

/* One step down the ladder of the file comment. Returns 0 if there is
 * another form to try, -1 if the pattern is out of options. */
static int reclassify(struct hs_cand *c, const struct cr_pattern *p, const char *msg)
{
    if (is_empty_error(msg) && !(c->flags & HS_FLAG_ALLOWEMPTY)) {
        c->flags |= HS_FLAG_ALLOWEMPTY;
        return 0;
    }
    if (!(c->flags & HS_FLAG_PREFILTER)) {
        c->flags |= HS_FLAG_PREFILTER;
        c->expr = p->regex;
        return 0;
    }
    if (c->expr != c->rewritten && strcmp(c->rewritten, p->regex) != 0) {
        c->expr = c->rewritten;
        return 0;
    }
    return -1;
}

static void report(struct cr_ruleset *rs, const struct cr_pattern *p, const char *msg, char *err,
                   size_t errlen)
{
    const struct cr_rule *r = &rs->rules[p->rule];
    cr_rules_error(err, errlen, r->file, p->line, "rule '%s': regex '%s': hyperscan: %s", r->id,
                   p->regex, msg ? msg : "cannot compile");
}

/* Compile the database of one field. Returns the number of pattern errors
 * or -1 on an internal failure. */
static const struct cr_ruleset *sort_rs;

static int cmp_pat(const void *a, const void *b)
{
    const struct cr_pattern *x = &sort_rs->patterns[*(const uint32_t *)a],
                            *y = &sort_rs->patterns[*(const uint32_t *)b];
    if (x->hs_flags != y->hs_flags)
        return x->hs_flags < y->hs_flags ? -1 : 1;
    int c = strcmp(x->regex, y->regex);
    if (c)
        return c;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Patterns of a field that are the same expression with the same flags
 * and no captures (Sigma rules repeat `Image|endswith: '\powershell.exe'`
 * hundreds of times) go into the database once: the first in pattern
 * order stands for them, the others hang off it in rs->same_next and are
 * marked in dup (not compiled). */
static void chain_duplicates(struct cr_ruleset *rs, uint16_t field, uint8_t *dup)
{
    uint32_t *idx = malloc(((size_t)rs->npatterns + 1) * sizeof *idx);
    if (!idx)
        abort();
    uint32_t n = 0;
    for (int i = 0; i < rs->npatterns; i++)
        if (rs->patterns[i].field == field && rs->patterns[i].ncapture == 0)
            idx[n++] = (uint32_t)i;
    sort_rs = rs;
    qsort(idx, n, sizeof *idx, cmp_pat);
    for (uint32_t k = 1; k < n; k++) {
        const struct cr_pattern *a = &rs->patterns[idx[k - 1]], *b = &rs->patterns[idx[k]];
        if (a->hs_flags != b->hs_flags || strcmp(a->regex, b->regex) != 0)
            continue;
        /* idx[k] follows idx[k-1] in the chain of the first of the run */
        rs->same_next[idx[k - 1]] = idx[k];
        dup[idx[k]] = 1;
    }
    free(idx);
}

static int build_field(struct cr_ruleset *rs, uint16_t field, const char *cache_dir, char *err,
                       size_t errlen)
{
    int n = 0, nerr = 0, rc = -1;
    uint8_t *dup = calloc((size_t)rs->npatterns + 1, 1);
    if (!dup)
        abort();
    chain_duplicates(rs, field, dup);
    for (int i = 0; i < rs->npatterns; i++)
        n += rs->patterns[i].field == field && !dup[i];
    struct hs_cand *c = calloc((size_t)n, sizeof *c);
    const char **exprs = calloc((size_t)n, sizeof *exprs);
    unsigned *flags = calloc((size_t)n, sizeof *flags), *ids = calloc((size_t)n, sizeof *ids);
    int *sub = calloc((size_t)n, sizeof *sub);
    hs_database_t *db = NULL;
    if (!c || !exprs || !flags || !ids || !sub)
        abort();
    for (int i = 0, k = 0; i < rs->npatterns; i++) {
        if (rs->patterns[i].field != field || dup[i])
            continue;
        c[k].pat = (uint32_t)i;
        c[k].rewritten = cr_hs_rewrite_captures(rs->patterns[i].regex);
        c[k].expr = c[k].rewritten;
        c[k].flags = rs->patterns[i].hs_flags;
        c[k].alive = 1;
        exprs[k] = c[k].expr;
        flags[k] = c[k].flags;
        ids[k] = (unsigned)k;
        k++;
    }

    struct cr_hs_key key;
    cr_hs_cache_key(exprs, flags, ids, (unsigned)n, &key);
    int from_cache = 0;
    if (cache_dir && cr_hs_cache_load(cache_dir, &key, (unsigned)n, flags, &db) == 0) {
        from_cache = 1;
        for (int k = 0; k < n; k++)
            c[k].flags = flags[k];
    } else {
        /* Pass 1: each pattern alone, without building anything. */
        for (int k = 0; k < n; k++) {
            for (;;) {
                hs_expr_info_t *info = NULL;
                hs_compile_error_t *ce = NULL;
                if (hs_expression_info(c[k].expr, c[k].flags, &info, &ce) == HS_SUCCESS) {
                    free(info);
                    break;
                }
                int again = reclassify(&c[k], &rs->patterns[c[k].pat], ce->message);
                if (again != 0) {
                    report(rs, &rs->patterns[c[k].pat], ce->message, err, errlen);
                    c[k].alive = 0;
                    nerr++;
                }
                hs_free_compile_error(ce);
                if (again != 0)
                    break;
            }
        }
        /* Pass 2: the real compile; retry with the failing pattern moved
         * down its ladder until it builds or nothing is left. */
        for (;;) {
            int m = 0;
            for (int k = 0; k < n; k++) {
                if (!c[k].alive)
                    continue;
                sub[m] = k;
                exprs[m] = c[k].expr;
                flags[m] = c[k].flags;
                ids[m] = (unsigned)k;
                m++;
            }
            if (m == 0)
                break;
            hs_compile_error_t *ce = NULL;
            if (hs_compile_multi(exprs, flags, ids, (unsigned)m, HS_MODE_BLOCK, NULL, &db, &ce) ==
                HS_SUCCESS)
                break;
            db = NULL;
            if (ce->expression < 0 || ce->expression >= m) {
                /* Not one pattern's fault (e.g. the database is too big). */
                report(rs, &rs->patterns[c[sub[0]].pat], ce->message, err, errlen);
                hs_free_compile_error(ce);
                nerr++;
                break;
            }
            struct hs_cand *bad = &c[sub[ce->expression]];
            if (reclassify(bad, &rs->patterns[bad->pat], ce->message) != 0) {
                report(rs, &rs->patterns[bad->pat], ce->message, err, errlen);
                bad->alive = 0;
                nerr++;
            }
            hs_free_compile_error(ce);
        }
        if (db && nerr == 0 && cache_dir) {
            for (int k = 0; k < n; k++)
                flags[k] = c[k].flags;
            /* A failed store only costs the next load a compile. */
            (void)cr_hs_cache_store(cache_dir, &key, (unsigned)n, flags, db);
        }
    }

    for (int k = 0; k < n; k++) {
        /* the compiled pattern and every duplicate chained to it */
        for (uint32_t pi = c[k].pat; pi != UINT32_MAX; pi = rs->same_next[pi]) {
            struct cr_pattern *p = &rs->patterns[pi];
            p->hs_flags = c[k].flags;
            if (p->ncapture)
                p->kind = CR_PAT_CAPTURE;
            else
                p->kind = (c[k].flags & HS_FLAG_PREFILTER) ? CR_PAT_PREFILTER : CR_PAT_EXACT;
        }
    }
    if (db) {
        rs->hs_of_field[field] = (int16_t)rs->nhs;
        struct cr_hs_field *hf = &rs->hs[rs->nhs++];
        hf->field = field;
        hf->db = db;
        hf->npat = n;
        hf->from_cache = from_cache;
        hf->pattern_of_id = malloc((size_t)n * sizeof *hf->pattern_of_id);
        if (!hf->pattern_of_id)
            abort();
        for (int k = 0; k < n; k++)
            hf->pattern_of_id[k] = c[k].pat;
        hs_scratch_t *proto = rs->scratch_proto;
        if (hs_alloc_scratch(db, &proto) != HS_SUCCESS)
            goto out;
        rs->scratch_proto = proto;
    }
    rc = nerr;
out:
    for (int k = 0; k < n; k++)
        free(c[k].rewritten);
    free(c);
    free(exprs);
    free(flags);
    free(ids);
    free(sub);
    free(dup);
    return rc;
}

int cr_hs_db_build(struct cr_ruleset *rs, const char *cache_dir, char *err, size_t errlen)
{
    uint8_t fields[CR_MAX_FIELDS] = {0};
    int nerr = 0;
    rs->same_next = malloc(((size_t)rs->npatterns + 1) * sizeof *rs->same_next);
    if (!rs->same_next)
        abort();
    for (int i = 0; i <= rs->npatterns; i++)
        rs->same_next[i] = UINT32_MAX;
    for (int f = 0; f < CR_MAX_FIELDS; f++)
        rs->hs_of_field[f] = -1;
    for (int i = 0; i < rs->npatterns; i++)
        fields[rs->patterns[i].field] = 1;
    for (int f = 0; f < CR_MAX_FIELDS; f++) {
        if (!fields[f])
            continue;
        int rc = build_field(rs, (uint16_t)f, cache_dir, err, errlen);
        if (rc < 0) {
            cr_rules_error(err, errlen, "hyperscan", 0, "cannot allocate scratch space");
            return -1;
        }
        nerr += rc;
    }
    return nerr;
}

void cr_hs_db_free(struct cr_ruleset *rs)
{
    free(rs->same_next);
    rs->same_next = NULL;
    for (int i = 0; i < rs->nhs; i++) {
        hs_free_database(rs->hs[i].db);
        free(rs->hs[i].pattern_of_id);
    }
    rs->nhs = 0;
    if (rs->scratch_proto)
        hs_free_scratch(rs->scratch_proto);
    rs->scratch_proto = NULL;
}
