/*
 * query_cli.h - `corral query` and `corral rejects`: read the store from the
 * command line, in a separate process from (and at the same time as) the
 * running engine.
 *
 * Each command is a whole program: it parses its own options with
 * getopt_long, opens the store read-only, prints and returns the exit
 * status. argv[0] is the subcommand name ("query", "rejects").
 *
 * Exit status: 0 ok (also when nothing matched), 1 runtime error (no store,
 * unreadable store, write error), 2 usage error (one line saying what is
 * wrong and a hint to --help, on the error stream). --help prints usage on
 * the output stream and returns 0.
 *
 * Threading: getopt keeps global state; call from one thread at a time.
 */
#ifndef CR_QUERY_CLI_H
#define CR_QUERY_CLI_H

#include <stdio.h>

/* corral query --store DIR [--since T] [--until T] [--category C]
 *              [--priority P] [--entity K=V] [--format table|ndjson|csv]
 *              [--limit N]
 * Prints to stdout, messages to stderr. */
int cr_cmd_query(int argc, char **argv);
/* corral rejects --store DIR [--format table|ndjson] */
int cr_cmd_rejects(int argc, char **argv);

/* The same commands writing to the given streams (borrowed; not closed),
 * so tests can run them in-process. getopt may permute argv. */
int cr_cmd_query_io(int argc, char **argv, FILE *out, FILE *err);
int cr_cmd_rejects_io(int argc, char **argv, FILE *out, FILE *err);

#endif
