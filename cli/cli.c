/* cli.c: the programs' one error and usage convention (cli.h). */
#include "cli.h"
#include "dae.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prog = "dae";

void
cli_set_prog (const char *name)
{
  prog = name;
}

GOptionContext *
cli_start (const char *name, const char *parameters, const GOptionEntry *entries,
           const char *summary, const char *description)
{
  setlocale (LC_ALL, "");
  prog = name;
  GOptionContext *ctx = g_option_context_new (parameters);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx, summary);
  g_option_context_set_description (ctx, description);
  return ctx;
}

const char *
cli_prog (void)
{
  return prog;
}

static G_GNUC_NORETURN void
report_and_exit (int status, const char *fmt, va_list ap)
{
  char *msg = g_strdup_vprintf (fmt, ap);
  fflush (stdout);
  fprintf (stderr, "%s: %s\n", prog, msg);
  if (status == CLI_EXIT_USAGE)
    fprintf (stderr, "Try '%s --help' for more information.\n", prog);
  g_free (msg); /* exit() runs no cleanup: LeakSanitizer would see it */
  exit (status);
}

void
cli_usage_error (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  report_and_exit (CLI_EXIT_USAGE, fmt, ap);
}

void
cli_fail (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  report_and_exit (CLI_EXIT_FAILURE, fmt, ap);
}

void
cli_fail_error (GError *error)
{
  char msg[4096]; /* freed before exit(), which runs no cleanup (LeakSanitizer) */
  g_strlcpy (msg, error->message, sizeof msg);
  g_error_free (error);
  cli_fail ("%s", msg);
}

void
cli_parse_options (GOptionContext *ctx, int *argc, char ***argv)
{
  GError *error = NULL;
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      char msg[4096];
      g_strlcpy (msg, error->message, sizeof msg);
      g_error_free (error);
      cli_usage_error ("%s", msg);
    }
}

void
cli_print_version (void)
{
  printf ("%s (dae) %s\n", prog, dae_version ());
}

guint64
cli_parse_uint (const char *option, const char *text, guint64 lo, guint64 hi)
{
  guint64 v;
  if (!g_ascii_string_to_unsigned (text, 10, lo, hi, &v, NULL))
    cli_usage_error ("%s: \"%s\" is not a whole number from %" G_GUINT64_FORMAT " to %"
                     G_GUINT64_FORMAT, option, text, lo, hi);
  return v;
}

double
cli_parse_double (const char *option, const char *text, double lo, double hi,
                  gboolean open_lo)
{
  char *end;
  errno = 0;
  const double v = g_ascii_strtod (text, &end);
  if (text[0] == '\0' || *end != '\0' || errno != 0 || !isfinite (v) || v > hi
      || (open_lo ? v <= lo : v < lo))
    cli_usage_error ("%s: \"%s\" is not a number in %s%g, %g]", option, text,
                     open_lo ? "(" : "[", lo, hi);
  return v;
}

guint
cli_parse_choice (const char *option, const char *text, const char *const *choices)
{
  for (guint i = 0; choices[i] != NULL; i++)
    if (strcmp (text, choices[i]) == 0)
      return i;
  char list[256] = "";
  for (guint i = 0; choices[i] != NULL; i++)
    {
      if (i > 0)
        g_strlcat (list, "|", sizeof list);
      g_strlcat (list, choices[i], sizeof list);
    }
  cli_usage_error ("%s: \"%s\" is not one of %s", option, text, list);
}
