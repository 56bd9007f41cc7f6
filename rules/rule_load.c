/*
 * rule_load.c - walking one YAML rule file into the ruleset being built.
 *
 * This file knows the rule language (ruleset.h's top comment, docs/rules.md)
 * and nothing about Hyperscan: it checks every key and value, compiles each
 * regex with PCRE2 (which validates it, with an offset for the message, and
 * names its captures), registers the fields rules mention, and appends
 * rules, correlations and patterns to the ruleset (conditions with their
 * bounds, new_value's history, the `steps:`/`join:` form of a sequence).
 * Correlation references stay names until every file is read, because a correlation may name a
 * rule from a later file; ruleset.c resolves them.
 *
 * Errors never stop the walk: each is appended as "file:line: reason" and
 * counted, so an author sees every problem of a file in one run. A rule
 * with an error is still appended (partially filled) so that later checks
 * (duplicates, references) see it; the load fails as a whole anyway.
 */
#include "rules/rule_load.h"
#include "rules/rule_error.h"

#include "rules/hs_db.h"
#include "rules/pcre_confirm.h"

#include <hs/hs.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cr_load_error(struct cr_load *L, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cr_rules_verror(L->err, L->errlen, file, line, fmt, ap);
    va_end(ap);
    L->nerr++;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort();
    return q;
}

static void note_field_ref(struct cr_load *L, int id, const char *file, int line)
{
    uint64_t bit = (uint64_t)1 << (id & 63);
    if (L->in_sigma) {
        L->sigma_ref[id >> 6] |= bit;
        return;
    }
    if (!(L->own_ref[id >> 6] & bit)) {
        L->own_ref[id >> 6] |= bit;
        L->field_ref[id] = (struct cr_field_ref){file, line};
    }
}

int cr_load_field(struct cr_load *L, const char *name, const char *file, int line)
{
    struct cr_ruleset *rs = L->rs;
    int id = cr_ruleset_field(rs, name);
    if (id >= 0) {
        note_field_ref(L, id, file, line);
        return id;
    }
    if (rs->nfields >= CR_MAX_FIELDS) {
        cr_load_error(L, file, line,
                      "too many fields: cannot add '%s' (at most %d, of which %d are builtin)",
                      name, CR_MAX_FIELDS, CR_F__BUILTIN);
        return -1;
    }
    rs->field_names[rs->nfields] = xstrdup(name);
    note_field_ref(L, rs->nfields, file, line);
    return rs->nfields++;
}

/* Edit distance between a and b, or a number > max once it is sure to be. */
static int edit_distance(const char *a, const char *b, int max)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64 || (la > lb ? la - lb : lb - la) > (size_t)max)
        return max + 1;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0], best;
        row[0] = (int)i;
        best = row[0];
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            /* case counts: EventID (a JSON key) is not a misspelt event_id */
            int ca = a[i - 1], cb = b[j - 1];
            int same = ca == cb || ((ca == '-' || ca == '_') && (cb == '-' || cb == '_'));
            int v = diag + !same;
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
            if (v < best)
                best = v;
        }
        if (best > max)
            return max + 1;
    }
    return row[lb];
}

void cr_load_check_fields(struct cr_load *L)
{
    const struct cr_ruleset *rs = L->rs;
    for (int f = CR_F__BUILTIN; f < rs->nfields; f++) {
        uint64_t bit = (uint64_t)1 << (f & 63);
        const char *name = rs->field_names[f];
        if (!(L->own_ref[f >> 6] & bit) || (L->capture_names[f >> 6] & bit) ||
            (L->sigma_ref[f >> 6] & bit) || strchr(name, '.') || strchr(name, '|'))
            continue;
        /* the closest name a record can carry: a parsed field or a capture */
        /* short names differ by one letter legitimately (uid, pid): only '-' for '_'
         * counts there; one edit from 5 letters, two from 8 */
        size_t len = strlen(name);
        int max = len >= 8 ? 2 : len >= 5 ? 1 : 0, best = max + 1;
        const char *like = NULL;
        for (int g = 0; g < rs->nfields; g++) {
            if (g == f ||
                (g >= CR_F__BUILTIN && !(L->capture_names[g >> 6] & ((uint64_t)1 << (g & 63)))))
                continue;
            int d = edit_distance(name, rs->field_names[g], max);
            if (d < best) {
                best = d;
                like = rs->field_names[g];
            }
        }
        if (like)
            cr_load_error(L, L->field_ref[f].file, L->field_ref[f].line,
                          "unknown field '%s' (did you mean '%s'? a field is one the parsers set, "
                          "a capture of some rule, or a JSON path; docs/rules.md, Fields)",
                          name, like);
    }
}

/* The derived field "src|t1|t2" (transform.h), added once per chain. */
static int cr_load_derived(struct cr_load *L, int src, const uint8_t *ops, int nops,
                           const char *file, int line)
{
    struct cr_ruleset *rs = L->rs;
    if (src < 0 || nops == 0)
        return src;
    char name[512];
    size_t o = (size_t)snprintf(name, sizeof name, "%s", rs->field_names[src]);
    for (int i = 0; i < nops && o < sizeof name; i++)
        o += (size_t)snprintf(name + o, sizeof name - o, "|%s",
                              cr_xform_name((enum cr_xform)ops[i]));
    int id = cr_ruleset_field(rs, name);
    if (id >= 0)
        return id;
    id = cr_load_field(L, name, file, line);
    if (id < 0)
        return id;
    rs->derived = xrealloc(rs->derived, (size_t)(rs->nderived + 1) * sizeof *rs->derived);
    struct cr_derived *d = &rs->derived[rs->nderived++];
    memset(d, 0, sizeof *d);
    d->field = (uint16_t)id;
    d->src = (uint16_t)src;
    d->nops = (uint8_t)nops;
    memcpy(d->ops, ops, (size_t)nops);
    return id;
}

/* `transforms:` of a rule: a list of transform names, in order. */
static int parse_transforms(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n, const char *owner,
                            uint8_t *ops)
{
    if (!cr_yaml_is_seq(n)) {
        cr_load_error(L, y->file, cr_yaml_line(n), "%s: transforms must be a list (of %s)", owner,
                      cr_xform_names());
        return 0;
    }
    int cnt = cr_yaml_seq_len(n), nops = 0;
    if (cnt > CR_MAX_XFORMS) {
        cr_load_error(L, y->file, cr_yaml_line(n), "%s: %d transforms (at most %d)", owner, cnt,
                      CR_MAX_XFORMS);
        return 0;
    }
    for (int i = 0; i < cnt; i++) {
        yaml_node_t *e = cr_yaml_seq_at(y, n, i);
        const char *s = cr_yaml_str(e);
        enum cr_xform x = cr_xform_from_name(s);
        if (!x) {
            cr_load_error(L, y->file, cr_yaml_line(e), "%s: unknown transform '%s' (known: %s)",
                          owner, s ? s : "(not a string)", cr_xform_names());
            return 0;
        }
        ops[nops++] = (uint8_t)x;
    }
    return nops;
}

/* ---- small typed readers that report their own errors ---- */

static const char *want_str(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n, const char *owner,
                            const char *what)
{
    const char *s = cr_yaml_str(n);
    if (!s || !*s) {
        cr_load_error(L, y->file, cr_yaml_line(n), "%s: %s must be a non-empty string", owner,
                      what);
        return NULL;
    }
    return s;
}

/* A field or a list of fields (group_by, an incident's fields), at most max. */
static void parse_field_list(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n,
                             const char *owner, const char *what, int max, uint16_t *out, int *nout)
{
    int cnt = cr_yaml_is_seq(n) ? cr_yaml_seq_len(n) : 1;
    *nout = 0;
    if (cnt > max) {
        cr_load_error(L, y->file, cr_yaml_line(n), "%s: %s has %d fields (at most %d)", owner, what,
                      cnt, max);
        return;
    }
    char item_what[64];
    snprintf(item_what, sizeof item_what, "a %s field", what);
    for (int i = 0; i < cnt; i++) {
        yaml_node_t *item = cr_yaml_is_seq(n) ? cr_yaml_seq_at(y, n, i) : n;
        const char *s = want_str(L, y, item, owner, item_what);
        if (!s)
            continue;
        int f = cr_load_field(L, s, y->file, cr_yaml_line(item));
        if (f >= 0)
            out[(*nout)++] = (uint16_t)f;
    }
}

static void parse_group_by(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n, const char *owner,
                           uint16_t *out, int *nout)
{
    parse_field_list(L, y, n, owner, "group_by", CR_MAX_GROUP_BY, out, nout);
}

/* `max_keys: N`: the most keys whose state the rule or correlation keeps. */
static void parse_max_keys(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n, const char *owner,
                           struct cr_incident_spec *inc)
{
    yaml_node_t *v = cr_yaml_get(y, n, "max_keys");
    int64_t num;
    if (!v)
        return;
    char what[220];
    snprintf(what, sizeof what, "%s: max_keys", owner);
    if (cr_yaml_int(y, v, what, 1, INT64_MAX, &num, L->err, L->errlen) != 0)
        L->nerr++;
    else
        inc->max_keys = (uint64_t)num;
}

/* `impact:` (base/impact.h): what the incident does, over the category's
 * defaults. */
static void parse_impact(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n, const char *owner,
                         struct cr_incident_spec *inc)
{
    static const char *const keys[] = {"outage",      "data",    "defacement",    "compromised",
                                       "ransomware",  "lateral", "control_plane", "mains_lost",
                                       "on_battery",  "fire",    "records",       "runtime",
                                       "temperature", NULL};
    static const struct {
        const char *key;
        size_t off;
    } flags[] = {
        {"compromised", offsetof(struct cr_impact, compromised)},
        {"ransomware", offsetof(struct cr_impact, ransomware)},
        {"lateral", offsetof(struct cr_impact, lateral)},
        {"control_plane", offsetof(struct cr_impact, control_plane)},
        {"mains_lost", offsetof(struct cr_impact, mains_lost)},
        {"on_battery", offsetof(struct cr_impact, on_battery)},
        {"fire", offsetof(struct cr_impact, fire)},
    };
    static const char *const measures[] = {"records", "runtime", "temperature"};
    char where[200];
    if (!cr_yaml_is_map(n)) {
        cr_load_error(L, y->file, cr_yaml_line(n), "%s: incident: impact must be a mapping", owner);
        return;
    }
    snprintf(where, sizeof where, "the impact of %s", owner);
    L->nerr += cr_yaml_check_keys(y, n, keys, where, L->err, L->errlen);
    struct cr_impact *im = &inc->impact;
    yaml_node_t *v;
    if ((v = cr_yaml_get(y, n, "outage"))) {
        int o = cr_outage_parse(cr_yaml_str(v));
        if (o < 0)
            cr_load_error(L, y->file, cr_yaml_line(v),
                          "%s: impact: outage '%s' is not one of none, degraded, main, full", owner,
                          cr_yaml_str(v) ? cr_yaml_str(v) : "");
        else
            im->outage = (uint8_t)o;
    }
    if ((v = cr_yaml_get(y, n, "data"))) {
        int d = cr_data_impact_parse(cr_yaml_str(v));
        if (d < 0)
            cr_load_error(L, y->file, cr_yaml_line(v),
                          "%s: impact: data '%s' is not one of none, important, key_leaked, "
                          "key_tampered, key_destroyed",
                          owner, cr_yaml_str(v) ? cr_yaml_str(v) : "");
        else
            im->data = (uint8_t)d;
    }
    if ((v = cr_yaml_get(y, n, "defacement"))) {
        int d = cr_deface_parse(cr_yaml_str(v));
        if (d < 0)
            cr_load_error(L, y->file, cr_yaml_line(v),
                          "%s: impact: defacement '%s' is not one of none, other, home", owner,
                          cr_yaml_str(v) ? cr_yaml_str(v) : "");
        else
            im->deface = (uint8_t)d;
    }
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        if (!(v = cr_yaml_get(y, n, flags[i].key)))
            continue;
        int b;
        char what[240];
        snprintf(what, sizeof what, "%s: impact: %s", owner, flags[i].key);
        if (cr_yaml_bool(y, v, what, &b, L->err, L->errlen) != 0)
            L->nerr++;
        else
            *((uint8_t *)im + flags[i].off) = (uint8_t)b;
    }
    for (int m = 0; m < 3; m++) {
        if (!(v = cr_yaml_get(y, n, measures[m])))
            continue;
        const char *f = cr_yaml_str(v);
        if (im->measure) {
            cr_load_error(L, y->file, cr_yaml_line(v),
                          "%s: impact: one measure per incident (%s and %s)", owner,
                          cr_measure_name(im->measure), measures[m]);
            continue;
        }
        if (!f || !*f || strlen(f) >= sizeof im->measure_field) {
            cr_load_error(L, y->file, cr_yaml_line(v),
                          "%s: impact: %s names the field holding the number", owner, measures[m]);
            continue;
        }
        int fid = cr_load_field(L, f, y->file, cr_yaml_line(v));
        if (fid < 0)
            continue;
        im->measure = (uint8_t)cr_measure_parse(measures[m]);
        snprintf(im->measure_field, sizeof im->measure_field, "%s", f);
        inc->measure_field = fid + 1;
    }
}

/* `attack: [T1110, T1078.003]`: MITRE ATT&CK technique ids, kept as the
 * JSON its incidents carry ({"attack":[...]}, as a Sigma rule's tags). */
static void parse_attack(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n, const char *owner,
                         struct cr_incident_spec *inc)
{
    if (!cr_yaml_is_seq(n)) {
        cr_load_error(L, y->file, cr_yaml_line(n),
                      "%s: incident: attack must be a list of ATT&CK technique ids", owner);
        return;
    }
    char buf[1024] = "{\"attack\":[";
    int bad = 0;
    for (int i = 0; i < cr_yaml_seq_len(n); i++) {
        yaml_node_t *it = cr_yaml_seq_at(y, n, i);
        const char *t = cr_yaml_str(it);
        size_t len = t ? strlen(t) : 0;
        /* T + 4 digits, optionally . + 3 digits */
        int ok = t && (len == 5 || len == 9) && t[0] == 'T';
        for (size_t k = 1; ok && k < len; k++)
            ok = k == 5 ? t[k] == '.' : t[k] >= '0' && t[k] <= '9';
        if (!ok) {
            cr_load_error(L, y->file, cr_yaml_line(it),
                          "%s: incident: attack: '%s' is not an ATT&CK technique id (T1110, "
                          "T1078.003)",
                          owner, t ? t : "");
            bad++;
            continue;
        }
        if (strlen(buf) + len + 4 < sizeof buf)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s\"%s\"",
                     buf[strlen(buf) - 1] == '[' ? "" : ",", t);
    }
    if (!bad) {
        strcat(buf, "]}");
        free(inc->annotation);
        inc->annotation = xstrdup(buf);
    }
}

static void parse_incident(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n, const char *owner,
                           struct cr_incident_spec *inc, const char *default_title,
                           int64_t default_open_for)
{
    static const char *const keys[] = {"category", "reg_category", "priority", "reg_level", "title",
                                       "open_for", "impact",       "fields",   "attack",    NULL};
    char where[160];
    memset(inc, 0, sizeof *inc);
    snprintf(inc->priority, sizeof inc->priority, "P3");
    inc->open_for_ms = default_open_for;
    if (!cr_yaml_is_map(n)) {
        cr_load_error(L, y->file, cr_yaml_line(n), "%s: incident must be a mapping", owner);
        inc->title = xstrdup(default_title);
        return;
    }
    snprintf(where, sizeof where, "the incident of %s", owner);
    L->nerr += cr_yaml_check_keys(y, n, keys, where, L->err, L->errlen);

    yaml_node_t *v = cr_yaml_get(y, n, "category");
    const char *cat = cr_yaml_str(v);
    const char *reg = cat ? cr_category_reg_default(cat) : NULL;
    if (!v) {
        cr_load_error(L, y->file, cr_yaml_line(n), "%s: incident: missing 'category'", owner);
    } else if (!reg) {
        cr_load_error(
            L, y->file, cr_yaml_line(v),
            "%s: incident: unknown category '%s' (see DOMAIN.md (a): S-... and F-... ids)", owner,
            cat ? cat : "");
    } else {
        snprintf(inc->category, sizeof inc->category, "%s", cat);
        snprintf(inc->reg_category, sizeof inc->reg_category, "%s", reg);
    }
    cr_impact_defaults(&inc->impact, inc->category[0] ? inc->category : NULL);
    if ((v = cr_yaml_get(y, n, "impact")))
        parse_impact(L, y, v, owner, inc);
    if ((v = cr_yaml_get(y, n, "attack")))
        parse_attack(L, y, v, owner, inc);
    if ((v = cr_yaml_get(y, n, "fields")))
        parse_field_list(L, y, v, owner, "incident fields", CR_INC_FIELDS, inc->fields,
                         &inc->nfields);

    if ((v = cr_yaml_get(y, n, "reg_category"))) {
        const char *s = want_str(L, y, v, owner, "incident reg_category");
        if (s && strlen(s) >= sizeof inc->reg_category)
            cr_load_error(L, y->file, cr_yaml_line(v),
                          "%s: incident: reg_category '%s' is too long", owner, s);
        else if (s)
            snprintf(inc->reg_category, sizeof inc->reg_category, "%s", s);
    }
    if ((v = cr_yaml_get(y, n, "priority"))) {
        const char *s = cr_yaml_str(v);
        if (s && s[0] == 'P' && s[1] >= '1' && s[1] <= '4' && !s[2])
            snprintf(inc->priority, sizeof inc->priority, "%s", s);
        else
            cr_load_error(L, y->file, cr_yaml_line(v),
                          "%s: incident: priority '%s' is not one of P1, P2, P3, P4", owner,
                          s ? s : "");
    }
    if ((v = cr_yaml_get(y, n, "reg_level")) && !cr_yaml_is_null(v)) {
        static const char *const levels[] = {"I", "II", "III", "IV"};
        const char *s = cr_yaml_str(v);
        inc->reg_level = -1;
        for (int i = 0; i < 4 && s; i++)
            if (strcmp(s, levels[i]) == 0)
                inc->reg_level = i + 1;
        if (inc->reg_level < 0) {
            inc->reg_level = 0;
            cr_load_error(L, y->file, cr_yaml_line(v),
                          "%s: incident: reg_level '%s' is not one of I, II, III, IV or null",
                          owner, s ? s : "");
        }
    }
    const char *title = default_title;
    if ((v = cr_yaml_get(y, n, "title")))
        title = want_str(L, y, v, owner, "incident title");
    inc->title = xstrdup(title ? title : default_title);
    if ((v = cr_yaml_get(y, n, "open_for"))) {
        int64_t ms;
        char what[200];
        snprintf(what, sizeof what, "%s: incident open_for", owner);
        if (cr_yaml_duration_ms(y, v, what, &ms, L->err, L->errlen) != 0)
            L->nerr++;
        else if (ms <= 0)
            cr_load_error(L, y->file, cr_yaml_line(v), "%s: open_for must be > 0", what);
        else
            inc->open_for_ms = ms;
    }
}

/* ---- match rules ---- */

struct capture_ctx {
    struct cr_load *L;
    struct cr_yaml *y;
    struct cr_pattern *p;
    struct cr_rule *r;
    const char *owner;
};

static void on_capture(void *vctx, const char *name, int group)
{
    struct capture_ctx *cx = vctx;
    int f = cr_load_field(cx->L, name, cx->y->file, cx->p->line);
    if (f < 0)
        return;
    if (cx->p->ncapture >= 16) {
        cr_load_error(cx->L, cx->y->file, cx->p->line,
                      "%s: regex '%s': more than 16 named captures", cx->owner, cx->p->regex);
        return;
    }
    cx->p->capture_group[cx->p->ncapture] = (uint16_t)group;
    cx->p->capture_field[cx->p->ncapture] = (uint16_t)f;
    cx->p->ncapture++;
    cx->r->capture_fields[f >> 6] |= (uint64_t)1 << (f & 63);
    cx->L->capture_names[f >> 6] |= (uint64_t)1 << (f & 63);
}

int cr_load_new_pattern(struct cr_load *L, uint32_t rule, int field, const char *regex,
                        unsigned hs_flags, int caseless, int need_pcre, int line, char *msg,
                        size_t msglen)
{
    struct cr_ruleset *rs = L->rs;
    void *code = NULL;
    int jit = 0;
    size_t off = 0;
    if (need_pcre && cr_pcre_compile(regex, caseless, &code, &jit, msg, msglen, &off) != 0) {
        size_t n = strlen(msg);
        snprintf(msg + n, msglen - n, " at offset %zu", off);
        return -1;
    }
    if (rs->npatterns == L->cap_patterns) {
        L->cap_patterns = L->cap_patterns ? 2 * L->cap_patterns : 64;
        rs->patterns = xrealloc(rs->patterns, (size_t)L->cap_patterns * sizeof *rs->patterns);
    }
    struct cr_pattern *p = &rs->patterns[rs->npatterns];
    memset(p, 0, sizeof *p);
    p->rule = rule;
    p->field = (uint16_t)field;
    p->regex = xstrdup(regex);
    p->hs_flags = CR_HS_BASE_FLAGS | hs_flags | (caseless ? HS_FLAG_CASELESS : 0);
    p->pcre = code;
    p->jit = jit;
    p->line = line;
    p->kind = CR_PAT_EXACT;
    return rs->npatterns++;
}

static void add_pattern(struct cr_load *L, struct cr_yaml *y, struct cr_rule *r,
                        uint32_t rule_index, const char *owner, int field, yaml_node_t *re_node,
                        int negated, int caseless, uint32_t **idx, int *nidx)
{
    const char *re = want_str(L, y, re_node, owner, negated ? "not_match regex" : "match regex");
    if (!re || field < 0)
        return;
    struct cr_ruleset *rs = L->rs;
    char msg[256];
    int pi = cr_load_new_pattern(L, rule_index, field, re, 0, caseless, 1, cr_yaml_line(re_node),
                                 msg, sizeof msg);
    if (pi < 0) {
        cr_load_error(L, y->file, cr_yaml_line(re_node), "%s: regex '%s': %s", owner, re, msg);
        return;
    }
    struct cr_pattern *p = &rs->patterns[pi];
    p->negated = (uint8_t)negated;
    /* Captures of a not_match pattern would describe an event that is then
     * rejected: they are not registered. */
    int top = 0;
    if (!negated) {
        struct capture_ctx cx = {L, y, p, r, owner};
        top = cr_pcre_names(p->pcre, on_capture, &cx);
    }
    if ((size_t)top + 1 > rs->max_captures)
        rs->max_captures = (size_t)top + 1;
    p->kind = p->ncapture ? CR_PAT_CAPTURE : CR_PAT_EXACT;
    *idx = xrealloc(*idx, (size_t)(*nidx + 1) * sizeof **idx);
    (*idx)[(*nidx)++] = (uint32_t)pi;
    if (p->ncapture)
        r->has_captures = 1;
}

/* `match:` / `not_match:` value: a string (field msg) or a map field -> regex. */
static void parse_match(struct cr_load *L, struct cr_yaml *y, struct cr_rule *r, uint32_t ri,
                        const char *owner, yaml_node_t *n, int negated, int caseless,
                        const uint8_t *ops, int nops, uint32_t **idx, int *nidx)
{
    if (cr_yaml_is_map(n)) {
        int cnt = cr_yaml_map_len(n);
        for (int i = 0; i < cnt; i++) {
            yaml_node_t *kn;
            const char *fname = cr_yaml_map_key(y, n, i, &kn);
            if (!fname || !*fname) {
                cr_load_error(L, y->file, cr_yaml_line(kn), "%s: field names must be strings",
                              owner);
                continue;
            }
            int f = cr_load_field(L, fname, y->file, cr_yaml_line(kn));
            f = cr_load_derived(L, f, ops, nops, y->file, cr_yaml_line(kn));
            add_pattern(L, y, r, ri, owner, f, cr_yaml_map_value(y, n, i), negated, caseless, idx,
                        nidx);
        }
    } else {
        int f = cr_load_derived(L, CR_F_MSG, ops, nops, y->file, cr_yaml_line(n));
        add_pattern(L, y, r, ri, owner, f, n, negated, caseless, idx, nidx);
    }
}

static void parse_where(struct cr_load *L, struct cr_yaml *y, struct cr_rule *r, const char *owner,
                        yaml_node_t *n, int negate)
{
    if (!cr_yaml_is_map(n)) {
        cr_load_error(L, y->file, cr_yaml_line(n), "%s: %s must be a mapping field: value", owner,
                      negate ? "not" : "where");
        return;
    }
    int cnt = cr_yaml_map_len(n);
    r->where = xrealloc(r->where, (size_t)(r->nwhere + cnt) * sizeof *r->where);
    for (int i = 0; i < cnt; i++) {
        yaml_node_t *kn, *vn = cr_yaml_map_value(y, n, i);
        const char *fname = cr_yaml_map_key(y, n, i, &kn);
        int f = fname && *fname ? cr_load_field(L, fname, y->file, cr_yaml_line(kn)) : -1;
        if (f < 0) {
            if (!fname || !*fname)
                cr_load_error(L, y->file, cr_yaml_line(kn), "%s: field names must be strings",
                              owner);
            continue;
        }
        int nv = cr_yaml_is_seq(vn) ? cr_yaml_seq_len(vn) : 1;
        struct cr_where *w = &r->where[r->nwhere];
        memset(w, 0, sizeof *w);
        w->field = (uint16_t)f;
        w->negate = (uint8_t)negate;
        w->vals = calloc((size_t)nv + 1, sizeof *w->vals);
        w->lens = calloc((size_t)nv + 1, sizeof *w->lens);
        if (!w->vals || !w->lens)
            abort();
        for (int j = 0; j < nv; j++) {
            yaml_node_t *item = cr_yaml_is_seq(vn) ? cr_yaml_seq_at(y, vn, j) : vn;
            const char *s = cr_yaml_str(item);
            if (!s) {
                cr_load_error(L, y->file, cr_yaml_line(item),
                              "%s: %s '%s': values must be strings or a list of strings", owner,
                              negate ? "not" : "where", fname);
                continue;
            }
            w->vals[w->nvals] = xstrdup(s);
            w->lens[w->nvals] = (uint32_t)strlen(s);
            w->nvals++;
        }
        r->nwhere++;
    }
}

static void check_tags(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n, const char *owner)
{
    yaml_node_t *v = cr_yaml_get(y, n, "tags");
    if (v && !cr_yaml_is_seq(v) && !cr_yaml_str(v))
        cr_load_error(L, y->file, cr_yaml_line(v), "%s: tags must be a list of strings", owner);
    v = cr_yaml_get(y, n, "description");
    if (v && !cr_yaml_str(v))
        cr_load_error(L, y->file, cr_yaml_line(v), "%s: description must be a string", owner);
}

struct cr_rule *cr_load_new_rule(struct cr_load *L, uint32_t *index)
{
    struct cr_ruleset *rs = L->rs;
    if (rs->nrules == L->cap_rules) {
        L->cap_rules = L->cap_rules ? 2 * L->cap_rules : 32;
        rs->rules = xrealloc(rs->rules, (size_t)L->cap_rules * sizeof *rs->rules);
        L->rule_group_by_line = xrealloc(L->rule_group_by_line, (size_t)L->cap_rules * sizeof(int));
    }
    *index = (uint32_t)rs->nrules++;
    struct cr_rule *r = &rs->rules[*index];
    memset(r, 0, sizeof *r);
    L->rule_group_by_line[*index] = 0;
    return r;
}

struct cr_correlation *cr_load_new_corr(struct cr_load *L, int *index)
{
    struct cr_ruleset *rs = L->rs;
    if (rs->ncorrs == L->cap_corrs) {
        L->cap_corrs = L->cap_corrs ? 2 * L->cap_corrs : 16;
        rs->corrs = xrealloc(rs->corrs, (size_t)L->cap_corrs * sizeof *rs->corrs);
        L->refs = xrealloc(L->refs, (size_t)L->cap_corrs * sizeof *L->refs);
        L->group_by_line = xrealloc(L->group_by_line, (size_t)L->cap_corrs * sizeof(int));
    }
    *index = rs->ncorrs++;
    struct cr_correlation *c = &rs->corrs[*index];
    memset(c, 0, sizeof *c);
    memset(L->refs[*index], 0, sizeof L->refs[*index]);
    L->group_by_line[*index] = 0;
    c->value_field = -1;
    c->num_lo = -INFINITY;
    c->num_hi = INFINITY;
    return c;
}

int cr_load_num_bound(struct cr_correlation *c, const char *op, const char *val, char *why,
                      size_t wl)
{
    char *end = NULL;
    double x = val && *val ? strtod(val, &end) : NAN;
    if (!val || !*val || *end || !isfinite(x) || strpbrk(val, "xXnNiI")) {
        snprintf(why, wl, "condition %s: '%s' is not a number", op, val ? val : "");
        return -1;
    }
    if (strcmp(op, "gte") == 0 || strcmp(op, "gt") == 0) {
        c->num_lo = x;
        c->num_lo_strict = op[2] == 0;
    } else if (strcmp(op, "lte") == 0 || strcmp(op, "lt") == 0) {
        c->num_hi = x;
        c->num_hi_strict = op[2] == 0;
    } else if (strcmp(op, "eq") == 0) {
        c->num_lo = c->num_hi = x;
        c->num_lo_strict = c->num_hi_strict = 0;
    } else {
        snprintf(why, wl, "condition: '%s' is not supported (gt, gte, lt, lte, eq)", op);
        return -1;
    }
    return 0;
}

int cr_load_num_check(const struct cr_correlation *c, int neq, char *why, size_t wl)
{
    const char *t = cr_corr_type_name(c->type);
    int lo = c->num_lo != -INFINITY, hi = c->num_hi != INFINITY;
    if (!lo && !hi)
        snprintf(why, wl, "%s needs a condition bound (gt, gte, lt, lte, eq, or a range)", t);
    else if (neq > 1)
        snprintf(why, wl, "condition: eq cannot be combined with other bounds");
    else if (c->num_lo > c->num_hi ||
             (c->num_lo == c->num_hi && (c->num_lo_strict || c->num_hi_strict)))
        snprintf(why, wl, "condition: no value satisfies it");
    else if (c->type == CR_CORR_VALUE_SUM && !lo)
        snprintf(why, wl,
                 "value_sum needs a lower bound (gt or gte): a sum under a bound alone holds "
                 "after every key's first event");
    else
        return 0;
    return -1;
}

int cr_load_rule_index(struct cr_load *L, const char *id)
{
    for (int i = 0; i < L->rs->nrules; i++)
        if (strcmp(L->rs->rules[i].id, id) == 0)
            return i;
    return -1;
}

static void parse_rule(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n)
{
    static const char *const keys[] = {
        "id",       "title",    "where",       "not",  "match",    "not_match",  "caseless",
        "group_by", "incident", "description", "tags", "max_keys", "transforms", NULL};
    struct cr_ruleset *rs = L->rs;
    if (!cr_yaml_is_map(n)) {
        cr_load_error(L, y->file, cr_yaml_line(n), "a rule must be a mapping");
        return;
    }
    yaml_node_t *idn = cr_yaml_get(y, n, "id");
    const char *id = cr_yaml_str(idn);
    if (!idn || !id || !*id) {
        cr_load_error(L, y->file, cr_yaml_line(idn ? idn : n), "rule without 'id'");
        return;
    }
    char owner[200];
    snprintf(owner, sizeof owner, "rule '%s'", id);
    L->nerr += cr_yaml_check_keys(y, n, keys, owner, L->err, L->errlen);
    check_tags(L, y, n, owner);

    uint32_t ri;
    struct cr_rule *r = cr_load_new_rule(L, &ri);
    r->id = xstrdup(id);
    r->file = xstrdup(y->file);
    r->line = cr_yaml_line(n);
    yaml_node_t *v = cr_yaml_get(y, n, "title");
    const char *title = v ? want_str(L, y, v, owner, "title") : NULL;
    r->title = xstrdup(title ? title : id);

    int caseless = 0;
    if ((v = cr_yaml_get(y, n, "caseless")) &&
        cr_yaml_bool(y, v, "caseless", &caseless, L->err, L->errlen) != 0)
        L->nerr++;
    if ((v = cr_yaml_get(y, n, "where")))
        parse_where(L, y, r, owner, v, 0);
    if ((v = cr_yaml_get(y, n, "not")))
        parse_where(L, y, r, owner, v, 1);

    uint32_t *pos = NULL, *neg = NULL;
    int npos = 0, nneg = 0;
    uint8_t ops[CR_MAX_XFORMS];
    int nops = 0;
    if ((v = cr_yaml_get(y, n, "transforms"))) {
        nops = parse_transforms(L, y, v, owner, ops);
        if (!cr_yaml_get(y, n, "match") && !cr_yaml_get(y, n, "not_match"))
            cr_load_error(L, y->file, cr_yaml_line(v),
                          "%s: transforms apply to match / not_match, and the rule has neither",
                          owner);
    }
    if ((v = cr_yaml_get(y, n, "match")))
        parse_match(L, y, r, ri, owner, v, 0, caseless, ops, nops, &pos, &npos);
    if ((v = cr_yaml_get(y, n, "not_match")))
        parse_match(L, y, r, ri, owner, v, 1, caseless, ops, nops, &neg, &nneg);
    r = &rs->rules[ri];
    r->patterns = xrealloc(NULL, (size_t)(npos + nneg) * sizeof *r->patterns);
    if (npos)
        memcpy(r->patterns, pos, (size_t)npos * sizeof *pos);
    if (nneg)
        memcpy(r->patterns + npos, neg, (size_t)nneg * sizeof *neg);
    r->npatterns = npos;
    r->nnegated = nneg;
    free(pos);
    free(neg);

    L->rule_group_by_line[ri] = r->line;
    if ((v = cr_yaml_get(y, n, "group_by"))) {
        L->rule_group_by_line[ri] = cr_yaml_line(v);
        parse_group_by(L, y, v, owner, r->group_by, &r->ngroup_by);
    }
    if ((v = cr_yaml_get(y, n, "incident"))) {
        r->incident = calloc(1, sizeof *r->incident);
        if (!r->incident)
            abort();
        parse_incident(L, y, v, owner, r->incident, r->title, 3600 * 1000LL);
        if (r->ngroup_by == 0 && !cr_yaml_get(y, n, "group_by"))
            cr_load_error(L, y->file, cr_yaml_line(v),
                          "%s: an incident rule needs group_by (the entity fields)", owner);
        parse_max_keys(L, y, n, owner, r->incident);
    } else if ((v = cr_yaml_get(y, n, "max_keys"))) {
        cr_load_error(L, y->file, cr_yaml_line(v),
                      "%s: max_keys applies to rules that keep state (an incident rule or a "
                      "correlation)",
                      owner);
    }
}

/* ---- correlations ---- */

/* event_count / value_count `condition:`, in Sigma's correlation vocabulary:
 * gt, gte, lt, lte, eq, or a range of one lower and one upper bound. A
 * lower bound alone keeps the sliding window; an upper bound needs a whole
 * window to be seen, so it makes the correlation `windowed`. */
static void parse_condition(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n, yaml_node_t *v,
                            const char *owner, struct cr_correlation *c)
{
    static const char *const ckeys[] = {"gte", "gt", "lte", "lt", "eq", NULL};
    const char *opname = c->type == CR_CORR_VALUE_COUNT ? "value_count" : "event_count";
    c->gte = 1;
    c->lte = UINT32_MAX;
    if (!cr_yaml_is_map(v) || cr_yaml_map_len(v) == 0) {
        cr_load_error(L, y->file, cr_yaml_line(v ? v : n),
                      "%s: %s needs condition: {gte: N} (or gt, lt, lte, eq, or a range such "
                      "as {gte: 3, lte: 10})",
                      owner, opname);
        return;
    }
    char what[220];
    snprintf(what, sizeof what, "the condition of %s", owner);
    int bad = cr_yaml_check_keys(y, v, ckeys, what, L->err, L->errlen);
    L->nerr += bad;
    if (bad)
        return;
    yaml_node_t *gte = cr_yaml_get(y, v, "gte"), *gt = cr_yaml_get(y, v, "gt");
    yaml_node_t *lte = cr_yaml_get(y, v, "lte"), *lt = cr_yaml_get(y, v, "lt");
    yaml_node_t *eq = cr_yaml_get(y, v, "eq");
    int line = cr_yaml_line(v);
    if (eq && (gte || gt || lte || lt)) {
        cr_load_error(L, y->file, line, "%s: condition: eq cannot be combined with other bounds",
                      owner);
        return;
    }
    if ((gte && gt) || (lte && lt)) {
        cr_load_error(L, y->file, line,
                      "%s: condition: give one lower bound (gte or gt) and at most one upper "
                      "bound (lte or lt)",
                      owner);
        return;
    }
    if (c->type == CR_CORR_VALUE_COUNT && (eq || lte || lt)) {
        cr_load_error(L, y->file, line, "%s: value_count takes a lower bound only (gte or gt)",
                      owner);
        return;
    }
    int64_t num;
    uint32_t lo = 1, hi = UINT32_MAX;
    int ok = 1;
    struct {
        yaml_node_t *node;
        const char *name;
        int64_t min;
    } b[] = {{gte, "gte", 1}, {gt, "gt", 0}, {lte, "lte", 1}, {lt, "lt", 2}, {eq, "eq", 1}};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        if (!b[i].node)
            continue;
        snprintf(what, sizeof what, "%s: condition %s", owner, b[i].name);
        if (cr_yaml_int(y, b[i].node, what, b[i].min, UINT32_MAX - 1, &num, L->err, L->errlen) !=
            0) {
            L->nerr++;
            ok = 0;
            continue;
        }
        if (b[i].node == gte)
            lo = (uint32_t)num;
        else if (b[i].node == gt)
            lo = (uint32_t)num + 1;
        else if (b[i].node == lte)
            hi = (uint32_t)num;
        else if (b[i].node == lt)
            hi = (uint32_t)num - 1;
        else
            lo = hi = (uint32_t)num;
    }
    if (!ok)
        return;
    if (lo > hi) {
        cr_load_error(L, y->file, line,
                      "%s: condition: no count satisfies it (at least %u and at most %u)", owner,
                      lo, hi);
        return;
    }
    if (hi != UINT32_MAX && hi > 100000) {
        cr_load_error(L, y->file, line,
                      "%s: condition: an upper bound above 100000 is not supported (%u)", owner,
                      hi);
        return;
    }
    c->gte = lo;
    c->lte = hi;
    c->windowed = hi != UINT32_MAX;
}

/* value_sum / value_avg: bounds on the aggregate, numbers (fractions too). */
static void parse_num_condition(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n,
                                yaml_node_t *v, const char *owner, struct cr_correlation *c)
{
    static const char *const ckeys[] = {"gte", "gt", "lte", "lt", "eq", NULL};
    char what[220], why[200];
    if (!cr_yaml_is_map(v) || cr_yaml_map_len(v) == 0) {
        cr_load_error(L, y->file, cr_yaml_line(v ? v : n),
                      "%s: %s needs condition: {gt: X} (or gte, lt, lte, eq, or a range such "
                      "as {gte: 100, lte: 5000})",
                      owner, cr_corr_type_name(c->type));
        return;
    }
    snprintf(what, sizeof what, "the condition of %s", owner);
    int bad = cr_yaml_check_keys(y, v, ckeys, what, L->err, L->errlen);
    L->nerr += bad;
    if (bad)
        return;
    if ((cr_yaml_get(y, v, "gte") && cr_yaml_get(y, v, "gt")) ||
        (cr_yaml_get(y, v, "lte") && cr_yaml_get(y, v, "lt"))) {
        cr_load_error(L, y->file, cr_yaml_line(v),
                      "%s: condition: give at most one lower bound (gte or gt) and one upper "
                      "bound (lte or lt)",
                      owner);
        return;
    }
    int neq = cr_yaml_get(y, v, "eq") ? cr_yaml_map_len(v) : 0;
    for (int i = 0; i < cr_yaml_map_len(v); i++) {
        yaml_node_t *kn, *vn = cr_yaml_map_value(y, v, i);
        const char *k = cr_yaml_map_key(y, v, i, &kn);
        if (cr_load_num_bound(c, k ? k : "?", cr_yaml_str(vn), why, sizeof why) != 0) {
            cr_load_error(L, y->file, cr_yaml_line(vn), "%s: %s", owner, why);
            return;
        }
    }
    if (cr_load_num_check(c, neq, why, sizeof why) != 0)
        cr_load_error(L, y->file, cr_yaml_line(v), "%s: %s", owner, why);
}

/* temporal: {gte: N} (or {gt: N - 1}): N of its distinct steps within the
 * window, 1 <= N <= the steps; without a condition, every step. */
static void parse_temporal_condition(struct cr_load *L, struct cr_yaml *y, yaml_node_t *v,
                                     const char *owner, struct cr_correlation *c)
{
    static const char *const ckeys[] = {"gte", "gt", NULL};
    char what[220];
    snprintf(what, sizeof what, "the condition of %s", owner);
    if (!cr_yaml_is_map(v) || cr_yaml_map_len(v) != 1) {
        cr_load_error(L, y->file, cr_yaml_line(v),
                      "%s: temporal takes condition: {gte: N} (N of its steps, in any order)",
                      owner);
        return;
    }
    int bad = cr_yaml_check_keys(y, v, ckeys, what, L->err, L->errlen);
    L->nerr += bad;
    if (bad)
        return;
    yaml_node_t *gt = cr_yaml_get(y, v, "gt"), *b = gt ? gt : cr_yaml_get(y, v, "gte");
    int64_t num;
    snprintf(what, sizeof what, "%s: condition %s", owner, gt ? "gt" : "gte");
    int64_t max = c->nsteps > 0 ? c->nsteps : CR_MAX_STEPS;
    if (cr_yaml_int(y, b, what, gt ? 0 : 1, gt ? max - 1 : max, &num, L->err, L->errlen) != 0) {
        L->nerr++;
        return;
    }
    c->gte = (uint32_t)(gt ? num + 1 : num);
}

/* new_value: `history` (required), `learn` (default 1d), `max_values`
 * (default 32); none of them on another type. */
static void parse_new_value(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n, const char *owner,
                            struct cr_correlation *c)
{
    static const char *const names[] = {"history", "learn", "max_values"};
    char what[220];
    if (c->type != CR_CORR_NEW_VALUE) {
        for (int i = 0; i < 3; i++) {
            yaml_node_t *v = cr_yaml_get(y, n, names[i]);
            if (v)
                cr_load_error(L, y->file, cr_yaml_line(v), "%s: '%s' applies to new_value only",
                              owner, names[i]);
        }
        return;
    }
    c->learn_ms = 86400000LL;
    c->max_values = 32;
    yaml_node_t *v = cr_yaml_get(y, n, "history");
    if (!v) {
        cr_load_error(L, y->file, c->line,
                      "%s: new_value needs 'history' (how long a seen value stays known)", owner);
    } else {
        snprintf(what, sizeof what, "%s: history", owner);
        if (cr_yaml_duration_ms(y, v, what, &c->timespan_ms, L->err, L->errlen) != 0)
            L->nerr++;
        else if (c->timespan_ms <= 0)
            cr_load_error(L, y->file, cr_yaml_line(v), "%s: must be > 0", what);
    }
    if ((v = cr_yaml_get(y, n, "learn"))) {
        snprintf(what, sizeof what, "%s: learn", owner);
        if (cr_yaml_duration_ms(y, v, what, &c->learn_ms, L->err, L->errlen) != 0)
            L->nerr++;
        else if (c->learn_ms < 0)
            cr_load_error(L, y->file, cr_yaml_line(v), "%s: must be >= 0", what);
    }
    if ((v = cr_yaml_get(y, n, "max_values"))) {
        int64_t num;
        snprintf(what, sizeof what, "%s: max_values", owner);
        if (cr_yaml_int(y, v, what, 1, 1024, &num, L->err, L->errlen) != 0)
            L->nerr++;
        else
            c->max_values = (uint32_t)num;
    }
}

/* `steps:` of a temporal_ordered: a list of {rule: id, join: {this: prev}}.
 * Every step after the first joins on one field of the previous step. */
static void parse_steps(struct cr_load *L, struct cr_yaml *y, yaml_node_t *v, const char *owner,
                        int ci)
{
    static const char *const skeys[] = {"rule", "join", NULL};
    struct cr_correlation *c = &L->rs->corrs[ci];
    if (c->type != CR_CORR_TEMPORAL_ORDERED) {
        cr_load_error(L, y->file, cr_yaml_line(v),
                      "%s: 'steps' applies to temporal_ordered only (other types list 'rules')",
                      owner);
        return;
    }
    int cnt = cr_yaml_is_seq(v) ? cr_yaml_seq_len(v) : 0;
    if (cnt < 2 || cnt > CR_MAX_GROUP_BY + 1) {
        cr_load_error(L, y->file, cr_yaml_line(v),
                      "%s: steps must be a list of 2 to %d steps ({rule: id, join: {field: "
                      "previous step's field}})",
                      owner, CR_MAX_GROUP_BY + 1);
        return;
    }
    int ok = 1;
    for (int i = 0; i < cnt; i++) {
        yaml_node_t *st = cr_yaml_seq_at(y, v, i);
        int line = cr_yaml_line(st);
        L->refs[ci][i].line = line;
        if (!cr_yaml_is_map(st)) {
            cr_load_error(L, y->file, line, "%s: step %d must be a mapping {rule: id, join: ...}",
                          owner, i + 1);
            ok = 0;
            continue;
        }
        char what[220];
        snprintf(what, sizeof what, "step %d of %s", i + 1, owner);
        int bad = cr_yaml_check_keys(y, st, skeys, what, L->err, L->errlen);
        L->nerr += bad;
        ok &= !bad;
        yaml_node_t *r = cr_yaml_get(y, st, "rule");
        const char *name = r ? want_str(L, y, r, owner, "a step's rule") : NULL;
        if (!r)
            cr_load_error(L, y->file, line, "%s: step %d: missing 'rule'", owner, i + 1);
        L->refs[ci][i].name = name;
        ok &= name != NULL;
        yaml_node_t *j = cr_yaml_get(y, st, "join");
        if (i == 0) {
            if (j) {
                cr_load_error(L, y->file, cr_yaml_line(j),
                              "%s: the first step has no previous step to join", owner);
                ok = 0;
            }
            continue;
        }
        if (!j) {
            cr_load_error(L, y->file, line,
                          "%s: step %d: missing 'join' (every step after the first joins on a "
                          "field of the previous step: join: {this step's field: previous "
                          "step's field})",
                          owner, i + 1);
            ok = 0;
            continue;
        }
        yaml_node_t *kn;
        const char *mine =
            cr_yaml_is_map(j) && cr_yaml_map_len(j) == 1 ? cr_yaml_map_key(y, j, 0, &kn) : NULL;
        const char *prev = mine ? cr_yaml_str(cr_yaml_map_value(y, j, 0)) : NULL;
        if (!mine || !*mine || !prev || !*prev) {
            cr_load_error(L, y->file, cr_yaml_line(j),
                          "%s: step %d: join must be one pair {this step's field: previous "
                          "step's field}",
                          owner, i + 1);
            ok = 0;
            continue;
        }
        int fi = cr_load_field(L, mine, y->file, cr_yaml_line(j));
        int fp = cr_load_field(L, prev, y->file, cr_yaml_line(j));
        if (fi < 0 || fp < 0) {
            ok = 0;
            continue;
        }
        c->join[i].in_field = (uint16_t)fi;
        c->join[i].prev_field = (uint16_t)fp;
    }
    c->joined = 1;
    if (ok)
        c->nsteps = cnt;
}

static void parse_corr(struct cr_load *L, struct cr_yaml *y, yaml_node_t *n)
{
    static const char *const keys[] = {
        "id",        "title",    "type",        "rules",      "group_by",   "timespan",
        "condition", "incident", "description", "tags",       "field",      "max_keys",
        "steps",     "history",  "learn",       "max_values", "percentile", NULL};
    if (!cr_yaml_is_map(n)) {
        cr_load_error(L, y->file, cr_yaml_line(n), "a correlation must be a mapping");
        return;
    }
    yaml_node_t *idn = cr_yaml_get(y, n, "id");
    const char *id = cr_yaml_str(idn);
    if (!idn || !id || !*id) {
        cr_load_error(L, y->file, cr_yaml_line(idn ? idn : n), "correlation without 'id'");
        return;
    }
    char owner[200];
    snprintf(owner, sizeof owner, "correlation '%s'", id);
    L->nerr += cr_yaml_check_keys(y, n, keys, owner, L->err, L->errlen);
    check_tags(L, y, n, owner);

    int ci;
    struct cr_correlation *c = cr_load_new_corr(L, &ci);
    c->id = xstrdup(id);
    c->file = xstrdup(y->file);
    c->line = cr_yaml_line(n);
    c->value_field = -1;
    yaml_node_t *v = cr_yaml_get(y, n, "title");
    const char *title = v ? want_str(L, y, v, owner, "title") : NULL;
    c->title = xstrdup(title ? title : id);

    v = cr_yaml_get(y, n, "type");
    const char *type = cr_yaml_str(v);
    if (!v)
        cr_load_error(L, y->file, c->line, "%s: missing 'type'", owner);
    else if (type && strcmp(type, "event_count") == 0)
        c->type = CR_CORR_EVENT_COUNT;
    else if (type && strcmp(type, "temporal_ordered") == 0)
        c->type = CR_CORR_TEMPORAL_ORDERED;
    else if (type && strcmp(type, "value_count") == 0)
        c->type = CR_CORR_VALUE_COUNT;
    else if (type && strcmp(type, "temporal") == 0)
        c->type = CR_CORR_TEMPORAL;
    else if (type && strcmp(type, "absence") == 0)
        c->type = CR_CORR_ABSENCE;
    else if (type && strcmp(type, "new_value") == 0)
        c->type = CR_CORR_NEW_VALUE;
    else if (type && strcmp(type, "value_sum") == 0)
        c->type = CR_CORR_VALUE_SUM;
    else if (type && strcmp(type, "value_avg") == 0)
        c->type = CR_CORR_VALUE_AVG;
    else if (type && strcmp(type, "value_percentile") == 0)
        c->type = CR_CORR_VALUE_PERCENTILE;
    else
        cr_load_error(L, y->file, cr_yaml_line(v),
                      "%s: unknown type '%s' (supported: event_count, value_count, value_sum, "
                      "value_avg, value_percentile, temporal, temporal_ordered, absence, "
                      "new_value)",
                      owner, type ? type : "");

    /* value_percentile: which percentile (0..100) of the field's numbers */
    v = cr_yaml_get(y, n, "percentile");
    if (c->type == CR_CORR_VALUE_PERCENTILE) {
        int64_t pc = 50;
        char what[220];
        snprintf(what, sizeof what, "%s: percentile", owner);
        if (!v)
            cr_load_error(L, y->file, c->line,
                          "%s: value_percentile needs 'percentile' (0 to 100; 50 is the median)",
                          owner);
        else if (cr_yaml_int(y, v, what, 0, 100, &pc, L->err, L->errlen) != 0)
            L->nerr++;
        c->percentile = (uint8_t)pc;
    } else if (v) {
        cr_load_error(L, y->file, cr_yaml_line(v),
                      "%s: 'percentile' applies to value_percentile only", owner);
    }

    /* value_count / new_value: the field whose values are counted or remembered */
    v = cr_yaml_get(y, n, "field");
    if (c->type == CR_CORR_VALUE_COUNT || c->type == CR_CORR_NEW_VALUE || cr_corr_value_num(c)) {
        const char *f = v ? cr_yaml_str(v) : NULL;
        if (!f || !*f)
            cr_load_error(L, y->file, cr_yaml_line(v ? v : n),
                          c->type == CR_CORR_VALUE_COUNT
                              ? "%s: value_count needs 'field' (the field whose distinct values "
                                "count)"
                          : c->type == CR_CORR_NEW_VALUE
                              ? "%s: new_value needs 'field' (the field whose new values matter)"
                              : "%s: value_sum, value_avg and value_percentile need 'field' (the "
                                "field whose numbers are aggregated)",
                          owner);
        else
            c->value_field = cr_load_field(L, f, y->file, cr_yaml_line(v));
    } else if (v) {
        cr_load_error(L, y->file, cr_yaml_line(v),
                      "%s: 'field' applies to value_count, value_sum, value_avg, "
                      "value_percentile and new_value only",
                      owner);
    }
    parse_new_value(L, y, n, owner, c);

    v = cr_yaml_get(y, n, "rules");
    yaml_node_t *steps = cr_yaml_get(y, n, "steps");
    if (steps) {
        if (v)
            cr_load_error(L, y->file, cr_yaml_line(steps),
                          "%s: give either 'rules' or 'steps', not both", owner);
        parse_steps(L, y, steps, owner, ci);
    } else if (!v) {
        cr_load_error(L, y->file, c->line, "%s: missing 'rules'", owner);
    } else {
        int cnt = cr_yaml_is_seq(v) ? cr_yaml_seq_len(v) : 1;
        int min = c->type == CR_CORR_TEMPORAL_ORDERED || c->type == CR_CORR_TEMPORAL ||
                          c->type == CR_CORR_ABSENCE
                      ? 2
                      : 1;
        int max = c->type == CR_CORR_ABSENCE ? 2 : CR_MAX_STEPS;
        if (c->type == CR_CORR_ABSENCE && cnt != 2) {
            cr_load_error(L, y->file, cr_yaml_line(v),
                          "%s: absence lists exactly 2 ids: [the start, the expected follow-up]",
                          owner);
        } else if (cnt < min || cnt > max) {
            cr_load_error(L, y->file, cr_yaml_line(v), "%s: rules lists %d ids (%d to %d allowed)",
                          owner, cnt, min, CR_MAX_STEPS);
        } else {
            for (int i = 0; i < cnt; i++) {
                yaml_node_t *item = cr_yaml_is_seq(v) ? cr_yaml_seq_at(y, v, i) : v;
                const char *s = want_str(L, y, item, owner, "a rules entry");
                L->refs[ci][i].name = s;
                L->refs[ci][i].line = cr_yaml_line(item);
            }
            c->nsteps = cnt;
        }
    }

    L->group_by_line[ci] = c->line;
    v = cr_yaml_get(y, n, "group_by");
    if (c->joined) {
        /* the key of a joined sequence is its join values */
        if (v)
            cr_load_error(L, y->file, cr_yaml_line(v),
                          "%s: a sequence whose steps join on fields has no group_by (its key "
                          "is the join values)",
                          owner);
        for (int i = 1; i < c->nsteps && c->ngroup_by < CR_MAX_GROUP_BY; i++)
            c->group_by[c->ngroup_by++] = c->join[i].in_field;
    } else if (!v) {
        cr_load_error(L, y->file, c->line, "%s: missing 'group_by' (the entity fields)", owner);
    } else {
        L->group_by_line[ci] = cr_yaml_line(v);
        parse_group_by(L, y, v, owner, c->group_by, &c->ngroup_by);
    }

    v = cr_yaml_get(y, n, "timespan");
    if (c->type == CR_CORR_NEW_VALUE) {
        if (v)
            cr_load_error(L, y->file, cr_yaml_line(v),
                          "%s: new_value has 'history' (how long a value is remembered), not "
                          "'timespan'",
                          owner);
    } else if (!v) {
        cr_load_error(L, y->file, c->line, "%s: missing 'timespan'", owner);
    } else {
        char what[220];
        snprintf(what, sizeof what, "%s: timespan", owner);
        if (cr_yaml_duration_ms(y, v, what, &c->timespan_ms, L->err, L->errlen) != 0)
            L->nerr++;
        else if (c->timespan_ms <= 0)
            cr_load_error(L, y->file, cr_yaml_line(v), "%s: must be > 0", what);
    }

    v = cr_yaml_get(y, n, "condition");
    if (c->type == CR_CORR_EVENT_COUNT || c->type == CR_CORR_VALUE_COUNT) {
        parse_condition(L, y, n, v, owner, c);
    } else if (cr_corr_value_num(c)) {
        parse_num_condition(L, y, n, v, owner, c);
    } else if (c->type == CR_CORR_TEMPORAL && v) {
        parse_temporal_condition(L, y, v, owner, c);
    } else if (v && c->type != 0) {
        cr_load_error(L, y->file, cr_yaml_line(v),
                      "%s: condition applies to event_count, value_count, value_sum, value_avg, "
                      "value_percentile and temporal only (%s)",
                      owner,
                      c->type == CR_CORR_TEMPORAL_ORDERED ? "temporal_ordered matches when every "
                                                            "step happened in order"
                      : c->type == CR_CORR_NEW_VALUE      ? "new_value fires on a value the key "
                                                            "has not shown within its history"
                                                          : "absence fires when the follow-up "
                                                            "did not come in time");
    }
    if (c->type == CR_CORR_TEMPORAL && (c->gte == 0 || c->gte > (uint32_t)c->nsteps))
        c->gte = (uint32_t)c->nsteps; /* every step */

    v = cr_yaml_get(y, n, "incident");
    /* a new_value incident takes further new values for an hour, not for its history */
    int64_t open_for =
        c->timespan_ms > 0 && c->type != CR_CORR_NEW_VALUE ? c->timespan_ms : 3600 * 1000LL;
    if (!v) {
        cr_load_error(L, y->file, c->line, "%s: missing 'incident'", owner);
        c->incident.title = xstrdup(c->title);
    } else {
        parse_incident(L, y, v, owner, &c->incident, c->title, open_for);
    }
    parse_max_keys(L, y, n, owner, &c->incident);
}

void cr_load_file(struct cr_load *L, const char *path)
{
    char yerr[1024] = "";
    struct cr_yaml *y = cr_yaml_load(path, yerr, sizeof yerr);
    if (!y) {
        /* cr_yaml_load already wrote "file:line: reason": append it as is. */
        size_t used = strnlen(L->err, L->errlen);
        if (L->errlen && used && used < L->errlen - 1 && L->err[used - 1] != '\n')
            L->err[used++] = '\n', L->err[used] = 0;
        if (used < L->errlen)
            snprintf(L->err + used, L->errlen - used, "%s", yerr);
        L->nerr++;
        return;
    }
    L->docs = xrealloc(L->docs, (size_t)(L->ndocs + 1) * sizeof *L->docs);
    L->docs[L->ndocs++] = y;

    static const char *const keys[] = {"rules", "correlations", NULL};
    yaml_node_t *root = cr_yaml_root(y);
    if (cr_yaml_is_map(root) && cr_sigma_is_rule(y, root)) {
        /* compiled once every file is read; a file may hold several (`---`) */
        for (struct cr_yaml *d = y; d; d = d->next) {
            yaml_node_t *r = cr_yaml_root(d);
            if (cr_yaml_is_map(r) && cr_sigma_is_rule(d, r))
                cr_sigma_add_doc(L, d, r);
            else
                cr_load_error(L, d->file, cr_yaml_line(r),
                              "a file of Sigma rules holds only Sigma rules (documents with "
                              "'detection' or 'correlation')");
        }
        return;
    }
    if (y->next)
        cr_load_error(L, y->file, cr_yaml_line(cr_yaml_root(y->next)),
                      "a second YAML document ('---'): corral's rule and mapping files hold one");
    if (y->dup_line) {
        char why[128];
        cr_load_error(L, y->file, y->dup_line, "%s", cr_yaml_dup_reason(y, why, sizeof why));
    }
    if (cr_yaml_is_map(root) && cr_sigma_is_map(y, root)) {
        cr_sigma_load_map(L, y, root);
        return;
    }
    if (!cr_yaml_is_map(root)) {
        cr_load_error(L, y->file, cr_yaml_line(root),
                      "a rule file must be a mapping with 'rules' and/or 'correlations'");
        return;
    }
    L->nerr += cr_yaml_check_keys(y, root, keys, "a rule file", L->err, L->errlen);
    yaml_node_t *rules = cr_yaml_get(y, root, "rules");
    if (rules && !cr_yaml_is_null(rules) && !cr_yaml_is_seq(rules))
        cr_load_error(L, y->file, cr_yaml_line(rules), "'rules' must be a list");
    for (int i = 0; i < cr_yaml_seq_len(rules); i++)
        parse_rule(L, y, cr_yaml_seq_at(y, rules, i));
    yaml_node_t *corrs = cr_yaml_get(y, root, "correlations");
    if (corrs && !cr_yaml_is_null(corrs) && !cr_yaml_is_seq(corrs))
        cr_load_error(L, y->file, cr_yaml_line(corrs), "'correlations' must be a list");
    for (int i = 0; i < cr_yaml_seq_len(corrs); i++)
        parse_corr(L, y, cr_yaml_seq_at(y, corrs, i));
    /* a file corral reads as rules but that holds none is a mistake (an
     * empty list, another tool's format), never a silent "0 match rules" */
    if (cr_yaml_seq_len(rules) + cr_yaml_seq_len(corrs) == 0)
        cr_load_error(L, y->file, cr_yaml_line(root),
                      "the file holds no rules: 'rules' and 'correlations' are both empty "
                      "or missing");
}
