/* test-kernels.c: every SIMD kernel variant against the scalar reference,
 * over odd sizes, widths below, at and above the vector width (1..40),
 * channel counts 1/3/8/32, batches of 1..4 and every activation; batch
 * invariance (bit-identical tiles whatever the batch); DAE_ISA handling.
 * The backward kernel too (dweight, dbias, din).  A variant the CPU lacks
 * is skipped, not passed.
 *
 * Tolerance: |simd - ref| <= 1e-5 * max(1, S) per output, where S is the
 * same layer run on |weights|, |bias| and |input| without activation: the
 * sum of the magnitudes of the terms (FMA rounds once where the reference
 * rounds twice; the fused upsample adds weights first). */
#include "dae.h"
#include "dispatch.h"

#include <math.h>
#include <string.h>

typedef enum { KIND_CONV, KIND_CONV_POOL, KIND_UP_CONV, N_KINDS } Kind;
static const char *const kind_names[N_KINDS] = { "conv3x3", "conv3x3_maxpool2",
                                                 "upsample2_conv3x3" };

static DaeConv3x3Fn
kernel_of (const DaeKernels *k, Kind kind)
{
  return kind == KIND_CONV ? k->conv3x3
         : kind == KIND_CONV_POOL ? k->conv3x3_maxpool2 : k->upsample2_conv3x3;
}

static size_t
out_plane (Kind kind, guint h, guint w)
{
  if (kind == KIND_CONV_POOL)
    return (size_t) ((h + 1) / 2) * ((w + 1) / 2);
  if (kind == KIND_UP_CONV)
    return (size_t) 4 * h * w;
  return (size_t) h * w;
}

static void
fill (GRand *rng, float *x, size_t n, double lo, double hi)
{
  for (size_t i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rng, lo, hi);
}

static void
abs_all (float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    x[i] = fabsf (x[i]);
}

/* Runs one shape through a variant and the reference; fails the test with
 * the shape named on the first output out of tolerance. */
static void
check_shape (const DaeKernels *k, Kind kind, size_t n, guint in_c, guint out_c,
             guint h, guint w, DaeActivation act, GRand *rng)
{
  const size_t in_f = n * in_c * h * w, out_f = n * out_c * out_plane (kind, h, w);
  g_autofree float *x = g_new (float, in_f);
  g_autofree float *wt = g_new (float, (size_t) out_c * in_c * 9);
  g_autofree float *b = g_new (float, out_c);
  g_autofree float *ref = g_new (float, out_f);
  g_autofree float *got = g_new (float, out_f);
  g_autofree float *scale = g_new (float, out_f);
  /* Weights of the size a trained net has; inputs with negative values so
   * that ReLU cuts and sigmoid spans its range. */
  fill (rng, x, in_f, -1.0, 1.0);
  fill (rng, wt, (size_t) out_c * in_c * 9, -0.6, 0.6);
  fill (rng, b, out_c, -0.3, 0.3);
  DaeConvArgs a = { .n = n, .in_c = in_c, .out_c = out_c, .h = h, .w = w,
                    .weight = wt, .bias = b, .act = act };
  /* NaN in the output buffer: a lane the kernel forgets to store shows. */
  for (size_t i = 0; i < out_f; i++)
    got[i] = NAN;
  kernel_of (dae__kernels_for (DAE__ISA_REF), kind) (&a, x, ref);
  kernel_of (k, kind) (&a, x, got);

  abs_all (x, in_f);
  abs_all (wt, (size_t) out_c * in_c * 9);
  abs_all (b, out_c);
  a.act = DAE_ACT_NONE;
  kernel_of (dae__kernels_for (DAE__ISA_REF), kind) (&a, x, scale);
  for (size_t i = 0; i < out_f; i++)
    {
      const double tol = 1e-5 * MAX (1.0, scale[i]);
      if (!(fabs ((double) got[i] - ref[i]) <= tol))
        g_error ("%s %s n=%zu in_c=%u out_c=%u h=%u w=%u act=%d: output %zu is %.9g, "
                 "reference %.9g (tolerance %.3g)",
                 k->name, kind_names[kind], n, in_c, out_c, h, w, act, i,
                 got[i], ref[i], tol);
    }
}

/* tests/kernels-emu16.c: the template at 16 lanes in portable code. */
#define DAE_TEST_HAVE_EMU16 1
#define EMU16 100
#ifdef DAE_TEST_HAVE_EMU16
extern const DaeKernels dae__kernels_emu16;
#endif

static const DaeKernels *
kernels_or_skip (gconstpointer data)
{
#ifdef DAE_TEST_HAVE_EMU16
  if (GPOINTER_TO_INT (data) == EMU16)
    return &dae__kernels_emu16;
#endif
  const DaeKernels *k = dae__kernels_for (GPOINTER_TO_INT (data));
  if (k == NULL)
    g_test_skip ("this CPU (or its OS) lacks the instruction set");
  return k;
}

/* Widths 1..40 around the vector widths (8, 16), several heights. */
static void
test_widths (gconstpointer data)
{
  const DaeKernels *k = kernels_or_skip (data);
  if (k == NULL)
    return;
  g_autoptr (GRand) rng = g_rand_new_with_seed (1);
  const guint heights[] = { 1, 2, 3, 5, 8 };
  for (int kind = 0; kind < N_KINDS; kind++)
    for (guint w = 1; w <= 40; w++)
      for (guint hi = 0; hi < G_N_ELEMENTS (heights); hi++)
        {
          const guint h = heights[hi];
          const DaeActivation act = (DaeActivation) ((w + hi) % 3);
          check_shape (k, kind, 1 + (w + hi) % 2, 3, 5, h, w, act, rng);
          check_shape (k, kind, 1, 1, 1, h, w, act, rng);
          check_shape (k, kind, 2, 7, 1, h, w, act, rng); /* one output channel */
        }
}

/* Channel counts 1/3/8/32 (and 9, 33: one past a register block) in and
 * out, every activation, batches 1..4, at the network's sizes and odd ones. */
static void
test_channels (gconstpointer data)
{
  const DaeKernels *k = kernels_or_skip (data);
  if (k == NULL)
    return;
  g_autoptr (GRand) rng = g_rand_new_with_seed (2);
  const guint chans[] = { 1, 3, 8, 9, 32, 33 };
  const guint sizes[][2] = { { 7, 7 }, { 14, 14 }, { 5, 9 }, { 13, 11 } };
  guint step = 0;
  for (int kind = 0; kind < N_KINDS; kind++)
    for (guint ci = 0; ci < G_N_ELEMENTS (chans); ci++)
      for (guint co = 0; co < G_N_ELEMENTS (chans); co++)
        for (guint s = 0; s < G_N_ELEMENTS (sizes); s++, step++)
          check_shape (k, kind, 1 + step % 4, chans[ci], chans[co], sizes[s][0],
                       sizes[s][1], (DaeActivation) (step % 3), rng);
  /* The tutorial network's own layers, at its tile size. */
  check_shape (k, KIND_CONV_POOL, 3, 1, 32, 28, 28, DAE_ACT_RELU, rng);
  check_shape (k, KIND_CONV_POOL, 2, 32, 32, 14, 14, DAE_ACT_RELU, rng);
  check_shape (k, KIND_CONV, 2, 32, 32, 7, 7, DAE_ACT_RELU, rng);
  check_shape (k, KIND_UP_CONV, 2, 32, 32, 7, 7, DAE_ACT_RELU, rng);
  check_shape (k, KIND_UP_CONV, 3, 32, 1, 14, 14, DAE_ACT_SIGMOID, rng);
  check_shape (k, KIND_CONV, 2, 32, 1, 28, 28, DAE_ACT_SIGMOID, rng);
}

/* Extreme pre-activations: sigmoid saturates like the reference's. */
static void
test_sigmoid_range (gconstpointer data)
{
  const DaeKernels *k = kernels_or_skip (data);
  if (k == NULL)
    return;
  float x[64], wt[9] = { 0, 0, 0, 0, 1, 0, 0, 0, 0 }, b = 0, ref[64], got[64];
  for (int i = 0; i < 64; i++)
    x[i] = -120.0f + i * 3.75f;
  DaeConvArgs a = { .n = 1, .in_c = 1, .out_c = 1, .h = 8, .w = 8, .weight = wt,
                    .bias = &b, .act = DAE_ACT_SIGMOID };
  dae_conv3x3_ref (&a, x, ref);
  k->conv3x3 (&a, x, got);
  for (int i = 0; i < 64; i++)
    g_assert_cmpfloat_with_epsilon (got[i], ref[i], 1e-6);
}

/* A tile's output has the same bits alone or anywhere in a batch. */
static void
test_batch_invariance (gconstpointer data)
{
  const DaeKernels *k = kernels_or_skip (data);
  if (k == NULL)
    return;
  g_autoptr (GRand) rng = g_rand_new_with_seed (3);
  const guint n = 5, in_c = 8, out_c = 9, h = 14, w = 13;
  for (int kind = 0; kind < N_KINDS; kind++)
    {
      const size_t ip = (size_t) in_c * h * w, op = out_c * out_plane (kind, h, w);
      g_autofree float *x = g_new (float, n * ip);
      g_autofree float *wt = g_new (float, (size_t) out_c * in_c * 9);
      g_autofree float *b = g_new (float, out_c);
      g_autofree float *all = g_new (float, n * op);
      g_autofree float *one = g_new (float, op);
      fill (rng, x, n * ip, -1, 1);
      fill (rng, wt, (size_t) out_c * in_c * 9, -0.5, 0.5);
      fill (rng, b, out_c, -0.5, 0.5);
      DaeConvArgs a = { .n = n, .in_c = in_c, .out_c = out_c, .h = h, .w = w,
                        .weight = wt, .bias = b, .act = DAE_ACT_SIGMOID };
      kernel_of (k, kind) (&a, x, all);
      a.n = 1;
      for (guint t = 0; t < n; t++)
        {
          kernel_of (k, kind) (&a, x + t * ip, one);
          g_assert_cmpmem (one, op * sizeof (float), all + t * op, op * sizeof (float));
        }
    }
}

/* Backward: dweight, dbias and din against the reference, same tolerance
 * (S from the reference on |in|, |dz|, |weights|). */
static void
check_backward (const DaeKernels *k, size_t n, guint in_c, guint out_c, guint h,
                guint w, gboolean want_din, GRand *rng)
{
  const size_t in_f = n * in_c * h * w, out_f = n * out_c * h * w;
  const size_t nw = (size_t) out_c * in_c * 9;
  g_autofree float *x = g_new (float, in_f);
  g_autofree float *dz = g_new (float, out_f);
  g_autofree float *wt = g_new (float, nw);
  g_autofree float *b = g_new0 (float, out_c);
  float *res[2][3], *scale[3];
  const size_t sizes[3] = { nw, out_c, in_f };
  for (int r = 0; r < 3; r++)
    {
      res[0][r] = g_new (float, sizes[r]);
      res[1][r] = g_new (float, sizes[r]);
      scale[r] = g_new (float, sizes[r]);
      for (size_t i = 0; i < sizes[r]; i++)
        res[1][r][i] = NAN;
    }
  fill (rng, x, in_f, -1.0, 1.0);
  fill (rng, dz, out_f, -1.0, 1.0);
  fill (rng, wt, nw, -0.6, 0.6);
  DaeConvArgs a = { .n = n, .in_c = in_c, .out_c = out_c, .h = h, .w = w,
                    .weight = wt, .bias = b, .act = DAE_ACT_RELU };
  dae_conv3x3_backward_ref (&a, x, dz, res[0][0], res[0][1], want_din ? res[0][2] : NULL);
  k->conv3x3_backward (&a, x, dz, res[1][0], res[1][1], want_din ? res[1][2] : NULL);
  abs_all (x, in_f);
  abs_all (dz, out_f);
  abs_all (wt, nw);
  dae_conv3x3_backward_ref (&a, x, dz, scale[0], scale[1], scale[2]);
  static const char *const what[3] = { "dweight", "dbias", "din" };
  for (int r = 0; r < (want_din ? 3 : 2); r++)
    for (size_t i = 0; i < sizes[r]; i++)
      {
        const double tol = 1e-5 * MAX (1.0, scale[r][i]);
        if (!(fabs ((double) res[1][r][i] - res[0][r][i]) <= tol))
          g_error ("%s conv3x3_backward n=%zu in_c=%u out_c=%u h=%u w=%u: %s[%zu] is "
                   "%.9g, reference %.9g (tolerance %.3g)", k->name, n, in_c, out_c, h,
                   w, what[r], i, res[1][r][i], res[0][r][i], tol);
      }
  for (int r = 0; r < 3; r++)
    {
      g_free (res[0][r]);
      g_free (res[1][r]);
      g_free (scale[r]);
    }
}

static void
test_backward (gconstpointer data)
{
  const DaeKernels *k = kernels_or_skip (data);
  if (k == NULL)
    return;
  g_autoptr (GRand) rng = g_rand_new_with_seed (4);
  const guint heights[] = { 1, 3, 8 };
  for (guint w = 1; w <= 40; w++)
    for (guint hi = 0; hi < G_N_ELEMENTS (heights); hi++)
      check_backward (k, 1 + (w + hi) % 3, 3, 5, heights[hi], w, (w + hi) % 2, rng);
  const guint chans[] = { 1, 3, 8, 32 };
  for (guint ci = 0; ci < G_N_ELEMENTS (chans); ci++)
    for (guint co = 0; co < G_N_ELEMENTS (chans); co++)
      check_backward (k, 1 + (ci + co) % 4, chans[ci], chans[co], 7 + ci, 9 + co, TRUE, rng);
  check_backward (k, 4, 1, 32, 28, 28, FALSE, rng);
  check_backward (k, 3, 32, 32, 14, 14, TRUE, rng);
  check_backward (k, 3, 32, 1, 28, 28, TRUE, rng);
}

/* The max-pool backward variants select, never add: the same bits as the
 * reference, for every size (odd edges, widths around 8 and 16 windows),
 * ties (quantised inputs) and negative windows (the ReLU variant drops
 * them). */
static void
test_pool_backward (gconstpointer data)
{
  const DaeKernels *k = kernels_or_skip (data);
  if (k == NULL)
    return;
  g_autoptr (GRand) rng = g_rand_new_with_seed (5);
  for (guint w = 1; w <= 40; w++)
    for (guint h = 1; h <= 6; h++)
      for (int relu = 0; relu < 2; relu++)
        {
          const size_t n = 1 + (w + h) % 3, c = 1 + w % 4;
          const size_t in_f = n * c * h * w, out_f = n * c * ((h + 1) / 2) * ((w + 1) / 2);
          g_autofree float *x = g_new (float, in_f), *g = g_new (float, out_f);
          g_autofree float *got = g_new (float, in_f), *want = g_new (float, in_f);
          for (size_t i = 0; i < in_f; i++) /* ties and zeros happen */
            x[i] = (float) g_rand_int_range (rng, -3, 5) * 0.25f;
          fill (rng, g, out_f, -1, 1);
          /* Poison: every element must be written. */
          for (size_t i = 0; i < in_f; i++)
            got[i] = want[i] = NAN;
          (relu ? dae_maxpool2_backward_relu_ref : dae_maxpool2_backward_ref) (n, c, h, w, x, g,
                                                                              want);
          (relu ? k->maxpool2_backward_relu : k->maxpool2_backward) (n, c, h, w, x, g, got);
          if (memcmp (got, want, in_f * sizeof (float)) != 0)
            g_error ("%s maxpool2_backward%s n=%zu c=%zu h=%u w=%u differs from the reference",
                     k->name, relu ? "_relu" : "", n, c, h, w);
        }
}

/* Max-pool and upsample forward, upsample backward (plain and with the
 * ReLU folded in): the same bits as the references at every size, since
 * the variants take maxima and add in the references' order. */
static void
test_resample (gconstpointer data)
{
  const DaeKernels *k = kernels_or_skip (data);
  if (k == NULL)
    return;
  g_autoptr (GRand) rng = g_rand_new_with_seed (6);
  for (guint w = 1; w <= 40; w++)
    for (guint h = 1; h <= 5; h++)
      {
        const size_t n = 1 + (w + h) % 3, c = 1 + w % 4, plane = (size_t) h * w;
        const size_t pooled = n * c * ((h + 1) / 2) * ((w + 1) / 2), big = 4 * n * c * plane;
        g_autofree float *x = g_new (float, n * c * plane), *g = g_new (float, big);
        g_autofree float *got = g_new (float, big), *want = g_new (float, big);
        for (size_t i = 0; i < n * c * plane; i++) /* ties, zeros of both signs */
          x[i] = (float) g_rand_int_range (rng, -3, 5) * 0.25f * (g_rand_boolean (rng) ? 1 : -1);
        fill (rng, g, big, -1, 1);
        struct { const char *name; size_t count; } step[] = {
          { "maxpool2", pooled }, { "upsample2", big },
          { "upsample2_backward", n * c * plane }, { "upsample2_backward_relu", n * c * plane },
        };
        for (guint s = 0; s < G_N_ELEMENTS (step); s++)
          {
            for (size_t i = 0; i < step[s].count; i++)
              got[i] = want[i] = NAN;
            switch (s)
              {
              case 0:
                dae_maxpool2_ref (n, c, h, w, x, want);
                k->maxpool2 (n, c, h, w, x, got);
                break;
              case 1:
                dae_upsample2_ref (n, c, h, w, x, want);
                k->upsample2 (n, c, h, w, x, got);
                break;
              case 2:
                dae_upsample2_backward_ref (n, c, h, w, g, want);
                k->upsample2_backward (n, c, h, w, g, got);
                break;
              default:
                dae_upsample2_backward_relu_ref (n, c, h, w, x, g, want);
                k->upsample2_backward_relu (n, c, h, w, x, g, got);
                break;
              }
            if (memcmp (got, want, step[s].count * sizeof (float)) != 0)
              g_error ("%s %s n=%zu c=%zu h=%u w=%u differs from the reference", k->name,
                       step[s].name, n, c, h, w);
          }
      }
}

/* A skip connection's sum: the reference's bits, signed zeros and NaN
 * through its ReLU included, for every length around the vector width. */
static void
test_add (gconstpointer data)
{
  const DaeKernels *k = kernels_or_skip (data);
  if (k == NULL)
    return;
  g_autoptr (GRand) rng = g_rand_new_with_seed (8);
  const DaeActivation acts[] = { DAE_ACT_NONE, DAE_ACT_RELU, DAE_ACT_SIGMOID };
  for (size_t count = 0; count <= 40; count++)
    for (guint ai = 0; ai < G_N_ELEMENTS (acts); ai++)
      {
        float a[41], b[41], got[41], want[41];
        for (size_t i = 0; i < count; i++)
          {
            const guint r = g_rand_int_range (rng, 0, 8);
            a[i] = r == 0 ? -0.0f : r == 1 ? NAN : (float) g_rand_double_range (rng, -1, 1);
            b[i] = r == 0 ? -0.0f : (float) g_rand_double_range (rng, -1, 1);
          }
        for (size_t i = 0; i <= count; i++)
          got[i] = want[i] = 7.0f; /* and one past: must stay */
        dae_add_ref (count, a, b, acts[ai], want);
        k->add (count, a, b, acts[ai], got);
        if (memcmp (got, want, (count + 1) * sizeof (float)) != 0)
          g_error ("%s add count=%zu act=%d differs from the reference", k->name, count,
                   acts[ai]);
      }
}

/* The Wiener filter's band (wiener.c): the variant's blocks against the
 * reference's, widths 8 to 300, blocks at every column and at every second
 * (odd widths add one at n - 8), with and without noise; the sums run in
 * another order: within 2e-5 of the band's largest value. */
static void
test_wiener (gconstpointer data)
{
  const DaeKernels *k = kernels_or_skip (data);
  if (k == NULL)
    return;
  g_autoptr (GRand) rng = g_rand_new_with_seed (11);
  float dct[64];
  for (guint i = 0; i < 8; i++)
    for (guint m = 0; m < 8; m++)
      dct[i * 8 + m] = (float) ((i == 0 ? sqrt (1.0 / 8) : sqrt (2.0 / 8))
                                * cos (G_PI * (2 * m + 1) * i / 16.0));
  const size_t widths[] = { 8, 9, 10, 17, 63, 64, 65, 130, 131, 300 };
  const float s2s[] = { 0.0f, 0.002f, 0.05f };
  for (guint step = 1; step <= 2; step++)
  for (guint wi = 0; wi < G_N_ELEMENTS (widths); wi++)
    for (guint si = 0; si < G_N_ELEMENTS (s2s); si++)
      {
        const size_t n = widths[wi];
        g_autofree float *in = g_new (float, 16 * n);
        g_autofree float *want = g_new (float, 9 * n), *got = g_new (float, 9 * n);
        const float *noisy[8], *pilot[8];
        for (size_t i = 0; i < 8 * n; i++)
          {
            in[8 * n + i] = (float) g_rand_double_range (rng, 0, 1);
            in[i] = in[8 * n + i] + (float) g_rand_double_range (rng, -0.2, 0.2);
          }
        for (guint i = 0; i < 8; i++)
          noisy[i] = in + i * n, pilot[i] = in + (8 + i) * n;
        for (size_t i = 0; i < 9 * n; i++)
          want[i] = got[i] = NAN; /* overwritten, every value */
        dae_wiener_band_ref (n, step, dct, noisy, pilot, s2s[si], want, want + 8 * n);
        k->wiener_band (n, step, dct, noisy, pilot, s2s[si], got, got + 8 * n);
        float scale = 0, err = 0;
        for (size_t i = 0; i < 9 * n; i++)
          {
            scale = MAX (scale, fabsf (want[i]));
            err = isfinite (got[i]) ? MAX (err, fabsf (got[i] - want[i])) : INFINITY;
          }
        if (!(err <= 2e-5f * scale))
          g_error ("%s wiener_band n=%zu step %u s2=%g: off by %g of %g", k->name, n, step,
                   s2s[si], err, scale);
      }
}

/* The U-Net decoder step (upsample, concat, conv3x3) fused: the
 * variants sum the upsampled channels at the small size, adding the
 * weights that meet the same sample first (and the full-size ones by
 * Winograd in the second form), so they give the reference's result within
 * check_shape's tolerance, and each tile's bits whatever the batch.
 * Widths around the vector width, ragged channel splits; the reference's
 * fused form against its parts, bit for bit. */
static void
check_upcat (const DaeKernels *k, size_t n, guint up_c, guint skip_c, guint out_c, guint h,
             guint w, GRand *rng)
{
  const guint in_c = up_c + skip_c;
  const size_t plane = (size_t) h * w, up_f = n * up_c * plane / 4;
  const size_t skip_f = n * skip_c * plane, out_f = n * out_c * plane;
  g_autofree float *up = g_new (float, up_f), *skip = g_new (float, skip_f);
  g_autofree float *cat = g_new (float, n * in_c * plane), *big = g_new (float, up_c * plane);
  g_autofree float *wt = g_new (float, (size_t) out_c * in_c * 9), *b = g_new (float, out_c);
  g_autofree float *got = g_new (float, out_f), *want = g_new (float, out_f);
  fill (rng, up, up_f, -1, 1);
  fill (rng, skip, skip_f, -1, 1);
  fill (rng, wt, (size_t) out_c * in_c * 9, -0.6, 0.6);
  fill (rng, b, out_c, -0.3, 0.3);
  for (size_t t = 0; t < n; t++)
    {
      dae_upsample2_ref (1, up_c, h / 2, w / 2, up + t * up_c * plane / 4, big);
      memcpy (cat + t * in_c * plane, big, up_c * plane * sizeof (float));
      memcpy (cat + (t * in_c + up_c) * plane, skip + t * skip_c * plane,
              skip_c * plane * sizeof (float));
    }
  DaeConvArgs a = { .n = n, .in_c = in_c, .out_c = out_c, .h = h, .w = w,
                    .weight = wt, .bias = b, .act = DAE_ACT_RELU };
  const DaeKernels *kernels[] = { dae__kernels_for (DAE__ISA_REF), k };
  g_autofree float *ref = g_new (float, out_f);
  for (guint v = 0; v < G_N_ELEMENTS (kernels); v++)
    {
      for (size_t i = 0; i < out_f; i++)
        got[i] = want[i] = NAN;
      kernels[v]->conv3x3 (&a, cat, want);
      kernels[v]->upsample2_concat_conv3x3 (&a, up_c, up, skip, got);
      if (v == 0)
        memcpy (ref, got, out_f * sizeof (float));
      if (v == 0 && memcmp (got, want, out_f * sizeof (float)) != 0)
        g_error ("%s upsample2_concat_conv3x3 n=%zu up_c=%u skip_c=%u out_c=%u h=%u w=%u "
                 "differs from its layers run apart", kernels[v]->name, n, up_c, skip_c,
                 out_c, h, w);
    }
  /* The fused forms (the variant's, with direct or Winograd sums, and the
   * reference's Winograd form): each tile alone gives its bits, and each
   * output lies within the tolerance of the reference's, taken from the
   * same step on magnitudes. */
  const DaeUpConcatConvFn fns[] = { k->upsample2_concat_conv3x3,
                                    k->upsample2_concat_conv3x3_winograd,
                                    dae_upsample2_concat_conv3x3_winograd_ref };
  const char *const names[] = { "upsample2_concat_conv3x3", "upsample2_concat_conv3x3_winograd",
                                "the reference's Winograd form" };
  g_autofree float *outs = g_new (float, 3 * out_f), *one = g_new (float, out_c * plane);
  const size_t t = n - 1;
  DaeConvArgs a1 = a;
  a1.n = 1;
  for (guint f = 0; f < G_N_ELEMENTS (fns); f++)
    {
      fns[f] (&a, up_c, up, skip, outs + f * out_f);
      fns[f] (&a1, up_c, up + t * up_c * plane / 4, skip + t * skip_c * plane, one);
      if (memcmp (one, outs + f * out_f + t * out_c * plane, out_c * plane * sizeof (float)))
        g_error ("%s %s n=%zu up_c=%u skip_c=%u h=%u w=%u: tile %zu alone differs", k->name,
                 names[f], n, up_c, skip_c, h, w, t);
    }
  g_autofree float *scale = g_new (float, out_f);
  abs_all (up, up_f);
  abs_all (skip, skip_f);
  abs_all (wt, (size_t) out_c * in_c * 9);
  abs_all (b, out_c);
  a.act = DAE_ACT_NONE;
  dae_upsample2_concat_conv3x3_ref (&a, up_c, up, skip, scale);
  for (guint f = 0; f < G_N_ELEMENTS (fns); f++)
    for (size_t i = 0; i < out_f; i++)
      {
        const double tol = 1e-5 * MAX (1.0, scale[i]), o = outs[f * out_f + i];
        if (!(fabs (o - ref[i]) <= tol))
          g_error ("%s %s n=%zu up_c=%u skip_c=%u out_c=%u h=%u w=%u: output %zu is %.9g, "
                   "reference %.9g (tolerance %.3g)", k->name, names[f], n, up_c, skip_c,
                   out_c, h, w, i, o, ref[i], tol);
      }
}

static void
test_upcat (gconstpointer data)
{
  const DaeKernels *k = kernels_or_skip (data);
  if (k == NULL)
    return;
  g_autoptr (GRand) rng = g_rand_new_with_seed (7);
  for (guint w = 2; w <= 36; w += 2)
    check_upcat (k, 1 + w % 3, 1 + w % 4, 1 + w % 3, w % 3 == 0 ? 1 : 2 + w % 5, 2 + w % 6, w,
                 rng);
  check_upcat (k, 3, 32, 24, 1, 28, 28, rng); /* the document model's last layer */
  check_upcat (k, 2, 32, 24, 16, 28, 28, rng); /* the photo model's */
  check_upcat (k, 2, 9, 7, 33, 14, 14, rng);
  check_upcat (k, 3, 64, 48, 48, 64, 64, rng); /* the photo model's at half size */
}

/* Winograd F(2x2, 3x3): the reference within tolerance of the direct
 * convolution (check_shape's rule); the variant with the reference's bits
 * (ReLU and none; the sigmoid's exp differs by an ulp or so), its max-pool
 * with the bits of dae_maxpool2_ref over its own output, whether or not
 * that output is written, and each tile's bits whatever the batch. */
static void
check_winograd (const DaeKernels *k, size_t n, guint in_c, guint out_c, guint h, guint w,
                DaeActivation act, GRand *rng)
{
  const size_t plane = (size_t) h * w, oplane = (size_t) ((h + 1) / 2) * ((w + 1) / 2);
  const size_t in_f = n * in_c * plane, out_f = n * out_c * plane, pool_f = n * out_c * oplane;
  const size_t wf = (size_t) out_c * in_c * 9;
  g_autofree float *x = g_new (float, in_f), *wt = g_new (float, wf), *b = g_new (float, out_c);
  g_autofree float *direct = g_new (float, out_f), *scale = g_new (float, out_f);
  g_autofree float *ref = g_new (float, out_f), *got = g_new (float, out_f);
  g_autofree float *pool_want = g_new (float, pool_f), *pool_got = g_new (float, pool_f);
  g_autofree float *one = g_new (float, out_c * plane);
  fill (rng, x, in_f, -1.0, 1.0);
  fill (rng, wt, wf, -0.6, 0.6);
  fill (rng, b, out_c, -0.3, 0.3);
  DaeConvArgs a = { .n = n, .in_c = in_c, .out_c = out_c, .h = h, .w = w,
                    .weight = wt, .bias = b, .act = act };
  for (size_t i = 0; i < out_f; i++)
    got[i] = ref[i] = NAN;
  dae_conv3x3_ref (&a, x, direct);
  dae_conv3x3_winograd_ref (&a, x, ref, NULL);
  k->conv3x3_winograd (&a, x, got, NULL);
  {
    g_autofree float *ax = g_memdup2 (x, in_f * sizeof (float));
    g_autofree float *aw = g_memdup2 (wt, wf * sizeof (float));
    g_autofree float *ab = g_memdup2 (b, out_c * sizeof (float));
    abs_all (ax, in_f);
    abs_all (aw, wf);
    abs_all (ab, out_c);
    DaeConvArgs s = a;
    s.weight = aw;
    s.bias = ab;
    s.act = DAE_ACT_NONE;
    dae_conv3x3_ref (&s, ax, scale);
  }
  for (size_t i = 0; i < out_f; i++)
    {
      const double tol = 1e-5 * MAX (1.0, scale[i]);
      if (!(fabs ((double) ref[i] - direct[i]) <= tol))
        g_error ("winograd ref n=%zu in_c=%u out_c=%u h=%u w=%u act=%d: output %zu is %.9g, "
                 "direct %.9g (tolerance %.3g)", n, in_c, out_c, h, w, act, i, ref[i],
                 direct[i], tol);
      const gboolean same = act == DAE_ACT_SIGMOID ? fabsf (got[i] - ref[i]) <= 1e-6f
                                                   : memcmp (&got[i], &ref[i], 4) == 0;
      if (!same)
        g_error ("%s winograd n=%zu in_c=%u out_c=%u h=%u w=%u act=%d: output %zu is %.9g, "
                 "reference %.9g", k->name, n, in_c, out_c, h, w, act, i, got[i], ref[i]);
    }
  dae_maxpool2_ref (n, out_c, h, w, got, pool_want);
  for (int with_out = 0; with_out < 2; with_out++)
    {
      for (size_t i = 0; i < pool_f; i++)
        pool_got[i] = NAN;
      g_autofree float *again = with_out ? g_new (float, out_f) : NULL;
      k->conv3x3_winograd (&a, x, again, pool_got);
      if (memcmp (pool_got, pool_want, pool_f * sizeof (float)) != 0
          || (again && memcmp (again, got, out_f * sizeof (float)) != 0))
        g_error ("%s winograd n=%zu in_c=%u out_c=%u h=%u w=%u: max-pool (output %s) "
                 "differs", k->name, n, in_c, out_c, h, w, with_out ? "too" : "not made");
    }
  const size_t t = n / 2;
  DaeConvArgs a1 = a;
  a1.n = 1;
  k->conv3x3_winograd (&a1, x + t * in_c * plane, one, NULL);
  if (memcmp (one, got + t * out_c * plane, out_c * plane * sizeof (float)) != 0)
    g_error ("%s winograd n=%zu in_c=%u out_c=%u h=%u w=%u: tile %zu alone differs",
             k->name, n, in_c, out_c, h, w, t);
}

static void
test_winograd (gconstpointer data)
{
  const DaeKernels *k = kernels_or_skip (data);
  if (k == NULL)
    return;
  g_autoptr (GRand) rng = g_rand_new_with_seed (8);
  const guint heights[] = { 1, 2, 3, 6, 7 };
  for (guint w = 1; w <= 40; w++)
    check_winograd (k, 1 + w % 4, 1 + w % 9, 1 + w % 7, heights[w % 5], w,
                    (DaeActivation) (w % 3), rng);
  const guint chans[] = { 1, 3, 8, 9, 33 };
  guint step = 0;
  for (guint ci = 0; ci < G_N_ELEMENTS (chans); ci++)
    for (guint co = 0; co < G_N_ELEMENTS (chans); co++, step++)
      check_winograd (k, 1 + step % 5, chans[ci], chans[co], 5 + step % 10, 13 - step % 7,
                      (DaeActivation) (step % 3), rng);
  /* The shipped networks' layers, at their tile size, and a batch larger
   * than one group of images. */
  check_winograd (k, 3, 24, 32, 14, 14, DAE_ACT_RELU, rng);
  check_winograd (k, 5, 32, 48, 7, 7, DAE_ACT_RELU, rng);
  check_winograd (k, 4, 32, 32, 14, 14, DAE_ACT_RELU, rng);
  check_winograd (k, 17, 8, 16, 28, 28, DAE_ACT_RELU, rng);
  check_winograd (k, 2, 16, 16, 28, 28, DAE_ACT_NONE, rng);
}

/* The per-thread cache of packed weights: layers run in turn, again, after
 * one layer's weights change in place, and among more layers than the cache
 * holds, must give the bits the same layer gives in a new thread (an empty
 * cache).  A stale or mismatched entry would show as other bits. */
#define CACHE_LAYERS 20

typedef struct {
  const DaeKernels *k;
  DaeConvArgs a;
  int kind; /* 0 conv3x3, 1 upsample2_conv3x3, 2 winograd */
  const float *x;
  float *out;
} CacheLayer;

static void
cache_layer_run (CacheLayer *l)
{
  if (l->kind == 2)
    l->k->conv3x3_winograd (&l->a, l->x, l->out, NULL);
  else
    kernel_of (l->k, l->kind == 0 ? KIND_CONV : KIND_UP_CONV) (&l->a, l->x, l->out);
}

static gpointer
cache_layer_cold (gpointer data)
{
  cache_layer_run (data);
  return NULL;
}

static void
check_cache_layer (CacheLayer *l, int round)
{
  const size_t out_f = (size_t) (l->kind == 1 ? 4 : 1) * l->a.out_c * l->a.h * l->a.w;
  g_autofree float *cold = g_new (float, out_f);
  float *warm = l->out;
  l->out = cold;
  g_thread_join (g_thread_new ("cold", cache_layer_cold, l));
  l->out = warm;
  if (memcmp (cold, warm, out_f * sizeof (float)) != 0)
    g_error ("%s packed-weight cache, round %d: a layer (kind %d, %u -> %u) differs "
             "from the same layer in a new thread", l->k->name, round, l->kind,
             l->a.in_c, l->a.out_c);
}

static void
test_pack_cache (gconstpointer data)
{
  const DaeKernels *k = kernels_or_skip (data);
  if (k == NULL)
    return;
  g_autoptr (GRand) rng = g_rand_new_with_seed (9);
  const guint h = 6, w = 10, c = 9;
  CacheLayer l[CACHE_LAYERS];
  g_autofree float *x = g_new (float, (size_t) c * h * w);
  fill (rng, x, (size_t) c * h * w, -1.0, 1.0);
  for (int i = 0; i < CACHE_LAYERS; i++)
    {
      /* Same shapes for many layers, so only the weights tell them apart. */
      const guint out_c = i % 2 ? c : 8;
      float *wt = g_new (float, (size_t) out_c * c * 9), *b = g_new (float, out_c);
      fill (rng, wt, (size_t) out_c * c * 9, -0.6, 0.6);
      fill (rng, b, out_c, -0.3, 0.3);
      l[i] = (CacheLayer) { k, { .n = 1, .in_c = c, .out_c = out_c, .h = h, .w = w,
                                 .weight = wt, .bias = b, .act = DAE_ACT_RELU },
                            i % 3, x, g_new (float, (size_t) 4 * out_c * h * w) };
    }
  /* Layer 8 (Winograd) reads layer 0's (direct) weights: the same pointer
   * and bits, packed another way. */
  g_free ((float *) l[8].a.weight);
  l[8].a.weight = l[0].a.weight;
  /* 10 layers (a 10-layer net: hits from round 1), then all 20 (more
   * than the cache holds), then 10 again. */
  const int layers[] = { 10, 10, 10, CACHE_LAYERS, 10 };
  for (int round = 0; round < (int) G_N_ELEMENTS (layers); round++)
    {
      if (round == 2)
        ((float *) l[4].a.weight)[5] += 0.25f; /* changed in place, as training does */
      for (int i = 0; i < layers[round]; i++)
        cache_layer_run (&l[i]);
      for (int i = 0; i < layers[round]; i++)
        check_cache_layer (&l[i], round);
    }
  for (int i = 0; i < CACHE_LAYERS; i++)
    {
      if (i != 8)
        g_free ((float *) l[i].a.weight);
      g_free ((float *) l[i].a.bias);
      g_free (l[i].out);
    }
}

/* DAE_ISA is read once per process, so each case runs in a child. */
static DaeIsa
best_isa (void)
{
  DaeIsa best = DAE__ISA_REF;
  for (int i = 0; i < DAE__N_ISA; i++)
    if (dae__kernels_for (i) != NULL)
      best = i;
  return best;
}

static void
test_isa_env (void)
{
  if (g_test_subprocess ())
    {
      const char *want = g_getenv ("DAE_TEST_ISA");
      g_setenv ("DAE_ISA", want, TRUE);
      const DaeKernels *best = dae__kernels_for (best_isa ());
      const char *note = dae_kernels_get_note ();
      if (g_str_equal (want, "bogus"))
        {
          g_assert_cmpstr (dae_kernels_describe (), ==, best->name);
          g_assert_nonnull (note);
          g_assert_nonnull (strstr (note, "bogus"));
        }
      else if (g_str_equal (want, "ref"))
        {
          g_assert_cmpstr (dae_kernels_describe (), ==, "ref");
          g_assert_null (note);
          g_assert_true (dae__kernels ()->conv3x3 == dae_conv3x3_ref);
        }
      else
        {
          const gboolean has = dae__kernels_for (DAE__ISA_AVX512) != NULL;
          g_assert_cmpstr (dae_kernels_describe (), ==, has ? "avx512" : best->name);
          g_assert_true (has == (note == NULL));
        }
      return;
    }
  const char *cases[] = { "bogus", "ref", "avx512" };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_setenv ("DAE_TEST_ISA", cases[i], TRUE);
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Whatever the environment says, the children set DAE_ISA themselves. */
  g_unsetenv ("DAE_ISA");
  const int isas[] = {
    DAE__ISA_AVX2, DAE__ISA_AVX512,
#ifdef DAE_TEST_HAVE_EMU16
    EMU16,
#endif
  };
  for (guint i = 0; i < G_N_ELEMENTS (isas); i++)
    {
      const int isa = isas[i];
      const char *name = isa == DAE__ISA_AVX2 ? "avx2" : isa == EMU16 ? "emu16" : "avx512";
      gconstpointer d = GINT_TO_POINTER (isa);
      g_autofree char *p1 = g_strdup_printf ("/kernels/%s/widths", name);
      g_autofree char *p2 = g_strdup_printf ("/kernels/%s/channels", name);
      g_autofree char *p3 = g_strdup_printf ("/kernels/%s/sigmoid-range", name);
      g_autofree char *p4 = g_strdup_printf ("/kernels/%s/batch-invariance", name);
      g_test_add_data_func (p1, d, test_widths);
      g_test_add_data_func (p2, d, test_channels);
      g_test_add_data_func (p3, d, test_sigmoid_range);
      g_test_add_data_func (p4, d, test_batch_invariance);
      g_autofree char *p5 = g_strdup_printf ("/kernels/%s/backward", name);
      g_test_add_data_func (p5, d, test_backward);
      g_autofree char *p6 = g_strdup_printf ("/kernels/%s/pool-backward", name);
      g_test_add_data_func (p6, d, test_pool_backward);
      g_autofree char *p7 = g_strdup_printf ("/kernels/%s/resample", name);
      g_test_add_data_func (p7, d, test_resample);
      g_autofree char *p8 = g_strdup_printf ("/kernels/%s/upsample-concat-conv", name);
      g_test_add_data_func (p8, d, test_upcat);
      g_autofree char *p9 = g_strdup_printf ("/kernels/%s/add", name);
      g_test_add_data_func (p9, d, test_add);
      g_autofree char *p10 = g_strdup_printf ("/kernels/%s/winograd", name);
      g_test_add_data_func (p10, d, test_winograd);
      g_autofree char *p11 = g_strdup_printf ("/kernels/%s/pack-cache", name);
      g_test_add_data_func (p11, d, test_pack_cache);
      g_autofree char *p12 = g_strdup_printf ("/kernels/%s/wiener", name);
      g_test_add_data_func (p12, d, test_wiener);
    }
  g_test_add_func ("/kernels/isa-env", test_isa_env);
  return g_test_run ();
}
