/*
 * main.c - the `corral` command line: the command table and its dispatch.
 *
 * Subcommands are dispatched on argv[1]; each is its own file
 * (commands.h). Conventions (docs/operations.md): data on stdout, messages
 * on stderr; exit 0 on success, 1 on a runtime failure, 2 on a usage error,
 * 78 (EX_CONFIG) when the config or a rule file is invalid.
 */
#include "cli/cli.h"
#include "cli/commands.h"

#include "base/crashpoint.h"

#include <stdio.h>
#include <string.h>

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary; /* lines after the first are indented under it */
} commands[] = {
    {"run", cr_cmd_run, "consume Kafka (or read files), match rules, correlate, store incidents"},
    {"demo", cr_cmd_demo,
     "the whole path on an embedded Kafka broker: produce a sample, consume\n"
     "it, print the incidents"},
    {"kafka-dev", cr_cmd_kafka_dev,
     "run an embedded Kafka-protocol broker on loopback (development)"},
    {"produce", cr_cmd_produce, "write the lines of a file to a Kafka topic"},
    {"reload", cr_cmd_reload, "check the rules, then make the running `corral run` swap them in"},
    {"check", cr_cmd_check, "validate a config and its rules (exit 78 on any problem)"},
    {"test-rules", cr_cmd_test_rules,
     "run rule fixtures: records on a timeline and the incidents expected"},
    {"explain", cr_cmd_explain,
     "one record through parser and rules: fields, matching rules and why,\n"
     "the incident and the correlation state it would touch"},
    {"query", cr_cmd_query, "list stored incidents (table, ndjson, csv)"},
    {"report", cr_cmd_report,
     "the service report over a period (JSON or HTML): counts,\n"
     "timeliness against the targets, backlog, availability"},
    {"incident", cr_cmd_incident,
     "an incident's lifecycle: show, ack, transition, note, confirm-level"},
    {"rejects", cr_cmd_rejects, "list records kept raw because they did not parse cleanly"},
    {"serve", cr_cmd_serve, "serve the HTTP API, the web page and /metrics over a store"},
    {"audit", cr_cmd_audit, "verify (or show) the API's hash-chained audit log"},
    {"version", cr_cmd_version, "print versions of corral and its libraries"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage_main(FILE *f)
{
    fprintf(f, "usage: corral <command> [options]\n\nCommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const char *s = commands[i].summary;
        fprintf(f, "  %-11s ", commands[i].name);
        for (const char *nl; (nl = strchr(s, '\n')); s = nl + 1)
            fprintf(f, "%.*s\n%14s", (int)(nl - s), s, "");
        fprintf(f, "%s\n", s);
    }
    fprintf(f, "\nRun 'corral <command> --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return CR_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (cr_crash_init() != 0)
        return CR_EXIT_USAGE;
    if (!strcmp(cmd, "--version"))
        cmd = "version";
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage_main(stdout);
        return 0;
    }
    fprintf(stderr, "corral: unknown command '%s'\n", cmd);
    usage_main(stderr);
    return CR_EXIT_USAGE;
}
