/* The af-policy tool, run as a real process (path in AF_POLICY_TOOL): check,
 * explain (text and --json), presets, and its exit statuses. */
#include "afcore.h"
#include "afpolicy.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
  char *dir;
  char *presets_dir; /* empty, so the host's presets never leak in */
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("af-policy-tool-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->presets_dir = g_build_filename (f->dir, "presets.d", NULL);
  g_assert_cmpint (g_mkdir (f->presets_dir, 0700), ==, 0);
}

static void
remove_tree (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_DIR))
      remove_tree (path);
    else
      g_unlink (path);
  }
  g_rmdir (dir);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->presets_dir);
}

static char *
write_rules (Fixture *f, const char *name, const char *json)
{
  char *path = g_build_filename (f->dir, name, NULL);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  return path;
}

/* Run af-policy with --presets-dir plus @argv; returns the exit status. */
static int
run (Fixture *f, char **out, char **err, ...)
{
  const char *tool = g_getenv ("AF_POLICY_TOOL");
  g_assert_nonnull (tool);
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (char *)tool);
  va_list ap;
  va_start (ap, err);
  const char *a;
  while ((a = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (char *)a);
  va_end (ap);
  g_ptr_array_add (args, (char *)"--presets-dir");
  g_ptr_array_add (args, f->presets_dir);
  g_ptr_array_add (args, NULL);

  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc =
      g_subprocess_newv ((const char *const *)args->pdata,
                         G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, out, err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  return g_subprocess_get_exit_status (proc);
}

static void
test_check (Fixture *f, gconstpointer data)
{
  g_autofree char *good = write_rules (
      f, "good.json",
      "{\"preset\": \"agent-safe\", \"rules\": [{\"pattern\": \"/docs/**\", \"permission\": "
      "\"write\", \"priority\": 10}]}");
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run (f, &out, &err, "check", "--rules", good, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "10 rules, valid"));

  g_autofree char *bad =
      write_rules (f, "bad.json",
                   "[{\"pattern\": \"/a/[x\", \"permission\": \"read\"}, {\"pattern\": \"/ok\", "
                   "\"permission\": \"read\"}, {\"pattern\": \"/b\", \"permission\": \"rw\"},"
                   " {\"pattern\": \"/c/*\", \"type\": \"file\", \"permission\": \"read\"}]");
  g_autofree char *out2 = NULL, *err2 = NULL;
  g_assert_cmpint (run (f, &out2, &err2, "check", "--rules", bad, NULL), ==, 1);
  g_assert_nonnull (strstr (err2, "rule 0: unbalanced '['"));
  g_assert_nonnull (strstr (err2, "rule 2: unknown permission 'rw'"));
  g_assert_nonnull (strstr (err2, "rule 3: wildcards"));
  g_assert_null (strstr (err2, "rule 1"));

  g_autofree char *missing = g_build_filename (f->dir, "nope.json", NULL);
  g_autofree char *out3 = NULL, *err3 = NULL;
  g_assert_cmpint (run (f, &out3, &err3, "check", "--rules", missing, NULL), ==, 1);
  g_assert_cmpstr (out3, ==, "");
}

static JsonArray *
parse_array (const char *text, JsonParser *parser)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_node_get_array (json_parser_get_root (parser));
}

static void
test_explain_json (Fixture *f, gconstpointer data)
{
  g_autofree char *rules = write_rules (
      f, "rules.json",
      "{\"preset\": \"agent-safe\", \"rules\": [{\"pattern\": \"/docs/**\", \"permission\": "
      "\"write\", \"priority\": 10}]}");
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run (f, &out, &err, "explain", "--json", "--rules", rules, "docs//a.md",
                        "/src/./x/../main.c", "/", "/docs/.env", NULL),
                   ==, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonArray *a = parse_array (out, parser);
  g_assert_cmpuint (json_array_get_length (a), ==, 4);

  JsonObject *o = json_array_get_object_element (a, 0);
  g_assert_cmpstr (json_object_get_string_member (o, "path"), ==, "/docs/a.md");
  g_assert_cmpstr (json_object_get_string_member (o, "level"), ==, "write");
  g_assert_cmpint (json_object_get_int_member (o, "rule"), ==, 9); /* 9 preset rules first */
  JsonArray *m = json_object_get_array_member (o, "matches");
  g_assert_cmpuint (json_array_get_length (m), ==, 2);
  g_assert_cmpint (json_array_get_int_element (m, 0), ==, 9);
  g_assert_cmpint (json_array_get_int_element (m, 1), ==, 0);

  o = json_array_get_object_element (a, 1);
  g_assert_cmpstr (json_object_get_string_member (o, "path"), ==, "/src/main.c");
  g_assert_cmpstr (json_object_get_string_member (o, "level"), ==, "read");
  g_assert_cmpint (json_object_get_int_member (o, "rule"), ==, 0);

  o = json_array_get_object_element (a, 2);
  g_assert_cmpstr (json_object_get_string_member (o, "path"), ==, "/");
  g_assert_cmpstr (json_object_get_string_member (o, "level"), ==, "none");
  g_assert_true (json_object_get_null_member (o, "rule"));
  g_assert_true (json_object_get_boolean_member (o, "may_reveal_below"));

  o = json_array_get_object_element (a, 3);
  g_assert_cmpstr (json_object_get_string_member (o, "level"), ==, "none");
  g_assert_cmpint (json_object_get_int_member (o, "rule"), ==, 3); /* **-/.env* p100 */
}

static void
test_explain_text (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (
      run (f, &out, &err, "explain", "--preset", "development", "/a/secrets/x.key", "/x", NULL), ==,
      0);
  g_assert_nonnull (strstr (out, "/a/secrets/x.key: none\n"
                                 "  decided by: rule 2: glob '**/secrets/**' none priority 100\n"
                                 "  also matched: rule 3: glob '**/*.key' none priority 100\n"
                                 "  also matched: rule 0: glob '**/*' write priority 0\n"));
  g_assert_nonnull (strstr (out, "/x: write\n"));

  /* A path above the root is an error for that path. */
  g_autofree char *out2 = NULL, *err2 = NULL;
  g_assert_cmpint (run (f, &out2, &err2, "explain", "--preset", "read-only", "/../x", NULL), ==, 1);
  g_assert_nonnull (strstr (err2, "above the codebase root"));
}

static void
test_presets (Fixture *f, gconstpointer data)
{
  g_autofree char *custom = g_build_filename (f->presets_dir, "docs-writer.json", NULL);
  g_assert_true (g_file_set_contents (
      custom, "[{\"pattern\": \"/docs\", \"type\": \"directory\", \"permission\": \"write\"}]", -1,
      NULL));
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run (f, &out, &err, "presets", NULL), ==, 0);
  g_assert_cmpstr (out, ==,
                   "agent-safe\ndevelopment\ndocs-writer\nfull-access\nread-only\nview-only\n");

  g_autofree char *out2 = NULL, *err2 = NULL;
  g_assert_cmpint (
      run (f, &out2, &err2, "explain", "--json", "--preset", "docs-writer", "/docs/x", NULL), ==,
      0);
  g_assert_nonnull (strstr (out2, "\"level\" : \"write\""));

  g_autofree char *out3 = NULL, *err3 = NULL;
  g_assert_cmpint (run (f, &out3, &err3, "check", "--preset", "nope", NULL), ==, 1);
  g_assert_nonnull (strstr (err3, "unknown preset 'nope' (available: agent-safe, development"));
}

static void
test_usage (Fixture *f, gconstpointer data)
{
  g_autofree char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL, *o3 = NULL, *e3 = NULL;
  g_autofree char *o4 = NULL, *e4 = NULL;
  g_assert_cmpint (run (f, &o1, &e1, NULL), ==, 2);
  g_assert_cmpint (run (f, &o2, &e2, "frobnicate", NULL), ==, 2);
  g_assert_cmpint (run (f, &o3, &e3, "check", "--preset", "read-only", "--rules", "x", NULL), ==,
                   2);
  g_assert_cmpint (run (f, &o4, &e4, "explain", "--preset", "read-only", NULL), ==, 2);
  g_assert_nonnull (strstr (e4, "at least one PATH"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/tool/check", Fixture, NULL, setup, test_check, teardown);
  g_test_add ("/tool/explain-json", Fixture, NULL, setup, test_explain_json, teardown);
  g_test_add ("/tool/explain-text", Fixture, NULL, setup, test_explain_text, teardown);
  g_test_add ("/tool/presets", Fixture, NULL, setup, test_presets, teardown);
  g_test_add ("/tool/usage", Fixture, NULL, setup, test_usage, teardown);
  return g_test_run ();
}
