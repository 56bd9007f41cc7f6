/*
 * server.h - corral's HTTP server: the incident API, the built-in page,
 * /healthz and /metrics, over the LMDB store (libmicrohttpd).
 *
 *   GET  /healthz                          no token: {"status":"ok",...}
 *   GET  /metrics                          no token: Prometheus text 0.0.4
 *   GET  /                                 the web page (no token to load it)
 *   GET  /api/v1/whoami                    the caller's name, role, tenants
 *   GET  /api/v1/incidents?FILTERS         {"items":[...],"next_cursor":...}
 *   GET  /api/v1/incidents/ID              one incident with evidence, history
 *   GET  /api/v1/incidents/ID/evidence     its raw records
 *   POST /api/v1/incidents/ID/ACTION       ack, transition, note, confirm-level,
 *                                          input, regrade (JSON body)
 *   GET  /api/v1/export?format=F&FILTERS   ndjson, csv or ocsf, streamed
 *   GET  /api/v1/audit, /api/v1/audit/verify   supervisor, administrator
 * FILTERS: engine/serve/filter.h. Every /api/ request needs
 * `Authorization: Bearer TOKEN` (tokens.h) and is recorded in the audit
 * log (audit.h) before it is answered: 401 without a valid token, 403 for
 * a role that may not, 404 for an incident that does not exist *or* is
 * outside a tenant token's scope (the two are indistinguishable), 400 for
 * a bad parameter with the reason, 409 for a move the lifecycle refuses.
 *
 * Who writes: the backend's act() applies an action (a running engine
 * sends it to its writer thread; `corral serve` applies it to a store it
 * holds the writer lock of). Without act() the server is read-only and
 * answers moves 409, saying which process writes the store.
 *
 * Threading: libmicrohttpd's thread pool runs the handlers; the store is
 * read in read-only transactions on those threads (store.h), the audit log
 * takes its own lock, act() must be thread-safe.
 */
#ifndef CR_SERVER_H
#define CR_SERVER_H

#include "engine/grade/action.h"
#include "engine/serve/audit.h"
#include "engine/serve/tokens.h"
#include "engine/store/store.h"

#include <stddef.h>
#include <stdio.h>

#define CR_SERVE_DEFAULT_LISTEN "127.0.0.1:8780"

struct cr_serve_backend {
    struct cr_store *store;         /* read by every handler */
    const struct cr_tokens *tokens; /* who may call */
    struct cr_audit *audit;         /* every action recorded here */
    const char *audit_path;         /* for the audit endpoints (verify reads the file) */
    /* Apply an action; NULL: read-only. Returns a CR_ACTION_* code; on
     * success *json is the incident as it now is (malloc'd). */
    int (*act)(void *arg, const struct cr_action *a, char **json, char *err, size_t errlen);
    /* More metrics (the running engine's counters), Prometheus text; may
     * be NULL. */
    void (*metrics)(void *arg, FILE *out);
    void *arg;
    const char *writer;   /* who writes the store, for /healthz and 409s: "this process
                           * (corral run)", "this process (corral serve)", "pid 1234" */
    int64_t (*now)(void); /* the wall clock (overdue); NULL: cr_assess_now */
    const struct cr_grade_policy *policy; /* targets of the service report; NULL: defaults */
};

struct cr_serve_opts {
    const char *listen;   /* HOST:PORT, IPv4; NULL = CR_SERVE_DEFAULT_LISTEN; port 0: any */
    const char *tls_cert; /* PEM files: both or neither */
    const char *tls_key;
    int threads; /* 0 = 4 */
};

struct cr_server;

/* Start serving; returns NULL with the reason in err (the address is in
 * use, a TLS file does not load). The backend must outlive the server. */
struct cr_server *cr_server_start(const struct cr_serve_opts *o, const struct cr_serve_backend *b,
                                  char *err, size_t errlen);
/* The port it listens on (the one picked when the config said 0). */
int cr_server_port(const struct cr_server *s);
/* Stop accepting, finish what is in flight, free. */
void cr_server_stop(struct cr_server *s);

/* The address as "http[s]://HOST:PORT" for messages. */
const char *cr_server_url(const struct cr_server *s);

#endif
