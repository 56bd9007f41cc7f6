/*
 * cmd_incident.c - `corral incident`: an incident's lifecycle from a shell.
 *
 *   corral incident show ID
 *   corral incident ack ID [--note TEXT]
 *   corral incident transition ID STATE [--note TEXT]
 *   corral incident note ID TEXT
 *   corral incident confirm-level ID LEVEL [--note TEXT]
 *
 * with --store DIR, --actor NAME and --role ROLE (administrator, operator,
 * tenant, supervisor) for the moves, and -c CONFIG for the grading policy
 * (reporting level, deadlines). ID may be the 12-digit prefix the table
 * prints. The rules of the lifecycle are engine/grade/lifecycle.h's: a
 * move it does not allow is refused with the reason (exit 1) and nothing
 * changes. The edited incident is written back in one store transaction,
 * so this takes the store's writer lock: it cannot run while `corral run`
 * writes the same store (the HTTP API of issue 13 serves that case).
 *
 * Threading: command-line code, main thread only.
 */
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/remote.h"

#include "base/impact.h"
#include "engine/assets/inventory.h"
#include "engine/config/config.h"
#include "engine/grade/action.h"
#include "engine/grade/assess.h"
#include "engine/grade/lifecycle.h"
#include "engine/grade/policy.h"
#include "engine/store/incident.h"
#include "engine/store/store.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "Usage: corral incident ACTION ID [ARG] --store DIR [options]\n"
    "Move an incident through its lifecycle (docs/operations.md, Incident lifecycle).\n"
    "\n"
    "Actions:\n"
    "  show ID                    print the incident (JSON, with its history)\n"
    "  ack ID                     acknowledge it (detected -> acknowledged)\n"
    "  transition ID STATE        move it to STATE: acknowledged, graded, reported,\n"
    "                             on_site, mitigated, restored, resolved,\n"
    "                             verified_by_tenant, closed, summary_filed\n"
    "  note ID TEXT               add a note to its history\n"
    "  confirm-level ID LEVEL     confirm (or correct) its level: I, II, III or IV\n"
    "                             (administrator only)\n"
    "  input ID KEY=VALUE         an analyst's grading input, then grade it again:\n"
    "                             economic_loss_cny=N, pi_records=N (personal data\n"
    "                             exposed), outage=none|degraded|main|full,\n"
    "                             data=important|key_leaked|key_tampered|key_destroyed\n"
    "  regrade ID|all             grade it (or every open one) again as of now: an\n"
    "                             outage that went on crosses rungs (a running\n"
    "                             `corral run` does this every regrade.interval)\n"
    "\n"
    "  --store DIR       store directory (required, unless --server)\n"
    "  --server URL      act through a running `corral serve` or `corral run` (who acts\n"
    "                    and in which role come from the token; ID in full)\n"
    "  --token-file F    with --server: the API token, on the file's first line\n"
    "  --actor NAME      who acts (required for every action but show)\n"
    "  --role ROLE       administrator, operator (default), tenant or supervisor\n"
    "  --note TEXT       a note for the history entry of the move\n"
    "  -c, --config F    the config whose grading policy and inventory apply\n"
    "                    (default: the built-in policy, no inventory)\n"
    "  -h, --help        show this help\n"
    "\n"
    "ID is the 32-digit id or a unique prefix of it (the table shows 12).\n"
    "Exit status: 0 done, 1 refused or runtime error, 2 usage error.\n";

/* The full id of a prefix, by a walk of the store (the table prints 12
 * digits). */
struct find {
    const char *prefix;
    size_t len;
    char id[33];
    int found;
};

static int match_prefix(const char *json, size_t len, void *arg)
{
    struct find *f = arg;
    /* "id" is the first member: {"id":"<32 hex>", */
    if (len > 40 && memcmp(json, "{\"id\":\"", 7) == 0 &&
        memcmp(json + 7, f->prefix, f->len) == 0) {
        memcpy(f->id, json + 7, 32);
        f->id[32] = 0;
        f->found++;
    }
    return f->found > 1;
}

static int resolve_id(struct cr_store *s, const char *prefix, char out[33], FILE *err)
{
    struct find f = {prefix, strlen(prefix), "", 0};
    if (f.len == 0 || f.len > 32) {
        fprintf(err, "corral incident: '%s' is not an incident id\n", prefix);
        return -1;
    }
    struct cr_query q = CR_QUERY_ALL;
    if (cr_store_query(s, &q, match_prefix, &f) != 0) {
        fprintf(err, "corral incident: %s\n", cr_store_errmsg(s));
        return -1;
    }
    if (f.found != 1) {
        fprintf(err, "corral incident: %s incident has the id %s\n",
                f.found ? "more than one" : "no", prefix);
        return -1;
    }
    memcpy(out, f.id, 33);
    return 0;
}

static int load_config(const char *config, struct cr_grade_policy *p, struct cr_inventory **inv)
{
    cr_grade_policy_defaults(p);
    *inv = NULL;
    if (!config)
        return 0;
    struct cr_config cfg;
    char err[8192];
    if (cr_config_load(config, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return CR_EXIT_CONFIG;
    }
    int rc = cr_cli_load_grading(&cfg, p);
    if (!rc)
        rc = cr_cli_load_assets(&cfg, p, inv);
    cr_config_free(&cfg);
    return rc;
}

struct ids {
    char (*v)[33];
    size_t n, cap;
};

static int collect(const char *json, size_t len, void *arg)
{
    struct ids *ids = arg;
    if (len < 40 || memcmp(json, "{\"id\":\"", 7) != 0)
        return 0;
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? ids->cap * 2 : 256;
        ids->v = realloc(ids->v, ids->cap * sizeof *ids->v);
        if (!ids->v)
            abort();
    }
    memcpy(ids->v[ids->n], json + 7, 32);
    ids->v[ids->n++][32] = 0;
    return 0;
}

/* `regrade all`: every incident not yet restored, in one transaction. */
static int regrade_all(struct cr_store *s, const struct cr_assessor *a, int64_t now)
{
    struct ids ids = {0};
    struct cr_query q = CR_QUERY_ALL;
    if (cr_store_query(s, &q, collect, &ids) != 0 || cr_store_begin(s) != 0) {
        fprintf(stderr, "corral incident: %s\n", cr_store_errmsg(s));
        free(ids.v);
        return 1;
    }
    size_t raised = 0;
    int bad = 0;
    for (size_t i = 0; i < ids.n && !bad; i++) {
        char *j = NULL;
        json_t *o = NULL;
        if (cr_store_get_incident(s, ids.v[i], &j, NULL) == 0 && (o = json_loads(j, 0, NULL)) &&
            cr_assess_regrade(a, o, now, "time passed")) {
            bad = cr_action_put_back(s, o) != 0;
            raised++;
        }
        json_decref(o);
        free(j);
    }
    free(ids.v);
    if (bad || cr_store_commit(s) != 0) {
        fprintf(stderr, "corral incident: writing: %s\n", cr_store_errmsg(s));
        return 1;
    }
    printf("%zu incident(s) graded higher\n", raised);
    return 0;
}

/* `--server`: the same action as a request to the API. */
static int remote_incident(const char *server, const char *token_file, const char *action,
                           const char *id, const char *arg, const char *note, int level, int state)
{
    struct cr_remote rm;
    if (cr_remote_init(&rm, server, token_file, stderr) != 0)
        return 1;
    char path[256];
    json_t *body = json_object();
    if (!strcmp(action, "show")) {
        snprintf(path, sizeof path, "/api/v1/incidents/%s", id);
    } else {
        snprintf(path, sizeof path, "/api/v1/incidents/%s/%s", id, action);
        if (!strcmp(action, "note"))
            json_object_set_new(body, "note", json_string(arg));
        else if (note)
            json_object_set_new(body, "note", json_string(note));
        if (!strcmp(action, "transition"))
            json_object_set_new(body, "to", json_string(cr_state_name(state)));
        if (!strcmp(action, "confirm-level"))
            json_object_set_new(body, "level", json_string(cr_reg_level_name(level)));
        if (!strcmp(action, "input"))
            json_object_set_new(body, "input", json_string(arg));
    }
    char *b = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char *out = NULL;
    long st = cr_remote_call(&rm, !strcmp(action, "show") ? "GET" : "POST", path,
                             !strcmp(action, "show") ? NULL : b, &out, stderr);
    free(b);
    json_t *o = out ? json_loads(out, 0, NULL) : NULL;
    int rc = 1;
    if (st == 200 && o && !strcmp(action, "show")) {
        char *t = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", t ? t : "");
        free(t);
        rc = 0;
    } else if (st == 200 && o) {
        json_t *h = json_object_get(o, "history");
        json_t *last = json_array_get(h, json_array_size(h) ? json_array_size(h) - 1 : 0);
        printf("%s: %s (%s by %s)\n", id, json_string_value(json_object_get(o, "status")), action,
               json_string_value(json_object_get(last, "actor")));
        rc = 0;
    } else if (st > 0) {
        const char *why = json_string_value(json_object_get(o, "error"));
        fprintf(stderr, "corral incident: %s: %s: %s\n", id,
                st == 409 || st == 403 ? "refused" : "failed",
                why   ? why
                : out ? out
                      : "");
    }
    json_decref(o);
    free(out);
    return rc;
}

int cr_cmd_incident(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"store", required_argument, NULL, 's'},
        {"actor", required_argument, NULL, 'a'},
        {"role", required_argument, NULL, 'r'},
        {"note", required_argument, NULL, 'n'},
        {"config", required_argument, NULL, 'c'},
        {"server", required_argument, NULL, 'R'},
        {"token-file", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "incident", *dir = NULL, *actor = NULL, *note = NULL, *config = NULL;
    const char *server = NULL, *token_file = NULL;
    int role = CR_ROLE_OPERATOR, role_given = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 'a':
            actor = optarg;
            break;
        case 'R':
            server = optarg;
            break;
        case 'K':
            token_file = optarg;
            break;
        case 'r':
            role_given = 1;
            if ((role = cr_role_parse(optarg)) < 0)
                return cr_cli_usage(stderr, cmd,
                                    "unknown role '%s' (administrator, operator, tenant, "
                                    "supervisor)",
                                    optarg);
            break;
        case 'n':
            note = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return cr_cli_getopt_error(stderr, cmd, c, argv);
        }
    }
    int nargs = argc - optind;
    char **args = argv + optind;
    if (nargs < 2)
        return cr_cli_usage(stderr, cmd, "expected an action and an incident id");
    const char *action = args[0];
    int want = !strcmp(action, "show") || !strcmp(action, "ack") || !strcmp(action, "regrade") ? 2
               : !strcmp(action, "transition") || !strcmp(action, "note") ||
                       !strcmp(action, "confirm-level") || !strcmp(action, "input")
                   ? 3
                   : 0;
    if (!want)
        return cr_cli_usage(stderr, cmd,
                            "unknown action '%s' (show, ack, transition, note, confirm-level, "
                            "input, regrade)",
                            action);
    if (nargs != want)
        return cr_cli_usage(stderr, cmd, "%s takes %s", action,
                            want == 2 ? "an incident id" : "an incident id and one argument");
    int state = -1, level = 0;
    if (!strcmp(action, "transition") && (state = cr_state_parse(args[2])) < 0)
        return cr_cli_usage(stderr, cmd, "unknown state '%s' (see --help)", args[2]);
    if (!strcmp(action, "confirm-level")) {
        static const char *const lv[] = {"I", "II", "III", "IV"};
        for (int i = 0; i < 4; i++)
            if (!strcmp(args[2], lv[i]))
                level = i + 1;
        if (!level)
            return cr_cli_usage(stderr, cmd, "invalid level '%s' (I, II, III or IV)", args[2]);
    }
    int show = !strcmp(action, "show"), regrade = !strcmp(action, "regrade");
    if (server) {
        if (dir || actor || role_given || config)
            return cr_cli_usage(stderr, cmd,
                                "with --server, who acts and under which policy is the "
                                "server's: no --store, --actor, --role or -c");
        if (strlen(args[1]) != 32)
            return cr_cli_usage(stderr, cmd, "with --server, give the incident's full 32-digit id");
        return remote_incident(server, token_file, action, args[1], nargs > 2 ? args[2] : NULL,
                               note, level, state);
    }
    if (!dir)
        return cr_cli_usage(stderr, cmd, "--store DIR is required");
    if (!show && !regrade && !actor)
        return cr_cli_usage(stderr, cmd, "--actor NAME is required: every move is recorded");

    struct cr_inventory_walk walk = {0};
    struct cr_assessor as = {.walk = &walk};
    struct cr_inventory *inv = NULL;
    int rc = load_config(config, &as.policy, &inv);
    if (rc)
        return rc;
    as.inv = inv;
    char msg[512];
    struct cr_store_opts so = {.map_size = 0, .read_only = show};
    struct cr_store *s = cr_store_open(dir, &so, msg, sizeof msg);
    if (!s) {
        fprintf(stderr, "corral incident: %s\n", msg);
        return 1;
    }
    char id[33], *json = NULL;
    json_t *o = NULL;
    int status = 1;
    if (regrade && !strcmp(args[1], "all")) {
        status = regrade_all(s, &as, cr_assess_now());
        goto out;
    }
    if (resolve_id(s, args[1], id, stderr) != 0)
        goto out;
    if (cr_store_get_incident(s, id, &json, NULL) != 0 || !(o = json_loads(json, 0, NULL))) {
        fprintf(stderr, "corral incident: %s: cannot read it: %s\n", id, cr_store_errmsg(s));
        goto out;
    }
    if (show) {
        char *t = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", t ? t : "");
        free(t);
        status = 0;
        goto out;
    }
    struct cr_action act = {
        .kind = cr_action_parse(action), .state = state, .level = level, .role = role};
    snprintf(act.id, sizeof act.id, "%s", id);
    snprintf(act.actor, sizeof act.actor, "%s", actor ? actor : "");
    snprintf(act.note, sizeof act.note, "%s", !strcmp(action, "note") ? args[2] : note ? note : "");
    if (act.kind == CR_ACT_INPUT)
        snprintf(act.input, sizeof act.input, "%s", args[2]);
    char why[512] = "", *now_json = NULL;
    if (cr_store_begin(s) != 0) {
        fprintf(stderr, "corral incident: %s\n", cr_store_errmsg(s));
        goto out;
    }
    int r = cr_action_store(s, &act, &as, cr_assess_now(), &now_json, why, sizeof why);
    if (r == CR_ACTION_DONE && cr_store_commit(s) != 0) {
        fprintf(stderr, "corral incident: %s: writing it: %s\n", id, cr_store_errmsg(s));
        free(now_json);
        goto out;
    }
    if (r != CR_ACTION_DONE)
        cr_store_abort(s);
    json_decref(o);
    o = now_json ? json_loads(now_json, 0, NULL) : NULL;
    free(now_json);
    if (r == CR_ACTION_UNCHANGED || (r == CR_ACTION_DONE && regrade)) {
        printf("%s: %s/%s%s\n", id, json_string_value(json_object_get(o, "reg_level")),
               json_string_value(json_object_get(o, "priority")),
               r == CR_ACTION_DONE ? " (graded higher)" : "");
        status = 0;
        goto out;
    }
    if (r != CR_ACTION_DONE) {
        fprintf(stderr, "corral incident: %s: %s: %s\n", id,
                r == CR_ACTION_REFUSED || r == CR_ACTION_FORBIDDEN ? "refused" : "failed", why);
        goto out;
    }
    printf("%s: %s (%s by %s)\n", id, json_string_value(json_object_get(o, "status")), action,
           actor);
    status = 0;
out:
    json_decref(o);
    free(json);
    cr_store_close(s);
    cr_inventory_free(inv);
    cr_inventory_walk_free(&walk);
    return status;
}
