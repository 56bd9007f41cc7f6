/*
 * crashpoint.h - named points where a crash test makes corral die as a
 * kill -9 would, deterministically.
 *
 * A kill at a random moment (bench/crash_soak.sh) finds interleavings by
 * luck; a test that must fail before a fix and pass after needs the crash
 * at a chosen point. With CORRAL_CRASH_AT=<point>:<n> in the environment,
 * the n-th pass of this process through <point> ends it with SIGKILL: no
 * handler, no flush, no atexit, exactly what a kill -9 leaves behind.
 * Without it, a pass costs one load and one branch.
 *
 * Points (one definition each, here):
 *   epoch  the writer committed a checkpoint (state, positions, incidents
 *          before it) and nobody has been told yet: the store is ahead of
 *          the Kafka group's offsets
 *   txn    the writer committed any transaction (incidents between
 *          checkpoints, or a checkpoint)
 *
 * Failure points work the same way for errors instead of deaths: with
 * CORRAL_FAIL_AT=<point>:<n>, the n-th pass through <point> fails as the
 * real failure there would, so a test can show that every failure after
 * the pipeline has started tears down cleanly (no leak, no hang, a
 * message, the documented exit code) and that a restart continues exactly:
 *   commit  the n-th store commit fails with EIO, as a dying disk's would:
 *           the run stops, exit 1
 *   kafka   after the n-th consumed record, librdkafka raises a fatal
 *           error (rd_kafka_test_fatal_error, its own test hook): the run
 *           makes what it read durable and stops, exit 1
 *   reload  the n-th reload's rules, compiled, fail before the swap (as
 *           an allocation failure in the compile would): the reload is
 *           refused and the run goes on with the rules it had
 *   unlocked_walk  the n-th walk of a reader without the lock file is
 *           killed, as one is when a snapshot the writer changed under it
 *           makes it fault (or LMDB's assertions stop it): the reader
 *           walks again
 *
 * Threading: cr_crash_init once from main before any thread starts;
 * cr_crash_point and cr_fail_point from any thread.
 */
#ifndef CR_CRASHPOINT_H
#define CR_CRASHPOINT_H

enum cr_crash_at { CR_CRASH_EPOCH, CR_CRASH_TXN, CR_CRASH_NPOINTS };

enum cr_fail_at {
    CR_FAIL_COMMIT,
    CR_FAIL_KAFKA,
    CR_FAIL_RELOAD,
    CR_FAIL_UNLOCKED_WALK,
    CR_FAIL_NPOINTS
};

/* Read CORRAL_CRASH_AT and CORRAL_FAIL_AT. Returns 0, or -1 with a message
 * on stderr when one is set but malformed (the caller exits with a usage
 * error). */
int cr_crash_init(void);
void cr_crash_point(enum cr_crash_at point);
/* 1 on the pass through `point` that must fail, else 0. */
int cr_fail_point(enum cr_fail_at point);

#endif
