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
 * Threading: cr_crash_init once from main before any thread starts;
 * cr_crash_point from any thread.
 */
#ifndef CR_CRASHPOINT_H
#define CR_CRASHPOINT_H

enum cr_crash_at { CR_CRASH_EPOCH, CR_CRASH_TXN, CR_CRASH_NPOINTS };

/* Read CORRAL_CRASH_AT. Returns 0, or -1 with a message on stderr when it
 * is set but malformed (the caller exits with a usage error). */
int cr_crash_init(void);
void cr_crash_point(enum cr_crash_at point);

#endif
