/* test-codebase.c — the codebase calls of libagentfense against a real
 * afd-server: every function, content round trips, the upload of a crafted
 * tree, pagination, and each error code where it should arise. Links the
 * shared library: public API only. */
#include "sdk-test-server.h"
#include "sdk-test-util.h"

#include <agentfense/agentfense.h>

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  SdkTestServer *server;
  AfClient *client;
} Fixture;

static void
start (Fixture *f, const char *const *extra_args)
{
  f->server = sdk_test_server_start (extra_args);
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  f->client = af_client_new (f->server->endpoint, FALSE, &error);
  g_assert_no_error (error);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  start (f, data);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->client, af_client_unref);
  sdk_test_server_stop (f->server);
}

static AfCodebase *
create (Fixture *f, const char *name)
{
  g_autoptr (GError) error = NULL;
  AfCodebase *codebase = af_client_create_codebase (f->client, name, "owner-1", NULL, &error);
  g_assert_no_error (error);
  return codebase;
}

static void
test_lifecycle (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfCodebase) codebase = create (f, "project");
  const char *id = af_codebase_get_id (codebase);
  g_assert_true (g_str_has_prefix (id, "cb_"));
  g_assert_cmpstr (af_codebase_get_name (codebase), ==, "project");
  g_assert_cmpstr (af_codebase_get_owner_id (codebase), ==, "owner-1");
  g_assert_cmpint (af_codebase_get_file_count (codebase), ==, 0);
  g_assert_nonnull (af_codebase_get_created_at (codebase));

  g_autoptr (AfCodebase) got = af_client_get_codebase (f->client, id, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (af_codebase_get_id (got), ==, id);
  g_assert_true (
      g_date_time_equal (af_codebase_get_created_at (got), af_codebase_get_created_at (codebase)));

  g_autoptr (GPtrArray) all = af_client_list_codebases (f->client, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 1);
  g_autoptr (GPtrArray) other = af_client_list_codebases (f->client, "someone-else", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (other->len, ==, 0);

  g_assert_true (af_client_delete_codebase (f->client, id, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (af_client_get_codebase (f->client, id, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_CODEBASE_NOT_FOUND);
  g_assert_cmpint (af_sdk_error_get_grpc_status (error), ==, 5);
  g_assert_nonnull (strstr (error->message, id));
  g_clear_error (&error);
  g_assert_false (af_client_delete_codebase (f->client, id, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_CODEBASE_NOT_FOUND);
}

/* The server pages ListCodebases (50 by default): the client follows the
 * tokens and returns every codebase once. */
static void
test_pagination (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < 120; i++) {
    g_autofree char *name = g_strdup_printf ("cb-%03d", i);
    g_autoptr (AfCodebase) codebase = create (f, name);
    g_hash_table_add (ids, g_strdup (af_codebase_get_id (codebase)));
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = af_client_list_codebases (f->client, "owner-1", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 120);
  for (guint i = 0; i < all->len; i++)
    g_assert_true (g_hash_table_remove (ids, af_codebase_get_id (all->pdata[i])));
  g_assert_cmpuint (g_hash_table_size (ids), ==, 0);
}

static char *
sha256_hex (GBytes *bytes)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

static void
test_content (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfCodebase) codebase = create (f, "content");
  const char *id = af_codebase_get_id (codebase);

  /* Small, empty, and multi-chunk content; the checksum is the server's
   * SHA-256 of what arrived. */
  gsize sizes[] = { 11, 0, 3 * 1024 * 1024 + 17 };
  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++) {
    g_autofree guint8 *bytes = g_malloc (sizes[s] + 1);
    for (gsize i = 0; i < sizes[s]; i++)
      bytes[i] = (guint8)g_random_int ();
    g_autoptr (GBytes) content = g_bytes_new (bytes, sizes[s]);
    g_autofree char *path = g_strdup_printf ("/dir/sub/file-%zu.bin", s);
    g_autofree char *checksum = NULL;
    g_assert_true (af_client_upload_bytes (f->client, id, path, content, &checksum, NULL, &error));
    g_assert_no_error (error);
    g_autofree char *expected = sha256_hex (content);
    g_assert_cmpstr (checksum, ==, expected);

    g_autoptr (GBytes) back = af_client_download_file (f->client, id, path, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (back, content));

    g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
    g_assert_true (af_client_download_file_to_stream (f->client, id, path + 1, out, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (g_output_stream_close (out, NULL, NULL));
    g_autoptr (GBytes) streamed =
        g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
    g_assert_true (g_bytes_equal (streamed, content));
  }

  g_autoptr (GPtrArray) top = af_client_list_files (f->client, id, "/", FALSE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (top->len, ==, 1);
  g_assert_cmpstr (af_file_info_get_name (top->pdata[0]), ==, "dir");
  g_assert_true (af_file_info_is_dir (top->pdata[0]));

  g_autoptr (GPtrArray) sub = af_client_list_files (f->client, id, "dir/sub", FALSE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sub->len, ==, 3);
  for (guint i = 0; i < sub->len; i++) {
    g_assert_false (af_file_info_is_dir (sub->pdata[i]));
    g_assert_true (g_str_has_prefix (af_file_info_get_path (sub->pdata[i]), "dir/sub/file-"));
  }

  g_autoptr (AfCodebase) after = af_client_get_codebase (f->client, id, NULL, &error);
  g_assert_cmpint (af_codebase_get_file_count (after), ==, 3);
  g_assert_cmpint (af_codebase_get_size (after), ==, 11 + 0 + 3 * 1024 * 1024 + 17);
}

typedef struct {
  guint calls;
  gint64 last_bytes;
} ProgressSeen;

static void
on_progress (const AfLocalFile *file, guint files_done, gint64 bytes_done, gpointer user_data)
{
  ProgressSeen *seen = user_data;
  g_assert_cmpuint (files_done, ==, seen->calls + 1);
  g_assert_cmpint (bytes_done, >=, seen->last_bytes);
  seen->calls++;
  seen->last_bytes = bytes_done;
}

static void
collect_paths (GPtrArray *files, GString *out)
{
  for (guint i = 0; i < files->len; i++) {
    AfFileInfo *info = files->pdata[i];
    if (af_file_info_is_dir (info))
      continue;
    if (out->len > 0)
      g_string_append_c (out, ' ');
    g_string_append (out, af_file_info_get_path (info));
  }
}

/* The crafted tree: what the scan selects is exactly what lands on the
 * server, with the same content. */
static void
test_upload_tree (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("af-sdk-tree-XXXXXX", &error);
  sdk_test_write_file (root, ".gitignore", "*.log\nbuild/\n");
  sdk_test_write_file (root, ".sandboxignore", "secrets/\n");
  sdk_test_write_file (root, "src/main.c", "int main (void) { return 0; }\n");
  sdk_test_write_file (root, "src/util/u.h", "#pragma once\n");
  sdk_test_write_file (root, "run.log", "noise\n");
  sdk_test_write_file (root, "build/out.o", "obj\n");
  sdk_test_write_file (root, "secrets/key", "k\n");
  sdk_test_write_file (root, ".env", "TOKEN=x\n");
  sdk_test_write_file (root, "big.dat", "0123456789abcdef0123456789abcdef0123456789abcdef");

  g_autoptr (AfLocalTree) tree = af_local_tree_new (root, &error);
  af_local_tree_set_max_file_size (tree, 40);
  g_assert_true (af_local_tree_scan (tree, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (af_local_tree_get_skipped (tree)->len, ==, 1);

  g_autoptr (AfCodebase) codebase = create (f, "tree");
  const char *id = af_codebase_get_id (codebase);
  ProgressSeen seen = { 0 };
  g_assert_true (af_client_upload_tree (f->client, id, tree, on_progress, &seen, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (seen.calls, ==, af_local_tree_get_files (tree)->len);
  g_assert_cmpint (seen.last_bytes, ==, af_local_tree_get_total_size (tree));

  g_autoptr (GPtrArray) listed = af_client_list_files (f->client, id, NULL, TRUE, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GString) paths = g_string_new (NULL);
  collect_paths (listed, paths);
  g_assert_cmpstr (paths->str, ==, ".gitignore .sandboxignore src/main.c src/util/u.h");

  g_autoptr (GBytes) main_c = af_client_download_file (f->client, id, "src/main.c", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (main_c, NULL), g_bytes_get_size (main_c),
                   "int main (void) { return 0; }\n", 30);

  g_assert_true (sdk_test_remove_tree (root));
}

static void
test_errors (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfCodebase) codebase = create (f, "errors");
  const char *id = af_codebase_get_id (codebase);
  g_autoptr (GBytes) content = g_bytes_new_static ("hello", 5);

  g_assert_null (af_client_download_file (f->client, id, "missing.txt", NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_FILE_NOT_FOUND);
  g_clear_error (&error);

  const char *unknown = "cb_00000000000000000000000000000000";
  g_assert_false (af_client_upload_bytes (f->client, unknown, "a", content, NULL, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_CODEBASE_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (af_client_list_files (f->client, unknown, NULL, TRUE, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_CODEBASE_NOT_FOUND);
  g_clear_error (&error);

  /* A path the server refuses during an upload is an upload error. */
  g_autoptr (GString) deep = g_string_new ("d");
  for (int i = 0; i < 300; i++)
    g_string_append (deep, "/d");
  g_assert_false (af_client_upload_bytes (f->client, id, deep->str, content, NULL, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_UPLOAD);
  g_assert_cmpint (af_sdk_error_get_grpc_status (error), ==, 3);
  g_clear_error (&error);

  /* Invalid arguments the server rejects outside an upload. */
  g_autofree char *long_name = g_strnfill (300, 'n');
  g_assert_null (af_client_create_codebase (f->client, long_name, NULL, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
}

static const char *const small_limits[] = { "--max-per-owner=2", "--max-file-size=1K", NULL };

static void
test_limits (Fixture *f, gconstpointer data)
{
  if (f->server == NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (AfCodebase) a = create (f, "a");
  g_autoptr (AfCodebase) b = create (f, "b");
  g_assert_null (af_client_create_codebase (f->client, "c", "owner-1", NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_RESOURCE_LIMIT);
  g_clear_error (&error);

  g_autofree char *big = g_strnfill (4096, 'x');
  g_autoptr (GBytes) content = g_bytes_new (big, 4096);
  g_assert_false (af_client_upload_bytes (f->client, af_codebase_get_id (a), "big", content, NULL,
                                          NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_RESOURCE_LIMIT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, args, func)                                                                      \
  g_test_add (name, Fixture, args, fixture_setup, func, fixture_teardown)
  ADD ("/sdk/codebase/lifecycle", NULL, test_lifecycle);
  ADD ("/sdk/codebase/pagination", NULL, test_pagination);
  ADD ("/sdk/codebase/content", NULL, test_content);
  ADD ("/sdk/codebase/upload-tree", NULL, test_upload_tree);
  ADD ("/sdk/codebase/errors", NULL, test_errors);
  ADD ("/sdk/codebase/limits", small_limits, test_limits);
#undef ADD
  return g_test_run ();
}
