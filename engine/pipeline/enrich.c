/*
 * enrich.c - see enrich.h.
 */
#include "engine/pipeline/enrich.h"

#include <string.h>

void cr_enrich_init(struct cr_enrich *e, const struct cr_inventory *inv,
                    const struct cr_ruleset *rs, const char *names)
{
    memset(e, 0, sizeof *e);
    e->inv = inv;
    e->src_field = cr_ruleset_field(rs, "src_ip");
    for (const char *p = names; p && *p && e->nfields < CR_ENRICH_MAX_FIELDS;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char name[128];
        if (n < sizeof name) {
            memcpy(name, p, n);
            name[n] = 0;
            int f = cr_ruleset_field(rs, name);
            if (f >= 0)
                e->fields[e->nfields++] = f;
        }
        p += n + (end ? 1 : 0);
    }
}

static int lookup(const struct cr_inventory *inv, const char *v, size_t n)
{
    int a = cr_inventory_by_name(inv, v, n);
    if (a < 0)
        a = cr_inventory_by_ip(inv, v, n);
    if (a < 0)
        a = cr_inventory_by_account(inv, v, n);
    if (a < 0)
        a = cr_inventory_by_namespace(inv, v, n);
    return a;
}

int cr_enrich_asset(const struct cr_enrich *e, const struct cr_event *ev)
{
    if (!e->inv)
        return -1;
    for (int i = 0; i < e->nfields; i++) {
        unsigned f = (unsigned)e->fields[i];
        if (!cr_event_has(ev, f) || ev->f[f].len == 0)
            continue;
        int a = lookup(e->inv, ev->f[f].p, ev->f[f].len);
        if (a >= 0)
            return a;
    }
    return -1;
}

int cr_enrich_source(const struct cr_enrich *e, const struct cr_event *ev)
{
    if (!e->inv || e->src_field < 0)
        return -1;
    unsigned f = (unsigned)e->src_field;
    if (!cr_event_has(ev, f) || ev->f[f].len == 0)
        return -1;
    return cr_inventory_by_ip(e->inv, ev->f[f].p, ev->f[f].len);
}

int cr_event_number(const struct cr_event *ev, int f, int64_t *out)
{
    if (f < 0 || !cr_event_has(ev, (unsigned)f))
        return 0;
    const char *p = ev->f[f].p;
    size_t n = ev->f[f].len, i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    int neg = i < n && p[i] == '-';
    i += neg;
    if (i >= n || p[i] < '0' || p[i] > '9')
        return 0;
    int64_t v = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        if (v > (INT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out = neg ? -v : v;
    return 1;
}
