/* afd-codebases.c — codebase operations: validation, ownership, limits, and
 * one transaction per mutation (disk change, rows, event). Never logs: the
 * handlers log one line per RPC. */
#include "afd-codebases.h"
#include "afd-sandbox-rows.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_PAGE_SIZE 50
#define MAX_PAGE_SIZE 1000
#define MAX_NAME_BYTES 255
#define MAX_OWNER_BYTES 255

struct _AfdCodebases {
  AfdDb *db;
  AfdStore *store;
  const AfdSettings *settings;
  GHashTable *pins; /* codebase id -> pin count (GUINT_TO_POINTER) */
  gint64 uploads;   /* uploads in progress (each holds a temp file and an fd) */
};

struct _AfdCodebaseUpload {
  AfdCodebases *owner;
  char *codebase_id;
  char *path;
  char *actor;
  gint64 total_size;
  AfdUpload *file;
};

AfdCodebases *
afd_codebases_new (AfdDb *db, AfdStore *store, const AfdSettings *settings)
{
  AfdCodebases *self = g_new0 (AfdCodebases, 1);
  self->db = db;
  self->store = store;
  self->settings = settings;
  self->pins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return self;
}

void
afd_codebases_free (AfdCodebases *self)
{
  if (self == NULL)
    return;
  g_hash_table_destroy (self->pins);
  g_free (self);
}

AfdDb *
afd_codebases_get_db (AfdCodebases *self)
{
  return self->db;
}

void
afd_codebases_pin (AfdCodebases *self, const char *id)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->pins, id));
  g_hash_table_replace (self->pins, g_strdup (id), GUINT_TO_POINTER (n + 1));
}

void
afd_codebases_unpin (AfdCodebases *self, const char *id)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->pins, id));
  if (n <= 1)
    g_hash_table_remove (self->pins, id);
  else
    g_hash_table_replace (self->pins, g_strdup (id), GUINT_TO_POINTER (n - 1));
}

/* ---- validation ---- */

static gboolean
check_text (const char *what, const char *text, gsize min_bytes, gsize max_bytes, GError **error)
{
  gsize len = strlen (text);
  if (len < min_bytes) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "%s is required", what);
    return FALSE;
  }
  if (len > max_bytes) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "%s is %zu bytes long; at most %zu are allowed", what, len, max_bytes);
    return FALSE;
  }
  if (!g_utf8_validate (text, (gssize)len, NULL)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "%s is not valid UTF-8", what);
    return FALSE;
  }
  for (const char *p = text; *p; p = g_utf8_next_char (p)) {
    if (!g_unichar_isprint (g_utf8_get_char (p))) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "%s contains a control or unprintable character", what);
      return FALSE;
    }
  }
  return TRUE;
}

/* The codebase @id, if it exists and @caller may touch it. */
static AfdCodebase *
lookup_codebase (AfdCodebases *self, const AfdCaller *caller, const char *id, GError **error)
{
  if (!af_id_validate (AF_ID_CODEBASE, id, "codebase_id", error))
    return NULL;
  g_autoptr (AfdCodebase) cb = afd_rows_codebase_get (self->db, id, error);
  if (cb == NULL)
    return NULL;
  if (!afd_caller_check_codebase (caller, cb, error))
    return NULL;
  return g_steal_pointer (&cb);
}

/* A client path for a file: relative, no "..", not the root, not too deep. */
static char *
normalize_file_path (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *norm = af_path_normalize (path, -1, AF_PATH_FLAGS_NONE, &local);
  if (norm == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "file_path: %s", local->message);
    return NULL;
  }
  guint depth = 1;
  for (const char *p = norm; *p; p++)
    depth += *p == '/';
  if (depth > AFD_STORE_MAX_DEPTH) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "file_path has %u components; at most %d are allowed", depth, AFD_STORE_MAX_DEPTH);
    return NULL;
  }
  return g_steal_pointer (&norm);
}

/* Run @fn's changes and the event in one transaction. */
static gboolean
append_event (AfdCodebases *self, const AfdCaller *caller, const char *action,
              const char *codebase_id, const char *detail, GError **error)
{
  g_autofree char *actor = afd_caller_actor (caller);
  return afd_rows_event_append (self->db, actor, action, codebase_id, NULL, detail, error);
}

/* ---- codebases ---- */

AfdCodebase *
afd_codebases_create (AfdCodebases *self, const AfdCaller *caller, const char *name,
                      const char *owner_id, GError **error)
{
  if (!check_text ("name", name, 1, MAX_NAME_BYTES, error) ||
      !check_text ("owner_id", owner_id, 0, MAX_OWNER_BYTES, error))
    return NULL;

  g_autoptr (AfdCodebase) cb = g_new0 (AfdCodebase, 1);
  cb->id = af_id_new (AF_ID_CODEBASE);
  cb->name = g_strdup (name);
  cb->owner_id = g_strdup (owner_id);
  cb->created_us = cb->updated_us = afd_db_now_us ();
  cb->has_owner_uid = caller->is_unix;
  cb->owner_uid = caller->is_unix ? (gint64)caller->uid : 0;

  g_autofree char *detail = g_strdup_printf ("name=%s", name);
  gint64 count = 0;
  if (!afd_db_begin (self->db, error))
    return NULL;
  if (!afd_rows_codebase_count_owner (self->db, owner_id, afd_caller_scope_uid (caller), &count,
                                      error))
    goto fail;
  if (count >= self->settings->max_codebases_per_owner) {
    g_set_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
                 "this owner already has %" G_GINT64_FORMAT " codebases (the limit)", count);
    goto fail;
  }
  if (!afd_rows_codebase_insert (self->db, cb, error) ||
      !append_event (self, caller, "codebase.create", cb->id, detail, error) ||
      !afd_store_create_codebase (self->store, cb->id, error))
    goto fail;
  if (!afd_db_commit (self->db, error)) {
    afd_store_remove_codebase (self->store, cb->id, NULL);
    goto fail;
  }
  return g_steal_pointer (&cb);

fail:
  afd_db_rollback (self->db);
  return NULL;
}

AfdCodebase *
afd_codebases_get (AfdCodebases *self, const AfdCaller *caller, const char *id, GError **error)
{
  return lookup_codebase (self, caller, id, error);
}

static char *
encode_page_token (const AfdCodebase *last)
{
  g_autofree char *raw = g_strdup_printf ("c1|%" G_GINT64_FORMAT "|%s", last->created_us, last->id);
  return g_base64_encode ((const guchar *)raw, strlen (raw));
}

static gboolean
decode_page_token (const char *token, gint64 *out_us, char **out_id, GError **error)
{
  gsize len = 0;
  g_autofree guchar *raw = NULL;
  if (strlen (token) <= 200)
    raw = g_base64_decode (token, &len);
  g_autofree char *text = raw ? g_strndup ((const char *)raw, len) : NULL;
  g_auto (GStrv) parts = text ? g_strsplit (text, "|", 3) : NULL;
  char *end = NULL;
  if (parts == NULL || g_strv_length (parts) != 3 || strcmp (parts[0], "c1") != 0 ||
      !af_id_is_valid (AF_ID_CODEBASE, parts[2]) ||
      (*out_us = g_ascii_strtoll (parts[1], &end, 10), end == parts[1] || *end != '\0')) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "page_token is not one this server issued");
    return FALSE;
  }
  *out_id = g_strdup (parts[2]);
  return TRUE;
}

GPtrArray *
afd_codebases_list (AfdCodebases *self, const AfdCaller *caller, const char *owner_id,
                    int page_size, const char *page_token, char **out_next_token, GError **error)
{
  if (page_size < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "page_size must not be negative");
    return NULL;
  }
  if (page_size == 0)
    page_size = DEFAULT_PAGE_SIZE;
  page_size = MIN (page_size, MAX_PAGE_SIZE);
  if (!check_text ("owner_id", owner_id, 0, MAX_OWNER_BYTES, error))
    return NULL;

  gint64 after_us = G_MININT64;
  g_autofree char *after_id = NULL;
  if (*page_token && !decode_page_token (page_token, &after_us, &after_id, error))
    return NULL;

  /* One more than the page, to know whether another page follows. */
  g_autoptr (GPtrArray) rows =
      afd_rows_codebase_list (self->db, *owner_id ? owner_id : NULL, afd_caller_scope_uid (caller),
                              after_us, after_id, page_size + 1, error);
  if (rows == NULL)
    return NULL;
  if ((int)rows->len > page_size) {
    g_ptr_array_set_size (rows, (guint)page_size);
    *out_next_token = encode_page_token (g_ptr_array_index (rows, rows->len - 1));
  } else {
    *out_next_token = g_strdup ("");
  }
  return g_steal_pointer (&rows);
}

gboolean
afd_codebases_delete (AfdCodebases *self, const AfdCaller *caller, const char *id, GError **error)
{
  g_autoptr (AfdCodebase) cb = lookup_codebase (self, caller, id, error);
  if (cb == NULL)
    return FALSE;
  if (g_hash_table_contains (self->pins, id)) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "codebase %s is used by a running sandbox; stop it first", id);
    return FALSE;
  }
  g_autofree char *trash = g_strdup_printf (".trash-%s", id);
  int root = afd_store_codebases_fd (self->store);
  g_autofree char *detail = g_strdup_printf ("files=%" G_GINT64_FORMAT " size=%" G_GINT64_FORMAT,
                                             cb->file_count, cb->size);
  if (!afd_db_begin (self->db, error))
    return FALSE;
  /* Sandboxes of any state keep their codebase: a stopped one may hold
   * uncommitted changes, and a sandbox is destroyed only when asked. */
  gint64 n_sandboxes = 0;
  g_autoptr (GPtrArray) users =
      afd_rows_sandbox_names_for_codebase (self->db, id, 5, &n_sandboxes, error);
  if (users == NULL)
    goto fail;
  if (n_sandboxes > 0) {
    g_ptr_array_add (users, NULL);
    g_autofree char *names = g_strjoinv (", ", (char **)users->pdata);
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "codebase %s still has %" G_GINT64_FORMAT " sandbox(es): %s%s; destroy them first",
                 id, n_sandboxes, names, n_sandboxes > 5 ? ", …" : "");
    goto fail;
  }
  if (!afd_rows_codebase_delete (self->db, id, error) ||
      !append_event (self, caller, "codebase.delete", id, detail, error))
    goto fail;
  /* Out of sight first, so a failed commit can put it back; a crash leaves
   * only a trash directory that the next start removes. */
  if (renameat (root, id, root, trash) != 0 && errno != ENOENT) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot remove codebase %s: %s", id,
                 g_strerror (errno));
    goto fail;
  }
  if (!afd_db_commit (self->db, error)) {
    renameat (root, trash, root, id);
    goto fail;
  }
  /* Rows are gone: the data is unreachable now, whatever happens below. */
  afd_store_remove_tree_at (root, trash, NULL);
  return TRUE;

fail:
  afd_db_rollback (self->db);
  return FALSE;
}

/* ---- uploads ---- */

static gboolean
check_quota (AfdCodebases *self, const AfdCodebase *cb, const char *path, gint64 new_size,
             GError **error)
{
  g_autoptr (AfdFileRow) old = afd_rows_file_get (self->db, cb->id, path, NULL);
  gint64 after = cb->size - (old ? old->size : 0) + new_size;
  if (after > self->settings->codebase_quota) {
    g_set_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
                 "codebase %s would hold %" G_GINT64_FORMAT " bytes; its quota is %" G_GINT64_FORMAT
                 " bytes",
                 cb->id, after, self->settings->codebase_quota);
    return FALSE;
  }
  return TRUE;
}

AfdCodebaseUpload *
afd_codebases_upload_begin (AfdCodebases *self, const AfdCaller *caller, const char *codebase_id,
                            const char *file_path, gint64 total_size, GError **error)
{
  g_autoptr (AfdCodebase) cb = lookup_codebase (self, caller, codebase_id, error);
  if (cb == NULL)
    return NULL;
  g_autofree char *path = normalize_file_path (file_path, error);
  if (path == NULL)
    return NULL;
  if (total_size < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "total_size must not be negative");
    return NULL;
  }
  if (total_size > self->settings->max_file_size) {
    g_set_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
                 "total_size %" G_GINT64_FORMAT
                 " exceeds the largest file allowed (%" G_GINT64_FORMAT " bytes)",
                 total_size, self->settings->max_file_size);
    return NULL;
  }
  if (!afd_rows_file_check_shape (self->db, cb->id, path, error) ||
      !check_quota (self, cb, path, total_size, error))
    return NULL;
  if (self->uploads >= self->settings->max_uploads) {
    g_set_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
                 "%" G_GINT64_FORMAT " uploads are in progress (the limit); retry later",
                 self->uploads);
    return NULL;
  }

  AfdUpload *file = afd_upload_begin (self->store, error);
  if (file == NULL)
    return NULL;
  AfdCodebaseUpload *up = g_new0 (AfdCodebaseUpload, 1);
  up->owner = self;
  up->codebase_id = g_strdup (cb->id);
  up->path = g_steal_pointer (&path);
  up->actor = afd_caller_actor (caller);
  up->total_size = total_size;
  up->file = file;
  self->uploads++;
  return up;
}

gboolean
afd_codebase_upload_write (AfdCodebaseUpload *up, const void *data, gsize len, GError **error)
{
  if ((guint64)afd_upload_size (up->file) + len > (guint64)up->total_size) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "received more than total_size (%" G_GINT64_FORMAT " bytes); nothing stored",
                 up->total_size);
    return FALSE;
  }
  return afd_upload_write (up->file, data, len, error);
}

const char *
afd_codebase_upload_get_codebase_id (AfdCodebaseUpload *up)
{
  return up->codebase_id;
}

AfdFileRow *
afd_codebase_upload_finish (AfdCodebaseUpload *up, GError **error)
{
  AfdCodebases *self = up->owner;
  gint64 got = afd_upload_size (up->file);
  if (got != up->total_size) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "received %" G_GINT64_FORMAT " bytes but total_size is %" G_GINT64_FORMAT
                 "; nothing stored",
                 got, up->total_size);
    return NULL;
  }

  g_autoptr (AfdFileRow) row = g_new0 (AfdFileRow, 1);
  row->path = g_strdup (up->path);
  row->size = got;
  int cbfd = -1;
  g_autoptr (AfdCodebase) cb = NULL;
  g_autofree char *detail = g_strdup_printf ("path=%s size=%" G_GINT64_FORMAT, up->path, got);
  if (!afd_db_begin (self->db, error))
    return NULL;
  /* Everything checked at begin may have changed while the bytes arrived. */
  cb = afd_rows_codebase_get (self->db, up->codebase_id, error);
  if (cb == NULL || !afd_rows_file_check_shape (self->db, cb->id, up->path, error) ||
      !check_quota (self, cb, up->path, got, error))
    goto fail;
  cbfd = afd_store_open_codebase (self->store, cb->id, error);
  if (cbfd < 0)
    goto fail;
  if (!afd_upload_commit (up->file, cbfd, up->path, &row->sha256, &row->mtime_us, error))
    goto fail;
  if (!afd_rows_file_upsert (self->db, cb->id, row, error) ||
      !afd_rows_codebase_touch (self->db, cb->id, afd_db_now_us (), error) ||
      !afd_rows_event_append (self->db, up->actor, "file.upload", cb->id, NULL, detail, error) ||
      !afd_db_commit (self->db, error))
    goto fail; /* the file is in place; the next start's reconciliation adopts it */
  close (cbfd);
  return g_steal_pointer (&row);

fail:
  if (cbfd >= 0)
    close (cbfd);
  afd_db_rollback (self->db);
  return NULL;
}

void
afd_codebase_upload_free (AfdCodebaseUpload *up)
{
  if (up == NULL)
    return;
  afd_upload_free (up->file);
  up->owner->uploads--;
  g_free (up->codebase_id);
  g_free (up->path);
  g_free (up->actor);
  g_free (up);
}

/* ---- reading ---- */

int
afd_codebases_open_file (AfdCodebases *self, const AfdCaller *caller, const char *codebase_id,
                         const char *file_path, char **out_path, GError **error)
{
  g_autoptr (AfdCodebase) cb = lookup_codebase (self, caller, codebase_id, error);
  if (cb == NULL)
    return -1;
  g_autofree char *path = normalize_file_path (file_path, error);
  if (path == NULL)
    return -1;
  int cbfd = afd_store_open_codebase (self->store, cb->id, error);
  if (cbfd < 0)
    return -1;
  int fd = afd_store_open_file (cbfd, path, error);
  close (cbfd);
  if (fd >= 0)
    *out_path = g_steal_pointer (&path);
  return fd;
}

void
afd_file_info_free (AfdFileInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->path);
  g_free (info);
}

typedef struct {
  const char *dir; /* canonical, "" = root */
  gsize dir_len;   /* bytes of "dir/" to strip, 0 for the root */
  gboolean recursive;
  GPtrArray *entries;
  GHashTable *dirs; /* path -> AfdFileInfo* in entries */
  gint64 max_entries;
  gint64 max_bytes;
  gint64 bytes;
  gboolean overflow;
} ListState;

static AfdFileInfo *
add_entry (ListState *st, const char *path, gsize path_len, gboolean is_dir)
{
  AfdFileInfo *info = g_new0 (AfdFileInfo, 1);
  info->path = g_strndup (path, path_len);
  info->name = af_path_basename (info->path);
  info->is_dir = is_dir;
  g_ptr_array_add (st->entries, info);
  /* path and name, plus tags, lengths, size and timestamp */
  st->bytes += (gint64)(path_len + strlen (info->name)) + 40;
  if ((gint64)st->entries->len > st->max_entries || st->bytes > st->max_bytes)
    st->overflow = TRUE;
  if (is_dir)
    g_hash_table_insert (st->dirs, info->path, info);
  return info;
}

static void
note_dir (ListState *st, const char *path, gsize len, gint64 mtime_us)
{
  g_autofree char *key = g_strndup (path, len);
  AfdFileInfo *info = g_hash_table_lookup (st->dirs, key);
  if (info == NULL)
    info = add_entry (st, path, len, TRUE);
  info->mtime_us = MAX (info->mtime_us, mtime_us);
}

static gboolean
list_row (const AfdFileRow *row, gpointer user_data)
{
  ListState *st = user_data;
  const char *rel = row->path + st->dir_len; /* below the listed directory */
  if (st->recursive) {
    for (const char *slash = strchr (rel, '/'); slash; slash = strchr (slash + 1, '/'))
      note_dir (st, row->path, (gsize)(slash - row->path), row->mtime_us);
  } else {
    const char *slash = strchr (rel, '/');
    if (slash != NULL) {
      note_dir (st, row->path, (gsize)(slash - row->path), row->mtime_us);
      return !st->overflow;
    }
  }
  AfdFileInfo *info = add_entry (st, row->path, strlen (row->path), FALSE);
  info->size = row->size;
  info->mtime_us = row->mtime_us;
  return !st->overflow;
}

static gint
compare_info (gconstpointer a, gconstpointer b)
{
  const AfdFileInfo *x = *(AfdFileInfo *const *)a;
  const AfdFileInfo *y = *(AfdFileInfo *const *)b;
  return strcmp (x->path, y->path);
}

GPtrArray *
afd_codebases_list_files (AfdCodebases *self, const AfdCaller *caller, const char *codebase_id,
                          const char *path, gboolean recursive, GError **error)
{
  g_autoptr (AfdCodebase) cb = lookup_codebase (self, caller, codebase_id, error);
  if (cb == NULL)
    return NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *dir =
      af_path_normalize (path, -1, AF_PATH_ALLOW_ROOT | AF_PATH_ALLOW_ABSOLUTE, &local);
  if (dir == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "path: %s", local->message);
    return NULL;
  }

  g_autoptr (GPtrArray) entries =
      g_ptr_array_new_with_free_func ((GDestroyNotify)afd_file_info_free);
  g_autoptr (GHashTable) dirs = g_hash_table_new (g_str_hash, g_str_equal);
  ListState st = {
    .dir = dir,
    .dir_len = *dir ? strlen (dir) + 1 : 0,
    .recursive = recursive,
    .entries = entries,
    .dirs = dirs,
    .max_entries = self->settings->max_list_entries,
    /* leave room for the response's own framing */
    .max_bytes = self->settings->max_message_size - 1024,
  };
  if (!afd_rows_file_foreach_under (self->db, cb->id, dir, list_row, &st, error))
    return NULL;
  if (st.overflow) {
    g_set_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
                 "'%s' holds more entries than one answer may carry (%" G_GINT64_FORMAT
                 " entries or %" G_GINT64_FORMAT " bytes); list a subdirectory%s",
                 *dir ? dir : "/", st.max_entries, st.max_bytes,
                 recursive ? " or non-recursively" : "");
    return NULL;
  }
  if (entries->len == 0 && *dir) {
    g_autoptr (AfdFileRow) row = afd_rows_file_get (self->db, cb->id, dir, NULL);
    if (row != NULL)
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "'%s' is a file, not a directory",
                   dir);
    else
      g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "no directory '%s'", dir);
    return NULL;
  }
  g_ptr_array_sort (entries, compare_info);
  return g_steal_pointer (&entries);
}
