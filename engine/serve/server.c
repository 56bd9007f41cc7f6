/*
 * server.c - see server.h and http.h: libmicrohttpd's daemon, a request's
 * body, its token, its audit entry and the reply.
 *
 * Why it is shaped this way:
 *  - One access handler for every URL. libmicrohttpd calls it first with
 *    the headers (a request context is made), then with each part of the
 *    body (kept up to 64 KiB; more is a 413), then once more: only then is
 *    the request routed, so a handler sees a whole request.
 *  - The token is checked here, for everything under /api/, before any
 *    routing: an unknown path with no token is a 401, like every other,
 *    so the API's shape is not visible without a token.
 *  - The audit entry goes to disk before the reply is queued (audit.h).
 */
#include "engine/serve/http.h"
#include "base/log.h"

#include "engine/grade/assess.h"
#include "engine/grade/lifecycle.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int64_t cr_http_now(const struct cr_server *s) { return s->b.now ? s->b.now() : cr_assess_now(); }

static void add_common_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}

void cr_http_reply(struct cr_req *r, int status, const char *ctype, char *body, size_t len)
{
    if (r->response)
        MHD_destroy_response(r->response);
    r->response = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r->response) {
        free(body);
        r->status = 500;
        return;
    }
    MHD_add_response_header(r->response, "Content-Type", ctype);
    add_common_headers(r->response);
    r->status = status;
}

void cr_http_reply_json(struct cr_req *r, int status, json_t *body)
{
    char *t = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (!t) {
        t = strdup("{\"error\":\"cannot encode the reply\"}");
        status = 500;
    }
    size_t n = t ? strlen(t) : 0;
    char *nl = t ? realloc(t, n + 2) : NULL;
    if (nl) {
        nl[n] = '\n';
        nl[n + 1] = 0;
        t = nl;
        n++;
    }
    cr_http_reply(r, status, "application/json; charset=utf-8", t, n);
}

void cr_http_error(struct cr_req *r, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    json_t *m = json_string(msg);
    json_object_set_new(o, "error", m ? m : json_string("(the reason is not valid UTF-8)"));
    json_object_set_new(o, "status", json_integer(status));
    cr_http_reply_json(r, status, o);
    if (status == 400)
        atomic_fetch_add(&r->srv->stats.bad_requests, 1);
    else if (status == 403)
        atomic_fetch_add(&r->srv->stats.forbidden, 1);
}

/* ---- the query string ----------------------------------------------------- */

struct params {
    struct cr_filter *f;
    const char *skip;
    char err[512];
    int bad;
};

static enum MHD_Result one_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    struct params *p = cls;
    if (p->bad || (p->skip && !strcmp(key, p->skip)))
        return MHD_YES;
    if (cr_filter_param(p->f, key, value, p->err, sizeof p->err) != 0)
        p->bad = 1;
    return MHD_YES;
}

int cr_http_filter(struct cr_req *r, struct cr_filter *f, const char *skip)
{
    struct params p = {f, skip, "", 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, one_param, &p);
    if (!p.bad && cr_filter_done(f, p.err, sizeof p.err) != 0)
        p.bad = 1;
    if (p.bad) {
        cr_http_error(r, 400, "%s", p.err);
        return -1;
    }
    return 0;
}

struct qtext {
    char *buf;
    size_t len, cap;
};

static enum MHD_Result one_text(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    struct qtext *q = cls;
    size_t need = strlen(key) + (value ? strlen(value) : 0) + 3;
    if (q->len + need > q->cap) {
        size_t cap = (q->cap + need) * 2;
        char *b = realloc(q->buf, cap);
        if (!b)
            return MHD_NO;
        q->buf = b;
        q->cap = cap;
    }
    q->len += (size_t)snprintf(q->buf + q->len, q->cap - q->len, "%s%s=%s", q->len ? "&" : "", key,
                               value ? value : "");
    return MHD_YES;
}

char *cr_http_query_text(struct cr_req *r)
{
    struct qtext q = {NULL, 0, 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, one_text, &q);
    return q.buf ? q.buf : strdup("");
}

/* ---- audit ------------------------------------------------------------------ */

static int audit_write(struct cr_req *r, int status)
{
    if (r->audited || !r->action)
        return 0;
    struct cr_audit_entry e = {
        .actor = r->tok ? r->tok->name : "-",
        .role = r->tok ? cr_role_name(r->tok->role) : "-",
        .action = r->action,
        .target = r->target,
        .detail = r->detail ? r->detail : "",
        .result = status,
        .remote = r->remote,
    };
    char err[512];
    if (cr_audit_append(r->srv->b.audit, &e, cr_http_now(r->srv), err, sizeof err) != 0) {
        atomic_fetch_add(&r->srv->stats.audit_failures, 1);
        cr_log_line(CR_LV_ERROR, "corral serve: %s\n", err);
        return -1;
    }
    atomic_fetch_add(&r->srv->stats.audit_entries, 1);
    r->audited = 1;
    return 0;
}

int cr_http_audit_now(struct cr_req *r, int status)
{
    if (audit_write(r, status) != 0) {
        cr_http_error(r, 500, "the audit log cannot be written: nothing was done");
        return -1;
    }
    return 0;
}

/* ---- routing ------------------------------------------------------------------ */

static const char *bearer(struct cr_req *r, size_t *len)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    size_t n = strlen(h);
    while (n && h[n - 1] == ' ')
        n--;
    *len = n;
    return n ? h : NULL;
}

static void healthz(struct cr_req *r)
{
    struct cr_store_usage u;
    json_t *o = json_object();
    int ok = cr_store_usage(r->srv->b.store, &u) == 0;
    json_object_set_new(o, "status", json_string(ok ? "ok" : "store unreadable"));
    json_object_set_new(o, "writer", json_string(r->srv->b.writer ? r->srv->b.writer : "none"));
    json_object_set_new(o, "read_only", json_boolean(!r->srv->b.act));
    if (ok)
        json_object_set_new(o, "incidents", json_integer((json_int_t)u.incidents));
    cr_http_reply_json(r, ok ? 200 : 503, o);
}

static void route(struct cr_req *r)
{
    const char *url = r->url;
    if (!strcmp(url, "/healthz")) {
        if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
            return cr_http_error(r, 405, "/healthz answers GET");
        return healthz(r);
    }
    if (!strcmp(url, "/metrics")) {
        if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
            return cr_http_error(r, 405, "/metrics answers GET");
        return cr_metrics_handle(r);
    }
    if (strncmp(url, "/api/", 5) != 0)
        return cr_page_handle(r, url);

    size_t tlen = 0;
    const char *t = bearer(r, &tlen);
    r->tok = t ? cr_tokens_find(r->srv->b.tokens, t, tlen) : NULL;
    if (!r->tok) {
        atomic_fetch_add(&r->srv->stats.auth_failures, 1);
        r->action = "auth_failed";
        snprintf(r->target, sizeof r->target, "%.79s", url);
        r->detail = strdup(t ? "a token no entry of the tokens file has" : "no bearer token");
        cr_http_error(r, 401, "a valid bearer token is needed (Authorization: Bearer TOKEN)");
        MHD_add_response_header(r->response, "WWW-Authenticate", "Bearer realm=\"corral\"");
        return;
    }
    if (r->body_too_large) {
        r->action = "refused";
        snprintf(r->target, sizeof r->target, "%.79s", url);
        return cr_http_error(r, 413, "the request body is larger than %d bytes", CR_HTTP_BODY_MAX);
    }
    if (!strcmp(url, "/api/v1/export")) {
        if (strcmp(r->method, "GET"))
            return cr_http_error(r, 405, "export answers GET");
        return cr_export_handle(r);
    }
    if (!strncmp(url, "/api/v1/", 8))
        return cr_api_handle(r, url + 8);
    r->action = "unknown";
    snprintf(r->target, sizeof r->target, "%.79s", url);
    cr_http_error(r, 404, "no such endpoint: %s", url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct cr_server *s = cls;
    struct cr_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->srv = s;
        r->conn = conn;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, r->remote,
                      sizeof r->remote);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        if (r->body_len + *upload_size > CR_HTTP_BODY_MAX) {
            r->body_too_large = 1;
        } else {
            char *b = realloc(r->body, r->body_len + *upload_size + 1);
            if (!b)
                return MHD_NO;
            memcpy(b + r->body_len, upload, *upload_size);
            r->body = b;
            r->body_len += *upload_size;
            r->body[r->body_len] = 0;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    r->method = method;
    r->url = url;
    route(r);
    if (!r->response)
        cr_http_error(r, 500, "no reply");
    atomic_fetch_add(&s->stats.requests, 1);
    if (audit_write(r, r->status) != 0) {
        /* An answer that cannot be recorded is not given. */
        r->audited = 1;
        cr_http_error(r, 500, "the audit log cannot be written");
    }
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)r->status, r->response);
    return ok;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct cr_req *r = *con_cls;
    if (!r)
        return;
    if (r->response)
        MHD_destroy_response(r->response);
    free(r->body);
    free(r->detail);
    free(r);
    *con_cls = NULL;
}

static char *slurp(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (n + got + 1 > cap) {
            cap = (n + got + 1) * 2;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "out of memory");
                return NULL;
            }
            buf = b;
        }
        memcpy(buf + n, chunk, got);
        n += got;
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "%s: empty", path);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, char *err, size_t errlen)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (!colon || (size_t)(colon - listen) >= sizeof host) {
        snprintf(err, errlen, "listen address '%s' is not HOST:PORT (127.0.0.1:8780)", listen);
        return -1;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof host, "127.0.0.1");
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535 ||
        inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        snprintf(err, errlen, "listen address '%s' is not HOST:PORT with an IPv4 host", listen);
        return -1;
    }
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

struct cr_server *cr_server_start(const struct cr_serve_opts *o, const struct cr_serve_backend *b,
                                  char *err, size_t errlen)
{
    const char *listen = o && o->listen ? o->listen : CR_SERVE_DEFAULT_LISTEN;
    struct sockaddr_in sa;
    if (parse_listen(listen, &sa, err, errlen) != 0)
        return NULL;
    if (!b->store || !b->tokens || !b->audit) {
        snprintf(err, errlen, "the server needs a store, a tokens file and an audit log");
        return NULL;
    }
    int tls = o && (o->tls_cert || o->tls_key);
    if (tls && !(o->tls_cert && o->tls_key)) {
        snprintf(err, errlen, "TLS needs both a certificate and a key");
        return NULL;
    }
    struct cr_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->b = *b;
    pthread_mutex_init(&s->cache_mu, NULL);
    char *cert = NULL, *key = NULL;
    if (tls &&
        (!(cert = slurp(o->tls_cert, err, errlen)) || !(key = slurp(o->tls_key, err, errlen)))) {
        free(cert);
        free(s);
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | (tls ? MHD_USE_TLS : 0);
    unsigned threads = o && o->threads > 0 ? (unsigned)o->threads : 4;
    if (tls)
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED,
                                on_done, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                                MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
                                MHD_OPTION_END);
    else
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
                                MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED,
                                on_done, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                                MHD_OPTION_END);
    /* libmicrohttpd copies neither: they live as long as the daemon */
    if (!s->d) {
        snprintf(err, errlen, "cannot listen on %s: %s%s", listen, strerror(errno),
                 tls ? " (or the TLS certificate and key do not load)" : "");
        free(cert);
        free(key);
        pthread_mutex_destroy(&s->cache_mu);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : ntohs(sa.sin_port);
    char host[32];
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
    snprintf(s->url, sizeof s->url, "%s://%s:%d", tls ? "https" : "http", host, s->port);
    s->tls_cert = cert;
    s->tls_key = key;
    return s;
}

int cr_server_port(const struct cr_server *s) { return s->port; }
const char *cr_server_url(const struct cr_server *s) { return s->url; }

void cr_server_stop(struct cr_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d);
    free(s->tls_cert);
    free(s->tls_key);
    free(s->cache_text);
    pthread_mutex_destroy(&s->cache_mu);
    free(s);
}
