/*
 * matcher.c - per-thread matching; see matcher.h for the contract.
 *
 * The shape follows Suricata's prefilter engine (architecture.md B.3):
 *  1. one hs_scan per field database whose field the event has; the
 *     callback only records which pattern hit (a byte per pattern, a
 *     counter per rule, and lists of what it touched so resetting costs
 *     what the event touched, not the size of the ruleset);
 *  2. the touched rules are sorted and merged with the unconditional ones
 *     (no positive pattern), giving candidates in rule order;
 *  3. per candidate, cheapest first: every positive pattern hit, `where`
 *     predicates (memcmp), negated hits (confirmed by PCRE2 when Hyperscan
 *     only prefiltered them), then PCRE2 for prefiltered and capturing
 *     patterns. Captures are buffered and written into the event only when
 *     the whole rule matched, so a rule that fails leaves no trace.
 *  4. a Sigma rule (r->expr) instead evaluates its condition: a postfix
 *     program over atoms, each pattern atom true when one of its patterns
 *     hit (PCRE2 confirming a prefilter once per event), the others (exists,
 *     null, cidr, numbers, fieldref) read from the event's fields.
 *
 * The callback reads a compact per-pattern record (rule index << 3 | exact
 * << 2 | gate << 1 | negated, and the Sigma atom the pattern belongs to) instead of
 * struct cr_pattern, to keep the scan's memory traffic to one small array.
 *
 * Why the atom: a Sigma candidate's condition reads every atom it reaches,
 * and most atoms of a candidate have no hit at all (a rule is a candidate
 * because one of its dozens of values hit). A per-atom "some pattern of
 * mine hit" byte, set by the callback, makes such an atom one load instead
 * of a walk over its patterns. It is kept only for atoms that own all their
 * patterns (a pattern shared by several atoms, as logsource gates are, has
 * no single atom to mark): for the others the byte stays 1 and the walk
 * decides, as before.
 *
 * Logsource selects are decided once per event: Sigma rules of one
 * logsource have the same select (`Channel: ...Sysmon/Operational` and
 * `EventID: 1` for 1,183 process_creation rules), so rules whose selects
 * are equal (same steps, same atoms, same patterns) share a gate number,
 * and the first candidate of the event to ask evaluates it for all. About
 * nine in ten Sigma candidates of a Windows record fail their select
 * (Image is a field of every category); they are now dropped on one load
 * of a byte, without reading the rule.
 *
 * The fields that logsource selects read (Channel, EventID...) are scanned
 * first; then the selects are known for the other fields' scans, and
 *  - a database all of whose patterns belong to rules whose selects failed
 *    is not scanned at all (a Windows record's fields for the Linux rules);
 *  - a hit is not recorded for a rule whose select failed (`\powershell.exe$`
 *    on Image is one compiled pattern reported for some 400 rules of a
 *    dozen logsources), unless other rules share that pattern. The
 *    patterns a hit stands for (the compiled one and its duplicates,
 *    rs->same_next) are laid out per Hyperscan id, grouped by select, so a
 *    failed select skips its group in one step and the rest is read in
 *    sequence (struct chain_ent).
 * A rule is skipped only when its select is false, which makes it false:
 * the matches are those of scanning and recording everything.
 *
 * Candidates are put in rule order with a bitmap of the touched rules
 * (words of 64 rules) ORed with that of the unconditional ones: an event
 * touches dozens of Sigma rules, which sorting cost more than walking
 * nrules / 64 words.
 *
 * Fields filled by captures are not scanned by Hyperscan for the same
 * event (scans happen first); a rule can match on a captured field only
 * through `where`, which runs after earlier rules' captures were written.
 */
#include "rules/matcher.h"

#include "rules/pcre_confirm.h"

#include <arpa/inet.h>
#include <hs/hs.h>
#include <stdlib.h>
#include <string.h>

/* pat_info.atom of a pattern that belongs to no Sigma atom, or to several */
#define ATOM_NONE UINT32_MAX
/* gate_of of a rule without a logsource select */
#define NO_GATE UINT32_MAX

struct pat_info {
    uint32_t word; /* rule << 3 | exact << 2 | gate << 1 | negated */
    uint32_t atom; /* the one Sigma atom (matcher numbering) it marks, or ATOM_NONE */
    uint32_t gate; /* its rule's select when only that rule reads the pattern, else NO_GATE */
};

/* One pattern a Hyperscan id stands for. ch[ch_off[base + id] ..
 * ch_off[base + id + 1]) are those of id in the database whose base is
 * ch_base[db], grouped by gate; next is the first entry of the next group. */
struct chain_ent {
    uint32_t pat, gate, next;
};

/* A database's selects: it need not be scanned when all are false. */
struct db_gates {
    uint32_t at, n; /* db_gate[at .. at + n) */
    uint8_t always; /* a pattern of a rule without select, or shared, or too many selects */
};
#define DB_MAX_GATES 32

struct cr_matcher {
    const struct cr_ruleset *rs;
    hs_scratch_t *scratch;
    struct cr_pcre_thread pt;
    const uint32_t *cur_off; /* ch_off + ch_base[database being scanned] */
    struct chain_ent *ch;
    uint32_t *ch_off, *ch_base;
    struct pat_info *pinfo; /* per pattern */
    uint8_t *pat_hit;       /* per pattern: reported in this event */
    uint32_t *touched_pats;
    int ntouched_pats;
    uint16_t *pos_hits;  /* per rule: positive patterns that hit */
    uint8_t *neg_hit;    /* per rule: some negated pattern hit */
    uint64_t *rule_bm;   /* per rule, a bit: touched in this event */
    uint64_t *uncond_bm; /* per rule, a bit: unconditional */
    int nwords;          /* of both bitmaps */
    uint32_t *touched_rules;
    int ntouched_rules;
    uint32_t *cand; /* touched + unconditional, in rule order */
    /* Sigma atoms, numbered rule by rule from atom_base[rule]: atom_hit is 1
     * when a pattern of the atom hit in this event, and always 1 for atoms
     * that share a pattern (their patterns are walked). */
    uint32_t *atom_base;
    uint8_t *atom_hit;
    /* Conditions as trees (tree_true): per rule the offset of its
     * detection's spans in span[], its select's after them; tree_ok bit 0
     * the detection, bit 1 the select can be evaluated so. */
    uint32_t *span_base;
    uint32_t *span;
    uint8_t *tree_ok;
    /* Logsource selects: per rule its gate number (NO_GATE: none); per gate
     * 0 not evaluated in this event, 1 true, 2 false. */
    uint32_t *gate_of;
    uint32_t *gate_rule; /* per gate: a rule that has it (its program is evaluated) */
    uint8_t *gate_state;
    uint32_t *touched_gates;
    int ntouched_gates;
    uint64_t gate_fields[CR_FIELD_WORDS]; /* fields the selects' patterns are on */
    struct db_gates *dbg;                 /* per database (rs->hs) */
    uint32_t *db_gate;
    int selects_known; /* scanning the other fields: gate_true may be asked */
    const struct cr_event *cur_ev;
    uint8_t *stack; /* Sigma condition evaluation, max_expr_depth deep */
    /* Derived fields' values for the current event (rs->derived): grown to
     * the largest event seen, so steady state allocates nothing. */
    char *xf_buf;
    size_t xf_cap;
    struct cr_matcher_stats st;
};

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        abort();
    return p;
}

/* Number the Sigma atoms and give each pattern the one atom it belongs to
 * (pinfo.atom); an atom with a pattern it shares keeps atom_hit at 1. */
static void init_atoms(struct cr_matcher *m)
{
    const struct cr_ruleset *rs = m->rs;
    size_t natoms = 0;
    m->atom_base = xcalloc((size_t)rs->nrules, sizeof *m->atom_base);
    for (int r = 0; r < rs->nrules; r++) {
        m->atom_base[r] = (uint32_t)natoms;
        if (rs->rules[r].expr)
            natoms += (size_t)rs->rules[r].expr->natoms;
    }
    if (natoms >= ATOM_NONE - 1)
        abort(); /* four billion atoms: cannot be loaded anyway */
    m->atom_hit = xcalloc(natoms, 1);
    uint8_t *shared = xcalloc((size_t)rs->npatterns, 1); /* in more than one atom */
    for (int pass = 0; pass < 2; pass++) {
        for (int r = 0; r < rs->nrules; r++) {
            const struct cr_expr *e = rs->rules[r].expr;
            if (!e)
                continue;
            for (int a = 0; a < e->natoms; a++) {
                const struct cr_atom *at = &e->atoms[a];
                uint32_t g = m->atom_base[r] + (uint32_t)a;
                if (at->kind != CR_ATOM_PATTERNS) {
                    m->atom_hit[g] = 1; /* atom_true reads the event */
                    continue;
                }
                if (pass == 0) { /* who references each pattern */
                    for (uint32_t i = 0; i < at->npat; i++) {
                        struct pat_info *pi = &m->pinfo[e->pat_idx[at->pat + i]];
                        if (pi->atom == ATOM_NONE && !shared[e->pat_idx[at->pat + i]])
                            pi->atom = g;
                        else if (pi->atom != g) {
                            pi->atom = ATOM_NONE;
                            shared[e->pat_idx[at->pat + i]] = 1;
                        }
                    }
                    continue;
                }
                int own = 1; /* pass 1: does the atom own all its patterns? */
                for (uint32_t i = 0; i < at->npat && own; i++)
                    own = m->pinfo[e->pat_idx[at->pat + i]].atom == g;
                if (own)
                    continue;
                m->atom_hit[g] = 1;
                for (uint32_t i = 0; i < at->npat; i++)
                    m->pinfo[e->pat_idx[at->pat + i]].atom = ATOM_NONE;
            }
        }
    }
    free(shared);
}

/* span[i] for a postfix program: the first step of the subtree ending at i.
 * Returns 0 if the program is well formed (one value left, never an
 * operand short) and its tree at most TREE_MAX_DEPTH deep (tree_true
 * recurses), else -1: then the postfix loop evaluates it. */
#define TREE_MAX_DEPTH 64
static int tree_spans(const struct cr_expr_step *prog, int n, uint32_t *span, uint32_t *st,
                      uint8_t *dep)
{
    int sp = 0;
    for (int i = 0; i < n; i++) {
        const struct cr_expr_step *p = &prog[i];
        uint32_t start = (uint32_t)i;
        uint8_t d = 1;
        if (p->op == CR_OP_NOT) {
            if (sp < 1)
                return -1;
            start = st[sp - 1];
            d = (uint8_t)(dep[sp - 1] + 1);
            sp--;
        } else if (p->op != CR_OP_ATOM && p->op != CR_OP_TRUE && p->op != CR_OP_FALSE) {
            if (p->arg < 1 || (uint32_t)sp < p->arg)
                return -1;
            for (uint32_t j = 0; j < p->arg; j++) {
                sp--;
                if (dep[sp] + 1 > d)
                    d = (uint8_t)(dep[sp] + 1);
                start = st[sp];
            }
        }
        if (d > TREE_MAX_DEPTH)
            return -1;
        span[i] = start;
        st[sp] = start;
        dep[sp++] = d;
    }
    return sp == 1 ? 0 : -1;
}

static void init_trees(struct cr_matcher *m)
{
    const struct cr_ruleset *rs = m->rs;
    size_t total = 0, most = 1;
    m->span_base = xcalloc((size_t)rs->nrules, sizeof *m->span_base);
    m->tree_ok = xcalloc((size_t)rs->nrules, 1);
    for (int r = 0; r < rs->nrules; r++) {
        const struct cr_expr *e = rs->rules[r].expr;
        m->span_base[r] = (uint32_t)total;
        if (!e)
            continue;
        total += (size_t)e->nprog + (size_t)e->ngate;
        if ((size_t)e->nprog > most)
            most = (size_t)e->nprog;
        if ((size_t)e->ngate > most)
            most = (size_t)e->ngate;
    }
    if (total >= UINT32_MAX)
        abort();
    m->span = xcalloc(total, sizeof *m->span);
    uint32_t *st = xcalloc(most, sizeof *st);
    uint8_t *dep = xcalloc(most, 1);
    for (int r = 0; r < rs->nrules; r++) {
        const struct cr_expr *e = rs->rules[r].expr;
        if (!e)
            continue;
        uint32_t *sp = m->span + m->span_base[r];
        if (e->nprog > 0 && tree_spans(e->prog, e->nprog, sp, st, dep) == 0)
            m->tree_ok[r] |= 1;
        if (e->ngate > 0 && tree_spans(e->gate, e->ngate, sp + e->nprog, st, dep) == 0)
            m->tree_ok[r] |= 2;
    }
    free(st);
    free(dep);
}

static const uint32_t *prog_span(const struct cr_matcher *m, uint32_t ri)
{
    return m->tree_ok[ri] & 1 ? m->span + m->span_base[ri] : NULL;
}

static const uint32_t *gate_span(const struct cr_matcher *m, uint32_t ri)
{
    return m->tree_ok[ri] & 2 ? m->span + m->span_base[ri] + m->rs->rules[ri].expr->nprog : NULL;
}

/* Equal atoms: the same test of the same fields with the same patterns. */
static int atom_same(const struct cr_expr *x, const struct cr_atom *a, const struct cr_expr *y,
                     const struct cr_atom *b)
{
    if (a->kind != b->kind || a->op != b->op || a->prefix != b->prefix || a->nalt != b->nalt ||
        a->nref != b->nref || a->npat != b->npat || memcmp(a->net, b->net, sizeof a->net) != 0 ||
        memcmp(&a->num, &b->num, sizeof a->num) != 0)
        return 0;
    for (int i = 0; i < a->nalt && i < CR_ATOM_MAX_ALT; i++)
        if (a->fields[i] != b->fields[i])
            return 0;
    for (int i = 0; i < a->nref && i < CR_ATOM_MAX_ALT; i++)
        if (a->ref_fields[i] != b->ref_fields[i])
            return 0;
    for (uint32_t i = 0; i < a->npat; i++)
        if (x->pat_idx[a->pat + i] != y->pat_idx[b->pat + i])
            return 0;
    return 1;
}

static int gate_same(const struct cr_expr *x, const struct cr_expr *y)
{
    if (x->ngate != y->ngate)
        return 0;
    for (int i = 0; i < x->ngate; i++) {
        const struct cr_expr_step *a = &x->gate[i], *b = &y->gate[i];
        if (a->op != b->op)
            return 0;
        if (a->op == CR_OP_ATOM ? !atom_same(x, &x->atoms[a->arg], y, &y->atoms[b->arg])
                                : a->arg != b->arg)
            return 0;
    }
    return 1;
}

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull; }

static uint64_t gate_hash(const struct cr_expr *e)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < e->ngate; i++) {
        const struct cr_expr_step *st = &e->gate[i];
        h = mix(h, st->op);
        if (st->op != CR_OP_ATOM) {
            h = mix(h, st->arg);
            continue;
        }
        const struct cr_atom *a = &e->atoms[st->arg];
        h = mix(h, (uint64_t)a->kind << 8 | a->nalt);
        for (int f = 0; f < a->nalt && f < CR_ATOM_MAX_ALT; f++)
            h = mix(h, a->fields[f]);
        for (uint32_t p = 0; p < a->npat; p++)
            h = mix(h, e->pat_idx[a->pat + p]);
    }
    return h;
}

static int bm_has(const uint64_t *bm, unsigned f) { return (int)((bm[f / 64] >> (f % 64)) & 1); }

/* Does the select read a field some rule's capture can set? Then it can
 * change between candidates (captures are written as rules match), and it
 * is evaluated for each candidate, as the rule comes. */
static int gate_reads_captured(const struct cr_ruleset *rs, const struct cr_expr *e,
                               const uint64_t *cap)
{
    for (int i = 0; i < e->ngate; i++) {
        if (e->gate[i].op != CR_OP_ATOM)
            continue;
        const struct cr_atom *a = &e->atoms[e->gate[i].arg];
        for (int f = 0; f < a->nalt && f < CR_ATOM_MAX_ALT; f++)
            if (bm_has(cap, a->fields[f]))
                return 1;
        for (int f = 0; f < a->nref && f < CR_ATOM_MAX_ALT; f++)
            if (bm_has(cap, a->ref_fields[f]))
                return 1;
        for (uint32_t p = 0; p < a->npat; p++)
            if (bm_has(cap, rs->patterns[e->pat_idx[a->pat + p]].field))
                return 1;
    }
    return 0;
}

/* Number the distinct logsource selects (gate_same) of the Sigma rules. */
static void init_gates(struct cr_matcher *m)
{
    const struct cr_ruleset *rs = m->rs;
    uint64_t captured[CR_FIELD_WORDS] = {0};
    for (int r = 0; r < rs->nrules; r++)
        for (int w = 0; w < CR_FIELD_WORDS; w++)
            captured[w] |= rs->rules[r].capture_fields[w];
    size_t cap = 16;
    while (cap < 2 * (size_t)rs->nrules)
        cap *= 2;
    uint32_t *slot = xcalloc(cap, sizeof *slot); /* 1 + the rule that first had the gate */
    uint64_t *key = xcalloc(cap, sizeof *key);
    m->gate_of = xcalloc((size_t)rs->nrules, sizeof *m->gate_of);
    uint32_t ngates = 0;
    for (int r = 0; r < rs->nrules; r++) {
        const struct cr_expr *e = rs->rules[r].expr;
        m->gate_of[r] = NO_GATE;
        if (!e || e->ngate == 0 || gate_reads_captured(rs, e, captured))
            continue;
        uint64_t h = gate_hash(e);
        size_t i = (size_t)h & (cap - 1);
        for (; slot[i]; i = (i + 1) & (cap - 1))
            if (key[i] == h && gate_same(rs->rules[slot[i] - 1].expr, e))
                break;
        if (!slot[i]) {
            slot[i] = (uint32_t)r + 1;
            key[i] = h;
            m->gate_of[r] = ngates++;
        } else {
            m->gate_of[r] = m->gate_of[slot[i] - 1];
        }
    }
    free(slot);
    free(key);
    m->gate_state = xcalloc(ngates, 1);
    m->touched_gates = xcalloc(ngates, sizeof *m->touched_gates);
    m->gate_rule = xcalloc(ngates, sizeof *m->gate_rule);
    for (int r = rs->nrules - 1; r >= 0; r--)
        if (m->gate_of[r] != NO_GATE)
            m->gate_rule[m->gate_of[r]] = (uint32_t)r;
}

static int cmp_ent(const void *a, const void *b)
{
    const struct chain_ent *x = a, *y = b;
    if (x->gate != y->gate)
        return x->gate < y->gate ? -1 : 1;
    return (x->pat > y->pat) - (x->pat < y->pat);
}

/* ch, ch_off, ch_base from rs->hs and rs->same_next (see struct chain_ent). */
static void init_chains(struct cr_matcher *m)
{
    const struct cr_ruleset *rs = m->rs;
    size_t nids = 0;
    m->ch_base = xcalloc((size_t)rs->nhs + 1, sizeof *m->ch_base);
    for (int h = 0; h < rs->nhs; h++) {
        m->ch_base[h] = (uint32_t)nids;
        nids += (size_t)rs->hs[h].npat + 1;
    }
    m->ch_off = xcalloc(nids + 1, sizeof *m->ch_off);
    m->ch = xcalloc((size_t)rs->npatterns + 1, sizeof *m->ch);
    uint32_t n = 0;
    for (int h = 0; h < rs->nhs; h++) {
        const struct cr_hs_field *hf = &rs->hs[h];
        uint32_t *off = m->ch_off + m->ch_base[h];
        for (int k = 0; k < hf->npat; k++) {
            off[k] = n;
            uint32_t first = n;
            for (uint32_t p = hf->pattern_of_id[k]; p != UINT32_MAX && n < (uint32_t)rs->npatterns;
                 p = rs->same_next[p]) {
                m->ch[n].pat = p;
                m->ch[n++].gate = m->pinfo[p].gate;
            }
            qsort(m->ch + first, n - first, sizeof *m->ch, cmp_ent);
            for (uint32_t e = n; e-- > first;)
                m->ch[e].next =
                    e + 1 < n && m->ch[e + 1].gate == m->ch[e].gate ? m->ch[e + 1].next : e + 1;
        }
        off[hf->npat] = n;
    }
}

/* What the scan order needs (see the top of the file): the selects' fields,
 * each pattern's select when only its rule reads it, each database's
 * selects. */
static void init_scan_order(struct cr_matcher *m)
{
    const struct cr_ruleset *rs = m->rs;
    uint8_t *shared = xcalloc((size_t)rs->npatterns, 1);
    uint32_t *owner = xcalloc((size_t)rs->npatterns, sizeof *owner); /* 1 + reading rule */
    for (int r = 0; r < rs->nrules; r++) {
        const struct cr_expr *e = rs->rules[r].expr;
        if (!e)
            continue;
        for (int a = 0; a < e->natoms; a++) {
            const struct cr_atom *at = &e->atoms[a];
            if (at->kind != CR_ATOM_PATTERNS)
                continue;
            for (uint32_t i = 0; i < at->npat; i++) {
                uint32_t p = e->pat_idx[at->pat + i];
                if (owner[p] && owner[p] != (uint32_t)r + 1)
                    shared[p] = 1;
                owner[p] = (uint32_t)r + 1;
            }
        }
        for (int i = 0; i < e->ngate; i++) {
            if (e->gate[i].op != CR_OP_ATOM || e->atoms[e->gate[i].arg].kind != CR_ATOM_PATTERNS)
                continue;
            const struct cr_atom *at = &e->atoms[e->gate[i].arg];
            for (uint32_t k = 0; k < at->npat; k++) {
                unsigned f = rs->patterns[e->pat_idx[at->pat + k]].field;
                m->gate_fields[f / 64] |= 1ull << (f % 64);
            }
        }
    }
    for (int p = 0; p < rs->npatterns; p++) {
        uint32_t r = rs->patterns[p].rule;
        /* owner 0: no atom reads it (a corral rule's pattern) */
        int only_own = !shared[p] && (owner[p] == 0 || owner[p] == r + 1);
        m->pinfo[p].gate = only_own ? m->gate_of[r] : NO_GATE;
    }
    m->dbg = xcalloc((size_t)rs->nhs + 1, sizeof *m->dbg);
    m->db_gate = xcalloc((size_t)rs->nhs * DB_MAX_GATES + 1, sizeof *m->db_gate);
    for (int h = 0; h < rs->nhs; h++) {
        const struct cr_hs_field *hf = &rs->hs[h];
        struct db_gates *d = &m->dbg[h];
        d->at = (uint32_t)h * DB_MAX_GATES;
        unsigned f = hf->field;
        d->always = (m->gate_fields[f / 64] >> (f % 64)) & 1; /* scanned first anyway */
        for (int k = 0; k < hf->npat && !d->always; k++) {
            for (uint32_t p = hf->pattern_of_id[k]; p != UINT32_MAX && !d->always;
                 p = rs->same_next[p]) {
                uint32_t g = m->pinfo[p].gate, i;
                if (g == NO_GATE) {
                    d->always = 1;
                    break;
                }
                for (i = 0; i < d->n && m->db_gate[d->at + i] != g; i++)
                    ;
                if (i < d->n)
                    continue;
                if (d->n == DB_MAX_GATES)
                    d->always = 1;
                else
                    m->db_gate[d->at + d->n++] = g;
            }
        }
    }
    free(shared);
    free(owner);
    init_chains(m);
}

struct cr_matcher *cr_matcher_new(const struct cr_ruleset *rs)
{
    struct cr_matcher *m = xcalloc(1, sizeof *m);
    m->rs = rs;
    if (rs->scratch_proto && hs_clone_scratch(rs->scratch_proto, &m->scratch) != HS_SUCCESS) {
        free(m);
        return NULL;
    }
    if (cr_pcre_thread_init(&m->pt, rs->max_captures) != 0) {
        if (m->scratch)
            hs_free_scratch(m->scratch);
        free(m);
        return NULL;
    }
    size_t np = (size_t)rs->npatterns, nr = (size_t)rs->nrules;
    if (nr >= (size_t)1 << 29)
        abort(); /* pat_info.word holds the rule in 29 bits */
    m->pinfo = xcalloc(np, sizeof *m->pinfo);
    m->pat_hit = xcalloc(np, 1);
    m->touched_pats = xcalloc(np, sizeof *m->touched_pats);
    m->pos_hits = xcalloc(nr, sizeof *m->pos_hits);
    m->neg_hit = xcalloc(nr, 1);
    m->nwords = (int)((nr + 63) / 64);
    m->rule_bm = xcalloc((size_t)m->nwords, sizeof *m->rule_bm);
    m->uncond_bm = xcalloc((size_t)m->nwords, sizeof *m->uncond_bm);
    m->touched_rules = xcalloc(nr, sizeof *m->touched_rules);
    m->cand = xcalloc(nr, sizeof *m->cand);
    m->stack = xcalloc((size_t)rs->max_expr_depth + 1, 1);
    for (int i = 0; i < rs->nunconditional; i++)
        m->uncond_bm[rs->unconditional[i] >> 6] |= 1ull << (rs->unconditional[i] & 63);
    for (size_t i = 0; i < np; i++) {
        m->pinfo[i].word = rs->patterns[i].rule << 3 |
                           (uint32_t)(rs->patterns[i].kind == CR_PAT_EXACT) << 2 |
                           (uint32_t)rs->patterns[i].gate << 1 | rs->patterns[i].negated;
        m->pinfo[i].atom = ATOM_NONE;
    }
    init_atoms(m);
    init_trees(m);
    init_gates(m);
    init_scan_order(m);
    return m;
}

void cr_matcher_free(struct cr_matcher *m)
{
    if (!m)
        return;
    if (m->scratch)
        hs_free_scratch(m->scratch);
    cr_pcre_thread_free(&m->pt);
    free(m->xf_buf);
    free(m->pinfo);
    free(m->pat_hit);
    free(m->touched_pats);
    free(m->pos_hits);
    free(m->neg_hit);
    free(m->rule_bm);
    free(m->uncond_bm);
    free(m->atom_base);
    free(m->atom_hit);
    free(m->span_base);
    free(m->span);
    free(m->tree_ok);
    free(m->gate_of);
    free(m->gate_state);
    free(m->gate_rule);
    free(m->ch);
    free(m->ch_off);
    free(m->ch_base);
    free(m->dbg);
    free(m->db_gate);
    free(m->touched_gates);
    free(m->touched_rules);
    free(m->cand);
    free(m->stack);
    free(m);
}

const struct cr_matcher_stats *cr_matcher_stats(const struct cr_matcher *m) { return &m->st; }

static int gate_eval(struct cr_matcher *m, uint32_t g, const struct cr_event *ev);

/* A logsource select (gate g), once per event for all the rules that have
 * it. Only once the fields it reads were scanned. */
static inline int gate_true(struct cr_matcher *m, uint32_t g, const struct cr_event *ev)
{
    uint8_t st = m->gate_state[g];
    return st ? st == 1 : gate_eval(m, g, ev);
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *ctx)
{
    struct cr_matcher *m = ctx;
    /* the compiled pattern and the identical ones of other rules (hs_db.c) */
    for (uint32_t e = m->cur_off[id], end = m->cur_off[id + 1]; e < end;) {
        const struct chain_ent *ce = &m->ch[e];
        if (m->selects_known && ce->gate != NO_GATE && !gate_true(m, ce->gate, m->cur_ev)) {
            e = ce->next; /* only their rules read them, and those rules' select failed */
            continue;
        }
        e++;
        uint32_t p = ce->pat;
        if (m->pat_hit[p])
            continue; /* SINGLEMATCH makes this rare; it keeps the counters honest */
        const struct pat_info *pi = &m->pinfo[p];
        uint32_t w = pi->word, r = w >> 3;
        m->pat_hit[p] = w & 4 ? 2 : 1; /* 2: true (pat_true), without reading the pattern */
        m->touched_pats[m->ntouched_pats++] = p;
        if (pi->atom != ATOM_NONE)
            m->atom_hit[pi->atom] = 1;
        if (w & 2)
            continue; /* a logsource gate: recorded, not a candidate */
        if (w & 1)
            m->neg_hit[r] = 1;
        else
            m->pos_hits[r]++;
        uint64_t bit = 1ull << (r & 63);
        if (!(m->rule_bm[r >> 6] & bit)) {
            m->rule_bm[r >> 6] |= bit;
            m->touched_rules[m->ntouched_rules++] = r;
        }
    }
    return 0;
}

static int where_ok(const struct cr_rule *r, const struct cr_event *ev)
{
    for (int i = 0; i < r->nwhere; i++) {
        const struct cr_where *w = &r->where[i];
        int eq = 0;
        if (cr_event_has(ev, w->field)) {
            const struct cr_slice *s = &ev->f[w->field];
            for (int v = 0; v < w->nvals && !eq; v++)
                eq = s->len == w->lens[v] && memcmp(s->p, w->vals[v], s->len) == 0;
        }
        if (eq == w->negate)
            return 0;
    }
    return 1;
}

/* PCRE2 on the pattern's field. 1 match, 0 no match (errors count as no match). */
static int run_pcre(struct cr_matcher *m, const struct cr_pattern *p, const struct cr_event *ev)
{
    const struct cr_slice *s = &ev->f[p->field];
    m->st.pcre_runs++;
    int rc = cr_pcre_run(&m->pt, p, s->p ? s->p : "", s->len);
    if (rc < 0) {
        m->st.pcre_errors++;
        return 0;
    }
    return rc;
}

/* ---- Sigma detections (ruleset.h struct cr_expr) ---- */

/* A pattern of an atom: hit and (for a prefilter) confirmed by PCRE2. The
 * confirmation is remembered in pat_hit (2 yes, 3 no) for the event. */
static int pat_true(struct cr_matcher *m, uint32_t pi, const struct cr_event *ev)
{
    uint8_t h = m->pat_hit[pi];
    if (h == 0 || h == 3)
        return 0;
    const struct cr_pattern *p = &m->rs->patterns[pi];
    if (h == 2 || p->kind == CR_PAT_EXACT)
        return 1;
    int ok = run_pcre(m, p, ev);
    m->pat_hit[pi] = ok ? 2 : 3;
    return ok;
}

static int ascii_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return 0;
    }
    return 1;
}

static int cidr_has(const struct cr_atom *a, const struct cr_slice *s)
{
    char buf[64];
    unsigned char addr[16];
    if (s->len == 0 || s->len >= sizeof buf)
        return 0;
    memcpy(buf, s->p, s->len);
    buf[s->len] = 0;
    if (inet_pton(a->op == 4 ? AF_INET : AF_INET6, buf, addr) != 1)
        return 0;
    unsigned full = a->prefix / 8, rest = a->prefix % 8;
    if (memcmp(addr, a->net, full) != 0)
        return 0;
    if (rest) {
        unsigned char mask = (unsigned char)(0xff << (8 - rest));
        return (addr[full] & mask) == (a->net[full] & mask);
    }
    return 1;
}

static int num_cmp(const struct cr_atom *a, const struct cr_slice *s)
{
    char buf[64], *end;
    if (s->len == 0 || s->len >= sizeof buf)
        return 0;
    memcpy(buf, s->p, s->len);
    buf[s->len] = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end)
        return 0;
    switch (a->op) {
    case CR_NUM_LT:
        return v < a->num;
    case CR_NUM_LTE:
        return v <= a->num;
    case CR_NUM_GT:
        return v > a->num;
    default:
        return v >= a->num;
    }
}

static int atom_true(struct cr_matcher *m, const struct cr_expr *e, const struct cr_atom *a,
                     uint32_t g, const struct cr_event *ev)
{
    if (!m->atom_hit[g])
        return 0; /* patterns, none of which hit (other atoms are always 1): a is not read */
    if (a->kind == CR_ATOM_PATTERNS) {
        for (uint32_t i = 0; i < a->npat; i++)
            if (pat_true(m, e->pat_idx[a->pat + i], ev))
                return 1;
        return 0;
    }
    int any_present = 0;
    for (int f = 0; f < a->nalt; f++) {
        if (!cr_event_has(ev, a->fields[f]))
            continue;
        any_present = 1;
        const struct cr_slice *s = &ev->f[a->fields[f]];
        switch (a->kind) {
        case CR_ATOM_EXISTS:
            return 1;
        case CR_ATOM_NULL:
        case CR_ATOM_EMPTY:
            if (s->len == 0)
                return 1;
            break;
        case CR_ATOM_CIDR:
            if (cidr_has(a, s))
                return 1;
            break;
        case CR_ATOM_NUM:
            if (num_cmp(a, s))
                return 1;
            break;
        case CR_ATOM_FIELDREF:
            for (int r = 0; r < a->nref; r++)
                if (cr_event_has(ev, a->ref_fields[r]) && ev->f[a->ref_fields[r]].len == s->len &&
                    ascii_ieq(ev->f[a->ref_fields[r]].p, s->p, s->len))
                    return 1;
            break;
        }
    }
    return a->kind == CR_ATOM_NULL && !any_present;
}

/* The condition as a tree, from its last step down: an AND stops at its
 * first false operand, an OR at its first true one, so a rule whose
 * selection failed does not read its filters. span[i] is the first step of
 * the subtree that ends at step i (tree_spans). Operands are evaluated in
 * the rule's order (up to 32 of them; beyond, last first). The result is
 * the postfix program's: the atoms have no effect but caching. */
#define TREE_MAX_ARGS 32
static int tree_true(struct cr_matcher *m, const struct cr_expr *e, uint32_t abase,
                     const struct cr_expr_step *prog, const uint32_t *span, uint32_t i,
                     const struct cr_event *ev)
{
    const struct cr_expr_step *p = &prog[i];
    switch (p->op) {
    case CR_OP_ATOM:
        return atom_true(m, e, &e->atoms[p->arg], abase + p->arg, ev);
    case CR_OP_TRUE:
        return 1;
    case CR_OP_FALSE:
        return 0;
    case CR_OP_NOT:
        return !tree_true(m, e, abase, prog, span, i - 1, ev);
    default: {
        int is_and = p->op == CR_OP_AND; /* anything else reduces as OR, as prog_true does */
        uint32_t k = p->arg, end[TREE_MAX_ARGS];
        if (k <= TREE_MAX_ARGS) {
            uint32_t at = i - 1;
            for (uint32_t j = k; j-- > 0;) {
                end[j] = at;
                at = span[at] - 1;
            }
            for (uint32_t j = 0; j < k; j++)
                if (tree_true(m, e, abase, prog, span, end[j], ev) != is_and)
                    return !is_and;
            return is_and;
        }
        for (uint32_t j = 0, at = i - 1; j < k; j++, at = span[at] - 1)
            if (tree_true(m, e, abase, prog, span, at, ev) != is_and)
                return !is_and;
        return is_and;
    }
    }
}

static int prog_true(struct cr_matcher *m, const struct cr_expr *e, uint32_t abase,
                     const struct cr_expr_step *prog, int nprog, const uint32_t *span,
                     const struct cr_event *ev)
{
    if (span)
        return tree_true(m, e, abase, prog, span, (uint32_t)nprog - 1, ev);
    uint8_t *st = m->stack;
    int sp = 0;
    for (int i = 0; i < nprog; i++) {
        const struct cr_expr_step *p = &prog[i];
        switch (p->op) {
        case CR_OP_ATOM:
            st[sp++] = (uint8_t)atom_true(m, e, &e->atoms[p->arg], abase + p->arg, ev);
            break;
        case CR_OP_TRUE:
            st[sp++] = 1;
            break;
        case CR_OP_FALSE:
            st[sp++] = 0;
            break;
        case CR_OP_NOT:
            st[sp - 1] = !st[sp - 1];
            break;
        case CR_OP_AND: {
            uint8_t v = 1;
            for (int j = sp - (int)p->arg; j < sp; j++)
                v &= st[j];
            sp -= (int)p->arg;
            st[sp++] = v;
            break;
        }
        default: {
            uint8_t v = 0;
            for (int j = sp - (int)p->arg; j < sp; j++)
                v |= st[j];
            sp -= (int)p->arg;
            st[sp++] = v;
        }
        }
    }
    return sp == 1 && st[0];
}

static int gate_eval(struct cr_matcher *m, uint32_t g, const struct cr_event *ev)
{
    uint32_t ri = m->gate_rule[g];
    const struct cr_expr *e = m->rs->rules[ri].expr;
    int ok = prog_true(m, e, m->atom_base[ri], e->gate, e->ngate, gate_span(m, ri), ev);
    m->gate_state[g] = ok ? 1 : 2;
    m->touched_gates[m->ntouched_gates++] = g;
    return ok;
}

/* The detection; the logsource's select (cheap, and false for most
 * candidates that share field names across logsources) was decided before
 * (gate_true), except where it cannot be shared. */
static int expr_true(struct cr_matcher *m, uint32_t ri, const struct cr_expr *e,
                     const struct cr_event *ev)
{
    if (m->gate_of[ri] == NO_GATE && e->ngate &&
        !prog_true(m, e, m->atom_base[ri], e->gate, e->ngate, gate_span(m, ri), ev))
        return 0; /* a select that reads a captured field (gate_reads_captured) */
    return prog_true(m, e, m->atom_base[ri], e->prog, e->nprog, prog_span(m, ri), ev);
}

struct pending_capture {
    uint16_t field;
    const char *p;
    uint32_t len;
};

static int rule_matches(struct cr_matcher *m, uint32_t ri, struct cr_event *ev)
{
    const struct cr_ruleset *rs = m->rs;
    const struct cr_rule *r = &rs->rules[ri];
    if (r->expr) /* Sigma: its condition decides (the load checked its depth) */
        return (!r->nwhere || where_ok(r, ev)) && expr_true(m, ri, r->expr, ev);
    if (m->pos_hits[ri] < r->npatterns)
        return 0;
    if (r->nwhere && !where_ok(r, ev))
        return 0;
    if (m->neg_hit[ri]) {
        for (int i = r->npatterns; i < r->npatterns + r->nnegated; i++) {
            uint32_t pi = r->patterns[i];
            if (!m->pat_hit[pi])
                continue;
            const struct cr_pattern *p = &rs->patterns[pi];
            if (p->kind == CR_PAT_EXACT || run_pcre(m, p, ev))
                return 0;
        }
    }
    struct pending_capture caps[64];
    int ncaps = 0;
    for (int i = 0; i < r->npatterns; i++) {
        const struct cr_pattern *p = &rs->patterns[r->patterns[i]];
        if (p->kind == CR_PAT_EXACT)
            continue;
        if (!run_pcre(m, p, ev))
            return 0;
        if (p->kind != CR_PAT_CAPTURE)
            continue;
        const size_t *ov = cr_pcre_ovector(&m->pt);
        const struct cr_slice *s = &ev->f[p->field];
        for (int c = 0; c < p->ncapture && ncaps < 64; c++) {
            size_t g = p->capture_group[c];
            if (ov[2 * g] == (size_t)-1) /* PCRE2_UNSET: the group did not take part */
                continue;
            caps[ncaps].field = p->capture_field[c];
            caps[ncaps].p = s->p + ov[2 * g];
            caps[ncaps].len = (uint32_t)(ov[2 * g + 1] - ov[2 * g]);
            ncaps++;
        }
    }
    for (int i = 0; i < ncaps; i++)
        cr_event_set(ev, caps[i].field, caps[i].p, caps[i].len);
    return 1;
}

/* Set the event's derived fields (a rule's transforms) from their sources,
 * before the scans look at them. Each value takes its source's length at
 * most (transform.h), plus as much scratch for the chain's steps. */
static int derive_fields(struct cr_matcher *m, struct cr_event *ev)
{
    const struct cr_ruleset *rs = m->rs;
    size_t need = 0, maxlen = 0;
    for (int i = 0; i < rs->nderived; i++) {
        const struct cr_derived *d = &rs->derived[i];
        if (!cr_event_has(ev, d->src))
            continue;
        need += ev->f[d->src].len;
        if (ev->f[d->src].len > maxlen)
            maxlen = ev->f[d->src].len;
    }
    if (need == 0) { /* no source with bytes: empty values, and no buffer to point into */
        for (int i = 0; i < rs->nderived; i++)
            if (cr_event_has(ev, rs->derived[i].src))
                cr_event_set(ev, rs->derived[i].field, "", 0);
        return 0;
    }
    need += maxlen;
    if (need > m->xf_cap) {
        size_t cap = m->xf_cap ? m->xf_cap : 4096;
        while (cap < need)
            cap *= 2;
        char *b = realloc(m->xf_buf, cap);
        if (!b)
            return -1;
        m->xf_buf = b;
        m->xf_cap = cap;
    }
    char *tmp = m->xf_buf + need - maxlen, *o = m->xf_buf;
    for (int i = 0; i < rs->nderived; i++) {
        const struct cr_derived *d = &rs->derived[i];
        if (!cr_event_has(ev, d->src))
            continue;
        const struct cr_slice *s = &ev->f[d->src];
        size_t len = cr_xform_apply(d->ops, d->nops, s->p ? s->p : "", s->len, o, tmp);
        cr_event_set(ev, d->field, o, len);
        o += len;
    }
    return 0;
}

int cr_matcher_match(struct cr_matcher *m, struct cr_event *ev, uint32_t *out, int max)
{
    const struct cr_ruleset *rs = m->rs;
    int rc = 0;
    m->st.events++;
    if (rs->nderived && derive_fields(m, ev) != 0)
        return -1;
    /* the present fields that have a database, in field order (thousands
     * of Sigma fields have one; an event has a few dozen fields): those the
     * selects read first, then the others */
    m->cur_ev = ev;
    m->selects_known = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int w = 0; w < CR_FIELD_WORDS; w++) {
            uint64_t sel = pass == 0 ? m->gate_fields[w] : ~m->gate_fields[w];
            for (uint64_t bits = ev->present[w] & sel; bits; bits &= bits - 1) {
                int hi = rs->hs_of_field[w * 64 + __builtin_ctzll(bits)];
                if (hi < 0)
                    continue;
                const struct db_gates *d = &m->dbg[hi];
                if (!d->always) {
                    uint32_t i = 0;
                    while (i < d->n && !gate_true(m, m->db_gate[d->at + i], ev))
                        i++;
                    if (i == d->n)
                        continue; /* every rule with a pattern here has a false select */
                }
                const struct cr_hs_field *hf = &rs->hs[hi];
                const struct cr_slice *s = &ev->f[hf->field];
                m->cur_off = m->ch_off + m->ch_base[hi];
                m->st.hs_scans++;
                hs_error_t e =
                    hs_scan(hf->db, s->p ? s->p : "", s->len, 0, m->scratch, on_match, m);
                if (e != HS_SUCCESS && e != HS_SCAN_TERMINATED) {
                    rc = -1;
                    goto reset;
                }
            }
        }
        m->selects_known = 1; /* the selects' fields are scanned */
    }
    m->selects_known = 0;
    if (m->ntouched_rules == 0 && rs->nunconditional == 0)
        goto reset; /* hits of gates and filters, selects evaluated: reset them too */

    m->st.candidates += (uint64_t)m->ntouched_rules;
    /* Touched or unconditional, in rule order, each once (a rule can be
     * both: only negated patterns, one of which hit). */
    int nc = 0;
    for (int w = 0; w < m->nwords; w++)
        for (uint64_t bits = m->rule_bm[w] | m->uncond_bm[w]; bits; bits &= bits - 1)
            m->cand[nc++] = (uint32_t)w * 64 + (uint32_t)__builtin_ctzll(bits);
    for (int i = 0; i < nc; i++) {
        uint32_t g = m->gate_of[m->cand[i]];
        if (g != NO_GATE && !gate_true(m, g, ev))
            continue;
        if (!rule_matches(m, m->cand[i], ev))
            continue;
        m->st.matches++;
        if (rc < max)
            out[rc++] = m->cand[i];
    }
reset:
    m->selects_known = 0;
    for (int i = 0; i < m->ntouched_pats; i++) {
        uint32_t p = m->touched_pats[i];
        m->pat_hit[p] = 0;
        if (m->pinfo[p].atom != ATOM_NONE)
            m->atom_hit[m->pinfo[p].atom] = 0;
    }
    for (int i = 0; i < m->ntouched_rules; i++) {
        uint32_t r = m->touched_rules[i];
        m->pos_hits[r] = 0;
        m->neg_hit[r] = 0;
        m->rule_bm[r >> 6] = 0;
    }
    for (int i = 0; i < m->ntouched_gates; i++)
        m->gate_state[m->touched_gates[i]] = 0;
    m->ntouched_gates = 0;
    m->ntouched_pats = 0;
    m->ntouched_rules = 0;
    return rc;
}
