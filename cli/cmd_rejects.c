/*
 * cmd_rejects.c - `corral rejects`: the records kept raw because they did
 * not parse cleanly, with the input, position and reason of each; read
 * from the store as `corral query` reads incidents (read-only, while the
 * engine writes), in the same formats and with the same exit status.
 *
 * Raw bytes are shown escaped (display_escape): a reject is often exactly
 * the bytes a terminal should not receive.
 */
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/text_out.h"

#include "engine/store/store.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    enum cr_out_format fmt;
    int oom;
};

static int print_reject(const char *input, uint64_t position, const char *reason, const char *raw,
                        size_t rawlen, void *arg)
{
    struct rout *r = arg;
    if (r->fmt == CR_OUT_NDJSON) {
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
    cr_out_cell(r->out, input, 28, 0);
    fprintf(r->out, " %10llu ", (unsigned long long)position);
    cr_out_cell(r->out, rs, 32, 0);
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
    enum cr_out_format fmt = CR_OUT_TABLE;
    int c;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 'f':
            if (cr_out_parse_format(optarg, &fmt, 0) != 0)
                return cr_cli_usage(err, cmd, "invalid format '%s' (table or ndjson)", optarg);
            break;
        case 'h':
            fputs(rejects_usage, out);
            return 0;
        default:
            return cr_cli_getopt_error(err, cmd, c, argv);
        }
    }
    if (optind < argc)
        return cr_cli_usage(err, cmd, "unexpected argument '%s'", argv[optind]);
    if (!dir)
        return cr_cli_usage(err, cmd, "--store DIR is required");

    struct cr_store *s = cr_cli_open_store(dir, err);
    if (!s)
        return 1;
    if (fmt == CR_OUT_TABLE)
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
