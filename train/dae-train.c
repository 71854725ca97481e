/* dae-train: train a denoising autoencoder (core/train.c), or evaluate one.
 *
 * The user interface only: options, data files, progress, outputs.  The
 * engine, the noise models, the architectures and the metrics live in
 * core/ (dae.h); the pictures in plot.c. */
#include "dae.h"
#include "cli.h"
#include "plot.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "dae-train"
#define DEFAULT_PATCHES 10000
#define PREVIEW_IMAGES 10

/* ---- options -------------------------------------------------------------- */

static char *opt_output, *opt_arch, *opt_init_from, *opt_loss = "bce", *opt_noise;
static char *opt_val_clean, *opt_val_noisy, *opt_log, *opt_plot, *opt_preview;
static char *opt_eval, *opt_clean, *opt_noisy, *opt_seed, *opt_adam = "keras";
static char *opt_epochs, *opt_batch, *opt_threads, *opt_patches, *opt_patch, *opt_limit;
static char *opt_lr, *opt_val_split, *opt_train_noisy, *opt_background, *opt_ink_weight;
static gboolean opt_noise_once, opt_quiet, opt_verbose, opt_version;
static char **opt_data;

static const GOptionEntry train_entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
    "Write the trained model to FILE (required)", "FILE" },
  { "arch", 'a', 0, G_OPTION_ARG_STRING, &opt_arch,
    "Architecture: a preset (tutorial, tutorial-convt, wide, unet) or a layer list such "
    "as 'c32,p,c32,p,c32,u,c32,u,c1:sigmoid' (default: tutorial)", "SPEC" },
  { "init-from", 0, 0, G_OPTION_ARG_FILENAME, &opt_init_from,
    "Start from the weights of MODEL (continue training) instead of a fresh Glorot "
    "initialisation", "MODEL" },
  { "epochs", 'e', 0, G_OPTION_ARG_STRING, &opt_epochs, "Epochs (default: 20)", "N" },
  { "batch", 'b', 0, G_OPTION_ARG_STRING, &opt_batch, "Batch size (default: 128)", "N" },
  { "lr", 0, 0, G_OPTION_ARG_STRING, &opt_lr, "Adam's learning rate (default: 0.001)", "X" },
  { "adam", 0, 0, G_OPTION_ARG_STRING, &opt_adam,
    "Where Adam puts epsilon: keras (default) or pytorch", "FORMULA" },
  { "loss", 0, 0, G_OPTION_ARG_STRING, &opt_loss, "Loss: bce (default) or mse", "LOSS" },
  { "ink-weight", 0, 0, G_OPTION_ARG_STRING, &opt_ink_weight,
    "Weight of the loss where the output and the clean image are on opposite sides of "
    "0.5, ink invented or lost (default: 1)", "W" },
  { "noise", 'n', 0, G_OPTION_ARG_STRING, &opt_noise,
    "Noise model for the inputs, e.g. gaussian:0.5 (default), gaussian:0.1-0.8, "
    "saltpepper:0.1, speckle:0.3, a+b (both in turn), a,b (one per image)", "SPEC" },
  { "noise-once", 0, 0, G_OPTION_ARG_NONE, &opt_noise_once,
    "Draw the noise once before training, as the tutorial does (default: fresh noise "
    "every epoch)", NULL },
  { "seed", 's', 0, G_OPTION_ARG_STRING, &opt_seed,
    "Seed of the initial weights, batch order, noise and crops; with --eval, of the "
    "noise (default: 1)", "N" },
  { "threads", 'j', 0, G_OPTION_ARG_STRING, &opt_threads,
    "Worker threads (default: 0 = one per CPU); results do not depend on it", "N" },
  { "train-noisy", 0, 0, G_OPTION_ARG_FILENAME, &opt_train_noisy,
    "Noisy inputs (IDX) paired in order with the one IDX file of DATA, instead of a "
    "noise model (for noise made elsewhere, e.g. tools/make-doc-data)", "FILE" },
  { "background", 0, 0, G_OPTION_ARG_STRING, &opt_background,
    "The polarity recorded for dae-filter's --invert auto: dark, light or any (default: "
    "the training images' median tells dark or light)", "BG" },
  { "val-clean", 0, 0, G_OPTION_ARG_FILENAME, &opt_val_clean,
    "Validation images (IDX), clean", "FILE" },
  { "val-noisy", 0, 0, G_OPTION_ARG_FILENAME, &opt_val_noisy,
    "The same images with noise (IDX); without it, --noise makes them once", "FILE" },
  { "val-split", 0, 0, G_OPTION_ARG_STRING, &opt_val_split,
    "Hold out the last FRACTION of the training images for validation, e.g. 0.1",
    "FRACTION" },
  { "limit", 0, 0, G_OPTION_ARG_STRING, &opt_limit,
    "Use only the first N images of each IDX file", "N" },
  { "patch", 0, 0, G_OPTION_ARG_STRING, &opt_patch,
    "Patch size of a new model, in pixels (default: 28, or the IDX images' size)", "N" },
  { "patches", 0, 0, G_OPTION_ARG_STRING, &opt_patches,
    "Random crops cut from image files and directories (default: 10000)", "N" },
  { "log", 'l', 0, G_OPTION_ARG_FILENAME, &opt_log,
    "Write a CSV log, one row per epoch, to FILE", "FILE" },
  { "plot", 0, 0, G_OPTION_ARG_FILENAME, &opt_plot,
    "Draw the training and validation loss per epoch to FILE (PNG)", "FILE" },
  { "preview", 0, 0, G_OPTION_ARG_FILENAME, &opt_preview,
    "Draw 10 validation images, noisy / denoised / clean, to FILE (PNG)", "FILE" },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "No per-epoch lines or progress", NULL },
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
    "Describe the model and the data before training", NULL },
  { "version", 'V', 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
  { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_data, NULL,
    "DATA..." },
  G_OPTION_ENTRY_NULL
};

static const GOptionEntry eval_entries[] = {
  { "eval", 0, 0, G_OPTION_ARG_FILENAME, &opt_eval,
    "Evaluate MODEL (a .dae file or a shipped model's name) instead of training",
    "MODEL" },
  { "clean", 0, 0, G_OPTION_ARG_FILENAME, &opt_clean, "Clean images (IDX) for --eval",
    "FILE" },
  { "noisy", 0, 0, G_OPTION_ARG_FILENAME, &opt_noisy,
    "Their noisy versions (IDX); or give --noise and --seed to make them", "FILE" },
  G_OPTION_ENTRY_NULL
};

/* Option values: @dflt when the option is absent (cli.h for the rest). */
static guint64
opt_uint (const char *option, const char *s, guint64 lo, guint64 hi, guint64 dflt)
{
  return s ? cli_parse_uint (option, s, lo, hi) : dflt;
}

static double
opt_double (const char *option, const char *s, double lo, double hi, double dflt,
            gboolean open_lo)
{
  return s ? cli_parse_double (option, s, lo, hi, open_lo) : dflt;
}

/* ---- data ----------------------------------------------------------------- */

/* Room for n images: a one-line error, not an abort, when it does not fit. */
static float *
images_alloc (size_t n, size_t floats)
{
  float *x = n <= G_MAXSIZE / sizeof (float) / MAX (floats, 1)
                 ? g_try_new (float, n * floats) : NULL;
  if (x == NULL)
    cli_fail ("%zu images of %zu samples do not fit in memory", n, floats);
  return x;
}

typedef struct {
  float *x;       /* n x h x w */
  size_t n;
  guint h, w;
} Images;

static void
images_clear (Images *im)
{
  g_free (im->x);
  *im = (Images){ 0 };
}

static char *
file_sha256 (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;
  if (!g_file_get_contents (path, &data, &len, error))
    return NULL;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}

/* "path sha256:HEX" for the metadata. */
static void
record_file (GString *where, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sum = file_sha256 (path, &error);
  if (sum == NULL)
    cli_fail_error (error);
  if (where->len)
    g_string_append (where, "; ");
  g_string_append_printf (where, "%s sha256:%s", path, sum);
}

static void
load_idx (const char *path, guint64 limit, Images *out)
{
  g_autoptr (GError) error = NULL;
  guint n_dims, dims[3];
  g_autofree guint8 *b = dae_idx_load (path, &n_dims, dims, &error);
  if (b == NULL)
    {
      if (!g_str_has_prefix (error->message, path))
        g_prefix_error (&error, "%s: ", path);
      cli_fail_error (error);
    }
  if (n_dims != 3)
    cli_fail ("%s: %u-dimensional IDX data, expected images (3 dimensions)", path, n_dims);
  size_t n = dims[0];
  if (limit && n > limit)
    n = limit;
  const size_t f = (size_t) dims[1] * dims[2];
  *out = (Images){ images_alloc (n, f), n, dims[1], dims[2] };
  for (size_t i = 0; i < n * f; i++)
    out->x[i] = b[i] / 255.0f;
}

typedef struct {
  GPtrArray *planes; /* float *, one gray plane per image */
  GArray *widths, *heights;
} Pictures;

/* Every image of a PNM/PAM/PNG file, as gray (BT.601 luma) in [0, 1]. */
static void
load_picture_file (const char *path, Pictures *pics)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DaeImageReader) r = dae_image_reader_new_path (path, &error);
  if (r == NULL)
    cli_fail_error (error);
  DaeImageInfo info;
  while (dae_image_reader_next (r, &info, &error))
    {
      const guint c = info.channels, colour = info.has_alpha ? c - 1 : c;
      /* Sizes come from the file's header: an error, not an abort. */
      g_autofree guint16 *row = g_try_new (guint16, (size_t) info.width * c);
      float *plane = g_try_new (float, (size_t) info.width * info.height);
      if (row == NULL || plane == NULL)
        {
          g_free (plane);
          cli_fail ("%s: a %ux%u image does not fit in memory",
                    path, info.width, info.height);
        }
      for (guint y = 0; y < info.height; y++)
        {
          if (!dae_image_reader_read_rows (r, 1, row, &error))
            {
              g_free (plane);
              g_prefix_error (&error, "%s: ", path);
              cli_fail_error (error);
            }
          for (guint x = 0; x < info.width; x++)
            {
              const guint16 *p = row + (size_t) x * c;
              const double v = colour >= 3 ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
              plane[(size_t) y * info.width + x] = (float) (v / info.maxval);
            }
        }
      g_ptr_array_add (pics->planes, plane);
      g_array_append_val (pics->widths, info.width);
      g_array_append_val (pics->heights, info.height);
    }
  if (error)
    {
      g_prefix_error (&error, "%s: ", path);
      cli_fail_error (error);
    }
}

static gboolean
is_picture_name (const char *name)
{
  static const char *const ext[] = { ".png", ".pgm", ".pnm", ".ppm", ".pbm", ".pam",
                                     ".jpg", ".jpeg", ".tif", ".tiff" };
  g_autofree char *lower = g_ascii_strdown (name, -1);
  for (guint i = 0; i < G_N_ELEMENTS (ext); i++)
    if (g_str_has_suffix (lower, ext[i]))
      return TRUE;
  return FALSE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The picture files of a directory, sorted by name (reproducible). */
static GPtrArray *
list_pictures (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  if (d == NULL)
    cli_fail_error (error);
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)))
    if (is_picture_name (name))
      g_ptr_array_add (files, g_build_filename (dir, name, NULL));
  g_ptr_array_sort (files, compare_strings);
  if (files->len == 0)
    cli_fail ("%s: no PNG or PNM images in this directory", dir);
  return files;
}

/* Whether a file starts like an IDX file (plain or gzip'd) rather than an
 * image: IDX begins with two zero bytes, gzip with 1f 8b. */
static gboolean
looks_like_idx (const char *path)
{
  FILE *fp = fopen (path, "rb");
  if (fp == NULL)
    {
      int e = errno;
      cli_fail ("%s: %s", path, g_strerror (e));
    }
  guint8 m[2] = { 0xff, 0xff };
  size_t k = fread (m, 1, 2, fp);
  fclose (fp);
  return k == 2 && ((m[0] == 0 && m[1] == 0) || (m[0] == 0x1f && m[1] == 0x8b));
}

/* ---- progress and time ------------------------------------------------------ */

typedef struct {
  gboolean tty;
  guint epoch, epochs;
  gint64 last;
} Progress;

static char *
hms (double seconds)
{
  if (!isfinite (seconds) || seconds < 0)
    return g_strdup ("-");
  guint64 s = (guint64) (seconds + 0.5);
  return g_strdup_printf ("%" G_GUINT64_FORMAT ":%02u:%02u", s / 3600,
                          (guint) (s / 60 % 60), (guint) (s % 60));
}

static gboolean
show_progress (size_t done, size_t total, gpointer user_data)
{
  Progress *p = user_data;
  const gint64 now = g_get_monotonic_time ();
  if (!p->tty || (done < total && now - p->last < 100000))
    return TRUE;
  p->last = now;
  const int width = 30, fill = (int) (width * done / total);
  char bar[64];
  for (int i = 0; i < width; i++)
    bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
  bar[width] = '\0';
  fprintf (stderr, "\r\033[Kepoch %u/%u [%s] %zu/%zu", p->epoch, p->epochs, bar, done, total);
  fflush (stderr);
  return TRUE;
}

static void
clear_progress (Progress *p)
{
  if (p->tty)
    {
      fputs ("\r\033[K", stderr);
      fflush (stderr);
    }
}

/* ---- outputs ---------------------------------------------------------------- */

static char *
command_line (int argc, char **argv)
{
  GString *s = g_string_new (NULL);
  g_autofree char *base = g_path_get_basename (argv[0]);
  g_string_append (s, base);
  for (int i = 1; i < argc; i++)
    {
      gboolean plain = *argv[i] != '\0';
      for (const char *c = argv[i]; *c; c++)
        if (!g_ascii_isalnum (*c) && !strchr ("-_./:=+,@%", *c))
          plain = FALSE;
      g_autofree char *q = plain ? g_strdup (argv[i]) : g_shell_quote (argv[i]);
      g_string_append_printf (s, " %s", q);
    }
  return g_string_free (s, FALSE);
}

static char *
fmt_double (const char *fmt, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  return g_strdup (isfinite (v) ? g_ascii_formatd (buf, sizeof buf, fmt, v) : "");
}

typedef struct {
  double train_loss, val_loss, val_psnr, images_per_s, elapsed;
} EpochRow;

static void
write_log (const char *path, const EpochRow *rows, guint n)
{
  GString *s = g_string_new ("epoch,train_loss,val_loss,val_psnr_db,images_per_s,elapsed_s\n");
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *a = fmt_double ("%.6f", rows[i].train_loss);
      g_autofree char *b = fmt_double ("%.6f", rows[i].val_loss);
      g_autofree char *c = fmt_double ("%.4f", rows[i].val_psnr);
      g_autofree char *d = fmt_double ("%.1f", rows[i].images_per_s);
      g_autofree char *e = fmt_double ("%.2f", rows[i].elapsed);
      g_string_append_printf (s, "%u,%s,%s,%s,%s,%s\n", i + 1, a, b, c, d, e);
    }
  g_autoptr (GError) error = NULL;
  if (!g_file_set_contents (path, s->str, s->len, &error))
    cli_fail_error (error);
  g_string_free (s, TRUE);
}

/* The median sample value tells the model's background (dae-filter's
 * --invert auto reads it): MNIST is light on dark. */
static const char *
background_of (const float *x, size_t count)
{
  guint64 hist[256] = { 0 };
  for (size_t i = 0; i < count; i++)
    hist[CLAMP ((int) (x[i] * 255.0f + 0.5f), 0, 255)]++;
  guint64 seen = 0;
  guint b = 0;
  for (; b < 256; b++)
    if ((seen += hist[b]) * 2 >= count)
      break;
  return b > 127 ? "light" : "dark";
}

/* ---- --eval --------------------------------------------------------------------- */

static void
print_scores (const char *what, size_t n, guint h, guint w, const float *x, const float *clean)
{
  printf ("%-12s %8.3f %8.4f %8.4f\n", what, dae_psnr_mean (n, h, w, x, clean),
          dae_ssim_mean (n, h, w, x, clean), dae_bce_mean (n, h, w, x, clean));
}

static int
run_eval (guint threads, guint64 limit)
{
  g_autoptr (GError) error = NULL;
  if (opt_clean == NULL)
    cli_usage_error ("--eval needs --clean FILE");
  if ((opt_noisy == NULL) == (opt_noise == NULL))
    cli_usage_error ("--eval needs either --noisy FILE or --noise SPEC");
  if (opt_data && opt_data[0])
    cli_usage_error ("--eval takes no training data ('%s')", opt_data[0]);
  const guint64 seed = opt_uint ("--seed", opt_seed, 0, G_MAXUINT64, 1);
  g_autoptr (DaeNoise) noise = NULL;
  if (opt_noise && (noise = dae_noise_new (opt_noise, &error)) == NULL)
    cli_usage_error ("%s", error->message);

  g_autofree char *path = dae_model_find (opt_eval, &error);
  if (path == NULL)
    cli_fail_error (error);
  g_autoptr (DaeModel) model = dae_model_load_file (path, &error);
  if (model == NULL)
    cli_fail_error (error); /* the message names the file */
  guint ph, pw;
  dae_model_get_patch_size (model, &ph, &pw);
  if (dae_model_get_channels (model) != 1)
    cli_fail ("%s: a model of %u channels; IDX images have one", path,
              dae_model_get_channels (model));

  Images clean = { 0 }, noisy = { 0 };
  load_idx (opt_clean, limit, &clean);
  if (opt_noisy)
    {
      load_idx (opt_noisy, limit, &noisy);
      if (noisy.n != clean.n || noisy.h != clean.h || noisy.w != clean.w)
        cli_fail ("%s: %zu images of %ux%u, but %s has %zu of %ux%u", opt_noisy, noisy.n,
                  noisy.w, noisy.h, opt_clean, clean.n, clean.w, clean.h);
    }
  else
    {
      noisy = (Images){ g_new (float, clean.n * clean.h * clean.w), clean.n, clean.h, clean.w };
      dae_noise_apply (noise, seed, 0, clean.n, (size_t) clean.h * clean.w, clean.x, noisy.x);
    }
  if (clean.h != ph || clean.w != pw)
    cli_fail ("%s: images of %ux%u, the model's patch is %ux%u", opt_clean, clean.w, clean.h,
              pw, ph);

  DaeTrainOptions topt;
  dae_train_options_init (&topt);
  topt.threads = threads;
  g_autoptr (DaeTrainer) tr = dae_trainer_new (model, &topt, &error);
  if (tr == NULL)
    cli_fail_error (error);
  const size_t count = clean.n * clean.h * clean.w;
  g_autofree float *out = g_new (float, count), *median = g_new (float, count);
  if (!dae_trainer_evaluate (tr, clean.n, noisy.x, NULL, NULL, out, &error))
    cli_fail_error (error);
  dae_median3x3 (clean.n, clean.h, clean.w, noisy.x, median);

  g_autofree char *nz = noise ? dae_noise_to_string (noise) : NULL;
  if (noise)
    printf ("# %s on %zu images of %s, noise %s seed %" G_GUINT64_FORMAT "\n", path, clean.n,
            opt_clean, nz, seed);
  else
    printf ("# %s on %zu images of %s, noisy %s\n", path, clean.n, opt_clean, opt_noisy);
  printf ("%-12s %8s %8s %8s\n", "#", "PSNR_dB", "SSIM", "BCE");
  print_scores ("model", clean.n, clean.h, clean.w, out, clean.x);
  print_scores ("noisy", clean.n, clean.h, clean.w, noisy.x, clean.x);
  print_scores ("median3x3", clean.n, clean.h, clean.w, median, clean.x);
  images_clear (&clean);
  images_clear (&noisy);
  if (fflush (stdout) != 0 || ferror (stdout))
    cli_fail ("standard output: write error");
  return 0;
}

/* ---- settings ----------------------------------------------------------------- */

/* What the options ask for, checked before any data is read. */
typedef struct {
  DaeTrainOptions topt;
  guint epochs;
  guint64 limit;      /* images per IDX file, 0 = all */
  size_t n_patches;   /* crops cut from pictures */
  guint patch;        /* --patch, 0 = the data's or the model's */
  double val_split;
  DaeNoise *noise;
} Settings;

static void
parse_settings (Settings *s, guint threads, guint64 limit)
{
  g_autoptr (GError) error = NULL;
  dae_train_options_init (&s->topt);
  s->topt.threads = threads;
  s->limit = limit;
  s->epochs = (guint) opt_uint ("--epochs", opt_epochs, 1, 100000, 20);
  s->topt.batch_size = (guint) opt_uint ("--batch", opt_batch, 1, DAE_TRAIN_MAX_BATCH, 128);
  s->topt.learning_rate = opt_double ("--lr", opt_lr, 0, 10, 1e-3, TRUE);
  s->topt.seed = opt_uint ("--seed", opt_seed, 0, G_MAXUINT64, 1);
  static const char *const losses[] = { "bce", "mse", NULL };
  static const DaeLoss loss[] = { DAE_LOSS_BCE, DAE_LOSS_MSE };
  s->topt.loss = loss[cli_parse_choice ("--loss", opt_loss, losses)];
  s->topt.ink_weight = opt_double ("--ink-weight", opt_ink_weight, 1, 1000, 1, FALSE);
  static const char *const adams[] = { "keras", "pytorch", NULL };
  static const DaeAdamFormula adam[] = { DAE_ADAM_KERAS, DAE_ADAM_PYTORCH };
  s->topt.adam_formula = adam[cli_parse_choice ("--adam", opt_adam, adams)];
  s->n_patches = opt_uint ("--patches", opt_patches, 1, 100000000, DEFAULT_PATCHES);
  s->patch = (guint) opt_uint ("--patch", opt_patch, 4, 1024, 0);
  s->val_split = opt_double ("--val-split", opt_val_split, 0, 0.9, 0, TRUE);
  s->noise = dae_noise_new (opt_noise ? opt_noise : "gaussian:0.5", &error);
  if (s->noise == NULL)
    cli_usage_error ("%s", error->message);
}

/* The options that go (or do not go) together. */
static void
check_combinations (const Settings *s)
{
  if (opt_output == NULL)
    cli_usage_error ("no output model given (-o FILE)");
  if (opt_data == NULL || opt_data[0] == NULL)
    cli_usage_error ("no training data given");
  if (opt_arch && opt_init_from)
    cli_usage_error ("--arch and --init-from exclude each other");
  if (opt_val_noisy && !opt_val_clean)
    cli_usage_error ("--val-noisy needs --val-clean");
  if (opt_val_clean && s->val_split > 0)
    cli_usage_error ("--val-clean and --val-split exclude each other");
  if (opt_train_noisy && (opt_noise || opt_noise_once || s->val_split > 0))
    cli_usage_error ("--train-noisy excludes --noise, --noise-once and --val-split");
  if (opt_train_noisy && opt_val_clean && !opt_val_noisy)
    cli_usage_error ("--train-noisy needs --val-noisy with --val-clean");
  if (opt_train_noisy && (opt_data[1] != NULL || !looks_like_idx (opt_data[0])))
    cli_usage_error ("--train-noisy pairs with exactly one IDX file of training data");
  static const char *const backgrounds[] = { "dark", "light", "any", NULL };
  if (opt_background)
    cli_parse_choice ("--background", opt_background, backgrounds);
}

/* ---- data loading ------------------------------------------------------------- */

/* The images trained and validated on, and where they came from. */
typedef struct {
  guint ph, pw;
  float *train;                 /* n_train x ph x pw */
  size_t n_train;
  float *val_clean, *val_noisy; /* n_val each, or NULL */
  size_t n_val;
  float *noisy_once;            /* --train-noisy's or --noise-once's inputs, or NULL */
  GString *data_desc, *val_desc, *init_from; /* for the metadata */
} Data;

static void
data_clear (Data *d)
{
  g_free (d->train);
  g_free (d->val_clean);
  g_free (d->val_noisy);
  g_free (d->noisy_once);
  g_string_free (d->data_desc, TRUE);
  g_string_free (d->val_desc, TRUE);
  g_string_free (d->init_from, TRUE);
}

/* --init-from's model, if any: its patch size decides how data are cut. */
static DaeModel *
load_init_model (const Settings *s, Data *d)
{
  g_autoptr (GError) error = NULL;
  DaeModel *model = NULL;
  d->ph = d->pw = s->patch;
  if (opt_init_from == NULL)
    return NULL;
  g_autofree char *p = dae_model_find (opt_init_from, &error);
  if (p == NULL || (model = dae_model_load_file (p, &error)) == NULL)
    cli_fail_error (error); /* the message names the file */
  record_file (d->init_from, p);
  if (s->patch)
    cli_usage_error ("--patch: the size is that of the --init-from model");
  dae_model_get_patch_size (model, &d->ph, &d->pw);
  return model;
}

/* Every picture of a directory; one checksum for it, of its files' names
 * and sums. */
static void
load_picture_dir (const char *dir, Pictures *pics, GString *desc)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) files = list_pictures (dir);
  g_autoptr (GString) lines = g_string_new (NULL);
  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *sum = file_sha256 (files->pdata[i], &error);
      if (sum == NULL)
        cli_fail_error (error);
      g_autofree char *base = g_path_get_basename (files->pdata[i]);
      g_string_append_printf (lines, "%s  %s\n", sum, base);
      load_picture_file (files->pdata[i], pics);
    }
  g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, lines->str,
                                                        lines->len);
  if (desc->len)
    g_string_append (desc, "; ");
  g_string_append_printf (desc, "%s/ (%u files) sha256-of-sha256sum:%s", dir, files->len, sum);
}

/* An IDX file of patch-sized images (the first one sets the size). */
static void
load_idx_set (const Settings *s, const char *path, Data *d, GArray *sets)
{
  Images im;
  load_idx (path, s->limit, &im);
  if (d->ph == 0)
    {
      d->ph = im.h;
      d->pw = im.w;
    }
  if (im.h != d->ph || im.w != d->pw)
    cli_fail ("%s: images of %ux%u, the patch is %ux%u", path, im.w, im.h, d->pw, d->ph);
  g_array_append_val (sets, im);
  record_file (d->data_desc, path);
}

/* The training images: the IDX sets' in order, then crops of the pictures. */
static void
load_training_data (const Settings *s, Data *d)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) sets = g_array_new (FALSE, TRUE, sizeof (Images));
  Pictures pics = { g_ptr_array_new_with_free_func (g_free),
                    g_array_new (FALSE, FALSE, sizeof (guint)),
                    g_array_new (FALSE, FALSE, sizeof (guint)) };
  for (char **p = opt_data; *p; p++)
    if (g_file_test (*p, G_FILE_TEST_IS_DIR))
      load_picture_dir (*p, &pics, d->data_desc);
    else if (looks_like_idx (*p))
      load_idx_set (s, *p, d, sets);
    else
      {
        load_picture_file (*p, &pics);
        record_file (d->data_desc, *p);
      }
  if (d->ph == 0)
    d->ph = d->pw = 28;
  const size_t pf = (size_t) d->ph * d->pw;
  for (guint i = 0; i < sets->len; i++)
    d->n_train += g_array_index (sets, Images, i).n;
  g_autofree float *crops = NULL;
  if (pics.planes->len)
    {
      crops = dae_random_crops (pics.planes->len, (const float *const *) pics.planes->pdata,
                                (guint *) pics.widths->data, (guint *) pics.heights->data,
                                s->n_patches, d->ph, d->pw, s->topt.seed, &error);
      if (crops == NULL)
        cli_fail_error (error);
      d->n_train += s->n_patches;
    }
  g_ptr_array_unref (pics.planes);
  g_array_unref (pics.widths);
  g_array_unref (pics.heights);
  d->train = images_alloc (d->n_train, pf);
  size_t at = 0;
  for (guint i = 0; i < sets->len; i++)
    {
      Images *im = &g_array_index (sets, Images, i);
      memcpy (d->train + at * pf, im->x, im->n * pf * sizeof (float));
      at += im->n;
      images_clear (im);
    }
  if (crops)
    memcpy (d->train + at * pf, crops, s->n_patches * pf * sizeof (float));
}

/* --val-clean (and --val-noisy), or --val-split's held-out images; noise
 * from the model where no noisy set is given. */
static void
load_validation (const Settings *s, Data *d)
{
  const size_t pf = (size_t) d->ph * d->pw;
  if (opt_val_clean)
    {
      Images vc, vn = { 0 };
      load_idx (opt_val_clean, s->limit, &vc);
      record_file (d->val_desc, opt_val_clean);
      if (vc.h != d->ph || vc.w != d->pw)
        cli_fail ("%s: images of %ux%u, the patch is %ux%u", opt_val_clean, vc.w, vc.h, d->pw,
                  d->ph);
      d->n_val = vc.n;
      d->val_clean = vc.x;
      if (opt_val_noisy)
        {
          load_idx (opt_val_noisy, s->limit, &vn);
          record_file (d->val_desc, opt_val_noisy);
          if (vn.n != vc.n || vn.h != vc.h || vn.w != vc.w)
            cli_fail ("%s: %zu images of %ux%u, but %s has %zu of %ux%u", opt_val_noisy, vn.n,
                      vn.w, vn.h, opt_val_clean, vc.n, vc.w, vc.h);
          d->val_noisy = vn.x;
        }
    }
  else if (s->val_split > 0)
    {
      d->n_val = (size_t) llround (s->val_split * d->n_train);
      if (d->n_val == 0 || d->n_val >= d->n_train)
        cli_usage_error ("--val-split %g leaves no training or no validation images", s->val_split);
      d->n_train -= d->n_val;
      d->val_clean = g_memdup2 (d->train + d->n_train * pf, d->n_val * pf * sizeof (float));
      g_string_append_printf (d->val_desc, "last %zu of the training images (--val-split)",
                              d->n_val);
    }
  if (d->val_clean && d->val_noisy == NULL)
    {
      /* A seed apart from the training noise's (which is seed itself for
       * --noise-once, and hashed per epoch otherwise). */
      d->val_noisy = g_new (float, d->n_val * pf);
      dae_noise_apply (s->noise, s->topt.seed + 1, 0, d->n_val, pf, d->val_clean, d->val_noisy);
    }
}

/* Inputs fixed for the whole run: --train-noisy's, or --noise-once's. */
static void
load_fixed_inputs (const Settings *s, Data *d)
{
  const size_t pf = (size_t) d->ph * d->pw;
  if (opt_train_noisy)
    {
      Images tn;
      load_idx (opt_train_noisy, s->limit, &tn);
      if (tn.n != d->n_train || tn.h != d->ph || tn.w != d->pw)
        cli_fail ("%s: %zu images of %ux%u, but the training data has %zu of %ux%u",
                  opt_train_noisy, tn.n, tn.w, tn.h, d->n_train, d->pw, d->ph);
      record_file (d->data_desc, opt_train_noisy);
      d->noisy_once = tn.x;
    }
  else if (opt_noise_once)
    {
      d->noisy_once = images_alloc (d->n_train, pf);
      dae_noise_apply (s->noise, s->topt.seed, 0, d->n_train, pf, d->train, d->noisy_once);
    }
}

/* ---- the training loop -------------------------------------------------------- */

/* What the epochs gave. */
typedef struct {
  EpochRow *rows;       /* one per epoch */
  double *tl, *vl;      /* training and validation loss per epoch, for the plot */
  float *val_out;       /* the last epoch's validation outputs */
  double train_seconds; /* in dae_trainer_train_epoch */
} History;

static void
history_clear (History *h)
{
  g_free (h->rows);
  g_free (h->tl);
  g_free (h->vl);
  g_free (h->val_out);
}

static void
print_epoch (const Settings *s, const Data *d, guint e, const EpochRow *row)
{
  g_autofree char *el = hms (row->elapsed);
  g_autofree char *eta = hms (row->elapsed / (e + 1) * (s->epochs - e - 1));
  const int width = (int) strlen (opt_epochs ? opt_epochs : "20");
  if (d->n_val)
    printf ("epoch %*u/%u  loss %.5f  val_loss %.5f  val_psnr %.2f dB  %.0f img/s  "
            "elapsed %s  eta %s\n", width, e + 1, s->epochs, row->train_loss, row->val_loss,
            row->val_psnr, row->images_per_s, el, eta);
  else
    printf ("epoch %*u/%u  loss %.5f  %.0f img/s  elapsed %s  eta %s\n", width, e + 1,
            s->epochs, row->train_loss, row->images_per_s, el, eta);
  fflush (stdout);
}

static void
run_epochs (const Settings *s, const Data *d, DaeTrainer *tr, History *h)
{
  g_autoptr (GError) error = NULL;
  const size_t pf = (size_t) d->ph * d->pw;
  DaeTrainData data = { .n = d->n_train, .clean = d->train, .noisy = d->noisy_once,
                        .noise = s->noise };
  Progress prog = { .tty = !opt_quiet && isatty (2), .epochs = s->epochs };
  h->rows = g_new0 (EpochRow, s->epochs);
  h->tl = g_new (double, s->epochs);
  h->vl = g_new (double, s->epochs);
  h->val_out = d->n_val ? g_new (float, d->n_val * pf) : NULL;
  const gint64 t0 = g_get_monotonic_time ();
  for (guint e = 0; e < s->epochs; e++)
    {
      prog.epoch = e + 1;
      prog.last = 0;
      const gint64 te = g_get_monotonic_time ();
      double loss;
      if (!dae_trainer_train_epoch (tr, &data, e, show_progress, &prog, &loss, &error))
        cli_fail_error (error);
      const double secs = (g_get_monotonic_time () - te) / 1e6;
      h->train_seconds += secs;
      double vloss = NAN, vpsnr = NAN;
      if (d->n_val)
        {
          if (!dae_trainer_evaluate (tr, d->n_val, d->val_noisy, d->val_clean, &vloss,
                                     h->val_out, &error))
            cli_fail_error (error);
          vpsnr = dae_psnr_mean (d->n_val, d->ph, d->pw, h->val_out, d->val_clean);
        }
      const double elapsed = (g_get_monotonic_time () - t0) / 1e6;
      h->rows[e] = (EpochRow){ loss, vloss, vpsnr, d->n_train / secs, elapsed };
      h->tl[e] = loss;
      h->vl[e] = vloss;
      clear_progress (&prog);
      if (!opt_quiet)
        print_epoch (s, d, e, &h->rows[e]);
      if (opt_log)
        write_log (opt_log, h->rows, e + 1);
    }
}

/* ---- metadata and outputs ----------------------------------------------------- */

/* What the run reached, as recorded in the model: "train_loss=... ...". */
static char *
final_metrics (const Settings *s, const Data *d, const History *h)
{
  const guint last = s->epochs - 1;
  GString *m = g_string_new (NULL);
  g_string_append_printf (m, "train_loss=%.5f", h->tl[last]);
  if (d->n_val)
    g_string_append_printf (m, " val_loss=%.5f val_psnr_db=%.3f val_ssim=%.4f val_bce=%.5f",
                            h->vl[last], h->rows[last].val_psnr,
                            dae_ssim_mean (d->n_val, d->ph, d->pw, h->val_out, d->val_clean),
                            dae_bce_mean (d->n_val, d->ph, d->pw, h->val_out, d->val_clean));
  return g_string_free (m, FALSE);
}

/* Metadata: enough to redo the run and to know what it reached. */
static void
set_metadata (DaeModel *model, const Settings *s, const Data *d, const char *cmd,
              const char *metrics)
{
  g_autofree char *seed_s = g_strdup_printf ("%" G_GUINT64_FORMAT, s->topt.seed);
  g_autofree char *epochs_s = g_strdup_printf ("%u", s->epochs);
  g_autofree char *batch_s = g_strdup_printf ("%u", s->topt.batch_size);
  g_autofree char *lr_s = fmt_double ("%g", s->topt.learning_rate);
  g_autofree char *ntrain_s = g_strdup_printf ("%zu", d->n_train);
  g_autofree char *noise_s = dae_noise_to_string (s->noise);
  g_autofree char *paired = g_strdup_printf ("paired: %s", opt_train_noisy);
  /* Keys written by an earlier run would describe another training. */
  g_auto (GStrv) old = dae_model_get_metadata_keys (model);
  for (char **k = old; *k; k++)
    if (strcmp (*k, "arch") != 0)
      dae_model_set_metadata (model, *k, NULL);
  dae_model_set_metadata (model, "generator", PROG " " DAE_VERSION_STRING);
  dae_model_set_metadata (model, "command", cmd);
  dae_model_set_metadata (model, "data", d->data_desc->str);
  dae_model_set_metadata (model, "training_images", ntrain_s);
  if (d->val_desc->len)
    dae_model_set_metadata (model, "validation_data", d->val_desc->str);
  if (d->init_from->len)
    dae_model_set_metadata (model, "init_from", d->init_from->str);
  dae_model_set_metadata (model, "seed", seed_s);
  dae_model_set_metadata (model, "epochs", epochs_s);
  dae_model_set_metadata (model, "batch", batch_s);
  dae_model_set_metadata (model, "optimizer", s->topt.adam_formula == DAE_ADAM_KERAS
                                                ? "adam (keras epsilon)" : "adam (pytorch epsilon)");
  dae_model_set_metadata (model, "learning_rate", lr_s);
  const char *loss_s = s->topt.loss == DAE_LOSS_BCE ? "bce" : "mse";
  g_autofree char *loss_w = g_strdup_printf ("%s, ink weight %g", loss_s, s->topt.ink_weight);
  dae_model_set_metadata (model, "loss", s->topt.ink_weight != 1 ? loss_w : loss_s);
  dae_model_set_metadata (model, "noise", opt_train_noisy ? paired : noise_s);
  dae_model_set_metadata (model, "noise_schedule", opt_train_noisy ? "fixed pairs"
                                                   : opt_noise_once ? "once" : "every epoch");
  dae_model_set_metadata (model, "background",
                          opt_background ? opt_background
                                         : background_of (d->train, d->n_train * d->ph * d->pw));
  dae_model_set_metadata (model, "metrics", metrics);
}

static void
save_model (DaeModel *model)
{
  g_autoptr (GError) error = NULL;
  if (!dae_model_save_file (model, opt_output, &error))
    {
      if (!g_str_has_prefix (error->message, opt_output))
        g_prefix_error (&error, "%s: ", opt_output);
      cli_fail_error (error);
    }
}

/* --preview: PREVIEW_IMAGES validation images (else training images with
 * noise) spread evenly over the set, since sets often come sorted (by
 * label, MNIST's test set among them). */
static void
write_preview (const Settings *s, const Data *d, DaeTrainer *tr)
{
  g_autoptr (GError) error = NULL;
  const size_t pf = (size_t) d->ph * d->pw, n = d->n_val ? d->n_val : d->n_train;
  const guint k = (guint) MIN ((size_t) PREVIEW_IMAGES, n);
  g_autofree float *pn = g_new (float, k * pf), *pd = g_new (float, k * pf);
  g_autofree float *pc = g_new (float, k * pf);
  for (guint i = 0; i < k; i++)
    {
      const size_t at = i * n / k * pf;
      memcpy (pc + i * pf, (d->n_val ? d->val_clean : d->train) + at, pf * sizeof (float));
      if (d->n_val)
        memcpy (pn + i * pf, d->val_noisy + at, pf * sizeof (float));
    }
  if (!d->n_val)
    dae_noise_apply (s->noise, s->topt.seed + 1, 0, k, pf, pc, pn);
  if (!dae_trainer_evaluate (tr, k, pn, NULL, NULL, pd, &error)
      || !dae_plot_preview (opt_preview, pn, pd, pc, k, d->ph, d->pw, &error))
    cli_fail_error (error);
}

static void
write_pictures (const Settings *s, const Data *d, const History *h, DaeTrainer *tr)
{
  g_autoptr (GError) error = NULL;
  if (opt_plot)
    {
      g_autofree char *base = g_path_get_basename (opt_output);
      g_autofree char *title = g_strdup_printf ("%s: loss per epoch", base);
      if (!dae_plot_loss_curve (opt_plot, h->tl, d->n_val ? h->vl : NULL, s->epochs, title,
                                &error))
        cli_fail_error (error);
    }
  if (opt_preview)
    write_preview (s, d, tr);
  if (opt_plot || opt_preview)
    dae_plot_shutdown ();
}

/* ---- main ----------------------------------------------------------------------- */

static void
describe_run (const Data *d, DaeModel *model, DaeTrainer *tr, const Settings *s)
{
  if (opt_quiet)
    return;
  fprintf (stderr, PROG ": %zu training images of %ux%u, %zu validation; %zu parameters; "
           "%u threads\n", d->n_train, d->pw, d->ph, d->n_val, dae_model_get_n_params (model),
           dae_trainer_get_n_threads (tr));
  if (!opt_verbose)
    return;
  g_autofree char *desc = dae_model_describe (model);
  g_autofree char *noise_s = dae_noise_to_string (s->noise);
  const char *note = dae_kernels_get_note (); /* why DAE_ISA was not followed */
  fprintf (stderr, "%s", desc);
  fprintf (stderr, "kernels: %s%s%s%s\n", dae_kernels_describe (), note ? " (" : "",
           note ? note : "", note ? ")" : "");
  fprintf (stderr, "noise: %s%s\n", noise_s,
           opt_noise_once ? " (drawn once)" : " (fresh every epoch)");
}

static GOptionContext *
option_context (void)
{
  GOptionContext *ctx = cli_start (PROG, NULL, train_entries,
    "Train a denoising autoencoder on clean images; the noisy inputs are made by a noise\n"
    "model.  DATA are IDX files (MNIST format, plain or gzip'd) of patch-sized images,\n"
    "and PNG/PNM image files or directories of them, cut into random patches.",
    "Evaluation:\n"
    "  " PROG " --eval MODEL --clean C.idx --noisy N.idx\n"
    "  " PROG " --eval MODEL --clean C.idx --noise gaussian:0.25 --seed 12345\n"
    "prints the mean PSNR, SSIM and BCE of the model's output, of the noisy input and\n"
    "of a 3x3 median filter.\n\n"
    "Example (the Keras tutorial's recipe):\n"
    "  " PROG " --noise gaussian:0.5 --noise-once --epochs 20 --batch 128 \\\n"
    "    --val-clean test-images-idx3-ubyte.gz --val-noisy test-noisy050-images-idx3-ubyte.gz \\\n"
    "    -o seed.dae train-images-idx3-ubyte.gz\n\n"
    "See dae-train(1) for the architecture and noise grammars.");
  g_option_context_add_main_entries (ctx, eval_entries, NULL);
  return ctx;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *cmd = command_line (argc, argv);
  g_autoptr (GOptionContext) ctx = option_context ();
  cli_parse_options (ctx, &argc, &argv);
  if (opt_version)
    {
      cli_print_version ();
      return 0;
    }
  const guint threads = (guint) opt_uint ("--threads", opt_threads, 0, 256, 0);
  const guint64 limit = opt_uint ("--limit", opt_limit, 1, G_MAXUINT32, 0);
  if (opt_eval)
    return run_eval (threads, limit);
  if (opt_clean || opt_noisy)
    cli_usage_error ("--clean and --noisy go with --eval");

  Settings s = { 0 };
  parse_settings (&s, threads, limit);
  check_combinations (&s);
  Data d = { .data_desc = g_string_new (NULL), .val_desc = g_string_new (NULL),
             .init_from = g_string_new (NULL) };
  g_autoptr (DaeModel) model = load_init_model (&s, &d);
  load_training_data (&s, &d);
  load_validation (&s, &d);
  if (model == NULL)
    {
      model = dae_model_new_from_arch (opt_arch, 1, d.ph, d.pw, &error);
      if (model == NULL)
        cli_usage_error ("%s", error->message);
      dae_model_init_glorot (model, s.topt.seed);
    }
  g_autoptr (DaeTrainer) tr = dae_trainer_new (model, &s.topt, &error);
  if (tr == NULL)
    cli_fail_error (error);
  load_fixed_inputs (&s, &d);
  describe_run (&d, model, tr, &s);

  History h = { 0 };
  run_epochs (&s, &d, tr, &h);
  g_autofree char *metrics = final_metrics (&s, &d, &h);
  set_metadata (model, &s, &d, cmd, metrics);
  save_model (model);
  if (!opt_quiet)
    fprintf (stderr, PROG ": wrote %s (%s; %.0f img/s over the run)\n", opt_output, metrics,
             d.n_train * s.epochs / h.train_seconds);
  write_pictures (&s, &d, &h, tr);
  history_clear (&h);
  data_clear (&d);
  dae_noise_free (s.noise);
  if (fflush (stdout) != 0 || ferror (stdout))
    cli_fail ("standard output: write error");
  return 0;
}
