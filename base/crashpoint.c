/*
 * crashpoint.c - see crashpoint.h.
 */
#include "base/crashpoint.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const crash_names[CR_CRASH_NPOINTS] = {"epoch", "txn"};
static const char *const fail_names[CR_FAIL_NPOINTS] = {"commit", "kafka", "reload",
                                                        "unlocked_walk"};

struct armed {
    int point; /* the point armed, or -1 */
    long at;   /* act on this pass */
    _Atomic long passes;
};
static struct armed crash = {.point = -1}, fail = {.point = -1};

/* Parse `var`=<name>:<n> against names[0..n). */
static int arm(struct armed *a, const char *var, const char *const *names, int n,
               const char *expected)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return 0;
    const char *colon = strchr(v, ':');
    char *end = NULL;
    long at = colon ? strtol(colon + 1, &end, 10) : 0;
    for (int i = 0; colon && i < n; i++)
        if (strlen(names[i]) == (size_t)(colon - v) &&
            strncmp(v, names[i], (size_t)(colon - v)) == 0 && at > 0 && end && !*end) {
            a->point = i;
            a->at = at;
            return 0;
        }
    fprintf(stderr, "corral: %s='%s': expected %s (N >= 1)\n", var, v, expected);
    return -1;
}

int cr_crash_init(void)
{
    if (arm(&crash, "CORRAL_CRASH_AT", crash_names, CR_CRASH_NPOINTS, "epoch:N or txn:N") != 0)
        return -1;
    return arm(&fail, "CORRAL_FAIL_AT", fail_names, CR_FAIL_NPOINTS,
               "commit:N, kafka:N, reload:N or unlocked_walk:N");
}

static int reached(struct armed *a, int point)
{
    return a->point == point && atomic_fetch_add(&a->passes, 1) + 1 == a->at;
}

int cr_fail_point(enum cr_fail_at point)
{
    if (!reached(&fail, (int)point))
        return 0;
    fprintf(stderr, "corral: CORRAL_FAIL_AT=%s:%ld reached: failing here\n", fail_names[point],
            fail.at);
    return 1;
}

void cr_crash_point(enum cr_crash_at point)
{
    if (reached(&crash, (int)point)) {
        static const char msg[] = "corral: CORRAL_CRASH_AT reached: SIGKILL\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        kill(getpid(), SIGKILL);
        _exit(137); /* not reached */
    }
}
