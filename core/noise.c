/* noise.c: DaeNoise, the noise models that make noisy inputs from clean
 * training images.  Every image's noise comes from its own generator,
 * seeded by (seed, image index), so a data set gets the same noise however
 * it is split across calls or threads. */
#include "train-private.h"

#include <errno.h>
#include <string.h>

typedef enum {
  KIND_NONE,
  KIND_GAUSSIAN,
  KIND_SALTPEPPER,
  KIND_SPECKLE
} Kind;

static const struct {
  const char *name;
  Kind kind;
  double max; /* largest value accepted */
} kinds[] = {
  { "none", KIND_NONE, 0 },
  { "gaussian", KIND_GAUSSIAN, 100 },
  { "saltpepper", KIND_SALTPEPPER, 1 },
  { "speckle", KIND_SPECKLE, 100 },
};

typedef struct {
  Kind kind;
  double lo, hi; /* the parameter, drawn uniformly per image when lo < hi */
} Term;

typedef struct {
  guint n_terms;
  Term *terms; /* applied in sequence ('+') */
} Choice;

struct _DaeNoise {
  guint n_choices;
  Choice *choices; /* one per image, uniformly (',') */
};

void
dae_noise_free (DaeNoise *noise)
{
  if (noise == NULL)
    return;
  for (guint i = 0; i < noise->n_choices; i++)
    g_free (noise->choices[i].terms);
  g_free (noise->choices);
  g_free (noise);
}

static const char *
kind_name (Kind k)
{
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (kinds[i].kind == k)
      return kinds[i].name;
  return "?";
}

/* A non-negative decimal number at *p, advancing p. */
static gboolean
parse_number (const char **p, double *v)
{
  if (!g_ascii_isdigit (**p) && **p != '.')
    return FALSE;
  char *end;
  errno = 0;
  *v = g_ascii_strtod (*p, &end);
  if (end == *p || errno != 0 || !isfinite (*v))
    return FALSE;
  *p = end;
  return TRUE;
}

static gboolean
parse_term (const char *spec, const char *s, Term *term, GError **error)
{
  const char *colon = strchr (s, ':');
  const size_t len = colon ? (size_t) (colon - s) : strlen (s);
  guint k;
  for (k = 0; k < G_N_ELEMENTS (kinds); k++)
    if (strlen (kinds[k].name) == len && strncmp (kinds[k].name, s, len) == 0)
      break;
  if (k == G_N_ELEMENTS (kinds))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "noise '%s': unknown kind '%.*s' (gaussian, saltpepper, speckle "
                   "or none)", spec, (int) len, s);
      return FALSE;
    }
  term->kind = kinds[k].kind;
  term->lo = term->hi = 0;
  if (term->kind == KIND_NONE)
    {
      if (colon)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                       "noise '%s': 'none' takes no value", spec);
          return FALSE;
        }
      return TRUE;
    }
  const char *p = colon ? colon + 1 : NULL;
  if (p == NULL || !parse_number (&p, &term->lo))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "noise '%s': '%s' needs a value, e.g. %s:0.5 or %s:0.1-0.5", spec,
                   kinds[k].name, kinds[k].name, kinds[k].name);
      return FALSE;
    }
  term->hi = term->lo;
  if (*p == '-')
    {
      p++;
      if (!parse_number (&p, &term->hi))
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                       "noise '%s': '%s' has a range without an upper end", spec, s);
          return FALSE;
        }
    }
  if (*p != '\0')
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "noise '%s': unexpected '%s' after the value of '%s'", spec, p,
                   kinds[k].name);
      return FALSE;
    }
  if (term->hi < term->lo)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "noise '%s': range %g-%g runs backwards", spec, term->lo, term->hi);
      return FALSE;
    }
  if (term->hi > kinds[k].max)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "noise '%s': %s value %g above %g", spec, kinds[k].name, term->hi,
                   kinds[k].max);
      return FALSE;
    }
  return TRUE;
}

DaeNoise *
dae_noise_new (const char *spec, GError **error)
{
  g_return_val_if_fail (spec != NULL, NULL);
  g_autoptr (DaeNoise) noise = g_new0 (DaeNoise, 1);
  g_autofree char *clean = g_strdup (spec);
  g_strstrip (clean);
  if (*clean == '\0')
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_INVALID, "empty noise specification");
      return NULL;
    }
  g_auto (GStrv) choices = g_strsplit (clean, ",", -1);
  noise->n_choices = g_strv_length (choices);
  noise->choices = g_new0 (Choice, noise->n_choices);
  for (guint c = 0; c < noise->n_choices; c++)
    {
      g_auto (GStrv) terms = g_strsplit (choices[c], "+", -1);
      Choice *ch = &noise->choices[c];
      ch->n_terms = g_strv_length (terms);
      ch->terms = g_new0 (Term, MAX (ch->n_terms, 1));
      if (ch->n_terms == 0)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                       "noise '%s': empty alternative", spec);
          return NULL;
        }
      for (guint k = 0; k < ch->n_terms; k++)
        {
          g_strstrip (terms[k]);
          if (*terms[k] == '\0')
            {
              g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                           "noise '%s': empty term", spec);
              return NULL;
            }
          if (!parse_term (spec, terms[k], &ch->terms[k], error))
            return NULL;
        }
    }
  return g_steal_pointer (&noise);
}

char *
dae_noise_to_string (const DaeNoise *noise)
{
  GString *s = g_string_new (NULL);
  for (guint c = 0; c < noise->n_choices; c++)
    {
      const Choice *ch = &noise->choices[c];
      if (c > 0)
        g_string_append_c (s, ',');
      for (guint k = 0; k < ch->n_terms; k++)
        {
          const Term *t = &ch->terms[k];
          if (k > 0)
            g_string_append_c (s, '+');
          g_string_append (s, kind_name (t->kind));
          if (t->kind == KIND_NONE)
            continue;
          char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
          g_ascii_formatd (a, sizeof a, "%g", t->lo);
          g_string_append_printf (s, ":%s", a);
          if (t->hi > t->lo)
            {
              g_ascii_formatd (b, sizeof b, "%g", t->hi);
              g_string_append_printf (s, "-%s", b);
            }
        }
    }
  return g_string_free (s, FALSE);
}

static inline float
clip01 (double v)
{
  return v < 0.0 ? 0.0f : v > 1.0 ? 1.0f : (float) v;
}

/* Applies one term to x in place. */
static void
apply_term (const Term *t, DaeRng *rng, size_t count, float *x)
{
  const double v = t->hi > t->lo ? t->lo + (t->hi - t->lo) * dae__rng_uniform (rng) : t->lo;
  switch (t->kind)
    {
    case KIND_NONE:
      break;
    case KIND_GAUSSIAN:
    case KIND_SPECKLE:
      /* Box-Muller, both values of each pair. */
      for (size_t i = 0; i < count; i += 2)
        {
          const double u1 = 1.0 - dae__rng_uniform (rng), u2 = dae__rng_uniform (rng);
          const double r = sqrt (-2.0 * log (u1)), a = 2.0 * G_PI * u2;
          const double z[2] = { r * cos (a), r * sin (a) };
          for (size_t k = 0; k < 2 && i + k < count; k++)
            {
              const double s = t->kind == KIND_GAUSSIAN ? v : v * x[i + k];
              x[i + k] = clip01 (x[i + k] + s * z[k]);
            }
        }
      break;
    case KIND_SALTPEPPER:
      for (size_t i = 0; i < count; i++)
        {
          const double u = dae__rng_uniform (rng);
          if (u < v)
            x[i] = u < 0.5 * v ? 0.0f : 1.0f;
        }
      break;
    }
}

void
dae_noise_apply (const DaeNoise *noise, guint64 seed, size_t first_index,
                 size_t n, size_t image_floats, const float *clean, float *noisy)
{
  for (size_t k = 0; k < n; k++)
    {
      const float *src = clean + k * image_floats;
      float *dst = noisy + k * image_floats;
      if (dst != src)
        memcpy (dst, src, image_floats * sizeof (float));
      DaeRng rng;
      dae__rng_init (&rng, seed, DAE__STREAM_NOISE, first_index + k);
      const Choice *ch = &noise->choices[noise->n_choices > 1
                                             ? dae__rng_below (&rng, noise->n_choices)
                                             : 0];
      for (guint i = 0; i < ch->n_terms; i++)
        apply_term (&ch->terms[i], &rng, image_floats, dst);
    }
}

/* ---- random crops ------------------------------------------------------- */

float *
dae_random_crops (guint n_images, const float *const *images,
                  const guint *widths, const guint *heights, size_t n_patches,
                  guint patch_height, guint patch_width, guint64 seed,
                  GError **error)
{
  /* Positions offered by each image, cumulated. */
  g_autofree guint64 *cum = g_new (guint64, MAX (n_images, 1));
  guint64 total = 0;
  for (guint i = 0; i < n_images; i++)
    {
      if (widths[i] >= patch_width && heights[i] >= patch_height)
        total += (guint64) (widths[i] - patch_width + 1) * (heights[i] - patch_height + 1);
      cum[i] = total;
    }
  if (total == 0)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "no image is at least %ux%u, the patch size", patch_width,
                   patch_height);
      return NULL;
    }
  const size_t pf = (size_t) patch_height * patch_width;
  if (n_patches == 0 || n_patches > G_MAXSIZE / sizeof (float) / pf)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT, "%zu patches: out of range",
                   n_patches);
      return NULL;
    }
  float *out = g_try_new (float, n_patches * pf);
  if (out == NULL)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "%zu patches do not fit in memory", n_patches);
      return NULL;
    }
  DaeRng rng;
  dae__rng_init (&rng, seed, DAE__STREAM_CROPS, 0);
  for (size_t p = 0; p < n_patches; p++)
    {
      guint64 r = dae__rng_below (&rng, total);
      guint i = 0;
      while (cum[i] <= r)
        i++;
      r -= i > 0 ? cum[i - 1] : 0;
      const guint nx = widths[i] - patch_width + 1;
      const guint y0 = (guint) (r / nx), x0 = (guint) (r % nx);
      for (guint y = 0; y < patch_height; y++)
        memcpy (out + p * pf + (size_t) y * patch_width,
                images[i] + (size_t) (y0 + y) * widths[i] + x0, patch_width * sizeof (float));
    }
  return out;
}
