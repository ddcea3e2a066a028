/* afd-sandbox-delta.c — a sandbox's delta layer seen from the server:
 * commit (after each command or on request), changes, discard, live rule
 * updates, and keeping the codebase's files rows true after a commit.
 *
 * Must never: write into the codebase itself (af-fuse applies the delta,
 * file by file atomically), or leave rows that disagree with the files a
 * commit changed. */
#define _GNU_SOURCE /* getdents64 */
#include "afd-sandboxes-private.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUSE_PATH "/org/agentfense/Fuse1"
#define FUSE_IFACE "org.agentfense.Fuse1"
#define FUSE_CALL_TIMEOUT_MS 120000

typedef struct {
  AfdSandbox *sb;
  char *actor;
  AfdChangesDone done;
  gpointer data;
} DeltaOp;

static DeltaOp *
delta_op_new (AfdSandbox *sb, const AfdCaller *caller, AfdChangesDone done, gpointer data)
{
  DeltaOp *op = g_new0 (DeltaOp, 1);
  op->sb = afd_sandbox_ref (sb);
  op->actor = afd_sandboxes_actor (caller);
  op->done = done;
  op->data = data;
  return op;
}

static void
delta_op_free (DeltaOp *op)
{
  afd_sandbox_unref (op->sb);
  g_free (op->actor);
  g_free (op);
}

static GDBusConnection *
fuse_conn (AfdSandbox *sb, GError **error)
{
  if (sb->helpers == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "sandbox %s is not running",
                 sb->row->id);
    return NULL;
  }
  return afd_helpers_get_fuse (sb->helpers);
}

/* Bring one codebase's rows in line with what a commit changed. A path
 * that is now a directory is skipped (its files are listed themselves); a
 * deleted directory takes the rows below it. */
static gboolean
sync_rows (AfdSandboxes *self, const char *cb_id, GVariant *changes, const char *actor,
           const char *sb_id, GError **error)
{
  g_autoptr (GVariantIter) added = NULL, modified = NULL, deleted = NULL, conflicts = NULL;
  g_variant_get (changes, "(asasasas)", &added, &modified, &deleted, &conflicts);
  int root = afd_store_open_codebase (self->store, cb_id, error);
  if (root < 0)
    return FALSE;
  AfdDb *db = self->db;
  guint n_set = 0, n_del = 0;
  if (!afd_db_begin (db, error)) {
    close (root);
    return FALSE;
  }
  GVariantIter *sets[] = { added, modified };
  const char *path;
  gboolean ok = TRUE;
  for (guint k = 0; k < 2 && ok; k++) {
    while (ok && g_variant_iter_next (sets[k], "&s", &path)) {
      g_autoptr (GError) local = NULL;
      g_autofree char *canon = af_path_normalize (path, -1, AF_PATH_FLAGS_NONE, &local);
      if (canon == NULL)
        continue;
      int fd = afd_store_open_file (root, canon, &local);
      if (fd < 0)
        continue; /* a directory, or gone again */
      struct stat st;
      g_autofree char *sha = NULL;
      if (fstat (fd, &st) == 0)
        sha = afd_store_hash_fd (fd, NULL);
      close (fd);
      if (sha == NULL)
        continue;
      AfdFileRow row = { canon, st.st_size, sha, afd_store_stat_mtime_us (&st) };
      ok = afd_rows_file_upsert (db, cb_id, &row, error);
      n_set++;
    }
  }
  while (ok && g_variant_iter_next (deleted, "&s", &path)) {
    g_autofree char *canon = af_path_normalize (path, -1, AF_PATH_FLAGS_NONE, NULL);
    if (canon == NULL)
      continue;
    g_autoptr (GPtrArray) below = afd_rows_file_list_under (db, cb_id, canon, G_MAXINT, error);
    ok = below != NULL;
    for (guint i = 0; ok && i < below->len; i++)
      ok = afd_rows_file_delete (db, cb_id, ((AfdFileRow *)g_ptr_array_index (below, i))->path,
                                 error);
    if (ok)
      ok = afd_rows_file_delete (db, cb_id, canon, error);
    n_del++;
  }
  close (root);
  g_autofree char *detail = g_strdup_printf ("written=%u deleted=%u", n_set, n_del);
  if (ok && (n_set || n_del))
    ok = afd_rows_codebase_touch (db, cb_id, afd_db_now_us (), error) &&
         afd_rows_event_append (db, actor, "sandbox.commit", cb_id, sb_id, detail, error);
  if (!ok || !afd_db_commit (db, error)) {
    afd_db_rollback (db);
    return FALSE;
  }
  return TRUE;
}

void
afd_sandboxes_after_commit (AfdSandboxes *self, AfdSandbox *sb, const char *actor,
                            GVariant *changes)
{
  g_autoptr (GError) error = NULL;
  if (!sync_rows (self, sb->row->codebase_id, changes, actor, sb->row->id, &error))
    g_warning ("sandbox %s: files rows after commit: %s", sb->row->id, error->message);
  /* Other running sandboxes over the same codebase drop their caches for
   * what changed, so they see it at once. */
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  g_autoptr (GVariantIter) a = NULL, m = NULL, d = NULL, c = NULL;
  g_variant_get (changes, "(asasasas)", &a, &m, &d, &c);
  GVariantIter *its[] = { a, m, d };
  const char *p;
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("as"));
  guint n = 0;
  for (guint k = 0; k < 3; k++)
    while (g_variant_iter_next (its[k], "&s", &p)) {
      g_variant_builder_add (&b, "s", p);
      n++;
    }
  g_autoptr (GVariant) list = g_variant_ref_sink (g_variant_builder_end (&b));
  if (n == 0)
    return;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, self->live);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    AfdSandbox *other = v;
    if (other == sb || other->helpers == NULL ||
        g_strcmp0 (other->row->codebase_id, sb->row->codebase_id) != 0)
      continue;
    g_dbus_connection_call (afd_helpers_get_fuse (other->helpers), NULL, FUSE_PATH, FUSE_IFACE,
                            "InvalidatePaths", g_variant_new_tuple (&list, 1), NULL,
                            G_DBUS_CALL_FLAGS_NONE, 10000, NULL, NULL, NULL);
  }
}

static void
on_commit_reply (GObject *source, GAsyncResult *res, gpointer data)
{
  DeltaOp *op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) v = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  if (v && op->sb->owner)
    afd_sandboxes_after_commit (op->sb->owner, op->sb, op->actor, v);
  if (error)
    g_dbus_error_strip_remote_error (error);
  op->done (v, error, op->data);
  delta_op_free (op);
}

void
afd_sandbox_commit (AfdSandbox *sb, const AfdCaller *caller, AfdChangesDone done, gpointer data)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *c = fuse_conn (sb, &error);
  if (c == NULL) {
    done (NULL, error, data);
    return;
  }
  g_dbus_connection_call (c, NULL, FUSE_PATH, FUSE_IFACE, "Commit", NULL,
                          G_VARIANT_TYPE ("(asasasas)"), G_DBUS_CALL_FLAGS_NONE,
                          FUSE_CALL_TIMEOUT_MS, NULL, on_commit_reply,
                          delta_op_new (sb, caller, done, data));
}

static void
on_plain_reply (GObject *source, GAsyncResult *res, gpointer data)
{
  DeltaOp *op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) v = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  if (error)
    g_dbus_error_strip_remote_error (error);
  op->done (v, error, op->data);
  delta_op_free (op);
}

void
afd_sandbox_get_changes (AfdSandbox *sb, AfdChangesDone done, gpointer data)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *c = fuse_conn (sb, &error);
  if (c == NULL) {
    done (NULL, error, data);
    return;
  }
  g_dbus_connection_call (c, NULL, FUSE_PATH, FUSE_IFACE, "GetChanges", NULL,
                          G_VARIANT_TYPE ("(asasas)"), G_DBUS_CALL_FLAGS_NONE, FUSE_CALL_TIMEOUT_MS,
                          NULL, on_plain_reply, delta_op_new (sb, NULL, done, data));
}

void
afd_sandbox_discard (AfdSandbox *sb, AfdChangesDone done, gpointer data)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *c = fuse_conn (sb, &error);
  if (c == NULL) {
    done (NULL, error, data);
    return;
  }
  g_dbus_connection_call (c, NULL, FUSE_PATH, FUSE_IFACE, "Discard", NULL, NULL,
                          G_DBUS_CALL_FLAGS_NONE, FUSE_CALL_TIMEOUT_MS, NULL, on_plain_reply,
                          delta_op_new (sb, NULL, done, data));
}

/* ---- exec end ---- */

typedef struct {
  GCallback done;
  gpointer data;
} ExecEnd;

/* Whether the delta holds nothing to commit. Every pending change — a
 * written file, a whiteout, an opaque directory, a file kept back by a
 * conflict — is an entry of upper/ (docs/filesystem.md), and a commit
 * empties it; so an empty upper/ saves the command a Commit round trip.
 * The command's processes are all gone by now (its cgroup is empty), so
 * nothing of it is still writing. Any doubt (unreadable) answers FALSE. */
static gboolean
delta_is_clean (AfdSandbox *sb)
{
  g_autofree char *delta = afd_sandbox_dir (sb->owner, sb->row->id, "delta");
  g_autofree char *upper = g_build_filename (delta, "upper", NULL);
  int fd = open (upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  /* getdents64 itself, not opendir/readdir: after every command, so the
   * fstat and fcntls of fdopendir and its heap buffer are saved (open, two
   * getdents64 and close for an empty directory). */
  union {
    struct dirent64 d;
    char bytes[1024];
  } buf;
  gboolean clean = TRUE;
  for (;;) {
    ssize_t n = getdents64 (fd, buf.bytes, sizeof buf);
    if (n <= 0) {
      clean = clean && n == 0;
      break;
    }
    for (ssize_t off = 0; off < n && clean;) {
      const struct dirent64 *e = (const struct dirent64 *)(buf.bytes + off);
      clean = g_str_equal (e->d_name, ".") || g_str_equal (e->d_name, "..");
      off += e->d_reclen;
    }
    if (!clean)
      break;
  }
  close (fd);
  return clean;
}

static void
on_exec_commit (GVariant *changes, const GError *error, gpointer data)
{
  ExecEnd *e = data;
  ((void (*) (gpointer))e->done) (e->data);
  g_free (e);
}

void
afd_sandbox_exec_end (AfdSandbox *sb, const AfdCaller *caller, const AfdExecRecord *rec,
                      GCallback done, gpointer data)
{
  if (sb->n_execs > 0)
    sb->n_execs--;
  /* @rec and @caller belong to @data: what the event needs is copied
   * before @done may free them. */
  g_autofree char *detail = NULL, *actor = NULL, *session_id = NULL;
  g_autoptr (AfdSandbox) keep = afd_sandbox_ref (sb);
  const char *what = rec->what; /* a static string */
  if (sb->owner) {
    /* The command last: it may hold spaces and '=' (kept to 1 KiB). */
    detail = g_strdup_printf ("exit=%d duration_ms=%.3f result=%s command=%.1024s", rec->exit_code,
                              (double)rec->duration_us / 1000.0, rec->result,
                              rec->command ? rec->command : "");
    actor = afd_sandboxes_actor (caller);
    session_id = g_strdup (rec->session_id);
  }
  if (sb->row->commit_mode != AFD_COMMIT_AFTER_EACH || sb->helpers == NULL || delta_is_clean (sb)) {
    /* Nothing to commit: the history row, then the answer — a client
     * that saw the result finds the command in the history, whatever
     * happens to the server next. */
    if (sb->owner)
      afd_db_defer_event (sb->owner->db, actor, what, sb->row->codebase_id, sb->row->id, session_id,
                          detail);
    ((void (*) (gpointer))done) (data);
    return;
  }
  if (sb->owner)
    afd_db_defer_event (sb->owner->db, actor, what, sb->row->codebase_id, sb->row->id, session_id,
                        detail);
  ExecEnd *e = g_new0 (ExecEnd, 1);
  e->done = done;
  e->data = data;
  afd_sandbox_commit (sb, caller, on_exec_commit, e);
}

/* ---- rules ---- */

typedef struct {
  AfdSandbox *sb;
  AfdSandboxDone done;
  gpointer data;
} RulesOp;

static void
on_rules_reply (GObject *source, GAsyncResult *res, gpointer data)
{
  RulesOp *op = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) v = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  if (error)
    g_dbus_error_strip_remote_error (error);
  g_autoptr (AfdSandboxRow) row = error ? NULL : afd_sandbox_row_copy (op->sb->row);
  op->done (row, error, op->data);
  afd_sandbox_unref (op->sb);
  g_free (op);
}

void
afd_sandboxes_update_rules (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                            const AfRule *rules, gsize n_rules, AfdSandboxDone done, gpointer data)
{
  g_autoptr (GError) error = NULL;
  AfdSandbox *sb = afd_sandboxes_find_for (self, caller, id, &error);
  if (sb == NULL || !afd_rules_validate (rules, n_rules, &error)) {
    done (NULL, error, data);
    return;
  }
  g_autoptr (GArray) arr = g_array_new (FALSE, TRUE, sizeof (AfRule));
  g_array_append_vals (arr, rules, (guint)n_rules);
  g_autofree char *actor = afd_caller_actor (caller);
  g_autofree char *detail = g_strdup_printf ("rules=%zu", n_rules);
  if (!afd_db_begin_light (self->db, &error) ||
      !afd_rows_sandbox_replace_rules (self->db, id, arr, &error) ||
      !afd_rows_event_append (self->db, actor, "sandbox.rules", sb->row->codebase_id, id, detail,
                              &error) ||
      !afd_db_commit (self->db, &error)) {
    afd_db_rollback (self->db);
    done (NULL, error, data);
    return;
  }
  g_array_set_size (sb->row->rules, 0);
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(sssi)"));
  for (gsize i = 0; i < n_rules; i++) {
    AfRule r = rules[i];
    r.pattern = g_strdup (r.pattern);
    g_array_append_val (sb->row->rules, r);
    g_variant_builder_add (&b, "(sssi)", r.pattern, af_pattern_type_to_string (r.type),
                           af_level_to_string (r.level), r.priority);
  }
  GVariant *params = g_variant_new ("(a(sssi))", &b);
  if (sb->helpers == NULL) {
    g_variant_unref (g_variant_ref_sink (params));
    g_autoptr (AfdSandboxRow) row = afd_sandbox_row_copy (sb->row);
    done (row, NULL, data);
    return;
  }
  RulesOp *op = g_new0 (RulesOp, 1);
  op->sb = afd_sandbox_ref (sb);
  op->done = done;
  op->data = data;
  g_dbus_connection_call (afd_helpers_get_fuse (sb->helpers), NULL, FUSE_PATH, FUSE_IFACE,
                          "UpdateRules", params, NULL, G_DBUS_CALL_FLAGS_NONE, FUSE_CALL_TIMEOUT_MS,
                          NULL, on_rules_reply, op);
}
