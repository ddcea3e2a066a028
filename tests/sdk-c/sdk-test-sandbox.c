/* sdk-test-sandbox.c — see sdk-test-sandbox.h. */
#include "sdk-test-sandbox.h"

void
sdk_test_fixture_setup (Fixture *f, gconstpointer data)
{
  f->server = sdk_test_server_start_sandboxes (NULL);
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  f->client = af_client_new (f->server->endpoint, FALSE, &error);
  g_assert_no_error (error);
}

static void
fixture_setup_with_config (Fixture *f, gconstpointer data)
{
  f->server = sdk_test_server_start_sandboxes (data);
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  f->client = af_client_new (f->server->endpoint, FALSE, &error);
  g_assert_no_error (error);
}

void
sdk_test_fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->client, af_client_unref);
  sdk_test_server_stop (f->server);
}

void
sdk_test_add_with_config (const char *path, const char *config_text, SdkTestFunc func)
{
  g_test_add (path, Fixture, config_text, fixture_setup_with_config, func,
              sdk_test_fixture_teardown);
}

void
sdk_test_add (const char *path, SdkTestFunc func)
{
  sdk_test_add_with_config (path, NULL, func);
}

AfSandboxOptions *
sdk_test_options (Fixture *f)
{
  AfSandboxOptions *options = af_sandbox_options_new ();
  af_sandbox_options_set_client (options, f->client);
  return options;
}

char *
sdk_test_make_tree (void)
{
  g_autoptr (GError) error = NULL;
  char *tree = g_dir_make_tmp ("af-sdk-tree-XXXXXX", &error);
  g_assert_no_error (error);
  sdk_test_write_file (tree, "main.c", "int main (void) { return 0; }\n");
  sdk_test_write_file (tree, "src/util.c", "int util;\n");
  return tree;
}

AfSandbox *
sdk_test_full_access_sandbox (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *tree = sdk_test_make_tree ();
  g_autoptr (AfSandboxOptions) options = sdk_test_options (f);
  af_sandbox_options_set_preset (options, "full-access");
  AfSandbox *sb = af_sandbox_from_local (tree, options, &error);
  g_assert_no_error (error);
  g_assert_true (sdk_test_remove_tree (tree));
  return sb;
}

void
sdk_test_count_progress (const AfLocalFile *file, guint files_done, gint64 bytes_done,
                         gpointer user_data)
{
  guint *count = user_data;
  (*count)++;
  g_assert_cmpuint (files_done, ==, *count);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *)a, *(const char *const *)b);
}

char *
sdk_test_file_list (GPtrArray *files)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < files->len; i++) {
    AfFileInfo *info = files->pdata[i];
    g_ptr_array_add (names, g_strconcat (af_file_info_get_path (info),
                                         af_file_info_is_dir (info) ? "/" : "", NULL));
  }
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **)names->pdata);
}

gboolean
sdk_test_append_output (AfOutputKind kind, const guint8 *data, gsize length, gpointer user_data)
{
  GString *out = user_data;
  g_string_append (out, kind == AF_OUTPUT_STDERR ? "err:" : "out:");
  g_string_append_len (out, (const char *)data, (gssize)length);
  return TRUE;
}

char *
sdk_test_drain_stream (AfExecStream *stream, GError **error)
{
  g_autoptr (GString) out = g_string_new (NULL);
  AfOutputKind kind;
  GBytes *chunk = NULL;
  while (af_exec_stream_next (stream, &kind, &chunk, error)) {
    gsize len = 0;
    const guint8 *data = g_bytes_get_data (chunk, &len);
    sdk_test_append_output (kind, data, len, out);
    g_bytes_unref (chunk);
  }
  if (error != NULL && *error != NULL)
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

void
sdk_test_store_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;
  *out = g_object_ref (result);
}
