/* test-reference.c: the forward pass matches PyTorch.
 *
 * data/ref/ holds models with random weights written by tools/make-reference,
 * inputs, and PyTorch's float32 output of every layer (see the manifests
 * data/ref/<name>.txt).  Both convolution paths must match every layer to
 * TOLERANCE, and each tile's result must be bit-identical whatever the batch
 * it runs in (dae_runner_forward's promise). */
#include "dae.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#define TOLERANCE 1e-5

/* Batch sizes each check runs with; tiles are taken cyclically, so a batch
 * can be larger than the fixture (and then holds a tile twice). */
static const size_t batch_sizes[] = { 1, 3, 7 };

typedef struct {
  float *data;
  size_t count; /* floats */
  gint shape[4];
  gsize rank;
} Array;

typedef struct {
  char *name;
  GKeyFile *manifest;
  DaeModel *model;
} Fixture;

typedef struct {
  const char *name;
  DaeConvPath path;
} Case;

/* Marks the test failed and logs why; the test goes on, so one run shows
 * every layer that is off. */
G_GNUC_PRINTF (1, 2) static void
fail (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_test_message ("FAIL: %s", message);
  g_test_fail_printf ("%s", message);
}

static const char *
path_name (DaeConvPath path)
{
  return path == DAE_CONV_GEMM       ? "gemm"
         : path == DAE_CONV_DIRECT   ? "direct"
         : path == DAE_CONV_WINOGRAD ? "winograd"
                                     : "auto";
}

static void
array_clear (Array *a)
{
  g_clear_pointer (&a->data, g_free);
}

/* Reads group's raw float32 little-endian file, checking its size against
 * the shape the manifest gives. */
static Array
array_load (GKeyFile *manifest, const char *group)
{
  Array a = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *file = g_key_file_get_string (manifest, group, "file", &error);
  g_assert_no_error (error);
  g_autofree gint *shape = g_key_file_get_integer_list (manifest, group, "shape",
                                                        &a.rank, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (a.rank, >=, 1);
  g_assert_cmpuint (a.rank, <=, 4);
  a.count = 1;
  for (gsize i = 0; i < a.rank; i++)
    {
      g_assert_cmpint (shape[i], >, 0);
      a.shape[i] = shape[i];
      a.count *= (size_t) shape[i];
    }
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "ref", file, NULL);
  g_autofree char *bytes = NULL;
  gsize size;
  g_file_get_contents (path, &bytes, &size, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, a.count * 4);
  a.data = g_new (float, a.count);
  for (size_t i = 0; i < a.count; i++)
    {
      const guint8 *p = (const guint8 *) bytes + 4 * i;
      guint32 u = p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
      memcpy (&a.data[i], &u, 4);
    }
  return a;
}

static Fixture *
fixture_load (const char *name)
{
  Fixture *f = g_new0 (Fixture, 1);
  g_autoptr (GError) error = NULL;
  f->name = g_strdup (name);
  g_autofree char *txt = g_strconcat (name, ".txt", NULL);
  g_autofree char *manifest = g_test_build_filename (G_TEST_DIST, "data", "ref", txt, NULL);
  f->manifest = g_key_file_new ();
  g_key_file_load_from_file (f->manifest, manifest, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  g_autofree char *file = g_key_file_get_string (f->manifest, "model", "file", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "ref", file, NULL);
  f->model = dae_model_load_file (path, &error);
  g_assert_no_error (error);
  return f;
}

static void
fixture_free (Fixture *f)
{
  g_key_file_free (f->manifest);
  dae_model_free (f->model);
  g_free (f->name);
  g_free (f);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Fixture, fixture_free)

static gint64
manifest_int (GKeyFile *manifest, const char *group, const char *key)
{
  g_autoptr (GError) error = NULL;
  gint64 v = g_key_file_get_int64 (manifest, group, key, &error);
  g_assert_no_error (error);
  return v;
}

/* The model is the one PyTorch ran: same parameter count (in dae_model_*
 * and in the summary's total), layer count, metadata and layer shapes. */
static void
test_model (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (Fixture) f = fixture_load (c->name);
  gint64 n_params = manifest_int (f->manifest, "model", "n_params");
  g_assert_cmpuint (dae_model_get_n_params (f->model), ==, (guint64) n_params);
  g_assert_cmpuint (dae_model_get_n_layers (f->model), ==,
                    manifest_int (f->manifest, "model", "n_layers"));

  g_autofree char *summary = dae_model_describe (f->model);
  const char *total = strstr (summary, "Total params:");
  g_assert_nonnull (total);
  GString *digits = g_string_new (NULL);
  for (const char *p = total + strlen ("Total params:"); *p != '\n' && *p; p++)
    if (g_ascii_isdigit (*p))
      g_string_append_c (digits, *p);
    else
      g_assert_true (*p == ',' || *p == ' ');
  g_assert_cmpstr (digits->str, !=, "");
  g_assert_cmpuint (g_ascii_strtoull (digits->str, NULL, 10), ==, (guint64) n_params);
  g_string_free (digits, TRUE);
  g_test_message ("%s: %" G_GINT64_FORMAT " parameters (PyTorch and C agree)", c->name,
                  n_params);

  g_autofree char *seed = g_key_file_get_string (f->manifest, "model", "seed", NULL);
  g_assert_cmpstr (dae_model_get_metadata (f->model, "seed"), ==, seed);
  g_assert_cmpstr (dae_model_get_metadata (f->model, "generator"), ==, "tools/make-reference");

  guint ph, pw;
  dae_model_get_patch_size (f->model, &ph, &pw);
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeRunner) runner = dae_runner_new (f->model, ph, pw, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < dae_model_get_n_layers (f->model); i++)
    {
      g_autofree char *group = g_strdup_printf ("layer%u", i);
      gsize rank;
      g_autofree gint *shape = g_key_file_get_integer_list (f->manifest, group, "shape",
                                                            &rank, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (rank, ==, 4);
      guint oc, oh, ow;
      g_assert_true (dae_runner_get_output_shape (runner, i, &oc, &oh, &ow));
      g_assert_cmpint (oc, ==, shape[1]);
      g_assert_cmpint (oh, ==, shape[2]);
      g_assert_cmpint (ow, ==, shape[3]);
    }
}

static gboolean
is_batch_size (size_t n)
{
  for (guint i = 0; i < G_N_ELEMENTS (batch_sizes); i++)
    if (batch_sizes[i] == n)
      return TRUE;
  return FALSE;
}

/* Runs layers 0..layer of runner on the tiles of input, in batches of each
 * size in batch_sizes, and compares each tile's result with the reference
 * (its first ref_tiles tiles are known) and with the same tile's result in
 * the other batches.  Returns the largest |C - PyTorch|. */
static double
check_layer (DaeRunner *runner, const Array *input, guint layer, gboolean whole,
             const Array *ref, const char *what)
{
  const size_t n_tiles = input->shape[0];
  const size_t in_floats = input->count / n_tiles;
  const size_t ref_tiles = ref->shape[0];
  guint oc, oh, ow;
  g_assert_true (dae_runner_get_output_shape (runner, layer, &oc, &oh, &ow));
  const size_t out_floats = (size_t) oc * oh * ow;
  g_assert_cmpuint (ref->count, ==, ref_tiles * out_floats);
  g_assert_cmpuint (ref_tiles, <=, n_tiles);

  g_autofree float *first = g_new (float, n_tiles * out_floats);
  g_autofree gboolean *seen = g_new0 (gboolean, n_tiles);
  double max_err = 0;
  for (guint s = 0; s < G_N_ELEMENTS (batch_sizes) + 1; s++)
    {
      /* The last round is the fixture's own batch. */
      const size_t b = s < G_N_ELEMENTS (batch_sizes) ? batch_sizes[s] : n_tiles;
      if (s == G_N_ELEMENTS (batch_sizes) && is_batch_size (n_tiles))
        continue;
      g_autofree float *in = g_new (float, b * in_floats);
      g_autofree float *out = g_new (float, b * out_floats);
      g_autofree size_t *tile = g_new (size_t, b);
      gboolean reported = FALSE;
      for (size_t start = 0; start < n_tiles; start += b)
        {
          for (size_t j = 0; j < b; j++)
            {
              tile[j] = (start + j) % n_tiles;
              memcpy (in + j * in_floats, input->data + tile[j] * in_floats,
                      in_floats * sizeof (float));
            }
          /* Poison, so a tile the runner leaves unwritten cannot pass. */
          for (size_t k = 0; k < b * out_floats; k++)
            out[k] = NAN;
          g_autoptr (GError) error = NULL;
          gboolean ok = whole ? dae_runner_forward (runner, b, in, out, &error)
                              : dae_runner_forward_to (runner, b, in, layer, out, &error);
          g_assert_no_error (error);
          g_assert_true (ok);
          for (size_t j = 0; j < b; j++)
            {
              const float *o = out + j * out_floats;
              if (tile[j] < ref_tiles)
                {
                  const float *r = ref->data + tile[j] * out_floats;
                  for (size_t k = 0; k < out_floats; k++)
                    {
                      double e = fabs ((double) o[k] - r[k]);
                      if (!(e <= TOLERANCE) && !reported)
                        {
                          /* Channel, row, column locate the first miss. */
                          fail ("%s, batch of %zu: tile %zu channel %zu row %zu "
                                              "column %zu: C %.9g, PyTorch %.9g", what, b,
                                              tile[j], k / (oh * ow), k / ow % oh, k % ow,
                                              o[k], r[k]);
                          reported = TRUE;
                        }
                      if (!(e <= max_err))
                        max_err = isnan (e) ? INFINITY : e;
                    }
                }
              float *canon = first + tile[j] * out_floats;
              if (!seen[tile[j]])
                {
                  memcpy (canon, o, out_floats * sizeof (float));
                  seen[tile[j]] = TRUE;
                }
              else if (memcmp (canon, o, out_floats * sizeof (float)) != 0 && !reported)
                {
                  double d = 0;
                  for (size_t k = 0; k < out_floats; k++)
                    d = MAX (d, fabs ((double) canon[k] - o[k]));
                  fail ("%s: tile %zu differs (by up to %.3g) in a batch of "
                                      "%zu from a batch of 1", what, tile[j], d, b);
                  reported = TRUE;
                }
            }
        }
    }
  return max_err;
}

static DaeRunner *
runner_for (const Fixture *f, guint h, guint w, DaeConvPath path)
{
  g_autoptr (GError) error = NULL;
  DaeRunner *runner = dae_runner_new (f->model, h, w, &error);
  g_assert_no_error (error);
  dae_runner_set_conv_path (runner, path);
  return runner;
}

/* Every layer's output (dae_runner_forward_to). */
static void
test_layers (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (Fixture) f = fixture_load (c->name);
  guint ph, pw;
  dae_model_get_patch_size (f->model, &ph, &pw);
  g_autoptr (DaeRunner) runner = runner_for (f, ph, pw, c->path);
  Array input = array_load (f->manifest, "input");
  double worst = 0;
  for (guint i = 0; i < dae_model_get_n_layers (f->model); i++)
    {
      g_autofree char *group = g_strdup_printf ("layer%u", i);
      Array ref = array_load (f->manifest, group);
      g_autofree char *kind = g_key_file_get_string (f->manifest, group, "kind", NULL);
      g_autofree char *what = g_strdup_printf ("%s %s layer %u (%s)", c->name,
                                               path_name (c->path), i, kind);
      double err = check_layer (runner, &input, i, FALSE, &ref, what);
      g_test_message ("%s: max |C - PyTorch| = %.3g over %d tile(s)", what, err, ref.shape[0]);
      worst = MAX (worst, err);
      array_clear (&ref);
    }
  g_test_message ("%s %s: every layer: max |C - PyTorch| = %.3g (tolerance %g)", c->name,
                  path_name (c->path), worst, TOLERANCE);
  array_clear (&input);
}

/* The network's output (dae_runner_forward), at the patch size and at any
 * other tile size the fixture has. */
static void
test_output (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (Fixture) f = fixture_load (c->name);
  g_auto (GStrv) groups = g_key_file_get_groups (f->manifest, NULL);
  guint n_checked = 0;
  for (char **g = groups; *g; g++)
    {
      if (strcmp (*g, "input") != 0 && !g_str_has_suffix (*g, ".input"))
        continue;
      /* "input" pairs with "output", "grad.input" with "grad.output". */
      g_autofree char *prefix = g_strndup (*g, strlen (*g) - strlen ("input"));
      g_autofree char *out_group = g_strconcat (prefix, "output", NULL);
      Array input = array_load (f->manifest, *g);
      Array ref = array_load (f->manifest, out_group);
      g_assert_cmpuint (input.rank, ==, 4);
      g_assert_cmpint (input.shape[1], ==, dae_model_get_channels (f->model));
      g_autoptr (DaeRunner) runner = runner_for (f, input.shape[2], input.shape[3], c->path);
      g_autofree char *what = g_strdup_printf ("%s %s [%s] %dx%d", c->name,
                                               path_name (c->path), out_group,
                                               input.shape[2], input.shape[3]);
      double err = check_layer (runner, &input, dae_model_get_n_layers (f->model) - 1,
                                TRUE, &ref, what);
      g_test_message ("%s: max |C - PyTorch| = %.3g over %d tiles", what, err, ref.shape[0]);
      array_clear (&input);
      array_clear (&ref);
      n_checked++;
    }
  g_assert_cmpuint (n_checked, >=, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  static const char *const nets[] = { "tutorial", "unet" };
  static const DaeConvPath paths[] = { DAE_CONV_DIRECT, DAE_CONV_GEMM, DAE_CONV_WINOGRAD };
  static Case cases[G_N_ELEMENTS (nets)][G_N_ELEMENTS (paths)];
  for (guint i = 0; i < G_N_ELEMENTS (nets); i++)
    {
      for (guint j = 0; j < G_N_ELEMENTS (paths); j++)
        {
          cases[i][j] = (Case){ nets[i], paths[j] };
          g_autofree char *out = g_strdup_printf ("/reference/%s/%s/output", nets[i],
                                                  path_name (paths[j]));
          g_autofree char *layers = g_strdup_printf ("/reference/%s/%s/layers", nets[i],
                                                     path_name (paths[j]));
          g_test_add_data_func (out, &cases[i][j], test_output);
          g_test_add_data_func (layers, &cases[i][j], test_layers);
        }
      g_autofree char *model = g_strdup_printf ("/reference/%s/model", nets[i]);
      g_test_add_data_func (model, &cases[i][0], test_model);
    }
  return g_test_run ();
}
