/* models.c: finding the shipped models by name.
 *
 * A name is looked up as NAME.dae in the directories of $DAE_MODEL_PATH
 * (colon-separated, for tests and private collections), then the user's
 * models (g_get_user_data_dir()/dae/models), then the installed models.
 * No path of the source or build tree is compiled in: an uninstalled build
 * finds weights/ through `meson devenv` or DAE_MODEL_PATH, which meson test
 * and tools/ set. */
#include "dae-private.h"
#include "dae-config.h"

#include <string.h>

/* The default model is the first of these that is found. */
static const char *const default_models[] = { "document", "mnist", "seed" };

static GPtrArray *
search_dirs (void)
{
  GPtrArray *dirs = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv ("DAE_MODEL_PATH");
  if (env != NULL)
    {
      g_auto (GStrv) parts = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
      for (guint i = 0; parts[i] != NULL; i++)
        if (parts[i][0] != '\0')
          g_ptr_array_add (dirs, g_strdup (parts[i]));
    }
  g_ptr_array_add (dirs, g_build_filename (g_get_user_data_dir (), "dae", "models", NULL));
  g_ptr_array_add (dirs, g_strdup (DAE_DATADIR));
  return dirs;
}

/* Whether @name is meant as a file rather than a model name. */
static gboolean
looks_like_path (const char *name)
{
  return strchr (name, G_DIR_SEPARATOR) != NULL || g_str_has_suffix (name, ".dae");
}

static gboolean
valid_name (const char *name)
{
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return name[0] != '\0' && name[0] != '.';
}

static char *
find_name (GPtrArray *dirs, const char *name)
{
  g_autofree char *file = g_strconcat (name, ".dae", NULL);
  for (guint i = 0; i < dirs->len; i++)
    {
      char *path = g_build_filename (dirs->pdata[i], file, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return path;
      g_free (path);
    }
  return NULL;
}

char *
dae_model_find (const char *name, GError **error)
{
  g_autoptr (GPtrArray) dirs = search_dirs ();
  if (name == NULL || name[0] == '\0')
    {
      for (guint i = 0; i < G_N_ELEMENTS (default_models); i++)
        {
          char *path = find_name (dirs, default_models[i]);
          if (path != NULL)
            return path;
        }
      g_ptr_array_add (dirs, NULL);
      g_autofree char *where = g_strjoinv (G_SEARCHPATH_SEPARATOR_S, (char **) dirs->pdata);
      g_set_error (error, DAE_ERROR, DAE_ERROR_IO,
                   "no model installed (looked for %s, %s and %s in %s; "
                   "uninstalled: run it with meson devenv -C BUILDDIR, or set DAE_MODEL_PATH)",
                   default_models[0], default_models[1], default_models[2], where);
      return NULL;
    }
  if (!looks_like_path (name) && valid_name (name))
    {
      char *path = find_name (dirs, name);
      if (path != NULL)
        return path;
    }
  if (g_file_test (name, G_FILE_TEST_IS_REGULAR))
    return g_strdup (name);
  if (looks_like_path (name))
    g_set_error (error, DAE_ERROR, DAE_ERROR_IO, "%s: no such model file", name);
  else
    g_set_error (error, DAE_ERROR, DAE_ERROR_IO,
                 "no model named \"%s\" (see --list-models)", name);
  return NULL;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char **
dae_model_list (void)
{
  g_autoptr (GPtrArray) dirs = search_dirs ();
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *names = g_ptr_array_new ();
  for (guint i = 0; i < dirs->len; i++)
    {
      g_autoptr (GDir) dir = g_dir_open (dirs->pdata[i], 0, NULL);
      if (dir == NULL)
        continue;
      const char *entry;
      while ((entry = g_dir_read_name (dir)) != NULL)
        {
          if (!g_str_has_suffix (entry, ".dae"))
            continue;
          char *name = g_strndup (entry, strlen (entry) - 4);
          g_autofree char *path = g_build_filename (dirs->pdata[i], entry, NULL);
          if (!valid_name (name) || g_hash_table_contains (seen, name)
              || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
            {
              g_free (name);
              continue;
            }
          g_hash_table_add (seen, name);
          g_ptr_array_add (names, g_strdup (name));
        }
    }
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

/* ---- model sets: one model, or the automatic choice ---------------------- */

struct _DaeModelSet {
  guint n;
  DaeModel *models[2]; /* automatic: document, photo */
  char *paths[2];
};

static gboolean
set_add (DaeModelSet *set, const char *name, GError **error)
{
  g_autofree char *path = dae_model_find (name, error);
  if (path == NULL)
    return FALSE;
  DaeModel *m = dae_model_load_file (path, error);
  if (m == NULL)
    return FALSE;
  set->models[set->n] = m;
  set->paths[set->n++] = g_steal_pointer (&path);
  return TRUE;
}

DaeModelSet *
dae_model_set_load (const char *name, GError **error)
{
  g_autoptr (DaeModelSet) set = g_new0 (DaeModelSet, 1);
  const gboolean automatic = name == NULL || name[0] == '\0' || strcmp (name, "auto") == 0;
  if (!automatic)
    return set_add (set, name, error) ? g_steal_pointer (&set) : NULL;
  g_autofree char *doc = dae_model_find ("document", NULL);
  g_autofree char *photo = dae_model_find ("photo", NULL);
  if (doc != NULL && photo != NULL)
    return set_add (set, doc, error) && set_add (set, photo, error) ? g_steal_pointer (&set)
                                                                    : NULL;
  return set_add (set, NULL, error) ? g_steal_pointer (&set) : NULL;
}

void
dae_model_set_free (DaeModelSet *set)
{
  if (set == NULL)
    return;
  for (guint i = 0; i < set->n; i++)
    {
      dae_model_free (set->models[i]);
      g_free (set->paths[i]);
    }
  g_free (set);
}

guint
dae_model_set_get_n_models (const DaeModelSet *set)
{
  g_return_val_if_fail (set != NULL, 0);
  return set->n;
}

const DaeModel *
dae_model_set_get_model (const DaeModelSet *set, guint index, const char **path)
{
  g_return_val_if_fail (set != NULL && index < set->n, NULL);
  if (path != NULL)
    *path = set->paths[index];
  return set->models[index];
}
