/* test-train.c: the training engine.
 *
 * Every layer's backward pass against finite differences of a float64
 * forward written here from the layers' definitions (so the differences
 * are exact to ~1e-9 and the tolerance can be tight); the whole network's
 * gradients the same way; gradients, losses and Adam steps against PyTorch
 * (tests/data/ref, written by tools/make-reference); thread-count
 * independence; noise models, architecture texts and initialisation. */
#include "dae.h"
#include "dae-private.h"
#include "kernels/kernels.h"
#include "dispatch.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* ---- float64 definitions ------------------------------------------------ */

static double
act_d (DaeActivation a, double v)
{
  if (a == DAE_ACT_RELU)
    return v > 0 ? v : 0;
  if (a == DAE_ACT_SIGMOID)
    return 1.0 / (1.0 + exp (-v));
  return v;
}

static void
conv3x3_d (size_t n, guint ic_n, guint oc_n, guint h, guint w, const double *wt,
           const double *b, DaeActivation a, const double *x, double *y)
{
  for (size_t t = 0; t < n; t++)
    for (guint oc = 0; oc < oc_n; oc++)
      for (int yy = 0; yy < (int) h; yy++)
        for (int xx = 0; xx < (int) w; xx++)
          {
            double s = b[oc];
            for (guint ic = 0; ic < ic_n; ic++)
              for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                  {
                    int sy = yy + ky - 1, sx = xx + kx - 1;
                    if (sy < 0 || sx < 0 || sy >= (int) h || sx >= (int) w)
                      continue;
                    s += wt[((oc * ic_n + ic) * 3 + ky) * 3 + kx]
                         * x[((t * ic_n + ic) * h + sy) * w + sx];
                  }
            y[((t * oc_n + oc) * h + yy) * w + xx] = act_d (a, s);
          }
}

static void
convt2x2_d (size_t n, guint ic_n, guint oc_n, guint h, guint w, const double *wt,
            const double *b, DaeActivation a, const double *x, double *y)
{
  const guint oh = 2 * h, ow = 2 * w;
  for (size_t t = 0; t < n; t++)
    for (guint oc = 0; oc < oc_n; oc++)
      for (guint yy = 0; yy < oh; yy++)
        for (guint xx = 0; xx < ow; xx++)
          {
            double s = b[oc];
            for (guint ic = 0; ic < ic_n; ic++)
              s += x[((t * ic_n + ic) * h + yy / 2) * w + xx / 2]
                   * wt[((ic * oc_n + oc) * 2 + yy % 2) * 2 + xx % 2];
            y[((t * oc_n + oc) * oh + yy) * ow + xx] = act_d (a, s);
          }
}

static void
maxpool2_d (size_t n, guint c, guint h, guint w, const double *x, double *y)
{
  const guint oh = (h + 1) / 2, ow = (w + 1) / 2;
  for (size_t p = 0; p < n * c; p++)
    for (guint yy = 0; yy < oh; yy++)
      for (guint xx = 0; xx < ow; xx++)
        {
          double m = -INFINITY;
          for (guint dy = 0; dy < 2; dy++)
            for (guint dx = 0; dx < 2; dx++)
              if (2 * yy + dy < h && 2 * xx + dx < w)
                m = MAX (m, x[(p * h + 2 * yy + dy) * w + 2 * xx + dx]);
          y[(p * oh + yy) * ow + xx] = m;
        }
}

static void
upsample2_d (size_t n, guint c, guint h, guint w, const double *x, double *y)
{
  for (size_t p = 0; p < n * c; p++)
    for (guint yy = 0; yy < 2 * h; yy++)
      for (guint xx = 0; xx < 2 * w; xx++)
        y[(p * 2 * h + yy) * 2 * w + xx] = x[(p * h + yy / 2) * w + xx / 2];
}

/* ---- helpers ------------------------------------------------------------- */

static void
fill (GRand *rng, float *x, size_t n, double lo, double hi)
{
  for (size_t i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (rng, lo, hi);
}

static double *
to_double (const float *x, size_t n)
{
  double *d = g_new (double, n);
  for (size_t i = 0; i < n; i++)
    d[i] = x[i];
  return d;
}

/* max |a - b| / max |b|: errors relative to the gradient's scale. */
static double
rel_err (const float *a, const double *b, size_t n)
{
  double e = 0, s = 1e-30;
  for (size_t i = 0; i < n; i++)
    {
      e = MAX (e, fabs (a[i] - b[i]));
      s = MAX (s, fabs (b[i]));
    }
  return e / s;
}

static double
rel_err_f (const float *a, const float *b, size_t n)
{
  double e = 0, s = 1e-30;
  for (size_t i = 0; i < n; i++)
    {
      e = MAX (e, fabs ((double) a[i] - b[i]));
      s = MAX (s, fabs ((double) b[i]));
    }
  return e / s;
}

/* A layer under test: y = f(x, params), double. */
typedef void (*LayerFn) (gpointer ctx, const double *x, const double *p, double *y);

/* Central differences of sum(r * f) with respect to every element of v
 * (the input or the parameters, both double). */
static void
finite_diff (LayerFn f, gpointer ctx, double *x, double *p, double *v, size_t nv,
             const double *r, size_t ny, double *out)
{
  const double h = 1e-6;
  double *y = g_new (double, ny);
  for (size_t i = 0; i < nv; i++)
    {
      const double keep = v[i];
      double s[2];
      for (int k = 0; k < 2; k++)
        {
          v[i] = keep + (k ? -h : h);
          f (ctx, x, p, y);
          s[k] = 0;
          for (size_t j = 0; j < ny; j++)
            s[k] += r[j] * y[j];
        }
      v[i] = keep;
      out[i] = (s[0] - s[1]) / (2 * h);
    }
  g_free (y);
}

/* ---- layer backward vs finite differences ------------------------------- */

typedef struct {
  DaeConvArgs a;
  gboolean transposed;
} ConvCtx;

static void
conv_fn (gpointer ctx, const double *x, const double *p, double *y)
{
  ConvCtx *c = ctx;
  const DaeConvArgs *a = &c->a;
  const size_t nw = (size_t) a->in_c * a->out_c * (c->transposed ? 4 : 9);
  if (c->transposed)
    convt2x2_d (a->n, a->in_c, a->out_c, a->h, a->w, p, p + nw, a->act, x, y);
  else
    conv3x3_d (a->n, a->in_c, a->out_c, a->h, a->w, p, p + nw, a->act, x, y);
}

/* Checks one convolution's backward (ref, and the GEMM path for conv3x3)
 * against finite differences for every input, weight and bias. */
static void
check_conv (GRand *rng, DaeConvArgs a, gboolean transposed)
{
  const guint oh = transposed ? 2 * a.h : a.h, ow = transposed ? 2 * a.w : a.w;
  const size_t nx = a.n * a.in_c * a.h * a.w, ny = a.n * a.out_c * oh * ow;
  const size_t nw = (size_t) a.in_c * a.out_c * (transposed ? 4 : 9), np = nw + a.out_c;
  float *x = g_new (float, nx), *p = g_new (float, np), *y = g_new (float, ny);
  float *r = g_new (float, ny), *dz = g_new (float, ny);
  fill (rng, x, nx, -1, 1);
  fill (rng, p, np, -0.6, 0.6);
  fill (rng, r, ny, -1, 1);
  a.weight = p;
  a.bias = p + nw;
  if (transposed)
    dae_convt2x2_ref (&a, x, y);
  else
    dae_conv3x3_ref (&a, x, y);
  memcpy (dz, r, ny * sizeof (float));
  dae_activation_backward_ref (ny, a.act, y, dz);

  g_autofree double *xd = to_double (x, nx), *pd = to_double (p, np), *rd = to_double (r, ny);
  g_autofree double *fdx = g_new (double, nx), *fdp = g_new (double, np);
  ConvCtx ctx = { a, transposed };
  finite_diff (conv_fn, &ctx, xd, pd, xd, nx, rd, ny, fdx);
  finite_diff (conv_fn, &ctx, xd, pd, pd, np, rd, ny, fdp);

  float *dx = g_new (float, nx), *dp = g_new (float, np);
  if (transposed)
    dae_convt2x2_backward_ref (&a, x, dz, dp, dp + nw, dx);
  else
    dae_conv3x3_backward_ref (&a, x, dz, dp, dp + nw, dx);
  const double ex = rel_err (dx, fdx, nx), ep = rel_err (dp, fdp, np);
  g_test_message ("%s %ux%u in %u out %u n %zu act %d: ref max rel err dx %.2g dparams %.2g",
                  transposed ? "convt2x2" : "conv3x3", a.h, a.w, a.in_c, a.out_c, a.n,
                  a.act, ex, ep);
  g_assert_cmpfloat (ex, <=, 1e-5);
  g_assert_cmpfloat (ep, <=, 1e-5);

  if (transposed)
    {
      float *scratch = g_new (float, dae_convt2x2_gemm_backward_scratch (&a));
      float *gx = g_new (float, nx), *gp = g_new (float, np);
      dae_convt2x2_gemm_backward (&a, x, dz, gp, gp + nw, gx, scratch);
      const double gex = rel_err (gx, fdx, nx), gep = rel_err (gp, fdp, np);
      g_test_message ("  gemm: max rel err dx %.2g dparams %.2g", gex, gep);
      g_assert_cmpfloat (gex, <=, 1e-5);
      g_assert_cmpfloat (gep, <=, 1e-5);
      g_free (scratch);
      g_free (gx);
      g_free (gp);
    }
  else
    {
      float *scratch = g_new (float, dae_conv3x3_gemm_backward_scratch (&a));
      float *gx = g_new (float, nx), *gp = g_new (float, np);
      dae_conv3x3_gemm_backward (&a, x, dz, gp, gp + nw, gx, scratch);
      const double gex = rel_err (gx, fdx, nx), gep = rel_err (gp, fdp, np);
      g_test_message ("  gemm: max rel err dx %.2g dparams %.2g", gex, gep);
      g_assert_cmpfloat (gex, <=, 1e-5);
      g_assert_cmpfloat (gep, <=, 1e-5);
      /* din may be skipped (the first layer) without changing dW. */
      float *gp2 = g_new (float, np);
      dae_conv3x3_gemm_backward (&a, x, dz, gp2, gp2 + nw, NULL, scratch);
      g_assert_cmpmem (gp2, np * sizeof (float), gp, np * sizeof (float));
      g_free (gp2);
      g_free (scratch);
      g_free (gx);
      g_free (gp);
    }
  g_free (x); g_free (p); g_free (y); g_free (r); g_free (dz); g_free (dx); g_free (dp);
}

static void
test_conv3x3_backward (void)
{
  GRand *rng = g_rand_new_with_seed (11);
  const guint sizes[][2] = { { 1, 1 }, { 1, 4 }, { 5, 1 }, { 3, 3 }, { 4, 7 }, { 6, 5 } };
  const guint chans[][2] = { { 1, 1 }, { 1, 4 }, { 3, 2 }, { 4, 1 } };
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (guint ci = 0; ci < G_N_ELEMENTS (chans); ci++)
      for (int ac = DAE_ACT_NONE; ac <= DAE_ACT_SIGMOID; ac++)
        check_conv (rng, (DaeConvArgs){ .n = 1 + (si + ci) % 3, .in_c = chans[ci][0],
                                        .out_c = chans[ci][1], .h = sizes[si][0],
                                        .w = sizes[si][1], .act = ac }, FALSE);
  g_rand_free (rng);
}

static void
test_convt2x2_backward (void)
{
  GRand *rng = g_rand_new_with_seed (12);
  const guint sizes[][2] = { { 1, 1 }, { 2, 3 }, { 3, 1 }, { 4, 4 } };
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (int ac = DAE_ACT_NONE; ac <= DAE_ACT_SIGMOID; ac++)
      check_conv (rng, (DaeConvArgs){ .n = 2, .in_c = 3, .out_c = 2, .h = sizes[si][0],
                                      .w = sizes[si][1], .act = ac }, TRUE);
  g_rand_free (rng);
}

typedef struct {
  guint c, h, w;
  size_t n;
} PlaneCtx;

static void
pool_fn (gpointer ctx, const double *x, const double *p, double *y)
{
  PlaneCtx *c = ctx;
  maxpool2_d (c->n, c->c, c->h, c->w, x, y);
}

static void
up_fn (gpointer ctx, const double *x, const double *p, double *y)
{
  PlaneCtx *c = ctx;
  upsample2_d (c->n, c->c, c->h, c->w, x, y);
}

static void
test_pool_upsample_backward (void)
{
  GRand *rng = g_rand_new_with_seed (13);
  const guint sizes[][2] = { { 1, 1 }, { 1, 4 }, { 3, 1 }, { 3, 3 }, { 5, 6 }, { 7, 7 } };
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (int up = 0; up < 2; up++)
      {
        PlaneCtx ctx = { 3, sizes[si][0], sizes[si][1], 2 };
        const guint oh = up ? 2 * ctx.h : (ctx.h + 1) / 2;
        const guint ow = up ? 2 * ctx.w : (ctx.w + 1) / 2;
        const size_t nx = ctx.n * ctx.c * ctx.h * ctx.w, ny = ctx.n * ctx.c * oh * ow;
        float *x = g_new (float, nx), *r = g_new (float, ny), *dx = g_new (float, nx);
        /* Distinct values: no ties, so the max is differentiable. */
        fill (rng, x, nx, -1, 1);
        fill (rng, r, ny, -1, 1);
        g_autofree double *xd = to_double (x, nx), *rd = to_double (r, ny);
        g_autofree double *fd = g_new (double, nx);
        finite_diff (up ? up_fn : pool_fn, &ctx, xd, NULL, xd, nx, rd, ny, fd);
        if (up)
          dae_upsample2_backward_ref (ctx.n, ctx.c, ctx.h, ctx.w, r, dx);
        else
          {
            /* dx starts as garbage: the kernel must overwrite it. */
            memset (dx, 0x7f, nx * sizeof (float));
            dae_maxpool2_backward_ref (ctx.n, ctx.c, ctx.h, ctx.w, x, r, dx);
          }
        const double e = rel_err (dx, fd, nx);
        g_test_message ("%s %ux%u: max rel err %.2g", up ? "upsample2" : "maxpool2", ctx.h,
                        ctx.w, e);
        g_assert_cmpfloat (e, <=, 1e-6);
        g_free (x);
        g_free (r);
        g_free (dx);
      }
  g_rand_free (rng);
}

/* After a ReLU: the same bytes as the max-pool's backward followed by the
 * ReLU's, windows of zeros included. */
static void
test_maxpool2_relu_backward (void)
{
  GRand *rng = g_rand_new_with_seed (15);
  const guint sizes[][2] = { { 1, 1 }, { 3, 5 }, { 6, 6 }, { 7, 4 } };
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    {
      const guint h = sizes[si][0], w = sizes[si][1], oh = (h + 1) / 2, ow = (w + 1) / 2;
      const size_t nx = 2 * 3 * h * w, ny = 2 * 3 * oh * ow;
      float *y = g_new (float, nx), *g = g_new (float, ny);
      float *a = g_new (float, nx), *b = g_new (float, nx);
      fill (rng, y, nx, -1, 1);
      for (size_t i = 0; i < nx; i++)
        y[i] = MAX (y[i], 0.0f); /* a ReLU's output: half zeros */
      fill (rng, g, ny, -1, 1);
      dae_maxpool2_backward_ref (2, 3, h, w, y, g, a);
      dae_activation_backward_ref (nx, DAE_ACT_RELU, y, a);
      dae_maxpool2_backward_relu_ref (2, 3, h, w, y, g, b);
      g_assert_cmpmem (a, nx * 4, b, nx * 4);
      g_free (y); g_free (g); g_free (a); g_free (b);
    }
  g_rand_free (rng);
}

/* Ties go to the first maximum in row-major order, as in PyTorch (its CPU
 * kernel takes a new maximum only when strictly greater). */
static void
test_maxpool2_ties (void)
{
  const float x[16] = { 1, 1, 0, 2,
                        1, 1, 2, 2,
                        0, 3, 5, 5,
                        3, 3, 5, 5 };
  const float g[4] = { 10, 20, 30, 40 };
  float d[16];
  dae_maxpool2_backward_ref (1, 1, 4, 4, x, g, d);
  const float want[16] = { 10, 0, 0, 20,
                           0, 0, 0, 0,
                           0, 30, 40, 0,
                           0, 0, 0, 0 };
  g_assert_cmpmem (d, sizeof d, want, sizeof want);
  /* Odd sizes: the edge windows of one row or column. */
  const float x3[9] = { 0, 0, 1, 0, 0, 1, 2, 2, 2 };
  const float g3[4] = { 1, 2, 3, 4 };
  float d3[9];
  dae_maxpool2_backward_ref (1, 1, 3, 3, x3, g3, d3);
  const float want3[9] = { 1, 0, 2, 0, 0, 0, 3, 0, 4 };
  g_assert_cmpmem (d3, sizeof d3, want3, sizeof want3);
}

static void
test_activation_backward (void)
{
  const float y[5] = { 0.0f, 0.5f, 2.0f, 0.25f, 1.0f };
  float d[5];
  for (int a = DAE_ACT_NONE; a <= DAE_ACT_SIGMOID; a++)
    {
      for (int i = 0; i < 5; i++)
        d[i] = (float) (i + 1);
      dae_activation_backward_ref (5, a, y, d);
      for (int i = 0; i < 5; i++)
        {
          double want = i + 1;
          if (a == DAE_ACT_RELU)
            want = y[i] > 0 ? want : 0; /* no gradient at exactly 0, as PyTorch */
          else if (a == DAE_ACT_SIGMOID)
            want *= (double) y[i] * (1 - y[i]);
          g_assert_cmpfloat_with_epsilon (d[i], want, 1e-6);
        }
    }
}

/* The GEMM backward equals the reference on the tutorial's shapes. */
static void
test_gemm_backward_shapes (void)
{
  GRand *rng = g_rand_new_with_seed (14);
  const guint shapes[][4] = { { 1, 32, 28, 28 }, { 32, 32, 14, 14 }, { 32, 32, 7, 7 },
                              { 32, 1, 28, 28 }, { 5, 7, 9, 11 } };
  for (guint si = 0; si < G_N_ELEMENTS (shapes); si++)
    {
      DaeConvArgs a = { .n = 3, .in_c = shapes[si][0], .out_c = shapes[si][1],
                        .h = shapes[si][2], .w = shapes[si][3] };
      const size_t nx = a.n * a.in_c * a.h * a.w, ny = a.n * a.out_c * a.h * a.w;
      const size_t nw = (size_t) a.in_c * a.out_c * 9, np = nw + a.out_c;
      float *x = g_new (float, nx), *p = g_new (float, np), *dz = g_new (float, ny);
      float *rx = g_new (float, nx), *rp = g_new (float, np);
      float *gx = g_new (float, nx), *gp = g_new (float, np);
      fill (rng, x, nx, 0, 1);
      fill (rng, p, np, -0.3, 0.3);
      fill (rng, dz, ny, -1, 1);
      a.weight = p;
      a.bias = p + nw;
      float *scratch = g_new (float, dae_conv3x3_gemm_backward_scratch (&a));
      dae_conv3x3_backward_ref (&a, x, dz, rp, rp + nw, rx);
      dae_conv3x3_gemm_backward (&a, x, dz, gp, gp + nw, gx, scratch);
      const double ex = rel_err_f (gx, rx, nx), ep = rel_err_f (gp, rp, np);
      g_test_message ("gemm vs ref %u->%u %ux%u: dx %.2g dparams %.2g", a.in_c, a.out_c,
                      a.h, a.w, ex, ep);
      g_assert_cmpfloat (ex, <=, 1e-5);
      g_assert_cmpfloat (ep, <=, 1e-5);
      g_free (x); g_free (p); g_free (dz); g_free (rx); g_free (rp); g_free (gx);
      g_free (gp); g_free (scratch);
    }
  g_rand_free (rng);
}

/* ---- whole network vs finite differences -------------------------------- */

typedef struct {
  DaeModel *model;
  DaeLoss loss;
  const double *target;
  size_t n;
  double ink_weight; /* on samples whose output and target straddle 0.5 */
} NetCtx;

/* The network in float64 from the layers' definitions; returns the mean
 * loss (PyTorch's BCE with logs clamped at -100, or MSE). */
static double
net_loss_d (NetCtx *c, const double *x, const double *p)
{
  DaeModel *m = c->model;
  const guint L = m->n_layers;
  g_autofree DaeShape *s = g_new (DaeShape, L);
  g_assert_true (dae__model_infer_shapes (m, m->patch_h, m->patch_w, s, NULL));
  DaeShape in = { m->in_c, m->patch_h, m->patch_w };
  double **out = g_new0 (double *, L);
  for (guint i = 0; i < L; i++)
    {
      const DaeLayer *l = &m->layers[i];
      const DaeShape is = i == 0 ? in : s[i - 1], os = s[i];
      const double *xi = i == 0 ? x : out[i - 1];
      const double *src = l->source < 0 ? x : out[l->source];
      const size_t of = (size_t) os.c * os.h * os.w, xf = (size_t) is.c * is.h * is.w;
      out[i] = g_new (double, c->n * of);
      const double *w = p + l->offset, *b = w + l->n_weight;
      switch (l->kind)
        {
        case DAE_LAYER_CONV3X3:
          conv3x3_d (c->n, is.c, os.c, is.h, is.w, w, b, l->act, xi, out[i]);
          break;
        case DAE_LAYER_CONVT2X2:
          convt2x2_d (c->n, is.c, os.c, is.h, is.w, w, b, l->act, xi, out[i]);
          break;
        case DAE_LAYER_MAXPOOL2:
          maxpool2_d (c->n, is.c, is.h, is.w, xi, out[i]);
          break;
        case DAE_LAYER_UPSAMPLE2:
          upsample2_d (c->n, is.c, is.h, is.w, xi, out[i]);
          break;
        case DAE_LAYER_ADD:
          for (size_t k = 0; k < c->n * of; k++)
            out[i][k] = act_d (l->act, xi[k] + src[k]);
          break;
        case DAE_LAYER_CONCAT:
          for (size_t t = 0; t < c->n; t++)
            {
              memcpy (out[i] + t * of, xi + t * xf, xf * sizeof (double));
              memcpy (out[i] + t * of + xf, src + t * (of - xf), (of - xf) * sizeof (double));
            }
          break;
        }
    }
  const size_t count = c->n * (size_t) in.c * in.h * in.w;
  double loss = 0;
  for (size_t k = 0; k < count; k++)
    {
      const double y = out[L - 1][k], t = c->target[k];
      const double wk = (y >= 0.5) != (t >= 0.5) ? c->ink_weight : 1.0;
      if (c->loss == DAE_LOSS_MSE)
        loss += wk * (y - t) * (y - t);
      else
        loss -= wk * (t * MAX (log (y), -100.0) + (1 - t) * MAX (log (1 - y), -100.0));
    }
  for (guint i = 0; i < L; i++)
    g_free (out[i]);
  g_free (out);
  return loss / count;
}

static void
check_network_weighted (const char *arch, guint h, guint w, DaeLoss loss, double ink_weight,
                        guint64 seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new_from_arch (arch, 1, h, w, &error);
  g_assert_no_error (error);
  dae_model_init_glorot (m, seed);
  /* Non-zero biases, so a lost bias gradient shows. */
  GRand *rng = g_rand_new_with_seed ((guint32) seed);
  for (guint i = 0; i < m->n_layers; i++)
    for (size_t k = 0; k < m->layers[i].n_bias; k++)
      m->params[m->layers[i].offset + m->layers[i].n_weight + k]
        = (float) g_rand_double_range (rng, -0.2, 0.2);
  const size_t n = 3, nx = n * h * w, np = m->n_params;
  float *x = g_new (float, nx), *t = g_new (float, nx);
  fill (rng, x, nx, 0, 1);
  fill (rng, t, nx, 0, 1);

  DaeTrainOptions opt;
  dae_train_options_init (&opt);
  opt.loss = loss;
  opt.threads = 2;
  opt.ink_weight = ink_weight;
  g_autoptr (DaeTrainer) tr = dae_trainer_new (m, &opt, &error);
  g_assert_no_error (error);
  float *gp = g_new (float, np), *gx = g_new (float, nx);
  double lv = 0;
  g_assert_true (dae_trainer_gradients (tr, n, x, t, &lv, gp, gx, &error));
  g_assert_no_error (error);

  g_autofree double *xd = to_double (x, nx), *td = to_double (t, nx);
  g_autofree double *pd = to_double (m->params, np);
  NetCtx ctx = { m, loss, td, n, ink_weight };
  const double l64 = net_loss_d (&ctx, xd, pd);
  g_assert_cmpfloat (fabs (lv - l64), <=, 1e-6 * MAX (1.0, fabs (l64)));

  const double hstep = 1e-6;
  g_autofree double *fdp = g_new (double, np), *fdx = g_new (double, nx);
  for (int which = 0; which < 2; which++)
    {
      double *v = which ? xd : pd, *out = which ? fdx : fdp;
      const size_t nv = which ? nx : np;
      for (size_t i = 0; i < nv; i++)
        {
          const double keep = v[i];
          v[i] = keep + hstep;
          const double a = net_loss_d (&ctx, xd, pd);
          v[i] = keep - hstep;
          const double b = net_loss_d (&ctx, xd, pd);
          v[i] = keep;
          out[i] = (a - b) / (2 * hstep);
        }
    }
  const double ep = rel_err (gp, fdp, np), ex = rel_err (gx, fdx, nx);
  g_test_message ("network '%s' %ux%u %s, ink weight %g: loss %.6f (f64 %.6f); max rel err "
                  "dparams %.2g, dinput %.2g", arch, h, w, loss == DAE_LOSS_BCE ? "bce" : "mse",
                  ink_weight, lv, l64, ep, ex);
  g_assert_cmpfloat (ep, <=, 1e-4);
  g_assert_cmpfloat (ex, <=, 1e-4);
  g_free (x); g_free (t); g_free (gp); g_free (gx);
  g_rand_free (rng);
}

static void
check_network (const char *arch, guint h, guint w, DaeLoss loss, guint64 seed)
{
  check_network_weighted (arch, h, w, loss, 1.0, seed);
}

/* --ink-weight: the weighted loss's value and gradient (the weight is
 * constant on each side of 0.5, so finite differences see it), with and
 * without the sigmoid folded into the cross-entropy. */
static void
test_ink_weight_gradients (void)
{
  check_network_weighted ("c4,p,c4,u,c1:sigmoid", 8, 12, DAE_LOSS_BCE, 5.0, 11);
  check_network_weighted ("c4,p,c4,u,c1:sigmoid", 8, 12, DAE_LOSS_MSE, 3.0, 12);
  check_network_weighted ("c3,c1:none,add:in:sigmoid", 6, 10, DAE_LOSS_BCE, 8.0, 13);
}

/* The weight changes the loss by the weighted share of the samples that
 * straddle 0.5, counted here from the outputs. */
static void
test_ink_weight_loss (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new_from_arch ("c4,c1:sigmoid", 1, 9, 9, &error);
  g_assert_no_error (error);
  dae_model_init_glorot (m, 21);
  const size_t n = 4, nx = n * 81;
  g_autoptr (GRand) rng = g_rand_new_with_seed (21);
  g_autofree float *x = g_new (float, nx), *t = g_new (float, nx), *y = g_new (float, nx);
  fill (rng, x, nx, 0, 1);
  for (size_t i = 0; i < nx; i++)
    t[i] = g_rand_boolean (rng) ? 0.95f : 0.05f;
  double l[2];
  const double wv[2] = { 1.0, 6.0 };
  for (int k = 0; k < 2; k++)
    {
      DaeTrainOptions opt;
      dae_train_options_init (&opt);
      opt.ink_weight = wv[k];
      g_autoptr (DaeTrainer) tr = dae_trainer_new (m, &opt, &error);
      g_assert_no_error (error);
      g_assert_true (dae_trainer_evaluate (tr, n, x, t, &l[k], y, &error));
    }
  double flipped = 0;
  size_t n_flip = 0;
  for (size_t i = 0; i < nx; i++)
    if ((y[i] >= 0.5f) != (t[i] >= 0.5f))
      {
        flipped -= t[i] * log (y[i]) + (1 - t[i]) * log (1 - y[i]);
        n_flip++;
      }
  g_test_message ("%zu of %zu samples straddle 0.5; loss %.6f -> %.6f", n_flip, nx, l[0], l[1]);
  g_assert_cmpuint (n_flip, >, 0);
  g_assert_cmpuint (n_flip, <, nx);
  g_assert_cmpfloat (fabs (l[1] - l[0] - 5.0 * flipped / nx), <=, 1e-6 * l[1]);

  DaeTrainOptions bad;
  dae_train_options_init (&bad);
  bad.ink_weight = 0.5;
  g_assert_null (dae_trainer_new (m, &bad, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
}

static void
test_network_gradients (void)
{
  check_network ("c4,p,c4,p,c4,u,c4,u,c1:sigmoid", 8, 12, DAE_LOSS_BCE, 1);
  check_network ("c4,p,c4,p,c4,u,c4,u,c1:sigmoid", 8, 12, DAE_LOSS_MSE, 2);
  check_network ("c3:none,c3=a,add:0:relu,p,c4,t3:sigmoid,cat:a,c2,t4,p,c1:none,"
                 "add:in:sigmoid", 6, 10, DAE_LOSS_BCE, 3);
  /* A source read twice (x + x) and a join on the input. */
  check_network ("c2,add:0,cat:in,c1:sigmoid", 5, 7, DAE_LOSS_MSE, 4);
  /* GEMM path layers (8+ channels) at odd sizes. */
  check_network ("c8,c8:sigmoid,c9:none,c1:sigmoid", 7, 9, DAE_LOSS_BCE, 5);
  check_network ("c8,p,c9,u,c8,c1:sigmoid", 6, 10, DAE_LOSS_BCE, 6);
}

/* The same through every kernel set the CPU has: training runs its
 * forward convolutions (and dx) through the dispatched kernels. */
static void
test_network_gradients_isa (void)
{
  const DaeIsa chosen = dae__kernels ()->isa;
  guint n = 0;
  for (int isa = DAE__ISA_REF; isa < DAE__N_ISA; isa++)
    {
      if (!dae__kernels_override (isa))
        continue;
      g_test_message ("kernels: %s", dae__kernels ()->name);
      check_network ("c8,p,c9,u,c8,c1:sigmoid", 6, 10, DAE_LOSS_BCE, 7);
      check_network ("c9,c9:none=a,add:0,c2,cat:a,c1:none,add:in:sigmoid", 9, 11, DAE_LOSS_MSE, 8);
      n++;
    }
  dae__kernels_override (chosen);
  g_assert_cmpuint (n, >=, 1);
}

/* ---- PyTorch reference --------------------------------------------------- */

static float *
load_array (GKeyFile *kf, const char *group, size_t *count)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *file = g_key_file_get_string (kf, group, "file", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "ref", file, NULL);
  gchar *data;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len % 4, ==, 0);
  *count = len / 4;
  return (float *) data;
}

static GKeyFile *
load_manifest (const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *file = g_strconcat (name, ".txt", NULL);
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "ref", file, NULL);
  GKeyFile *kf = g_key_file_new ();
  g_assert_true (g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);
  return kf;
}

static DaeModel *
load_ref_model (const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *file = g_strconcat (name, ".dae", NULL);
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "ref", file, NULL);
  DaeModel *m = dae_model_load_file (path, &error);
  g_assert_no_error (error);
  return m;
}

static void
test_reference (gconstpointer data)
{
  const char *name = data;
  g_autoptr (GKeyFile) kf = load_manifest (name);
  g_autoptr (GError) error = NULL;
  size_t nx, nt, ngp, ngx, nout;
  g_autofree float *x = load_array (kf, "grad.input", &nx);
  g_autofree float *t = load_array (kf, "grad.target", &nt);
  g_autofree float *want_gp = load_array (kf, "grad.params", &ngp);
  g_autofree float *want_gx = load_array (kf, "grad.wrt_input", &ngx);
  g_autofree float *want_out = load_array (kf, "grad.output", &nout);
  const double want_bce = g_key_file_get_double (kf, "loss", "bce", &error);
  g_assert_no_error (error);
  const double want_mse = g_key_file_get_double (kf, "loss", "mse", &error);
  g_assert_no_error (error);

  for (int threads = 1; threads <= 2; threads++)
    {
      g_autoptr (DaeModel) m = load_ref_model (name);
      const size_t tile = (size_t) m->in_c * m->patch_h * m->patch_w, n = nx / tile;
      g_assert_cmpuint (nt, ==, nx);
      g_assert_cmpuint (ngp, ==, m->n_params);
      g_assert_cmpuint (ngx, ==, nx);
      DaeTrainOptions opt;
      dae_train_options_init (&opt);
      opt.threads = threads;
      g_autoptr (DaeTrainer) tr = dae_trainer_new (m, &opt, &error);
      g_assert_no_error (error);
      g_autofree float *gp = g_new (float, ngp);
      g_autofree float *gx = g_new (float, nx);
      g_autofree float *out = g_new (float, nx);
      double bce, mse;
      g_assert_true (dae_trainer_gradients (tr, n, x, t, &bce, gp, gx, &error));
      g_assert_true (dae_trainer_evaluate (tr, n, x, t, NULL, out, &error));
      g_assert_no_error (error);
      const double eo = rel_err_f (out, want_out, nx);
      const double ep = rel_err_f (gp, want_gp, ngp), ex = rel_err_f (gx, want_gx, nx);
      g_test_message ("%s vs PyTorch (%d threads): bce %.8f (torch %.8f), max rel err "
                      "output %.2g, dparams %.2g, dinput %.2g", name, threads, bce, want_bce,
                      eo, ep, ex);
      g_assert_cmpfloat (fabs (bce - want_bce), <=, 1e-6 * want_bce);
      g_assert_cmpfloat (eo, <=, 1e-5);
      g_assert_cmpfloat (ep, <=, 1e-4);
      g_assert_cmpfloat (ex, <=, 1e-4);

      /* The MSE loss value (its gradient is checked by finite differences). */
      DaeTrainOptions o2 = opt;
      o2.loss = DAE_LOSS_MSE;
      g_autoptr (DaeTrainer) tr2 = dae_trainer_new (m, &o2, &error);
      g_assert_true (dae_trainer_evaluate (tr2, n, x, t, &mse, NULL, &error));
      g_assert_cmpfloat (fabs (mse - want_mse), <=, 1e-6 * want_mse);
    }
}

/* Adam against PyTorch: whole steps (gradient recomputed after each, so
 * this follows PyTorch's trajectory) with PyTorch's formula; and Keras'
 * formula applied to the recorded gradients, as the reference script
 * computes it (recomputing them would follow another trajectory, on which
 * a ReLU may flip). */
static void
test_reference_adam (gconstpointer data)
{
  const char *name = data;
  g_autoptr (GKeyFile) kf = load_manifest (name);
  g_autoptr (GError) error = NULL;
  size_t nx, nt, np_torch, np_keras = 0, n_grads = 0;
  g_autofree float *x = load_array (kf, "grad.input", &nx);
  g_autofree float *t = load_array (kf, "grad.target", &nt);
  g_autofree float *want = load_array (kf, "adam.params", &np_torch);
  const gboolean keras = g_key_file_has_group (kf, "adam.params_keras");
  g_autofree float *want_keras = keras ? load_array (kf, "adam.params_keras", &np_keras) : NULL;
  g_autofree float *grads = keras ? load_array (kf, "adam.grads", &n_grads) : NULL;
  const int steps = g_key_file_get_integer (kf, "adam.params", "steps", &error);
  g_assert_no_error (error);

  for (int formula = DAE_ADAM_KERAS; formula <= DAE_ADAM_PYTORCH; formula++)
    {
      const float *ref = formula == DAE_ADAM_PYTORCH ? want : want_keras;
      if (ref == NULL)
        continue;
      g_autoptr (DaeModel) m = load_ref_model (name);
      g_autoptr (DaeModel) m0 = dae_model_copy (m);
      const size_t np = m->n_params, n = nx / ((size_t) m->in_c * m->patch_h * m->patch_w);
      g_assert_cmpuint (np * steps, ==, formula == DAE_ADAM_PYTORCH ? np_torch : np_keras);
      DaeTrainOptions opt;
      dae_train_options_init (&opt);
      opt.adam_formula = formula;
      g_autoptr (DaeTrainer) tr = dae_trainer_new (m, &opt, &error);
      g_assert_no_error (error);
      for (int s = 0; s < steps; s++)
        {
          if (formula == DAE_ADAM_KERAS)
            {
              g_assert_cmpuint (n_grads, ==, np * steps);
              dae_trainer_apply_gradients (tr, grads + (size_t) s * np);
            }
          else
            g_assert_true (dae_trainer_step (tr, n, x, t, NULL, &error));
          /* Compare the step taken (p - p0), not p: its scale is lr. */
          const float *r = ref + (size_t) s * np;
          double e = 0, scale = 0;
          for (size_t i = 0; i < np; i++)
            {
              const double d = (double) m->params[i] - m0->params[i];
              const double dr = (double) r[i] - m0->params[i];
              e = MAX (e, fabs (d - dr));
              scale = MAX (scale, fabs (dr));
            }
          g_test_message ("%s adam (%s) step %d: max |dp - dp_ref| %.3g (max |dp| %.3g)",
                          name, formula == DAE_ADAM_KERAS ? "keras" : "pytorch", s + 1, e,
                          scale);
          g_assert_cmpfloat (e, <=, 1e-3 * scale);
        }
    }
}

/* ---- determinism and training ------------------------------------------ */

/* A toy data set: bars and blobs on 12x12. */
static float *
toy_images (size_t n, guint h, guint w, guint32 seed)
{
  GRand *rng = g_rand_new_with_seed (seed);
  float *x = g_new0 (float, n * h * w);
  for (size_t k = 0; k < n; k++)
    {
      float *im = x + k * h * w;
      const guint y0 = g_rand_int_range (rng, 1, h - 3), x0 = g_rand_int_range (rng, 1, w - 3);
      const gboolean vertical = g_rand_boolean (rng);
      for (guint i = 0; i < (vertical ? h - 2 : 3); i++)
        for (guint j = 0; j < (vertical ? 3 : w - 2); j++)
          {
            const guint yy = vertical ? i + 1 : y0 + i, xx = vertical ? x0 + j : j + 1;
            im[yy * w + xx] = 1.0f;
          }
    }
  g_rand_free (rng);
  return x;
}

static guint8 *
train_bytes (guint threads, guint64 seed, gboolean fresh, guint batch, size_t *size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new_from_arch ("c8,p,c9,u,c8,c1:sigmoid", 1, 12, 12,
                                                    &error);
  g_assert_no_error (error);
  dae_model_init_glorot (m, seed);
  const size_t n = 400;
  g_autofree float *clean = toy_images (n, 12, 12, 5);
  g_autofree float *noisy = g_new (float, n * 144);
  g_autoptr (DaeNoise) noise = dae_noise_new ("gaussian:0.3", &error);
  dae_noise_apply (noise, seed, 0, n, 144, clean, noisy);
  DaeTrainOptions opt;
  dae_train_options_init (&opt);
  opt.threads = threads;
  opt.seed = seed;
  opt.batch_size = batch;
  g_autoptr (DaeTrainer) tr = dae_trainer_new (m, &opt, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dae_trainer_get_n_threads (tr), ==, threads);
  DaeTrainData d = { .n = n, .clean = clean, .noisy = fresh ? NULL : noisy, .noise = noise };
  for (guint e = 0; e < 2; e++)
    g_assert_true (dae_trainer_train_epoch (tr, &d, e, NULL, NULL, NULL, &error));
  return dae_model_save_memory (m, size);
}

static void
test_thread_independence (void)
{
  /* Batches of 37: shards of different sizes, a short last batch; of 300:
   * more shards than a wave of one or two workers holds. */
  for (int k = 0; k < 4; k++)
    {
      const gboolean fresh = k & 1;
      const guint batch = k < 2 ? 37 : 300;
      size_t s1, s2, s3, s4;
      g_autofree guint8 *a = train_bytes (1, 7, fresh, batch, &s1);
      g_autofree guint8 *b = train_bytes (2, 7, fresh, batch, &s2);
      g_autofree guint8 *c = train_bytes (3, 7, fresh, batch, &s3);
      g_autofree guint8 *d = train_bytes (2, 8, fresh, batch, &s4);
      g_assert_cmpmem (a, s1, b, s2);
      g_assert_cmpmem (a, s1, c, s3);
      g_assert_false (s1 == s4 && memcmp (a, d, s1) == 0);
    }
}

static gboolean
count_progress (size_t done, size_t total, gpointer user_data)
{
  guint *calls = user_data;
  ++*calls;
  g_assert_cmpuint (done, <=, total);
  return *calls < 2;
}

/* Training lowers the loss, held-out included; progress can cancel. */
static void
test_training_learns (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new_from_arch ("c8,p,c8,u,c1:sigmoid", 1, 12, 12, &error);
  g_assert_no_error (error);
  dae_model_init_glorot (m, 1);
  const size_t n = 256, nv = 64;
  g_autofree float *clean = toy_images (n, 12, 12, 1);
  g_autofree float *vclean = toy_images (nv, 12, 12, 2);
  g_autofree float *vnoisy = g_new (float, nv * 144);
  g_autoptr (DaeNoise) noise = dae_noise_new ("gaussian:0.3", &error);
  dae_noise_apply (noise, 99, 0, nv, 144, vclean, vnoisy);
  DaeTrainOptions opt;
  dae_train_options_init (&opt);
  opt.batch_size = 32;
  opt.learning_rate = 3e-3;
  g_autoptr (DaeTrainer) tr = dae_trainer_new (m, &opt, &error);
  DaeTrainData d = { .n = n, .clean = clean, .noise = noise };
  double v0, v1, l0 = 0, l1 = 0;
  g_assert_true (dae_trainer_evaluate (tr, nv, vnoisy, vclean, &v0, NULL, &error));
  for (guint e = 0; e < 30; e++)
    {
      double l;
      g_assert_true (dae_trainer_train_epoch (tr, &d, e, NULL, NULL, &l, &error));
      if (e == 0)
        l0 = l;
      l1 = l;
    }
  g_assert_true (dae_trainer_evaluate (tr, nv, vnoisy, vclean, &v1, NULL, &error));
  g_test_message ("toy training: train loss %.4f -> %.4f, validation %.4f -> %.4f", l0, l1,
                  v0, v1);
  g_assert_cmpfloat (l1, <, 0.6 * l0);
  g_assert_cmpfloat (v1, <, 0.5 * v0);

  guint calls = 0;
  g_assert_false (dae_trainer_train_epoch (tr, &d, 99, count_progress, &calls, NULL, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_CANCELLED);
  g_assert_cmpuint (calls, ==, 2);
}

/* evaluate() runs the same forward as inference. */
static void
test_evaluate_matches_runner (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new_from_arch ("tutorial", 1, 28, 28, &error);
  dae_model_init_glorot (m, 3);
  const size_t n = 37;
  g_autofree float *x = g_new (float, n * 784);
  GRand *rng = g_rand_new_with_seed (3);
  fill (rng, x, n * 784, 0, 1);
  g_rand_free (rng);
  g_autofree float *a = g_new (float, n * 784), *b = g_new (float, n * 784);
  g_autoptr (DaeRunner) r = dae_runner_new (m, 28, 28, &error);
  g_assert_true (dae_runner_forward (r, n, x, a, &error));
  g_autoptr (DaeTrainer) tr = dae_trainer_new (m, NULL, &error);
  double loss;
  g_assert_true (dae_trainer_evaluate (tr, n, x, NULL, &loss, b, &error));
  g_assert_true (isnan (loss));
  const double e = rel_err_f (b, a, n * 784);
  g_test_message ("evaluate vs runner: max rel diff %.2g", e);
  g_assert_cmpfloat (e, <=, 1e-6);
}

static void
test_trainer_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new_from_arch ("c2,c1:sigmoid", 1, 4, 4, &error);
  DaeTrainOptions opt;
  dae_train_options_init (&opt);
  opt.batch_size = 0;
  g_assert_null (dae_trainer_new (m, &opt, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
  g_clear_error (&error);
  dae_train_options_init (&opt);
  opt.learning_rate = -1;
  g_assert_null (dae_trainer_new (m, &opt, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
  g_clear_error (&error);
  dae_train_options_init (&opt);
  opt.beta2 = 1;
  g_assert_null (dae_trainer_new (m, &opt, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
  g_clear_error (&error);
  /* A model that does not map its patch onto itself cannot be trained. */
  g_autoptr (DaeModel) bad = dae_model_new (1, 4, 4, &error);
  g_assert_true (dae_model_add_layer (bad, DAE_LAYER_CONV3X3, DAE_ACT_RELU, 2, 0, &error));
  g_assert_null (dae_trainer_new (bad, NULL, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_SHAPE);
  g_clear_error (&error);
  /* Too large a patch: refused before anything is allocated. */
  g_autoptr (DaeModel) huge = dae_model_new (1, 2048, 2048, &error);
  g_assert_true (dae_model_add_layer (huge, DAE_LAYER_CONV3X3, DAE_ACT_RELU, 128, 0, &error));
  g_assert_true (dae_model_add_layer (huge, DAE_LAYER_CONV3X3, DAE_ACT_SIGMOID, 1, 0, &error));
  g_assert_null (dae_trainer_new (huge, NULL, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_LIMIT);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_autoptr (DaeTrainer) tr = dae_trainer_new (m, NULL, &error);
  float x[16] = { 0 };
  g_assert_false (dae_trainer_step (tr, 0, x, x, NULL, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
}

/* ---- init, architectures, noise ----------------------------------------- */

static void
test_glorot (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_new_from_arch ("c32,p,c32,t16,c1:sigmoid", 1, 28, 28,
                                                    &error);
  g_assert_no_error (error);
  dae_model_init_glorot (m, 42);
  for (guint i = 0; i < m->n_layers; i++)
    {
      const DaeLayer *l = &m->layers[i];
      if (l->n_weight == 0)
        continue;
      const double area = l->kind == DAE_LAYER_CONV3X3 ? 9 : 4;
      const double limit = sqrt (6.0 / ((l->in_c + l->out_c) * area));
      const float *w = m->params + l->offset;
      double mx = 0, sum = 0, sq = 0;
      for (size_t k = 0; k < l->n_weight; k++)
        {
          mx = MAX (mx, fabs (w[k]));
          sum += w[k];
          sq += (double) w[k] * w[k];
        }
      const double mean = sum / l->n_weight, var = sq / l->n_weight - mean * mean;
      g_test_message ("layer %u: limit %.4f max %.4f var %.3g (want %.3g)", i, limit, mx,
                      var, limit * limit / 3);
      g_assert_cmpfloat (mx, <=, limit);
      g_assert_cmpfloat (mx, >=, 0.95 * limit);
      g_assert_cmpfloat (fabs (var / (limit * limit / 3) - 1), <=, 0.25);
      for (size_t k = 0; k < l->n_bias; k++)
        g_assert_cmpfloat (w[l->n_weight + k], ==, 0.0f);
    }
  /* Same seed, same weights; another seed, others. */
  g_autoptr (DaeModel) m2 = dae_model_copy (m), m3 = dae_model_copy (m);
  dae_model_init_glorot (m2, 42);
  dae_model_init_glorot (m3, 43);
  g_assert_cmpmem (m->params, m->n_params * 4, m2->params, m2->n_params * 4);
  g_assert_false (memcmp (m->params, m3->params, m->n_params * 4) == 0);
}

static void
test_arch (void)
{
  g_autoptr (GError) error = NULL;
  for (const char *const *p = dae_arch_presets (); *p; p++)
    {
      g_autoptr (DaeModel) m = dae_model_new_from_arch (*p, 1, 28, 28, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (dae_model_get_metadata (m, "arch"), ==, dae_arch_preset_spec (*p));
    }
  g_assert_cmpstr (dae_arch_presets ()[0], ==, "tutorial");

  /* The tutorial: 28,353 parameters as in Keras' summary. */
  g_autoptr (DaeModel) t = dae_model_new_from_arch (NULL, 1, 28, 28, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dae_model_get_n_params (t), ==, 28353);
  /* Shipped models name their preset: a preset must not change. */
  g_autoptr (DaeModel) un = dae_model_new_from_arch ("unet", 1, 28, 28, &error);
  g_assert_cmpuint (dae_model_get_n_params (un), ==, 92737);
  g_assert_cmpuint (dae_model_get_n_layers (t), ==, 9);
  DaeLayerKind kind;
  DaeActivation act;
  guint oc;
  int src;
  g_assert_true (dae_model_get_layer (t, 8, &kind, &act, &oc, &src));
  g_assert_cmpint (kind, ==, DAE_LAYER_CONV3X3);
  g_assert_cmpint (act, ==, DAE_ACT_SIGMOID);
  g_assert_cmpuint (oc, ==, 1);

  /* Names, numbers and 'in' as skip sources. */
  g_autoptr (DaeModel) u = dae_model_new_from_arch ("c4=a, c4:none ,add:a:relu,cat:1,c1:none,"
                                                    "add:in:sigmoid", 1, 6, 6, &error);
  g_assert_no_error (error);
  g_assert_true (dae_model_get_layer (u, 2, &kind, &act, &oc, &src));
  g_assert_cmpint (kind, ==, DAE_LAYER_ADD);
  g_assert_cmpint (act, ==, DAE_ACT_RELU);
  g_assert_cmpint (src, ==, 0);
  g_assert_true (dae_model_get_layer (u, 3, &kind, &act, &oc, &src));
  g_assert_cmpint (kind, ==, DAE_LAYER_CONCAT);
  g_assert_cmpint (src, ==, 1);
  g_assert_cmpuint (oc, ==, 8);
  g_assert_true (dae_model_get_layer (u, 1, &kind, &act, NULL, NULL));
  g_assert_cmpint (act, ==, DAE_ACT_NONE);
  g_assert_true (dae_model_get_layer (u, 5, &kind, &act, NULL, &src));
  g_assert_cmpint (src, ==, DAE_SOURCE_INPUT);

  const struct {
    const char *spec;
    int code;
    const char *needle;
  } bad[] = {
    { "c32,x,c1", DAE_ERROR_INVALID, "'x'" },
    { "c0,c1:sigmoid", DAE_ERROR_INVALID, "channels" },
    { "c32:tanh,c1", DAE_ERROR_INVALID, "tanh" },
    { "c32,,c1", DAE_ERROR_INVALID, "empty" },
    { "c4,add:b,c1", DAE_ERROR_INVALID, "'b'" },
    { "c4,add:7,c1", DAE_ERROR_INVALID, "'7'" },
    { "c4=a,c4=a,c1", DAE_ERROR_INVALID, "twice" },
    { "c4,cat:in:relu,c1", DAE_ERROR_INVALID, "too many" },
    { "c32,p,c1:sigmoid", DAE_ERROR_SHAPE, NULL },
    { "c32,c2", DAE_ERROR_SHAPE, NULL },
    { "c3,p,add:0", DAE_ERROR_SHAPE, NULL },
    { "c4,add", DAE_ERROR_INVALID, "source" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (DaeModel) b = dae_model_new_from_arch (bad[i].spec, 1, 28, 28, &error);
      g_assert_null (b);
      g_assert_nonnull (error);
      g_test_message ("'%s': %s", bad[i].spec, error->message);
      g_assert_cmpint (error->code, ==, bad[i].code);
      if (bad[i].needle)
        g_assert_nonnull (strstr (error->message, bad[i].needle));
      g_clear_error (&error);
    }
}

static void
noise_stats (const char *spec, float level, double *mean_diff, double *std_diff,
             double *frac_changed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeNoise) noise = dae_noise_new (spec, &error);
  g_assert_no_error (error);
  const size_t n = 200, f = 784;
  g_autofree float *clean = g_new (float, n * f), *noisy = g_new (float, n * f);
  for (size_t i = 0; i < n * f; i++)
    clean[i] = level;
  dae_noise_apply (noise, 1, 0, n, f, clean, noisy);
  double s = 0, s2 = 0;
  size_t changed = 0;
  for (size_t i = 0; i < n * f; i++)
    {
      const double d = noisy[i] - clean[i];
      g_assert_cmpfloat (noisy[i], >=, 0.0f);
      g_assert_cmpfloat (noisy[i], <=, 1.0f);
      s += d;
      s2 += d * d;
      changed += d != 0;
    }
  *mean_diff = s / (n * f);
  *std_diff = sqrt (s2 / (n * f) - *mean_diff * *mean_diff);
  *frac_changed = (double) changed / (n * f);
}

static void
test_noise (void)
{
  double m, sd, fr;
  noise_stats ("gaussian:0.1", 0.5f, &m, &sd, &fr);
  g_assert_cmpfloat (fabs (m), <=, 0.002);
  g_assert_cmpfloat (fabs (sd - 0.1), <=, 0.003);
  noise_stats ("saltpepper:0.2", 0.5f, &m, &sd, &fr);
  g_assert_cmpfloat (fabs (fr - 0.2), <=, 0.01);
  g_assert_cmpfloat (fabs (m), <=, 0.01);      /* as many 0s as 1s */
  g_assert_cmpfloat (fabs (sd - sqrt (0.2) * 0.5), <=, 0.01);
  noise_stats ("speckle:0.2", 0.5f, &m, &sd, &fr);
  g_assert_cmpfloat (fabs (sd - 0.1), <=, 0.003); /* S x value x N(0,1) */
  noise_stats ("speckle:0.2", 0.0f, &m, &sd, &fr);
  g_assert_cmpfloat (fr, ==, 0.0);                /* black stays black */
  noise_stats ("none", 0.3f, &m, &sd, &fr);
  g_assert_cmpfloat (fr, ==, 0.0);
  /* A range: sigma uniform in [0, 0.2] has E[sigma^2] = 0.04/3. */
  noise_stats ("gaussian:0-0.2", 0.5f, &m, &sd, &fr);
  g_assert_cmpfloat (fabs (sd - sqrt (0.04 / 3)), <=, 0.01);
  /* In sequence: the variances add. */
  noise_stats ("gaussian:0.06+gaussian:0.08", 0.5f, &m, &sd, &fr);
  g_assert_cmpfloat (fabs (sd - 0.1), <=, 0.003);

  /* One of the alternatives per image: some images only 0/1 hits. */
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeNoise) mix = dae_noise_new (" gaussian:0.1 , saltpepper:0.3 ", &error);
  g_assert_no_error (error);
  const size_t n = 64, f = 100;
  g_autofree float *clean = g_new (float, n * f), *a = g_new (float, n * f);
  g_autofree float *b = g_new (float, n * f);
  for (size_t i = 0; i < n * f; i++)
    clean[i] = 0.5f;
  dae_noise_apply (mix, 5, 0, n, f, clean, a);
  guint sp = 0;
  for (size_t k = 0; k < n; k++)
    {
      gboolean only01 = TRUE;
      for (size_t i = 0; i < f; i++)
        only01 &= a[k * f + i] == 0.5f || a[k * f + i] == 0.0f || a[k * f + i] == 1.0f;
      sp += only01;
    }
  g_assert_cmpuint (sp, >, n / 4);
  g_assert_cmpuint (sp, <, 3 * n / 4);
  /* Any split of the calls gives the same images; in place too. */
  dae_noise_apply (mix, 5, 0, 10, f, clean, b);
  dae_noise_apply (mix, 5, 10, n - 10, f, clean + 10 * f, b + 10 * f);
  g_assert_cmpmem (a, n * f * 4, b, n * f * 4);
  memcpy (b, clean, n * f * 4);
  dae_noise_apply (mix, 5, 0, n, f, b, b);
  g_assert_cmpmem (a, n * f * 4, b, n * f * 4);
  dae_noise_apply (mix, 6, 0, n, f, clean, b);
  g_assert_false (memcmp (a, b, n * f * 4) == 0);

  g_autofree char *s = dae_noise_to_string (mix);
  g_assert_cmpstr (s, ==, "gaussian:0.1,saltpepper:0.3");
  g_autoptr (DaeNoise) r = dae_noise_new ("gaussian:0.1-0.5+speckle:1e-1", &error);
  g_assert_no_error (error);
  g_autofree char *rs = dae_noise_to_string (r);
  g_assert_cmpstr (rs, ==, "gaussian:0.1-0.5+speckle:0.1");

  const char *bad[] = { "", "gauss:0.5", "gaussian", "gaussian:", "gaussian:x",
                        "gaussian:0.5-", "gaussian:0.5-0.1", "saltpepper:1.5",
                        "gaussian:0.5x", "gaussian:0.5+", ",gaussian:0.1", "none:1",
                        "gaussian:-1", "gaussian:nan", "gaussian:inf" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      DaeNoise *nz = dae_noise_new (bad[i], &error);
      g_assert_null (nz);
      g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
      g_test_message ("'%s': %s", bad[i], error->message);
      g_clear_error (&error);
    }
}

static void
test_random_crops (void)
{
  g_autoptr (GError) error = NULL;
  /* Pixel value = its position, so a crop shows where it came from. */
  const guint w0 = 9, h0 = 7, w1 = 4, h1 = 4;
  g_autofree float *a = g_new (float, w0 * h0), *b = g_new (float, w1 * h1);
  for (guint i = 0; i < w0 * h0; i++)
    a[i] = (float) i;
  for (guint i = 0; i < w1 * h1; i++)
    b[i] = -1.0f;
  const float *ims[2] = { a, b };
  const guint ws[2] = { w0, w1 }, hs[2] = { h0, h1 };
  const size_t n = 500;
  g_autofree float *c = dae_random_crops (2, ims, ws, hs, n, 5, 5, 3, &error);
  g_assert_no_error (error);
  g_autofree float *c2 = dae_random_crops (2, ims, ws, hs, n, 5, 5, 3, &error);
  g_assert_cmpmem (c, n * 25 * 4, c2, n * 25 * 4);
  gboolean seen[3][5] = { { FALSE } };
  for (size_t k = 0; k < n; k++)
    {
      const float *p = c + k * 25;
      g_assert_cmpfloat (p[0], >=, 0); /* the 4x4 image is too small */
      const guint y0 = (guint) p[0] / w0, x0 = (guint) p[0] % w0;
      g_assert_cmpuint (y0, <=, h0 - 5);
      g_assert_cmpuint (x0, <=, w0 - 5);
      seen[y0][x0] = TRUE;
      for (guint y = 0; y < 5; y++)
        for (guint x = 0; x < 5; x++)
          g_assert_cmpfloat (p[y * 5 + x], ==, (float) ((y0 + y) * w0 + x0 + x));
    }
  for (guint y = 0; y < 3; y++)
    for (guint x = 0; x < 5; x++)
      g_assert_true (seen[y][x]);
  g_assert_null (dae_random_crops (1, ims + 1, ws + 1, hs + 1, 3, 5, 5, 3, &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_INVALID);
}


/* ---- the dae-train command ------------------------------------------------ */

typedef struct {
  int status; /* exit status, or -1 if it did not exit */
  char *out, *err;
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

/* Address space of the next child (RLIMIT_AS), 0: unlimited. */
static rlim_t child_mem_limit;

static void
limit_child (gpointer data)
{
  struct rlimit rl = { child_mem_limit, child_mem_limit };
  if (child_mem_limit)
    setrlimit (RLIMIT_AS, &rl);
}

/* Runs dae-train with the given arguments (NULL-terminated) in dir. */
static Run
run_train (const char *dir, ...)
{
  const char *exe = g_getenv ("DAE_TRAIN");
  g_assert_nonnull (exe);
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) exe);
  va_list ap;
  va_start (ap, dir);
  const char *a;
  while ((a = va_arg (ap, const char *)))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  Run r = { -1, NULL, NULL };
  int wait_status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (dir, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, limit_child,
                               NULL, &r.out, &r.err, &wait_status, &error));
  g_assert_no_error (error);
  if (WIFEXITED (wait_status))
    r.status = WEXITSTATUS (wait_status);
  g_ptr_array_unref (argv);
  return r;
}

static char *cli_dir;

/* Toy IDX files: 96 training and 20 validation images of 12x12. */
static void
cli_setup (void)
{
  if (cli_dir)
    return;
  g_autoptr (GError) error = NULL;
  cli_dir = g_dir_make_tmp ("test-train-XXXXXX", &error);
  g_assert_no_error (error);
  const guint dims[2][3] = { { 96, 12, 12 }, { 20, 12, 12 } };
  const char *names[2] = { "train.idx", "val.idx.gz" };
  for (int k = 0; k < 2; k++)
    {
      g_autofree float *x = toy_images (dims[k][0], 12, 12, 10 + k);
      g_autofree guint8 *b = g_new (guint8, dims[k][0] * 144);
      for (size_t i = 0; i < dims[k][0] * 144; i++)
        b[i] = (guint8) (x[i] * 255);
      g_autofree char *path = g_build_filename (cli_dir, names[k], NULL);
      g_assert_true (dae_idx_save (path, 3, dims[k], b, k == 1, &error));
      g_assert_no_error (error);
    }
}

static char *
cli_path (const char *name)
{
  return g_build_filename (cli_dir, name, NULL);
}

static DaeModel *
cli_model (const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = cli_path (name);
  DaeModel *m = dae_model_load_file (path, &error);
  g_assert_no_error (error);
  return m;
}

#define TOY_ARCH "c8,p,c8,u,c1:sigmoid"

static void
test_cli_train (void)
{
  cli_setup ();
  g_autoptr (GError) error = NULL;
  Run r = run_train (cli_dir, "--arch", TOY_ARCH, "--epochs", "3", "--batch", "16",
                     "--threads", "2", "--seed", "3", "--val-clean", "val.idx.gz",
                     "--noise", "gaussian:0.3", "--log", "log.csv", "--plot", "loss.png",
                     "--preview", "preview.png", "-o", "a.dae", "train.idx", NULL);
  g_test_message ("stdout:\n%sstderr:\n%s", r.out, r.err);
  g_assert_cmpint (r.status, ==, 0);
  g_auto (GStrv) lines = g_strsplit (r.out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4); /* 3 epochs and "" */
  for (int e = 0; e < 3; e++)
    {
      g_autofree char *head = g_strdup_printf ("epoch %d/3  loss ", e + 1);
      g_assert_true (g_str_has_prefix (lines[e], head));
      g_assert_nonnull (strstr (lines[e], "val_psnr"));
      g_assert_nonnull (strstr (lines[e], "img/s"));
      g_assert_nonnull (strstr (lines[e], "eta"));
    }
  run_clear (&r);

  /* The log: a header and one row per epoch. */
  g_autofree char *log_path = cli_path ("log.csv");
  g_autofree char *log = NULL;
  g_assert_true (g_file_get_contents (log_path, &log, NULL, &error));
  g_auto (GStrv) rows = g_strsplit (log, "\n", -1);
  g_assert_cmpuint (g_strv_length (rows), ==, 5);
  g_assert_true (g_str_has_prefix (rows[0], "epoch,train_loss,val_loss,val_psnr_db"));
  g_assert_true (g_str_has_prefix (rows[3], "3,"));
  for (const char *const *f = (const char *const[]){ "loss.png", "preview.png", NULL }; *f; f++)
    {
      g_autofree char *path = cli_path (*f);
      g_autofree char *png = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (path, &png, &len, &error));
      g_assert_cmpuint (len, >, 8);
      g_assert_cmpmem (png, 4, "\x89PNG", 4);
    }

  /* Metadata: the command, the data with checksums, seed, epochs, metrics. */
  g_autoptr (DaeModel) m = cli_model ("a.dae");
  g_assert_cmpstr (dae_model_get_metadata (m, "command"), ==,
                   "dae-train --arch " TOY_ARCH " --epochs 3 --batch 16 --threads 2 --seed 3 "
                   "--val-clean val.idx.gz --noise gaussian:0.3 --log log.csv --plot loss.png "
                   "--preview preview.png -o a.dae train.idx");
  g_autofree char *train_path = cli_path ("train.idx");
  g_autofree char *train_bytes = NULL;
  gsize train_len;
  g_assert_true (g_file_get_contents (train_path, &train_bytes, &train_len, &error));
  g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                      (const guchar *) train_bytes, train_len);
  g_autofree char *want_data = g_strdup_printf ("train.idx sha256:%s", sum);
  g_assert_cmpstr (dae_model_get_metadata (m, "data"), ==, want_data);
  g_assert_cmpstr (dae_model_get_metadata (m, "seed"), ==, "3");
  g_assert_cmpstr (dae_model_get_metadata (m, "epochs"), ==, "3");
  g_assert_cmpstr (dae_model_get_metadata (m, "arch"), ==, TOY_ARCH);
  g_assert_cmpstr (dae_model_get_metadata (m, "noise"), ==, "gaussian:0.3");
  g_assert_cmpstr (dae_model_get_metadata (m, "background"), ==, "dark");
  g_assert_nonnull (strstr (dae_model_get_metadata (m, "metrics"), "val_psnr_db="));
  g_assert_nonnull (strstr (dae_model_get_metadata (m, "validation_data"), "val.idx.gz sha256:"));

  /* Another thread count: the same weights. */
  r = run_train (cli_dir, "--arch", TOY_ARCH, "--epochs", "3", "--batch", "16", "--threads",
                 "1", "--seed", "3", "--val-clean", "val.idx.gz", "--noise", "gaussian:0.3",
                 "-q", "-o", "b.dae", "train.idx", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, "");
  run_clear (&r);
  g_autoptr (DaeModel) b = cli_model ("b.dae");
  g_assert_cmpuint (dae_model_get_n_params (b), ==, dae_model_get_n_params (m));
  for (guint i = 0; i < dae_model_get_n_layers (m); i++)
    {
      size_t nw, nw2;
      float *bias, *bias2;
      float *w = dae_model_layer_params (m, i, &nw, &bias);
      float *w2 = dae_model_layer_params (b, i, &nw2, &bias2);
      if (w == NULL)
        continue;
      g_assert_cmpmem (w, nw * 4, w2, nw2 * 4);
    }
  /* The same command: the same bytes. */
  r = run_train (cli_dir, "--arch", TOY_ARCH, "--epochs", "3", "--batch", "16", "--threads",
                 "1", "--seed", "3", "--val-clean", "val.idx.gz", "--noise", "gaussian:0.3",
                 "-q", "-o", "b.dae", "train.idx", NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  g_autoptr (DaeModel) b2 = cli_model ("b.dae");
  size_t s1, s2;
  g_autofree guint8 *m1 = dae_model_save_memory (b, &s1), *m2 = dae_model_save_memory (b2, &s2);
  g_assert_cmpmem (m1, s1, m2, s2);

  /* Continue training; a held-out split. */
  r = run_train (cli_dir, "--init-from", "a.dae", "--epochs", "1", "--val-split", "0.25",
                 "--noise", "gaussian:0.1-0.3,saltpepper:0.1", "-o", "c.dae", "train.idx",
                 NULL);
  g_test_message ("%s%s", r.out, r.err);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "72 training images of 12x12, 24 validation"));
  run_clear (&r);
  g_autoptr (DaeModel) c = cli_model ("c.dae");
  g_assert_cmpstr (dae_model_get_metadata (c, "arch"), ==, TOY_ARCH);
  g_assert_nonnull (strstr (dae_model_get_metadata (c, "init_from"), "a.dae sha256:"));
  g_assert_cmpstr (dae_model_get_metadata (c, "epochs"), ==, "1");
}

static void
test_cli_eval (void)
{
  cli_setup ();
  g_autofree char *a = cli_path ("a.dae");
  if (!g_file_test (a, G_FILE_TEST_EXISTS))
    {
      Run t = run_train (cli_dir, "--arch", TOY_ARCH, "--epochs", "1", "-q", "-o", "a.dae",
                         "train.idx", NULL);
      g_assert_cmpint (t.status, ==, 0);
      run_clear (&t);
    }
  Run r = run_train (cli_dir, "--eval", "a.dae", "--clean", "val.idx.gz", "--noise",
                     "gaussian:0.3", "--seed", "5", NULL);
  g_test_message ("%s%s", r.out, r.err);
  g_assert_cmpint (r.status, ==, 0);
  g_auto (GStrv) lines = g_strsplit (r.out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 6);
  g_assert_true (g_str_has_prefix (lines[0], "# "));
  const char *rows[3] = { "model", "noisy", "median3x3" };
  double psnr[3];
  for (int k = 0; k < 3; k++)
    {
      g_auto (GStrv) f = g_strsplit_set (lines[2 + k], " ", -1);
      g_assert_cmpstr (f[0], ==, rows[k]);
      char *end;
      const char *num = NULL;
      for (char **p = f + 1; *p; p++)
        if (**p)
          {
            num = *p;
            break;
          }
      psnr[k] = g_ascii_strtod (num, &end);
      g_assert_true (*end == '\0');
    }
  /* The noisy row is the noise model's output, scored by core/metrics. */
  g_autoptr (GError) error = NULL;
  g_autofree char *vp = cli_path ("val.idx.gz");
  guint nd, dims[3];
  g_autofree guint8 *b = dae_idx_load (vp, &nd, dims, &error);
  g_assert_no_error (error);
  const size_t count = (size_t) dims[0] * dims[1] * dims[2];
  g_autofree float *clean = g_new (float, count), *noisy = g_new (float, count);
  for (size_t i = 0; i < count; i++)
    clean[i] = b[i] / 255.0f;
  g_autoptr (DaeNoise) noise = dae_noise_new ("gaussian:0.3", NULL);
  dae_noise_apply (noise, 5, 0, dims[0], (size_t) dims[1] * dims[2], clean, noisy);
  g_assert_cmpfloat (fabs (psnr[1] - dae_psnr_mean (dims[0], dims[1], dims[2], noisy, clean)),
                     <=, 0.0005);
  run_clear (&r);

  r = run_train (cli_dir, "--eval", "a.dae", "--clean", "val.idx.gz", "--noisy", "val.idx.gz",
                 NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\nnoisy         100.000"));
  run_clear (&r);
}

static void
test_cli_usage (void)
{
  cli_setup ();
  const char *const cases[][8] = {
    { NULL },
    { "train.idx", NULL },
    { "-o", "x.dae", NULL },
    { "--frobnicate", "-o", "x.dae", "train.idx", NULL },
    { "--epochs", "0", "-o", "x.dae", "train.idx", NULL },
    { "--epochs", "many", "-o", "x.dae", "train.idx", NULL },
    { "--batch", "-3", "-o", "x.dae", "train.idx", NULL },
    { "--lr", "0", "-o", "x.dae", "train.idx", NULL },
    { "--loss", "hinge", "-o", "x.dae", "train.idx", NULL },
    { "--noise", "gauss:1", "-o", "x.dae", "train.idx", NULL },
    { "--arch", "c8,q", "-o", "x.dae", "train.idx", NULL },
    { "--arch", "c8", "--init-from", "a.dae", "-o", "x.dae", "train.idx", NULL },
    { "--val-noisy", "val.idx.gz", "-o", "x.dae", "train.idx", NULL },
    { "--val-split", "1.5", "-o", "x.dae", "train.idx", NULL },
    { "--eval", "a.dae", NULL },
    { "--eval", "a.dae", "--clean", "val.idx.gz", NULL },
    { "--clean", "val.idx.gz", "-o", "x.dae", "train.idx", NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *const *c = cases[i];
      Run r = run_train (cli_dir, c[0], c[0] ? c[1] : NULL, c[0] && c[1] ? c[2] : NULL,
                         c[0] && c[1] && c[2] ? c[3] : NULL,
                         c[0] && c[1] && c[2] && c[3] ? c[4] : NULL,
                         c[0] && c[1] && c[2] && c[3] && c[4] ? c[5] : NULL,
                         c[0] && c[1] && c[2] && c[3] && c[4] && c[5] ? c[6] : NULL, NULL);
      g_test_message ("case %u: exit %d: %s", i, r.status, r.err);
      g_assert_cmpint (r.status, ==, 2);
      g_assert_true (g_str_has_prefix (r.err, "dae-train: "));
      g_assert_nonnull (strstr (r.err, "--help"));
      g_assert_cmpstr (r.out, ==, "");
      run_clear (&r);
      g_autofree char *x = cli_path ("x.dae");
      g_assert_false (g_file_test (x, G_FILE_TEST_EXISTS));
    }
}

static void
test_cli_errors (void)
{
  cli_setup ();
  g_autoptr (GError) error = NULL;
  g_autofree char *bad = cli_path ("bad.idx");
  g_assert_true (g_file_set_contents (bad, "\0\0\x08\x03\0\0\0\x05\0\0\0\x0c\0\0\0\x0c\1\2", 18,
                                      &error));
  const char *const cases[][2] = {
    { "missing.idx", "missing.idx: " },
    { "bad.idx", "bad.idx: " },
    { "val.idx.gz", NULL }, /* fine data, but the output directory does not exist */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Run r = run_train (cli_dir, "--arch", TOY_ARCH, "--epochs", "1", "-q", "-o",
                         cases[i][1] ? "y.dae" : "no/such/dir/y.dae", cases[i][0], NULL);
      g_test_message ("%s: exit %d: %s", cases[i][0], r.status, r.err);
      g_assert_cmpint (r.status, ==, 1);
      g_assert_true (g_str_has_prefix (r.err, "dae-train: "));
      if (cases[i][1])
        g_assert_nonnull (strstr (r.err, cases[i][1]));
      /* One line. */
      g_assert_cmpint (strchr (r.err, '\n') - r.err, ==, (int) strlen (r.err) - 1);
      run_clear (&r);
      g_autofree char *y = cli_path ("y.dae");
      g_assert_false (g_file_test (y, G_FILE_TEST_EXISTS));
    }
}

/* An image whose header asks for more memory than there is: one line and
 * exit 1, not GLib's abort (which a g_malloc sized by the header gave). */
static void
test_cli_out_of_memory (void)
{
#if defined(__SANITIZE_ADDRESS__)
  g_test_skip ("ASan reserves terabytes of shadow memory: RLIMIT_AS cannot apply");
  return;
#endif
  cli_setup ();
  g_autofree char *dir = cli_path ("wide");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_autofree char *path = g_build_filename (dir, "wide.pgm", NULL);
  /* 2^29 x 1: within the default pixel limit, but 2 GiB of floats. */
  static const char pgm[] = "P5\n536870912 1\n255\n\1\2\3";
  g_assert_true (g_file_set_contents (path, pgm, sizeof pgm - 1, NULL));
  child_mem_limit = (rlim_t) 1 << 30;
  Run r = run_train (cli_dir, "--arch", TOY_ARCH, "--patch", "12", "-o", "w.dae", "wide", NULL);
  child_mem_limit = 0;
  g_test_message ("exit %d: %s", r.status, r.err);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_true (g_str_has_prefix (r.err, "dae-train: "));
  g_assert_nonnull (strstr (r.err, "wide.pgm"));
  g_assert_nonnull (strstr (r.err, "memory"));
  g_assert_cmpint (strchr (r.err, '\n') - r.err, ==, (int) strlen (r.err) - 1);
  run_clear (&r);
}

/* Directories of images: random crops, a checksum of the directory. */
static void
test_cli_images (void)
{
  cli_setup ();
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = cli_path ("pages");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  const guint sizes[2][2] = { { 40, 30 }, { 17, 25 } };
  for (int k = 0; k < 2; k++)
    {
      g_autofree char *name = g_strdup_printf ("page%d.%s", k, k ? "png" : "pgm");
      g_autofree char *path = g_build_filename (dir, name, NULL);
      FILE *fp = fopen (path, "wb");
      g_assert_nonnull (fp);
      DaeImageInfo info = { .width = sizes[k][0], .height = sizes[k][1], .channels = 1,
                            .maxval = 255 };
      g_assert_true (dae_image_info_set_format (&info, k ? DAE_IMAGE_FORMAT_PNG
                                                         : DAE_IMAGE_FORMAT_PGM, &error));
      g_autoptr (DaeImageWriter) w = dae_image_writer_new (fp, &info, &error);
      g_assert_no_error (error);
      g_autofree guint16 *row = g_new (guint16, info.width);
      for (guint y = 0; y < info.height; y++)
        {
          for (guint x = 0; x < info.width; x++)
            row[x] = (guint16) (((x / 3 + y / 4 + k) % 2) * 230 + 10);
          g_assert_true (dae_image_writer_write_rows (w, 1, row, &error));
        }
      g_assert_true (dae_image_writer_finish (w, &error));
      fclose (fp);
    }
  Run r = run_train (cli_dir, "--arch", TOY_ARCH, "--patch", "12", "--patches", "200",
                     "--epochs", "2", "--batch", "32", "--val-split", "0.1", "-o", "p.dae",
                     "pages", NULL);
  g_test_message ("%s%s", r.out, r.err);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "180 training images of 12x12, 20 validation"));
  run_clear (&r);
  g_autoptr (DaeModel) m = cli_model ("p.dae");
  g_assert_true (g_str_has_prefix (dae_model_get_metadata (m, "data"),
                                   "pages/ (2 files) sha256-of-sha256sum:"));
  guint ph, pw;
  dae_model_get_patch_size (m, &ph, &pw);
  g_assert_cmpuint (ph, ==, 12);
  g_assert_cmpuint (pw, ==, 12);
  /* Too small images for the patch: an error, not a crash. */
  r = run_train (cli_dir, "--arch", TOY_ARCH, "--patch", "48", "-o", "q.dae", "pages", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "48x48"));
  run_clear (&r);
  for (int k = 0; k < 2; k++)
    {
      g_autofree char *name = g_strdup_printf ("page%d.%s", k, k ? "png" : "pgm");
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

/* Every option of --help is in the man page. */
static void
test_cli_man (void)
{
  cli_setup ();
  Run r = run_train (cli_dir, "--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr (GError) error = NULL;
  g_autofree char *man_path = g_test_build_filename (G_TEST_DIST, "..", "man", "dae-train.1",
                                                     NULL);
  g_autofree char *man = NULL;
  g_assert_true (g_file_get_contents (man_path, &man, NULL, &error));
  g_assert_no_error (error);
  guint n = 0;
  g_auto (GStrv) lines = g_strsplit (r.out, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      /* Option lines: "  -o, --output=FILE   ..." or "  --lr=X   ...". */
      const char *s = *l + strspn (*l, " ");
      if (s[0] == '-' && s[1] != '-' && s[2] == ',')
        s += 4;
      if (s == *l || !g_str_has_prefix (s, "--"))
        continue;
      g_autofree char *name = g_strndup (s + 2, strcspn (s + 2, "= "));
      g_autofree char *escaped = g_strdup_printf ("\\-\\-%s", name);
      if (strstr (man, escaped) == NULL)
        g_error ("--%s is not in man/dae-train.1", name);
      n++;
    }
  g_test_message ("%u options checked", n);
  g_assert_cmpuint (n, >=, 25);
  run_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train/backward/conv3x3", test_conv3x3_backward);
  g_test_add_func ("/train/backward/convt2x2", test_convt2x2_backward);
  g_test_add_func ("/train/backward/pool-upsample", test_pool_upsample_backward);
  g_test_add_func ("/train/backward/maxpool2-ties", test_maxpool2_ties);
  g_test_add_func ("/train/backward/maxpool2-relu", test_maxpool2_relu_backward);
  g_test_add_func ("/train/backward/activations", test_activation_backward);
  g_test_add_func ("/train/backward/gemm-shapes", test_gemm_backward_shapes);
  g_test_add_func ("/train/network-gradients", test_network_gradients);
  g_test_add_func ("/train/network-gradients-isa", test_network_gradients_isa);
  g_test_add_func ("/train/ink-weight/gradients", test_ink_weight_gradients);
  g_test_add_func ("/train/ink-weight/loss", test_ink_weight_loss);
  g_test_add_data_func ("/train/reference/tutorial", "tutorial", test_reference);
  g_test_add_data_func ("/train/reference/unet", "unet", test_reference);
  g_test_add_data_func ("/train/reference/tutorial-adam", "tutorial", test_reference_adam);
  g_test_add_data_func ("/train/reference/unet-adam", "unet", test_reference_adam);
  g_test_add_func ("/train/thread-independence", test_thread_independence);
  g_test_add_func ("/train/learns", test_training_learns);
  g_test_add_func ("/train/evaluate", test_evaluate_matches_runner);
  g_test_add_func ("/train/errors", test_trainer_errors);
  g_test_add_func ("/train/glorot", test_glorot);
  g_test_add_func ("/train/arch", test_arch);
  g_test_add_func ("/train/noise", test_noise);
  g_test_add_func ("/train/random-crops", test_random_crops);
  g_test_add_func ("/train/cli/train", test_cli_train);
  g_test_add_func ("/train/cli/eval", test_cli_eval);
  g_test_add_func ("/train/cli/images", test_cli_images);
  g_test_add_func ("/train/cli/usage", test_cli_usage);
  g_test_add_func ("/train/cli/errors", test_cli_errors);
  g_test_add_func ("/train/cli/out-of-memory", test_cli_out_of_memory);
  g_test_add_func ("/train/cli/man", test_cli_man);
  const int status = g_test_run ();
  if (cli_dir)
    {
      /* Leave nothing behind. */
      g_autoptr (GDir) d = g_dir_open (cli_dir, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)))
        {
          g_autofree char *p = g_build_filename (cli_dir, name, NULL);
          g_unlink (p);
        }
      g_rmdir (cli_dir);
    }
  return status;
}
