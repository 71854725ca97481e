/* arch.c: models from a short architecture text (dae-train --arch).
 *
 *   spec   := preset | layer (',' layer)*
 *   layer  := op ['=' NAME]
 *   op     := 'c' N [':' act] | 't' N [':' act] | 'p' | 'u'
 *           | 'add:' ref [':' act] | 'cat:' ref
 *   ref    := 'in' | NAME | layer number (from 0)
 *   act    := 'relu' | 'sigmoid' | 'none'
 * c and t default to relu, add to none. */
#include "dae-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const preset_names[] = {
  "tutorial", "tutorial-convt", "wide", "unet", NULL
};

static const char *const preset_specs[] = {
  /* The Keras tutorial's network. */
  "c32,p,c32,p,c32,u,c32,u,c1:sigmoid",
  /* The same with 2x2 transposed convolutions in place of upsampling. */
  "c32,p,c32,p,c32,t32,c32,t32,c1:sigmoid",
  /* The tutorial's shape with more channels. */
  "c48,p,c64,p,c64,u,c64,u,c48,c1:sigmoid",
  /* A small U-Net (mnist.dae): the decoder upsamples and concatenates the
   * encoder's features of the same size. */
  "c16,c16=e1,p,c32,c32=e2,p,c48,c48,u,cat:e2,c32,c32,u,cat:e1,c16,c16,c1:sigmoid",
};

const char *const *
dae_arch_presets (void)
{
  return preset_names;
}

const char *
dae_arch_preset_spec (const char *name)
{
  for (guint i = 0; preset_names[i]; i++)
    if (strcmp (preset_names[i], name) == 0)
      return preset_specs[i];
  return NULL;
}

static gboolean
parse_act (const char *spec, const char *tok, const char *s, DaeActivation *act,
           GError **error)
{
  if (strcmp (s, "relu") == 0)
    *act = DAE_ACT_RELU;
  else if (strcmp (s, "sigmoid") == 0)
    *act = DAE_ACT_SIGMOID;
  else if (strcmp (s, "none") == 0 || strcmp (s, "linear") == 0)
    *act = DAE_ACT_NONE;
  else
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "arch '%s': layer '%s': unknown activation '%s' (relu, sigmoid "
                   "or none)", spec, tok, s);
      return FALSE;
    }
  return TRUE;
}

/* A channel count: digits only, 1..DAE__MAX_CHANNELS. */
static gboolean
parse_channels (const char *s, const char **end, guint *out)
{
  if (!g_ascii_isdigit (*s))
    return FALSE;
  char *e;
  errno = 0;
  guint64 v = g_ascii_strtoull (s, &e, 10);
  if (errno || v < 1 || v > DAE__MAX_CHANNELS)
    return FALSE;
  *end = e;
  *out = (guint) v;
  return TRUE;
}

static gboolean
parse_ref (const char *spec, const char *tok, const char *s, GPtrArray *names,
           guint n_layers, int *ref, GError **error)
{
  if (strcmp (s, "in") == 0)
    {
      *ref = DAE_SOURCE_INPUT;
      return TRUE;
    }
  if (g_ascii_isdigit (*s))
    {
      char *e;
      guint64 v = g_ascii_strtoull (s, &e, 10);
      if (*e == '\0' && v < n_layers)
        {
          *ref = (int) v;
          return TRUE;
        }
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "arch '%s': layer '%s': '%s' is not an earlier layer (0..%d)",
                   spec, tok, s, (int) n_layers - 1);
      return FALSE;
    }
  for (guint i = 0; i < names->len; i++)
    if (names->pdata[i] && strcmp (names->pdata[i], s) == 0)
      {
        *ref = (int) i;
        return TRUE;
      }
  g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
               "arch '%s': layer '%s': no earlier layer is named '%s'", spec, tok, s);
  return FALSE;
}

/* A layer's `=NAME`: a letter, then letters, digits or '_'; not "in", not
 * a name an earlier layer took. */
static gboolean
check_name (const char *spec, const char *tok, const char *name, const GPtrArray *names,
            GError **error)
{
  if (!g_ascii_isalpha (*name) || strcmp (name, "in") == 0)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                   "arch '%s': layer '%s': a name must start with a letter "
                   "and not be 'in'", spec, tok);
      return FALSE;
    }
  for (const char *c = name; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '_')
      {
        g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                     "arch '%s': layer '%s': bad character in name", spec, tok);
        return FALSE;
      }
  for (guint i = 0; i < names->len; i++)
    if (names->pdata[i] && strcmp (names->pdata[i], name) == 0)
      {
        g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                     "arch '%s': name '%s' given twice", spec, name);
        return FALSE;
      }
  return TRUE;
}

DaeModel *
dae_model_new_from_arch (const char *spec, guint channels, guint patch_height,
                         guint patch_width, GError **error)
{
  if (spec == NULL || *spec == '\0')
    spec = "tutorial";
  const char *expanded = dae_arch_preset_spec (spec);
  if (expanded == NULL)
    expanded = spec;
  g_autoptr (DaeModel) m = dae_model_new (channels, patch_height, patch_width, error);
  if (m == NULL)
    return NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) toks = g_strsplit (expanded, ",", -1);
  for (guint k = 0; toks[k]; k++)
    {
      char *tok = g_strstrip (toks[k]);
      if (*tok == '\0')
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                       "arch '%s': empty layer %u", spec, k + 1);
          return NULL;
        }
      g_autofree char *body = g_strdup (tok);
      char *name = strchr (body, '=');
      if (name)
        {
          *name++ = '\0';
          if (!check_name (spec, tok, name, names, error))
            return NULL;
        }

      DaeLayerKind kind;
      DaeActivation act = DAE_ACT_NONE;
      guint out_c = 0;
      int source = DAE_SOURCE_INPUT;
      g_auto (GStrv) parts = g_strsplit (body, ":", -1);
      const guint np = g_strv_length (parts);
      const char *op = parts[0];
      guint max_parts = 1;
      if ((op[0] == 'c' || op[0] == 't') && g_ascii_isdigit (op[1]))
        {
          const char *end;
          if (!parse_channels (op + 1, &end, &out_c) || *end != '\0')
            {
              g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                           "arch '%s': layer '%s': channels must be 1..%u", spec, tok,
                           DAE__MAX_CHANNELS);
              return NULL;
            }
          kind = op[0] == 'c' ? DAE_LAYER_CONV3X3 : DAE_LAYER_CONVT2X2;
          act = DAE_ACT_RELU;
          max_parts = 2;
          if (np == 2 && !parse_act (spec, tok, parts[1], &act, error))
            return NULL;
        }
      else if (strcmp (op, "p") == 0)
        kind = DAE_LAYER_MAXPOOL2;
      else if (strcmp (op, "u") == 0)
        kind = DAE_LAYER_UPSAMPLE2;
      else if (strcmp (op, "add") == 0 || strcmp (op, "cat") == 0)
        {
          kind = op[0] == 'a' ? DAE_LAYER_ADD : DAE_LAYER_CONCAT;
          max_parts = kind == DAE_LAYER_ADD ? 3 : 2;
          if (np < 2)
            {
              g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                           "arch '%s': layer '%s' needs a source, e.g. %s:in or "
                           "%s:0", spec, tok, op, op);
              return NULL;
            }
          if (!parse_ref (spec, tok, parts[1], names, m->n_layers, &source, error))
            return NULL;
          if (np == 3 && kind == DAE_LAYER_ADD
              && !parse_act (spec, tok, parts[2], &act, error))
            return NULL;
        }
      else
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                       "arch '%s': unknown layer '%s' (cN, tN, p, u, add:REF, cat:REF)",
                       spec, tok);
          return NULL;
        }
      if (np > max_parts)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_INVALID,
                       "arch '%s': layer '%s': too many ':' parts", spec, tok);
          return NULL;
        }
      GError *e = NULL;
      if (!dae_model_add_layer (m, kind, act, out_c, source, &e))
        {
          g_set_error (error, DAE_ERROR, e->code, "arch '%s': layer '%s': %s", spec, tok,
                       e->message);
          g_error_free (e);
          return NULL;
        }
      g_ptr_array_add (names, g_strdup (name));
    }

  /* What the whole must be: patch in, patch out. */
  g_autoptr (DaeRunner) r = dae_runner_new (m, patch_height, patch_width, error);
  if (r == NULL)
    {
      if (error && *error)
        g_prefix_error (error, "arch '%s': ", spec);
      return NULL;
    }
  dae_model_set_metadata (m, "arch", expanded);
  return g_steal_pointer (&m);
}
