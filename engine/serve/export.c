/*
 * export.c - GET /api/v1/export?format=ndjson|csv|ocsf&FILTERS: every
 * incident the filters and the caller's scope let through, streamed.
 *
 * The reply is chunked and produced a page at a time as the client reads
 * it (libmicrohttpd calls the reader when the socket has room): a page of
 * 500 incidents is formatted into a buffer, handed out, and the next page
 * starts from its cursor. Memory stays one page whatever the store holds,
 * and the export sees the store as it is page by page (an incident that
 * moves between pages may be skipped or repeated: the order is first_seen,
 * which does not change, so that happens only to incidents created while
 * the export runs).
 *
 * ndjson writes each incident as stored (a tenant's view of it); csv the
 * row of engine/store/csv.h, formula cells neutralised; ocsf the OCSF 1.1
 * finding of engine/store/ocsf.h.
 */
#include "engine/serve/http.h"
#include "base/log.h"

#include "engine/store/csv.h"
#include "engine/store/ocsf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_PAGE 500

enum fmt { F_NDJSON, F_CSV, F_OCSF };

struct export
{
    struct cr_server *srv;
    struct cr_filter f;
    enum fmt fmt;
    char *buf; /* formatted, not yet handed out */
    size_t len, off;
    int header_done, end;
    char next[200];
};

static void export_free(void *cls)
{
    struct export *e = cls;
    cr_filter_free(&e->f);
    free(e->buf);
    free(e);
}

/* Format the next page into e->buf. 0, or -1 (the store failed: end). */
static int fill(struct export *e)
{
    free(e->buf);
    e->buf = NULL;
    e->len = e->off = 0;
    FILE *m = open_memstream(&e->buf, &e->len);
    if (!m)
        return -1;
    if (!e->header_done && e->fmt == F_CSV)
        fputs(cr_incident_csv_header, m);
    e->header_done = 1;
    json_t *items = json_array();
    char err[512];
    int rc = cr_api_page(e->srv, &e->f, items, 1, e->next, sizeof e->next, err, sizeof err);
    for (size_t i = 0; rc == 0 && i < json_array_size(items); i++) {
        json_t *o = json_array_get(items, i);
        if (e->fmt == F_CSV) {
            cr_incident_csv_row(m, o);
            continue;
        }
        json_t *x = e->fmt == F_OCSF ? cr_incident_to_ocsf(o) : json_incref(o);
        char *t = x ? json_dumps(x, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (t)
            fprintf(m, "%s\n", t);
        free(t);
        json_decref(x);
    }
    json_decref(items);
    if (rc != 0)
        cr_log_line(CR_LV_ERROR, "corral serve: export: %s\n", err);
    fclose(m);
    if (rc != 0 || !e->next[0])
        e->end = 1;
    else {
        /* the next page resumes from this page's end */
        char perr[256];
        if (cr_filter_param(&e->f, "cursor", e->next, perr, sizeof perr) != 0)
            e->end = 1;
    }
    return rc;
}

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct export *e = cls;
    while (e->off == e->len) {
        if (e->end)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (fill(e) != 0 && e->off == e->len)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = e->len - e->off < max ? e->len - e->off : max;
    memcpy(out, e->buf + e->off, n);
    e->off += n;
    return (ssize_t)n;
}

void cr_export_handle(struct cr_req *r)
{
    r->action = "export";
    snprintf(r->target, sizeof r->target, "export");
    r->detail = cr_http_query_text(r);
    const char *fmt = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "format");
    enum fmt f;
    if (!fmt || !strcmp(fmt, "ndjson"))
        f = F_NDJSON;
    else if (!strcmp(fmt, "csv"))
        f = F_CSV;
    else if (!strcmp(fmt, "ocsf"))
        f = F_OCSF;
    else
        return cr_http_error(r, 400, "format: '%s' is not ndjson, csv or ocsf", fmt);
    struct export *e = calloc(1, sizeof *e);
    if (!e)
        return cr_http_error(r, 500, "out of memory");
    e->srv = r->srv;
    e->fmt = f;
    cr_filter_init(&e->f, r->tok);
    if (cr_http_filter(r, &e->f, "format") != 0) {
        export_free(e);
        return;
    }
    if (e->f.sort > CR_SORT_FIRST_SEEN) {
        export_free(e);
        return cr_http_error(r, 400,
                             "sort: an export is in first_seen order (-first_seen or "
                             "first_seen)");
    }
    e->f.page_size = EXPORT_PAGE;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, reader, e, export_free);
    if (!resp) {
        export_free(e);
        return cr_http_error(r, 500, "out of memory");
    }
    static const char *const ctype[] = {"application/x-ndjson; charset=utf-8",
                                        "text/csv; charset=utf-8; header=present",
                                        "application/x-ndjson; charset=utf-8"};
    static const char *const ext[] = {"ndjson", "csv", "ocsf.ndjson"};
    char disp[64];
    snprintf(disp, sizeof disp, "attachment; filename=\"corral-incidents.%s\"", ext[f]);
    MHD_add_response_header(resp, "Content-Type", ctype[f]);
    MHD_add_response_header(resp, "Content-Disposition", disp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    atomic_fetch_add(&r->srv->stats.exports, 1);
    r->response = resp;
    r->status = 200;
}
