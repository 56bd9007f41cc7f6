/*
 * http.h - inside the HTTP server: one request as the handlers see it, and
 * the replies they give. server.c owns the libmicrohttpd side (connection,
 * body, token, audit, queueing); api.c, export.c, metrics.c and page.c
 * each own a group of endpoints and call only what is declared here.
 *
 * A handler fills req->status and either a body (reply_*) or a streamed
 * response (req->response), and names what it did for the audit log
 * (req->action, target, detail). server.c appends the audit entry, then
 * queues the reply: an entry that cannot be written turns the reply into
 * a 500 and, for a move, the move was not made (api.c checks
 * cr_http_audit_now before acting).
 *
 * Threading: a request belongs to one libmicrohttpd thread.
 */
#ifndef CR_HTTP_H
#define CR_HTTP_H

#include "engine/serve/filter.h"
#include "engine/serve/server.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#define CR_HTTP_BODY_MAX (64 * 1024)

/* The server's counters, /metrics. */
#define CR_HTTP_COUNTERS(X)                                                                        \
    X(requests, "corral_api_requests_total", "API requests answered")                              \
    X(auth_failures, "corral_api_auth_failures_total",                                             \
      "requests refused for want of a valid token")                                                \
    X(forbidden, "corral_api_forbidden_total", "requests refused for the caller's role")           \
    X(bad_requests, "corral_api_bad_requests_total", "requests refused for bad parameters")        \
    X(actions, "corral_api_actions_total", "incident moves, notes and confirmations applied")      \
    X(exports, "corral_api_exports_total", "exports started")                                      \
    X(audit_entries, "corral_api_audit_entries_total", "entries appended to the audit log")        \
    X(audit_failures, "corral_api_audit_failures_total", "audit entries that could not be written")

struct cr_http_stats {
#define CR_HTTP_FIELD(field, name, help) _Atomic uint64_t field;
    CR_HTTP_COUNTERS(CR_HTTP_FIELD)
#undef CR_HTTP_FIELD
};

struct cr_server {
    struct MHD_Daemon *d;
    struct cr_serve_backend b;
    int port;
    char url[96];
    struct cr_http_stats stats;
    /* metrics.c's cache of incidents by category and level */
    pthread_mutex_t cache_mu;
    int64_t cache_at;
    char *cache_text;
    char *tls_cert, *tls_key; /* PEM text: libmicrohttpd keeps pointers to them */
};

struct cr_req {
    struct cr_server *srv;
    struct MHD_Connection *conn;
    const char *method, *url;
    char *body;
    size_t body_len;
    int body_too_large;
    const struct cr_token *tok; /* NULL before authentication */
    char remote[64];
    /* the answer */
    int status;
    struct MHD_Response *response;
    /* the audit entry (NULL action: not audited) */
    const char *action;
    char target[80];
    char *detail; /* malloc'd or NULL */
    int audited;  /* the entry is on disk */
};

/* Replies: set status and response. */
void cr_http_reply(struct cr_req *r, int status, const char *ctype, char *body, size_t len);
void cr_http_reply_json(struct cr_req *r, int status, json_t *body); /* steals body */
void cr_http_error(struct cr_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse the request's query string into f (the scope is the caller's).
 * skip: a parameter the handler reads itself (export's format) or NULL.
 * Returns 0, or -1 after replying 400. */
int cr_http_filter(struct cr_req *r, struct cr_filter *f, const char *skip);
/* The query string as given (for the audit detail). Caller frees. */
char *cr_http_query_text(struct cr_req *r);

/* Write the audit entry now, before acting (a move). Returns 0, or -1
 * after replying 500. */
int cr_http_audit_now(struct cr_req *r, int status);

/* The wall clock the server grades overdue against. */
int64_t cr_http_now(const struct cr_server *s);

/* Handlers. */
void cr_api_handle(struct cr_req *r, const char *path);  /* /api/v1/... */
void cr_export_handle(struct cr_req *r);                 /* /api/v1/export */
void cr_metrics_handle(struct cr_req *r);                /* /metrics */
void cr_page_handle(struct cr_req *r, const char *path); /* / and /ui/... */

/* A page of incidents under f (api.c; export.c pages with it): up to
 * f->page_size views appended to items, *next the cursor of the next page
 * or "" at the end. Returns 0, or -1 with the store's reason in err. */
int cr_api_page(struct cr_server *s, struct cr_filter *f, json_t *items, int full, char *next,
                size_t nextlen, char *err, size_t errlen);

#endif
