/*
 * test_gen_corpus.c - the corpus generator keeps its promises.
 *
 * Owns: the contract of bench/gen_corpus that benchmarks and golden tests rely on:
 *   - determinism (same seed and arguments -> byte-identical corpus and truth file);
 *   - exactly --lines lines, times non-decreasing;
 *   - every truth instance is really in the file, checked from the file's own lines
 *     (count the planted lines per entity, their first/last time, their window);
 *   - near misses really miss, by the same counts;
 *   - nothing else in the file reaches a scenario's threshold: for each detection shape the
 *     test groups every matching line in the file by entity and computes the densest window,
 *     and the set of entities that cross the threshold must equal the truth set;
 *   - --bad puts each malformed record on the line the truth file names.
 *
 * The test reads the file the way a rule author would, by substrings and the syslog header,
 * not by reusing generator code, so a generator bug cannot hide behind a shared helper.
 * CORRAL_GEN_CORPUS (set by CMake) is the built gen_corpus binary.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#ifndef CORRAL_GEN_CORPUS
#define CORRAL_GEN_CORPUS "gen_corpus"
#endif

/* ---------------------------------------------------------------------------------------- */
/* Running the generator and reading its output.                                              */

struct corpus {
    char *dir;
    char *buf;
    size_t len;
    size_t n; /* lines */
    struct cline *l;
    json_t **truth; /* one parsed object per truth line */
    size_t n_truth;
    /* Lines containing a marker string, built on first use (keeps the checks linear). */
    struct {
        const char *marker;
        size_t *ix;
        size_t n;
    } mk[16];
    int n_mk;
};

struct cline {
    const char *p;    /* start of line (not NUL-terminated) */
    size_t len;       /* without the '\n' */
    int64_t t_ms;     /* header time, -1 if none */
    const char *host; /* header host, not NUL-terminated */
    size_t host_len;
};

static int gen(const char *dir, const char *name, const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s --out '%s/%s.log' --truth '%s/%s.jsonl' 2>/dev/null",
             CORRAL_GEN_CORPUS, args, dir, name, dir, name);
    return cr_test_run(cmd, NULL);
}

static int64_t month_of(const char *p)
{
    static const char m[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (memcmp(p, m + 3 * i, 3) == 0)
            return i;
    return -1;
}

/* Header time and host of a syslog line (RFC 3164 with year 2026, or RFC 5424). */
static void parse_header(struct cline *c)
{
    const char *p = c->p, *end = c->p + c->len;
    c->t_ms = -1;
    c->host = NULL;
    c->host_len = 0;
    if (c->len < 20 || p[0] != '<')
        return;
    const char *gt = memchr(p, '>', 6 < c->len ? 6 : c->len);
    if (!gt)
        return;
    p = gt + 1;
    /* sscanf takes strlen of its input: give it a short NUL-terminated copy, not the corpus. */
    char head[40];
    size_t hl = (size_t)(end - p) < sizeof head - 1 ? (size_t)(end - p) : sizeof head - 1;
    memcpy(head, p, hl);
    head[hl] = 0;
    struct tm tm = {0};
    int ms = 0;
    if (p[0] == '1' && p[1] == ' ') {
        if (end - p < 26 || sscanf(head + 2, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year, &tm.tm_mon,
                                   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
            return;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        p += 2 + 24 + 1;
    } else {
        if (end - p < 16 || month_of(p) < 0)
            return;
        tm.tm_mon = (int)month_of(p);
        tm.tm_year = 2026 - 1900;
        if (sscanf(head + 4, "%2d %2d:%2d:%2d", &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) !=
            4)
            return;
        p += 16;
    }
    c->t_ms = (int64_t)timegm(&tm) * 1000 + ms;
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    if (sp) {
        c->host = p;
        c->host_len = (size_t)(sp - p);
    }
}

static void load(struct corpus *c, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.log", c->dir, name);
    c->buf = cr_test_slurp(path, &c->len);
    cr_assert_not_null(c->buf, "cannot read %s", path);
    size_t cap = 1024;
    c->l = malloc(cap * sizeof *c->l);
    c->n = 0;
    for (size_t pos = 0; pos < c->len;) {
        const char *nl = memchr(c->buf + pos, '\n', c->len - pos);
        size_t e = nl ? (size_t)(nl - c->buf) : c->len;
        if (c->n == cap) {
            cap *= 2;
            c->l = realloc(c->l, cap * sizeof *c->l);
        }
        struct cline *cl = &c->l[c->n++];
        cl->p = c->buf + pos;
        cl->len = e - pos;
        parse_header(cl);
        pos = e + 1;
    }

    snprintf(path, sizeof path, "%s/%s.jsonl", c->dir, name);
    size_t tlen;
    char *t = cr_test_slurp(path, &tlen);
    cr_assert_not_null(t, "cannot read %s", path);
    c->truth = NULL;
    c->n_truth = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        cr_assert_not_null(o, "truth line is not JSON: %s (%s)", line, err.text);
        c->truth = realloc(c->truth, (c->n_truth + 1) * sizeof *c->truth);
        c->truth[c->n_truth++] = o;
    }
    free(t);
}

static void corpus_open(struct corpus *c, const char *args)
{
    memset(c, 0, sizeof *c);
    c->dir = cr_test_tmpdir();
    cr_assert_not_null(c->dir);
    cr_assert_eq(gen(c->dir, "c", args), 0, "gen_corpus %s failed", args);
    load(c, "c");
}

static void corpus_close(struct corpus *c)
{
    for (size_t i = 0; i < c->n_truth; i++)
        json_decref(c->truth[i]);
    free(c->truth);
    for (int k = 0; k < c->n_mk; k++)
        free(c->mk[k].ix);
    free(c->l);
    free(c->buf);
    cr_test_rmtree(c->dir);
    free(c->dir);
}

static const char *tstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *ent(json_t *o, const char *key)
{
    json_t *e = json_object_get(o, "entities");
    const char *s = e ? tstr(e, key) : NULL;
    cr_assert_not_null(s, "truth %s lacks entity %s", tstr(o, "scenario"), key);
    return s;
}

static int64_t iso_ms(const char *s)
{
    struct tm tm = {0};
    int ms = 0;
    cr_assert_eq(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
                 7, "bad time %s", s);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* ---------------------------------------------------------------------------------------- */
/* Line predicates and windows.                                                               */

static int has(const struct cline *l, const char *needle)
{
    return memmem(l->p, l->len, needle, strlen(needle)) != NULL;
}

static int host_is(const struct cline *l, const char *host)
{
    return l->host && l->host_len == strlen(host) && memcmp(l->host, host, l->host_len) == 0;
}

/* Lines whose host is `host` (NULL: any) and that contain all of the needles (NULL-ended).
 * Their times go to ts (up to cap); returns the count. */
/* Indexes of the lines containing marker. */
static const size_t *lines_with(struct corpus *c, const char *marker, size_t *n)
{
    for (int k = 0; k < c->n_mk; k++)
        if (strcmp(c->mk[k].marker, marker) == 0) {
            *n = c->mk[k].n;
            return c->mk[k].ix;
        }
    cr_assert_lt(c->n_mk, 16, "too many markers");
    size_t m = 0, *ix = malloc((c->n + 1) * sizeof *ix);
    for (size_t i = 0; i < c->n; i++)
        if (has(&c->l[i], marker))
            ix[m++] = i;
    c->mk[c->n_mk].marker = marker;
    c->mk[c->n_mk].ix = ix;
    c->mk[c->n_mk].n = m;
    c->n_mk++;
    *n = m;
    return ix;
}

/* Lines whose host is `host` (NULL: any) and that contain all of the needles (NULL-ended;
 * the first is the marker to index on). Their times go to ts (up to cap); returns the count. */
static size_t find(struct corpus *c, const char *host, const char *const *needles, int64_t *ts,
                   size_t cap)
{
    size_t n = 0, nix;
    const size_t *ix = lines_with(c, needles[0], &nix);
    for (size_t x = 0; x < nix; x++) {
        const struct cline *l = &c->l[ix[x]];
        if (host && !host_is(l, host))
            continue;
        int ok = 1;
        for (const char *const *nd = needles; *nd && ok; nd++)
            ok = has(l, *nd);
        if (!ok)
            continue;
        if (n < cap)
            ts[n] = l->t_ms;
        n++;
    }
    return n;
}

/* Most events in any window [t, t + win_ms] of a sorted time list. */
static size_t densest(const int64_t *ts, size_t n, int64_t win_ms)
{
    size_t best = 0;
    for (size_t i = 0, j = 0; j < n; j++) {
        while (ts[j] - ts[i] > win_ms)
            i++;
        if (j - i + 1 > best)
            best = j - i + 1;
    }
    return best;
}

#define MAXT 64

/* Checks events/first/last of a truth object against the times found in the file. */
static void expect_times(json_t *o, const int64_t *ts, size_t n)
{
    const char *sc = tstr(o, "scenario");
    json_t *ev = json_object_get(o, "events");
    cr_assert(json_is_integer(ev), "%s: no events", sc);
    cr_assert_eq((size_t)json_integer_value(ev), n, "%s: truth says %lld events, file has %zu", sc,
                 (long long)json_integer_value(ev), n);
    cr_assert(n > 0 && n <= MAXT);
    cr_assert_eq(ts[0], iso_ms(tstr(o, "first")), "%s: first", sc);
    cr_assert_eq(ts[n - 1], iso_ms(tstr(o, "last")), "%s: last", sc);
    for (size_t i = 1; i < n; i++)
        cr_assert_geq(ts[i], ts[i - 1]);
}

/* ---------------------------------------------------------------------------------------- */
/* Per-scenario checks from the file itself.                                                  */

static void check_instance(struct corpus *c, json_t *o)
{
    const char *sc = tstr(o, "scenario");
    int64_t ts[MAXT], ts2[MAXT];
    char a[128], b[128];
    size_t n, m;

    if (strcmp(sc, "password_spray") == 0 || strcmp(sc, "near_miss_spray_4_accounts") == 0) {
        /* one try per account, never 5 within 60 s (no brute force), within 10 min */
        snprintf(a, sizeof a, " from %s port ", ent(o, "src_ip"));
        n = find(c, NULL, (const char *[]){"Failed password for ", a, "sshd", NULL}, ts, MAXT);
        expect_times(o, ts, n);
        if (strcmp(sc, "password_spray") == 0)
            cr_assert(n >= 5 && n <= 8, "%s: %zu tries", sc, n);
        else
            cr_assert_eq(n, 4, "%s: %zu tries", sc, n);
        cr_assert_lt(densest(ts, n, 60000), 5, "%s: a spray must not look like a brute force", sc);
        cr_assert_leq(ts[n - 1] - ts[0], 600000, "%s: wider than 10 min", sc);
    } else if (strstr(sc, "failures") || strcmp(sc, "brute_force") == 0) {
        snprintf(a, sizeof a, " from %s port ", ent(o, "src_ip"));
        n = find(c, NULL, (const char *[]){"Failed password for ", a, "sshd", NULL}, ts, MAXT);
        expect_times(o, ts, n);
        if (strcmp(sc, "brute_force") == 0) {
            cr_assert(n >= 5 && n <= 12, "%s: %zu failures", sc, n);
            cr_assert_leq(ts[n - 1] - ts[0], 60000, "brute force wider than 60 s");
        } else if (strcmp(sc, "near_miss_4_failures") == 0) {
            cr_assert_eq(n, 4);
            cr_assert_leq(ts[3] - ts[0], 60000);
        } else {
            cr_assert_eq(n, 5, "%s", sc);
            cr_assert_lt(densest(ts, n, 60000), 5, "slow failures fit in 60 s");
        }
        n = find(c, NULL, (const char *[]){"Accepted password for ", a, NULL}, ts, MAXT);
        if (strcmp(sc, "brute_force") != 0)
            cr_assert_eq(n, 0, "%s: unexpected Accepted from %s", sc, ent(o, "src_ip"));
    } else if (strcmp(sc, "compromise") == 0 || strcmp(sc, "near_miss_success_no_brute") == 0) {
        snprintf(a, sizeof a, " from %s port ", ent(o, "src_ip"));
        n = find(c, NULL, (const char *[]){"Accepted password for ", a, "sshd", NULL}, ts, MAXT);
        expect_times(o, ts, n);
        cr_assert_eq(n, 1);
        m = find(c, NULL, (const char *[]){"Failed password for ", a, NULL}, ts2, MAXT);
        if (strcmp(sc, "compromise") == 0) {
            cr_assert_geq(m, 5, "compromise without a brute force before it");
            cr_assert_geq(ts[0] - ts2[4], 10000, "accepted too soon after the 5th failure");
            cr_assert_leq(ts[0] - ts2[4], 250000, "accepted too late after the 5th failure");
        } else {
            cr_assert_eq(m, 0, "near miss success has failures before it");
        }
    } else if (strcmp(sc, "disk_errors") == 0 || strcmp(sc, "near_miss_2_disk_errors") == 0) {
        snprintf(a, sizeof a, "blk_update_request: I/O error, dev %s, sector ", ent(o, "disk"));
        n = find(c, ent(o, "host"), (const char *[]){"I/O error, dev ", a, "kernel", NULL}, ts,
                 MAXT);
        expect_times(o, ts, n);
        if (strcmp(sc, "disk_errors") == 0) {
            cr_assert(n >= 3 && n <= 6, "%zu disk errors", n);
            cr_assert_leq(ts[n - 1] - ts[0], 300000);
        } else {
            cr_assert_eq(n, 2);
        }
    } else if (strcmp(sc, "near_miss_buffer_io_error") == 0) {
        snprintf(a, sizeof a, "Buffer I/O error on dev %s, logical block 0, async page read",
                 ent(o, "disk"));
        n = find(c, ent(o, "host"), (const char *[]){"Buffer I/O error", a, "kernel", NULL}, ts,
                 MAXT);
        expect_times(o, ts, n);
        cr_assert_eq(n, 5);
        snprintf(a, sizeof a, "I/O error, dev %s,", ent(o, "disk"));
        cr_assert_eq(find(c, NULL, (const char *[]){"I/O error, dev ", a, NULL}, ts2, MAXT), 0);
    } else if (strstr(sc, "link")) {
        snprintf(a, sizeof a, "%%LINK-3-UPDOWN: Interface %s, changed state to down",
                 ent(o, "interface"));
        snprintf(b, sizeof b, "%%LINK-3-UPDOWN: Interface %s, changed state to up",
                 ent(o, "interface"));
        n = find(c, ent(o, "host"), (const char *[]){"%LINK-", a, NULL}, ts, MAXT);
        m = find(c, ent(o, "host"), (const char *[]){"%LINK-", b, NULL}, ts2, MAXT);
        expect_times(o, ts, n);
        cr_assert_eq(m, n, "%s: %zu downs but %zu ups", sc, n, m);
        for (size_t i = 0; i < n; i++) {
            cr_assert_geq(ts2[i], ts[i], "up before its down");
            if (i + 1 < n)
                cr_assert_leq(ts2[i], ts[i + 1], "downs not interleaved with ups");
        }
        if (strcmp(sc, "link_flaps") == 0) {
            cr_assert_geq(n, 4);
            cr_assert_leq(ts[n - 1] - ts[0], 600000);
        } else {
            cr_assert_eq(n, 3);
        }
    } else if (strcmp(sc, "near_miss_admin_down") == 0) {
        snprintf(a, sizeof a,
                 "%%LINK-5-CHANGED: Interface %s, changed state to administratively "
                 "down",
                 ent(o, "interface"));
        n = find(c, ent(o, "host"), (const char *[]){"%LINK-", a, NULL}, ts, MAXT);
        expect_times(o, ts, n);
        cr_assert_eq(n, 6);
        snprintf(a, sizeof a, "Interface %s, changed state to down", ent(o, "interface"));
        cr_assert_eq(find(c, NULL, (const char *[]){"%LINK-", a, NULL}, ts2, MAXT), 0);
    } else if (strstr(sc, "service") || strstr(sc, "killed") || strstr(sc, "exit_failure")) {
        snprintf(a, sizeof a, " %s.service: Main process exited, code=", ent(o, "service"));
        size_t killed =
            find(c, ent(o, "host"), (const char *[]){"Main process exited", a, "code=killed", NULL},
                 ts, MAXT);
        size_t dumped =
            find(c, ent(o, "host"), (const char *[]){"Main process exited", a, "code=dumped", NULL},
                 ts2, MAXT);
        size_t failed =
            find(c, ent(o, "host"),
                 (const char *[]){"Main process exited", a, "code=exited, status=1/FAILURE", NULL},
                 ts2, MAXT);
        if (strcmp(sc, "near_miss_exit_failure") == 0) {
            cr_assert_eq(killed + dumped, 0);
            n = find(c, ent(o, "host"),
                     (const char *[]){"Main process exited", a, "status=1/FAILURE", NULL}, ts,
                     MAXT);
            expect_times(o, ts, n);
            cr_assert_eq(n, 5);
        } else {
            cr_assert_eq(failed, 0);
            /* killed or dumped, merged in time order */
            int64_t tk[MAXT], td[MAXT];
            size_t nk =
                find(c, ent(o, "host"),
                     (const char *[]){"Main process exited", a, "code=killed, status=9/KILL", NULL},
                     tk, MAXT);
            size_t nd = find(
                c, ent(o, "host"),
                (const char *[]){"Main process exited", a, "code=dumped, status=11/SEGV", NULL}, td,
                MAXT);
            cr_assert_eq(nk + nd, killed + dumped);
            n = 0;
            for (size_t i = 0, j = 0; (i < nk || j < nd) && n < MAXT;)
                ts[n++] = (j >= nd || (i < nk && tk[i] <= td[j])) ? tk[i++] : td[j++];
            expect_times(o, ts, n);
            if (strcmp(sc, "crashing_service") == 0) {
                cr_assert(n >= 3 && n <= 5);
                cr_assert_leq(ts[n - 1] - ts[0], 600000);
            } else {
                cr_assert_eq(n, 2);
            }
        }
    } else if (strcmp(sc, "web_attack") == 0) {
        snprintf(a, sizeof a, " %s - - [", ent(o, "src_ip"));
        n = find(c, NULL, (const char *[]){" - - [", a, "nginx", NULL}, ts, MAXT);
        expect_times(o, ts, n);
        cr_assert(n >= 1 && n <= 3);
        size_t nix;
        const size_t *ix = lines_with(c, " - - [", &nix);
        for (size_t x = 0; x < nix; x++) {
            const struct cline *l = &c->l[ix[x]];
            if (has(l, a))
                cr_assert(has(l, "%27%20OR%201=1--") || has(l, "UNION SELECT") ||
                              has(l, "union%20select") || has(l, "/../../etc/passwd") ||
                              has(l, "%2e%2e%2f") || has(l, "=../../"),
                          "web attack line without an attack pattern");
        }
    } else if (strcmp(sc, "sudo_denied") == 0) {
        snprintf(a, sizeof a, " %s : user NOT in sudoers ; ", ent(o, "user"));
        n = find(c, ent(o, "host"), (const char *[]){"NOT in sudoers", a, "sudo", NULL}, ts, MAXT);
        expect_times(o, ts, n);
        cr_assert_eq(n, 1);
    } else {
        cr_assert_fail("unknown scenario %s", sc);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Whole-file thresholds: group every matching line by entity, find the densest window.       */

struct obs {
    char key[96];
    int64_t t;
};

static int cmp_obs(const void *pa, const void *pb)
{
    const struct obs *a = pa, *b = pb;
    int r = strcmp(a->key, b->key);
    return r ? r : (a->t > b->t) - (a->t < b->t);
}

/* Token after `marker` up to any of `stops`, appended to key. */
static int token_after(const struct cline *l, const char *marker, const char *stops, char *key,
                       size_t cap)
{
    const char *m = memmem(l->p, l->len, marker, strlen(marker));
    if (!m)
        return 0;
    const char *p = m + strlen(marker), *end = l->p + l->len;
    size_t k = strlen(key);
    while (p < end && !strchr(stops, *p) && k + 1 < cap)
        key[k++] = *p++;
    key[k] = 0;
    return 1;
}

enum shape { SH_BRUTE, SH_DISK, SH_LINK, SH_CRASH };

/* Keys (as "host|x" or "ip") whose densest window reaches the threshold; returns the count and
 * checks each is listed in the truth file with that scenario. */
static size_t over_threshold(const struct corpus *c, enum shape sh, const char *scenario)
{
    size_t cap = 1024, n = 0;
    struct obs *o = malloc(cap * sizeof *o);
    for (size_t i = 0; i < c->n; i++) {
        const struct cline *l = &c->l[i];
        char key[96] = "";
        int ok = 0;
        if (l->host && sh != SH_BRUTE) {
            size_t hl = l->host_len < 60 ? l->host_len : 60;
            memcpy(key, l->host, hl);
            key[hl] = '|';
            key[hl + 1] = 0;
        }
        switch (sh) {
        case SH_BRUTE:
            ok = has(l, "Failed password for ") && token_after(l, " from ", " ", key, sizeof key);
            break;
        case SH_DISK:
            ok = token_after(l, "I/O error, dev ", ",", key, sizeof key);
            break;
        case SH_LINK:
            ok = has(l, "changed state to down") && has(l, "%LINK-") &&
                 token_after(l, "Interface ", ",", key, sizeof key);
            break;
        case SH_CRASH:
            if (has(l, "code=killed") || has(l, "code=dumped")) {
                /* the unit is the word before ".service: Main process exited" */
                const char *m = memmem(l->p, l->len, ".service: Main process exited", 29);
                const char *s = m;
                while (s && s > l->p && s[-1] != ' ')
                    s--;
                size_t k = strlen(key);
                if (m && (size_t)(m - s) + k + 1 < sizeof key) {
                    memcpy(key + k, s, (size_t)(m - s));
                    key[k + (size_t)(m - s)] = 0;
                    ok = 1;
                }
            }
            break;
        }
        if (!ok || l->t_ms < 0)
            continue;
        if (n == cap) {
            cap *= 2;
            o = realloc(o, cap * sizeof *o);
        }
        snprintf(o[n].key, sizeof o[n].key, "%s", key);
        o[n].t = l->t_ms;
        n++;
    }
    qsort(o, n, sizeof *o, cmp_obs);
    static const struct {
        size_t threshold;
        int64_t win;
    } rule[] = {{5, 60000}, {3, 300000}, {4, 600000}, {3, 600000}};
    size_t hits = 0;
    int64_t *ts = malloc((n + 1) * sizeof *ts);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(o[j].key, o[i].key) == 0) {
            ts[j - i] = o[j].t;
            j++;
        }
        if (densest(ts, j - i, rule[sh].win) >= rule[sh].threshold) {
            hits++;
            int listed = 0;
            for (size_t k = 0; k < c->n_truth && !listed; k++) {
                json_t *t = c->truth[k];
                if (strcmp(tstr(t, "scenario"), scenario) != 0)
                    continue;
                char want[96];
                if (sh == SH_BRUTE)
                    snprintf(want, sizeof want, "%s", ent(t, "src_ip"));
                else if (sh == SH_DISK)
                    snprintf(want, sizeof want, "%s|%s", ent(t, "host"), ent(t, "disk"));
                else if (sh == SH_LINK)
                    snprintf(want, sizeof want, "%s|%s", ent(t, "host"), ent(t, "interface"));
                else
                    snprintf(want, sizeof want, "%s|%s", ent(t, "host"), ent(t, "service"));
                listed = strcmp(want, o[i].key) == 0;
            }
            cr_assert(listed, "%s crosses the %s threshold but is not in the truth file", o[i].key,
                      scenario);
        }
        i = j;
    }
    free(ts);
    free(o);
    return hits;
}

static size_t count_scenario(const struct corpus *c, const char *scenario)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_truth; i++)
        n += strcmp(tstr(c->truth[i], "scenario"), scenario) == 0;
    return n;
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char b = s[i];
        size_t k = b < 0x80             ? 0
                   : (b & 0xE0) == 0xC0 ? 1
                   : (b & 0xF0) == 0xE0 ? 2
                   : (b & 0xF8) == 0xF0 ? 3
                                        : 9;
        if (k == 9 || (k == 1 && b < 0xC2) || i + k >= n + (k == 0))
            return 0;
        for (size_t j = 1; j <= k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
        if (k == 2 && b == 0xED && s[i + 1] >= 0xA0) /* surrogates */
            return 0;
        i += k + 1;
    }
    return 1;
}

static const char *const SCENARIOS[] = {"brute_force",
                                        "compromise",
                                        "disk_errors",
                                        "link_flaps",
                                        "crashing_service",
                                        "web_attack",
                                        "sudo_denied",
                                        "near_miss_4_failures",
                                        "near_miss_slow_failures",
                                        "near_miss_success_no_brute",
                                        "near_miss_2_disk_errors",
                                        "near_miss_buffer_io_error",
                                        "near_miss_3_link_downs",
                                        "near_miss_admin_down",
                                        "near_miss_2_killed",
                                        "near_miss_exit_failure",
                                        "password_spray",
                                        "near_miss_spray_4_accounts"};

/* Everything that must hold for any corpus. */
static void check_corpus(struct corpus *c, size_t lines, size_t min_each)
{
    cr_assert_eq(c->n, lines, "expected %zu lines, file has %zu", lines, c->n);
    cr_assert(c->len > 0 && c->buf[c->len - 1] == '\n', "file must end with a newline");

    int64_t prev = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->l[i].t_ms < 0)
            continue;
        cr_assert_geq(c->l[i].t_ms / 1000, prev / 1000, "line %zu goes back in time", i + 1);
        prev = c->l[i].t_ms;
    }

    for (size_t i = 0; i < sizeof SCENARIOS / sizeof SCENARIOS[0]; i++)
        cr_assert_geq(count_scenario(c, SCENARIOS[i]), min_each, "only %zu %s",
                      count_scenario(c, SCENARIOS[i]), SCENARIOS[i]);

    size_t planted = 0;
    for (size_t i = 0; i < c->n_truth; i++) {
        json_t *o = c->truth[i];
        const char *sc = tstr(o, "scenario");
        cr_assert_not_null(sc);
        if (strcmp(sc, "bad_record") == 0)
            continue;
        cr_assert_not_null(tstr(o, "category"));
        cr_assert_eq(strncmp(sc, "near_miss_", 10) == 0, tstr(o, "expect") != NULL,
                     "%s: expect:none iff near miss", sc);
        check_instance(c, o);
        planted += (size_t)json_integer_value(json_object_get(o, "events"));
    }
    if (lines >= 40000)
        cr_assert_lt(planted * 20, c->n, "planted lines are more than 5%% of the file");

    cr_assert_eq(over_threshold(c, SH_BRUTE, "brute_force"), count_scenario(c, "brute_force"));
    cr_assert_eq(over_threshold(c, SH_DISK, "disk_errors"), count_scenario(c, "disk_errors"));
    cr_assert_eq(over_threshold(c, SH_LINK, "link_flaps"), count_scenario(c, "link_flaps"));
    cr_assert_eq(over_threshold(c, SH_CRASH, "crashing_service"),
                 count_scenario(c, "crashing_service"));

    /* Single-event shapes: only planted lines carry them. */
    size_t denied = 0, attacks = 0, accepted_ext = 0, web_events = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct cline *l = &c->l[i];
        denied += has(l, "NOT in sudoers");
        attacks += has(l, "nginx") &&
                   (has(l, "%27") || has(l, "UNION SELECT") || has(l, "union%20select") ||
                    has(l, "etc/passwd") || has(l, "%2e%2e") || has(l, "../"));
        accepted_ext += has(l, "Accepted password for ") && !has(l, " from 10.");
    }
    for (size_t i = 0; i < c->n_truth; i++)
        if (strcmp(tstr(c->truth[i], "scenario"), "web_attack") == 0)
            web_events += (size_t)json_integer_value(json_object_get(c->truth[i], "events"));
    cr_assert_eq(denied, count_scenario(c, "sudo_denied"));
    cr_assert_eq(attacks, web_events);
    cr_assert_eq(accepted_ext,
                 count_scenario(c, "compromise") + count_scenario(c, "near_miss_success_no_brute"));
}

/* ---------------------------------------------------------------------------------------- */
/* Tests.                                                                                      */

Test(gen_corpus, deterministic_and_seed_sensitive)
{
    char *dir = cr_test_tmpdir();
    cr_assert_not_null(dir);
    cr_assert_eq(gen(dir, "a", "--seed 7 --lines 30000 --bad"), 0);
    cr_assert_eq(gen(dir, "b", "--seed 7 --lines 30000 --bad"), 0);
    cr_assert_eq(gen(dir, "c", "--seed 8 --lines 30000 --bad"), 0);
    const char *ext[2] = {"log", "jsonl"};
    for (int i = 0; i < 2; i++) {
        char pa[1024], pb[1024], pc[1024];
        size_t la, lb, lc;
        snprintf(pa, sizeof pa, "%s/a.%s", dir, ext[i]);
        snprintf(pb, sizeof pb, "%s/b.%s", dir, ext[i]);
        snprintf(pc, sizeof pc, "%s/c.%s", dir, ext[i]);
        char *a = cr_test_slurp(pa, &la), *b = cr_test_slurp(pb, &lb), *c = cr_test_slurp(pc, &lc);
        cr_assert(a && b && c);
        cr_assert_gt(la, 0);
        cr_assert(la == lb && memcmp(a, b, la) == 0, "same seed, different %s", ext[i]);
        cr_assert(la != lc || memcmp(a, c, la) != 0, "different seed, same %s", ext[i]);
        free(a);
        free(b);
        free(c);
    }
    cr_test_rmtree(dir);
    free(dir);
}

Test(gen_corpus, start_time_and_rate_are_honoured)
{
    struct corpus c;
    corpus_open(&c, "--seed 3 --lines 40000 --rate 100 --start 2026-03-02T08:00:00Z");
    struct tm tm = {.tm_year = 126, .tm_mon = 2, .tm_mday = 2, .tm_hour = 8};
    int64_t t0 = (int64_t)timegm(&tm) * 1000;
    cr_assert_geq(c.l[0].t_ms, t0);
    cr_assert_lt(c.l[0].t_ms, t0 + 1000);
    /* 40000 lines at 100/s: about 400 s of event time (jitter and planted seconds aside). */
    int64_t span = c.l[c.n - 1].t_ms - c.l[0].t_ms;
    cr_assert(span > 360000 && span < 440000, "span %lld ms", (long long)span);
    size_t r5424 = 0;
    for (size_t i = 0; i < c.n; i++) {
        const char *gt = c.l[i].len > 8 ? memchr(c.l[i].p, '>', 6) : NULL;
        r5424 += gt && memcmp(gt + 1, "1 ", 2) == 0;
    }
    cr_assert(r5424 > c.n / 20 && r5424 < c.n / 5, "%zu RFC 5424 lines", r5424);
    check_corpus(&c, 40000, 2);
    corpus_close(&c);
}

Test(gen_corpus, scenarios_and_near_misses_hold_in_a_large_file, .timeout = 120)
{
    struct corpus c;
    corpus_open(&c, "--seed 42 --lines 200000");
    check_corpus(&c, 200000, 10);
    for (size_t i = 0; i < c.n; i++) {
        cr_assert_gt(c.l[i].len, 0, "empty line %zu without --bad", i + 1);
        cr_assert_null(memchr(c.l[i].p, 0, c.l[i].len), "NUL in line %zu without --bad", i + 1);
        cr_assert(valid_utf8((const unsigned char *)c.l[i].p, c.l[i].len), "line %zu", i + 1);
        cr_assert_geq(c.l[i].t_ms, 0, "line %zu has no syslog header", i + 1);
    }
    double mean = (double)c.len / (double)c.n;
    cr_assert(mean > 110 && mean < 170, "mean line length %.1f", mean);
    corpus_close(&c);
}

Test(gen_corpus, small_file_still_has_two_of_each)
{
    struct corpus c;
    corpus_open(&c, "--seed 5 --lines 2000");
    check_corpus(&c, 2000, 2);
    corpus_close(&c);
}

Test(gen_corpus, bad_records_are_where_the_truth_says)
{
    struct corpus c;
    corpus_open(&c, "--seed 9 --lines 50000 --bad");
    check_corpus(&c, 50000, 2);
    size_t seen = 0;
    for (size_t i = 0; i < c.n_truth; i++) {
        json_t *o = c.truth[i];
        if (strcmp(tstr(o, "scenario"), "bad_record") != 0)
            continue;
        seen++;
        const char *kind = tstr(o, "kind");
        json_int_t line = json_integer_value(json_object_get(o, "line"));
        cr_assert(kind && line >= 1 && (size_t)line <= c.n);
        const struct cline *l = &c.l[line - 1];
        if (strcmp(kind, "invalid_utf8") == 0)
            cr_assert(!valid_utf8((const unsigned char *)l->p, l->len) && l->t_ms >= 0);
        else if (strcmp(kind, "nul_byte") == 0)
            cr_assert_not_null(memchr(l->p, 0, l->len));
        else if (strcmp(kind, "long_line") == 0)
            cr_assert_geq(l->len, 200 * 1024);
        else if (strcmp(kind, "truncated_json") == 0)
            cr_assert(l->len == 19 && memcmp(l->p, "{\"eventName\": \"Cons", 19) == 0);
        else if (strcmp(kind, "empty_line") == 0)
            cr_assert_eq(l->len, 0);
        else if (strcmp(kind, "binary_garbage") == 0)
            cr_assert(l->len >= 64 && !valid_utf8((const unsigned char *)l->p, l->len));
        else
            cr_assert_fail("unknown bad record kind %s", kind);
    }
    cr_assert_eq(seen, 6);
    /* The malformed lines are the only ones of their sort. */
    size_t empty = 0, nul = 0;
    for (size_t i = 0; i < c.n; i++) {
        empty += c.l[i].len == 0;
        nul += memchr(c.l[i].p, 0, c.l[i].len) != NULL;
    }
    cr_assert_eq(empty, 1);
    cr_assert_geq(nul, 1);
    corpus_close(&c);
}

Test(gen_corpus, bad_flag_does_not_move_the_scenarios)
{
    char *dir = cr_test_tmpdir();
    cr_assert_eq(gen(dir, "a", "--seed 11 --lines 30000"), 0);
    cr_assert_eq(gen(dir, "b", "--seed 11 --lines 30000 --bad"), 0);
    char pa[1024], pb[1024];
    snprintf(pa, sizeof pa, "%s/a.jsonl", dir);
    snprintf(pb, sizeof pb, "%s/b.jsonl", dir);
    size_t la, lb;
    char *a = cr_test_slurp(pa, &la), *b = cr_test_slurp(pb, &lb);
    cr_assert(a && b && lb > la);
    cr_assert(memcmp(a, b, la) == 0, "--bad changed the planted scenarios");
    cr_assert_not_null(strstr(b + la, "\"bad_record\""));
    free(a);
    free(b);
    cr_test_rmtree(dir);
    free(dir);
}

Test(gen_corpus, rejects_bad_arguments)
{
    char *dir = cr_test_tmpdir();
    char cmd[2048];
    const char *bad[] = {"--lines 1000 --truth /dev/null",       /* no --out */
                         "--lines abc --out X --truth Y",        /* not a number */
                         "--rate -5 --out X --truth Y",          /* bad rate */
                         "--start 2026-03-02 --out X --truth Y", /* bad start */
                         "--lines 50 --out X --truth Y",         /* too small for scenarios */
                         "--frobnicate --out X --truth Y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s 2>/dev/null", dir, CORRAL_GEN_CORPUS, bad[i]);
        cr_assert_neq(cr_test_run(cmd, NULL), 0, "accepted: %s", bad[i]);
    }
    cr_test_rmtree(dir);
    free(dir);
}
