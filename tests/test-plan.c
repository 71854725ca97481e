/* test-plan.c: the execution plan (core/plan.c).  What dae-filter -v says
 * of a runner's plan is what its forward pass runs, for every path and
 * kernel set: the kernel table is wrapped to count the convolutions each
 * kind of kernel runs.  DAE_CONV forces a path in place of AUTO. */
#include "dae.h"
#include "dae-private.h"
#include "dispatch.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const DaeKernels *inner;
static guint n_direct, n_winograd;

static void
count_conv (const DaeConvArgs *a, const float *in, float *out)
{
  n_direct++;
  inner->conv3x3 (a, in, out);
}

static void
count_conv_pool (const DaeConvArgs *a, const float *in, float *out)
{
  n_direct++;
  inner->conv3x3_maxpool2 (a, in, out);
}

static void
count_up_conv (const DaeConvArgs *a, const float *in, float *out)
{
  n_direct++;
  inner->upsample2_conv3x3 (a, in, out);
}

static void
count_up_cat_conv (const DaeConvArgs *a, guint up_c, const float *up, const float *skip,
                   float *out)
{
  n_direct++;
  inner->upsample2_concat_conv3x3 (a, up_c, up, skip, out);
}

static void
count_up_cat_winograd (const DaeConvArgs *a, guint up_c, const float *up, const float *skip,
                       float *out)
{
  n_winograd++;
  inner->upsample2_concat_conv3x3_winograd (a, up_c, up, skip, out);
}

static void
count_winograd (const DaeConvArgs *a, const float *in, float *out, float *pooled)
{
  n_winograd++;
  inner->conv3x3_winograd (a, in, out, pooled);
}

/* Networks with every fusion: conv + pool (one whose conv output a skip
 * reads), upsample + conv, a U-Net's upsample + concat + conv, an add. */
static const char *const archs[] = {
  "tutorial", "unet", "wide",
  "c16=a,p,c24,c24:none,add:2,u,cat:a,c16,c1:sigmoid",
  "c8,c20=b,p,c20,u,add:b,c4,c1:sigmoid",
};

/* The scalar reference's output of arch over in (n tiles of 12x12). */
static void
reference_forward (const DaeModel *m, size_t n, const float *in, float *out)
{
  g_autoptr (GError) error = NULL;
  dae__kernels_set_table (dae__kernels_for (DAE__ISA_REF));
  g_autoptr (DaeRunner) r = dae_runner_new (m, 12, 12, &error);
  g_assert_no_error (error);
  dae_runner_set_conv_path (r, DAE_CONV_DIRECT);
  dae__kernels_set_table (NULL);
  g_assert_true (dae_runner_forward (r, n, in, out, &error));
}

static void
check_arch (const DaeKernels *k, const char *arch, DaeConvPath path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new_from_arch (arch, 1, 12, 12, &error);
  g_assert_no_error (error);
  dae_model_init_glorot (m, 5);
  DaeKernels counting = *k;
  counting.conv3x3 = count_conv;
  counting.conv3x3_maxpool2 = count_conv_pool;
  counting.upsample2_conv3x3 = count_up_conv;
  counting.upsample2_concat_conv3x3 = count_up_cat_conv;
  counting.upsample2_concat_conv3x3_winograd = count_up_cat_winograd;
  counting.conv3x3_winograd = count_winograd;
  inner = k;
  dae__kernels_set_table (&counting);
  g_autoptr (DaeRunner) r = dae_runner_new (m, 12, 12, &error);
  g_assert_no_error (error);
  dae_runner_set_conv_path (r, path);
  dae__kernels_set_table (NULL);
  g_autofree char *said = dae__runner_describe_convs (r);
  guint w, d, g;
  g_assert_cmpint (sscanf (said, "conv3x3 layers: %u Winograd, %u direct, %u im2col+sgemm",
                           &w, &d, &g), ==, 3);
  guint convs = 0;
  for (guint i = 0; i < dae_model_get_n_layers (m); i++)
    {
      DaeLayerKind kind;
      g_assert_true (dae_model_get_layer (m, i, &kind, NULL, NULL, NULL));
      convs += kind == DAE_LAYER_CONV3X3;
    }
  g_assert_cmpuint (w + d + g, ==, convs);

  float in[144 * 3], out[144 * 3], want[144 * 3];
  for (guint i = 0; i < G_N_ELEMENTS (in); i++)
    in[i] = (float) (i % 17) / 17;
  n_direct = n_winograd = 0;
  g_assert_true (dae_runner_forward (r, 3, in, out, &error));
  /* What runs, fused or not, computes the network (fused kernels once
   * wrote over an input they had yet to read). */
  reference_forward (m, 3, in, want);
  for (guint i = 0; i < G_N_ELEMENTS (out); i++)
    if (!(fabsf (out[i] - want[i]) <= 1e-4f))
      g_error ("%s %s path %d: output %u is %g, the reference's %g", k->name, arch, path, i,
               out[i], want[i]);
  g_test_message ("%s %s path %d: %s; ran %u Winograd, %u direct", k->name, arch, path,
                  said, n_winograd, n_direct);
  g_assert_cmpuint (n_winograd, ==, w);
  g_assert_cmpuint (n_direct, ==, d);
  if (path == DAE_CONV_GEMM)
    g_assert_cmpuint (g, ==, convs);
  if (path == DAE_CONV_DIRECT)
    g_assert_cmpuint (d, ==, convs);
}

static void
test_describe_is_run (void)
{
  guint n = 0;
  for (int isa = DAE__ISA_REF; isa < DAE__N_ISA; isa++)
    {
      const DaeKernels *k = dae__kernels_for (isa);
      if (k == NULL)
        continue;
      for (guint a = 0; a < G_N_ELEMENTS (archs); a++)
        for (int path = DAE_CONV_AUTO; path <= DAE_CONV_WINOGRAD; path++)
          {
            check_arch (k, archs[a], path);
            n++;
          }
    }
  g_assert_cmpuint (n, >=, G_N_ELEMENTS (archs) * 4);
}

/* DAE_CONV is read once a process: each case runs in a child. */
static void
test_env (void)
{
  if (g_test_subprocess ())
    {
      const char *want = g_getenv ("TEST_PLAN_DAE_CONV");
      g_setenv ("DAE_CONV", want, TRUE);
      g_autoptr (GError) error = NULL;
      g_autoptr (DaeModel) m = dae_model_new_from_arch ("wide", 1, 12, 12, &error);
      g_autoptr (DaeRunner) r = dae_runner_new (m, 12, 12, &error);
      g_assert_no_error (error);
      g_autofree char *said = dae__runner_describe_convs (r);
      printf ("%s\n", said);
      return;
    }
  static const struct {
    const char *env, *says;
  } cases[] = {
    { "direct", "0 Winograd, 6 direct, 0 im2col+sgemm (direct, from DAE_CONV)" },
    { "GEMM", "0 Winograd, 0 direct, 6 im2col+sgemm (gemm, from DAE_CONV)" },
    { "auto", "(auto: the fastest measured here, for this process only: "
              "DAE_CONV_CACHE=off)" },
    { "bogus", "(auto: the fastest measured here, for this process only: "
               "DAE_CONV_CACHE=off; DAE_CONV=bogus is not one of auto, direct, gemm, "
               "winograd)" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_setenv ("TEST_PLAN_DAE_CONV", cases[i].env, TRUE);
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      g_autofree char *pattern = g_strdup_printf ("*%s*", cases[i].says);
      g_test_trap_assert_stdout (pattern);
    }
}

/* The cache file (DAE_CONV_CACHE), read once a process: each run of AUTO
 * is a child of /plan/cache*, which prints its plan and writes its forward pass's output
 * to TEST_PLAN_OUT. */
static void
cache_child (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new_from_arch ("wide", 1, 12, 12, &error);
  g_assert_no_error (error);
  dae_model_init_glorot (m, 5);
  g_autoptr (DaeRunner) r = dae_runner_new (m, 12, 12, &error);
  g_assert_no_error (error);
  float in[144 * 3], out[144 * 3];
  for (guint i = 0; i < G_N_ELEMENTS (in); i++)
    in[i] = (float) (i % 17) / 17;
  g_assert_true (dae_runner_forward (r, 3, in, out, &error));
  g_autofree char *said = dae__runner_describe_convs (r);
  printf ("%s\n", said);
  g_assert_true (g_file_set_contents (g_getenv ("TEST_PLAN_OUT"), (const char *) out,
                                      sizeof out, NULL));
}

/* Runs the child with DAE_CONV_CACHE=cache, its output in out; it must say
 * says. */
static void
run_cached (const char *cache, const char *out, const char *says)
{
  g_setenv ("DAE_CONV_CACHE", cache, TRUE);
  g_setenv ("TEST_PLAN_OUT", out, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_setenv ("DAE_CONV_CACHE", "off", TRUE);
  g_test_trap_assert_passed ();
  g_autofree char *pattern = g_strdup_printf ("*%s*", says);
  g_test_trap_assert_stdout (pattern);
}

static char *
read_text (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

/* Every line "ISA [CPU] N tiles: layers -> path"; the number of lines. */
static guint
check_lines (const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = 0;
  for (guint i = 0; lines[i] != NULL && *lines[i] != '\0'; i++, n++)
    {
      g_autofree char *start = g_strdup_printf ("%s [", dae__kernels ()->name);
      g_assert_true (g_str_has_prefix (lines[i], start));
      g_assert_nonnull (strstr (lines[i], " tiles: "));
      g_assert_nonnull (strstr (lines[i], "*conv3x3 "));
      const char *arrow = g_strrstr (lines[i], " -> ");
      g_assert_nonnull (arrow);
      g_assert_true (strcmp (arrow, " -> direct") == 0 || strcmp (arrow, " -> winograd") == 0
                     || strcmp (arrow, " -> gemm") == 0);
    }
  return n;
}

static void
assert_same_bytes (const char *dir, const char *a, const char *b)
{
  g_autofree char *x = read_text (dir, a), *y = read_text (dir, b);
  g_assert_cmpmem (x, 144 * 3 * sizeof (float), y, 144 * 3 * sizeof (float));
}

static void
remove_all (const char *dir, const char *const *names)
{
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dir, names[i], NULL);
      g_assert_cmpint (g_remove (path), ==, 0);
    }
}

/* Two processes in turn run the same plan and compute the same bits: the
 * second reads the first's choices; a choice written in the file is the
 * one run (all Winograd); a corrupt line is measured again. */
static void
test_cache (void)
{
  if (g_test_subprocess ())
    {
      cache_child ();
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("test-plan-XXXXXX", NULL);
  g_assert_nonnull (dir);
  g_autofree char *cache = g_build_filename (dir, "sub", "conv-paths-v1", NULL);
  g_autofree char *o1 = g_build_filename (dir, "out1", NULL);
  g_autofree char *o2 = g_build_filename (dir, "out2", NULL);
  run_cached (cache, o1, "(auto: the fastest measured on this machine, now, kept in ");
  g_autofree char *text = read_text (dir, "sub/conv-paths-v1");
  const guint n = check_lines (text);
  g_assert_cmpuint (n, >=, 1);
  g_assert_cmpuint (n, <=, 6);
  run_cached (cache, o2, "(auto: the fastest measured on this machine, read from ");
  assert_same_bytes (dir, "out1", "out2");
  g_autofree char *again = read_text (dir, "sub/conv-paths-v1");
  g_assert_cmpstr (again, ==, text);

  /* Every choice Winograd: the file is what runs. */
  g_autoptr (GRegex) re = g_regex_new (" -> [a-z]+$", G_REGEX_MULTILINE, 0, NULL);
  g_autofree char *wino = g_regex_replace_literal (re, text, -1, 0, " -> winograd", 0, NULL);
  g_assert_true (g_file_set_contents (cache, wino, -1, NULL));
  run_cached (cache, o1, "6 Winograd, 0 direct, 0 im2col+sgemm (auto: the fastest measured "
                         "on this machine, read from ");
  run_cached (cache, o2, "6 Winograd, 0 direct");
  assert_same_bytes (dir, "out1", "out2");

  /* A corrupt line is left out and measured again; junk is dropped. */
  g_autofree char *cut = g_strdup (wino);
  char *arrow = strstr (cut, " -> winograd");
  memcpy (arrow, " -> wonigrad", 12);
  g_autofree char *bad = g_strconcat ("junk\n\xff\xfe -> direct\n", cut, "half a line", NULL);
  g_assert_true (g_file_set_contents (cache, bad, -1, NULL));
  run_cached (cache, o1, "(auto: the fastest measured on this machine, now, kept in ");
  g_autofree char *mended = read_text (dir, "sub/conv-paths-v1");
  g_assert_cmpuint (check_lines (mended), ==, n);
  g_assert_null (strstr (mended, "junk"));
  g_assert_null (strstr (mended, "wonigrad"));
  remove_all (dir, (const char *[]){ "out1", "out2", "sub/conv-paths-v1", "sub", "", NULL });
}

/* A cache that cannot be written (its folder is a file): AUTO measures for
 * the process and says so; off: likewise, and nothing is written. */
static void
test_cache_unwritable (void)
{
  if (g_test_subprocess ())
    {
      cache_child ();
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("test-plan-XXXXXX", NULL);
  g_assert_nonnull (dir);
  g_autofree char *file = g_build_filename (dir, "file", NULL);
  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  g_autofree char *cache = g_build_filename (file, "conv-paths-v1", NULL);
  g_autofree char *out = g_build_filename (dir, "out", NULL);
  run_cached (cache, out, "(auto: the fastest measured here, for this process only: cannot ");
  run_cached ("off", out, "(auto: the fastest measured here, for this process only: "
                          "DAE_CONV_CACHE=off)");
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint entries = 0;
  while (g_dir_read_name (d) != NULL)
    entries++;
  g_assert_cmpuint (entries, ==, 2); /* file, out */
  remove_all (dir, (const char *[]){ "file", "out", "", NULL });
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("DAE_CONV");
  /* Never the user's own cache; the cache tests name theirs. */
  if (!g_test_subprocess ())
    g_setenv ("DAE_CONV_CACHE", "off", TRUE);
  g_test_add_func ("/plan/describe-is-run", test_describe_is_run);
  g_test_add_func ("/plan/env", test_env);
  g_test_add_func ("/plan/cache", test_cache);
  g_test_add_func ("/plan/cache-unwritable", test_cache_unwritable);
  return g_test_run ();
}
