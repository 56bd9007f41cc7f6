/*
 * incident.c - the incident record: its id, its bounded evidence and its
 * JSON form.
 *
 * Three things live here because all of them define what an incident *is*
 * to the outside world:
 *
 *  - The id. XXH3-128 over (rule, key, window start), so that replaying the
 *    same input yields the same ids and the store's upsert rewrites instead
 *    of duplicating. The hashed bytes are framed explicitly (length
 *    prefixes, little-endian integers) so that ("ab", "c") and ("a", "bc")
 *    differ and the id does not depend on the host's byte order.
 *
 *  - The bounds. An incident may gather millions of events; it keeps the
 *    first CR_INC_MAX_REFS refs (how it started is what an analyst reads
 *    first) and counts the rest, and a few raw samples cut at a character
 *    boundary. Fixed arrays keep an incident one malloc and let it move
 *    through a ring by pointer.
 *
 *  - The JSON. The key order is a contract (scripts and diffs read it), so
 *    the object is built in that order and dumped with JSON_PRESERVE_ORDER.
 *    Log bytes are not UTF-8 by promise: Chinese network gear often logs in
 *    GBK, and raw records may hold NULs. jansson refuses invalid UTF-8, so
 *    every string passes through cr_raw_escape(), which turns each bad byte
 *    into the text \xHH. We chose that over U+FFFD because it keeps the
 *    original bytes recoverable (an analyst can decode the GBK) while the
 *    output stays valid UTF-8; the price is that a literal "\x41" in a log
 *    reads the same as an escaped byte, which the evidence refs (input,
 *    position) resolve when it matters.
 */
#include "engine/store/incident.h"

#include "base/utf8.h"

#include "base/event.h"
#include "base/timeparse.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* For the XXH3_state_t definition, so the hash state can live on the stack;
 * the state layout is fixed by the installed header we link against. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

static void put_le64(unsigned char out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(v >> (8 * i));
}

void cr_incident_make_id(char out[33], const char *rule, const char *key, size_t keylen,
                         int64_t window_start_ms)
{
    static const char hex[] = "0123456789abcdef";
    XXH3_state_t st;
    unsigned char n[8];
    size_t rulelen = rule ? strlen(rule) : 0;

    /* The streaming state lives on the stack: no allocation, any thread. */
    XXH3_128bits_reset(&st);
    put_le64(n, rulelen);
    XXH3_128bits_update(&st, n, sizeof n);
    if (rulelen)
        XXH3_128bits_update(&st, rule, rulelen);
    put_le64(n, keylen);
    XXH3_128bits_update(&st, n, sizeof n);
    if (keylen)
        XXH3_128bits_update(&st, key, keylen);
    put_le64(n, (uint64_t)window_start_ms);
    XXH3_128bits_update(&st, n, sizeof n);

    /* The canonical form is big-endian, so the text is the same on every host. */
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&st));
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[c.digest[i] >> 4];
        out[2 * i + 1] = hex[c.digest[i] & 15];
    }
    out[32] = 0;
}

void cr_incident_add_ref(struct cr_incident *inc, uint32_t input, uint64_t position,
                         int64_t time_ms)
{
    if (inc->nrefs < 0)
        inc->nrefs = 0;
    if (inc->nrefs >= CR_INC_MAX_REFS) {
        inc->refs_dropped++;
        return;
    }
    struct cr_evidence_ref *r = &inc->refs[inc->nrefs++];
    r->input = input;
    r->position = position;
    r->time_ms = time_ms;
}

void cr_incident_add_sample(struct cr_incident *inc, const char *raw, size_t len)
{
    if (inc->nsamples < 0)
        inc->nsamples = 0;
    if (inc->nsamples >= CR_INC_MAX_SAMPLES)
        return;
    cr_raw_escape(inc->samples[inc->nsamples++], CR_INC_SAMPLE_BYTES, raw ? raw : "",
                  raw ? len : 0);
}

void cr_incident_add_reason(struct cr_incident *inc, const char *fmt, ...)
{
    if (inc->nreasons < 0)
        inc->nreasons = 0;
    if (inc->nreasons >= CR_INC_MAX_REASONS)
        return;
    char *dst = inc->reasons[inc->nreasons++];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, sizeof inc->reasons[0], fmt, ap);
    va_end(ap);
    if (n < 0) {
        dst[0] = 0;
        return;
    }
    /* vsnprintf may have cut a multi-byte character in half: back off to
     * the last character boundary so the text stays valid UTF-8. */
    if ((size_t)n >= sizeof inc->reasons[0]) {
        size_t end = sizeof inc->reasons[0] - 1;
        size_t i = end;
        while (i > 0 && ((unsigned char)dst[i - 1] & 0xC0) == 0x80)
            i--;
        if (i > 0) {
            unsigned char lead = (unsigned char)dst[i - 1];
            size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            if (end - (i - 1) < need)
                dst[i - 1] = 0;
        }
    }
}

static const char *const level_names[] = {NULL, "I", "II", "III", "IV"};

const char *cr_reg_level_name(int level)
{
    return level >= 1 && level <= 4 ? level_names[level] : NULL;
}

int cr_reg_level_parse(const char *s)
{
    if (!s || !*s || strcmp(s, "null") == 0)
        return 0;
    for (int i = 1; i <= 4; i++) {
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    }
    if (s[0] >= '1' && s[0] <= '4' && s[1] == 0)
        return s[0] - '0';
    return -1;
}

/* Valid UTF-8 sequence length at p, with NUL counted as invalid: it cannot
 * live in a C string, so it is escaped like any other bad byte. */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
    return p[0] ? cr_utf8_seq(p, avail) : 0;
}

size_t cr_raw_escape(char *dst, size_t dstlen, const char *raw, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)raw;
    size_t i = 0, o = 0;
    if (dstlen == 0)
        return 0;
    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);
        if (n) {
            if (o + n > dstlen - 1)
                break;
            memcpy(dst + o, p + i, n);
            o += n;
            i += n;
        } else {
            if (o + 4 > dstlen - 1)
                break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[p[i] >> 4];
            dst[o++] = hex[p[i] & 15];
            i++;
        }
    }
    dst[o] = 0;
    return i;
}

/* A JSON string from len bytes that may be anything (see the file comment). */
static json_t *jstr_len(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);
        if (!n)
            break;
        i += n;
    }
    if (i == len)
        return json_stringn(s, len);
    size_t cap = 4 * len + 1;
    char *tmp = malloc(cap);
    if (!tmp)
        return NULL;
    cr_raw_escape(tmp, cap, s, len);
    json_t *j = json_string(tmp);
    free(tmp);
    return j;
}

static json_t *jstr(const char *s) { return jstr_len(s, strlen(s)); }

/* A fixed-size char array of the struct: bounded by its size, so a field
 * filled by hand without a terminating NUL cannot make us read past it. */
#define JFIELD(arr) jstr_len((arr), strnlen((arr), sizeof(arr)))

static json_t *jtime(int64_t ms)
{
    if (ms == CR_TIME_NONE)
        return json_null();
    char buf[40];
    cr_time_format(ms, buf, sizeof buf);
    return json_string(buf);
}

static json_t *juint(uint64_t v)
{
    /* json_int_t is signed 64-bit; counts that large do not happen, but a
     * clamp is cheaper than a wrong sign if they ever do. */
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* json_object_set_new with the failure folded into one flag, so the builder
 * below reads as the list of keys it is. set_new steals the value even on
 * failure, and a NULL value makes it fail: OOM anywhere sets *ok = 0. */
static void put(json_t *obj, const char *key, json_t *val, int *ok)
{
    if (json_object_set_new(obj, key, val) != 0)
        *ok = 0;
}

static void push(json_t *arr, json_t *val, int *ok)
{
    if (json_array_append_new(arr, val) != 0)
        *ok = 0;
}

static int clamp_count(int n, int max) { return n < 0 ? 0 : n > max ? max : n; }

char *cr_incident_to_json(const struct cr_incident *inc, const char *const *input_names,
                          int ninputs)
{
    return cr_incident_to_json_ann(inc, input_names, ninputs, NULL);
}

char *cr_incident_to_json_ann(const struct cr_incident *inc, const char *const *input_names,
                              int ninputs, const char *annotation)
{
    json_t *o = cr_incident_to_jobj(inc, input_names, ninputs, annotation);
    char *out = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return out;
}

json_t *cr_incident_to_jobj(const struct cr_incident *inc, const char *const *input_names,
                            int ninputs, const char *annotation)
{
    int ok = 1;
    json_t *o = json_object();
    json_t *ents = json_object();
    json_t *ev = json_object();
    json_t *refs = json_array();
    json_t *samples = json_array();
    json_t *reasons = json_array();
    if (!o || !ents || !ev || !refs || !samples || !reasons) {
        json_decref(o);
        json_decref(ents);
        json_decref(ev);
        json_decref(refs);
        json_decref(samples);
        json_decref(reasons);
        return NULL;
    }

    put(o, "id", JFIELD(inc->id), &ok);
    put(o, "rule", JFIELD(inc->rule), &ok);
    put(o, "title", JFIELD(inc->title), &ok);
    put(o, "category", JFIELD(inc->category), &ok);
    put(o, "reg_category", JFIELD(inc->reg_category), &ok);
    int ne = clamp_count(inc->nentities, CR_INC_MAX_ENTITIES);
    for (int i = 0; i < ne; i++) {
        /* Keys must be valid UTF-8 too: escape them through a string value. */
        json_t *k = JFIELD(inc->entities[i].name);
        if (!k) {
            ok = 0;
            continue;
        }
        put(ents, json_string_value(k), JFIELD(inc->entities[i].value), &ok);
        json_decref(k);
    }
    put(o, "entities", ents, &ok);
    put(o, "first_seen", jtime(inc->first_seen_ms), &ok);
    put(o, "last_seen", jtime(inc->last_seen_ms), &ok);
    put(o, "window_start", jtime(inc->window_start_ms), &ok);
    put(o, "event_count", juint(inc->event_count), &ok);
    put(o, "priority", JFIELD(inc->priority), &ok);
    const char *lvl = cr_reg_level_name(inc->reg_level);
    put(o, "reg_level", lvl ? json_string(lvl) : json_null(), &ok);
    put(o, "status", JFIELD(inc->status), &ok);

    int nr = clamp_count(inc->nrefs, CR_INC_MAX_REFS);
    for (int i = 0; i < nr; i++) {
        const struct cr_evidence_ref *r = &inc->refs[i];
        json_t *ref = json_object();
        if (!ref) {
            ok = 0;
            break;
        }
        const char *name = NULL;
        if (input_names && r->input < (uint32_t)(ninputs < 0 ? 0 : ninputs))
            name = input_names[r->input];
        put(ref, "input", name ? jstr(name) : json_integer(r->input), &ok);
        put(ref, "position", juint(r->position), &ok);
        put(ref, "time", jtime(r->time_ms), &ok);
        push(refs, ref, &ok);
    }
    put(ev, "refs", refs, &ok);
    int ns = clamp_count(inc->nsamples, CR_INC_MAX_SAMPLES);
    for (int i = 0; i < ns; i++) {
        push(samples, JFIELD(inc->samples[i]), &ok);
    }
    put(ev, "samples", samples, &ok);
    put(ev, "refs_dropped", juint(inc->refs_dropped), &ok);
    put(o, "evidence", ev, &ok);
    int nrs = clamp_count(inc->nreasons, CR_INC_MAX_REASONS);
    for (int i = 0; i < nrs; i++)
        push(reasons, JFIELD(inc->reasons[i]), &ok);
    put(o, "reasons", reasons, &ok);
    /* grading inputs (engine/grade/assess.h reads them back) */
    put(o, "rule_priority", JFIELD(inc->priority), &ok);
    put(o, "kind", json_string(inc->detection ? "detection" : "correlation"), &ok);
    json_t *im = json_object(), *ta = json_array(), *sa = json_array();
    if (!im || !ta || !sa)
        ok = 0;
    const struct cr_impact *ip = &inc->impact;
    put(im, "outage", json_string(cr_outage_name(ip->outage)), &ok);
    if (ip->data)
        put(im, "data", json_string(cr_data_impact_name(ip->data)), &ok);
    if (ip->deface)
        put(im, "defacement", json_string(cr_deface_name(ip->deface)), &ok);
    const struct {
        const char *name;
        int on;
    } flags[] = {{"compromised", ip->compromised},
                 {"ransomware", ip->ransomware},
                 {"lateral", ip->lateral},
                 {"control_plane", ip->control_plane},
                 {"mains_lost", ip->mains_lost},
                 {"on_battery", ip->on_battery},
                 {"fire", ip->fire}};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (flags[i].on)
            put(im, flags[i].name, json_true(), &ok);
    if (ip->measure) {
        put(im, cr_measure_name(ip->measure),
            inc->has_measure ? json_integer((json_int_t)inc->measure) : json_null(), &ok);
    }
    put(o, "impact", im, &ok);
    for (int i = 0; i < clamp_count(inc->nassets, CR_INC_MAX_ASSETS); i++)
        push(ta, JFIELD(inc->assets[i]), &ok);
    for (int i = 0; i < clamp_count(inc->nsource_assets, CR_INC_MAX_ASSETS); i++)
        push(sa, JFIELD(inc->source_assets[i]), &ok);
    put(o, "assets", ta, &ok);
    put(o, "source_assets", sa, &ok);
    /* fields: {name: [values...]} in the order first seen */
    json_t *fl = json_object();
    if (!fl)
        ok = 0;
    for (int i = 0; fl && i < clamp_count(inc->nfields, CR_INC_MAX_FIELDS); i++) {
        json_t *k = JFIELD(inc->fields[i].name);
        if (!k) {
            ok = 0;
            continue;
        }
        json_t *arr = json_object_get(fl, json_string_value(k));
        if (!arr) {
            arr = json_array();
            put(fl, json_string_value(k), arr, &ok);
        }
        push(arr, JFIELD(inc->fields[i].value), &ok);
        json_decref(k);
    }
    put(o, "fields", fl, &ok);
    if (annotation && *annotation) {
        json_t *a = json_loads(annotation, 0, NULL);
        if (json_is_object(a))
            json_object_update_missing(o, a); /* the incident's own keys win */
        json_decref(a);
    }

    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int cr_incident_index_from_json(const json_t *o, struct cr_incident *inc)
{
    memset(inc, 0, sizeof *inc);
    const char *id = json_string_value(json_object_get(o, "id"));
    if (!id || strlen(id) != 32)
        return -1;
    memcpy(inc->id, id, 33);
    const char *s;
    if ((s = json_string_value(json_object_get(o, "category"))))
        snprintf(inc->category, sizeof inc->category, "%s", s);
    if ((s = json_string_value(json_object_get(o, "priority"))))
        snprintf(inc->priority, sizeof inc->priority, "%s", s);
    const char *keys[2] = {"first_seen", "last_seen"};
    int64_t *dst[2] = {&inc->first_seen_ms, &inc->last_seen_ms};
    for (int i = 0; i < 2; i++) {
        *dst[i] = CR_TIME_NONE;
        s = json_string_value(json_object_get(o, keys[i]));
        if (s && !cr_time_parse_rfc3339(s, strlen(s), 0, dst[i]))
            return -1;
    }
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(o, "entities"), name, v)
    {
        if (inc->nentities == CR_INC_MAX_ENTITIES || !json_is_string(v))
            continue;
        snprintf(inc->entities[inc->nentities].name, sizeof inc->entities[0].name, "%s", name);
        snprintf(inc->entities[inc->nentities].value, sizeof inc->entities[0].value, "%s",
                 json_string_value(v));
        inc->nentities++;
    }
    return 0;
}

void cr_incident_add_field(struct cr_incident *inc, const char *name, const char *value, size_t len)
{
    if (len >= sizeof inc->fields[0].value)
        len = sizeof inc->fields[0].value - 1;
    for (int i = 0; i < inc->nfields; i++)
        if (!strcmp(inc->fields[i].name, name) && strlen(inc->fields[i].value) == len &&
            !memcmp(inc->fields[i].value, value, len))
            return;
    if (inc->nfields >= CR_INC_MAX_FIELDS)
        return;
    snprintf(inc->fields[inc->nfields].name, sizeof inc->fields[0].name, "%s", name);
    memcpy(inc->fields[inc->nfields].value, value, len);
    inc->fields[inc->nfields].value[len] = 0;
    inc->nfields++;
}

void cr_incident_add_asset(struct cr_incident *inc, const char *id, int source)
{
    char(*v)[CR_ASSET_ID_MAX] = source ? inc->source_assets : inc->assets;
    int *n = source ? &inc->nsource_assets : &inc->nassets;
    if (!id || !*id)
        return;
    for (int i = 0; i < *n; i++)
        if (strncmp(v[i], id, CR_ASSET_ID_MAX) == 0)
            return;
    if (*n >= CR_INC_MAX_ASSETS)
        return;
    snprintf(v[*n], CR_ASSET_ID_MAX, "%s", id);
    (*n)++;
}

struct cr_version *cr_version_new(const struct cr_incident *inc, int created,
                                  const char *annotation)
{
    size_t alen = annotation ? strlen(annotation) : 0;
    struct cr_version *v = malloc(sizeof *v + alen + 1);
    if (!v)
        abort(); /* incidents must not be lost; out of memory is not survivable here */
    v->next = NULL;
    v->created = created;
    v->provisional = 0;
    memcpy(&v->inc, inc, sizeof *inc);
    memcpy(v->annotation, annotation ? annotation : "", alen + 1);
    return v;
}

void cr_version_free_list(struct cr_version *v)
{
    for (struct cr_version *next; v; v = next) {
        next = v->next;
        free(v);
    }
}
