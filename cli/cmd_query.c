/*
 * cmd_query.c - `corral query`: the store's incidents, read from a shell.
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
 * status. argv[0] is "query" (cmd_rejects.c is its sibling for rejected records).
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
#include "cli/remote.h"
#include "cli/text_out.h"

#include "engine/store/csv.h"
#include "engine/store/incident.h"
#include "engine/store/ocsf.h"
#include "base/timeparse.h"
#include "engine/grade/assess.h"
#include "engine/grade/lifecycle.h"
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
    "  --store DIR       store directory (required, unless --server)\n"
    "  --server URL      ask a running `corral serve` or `corral run` (http://127.0.0.1:8780)\n"
    "  --token-file F    with --server: the API token, on the file's first line\n"
    "  --since T         incidents active at or after T (last_seen >= T)\n"
    "  --until T         incidents that began at or before T (first_seen <= T)\n"
    "                    T is RFC 3339 (2026-11-21T19:55:00Z), a date (2026-11-21,\n"
    "                    midnight UTC) or relative to now (-30m, -2h, -7d)\n"
    "  --category C      domain category, e.g. S-ATK-BRUTE\n"
    "  --priority P      P1, P2, P3 or P4\n"
    "  --entity K=V      incidents with this entity, e.g. src_ip=203.0.113.5\n"
    "  --level L         reg_level I, II, III or IV\n"
    "  --status S        lifecycle state, e.g. detected, acknowledged, closed\n"
    "  --overdue         only incidents past a deadline they have not met (respond,\n"
    "                    on_site, restore, resolve, report, summary); the table shows\n"
    "                    which, and the count goes to stderr\n"
    "  --format F        table (default), ndjson (stored JSON, one per line), csv, or\n"
    "                    ocsf (OCSF 1.1 Incident / Detection Findings, one per line)\n"
    "  --limit N         print at most N incidents\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 ok (also when nothing matched), 1 runtime error, 2 usage error.\n";

struct qout {
    FILE *out;
    FILE *err;
    enum cr_out_format fmt;
    int bad; /* stored records that did not parse (table/csv) */
    /* filters on the record itself (they need its JSON parsed) */
    const char *level, *status;
    int overdue;
    int64_t now_ms;
    size_t limit, printed, overdue_n;
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

/* One row of the table; the header goes through the same function so the
 * columns cannot drift apart. */
static void table_row(FILE *out, const char *first_seen, const char *prio, const char *level,
                      const char *status, const char *category, const char *entities,
                      const char *events, const char *title, const char *id)
{
    cr_out_cell(out, first_seen, 24, 0);
    fputc(' ', out);
    cr_out_cell(out, prio, 4, 0);
    fputc(' ', out);
    cr_out_cell(out, level, 5, 0);
    fputc(' ', out);
    cr_out_cell(out, status, 24, 0);
    fputc(' ', out);
    cr_out_cell(out, category, 16, 0);
    fputc(' ', out);
    cr_out_cell(out, entities, 52, 0); /* host + interface fit: sw-acc-07 GigabitEthernet1/0/48 */
    fputc(' ', out);
    cr_out_cell(out, events, 6, 1);
    fputc(' ', out);
    cr_out_cell(out, title, 44, 0);
    fputc(' ', out);
    cr_out_cell(out, id, 0, 0);
    fputc('\n', out);
}

static int print_incident(const char *json, size_t len, void *arg)
{
    struct qout *q = arg;
    int filters = q->level || q->status || q->overdue;
    if (q->fmt == CR_OUT_NDJSON && !filters) {
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
    char late[96] = "";
    if (filters) {
        json_t *od = cr_incident_overdue(o, q->now_ms);
        for (size_t i = 0; i < json_array_size(od); i++)
            snprintf(late + strlen(late), sizeof late - strlen(late), "%s%s", i ? "," : "",
                     json_string_value(json_array_get(od, i)));
        int pass = (!q->level || !strcmp(jget(o, "reg_level"), q->level)) &&
                   (!q->status || !strcmp(jget(o, "status"), q->status)) &&
                   (!q->overdue || json_array_size(od) > 0);
        json_decref(od);
        if (!pass) {
            json_decref(o);
            return 0;
        }
        if (q->limit && q->printed++ >= q->limit) {
            json_decref(o);
            return 1;
        }
        q->overdue_n += late[0] != 0;
        if (q->fmt == CR_OUT_NDJSON) {
            json_decref(o);
            fwrite(json, 1, len, q->out);
            fputc('\n', q->out);
            return ferror(q->out) ? 1 : 0;
        }
    }
    char count[24];
    snprintf(count, sizeof count, "%lld",
             (long long)json_integer_value(json_object_get(o, "event_count")));
    const char *level = jget(o, "reg_level");
    if (q->fmt == CR_OUT_OCSF) {
        json_t *oc = cr_incident_to_ocsf(o);
        char *t = oc ? json_dumps(oc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (t)
            fprintf(q->out, "%s\n", t);
        else
            q->bad++;
        free(t);
        json_decref(oc);
    } else if (q->fmt == CR_OUT_TABLE) {
        char *ents = entities_text(o, " ");
        char id[13];
        snprintf(id, sizeof id, "%s", jget(o, "id"));
        char st[sizeof late + 48];
        snprintf(st, sizeof st, "%s%s%s", jget(o, "status"), late[0] ? " LATE:" : "", late);
        table_row(q->out, jget(o, "first_seen"), jget(o, "priority"), *level ? level : "-", st,
                  jget(o, "category"), ents ? ents : "", count, jget(o, "title"), id);
        free(ents);
    } else {
        cr_incident_csv_row(q->out, o);
    }
    json_decref(o);
    return ferror(q->out) ? 1 : 0;
}

/* `--server`: every page of /api/v1/incidents (whole records: the
 * export, which streams them in first_seen order) through print_incident. */
static int remote_query(const char *server, const char *token_file, const char *qs,
                        enum cr_out_format fmt, size_t limit, FILE *out, FILE *err)
{
    struct cr_remote rm;
    if (cr_remote_init(&rm, server, token_file, err) != 0)
        return 1;
    char path[4200], *body = NULL;
    snprintf(path, sizeof path, "/api/v1/export?format=ndjson%s%s", qs[0] ? "&" : "", qs);
    long st = cr_remote_call(&rm, "GET", path, NULL, &body, err);
    if (st != 200) {
        if (st > 0)
            fprintf(err, "corral query: %s answered %ld: %s", server, st, body ? body : "\n");
        free(body);
        return 1;
    }
    struct qout qo = {out, err, fmt, 0, NULL, NULL, 0, cr_assess_now(), limit, 0, 0};
    if (fmt == CR_OUT_TABLE)
        table_row(out, "FIRST_SEEN", "PRIO", "LEVEL", "STATUS", "CATEGORY", "ENTITIES", "EVENTS",
                  "TITLE", "ID");
    else if (fmt == CR_OUT_CSV)
        fputs(cr_incident_csv_header, out);
    size_t printed = 0;
    for (char *p = body, *nl; p && *p && (!limit || printed < limit); p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len && print_incident(p, len, &qo) != 0)
            break;
        printed += len > 0;
    }
    free(body);
    fflush(out);
    if (qo.bad) {
        fprintf(err, "corral query: %d incident(s) from the server were not JSON\n", qo.bad);
        return 1;
    }
    return ferror(out) ? 1 : 0;
}

int cr_cmd_query_io(int argc, char **argv, FILE *out, FILE *err)
{
    static const struct option longopts[] = {
        {"store", required_argument, NULL, 's'},
        {"since", required_argument, NULL, 'S'},
        {"until", required_argument, NULL, 'U'},
        {"category", required_argument, NULL, 'c'},
        {"priority", required_argument, NULL, 'p'},
        {"entity", required_argument, NULL, 'e'},
        {"format", required_argument, NULL, 'f'},
        {"limit", required_argument, NULL, 'n'},
        {"level", required_argument, NULL, 'L'},
        {"status", required_argument, NULL, 'T'},
        {"overdue", no_argument, NULL, 'O'},
        {"server", required_argument, NULL, 'R'},
        {"token-file", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "query";
    const char *dir = NULL;
    char prio[3] = "";
    struct cr_query q = CR_QUERY_ALL;
    enum cr_out_format fmt = CR_OUT_TABLE;
    const char *level = NULL, *state = NULL, *server = NULL, *token_file = NULL;
    int overdue = 0;
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
            if (cr_out_parse_format(optarg, &fmt, 1) != 0)
                return cr_cli_usage(err, cmd, "invalid format '%s' (table, ndjson, csv or ocsf)",
                                    optarg);
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
        case 'L':
            if (cr_reg_level_parse(optarg) <= 0)
                return cr_cli_usage(err, cmd, "invalid level '%s' (I, II, III or IV)", optarg);
            level = cr_reg_level_name(cr_reg_level_parse(optarg));
            break;
        case 'T':
            if (cr_state_parse(optarg) < 0)
                return cr_cli_usage(err, cmd, "unknown status '%s' (detected, acknowledged, ...)",
                                    optarg);
            state = optarg;
            break;
        case 'O':
            overdue = 1;
            break;
        case 'R':
            server = optarg;
            break;
        case 'K':
            token_file = optarg;
            break;
        case 'h':
            fputs(query_usage, out);
            return 0;
        default:
            return cr_cli_getopt_error(err, cmd, c, argv);
        }
    }
    if (optind < argc)
        return cr_cli_usage(err, cmd, "unexpected argument '%s'", argv[optind]);
    if (server && dir)
        return cr_cli_usage(err, cmd, "give --store DIR or --server URL, not both");
    if (server) {
        /* the same filters, asked of the server: its answer is the same
         * stored JSON, printed by the same code */
        char qs[4096] = "";
        size_t n = 0;
        char t[40];
        if (q.since_ms != INT64_MIN) {
            cr_time_format(q.since_ms, t, sizeof t);
            cr_remote_param(qs, sizeof qs, &n, "from", t);
        }
        if (q.until_ms != INT64_MAX) {
            cr_time_format(q.until_ms, t, sizeof t);
            cr_remote_param(qs, sizeof qs, &n, "to", t);
        }
        if (q.category)
            cr_remote_param(qs, sizeof qs, &n, "category", q.category);
        if (q.priority)
            cr_remote_param(qs, sizeof qs, &n, "priority", q.priority);
        if (q.entity)
            cr_remote_param(qs, sizeof qs, &n, "entity", q.entity);
        if (level)
            cr_remote_param(qs, sizeof qs, &n, "reg_level", level);
        if (state)
            cr_remote_param(qs, sizeof qs, &n, "status", state);
        if (overdue)
            cr_remote_param(qs, sizeof qs, &n, "overdue", "true");
        return remote_query(server, token_file, qs, fmt, q.limit, out, err);
    }
    if (!dir)
        return cr_cli_usage(err, cmd, "--store DIR is required");

    struct cr_store *s = cr_cli_open_store(dir, err);
    if (!s)
        return 1;
    struct qout qo = {out, err, fmt, 0, level, state, overdue, cr_assess_now(), 0, 0, 0};
    if (level || state || overdue) { /* the limit counts what passes the record filters */
        qo.limit = q.limit;
        q.limit = 0;
    }
    if (fmt == CR_OUT_TABLE)
        table_row(out, "FIRST_SEEN", "PRIO", "LEVEL", "STATUS", "CATEGORY", "ENTITIES", "EVENTS",
                  "TITLE", "ID");
    else if (fmt == CR_OUT_CSV)
        fputs(cr_incident_csv_header, out);
    int rc = cr_store_query(s, &q, print_incident, &qo);
    int status = 0;
    if (rc != 0) {
        fprintf(err, "corral: %s: %s\n", dir, cr_store_errmsg(s));
        status = 1;
    }
    cr_store_close(s);
    fflush(out);
    if (overdue)
        fprintf(err, "corral query: %zu incident(s) overdue\n", qo.overdue_n);
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
