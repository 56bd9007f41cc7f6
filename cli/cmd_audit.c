/*
 * cmd_audit.c - `corral audit verify [FILE | --store DIR]`: check the API's
 * audit log (engine/serve/audit.h) from end to end, and `corral audit show`
 * to print it. verify prints the entries and the chain's head hash (keep
 * it: a later verify that ends on another head after fewer entries means
 * the log was cut), or the first line that breaks the chain; --expect-head
 * checks a head kept from before is still in the chain.
 *
 * Exit status: 0 intact, 1 broken or unreadable, 2 usage error.
 * Threading: command-line code, main thread only.
 */
#include "cli/cli.h"
#include "cli/commands.h"

#include "engine/serve/audit.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] = "Usage: corral audit verify [FILE | --store DIR] [--expect-head HASH]\n"
                            "       corral audit show [FILE | --store DIR]\n"
                            "Check (or print) the HTTP API's hash-chained audit log.\n"
                            "\n"
                            "  FILE               the log (default: DIR/audit.log)\n"
                            "  --store DIR        the store whose audit.log to read\n"
                            "  --expect-head H    a head printed by an earlier verify: it must\n"
                            "                     still be in the chain (nothing was cut)\n"
                            "  -h, --help         show this help\n"
                            "\n"
                            "Exit status: 0 intact, 1 broken or unreadable, 2 usage error.\n";

struct find_head {
    const char *want;
    int found;
};

static int has_head(const char *line, size_t len, void *arg)
{
    struct find_head *f = arg;
    if (len > 66 && !memcmp(line + len - 66, f->want, 64))
        f->found = 1;
    return f->found;
}

static int print_line(const char *line, size_t len, void *arg)
{
    (void)arg;
    fwrite(line, 1, len, stdout);
    fputc('\n', stdout);
    return 0;
}

int cr_cmd_audit(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"store", required_argument, NULL, 's'},
        {"expect-head", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = "audit", *dir = NULL, *expect = NULL;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            dir = optarg;
            break;
        case 'e':
            expect = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return cr_cli_getopt_error(stderr, cmd, c, argv);
        }
    }
    int nargs = argc - optind;
    if (nargs < 1 || (strcmp(argv[optind], "verify") && strcmp(argv[optind], "show")))
        return cr_cli_usage(stderr, cmd, "expected verify or show");
    int verify = !strcmp(argv[optind], "verify");
    if (nargs > 2 || (nargs == 2 && dir) || (nargs == 1 && !dir))
        return cr_cli_usage(stderr, cmd, "give the log as FILE or --store DIR (one of them)");
    if (expect && (strlen(expect) != 64 || !verify))
        return cr_cli_usage(stderr, cmd, "--expect-head takes the 64-digit head verify printed");
    char path[4200], err[1024];
    if (nargs == 2)
        snprintf(path, sizeof path, "%s", argv[optind + 1]);
    else
        snprintf(path, sizeof path, "%s/audit.log", dir);
    if (!verify) {
        if (cr_audit_each(path, print_line, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "corral audit: %s\n", err);
            return 1;
        }
        return 0;
    }
    uint64_t n = 0;
    char head[65];
    if (cr_audit_verify(path, &n, head, err, sizeof err) != 0) {
        fprintf(stderr, "corral audit: BROKEN: %s\n", err);
        return 1;
    }
    if (expect) {
        struct find_head f = {expect, 0};
        if (cr_audit_each(path, has_head, &f, err, sizeof err) != 0 || !f.found) {
            fprintf(stderr,
                    "corral audit: BROKEN: %s: the head %.12s... kept from before is "
                    "not in the chain (entries were cut from its end or it was replaced)\n",
                    path, expect);
            return 1;
        }
    }
    printf("%s: intact, %llu entries, head %s\n", path, (unsigned long long)n, head);
    return 0;
}
