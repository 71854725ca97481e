/* test-layers.c: every layer against a naive definition written here, edge
 * sizes (1x1, odd) for pool and upsample, and the GEMM path against the
 * direct one. */
#include "dae.h"
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>

static void
fill_random (GRand *rng, float *x, size_t n, double lo, double hi)
{
  for (size_t i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rng, lo, hi);
}

static float
max_abs_diff (const float *a, const float *b, size_t n)
{
  float m = 0.0f;
  for (size_t i = 0; i < n; i++)
    m = MAX (m, fabsf (a[i] - b[i]));
  return m;
}

static float
act (DaeActivation a, double v)
{
  if (a == DAE_ACT_RELU)
    return v > 0 ? v : 0;
  if (a == DAE_ACT_SIGMOID)
    return 1.0 / (1.0 + exp (-v));
  return v;
}

/* Convolution straight from its definition, in double. */
static void
naive_conv3x3 (const DaeConvArgs *a, const float *in, float *out)
{
  for (size_t n = 0; n < a->n; n++)
    for (guint oc = 0; oc < a->out_c; oc++)
      for (int y = 0; y < (int) a->h; y++)
        for (int x = 0; x < (int) a->w; x++)
          {
            double s = a->bias[oc];
            for (guint ic = 0; ic < a->in_c; ic++)
              for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                  {
                    int sy = y + ky - 1, sx = x + kx - 1;
                    if (sy < 0 || sx < 0 || sy >= (int) a->h || sx >= (int) a->w)
                      continue;
                    s += (double) a->weight[((oc * a->in_c + ic) * 3 + ky) * 3 + kx]
                         * in[((n * a->in_c + ic) * a->h + sy) * a->w + sx];
                  }
            out[((n * a->out_c + oc) * a->h + y) * a->w + x] = act (a->act, s);
          }
}

static void
test_conv3x3 (void)
{
  GRand *rng = g_rand_new_with_seed (1);
  const guint sizes[][2] = { { 1, 1 }, { 1, 5 }, { 5, 1 }, { 2, 2 }, { 3, 7 },
                             { 28, 28 }, { 17, 33 }, { 14, 14 }, { 7, 7 } };
  const guint chans[][2] = { { 1, 1 }, { 1, 32 }, { 32, 32 }, { 32, 1 }, { 3, 5 } };
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (guint ci = 0; ci < G_N_ELEMENTS (chans); ci++)
      for (int ac = DAE_ACT_NONE; ac <= DAE_ACT_SIGMOID; ac++)
        {
          DaeConvArgs a = { .n = 1 + (si + ci) % 3, .in_c = chans[ci][0],
                            .out_c = chans[ci][1], .h = sizes[si][0],
                            .w = sizes[si][1], .act = ac };
          size_t nin = a.n * a.in_c * a.h * a.w, nout = a.n * a.out_c * a.h * a.w;
          float *w = g_new (float, a.in_c * a.out_c * 9), *b = g_new (float, a.out_c);
          float *x = g_new (float, nin), *want = g_new (float, nout);
          float *got = g_new (float, nout), *gemm = g_new (float, nout);
          fill_random (rng, w, a.in_c * a.out_c * 9, -0.5, 0.5);
          fill_random (rng, b, a.out_c, -0.3, 0.3);
          fill_random (rng, x, nin, 0, 1);
          a.weight = w;
          a.bias = b;
          naive_conv3x3 (&a, x, want);
          dae_conv3x3_ref (&a, x, got);
          float *scratch = g_new (float, dae_conv3x3_gemm_scratch (&a));
          dae_conv3x3_gemm (&a, x, gemm, scratch);
          g_assert_cmpfloat (max_abs_diff (want, got, nout), <=, 1e-5);
          g_assert_cmpfloat (max_abs_diff (want, gemm, nout), <=, 1e-5);
          g_free (scratch);
          g_free (w); g_free (b); g_free (x); g_free (want); g_free (got); g_free (gemm);
        }
  g_rand_free (rng);
}

static void
test_maxpool2 (void)
{
  /* 1x1 stays; odd sizes keep a last window of one row/column. */
  const guint sizes[][2] = { { 1, 1 }, { 1, 4 }, { 3, 1 }, { 3, 3 }, { 7, 5 }, { 28, 28 } };
  GRand *rng = g_rand_new_with_seed (2);
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    {
      guint h = sizes[si][0], w = sizes[si][1], oh = (h + 1) / 2, ow = (w + 1) / 2;
      float *x = g_new (float, 2 * 3 * h * w), *y = g_new (float, 2 * 3 * oh * ow);
      fill_random (rng, x, 2 * 3 * h * w, -1, 1);
      dae_maxpool2_ref (2, 3, h, w, x, y);
      for (guint p = 0; p < 6; p++)
        for (guint yy = 0; yy < oh; yy++)
          for (guint xx = 0; xx < ow; xx++)
            {
              float m = -INFINITY;
              for (guint dy = 0; dy < 2; dy++)
                for (guint dx = 0; dx < 2; dx++)
                  if (2 * yy + dy < h && 2 * xx + dx < w)
                    m = MAX (m, x[(p * h + 2 * yy + dy) * w + 2 * xx + dx]);
              g_assert_cmpfloat (y[(p * oh + yy) * ow + xx], ==, m);
            }
      g_free (x);
      g_free (y);
    }
  float one = 0.25f, out = 0;
  dae_maxpool2_ref (1, 1, 1, 1, &one, &out);
  g_assert_cmpfloat (out, ==, 0.25f);
  g_rand_free (rng);
}

static void
test_upsample2 (void)
{
  const guint sizes[][2] = { { 1, 1 }, { 1, 3 }, { 3, 1 }, { 7, 7 }, { 5, 2 } };
  GRand *rng = g_rand_new_with_seed (3);
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    {
      guint h = sizes[si][0], w = sizes[si][1];
      float *x = g_new (float, 4 * h * w), *y = g_new (float, 16 * h * w);
      fill_random (rng, x, 4 * h * w, -1, 1);
      dae_upsample2_ref (2, 2, h, w, x, y);
      for (guint p = 0; p < 4; p++)
        for (guint yy = 0; yy < 2 * h; yy++)
          for (guint xx = 0; xx < 2 * w; xx++)
            g_assert_cmpfloat (y[(p * 2 * h + yy) * 2 * w + xx], ==,
                               x[(p * h + yy / 2) * w + xx / 2]);
      g_free (x);
      g_free (y);
    }
  g_rand_free (rng);
}

static void
test_convt2x2 (void)
{
  GRand *rng = g_rand_new_with_seed (4);
  const guint sizes[][2] = { { 1, 1 }, { 3, 5 }, { 7, 7 } };
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    {
      DaeConvArgs a = { .n = 2, .in_c = 3, .out_c = 4, .h = sizes[si][0],
                        .w = sizes[si][1], .act = DAE_ACT_RELU };
      guint oh = 2 * a.h, ow = 2 * a.w;
      float w[3 * 4 * 4], b[4];
      size_t nin = a.n * a.in_c * a.h * a.w, nout = a.n * a.out_c * oh * ow;
      float *x = g_new (float, nin), *y = g_new (float, nout);
      fill_random (rng, w, G_N_ELEMENTS (w), -1, 1);
      fill_random (rng, b, 4, -0.5, 0.5);
      fill_random (rng, x, nin, 0, 1);
      a.weight = w;
      a.bias = b;
      dae_convt2x2_ref (&a, x, y);
      /* Each output pixel has exactly one input pixel under it. */
      for (guint n = 0; n < a.n; n++)
        for (guint oc = 0; oc < a.out_c; oc++)
          for (guint yy = 0; yy < oh; yy++)
            for (guint xx = 0; xx < ow; xx++)
              {
                double s = b[oc];
                for (guint ic = 0; ic < a.in_c; ic++)
                  s += (double) x[((n * a.in_c + ic) * a.h + yy / 2) * a.w + xx / 2]
                       * w[((ic * a.out_c + oc) * 2 + yy % 2) * 2 + xx % 2];
                g_assert_cmpfloat_with_epsilon (y[((n * a.out_c + oc) * oh + yy) * ow + xx],
                                                act (DAE_ACT_RELU, s), 1e-5);
              }
      g_free (x);
      g_free (y);
    }
  g_rand_free (rng);
}

/* A model with skips runs end to end on odd tile sizes where shapes chain,
 * and refuses tile sizes where they don't. */
static void
test_runner_shapes (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new (1, 28, 28, &error);
  g_assert_no_error (error);
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONV3X3, DAE_ACT_RELU, 4, 0, &error));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_MAXPOOL2, DAE_ACT_NONE, 0, 0, &error));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONV3X3, DAE_ACT_RELU, 4, 0, &error));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_UPSAMPLE2, DAE_ACT_NONE, 0, 0, &error));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONCAT, DAE_ACT_NONE, 0, 0, &error));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONV3X3, DAE_ACT_NONE, 1, 0, &error));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_ADD, DAE_ACT_SIGMOID, 0, DAE_SOURCE_INPUT,
                                      &error));
  g_assert_no_error (error);
  guint c;
  dae_model_get_layer (m, 4, NULL, NULL, &c, NULL);
  g_assert_cmpuint (c, ==, 8);

  g_autoptr (DaeRunner) odd = dae_runner_new (m, 27, 29, &error);
  g_assert_null (odd);
  g_assert_error (error, DAE_ERROR, DAE_ERROR_SHAPE);
  g_clear_error (&error);

  /* Zero weights: every output is sigmoid(0 + input). */
  g_autoptr (DaeRunner) r = dae_runner_new (m, 6, 10, &error);
  g_assert_no_error (error);
  float x[2 * 60], y[2 * 60];
  for (guint i = 0; i < 120; i++)
    x[i] = (i % 11) / 10.0f;
  g_assert_true (dae_runner_forward (r, 2, x, y, &error));
  for (guint i = 0; i < 120; i++)
    g_assert_cmpfloat_with_epsilon (y[i], 1.0 / (1.0 + exp (-x[i])), 1e-6);

  g_autoptr (DaeRunner) one = dae_runner_new (m, 1, 1, &error);
  g_assert_null (one); /* 1 -> pool 1 -> up 2: does not chain */
  g_clear_error (&error);
}

/* Layers that cannot fit are refused with an error naming the layer. */
static void
test_add_layer_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new (1, 28, 28, NULL);
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONV3X3, DAE_ACT_RELU, 8, 0, NULL));
  g_assert_false (dae_model_add_layer (m, DAE_LAYER_ADD, DAE_ACT_NONE, 0, DAE_SOURCE_INPUT,
                                       &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_false (dae_model_add_layer (m, DAE_LAYER_CONCAT, DAE_ACT_NONE, 0, 5, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_false (dae_model_add_layer (m, DAE_LAYER_CONV3X3, DAE_ACT_RELU, 0, 0, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_LIMIT);
  g_clear_error (&error);
  g_assert_false (dae_model_add_layer (m, DAE_LAYER_MAXPOOL2, DAE_ACT_RELU, 0, 0, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_FORMAT);
  g_clear_error (&error);
  g_assert_cmpuint (dae_model_get_n_layers (m), ==, 1);
  g_assert_cmpuint (dae_model_get_n_params (m), ==, 8 * 9 + 8);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layers/conv3x3", test_conv3x3);
  g_test_add_func ("/layers/maxpool2", test_maxpool2);
  g_test_add_func ("/layers/upsample2", test_upsample2);
  g_test_add_func ("/layers/convt2x2", test_convt2x2);
  g_test_add_func ("/layers/runner-shapes", test_runner_shapes);
  g_test_add_func ("/layers/add-layer-errors", test_add_layer_errors);
  return g_test_run ();
}
