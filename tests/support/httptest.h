/*
 * httptest.h - tests of the HTTP API: a corral process that serves
 * (`corral serve` or `corral run` with serve.listen) started on an
 * ephemeral loopback port, and requests to it with libcurl.
 */
#ifndef CR_HTTPTEST_H
#define CR_HTTPTEST_H

#include <stddef.h>
#include <sys/types.h>

struct cr_test_server {
    pid_t pid;
    int port;
    char url[64];
    char log[4200]; /* its stderr */
};

/* Run `CORRAL_BINARY <args>` (a shell command line after the binary; it
 * must make corral listen on 127.0.0.1:0) with stderr to dir/NAME.log,
 * and wait (up to 30 s) for its "serving http[s]://127.0.0.1:PORT" line.
 * Returns 0, or -1 if it exited or never said so (the log tells why). */
int cr_test_serve(struct cr_test_server *s, const char *dir, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* SIGTERM, then wait: the exit status (128 + signal if killed). */
int cr_test_serve_stop(struct cr_test_server *s);

/* One request: method, path (after the server's URL), bearer token (NULL:
 * none), body (NULL: none; sent as application/json). The response body
 * goes to *out (malloc'd, may be NULL), the content type to ctype (if not
 * NULL, cap bytes). Returns the HTTP status, or -1 if the request failed. */
long cr_test_http(const struct cr_test_server *s, const char *method, const char *path,
                  const char *token, const char *body, char **out, char *ctype, size_t cap);

/* A CA file that verifies the server's certificate (HTTPS), or NULL. */
extern const char *cr_test_http_cainfo;

#endif
