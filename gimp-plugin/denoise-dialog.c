/* denoise-dialog.c: the GIMP 2.10 Denoise dialog, with a live preview that
 * never blocks it (denoise-preview.c: computed in a worker thread by the
 * function the final run uses, restarted when a setting changes). */
#include <string.h>

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>
#include <glib/gi18n-lib.h>

#include "dae-denoise.h"
#include "denoise-buffer.h"
#include "denoise-preview.h"

#define SCALE_WIDTH 200
#define ENTRY_WIDTH 5

typedef struct {
  gint32 drawable_id;
  DenoiseVals *vals;
  GeglBuffer *src;
  GPtrArray *model_ids;  /* char *, one per model combo entry; "" = automatic */
  DaeModelSet *models;   /* the loaded models (the stride slider's range) */
  gchar *model_name;
  GtkWidget *preview;
  GtkWidget *message;    /* shows why the preview could not be made */
  DenoisePreview *worker;
} DialogState;

/* Loads the model the dialog names, once per name. */
static const DaeModelSet *
state_model (DialogState *st, GError **error)
{
  if (st->models != NULL && g_strcmp0 (st->model_name, st->vals->model) == 0)
    return st->models;
  g_clear_pointer (&st->models, dae_model_set_free);
  g_free (st->model_name);
  st->model_name = g_strdup (st->vals->model);
  st->models = denoise_load_models (st->vals->model, error);
  return st->models;
}

/* The 8-bit layout of the drawable's type, which the preview area draws. */
static const Babl *
preview_format (gint32 drawable_id, gint *bpp)
{
  const gboolean alpha = gimp_drawable_has_alpha (drawable_id);
  const Babl *format;
  if (gimp_drawable_is_gray (drawable_id))
    format = babl_format (alpha ? "Y'A u8" : "Y' u8");
  else
    format = babl_format (alpha ? "R'G'B'A u8" : "R'G'B' u8");
  *bpp = babl_format_get_bytes_per_pixel (format);
  return format;
}

/* gimp_preview_draw_buffer() with a workaround for libgimp 2.10: with a
 * selection, gimp_drawable_preview_draw_area() finds the first row of the
 * part of the preview inside the selection's bounds (draw_y) at
 * buf + (draw_y - y) * draw_width * bpp instead of (draw_y - y) * rowstride,
 * drawing every row shifted sideways.  Handing it a pointer advanced by
 * the difference makes it land on the right row. */
static void
preview_draw_buffer (GimpPreview *preview, gint32 drawable_id, const guchar *buf,
                     gint rowstride, gint bpp)
{
  gint x, y, width, height, mx, my, mw, mh;
  GeglRectangle drawn;
  gimp_preview_get_position (preview, &x, &y);
  gimp_preview_get_size (preview, &width, &height);
  if (!gimp_selection_is_empty (gimp_item_get_image (drawable_id))
      && gimp_drawable_mask_intersect (drawable_id, &mx, &my, &mw, &mh)
      && gegl_rectangle_intersect (&drawn, GEGL_RECTANGLE (x, y, width, height),
                                   GEGL_RECTANGLE (mx, my, mw, mh)))
    buf += (gsize) (drawn.y - y) * (gsize) (rowstride - drawn.width * bpp);
  gimp_preview_draw_buffer (preview, buf, rowstride);
}

/* The worker's result for the newest request. */
static void
preview_show (GeglBuffer *dst, const GeglRectangle *rect, const GError *error, guint patch,
              gpointer user_data)
{
  DialogState *st = user_data;
  if (error == NULL)
    {
      gint bpp;
      const Babl *format = preview_format (st->drawable_id, &bpp);
      g_autofree guchar *buf = g_new (guchar, (gsize) rect->width * rect->height * bpp);
      gegl_buffer_get (dst, rect, 1.0, format, buf, rect->width * bpp, GEGL_ABYSS_NONE);
      preview_draw_buffer (GIMP_PREVIEW (st->preview), st->drawable_id, buf, rect->width * bpp,
                           bpp);
      gtk_label_set_text (GTK_LABEL (st->message), "");
    }
  else
    {
      /* Show the original, and say why. */
      gimp_preview_draw (GIMP_PREVIEW (st->preview));
      gtk_label_set_text (GTK_LABEL (st->message), error->message);
    }
}

/* The preview moved or a setting changed: a new request. */
static void
preview_update (GimpPreview *preview, DialogState *st)
{
  g_autoptr (GError) error = NULL;
  DaeDenoiseOptions options;
  GeglRectangle rect;
  gimp_preview_get_position (preview, &rect.x, &rect.y);
  gimp_preview_get_size (preview, &rect.width, &rect.height);
  if (denoise_vals_to_options (st->vals, &options, &error))
    denoise_preview_request (st->worker, &rect, st->vals->model, &options);
  else
    gtk_label_set_text (GTK_LABEL (st->message), error->message);
}

static void
model_changed (GtkComboBox *combo, DialogState *st)
{
  const gint i = gtk_combo_box_get_active (combo);
  if (i >= 0 && (guint) i < st->model_ids->len)
    g_strlcpy (st->vals->model, st->model_ids->pdata[i], sizeof st->vals->model);
}

/* The installed models, each with its description. */
static GtkWidget *
model_combo_new (DialogState *st)
{
  GtkWidget *combo = gtk_combo_box_text_new ();
  g_autoptr (GPtrArray) entries = denoise_model_entries (st->vals->model);
  gint active = 0;
  for (guint i = 0; i < entries->len; i++)
    {
      const DenoiseModelEntry *e = entries->pdata[i];
      g_autofree gchar *label = i == 0 ? g_strdup_printf ("%s: %s", _(e->label),
                                                          _(e->description))
                                       : g_strdup_printf ("%s: %s", e->label, e->description);
      gtk_combo_box_text_append_text (GTK_COMBO_BOX_TEXT (combo), label);
      g_ptr_array_add (st->model_ids, g_strdup (e->id));
      if (strcmp (e->id, st->vals->model) == 0)
        active = (gint) i;
    }
  gtk_combo_box_set_active (GTK_COMBO_BOX (combo), active);
  gimp_help_set_help_data (combo, _("The network that denoises: each was trained on one kind "
                                    "of picture (its description follows its name)"), NULL);
  g_signal_connect (combo, "changed", G_CALLBACK (model_changed), st);
  return combo;
}

/* A switch on row @row of @table: the check button writes
 * TRUE/FALSE into @value and asks for a new preview. */
static void
toggle_attach (GtkTable *table, guint row, const gchar *label, const gchar *blurb, gint *value,
               GtkWidget *preview)
{
  GtkWidget *toggle = gtk_check_button_new_with_mnemonic (label);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (toggle), *value);
  gimp_help_set_help_data (toggle, blurb, NULL);
  g_signal_connect (toggle, "toggled", G_CALLBACK (gimp_toggle_button_update), value);
  g_signal_connect_swapped (toggle, "toggled", G_CALLBACK (gimp_preview_invalidate), preview);
  gtk_table_attach (table, toggle, 1, 3, row, row + 1, GTK_FILL, GTK_FILL, 0, 0);
}

gboolean
denoise_dialog (gint32 drawable_id, DenoiseVals *vals)
{
  DialogState st = { .drawable_id = drawable_id, .vals = vals,
                     .src = gimp_drawable_get_buffer (drawable_id),
                     .model_ids = g_ptr_array_new_with_free_func (g_free) };
  guint patch = 28;

  gimp_ui_init (PLUG_IN_BINARY, FALSE);

  /* The stride slider goes up to the patch size of the chosen model. */
  g_autoptr (GError) error = NULL;
  const DaeModelSet *model = state_model (&st, &error);
  if (model != NULL)
    patch = denoise_models_patch (model);

  GtkWidget *dialog = gimp_dialog_new (_("Denoise"), PLUG_IN_ROLE, NULL, 0, gimp_standard_help_func,
                                       PLUG_IN_PROC, _("_Cancel"), GTK_RESPONSE_CANCEL, _("_OK"),
                                       GTK_RESPONSE_OK, NULL);
  gtk_dialog_set_alternative_button_order (GTK_DIALOG (dialog), GTK_RESPONSE_OK,
                                            GTK_RESPONSE_CANCEL, -1);
  gimp_window_set_transient (GTK_WINDOW (dialog));
  /* Room for a preview that shows a few lines of a page, not one word. */
  gtk_window_set_default_size (GTK_WINDOW (dialog), 480, 560);

  GtkWidget *vbox = gtk_vbox_new (FALSE, 12);
  gtk_container_set_border_width (GTK_CONTAINER (vbox), 12);
  gtk_box_pack_start (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), vbox, TRUE,
                      TRUE, 0);

  GtkWidget *preview = gimp_drawable_preview_new_from_drawable_id (drawable_id);
  st.preview = preview;
  st.worker = denoise_preview_new (st.src, preview_show, &st);
  gtk_box_pack_start (GTK_BOX (vbox), preview, TRUE, TRUE, 0);
  g_signal_connect (preview, "invalidated", G_CALLBACK (preview_update), &st);

  GtkWidget *table = gtk_table_new (7, 3, FALSE);
  gtk_table_set_col_spacings (GTK_TABLE (table), 6);
  gtk_table_set_row_spacings (GTK_TABLE (table), 6);
  gtk_box_pack_start (GTK_BOX (vbox), table, FALSE, FALSE, 0);

  GtkWidget *combo = model_combo_new (&st);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 0, _("_Model:"), 0.0, 0.5, combo, 2, FALSE);
  g_signal_connect_swapped (combo, "changed", G_CALLBACK (gimp_preview_invalidate), preview);

  GtkObject *adj = gimp_scale_entry_new (GTK_TABLE (table), 0, 1, _("_Strength:"), SCALE_WIDTH,
                                         ENTRY_WIDTH, vals->strength, 0.0, 1.0, 0.01, 0.1, 2,
                                         TRUE, 0, 0,
                                         _(DENOISE_STRENGTH_BLURB), NULL);
  g_signal_connect (adj, "value-changed", G_CALLBACK (gimp_double_adjustment_update),
                    &vals->strength);
  g_signal_connect_swapped (adj, "value-changed", G_CALLBACK (gimp_preview_invalidate), preview);

  adj = gimp_scale_entry_new (GTK_TABLE (table), 0, 2, _("S_tride:"), SCALE_WIDTH, ENTRY_WIDTH,
                              MIN ((guint) vals->stride, patch), 0, patch, 1, 4, 0, TRUE, 0, 0,
                              _(DENOISE_STRIDE_BLURB),
                              NULL);
  g_signal_connect (adj, "value-changed", G_CALLBACK (gimp_int_adjustment_update),
                    &vals->stride);
  g_signal_connect_swapped (adj, "value-changed", G_CALLBACK (gimp_preview_invalidate), preview);

  GtkWidget *invert = gimp_int_combo_box_new (_("Auto (by the background)"), DAE_INVERT_AUTO,
                                              _("On (invert the picture around the model)"),
                                              DAE_INVERT_ON, _("Off"), DAE_INVERT_OFF, NULL);
  gimp_help_set_help_data (invert, _(DENOISE_INVERT_BLURB), NULL);
  gimp_int_combo_box_connect (GIMP_INT_COMBO_BOX (invert), vals->invert,
                              G_CALLBACK (gimp_int_combo_box_get_active), &vals->invert);
  g_signal_connect_swapped (invert, "changed", G_CALLBACK (gimp_preview_invalidate), preview);
  gimp_table_attach_aligned (GTK_TABLE (table), 0, 3, _("_Invert:"), 0.0, 0.5, invert, 2, FALSE);
  toggle_attach (GTK_TABLE (table), 4, _("Ink _guard (pages)"), _(DENOISE_INK_GUARD_BLURB),
                 &vals->ink_guard, preview);
  toggle_attach (GTK_TABLE (table), 5, _("_Remove specks (pages)"), _(DENOISE_DESPECKLE_BLURB),
                 &vals->despeckle, preview);
  toggle_attach (GTK_TABLE (table), 6, _("Remove salt-and-_pepper (auto)"),
                 _(DENOISE_IMPULSE_FILTER_BLURB), &vals->impulse_filter, preview);

  st.message = gtk_label_new (model == NULL ? error->message : "");
  gtk_label_set_line_wrap (GTK_LABEL (st.message), TRUE);
  gtk_misc_set_alignment (GTK_MISC (st.message), 0.0, 0.5);
  gtk_box_pack_start (GTK_BOX (vbox), st.message, FALSE, FALSE, 0);

  gtk_widget_show_all (dialog);
  const gboolean run = gimp_dialog_run (GIMP_DIALOG (dialog)) == GTK_RESPONSE_OK;
  gtk_widget_destroy (dialog);

  denoise_preview_free (st.worker);
  g_object_unref (st.src);
  g_ptr_array_unref (st.model_ids);
  dae_model_set_free (st.models);
  g_free (st.model_name);
  return run;
}
