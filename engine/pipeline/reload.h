/*
 * reload.h - hot reload in a running `corral run`: SIGHUP recompiles the
 * config's rule files in a background thread and swaps them in.
 *
 * The reloader owns one thread, `cr-reload`. It waits for SIGHUP with
 * sigwait (the signal is blocked in every other thread, so no handler runs
 * and no system call anywhere is interrupted), then re-reads the config
 * file the run was started with, loads and compiles its `rules` (Hyperscan
 * compilation takes seconds: the pipeline keeps running meanwhile), and:
 *
 *  - on any problem changes nothing: the run keeps its rules, every
 *    `file:line: reason` goes to stderr and to the status file, and the
 *    attempt is counted as failed;
 *  - if the rules mean the same as the running ones, says so and stops;
 *  - otherwise offers a swap (swap.h) to the pipeline, whose ingest thread
 *    places it in the input order, waits until every worker and shard
 *    switched, frees the rules it replaced, and reports.
 *
 * Every outcome is written atomically (write, rename) to the status file
 * `<pid file>.status`, which `corral reload` (cli/cmd_reload.c) waits for. The
 * pid file (`engine.pid_file`, default `<store>/corral.pid`) holds the pid
 * and, on its second line, the config path the run reloads from.
 *
 * The rules reload with the asset inventory (`assets:`) and the grading
 * policy (`grading:`) the config names: a bad inventory or policy refuses
 * the reload like a bad rule; a changed one is swapped in even when the
 * rules are the same (workers enrich with it from the barrier on, the
 * writer grades with it once it took the reload's message, and only then
 * is the old one freed). The other settings (threads, store, Kafka,
 * input defaults) are read at start; changing them needs a restart.
 *
 * Ownership: the reloader borrows the pipeline and the initial ruleset
 * (the caller keeps and frees it); it owns every ruleset it compiled and
 * frees the current one in cr_reload_free. Threading: cr_reload_block_signal
 * runs in the main thread before any other thread exists; start, stop,
 * rules, stats and free are called from the ingest thread; stop before
 * cr_pipeline_finish, free after it.
 */
#ifndef CR_RELOAD_H
#define CR_RELOAD_H

#include "base/counters.h"
#include "engine/pipeline/pipeline.h"

struct cr_inventory;
struct cr_grade_policy;

#include "rules/ruleset.h"
#include "rules/ruleset_diff.h"

#include <stdint.h>

/* Block SIGHUP in the calling thread, so every thread created after it
 * inherits the mask and only the reloader's sigwait receives it. */
void cr_reload_block_signal(void);

struct cr_reload_opts {
    const char *config_path;               /* re-read at every reload for its `rules` */
    const char *rule_cache;                /* the run's Hyperscan cache directory (NULL: none) */
    const char *pid_path;                  /* pid file; the status file is pid_path + ".status" */
    int quiet;                             /* no message on success (failures are always said) */
    const struct cr_inventory *inventory;  /* the run's at start (borrowed; may be NULL) */
    const struct cr_grade_policy *grading; /* the run's at start (copied; NULL: defaults) */
};

/* X(field, "json name", merge): base/counters.h */
#define CR_RELOAD_COUNTERS(X)                                                                      \
    X(reloads, "reloads", SUM)       /* swaps applied */                                           \
    X(failed, "reloads_failed", SUM) /* refused (invalid rules) or not applied (run ended) */      \
    X(unchanged, "reloads_unchanged", SUM)    /* rules that meant the same as the running ones */  \
    X(states_kept, "reload_states_kept", SUM) /* states carried over, summed over swaps */         \
    X(states_dropped, "reload_states_dropped", SUM) /* states of changed or removed rules */

struct cr_reload_stats {
    CR_RELOAD_COUNTERS(CR_COUNTER_FIELD)
};
_Static_assert(sizeof(struct cr_reload_stats) ==
                   (CR_COUNTERS_N(CR_RELOAD_COUNTERS)) * sizeof(uint64_t),
               "every counter of struct cr_reload_stats is in CR_RELOAD_COUNTERS");

struct cr_reload;

/* Start the thread and write the pid file. Returns NULL with the reason in
 * err (the run can go on without hot reload). */
struct cr_reload *cr_reload_start(struct cr_pipeline *pl, const struct cr_ruleset *rs,
                                  const struct cr_reload_opts *opts, char *err, size_t errlen);
/* The input ended: cancel a swap not placed yet, finish the attempt in
 * progress (a compile runs to its end), join the thread, remove the pid
 * file. NULL is allowed. */
void cr_reload_stop(struct cr_reload *r);
/* The rules in use at the end (the initial ones if nothing was swapped).
 * After cr_reload_stop; NULL r gives NULL. */
const struct cr_ruleset *cr_reload_rules(const struct cr_reload *r);
void cr_reload_get_stats(const struct cr_reload *r, struct cr_reload_stats *st);
/* After cr_pipeline_finish: frees the rules it compiled. NULL is allowed. */
void cr_reload_free(struct cr_reload *r);

/* ---- the status file, shared with `corral reload` ---- */

enum cr_reload_result { CR_RELOAD_FAILED = 0, CR_RELOAD_OK = 1, CR_RELOAD_UNCHANGED = 2 };

struct cr_reload_status {
    long pid;
    int64_t requested_ms; /* wall clock when the running process took the SIGHUP */
    int64_t finished_ms;
    int result;              /* enum cr_reload_result */
    uint64_t generation;     /* swaps applied by this process so far */
    char barrier[160];       /* input position before the barrier ("stdin:41"), if known */
    int rules, correlations; /* in the new rules (ok, unchanged) */
    struct cr_ruleset_diff diff;
    uint64_t states_kept, states_dropped;
    char reason[16384]; /* failed: one `file:line: reason` per line */
};

/* Read a status file. Returns 0, or -1 if it is absent or unreadable. */
int cr_reload_status_read(const char *path, struct cr_reload_status *st);
/* pid_path + ".status" into buf. */
void cr_reload_status_path(const char *pid_path, char *buf, size_t len);

#endif
