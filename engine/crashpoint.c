/*
 * crashpoint.c - see crashpoint.h.
 */
#include "crashpoint.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const names[CR_CRASH_NPOINTS] = {"epoch", "txn"};

static int armed = -1;          /* the point armed, or -1 */
static long at;                 /* die on this pass */
static _Atomic long passes;

int cr_crash_init(void)
{
    const char *v = getenv("CORRAL_CRASH_AT");
    if (!v || !*v)
        return 0;
    const char *colon = strchr(v, ':');
    char *end = NULL;
    long n = colon ? strtol(colon + 1, &end, 10) : 0;
    for (int i = 0; colon && i < CR_CRASH_NPOINTS; i++)
        if (strlen(names[i]) == (size_t)(colon - v) && strncmp(v, names[i], (size_t)(colon - v)) == 0 &&
            n > 0 && end && !*end) {
            armed = i;
            at = n;
            return 0;
        }
    fprintf(stderr, "corral: CORRAL_CRASH_AT='%s': expected epoch:N or txn:N (N >= 1)\n", v);
    return -1;
}

void cr_crash_point(enum cr_crash_at point)
{
    if (armed != (int)point)
        return;
    if (atomic_fetch_add(&passes, 1) + 1 == at) {
        static const char msg[] = "corral: CORRAL_CRASH_AT reached: SIGKILL\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        kill(getpid(), SIGKILL);
        _exit(137); /* not reached */
    }
}
