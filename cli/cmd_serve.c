/*
 * cmd_serve.c - `corral serve`: the HTTP API, the web page, /healthz and
 * /metrics over a store directory, without running the engine.
 *
 * For a store no `corral run` is writing (a replay's result, the
 * supervisor's copy) it takes the store's writer lock and applies moves
 * itself, one store transaction each, through the same code as `corral
 * incident` (engine/grade/action.h). When another process holds the lock
 * (a running engine) or the directory is not writable, it serves
 * read-only and says who writes: moves are then made through that
 * engine's own API (serve.listen in its config). --read-only forces it.
 *
 * It runs until SIGINT or SIGTERM, then stops accepting, finishes the
 * requests in flight and exits 0.
 *
 * Threading: main thread waits for a signal; libmicrohttpd's threads
 * serve; moves take the store's one write batch under a mutex.
 */
#include "cli/cli.h"
#include "base/log.h"
#include "cli/commands.h"
#include "cli/serving.h"

#include "engine/assets/inventory.h"
#include "engine/config/config.h"
#include "engine/grade/action.h"
#include "engine/grade/assess.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "Usage: corral serve --store DIR [options]\n"
    "Serve the HTTP API (/api/v1), the web page (/), /healthz and /metrics over a store.\n"
    "\n"
    "  --store DIR        store directory (default: the config's store.path)\n"
    "  -c, --config F     config: serve.* keys, store.path, grading policy and inventory\n"
    "  --listen H:P       address (default: serve.listen, else 127.0.0.1:8780; port 0 picks one)\n"
    "  --tokens FILE      bearer tokens with roles (default: serve.tokens)\n"
    "  --audit FILE       audit log (default: serve.audit_log, else DIR/audit.log)\n"
    "  --tls-cert F       PEM certificate (with --tls-key: HTTPS)\n"
    "  --tls-key F        PEM private key\n"
    "  --read-only        never write the store (moves answer 409)\n"
    "  -h, --help         show this help\n"
    "\n"
    "A store another process writes is served read-only. Exit status: 0 after SIGINT or\n"
    "SIGTERM, 1 runtime error, 2 usage error, 78 bad config or tokens file.\n";

struct local {
    pthread_mutex_t mu; /* one write batch at a time */
    struct cr_store *store;
    struct cr_assessor as;
    struct cr_inventory_walk walk;
};

static int act_local(void *arg, const struct cr_action *a, char **json, char *err, size_t errlen)
{
    struct local *l = arg;
    pthread_mutex_lock(&l->mu);
    int rc;
    if (cr_store_begin(l->store) != 0) {
        snprintf(err, errlen, "%s", cr_store_errmsg(l->store));
        rc = CR_ACTION_ERROR;
    } else {
        rc = cr_action_store(l->store, a, &l->as, cr_assess_now(), json, err, errlen);
        if (rc == CR_ACTION_DONE && cr_store_commit(l->store) != 0) {
            snprintf(err, errlen, "writing the store: %s", cr_store_errmsg(l->store));
            free(*json);
            *json = NULL;
            rc = CR_ACTION_ERROR;
        } else if (rc != CR_ACTION_DONE) {
            cr_store_abort(l->store);
        }
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

int cr_cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"store", required_argument, NULL, 's'},   {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},  {"tokens", required_argument, NULL, 't'},
        {"audit", required_argument, NULL, 'a'},   {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'}, {"read-only", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *cmd = "serve", *dir = NULL, *config = NULL;
    struct cr_serving_args sa = {0};
    int read_only = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'l':
            sa.listen = optarg;
            break;
        case 't':
            sa.tokens = optarg;
            break;
        case 'a':
            sa.audit = optarg;
            break;
        case 'C':
            sa.tls_cert = optarg;
            break;
        case 'K':
            sa.tls_key = optarg;
            break;
        case 'r':
            read_only = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return cr_cli_getopt_error(stderr, cmd, c, argv);
        }
    }
    if (optind < argc)
        return cr_cli_usage(stderr, cmd, "unexpected argument '%s'", argv[optind]);
    struct cr_config cfg;
    int rc = config ? cr_cli_load_config(config, &cfg) : (cr_config_defaults(&cfg), 0);
    if (rc)
        return rc;
    cr_log_set_json(cfg.log_json);
    if (!dir && !config) {
        cr_config_free(&cfg);
        return cr_cli_usage(stderr, cmd, "--store DIR (or -c CONFIG with store.path) is required");
    }
    if (!dir)
        dir = cfg.store_path;

    struct local l = {.as = {.walk = NULL}};
    pthread_mutex_init(&l.mu, NULL);
    l.as.walk = &l.walk;
    struct cr_inventory *inv = NULL;
    if ((rc = cr_cli_load_grading(&cfg, &l.as.policy)) ||
        (rc = cr_cli_load_assets(&cfg, &l.as.policy, &inv))) {
        cr_config_free(&cfg);
        return rc;
    }
    l.as.inv = inv;

    char msg[512], writer[600] = "this process (corral serve)";
    struct cr_store_opts so = {.read_only = read_only};
    struct cr_store *s = cr_store_open(dir, &so, msg, sizeof msg);
    if (!s && !read_only) {
        snprintf(writer, sizeof writer, "another process (%s)", msg);
        so.read_only = 1;
        s = cr_store_open(dir, &so, msg, sizeof msg);
    } else if (read_only) {
        snprintf(writer, sizeof writer, "no one through this server (--read-only)");
    }
    if (!s) {
        cr_log_line(CR_LV_ERROR, "corral serve: %s\n", msg);
        cr_inventory_free(inv);
        cr_config_free(&cfg);
        return 1;
    }
    l.store = s;
    struct cr_serve_backend b = {.store = s, .writer = writer, .policy = &l.as.policy};
    if (!so.read_only) {
        b.act = act_local;
        b.arg = &l;
    }
    /* signals: blocked here so every server thread inherits the mask, and
     * the main thread takes them with sigwait */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct cr_serving sv;
    rc = cr_serving_start(&sv, &cfg, &sa, dir, &b, cmd);
    if (rc == 0) {
        int sig = 0;
        sigwait(&set, &sig);
        cr_log_line(CR_LV_INFO, "corral serve: %s: stopping\n",
                    sig == SIGINT ? "SIGINT" : "SIGTERM");
        cr_serving_stop(&sv);
    }
    cr_store_close(s);
    cr_inventory_free(inv);
    cr_inventory_walk_free(&l.walk);
    cr_config_free(&cfg);
    pthread_mutex_destroy(&l.mu);
    return rc;
}
