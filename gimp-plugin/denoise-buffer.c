/* denoise-buffer.c: GeglBuffer rows in, DaeDenoiser, GeglBuffer rows out.
 *
 * The tiling, the model, the colour handling and --invert all live in
 * core/ (DaeDenoiser); this file only moves rows.  The rectangle is read
 * with a halo of one patch so that every tile covering a pixel of it reads
 * real neighbours, not the mirror image the denoiser makes at its borders. */
#include "denoise-buffer.h"

#include <string.h>

/* Rows read from GEGL per step: small enough that a preview no longer wanted
 * stops soon (at stride 1 a strip of 16 rows is 16 rows of tiles). */
#define STRIP_ROWS 16

const Babl *
denoise_buffer_format (GeglBuffer *buffer)
{
  return denoise_format_for (gegl_buffer_get_format (buffer));
}

/* The largest sample of an integer format the denoiser is fed in; 0 for
 * float. */
static guint
format_max (const Babl *format)
{
  const Babl *type = babl_format_get_type (format, 0);
  return type == babl_type ("u8") ? 255u : type == babl_type ("u16") ? 65535u : 0u;
}

const Babl *
denoise_format_for (const Babl *format)
{
  const gboolean alpha = babl_format_has_alpha (format);
  const gboolean gray = babl_format_get_n_components (format) - (alpha ? 1 : 0) == 1;
  /* Integer images stay integer: babl's integer-to-float paths, picked by
   * timing, round differently from run to run (dae-filter's output of a
   * 16-bit page came back different in most samples once in six runs);
   * the samples are scaled here, as dae-filter scales them. */
  const guint max = format_max (format);
  g_autofree char *name = g_strdup_printf ("%s %s", gray ? (alpha ? "Y'A" : "Y'")
                                                         : (alpha ? "R'G'B'A" : "R'G'B'"),
                                           max == 255 ? "u8" : max == 65535 ? "u16" : "float");
  return babl_format_with_space (name, format);
}

/* n samples of format (raw) into floats in [0,1]: 8- and 16-bit ones as
 * dae-filter scales them; float samples clamped there (float images may
 * hold anything; NaN becomes 0), alpha too. */
static void
samples_to_float (const void *raw, guint max, size_t n, float *out)
{
  if (max == 255 || max == 65535)
    {
      dae_samples_to_float (raw, max == 255 ? 1 : 2, max, n, out);
      return;
    }
  const float *f = raw;
  for (size_t i = 0; i < n; i++)
    out[i] = f[i] >= 1.0f ? 1.0f : f[i] > 0.0f ? f[i] : 0.0f;
}

/* The reverse, rounded as dae-filter rounds; float samples as they are. */
static void
float_to_samples (const float *in, guint max, size_t n, void *raw)
{
  if (max == 255 || max == 65535)
    dae_samples_from_float (in, n, max, max == 255 ? 1 : 2, raw);
  else
    memcpy (raw, in, n * sizeof (float));
}

gboolean
denoise_buffer_rect (const DaeModelSet *models, const DaeDenoiseOptions *options,
                     GeglBuffer *src, GeglBuffer *dst, const GeglRectangle *rect,
                     DenoiseProgressFunc progress, gpointer user_data,
                     GError **error)
{
  g_return_val_if_fail (models != NULL && src != NULL && dst != NULL && rect != NULL, FALSE);

  const Babl *format = denoise_buffer_format (src);
  const guint channels = (guint) babl_format_get_n_components (format);
  const gboolean alpha = babl_format_has_alpha (format);
  const GeglRectangle *extent = gegl_buffer_get_extent (src);
  const guint ph = denoise_models_patch (models), pw = ph;

  GeglRectangle inner;
  if (!gegl_rectangle_intersect (&inner, rect, extent))
    return TRUE; /* nothing of the drawable to denoise */
  GeglRectangle halo = { inner.x - (gint) pw, inner.y - (gint) ph,
                         inner.width + 2 * (gint) pw, inner.height + 2 * (gint) ph };
  GeglRectangle region;
  gegl_rectangle_intersect (&region, &halo, extent);

  g_autoptr (DaeDenoiser) denoiser =
    dae_denoiser_new_for_set (models, options, (guint) region.width, (guint) region.height,
                              channels, alpha, error);
  if (denoiser == NULL)
    return FALSE;

  const size_t row_floats = (size_t) region.width * channels;
  const guint max = format_max (format);
  const size_t bps = max == 255 ? 1 : max == 65535 ? 2 : sizeof (float); /* bytes a sample */
  g_autofree float *in = g_try_new (float, row_floats * STRIP_ROWS);
  g_autofree float *out = g_try_new (float, row_floats * STRIP_ROWS);
  g_autofree guint8 *raw = g_try_malloc (row_floats * STRIP_ROWS * bps);
  if (in == NULL || out == NULL || raw == NULL)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "out of memory for rows %d pixels wide", region.width);
      return FALSE;
    }

  const gint end = region.y + region.height;
  gint pushed = region.y, pulled = region.y;
  while (pulled < end)
    {
      if (pushed < end)
        {
          const gint n = MIN (STRIP_ROWS, end - pushed);
          gegl_buffer_get (src, GEGL_RECTANGLE (region.x, pushed, region.width, n), 1.0,
                           format, raw, (gint) (row_floats * bps), GEGL_ABYSS_CLAMP);
          samples_to_float (raw, max, row_floats * n, in);
          if (!dae_denoiser_push_rows (denoiser, in, (guint) n, error))
            return FALSE;
          pushed += n;
        }

      const guint got = dae_denoiser_pull_rows (denoiser, out, STRIP_ROWS);
      if (got == 0 && pushed == end)
        {
          /* Every row went in: every row must come out. */
          g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                       "the denoiser returned %d of %d rows", pulled - region.y,
                       region.height);
          return FALSE;
        }
      /* Keep the rows of the rectangle, drop the halo around it. */
      const gint y0 = MAX (pulled, inner.y);
      const gint y1 = MIN (pulled + (gint) got, inner.y + inner.height);
      const size_t inner_row = (size_t) inner.width * channels;
      for (gint y = y0; y < y1; y++)
        float_to_samples (out + (size_t) (y - pulled) * row_floats
                            + (size_t) (inner.x - region.x) * channels,
                          max, inner_row, raw + (size_t) (y - y0) * inner_row * bps);
      if (y1 > y0)
        gegl_buffer_set (dst, GEGL_RECTANGLE (inner.x, y0, inner.width, y1 - y0), 0, format,
                         raw, (gint) (inner_row * bps));
      pulled += (gint) got;

      /* Asked after every strip, even one that finished no row: a preview
       * that is no longer wanted stops within one strip. */
      if (progress != NULL
          && !progress ((double) (pulled - region.y) / region.height, user_data))
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_CANCELLED, "cancelled");
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
denoise_params_to_options (const DenoiseParams *params, guint threads,
                           DaeDenoiseOptions *options, GError **error)
{
  if (params->stride < 0)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "stride %d is negative (0 means the model's own step)", params->stride);
      return FALSE;
    }
  if (params->invert < DAE_INVERT_AUTO || params->invert > DAE_INVERT_OFF)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "invert mode %d is not 0 (auto), 1 (on) or 2 (off)", params->invert);
      return FALSE;
    }
  if (params->color < DAE_COLOR_LUMA || params->color > DAE_COLOR_AUTO)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "colour mode %d is not 0 (luma), 1 (rgb), 2 (opponent) or 3 (auto)",
                   params->color);
      return FALSE;
    }
  dae_denoise_options_init (options);
  options->strength = params->strength;
  options->stride = (guint) params->stride;
  options->invert = (DaeInvert) params->invert;
  options->color = (DaeColorMode) params->color;
  /* Any non-zero is on (GIMP 2.10's PDB booleans are plain integers); the
   * options get TRUE or FALSE only, as gboolean code expects. */
  options->ink_guard = params->ink_guard != FALSE;
  options->despeckle = params->despeckle != FALSE;
  options->impulse_filter = params->impulse_filter != FALSE;
  options->threads = threads;
  return TRUE;
}

DaeModelSet *
denoise_load_models (const char *name, GError **error)
{
  return dae_model_set_load (name, error);
}

guint
denoise_models_patch (const DaeModelSet *set)
{
  guint patch = 0;
  for (guint i = 0; i < dae_model_set_get_n_models (set); i++)
    {
      guint pw;
      dae_model_get_patch_size (dae_model_set_get_model (set, i, NULL), NULL, &pw);
      patch = MAX (patch, pw);
    }
  return patch;
}

static void
model_entry_free (gpointer data)
{
  DenoiseModelEntry *e = data;
  g_free (e->id);
  g_free (e->label);
  g_free (e->description);
  g_free (e);
}

/* The model's own words for what it is for; its name when it has none. */
static char *
model_description (const char *name)
{
  g_autofree char *path = dae_model_find (name, NULL);
  g_autoptr (DaeModel) model = path != NULL ? dae_model_load_file (path, NULL) : NULL;
  const char *text = model != NULL ? dae_model_get_metadata (model, "description") : NULL;
  return g_strdup (text != NULL && *text != '\0' ? text : name);
}

static void
add_entry (GPtrArray *entries, const char *id, const char *label, char *description)
{
  DenoiseModelEntry *e = g_new (DenoiseModelEntry, 1);
  e->id = g_strdup (id);
  e->label = g_strdup (label);
  e->description = description;
  g_ptr_array_add (entries, e);
}

GPtrArray *
denoise_model_entries (const char *current)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func (model_entry_free);
  g_autoptr (DaeModelSet) set = dae_model_set_load (NULL, NULL);
  if (set != NULL && dae_model_set_get_n_models (set) > 1)
    add_entry (entries, "", N_("Automatic"),
               g_strdup (N_("document or photo model, chosen for each image")));
  else
    {
      const char *path = NULL;
      if (set != NULL)
        dae_model_set_get_model (set, 0, &path);
      g_autofree char *base = path != NULL ? g_path_get_basename (path) : NULL;
      add_entry (entries, "", N_("Default"),
                 base != NULL ? g_strdup_printf ("%s", base) : g_strdup ("no model is installed"));
    }

  gboolean listed = current == NULL || *current == '\0';
  g_auto (GStrv) names = dae_model_list ();
  for (guint i = 0; names[i] != NULL; i++)
    {
      add_entry (entries, names[i], names[i], model_description (names[i]));
      listed = listed || strcmp (names[i], current) == 0;
    }
  /* A model file a script gave earlier. */
  if (!listed)
    add_entry (entries, current, current, model_description (current));
  return entries;
}
