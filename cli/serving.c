/*
 * serving.c - see serving.h.
 */
#include "cli/serving.h"
#include "base/log.h"

#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int cr_serving_start(struct cr_serving *sv, const struct cr_config *cfg,
                     const struct cr_serving_args *a, const char *store_dir,
                     struct cr_serve_backend *b, const char *who)
{
    memset(sv, 0, sizeof *sv);
    const char *tokens = a && a->tokens ? a->tokens : cfg->serve_tokens;
    if (!tokens) {
        cr_log_line(CR_LV_WARN,
                    "corral %s: no tokens file (serve.tokens or --tokens): every API call "
                    "needs a token and a role; see configs/tokens.example.yaml\n",
                    who);
        return CR_EXIT_CONFIG;
    }
    char err[4096];
    if (!(sv->tokens = cr_tokens_load(tokens, err, sizeof err))) {
        cr_log_line(CR_LV_ERROR, "%s\n", err);
        return CR_EXIT_CONFIG;
    }
    const char *audit = a && a->audit ? a->audit : cfg->serve_audit_log;
    if (audit)
        snprintf(sv->audit_path, sizeof sv->audit_path, "%s", audit);
    else
        snprintf(sv->audit_path, sizeof sv->audit_path, "%s/audit.log", store_dir);
    size_t cut = 0;
    if (!(sv->audit = cr_audit_open(sv->audit_path, &cut, err, sizeof err))) {
        cr_log_line(CR_LV_ERROR, "corral %s: %s\n", who, err);
        cr_serving_stop(sv);
        return 1;
    }
    if (cut)
        cr_log_line(CR_LV_WARN,
                    "corral %s: audit log %s: cut a torn last line (%zu bytes, never "
                    "acknowledged)\n",
                    who, sv->audit_path, cut);
    b->tokens = sv->tokens;
    b->audit = sv->audit;
    b->audit_path = sv->audit_path;
    struct cr_serve_opts o = {
        .listen = a && a->listen ? a->listen : cfg->serve_listen,
        .tls_cert = a && a->tls_cert ? a->tls_cert : cfg->serve_tls_cert,
        .tls_key = a && a->tls_key ? a->tls_key : cfg->serve_tls_key,
        .threads = cfg->serve_threads,
    };
    if (!(sv->srv = cr_server_start(&o, b, err, sizeof err))) {
        cr_log_line(CR_LV_ERROR, "corral %s: %s\n", who, err);
        cr_serving_stop(sv);
        return 1;
    }
    cr_log_line(CR_LV_INFO, "corral %s: serving %s (%zu token(s), audit log %s, %s)\n", who,
                cr_server_url(sv->srv), cr_tokens_count(sv->tokens), sv->audit_path,
                b->act ? "moves allowed" : "read-only");
    return 0;
}

void cr_serving_stop(struct cr_serving *sv)
{
    cr_server_stop(sv->srv);
    cr_audit_close(sv->audit);
    cr_tokens_free(sv->tokens);
    memset(sv, 0, sizeof *sv);
}
