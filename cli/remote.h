/*
 * remote.h - `corral query` and `corral incident` against a running
 * server (--server URL --token-file F) instead of a store directory: one
 * HTTP request with libcurl, the bearer token read from a file (never from
 * the command line, where `ps` would show it).
 *
 * Threading: command-line code, main thread only.
 */
#ifndef CR_REMOTE_H
#define CR_REMOTE_H

#include <stddef.h>
#include <stdio.h>

struct cr_remote {
    const char *server; /* http(s)://host:port */
    char token[512];
};

/* Read the token (the file's first line). 0, or -1 with the reason on err. */
int cr_remote_init(struct cr_remote *r, const char *server, const char *token_file, FILE *err);
/* method path [body]: the status (or -1 with the reason on err), the body
 * in *out (malloc'd). */
long cr_remote_call(const struct cr_remote *r, const char *method, const char *path,
                    const char *body, char **out, FILE *err);
/* s escaped for a query string, appended to buf at *len. */
void cr_remote_param(char *buf, size_t cap, size_t *len, const char *key, const char *value);

#endif
