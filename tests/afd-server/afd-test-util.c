/* afd-test-util.c — see afd-test-util.h. */
#include "afd-test-util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

const AfdCaller afd_test_root = { .is_unix = TRUE, .uid = 0, .address = "unix:test" };

void
afd_test_state_open (AfdTestState *s)
{
  g_autoptr (GError) error = NULL;
  if (s->top == NULL) {
    s->top = g_dir_make_tmp ("afd-test-XXXXXX", &error);
    g_assert_no_error (error);
    s->state = g_build_filename (s->top, "state", NULL);
    g_assert_cmpint (g_mkdir (s->state, 0700), ==, 0);
    s->settings.max_file_size = 1 << 20;
    s->settings.codebase_quota = 4 << 20;
    s->settings.max_codebases_per_owner = 100;
    s->settings.download_chunk_size = 64 * 1024;
    s->settings.max_list_entries = 1000;
    s->settings.max_uploads = 4;
    s->settings.max_message_size = 4 << 20;
  }
  g_autofree char *dbpath = g_build_filename (s->state, "afd.db", NULL);
  s->db = afd_db_open (dbpath, &error);
  g_assert_no_error (error);
  s->store = afd_store_open (s->state, &error);
  g_assert_no_error (error);
  s->cbs = afd_codebases_new (s->db, s->store, &s->settings);
}

void
afd_test_state_close (AfdTestState *s)
{
  g_clear_pointer (&s->cbs, afd_codebases_free);
  g_clear_pointer (&s->store, afd_store_free);
  g_clear_pointer (&s->db, afd_db_close);
}

void
afd_test_state_free (AfdTestState *s)
{
  afd_test_state_close (s);
  if (s->top) {
    int fd = open (g_get_tmp_dir (), O_RDONLY | O_DIRECTORY);
    g_autofree char *base = g_path_get_basename (s->top);
    g_autoptr (GError) error = NULL;
    g_assert_true (afd_store_remove_tree_at (fd, base, &error));
    close (fd);
  }
  g_free (s->top);
  g_free (s->state);
  memset (s, 0, sizeof *s);
}

static void
walk (const char *root, const char *rel, GPtrArray *out)
{
  g_autofree char *dir = g_build_filename (root, rel, NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return;
  const char *name;
  while ((name = g_dir_read_name (d))) {
    g_autofree char *child = *rel ? g_strconcat (rel, "/", name, NULL) : g_strdup (name);
    g_autofree char *full = g_build_filename (root, child, NULL);
    if (g_file_test (full, G_FILE_TEST_IS_DIR) && !g_file_test (full, G_FILE_TEST_IS_SYMLINK)) {
      g_ptr_array_add (out, g_strconcat (child, "/", NULL));
      walk (root, child, out);
    } else {
      g_ptr_array_add (out, g_strdup (child));
    }
  }
}

static gint
cmp (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

GPtrArray *
afd_test_tree (const char *dir)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  walk (dir, "", out);
  g_ptr_array_sort (out, cmp);
  return out;
}

gboolean
afd_test_tree_contains (GPtrArray *tree, const char *entry)
{
  for (guint i = 0; i < tree->len; i++)
    if (strcmp (g_ptr_array_index (tree, i), entry) == 0)
      return TRUE;
  return FALSE;
}

void
afd_test_write (const char *dir, const char *path, const char *content)
{
  g_autofree char *full = g_build_filename (dir, path, NULL);
  g_autofree char *parent = g_path_get_dirname (full);
  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (full, content, -1, &error));
}

AfdFileRow *
afd_test_upload (AfdCodebases *cbs, const AfdCaller *caller, const char *cb_id, const char *path,
                 const char *content, GError **error)
{
  gsize len = strlen (content);
  g_autoptr (AfdCodebaseUpload) up =
      afd_codebases_upload_begin (cbs, caller, cb_id, path, (gint64)len, error);
  if (up == NULL)
    return NULL;
  if (!afd_codebase_upload_write (up, content, len, error))
    return NULL;
  return afd_codebase_upload_finish (up, error);
}
