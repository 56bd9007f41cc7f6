/*
 * test_notify.c - `corral run` as a systemd Type=notify service, with a
 * datagram socket of the test's standing in for systemd (NOTIFY_SOCKET):
 * READY=1 once it runs, WATCHDOG=1 at half the WATCHDOG_USEC interval,
 * RELOADING=1 (with MONOTONIC_USEC) then READY=1 around a SIGHUP reload,
 * STOPPING=1 on the way out; and the config found without -c
 * ($CORRAL_CONFIG, as the installed /etc/corral/corral.yaml would be).
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char *tmp;
static void setup(void) { tmp = cr_test_tmpdir(); }
static void teardown(void)
{
    cr_test_rmtree(tmp);
    free(tmp);
}
TestSuite(notify, .init = setup, .fini = teardown, .timeout = 120);

/* The next datagram that contains want (others are kept in seen), within
 * 20 s. */
static int wait_for(int sock, const char *want, char *seen, size_t cap)
{
    for (int i = 0; i < 400; i++) {
        struct pollfd p = {sock, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        char buf[512];
        ssize_t n = recv(sock, buf, sizeof buf - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = 0;
        size_t l = strlen(seen);
        snprintf(seen + l, cap - l, "[%s]", buf);
        if (strstr(buf, want))
            return 1;
    }
    return 0;
}

Test(notify, run_tells_systemd_ready_watchdog_reload_and_stopping)
{
    char path[4200], cfg[8192], sockpath[4200], fifo[4200];
    snprintf(cfg, sizeof cfg, "rules: [%s]\ninput: { year: 2026 }\nstore: { path: st }\n",
             cr_test_source_path("configs/rules"));
    snprintf(path, sizeof path, "%s/corral.yaml", tmp);
    cr_assert_eq(cr_test_write_file(path, cfg, strlen(cfg)), 0);
    snprintf(sockpath, sizeof sockpath, "%s/notify.sock", tmp);
    int sock = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    cr_assert_lt(strlen(sockpath), sizeof sa.sun_path, "a socket path fits: %s", sockpath);
    memcpy(sa.sun_path, sockpath, strlen(sockpath) + 1);
    cr_assert_eq(bind(sock, (struct sockaddr *)&sa, sizeof sa), 0);
    snprintf(fifo, sizeof fifo, "%s/in", tmp);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    int fd = open(fifo, O_RDWR | O_CLOEXEC); /* corral must not hold our write end */
    cr_assert_geq(fd, 0);

    pid_t pid = fork();
    if (pid == 0) {
        setenv("NOTIFY_SOCKET", sockpath, 1);
        setenv("WATCHDOG_USEC", "200000", 1);
        setenv("CORRAL_CONFIG", path, 1); /* no -c */
        char log[4300];
        snprintf(log, sizeof log, "%s/run.log", tmp);
        int lf = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(lf, 2);
        execl(CORRAL_BINARY, "corral", "run", "--input", fifo, "--quiet", (char *)NULL);
        _exit(127);
    }
    char seen[8192] = "";
    cr_expect(wait_for(sock, "READY=1", seen, sizeof seen), "no READY=1: %s", seen);
    cr_expect(strstr(seen, "STATUS=reading files"), "%s", seen);
    cr_expect(wait_for(sock, "WATCHDOG=1", seen, sizeof seen), "no WATCHDOG=1: %s", seen);
    cr_expect(wait_for(sock, "WATCHDOG=1", seen, sizeof seen), "one WATCHDOG=1 only: %s", seen);
    kill(pid, SIGHUP);
    cr_expect(wait_for(sock, "RELOADING=1", seen, sizeof seen), "no RELOADING=1: %s", seen);
    cr_expect(strstr(seen, "MONOTONIC_USEC="), "%s", seen);
    cr_expect(wait_for(sock, "READY=1", seen, sizeof seen), "no READY=1 after reload: %s", seen);
    close(fd); /* the input ends */
    cr_expect(wait_for(sock, "STOPPING=1", seen, sizeof seen), "no STOPPING=1: %s", seen);
    int st = 0;
    waitpid(pid, &st, 0);
    snprintf(path, sizeof path, "%s/run.log", tmp);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", cr_test_slurp(path, NULL));
    close(sock);
}

Test(notify, without_c_the_default_config_is_used_or_named)
{
    char path[4200], cmd[8192], *out = NULL;
    snprintf(path, sizeof path, "%s/c.yaml", tmp);
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "rules: [%s]\n", cr_test_source_path("configs/rules"));
    cr_assert_eq(cr_test_write_file(path, cfg, strlen(cfg)), 0);
    snprintf(cmd, sizeof cmd, "CORRAL_CONFIG='%s' '%s' check 2>&1", path, CORRAL_BINARY);
    cr_expect_eq(cr_test_run(cmd, &out), 0, "%s", out);
    cr_expect(strstr(out, "c.yaml: ok"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "env -u CORRAL_CONFIG '%s' check 2>&1", CORRAL_BINARY);
    int rc = cr_test_run(cmd, &out);
    if (access(CORRAL_DEFAULT_CONFIG, R_OK) != 0) {
        cr_expect_eq(rc, 2, "%s", out);
        cr_expect(strstr(out, "-c CONFIG is required (there is no "), "%s", out);
    }
    free(out);
}
