/* dae-filter: denoise images with a denoising autoencoder, as a Unix filter.
 *
 * The user interface only: options, streams, batch files, messages.  The
 * codecs (core/io) read and write the images row by row and the tiler
 * (core/tiler.c) denoises them band by band, so memory grows with the
 * width, never the height.  Errors are printed once, netpbm style:
 * `dae-filter: <file or stdin>: <what>`, exit 1 (2 for a usage error). */
#include "dae.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "dae-filter"
#define BAND_ROWS 16u /* rows read, pushed, pulled and written at a time */

/* ---- options -------------------------------------------------------------- */

static char *opt_model, *opt_strength, *opt_invert, *opt_color, *opt_stride, *opt_ensemble;
static char *opt_threads, *opt_format, *opt_max_pixels, *opt_output_dir, *opt_quality;
static char *opt_bilevel, *opt_ink_guard, *opt_despeckle, *opt_impulse, *opt_soften;
static gboolean opt_list_models, opt_progress, opt_no_progress, opt_quiet;
static gboolean opt_verbose, opt_version, opt_skip_existing, opt_recursive;
static char **opt_files;

static const GOptionEntry entries[] = {
  { "model", 'm', 0, G_OPTION_ARG_STRING, &opt_model,
    "The model: a NAME from --list-models, a .dae FILE, or auto: the document model "
    "for pages, the photo model for anything else, chosen per image (default: auto)",
    "NAME|FILE|auto" },
  { "list-models", 0, 0, G_OPTION_ARG_NONE, &opt_list_models,
    "List the models found, with their files, and exit", NULL },
  { "strength", 's', 0, G_OPTION_ARG_STRING, &opt_strength,
    "Blend of the denoised image over the input, 0..1, or auto: by the noise measured "
    "and the model's error on clean images (default: auto)", "S|auto" },
  { "invert", 0, 0, G_OPTION_ARG_STRING, &opt_invert,
    "Invert the image around the model: auto (region by region, where the background "
    "is not the model's), on or off (default: auto)", "auto|on|off" },
  { "ink-guard", 0, 0, G_OPTION_ARG_STRING, &opt_ink_guard,
    "Pages: keep marks lighter than half the page's ink contrast (bleed-through from the "
    "other side) from being darkened into ink, and on a 1-bit page of strokes under 3 "
    "pixels without salt-and-pepper ink from being lightened, on or off (default: on)",
    "on|off" },
  { "despeckle", 0, 0, G_OPTION_ARG_STRING, &opt_despeckle,
    "Pages: erase specks smaller than half the square of the page's stroke width "
    "with no larger mark above or below them (dust, toner), on or off (default: on)",
    "on|off" },
  { "impulse-filter", 0, 0, G_OPTION_ARG_STRING, &opt_impulse,
    "Replace salt-and-pepper noise (black and white pixels alone among their "
    "neighbours) by the 3x3 median before denoising, when the first rows hold enough "
    "of it, on or off (default: on)", "on|off" },
  { "soften-bilevel", 0, 0, G_OPTION_ARG_STRING, &opt_soften,
    "Soften a 1-bit image's edges (a 3x3 blur after the impulse filter) before the "
    "analysis and the model, which learnt on gray scans, on or off (default: on)", "on|off" },
  { "color", 0, 0, G_OPTION_ARG_STRING, &opt_color,
    "Colour images: denoise the luminance only (luma), each channel (rgb), the "
    "opponent planes (opponent: luminance and both chroma planes), or auto: opponent "
    "for photos, luma for pages (default: auto)", "auto|luma|rgb|opponent" },
  { "stride", 0, 0, G_OPTION_ARG_STRING, &opt_stride,
    "Step between tiles in pixels, 1..patch size; the patch size means no overlap "
    "(default: the model's step, else half a patch; finer for a small photo, within the "
    "automatic passes' work)", "N" },
  { "ensemble", 0, 0, G_OPTION_ARG_STRING, &opt_ensemble,
    "Run the model N times on each tile, flipped and turned, and average (the geometric "
    "self-ensemble: a little less noise for N times the work), N = 1, 2, 4 or 8; or auto: "
    "photos as many as keep the work within one pass over 4 megapixels, what the model "
    "declares for its noisy images (document.dae: 2 on a page with grain of 3/255 or more), "
    "else 1 (default: auto)", "N|auto" },
  { "threads", 'j', 0, G_OPTION_ARG_STRING, &opt_threads,
    "Worker threads (default: 0 = one per CPU); the output does not depend on it", "N" },
  { "format", 'f', 0, G_OPTION_ARG_STRING, &opt_format,
    "Output format: pnm (PBM/PGM/PPM, alpha dropped), pam, png, jpeg (alpha dropped) "
    "or tiff (default: the input's)", "pnm|pam|png|jpeg|tiff" },
  { "quality", 0, 0, G_OPTION_ARG_STRING, &opt_quality,
    "JPEG quality, 1..100 (default: the input JPEG's, else 90)", "Q" },
  { "bilevel", 0, 0, G_OPTION_ARG_STRING, &opt_bilevel,
    "Bilevel images (PBM, 1-bit PNG or TIFF) come out thresholded at one half, or as "
    "8-bit gray (default: threshold)", "threshold|gray" },
  { "max-pixels", 0, 0, G_OPTION_ARG_STRING, &opt_max_pixels,
    "Refuse images of more than N pixels (default: 1073741824)", "N" },
  { "output-dir", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output_dir,
    "Batch mode: write the result of each FILE to DIR under the same name, "
    "atomically; go on after a bad file", "DIR" },
  { "skip-existing", 0, 0, G_OPTION_ARG_NONE, &opt_skip_existing,
    "With -o: leave out a FILE whose output is in DIR already", NULL },
  { "recursive", 'r', 0, G_OPTION_ARG_NONE, &opt_recursive,
    "With -o: a FILE that is a folder stands for the images in its tree (by extension), "
    "written under DIR in the same subfolders", NULL },
  { "progress", 0, 0, G_OPTION_ARG_NONE, &opt_progress,
    "Show progress on stderr (default: when stderr is a terminal)", NULL },
  { "no-progress", 0, 0, G_OPTION_ARG_NONE, &opt_no_progress, "Never show progress", NULL },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "No progress output", NULL },
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
    "Describe each image and how it is processed (model, tiles, threads, kernels)", NULL },
  { "version", 'V', 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_files, NULL, "[FILE...]" },
  { NULL }
};

typedef enum { FORMAT_SAME, FORMAT_PNM, FORMAT_PAM, FORMAT_PNG, FORMAT_JPEG, FORMAT_TIFF } OutFormat;

typedef struct {
  DaeModelSet *models;
  DaeDenoiseOptions dopt;
  OutFormat format;
  guint quality;        /* JPEG output; 0: the input's, else 90 */
  gboolean bilevel_gray; /* bilevel in, 8-bit gray out */
  guint64 max_pixels;
  gboolean progress;
} Settings;

/* ---- batch outputs: atomic, never over an input ---------------------------- */

/* The temporary file being written, removed if a signal ends us. */
static char tmp_path[4096];
static volatile sig_atomic_t tmp_live;

static void
on_fatal_signal (int sig)
{
  if (tmp_live)
    unlink (tmp_path);
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
install_signal_handlers (void)
{
  /* Past the file size limit, a write fails (EFBIG) and is reported. */
  signal (SIGXFSZ, SIG_IGN);
  /* SIGABRT, SIGTRAP: GLib's end when an allocation fails. */
  const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGABRT, SIGTRAP };
  for (guint i = 0; i < G_N_ELEMENTS (sigs); i++)
    {
      struct sigaction sa = { 0 };
      sa.sa_handler = on_fatal_signal;
      sigemptyset (&sa.sa_mask);
      sigaction (sigs[i], &sa, NULL);
    }
}

typedef struct {
  dev_t dev;
  ino_t ino;
} FileId;

static const char *
format_extension (const DaeImageInfo *info)
{
  switch (info->format)
    {
    case DAE_IMAGE_FORMAT_PBM_PLAIN:
    case DAE_IMAGE_FORMAT_PBM:
      return ".pbm";
    case DAE_IMAGE_FORMAT_PGM_PLAIN:
    case DAE_IMAGE_FORMAT_PGM:
      return ".pgm";
    case DAE_IMAGE_FORMAT_PPM_PLAIN:
    case DAE_IMAGE_FORMAT_PPM:
      return ".ppm";
    case DAE_IMAGE_FORMAT_PAM:
      return ".pam";
    case DAE_IMAGE_FORMAT_PNG:
      return ".png";
    case DAE_IMAGE_FORMAT_JPEG:
      return ".jpg";
    case DAE_IMAGE_FORMAT_TIFF:
      return ".tif";
    }
  return "";
}

/* ---- one image ------------------------------------------------------------ */

/* The output description for an input, before anything is written. */
static gboolean
output_info (const Settings *s, const DaeImageInfo *in, DaeImageInfo *out, GError **error)
{
  *out = *in;
  if (s->quality)
    out->quality = s->quality;
  DaeImageFormat same = in->format;
  if (s->bilevel_gray && in->maxval == 1)
    {
      out->maxval = 255;
      if (same == DAE_IMAGE_FORMAT_PBM || same == DAE_IMAGE_FORMAT_PBM_PLAIN)
        same++; /* the PGM of the same kind, raw or plain */
    }
  switch (s->format)
    {
    case FORMAT_SAME:
      return dae_image_info_set_format (out, same, error);
    case FORMAT_PAM:
      return dae_image_info_set_format (out, DAE_IMAGE_FORMAT_PAM, error);
    case FORMAT_PNG:
      return dae_image_info_set_format (out, DAE_IMAGE_FORMAT_PNG, error);
    case FORMAT_TIFF:
      return dae_image_info_set_format (out, DAE_IMAGE_FORMAT_TIFF, error);
    case FORMAT_JPEG:
      if (in->has_alpha)
        out->channels--;
      return dae_image_info_set_format (out, DAE_IMAGE_FORMAT_JPEG, error);
    case FORMAT_PNM:
      if (in->has_alpha)
        out->channels--; /* as pamtopnm does */
      return dae_image_info_set_format (out,
                                        out->channels == 3 ? DAE_IMAGE_FORMAT_PPM
                                        : out->maxval == 1 ? DAE_IMAGE_FORMAT_PBM
                                        : DAE_IMAGE_FORMAT_PGM, error);
    }
  g_assert_not_reached ();
}

typedef struct {
  const char *name;   /* for messages */
  guint index;        /* image in the stream */
  guint rows_done, height;
  int shown;          /* last percentage shown */
  gboolean tty;
} Progress;

static void
progress_update (Progress *p, gboolean enabled)
{
  if (!enabled)
    return;
  const int pct = (int) ((guint64) p->rows_done * 100 / p->height);
  if (p->tty ? pct == p->shown : pct / 10 == p->shown / 10)
    return;
  p->shown = pct;
  if (p->tty)
    fprintf (stderr, "\r%s: %s: image %u: %3d%%", PROG, p->name, p->index, pct);
  else
    fprintf (stderr, "%s: %s: image %u: %d%%\n", PROG, p->name, p->index, pct);
  if (p->tty && pct == 100)
    fputs ("\r\033[K", stderr);
}

/* The file of the model the denoiser runs. */
static const char *
model_path (const Settings *s, const DaeDenoiser *d)
{
  for (guint i = 0; i < dae_model_set_get_n_models (s->models); i++)
    {
      const char *path;
      if (dae_model_set_get_model (s->models, i, &path) == dae_denoiser_get_model (d))
        return path;
    }
  return "?";
}

/* Denoises one image into the stream of *@wp (made for the first image). */
static gboolean
denoise_image (const Settings *s, DaeImageReader *reader, const DaeImageInfo *in,
               FILE *out, DaeImageWriter **wp, const char *name, DaeImageInfo *out_info,
               GError **error)
{
  DaeImageInfo oi;
  if (!output_info (s, in, &oi, error))
    return FALSE;
  *out_info = oi;
  g_autoptr (DaeDenoiser) d = dae_denoiser_new_for_set (s->models, &s->dopt, in->width,
                                                        in->height, in->channels,
                                                        in->has_alpha, error);
  if (d == NULL)
    return FALSE;
  const size_t in_row = (size_t) in->width * in->channels;
  g_autofree guint16 *samples = g_try_new (guint16, BAND_ROWS * in_row);
  g_autofree float *fin = g_try_new (float, BAND_ROWS * in_row);
  g_autofree float *fout = g_try_new (float, BAND_ROWS * in_row);
  if (samples == NULL || fin == NULL || fout == NULL)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT, "out of memory for %u pixels a row",
                   in->width);
      return FALSE;
    }
  if (*wp == NULL ? (*wp = dae_image_writer_new (out, &oi, error)) == NULL
                  : !dae_image_writer_next (*wp, &oi, error))
    return FALSE;
  DaeImageWriter *w = *wp;
  /* compressing the output overlaps the next rows' denoising (a 12-MP
   * colour photo to PNG, 2 threads, 7 runs each: median 12.71 -> 11.94 s);
   * -j 1 stays on one thread */
  dae_image_writer_set_background (w, s->dopt.threads != 1);

  Progress prog = { name, dae_image_reader_get_index (reader), 0, in->height, -1,
                    isatty (STDERR_FILENO) };
  guint read = 0;
  while (prog.rows_done < in->height)
    {
      if (read < in->height)
        {
          const guint n = MIN (BAND_ROWS, in->height - read);
          if (!dae_image_reader_read_rows (reader, n, samples, error))
            return FALSE;
          dae_samples_to_float (samples, 2, in->maxval, n * in_row, fin);
          if (!dae_denoiser_push_rows (d, fin, n, error))
            return FALSE;
          read += n;
        }
      guint got;
      while ((got = dae_denoiser_pull_rows (d, fout, BAND_ROWS)) > 0)
        {
          dae_samples_from_float (fout, got * in_row, oi.maxval, 2, samples);
          if (oi.channels < in->channels) /* alpha dropped: pixels moved down in place */
            for (size_t px = 0; px < (size_t) got * in->width; px++)
              memmove (samples + px * oi.channels, samples + px * in->channels,
                       oi.channels * sizeof (guint16));
          if (!dae_image_writer_write_rows (w, got, samples, error))
            return FALSE;
          prog.rows_done += got;
          progress_update (&prog, s->progress);
        }
    }
  if (opt_verbose)
    {
      g_autofree char *how = dae_denoiser_describe (d);
      fprintf (stderr, "%s: %s: image %u: %ux%u %s maxval %u -> %s: model %s; %s\n", PROG,
               name, prog.index, in->width, in->height, dae_image_format_name (in->format),
               in->maxval, dae_image_format_name (oi.format), model_path (s, d), how);
    }
  return dae_image_writer_finish (w, error);
}

/* Denoises every image of a stream into @out; @first_out describes the
 * first output image. */
static gboolean
denoise_stream (const Settings *s, DaeImageReader *reader, FILE *out, const char *name,
                DaeImageInfo *first_out, GError **error)
{
  dae_image_reader_set_max_pixels (reader, s->max_pixels);
  g_autoptr (DaeImageWriter) w = NULL;
  for (guint n = 0;; n++)
    {
      DaeImageInfo info, oi;
      if (!dae_image_reader_next (reader, &info, error))
        return *error == NULL && (w == NULL || dae_image_writer_close (w, error));
      if (!denoise_image (s, reader, &info, out, &w, name, &oi, error))
        return FALSE;
      if (n == 0)
        *first_out = oi;
    }
}

/* ---- files ---------------------------------------------------------------- */

static void
report (const char *name, const GError *error)
{
  fprintf (stderr, "%s: %s: %s\n", PROG, name, error->message);
}

/* Whether @dir holds the output of the input named @base already: the
 * same name, or with --format the stem and that format's extension (for
 * pnm any of .pbm, .pgm and .ppm, the type being known only once read). */
static gboolean
output_exists (const Settings *s, const char *dir, const char *base)
{
  static const char *const ext[][3] = {
    [FORMAT_PNM] = { ".pbm", ".pgm", ".ppm" }, [FORMAT_PAM] = { ".pam" },
    [FORMAT_PNG] = { ".png" }, [FORMAT_JPEG] = { ".jpg" }, [FORMAT_TIFF] = { ".tif" } };
  const char *dot = strrchr (base, '.');
  g_autofree char *stem = dot && dot != base ? g_strndup (base, dot - base) : g_strdup (base);
  for (guint i = 0; i < 3; i++)
    {
      if (s->format != FORMAT_SAME && ext[s->format][i] == NULL)
        break;
      g_autofree char *name = s->format == FORMAT_SAME ? g_strdup (base)
                                                      : g_strconcat (stem, ext[s->format][i], NULL);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return TRUE;
      if (s->format == FORMAT_SAME)
        break;
    }
  return FALSE;
}

/* Writes the result of @path into @dir; FALSE (reported) on failure. */
static gboolean
batch_one (const Settings *s, const char *path, const char *dir, const FileId *inputs,
           guint n_inputs, GHashTable *written)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_path_get_basename (path);
  if (opt_skip_existing && output_exists (s, dir, base))
    {
      if (opt_verbose)
        fprintf (stderr, "%s: %s: skipped, its output is in %s\n", PROG, path, dir);
      return TRUE;
    }
  g_autoptr (DaeImageReader) reader = dae_image_reader_new_path (path, &error);
  if (reader == NULL)
    {
      report (path, error);
      return FALSE;
    }
  g_autofree char *tmpl = g_strdup_printf ("%s%c.%s.XXXXXX", dir, G_DIR_SEPARATOR, base);
  int fd = g_mkstemp_full (tmpl, O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0 && errno == ENOENT && g_mkdir_with_parents (dir, 0777) == 0)
    {
      /* The folder went away meanwhile (another job's cleanup removed it
         while empty: GNU parallel's --cleanup does): make it again. */
      g_strlcpy (tmpl + strlen (tmpl) - 6, "XXXXXX", 7);
      fd = g_mkstemp_full (tmpl, O_RDWR | O_CLOEXEC, 0666);
    }
  if (fd < 0)
    {
      fprintf (stderr, "%s: %s: cannot create a file in %s: %s\n", PROG, path, dir,
               g_strerror (errno));
      return FALSE;
    }
  const mode_t mask = umask (0);
  umask (mask);
  fchmod (fd, 0666 & ~mask);
  g_strlcpy (tmp_path, tmpl, sizeof tmp_path);
  tmp_live = strlen (tmpl) < sizeof tmp_path;

  FILE *fp = fdopen (fd, "wb");
  if (fp == NULL)
    g_set_error (&error, DAE_ERROR, DAE_ERROR_IO, "writing %s: %s", tmpl, g_strerror (errno));
  DaeImageInfo first = { 0 };
  gboolean ok = fp != NULL && denoise_stream (s, reader, fp, path, &first, &error);
  if (ok && (fflush (fp) != 0 || fsync (fd) != 0))
    {
      g_set_error (&error, DAE_ERROR, DAE_ERROR_IO, "writing %s: %s", tmpl, g_strerror (errno));
      ok = FALSE;
    }
  if (fp != NULL ? fclose (fp) != 0 && ok : (close (fd), ok))
    {
      if (error == NULL)
        g_set_error (&error, DAE_ERROR, DAE_ERROR_IO, "writing %s: %s", tmpl,
                     g_strerror (errno));
      ok = FALSE;
    }

  /* The final name: the input's, with the extension of --format's type. */
  g_autofree char *name = NULL;
  if (s->format != FORMAT_SAME && ok)
    {
      const char *ext = format_extension (&first);
      const char *dot = strrchr (base, '.');
      g_autofree char *stem = dot && dot != base ? g_strndup (base, dot - base) : g_strdup (base);
      name = g_strconcat (stem, ext, NULL);
    }
  else
    name = g_strdup (base);
  g_autofree char *final = g_build_filename (dir, name, NULL);

  if (ok)
    {
      struct stat st;
      if (g_hash_table_contains (written, final))
        {
          g_set_error (&error, DAE_ERROR, DAE_ERROR_INVALID,
                       "%s is already the output of an earlier file: not overwritten", final);
          ok = FALSE;
        }
      else if (stat (final, &st) == 0)
        for (guint i = 0; i < n_inputs && ok; i++)
          if (inputs[i].dev == st.st_dev && inputs[i].ino == st.st_ino)
            {
              g_set_error (&error, DAE_ERROR, DAE_ERROR_INVALID,
                           "%s is an input file: not overwritten", final);
              ok = FALSE;
            }
    }
  if (ok && g_rename (tmpl, final) != 0)
    {
      g_set_error (&error, DAE_ERROR, DAE_ERROR_IO, "cannot rename %s to %s: %s", tmpl,
                   final, g_strerror (errno));
      ok = FALSE;
    }
  if (!ok)
    g_unlink (tmpl);
  tmp_live = 0;
  if (!ok)
    {
      report (path, error);
      return FALSE;
    }
  g_hash_table_add (written, g_steal_pointer (&final));
  return TRUE;
}

static gboolean
is_image_name (const char *name)
{
  static const char *const exts[] = { ".pbm", ".pgm", ".ppm", ".pnm", ".pam", ".png",
                                      ".jpg", ".jpeg", ".tif", ".tiff" };
  g_autofree char *low = g_ascii_strdown (name, -1);
  for (guint i = 0; i < G_N_ELEMENTS (exts); i++)
    if (g_str_has_suffix (low, exts[i]))
      return TRUE;
  return FALSE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* -r: the images under @top/@rel, sorted, recursively, into @files, and
 * for each the folder under DIR it goes to into @dirs (created).  Hidden
 * entries (our temporary files among them) and the output folder itself are
 * left out; symbolic links to folders are not followed. */
static gboolean
walk_tree (const char *top, const char *rel, const struct stat *out_st, GPtrArray *files,
           GPtrArray *dirs)
{
  g_autofree char *here = g_build_filename (top, rel, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (here, 0, &error);
  if (d == NULL)
    {
      fprintf (stderr, "%s: %s\n", PROG, error->message);
      return FALSE;
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (const char *e; (e = g_dir_read_name (d)) != NULL;)
    if (e[0] != '.')
      g_ptr_array_add (names, g_strdup (e));
  g_ptr_array_sort (names, compare_names);
  gboolean ok = TRUE;
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *sub = g_build_filename (rel, names->pdata[i], NULL);
      g_autofree char *path = g_build_filename (top, sub, NULL);
      struct stat st;
      if (lstat (path, &st) != 0)
        continue;
      if (S_ISDIR (st.st_mode) && !(st.st_dev == out_st->st_dev && st.st_ino == out_st->st_ino))
        ok = walk_tree (top, sub, out_st, files, dirs) && ok;
      else if (!S_ISDIR (st.st_mode) && g_file_test (path, G_FILE_TEST_IS_REGULAR)
               && is_image_name (names->pdata[i]))
        {
          g_autofree char *out = g_build_filename (opt_output_dir, rel, NULL);
          if (g_mkdir_with_parents (out, 0777) != 0)
            {
              fprintf (stderr, "%s: %s: cannot create it: %s\n", PROG, out, g_strerror (errno));
              ok = FALSE;
              continue;
            }
          g_ptr_array_add (files, g_steal_pointer (&path));
          g_ptr_array_add (dirs, g_steal_pointer (&out));
        }
    }
  return ok;
}

static int
run_batch (const Settings *s, char **args)
{
  const char *dir = opt_output_dir;
  struct stat out_st;
  if (!g_file_test (dir, G_FILE_TEST_EXISTS) && g_mkdir_with_parents (dir, 0777) != 0)
    {
      fprintf (stderr, "%s: %s: cannot create it: %s\n", PROG, dir, g_strerror (errno));
      return 1;
    }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR) || stat (dir, &out_st) != 0)
    {
      fprintf (stderr, "%s: %s: not a directory\n", PROG, dir);
      return 1;
    }
  /* Each input file, and the folder its output goes to. */
  g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  guint failed = 0;
  for (guint i = 0; args[i] != NULL; i++)
    if (opt_recursive && g_file_test (args[i], G_FILE_TEST_IS_DIR))
      failed += !walk_tree (args[i], "", &out_st, list, dirs);
    else
      {
        g_ptr_array_add (list, g_strdup (args[i]));
        g_ptr_array_add (dirs, g_strdup (dir));
      }
  g_ptr_array_add (list, NULL);
  char **files = (char **) list->pdata;
  const guint n = list->len - 1;
  g_autofree FileId *ids = g_new0 (FileId, n);
  for (guint i = 0; i < n; i++)
    {
      struct stat st;
      if (stat (files[i], &st) == 0)
        ids[i] = (FileId){ st.st_dev, st.st_ino };
    }
  install_signal_handlers ();
  g_autoptr (GHashTable) written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < n; i++)
    if (!batch_one (s, files[i], dirs->pdata[i], ids, n, written))
      failed++;
  if (failed > 0)
    {
      fprintf (stderr, "%s: %u of %u file%s failed\n", PROG, failed, n, n == 1 ? "" : "s");
      return 1;
    }
  return 0;
}

/* Every file (or stdin) in turn to stdout; stops at the first error, since
 * what follows on stdout would not be a valid stream. */
static int
run_stdout (const Settings *s, char **files)
{
  static char *stdin_only[] = { "-", NULL };
  if (files == NULL || files[0] == NULL)
    files = stdin_only;
  for (guint i = 0; files[i] != NULL; i++)
    {
      const gboolean is_stdin = strcmp (files[i], "-") == 0;
      const char *name = is_stdin ? "stdin" : files[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (DaeImageReader) reader = is_stdin ? dae_image_reader_new (stdin)
                                                   : dae_image_reader_new_path (files[i], &error);
      DaeImageInfo first;
      if (reader == NULL || !denoise_stream (s, reader, stdout, name, &first, &error))
        {
          report (name, error);
          return 1;
        }
    }
  if (fflush (stdout) != 0 || ferror (stdout))
    {
      fprintf (stderr, "%s: stdout: write error: %s\n", PROG, g_strerror (errno));
      return 1;
    }
  return 0;
}

static int
list_models (void)
{
  g_auto (GStrv) names = dae_model_list ();
  g_autoptr (DaeModelSet) set = dae_model_set_load (NULL, NULL);
  const gboolean automatic = set != NULL && dae_model_set_get_n_models (set) > 1;
  g_autofree char *def = automatic ? NULL : dae_model_find (NULL, NULL);
  if (names[0] == NULL)
    {
      fprintf (stderr, "%s: no models found\n", PROG);
      return 1;
    }
  if (automatic)
    printf ("* %-12s %s\n  %-12s %s\n", "auto", "(the default)", "",
            "document for pages, photo for anything else, chosen per image");
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *path = dae_model_find (names[i], NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (DaeModel) m = path ? dae_model_load_file (path, &error) : NULL;
      const char *desc = m ? dae_model_get_metadata (m, "description") : NULL;
      printf ("%s%-12s %s\n", def && path && strcmp (def, path) == 0 ? "* " : "  ",
              names[i], path ? path : "?");
      if (m == NULL)
        printf ("  %-12s (unreadable: %s)\n", "", error ? error->message : "not found");
      else if (desc != NULL)
        printf ("  %-12s %s\n", "", desc);
    }
  return 0;
}

/* The options' values into @s; a bad one is a usage error (exit 2). */
static void
parse_settings (Settings *s)
{
  dae_denoise_options_init (&s->dopt);
  if (opt_strength && strcmp (opt_strength, "auto") != 0)
    s->dopt.strength = cli_parse_double ("--strength", opt_strength, 0, 1, FALSE);
  if (opt_invert)
    {
      static const char *const c[] = { "auto", "on", "off", NULL };
      static const DaeInvert v[] = { DAE_INVERT_AUTO, DAE_INVERT_ON, DAE_INVERT_OFF };
      s->dopt.invert = v[cli_parse_choice ("--invert", opt_invert, c)];
    }
  if (opt_ink_guard)
    {
      static const char *const c[] = { "on", "off", NULL };
      s->dopt.ink_guard = cli_parse_choice ("--ink-guard", opt_ink_guard, c) == 0;
    }
  if (opt_despeckle)
    {
      static const char *const c[] = { "on", "off", NULL };
      s->dopt.despeckle = cli_parse_choice ("--despeckle", opt_despeckle, c) == 0;
    }
  if (opt_impulse)
    {
      static const char *const c[] = { "on", "off", NULL };
      s->dopt.impulse_filter = cli_parse_choice ("--impulse-filter", opt_impulse, c) == 0;
    }
  if (opt_soften)
    {
      static const char *const c[] = { "on", "off", NULL };
      s->dopt.soften_bilevel = cli_parse_choice ("--soften-bilevel", opt_soften, c) == 0;
    }
  if (opt_color)
    {
      static const char *const c[] = { "auto", "luma", "rgb", "opponent", NULL };
      static const DaeColorMode v[] = { DAE_COLOR_AUTO, DAE_COLOR_LUMA, DAE_COLOR_RGB,
                                        DAE_COLOR_OPPONENT };
      s->dopt.color = v[cli_parse_choice ("--color", opt_color, c)];
    }
  if (opt_threads)
    s->dopt.threads = (guint) cli_parse_uint ("--threads", opt_threads, 0, 1024);
  if (opt_format)
    {
      static const char *const c[] = { "pnm", "pam", "png", "jpeg", "tiff", NULL };
      s->format = FORMAT_PNM + cli_parse_choice ("--format", opt_format, c);
    }
  if (opt_quality)
    s->quality = (guint) cli_parse_uint ("--quality", opt_quality, 1, 100);
  if (opt_bilevel)
    {
      static const char *const c[] = { "threshold", "gray", NULL };
      s->bilevel_gray = cli_parse_choice ("--bilevel", opt_bilevel, c) == 1;
    }
  s->max_pixels = opt_max_pixels ? cli_parse_uint ("--max-pixels", opt_max_pixels, 1, G_MAXUINT64)
                                 : DAE_IMAGE_DEFAULT_MAX_PIXELS;
  if (opt_stride)
    s->dopt.stride = (guint) cli_parse_uint ("--stride", opt_stride, 1, 4096);
  if (opt_ensemble)
    {
      static const char *const c[] = { "auto", "1", "2", "4", "8", NULL };
      static const guint v[] = { 0, 1, 2, 4, 8 };
      s->dopt.ensemble = v[cli_parse_choice ("--ensemble", opt_ensemble, c)];
    }
  s->progress = !opt_quiet && !opt_no_progress && (opt_progress || isatty (STDERR_FILENO));
  if (!opt_output_dir && (opt_skip_existing || opt_recursive))
    cli_usage_error ("%s needs -o/--output-dir",
                     opt_recursive ? "-r/--recursive" : "--skip-existing");
  if (opt_output_dir && (opt_files == NULL || opt_files[0] == NULL))
    cli_usage_error ("-o/--output-dir needs FILE arguments");
  if (opt_output_dir && opt_files != NULL)
    for (guint i = 0; opt_files[i] != NULL; i++)
      if (strcmp (opt_files[i], "-") == 0)
        cli_usage_error ("-o/--output-dir cannot take stdin (\"-\")");
}

/* The models, checked against --stride (a usage error) and named by -v. */
static void
load_models (Settings *s)
{
  g_autoptr (GError) error = NULL;
  s->models = dae_model_set_load (opt_model, &error);
  if (s->models == NULL)
    cli_fail ("%s", error->message); /* it names the model or the file */
  for (guint i = 0; i < dae_model_set_get_n_models (s->models); i++)
    {
      const char *path;
      guint ph, pw;
      dae_model_get_patch_size (dae_model_set_get_model (s->models, i, &path), &ph, &pw);
      if (s->dopt.stride > MIN (ph, pw))
        cli_usage_error ("--stride: %u is larger than the %ux%u patches of %s", s->dopt.stride,
                         pw, ph, path);
    }
  if (!opt_verbose)
    return;
  for (guint i = 0; i < dae_model_set_get_n_models (s->models); i++)
    {
      const char *path;
      guint ph, pw;
      dae_model_get_patch_size (dae_model_set_get_model (s->models, i, &path), &ph, &pw);
      fprintf (stderr, "%s: model %s (%ux%u patches)%s\n", PROG, path, pw, ph,
               dae_model_set_get_n_models (s->models) > 1
                 ? (i == 0 ? ", for pages" : ", for photos and anything else") : "");
    }
  const char *note = dae_kernels_get_note (); /* why DAE_ISA was not followed */
  fprintf (stderr, "%s: kernels %s%s%s%s\n", PROG, dae_kernels_describe (),
           note ? " (" : "", note ? note : "", note ? ")" : "");
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = cli_start (PROG,
    "- denoise images with a denoising autoencoder", entries,
    "Reads PBM/PGM/PPM/PAM (plain or raw, maxval 1..65535, every image of a\n"
    "multi-image stream), PNG, JPEG or TIFF (every page) from FILEs or stdin and\n"
    "writes the denoised images to stdout in the same format (resolution and\n"
    "metadata kept), or with -o into a directory.",
    "Examples:\n"
    "  dae-filter < noisy.pgm > clean.pgm\n"
    "  pngtopam scan.png | dae-filter --strength 0.8 | pnmtopng > clean.png\n"
    "  dae-filter -m mnist --invert off digits.pgm > clean.pgm\n"
    "  dae-filter -o cleaned/ scans/*.png\n"
    "\n"
    "Models are looked up in $DAE_MODEL_PATH, ~/.local/share/dae/models, then the\n"
    "installed models directory.  Exit status: 0 on success, 1 if an image or\n"
    "file failed, 2 for a usage error.  See dae-filter(1).");
  cli_parse_options (ctx, &argc, &argv);
  if (opt_version)
    {
      cli_print_version ();
      return 0;
    }
  if (opt_list_models)
    return list_models ();

  Settings s = { 0 };
  parse_settings (&s);
  load_models (&s);
  const int status = opt_output_dir ? run_batch (&s, opt_files) : run_stdout (&s, opt_files);
  dae_model_set_free (s.models);
  g_strfreev (opt_files);
  return status;
}
