/*
 * ruleset_diff.c - see ruleset_diff.h.
 *
 * Hashes are computed on demand (a reload asks for each one once), so the
 * loader and struct cr_ruleset carry nothing extra for them. Every variable
 * part is length-prefixed or NUL-terminated so that two different
 * definitions cannot hash the same bytes by shifting a boundary.
 */
#include "rules/ruleset_diff.h"

#include <string.h>
#include <xxhash.h>

static void put_str(XXH3_state_t *st, const char *s)
{
    XXH3_64bits_update(st, s ? s : "", s ? strlen(s) + 1 : 1);
}

static void put_u64(XXH3_state_t *st, uint64_t v) { XXH3_64bits_update(st, &v, sizeof v); }

static void put_field(XXH3_state_t *st, const struct cr_ruleset *rs, int f)
{
    put_str(st, f >= 0 && f < rs->nfields ? rs->field_names[f] : "");
}

static void put_group_by(XXH3_state_t *st, const struct cr_ruleset *rs, const uint16_t *g, int n)
{
    put_u64(st, (uint64_t)n);
    for (int i = 0; i < n; i++)
        put_field(st, rs, g[i]);
}

static void put_incident(XXH3_state_t *st, const struct cr_ruleset *rs,
                         const struct cr_incident_spec *inc)
{
    put_str(st, inc->category);
    put_str(st, inc->reg_category);
    put_str(st, inc->priority);
    put_str(st, inc->title);
    put_u64(st, (uint64_t)inc->reg_level);
    put_u64(st, (uint64_t)inc->open_for_ms);
    put_u64(st, inc->max_keys);
    XXH3_64bits_update(st, &inc->impact, sizeof inc->impact);
    put_str(st, inc->annotation ? inc->annotation : "");
    put_u64(st, (uint64_t)inc->nfields);
    for (int i = 0; i < inc->nfields; i++)
        put_field(st, rs, inc->fields[i]);
}

uint64_t cr_rule_def_hash(const struct cr_ruleset *rs, int r)
{
    const struct cr_rule *rule = &rs->rules[r];
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    put_str(st, "rule");
    put_str(st, rule->id);
    put_str(st, rule->title);
    put_u64(st, (uint64_t)rule->nwhere);
    for (int w = 0; w < rule->nwhere; w++) {
        put_field(st, rs, rule->where[w].field);
        put_u64(st, rule->where[w].negate);
        put_u64(st, rule->where[w].nvals);
        for (int v = 0; v < rule->where[w].nvals; v++) {
            put_u64(st, rule->where[w].lens[v]);
            XXH3_64bits_update(st, rule->where[w].vals[v], rule->where[w].lens[v]);
        }
    }
    put_u64(st, (uint64_t)rule->npatterns);
    put_u64(st, (uint64_t)rule->nnegated);
    for (int p = 0; p < rule->npatterns + rule->nnegated; p++) {
        const struct cr_pattern *pt = &rs->patterns[rule->patterns[p]];
        put_str(st, pt->regex);
        put_field(st, rs, pt->field);
        put_u64(st, pt->negated);
        put_u64(st, pt->hs_flags);
    }
    put_group_by(st, rs, rule->group_by, rule->ngroup_by);
    put_u64(st, rule->incident != NULL);
    if (rule->incident)
        put_incident(st, rs, rule->incident);
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

uint64_t cr_corr_def_hash(const struct cr_ruleset *rs, int k)
{
    const struct cr_correlation *co = &rs->corrs[k];
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    put_str(st, "correlation");
    put_str(st, co->id);
    put_str(st, co->title);
    put_u64(st, (uint64_t)co->type);
    put_u64(st, (uint64_t)co->nsteps);
    for (int i = 0; i < co->nsteps; i++) {
        const struct cr_input_ref *in = &co->steps[i];
        put_u64(st, in->is_correlation);
        put_str(st, in->is_correlation ? rs->corrs[in->index].id : rs->rules[in->index].id);
    }
    put_group_by(st, rs, co->group_by, co->ngroup_by);
    for (int i = 0; co->per_step_group_by && i < co->nsteps; i++)
        put_group_by(st, rs, co->step_group_by[i], co->ngroup_by);
    put_u64(st, (uint64_t)co->timespan_ms);
    put_u64(st, co->gte);
    put_u64(st, co->lte);
    put_field(st, rs, co->value_field);
    {
        uint64_t lo, hi;
        memcpy(&lo, &co->num_lo, sizeof lo);
        memcpy(&hi, &co->num_hi, sizeof hi);
        put_u64(st, lo);
        put_u64(st, hi);
        put_u64(st, (uint64_t)co->num_lo_strict << 1 | co->num_hi_strict);
        put_u64(st, co->percentile);
    }
    put_incident(st, rs, &co->incident);
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

void cr_ruleset_diff(const struct cr_ruleset *from, const struct cr_ruleset *to,
                     struct cr_ruleset_diff *d)
{
    memset(d, 0, sizeof *d);
    for (int r = 0; r < to->nrules; r++) {
        int o = cr_ruleset_find_rule(from, to->rules[r].id);
        if (o < 0)
            d->rules_added++;
        else if (cr_rule_def_hash(from, o) != cr_rule_def_hash(to, r))
            d->rules_changed++;
        else
            d->rules_unchanged++;
    }
    for (int r = 0; r < from->nrules; r++)
        d->rules_removed += cr_ruleset_find_rule(to, from->rules[r].id) < 0;
    for (int k = 0; k < to->ncorrs; k++) {
        int o = cr_ruleset_find_corr(from, to->corrs[k].id);
        if (o < 0)
            d->corrs_added++;
        else if (cr_corr_def_hash(from, o) != cr_corr_def_hash(to, k))
            d->corrs_changed++;
        else
            d->corrs_unchanged++;
    }
    for (int k = 0; k < from->ncorrs; k++)
        d->corrs_removed += cr_ruleset_find_corr(to, from->corrs[k].id) < 0;
}
