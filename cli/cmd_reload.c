/*
 * cmd_reload.c - `corral reload`: validate the rules, then make the running
 * `corral run` swap them in, and say what happened.
 *
 * The command is the operator's side of reload.h: it refuses to signal
 * anything when its own check of the config and rules fails (exit 78, every
 * problem printed as `file:line: reason`), finds the running process
 * through its pid file, sends SIGHUP, and waits (bounded) for the status
 * file the running process writes at the end of the attempt. The check
 * also warms the Hyperscan cache the running process compiles through, so
 * the swap itself is quick.
 *
 * Exit status: 0 the running process swapped the rules in (or already ran
 * the same rules); 1 it refused them (reasons printed), no process is
 * running, or no answer came in time; 2 usage; 78 invalid config or rules
 * (nothing was sent).
 *
 * Threading: command-line code, main thread only.
 *
 * The order is the contract: check first and send nothing on a problem, so
 * a typo never reaches the running process; then signal and wait for the
 * answer of an attempt that started after our signal (the status file's
 * pid and requested time say which attempt it is), so a status left by an
 * earlier reload is never mistaken for ours.
 */
#include "cli/commands.h"
#include "base/clock.h"

#include "cli/cli.h"
#include "engine/config/config.h"
#include "engine/pipeline/reload.h"

#include "rules/ruleset.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: corral reload -c CONFIG [--store DIR] [--pid-file FILE] [--timeout SECONDS]\n"
            "\n"
            "Checks the config and its rules like `corral check` (exit 78 on any problem,\n"
            "nothing is sent), then tells the `corral run` of this store (its pid file,\n"
            "engine.pid_file or <store>/corral.pid) to recompile its rules and swap them in,\n"
            "and waits for its answer. The state of unchanged rules and correlations is kept.\n"
            "Exits 0 when the running process uses the new rules, 1 when it refused them (the\n"
            "reasons are printed) or none is running.\n"
            "  -c, --config FILE    the config (as given to corral run)\n"
            "  -s, --store DIR      the store of the run (overrides store.path)\n"
            "  -p, --pid-file FILE  the run's pid file (overrides engine.pid_file)\n"
            "  -t, --timeout SECS   how long to wait for the answer (default 30)\n");
}

/* Is pid a corral process? Linux names the main thread after the binary;
 * where /proc is absent, kill(pid, 0) is all we know. */
static int is_corral(long pid)
{
    char path[64], comm[64] = "";
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    if (!fgets(comm, sizeof comm, f))
        comm[0] = 0;
    fclose(f);
    return strncmp(comm, "corral", 6) == 0;
}

static void print_outcome(const struct cr_reload_status *s)
{
    if (s->result == CR_RELOAD_UNCHANGED) {
        printf("unchanged: pid %ld already runs these rules (%d rules, %d correlations); "
               "nothing was swapped\n",
               s->pid, s->rules, s->correlations);
        return;
    }
    printf("reloaded: pid %ld uses generation %llu from after %s: %d rules (%d added, %d changed, "
           "%d removed), %d correlations (%d added, %d changed, %d removed); correlation "
           "states: %llu kept, %llu dropped\n",
           s->pid, (unsigned long long)s->generation, s->barrier, s->rules, s->diff.rules_added,
           s->diff.rules_changed, s->diff.rules_removed, s->correlations, s->diff.corrs_added,
           s->diff.corrs_changed, s->diff.corrs_removed, (unsigned long long)s->states_kept,
           (unsigned long long)s->states_dropped);
}

int cr_cmd_reload(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},   {"store", required_argument, 0, 's'},
        {"pid-file", required_argument, 0, 'p'}, {"timeout", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *config = NULL, *store = NULL, *pid_file = NULL;
    long timeout_s = 30;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:s:p:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 's':
            store = optarg;
            break;
        case 'p':
            pid_file = optarg;
            break;
        case 't': {
            char *end;
            errno = 0;
            timeout_s = strtol(optarg, &end, 10);
            if (errno || *end || timeout_s < 1 || timeout_s > 3600)
                return cr_cli_usage(stderr, "reload",
                                    "--timeout: '%s' is not a number of seconds from 1 to 3600",
                                    optarg);
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'corral reload --help'.\n");
            return CR_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return cr_cli_usage(stderr, "reload", "unexpected argument '%s'", argv[optind]);
    if (!config)
        config = cr_cli_default_config();
    if (!config)
        return cr_cli_usage(stderr, "reload", "-c CONFIG is required (there is no %s)",
                            CORRAL_DEFAULT_CONFIG);

    /* 1. the check: the same loading as `corral run`, through the same cache */
    static char err[65536];
    struct cr_config cfg;
    if (cr_config_load(config, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\ncorral reload: the config is invalid; nothing was sent\n", err);
        cr_config_free(&cfg);
        return CR_EXIT_CONFIG;
    }
    if (store) {
        free(cfg.store_path);
        cfg.store_path = strdup(store);
    }
    char cache[4200];
    struct stat sb;
    snprintf(cache, sizeof cache, "%s/hs-cache", cfg.store_path);
    struct cr_ruleset_opts ro = {.cache_dir = cfg.rule_cache                   ? cfg.rule_cache
                                              : stat(cfg.store_path, &sb) == 0 ? cache
                                                                               : NULL};
    err[0] = 0;
    struct cr_ruleset *rs =
        cr_ruleset_load((const char *const *)cfg.rule_paths, cfg.nrule_paths, &ro, err, sizeof err);
    if (!rs) {
        fprintf(stderr, "%s\ncorral reload: the rules are invalid; nothing was sent\n", err);
        cr_config_free(&cfg);
        return CR_EXIT_CONFIG;
    }
    int nrules = rs->nrules, ncorrs = rs->ncorrs;
    cr_ruleset_free(rs);

    /* 2. the running process */
    char pid_path[4200], status_path[4300];
    snprintf(pid_path, sizeof pid_path, "%s",
             pid_file       ? pid_file
             : cfg.pid_file ? cfg.pid_file
                            : "");
    if (!pid_path[0])
        snprintf(pid_path, sizeof pid_path, "%s/corral.pid", cfg.store_path);
    cr_reload_status_path(pid_path, status_path, sizeof status_path);
    char *abs_config = realpath(config, NULL);
    cr_config_free(&cfg);
    FILE *f = fopen(pid_path, "r");
    if (!f) {
        fprintf(stderr,
                "corral reload: no running corral: cannot read its pid file %s (%s). The rules "
                "are valid (%d rules, %d correlations); is `corral run` running with this store "
                "(--store, --pid-file)?\n",
                pid_path, strerror(errno), nrules, ncorrs);
        free(abs_config);
        return CR_EXIT_RUNTIME;
    }
    long pid = 0;
    char their_config[4200] = "";
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    if (fscanf(f, " %4199[^\n]", their_config) != 1)
        their_config[0] = 0;
    fclose(f);
    if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH) || !is_corral(pid)) {
        fprintf(stderr, "corral reload: no running corral: the pid file %s names %s%ld, which %s\n",
                pid_path, pid > 0 ? "process " : "", pid,
                pid <= 0 ? "is not a pid" : "is not a running corral (a stale pid file)");
        free(abs_config);
        return CR_EXIT_RUNTIME;
    }
    if (their_config[0] && abs_config && strcmp(their_config, abs_config) != 0)
        fprintf(stderr,
                "corral reload: note: pid %ld reloads the rules of %s (its own config), not %s\n",
                pid, their_config, abs_config);
    free(abs_config);

    /* 3. signal, and wait for the answer of an attempt that began after it */
    int64_t sent = cr_wall_ms();
    if (kill((pid_t)pid, SIGHUP) != 0) {
        fprintf(stderr, "corral reload: cannot signal pid %ld: %s\n", pid, strerror(errno));
        return CR_EXIT_RUNTIME;
    }
    struct cr_reload_status *st = calloc(1, sizeof *st);
    if (!st)
        abort();
    int64_t deadline = sent + timeout_s * 1000;
    int rc = -1;
    while (cr_wall_ms() < deadline) {
        if (cr_reload_status_read(status_path, st) == 0 && st->pid == pid &&
            st->requested_ms >= sent) {
            rc = st->result == CR_RELOAD_FAILED ? CR_EXIT_RUNTIME : 0;
            break;
        }
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            fprintf(stderr, "corral reload: pid %ld ended before answering\n", pid);
            free(st);
            return CR_EXIT_RUNTIME;
        }
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (rc < 0) {
        fprintf(stderr,
                "corral reload: no answer from pid %ld within %ld s; the reload may still "
                "complete (see its stderr and %s)\n",
                pid, timeout_s, status_path);
        free(st);
        return CR_EXIT_RUNTIME;
    }
    if (rc == 0)
        print_outcome(st);
    else
        fprintf(stderr,
                "corral reload: pid %ld refused the reload and keeps its current rules:\n%s", pid,
                st->reason);
    free(st);
    return rc;
}
