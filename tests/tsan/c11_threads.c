/*
 * c11_threads.c - C11 thread creation routed through pthreads, linked into
 * the thread-sanitizer build of corral only (CMake option CORRAL_TSAN).
 *
 * librdkafka starts its threads with C11 thrd_create. glibc implements it
 * by calling its internal pthread_create directly, so the sanitizer never
 * sees those threads start: its per-thread state is missing and the first
 * allocation on such a thread crashes (Debian 12's gcc 12 and clang 14
 * runtimes alike). Defining thrd_create/thrd_join here makes librdkafka's
 * calls resolve to these (the executable's definition wins), and these go
 * through the pthread functions the sanitizer intercepts.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

struct start {
    thrd_start_t fn;
    void *arg;
};

static void *trampoline(void *p)
{
    struct start s = *(struct start *)p;
    free(p);
    return (void *)(intptr_t)s.fn(s.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t fn, void *arg)
{
    struct start *s = malloc(sizeof *s);
    if (!s)
        return thrd_nomem;
    s->fn = fn;
    s->arg = arg;
    pthread_t t;
    if (pthread_create(&t, NULL, trampoline, s) != 0) {
        free(s);
        return thrd_error;
    }
    *thr = (thrd_t)t;
    return thrd_success;
}

int thrd_join(thrd_t thr, int *res)
{
    void *r = NULL;
    if (pthread_join((pthread_t)thr, &r) != 0)
        return thrd_error;
    if (res)
        *res = (int)(intptr_t)r;
    return thrd_success;
}

int thrd_detach(thrd_t thr)
{
    return pthread_detach((pthread_t)thr) == 0 ? thrd_success : thrd_error;
}
