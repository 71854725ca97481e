/* test-model.c: the .dae format: round trips, the summary, and the loader's
 * refusal of every kind of corruption (truncation, flipped bytes, wrong
 * magic/version, inconsistent shapes, absurd sizes). */
#include "dae.h"

#include <glib/gstdio.h>
#include <string.h>
#include <zlib.h>

/* The tutorial's network (see README). */
static DaeModel *
tutorial_model (guint seed)
{
  DaeModel *m = dae_model_new (1, 28, 28, NULL);
  const struct { DaeLayerKind k; DaeActivation a; guint c; } layers[] = {
    { DAE_LAYER_CONV3X3, DAE_ACT_RELU, 32 }, { DAE_LAYER_MAXPOOL2, 0, 0 },
    { DAE_LAYER_CONV3X3, DAE_ACT_RELU, 32 }, { DAE_LAYER_MAXPOOL2, 0, 0 },
    { DAE_LAYER_CONV3X3, DAE_ACT_RELU, 32 }, { DAE_LAYER_UPSAMPLE2, 0, 0 },
    { DAE_LAYER_CONV3X3, DAE_ACT_RELU, 32 }, { DAE_LAYER_UPSAMPLE2, 0, 0 },
    { DAE_LAYER_CONV3X3, DAE_ACT_SIGMOID, 1 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (layers); i++)
    g_assert_true (dae_model_add_layer (m, layers[i].k, layers[i].a, layers[i].c, -1, NULL));
  GRand *rng = g_rand_new_with_seed (seed);
  for (guint i = 0; i < dae_model_get_n_layers (m); i++)
    {
      size_t nw;
      float *bias;
      float *w = dae_model_layer_params (m, i, &nw, &bias);
      guint c;
      dae_model_get_layer (m, i, NULL, NULL, &c, NULL);
      for (size_t j = 0; w && j < nw; j++)
        w[j] = g_rand_double_range (rng, -0.2, 0.2);
      for (guint j = 0; bias && j < c; j++)
        bias[j] = g_rand_double_range (rng, -0.1, 0.1);
    }
  g_rand_free (rng);
  dae_model_set_metadata (m, "command", "dae-train --epochs 20");
  dae_model_set_metadata (m, "data", "train-images-idx3-ubyte.gz sha256=00");
  return m;
}

/* A small model with a skip, so that every byte can be corrupted in turn. */
static DaeModel *
tiny_model (void)
{
  DaeModel *m = dae_model_new (1, 4, 4, NULL);
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONV3X3, DAE_ACT_RELU, 2, -1, NULL));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_MAXPOOL2, 0, 0, -1, NULL));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONVT2X2, DAE_ACT_RELU, 2, -1, NULL));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONCAT, 0, 0, 0, NULL));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_CONV3X3, DAE_ACT_NONE, 1, -1, NULL));
  g_assert_true (dae_model_add_layer (m, DAE_LAYER_ADD, DAE_ACT_SIGMOID, 0, -1, NULL));
  float *w = dae_model_layer_params (m, 0, NULL, NULL);
  w[4] = 1.0f;
  dae_model_set_metadata (m, "k", "v");
  return m;
}

static void
assert_same_model (const DaeModel *a, const DaeModel *b)
{
  size_t sa, sb;
  g_autofree guint8 *da = dae_model_save_memory (a, &sa);
  g_autofree guint8 *db = dae_model_save_memory (b, &sb);
  g_assert_cmpmem (da, sa, db, sb);
}

static void
test_round_trip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = tutorial_model (1);
  g_assert_cmpuint (dae_model_get_n_params (m), ==, 28353);

  size_t size;
  g_autofree guint8 *bytes = dae_model_save_memory (m, &size);
  g_autoptr (DaeModel) back = dae_model_load_memory (bytes, size, &error);
  g_assert_no_error (error);
  assert_same_model (m, back);
  g_assert_cmpstr (dae_model_get_metadata (back, "command"), ==, "dae-train --epochs 20");
  g_auto (GStrv) keys = dae_model_get_metadata_keys (back);
  g_assert_cmpuint (g_strv_length (keys), ==, 2);
  g_assert_cmpstr (keys[0], ==, "command");

  g_autofree char *dir = g_dir_make_tmp ("dae-model-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "m.dae", NULL);
  g_assert_true (dae_model_save_file (m, path, &error));
  g_autoptr (DaeModel) fromfile = dae_model_load_file (path, &error);
  g_assert_no_error (error);
  assert_same_model (m, fromfile);
  g_autoptr (DaeModel) copy = dae_model_copy (m);
  assert_same_model (m, copy);
  g_unlink (path);
  g_rmdir (dir);

  dae_model_set_metadata (m, "command", NULL);
  g_assert_null (dae_model_get_metadata (m, "command"));
}

static void
test_describe (void)
{
  g_autoptr (DaeModel) m = tutorial_model (1);
  g_autofree char *s = dae_model_describe (m);
  g_test_message ("%s", s);
  g_assert_nonnull (strstr (s, "Total params: 28,353"));
  g_assert_nonnull (strstr (s, "(None, 7, 7, 32)"));
  g_assert_nonnull (strstr (s, "9,248"));   /* 32*32*9 + 32 */
  g_assert_nonnull (strstr (s, "sigmoid"));
  /* One row per layer, plus input. */
  g_auto (GStrv) lines = g_strsplit (s, "\n", -1);
  guint rows = 0;
  for (guint i = 0; lines[i]; i++)
    rows += g_regex_match_simple ("^ [0-9]+ ", lines[i], 0, 0);
  g_assert_cmpuint (rows, ==, 9);
}

static void
refresh_crc (guint8 *b, size_t size)
{
  guint32 c = crc32 (crc32 (0, NULL, 0), b, size - 4);
  b[size - 4] = c;
  b[size - 3] = c >> 8;
  b[size - 2] = c >> 16;
  b[size - 1] = c >> 24;
}

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = v;
  p[1] = v >> 8;
  p[2] = v >> 16;
  p[3] = v >> 24;
}

/* Loads a corrupted copy; it must fail with a message containing `needle`. */
static void
assert_refused (const guint8 *b, size_t size, int code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeModel) m = dae_model_load_memory (b, size, &error);
  g_assert_null (m);
  g_assert_nonnull (error);
  g_assert_true (error->domain == DAE_ERROR);
  if (code >= 0)
    g_assert_cmpint (error->code, ==, code);
  g_assert_null (strchr (error->message, '\n'));
  if (needle && !strstr (error->message, needle))
    g_error ("message \"%s\" does not mention \"%s\"", error->message, needle);
}

static void
test_truncated (void)
{
  g_autoptr (DaeModel) big = tutorial_model (2);
  size_t size;
  g_autofree guint8 *b = dae_model_save_memory (big, &size);
  guint refused = 0;
  for (size_t cut = 0; cut < size; cut += 7, refused++)
    assert_refused (b, cut, DAE_ERROR_FORMAT, cut == 0 ? "magic" : NULL);
  g_test_message ("tutorial model: %u truncations refused", refused);

  g_autoptr (DaeModel) tiny = tiny_model ();
  g_autofree guint8 *t = dae_model_save_memory (tiny, &size);
  for (size_t cut = 0; cut < size; cut++)
    assert_refused (t, cut, -1, NULL);
  /* Truncated and CRC fixed up: the structure itself must notice. */
  for (size_t cut = 44; cut + 4 < size; cut++)
    {
      g_autofree guint8 *c = g_memdup2 (t, cut + 4);
      refresh_crc (c, cut + 4);
      assert_refused (c, cut + 4, -1, NULL);
    }
}

static void
test_flipped (void)
{
  g_autoptr (DaeModel) tiny = tiny_model ();
  size_t size;
  g_autofree guint8 *t = dae_model_save_memory (tiny, &size);
  for (size_t i = 0; i < size; i++)
    for (guint bit = 0; bit < 8; bit++)
      {
        g_autofree guint8 *c = g_memdup2 (t, size);
        c[i] ^= 1u << bit;
        assert_refused (c, size, -1, NULL);
      }
  /* With the CRC fixed up, a flip must still never crash the loader; if it
   * is accepted, the model it gives must be self-consistent. */
  guint accepted = 0, refused = 0;
  for (size_t i = 0; i + 4 < size; i++)
    for (guint bit = 0; bit < 8; bit++)
      {
        g_autofree guint8 *c = g_memdup2 (t, size);
        c[i] ^= 1u << bit;
        refresh_crc (c, size);
        g_autoptr (GError) error = NULL;
        g_autoptr (DaeModel) m = dae_model_load_memory (c, size, &error);
        if (m == NULL)
          {
            refused++;
            g_assert_nonnull (error);
            continue;
          }
        accepted++;
        size_t s2;
        g_autofree guint8 *again = dae_model_save_memory (m, &s2);
        g_assert_cmpmem (again, s2, c, size);
      }
  g_test_message ("CRC-fixed flips: %u refused, %u accepted (parameter or text bits)",
                  refused, accepted);
  g_assert_cmpuint (refused, >, 0);
}

static void
test_bad_fields (void)
{
  g_autoptr (DaeModel) tiny = tiny_model ();
  size_t size;
  g_autofree guint8 *t = dae_model_save_memory (tiny, &size);
  struct {
    size_t offset;
    guint32 value;
    int code;
    const char *needle;
  } cases[] = {
    { 0, 0x45414488, DAE_ERROR_FORMAT, "magic" },
    { 8, 2, DAE_ERROR_UNSUPPORTED, "version 2" },
    { 12, 0, DAE_ERROR_LIMIT, "channels" },
    { 12, 0x7fffffff, DAE_ERROR_LIMIT, "channels" },
    { 12, 2, DAE_ERROR_SHAPE, NULL },                 /* in != out channels */
    { 16, 1000000000, DAE_ERROR_LIMIT, "patch size" },
    { 20, 5, DAE_ERROR_SHAPE, NULL },                 /* odd patch: no chain */
    { 24, 0, DAE_ERROR_LIMIT, "layer count" },
    { 24, 0xffffffff, DAE_ERROR_LIMIT, "layer count" },
    { 24, 7, -1, NULL },
    { 28, 0xffffffff, DAE_ERROR_LIMIT, "metadata count" },
    { 28, 2, DAE_ERROR_FORMAT, "metadata key 1" },
    { 32, 0xffffffff, DAE_ERROR_LIMIT, "parameter count" },
    { 32, 3, DAE_ERROR_SHAPE, "parameters" },
    { 36, 1, DAE_ERROR_LIMIT, "parameter count" },
    { 40, 9, DAE_ERROR_UNSUPPORTED, "kind" },         /* layer 0 kind */
    { 44, 3, DAE_ERROR_UNSUPPORTED, "activation" },
    { 48, 5, DAE_ERROR_FORMAT, "kernel size" },
    { 52, 3, DAE_ERROR_SHAPE, "parameters" },         /* out_c changed */
    { 52, 0x80000000u, DAE_ERROR_LIMIT, "output channels" },
    { 56, 0, DAE_ERROR_FORMAT, "source" },
    { 60, 1, DAE_ERROR_FORMAT, "reserved" },
    { 64, DAE_LAYER_UPSAMPLE2, DAE_ERROR_SHAPE, NULL }, /* pool -> upsample */
    { 40 + 3 * 24 + 16, 3, DAE_ERROR_SHAPE, "source" }, /* concat from itself */
    { 40 + 3 * 24 + 16, 0xfffffff0u, DAE_ERROR_SHAPE, "source" },
    { 40 + 5 * 24 + 16, 1, DAE_ERROR_SHAPE, "channels" }, /* add 1ch + 2ch */
    { 40 + 6 * 24, 0, DAE_ERROR_FORMAT, "metadata key 0" },
    { 40 + 6 * 24, 1000, DAE_ERROR_FORMAT, "metadata key 0" },
    { 40 + 6 * 24 + 5, 0x7fffffff, DAE_ERROR_FORMAT, "metadata value 0" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree guint8 *c = g_memdup2 (t, size);
      put32 (c + cases[i].offset, cases[i].value);
      refresh_crc (c, size);
      g_test_message ("case %u: offset %zu = %u", i, cases[i].offset, cases[i].value);
      assert_refused (c, size, cases[i].code, cases[i].needle);
    }

  /* Bad CRC alone. */
  g_autofree guint8 *c = g_memdup2 (t, size);
  c[size - 1] ^= 0x40;
  assert_refused (c, size, DAE_ERROR_FORMAT, "CRC");

  /* A NaN parameter, invalid UTF-8, an extra byte. */
  g_autofree guint8 *nan = g_memdup2 (t, size);
  put32 (nan + size - 8, 0x7fc00000);
  refresh_crc (nan, size);
  assert_refused (nan, size, DAE_ERROR_FORMAT, "finite");
  g_autofree guint8 *utf = g_memdup2 (t, size);
  utf[40 + 6 * 24 + 4] = 0xff;
  refresh_crc (utf, size);
  assert_refused (utf, size, DAE_ERROR_FORMAT, "UTF-8");
  g_autofree guint8 *longer = g_malloc (size + 1);
  memcpy (longer, t, size - 4);
  longer[size - 4] = 0;
  refresh_crc (longer, size + 1);
  assert_refused (longer, size + 1, DAE_ERROR_FORMAT, "parameters");
}

static void
test_load_file_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (dae_model_load_file ("/nonexistent/x.dae", &error));
  g_assert_error (error, DAE_ERROR, DAE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/x.dae"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model/round-trip", test_round_trip);
  g_test_add_func ("/model/describe", test_describe);
  g_test_add_func ("/model/truncated", test_truncated);
  g_test_add_func ("/model/flipped", test_flipped);
  g_test_add_func ("/model/bad-fields", test_bad_fields);
  g_test_add_func ("/model/load-file-errors", test_load_file_errors);
  return g_test_run ();
}
