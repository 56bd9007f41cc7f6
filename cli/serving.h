/*
 * serving.h - what `corral serve` and `corral run` (with serve.listen)
 * share to put the HTTP API up: the tokens file, the audit log, the server
 * (engine/serve/server.h), and the one line that says where it listens.
 *
 * Threading: command-line code, main thread only; the server runs its
 * own threads between cr_serving_start and cr_serving_stop.
 */
#ifndef CR_SERVING_H
#define CR_SERVING_H

#include "engine/config/config.h"
#include "engine/serve/server.h"

struct cr_serving {
    struct cr_tokens *tokens;
    struct cr_audit *audit;
    char audit_path[4096];
    struct cr_server *srv;
};

/* Overrides from the command line (NULL: the config's, then defaults). */
struct cr_serving_args {
    const char *listen, *tokens, *audit, *tls_cert, *tls_key;
};

/* Load the tokens, open the audit log (default <store_dir>/audit.log),
 * start the server with b (its store, tokens and audit fields are set
 * here). Prints the reason on stderr and returns CR_EXIT_CONFIG (a bad
 * tokens file or setting) or 1; 0 when listening. */
int cr_serving_start(struct cr_serving *sv, const struct cr_config *cfg,
                     const struct cr_serving_args *a, const char *store_dir,
                     struct cr_serve_backend *b, const char *who);
void cr_serving_stop(struct cr_serving *sv);

#endif
