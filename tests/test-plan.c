/* test-plan.c: the execution plan (core/plan.c).  What dae-filter -v says
 * of a runner's plan is what its forward pass runs, for every path and
 * kernel set: the kernel table is wrapped to count the convolutions each
 * kind of kernel runs.  DAE_CONV forces a path in place of AUTO. */
#include "dae.h"
#include "dae-private.h"
#include "dispatch.h"

#include <stdio.h>

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

  float in[144 * 3], out[144 * 3];
  for (guint i = 0; i < G_N_ELEMENTS (in); i++)
    in[i] = (float) (i % 17) / 17;
  n_direct = n_winograd = 0;
  g_assert_true (dae_runner_forward (r, 3, in, out, &error));
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
    { "auto", "(auto: the fastest measured here)" },
    { "bogus", "(auto: the fastest measured here; DAE_CONV=bogus is not one of auto, "
               "direct, gemm, winograd)" },
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("DAE_CONV");
  g_test_add_func ("/plan/describe-is-run", test_describe_is_run);
  g_test_add_func ("/plan/env", test_env);
  return g_test_run ();
}
