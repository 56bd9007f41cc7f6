/*
 * reload_cli.h - `corral reload`: validate the rules, then make the running
 * `corral run` swap them in, and say what happened.
 *
 * The command is the operator's side of reload.h: it refuses to signal
 * anything when its own check of the config and rules fails (exit 78, every
 * problem printed as `file:line: reason`), finds the running process
 * through its pid file, sends SIGHUP, and waits (bounded) for the status
 * file the running process writes at the end of the attempt. The check
 * also warms the Hyperscan cache the running process compiles through, so
 * the swap itself is quick.
 *
 * Exit status: 0 the running process swapped the rules in (or already ran
 * the same rules); 1 it refused them (reasons printed), no process is
 * running, or no answer came in time; 2 usage; 78 invalid config or rules
 * (nothing was sent).
 *
 * Threading: command-line code, main thread only.
 */
#ifndef CR_RELOAD_CLI_H
#define CR_RELOAD_CLI_H

/* corral reload -c CONFIG [--store DIR] [--pid-file FILE] [--timeout SECONDS] */
int cr_cmd_reload(int argc, char **argv);

#endif
