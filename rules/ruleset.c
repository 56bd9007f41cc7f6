/*
 * ruleset.c - cr_ruleset_load: files -> parsed rules -> linked -> compiled.
 *
 * Loading is three phases so that every problem is found in one run:
 *  1. read every file (rule_load.c): syntax, keys, values, regex syntax;
 *  2. link: duplicate ids, correlation references, chaining cycles,
 *     group_by and join fields each input can provide, the shard pins of
 *     cross-key sequences (and everything chained to them), and the routes
 *     of each rule;
 *  3. compile the Hyperscan databases (hs_db.c), through the cache.
 * Problems from all phases accumulate in the caller's error buffer; any
 * problem at all means no ruleset. A half-valid rule set is never returned
 * because a silently missing rule is worse than a refused reload.
 *
 * Also here: the field registry's public lookup, the id index behind the
 * find functions, and cr_ruleset_free.
 */
#include "rules/hs_db.h"
#include "rules/pcre_confirm.h"
#include "rules/rule_load.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_yaml_ext(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

/* A path is a file, or a directory whose *.yaml / *.yml are read in name
 * order, its subdirectories after its files, recursively (a SigmaHQ
 * checkout keeps its rules in rules/windows/process_creation/...). Returns
 * how many rule files it held. */
static int load_tree(struct cr_load *L, const char *path, int depth)
{
    DIR *d = opendir(path);
    if (!d) {
        cr_load_error(L, path, 0, "cannot open directory: %s", strerror(errno));
        return 0;
    }
    char **files = NULL, **dirs = NULL;
    int nf = 0, nd = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *full = malloc(strlen(path) + strlen(e->d_name) + 2);
        if (!full)
            abort();
        sprintf(full, "%s/%s", path, e->d_name);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISDIR(st.st_mode) && depth < 16) {
            dirs = realloc(dirs, (size_t)(nd + 1) * sizeof *dirs);
            if (!dirs)
                abort();
            dirs[nd++] = full;
        } else if (has_yaml_ext(e->d_name)) {
            files = realloc(files, (size_t)(nf + 1) * sizeof *files);
            if (!files)
                abort();
            files[nf++] = full;
        } else {
            free(full);
        }
    }
    closedir(d);
    if (nf > 1)
        qsort(files, (size_t)nf, sizeof *files, cmp_str);
    if (nd > 1)
        qsort(dirs, (size_t)nd, sizeof *dirs, cmp_str);
    int total = nf;
    for (int i = 0; i < nf; i++) {
        cr_load_file(L, files[i]);
        free(files[i]);
    }
    for (int i = 0; i < nd; i++) {
        total += load_tree(L, dirs[i], depth + 1);
        free(dirs[i]);
    }
    free(files);
    free(dirs);
    return total;
}

static void load_path(struct cr_load *L, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        cr_load_error(L, path, 0, "cannot open: %s", strerror(errno));
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        cr_load_file(L, path);
        return;
    }
    if (load_tree(L, path, 0) == 0)
        cr_load_error(L, path, 0, "no rule files (*.yaml, *.yml) in this directory or below it");
}

/* ---- the id index ---- */

static int cmp_entry(const void *a, const void *b)
{
    const struct cr_id_entry *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    if (c)
        return c;
    /* Stable among duplicates: rules before correlations, then load order. */
    if (x->is_correlation != y->is_correlation)
        return x->is_correlation - y->is_correlation;
    return x->index < y->index ? -1 : x->index > y->index;
}

static const struct cr_id_entry *find_id(const struct cr_ruleset *rs, const char *id)
{
    int lo = 0, hi = rs->nids - 1, found = -1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(rs->ids[mid].id, id);
        if (c == 0) {
            found = mid;
            hi = mid - 1; /* first of duplicates */
        } else if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found >= 0 ? &rs->ids[found] : NULL;
}

static void entry_where(const struct cr_ruleset *rs, const struct cr_id_entry *e, const char **file,
                        int *line)
{
    if (e->is_correlation) {
        *file = rs->corrs[e->index].file;
        *line = rs->corrs[e->index].line;
    } else {
        *file = rs->rules[e->index].file;
        *line = rs->rules[e->index].line;
    }
}

static void build_index(struct cr_load *L)
{
    struct cr_ruleset *rs = L->rs;
    rs->nids = rs->nrules + rs->ncorrs;
    rs->ids = calloc((size_t)rs->nids + 1, sizeof *rs->ids);
    if (!rs->ids)
        abort();
    int k = 0;
    for (int i = 0; i < rs->nrules; i++)
        rs->ids[k++] = (struct cr_id_entry){rs->rules[i].id, (uint32_t)i, 0};
    for (int i = 0; i < rs->ncorrs; i++)
        rs->ids[k++] = (struct cr_id_entry){rs->corrs[i].id, (uint32_t)i, 1};
    qsort(rs->ids, (size_t)rs->nids, sizeof *rs->ids, cmp_entry);
    for (int i = 1; i < rs->nids; i++) {
        if (strcmp(rs->ids[i].id, rs->ids[i - 1].id) != 0)
            continue;
        const struct cr_id_entry *first = find_id(rs, rs->ids[i].id);
        const char *f1, *f2;
        int l1, l2;
        entry_where(rs, first, &f1, &l1);
        entry_where(rs, &rs->ids[i], &f2, &l2);
        cr_load_error(L, f2, l2, "duplicate id '%s' (first defined at %s:%d)", rs->ids[i].id, f1,
                      l1);
    }
}

/* ---- linking correlations ---- */

static void resolve_refs(struct cr_load *L, uint8_t *ok)
{
    struct cr_ruleset *rs = L->rs;
    for (int c = 0; c < rs->ncorrs; c++) {
        struct cr_correlation *co = &rs->corrs[c];
        ok[c] = co->nsteps > 0;
        for (int s = 0; s < co->nsteps; s++) {
            const struct cr_pending_ref *ref = &L->refs[c][s];
            if (!ref->name) {
                ok[c] = 0;
                continue;
            }
            const struct cr_id_entry *e = find_id(rs, ref->name);
            if (!e) {
                cr_load_error(L, co->file, ref->line,
                              "correlation '%s': unknown rule or correlation '%s'", co->id,
                              ref->name);
                ok[c] = 0;
                continue;
            }
            if (e->is_correlation &&
                (co->type == CR_CORR_EVENT_COUNT || co->type == CR_CORR_VALUE_COUNT ||
                 co->type == CR_CORR_NEW_VALUE || cr_corr_value_num(co))) {
                cr_load_error(L, co->file, ref->line,
                              "correlation '%s': '%s' is a correlation; %s counts match "
                              "rules only",
                              co->id, ref->name, cr_corr_type_name(co->type));
                ok[c] = 0;
                continue;
            }
            co->steps[s].is_correlation = e->is_correlation;
            co->steps[s].index = e->index;
        }
    }
}

/* Depth-first search over correlation -> correlation steps. color: 0 new,
 * 1 on the current path, 2 done. A step back onto the path is a cycle,
 * reported once with the path that closes it. */
static void find_cycles(struct cr_load *L, int c, uint8_t *color, int *path, int depth,
                        const uint8_t *ok)
{
    struct cr_ruleset *rs = L->rs;
    color[c] = 1;
    path[depth] = c;
    const struct cr_correlation *co = &rs->corrs[c];
    for (int s = 0; ok[c] && s < co->nsteps; s++) {
        if (!co->steps[s].is_correlation)
            continue;
        int d = (int)co->steps[s].index;
        if (color[d] == 1) {
            char msg[1024];
            size_t used = 0;
            int start = depth;
            while (start > 0 && path[start] != d)
                start--;
            for (int i = start; i <= depth && used < sizeof msg; i++)
                used += (size_t)snprintf(msg + used, sizeof msg - used, "%s -> ",
                                         rs->corrs[path[i]].id);
            if (used < sizeof msg)
                snprintf(msg + used, sizeof msg - used, "%s", rs->corrs[d].id);
            cr_load_error(L, co->file, L->refs[c][s].line, "correlation '%s': chaining cycle %s",
                          co->id, msg);
        } else if (color[d] == 0) {
            find_cycles(L, d, color, path, depth + 1, ok);
        }
    }
    color[c] = 2;
}

static int same_group_by(const uint16_t *a, int na, const uint16_t *b, int nb)
{
    return na == nb && memcmp(a, b, (size_t)na * sizeof *a) == 0;
}

static void group_by_text(const struct cr_ruleset *rs, const uint16_t *g, int n, char *buf,
                          size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < n && used < len; i++)
        used +=
            (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", rs->field_names[g[i]]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
}

/* A group_by field is available in a rule's matches if it is builtin (the
 * parser fills it), captured by that rule, or a JSON path (an extra name no
 * rule captures). An extra name that some other rule captures is a
 * capture, and this rule never sets it: the key would always be missing. */
static void check_provides_as(struct cr_load *L, const char *file, int line, const char *owner,
                              const char *what, const uint16_t *g, int n, const struct cr_rule *r)
{
    for (int i = 0; i < n; i++) {
        uint16_t f = g[i];
        if (f < CR_F__BUILTIN || !(L->capture_names[f >> 6] >> (f & 63) & 1) ||
            (r->capture_fields[f >> 6] >> (f & 63) & 1))
            continue;
        cr_load_error(L, file, line,
                      "%s: %s '%s' cannot be provided by rule '%s' (not builtin, "
                      "not a JSON path, not captured by that rule)",
                      owner, what, L->rs->field_names[f], r->id);
    }
}

static void check_provides(struct cr_load *L, const char *file, int line, const char *owner,
                           const uint16_t *g, int n, const struct cr_rule *r)
{
    check_provides_as(L, file, line, owner, "group_by field", g, n, r);
}

/* The rule's route for this key (made if new): its index, -1 if full. */
static int add_route(struct cr_load *L, struct cr_rule *r, const uint16_t *g, int n,
                     int value_field, uint8_t value_num, uint16_t pin)
{
    for (int i = 0; i < r->nroutes; i++)
        if (same_group_by(r->routes[i].group_by, r->routes[i].ngroup_by, g, n) &&
            r->routes[i].value_field == value_field && r->routes[i].value_num == value_num &&
            r->routes[i].pin == pin)
            return i;
    if (r->nroutes == (int)(sizeof r->routes / sizeof r->routes[0])) {
        cr_load_error(L, r->file, r->line,
                      "rule '%s': its incident and correlations use more than %d distinct "
                      "group_by lists",
                      r->id, r->nroutes);
        return -1;
    }
    memcpy(r->routes[r->nroutes].group_by, g, (size_t)n * sizeof *g);
    r->routes[r->nroutes].ngroup_by = n;
    r->routes[r->nroutes].value_field = value_field;
    r->routes[r->nroutes].value_num = value_num;
    r->routes[r->nroutes].pin = pin;
    return r->nroutes++;
}

/* ---- cross-key sequences ---- */

static int uf_find(int *parent, int x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

/* A joined sequence keeps state across keys, so all of it must live on one
 * shard. Chaining runs inside one shard, so every correlation connected to
 * it by chaining (either direction, transitively) must live there too: the
 * pin of a connected group that holds a joined sequence is 1 + the index of
 * its first joined sequence. */
static void assign_pins(struct cr_load *L, const uint8_t *ok)
{
    struct cr_ruleset *rs = L->rs;
    int *parent = calloc((size_t)rs->ncorrs + 1, sizeof *parent);
    int *pin = calloc((size_t)rs->ncorrs + 1, sizeof *pin);
    if (!parent || !pin)
        abort();
    for (int c = 0; c < rs->ncorrs; c++)
        parent[c] = c;
    for (int c = 0; c < rs->ncorrs; c++)
        for (int s = 0; ok[c] && s < rs->corrs[c].nsteps; s++)
            if (rs->corrs[c].steps[s].is_correlation) {
                int a = uf_find(parent, c), b = uf_find(parent, (int)rs->corrs[c].steps[s].index);
                parent[a] = b;
            }
    for (int c = 0; c < rs->ncorrs; c++) {
        int root = uf_find(parent, c);
        if (rs->corrs[c].joined && ok[c] && !pin[root])
            pin[root] = c + 1;
    }
    for (int c = 0; c < rs->ncorrs; c++)
        rs->corrs[c].pin = (uint16_t)pin[uf_find(parent, c)];
    free(parent);
    free(pin);
}

static int field_pos(const uint16_t *g, int n, uint16_t f)
{
    for (int i = 0; i < n; i++)
        if (g[i] == f)
            return i;
    return -1;
}

/* The key each step of a joined sequence carries, checked against what the
 * step's input can provide, and the routes of its match rules. */
static void link_joined(struct cr_load *L, int c)
{
    struct cr_ruleset *rs = L->rs;
    struct cr_correlation *co = &rs->corrs[c];
    char owner[200];
    snprintf(owner, sizeof owner, "correlation '%s'", co->id);
    int last = co->nsteps - 1;
    for (int s = 0; s <= last; s++) {
        struct cr_join_step *js = &co->join[s];
        int line = L->refs[c][s].line;
        int has_in = s > 0, has_out = s < last;
        uint16_t in = js->in_field, out = has_out ? co->join[s + 1].prev_field : 0;
        js->in_pos = js->out_pos = -1;
        if (co->steps[s].is_correlation) {
            const struct cr_correlation *d = &rs->corrs[co->steps[s].index];
            memcpy(js->fields, d->group_by, sizeof js->fields);
            js->nfields = d->ngroup_by;
            char g[256];
            group_by_text(rs, d->group_by, d->ngroup_by, g, sizeof g);
            for (int k = 0; k < 2; k++) {
                if (!(k == 0 ? has_in : has_out))
                    continue;
                uint16_t f = k == 0 ? in : out;
                int pos = field_pos(js->fields, js->nfields, f);
                if (pos < 0)
                    cr_load_error(L, co->file, line,
                                  "%s: join field '%s' is not in the group_by of correlation "
                                  "'%s' %s (a chained step provides its key fields only)",
                                  owner, rs->field_names[f], d->id, g);
                else if (k == 0)
                    js->in_pos = (int8_t)pos;
                else
                    js->out_pos = (int8_t)pos;
            }
            continue;
        }
        js->nfields = 0;
        if (has_in) {
            js->in_pos = (int8_t)js->nfields;
            js->fields[js->nfields++] = in;
        }
        if (has_out) {
            int pos = field_pos(js->fields, js->nfields, out);
            if (pos < 0) {
                pos = js->nfields;
                js->fields[js->nfields++] = out;
            }
            js->out_pos = (int8_t)pos;
        }
        struct cr_rule *r = &rs->rules[co->steps[s].index];
        check_provides_as(L, co->file, line, owner, "join field", js->fields, js->nfields, r);
        add_route(L, r, js->fields, js->nfields, -1, 0, co->pin);
    }
}

static void carry_field(struct cr_rule *r, uint16_t f)
{
    for (int i = 0; i < r->ncarry; i++)
        if (r->carry[i] == f)
            return;
    if (r->ncarry < (int)(sizeof r->carry / sizeof *r->carry))
        r->carry[r->ncarry++] = f;
}

static void link_all(struct cr_load *L)
{
    struct cr_ruleset *rs = L->rs;
    build_index(L);
    uint8_t *ok = calloc((size_t)rs->ncorrs + 1, 1), *color = calloc((size_t)rs->ncorrs + 1, 1);
    int *path = calloc((size_t)rs->ncorrs + 1, sizeof *path);
    if (!ok || !color || !path)
        abort();
    resolve_refs(L, ok);
    for (int c = 0; c < rs->ncorrs; c++)
        if (color[c] == 0)
            find_cycles(L, c, color, path, 0, ok);
    assign_pins(L, ok);

    for (int i = 0; i < rs->nrules; i++) {
        struct cr_rule *r = &rs->rules[i];
        if (r->incident && r->ngroup_by > 0) {
            char owner[200];
            snprintf(owner, sizeof owner, "rule '%s'", r->id);
            check_provides(L, r->file, L->rule_group_by_line[i], owner, r->group_by, r->ngroup_by,
                           r);
            int own = add_route(L, r, r->group_by, r->ngroup_by, -1, 0, 0);
            /* a Sigma rule fires for every matching record: an entity the
             * record lacks keys as "-" instead of dropping the match */
            if (r->sigma && own >= 0)
                r->routes[own].absent_ok = 1;
        }
    }
    for (int c = 0; c < rs->ncorrs; c++) {
        struct cr_correlation *co = &rs->corrs[c];
        if (ok[c] && co->joined) {
            link_joined(L, c);
            continue;
        }
        if (!ok[c] || co->ngroup_by == 0)
            continue;
        char owner[200];
        snprintf(owner, sizeof owner, "correlation '%s'", co->id);
        for (int s = 0; s < co->nsteps; s++) {
            if (co->steps[s].is_correlation) {
                const struct cr_correlation *d = &rs->corrs[co->steps[s].index];
                if (!same_group_by(d->group_by, d->ngroup_by, co->group_by, co->ngroup_by)) {
                    char a[256], b[256];
                    group_by_text(rs, co->group_by, co->ngroup_by, a, sizeof a);
                    group_by_text(rs, d->group_by, d->ngroup_by, b, sizeof b);
                    cr_load_error(L, co->file, L->refs[c][s].line,
                                  "%s: step '%s' groups by %s but this correlation by %s (a "
                                  "chained correlation must use the same group_by)",
                                  owner, d->id, b, a);
                }
                continue;
            }
            struct cr_rule *r = &rs->rules[co->steps[s].index];
            const uint16_t *g = CR_STEP_GROUP_BY(co, s);
            check_provides(L, co->file, L->group_by_line[c], owner, g, co->ngroup_by, r);
            if (co->value_field >= 0) {
                uint16_t vf = (uint16_t)co->value_field;
                check_provides(L, co->file, co->line, owner, &vf, 1, r);
            }
            add_route(L, r, g, co->ngroup_by, co->value_field, cr_corr_value_num(co), co->pin);
        }
    }
    /* the fields incidents carry, read by the worker from the matches that
     * feed them */
    for (int i = 0; i < rs->nrules; i++) {
        struct cr_rule *r = &rs->rules[i];
        for (int k = 0; r->incident && k < r->incident->nfields; k++)
            carry_field(r, r->incident->fields[k]);
    }
    for (int c = 0; c < rs->ncorrs; c++)
        for (int s = 0; s < rs->corrs[c].nsteps; s++)
            for (int k = 0;
                 !rs->corrs[c].steps[s].is_correlation && k < rs->corrs[c].incident.nfields; k++)
                carry_field(&rs->rules[rs->corrs[c].steps[s].index],
                            rs->corrs[c].incident.fields[k]);
    /* the number an incident's impact measures, read by the worker from the
     * matches that feed it */
    for (int i = 0; i < rs->nrules; i++)
        if (rs->rules[i].incident)
            rs->rules[i].measure_field = rs->rules[i].incident->measure_field;
    for (int c = 0; c < rs->ncorrs; c++)
        for (int s = 0; s < rs->corrs[c].nsteps && rs->corrs[c].incident.measure_field; s++)
            if (!rs->corrs[c].steps[s].is_correlation &&
                !rs->rules[rs->corrs[c].steps[s].index].measure_field)
                rs->rules[rs->corrs[c].steps[s].index].measure_field =
                    rs->corrs[c].incident.measure_field;
    free(ok);
    free(color);
    free(path);
}

/* ---- finishing ---- */

static void hash_str(XXH3_state_t *st, const char *s)
{
    XXH3_64bits_update(st, s ? s : "", s ? strlen(s) + 1 : 1);
}

static void hash_incident(XXH3_state_t *st, const struct cr_incident_spec *inc)
{
    hash_str(st, inc->category);
    hash_str(st, inc->reg_category);
    hash_str(st, inc->priority);
    hash_str(st, inc->title);
    hash_str(st, inc->annotation);
    XXH3_64bits_update(st, &inc->reg_level, sizeof inc->reg_level);
    XXH3_64bits_update(st, &inc->open_for_ms, sizeof inc->open_for_ms);
    XXH3_64bits_update(st, &inc->impact, sizeof inc->impact);
    XXH3_64bits_update(st, inc->fields, sizeof inc->fields[0] * (size_t)inc->nfields);
}

/* Hash of what the rules mean (not of file bytes: a comment change is no
 * change), so a reload can tell whether anything changed. */
static uint64_t ruleset_hash(const struct cr_ruleset *rs)
{
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    for (int i = 0; i < rs->nfields; i++)
        hash_str(st, rs->field_names[i]);
    for (int i = 0; i < rs->nrules; i++) {
        const struct cr_rule *r = &rs->rules[i];
        hash_str(st, r->id);
        hash_str(st, r->title);
        for (int w = 0; w < r->nwhere; w++) {
            XXH3_64bits_update(st, &r->where[w].field, sizeof r->where[w].field);
            XXH3_64bits_update(st, &r->where[w].negate, 1);
            for (int v = 0; v < r->where[w].nvals; v++)
                hash_str(st, r->where[w].vals[v]);
        }
        for (int p = 0; p < r->npatterns + r->nnegated; p++) {
            const struct cr_pattern *pt = &rs->patterns[r->patterns[p]];
            hash_str(st, pt->regex);
            XXH3_64bits_update(st, &pt->field, sizeof pt->field);
            XXH3_64bits_update(st, &pt->negated, 1);
            XXH3_64bits_update(st, &pt->hs_flags, sizeof pt->hs_flags);
        }
        XXH3_64bits_update(st, r->group_by, sizeof r->group_by[0] * (size_t)r->ngroup_by);
        XXH3_64bits_update(st, &r->ngroup_by, sizeof r->ngroup_by);
        if (r->incident)
            hash_incident(st, r->incident);
    }
    for (int i = 0; i < rs->ncorrs; i++) {
        const struct cr_correlation *c = &rs->corrs[i];
        hash_str(st, c->id);
        hash_str(st, c->title);
        XXH3_64bits_update(st, &c->type, sizeof c->type);
        XXH3_64bits_update(st, c->steps, sizeof c->steps[0] * (size_t)c->nsteps);
        XXH3_64bits_update(st, c->group_by, sizeof c->group_by[0] * (size_t)c->ngroup_by);
        XXH3_64bits_update(st, &c->timespan_ms, sizeof c->timespan_ms);
        XXH3_64bits_update(st, &c->gte, sizeof c->gte);
        XXH3_64bits_update(st, &c->lte, sizeof c->lte);
        XXH3_64bits_update(st, &c->value_field, sizeof c->value_field);
        XXH3_64bits_update(st, &c->num_lo, sizeof c->num_lo);
        XXH3_64bits_update(st, &c->num_hi, sizeof c->num_hi);
        XXH3_64bits_update(st, &c->num_lo_strict, sizeof c->num_lo_strict);
        XXH3_64bits_update(st, &c->num_hi_strict, sizeof c->num_hi_strict);
        XXH3_64bits_update(st, &c->percentile, sizeof c->percentile);
        XXH3_64bits_update(st, &c->learn_ms, sizeof c->learn_ms);
        XXH3_64bits_update(st, &c->max_values, sizeof c->max_values);
        XXH3_64bits_update(st, &c->joined, sizeof c->joined);
        for (int j = 0; c->joined && j < c->nsteps; j++) {
            XXH3_64bits_update(st, &c->join[j].in_field, sizeof c->join[j].in_field);
            XXH3_64bits_update(st, &c->join[j].prev_field, sizeof c->join[j].prev_field);
        }
        XXH3_64bits_update(st, &c->pin, sizeof c->pin);
        hash_incident(st, &c->incident);
    }
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

struct cr_ruleset *cr_ruleset_load(const char *const *paths, int npaths,
                                   const struct cr_ruleset_opts *opts, char *err, size_t errlen)
{
    struct cr_ruleset *rs = calloc(1, sizeof *rs);
    if (!rs)
        abort();
    if (err && errlen)
        err[0] = 0;
    for (int i = 0; i < CR_F__BUILTIN; i++)
        rs->field_names[i] = cr_field_builtin_name((unsigned)i);
    rs->nfields = CR_F__BUILTIN;
    rs->max_captures = 1;

    struct cr_load L;
    memset(&L, 0, sizeof L);
    L.rs = rs;
    L.err = err;
    L.errlen = errlen;
    for (int i = 0; i < npaths; i++)
        load_path(&L, paths[i]);
    L.in_sigma = 1;
    cr_sigma_compile_all(&L);
    L.in_sigma = 0;
    cr_load_check_fields(&L);
    link_all(&L);
    int rc = cr_hs_db_build(rs, opts ? opts->cache_dir : NULL, err, errlen);
    L.nerr += rc < 0 ? 1 : rc;

    /* Rules with no positive pattern never become Hyperscan candidates:
     * the matcher checks them on every event. */
    rs->unconditional = calloc((size_t)rs->nrules + 1, sizeof *rs->unconditional);
    if (!rs->unconditional)
        abort();
    for (int i = 0; i < rs->nrules; i++)
        if (rs->rules[i].expr ? !rs->rules[i].expr_needs_hit : rs->rules[i].npatterns == 0)
            rs->unconditional[rs->nunconditional++] = (uint32_t)i;
    rs->hash = ruleset_hash(rs);

    for (int i = 0; i < L.ndocs; i++)
        cr_yaml_free(L.docs[i]);
    free(L.docs);
    free(L.sigma_docs);
    free(L.sigma_gates);
    cr_sigma_map_free(L.sigma_map);
    free(L.refs);
    free(L.group_by_line);
    free(L.rule_group_by_line);
    if (L.nerr > 0) {
        cr_ruleset_free(rs);
        return NULL;
    }
    return rs;
}

void cr_ruleset_free(struct cr_ruleset *rs)
{
    if (!rs)
        return;
    cr_hs_db_free(rs);
    for (int i = 0; i < rs->npatterns; i++) {
        free(rs->patterns[i].regex);
        cr_pcre_free(rs->patterns[i].pcre);
    }
    free(rs->patterns);
    for (int i = 0; i < rs->nrules; i++) {
        struct cr_rule *r = &rs->rules[i];
        for (int w = 0; w < r->nwhere; w++) {
            for (int v = 0; v < r->where[w].nvals; v++)
                free(r->where[w].vals[v]);
            free(r->where[w].vals);
            free(r->where[w].lens);
        }
        free(r->where);
        free(r->patterns);
        if (r->incident) {
            free(r->incident->title);
            free(r->incident->annotation);
        }
        free(r->incident);
        free(r->id);
        free(r->title);
        free(r->file);
        cr_sigma_free_rule(r);
    }
    free(rs->rules);
    free(rs->sigma.skips);
    for (int i = 0; i < rs->ncorrs; i++) {
        free(rs->corrs[i].id);
        free(rs->corrs[i].title);
        free(rs->corrs[i].file);
        free(rs->corrs[i].incident.title);
        free(rs->corrs[i].incident.annotation);
        free(rs->corrs[i].annotation);
    }
    free(rs->corrs);
    /* Extra field names were strdup'ed by the loader; builtin ones are static. */
    for (int i = CR_F__BUILTIN; i < rs->nfields; i++)
        free((char *)rs->field_names[i]);
    free(rs->derived);
    free(rs->unconditional);
    free(rs->ids);
    free(rs);
}

const char *cr_corr_type_name(enum cr_corr_type t)
{
    static const char *const names[] = {
        "",        "event_count", "temporal_ordered", "value_count", "temporal",
        "absence", "new_value",   "value_sum",        "value_avg",   "value_percentile"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

int cr_ruleset_find_rule(const struct cr_ruleset *rs, const char *id)
{
    const struct cr_id_entry *e = find_id(rs, id);
    /* Ids are unique in a loaded ruleset, so the first entry is the only one. */
    return e && !e->is_correlation ? (int)e->index : -1;
}

int cr_ruleset_find_corr(const struct cr_ruleset *rs, const char *id)
{
    const struct cr_id_entry *e = find_id(rs, id);
    return e && e->is_correlation ? (int)e->index : -1;
}

/* The placement contract (ruleset.h): XXH3 with seed 0 over the key bytes,
 * modulo the shard count. A pinned state hashes the pinning correlation's
 * id instead of its key. */
static uint32_t place(const struct cr_ruleset *rs, uint16_t pin, const char *key, size_t len,
                      int nshards)
{
    if (pin && pin <= rs->ncorrs) {
        key = rs->corrs[pin - 1].id;
        len = strlen(key);
    }
    return (uint32_t)(XXH3_64bits(key, len) % (uint64_t)nshards);
}

uint32_t cr_ruleset_route_shard(const struct cr_ruleset *rs, const struct cr_route *rt,
                                const char *key, size_t len, int nshards)
{
    return place(rs, rt->pin, key, len, nshards);
}

uint32_t cr_ruleset_state_shard(const struct cr_ruleset *rs, const char *id, const char *key,
                                size_t len, int nshards)
{
    return place(rs, cr_ruleset_pin(rs, id), key, len, nshards);
}

uint16_t cr_ruleset_pin(const struct cr_ruleset *rs, const char *id)
{
    const struct cr_id_entry *e = find_id(rs, id);
    return e && e->is_correlation ? rs->corrs[e->index].pin : 0;
}

int cr_ruleset_field(const struct cr_ruleset *rs, const char *name)
{
    int id = cr_field_builtin_id(name, strlen(name));
    if (id >= 0)
        return id;
    for (int i = CR_F__BUILTIN; i < rs->nfields; i++)
        if (strcmp(rs->field_names[i], name) == 0)
            return i;
    return -1;
}
