/*
 * cli.h - conventions every `corral` subcommand shares.
 *
 * Exit codes (docs/operations.md): 0 success, 1 runtime failure, 2 usage
 * error, 78 (EX_CONFIG) invalid configuration or rules. A usage error is
 * one line naming the command and what is wrong, then a pointer to --help,
 * on the error stream; nothing on stdout.
 *
 * Threading: command-line code, main thread only.
 */
#ifndef CR_CLI_H
#define CR_CLI_H

#include <stdio.h>

#define CR_EXIT_RUNTIME 1
#define CR_EXIT_USAGE 2
#define CR_EXIT_CONFIG 78

/* "corral CMD: <message>\nTry 'corral CMD --help' for more information." on
 * err; returns CR_EXIT_USAGE. */
int cr_cli_usage(FILE *err, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A thread or partition count from the command line: 1 to 64. Returns 0,
 * or -1 if s is not one. */
int cr_cli_parse_count(const char *s, int *out);

/* The config a command uses without -c: $CORRAL_CONFIG, else the installed
 * one (CORRAL_DEFAULT_CONFIG, /etc/corral/corral.yaml for a /usr install)
 * if it exists; NULL if neither. */
const char *cr_cli_default_config(void);

struct cr_config;
struct cr_ruleset;
/* Load CONFIG into *cfg. On failure prints every "file:line: reason" on
 * stderr, frees what it loaded and returns CR_EXIT_CONFIG; else 0. */
int cr_cli_load_config(const char *config, struct cr_config *cfg);
/* Compile cfg's rules (with its Hyperscan cache if use_cache) into *rs.
 * On failure prints every "file:line: reason" on stderr and returns
 * CR_EXIT_CONFIG (cfg stays the caller's); else 0. */
int cr_cli_compile_rules(const struct cr_config *cfg, int use_cache, struct cr_ruleset **rs);
/* Load CONFIG and compile its rules (with its Hyperscan cache if use_cache)
 * for a command that needs both up front. On failure prints every
 * "file:line: reason" on stderr, frees what it loaded and returns
 * CR_EXIT_CONFIG; else 0, and the caller frees *rs and cfg. */
int cr_cli_load_rules(const char *config, int use_cache, struct cr_config *cfg,
                      struct cr_ruleset **rs);

struct cr_inventory;
/* The inventory cfg names (assets:), into *inv (NULL when it names none).
 * On failure prints every "file:line: reason" on stderr and returns
 * CR_EXIT_CONFIG; else 0, and the caller frees *inv. */
/* p (may be NULL: defaults) gives the shared-component threshold. */
struct cr_grade_policy;
int cr_cli_load_assets(const struct cr_config *cfg, const struct cr_grade_policy *p,
                       struct cr_inventory **inv);
/* The config's grading policy (`grading:`) over the defaults; errors on
 * stderr, CR_EXIT_CONFIG. */
int cr_cli_load_grading(const struct cr_config *cfg, struct cr_grade_policy *p);

/* getopt_long's complaint in our words (opterr off, ':' first in the
 * optstring): c is what getopt_long returned ('?' or ':'). Returns
 * CR_EXIT_USAGE. */
int cr_cli_getopt_error(FILE *err, const char *cmd, int c, char **argv);
struct cr_store;
/* The store at dir, read-only (another process may be writing it); NULL
 * with "corral: <why>" on err. */
struct cr_store *cr_cli_open_store(const char *dir, FILE *err);

#endif
