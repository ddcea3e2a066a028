/* afd-reconcile.c — start-up repair of store vs rows. Never logs (the daemon
 * logs the report); never follows a symlink. */
#include "afd-reconcile.h"
#include "afd-rows.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  AfdDb *db;
  const char *codebase_id;
  GHashTable *seen; /* paths found on disk (owned keys) */
  AfdReconcileReport *report;
} Walk;

static gboolean
adopt_or_check (Walk *w, int dirfd, const char *name, const char *path, const struct stat *st,
                GError **error)
{
  g_autoptr (AfdFileRow) row = afd_rows_file_get (w->db, w->codebase_id, path, NULL);
  gint64 mtime = afd_store_stat_mtime_us (st);
  if (row != NULL && row->size == st->st_size && row->mtime_us == mtime)
    return TRUE;
  int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot open %s/%s: %s", w->codebase_id, path,
                 g_strerror (errno));
    return FALSE;
  }
  g_autofree char *sha = afd_store_hash_fd (fd, error);
  close (fd);
  if (sha == NULL)
    return FALSE;
  AfdFileRow fresh = {
    .path = (char *)path, .size = st->st_size, .sha256 = sha, .mtime_us = mtime
  };
  if (!afd_rows_file_upsert (w->db, w->codebase_id, &fresh, error))
    return FALSE;
  if (row == NULL)
    w->report->files_adopted++;
  else
    w->report->rows_rehashed++;
  return TRUE;
}

static gboolean
walk_dir (Walk *w, int dirfd, const char *prefix, int depth, GError **error)
{
  int dup_fd = dup (dirfd);
  DIR *dir = dup_fd >= 0 ? fdopendir (dup_fd) : NULL;
  if (dir == NULL) {
    if (dup_fd >= 0)
      close (dup_fd);
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot read %s/%s: %s", w->codebase_id,
                 prefix, g_strerror (errno));
    return FALSE;
  }
  gboolean ok = TRUE;
  struct dirent *de;
  while (ok && (de = readdir (dir)) != NULL) {
    if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
      continue;
    g_autofree char *path =
        *prefix ? g_strconcat (prefix, "/", de->d_name, NULL) : g_strdup (de->d_name);
    struct stat st;
    if (fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    /* A name the API could never have produced is not ours to serve. */
    g_autofree char *canonical = af_path_normalize (path, -1, AF_PATH_FLAGS_NONE, NULL);
    gboolean valid_name = canonical != NULL && strcmp (canonical, path) == 0;
    if (S_ISDIR (st.st_mode) && valid_name && depth < AFD_STORE_MAX_DEPTH) {
      int sub = openat (dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        continue;
      ok = walk_dir (w, sub, path, depth + 1, error);
      close (sub);
    } else if (S_ISREG (st.st_mode) && valid_name) {
      g_hash_table_add (w->seen, g_strdup (path));
      ok = adopt_or_check (w, dirfd, de->d_name, path, &st, error);
    } else {
      ok = afd_store_remove_tree_at (dirfd, de->d_name, error);
      w->report->strange_removed++;
    }
  }
  closedir (dir);
  return ok;
}

typedef struct {
  GHashTable *seen;
  GPtrArray *missing;
} MissingState;

static gboolean
collect_missing (const AfdFileRow *row, gpointer user_data)
{
  MissingState *m = user_data;
  if (!g_hash_table_contains (m->seen, row->path))
    g_ptr_array_add (m->missing, g_strdup (row->path));
  return TRUE;
}

static gboolean
reconcile_codebase (AfdDb *db, AfdStore *store, const char *id, AfdReconcileReport *report,
                    GError **error)
{
  int cbfd =
      openat (afd_store_codebases_fd (store), id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (cbfd < 0) {
    /* Row without a directory (or something else in its place). */
    afd_store_remove_tree_at (afd_store_codebases_fd (store), id, NULL);
    if (!afd_store_create_codebase (store, id, error))
      return FALSE;
    report->dirs_recreated++;
    cbfd = afd_store_open_codebase (store, id, error);
    if (cbfd < 0)
      return FALSE;
  }
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Walk w = { .db = db, .codebase_id = id, .seen = seen, .report = report };
  gboolean ok = walk_dir (&w, cbfd, "", 1, error);
  close (cbfd);
  if (!ok)
    return FALSE;

  g_autoptr (GPtrArray) missing = g_ptr_array_new_with_free_func (g_free);
  MissingState m = { seen, missing };
  if (!afd_rows_file_foreach_under (db, id, "", collect_missing, &m, error))
    return FALSE;
  for (guint i = 0; i < missing->len; i++) {
    if (!afd_rows_file_delete (db, id, g_ptr_array_index (missing, i), error))
      return FALSE;
    report->rows_dropped++;
  }
  return TRUE;
}

/* Remove every entry of @dirfd (the tmp dir). */
static gboolean
empty_dir (int dirfd, guint *count, GError **error)
{
  int dup_fd = dup (dirfd);
  DIR *dir = dup_fd >= 0 ? fdopendir (dup_fd) : NULL;
  if (dir == NULL) {
    if (dup_fd >= 0)
      close (dup_fd);
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot read the temp dir: %s",
                 g_strerror (errno));
    return FALSE;
  }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *de;
  while ((de = readdir (dir)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (dir);
  for (guint i = 0; i < names->len; i++) {
    if (!afd_store_remove_tree_at (dirfd, g_ptr_array_index (names, i), error))
      return FALSE;
    (*count)++;
  }
  return TRUE;
}

gboolean
afd_reconcile (AfdDb *db, AfdStore *store, AfdReconcileReport *report, GError **error)
{
  memset (report, 0, sizeof *report);
  if (!empty_dir (afd_store_tmp_fd (store), &report->temp_files_removed, error))
    return FALSE;

  g_autoptr (GPtrArray) ids = afd_rows_codebase_ids (db, error);
  if (ids == NULL)
    return FALSE;
  g_autoptr (GHashTable) known = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < ids->len; i++)
    g_hash_table_add (known, g_ptr_array_index (ids, i));

  /* Directories: trash, orphans and strangers go. */
  int root = afd_store_codebases_fd (store);
  int dup_fd = dup (root);
  DIR *dir = dup_fd >= 0 ? fdopendir (dup_fd) : NULL;
  if (dir == NULL) {
    if (dup_fd >= 0)
      close (dup_fd);
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot read the codebase store: %s",
                 g_strerror (errno));
    return FALSE;
  }
  g_autoptr (GPtrArray) doomed = g_ptr_array_new_with_free_func (g_free);
  struct dirent *de;
  while ((de = readdir (dir)) != NULL) {
    if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
      continue;
    if (g_hash_table_contains (known, de->d_name))
      continue;
    g_ptr_array_add (doomed, g_strdup (de->d_name));
    if (g_str_has_prefix (de->d_name, ".trash-"))
      report->trash_removed++;
    else
      report->orphan_dirs_removed++;
  }
  closedir (dir);
  for (guint i = 0; i < doomed->len; i++)
    if (!afd_store_remove_tree_at (root, g_ptr_array_index (doomed, i), error))
      return FALSE;

  if (!afd_db_begin (db, error))
    return FALSE;
  for (guint i = 0; i < ids->len; i++) {
    if (!reconcile_codebase (db, store, g_ptr_array_index (ids, i), report, error)) {
      afd_db_rollback (db);
      return FALSE;
    }
  }
  g_autofree char *what = afd_reconcile_report_describe (report);
  if ((what != NULL &&
       !afd_rows_event_append (db, "afd-server", "server.reconcile", NULL, NULL, what, error)) ||
      !afd_db_commit (db, error)) {
    afd_db_rollback (db);
    return FALSE;
  }
  return TRUE;
}

char *
afd_reconcile_report_describe (const AfdReconcileReport *r)
{
  struct {
    guint n;
    const char *what;
  } items[] = {
    { r->temp_files_removed, "leftover upload temp files removed" },
    { r->trash_removed, "half-deleted codebases removed" },
    { r->orphan_dirs_removed, "codebase directories without a row removed" },
    { r->dirs_recreated, "missing codebase directories recreated" },
    { r->files_adopted, "files without a row adopted" },
    { r->rows_dropped, "rows without a file dropped" },
    { r->rows_rehashed, "changed files re-hashed" },
    { r->strange_removed, "symlinks or special files removed from the store" },
  };
  g_autoptr (GString) s = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (items); i++)
    if (items[i].n)
      g_string_append_printf (s, "%s%u %s", s->len ? ", " : "", items[i].n, items[i].what);
  return s->len ? g_string_free (g_steal_pointer (&s), FALSE) : NULL;
}
