/* Unit tests for the codebase operations on a real SQLite file and a real
 * store in a temp dir: validation, hostile paths (with the disk checked),
 * sizes, quota, ownership, pagination, listings, delete, events. */
#include "afd-test-util.h"

#include <string.h>
#include <unistd.h>

typedef struct {
  AfdTestState s;
  AfdCodebase *cb;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  afd_test_state_open (&f->s);
  g_autoptr (GError) error = NULL;
  f->cb = afd_codebases_create (f->s.cbs, &afd_test_root, "proj", "alice", &error);
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  afd_codebase_free (f->cb);
  afd_test_state_free (&f->s);
}

static gint64
count_events (Fixture *f, const char *action)
{
  sqlite3_stmt *stmt = NULL;
  sqlite3_prepare_v2 (afd_db_handle (f->s.db), "SELECT count(*) FROM events WHERE action = ?1", -1,
                      &stmt, NULL);
  sqlite3_bind_text (stmt, 1, action, -1, SQLITE_STATIC);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  gint64 n = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return n;
}

static void
test_create_validation (Fixture *f, gconstpointer data)
{
  AfdCodebases *cbs = f->s.cbs;
  g_autofree char *long_name = g_strnfill (256, 'n');
  g_autofree char *max_name = g_strnfill (255, 'n');
  const char *bad_names[] = { "", long_name, "tab\there", "nl\n", "\xff\xfe", "bell\a" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad_names); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (AfdCodebase) cb =
        afd_codebases_create (cbs, &afd_test_root, bad_names[i], "", &error);
    g_assert_null (cb);
    g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  }
  g_autoptr (GError) error = NULL;
  g_autoptr (AfdCodebase) ok = afd_codebases_create (cbs, &afd_test_root, max_name, "", &error);
  g_assert_no_error (error);
  g_autoptr (AfdCodebase) uni =
      afd_codebases_create (cbs, &afd_test_root, "projet é 日本", "", &error);
  g_assert_no_error (error);
  g_autoptr (AfdCodebase) bad_owner =
      afd_codebases_create (cbs, &afd_test_root, "x", long_name, &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_cmpint (count_events (f, "codebase.create"), ==, 3);

  /* The directory exists, the id is well-formed, timestamps are set. */
  g_assert_true (af_id_is_valid (AF_ID_CODEBASE, ok->id));
  g_autofree char *dir = g_build_filename (f->s.state, "codebases", ok->id, NULL);
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  g_assert_cmpint (ok->created_us, >, 0);
  g_assert_true (ok->has_owner_uid);
}

static void
test_get_errors (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (afd_codebases_get (f->s.cbs, &afd_test_root, "", &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (afd_codebases_get (f->s.cbs, &afd_test_root, "../other", &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_autofree char *other = af_id_new (AF_ID_CODEBASE);
  g_assert_null (afd_codebases_get (f->s.cbs, &afd_test_root, other, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_autoptr (AfdCodebase) got = afd_codebases_get (f->s.cbs, &afd_test_root, f->cb->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->name, ==, "proj");
  g_assert_cmpstr (got->owner_id, ==, "alice");
}

static void
test_hostile_paths (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfdFileRow) base =
      afd_test_upload (f->s.cbs, &afd_test_root, f->cb->id, "file", "x", &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) before = afd_test_tree (f->s.top);

  g_autofree char *long_comp = g_strnfill (256, 'c');
  g_autofree char *deep = NULL;
  {
    g_autoptr (GString) s = g_string_new ("d");
    for (int i = 0; i < AFD_STORE_MAX_DEPTH; i++)
      g_string_append (s, "/d");
    deep = g_string_free (g_steal_pointer (&s), FALSE);
  }
  struct {
    const char *path;
    int code;
  } cases[] = {
    { "../x", AF_ERROR_INVALID_ARGUMENT },        { "a/../../x", AF_ERROR_INVALID_ARGUMENT },
    { "..", AF_ERROR_INVALID_ARGUMENT },          { "a/..", AF_ERROR_INVALID_ARGUMENT },
    { "/etc/passwd", AF_ERROR_INVALID_ARGUMENT }, { "", AF_ERROR_INVALID_ARGUMENT },
    { ".", AF_ERROR_INVALID_ARGUMENT },           { "/", AF_ERROR_INVALID_ARGUMENT },
    { "\xc3\x28", AF_ERROR_INVALID_ARGUMENT },    { long_comp, AF_ERROR_INVALID_ARGUMENT },
    { deep, AF_ERROR_INVALID_ARGUMENT },          { "file/inside", AF_ERROR_FAILED_PRECONDITION },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) e = NULL;
    g_autoptr (AfdCodebaseUpload) up =
        afd_codebases_upload_begin (f->s.cbs, &afd_test_root, f->cb->id, cases[i].path, 1, &e);
    g_assert_null (up);
    g_assert_error (e, AF_ERROR, cases[i].code);
  }
  /* Ids that are paths. */
  const char *ids[] = { "../other", "cb_../../x", "..", "/etc", "" };
  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++) {
    g_autoptr (GError) e = NULL;
    g_autoptr (AfdCodebaseUpload) up =
        afd_codebases_upload_begin (f->s.cbs, &afd_test_root, ids[i], "x", 1, &e);
    g_assert_null (up);
    g_assert_true (g_error_matches (e, AF_ERROR, AF_ERROR_NOT_FOUND) ||
                   g_error_matches (e, AF_ERROR, AF_ERROR_INVALID_ARGUMENT));
  }
  /* The same for reading. */
  for (gsize i = 0; i < G_N_ELEMENTS (cases) - 1; i++) {
    g_autoptr (GError) e = NULL;
    g_autofree char *p = NULL;
    g_assert_cmpint (
        afd_codebases_open_file (f->s.cbs, &afd_test_root, f->cb->id, cases[i].path, &p, &e), <, 0);
    g_assert_error (e, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  }

  /* Nothing at all changed on disk, inside the state dir or next to it. */
  g_autoptr (GPtrArray) after = afd_test_tree (f->s.top);
  g_assert_cmpuint (after->len, ==, before->len);
  for (guint i = 0; i < after->len; i++)
    g_assert_cmpstr (g_ptr_array_index (after, i), ==, g_ptr_array_index (before, i));
}

static void
test_upload_roundtrip (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfdFileRow) row =
      afd_test_upload (f->s.cbs, &afd_test_root, f->cb->id, "./src//main.c", "hello", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (row->path, ==, "src/main.c");
  g_assert_cmpint (row->size, ==, 5);
  g_assert_cmpstr (row->sha256, ==,
                   "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  g_autofree char *p = NULL;
  int fd = afd_codebases_open_file (f->s.cbs, &afd_test_root, f->cb->id, "src/main.c", &p, &error);
  g_assert_cmpint (fd, >=, 0);
  char buf[16] = { 0 };
  g_assert_cmpint (read (fd, buf, sizeof buf), ==, 5);
  g_assert_cmpstr (buf, ==, "hello");
  close (fd);

  /* Re-upload replaces; size and count stay exact. */
  g_autoptr (AfdFileRow) row2 =
      afd_test_upload (f->s.cbs, &afd_test_root, f->cb->id, "src/main.c", "hi", &error);
  g_assert_no_error (error);
  g_autoptr (AfdFileRow) empty =
      afd_test_upload (f->s.cbs, &afd_test_root, f->cb->id, "empty", "", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (empty->sha256, ==,
                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  g_autoptr (AfdCodebase) cb = afd_codebases_get (f->s.cbs, &afd_test_root, f->cb->id, &error);
  g_assert_cmpint (cb->size, ==, 2);
  g_assert_cmpint (cb->file_count, ==, 2);
  g_assert_cmpint (cb->updated_us, >=, cb->created_us);
  g_assert_cmpint (count_events (f, "file.upload"), ==, 3);

  /* Directory where a file is; reading a directory. */
  g_autoptr (AfdCodebaseUpload) up =
      afd_codebases_upload_begin (f->s.cbs, &afd_test_root, f->cb->id, "src", 1, &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION);
  g_clear_error (&error);
  g_assert_cmpint (afd_codebases_open_file (f->s.cbs, &afd_test_root, f->cb->id, "src", &p, &error),
                   <, 0);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpint (
      afd_codebases_open_file (f->s.cbs, &afd_test_root, f->cb->id, "nope", &p, &error), <, 0);
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
}

static void
test_upload_size_lies (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) before = afd_test_tree (f->s.top);

  /* Fewer bytes than announced. */
  g_autoptr (AfdCodebaseUpload) up =
      afd_codebases_upload_begin (f->s.cbs, &afd_test_root, f->cb->id, "short", 10, &error);
  g_assert_no_error (error);
  g_assert_true (afd_codebase_upload_write (up, "12345", 5, &error));
  g_assert_null (afd_codebase_upload_finish (up, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_clear_pointer (&up, afd_codebase_upload_free);

  /* More bytes than announced. */
  up = afd_codebases_upload_begin (f->s.cbs, &afd_test_root, f->cb->id, "long", 3, &error);
  g_assert_true (afd_codebase_upload_write (up, "12", 2, &error));
  g_assert_false (afd_codebase_upload_write (up, "34", 2, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_clear_pointer (&up, afd_codebase_upload_free);

  /* Negative and over the limit. */
  up = afd_codebases_upload_begin (f->s.cbs, &afd_test_root, f->cb->id, "neg", -1, &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  up = afd_codebases_upload_begin (f->s.cbs, &afd_test_root, f->cb->id, "big",
                                   f->s.settings.max_file_size + 1, &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED);
  g_clear_error (&error);

  g_autoptr (GPtrArray) after = afd_test_tree (f->s.top);
  g_assert_cmpuint (after->len, ==, before->len);
  g_autoptr (AfdCodebase) cb = afd_codebases_get (f->s.cbs, &afd_test_root, f->cb->id, &error);
  g_assert_cmpint (cb->file_count, ==, 0);
}

static void
test_quota (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->s.settings.codebase_quota = 10;
  g_autoptr (AfdFileRow) a =
      afd_test_upload (f->s.cbs, &afd_test_root, f->cb->id, "a", "123456", &error);
  g_assert_no_error (error);
  g_autoptr (AfdFileRow) b =
      afd_test_upload (f->s.cbs, &afd_test_root, f->cb->id, "b", "12345", &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED);
  g_clear_error (&error);
  /* Replacing a counts the new size instead of the old one. */
  g_autoptr (AfdFileRow) a2 =
      afd_test_upload (f->s.cbs, &afd_test_root, f->cb->id, "a", "1234567890", &error);
  g_assert_no_error (error);
}

static void
test_upload_limit (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  AfdCodebaseUpload *ups[4];
  for (int i = 0; i < 4; i++) {
    g_autofree char *p = g_strdup_printf ("f%d", i);
    ups[i] = afd_codebases_upload_begin (f->s.cbs, &afd_test_root, f->cb->id, p, 1, &error);
    g_assert_no_error (error);
  }
  g_autoptr (AfdCodebaseUpload) fifth =
      afd_codebases_upload_begin (f->s.cbs, &afd_test_root, f->cb->id, "f5", 1, &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED);
  g_clear_error (&error);
  afd_codebase_upload_free (ups[0]);
  g_autoptr (AfdCodebaseUpload) again =
      afd_codebases_upload_begin (f->s.cbs, &afd_test_root, f->cb->id, "f5", 1, &error);
  g_assert_no_error (error);
  for (int i = 1; i < 4; i++)
    afd_codebase_upload_free (ups[i]);
}

static void
test_ownership (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  AfdCaller u1 = { .is_unix = TRUE, .uid = 1001 };
  AfdCaller u2 = { .is_unix = TRUE, .uid = 1002 };
  AfdCaller tcp = { .is_unix = FALSE, .address = "ipv4:127.0.0.1:1" };
  g_autoptr (AfdCodebase) mine = afd_codebases_create (f->s.cbs, &u1, "mine", "", &error);
  g_assert_no_error (error);

  g_autoptr (AfdCodebase) seen = afd_codebases_get (f->s.cbs, &u2, mine->id, &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  g_assert_false (afd_codebases_delete (f->s.cbs, &u2, mine->id, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  g_autoptr (AfdCodebaseUpload) up =
      afd_codebases_upload_begin (f->s.cbs, &u2, mine->id, "x", 0, &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  /* The root-owned fixture codebase is not u1's either. */
  g_autoptr (AfdCodebase) root_cb = afd_codebases_get (f->s.cbs, &u1, f->cb->id, &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);

  g_autofree char *next = NULL;
  g_autoptr (GPtrArray) l2 = afd_codebases_list (f->s.cbs, &u2, "", 0, "", &next, &error);
  g_assert_cmpuint (l2->len, ==, 0);
  g_clear_pointer (&next, g_free);
  g_autoptr (GPtrArray) l1 = afd_codebases_list (f->s.cbs, &u1, "", 0, "", &next, &error);
  g_assert_cmpuint (l1->len, ==, 1);
  g_clear_pointer (&next, g_free);
  g_autoptr (GPtrArray) lr =
      afd_codebases_list (f->s.cbs, &afd_test_root, "", 0, "", &next, &error);
  g_assert_cmpuint (lr->len, ==, 2);
  g_clear_pointer (&next, g_free);
  g_autoptr (GPtrArray) lt = afd_codebases_list (f->s.cbs, &tcp, "alice", 0, "", &next, &error);
  g_assert_cmpuint (lt->len, ==, 1);

  g_assert_true (afd_codebases_delete (f->s.cbs, &u1, mine->id, &error));
  g_assert_no_error (error);
}

static void
test_pagination (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) all = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (all, g_strdup (f->cb->id));
  for (int i = 0; i < 24; i++) {
    g_autoptr (AfdCodebase) cb =
        afd_codebases_create (f->s.cbs, &afd_test_root, "p", i % 2 ? "odd" : "even", &error);
    g_assert_no_error (error);
    g_hash_table_add (all, g_strdup (cb->id));
  }
  g_autofree char *token = g_strdup ("");
  guint seen = 0, pages = 0;
  char *prev_last = NULL;
  do {
    g_autofree char *next = NULL;
    g_autoptr (GPtrArray) page =
        afd_codebases_list (f->s.cbs, &afd_test_root, "", 7, token, &next, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (page->len, <=, 7);
    for (guint i = 0; i < page->len; i++) {
      AfdCodebase *cb = g_ptr_array_index (page, i);
      g_assert_true (g_hash_table_remove (all, cb->id)); /* each exactly once */
      seen++;
    }
    g_free (prev_last);
    prev_last = page->len ? g_strdup (((AfdCodebase *)g_ptr_array_index (page, 0))->id) : NULL;
    g_free (token);
    token = g_steal_pointer (&next);
    pages++;
  } while (*token);
  g_free (prev_last);
  g_assert_cmpuint (seen, ==, 25);
  g_assert_cmpuint (pages, ==, 4);

  g_autofree char *n2 = NULL;
  g_autoptr (GPtrArray) odd =
      afd_codebases_list (f->s.cbs, &afd_test_root, "odd", 0, "", &n2, &error);
  g_assert_cmpuint (odd->len, ==, 12);
  g_assert_cmpstr (n2, ==, "");

  g_autofree char *n3 = NULL;
  g_assert_null (afd_codebases_list (f->s.cbs, &afd_test_root, "", -1, "", &n3, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  const char *bad_tokens[] = { "garbage", "YzF8MXxjYl8uLi8=", "!!!!" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad_tokens); i++) {
    g_assert_null (
        afd_codebases_list (f->s.cbs, &afd_test_root, "", 0, bad_tokens[i], &n3, &error));
    g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
  /* Page size above the maximum is clamped, not refused. */
  g_autoptr (GPtrArray) big =
      afd_codebases_list (f->s.cbs, &afd_test_root, "", 5000, "", &n3, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (big->len, ==, 25);
}

static void
test_list_files (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *files[] = { "README", "src/a.c", "src/lib/b.c", "src.txt", "docs/x/y/z.md" };
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autoptr (AfdFileRow) r =
        afd_test_upload (f->s.cbs, &afd_test_root, f->cb->id, files[i], files[i], &error);
    g_assert_no_error (error);
  }
  g_autoptr (GPtrArray) top =
      afd_codebases_list_files (f->s.cbs, &afd_test_root, f->cb->id, "", FALSE, &error);
  g_assert_no_error (error);
  const char *want_top[] = { "README", "docs", "src", "src.txt" };
  g_assert_cmpuint (top->len, ==, G_N_ELEMENTS (want_top));
  for (guint i = 0; i < top->len; i++) {
    AfdFileInfo *info = g_ptr_array_index (top, i);
    g_assert_cmpstr (info->path, ==, want_top[i]);
    g_assert_cmpstr (info->name, ==, want_top[i]);
  }
  AfdFileInfo *src = g_ptr_array_index (top, 2);
  g_assert_true (src->is_dir);
  g_assert_cmpint (src->mtime_us, >, 0);
  AfdFileInfo *readme = g_ptr_array_index (top, 0);
  g_assert_false (readme->is_dir);
  g_assert_cmpint (readme->size, ==, 6);

  g_autoptr (GPtrArray) rec =
      afd_codebases_list_files (f->s.cbs, &afd_test_root, f->cb->id, "/src", TRUE, &error);
  g_assert_no_error (error);
  const char *want_rec[] = { "src/a.c", "src/lib", "src/lib/b.c" };
  g_assert_cmpuint (rec->len, ==, G_N_ELEMENTS (want_rec));
  for (guint i = 0; i < rec->len; i++)
    g_assert_cmpstr (((AfdFileInfo *)g_ptr_array_index (rec, i))->path, ==, want_rec[i]);

  g_autoptr (GPtrArray) all =
      afd_codebases_list_files (f->s.cbs, &afd_test_root, f->cb->id, ".", TRUE, &error);
  g_assert_cmpuint (all->len, ==, 5 + 5); /* files + docs docs/x docs/x/y src src/lib */

  g_autoptr (GPtrArray) missing =
      afd_codebases_list_files (f->s.cbs, &afd_test_root, f->cb->id, "nope", FALSE, &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_autoptr (GPtrArray) file =
      afd_codebases_list_files (f->s.cbs, &afd_test_root, f->cb->id, "README", FALSE, &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_autoptr (GPtrArray) up =
      afd_codebases_list_files (f->s.cbs, &afd_test_root, f->cb->id, "../x", FALSE, &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  f->s.settings.max_list_entries = 3;
  g_autoptr (GPtrArray) over =
      afd_codebases_list_files (f->s.cbs, &afd_test_root, f->cb->id, "", TRUE, &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED);
}

static void
test_delete (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfdFileRow) r =
      afd_test_upload (f->s.cbs, &afd_test_root, f->cb->id, "a/b", "data", &error);
  g_autofree char *dir = g_build_filename (f->s.state, "codebases", f->cb->id, NULL);
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));

  afd_codebases_pin (f->s.cbs, f->cb->id);
  g_assert_false (afd_codebases_delete (f->s.cbs, &afd_test_root, f->cb->id, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION);
  g_clear_error (&error);
  afd_codebases_unpin (f->s.cbs, f->cb->id);

  g_assert_true (afd_codebases_delete (f->s.cbs, &afd_test_root, f->cb->id, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  g_autofree char *cbroot = g_build_filename (f->s.state, "codebases", NULL);
  g_autoptr (GPtrArray) left = afd_test_tree (cbroot);
  g_assert_cmpuint (left->len, ==, 0);
  g_assert_null (afd_codebases_get (f->s.cbs, &afd_test_root, f->cb->id, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (afd_codebases_delete (f->s.cbs, &afd_test_root, f->cb->id, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
  g_assert_cmpint (count_events (f, "codebase.delete"), ==, 1);
}

static void
test_delete_during_upload (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfdCodebaseUpload) up =
      afd_codebases_upload_begin (f->s.cbs, &afd_test_root, f->cb->id, "x", 3, &error);
  g_assert_no_error (error);
  g_assert_true (afd_codebase_upload_write (up, "abc", 3, &error));
  g_assert_true (afd_codebases_delete (f->s.cbs, &afd_test_root, f->cb->id, &error));
  g_assert_null (afd_codebase_upload_finish (up, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
  g_clear_pointer (&up, afd_codebase_upload_free);
  g_autofree char *tmp = g_build_filename (f->s.state, "tmp", NULL);
  g_autoptr (GPtrArray) left = afd_test_tree (tmp);
  g_assert_cmpuint (left->len, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add (name, Fixture, NULL, setup, fn, teardown)
  ADD ("/afd-codebases/create-validation", test_create_validation);
  ADD ("/afd-codebases/get-errors", test_get_errors);
  ADD ("/afd-codebases/hostile-paths", test_hostile_paths);
  ADD ("/afd-codebases/upload-roundtrip", test_upload_roundtrip);
  ADD ("/afd-codebases/upload-size-lies", test_upload_size_lies);
  ADD ("/afd-codebases/quota", test_quota);
  ADD ("/afd-codebases/upload-limit", test_upload_limit);
  ADD ("/afd-codebases/ownership", test_ownership);
  ADD ("/afd-codebases/pagination", test_pagination);
  ADD ("/afd-codebases/list-files", test_list_files);
  ADD ("/afd-codebases/delete", test_delete);
  ADD ("/afd-codebases/delete-during-upload", test_delete_during_upload);
  return g_test_run ();
}
