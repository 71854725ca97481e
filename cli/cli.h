/* cli.h: what dae-filter, dae-train and dae-model share as programs (not
 * part of libdae: core/ knows no command line).
 *
 * One convention, coreutils' and netpbm's: a usage error (an unknown
 * option, a bad value, a missing argument) prints
 *     PROG: MESSAGE
 *     Try 'PROG --help' for more information.
 * on stderr and exits with status 2 (CLI_EXIT_USAGE) before any output is
 * written; a failure prints "PROG: MESSAGE" and exits 1 (CLI_EXIT_FAILURE).
 * The man pages' EXIT STATUS sections say the same. */
#ifndef DAE_CLI_H
#define DAE_CLI_H

#include <glib.h>

G_BEGIN_DECLS

#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2

/* Starts a program: the locale, @prog for messages, and its option
 * context: @parameters, @summary and @description for --help, @entries. */
GOptionContext *cli_start (const char *prog, const char *parameters,
                           const GOptionEntry *entries, const char *summary,
                           const char *description);

/* The name messages start with (cli_start() sets it). */
void cli_set_prog (const char *prog);
const char *cli_prog (void);

/* Reports a usage error and exits with CLI_EXIT_USAGE. */
G_GNUC_NORETURN G_GNUC_PRINTF (1, 2) void cli_usage_error (const char *fmt, ...);

/* Reports a failure and exits with CLI_EXIT_FAILURE. */
G_GNUC_NORETURN G_GNUC_PRINTF (1, 2) void cli_fail (const char *fmt, ...);

/* Reports @error's message, frees it and exits with CLI_EXIT_FAILURE. */
G_GNUC_NORETURN void cli_fail_error (GError *error);

/* g_option_context_parse(), an error of which is a usage error. */
void cli_parse_options (GOptionContext *ctx, int *argc, char ***argv);

/* "PROG (dae) VERSION" on stdout, as GNU programs print it. */
void cli_print_version (void);

/* Option values: a usage error naming @option ("--threads") and @text
 * unless @text is a whole number in [lo, hi], a finite number in [lo, hi]
 * ((lo, hi] with @open_lo), or one of @choices (returns its index). */
guint64 cli_parse_uint (const char *option, const char *text, guint64 lo, guint64 hi);
double cli_parse_double (const char *option, const char *text, double lo, double hi,
                         gboolean open_lo);
guint cli_parse_choice (const char *option, const char *text, const char *const *choices);

G_END_DECLS

#endif /* DAE_CLI_H */
