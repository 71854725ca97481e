/* test-bench-peak.c: dae-bench measures its FMA peak with code as wide as
 * the kernels the dispatch picked (DAE_ISA's choice, else the widest the
 * CPU has), so that "% of peak" never compares AVX-512 kernels with an
 * AVX2 peak.  Each ISA this CPU has is forced in turn. */
#include "dae.h"
#include "dispatch.h"
#include "test-spawn.h"

#include <glib/gstdio.h>
#include <string.h>

static char *bench_path, *tmp_dir;

static void
test_peak_isa (void)
{
  guint tried = 0;
  for (DaeIsa isa = DAE__ISA_REF; isa < DAE__N_ISA; isa++)
    {
      const DaeKernels *k = dae__kernels_for (isa);
      if (k == NULL)
        continue;
      g_setenv ("DAE_ISA", k->name, TRUE);
      g_auto (TestRun) r = test_run (tmp_dir, bench_path, NULL, 0,
                                     (const char *const[]){ "--peak-only", "--reps", "1", NULL });
      g_unsetenv ("DAE_ISA");
      g_assert_cmpint (r.status, ==, 0);
      const char *out = g_bytes_get_data (r.out, NULL);
      g_autofree char *text = g_strndup (out, g_bytes_get_size (r.out));
      g_test_message ("DAE_ISA=%s: %s", k->name, text);
      const char *line = strstr (text, "FMA peak");
      g_assert_nonnull (line);
      g_autofree char *want = g_strdup_printf ("FMA peak measured now with %s code: ", k->name);
      g_assert_true (g_str_has_prefix (line, want));
      const double gflops = g_ascii_strtod (line + strlen (want), NULL);
      /* The scalar reference has no vector peak to measure. */
      if (isa == DAE__ISA_REF)
        g_assert_cmpfloat (gflops, ==, 0);
      else
        g_assert_cmpfloat (gflops, >, 0);
      tried++;
    }
  g_assert_cmpuint (tried, >=, 1);
  if (dae__kernels_for (DAE__ISA_AVX512) == NULL)
    g_test_message ("this CPU has no AVX-512: only the narrower ISAs were checked");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  bench_path = g_strdup (g_getenv ("DAE_BENCH"));
  g_assert_nonnull (bench_path);
  tmp_dir = g_dir_make_tmp ("dae-bench-peak-XXXXXX", NULL);
  g_test_add_func ("/bench/peak-isa", test_peak_isa);
  const int status = g_test_run ();
  g_autofree char *in = g_build_filename (tmp_dir, "stdin", NULL);
  g_autofree char *out = g_build_filename (tmp_dir, "stdout", NULL);
  g_autofree char *err = g_build_filename (tmp_dir, "stderr", NULL);
  g_unlink (in);
  g_unlink (out);
  g_unlink (err);
  g_rmdir (tmp_dir);
  return status;
}
