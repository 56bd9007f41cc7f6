/*
 * cmd_query.c - `corral query` and `corral rejects`: the store, read from a
 * shell.
 *
 * Analysts triage from a time range, a category, a priority or one entity
 * (reference/ecosystem.md §5), then pipe the result somewhere: ndjson to
 * jq or a SIEM, csv to a spreadsheet, table to their eyes. So:
 *
 *  - ndjson prints the stored JSON byte for byte: one code path for the
 *    record's shape (incident.c), and what scripts see is what was stored.
 *  - table and csv parse that JSON back with jansson. That costs a parse
 *    per printed incident, which is nothing next to a terminal, and keeps
 *    the store free of a second encoding.
 *  - Rows are streamed as the store walk produces them (fixed column
 *    widths), so `--limit` and `| head` stop early on a large store.
 *  - stdout carries data only; every message goes to stderr with the
 *    "corral <cmd>:" prefix, and usage errors end with a --help hint
 *    (clig.dev). Exit codes: 0 ok, 1 runtime, 2 usage.
 *
 * The store is opened read-only: LMDB lets this run in a separate process
 * from (and at the same time as) the running engine, and the query sees
 * the last committed batch.
 *
 * Each command is a whole program: it parses its own options with
 * getopt_long, opens the store read-only, prints and returns the exit
 * status. argv[0] is the subcommand name ("query", "rejects").
 *
 * Exit status: 0 ok (also when nothing matched), 1 runtime error (no store,
 * unreadable store, write error), 2 usage error (one line saying what is
 * wrong and a hint to --help, on the error stream). --help prints usage on
 * the output stream and returns 0.
 *
 * Threading: getopt keeps global state; call from one thread at a time.
 */
#include "cli/cli.h"
#include "cli/commands.h"

#include "engine/store/incident.h"
#include "base/timeparse.h"
#include "engine/store/store.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char query_usage[] =
    "Usage: corral query --store DIR [options]\n"
    "List stored incidents, newest first_seen first.\n"
    "\n"
    "  --store DIR       store directory (required)\n"
    "  --since T         incidents active at or after T (last_seen >= T)\n"
    "  --until T         incidents that began at or before T (first_seen <= T)\n"
    "                    T is RFC 3339 (2026-11-21T19:55:00Z), a date (2026-11-21,\n"
    "                    midnight UTC) or relative to now (-30m, -2h, -7d)\n"
    "  --category C      domain category, e.g. S-ATK-BRUTE\n"
    "  --priority P      P1, P2, P3 or P4\n"
    "  --entity K=V      incidents with this entity, e.g. src_ip=203.0.113.5\n"
    "  --format F        table (default), ndjson (stored JSON, one per line) or csv\n"
    "  --limit N         print at most N incidents\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 ok (also when nothing matched), 1 runtime error, 2 usage error.\n";

static const char rejects_usage[] =
    "Usage: corral rejects --store DIR [--format table|ndjson]\n"
    "List raw records the engine could not use, in input order.\n"
    "\n"
    "  --store DIR       store directory (required)\n"
    "  --format F        table (default) or ndjson\n"
    "  -h, --help        show this help\n"
    "\n"
    "Raw bytes that are not UTF-8 are shown as \\xHH.\n"
    "Exit status: 0 ok (also when there are none), 1 runtime error, 2 usage error.\n";

enum fmt { FMT_TABLE, FMT_NDJSON, FMT_CSV };

/* getopt_long's own complaint, in our words. opterr is off so getopt prints
 * nothing; with ':' first in optstring, a missing argument returns ':'. */
static int getopt_error(FILE *err, const char *cmd, int c, char **argv)
{
    const char *opt = argv[optind - 1];
    if (c == ':')
        return cr_cli_usage(err, cmd, "option '%s' needs an argument", opt);
    if (optopt)
        return cr_cli_usage(err, cmd, "unknown option '-%c'", optopt);
    return cr_cli_usage(err, cmd, "unknown option '%s'", opt);
}

static struct cr_store *open_store(const char *dir, FILE *err)
{
    char msg[512];
    struct cr_store_opts o = {.map_size = 0, .read_only = 1};
    struct cr_store *s = cr_store_open(dir, &o, msg, sizeof msg);
    if (!s)
        fprintf(err, "corral: %s\n", msg);
    return s;
}

/* ---- table cells ------------------------------------------------------- */

/* Columns a code point takes on a terminal: East Asian wide and fullwidth
 * ranges take two (titles and hostnames here are often Chinese). */
static int cp_width(uint32_t cp)
{
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
        (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    return 1;
}

/* Decode one code point of valid UTF-8 (jansson guarantees valid). */
static size_t utf8_next(const unsigned char *p, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] < 0xE0) {
        *cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
        return 2;
    }
    if (p[0] < 0xF0) {
        *cp = (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
        return 3;
    }
    *cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
          (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
    return 4;
}

/* Print s in exactly `width` columns: control characters become spaces (a
 * row stays one line), too long ends in "…", short is padded. With
 * width 0 the whole text is printed (last column). */
static void cell(FILE *out, const char *s, int width, int right)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    int total = 0;
    for (const unsigned char *q = p; *q;) {
        uint32_t cp;
        q += utf8_next(q, &cp);
        total += cp < 0x20 || cp == 0x7F ? 1 : cp_width(cp);
    }
    int fits = width == 0 || total <= width;
    int limit = fits ? total : width - 1; /* room for the ellipsis */
    int used = 0;
    if (right && fits && total < width)
        fprintf(out, "%*s", width - total, "");
    while (*p) {
        uint32_t cp;
        size_t n = utf8_next(p, &cp);
        int w = cp < 0x20 || cp == 0x7F ? 1 : cp_width(cp);
        if (used + w > limit)
            break;
        if (cp < 0x20 || cp == 0x7F)
            fputc(' ', out);
        else
            fwrite(p, 1, n, out);
        used += w;
        p += n;
    }
    if (!fits) {
        fputs("\xE2\x80\xA6", out);
        used++;
    }
    if (!right && width > used)
        fprintf(out, "%*s", width - used, "");
}

/* ---- query --------------------------------------------------------------- */

struct qout {
    FILE *out;
    FILE *err;
    enum fmt fmt;
    int bad; /* stored records that did not parse (table/csv) */
};

static const char *jget(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

/* "k=v" pairs joined by sep, in stored order. Caller frees. */
static char *entities_text(json_t *o, const char *sep)
{
    json_t *ents = json_object_get(o, "entities");
    size_t cap = 1;
    const char *k;
    json_t *v;
    json_object_foreach(ents, k, v)
    {
        const char *val = json_string_value(v);
        cap += strlen(k) + 1 + (val ? strlen(val) : 0) + strlen(sep);
    }
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t n = 0;
    buf[0] = 0;
    json_object_foreach(ents, k, v)
    {
        const char *val = json_string_value(v) ? json_string_value(v) : "";
        n += (size_t)snprintf(buf + n, cap - n, "%s%s=%s", n ? sep : "", k, val);
    }
    return buf;
}

static void csv_field(FILE *out, const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
    fputs(last ? "\r\n" : ",", out);
}

/* One row of the table; the header goes through the same function so the
 * columns cannot drift apart. */
static void table_row(FILE *out, const char *first_seen, const char *prio, const char *level,
                      const char *category, const char *entities, const char *events,
                      const char *title, const char *id)
{
    cell(out, first_seen, 24, 0);
    fputc(' ', out);
    cell(out, prio, 4, 0);
    fputc(' ', out);
    cell(out, level, 5, 0);
    fputc(' ', out);
    cell(out, category, 16, 0);
    fputc(' ', out);
    cell(out, entities, 52, 0); /* host + interface fit: sw-acc-07 GigabitEthernet1/0/48 */
    fputc(' ', out);
    cell(out, events, 6, 1);
    fputc(' ', out);
    cell(out, title, 44, 0);
    fputc(' ', out);
    cell(out, id, 0, 0);
    fputc('\n', out);
}

static const char csv_header[] = "id,first_seen,last_seen,priority,reg_level,category,reg_category,"
                                 "rule,title,entities,event_count,status\r\n";

static int print_incident(const char *json, size_t len, void *arg)
{
    struct qout *q = arg;
    if (q->fmt == FMT_NDJSON) {
        fwrite(json, 1, len, q->out);
        fputc('\n', q->out);
        return ferror(q->out) ? 1 : 0;
    }
    json_t *o = json_loadb(json, len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        q->bad++;
        return 0;
    }
    char count[24];
    snprintf(count, sizeof count, "%lld",
             (long long)json_integer_value(json_object_get(o, "event_count")));
    const char *level = jget(o, "reg_level");
    if (q->fmt == FMT_TABLE) {
        char *ents = entities_text(o, " ");
        char id[13];
        snprintf(id, sizeof id, "%s", jget(o, "id"));
        table_row(q->out, jget(o, "first_seen"), jget(o, "priority"), *level ? level : "-",
                  jget(o, "category"), ents ? ents : "", count, jget(o, "title"), id);
        free(ents);
    } else {
        char *ents = entities_text(o, ";");
        csv_field(q->out, jget(o, "id"), 0);
        csv_field(q->out, jget(o, "first_seen"), 0);
        csv_field(q->out, jget(o, "last_seen"), 0);
        csv_field(q->out, jget(o, "priority"), 0);
        csv_field(q->out, level, 0);
        csv_field(q->out, jget(o, "category"), 0);
        csv_field(q->out, jget(o, "reg_category"), 0);
        csv_field(q->out, jget(o, "rule"), 0);
        csv_field(q->out, jget(o, "title"), 0);
        csv_field(q->out, ents ? ents : "", 0);
        csv_field(q->out, count, 0);
        csv_field(q->out, jget(o, "status"), 1);
        free(ents);
    }
    json_decref(o);
    return ferror(q->out) ? 1 : 0;
}

static int parse_format(const char *s, enum fmt *f, int allow_csv)
{
    if (strcmp(s, "table") == 0)
        *f = FMT_TABLE;
    else if (strcmp(s, "ndjson") == 0)
        *f = FMT_NDJSON;
    else if (allow_csv && strcmp(s, "csv") == 0)
        *f = FMT_CSV;
    else
        return -1;
    return 0;
}

int cr_cmd_query_io(int argc, char **argv, FILE *out, FILE *err)
{
    static const struct option longopts[] = {
        {"store", required_argument, NULL, 's'},    {"since", required_argument, NULL, 'S'},
        {"until", required_argument, NULL, 'U'},    {"category", required_argument, NULL, 'c'},
        {"priority", required_argument, NULL, 'p'}, {"entity", required_argument, NULL, 'e'},
        {"format", required_argument, NULL, 'f'},   {"limit", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *cmd = "query";
    const char *dir = NULL;
    char prio[3] = "";
    struct cr_query q = {INT64_MIN, INT64_MAX, NULL, NULL, NULL, 0};
    enum fmt fmt = FMT_TABLE;
    int c;

    optind = 0; /* glibc: full reset, so the command can run more than once */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 'S':
        case 'U':
            if (cr_time_parse(optarg, c == 'S' ? &q.since_ms : &q.until_ms) != 0)
                return cr_cli_usage(err, cmd,
                                    "invalid time '%s' for --%s (RFC 3339, YYYY-MM-DD or -2h)",
                                    optarg, c == 'S' ? "since" : "until");
            break;
        case 'c':
            if (!*optarg)
                return cr_cli_usage(err, cmd, "--category needs a value, e.g. S-ATK-BRUTE");
            q.category = optarg;
            break;
        case 'p':
            /* Accept p1 as well as P1: the stored form is upper case. */
            if (!((optarg[0] == 'P' || optarg[0] == 'p') && optarg[1] >= '1' && optarg[1] <= '4' &&
                  optarg[2] == 0))
                return cr_cli_usage(err, cmd, "invalid priority '%s' (P1, P2, P3 or P4)", optarg);
            prio[0] = 'P';
            prio[1] = optarg[1];
            q.priority = prio;
            break;
        case 'e': {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg)
                return cr_cli_usage(err, cmd, "invalid entity '%s' (expected name=value)", optarg);
            q.entity = optarg;
            break;
        }
        case 'f':
            if (parse_format(optarg, &fmt, 1) != 0)
                return cr_cli_usage(err, cmd, "invalid format '%s' (table, ndjson or csv)", optarg);
            break;
        case 'n': {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(optarg, &end, 10);
            if (optarg[0] < '0' || optarg[0] > '9' || *end || errno || n == 0 ||
                n > (unsigned long long)SIZE_MAX)
                return cr_cli_usage(err, cmd, "invalid limit '%s' (a positive integer)", optarg);
            q.limit = (size_t)n;
            break;
        }
        case 'h':
            fputs(query_usage, out);
            return 0;
        default:
            return getopt_error(err, cmd, c, argv);
        }
    }
    if (optind < argc)
        return cr_cli_usage(err, cmd, "unexpected argument '%s'", argv[optind]);
    if (!dir)
        return cr_cli_usage(err, cmd, "--store DIR is required");

    struct cr_store *s = open_store(dir, err);
    if (!s)
        return 1;
    struct qout qo = {out, err, fmt, 0};
    if (fmt == FMT_TABLE)
        table_row(out, "FIRST_SEEN", "PRIO", "LEVEL", "CATEGORY", "ENTITIES", "EVENTS", "TITLE",
                  "ID");
    else if (fmt == FMT_CSV)
        fputs(csv_header, out);
    int rc = cr_store_query(s, &q, print_incident, &qo);
    int status = 0;
    if (rc != 0) {
        fprintf(err, "corral: %s: %s\n", dir, cr_store_errmsg(s));
        status = 1;
    }
    cr_store_close(s);
    if (qo.bad) {
        fprintf(err, "corral query: %d stored incident(s) could not be read as JSON\n", qo.bad);
        status = 1;
    }
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(err, "corral query: write error: %s\n", strerror(errno));
        status = 1;
    }
    return status;
}

int cr_cmd_query(int argc, char **argv) { return cr_cmd_query_io(argc, argv, stdout, stderr); }

/* ---- rejects ------------------------------------------------------------- */

/* Valid UTF-8 (raw bytes through cr_raw_escape), with control characters
 * also escaped for a one-line terminal cell. Caller frees. */
static char *display_escape(const char *raw, size_t len)
{
    size_t cap = 4 * len + 1;
    char *u = malloc(cap);
    char *d = malloc(cap * 4);
    if (!u || !d) {
        free(u);
        free(d);
        return NULL;
    }
    cr_raw_escape(u, cap, raw, len);
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++) {
        if (*p == '\n') {
            memcpy(d + o, "\\n", 2);
            o += 2;
        } else if (*p == '\r') {
            memcpy(d + o, "\\r", 2);
            o += 2;
        } else if (*p == '\t') {
            memcpy(d + o, "\\t", 2);
            o += 2;
        } else if (*p < 0x20 || *p == 0x7F) {
            o += (size_t)sprintf(d + o, "\\x%02X", *p);
        } else {
            d[o++] = (char)*p;
        }
    }
    d[o] = 0;
    free(u);
    return d;
}

struct rout {
    FILE *out;
    enum fmt fmt;
    int oom;
};

static int print_reject(const char *input, uint64_t position, const char *reason, const char *raw,
                        size_t rawlen, void *arg)
{
    struct rout *r = arg;
    if (r->fmt == FMT_NDJSON) {
        size_t cap = 4 * rawlen + 1;
        char *u = malloc(cap);
        char *rs = malloc(4 * strlen(reason) + 1);
        json_t *o = json_object();
        char *line = NULL;
        if (u && rs && o) {
            cr_raw_escape(u, cap, raw, rawlen);
            cr_raw_escape(rs, 4 * strlen(reason) + 1, reason, strlen(reason));
            char *in = malloc(4 * strlen(input) + 1);
            if (in) {
                cr_raw_escape(in, 4 * strlen(input) + 1, input, strlen(input));
                json_object_set_new(o, "input", json_string(in));
            }
            free(in);
            json_object_set_new(o, "position", json_integer((json_int_t)position));
            json_object_set_new(o, "reason", json_string(rs));
            json_object_set_new(o, "raw", json_string(u));
            line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        }
        if (line)
            fprintf(r->out, "%s\n", line);
        else
            r->oom = 1;
        free(line);
        json_decref(o);
        free(u);
        free(rs);
        return r->oom || ferror(r->out);
    }
    char *rd = display_escape(raw, rawlen);
    char *rs = display_escape(reason, strlen(reason));
    if (!rd || !rs) {
        free(rd);
        free(rs);
        r->oom = 1;
        return 1;
    }
    cell(r->out, input, 28, 0);
    fprintf(r->out, " %10llu ", (unsigned long long)position);
    cell(r->out, rs, 32, 0);
    fprintf(r->out, " %s\n", rd);
    free(rd);
    free(rs);
    return ferror(r->out) ? 1 : 0;
}

int cr_cmd_rejects_io(int argc, char **argv, FILE *out, FILE *err)
{
    static const struct option longopts[] = {
        {"store", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "rejects";
    const char *dir = NULL;
    enum fmt fmt = FMT_TABLE;
    int c;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 'f':
            if (parse_format(optarg, &fmt, 0) != 0)
                return cr_cli_usage(err, cmd, "invalid format '%s' (table or ndjson)", optarg);
            break;
        case 'h':
            fputs(rejects_usage, out);
            return 0;
        default:
            return getopt_error(err, cmd, c, argv);
        }
    }
    if (optind < argc)
        return cr_cli_usage(err, cmd, "unexpected argument '%s'", argv[optind]);
    if (!dir)
        return cr_cli_usage(err, cmd, "--store DIR is required");

    struct cr_store *s = open_store(dir, err);
    if (!s)
        return 1;
    if (fmt == FMT_TABLE)
        fprintf(out, "%-28s %10s %-32s %s\n", "INPUT", "POSITION", "REASON", "RAW");
    struct rout ro = {out, fmt, 0};
    int rc = cr_store_rejects(s, print_reject, &ro);
    int status = 0;
    if (rc != 0) {
        fprintf(err, "corral: %s: %s\n", dir, cr_store_errmsg(s));
        status = 1;
    }
    cr_store_close(s);
    if (ro.oom) {
        fprintf(err, "corral rejects: out of memory\n");
        status = 1;
    }
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(err, "corral rejects: write error: %s\n", strerror(errno));
        status = 1;
    }
    return status;
}

int cr_cmd_rejects(int argc, char **argv) { return cr_cmd_rejects_io(argc, argv, stdout, stderr); }
