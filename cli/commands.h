/*
 * commands.h - every `corral` subcommand: its entry point, and the table
 * main.c dispatches on and prints as the help (cli/main.c).
 *
 * One file per command, cli/cmd_<name>.c; a new command is a new file, a
 * declaration here and a row in main.c's table. Each entry point is a
 * whole program: argv[0] is the subcommand's name, it parses its own
 * options with getopt_long (global state: one thread at a time), prints
 * data on stdout and messages on stderr, and returns the exit status
 * (cli.h: 0, 1 runtime, 2 usage, 78 invalid config or rules).
 *
 * Threading: command-line code, main thread only.
 */
#ifndef CR_COMMANDS_H
#define CR_COMMANDS_H

#include <stdio.h>

int cr_cmd_run(int argc, char **argv);        /* cmd_run.c */
int cr_cmd_demo(int argc, char **argv);       /* cmd_demo.c */
int cr_cmd_kafka_dev(int argc, char **argv);  /* cmd_kafka_dev.c */
int cr_cmd_produce(int argc, char **argv);    /* cmd_produce.c */
int cr_cmd_reload(int argc, char **argv);     /* cmd_reload.c */
int cr_cmd_check(int argc, char **argv);      /* cmd_check.c */
int cr_cmd_test_rules(int argc, char **argv); /* cmd_test_rules.c */
int cr_cmd_explain(int argc, char **argv);    /* cmd_explain.c */
int cr_cmd_query(int argc, char **argv);      /* cmd_query.c */
int cr_cmd_report(int argc, char **argv);     /* cmd_report.c */
int cr_cmd_rejects(int argc, char **argv);    /* cmd_query.c */
int cr_cmd_incident(int argc, char **argv);   /* cmd_incident.c */
int cr_cmd_version(int argc, char **argv);    /* cmd_version.c */
int cr_cmd_serve(int argc, char **argv);      /* cmd_serve.c */
int cr_cmd_audit(int argc, char **argv);      /* cmd_audit.c */

/* query and rejects writing to the given streams (borrowed; not closed),
 * so tests can run them in-process. getopt may permute argv. */
int cr_cmd_query_io(int argc, char **argv, FILE *out, FILE *err);
int cr_cmd_rejects_io(int argc, char **argv, FILE *out, FILE *err);

#endif
