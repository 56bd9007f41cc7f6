/*
 * clock.h - the three clock readings corral's threads need, in one place.
 *
 * cr_wall_ms: wall-clock milliseconds since the epoch (status files, "a
 * record stamped in the future" checks). cr_mono_ms: monotonic milliseconds
 * (intervals: checkpoints, linger, idle release). cr_deadline_in: the
 * absolute CLOCK_REALTIME time `ms` from now, as pthread_cond_timedwait
 * takes it (a condition variable's default clock).
 *
 * Threading: pure functions; any thread.
 */
#ifndef CR_CLOCK_H
#define CR_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t cr_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t cr_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline struct timespec cr_deadline_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

#endif
