/*
 * event_xml.c - Windows-style event XML carried in a syslog message.
 *
 * Owns the step that turns a message of the form `<Event><System>...
 * </System><EventData><Data Name="Image">/usr/bin/id</Data>...</Event>`
 * into rule-requested extra fields (parser.h, extra_names). Sysmon for
 * Linux writes exactly this to syslog (program `sysmon`), and agents that
 * forward Windows events as rendered XML do too. The field names are the
 * paths evtx_dump gives the same event as JSON, so one logsource mapping
 * (configs/sigma/logsources.yaml) serves the XML and the JSON shapes:
 *   <EventID>1</EventID> under System     -> Event.System.EventID
 *   <Provider Name="Linux-Sysmon"/>        -> Event.System.Provider.#attributes.Name
 *   <Data Name="Image">...</Data>          -> Event.EventData.Image
 * An element's text is a value only if the element has no child elements
 * (pretty-printed whitespace between elements is not a value).
 *
 * Why expat, and why an arena: XML escapes (&amp;, &#x..;, CDATA) and
 * well-formedness are expat's job, not ours (Debian's libexpat). To keep
 * the hot path free of malloc, each record's parser is created with a
 * memory suite that bumps through the worker's arena (struct cr_parser,
 * xml_arena) and is dropped whole after the record; a record that needs
 * more than the arena fails as "no memory" like any other broken XML. A
 * DOCTYPE stops the parse: event XML has none, and refusing it refuses
 * entity expansion outright.
 *
 * A message that is not well-formed XML keeps its syslog fields and msg,
 * and the record counts as partial (CR_PARSE_FALLBACK: `headerless` in the
 * metrics); fields read before the error are kept. A bare `<Event>` line
 * without a syslog header takes its time from System/TimeCreated.
 */
#include "parsers/parser_int.h"
#include "base/timeparse.h"

#include <expat.h>
#include <stdalign.h>
#include <string.h>

#define CR_XML_MAX_DEPTH 16
#define CR_XML_PATH 512

/* ---- the per-record arena behind expat's memory suite ---- */

/* expat's suite has no user pointer: the arena of the record being parsed
 * is per thread (a parser belongs to one worker thread). */
static _Thread_local struct cr_parser *cr_xml_cur;

struct cr_xml_blk {
    size_t size;
    alignas(max_align_t) unsigned char data[];
};

static void *cr_xml_malloc(size_t n)
{
    struct cr_parser *p = cr_xml_cur;
    size_t need =
        (sizeof(struct cr_xml_blk) + n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    if (!p || n > sizeof p->xml_arena || need > sizeof p->xml_arena - p->xml_used)
        return NULL;
    struct cr_xml_blk *b = (struct cr_xml_blk *)(void *)(p->xml_arena + p->xml_used);
    p->xml_used += need;
    b->size = n;
    return b->data;
}

static void cr_xml_free(void *ptr) { (void)ptr; /* the arena is dropped whole */ }

static void *cr_xml_realloc(void *ptr, size_t n)
{
    if (!ptr)
        return cr_xml_malloc(n);
    struct cr_xml_blk *b =
        (struct cr_xml_blk *)(void *)((unsigned char *)ptr - offsetof(struct cr_xml_blk, data));
    if (n <= b->size)
        return ptr;
    void *q = cr_xml_malloc(n);
    if (q)
        memcpy(q, ptr, b->size);
    return q;
}

static const XML_Memory_Handling_Suite cr_xml_mem = {cr_xml_malloc, cr_xml_realloc, cr_xml_free};

/* ---- the walk ---- */

struct cr_xml_walk {
    struct cr_parser *p;
    struct cr_event *ev;
    XML_Parser x;
    char path[CR_XML_PATH];
    size_t plen[CR_XML_MAX_DEPTH + 1]; /* path length at each depth */
    int depth;                         /* open elements */
    int too_deep;                      /* elements below CR_XML_MAX_DEPTH: not read */
    int leaf;                          /* the innermost open element has no child so far */
    int data_named;                    /* ... and is <Data Name=...>: path holds its name */
    size_t text0;                      /* where its text starts in p->kvbuf */
    int64_t time_ms;                   /* System/TimeCreated/@SystemTime, or -1 */
};

/* Copy into the record's value buffer; NULL when it is full. */
static const char *cr_xml_keep(struct cr_parser *p, const char *s, size_t n)
{
    if (n > sizeof p->kvbuf - p->kv_used)
        return NULL;
    char *d = p->kvbuf + p->kv_used;
    memcpy(d, s, n);
    p->kv_used += n;
    return d;
}

static void cr_xml_set(struct cr_xml_walk *w, const char *path, size_t plen, const char *v,
                       size_t vn)
{
    int id = cr_parser_extra_field(w->p, path, plen);
    if (id < 0 || cr_event_has(w->ev, (unsigned)id))
        return; /* the first occurrence counts */
    if (!cr_utf8_valid(v, vn))
        w->ev->flags |= CR_EV_BAD_UTF8;
    cr_event_set(w->ev, (unsigned)id, v, vn);
}

/* Append ".name" (or "name" at the root) to the path; 0 if it does not fit. */
static int cr_xml_push(struct cr_xml_walk *w, const char *name, size_t n)
{
    size_t at = w->plen[w->depth], sep = w->depth > 0;
    if (at + sep + n >= sizeof w->path)
        return 0;
    if (sep)
        w->path[at] = '.';
    memcpy(w->path + at + sep, name, n);
    w->plen[w->depth + 1] = at + sep + n;
    return 1;
}

static void XMLCALL cr_xml_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct cr_xml_walk *w = ud;
    if (w->leaf)
        w->p->kv_used = w->text0; /* the parent has a child: its blanks are not a value */
    w->leaf = 0;
    if (w->too_deep || w->depth >= CR_XML_MAX_DEPTH) {
        w->too_deep++;
        return;
    }
    const char *nm = name;
    size_t nn = strlen(name);
    const char *data_name = NULL;
    /* <Data Name="X"> under EventData is field X of EventData, as evtx_dump has it */
    if (w->depth > 0 && nn == 4 && memcmp(name, "Data", 4) == 0) {
        size_t pl = w->plen[w->depth];
        if (pl >= 9 && memcmp(w->path + pl - 9, "EventData", 9) == 0)
            for (int i = 0; atts[i]; i += 2)
                if (strcmp(atts[i], "Name") == 0) {
                    data_name = atts[i + 1];
                    break;
                }
    }
    if (data_name) {
        nm = data_name;
        nn = strlen(data_name);
    }
    if (!cr_xml_push(w, nm, nn)) {
        w->too_deep++;
        return;
    }
    w->depth++;
    size_t base = w->plen[w->depth];
    for (int i = 0; atts[i] && !data_name; i += 2) {
        static const char at[] = ".#attributes.";
        size_t an = strlen(atts[i]), vn = strlen(atts[i + 1]);
        if (base + sizeof at - 1 + an >= sizeof w->path)
            continue;
        memcpy(w->path + base, at, sizeof at - 1);
        memcpy(w->path + base + sizeof at - 1, atts[i], an);
        size_t pl = base + sizeof at - 1 + an;
        if (w->time_ms < 0 && an == 10 && memcmp(atts[i], "SystemTime", 10) == 0) {
            int64_t t;
            if (cr_time_parse_rfc3339(atts[i + 1], vn, 0, &t))
                w->time_ms = t;
        }
        if (cr_parser_extra_field(w->p, w->path, pl) < 0)
            continue;
        const char *v = cr_xml_keep(w->p, atts[i + 1], vn);
        if (v)
            cr_xml_set(w, w->path, pl, v, vn);
    }
    w->leaf = 1;
    w->data_named = data_name != NULL;
    w->text0 = w->p->kv_used;
}

static void XMLCALL cr_xml_text(void *ud, const XML_Char *s, int len)
{
    struct cr_xml_walk *w = ud;
    if (!w->leaf || w->too_deep || len <= 0)
        return;
    if (!cr_xml_keep(w->p, s, (size_t)len)) {
        w->p->kv_used = w->text0; /* the buffer is full: this value is not read */
        w->leaf = 0;
    }
}

static void XMLCALL cr_xml_end(void *ud, const XML_Char *name)
{
    struct cr_xml_walk *w = ud;
    (void)name;
    if (w->too_deep) {
        w->too_deep--;
        return;
    }
    if (w->leaf) {
        size_t n = w->p->kv_used - w->text0;
        if (n > 0 || w->data_named)
            cr_xml_set(w, w->path, w->plen[w->depth], w->p->kvbuf + w->text0, n);
        else
            w->p->kv_used = w->text0;
    }
    w->leaf = 0;
    w->data_named = 0;
    w->depth--;
}

static void XMLCALL cr_xml_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                   const XML_Char *pubid, int has_internal_subset)
{
    struct cr_xml_walk *w = ud;
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    XML_StopParser(w->x, XML_FALSE);
}

/* Does msg start with an element named Event (after blanks, an XML declaration)? */
static int cr_xml_looks(const char *m, size_t n)
{
    size_t i = 0;
    while (i < n && (m[i] == ' ' || m[i] == '\t'))
        i++;
    if (n - i >= 5 && memcmp(m + i, "<?xml", 5) == 0)
        return 1;
    return n - i >= 7 && memcmp(m + i, "<Event", 6) == 0 &&
           (m[i + 6] == '>' || m[i + 6] == ' ' || m[i + 6] == '/');
}

enum cr_parse_result cr_xml_fields(struct cr_parser *p, struct cr_event *ev, enum cr_parse_result r)
{
    if (!p->opts.extra_names || p->opts.n_extra_names <= CR_F__BUILTIN ||
        !cr_event_has(ev, CR_F_MSG))
        return r;
    const char *m = ev->f[CR_F_MSG].p;
    size_t n = ev->f[CR_F_MSG].len;
    if (!cr_xml_looks(m, n) || n > INT32_MAX)
        return r;
    p->kv_used = 0;
    p->xml_used = 0;
    cr_xml_cur = p;
    struct cr_xml_walk w;
    memset(&w, 0, sizeof w);
    w.p = p;
    w.ev = ev;
    w.time_ms = -1;
    int ok = 0;
    w.x = XML_ParserCreate_MM("UTF-8", &cr_xml_mem, NULL);
    if (w.x) {
        XML_SetUserData(w.x, &w);
        XML_SetElementHandler(w.x, cr_xml_start, cr_xml_end);
        XML_SetCharacterDataHandler(w.x, cr_xml_text);
        XML_SetStartDoctypeDeclHandler(w.x, cr_xml_doctype);
        ok = XML_Parse(w.x, m, (int)n, XML_TRUE) == XML_STATUS_OK;
        XML_ParserFree(w.x);
    }
    cr_xml_cur = NULL;
    if (w.time_ms >= 0 && (ev->flags & CR_EV_NO_TIME)) {
        ev->time_ms = w.time_ms;
        ev->flags &= ~(uint32_t)CR_EV_NO_TIME;
    }
    if (!ok)
        return r == CR_PARSE_OK ? CR_PARSE_FALLBACK : r;
    if ((ev->flags & CR_EV_HEADERLESS) && !(ev->flags & CR_EV_NO_TIME)) {
        /* a bare event XML line: a complete, known format */
        ev->flags &= ~(uint32_t)CR_EV_HEADERLESS;
        if (r == CR_PARSE_FALLBACK)
            r = CR_PARSE_OK;
    }
    return r;
}
