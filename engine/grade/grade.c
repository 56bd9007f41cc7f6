/*
 * grade.c - see grade.h. Levels and priorities are numbers where smaller is
 * graver (I = 1, P1 = 1), so "raise" is min().
 */
#include "engine/grade/grade.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const lvl[] = {"-", "I", "II", "III", "IV"};
static const char *const tier_name[] = {"-", "T1", "T2", "T3"};

#define LVL(l) ((l) >= 1 && (l) <= 4 ? lvl[l] : "-")
#define TIER(t) ((t) >= 1 && (t) <= 3 ? tier_name[t] : "T3")

static void reason(struct cr_grade *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason(struct cr_grade *g, const char *fmt, ...)
{
    if (g->nreasons >= CR_GRADE_MAX_REASONS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->reasons[g->nreasons++], CR_GRADE_REASON, fmt, ap);
    va_end(ap);
}

void cr_grade_format_duration(int64_t ms, char *buf, size_t len)
{
    int64_t m = ms / 60000;
    if (m >= 60 * 24 && m % (60 * 24) == 0)
        snprintf(buf, len, "%lldd", (long long)(m / 1440));
    else if (m >= 60)
        snprintf(buf, len, m % 60 ? "%lldh%lldm" : "%lldh", (long long)(m / 60),
                 (long long)(m % 60));
    else if (m > 0)
        snprintf(buf, len, "%lldm", (long long)m);
    else
        snprintf(buf, len, "%llds", (long long)(ms / 1000));
}

/* The rung a duration reached on a ladder [L3, L2, L1]: the loss it gives
 * (4 when below the first rung). */
static int ladder_loss(const int64_t rung[3], int64_t d)
{
    if (d >= rung[2] && rung[2] > 0)
        return 1;
    if (d >= rung[1] && rung[1] > 0)
        return 2;
    if (d >= rung[0] && rung[0] > 0)
        return 3;
    return 4;
}

/* The level a duration reached on a trigger ladder [I, II, III, IV] (0 in
 * a rung: none); 0 when below every rung. */
static int ladder_level(const int64_t rung[4], int64_t d)
{
    for (int i = 0; i < 4; i++)
        if (rung[i] > 0 && d >= rung[i])
            return i + 1;
    return 0;
}

static int graver(int a, int b) { return a == 0 ? b : b == 0 ? a : a < b ? a : b; }

/* Step 2 for one system; why names the input that set the loss. */
static int system_loss(const struct cr_grade_policy *p, const struct cr_grade_input *in,
                       const struct cr_grade_system *s, char *why, size_t wl)
{
    int loss = 4;
    char d[32];
    cr_grade_format_duration(in->duration_ms, d, sizeof d);
    snprintf(why, wl, "no loss recorded beyond the incident itself");
    const struct cr_impact *im = &in->impact;
    int l;
    if (im->outage == CR_OUTAGE_FULL &&
        (l = ladder_loss(p->full_outage_ms, in->duration_ms)) < loss) {
        loss = l;
        snprintf(why, wl, "full outage for %s", d);
    } else if (im->outage == CR_OUTAGE_FULL && loss == 4) {
        snprintf(why, wl, "full outage for %s (below the first rung)", d);
    }
    if (im->outage == CR_OUTAGE_MAIN &&
        (l = ladder_loss(p->main_outage_ms, in->duration_ms)) < loss) {
        loss = l;
        snprintf(why, wl, "main-function outage for %s", d);
    }
    static const int data_loss[] = {4, 3, 2, 2, 1};
    if (im->data && im->data <= CR_DATA_KEY_DESTROYED && data_loss[im->data] < loss) {
        loss = data_loss[im->data];
        snprintf(why, wl, "data impact: %s", cr_data_impact_name(im->data));
    }
    if (im->ransomware && 2 < loss) {
        loss = 2;
        snprintf(why, wl, "ransomware on production");
    }
    if (s && s->compromised > 0) {
        int c = s->compromised;
        if (s->hosts > 0 && (int64_t)c * 100 >= p->hosts_l1_pct * s->hosts && 1 < loss) {
            loss = 1;
            snprintf(why, wl, "%d of its %d hosts compromised (>= %lld%%)", c, s->hosts,
                     (long long)p->hosts_l1_pct);
        } else if (c >= p->hosts_l2 && 2 < loss) {
            loss = 2;
            snprintf(why, wl, "%d hosts compromised (>= %lld)", c, (long long)p->hosts_l2);
        } else if (c >= p->hosts_l3 && 3 < loss) {
            loss = 3;
            snprintf(why, wl, "%d host%s compromised", c, c == 1 ? "" : "s");
        }
    }
    return loss;
}

static int64_t records_of(const struct cr_grade_input *in)
{
    return in->has_measure && in->impact.measure == CR_MEASURE_RECORDS ? in->measure : -1;
}

/* Step 3's social-impact triggers; returns the level they reach (0: none). */
static int triggers(const struct cr_grade_policy *p, const struct cr_grade_input *in,
                    struct cr_grade *g)
{
    int level = 0;
    const struct cr_impact *im = &in->impact;
    char d[32];
    cr_grade_format_duration(in->duration_ms, d, sizeof d);
    int64_t rec = records_of(in);
    if (rec >= 0) {
        int l = 0;
        for (int i = 0; i < 4 && !l; i++)
            if (rec >= p->pi_records[i])
                l = i + 1;
        if (rec > 0)
            l = graver(l, (int)p->pi_any_level);
        if (l) {
            reason(g, "trigger: %lld personal-information records leaked -> %s", (long long)rec,
                   LVL(l));
            level = graver(level, l);
        }
    }
    for (int i = 0; i < in->nsystems; i++) {
        const struct cr_grade_system *s = &in->systems[i];
        if (im->outage == CR_OUTAGE_FULL && s->portal) {
            int l = 0;
            if (s->portal == 2)
                l = ladder_level(p->portal_province_ms, in->duration_ms);
            l = graver(l, ladder_level(p->portal_city_ms, in->duration_ms));
            l = graver(l, ladder_level(p->portal_any_ms, in->duration_ms));
            if (l) {
                reason(g, "trigger: %s portal %s unreachable for %s -> %s",
                       s->portal == 2 ? "provincial" : "city", s->id, d, LVL(l));
                level = graver(level, l);
            }
        }
        if (s->cii && (im->outage == CR_OUTAGE_FULL || im->outage == CR_OUTAGE_MAIN)) {
            int l = ladder_level(im->outage == CR_OUTAGE_FULL ? p->cii_full_ms : p->cii_main_ms,
                                 in->duration_ms);
            if (l) {
                reason(g, "trigger: CII system %s %s interrupted for %s -> %s", s->id,
                       im->outage == CR_OUTAGE_FULL ? "wholly" : "in its main function", d, LVL(l));
                level = graver(level, l);
            }
        }
    }
    if (im->deface) {
        int l = ladder_level(im->deface == CR_DEFACE_HOME ? p->deface_home_ms : p->deface_other_ms,
                             in->duration_ms);
        l = graver(l, (int)p->deface_any_level);
        reason(g, "trigger: %s page defaced for %s -> %s",
               im->deface == CR_DEFACE_HOME ? "home" : "a", d, LVL(l));
        level = graver(level, l);
    }
    if (in->economic_loss_cny > 0) {
        int l = 0;
        for (int i = 0; i < 3 && !l; i++)
            if (p->economic_cny[i] > 0 && in->economic_loss_cny >= p->economic_cny[i])
                l = i + 1;
        if (l) {
            reason(g, "trigger: direct economic loss CNY %lld -> %s",
                   (long long)in->economic_loss_cny, LVL(l));
            level = graver(level, l);
        }
    }
    return level;
}

/* Step 4's objective criteria: the most urgent priority they give, and
 * the first criterion that gave it. */
static int criteria(const struct cr_grade_policy *p, const struct cr_grade_input *in, int level,
                    char *why, size_t wl)
{
    const struct cr_impact *im = &in->impact;
    int t1_full = 0, t2_full = 0, outage = im->outage != CR_OUTAGE_NONE;
    for (int i = 0; i < in->nsystems; i++) {
        t1_full |= im->outage == CR_OUTAGE_FULL && in->systems[i].tier == 1;
        t2_full |= im->outage == CR_OUTAGE_FULL && in->systems[i].tier == 2;
    }
    int runtime = in->has_measure && im->measure == CR_MEASURE_RUNTIME;
    int temp = in->has_measure && im->measure == CR_MEASURE_TEMPERATURE;
    char d[32];
    cr_grade_format_duration(p->p1_control_plane_ms, d, sizeof d);
#define GIVE(pr, ...)                                                                              \
    do {                                                                                           \
        snprintf(why, wl, __VA_ARGS__);                                                            \
        return pr;                                                                                 \
    } while (0)
    if (level >= 1 && level <= 3)
        GIVE(1, "level %s", LVL(level));
    if (t1_full)
        GIVE(1, "a T1 system in full outage");
    if (in->ntenants >= p->p1_tenants)
        GIVE(1, "%d tenants impacted (>= %lld)", in->ntenants, (long long)p->p1_tenants);
    if (in->nsystems >= p->p1_systems)
        GIVE(1, "%d systems impacted (>= %lld)", in->nsystems, (long long)p->p1_systems);
    if (im->control_plane && in->duration_ms >= p->p1_control_plane_ms)
        GIVE(1, "cloud control plane down for %s or more", d);
    if (im->mains_lost && runtime && in->measure <= p->p1_ups_runtime_min)
        GIVE(1, "mains lost and UPS runtime %lld min (<= %lld)", (long long)in->measure,
             (long long)p->p1_ups_runtime_min);
    if (temp && in->measure >= p->p1_inlet_c)
        GIVE(1, "inlet at %lld °C (>= %lld)", (long long)in->measure, (long long)p->p1_inlet_c);
    if (im->fire)
        GIVE(1, "fire alarm in a machine room");
    if (im->ransomware)
        GIVE(1, "ransomware on production");
    if (im->lateral)
        GIVE(1, "lateral movement on production");
    if (im->data == CR_DATA_KEY_LEAKED || im->data == CR_DATA_KEY_DESTROYED)
        GIVE(1, "data exfiltration or destruction");
    if (t2_full)
        GIVE(2, "a T2 system in full outage");
    if (in->ntenants >= p->p2_tenants)
        GIVE(2, "%d tenants impacted (>= %lld)", in->ntenants, (long long)p->p2_tenants);
    if (in->nsystems >= p->p2_systems)
        GIVE(2, "%d systems impacted (>= %lld)", in->nsystems, (long long)p->p2_systems);
    if (im->mains_lost || im->on_battery)
        GIVE(2, "%s", im->mains_lost ? "mains lost, on UPS battery" : "UPS on battery");
    if (temp && in->measure >= p->p2_inlet_c)
        GIVE(2, "inlet at %lld °C (>= %lld)", (long long)in->measure, (long long)p->p2_inlet_c);
    if (im->compromised)
        GIVE(2, "a compromised host");
    if (im->deface)
        GIVE(2, "defacement detected");
    if (outage)
        GIVE(3, "a %s outage", cr_outage_name(im->outage));
    if (level == 4)
        GIVE(3, "level IV");
#undef GIVE
    snprintf(why, wl, "no criterion");
    return 4;
}

void cr_grade_compute(const struct cr_grade_policy *p, const struct cr_grade_input *in,
                      struct cr_grade *g)
{
    memset(g, 0, sizeof *g);
    struct cr_grade_system none = {.id = "(no asset)", .tier = (int)p->unknown_tier};
    const struct cr_grade_system *sys = in->systems;
    int nsys = in->nsystems;
    if (nsys == 0) {
        sys = &none;
        nsys = 1;
        reason(g, "no affected asset in the inventory: tier %s by default",
               TIER((int)p->unknown_tier));
    }
    /* steps 1-3a: matrix(tier, loss), the gravest over the systems */
    g->level = 4;
    g->loss = 4;
    g->tier = 3;
    char why[160], best_why[160] = "";
    const char *best = sys[0].id;
    for (int i = 0; i < nsys; i++) {
        int t = sys[i].tier >= 1 && sys[i].tier <= 3 ? sys[i].tier : 3;
        int loss = system_loss(p, in, &sys[i], why, sizeof why);
        int l = (int)p->matrix[t - 1][loss - 1];
        if (i == 0 || l < g->level || (l == g->level && t < g->tier)) {
            g->level = l;
            g->loss = loss;
            g->tier = t;
            best = sys[i].id;
            snprintf(best_why, sizeof best_why, "%s", why);
        }
        g->cii |= sys[i].cii;
    }
    reason(g, "%s (%s): %s -> loss L%d; matrix %s x L%d -> %s", best, TIER(g->tier), best_why,
           g->loss, TIER(g->tier), g->loss, LVL(g->level));
    /* step 3b: the triggers raise it */
    int tl = triggers(p, in, g);
    g->level = graver(g->level, tl);
    g->reportable = g->level <= p->report_min_level;
    /* step 4 */
    int rule = in->rule_priority >= 1 && in->rule_priority <= 4 ? in->rule_priority : 4;
    int crit = criteria(p, in, g->level, why, sizeof why);
    int implied = g->level <= 3 ? 1 : 3;
    g->priority = rule;
    const char *from = "the rule's priority";
    if (crit < g->priority) {
        g->priority = crit;
        from = why;
    }
    if (implied < g->priority) {
        g->priority = implied;
        from = "the level";
    }
    reason(g, "priority P%d: %s", g->priority, from);
}
