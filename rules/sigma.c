/*
 * sigma.c - Sigma detection rules, as the community publishes them,
 * compiled into corral's own rule model: one engine, not two.
 *
 * A Sigma rule becomes one struct cr_rule whose `expr` is its detection:
 * every value of every selection is an atom, and every atom that is a
 * string test (equality, contains, startswith, endswith, wildcards, re,
 * base64, windash...) is one or more Hyperscan patterns in the same
 * per-field databases as corral's own rules, so an event is still scanned
 * once per field for all rules. The matcher evaluates a rule's condition
 * (a postfix program) only when one of its patterns hit, or on every event
 * for the rare condition that can hold without any (`not filter`, `exists`,
 * `cidr`, numbers); PCRE2 runs only for `re` values Hyperscan could only
 * prefilter.
 *
 * Where a rule applies and where its fields are come from the logsource
 * mapping (`sigma_logsources:` in a rule file, configs/sigma/logsources.yaml
 * by default; pySigma calls these pipelines): an entry names a logsource
 * (product, service, category), a Sigma selection its records must also
 * match (`select`), the corral field or JSON path of each Sigma field (or a
 * template such as `Event.EventData.{}`, with up to four alternatives for
 * the shapes people ship), the incident's group_by and category.
 *
 * Loading is lenient where corral's own files are strict: a Sigma rule
 * corral cannot run is skipped with "file:line: reason", counted by reason
 * (ruleset->sigma), and never fails the load. A rule is compiled into
 * temporary lists first and committed only when all of it compiled, so a
 * skip leaves nothing behind.
 *
 * Why the document is kept until every file is read: the mapping may be in
 * a file that sorts after the rules (cr_sigma_compile_all runs then).
 *
 * Correlation rules (Sigma v2.1: event_count, value_count, value_sum,
 * value_avg, value_percentile (with condition.percentile), temporal (all its
 * rules, or `gte: N` of them), temporal_ordered (all its rules, in order);
 * skipped with "correlation": value_median, `neq`, a condition written as a
 * string, and the shapes compile_corr names) become corral correlations
 * naming the compiled rules' ids; they are compiled after every detection
 * rule, and one that names a
 * later correlation waits for it. Patterns that can never make a rule's
 * condition hold by themselves (the logsource's select, filters under
 * `not`) are gates: recorded for the condition, never making a candidate,
 * and shared between rules when identical.
 */
#include "rules/rule_load.h"

#include "rules/hs_db.h"
#include "rules/pcre_confirm.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <hs/hs.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static const char *const skip_names[CR_SIGMA_SKIP__COUNT] = {
    [CR_SIGMA_SKIP_STATUS] = "status",
    [CR_SIGMA_SKIP_LOGSOURCE] = "unmapped_logsource",
    [CR_SIGMA_SKIP_MODIFIER] = "unknown_modifier",
    [CR_SIGMA_SKIP_CONDITION] = "condition",
    [CR_SIGMA_SKIP_REGEX] = "regex",
    [CR_SIGMA_SKIP_PLACEHOLDER] = "placeholder",
    [CR_SIGMA_SKIP_CORRELATION] = "correlation",
    [CR_SIGMA_SKIP_INVALID] = "invalid",
    [CR_SIGMA_SKIP_DUPLICATE] = "duplicate_id",
    [CR_SIGMA_SKIP_LIMIT] = "limit",
};

const char *cr_sigma_skip_name(enum cr_sigma_skip why)
{
    return (unsigned)why < CR_SIGMA_SKIP__COUNT ? skip_names[why] : "?";
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort();
    return q;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

/* ---- the logsource mapping ---- */

struct sigma_field_map {
    char *sigma;
    char *alts[CR_ATOM_MAX_ALT];
    int nalts;
};

struct sigma_src {
    char *product, *service, *category; /* NULL: the rule must not name it either */
    struct cr_yaml *y;                  /* the mapping file (kept open by the loader) */
    yaml_node_t *select;                /* a selection its records must match, or NULL */
    struct sigma_field_map *fields;
    int nfields;
    char *tpl[CR_ATOM_MAX_ALT]; /* templates for unlisted fields; "{}" is the Sigma name */
    int ntpl;
    char *group_by[CR_MAX_GROUP_BY];
    int ngroup_by;
    char category_id[24];
    int line;
};

struct cr_sigma_map {
    struct sigma_src *src;
    int nsrc;
    struct {
        char *tag;
        char category[24];
    } * tagcat;
    int ntagcat;
    struct {
        char *name;
        char **vals;
        int nvals;
    } * ph;
    int nph;
    int min_level; /* sigma_min_level: rules below it load and match but open no incident */
};

/* informational 0, low 1, medium 2, high 3, critical 4; -1 unknown */
static int level_rank(const char *l)
{
    static const char *const names[] = {"informational", "low", "medium", "high", "critical"};
    for (int i = 0; l && i < 5; i++)
        if (strcmp(l, names[i]) == 0)
            return i;
    return -1;
}

int cr_sigma_is_rule(struct cr_yaml *y, yaml_node_t *root)
{
    return !cr_yaml_get(y, root, "rules") && !cr_yaml_get(y, root, "correlations") &&
           (cr_yaml_get(y, root, "detection") || cr_yaml_get(y, root, "correlation") ||
            cr_yaml_get(y, root, "filter"));
}

int cr_sigma_is_map(struct cr_yaml *y, yaml_node_t *root)
{
    return cr_yaml_get(y, root, "sigma_logsources") || cr_yaml_get(y, root, "sigma_categories") ||
           cr_yaml_get(y, root, "sigma_placeholders") || cr_yaml_get(y, root, "sigma_min_level");
}

static void skip_rule(struct cr_load *L, const char *file, int line, int why, const char *reason);

void cr_sigma_add_doc(struct cr_load *L, struct cr_yaml *y, yaml_node_t *root)
{
    if (y->dup_line) {
        char why[128];
        skip_rule(L, y->file, y->dup_line, CR_SIGMA_SKIP_INVALID,
                  cr_yaml_dup_reason(y, why, sizeof why));
        return;
    }
    L->sigma_docs = xrealloc(L->sigma_docs, (size_t)(L->nsigma_docs + 1) * sizeof *L->sigma_docs);
    L->sigma_docs[L->nsigma_docs].y = y;
    L->sigma_docs[L->nsigma_docs].root = root;
    L->sigma_docs[L->nsigma_docs].applied = 0;
    L->nsigma_docs++;
}

static int str_list(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n, char **out, int max,
                    const char *what)
{
    int cnt = 0;
    if (cr_yaml_str(n)) {
        out[cnt++] = xstrdup(cr_yaml_str(n));
        return cnt;
    }
    if (!cr_yaml_is_seq(n) || cr_yaml_seq_len(n) == 0) {
        cr_load_error(L, y->file, cr_yaml_line(n), "%s must be a string or a list of strings",
                      what);
        return 0;
    }
    for (int i = 0; i < cr_yaml_seq_len(n); i++) {
        const char *s = cr_yaml_str(cr_yaml_seq_at(y, n, i));
        if (!s || !*s || cnt == max) {
            cr_load_error(L, y->file, cr_yaml_line(n), "%s: at most %d non-empty strings", what,
                          max);
            break;
        }
        out[cnt++] = xstrdup(s);
    }
    return cnt;
}

/* A Sigma level's rank for sigma_min_level; none or unknown counts as medium. */
static int level_of(const char *level)
{
    int r = level_rank(level);
    return r < 0 ? 2 : r;
}

/* An incident's category and priority from a Sigma document: the first
 * sigma_categories tag it carries, else fallback (the logsource's or the
 * first rule's category; may be ""), else S-ATK-EXPL; priority from the
 * level: critical P1, high P2, medium (or none) P3, low and informational P4. */
static void grade(struct cr_load *L, struct cr_yaml *y, yaml_node_t *root, const char *fallback,
                  const char *level, struct cr_incident_spec *inc)
{
    const struct cr_sigma_map *map = L->sigma_map;
    const char *cat = NULL;
    yaml_node_t *tags = cr_yaml_get(y, root, "tags");
    for (int t = 0; map && t < map->ntagcat && !cat; t++)
        for (int i = 0; i < cr_yaml_seq_len(tags) && !cat; i++) {
            const char *tg = cr_yaml_str(cr_yaml_seq_at(y, tags, i));
            if (tg && strcmp(tg, map->tagcat[t].tag) == 0 && map->tagcat[t].category[0])
                cat = map->tagcat[t].category;
        }
    if (!cat && fallback && fallback[0])
        cat = fallback;
    if (!cat)
        cat = "S-ATK-EXPL";
    snprintf(inc->category, sizeof inc->category, "%s", cat);
    snprintf(inc->reg_category, sizeof inc->reg_category, "%s", cr_category_reg_default(cat));
    static const char *const pri[] = {"P4", "P4", "P3", "P2", "P1"};
    snprintf(inc->priority, sizeof inc->priority, "%s", pri[level_of(level)]);
    cr_impact_defaults(&inc->impact, cat);
}

static void check_category(struct cr_load *L, struct cr_yaml *y, yaml_node_t *v, char *out)
{
    const char *c = cr_yaml_str(v);
    if (!c || !cr_category_reg_default(c)) {
        cr_load_error(L, y->file, cr_yaml_line(v),
                      "unknown category '%s' (see DOMAIN.md (a): S-... and F-... ids)", c ? c : "");
        return;
    }
    snprintf(out, 24, "%s", c);
}

static void load_src(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n)
{
    static const char *const keys[] = {"logsource", "select",   "fields", "field_paths",
                                       "group_by",  "category", NULL};
    static const char *const ls_keys[] = {"product", "service", "category", NULL};
    struct cr_sigma_map *m = L->sigma_map;
    if (!cr_yaml_is_map(n)) {
        cr_load_error(L, y->file, cr_yaml_line(n), "a sigma_logsources entry must be a mapping");
        return;
    }
    L->nerr += cr_yaml_check_keys(y, n, keys, "a sigma_logsources entry", L->err, L->errlen);
    m->src = xrealloc(m->src, (size_t)(m->nsrc + 1) * sizeof *m->src);
    struct sigma_src *s = &m->src[m->nsrc++];
    memset(s, 0, sizeof *s);
    s->y = y;
    s->line = cr_yaml_line(n);
    yaml_node_t *ls = cr_yaml_get(y, n, "logsource");
    if (!cr_yaml_is_map(ls) || cr_yaml_map_len(ls) == 0) {
        cr_load_error(L, y->file, cr_yaml_line(ls ? ls : n),
                      "a sigma_logsources entry needs 'logsource' with product, service and/or "
                      "category");
    } else {
        L->nerr += cr_yaml_check_keys(y, ls, ls_keys, "logsource", L->err, L->errlen);
        yaml_node_t *v;
        if ((v = cr_yaml_get(y, ls, "product")) && cr_yaml_str(v))
            s->product = xstrdup(cr_yaml_str(v));
        if ((v = cr_yaml_get(y, ls, "service")) && cr_yaml_str(v))
            s->service = xstrdup(cr_yaml_str(v));
        if ((v = cr_yaml_get(y, ls, "category")) && cr_yaml_str(v))
            s->category = xstrdup(cr_yaml_str(v));
    }
    s->select = cr_yaml_get(y, n, "select");
    if (s->select && !cr_yaml_is_map(s->select) && !cr_yaml_is_seq(s->select)) {
        cr_load_error(L, y->file, cr_yaml_line(s->select),
                      "select must be a Sigma selection (a mapping or a list of mappings)");
        s->select = NULL;
    }
    yaml_node_t *f = cr_yaml_get(y, n, "fields");
    if (f && !cr_yaml_is_map(f)) {
        cr_load_error(L, y->file, cr_yaml_line(f),
                      "fields must map Sigma field names to "
                      "corral fields or JSON paths");
    } else if (f) {
        int cnt = cr_yaml_map_len(f);
        s->fields = xrealloc(NULL, (size_t)cnt * sizeof *s->fields);
        for (int i = 0; i < cnt; i++) {
            yaml_node_t *kn;
            const char *k = cr_yaml_map_key(y, f, i, &kn);
            struct sigma_field_map *fm = &s->fields[s->nfields++];
            fm->sigma = xstrdup(k);
            fm->nalts = str_list(L, y, cr_yaml_map_value(y, f, i), fm->alts, CR_ATOM_MAX_ALT,
                                 "a field mapping");
        }
    }
    yaml_node_t *t = cr_yaml_get(y, n, "field_paths");
    if (t)
        s->ntpl = str_list(L, y, t, s->tpl, CR_ATOM_MAX_ALT, "field_paths");
    else
        s->tpl[s->ntpl++] = xstrdup("{}");
    for (int i = 0; i < s->ntpl; i++)
        if (!strstr(s->tpl[i], "{}"))
            cr_load_error(L, y->file, cr_yaml_line(t), "field_paths: '%s' has no {}", s->tpl[i]);
    yaml_node_t *g = cr_yaml_get(y, n, "group_by");
    if (g)
        s->ngroup_by = str_list(L, y, g, s->group_by, CR_MAX_GROUP_BY, "group_by");
    else
        s->group_by[s->ngroup_by++] = xstrdup("host");
    yaml_node_t *c = cr_yaml_get(y, n, "category");
    if (c)
        check_category(L, y, c, s->category_id);
}

void cr_sigma_load_map(struct cr_load *L, struct cr_yaml *y, yaml_node_t *root)
{
    /* other top-level keys are free: YAML anchors for the entries to share */
    if (!L->sigma_map) {
        L->sigma_map = calloc(1, sizeof *L->sigma_map);
        if (!L->sigma_map)
            abort();
    }
    struct cr_sigma_map *m = L->sigma_map;
    yaml_node_t *srcs = cr_yaml_get(y, root, "sigma_logsources");
    if (srcs && !cr_yaml_is_seq(srcs))
        cr_load_error(L, y->file, cr_yaml_line(srcs), "sigma_logsources must be a list");
    for (int i = 0; i < cr_yaml_seq_len(srcs); i++)
        load_src(L, y, cr_yaml_seq_at(y, srcs, i));
    yaml_node_t *cats = cr_yaml_get(y, root, "sigma_categories");
    if (cats && !cr_yaml_is_seq(cats))
        cr_load_error(L, y->file, cr_yaml_line(cats), "sigma_categories must be a list");
    for (int i = 0; i < cr_yaml_seq_len(cats); i++) {
        static const char *const ckeys[] = {"tag", "category", NULL};
        yaml_node_t *e = cr_yaml_seq_at(y, cats, i);
        yaml_node_t *tag = cr_yaml_get(y, e, "tag"), *cat = cr_yaml_get(y, e, "category");
        if (!cr_yaml_is_map(e) || !cr_yaml_str(tag) || !cat) {
            cr_load_error(L, y->file, cr_yaml_line(e),
                          "a sigma_categories entry needs 'tag' and 'category'");
            continue;
        }
        L->nerr += cr_yaml_check_keys(y, e, ckeys, "a sigma_categories entry", L->err, L->errlen);
        m->tagcat = xrealloc(m->tagcat, (size_t)(m->ntagcat + 1) * sizeof *m->tagcat);
        m->tagcat[m->ntagcat].tag = xstrdup(cr_yaml_str(tag));
        m->tagcat[m->ntagcat].category[0] = 0;
        check_category(L, y, cat, m->tagcat[m->ntagcat].category);
        m->ntagcat++;
    }
    yaml_node_t *ml = cr_yaml_get(y, root, "sigma_min_level");
    if (ml) {
        int r = level_rank(cr_yaml_str(ml));
        if (r < 0)
            cr_load_error(L, y->file, cr_yaml_line(ml),
                          "sigma_min_level must be informational, low, medium, high or critical");
        else
            m->min_level = r;
    }
    yaml_node_t *ph = cr_yaml_get(y, root, "sigma_placeholders");
    if (ph && !cr_yaml_is_map(ph))
        cr_load_error(L, y->file, cr_yaml_line(ph),
                      "sigma_placeholders must map a name to its values");
    for (int i = 0; i < cr_yaml_map_len(ph); i++) {
        yaml_node_t *kn;
        const char *k = cr_yaml_map_key(y, ph, i, &kn);
        m->ph = xrealloc(m->ph, (size_t)(m->nph + 1) * sizeof *m->ph);
        m->ph[m->nph].name = xstrdup(k);
        m->ph[m->nph].vals = xrealloc(NULL, 64 * sizeof(char *));
        m->ph[m->nph].nvals =
            str_list(L, y, cr_yaml_map_value(y, ph, i), m->ph[m->nph].vals, 64, "a placeholder");
        m->nph++;
    }
}

void cr_sigma_map_free(struct cr_sigma_map *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nsrc; i++) {
        struct sigma_src *s = &m->src[i];
        free(s->product);
        free(s->service);
        free(s->category);
        for (int f = 0; f < s->nfields; f++) {
            free(s->fields[f].sigma);
            for (int a = 0; a < s->fields[f].nalts; a++)
                free(s->fields[f].alts[a]);
        }
        free(s->fields);
        for (int t = 0; t < s->ntpl; t++)
            free(s->tpl[t]);
        for (int g = 0; g < s->ngroup_by; g++)
            free(s->group_by[g]);
    }
    free(m->src);
    for (int i = 0; i < m->ntagcat; i++)
        free(m->tagcat[i].tag);
    free(m->tagcat);
    for (int i = 0; i < m->nph; i++) {
        free(m->ph[i].name);
        for (int v = 0; v < m->ph[i].nvals; v++)
            free(m->ph[i].vals[v]);
        free(m->ph[i].vals);
    }
    free(m->ph);
    free(m);
}

static void free_meta(struct cr_sigma_meta *m)
{
    if (!m)
        return;
    free(m->level);
    free(m->status);
    free(m->author);
    free(m->references);
    free(m->tags);
    free(m->attack);
    free(m->logsource);
    free(m->annotation);
    free(m);
}

void cr_sigma_free_rule(struct cr_rule *r)
{
    if (r->expr) {
        free(r->expr->atoms);
        free(r->expr->prog);
        free(r->expr->pat_idx);
        free(r->expr);
    }
    free_meta(r->sigma);
}

/* ---- one rule's compilation, into temporary lists ---- */

struct pat_spec {
    int field;
    char *regex;
    unsigned hs_flags;
    int caseless;
    int need_pcre;
    int gate;
    int line;
};

struct ident {
    const char *name;
    struct cr_expr_step *prog;
    int nprog;
};

struct comp {
    struct cr_load *L;
    struct cr_yaml *y;
    const struct sigma_src *src;
    struct cr_atom *atoms;
    int natoms;
    struct pat_spec *pats;
    int npats;
    struct cr_expr_step *prog; /* the program being emitted */
    int nprog;
    struct ident *ids;
    int nids;
    int gating;  /* compiling the logsource's select: its patterns are gates */
    int gate_at; /* prog[gate_at..]: the select, evaluated first; nprog when none */
    /* the first reason to skip, and where */
    int skip;
    int skip_line;
    char why[300];
};

static void fail(struct comp *c, int line, enum cr_sigma_skip why, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(struct comp *c, int line, enum cr_sigma_skip why, const char *fmt, ...)
{
    if (c->skip >= 0)
        return;
    c->skip = (int)why;
    c->skip_line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
}

static void emit(struct comp *c, int op, uint32_t arg)
{
    c->prog = xrealloc(c->prog, (size_t)(c->nprog + 1) * sizeof *c->prog);
    c->prog[c->nprog].op = (uint8_t)op;
    c->prog[c->nprog].arg = arg;
    c->nprog++;
}

/* n operands already emitted, joined by op (AND / OR); 0 operands: the
 * neutral value; 1: itself. */
static void join(struct comp *c, int op, int n)
{
    if (n == 0)
        emit(c, op == CR_OP_AND ? CR_OP_TRUE : CR_OP_FALSE, 0);
    else if (n > 1)
        emit(c, op, (uint32_t)n);
}

static struct cr_atom *new_atom(struct comp *c, int kind, const int *fields, int nalt)
{
    c->atoms = xrealloc(c->atoms, (size_t)(c->natoms + 1) * sizeof *c->atoms);
    struct cr_atom *a = &c->atoms[c->natoms];
    memset(a, 0, sizeof *a);
    a->kind = (uint8_t)kind;
    a->nalt = (uint8_t)nalt;
    for (int i = 0; i < nalt; i++)
        a->fields[i] = (uint16_t)fields[i];
    emit(c, CR_OP_ATOM, (uint32_t)c->natoms);
    c->natoms++;
    return a;
}

/* Where a Sigma field is: its mapped alternatives as field ids. */
static int resolve_field(struct comp *c, const char *name, int line, int *out)
{
    const struct sigma_src *s = c->src;
    const char *names[CR_ATOM_MAX_ALT];
    char buf[CR_ATOM_MAX_ALT][256];
    int n = 0;
    for (int i = 0; i < s->nfields && n == 0; i++)
        if (strcmp(s->fields[i].sigma, name) == 0)
            for (int a = 0; a < s->fields[i].nalts; a++)
                names[n++] = s->fields[i].alts[a];
    for (int k = 0; n == 0 && k < s->ntpl; k++) {
        for (; k < s->ntpl; k++) {
            const char *tp = s->tpl[k], *at = strstr(tp, "{}");
            snprintf(buf[n], sizeof buf[n], "%.*s%s%s", (int)(at - tp), tp, name, at + 2);
            names[n] = buf[n];
            n++;
        }
    }
    struct cr_ruleset *rs = c->L->rs;
    int fresh = 0;
    for (int i = 0; i < n; i++)
        fresh += cr_ruleset_field(rs, names[i]) < 0;
    if (rs->nfields + fresh > CR_MAX_FIELDS) {
        fail(c, line, CR_SIGMA_SKIP_LIMIT, "field '%s': more than %d field names in all", name,
             CR_MAX_FIELDS);
        return 0;
    }
    for (int i = 0; i < n; i++)
        out[i] = cr_load_field(c->L, names[i], c->y->file, line);
    return n;
}

/* A Sigma string value (wildcards * and ?, escapes \* \? \\) as a
 * Hyperscan/PCRE2 regex with the anchors of its match type. Bytes outside
 * printable ASCII are written \xHH (patterns are compiled without UTF-8). */
enum mtype { M_EQ = 0, M_CONTAINS, M_START, M_END };

static void re_byte(char **o, size_t *n, size_t *cap, unsigned char b)
{
    if (*n + 8 >= *cap) {
        *cap = *cap * 2 + 64;
        *o = xrealloc(*o, *cap);
    }
    if (isalnum(b) || b == '_' || b == ' ' || b == '-' || b == '/' || b == ',' || b == ':' ||
        b == '=' || b == '@' || b == '%' || b == '\'' || b == '"' || b == '<' || b == '>' ||
        b == '~' || b == '&' || b == ';' || b == '!' || b == '`')
        (*o)[(*n)++] = (char)b;
    else
        *n += (size_t)sprintf(*o + *n, "\\x%02x", b);
}

static void re_str(char **o, size_t *n, size_t *cap, const char *s)
{
    size_t l = strlen(s);
    if (*n + l + 1 >= *cap) {
        *cap = *cap * 2 + l + 64;
        *o = xrealloc(*o, *cap);
    }
    memcpy(*o + *n, s, l + 1);
    *n += l;
}

/* wildcards: 1 if * and ? are Sigma wildcards (a plain value), 0 for bytes
 * made by a transform (base64, UTF-16). Sets *anything when the value
 * matches any string (only wildcards '*'). */
static char *value_regex(const char *v, size_t len, int wildcards, enum mtype t, int *anything)
{
    /* tokens first: a byte (>= 0), or -1 for '*' and -2 for '?' */
    int *tok = xrealloc(NULL, (len + 1) * sizeof *tok);
    size_t nt = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)v[i];
        if (wildcards && b == '\\' && i + 1 < len &&
            (v[i + 1] == '*' || v[i + 1] == '?' || v[i + 1] == '\\'))
            tok[nt++] = (unsigned char)v[++i];
        else if (wildcards && b == '*')
            tok[nt++] = -1;
        else if (wildcards && b == '?')
            tok[nt++] = -2;
        else
            tok[nt++] = b;
    }
    /* A leading or trailing '*' is the same as no anchor on that side (the
     * patterns are DOTALL): `*\\cmd.exe` is endswith, `*foo*` contains.
     * Hyperscan then sees a literal instead of an automaton. */
    int at_start = t == M_EQ || t == M_START, at_end = t == M_EQ || t == M_END;
    size_t a = 0, z = nt;
    while (a < z && tok[a] == -1)
        a++, at_start = 0;
    while (z > a && tok[z - 1] == -1)
        z--, at_end = 0;
    *anything = a == z && (nt > 0 || t != M_EQ);
    size_t cap = len * 4 + 16, n = 0;
    char *o = xrealloc(NULL, cap);
    o[0] = 0;
    if (at_start)
        re_str(&o, &n, &cap, "^");
    for (size_t i = a; i < z; i++) {
        if (tok[i] == -1)
            re_str(&o, &n, &cap, ".*");
        else if (tok[i] == -2)
            re_str(&o, &n, &cap, ".");
        else
            re_byte(&o, &n, &cap, (unsigned char)tok[i]);
    }
    if (at_end)
        re_str(&o, &n, &cap, "$");
    o[n] = 0; /* re_byte does not terminate */
    free(tok);
    return o;
}

static void add_pat(struct comp *c, int field, char *regex, int caseless, int need_pcre, int line)
{
    c->pats = xrealloc(c->pats, (size_t)(c->npats + 1) * sizeof *c->pats);
    struct pat_spec *p = &c->pats[c->npats++];
    p->field = field;
    p->regex = regex;
    p->hs_flags = 0;
    p->caseless = caseless;
    p->need_pcre = need_pcre;
    p->gate = c->gating;
    p->line = line;
}

/* ---- value transforms ---- */

struct bytes {
    char *p;
    size_t n;
};

struct variants {
    struct bytes *v;
    int n;
    int wildcards; /* 0 once a transform turned the value into other bytes */
};

static void var_add(struct variants *vs, const char *p, size_t n)
{
    vs->v = xrealloc(vs->v, (size_t)(vs->n + 1) * sizeof *vs->v);
    vs->v[vs->n].p = xrealloc(NULL, n + 1);
    memcpy(vs->v[vs->n].p, p, n);
    vs->v[vs->n].p[n] = 0;
    vs->v[vs->n].n = n;
    vs->n++;
}

static void var_free(struct variants *vs)
{
    for (int i = 0; i < vs->n; i++)
        free(vs->v[i].p);
    free(vs->v);
    vs->v = NULL;
    vs->n = 0;
}

static void base64(const unsigned char *in, size_t n, struct bytes *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out->p = xrealloc(NULL, (n + 2) / 3 * 4 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out->p[o++] = tbl[v >> 18 & 63];
        out->p[o++] = tbl[v >> 12 & 63];
        out->p[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
        out->p[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out->p[o] = 0;
    out->n = o;
}

/* UTF-8 text to UTF-16 (le or be); bytes that are not UTF-8 pass as one unit. */
static void utf16(const struct bytes *in, int be, struct bytes *out)
{
    out->p = xrealloc(NULL, in->n * 4 + 1);
    size_t o = 0;
    const unsigned char *s = (const unsigned char *)in->p;
    for (size_t i = 0; i < in->n;) {
        unsigned cp = s[i], extra = 0;
        if (cp >= 0xf0 && i + 3 < in->n)
            cp &= 7, extra = 3;
        else if (cp >= 0xe0 && i + 2 < in->n)
            cp &= 15, extra = 2;
        else if (cp >= 0xc0 && i + 1 < in->n)
            cp &= 31, extra = 1;
        i++;
        for (unsigned k = 0; k < extra; k++)
            cp = cp << 6 | (s[i++] & 63);
        unsigned units[2], nu = 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            units[0] = 0xd800 | cp >> 10;
            units[1] = 0xdc00 | (cp & 0x3ff);
            nu = 2;
        } else {
            units[0] = cp;
        }
        for (unsigned u = 0; u < nu; u++) {
            out->p[o++] = (char)(be ? units[u] >> 8 : units[u] & 0xff);
            out->p[o++] = (char)(be ? units[u] & 0xff : units[u] >> 8);
        }
    }
    out->p[o] = 0;
    out->n = o;
}

/* Sigma's windash: every '-' or '/' that starts a word (a command-line
 * flag) may also be written with the other, or with an en dash, em dash or
 * horizontal bar; all combinations, at most 5^4 of them. */
static void windash(struct variants *vs, struct comp *c, int line)
{
    static const char *const dashes[] = {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"};
    struct variants out = {0};
    out.wildcards = vs->wildcards;
    for (int i = 0; i < vs->n; i++) {
        const char *s = vs->v[i].p;
        size_t n = vs->v[i].n;
        size_t pos[8];
        int np = 0;
        for (size_t k = 0; k < n; k++)
            if ((s[k] == '-' || s[k] == '/') && (k == 0 || s[k - 1] == ' ' || s[k - 1] == '*'))
                if (np < 8)
                    pos[np++] = k;
        if (np > 4) {
            fail(c, line, CR_SIGMA_SKIP_LIMIT, "windash: more than 4 flags in one value");
            break;
        }
        int combos = 1;
        for (int k = 0; k < np; k++)
            combos *= 5;
        for (int m = 0; m < combos; m++) {
            char buf[4096];
            size_t o = 0;
            int mm = m, next = 0;
            for (size_t k = 0; k < n && o + 4 < sizeof buf; k++) {
                if (next < np && pos[next] == k) {
                    const char *d = dashes[mm % 5];
                    mm /= 5;
                    next++;
                    memcpy(buf + o, d, strlen(d));
                    o += strlen(d);
                } else {
                    buf[o++] = s[k];
                }
            }
            var_add(&out, buf, o);
        }
    }
    var_free(vs);
    *vs = out;
}

/* %name% placeholders replaced by each configured value. */
static void expand(struct variants *vs, struct comp *c, int line)
{
    const struct cr_sigma_map *m = c->L->sigma_map;
    struct variants out = {0};
    out.wildcards = vs->wildcards;
    for (int i = 0; i < vs->n; i++) {
        const char *s = vs->v[i].p;
        const char *a = strchr(s, '%'), *b = a ? strchr(a + 1, '%') : NULL;
        if (!a || !b) {
            var_add(&out, s, vs->v[i].n);
            continue;
        }
        int found = -1;
        for (int k = 0; m && k < m->nph; k++)
            if (strlen(m->ph[k].name) == (size_t)(b - a - 1) &&
                memcmp(m->ph[k].name, a + 1, (size_t)(b - a - 1)) == 0)
                found = k;
        if (found < 0) {
            fail(c, line, CR_SIGMA_SKIP_PLACEHOLDER,
                 "expand: placeholder %.*s has no values (sigma_placeholders)", (int)(b - a + 1),
                 a);
            break;
        }
        for (int k = 0; k < m->ph[found].nvals; k++) {
            char buf[4096];
            int w =
                snprintf(buf, sizeof buf, "%.*s%s%s", (int)(a - s), s, m->ph[found].vals[k], b + 1);
            var_add(&out, buf, (size_t)(w < (int)sizeof buf ? w : (int)sizeof buf - 1));
        }
    }
    var_free(vs);
    *vs = out;
}

/* ---- selections ---- */

struct mods {
    enum mtype t;
    int all, re, re_i, re_m, re_s, cidr, b64, b64off, wide, utf16be, utf16, windash, exists,
        fieldref, cased, expand;
    int num; /* -1, or enum cr_num_op */
};

static int parse_mods(struct comp *c, const char *key, int line, char *field, size_t flen,
                      struct mods *md)
{
    memset(md, 0, sizeof *md);
    md->num = -1;
    const char *bar = strchr(key, '|');
    size_t fl = bar ? (size_t)(bar - key) : strlen(key);
    if (fl >= flen) {
        fail(c, line, CR_SIGMA_SKIP_LIMIT, "field name too long");
        return -1;
    }
    memcpy(field, key, fl);
    field[fl] = 0;
    while (bar) {
        const char *m = bar + 1;
        bar = strchr(m, '|');
        size_t ml = bar ? (size_t)(bar - m) : strlen(m);
#define IS(s) (ml == sizeof(s) - 1 && memcmp(m, s, ml) == 0)
        if (IS("contains"))
            md->t = M_CONTAINS;
        else if (IS("startswith"))
            md->t = M_START;
        else if (IS("endswith"))
            md->t = M_END;
        else if (IS("all"))
            md->all = 1;
        else if (IS("re"))
            md->re = 1;
        else if (IS("i") && md->re)
            md->re_i = 1;
        else if (IS("m") && md->re)
            md->re_m = 1;
        else if (IS("s") && md->re)
            md->re_s = 1;
        else if (IS("cidr"))
            md->cidr = 1;
        else if (IS("base64"))
            md->b64 = 1;
        else if (IS("base64offset"))
            md->b64off = 1;
        else if (IS("wide") || IS("utf16le"))
            md->wide = 1;
        else if (IS("utf16be"))
            md->wide = 1, md->utf16be = 1;
        else if (IS("utf16"))
            md->wide = 1, md->utf16 = 1;
        else if (IS("windash"))
            md->windash = 1;
        else if (IS("exists"))
            md->exists = 1;
        else if (IS("fieldref"))
            md->fieldref = 1;
        else if (IS("cased"))
            md->cased = 1;
        else if (IS("expand"))
            md->expand = 1;
        else if (IS("lt"))
            md->num = CR_NUM_LT;
        else if (IS("lte"))
            md->num = CR_NUM_LTE;
        else if (IS("gt"))
            md->num = CR_NUM_GT;
        else if (IS("gte"))
            md->num = CR_NUM_GTE;
        else {
            fail(c, line, CR_SIGMA_SKIP_MODIFIER, "field '%s': unknown modifier '%.*s'", field,
                 (int)ml, m);
            return -1;
        }
#undef IS
    }
    return 0;
}

static int parse_net(const char *s, struct cr_atom *a)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t l = slash ? (size_t)(slash - s) : strlen(s);
    if (l >= sizeof buf)
        return -1;
    memcpy(buf, s, l);
    buf[l] = 0;
    int bits;
    if (inet_pton(AF_INET, buf, a->net) == 1)
        a->op = 4, bits = 32;
    else if (inet_pton(AF_INET6, buf, a->net) == 1)
        a->op = 6, bits = 128;
    else
        return -1;
    long p = bits;
    if (slash) {
        char *end;
        p = strtol(slash + 1, &end, 10);
        if (*end || p < 0 || p > bits)
            return -1;
    }
    a->prefix = (uint8_t)p;
    return 0;
}

/* One value of a field: emits one atom (the value's alternatives all
 * inside it). */
static void value_atom(struct comp *c, const int *fields, int nalt, const struct mods *md,
                       yaml_node_t *vn, const char *fname)
{
    int line = cr_yaml_line(vn);
    if (cr_yaml_is_null(vn)) {
        new_atom(c, CR_ATOM_NULL, fields, nalt);
        return;
    }
    const char *v = cr_yaml_str(vn);
    if (!v) {
        fail(c, line, CR_SIGMA_SKIP_INVALID, "field '%s': a value must be a scalar or null", fname);
        return;
    }
    if (md->exists) {
        int on = strcmp(v, "true") == 0 || strcmp(v, "yes") == 0;
        if (!on && strcmp(v, "false") != 0 && strcmp(v, "no") != 0) {
            fail(c, line, CR_SIGMA_SKIP_INVALID, "field '%s': exists takes true or false", fname);
            return;
        }
        new_atom(c, CR_ATOM_EXISTS, fields, nalt);
        if (!on)
            emit(c, CR_OP_NOT, 0);
        return;
    }
    if (md->cidr) {
        struct cr_atom *a = new_atom(c, CR_ATOM_CIDR, fields, nalt);
        if (parse_net(v, a) != 0)
            fail(c, line, CR_SIGMA_SKIP_INVALID, "field '%s': '%s' is not a network", fname, v);
        return;
    }
    if (md->num >= 0) {
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end) {
            fail(c, line, CR_SIGMA_SKIP_INVALID, "field '%s': '%s' is not a number", fname, v);
            return;
        }
        struct cr_atom *a = new_atom(c, CR_ATOM_NUM, fields, nalt);
        a->op = (uint8_t)md->num;
        a->num = d;
        return;
    }
    if (md->fieldref) {
        int ref[CR_ATOM_MAX_ALT];
        int nref = resolve_field(c, v, line, ref);
        if (c->skip >= 0)
            return;
        struct cr_atom *a = new_atom(c, CR_ATOM_FIELDREF, fields, nalt);
        for (int i = 0; i < nref; i++)
            a->ref_fields[i] = (uint16_t)ref[i];
        a->nref = (uint8_t)nref;
        return;
    }
    if (md->re) {
        char buf[8192];
        snprintf(buf, sizeof buf, "%s%s", md->re_m ? "(?m)" : "", v);
        /* Hyperscan must take it, at least as a prefilter; PCRE2 confirms. */
        hs_database_t *db = NULL;
        hs_compile_error_t *ce = NULL;
        unsigned fl = CR_HS_BASE_FLAGS | (md->re_i ? HS_FLAG_CASELESS : 0);
        if (hs_compile(buf, fl | HS_FLAG_ALLOWEMPTY, HS_MODE_BLOCK, NULL, &db, &ce) != HS_SUCCESS) {
            hs_free_compile_error(ce);
            ce = NULL;
            if (hs_compile(buf, fl | HS_FLAG_ALLOWEMPTY | HS_FLAG_PREFILTER, HS_MODE_BLOCK, NULL,
                           &db, &ce) != HS_SUCCESS) {
                fail(c, line, CR_SIGMA_SKIP_REGEX, "field '%s': regex '%s': hyperscan: %s", fname,
                     v, ce ? ce->message : "?");
                hs_free_compile_error(ce);
                return;
            }
        }
        hs_free_database(db);
        struct cr_atom *a = new_atom(c, CR_ATOM_PATTERNS, fields, nalt);
        a->pat = (uint32_t)c->npats;
        for (int f = 0; f < nalt; f++)
            add_pat(c, fields[f], xstrdup(buf), md->re_i, 1, line);
        a->npat = (uint32_t)(c->npats - a->pat);
        return;
    }
    /* strings: transforms, then one pattern per variant and field */
    struct variants vs = {0};
    vs.wildcards = 1;
    var_add(&vs, v, strlen(v));
    if (md->expand)
        expand(&vs, c, line);
    if (md->windash && c->skip < 0)
        windash(&vs, c, line);
    int cased = md->cased;
    if (md->wide && c->skip < 0) {
        struct variants out = {0};
        for (int i = 0; i < vs.n; i++) {
            if (md->utf16) { /* with a byte-order mark, either order */
                for (int be = 0; be < 2; be++) {
                    struct bytes b;
                    utf16(&vs.v[i], be, &b);
                    char bom[2] = {be ? (char)0xfe : (char)0xff, be ? (char)0xff : (char)0xfe};
                    char *t = xrealloc(NULL, b.n + 2);
                    memcpy(t, bom, 2);
                    memcpy(t + 2, b.p, b.n);
                    var_add(&out, t, b.n + 2);
                    free(t);
                    free(b.p);
                }
            } else {
                struct bytes b;
                utf16(&vs.v[i], md->utf16be, &b);
                var_add(&out, b.p, b.n);
                free(b.p);
            }
        }
        var_free(&vs);
        vs = out;
        cased = 1;
    }
    if ((md->b64 || md->b64off) && c->skip < 0) {
        struct variants out = {0};
        for (int i = 0; i < vs.n; i++) {
            for (int off = 0; off < (md->b64off ? 3 : 1); off++) {
                /* base64offset: the value at offset 0, 1 or 2 of a longer
                 * encoded text; the characters that depend on the unknown
                 * neighbours are cut (Sigma's definition, as pySigma has it) */
                size_t n = vs.v[i].n + (size_t)off;
                unsigned char *t = xrealloc(NULL, n + 1);
                memset(t, ' ', (size_t)off);
                memcpy(t + off, vs.v[i].p, vs.v[i].n);
                struct bytes b;
                base64(t, n, &b);
                free(t);
                if (md->b64off) {
                    static const size_t start[3] = {0, 2, 3};
                    static const size_t cut[3] = {0, 3, 2};
                    size_t end = b.n - cut[n % 3];
                    if (end > start[off])
                        var_add(&out, b.p + start[off], end - start[off]);
                } else {
                    var_add(&out, b.p, b.n);
                }
                free(b.p);
            }
        }
        var_free(&vs);
        vs = out;
        vs.wildcards = 0;
        cased = 1;
    }
    if (c->skip >= 0) {
        var_free(&vs);
        return;
    }
    /* one atom: any variant on any alternative field */
    int anything = 0, empty_eq = 0;
    char **re = xrealloc(NULL, ((size_t)vs.n + 1) * sizeof *re);
    for (int i = 0; i < vs.n; i++) {
        int any = 0;
        re[i] = value_regex(vs.v[i].p, vs.v[i].n, vs.wildcards, md->t, &any);
        anything |= any;
        empty_eq |= vs.v[i].n == 0 && md->t == M_EQ;
    }
    if (anything) { /* '*' (or contains ''): any value at all */
        new_atom(c, CR_ATOM_EXISTS, fields, nalt);
    } else if (empty_eq && vs.n == 1) {
        new_atom(c, CR_ATOM_EMPTY, fields, nalt);
    } else {
        struct cr_atom *a = new_atom(c, CR_ATOM_PATTERNS, fields, nalt);
        a->pat = (uint32_t)c->npats;
        for (int i = 0; i < vs.n; i++) {
            if (vs.v[i].n == 0 && md->t == M_EQ)
                continue; /* '' beside other values: cannot be a Hyperscan pattern */
            for (int f = 0; f < nalt; f++)
                add_pat(c, fields[f], xstrdup(re[i]), !cased, 0, line);
        }
        a->npat = (uint32_t)(c->npats - a->pat);
    }
    for (int i = 0; i < vs.n; i++)
        free(re[i]);
    free(re);
    var_free(&vs);
}

/* `field|mods: value or list` -> one operand */
static void field_cond(struct comp *c, const char *key, yaml_node_t *kn, yaml_node_t *vn)
{
    int line = cr_yaml_line(kn);
    char fname[256];
    struct mods md;
    if (parse_mods(c, key, line, fname, sizeof fname, &md) != 0)
        return;
    int fields[CR_ATOM_MAX_ALT], nalt;
    if (fname[0] == 0) { /* `|all: [...]` keywords, or `'|contains': ...` */
        fields[0] = CR_F_MSG;
        nalt = 1;
        if (md.t == M_EQ)
            md.t = M_CONTAINS;
    } else {
        nalt = resolve_field(c, fname, line, fields);
    }
    if (c->skip >= 0 || nalt == 0)
        return;
    if (cr_yaml_is_seq(vn)) {
        int n = cr_yaml_seq_len(vn);
        for (int i = 0; i < n && c->skip < 0; i++)
            value_atom(c, fields, nalt, &md, cr_yaml_seq_at(c->y, vn, i), fname);
        join(c, md.all ? CR_OP_AND : CR_OP_OR, n);
    } else {
        value_atom(c, fields, nalt, &md, vn, fname);
    }
}

/* keywords: a value without a field, looked for anywhere in the message */
static void keyword(struct comp *c, yaml_node_t *vn)
{
    struct mods md;
    memset(&md, 0, sizeof md);
    md.num = -1;
    md.t = M_CONTAINS;
    int f = CR_F_MSG;
    value_atom(c, &f, 1, &md, vn, "keywords");
}

static void map_sel(struct comp *c, yaml_node_t *m)
{
    int n = cr_yaml_map_len(m);
    for (int i = 0; i < n && c->skip < 0; i++) {
        yaml_node_t *kn;
        const char *k = cr_yaml_map_key(c->y, m, i, &kn);
        field_cond(c, k ? k : "", kn, cr_yaml_map_value(c->y, m, i));
    }
    join(c, CR_OP_AND, n);
}

/* A search identifier's value: a map (AND of fields), a list of maps (OR),
 * a list of keywords (OR), or one keyword. */
static void selection(struct comp *c, yaml_node_t *v)
{
    if (cr_yaml_is_map(v)) {
        map_sel(c, v);
    } else if (cr_yaml_is_seq(v)) {
        int n = cr_yaml_seq_len(v);
        for (int i = 0; i < n && c->skip < 0; i++) {
            yaml_node_t *it = cr_yaml_seq_at(c->y, v, i);
            if (cr_yaml_is_map(it))
                map_sel(c, it);
            else
                keyword(c, it);
        }
        join(c, CR_OP_OR, n);
    } else if (cr_yaml_str(v)) {
        keyword(c, v);
    } else {
        fail(c, cr_yaml_line(v), CR_SIGMA_SKIP_INVALID,
             "a search identifier must be a mapping, a list or a keyword");
    }
}

/* ---- the condition ---- */

struct lex {
    const char *s;
    size_t pos;
    char tok[256];
    int line;
};

static void next_tok(struct lex *lx)
{
    while (lx->s[lx->pos] == ' ' || lx->s[lx->pos] == '\t' || lx->s[lx->pos] == '\n')
        lx->pos++;
    size_t n = 0;
    char ch = lx->s[lx->pos];
    if (ch == '(' || ch == ')' || ch == '|') {
        lx->tok[n++] = ch;
        lx->pos++;
    } else {
        while (lx->s[lx->pos] && !strchr(" \t\n()|", lx->s[lx->pos]) && n < sizeof lx->tok - 1)
            lx->tok[n++] = lx->s[lx->pos++];
    }
    lx->tok[n] = 0;
}

static int glob_match(const char *pat, const char *s)
{
    if (!*pat)
        return !*s;
    if (*pat == '*')
        return glob_match(pat + 1, s) || (*s && glob_match(pat, s + 1));
    return *s && *s == *pat && glob_match(pat + 1, s + 1);
}

static void emit_ident(struct comp *c, const struct ident *id)
{
    for (int i = 0; i < id->nprog; i++)
        emit(c, id->prog[i].op, id->prog[i].arg);
}

static void cond_or(struct comp *c, struct lex *lx, int depth);

static void cond_atom(struct comp *c, struct lex *lx, int depth)
{
    if (depth > 32) {
        fail(c, lx->line, CR_SIGMA_SKIP_LIMIT, "condition nested too deep");
        return;
    }
    if (strcmp(lx->tok, "not") == 0) {
        next_tok(lx);
        cond_atom(c, lx, depth + 1);
        emit(c, CR_OP_NOT, 0);
        return;
    }
    if (strcmp(lx->tok, "(") == 0) {
        next_tok(lx);
        cond_or(c, lx, depth + 1);
        if (strcmp(lx->tok, ")") != 0) {
            fail(c, lx->line, CR_SIGMA_SKIP_CONDITION, "condition: ')' expected");
            return;
        }
        next_tok(lx);
        return;
    }
    int all = strcmp(lx->tok, "all") == 0;
    char *end;
    long k = strtol(lx->tok, &end, 10);
    if (all || (end != lx->tok && !*end && k >= 1)) {
        next_tok(lx);
        if (strcmp(lx->tok, "of") != 0) {
            fail(c, lx->line, CR_SIGMA_SKIP_CONDITION, "condition: 'of' expected");
            return;
        }
        next_tok(lx);
        int them = strcmp(lx->tok, "them") == 0, n = 0;
        for (int i = 0; i < c->nids; i++) {
            if (them ? c->ids[i].name[0] == '_' : !glob_match(lx->tok, c->ids[i].name))
                continue;
            emit_ident(c, &c->ids[i]);
            n++;
        }
        if (n == 0) {
            fail(c, lx->line, CR_SIGMA_SKIP_CONDITION,
                 "condition: no search identifier matches '%s'", lx->tok);
            return;
        }
        if (!all && k > 1) {
            fail(c, lx->line, CR_SIGMA_SKIP_CONDITION, "condition: '%ld of' is not supported", k);
            return;
        }
        join(c, all ? CR_OP_AND : CR_OP_OR, n);
        next_tok(lx);
        return;
    }
    for (int i = 0; i < c->nids; i++)
        if (strcmp(c->ids[i].name, lx->tok) == 0) {
            emit_ident(c, &c->ids[i]);
            next_tok(lx);
            return;
        }
    if (strcmp(lx->tok, "|") == 0)
        fail(c, lx->line, CR_SIGMA_SKIP_CONDITION,
             "condition: an aggregation ('| count() ...') is deprecated Sigma; write a "
             "correlation rule");
    else
        fail(c, lx->line, CR_SIGMA_SKIP_CONDITION, "condition: unknown search identifier '%s'",
             lx->tok);
}

static void cond_and(struct comp *c, struct lex *lx, int depth)
{
    int n = 1;
    cond_atom(c, lx, depth);
    while (c->skip < 0 && strcmp(lx->tok, "and") == 0) {
        next_tok(lx);
        cond_atom(c, lx, depth);
        n++;
    }
    join(c, CR_OP_AND, n);
}

static void cond_or(struct comp *c, struct lex *lx, int depth)
{
    int n = 1;
    cond_and(c, lx, depth);
    while (c->skip < 0 && strcmp(lx->tok, "or") == 0) {
        next_tok(lx);
        cond_and(c, lx, depth);
        n++;
    }
    join(c, CR_OP_OR, n);
}

static void condition(struct comp *c, const char *s, int line)
{
    struct lex lx = {.s = s, .pos = 0, .line = line};
    next_tok(&lx);
    cond_or(c, &lx, 0);
    if (c->skip < 0 && strcmp(lx.tok, "|") == 0)
        fail(c, line, CR_SIGMA_SKIP_CONDITION,
             "condition: an aggregation ('| count() ...') is deprecated Sigma; write a "
             "correlation rule");
    else if (c->skip < 0 && lx.tok[0])
        fail(c, line, CR_SIGMA_SKIP_CONDITION, "condition: unexpected '%s'", lx.tok);
}

/* Which atoms occur in positive position (under an even number of nots):
 * pos[a] = 1. A pattern atom only under `not` (a filter) can never be what
 * makes the condition hold, so its hits need not make the rule a candidate
 * (filters such as `Image|startswith: C:\Windows\` hit on most records). */
static void polarity(const struct cr_expr_step *p, int n, uint8_t *pos, int natoms)
{
    int *start = xrealloc(NULL, ((size_t)n + 1) * sizeof *start);
    uint8_t *neg = xrealloc(NULL, (size_t)n + 1); /* per step: under an odd number of nots */
    memset(neg, 0, (size_t)n + 1);
    int sp = 0;
    for (int i = 0; i < n; i++) {
        switch (p[i].op) {
        case CR_OP_ATOM:
        case CR_OP_TRUE:
        case CR_OP_FALSE:
            start[sp++] = i;
            break;
        case CR_OP_NOT:
            for (int j = start[sp - 1]; j < i; j++)
                neg[j] ^= 1;
            break;
        default:
            sp -= (int)p[i].arg - 1; /* the k operands are one; it starts where the first did */
        }
    }
    memset(pos, 0, (size_t)natoms);
    for (int i = 0; i < n; i++)
        if (p[i].op == CR_OP_ATOM && !neg[i])
            pos[p[i].arg] = 1;
    free(start);
    free(neg);
}

/* Three-valued evaluation with every positive pattern atom false and every
 * other atom unknown: 1 means the condition cannot hold unless a positive
 * pattern hit (so only those need to make the rule a candidate). pos NULL:
 * every pattern atom counts as positive. */
static int needs_hit_pos(const struct cr_expr_step *p, int n, const struct cr_atom *atoms,
                         const uint8_t *pos, int *depth);
static int needs_hit(const struct cr_expr_step *p, int n, const struct cr_atom *atoms, int *depth)
{
    return needs_hit_pos(p, n, atoms, NULL, depth);
}

static int needs_hit_pos(const struct cr_expr_step *p, int n, const struct cr_atom *atoms,
                         const uint8_t *pos, int *depth)
{
    uint8_t *st = xrealloc(NULL, (size_t)n + 1);
    int sp = 0, max = 0;
    for (int i = 0; i < n; i++) {
        switch (p[i].op) {
        case CR_OP_ATOM:
            st[sp++] = atoms[p[i].arg].kind == CR_ATOM_PATTERNS && (!pos || pos[p[i].arg]) ? 0 : 2;
            break;
        case CR_OP_TRUE:
        case CR_OP_FALSE:
            st[sp++] = p[i].op == CR_OP_TRUE;
            break;
        case CR_OP_NOT:
            st[sp - 1] = st[sp - 1] == 2 ? 2 : !st[sp - 1];
            break;
        default: {
            int k = (int)p[i].arg, and = p[i].op == CR_OP_AND;
            int v = and? 1 : 0;
            for (int j = sp - k; j < sp; j++) {
                if (and)
                    v = (st[j] == 0 || v == 0) ? 0 : (st[j] == 2 || v == 2) ? 2 : 1;
                else
                    v = (st[j] == 1 || v == 1) ? 1 : (st[j] == 2 || v == 2) ? 2 : 0;
            }
            sp -= k;
            st[sp++] = (uint8_t)v;
        }
        }
        if (sp > max)
            max = sp;
    }
    *depth = max;
    int r = sp == 1 && st[0] == 0;
    free(st);
    return r;
}

/* ---- one rule ---- */

static const char *scalar(struct cr_yaml *y, yaml_node_t *root, const char *key)
{
    return cr_yaml_str(cr_yaml_get(y, root, key));
}

static const struct sigma_src *find_src(const struct cr_sigma_map *m, const char *product,
                                        const char *service, const char *category)
{
    for (int i = 0; m && i < m->nsrc; i++) {
        const struct sigma_src *s = &m->src[i];
#define EQ(a, b)                                                                                   \
    (((a) && strcmp(a, "*") == 0) || (!(a) && !(b)) || ((a) && (b) && strcmp(a, b) == 0))
        if (EQ(s->product, product) && EQ(s->service, service) && EQ(s->category, category))
            return s;
#undef EQ
    }
    return NULL;
}

static char *join_list(struct cr_yaml *y, yaml_node_t *n, const char *sep, const char *prefix)
{
    size_t cap = 64, len = 0;
    char *o = xrealloc(NULL, cap);
    o[0] = 0;
    int cnt = cr_yaml_is_seq(n) ? cr_yaml_seq_len(n) : 0;
    for (int i = 0; i < cnt; i++) {
        const char *s = cr_yaml_str(cr_yaml_seq_at(y, n, i));
        if (!s || (prefix && strncmp(s, prefix, strlen(prefix)) != 0))
            continue;
        if (prefix)
            s += strlen(prefix);
        size_t l = strlen(s) + strlen(sep) + 1;
        if (len + l >= cap) {
            cap = (cap + l) * 2;
            o = xrealloc(o, cap);
        }
        len += (size_t)sprintf(o + len, "%s%s", len ? sep : "", s);
    }
    if (!cnt && cr_yaml_str(n))
        snprintf(o = xrealloc(o, strlen(cr_yaml_str(n)) + 1), strlen(cr_yaml_str(n)) + 1, "%s",
                 cr_yaml_str(n));
    return o;
}

static void skip_rule(struct cr_load *L, const char *file, int line, int why, const char *reason)
{
    struct cr_sigma_stats *st = &L->rs->sigma;
    st->skipped++;
    st->by_reason[why]++;
    size_t used = st->skips ? strlen(st->skips) : 0;
    size_t need = strlen(file) + strlen(reason) + 48;
    st->skips = xrealloc(st->skips, used + need);
    snprintf(st->skips + used, need, "%s:%d: skipped: %s\n", file, line, reason);
}

/* Shared gates: (field, flags, regex) -> pattern index, open addressing. */
static uint64_t gate_key(const struct pat_spec *ps)
{
    uint64_t h = XXH3_64bits(ps->regex, strlen(ps->regex));
    return h ^ ((uint64_t)ps->field << 40) ^ ((uint64_t)ps->caseless << 60) ^
           ((uint64_t)ps->need_pcre << 61) ^ (uint64_t)ps->hs_flags;
}

static int same_gate(const struct cr_pattern *p, const struct pat_spec *ps)
{
    unsigned flags = CR_HS_BASE_FLAGS | ps->hs_flags | (ps->caseless ? HS_FLAG_CASELESS : 0);
    return p->gate && p->field == ps->field && p->hs_flags == flags &&
           (p->pcre != NULL) == (ps->need_pcre != 0) && strcmp(p->regex, ps->regex) == 0;
}

static int shared_gate(struct cr_load *L, const struct pat_spec *ps)
{
    if (!L->sigma_gates_cap)
        return -1;
    uint64_t h = gate_key(ps);
    for (uint32_t i = (uint32_t)h & (L->sigma_gates_cap - 1); L->sigma_gates[i].used;
         i = (i + 1) & (L->sigma_gates_cap - 1))
        if (L->sigma_gates[i].key == h && same_gate(&L->rs->patterns[L->sigma_gates[i].pat], ps))
            return (int)L->sigma_gates[i].pat;
    return -1;
}

static void remember_gate(struct cr_load *L, const struct pat_spec *ps, int pi)
{
    if (2 * (L->sigma_gates_n + 1) > L->sigma_gates_cap) {
        uint32_t cap = L->sigma_gates_cap ? 2 * L->sigma_gates_cap : 1024;
        struct cr_sigma_gate *t = calloc(cap, sizeof *t);
        if (!t)
            abort();
        for (uint32_t i = 0; i < L->sigma_gates_cap; i++) {
            if (!L->sigma_gates[i].used)
                continue;
            uint32_t j = (uint32_t)L->sigma_gates[i].key & (cap - 1);
            while (t[j].used)
                j = (j + 1) & (cap - 1);
            t[j] = L->sigma_gates[i];
        }
        free(L->sigma_gates);
        L->sigma_gates = t;
        L->sigma_gates_cap = cap;
    }
    uint64_t h = gate_key(ps);
    uint32_t i = (uint32_t)h & (L->sigma_gates_cap - 1);
    while (L->sigma_gates[i].used)
        i = (i + 1) & (L->sigma_gates_cap - 1);
    L->sigma_gates[i] = (struct cr_sigma_gate){h, (uint32_t)pi, 1};
    L->sigma_gates_n++;
}

/* What a Sigma document says about itself (rule or correlation). */
static struct cr_sigma_meta *doc_meta(struct cr_yaml *y, yaml_node_t *root, const char *level,
                                      const char *status, const char *product, const char *service,
                                      const char *category)
{
    struct cr_sigma_meta *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->level = xstrdup(level ? level : "");
    m->status = xstrdup(status ? status : "");
    m->author = xstrdup(scalar(y, root, "author"));
    m->references = join_list(y, cr_yaml_get(y, root, "references"), "\n", NULL);
    m->tags = join_list(y, cr_yaml_get(y, root, "tags"), " ", NULL);
    m->attack = join_list(y, cr_yaml_get(y, root, "tags"), " ", "attack.");
    { /* techniques only, attack.t1059.001 -> T1059.001; tactics are words */
        char *o = m->attack;
        for (char *tok = strtok(m->attack, " "); tok; tok = strtok(NULL, " ")) {
            if (tok[0] != 't' || tok[1] < '0' || tok[1] > '9')
                continue;
            size_t l = strlen(tok);
            if (o != m->attack)
                *o++ = ' ';
            memmove(o, tok, l);
            *o = 'T';
            o += l;
        }
        *o = 0;
    }
    {
        char ls[256];
        snprintf(ls, sizeof ls, "%s/%s/%s", product ? product : "", service ? service : "",
                 category ? category : "");
        m->logsource = xstrdup(ls);
    }
    return m;
}

/* What every incident of a Sigma rule carries (the rules' licence requires
 * the attribution): its ATT&CK technique ids and {id, title, level, status,
 * author, references}, as compact JSON. */
static char *annotation(const char *id, const char *title, const struct cr_sigma_meta *m)
{
    json_t *o = json_object(), *attack = json_array(), *sg = json_object(), *refs = json_array();
    if (!o || !attack || !sg || !refs)
        abort();
    char *buf = xstrdup(m->attack);
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "))
        json_array_append_new(attack, json_string(t));
    free(buf);
    buf = xstrdup(m->references);
    for (char *t = strtok(buf, "\n"); t; t = strtok(NULL, "\n"))
        json_array_append_new(refs, json_string(t));
    free(buf);
    json_object_set_new(sg, "id", json_string(id));
    json_object_set_new(sg, "title", json_string(title ? title : ""));
    json_object_set_new(sg, "level", json_string(m->level));
    json_object_set_new(sg, "status", json_string(m->status));
    json_object_set_new(sg, "author", json_string(m->author ? m->author : ""));
    json_object_set_new(sg, "references", refs);
    json_object_set_new(o, "attack", attack);
    json_object_set_new(o, "sigma", sg);
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        abort();
    return text;
}

static int id_taken(struct cr_load *L, const char *id)
{
    if (cr_load_rule_index(L, id) >= 0)
        return 1;
    for (int i = 0; i < L->rs->ncorrs; i++)
        if (strcmp(L->rs->corrs[i].id, id) == 0)
            return 1;
    return 0;
}

static void commit(struct comp *c, struct cr_yaml *y, yaml_node_t *root, const char *id,
                   const char *level, const char *status, const char *product, const char *service,
                   const char *category, int need, int depth)
{
    struct cr_load *L = c->L;
    struct cr_ruleset *rs = L->rs;
    uint32_t ri;
    struct cr_rule *r = cr_load_new_rule(L, &ri);
    r->id = xstrdup(id);
    const char *title = scalar(y, root, "title");
    r->title = xstrdup(title ? title : id);
    r->file = xstrdup(y->file);
    r->line = cr_yaml_line(root);
    L->rule_group_by_line[ri] = r->line;
    /* patterns: atom a's are pat_idx[a.pat .. a.pat + a.npat). A gate (a
     * select or filter pattern, which never makes a candidate) is shared by
     * every rule that has the same one: 1,183 process_creation rules share
     * one `Channel: Microsoft-Windows-Sysmon/Operational`, which Hyperscan
     * would otherwise report 1,183 times per record. */
    struct cr_expr *e = calloc(1, sizeof *e);
    if (!e)
        abort();
    e->pat_idx = xrealloc(NULL, ((size_t)c->npats + 1) * sizeof *e->pat_idx);
    r->patterns = xrealloc(NULL, ((size_t)c->npats + 1) * sizeof *r->patterns);
    for (int i = 0; i < c->npats; i++) {
        struct pat_spec *ps = &c->pats[i];
        int pi = ps->gate ? shared_gate(L, ps) : -1;
        if (pi < 0) {
            char msg[256];
            pi = cr_load_new_pattern(L, ri, ps->field, ps->regex, ps->hs_flags, ps->caseless,
                                     ps->need_pcre, ps->line, msg, sizeof msg);
            if (pi < 0) { /* compile_rule checked every regex: cannot happen */
                cr_load_error(L, y->file, ps->line, "rule '%s': regex '%s': %s", id, ps->regex,
                              msg);
                pi = 0;
            } else {
                rs->patterns[pi].gate = (uint8_t)ps->gate;
                if (ps->gate)
                    remember_gate(L, ps, pi);
            }
        }
        e->pat_idx[i] = (uint32_t)pi;
        r = &rs->rules[ri];
        r->patterns[r->npatterns++] = (uint32_t)pi;
    }
    r = &rs->rules[ri];
    e->atoms = c->atoms;
    e->natoms = c->natoms;
    e->prog = c->prog;
    e->nprog = c->gate_at;
    e->gate = c->prog + c->gate_at;
    e->ngate = c->nprog - c->gate_at;
    c->atoms = NULL;
    c->prog = NULL;
    r->expr = e;
    r->expr_needs_hit = (uint8_t)need;
    e->depth = depth;
    if (e->depth > rs->max_expr_depth)
        rs->max_expr_depth = e->depth;

    struct cr_sigma_meta *m = doc_meta(y, root, level, status, product, service, category);
    m->annotation = annotation(r->id, r->title, m);
    r->sigma = m;

    /* every match is an incident (a single-event rule) */
    struct cr_incident_spec *inc = calloc(1, sizeof *inc);
    if (!inc)
        abort();
    const struct cr_sigma_map *map = L->sigma_map;
    grade(L, y, root, c->src->category_id, level, inc);
    inc->title = xstrdup(r->title);
    inc->open_for_ms = 3600 * 1000LL;
    r->incident = inc;
    if (map && level_of(level) < map->min_level) {
        /* below sigma_min_level: it matches (and may feed a correlation) but
         * does not alert on its own */
        free(inc->title);
        free(inc);
        r->incident = NULL;
        rs->sigma.silent++;
        rs->sigma.loaded++;
        return;
    }
    for (int g = 0; g < c->src->ngroup_by; g++) {
        int f = cr_load_field(L, c->src->group_by[g], c->src->y->file, c->src->line);
        r = &rs->rules[ri];
        if (f >= 0)
            r->group_by[r->ngroup_by++] = (uint16_t)f;
    }
    rs->sigma.loaded++;
}

/* ---- filters (Sigma v2.1 "global filters") ---- */

/* Whether a filter document's logsource fits a rule's: each of product,
 * service and category the filter names must be the rule's. */
static int filter_fits(struct cr_yaml *fy, yaml_node_t *froot, const char *product,
                       const char *service, const char *category)
{
    yaml_node_t *ls = cr_yaml_get(fy, froot, "logsource");
    const char *fp = scalar(fy, ls, "product"), *fs = scalar(fy, ls, "service"),
               *fc = scalar(fy, ls, "category");
    return (!fp || (product && strcmp(fp, product) == 0)) &&
           (!fs || (service && strcmp(fs, service) == 0)) &&
           (!fc || (category && strcmp(fc, category) == 0));
}

/* Whether a filter document names the rule (by id or name) in filter.rules. */
static int filter_names(struct cr_yaml *fy, yaml_node_t *froot, const char *id, const char *name)
{
    yaml_node_t *rules = cr_yaml_get(fy, cr_yaml_get(fy, froot, "filter"), "rules");
    int n = cr_yaml_is_seq(rules) ? cr_yaml_seq_len(rules) : cr_yaml_str(rules) ? 1 : 0;
    for (int i = 0; i < n; i++) {
        const char *r = cr_yaml_str(cr_yaml_is_seq(rules) ? cr_yaml_seq_at(fy, rules, i) : rules);
        if (r && ((id && strcmp(r, id) == 0) || (name && strcmp(r, name) == 0)))
            return 1;
    }
    return 0;
}

/* Every filter document that names this rule and fits its logsource is
 * ANDed to its condition under `not`: the rule's program becomes
 * (detection) and not (filter 1) and not (filter 2)... The filter's
 * selections are placed with the rule's own mapping (same logsource) and,
 * being under `not`, become gates (they never make the rule a candidate).
 * A filter that does not compile skips the rule: running it without the
 * site's tuning would bring back what the site tuned away. */
static void apply_filters(struct comp *c, const char *id, const char *name, const char *product,
                          const char *service, const char *category)
{
    struct cr_load *L = c->L;
    for (int fi = 0; fi < L->nfilter_docs && c->skip < 0; fi++) {
        int d = L->filter_docs[fi];
        struct cr_yaml *fy = L->sigma_docs[d].y;
        yaml_node_t *froot = L->sigma_docs[d].root, *f = cr_yaml_get(fy, froot, "filter");
        if (!f || !filter_names(fy, froot, id, name) ||
            !filter_fits(fy, froot, product, service, category))
            continue;
        yaml_node_t *fcond = cr_yaml_get(fy, f, "condition");
        const char *fcs = cr_yaml_str(fcond);
        if (!cr_yaml_is_map(f) || !fcs) {
            fail(c, cr_yaml_line(f), CR_SIGMA_SKIP_INVALID,
                 "filter %s (%s): 'filter' must be a mapping with a 'condition'",
                 scalar(fy, froot, "id") ? scalar(fy, froot, "id") : "?", fy->file);
            return;
        }
        struct cr_yaml *keep_y = c->y;
        struct ident *keep_ids = c->ids;
        int keep_n = c->nids, n = cr_yaml_map_len(f);
        c->y = fy;
        c->ids = xrealloc(NULL, (size_t)n * sizeof *c->ids);
        c->nids = 0;
        struct cr_expr_step *keep_prog = c->prog;
        int keep_nprog = c->nprog;
        for (int i = 0; i < n && c->skip < 0; i++) {
            yaml_node_t *kn;
            const char *k = cr_yaml_map_key(fy, f, i, &kn);
            if (!k || strcmp(k, "condition") == 0 || strcmp(k, "rules") == 0)
                continue;
            c->prog = NULL;
            c->nprog = 0;
            selection(c, cr_yaml_map_value(fy, f, i));
            c->ids[c->nids++] = (struct ident){k, c->prog, c->nprog};
        }
        c->prog = keep_prog;
        c->nprog = keep_nprog;
        if (c->skip < 0) {
            condition(c, fcs, cr_yaml_line(fcond));
            emit(c, CR_OP_NOT, 0);
            join(c, CR_OP_AND, 2);
        }
        if (c->skip >= 0) { /* say which file the reason is in */
            char w[sizeof c->why];
            int k = snprintf(w, sizeof w, "filter in %s: ", fy->file);
            if (k > 0 && (size_t)k < sizeof w)
                snprintf(w + k, sizeof w - (size_t)k, "%.*s", (int)(sizeof w - (size_t)k - 1),
                         c->why);
            memcpy(c->why, w, sizeof w);
        } else
            L->sigma_docs[d].applied++;
        for (int i = 0; i < c->nids; i++)
            free(c->ids[i].prog);
        free(c->ids);
        c->ids = keep_ids;
        c->nids = keep_n;
        c->y = keep_y;
    }
}

static const struct sigma_src *compile_rule(struct cr_load *L, struct cr_yaml *y, yaml_node_t *root)
{
    const char *file = y->file;
    int line = cr_yaml_line(root);
    const char *id = scalar(y, root, "id");
    const char *status = scalar(y, root, "status");
    const char *level = scalar(y, root, "level");
    char why[400];
    if (!id || !*id) {
        skip_rule(L, file, line, CR_SIGMA_SKIP_INVALID, "a Sigma rule needs an 'id'");
        return NULL;
    }
    if (status && (strcmp(status, "deprecated") == 0 || strcmp(status, "unsupported") == 0)) {
        snprintf(why, sizeof why, "rule %s: status %s", id, status);
        skip_rule(L, file, line, CR_SIGMA_SKIP_STATUS, why);
        return NULL;
    }
    if (id_taken(L, id)) {
        snprintf(why, sizeof why, "rule %s: the id is already taken", id);
        skip_rule(L, file, line, CR_SIGMA_SKIP_DUPLICATE, why);
        return NULL;
    }
    yaml_node_t *ls = cr_yaml_get(y, root, "logsource");
    const char *product = scalar(y, ls, "product"), *service = scalar(y, ls, "service"),
               *category = scalar(y, ls, "category");
    const struct sigma_src *src = find_src(L->sigma_map, product, service, category);
    if (!src) {
        snprintf(why, sizeof why,
                 "rule %s: no sigma_logsources entry for logsource product=%s service=%s "
                 "category=%s",
                 id, product ? product : "-", service ? service : "-", category ? category : "-");
        skip_rule(L, file, cr_yaml_line(ls ? ls : root), CR_SIGMA_SKIP_LOGSOURCE, why);
        return NULL;
    }
    yaml_node_t *det = cr_yaml_get(y, root, "detection");
    yaml_node_t *cond = cr_yaml_get(y, det, "condition");
    if (!cr_yaml_is_map(det) || !cond) {
        snprintf(why, sizeof why, "rule %s: 'detection' must be a mapping with a 'condition'", id);
        skip_rule(L, file, cr_yaml_line(det ? det : root), CR_SIGMA_SKIP_INVALID, why);
        return NULL;
    }

    struct comp c;
    memset(&c, 0, sizeof c);
    c.L = L;
    c.y = y;
    c.src = src;
    c.skip = -1;
    c.gate_at = -1;
    int n = cr_yaml_map_len(det);
    c.ids = xrealloc(NULL, (size_t)n * sizeof *c.ids);
    for (int i = 0; i < n && c.skip < 0; i++) {
        yaml_node_t *kn;
        const char *k = cr_yaml_map_key(y, det, i, &kn);
        if (!k || strcmp(k, "condition") == 0 || strcmp(k, "timeframe") == 0)
            continue;
        c.prog = NULL;
        c.nprog = 0;
        selection(&c, cr_yaml_map_value(y, det, i));
        c.ids[c.nids].name = k;
        c.ids[c.nids].prog = c.prog;
        c.ids[c.nids].nprog = c.nprog;
        c.nids++;
    }
    c.prog = NULL;
    c.nprog = 0;
    if (c.skip < 0) {
        if (cr_yaml_is_seq(cond)) { /* a list of conditions: any of them */
            int nc = cr_yaml_seq_len(cond);
            for (int i = 0; i < nc && c.skip < 0; i++) {
                const char *cs = cr_yaml_str(cr_yaml_seq_at(y, cond, i));
                condition(&c, cs ? cs : "", cr_yaml_line(cond));
            }
            join(&c, CR_OP_OR, nc);
        } else {
            const char *cs = cr_yaml_str(cond);
            condition(&c, cs ? cs : "", cr_yaml_line(cond));
        }
    }
    if (c.skip < 0)
        apply_filters(&c, id, scalar(y, root, "name"), product, service, category);
    /* Whether the detection alone can hold without a positive pattern hit;
     * if not, only those patterns make the rule a candidate: the others
     * (filters under `not`) and the select's become gates. */
    int depth = 0, need = 0;
    if (c.skip < 0 && c.natoms > 0) {
        uint8_t *pos = xrealloc(NULL, (size_t)c.natoms);
        polarity(c.prog, c.nprog, pos, c.natoms);
        need = needs_hit_pos(c.prog, c.nprog, c.atoms, pos, &depth);
        for (int a = 0; a < c.natoms && need; a++)
            if (c.atoms[a].kind == CR_ATOM_PATTERNS && !pos[a])
                for (uint32_t k = 0; k < c.atoms[a].npat; k++)
                    c.pats[c.atoms[a].pat + k].gate = 1;
        free(pos);
    }
    if (c.skip < 0 && src->select) { /* the logsource's own selection, ANDed */
        struct cr_yaml *keep = c.y;
        c.y = src->y;
        c.gate_at = c.nprog;
        c.gating = 1;
        selection(&c, src->select);
        c.gating = 0;
        c.y = keep;
    }
    if (c.skip < 0 && c.gate_at < 0)
        c.gate_at = c.nprog;
    if (c.skip < 0) {
        int d2 = 0;
        needs_hit(c.prog, c.gate_at, c.atoms, &depth);
        needs_hit(c.prog + c.gate_at, c.nprog - c.gate_at, c.atoms, &d2);
        if (d2 > depth)
            depth = d2;
        if (depth > CR_EXPR_MAX_DEPTH)
            fail(&c, line, CR_SIGMA_SKIP_LIMIT, "condition deeper than %d operands",
                 CR_EXPR_MAX_DEPTH);
    }
    /* PCRE2 must take every regex Hyperscan may only prefilter */
    for (int i = 0; i < c.npats && c.skip < 0; i++) {
        if (!c.pats[i].need_pcre)
            continue;
        void *code = NULL;
        int jit;
        char msg[256];
        size_t off;
        if (cr_pcre_compile(c.pats[i].regex, c.pats[i].caseless, &code, &jit, msg, sizeof msg,
                            &off) != 0)
            fail(&c, c.pats[i].line, CR_SIGMA_SKIP_REGEX, "regex '%s': %s at offset %zu",
                 c.pats[i].regex, msg, off);
        cr_pcre_free(code);
    }
    int ok = c.skip < 0;
    if (!ok) {
        snprintf(why, sizeof why, "rule %s: %s", id, c.why);
        skip_rule(L, file, c.skip_line ? c.skip_line : line, c.skip, why);
    } else {
        commit(&c, y, root, id, level, status, product, service, category, need, depth);
    }
    for (int i = 0; i < c.nids; i++)
        free(c.ids[i].prog);
    free(c.ids);
    for (int i = 0; i < c.npats; i++)
        free(c.pats[i].regex);
    free(c.pats);
    free(c.atoms);
    free(c.prog);
    return ok ? src : NULL;
}

/* ---- correlation rules (Sigma v2.1) onto corral's correlations ---- */

/* Every loaded Sigma rule and correlation, by id and by `name`. */
struct named {
    const char *id, *name;
    const struct sigma_src *src; /* where its fields are: for group-by and field */
    int corr;                    /* 1: a correlation */
    int index;                   /* rule or correlation index in the ruleset */
};

static const struct named *find_named(const struct named *t, int n, const char *ref)
{
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].id, ref) == 0 || (t[i].name && strcmp(t[i].name, ref) == 0))
            return &t[i];
    return NULL;
}

/* A Sigma condition map: gt, gte, lt, lte, eq (a range with two). */
static int sigma_bounds(struct cr_yaml *y, yaml_node_t *v, uint32_t *lo, uint32_t *hi,
                        const char **field, char *why, size_t wl)
{
    *lo = 1;
    *hi = UINT32_MAX;
    *field = NULL;
    if (!cr_yaml_is_map(v)) {
        snprintf(why, wl, "condition must be a mapping such as {gte: 10}");
        return -1;
    }
    for (int i = 0; i < cr_yaml_map_len(v); i++) {
        yaml_node_t *kn;
        const char *k = cr_yaml_map_key(y, v, i, &kn);
        const char *val = cr_yaml_str(cr_yaml_map_value(y, v, i));
        if (k && strcmp(k, "field") == 0) {
            *field = val;
            continue;
        }
        char *end;
        long long x = val ? strtoll(val, &end, 10) : -1;
        if (!val || *end || x < 0 || x > 100000) {
            snprintf(why, wl, "condition %s: '%s' is not a count from 0 to 100000", k ? k : "?",
                     val ? val : "");
            return -1;
        }
        if (k && strcmp(k, "gte") == 0)
            *lo = (uint32_t)x;
        else if (k && strcmp(k, "gt") == 0)
            *lo = (uint32_t)x + 1;
        else if (k && strcmp(k, "lte") == 0)
            *hi = (uint32_t)x;
        else if (k && strcmp(k, "lt") == 0 && x > 0)
            *hi = (uint32_t)x - 1;
        else if (k && strcmp(k, "eq") == 0)
            *lo = *hi = (uint32_t)x;
        else {
            snprintf(why, wl, "condition: '%s' is not supported (gt, gte, lt, lte, eq)",
                     k ? k : "?");
            return -1;
        }
    }
    if (*lo == 0)
        *lo = 1;
    if (*lo > *hi) {
        snprintf(why, wl, "condition: no count satisfies it");
        return -1;
    }
    return 0;
}

/* value_sum / value_avg: `field` and bounds on the aggregate (numbers,
 * fractions too) into c's num_lo / num_hi. */
static int sigma_num_bounds(struct cr_yaml *y, yaml_node_t *v, struct cr_correlation *c,
                            const char **field, char *why, size_t wl)
{
    *field = NULL;
    if (!cr_yaml_is_map(v)) {
        snprintf(why, wl, "%s needs condition: {field: F, gt: X}", cr_corr_type_name(c->type));
        return -1;
    }
    int neq = 0, nlo = 0, nhi = 0, npct = 0;
    for (int i = 0; i < cr_yaml_map_len(v); i++) {
        yaml_node_t *kn;
        const char *k = cr_yaml_map_key(y, v, i, &kn);
        const char *val = cr_yaml_str(cr_yaml_map_value(y, v, i));
        if (k && strcmp(k, "field") == 0) {
            *field = val;
            continue;
        }
        if (k && strcmp(k, "percentile") == 0) {
            char *end;
            long pc = val ? strtol(val, &end, 10) : -1;
            if (c->type != CR_CORR_VALUE_PERCENTILE) {
                snprintf(why, wl, "condition.percentile belongs to value_percentile");
                return -1;
            }
            if (!val || *end || pc < 0 || pc > 100) {
                snprintf(why, wl, "condition.percentile '%s' is not a whole number from 0 to 100",
                         val ? val : "");
                return -1;
            }
            c->percentile = (uint8_t)pc;
            npct++;
            continue;
        }
        if (cr_load_num_bound(c, k ? k : "?", val, why, wl) != 0)
            return -1;
        neq += k && strcmp(k, "eq") == 0;
        nlo += k && (strcmp(k, "gt") == 0 || strcmp(k, "gte") == 0);
        nhi += k && (strcmp(k, "lt") == 0 || strcmp(k, "lte") == 0);
    }
    if (!*field || !**field) {
        snprintf(why, wl, "%s needs condition.field (the number summed or averaged)",
                 cr_corr_type_name(c->type));
        return -1;
    }
    if (c->type == CR_CORR_VALUE_PERCENTILE && !npct) {
        /* the specification's example (`field: image, lte: 1`: a process
         * name seen in at most 1% of a computer's events) reads as a rare
         * value, pySigma and backends as the numeric percentile named by
         * condition.percentile: without it the rule says too little */
        snprintf(why, wl,
                 "value_percentile needs condition.percentile (which percentile of the "
                 "field's numbers the bound applies to, as pySigma reads it)");
        return -1;
    }
    if (nlo > 1 || nhi > 1) {
        snprintf(why, wl, "condition: at most one lower bound (gt, gte) and one upper (lt, lte)");
        return -1;
    }
    return cr_load_num_check(c, neq ? neq + nlo + nhi : 0, why, wl);
}

static void compile_corr(struct cr_load *L, struct cr_yaml *y, yaml_node_t *root, struct named *tab,
                         int *ntab)
{
    struct cr_ruleset *rs = L->rs;
    const char *file = y->file;
    int line = cr_yaml_line(root);
    const char *id = scalar(y, root, "id"), *title = scalar(y, root, "title");
    const char *level = scalar(y, root, "level");
    yaml_node_t *cn = cr_yaml_get(y, root, "correlation");
    char why[600];
#define SKIP(...)                                                                                  \
    do {                                                                                           \
        char r_[400];                                                                              \
        snprintf(r_, sizeof r_, __VA_ARGS__);                                                      \
        snprintf(why, sizeof why, "correlation %s: %s", id ? id : "?", r_);                        \
        skip_rule(L, file, line, CR_SIGMA_SKIP_CORRELATION, why);                                  \
        return;                                                                                    \
    } while (0)
    if (!id || !*id) {
        skip_rule(L, file, line, CR_SIGMA_SKIP_INVALID, "a Sigma correlation needs an 'id'");
        return;
    }
    if (id_taken(L, id)) {
        snprintf(why, sizeof why, "correlation %s: the id is already taken", id);
        skip_rule(L, file, line, CR_SIGMA_SKIP_DUPLICATE, why);
        return;
    }
    if (!cr_yaml_is_map(cn))
        SKIP("'correlation' must be a mapping");
    const char *type = scalar(y, cn, "type");
    enum cr_corr_type t;
    if (type && strcmp(type, "event_count") == 0)
        t = CR_CORR_EVENT_COUNT;
    else if (type && strcmp(type, "value_count") == 0)
        t = CR_CORR_VALUE_COUNT;
    else if (type && strcmp(type, "temporal") == 0)
        t = CR_CORR_TEMPORAL;
    else if (type && strcmp(type, "temporal_ordered") == 0)
        t = CR_CORR_TEMPORAL_ORDERED;
    else if (type && strcmp(type, "value_sum") == 0)
        t = CR_CORR_VALUE_SUM;
    else if (type && strcmp(type, "value_avg") == 0)
        t = CR_CORR_VALUE_AVG;
    else if (type && strcmp(type, "value_percentile") == 0)
        t = CR_CORR_VALUE_PERCENTILE;
    else
        SKIP("type '%s' is not compiled yet (event_count, value_count, value_sum, value_avg, "
             "value_percentile, temporal, temporal_ordered are)",
             type ? type : "");
    yaml_node_t *aliases = cr_yaml_get(y, cn, "aliases");
    if (aliases && !cr_yaml_is_map(aliases))
        SKIP("'aliases' must map alias names to {rule: field}");
    yaml_node_t *rules = cr_yaml_get(y, cn, "rules");
    int nrules = cr_yaml_is_seq(rules) ? cr_yaml_seq_len(rules) : cr_yaml_str(rules) ? 1 : 0;
    if (nrules == 0 || nrules > CR_MAX_STEPS)
        SKIP("'rules' lists %d rules (1 to %d)", nrules, CR_MAX_STEPS);
    if ((t == CR_CORR_TEMPORAL || t == CR_CORR_TEMPORAL_ORDERED) && nrules < 2)
        SKIP("%s needs at least 2 rules", type);
    const struct named *refs[CR_MAX_STEPS];
    const char *ref_names[CR_MAX_STEPS];
    for (int i = 0; i < nrules; i++) {
        const char *ref = cr_yaml_str(cr_yaml_is_seq(rules) ? cr_yaml_seq_at(y, rules, i) : rules);
        ref_names[i] = ref;
        refs[i] = ref ? find_named(tab, *ntab, ref) : NULL;
        if (!refs[i])
            SKIP("rule '%s' is not a loaded Sigma rule or correlation", ref ? ref : "");
    }
    int64_t span = 0;
    const char *ts = scalar(y, cn, "timespan");
    if (!ts || cr_parse_duration_ms(ts, &span) != 0 || span <= 0)
        SKIP("timespan '%s' is not a duration (30s, 5m, 1h, 1d)", ts ? ts : "");
    uint32_t lo = 1, hi = UINT32_MAX;
    const char *vfield = NULL;
    yaml_node_t *cond = cr_yaml_get(y, cn, "condition");
    char bwhy[200];
    struct cr_correlation num = {.type = t, .num_lo = -INFINITY, .num_hi = INFINITY};
    if (t == CR_CORR_EVENT_COUNT || t == CR_CORR_VALUE_COUNT) {
        if (sigma_bounds(y, cond, &lo, &hi, &vfield, bwhy, sizeof bwhy) != 0)
            SKIP("%s", bwhy);
        if (t == CR_CORR_VALUE_COUNT && (!vfield || hi != UINT32_MAX))
            SKIP("value_count needs condition.field and a lower bound only");
    } else if (t == CR_CORR_VALUE_SUM || t == CR_CORR_VALUE_AVG || t == CR_CORR_VALUE_PERCENTILE) {
        if (sigma_num_bounds(y, cond, &num, &vfield, bwhy, sizeof bwhy) != 0)
            SKIP("%s", bwhy);
    } else if (cond) {
        /* the count of distinct rules that must match (spec: "the count of
         * different event types"); temporal takes a lower bound, and
         * temporal_ordered all of its rules, in order */
        if (sigma_bounds(y, cond, &lo, &hi, &vfield, bwhy, sizeof bwhy) != 0)
            SKIP("%s", bwhy);
        if (t == CR_CORR_TEMPORAL && (hi != UINT32_MAX || lo > (uint32_t)nrules))
            SKIP("temporal takes a lower bound from 1 to its %d rules (gte, gt)", nrules);
        if (t == CR_CORR_TEMPORAL_ORDERED && (lo != (uint32_t)nrules || hi != UINT32_MAX))
            SKIP("%s with a condition other than all %d rules is not compiled yet", type, nrules);
    } else {
        lo = (uint32_t)nrules; /* temporal: every rule */
    }
    /* where the fields are: each rule's own mapping (rules of different
     * logsources, and aliases, key each step by its own fields) */
    const struct sigma_src *src = refs[0]->src;
    struct comp c;
    memset(&c, 0, sizeof c);
    c.L = L;
    c.y = y;
    c.src = src;
    c.skip = -1;
    uint16_t group_by[CR_MAX_GROUP_BY];
    int ngroup = 0;
    yaml_node_t *gb = cr_yaml_get(y, cn, "group-by");
    int ng = cr_yaml_is_seq(gb) ? cr_yaml_seq_len(gb) : 0;
    if (ng == 0 || ng > CR_MAX_GROUP_BY)
        SKIP("group-by lists %d fields (1 to %d)", ng, CR_MAX_GROUP_BY);
    uint16_t step_gb[CR_MAX_STEPS][CR_MAX_GROUP_BY];
    memset(step_gb, 0, sizeof step_gb);
    int per_step = 0;
    for (int i = 0; i < ng; i++) {
        const char *f = cr_yaml_str(cr_yaml_seq_at(y, gb, i));
        yaml_node_t *al = f ? cr_yaml_get(y, aliases, f) : NULL;
        if (al && !cr_yaml_is_map(al))
            SKIP("alias '%s' must map each rule to its field", f);
        for (int s = 0; s < nrules; s++) {
            /* an alias names the field per rule (by the name or id the
             * correlation uses, or the rule's other one) */
            const char *fs = f;
            if (al) {
                fs = scalar(y, al, ref_names[s]);
                if (!fs && refs[s]->name)
                    fs = scalar(y, al, refs[s]->name);
                if (!fs)
                    fs = scalar(y, al, refs[s]->id);
                if (!fs)
                    SKIP("alias '%s' names no field for rule '%s'", f, ref_names[s]);
            }
            if (refs[s]->corr && (al || refs[s]->src != src))
                SKIP("a chained correlation '%s' keys by its own group-by: aliases and mixed "
                     "logsources are for rules",
                     ref_names[s]);
            int alts[CR_ATOM_MAX_ALT];
            c.src = refs[s]->src;
            if (!fs || resolve_field(&c, fs, line, alts) == 0 || c.skip >= 0)
                SKIP("group-by field '%s' cannot be placed", fs ? fs : "");
            step_gb[s][i] = (uint16_t)alts[0]; /* the first shape the mapping gives */
            if (step_gb[s][i] != step_gb[0][i])
                per_step = 1;
        }
        group_by[ngroup++] = step_gb[0][i];
    }
    c.src = src;
    int value_field = -1;
    if (vfield) {
        for (int s = 0; s < nrules; s++) {
            int alts[CR_ATOM_MAX_ALT];
            c.src = refs[s]->src;
            if (resolve_field(&c, vfield, line, alts) == 0 || c.skip >= 0)
                SKIP("condition.field '%s' cannot be placed", vfield);
            if (s > 0 && alts[0] != value_field)
                SKIP("condition.field '%s' is in different fields in its rules", vfield);
            value_field = alts[0];
        }
        c.src = src;
    }

    /* the incident: category from the tags, else the first rule's */
    char first_cat[24] = "";
    if (!refs[0]->corr && rs->rules[refs[0]->index].incident)
        snprintf(first_cat, sizeof first_cat, "%s", rs->rules[refs[0]->index].incident->category);
    else if (refs[0]->corr)
        snprintf(first_cat, sizeof first_cat, "%s", rs->corrs[refs[0]->index].incident.category);

    int ci;
    struct cr_correlation *co = cr_load_new_corr(L, &ci);
    co->id = xstrdup(id);
    co->title = xstrdup(title ? title : id);
    co->file = xstrdup(file);
    co->line = line;
    co->type = t;
    co->nsteps = nrules;
    for (int i = 0; i < nrules; i++) {
        L->refs[ci][i].name = refs[i]->id;
        L->refs[ci][i].line = line;
    }
    memcpy(co->group_by, group_by, sizeof group_by);
    co->ngroup_by = ngroup;
    co->per_step_group_by = (uint8_t)per_step;
    if (per_step)
        memcpy(co->step_group_by, step_gb, sizeof step_gb);
    L->group_by_line[ci] = cr_yaml_line(gb);
    co->timespan_ms = span;
    co->gte = lo;
    co->lte = hi;
    co->windowed = t == CR_CORR_EVENT_COUNT && hi != UINT32_MAX;
    co->value_field = value_field;
    co->num_lo = num.num_lo;
    co->num_hi = num.num_hi;
    co->num_lo_strict = num.num_lo_strict;
    co->num_hi_strict = num.num_hi_strict;
    co->percentile = num.percentile;
    grade(L, y, root, first_cat, level, &co->incident);
    co->incident.title = xstrdup(co->title);
    {
        struct cr_sigma_meta *m =
            doc_meta(y, root, level, scalar(y, root, "status"), NULL, NULL, NULL);
        co->annotation = annotation(id, co->title, m);
        free_meta(m);
    }
    co->incident.open_for_ms = span;

    /* generate: false (the default): the rules it names do not also open
     * incidents of their own; only the correlation speaks */
    const char *gen = scalar(y, cn, "generate");
    if (!gen || strcmp(gen, "true") != 0)
        for (int i = 0; i < nrules; i++)
            if (!refs[i]->corr && rs->rules[refs[i]->index].incident) {
                struct cr_rule *r = &rs->rules[refs[i]->index];
                free(r->incident->title);
                free(r->incident);
                r->incident = NULL;
                r->ngroup_by = 0;
            }
    rs->sigma.loaded++;
    tab[*ntab] = (struct named){id, scalar(y, root, "name"), src, 1, ci};
    (*ntab)++;
#undef SKIP
}

void cr_sigma_compile_all(struct cr_load *L)
{
    struct named *tab = xrealloc(NULL, ((size_t)L->nsigma_docs + 1) * sizeof *tab);
    int ntab = 0;
    /* the filter documents, found once: each rule looks only at them */
    L->filter_docs = xrealloc(NULL, ((size_t)L->nsigma_docs + 1) * sizeof *L->filter_docs);
    L->nfilter_docs = 0;
    for (int i = 0; i < L->nsigma_docs; i++)
        if (cr_yaml_get(L->sigma_docs[i].y, L->sigma_docs[i].root, "filter") &&
            !cr_yaml_get(L->sigma_docs[i].y, L->sigma_docs[i].root, "detection"))
            L->filter_docs[L->nfilter_docs++] = i;
    for (int i = 0; i < L->nsigma_docs; i++) {
        struct cr_yaml *y = L->sigma_docs[i].y;
        yaml_node_t *root = L->sigma_docs[i].root;
        if (cr_yaml_get(y, root, "correlation") ||
            (cr_yaml_get(y, root, "filter") && !cr_yaml_get(y, root, "detection")))
            continue; /* correlations once every rule they may name is compiled;
                       * filters are applied by the rules they name */
        const struct sigma_src *src = compile_rule(L, y, root);
        if (src)
            tab[ntab++] = (struct named){scalar(y, root, "id"), scalar(y, root, "name"), src, 0,
                                         L->rs->nrules - 1};
    }
    /* correlations in file order; one naming a later correlation waits for it
     * (passes until nothing changes) */
    uint8_t *done = calloc((size_t)L->nsigma_docs + 1, 1);
    if (!done)
        abort();
    for (int progress = 1; progress;) {
        progress = 0;
        for (int i = 0; i < L->nsigma_docs; i++) {
            struct cr_yaml *y = L->sigma_docs[i].y;
            yaml_node_t *root = L->sigma_docs[i].root, *cn = cr_yaml_get(y, root, "correlation");
            if (done[i] || !cn)
                continue;
            yaml_node_t *rules = cr_yaml_get(y, cn, "rules");
            int ready = 1;
            for (int k = 0; k < cr_yaml_seq_len(rules); k++) {
                const char *ref = cr_yaml_str(cr_yaml_seq_at(y, rules, k));
                if (ref && !find_named(tab, ntab, ref))
                    for (int j = 0; j < L->nsigma_docs; j++) { /* a pending correlation? */
                        yaml_node_t *rj = L->sigma_docs[j].root;
                        struct cr_yaml *yj = L->sigma_docs[j].y;
                        const char *idj = scalar(yj, rj, "id"), *nj = scalar(yj, rj, "name");
                        if (!done[j] && j != i && cr_yaml_get(yj, rj, "correlation") &&
                            ((idj && strcmp(idj, ref) == 0) || (nj && strcmp(nj, ref) == 0)))
                            ready = 0;
                    }
            }
            if (!ready)
                continue;
            compile_corr(L, y, root, tab, &ntab);
            done[i] = 1;
            progress = 1;
        }
    }
    for (int i = 0; i < L->nsigma_docs; i++) /* a cycle: skipped, named */
        if (!done[i] && cr_yaml_get(L->sigma_docs[i].y, L->sigma_docs[i].root, "correlation"))
            skip_rule(L, L->sigma_docs[i].y->file, cr_yaml_line(L->sigma_docs[i].root),
                      CR_SIGMA_SKIP_CORRELATION,
                      "a correlation in a cycle of correlations naming each other");
    free(done);
    free(tab);
    for (int fi = 0; fi < L->nfilter_docs; fi++) { /* filters: applied, or said why not */
        int i = L->filter_docs[fi];
        struct cr_yaml *y = L->sigma_docs[i].y;
        yaml_node_t *root = L->sigma_docs[i].root;
        if (L->sigma_docs[i].applied) {
            L->rs->sigma.filters++;
            continue;
        }
        char why[400];
        const char *id = scalar(y, root, "id");
        snprintf(why, sizeof why,
                 "filter %s: names no loaded rule of its logsource (filter.rules: ids or names)",
                 id ? id : "?");
        skip_rule(L, y->file, cr_yaml_line(root), CR_SIGMA_SKIP_CORRELATION, why);
    }
    free(L->filter_docs);
    L->filter_docs = NULL;
    L->nfilter_docs = 0;
}
