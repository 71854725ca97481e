/* model.c: DaeModel, its .dae file format (dae-model(5)) and summary. */
#include "dae-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <zlib.h>

static const guint8 dae_magic[8] = { 0x89, 'D', 'A', 'E', '\r', '\n', 0x1a, '\n' };
#define DAE_FORMAT_VERSION 1u
#define HEADER_SIZE 40u /* magic, 6 x u32, u64 */
#define LAYER_RECORD_SIZE 24u

G_DEFINE_QUARK (dae-error-quark, dae_error)

const char *
dae_version (void)
{
  return DAE_VERSION_STRING;
}

const char *
dae__layer_kind_name (DaeLayerKind kind)
{
  switch (kind)
    {
    case DAE_LAYER_CONV3X3: return "conv3x3";
    case DAE_LAYER_MAXPOOL2: return "maxpool2";
    case DAE_LAYER_UPSAMPLE2: return "upsample2";
    case DAE_LAYER_CONVT2X2: return "convt2x2";
    case DAE_LAYER_ADD: return "add";
    case DAE_LAYER_CONCAT: return "concat";
    }
  return "unknown";
}

static const char *
act_name (DaeActivation act)
{
  switch (act)
    {
    case DAE_ACT_NONE: return "";
    case DAE_ACT_RELU: return "relu";
    case DAE_ACT_SIGMOID: return "sigmoid";
    }
  return "?";
}

DaeModel *
dae_model_new (guint channels, guint patch_height, guint patch_width,
               GError **error)
{
  if (channels == 0 || channels > DAE__MAX_CHANNELS)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "input channels %u out of range 1..%u", channels,
                   DAE__MAX_CHANNELS);
      return NULL;
    }
  if (patch_height == 0 || patch_width == 0 || patch_height > DAE__MAX_PATCH
      || patch_width > DAE__MAX_PATCH)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "patch size %ux%u out of range 1..%u", patch_width,
                   patch_height, DAE__MAX_PATCH);
      return NULL;
    }
  DaeModel *m = g_new0 (DaeModel, 1);
  m->in_c = channels;
  m->patch_h = patch_height;
  m->patch_w = patch_width;
  m->meta_keys = g_ptr_array_new_with_free_func (g_free);
  m->meta_values = g_ptr_array_new_with_free_func (g_free);
  return m;
}

void
dae_model_free (DaeModel *model)
{
  if (model == NULL)
    return;
  g_free (model->layers);
  g_free (model->params);
  g_ptr_array_unref (model->meta_keys);
  g_ptr_array_unref (model->meta_values);
  g_free (model);
}

DaeModel *
dae_model_copy (const DaeModel *model)
{
  DaeModel *m = dae_model_new (model->in_c, model->patch_h, model->patch_w, NULL);
  m->n_layers = model->n_layers;
  m->layers = g_memdup2 (model->layers, sizeof (DaeLayer) * model->n_layers);
  m->n_params = model->n_params;
  m->params = g_memdup2 (model->params, sizeof (float) * model->n_params);
  for (guint i = 0; i < model->meta_keys->len; i++)
    {
      g_ptr_array_add (m->meta_keys, g_strdup (model->meta_keys->pdata[i]));
      g_ptr_array_add (m->meta_values, g_strdup (model->meta_values->pdata[i]));
    }
  return m;
}

/* Channels of the tensor a layer index refers to (-1: the input). */
static guint
channels_of (const DaeModel *m, int index)
{
  return index < 0 ? m->in_c : m->layers[index].c;
}

gboolean
dae__model_derive_layer (DaeModel *m, guint i, GError **error)
{
  DaeLayer *l = &m->layers[i];
  l->in_c = channels_of (m, (int) i - 1);
  l->n_weight = l->n_bias = 0;
  l->offset = i == 0 ? 0 : m->layers[i - 1].offset + m->layers[i - 1].n_weight
                               + m->layers[i - 1].n_bias;

  if ((unsigned) l->act > DAE_ACT_SIGMOID)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                   "layer %u: unknown activation %u", i, (unsigned) l->act);
      return FALSE;
    }
  gboolean has_out_c = l->kind == DAE_LAYER_CONV3X3 || l->kind == DAE_LAYER_CONVT2X2;
  gboolean has_source = l->kind == DAE_LAYER_ADD || l->kind == DAE_LAYER_CONCAT;
  gboolean has_act = has_out_c || l->kind == DAE_LAYER_ADD;
  if (l->kind < DAE_LAYER_CONV3X3 || l->kind > DAE_LAYER_CONCAT)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                   "layer %u: unknown layer kind %u", i, (unsigned) l->kind);
      return FALSE;
    }
  if (has_out_c && (l->out_c == 0 || l->out_c > DAE__MAX_CHANNELS))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "layer %u (%s): output channels %u out of range 1..%u", i,
                   dae__layer_kind_name (l->kind), l->out_c, DAE__MAX_CHANNELS);
      return FALSE;
    }
  if (!has_out_c && l->out_c != 0)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "layer %u (%s): has output channels %u, expected 0", i,
                   dae__layer_kind_name (l->kind), l->out_c);
      return FALSE;
    }
  if (!has_act && l->act != DAE_ACT_NONE)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "layer %u (%s): takes no activation", i,
                   dae__layer_kind_name (l->kind));
      return FALSE;
    }
  if (has_source && (l->source < DAE_SOURCE_INPUT || l->source >= (int) i))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_SHAPE,
                   "layer %u (%s): source %d is not an earlier layer's output",
                   i, dae__layer_kind_name (l->kind), l->source);
      return FALSE;
    }
  if (!has_source && l->source != DAE_SOURCE_INPUT)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "layer %u (%s): has a source, expected none (-1)", i,
                   dae__layer_kind_name (l->kind));
      return FALSE;
    }

  switch (l->kind)
    {
    case DAE_LAYER_CONV3X3:
      l->c = l->out_c;
      l->n_weight = (size_t) l->out_c * l->in_c * 9;
      l->n_bias = l->out_c;
      break;
    case DAE_LAYER_CONVT2X2:
      l->c = l->out_c;
      l->n_weight = (size_t) l->in_c * l->out_c * 4;
      l->n_bias = l->out_c;
      break;
    case DAE_LAYER_MAXPOOL2:
    case DAE_LAYER_UPSAMPLE2:
      l->c = l->in_c;
      break;
    case DAE_LAYER_ADD:
      if (channels_of (m, l->source) != l->in_c)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_SHAPE,
                       "layer %u (add): %u channels added to %u from source %d",
                       i, channels_of (m, l->source), l->in_c, l->source);
          return FALSE;
        }
      l->c = l->in_c;
      break;
    case DAE_LAYER_CONCAT:
      l->c = l->in_c + channels_of (m, l->source);
      if (l->c > DAE__MAX_CHANNELS)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                       "layer %u (concat): %u channels, more than %u", i, l->c,
                       DAE__MAX_CHANNELS);
          return FALSE;
        }
      break;
    }
  if (l->offset + l->n_weight + l->n_bias > DAE__MAX_PARAMS)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "more than %u parameters", DAE__MAX_PARAMS);
      return FALSE;
    }
  return TRUE;
}

gboolean
dae__model_infer_shapes (const DaeModel *m, guint h, guint w,
                         DaeShape *shapes, GError **error)
{
  DaeShape in = { m->in_c, h, w };
  for (guint i = 0; i < m->n_layers; i++)
    {
      const DaeLayer *l = &m->layers[i];
      DaeShape s = i == 0 ? in : shapes[i - 1];
      switch (l->kind)
        {
        case DAE_LAYER_CONV3X3:
          s.c = l->c;
          break;
        case DAE_LAYER_MAXPOOL2:
          s.h = (s.h + 1) / 2;
          s.w = (s.w + 1) / 2;
          break;
        case DAE_LAYER_UPSAMPLE2:
        case DAE_LAYER_CONVT2X2:
          if (s.h > DAE__MAX_PATCH || s.w > DAE__MAX_PATCH)
            {
              g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                           "layer %u (%s): output larger than %ux%u", i,
                           dae__layer_kind_name (l->kind), 2 * DAE__MAX_PATCH,
                           2 * DAE__MAX_PATCH);
              return FALSE;
            }
          s.c = l->c;
          s.h *= 2;
          s.w *= 2;
          break;
        case DAE_LAYER_ADD:
        case DAE_LAYER_CONCAT:
          {
            DaeShape src = l->source < 0 ? in : shapes[l->source];
            if (src.h != s.h || src.w != s.w)
              {
                g_set_error (error, DAE_ERROR, DAE_ERROR_SHAPE,
                             "layer %u (%s): joins %ux%u with %ux%u from "
                             "source %d", i, dae__layer_kind_name (l->kind),
                             s.w, s.h, src.w, src.h, l->source);
                return FALSE;
              }
            s.c = l->c;
          }
          break;
        }
      shapes[i] = s;
    }
  return TRUE;
}

/* Checks what a complete model must satisfy: it maps an input patch to an
 * output of the same shape. */
static gboolean
model_check_complete (const DaeModel *m, GError **error)
{
  if (m->n_layers == 0)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_SHAPE, "model has no layers");
      return FALSE;
    }
  g_autofree DaeShape *shapes = g_new (DaeShape, m->n_layers);
  if (!dae__model_infer_shapes (m, m->patch_h, m->patch_w, shapes, error))
    return FALSE;
  DaeShape o = shapes[m->n_layers - 1];
  if (o.c != m->in_c || o.h != m->patch_h || o.w != m->patch_w)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_SHAPE,
                   "output shape %ux%ux%u differs from input shape %ux%ux%u",
                   o.h, o.w, o.c, m->patch_h, m->patch_w, m->in_c);
      return FALSE;
    }
  return TRUE;
}

gboolean
dae_model_add_layer (DaeModel *m, DaeLayerKind kind, DaeActivation activation,
                     guint out_channels, int source, GError **error)
{
  g_return_val_if_fail (m != NULL, FALSE);
  if (m->n_layers >= DAE__MAX_LAYERS)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT, "more than %u layers",
                   DAE__MAX_LAYERS);
      return FALSE;
    }
  gboolean joins = kind == DAE_LAYER_ADD || kind == DAE_LAYER_CONCAT;
  m->layers = g_renew (DaeLayer, m->layers, m->n_layers + 1);
  DaeLayer *l = &m->layers[m->n_layers];
  *l = (DaeLayer){ .kind = kind, .act = activation, .out_c = out_channels,
                   .source = joins ? source : DAE_SOURCE_INPUT };
  guint i = m->n_layers;
  m->n_layers++;
  g_autofree DaeShape *shapes = g_new (DaeShape, m->n_layers);
  if (!dae__model_derive_layer (m, i, error)
      || !dae__model_infer_shapes (m, m->patch_h, m->patch_w, shapes, error))
    {
      m->n_layers--;
      return FALSE;
    }
  size_t n = l->offset + l->n_weight + l->n_bias;
  m->params = g_renew (float, m->params, MAX (n, 1));
  memset (m->params + m->n_params, 0, (n - m->n_params) * sizeof (float));
  m->n_params = n;
  return TRUE;
}

/* ---- accessors ---------------------------------------------------------- */

guint
dae_model_get_channels (const DaeModel *model)
{
  return model->in_c;
}

void
dae_model_get_patch_size (const DaeModel *model, guint *height, guint *width)
{
  if (height)
    *height = model->patch_h;
  if (width)
    *width = model->patch_w;
}

guint
dae_model_get_n_layers (const DaeModel *model)
{
  return model->n_layers;
}

gboolean
dae_model_get_layer (const DaeModel *model, guint index, DaeLayerKind *kind,
                     DaeActivation *activation, guint *out_channels,
                     int *source)
{
  if (index >= model->n_layers)
    return FALSE;
  const DaeLayer *l = &model->layers[index];
  if (kind)
    *kind = l->kind;
  if (activation)
    *activation = l->act;
  if (out_channels)
    *out_channels = l->c;
  if (source)
    *source = l->source;
  return TRUE;
}

size_t
dae_model_get_n_params (const DaeModel *model)
{
  return model->n_params;
}

float *
dae_model_layer_params (DaeModel *model, guint index, size_t *n_weights,
                        float **bias)
{
  if (index >= model->n_layers || model->layers[index].n_weight == 0)
    {
      if (n_weights)
        *n_weights = 0;
      if (bias)
        *bias = NULL;
      return NULL;
    }
  DaeLayer *l = &model->layers[index];
  if (n_weights)
    *n_weights = l->n_weight;
  if (bias)
    *bias = model->params + l->offset + l->n_weight;
  return model->params + l->offset;
}

static int
meta_index (const DaeModel *m, const char *key)
{
  for (guint i = 0; i < m->meta_keys->len; i++)
    if (strcmp (m->meta_keys->pdata[i], key) == 0)
      return (int) i;
  return -1;
}

const char *
dae_model_get_metadata (const DaeModel *model, const char *key)
{
  int i = meta_index (model, key);
  return i < 0 ? NULL : model->meta_values->pdata[i];
}

void
dae_model_set_metadata (DaeModel *model, const char *key, const char *value)
{
  g_return_if_fail (key != NULL && *key != '\0' && strlen (key) <= DAE__MAX_KEY);
  int i = meta_index (model, key);
  if (value == NULL)
    {
      if (i >= 0)
        {
          g_ptr_array_remove_index (model->meta_keys, i);
          g_ptr_array_remove_index (model->meta_values, i);
        }
      return;
    }
  if (i >= 0)
    {
      g_free (model->meta_values->pdata[i]);
      model->meta_values->pdata[i] = g_strdup (value);
      return;
    }
  g_ptr_array_add (model->meta_keys, g_strdup (key));
  g_ptr_array_add (model->meta_values, g_strdup (value));
}

char **
dae_model_get_metadata_keys (const DaeModel *model)
{
  char **keys = g_new0 (char *, model->meta_keys->len + 1);
  for (guint i = 0; i < model->meta_keys->len; i++)
    keys[i] = g_strdup (model->meta_keys->pdata[i]);
  return keys;
}

/* ---- summary ------------------------------------------------------------ */

static void
thousands (GString *s, size_t v)
{
  char digits[32];
  int n = g_snprintf (digits, sizeof digits, "%zu", v);
  for (int i = 0; i < n; i++)
    {
      if (i > 0 && (n - i) % 3 == 0)
        g_string_append_c (s, ',');
      g_string_append_c (s, digits[i]);
    }
}

char *
dae_model_describe (const DaeModel *m)
{
  GString *s = g_string_new (NULL);
  g_autofree DaeShape *shapes = g_new (DaeShape, MAX (m->n_layers, 1));
  gboolean ok = dae__model_infer_shapes (m, m->patch_h, m->patch_w, shapes, NULL);
  const char *rule = "________________________________________________________________________\n";
  const char *dbl = "========================================================================\n";
  g_string_append (s, rule);
  g_string_append_printf (s, " %-34s %-22s %12s\n", "Layer (type)", "Output Shape", "Param #");
  g_string_append (s, dbl);
  g_string_append_printf (s, " %-34s (None, %u, %u, %u)%*s%12s\n", "input", m->patch_h,
                          m->patch_w, m->in_c, 0, "", "0");
  for (guint i = 0; i < m->n_layers; i++)
    {
      const DaeLayer *l = &m->layers[i];
      g_autofree char *name = g_strdup_printf ("%u %s%s%s", i, dae__layer_kind_name (l->kind),
                                               *act_name (l->act) ? "," : "", act_name (l->act));
      if (l->kind == DAE_LAYER_ADD || l->kind == DAE_LAYER_CONCAT)
        {
          char *joined = l->source < 0 ? g_strdup_printf ("%s <- input", name)
                                       : g_strdup_printf ("%s <- %d", name, l->source);
          g_free (name);
          name = joined;
        }
      g_autofree char *shape = ok ? g_strdup_printf ("(None, %u, %u, %u)", shapes[i].h,
                                                     shapes[i].w, shapes[i].c)
                                  : g_strdup ("?");
      GString *p = g_string_new (NULL);
      thousands (p, l->n_weight + l->n_bias);
      g_string_append_printf (s, " %-34s %-22s %12s\n", name, shape, p->str);
      g_string_free (p, TRUE);
    }
  g_string_append (s, dbl);
  g_string_append (s, "Total params: ");
  thousands (s, m->n_params);
  g_string_append (s, "\n");
  g_string_append (s, rule);
  return g_string_free (s, FALSE);
}

/* ---- serialisation ------------------------------------------------------ */

static void
put_u32 (GByteArray *b, guint32 v)
{
  guint8 x[4] = { v, v >> 8, v >> 16, v >> 24 };
  g_byte_array_append (b, x, 4);
}

static void
put_u64 (GByteArray *b, guint64 v)
{
  put_u32 (b, (guint32) v);
  put_u32 (b, (guint32) (v >> 32));
}

guint8 *
dae_model_save_memory (const DaeModel *m, size_t *size)
{
  GByteArray *b = g_byte_array_new ();
  g_byte_array_append (b, dae_magic, sizeof dae_magic);
  put_u32 (b, DAE_FORMAT_VERSION);
  put_u32 (b, m->in_c);
  put_u32 (b, m->patch_h);
  put_u32 (b, m->patch_w);
  put_u32 (b, m->n_layers);
  put_u32 (b, m->meta_keys->len);
  put_u64 (b, m->n_params);
  for (guint i = 0; i < m->n_layers; i++)
    {
      const DaeLayer *l = &m->layers[i];
      guint ksize = l->kind == DAE_LAYER_CONV3X3 ? 3 : l->kind == DAE_LAYER_CONVT2X2 ? 2 : 0;
      put_u32 (b, l->kind);
      put_u32 (b, l->act);
      put_u32 (b, ksize);
      put_u32 (b, l->out_c);
      put_u32 (b, (guint32) l->source);
      put_u32 (b, 0);
    }
  for (guint i = 0; i < m->meta_keys->len; i++)
    {
      const char *k = m->meta_keys->pdata[i], *v = m->meta_values->pdata[i];
      put_u32 (b, strlen (k));
      g_byte_array_append (b, (const guint8 *) k, strlen (k));
      put_u32 (b, strlen (v));
      g_byte_array_append (b, (const guint8 *) v, strlen (v));
    }
  for (size_t i = 0; i < m->n_params; i++)
    {
      guint32 u;
      memcpy (&u, &m->params[i], 4);
      put_u32 (b, u);
    }
  put_u32 (b, (guint32) crc32 (crc32 (0, NULL, 0), b->data, b->len));
  *size = b->len;
  return g_byte_array_free (b, FALSE);
}

gboolean
dae_model_save_file (const DaeModel *model, const char *path, GError **error)
{
  size_t size;
  g_autofree guint8 *data = dae_model_save_memory (model, &size);
  /* g_file_set_contents writes a temporary file and renames it. */
  return g_file_set_contents_full (path, (const char *) data, size,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

/* A bounds-checked reader over the file's bytes. */
typedef struct {
  const guint8 *p;
  size_t left;
} Cursor;

static gboolean
take (Cursor *c, size_t n, const guint8 **out, const char *what, GError **error)
{
  if (c->left < n)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "truncated model file: %s is cut off", what);
      return FALSE;
    }
  *out = c->p;
  c->p += n;
  c->left -= n;
  return TRUE;
}

static gboolean
take_u32 (Cursor *c, guint32 *v, const char *what, GError **error)
{
  const guint8 *p;
  if (!take (c, 4, &p, what, error))
    return FALSE;
  *v = p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
  return TRUE;
}

static gboolean
take_string (Cursor *c, guint32 max, char **out, const char *what, guint index,
             GError **error)
{
  guint32 len;
  const guint8 *p;
  g_autofree char *label = g_strdup_printf ("metadata %s %u", what, index);
  if (!take_u32 (c, &len, label, error))
    return FALSE;
  if (len > max || (len == 0 && strcmp (what, "key") == 0))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "%s has length %u, allowed 1..%u", label, len, max);
      return FALSE;
    }
  if (!take (c, len, &p, label, error))
    return FALSE;
  if (memchr (p, '\0', len) || !g_utf8_validate ((const char *) p, len, NULL))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT, "%s is not valid UTF-8 text",
                   label);
      return FALSE;
    }
  *out = g_strndup ((const char *) p, len);
  return TRUE;
}

/* The file's frame: magic, size, version (before the CRC, so that a newer
 * file is named as such) and the CRC-32 of everything before it. */
static gboolean
check_frame (const void *data, size_t size, GError **error)
{
  const guint8 *bytes = data;
  if (size < sizeof dae_magic || memcmp (bytes, dae_magic, sizeof dae_magic) != 0)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_FORMAT,
                           size < sizeof dae_magic && memcmp (bytes, dae_magic, size) == 0
                               ? "truncated model file: magic is cut off"
                               : "not a dae model file (bad magic)");
      return FALSE;
    }
  if (size < HEADER_SIZE + 4)
    {
      g_set_error_literal (error, DAE_ERROR, DAE_ERROR_FORMAT,
                           "truncated model file: header is cut off");
      return FALSE;
    }
  guint32 version = bytes[8] | (guint32) bytes[9] << 8 | (guint32) bytes[10] << 16
                    | (guint32) bytes[11] << 24;
  if (version != DAE_FORMAT_VERSION)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_UNSUPPORTED,
                   "unsupported model format version %u (this build reads %u)",
                   version, DAE_FORMAT_VERSION);
      return FALSE;
    }
  const guint8 *t = bytes + size - 4;
  guint32 stored = t[0] | (guint32) t[1] << 8 | (guint32) t[2] << 16 | (guint32) t[3] << 24;
  guint32 actual = (guint32) crc32 (crc32 (0, NULL, 0), bytes, size - 4);
  if (stored != actual)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   "model file is corrupt or truncated (CRC-32 %08x, expected %08x)",
                   actual, stored);
      return FALSE;
    }
  return TRUE;
}

/* The layer records: each derived from those before it, and together
 * exactly @n_params parameters. */
static gboolean
read_layers (DaeModel *m, Cursor *c, guint32 n_layers, guint64 n_params, GError **error)
{
  m->layers = g_new0 (DaeLayer, n_layers);
  for (guint32 i = 0; i < n_layers; i++)
    {
      guint32 kind, act, ksize, out_c, source, reserved;
      g_autofree char *what = g_strdup_printf ("layer record %u", i);
      if (!take_u32 (c, &kind, what, error) || !take_u32 (c, &act, what, error)
          || !take_u32 (c, &ksize, what, error) || !take_u32 (c, &out_c, what, error)
          || !take_u32 (c, &source, what, error) || !take_u32 (c, &reserved, what, error))
        return FALSE;
      DaeLayer *l = &m->layers[i];
      *l = (DaeLayer){ .kind = kind, .act = act, .out_c = out_c, .source = (gint32) source };
      m->n_layers = i + 1;
      if (!dae__model_derive_layer (m, i, error))
        return FALSE;
      guint want = kind == DAE_LAYER_CONV3X3 ? 3 : kind == DAE_LAYER_CONVT2X2 ? 2 : 0;
      if (ksize != want || reserved != 0)
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                       "layer %u (%s): kernel size %u and reserved %u, expected %u and 0",
                       i, dae__layer_kind_name (kind), ksize, reserved, want);
          return FALSE;
        }
    }
  const DaeLayer *last = &m->layers[n_layers - 1];
  if (last->offset + last->n_weight + last->n_bias != n_params)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_SHAPE,
                   "header says %" G_GUINT64_FORMAT " parameters, layers need %zu",
                   n_params, last->offset + last->n_weight + last->n_bias);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_metadata (DaeModel *m, Cursor *c, guint32 n_meta, GError **error)
{
  for (guint32 i = 0; i < n_meta; i++)
    {
      char *key = NULL, *value = NULL;
      if (!take_string (c, DAE__MAX_KEY, &key, "key", i, error))
        return FALSE;
      if (!take_string (c, DAE__MAX_VALUE, &value, "value", i, error))
        {
          g_free (key);
          return FALSE;
        }
      if (meta_index (m, key) >= 0)
        {
          /* Escaped: the key is the file's text, a message is one line. */
          g_autofree char *q = g_strescape (key, NULL);
          g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                       "metadata key \"%s\" appears twice", q);
          g_free (key);
          g_free (value);
          return FALSE;
        }
      g_ptr_array_add (m->meta_keys, key);
      g_ptr_array_add (m->meta_values, value);
    }
  return TRUE;
}

/* The parameters: what is left of the file, little-endian float32, finite. */
static gboolean
read_params (DaeModel *m, Cursor *c, guint64 n_params, GError **error)
{
  if (c->left != n_params * 4)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                   c->left < n_params * 4
                       ? "truncated model file: %zu bytes of parameters, expected %" G_GUINT64_FORMAT
                       : "model file has %zu bytes of parameters, expected %" G_GUINT64_FORMAT,
                   c->left, n_params * 4);
      return FALSE;
    }
  m->n_params = n_params;
  m->params = g_new (float, MAX (n_params, 1));
  for (size_t i = 0; i < n_params; i++)
    {
      const guint8 *p = c->p + 4 * i;
      guint32 u = p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
      memcpy (&m->params[i], &u, 4);
      if (!isfinite (m->params[i]))
        {
          g_set_error (error, DAE_ERROR, DAE_ERROR_FORMAT,
                       "parameter %zu is not a finite number", i);
          return FALSE;
        }
    }
  return TRUE;
}

DaeModel *
dae_model_load_memory (const void *data, size_t size, GError **error)
{
  if (!check_frame (data, size, error))
    return NULL;
  Cursor c = { (const guint8 *) data + 12, size - 12 - 4 };
  guint32 in_c, ph, pw, n_layers, n_meta, lo, hi;
  if (!take_u32 (&c, &in_c, "header", error) || !take_u32 (&c, &ph, "header", error)
      || !take_u32 (&c, &pw, "header", error) || !take_u32 (&c, &n_layers, "header", error)
      || !take_u32 (&c, &n_meta, "header", error) || !take_u32 (&c, &lo, "header", error)
      || !take_u32 (&c, &hi, "header", error))
    return NULL;
  guint64 n_params = lo | (guint64) hi << 32;
  if (n_layers == 0 || n_layers > DAE__MAX_LAYERS)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "layer count %u out of range 1..%u", n_layers, DAE__MAX_LAYERS);
      return NULL;
    }
  if (n_meta > DAE__MAX_META)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "metadata count %u exceeds %u", n_meta, DAE__MAX_META);
      return NULL;
    }
  if (n_params > DAE__MAX_PARAMS)
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_LIMIT,
                   "parameter count %" G_GUINT64_FORMAT " exceeds %u", n_params,
                   DAE__MAX_PARAMS);
      return NULL;
    }
  g_autoptr (DaeModel) m = dae_model_new (in_c, ph, pw, error);
  if (m == NULL)
    return NULL;
  if (!read_layers (m, &c, n_layers, n_params, error) || !model_check_complete (m, error)
      || !read_metadata (m, &c, n_meta, error) || !read_params (m, &c, n_params, error))
    return NULL;
  return g_steal_pointer (&m);
}

DaeModel *
dae_model_load_file (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize size;
  GError *local = NULL;
  if (!g_file_get_contents (path, &data, &size, &local))
    {
      g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "%s", local->message);
      g_error_free (local);
      return NULL;
    }
  DaeModel *m = dae_model_load_memory (data, size, &local);
  if (m == NULL)
    {
      g_set_error (error, DAE_ERROR, local->code, "%s: %s", path, local->message);
      g_error_free (local);
    }
  return m;
}
