/*
 * reload.c - see reload.h.
 *
 * Why a thread that sigwaits rather than a signal handler: the handler
 * could only set a flag, and then someone would have to notice the flag
 * while the ingest thread may be blocked on an idle pipe; a dedicated thread
 * that owns the slow part (the compile) and the reporting keeps the ingest
 * thread's part to one atomic load per batch, and no other thread ever sees
 * EINTR. Reloads are serialized: signals that arrive during an attempt
 * coalesce into one more attempt after it, which reads the files as they
 * are then.
 */
#include "engine/pipeline/reload.h"
#include "base/log.h"

#include "base/notify.h"
#include "engine/grade/policy.h"
#include "engine/assets/inventory.h"
#include "base/clock.h"
#include "base/crashpoint.h"

#include "engine/config/config.h"
#include "engine/pipeline/swap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ERR_CAP 65536

struct cr_reload {
    struct cr_pipeline *pl;
    const struct cr_ruleset *initial;       /* borrowed */
    const struct cr_ruleset *cur;           /* the rules in use; owned unless == initial */
    const struct cr_inventory *inv_initial; /* borrowed */
    const struct cr_inventory *inv;         /* the inventory in use; owned unless == inv_initial */
    struct cr_grade_policy grading;         /* the policy in use */
    char *config_path, *rule_cache, *pid_path, *status_path;
    int quiet;
    pthread_t thread;
    pthread_mutex_t mu; /* orders an offer against stop's cancel */
    int stopping;
    atomic_int stop;
    struct cr_reload_stats st;
    uint64_t generation;
};

void cr_reload_block_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void cr_reload_status_path(const char *pid_path, char *buf, size_t len)
{
    snprintf(buf, len, "%s.status", pid_path);
}

/* Write path atomically: a reader sees the old file or the new one. */
static int write_atomic(const char *path, const char *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)n;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void write_status(struct cr_reload *r, const struct cr_reload_status *s)
{
    static const char *const results[] = {"failed", "ok", "unchanged"};
    size_t cap = sizeof s->reason + 2048, o = 0;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    o += (size_t)snprintf(
        buf + o, cap - o,
        "# written by the running `corral run` at each reload; read by `corral reload`\n"
        "pid: %ld\nrequested_ms: %lld\nfinished_ms: %lld\nresult: %s\ngeneration: %llu\n"
        "barrier: %s\nrules: %d\ncorrelations: %d\nrules_added: %d\nrules_changed: %d\n"
        "rules_removed: %d\ncorrelations_added: %d\ncorrelations_changed: %d\n"
        "correlations_removed: %d\nstates_kept: %llu\nstates_dropped: %llu\n",
        s->pid, (long long)s->requested_ms, (long long)s->finished_ms, results[s->result],
        (unsigned long long)s->generation, s->barrier, s->rules, s->correlations,
        s->diff.rules_added, s->diff.rules_changed, s->diff.rules_removed, s->diff.corrs_added,
        s->diff.corrs_changed, s->diff.corrs_removed, (unsigned long long)s->states_kept,
        (unsigned long long)s->states_dropped);
    /* one `reason:` line per problem */
    for (const char *p = s->reason; *p && o < cap - 16;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n)
            o += (size_t)snprintf(buf + o, cap - o, "reason: %.*s\n", (int)n, p);
        p += n + (nl != NULL);
    }
    if (o >= cap)
        o = cap - 1;
    if (write_atomic(r->status_path, buf, o) != 0)
        cr_log_line(CR_LV_ERROR, "corral: reload: cannot write %s: %s\n", r->status_path,
                    strerror(errno));
    free(buf);
}

/* An attempt that changes nothing: said on stderr (always) and in the
 * status file. */
static void refuse(struct cr_reload *r, struct cr_reload_status *s, const char *why)
{
    r->st.failed++;
    s->result = CR_RELOAD_FAILED;
    s->generation = r->generation;
    snprintf(s->reason, sizeof s->reason, "%s", why);
    s->finished_ms = cr_wall_ms();
    cr_log_line(CR_LV_ERROR, "corral: reload refused, the current rules stay in use:\n");
    for (const char *p = why; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n)
            cr_log_line(CR_LV_ERROR, "corral: reload: %.*s\n", (int)n, p);
        p += n + (nl != NULL);
    }
    write_status(r, s);
}

static void reload_once(struct cr_reload *r)
{
    struct cr_reload_status *s = calloc(1, sizeof *s);
    char *err = calloc(1, ERR_CAP);
    if (!s || !err)
        abort();
    s->pid = (long)getpid();
    s->requested_ms = cr_wall_ms();
    struct cr_config cfg;
    if (cr_config_load(r->config_path, &cfg, err, ERR_CAP) != 0) {
        cr_config_free(&cfg);
        refuse(r, s, err);
        goto out;
    }
    /* the inventory and the grading policy reload with the rules */
    struct cr_grade_policy pol;
    cr_grade_policy_defaults(&pol);
    if (cfg.grading_path && cr_grade_policy_load(cfg.grading_path, &pol, err, ERR_CAP) != 0) {
        cr_config_free(&cfg);
        refuse(r, s, err);
        goto out;
    }
    struct cr_inventory *inv = NULL;
    struct cr_inventory_opts io = {.shared_tenants = (int)pol.shared_tenants};
    if (cfg.assets_path && !(inv = cr_inventory_load(cfg.assets_path, &io, err, ERR_CAP))) {
        cr_config_free(&cfg);
        refuse(r, s, err);
        goto out;
    }
    struct cr_ruleset_opts ro = {.cache_dir = r->rule_cache};
    struct cr_ruleset *rs =
        cr_ruleset_load((const char *const *)cfg.rule_paths, cfg.nrule_paths, &ro, err, ERR_CAP);
    cr_config_free(&cfg);
    int inv_same = cr_inventory_hash(inv) == cr_inventory_hash(r->inv);
    int pol_same = memcmp(&pol, &r->grading, sizeof pol) == 0;
    if (rs && cr_fail_point(CR_FAIL_RELOAD)) {
        cr_ruleset_free(rs);
        rs = NULL;
        snprintf(err, ERR_CAP, "compiling the rules failed (injected by CORRAL_FAIL_AT)");
    }
    if (!rs) {
        cr_inventory_free(inv);
        refuse(r, s, err[0] ? err : "the rules did not load (no reason given)");
        goto out;
    }
    s->rules = rs->nrules;
    s->correlations = rs->ncorrs;
    cr_ruleset_diff(r->cur, rs, &s->diff);
    if (rs->hash == r->cur->hash && inv_same && pol_same) {
        cr_ruleset_free(rs);
        cr_inventory_free(inv);
        r->st.unchanged++;
        s->result = CR_RELOAD_UNCHANGED;
        s->generation = r->generation;
        s->finished_ms = cr_wall_ms();
        if (!r->quiet)
            cr_log_line(CR_LV_INFO, "corral: reload: the rules are unchanged; nothing to swap\n");
        write_status(r, s);
        goto out;
    }
    /* an unchanged inventory stays the one in use (one copy, no wait) */
    const struct cr_inventory *use = inv_same ? r->inv : inv;
    if (inv_same) {
        cr_inventory_free(inv);
        inv = NULL;
    }
    struct cr_swap *sw = cr_swap_new(rs);
    cr_swap_set_inventory(sw, use);
    pthread_mutex_lock(&r->mu);
    int stopping = r->stopping;
    if (!stopping)
        cr_pipeline_offer_rules(r->pl, sw);
    pthread_mutex_unlock(&r->mu);
    struct cr_swap_result res = {0};
    /* bounded in practice: a placed swap is acknowledged as the pipeline
     * drains, and one that is not placed is cancelled when the input ends */
    while (!stopping && cr_swap_wait(sw, 1000, &res) != 0)
        ;
    cr_swap_free(sw);
    if (!res.applied) {
        cr_ruleset_free(rs);
        cr_inventory_free(inv);
        refuse(r, s, "the input ended before the new rules could be swapped in");
        goto out;
    }
    /* every worker and shard acknowledged: nothing uses the old rules; the
     * writer grades with the new inventory once it took this message */
    uint64_t gen = cr_pipeline_send_grading(r->pl, use, &pol);
    while (cr_pipeline_grading_applied(r->pl) < gen)
        usleep(1000);
    if (r->cur != r->initial)
        cr_ruleset_free((struct cr_ruleset *)r->cur);
    r->cur = rs;
    if (!inv_same) {
        if (r->inv != r->inv_initial)
            cr_inventory_free((struct cr_inventory *)r->inv);
        r->inv = use;
    }
    r->grading = pol;
    r->generation++;
    r->st.reloads++;
    r->st.states_kept += res.states_kept;
    r->st.states_dropped += res.states_dropped;
    s->result = CR_RELOAD_OK;
    s->generation = r->generation;
    snprintf(s->barrier, sizeof s->barrier, "%s", res.where[0] ? res.where : "");
    if (!s->barrier[0])
        snprintf(s->barrier, sizeof s->barrier, "batch %llu", (unsigned long long)res.seq);
    s->states_kept = res.states_kept;
    s->states_dropped = res.states_dropped;
    s->finished_ms = cr_wall_ms();
    if (!r->quiet)
        cr_log_line(
            CR_LV_INFO,
            "corral: reload: generation %llu in use after %s: %d rules (%d added, %d changed, "
            "%d removed), %d correlations (%d added, %d changed, %d removed); correlation "
            "states: %llu kept, %llu dropped\n",
            (unsigned long long)s->generation, s->barrier, s->rules, s->diff.rules_added,
            s->diff.rules_changed, s->diff.rules_removed, s->correlations, s->diff.corrs_added,
            s->diff.corrs_changed, s->diff.corrs_removed, (unsigned long long)s->states_kept,
            (unsigned long long)s->states_dropped);
    write_status(r, s);
out:
    free(err);
    free(s);
}

static void *reload_main(void *arg)
{
    struct cr_reload *r = arg;
    pthread_setname_np(pthread_self(), "cr-reload");
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (atomic_load(&r->stop))
            break;
        cr_notify_reloading(); /* systemd: ExecReload waits for READY=1 again */
        reload_once(r);
        cr_notify("READY=1");
    }
    return NULL;
}

/* The pid file: pid, then the config path reloads read. */
static int write_pid_file(struct cr_reload *r)
{
    FILE *f = fopen(r->pid_path, "r");
    if (f) {
        long other = 0;
        if (fscanf(f, "%ld", &other) == 1 && other > 0 && other != (long)getpid() &&
            kill((pid_t)other, 0) == 0)
            cr_log_line(CR_LV_INFO,
                        "corral: %s names process %ld, which is still running; replacing it: "
                        "`corral reload` will signal this process\n",
                        r->pid_path, other);
        fclose(f);
    }
    char buf[4200];
    int n = snprintf(buf, sizeof buf, "%ld\n%s\n", (long)getpid(), r->config_path);
    return write_atomic(r->pid_path, buf, (size_t)n);
}

struct cr_reload *cr_reload_start(struct cr_pipeline *pl, const struct cr_ruleset *rs,
                                  const struct cr_reload_opts *opts, char *err, size_t errlen)
{
    struct cr_reload *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->pl = pl;
    r->initial = r->cur = rs;
    r->inv_initial = r->inv = opts->inventory;
    if (opts->grading)
        r->grading = *opts->grading;
    else
        cr_grade_policy_defaults(&r->grading);
    r->quiet = opts->quiet;
    char *abs = realpath(opts->config_path, NULL);
    r->config_path = abs ? abs : strdup(opts->config_path);
    r->rule_cache = opts->rule_cache ? strdup(opts->rule_cache) : NULL;
    r->pid_path = strdup(opts->pid_path);
    size_t slen = strlen(opts->pid_path) + sizeof ".status";
    r->status_path = malloc(slen);
    if (!r->config_path || !r->pid_path || !r->status_path)
        abort();
    cr_reload_status_path(opts->pid_path, r->status_path, slen);
    pthread_mutex_init(&r->mu, NULL);
    unlink(r->status_path); /* a status describes this process's reloads */
    if (pthread_create(&r->thread, NULL, reload_main, r) != 0) {
        snprintf(err, errlen, "cannot start the reload thread");
        goto fail;
    }
    if (write_pid_file(r) != 0) {
        snprintf(err, errlen, "cannot write the pid file %s: %s (SIGHUP still reloads)",
                 r->pid_path, strerror(errno));
        /* the thread runs: SIGHUP works, only `corral reload` cannot find us */
        free(r->pid_path);
        r->pid_path = NULL;
    }
    return r;
fail:
    pthread_mutex_destroy(&r->mu);
    free(r->config_path);
    free(r->rule_cache);
    free(r->pid_path);
    free(r->status_path);
    free(r);
    return NULL;
}

void cr_reload_stop(struct cr_reload *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = 1;
    cr_pipeline_cancel_rules(r->pl);
    pthread_mutex_unlock(&r->mu);
    atomic_store(&r->stop, 1);
    pthread_kill(r->thread, SIGHUP); /* wakes its sigwait (blocked everywhere else) */
    pthread_join(r->thread, NULL);
    if (r->pid_path) {
        /* only our own: another run may have taken the file over */
        FILE *f = fopen(r->pid_path, "r");
        long pid = 0;
        if (f) {
            if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (pid == (long)getpid())
            unlink(r->pid_path);
    }
}

const struct cr_ruleset *cr_reload_rules(const struct cr_reload *r) { return r ? r->cur : NULL; }

void cr_reload_get_stats(const struct cr_reload *r, struct cr_reload_stats *st)
{
    if (r)
        *st = r->st;
    else
        memset(st, 0, sizeof *st);
}

void cr_reload_free(struct cr_reload *r)
{
    if (!r)
        return;
    if (r->cur != r->initial)
        cr_ruleset_free((struct cr_ruleset *)r->cur);
    if (r->inv != r->inv_initial)
        cr_inventory_free((struct cr_inventory *)r->inv);
    pthread_mutex_destroy(&r->mu);
    free(r->config_path);
    free(r->rule_cache);
    free(r->pid_path);
    free(r->status_path);
    free(r);
}

int cr_reload_status_read(const char *path, struct cr_reload_status *st)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    memset(st, 0, sizeof *st);
    char line[4096];
    size_t ro = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *colon = strstr(line, ": ");
        if (line[0] == '#' || !colon)
            continue;
        *colon = 0;
        const char *k = line, *v = colon + 2;
        if (!strcmp(k, "pid"))
            st->pid = strtol(v, NULL, 10);
        else if (!strcmp(k, "requested_ms"))
            st->requested_ms = strtoll(v, NULL, 10);
        else if (!strcmp(k, "finished_ms"))
            st->finished_ms = strtoll(v, NULL, 10);
        else if (!strcmp(k, "result"))
            st->result = !strcmp(v, "ok")          ? CR_RELOAD_OK
                         : !strcmp(v, "unchanged") ? CR_RELOAD_UNCHANGED
                                                   : CR_RELOAD_FAILED;
        else if (!strcmp(k, "generation"))
            st->generation = strtoull(v, NULL, 10);
        else if (!strcmp(k, "barrier"))
            snprintf(st->barrier, sizeof st->barrier, "%s", v);
        else if (!strcmp(k, "rules"))
            st->rules = atoi(v);
        else if (!strcmp(k, "correlations"))
            st->correlations = atoi(v);
        else if (!strcmp(k, "rules_added"))
            st->diff.rules_added = atoi(v);
        else if (!strcmp(k, "rules_changed"))
            st->diff.rules_changed = atoi(v);
        else if (!strcmp(k, "rules_removed"))
            st->diff.rules_removed = atoi(v);
        else if (!strcmp(k, "correlations_added"))
            st->diff.corrs_added = atoi(v);
        else if (!strcmp(k, "correlations_changed"))
            st->diff.corrs_changed = atoi(v);
        else if (!strcmp(k, "correlations_removed"))
            st->diff.corrs_removed = atoi(v);
        else if (!strcmp(k, "states_kept"))
            st->states_kept = strtoull(v, NULL, 10);
        else if (!strcmp(k, "states_dropped"))
            st->states_dropped = strtoull(v, NULL, 10);
        else if (!strcmp(k, "reason") && ro < sizeof st->reason - 1)
            ro += (size_t)snprintf(st->reason + ro, sizeof st->reason - ro, "%s\n", v);
        if (ro >= sizeof st->reason)
            ro = sizeof st->reason - 1;
    }
    fclose(f);
    return 0;
}
