/* afd-sandboxes.c — sandbox validation, lookup and lifecycle (see
 * afd-sandboxes.h). Commits and rules: afd-sandbox-delta.c; sessions:
 * afd-sessions.c; recovery and expiry: afd-sandbox-recovery.c. */
#include "afd-sandboxes-private.h"
#include "afd-events.h"

#include "af-build-config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_LABELS 64
#define MAX_LABEL_KEY 63
#define MAX_LABEL_VALUE 255
#define MIN_MEMORY (4LL << 20)

typedef struct {
  guint64 id;
  AfdStreamFinished func;
  gpointer data;
} StreamWatch;

char *
afd_sandboxes_actor (const AfdCaller *caller)
{
  if (caller == NULL || (!caller->is_unix && caller->address == NULL))
    return g_strdup ("server");
  return afd_caller_actor (caller);
}

const AfdSettings *
afd_sandboxes_get_settings (AfdSandboxes *self)
{
  return self->settings;
}

static char *
find_helper (const char *configured, const char *name)
{
  if (configured && configured[0])
    return g_strdup (configured);
  /* Installed, the helpers sit beside the server in AF_LIBEXECDIR. */
  g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", NULL);
  if (self_exe) {
    g_autofree char *dir = g_path_get_dirname (self_exe);
    g_autofree char *beside = g_build_filename (dir, name, NULL);
    if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
      return g_steal_pointer (&beside);
  }
  /* A server run from its build tree uses that tree's helpers
   * (<build>/<name>/<name>), never an installed copy of another version. */
  g_autofree char *built = g_build_filename (AF_BUILD_ROOT, name, name, NULL);
  g_autofree char *build_prefix = g_strconcat (AF_BUILD_ROOT, "/", NULL);
  if (self_exe && g_str_has_prefix (self_exe, build_prefix) &&
      g_file_test (built, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&built);
  return g_build_filename (AF_LIBEXECDIR, name, NULL);
}

static void
sandbox_free_live (gpointer p)
{
  AfdSandbox *sb = p;
  sb->owner = NULL;
  afd_sandbox_unref (sb);
}

AfdSandboxes *
afd_sandboxes_new (AfdCodebases *codebases, AfdStore *store, const AfdSettings *settings)
{
  AfdSandboxes *self = g_new0 (AfdSandboxes, 1);
  self->codebases = codebases;
  self->db = afd_codebases_get_db (codebases);
  self->store = store;
  self->settings = settings;
  self->fuse_path = find_helper (settings->fuse_helper, "af-fuse");
  self->exec_path = find_helper (settings->exec_helper, "af-exec");
  /* Said once at start-up: without root there may be no cgroup to write. */
  afd_limits_probe (&self->limits, self->exec_path);
  g_autofree char *can = afd_limits_describe (&self->limits);
  g_message ("sandbox resource limits enforceable (bwrap runtime): %s", can);
  /* Sandboxes run as unprivileged uids that must reach their mount point
   * <state>/mounts/<id>: others may traverse the state dir and mounts/, not
   * list them (codebases/, delta/ and the database stay 0700/0600). */
  g_autofree char *mounts = g_build_filename (settings->state_dir, "mounts", NULL);
  g_mkdir_with_parents (mounts, 0711);
  g_chmod (settings->state_dir, 0711);
  g_chmod (mounts, 0711);
  self->live = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, sandbox_free_live);
  self->retention = afd_event_retention_new (self->db, settings);
  self->running = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return self;
}

void
afd_sandboxes_free (AfdSandboxes *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->expiry_source, g_source_remove);
  g_clear_pointer (&self->retention, afd_event_retention_free);
  g_hash_table_destroy (self->live);
  g_hash_table_destroy (self->running);
  g_free (self->fuse_path);
  g_free (self->exec_path);
  g_free (self);
}

AfdSandbox *
afd_sandbox_ref (AfdSandbox *sb)
{
  g_atomic_int_inc (&sb->refs);
  return sb;
}

void
afd_sandbox_unref (AfdSandbox *sb)
{
  if (sb == NULL || !g_atomic_int_dec_and_test (&sb->refs))
    return;
  afd_sandbox_row_free (sb->row);
  g_hash_table_destroy (sb->streams);
  g_free (sb);
}

char *
afd_sandbox_dir (AfdSandboxes *self, const char *id, const char *kind)
{
  return g_build_filename (self->settings->state_dir, kind, id, NULL);
}

AfdSandbox *
afd_sandboxes_find (AfdSandboxes *self, const char *id, GError **error)
{
  if (!af_id_validate (AF_ID_SANDBOX, id, "sandbox_id", error))
    return NULL;
  AfdSandbox *sb = g_hash_table_lookup (self->live, id);
  if (sb)
    return sb;
  AfdSandboxRow *row = afd_rows_sandbox_get (self->db, id, error);
  if (row == NULL)
    return NULL;
  sb = g_new0 (AfdSandbox, 1);
  sb->refs = 1;
  sb->owner = self;
  sb->row = row;
  sb->streams = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  g_hash_table_insert (self->live, g_strdup (id), sb);
  return sb;
}

AfdSandbox *
afd_sandboxes_find_for (AfdSandboxes *self, const AfdCaller *caller, const char *id, GError **error)
{
  if (id == NULL || id[0] == '\0') {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "sandbox_id is required");
    return NULL;
  }
  AfdSandbox *sb = afd_sandboxes_find (self, id, error);
  if (sb == NULL)
    return NULL;
  /* Whoever may use the codebase may use its sandboxes. */
  if (sb->cb_owner_known) {
    AfdCodebase owner = { .id = sb->row->codebase_id,
                          .has_owner_uid = sb->cb_has_owner_uid,
                          .owner_uid = sb->cb_owner_uid };
    return afd_caller_check_codebase (caller, &owner, error) ? sb : NULL;
  }
  g_autoptr (AfdCodebase) cb =
      afd_codebases_get (self->codebases, caller, sb->row->codebase_id, error);
  if (cb != NULL) {
    sb->cb_owner_known = TRUE;
    sb->cb_has_owner_uid = cb->has_owner_uid;
    sb->cb_owner_uid = cb->owner_uid;
  }
  if (cb == NULL) {
    if (g_error_matches (*error, AF_ERROR, AF_ERROR_NOT_FOUND)) {
      g_clear_error (error);
      g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "no sandbox %s", id);
    }
    return NULL;
  }
  return sb;
}

void
afd_sandboxes_event (AfdSandboxes *self, const AfdCaller *caller, const char *action,
                     const char *sandbox_id, const char *session_id, const char *detail)
{
  g_autofree char *actor = afd_sandboxes_actor (caller);
  afd_sandboxes_event_as (self, actor, action, sandbox_id, session_id, detail);
}

void
afd_sandboxes_event_as (AfdSandboxes *self, const char *actor, const char *action,
                        const char *sandbox_id, const char *session_id, const char *detail)
{
  g_autoptr (GError) error = NULL;
  AfdSandbox *sb = g_hash_table_lookup (self->live, sandbox_id);
  if (!afd_db_light (self->db, &error) ||
      !afd_rows_event_append_session (self->db, actor, action, sb ? sb->row->codebase_id : NULL,
                                      sandbox_id, session_id, detail, &error))
    g_warning ("event %s of %s not recorded: %s", action, sandbox_id, error->message);
}

gboolean
afd_sandboxes_save_state (AfdSandboxes *self, AfdSandbox *sb, const char *actor, const char *action,
                          const char *detail, GError **error)
{
  if (!afd_db_begin_light (self->db, error))
    return FALSE;
  if (!afd_rows_sandbox_update_state (self->db, sb->row, error) ||
      (sb->row->status != AFD_SB_RUNNING &&
       !afd_rows_session_close (self->db, sb->row->id, NULL, afd_db_now_us (), error)) ||
      !afd_rows_event_append (self->db, actor, action, sb->row->codebase_id, sb->row->id, detail,
                              error) ||
      !afd_db_commit (self->db, error)) {
    afd_db_rollback (self->db);
    return FALSE;
  }
  if (sb->row->status != AFD_SB_RUNNING)
    sb->n_sessions = 0;
  return TRUE;
}

gboolean
afd_rules_validate (const AfRule *rules, gsize n, GError **error)
{
  g_autoptr (AfPolicy) policy = af_policy_new (rules, n, error);
  if (policy == NULL) {
    g_prefix_error (error, "permissions: ");
    if (*error)
      (*error)->code = AF_ERROR_INVALID_ARGUMENT;
    return FALSE;
  }
  return TRUE;
}

static void
json_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_printf (out, "\\%c", *p);
    else if (*p < 0x20)
      g_string_append_printf (out, "\\u%04x", *p);
    else
      g_string_append_c (out, (char)*p);
  }
  g_string_append_c (out, '"');
}

char *
afd_rules_to_json (const GArray *rules)
{
  GString *out = g_string_new ("[");
  for (guint i = 0; i < rules->len; i++) {
    const AfRule *r = &g_array_index (rules, AfRule, i);
    g_string_append (out, i ? ",\n {\"pattern\": " : "\n {\"pattern\": ");
    json_string (out, r->pattern);
    g_string_append_printf (out, ", \"type\": \"%s\", \"permission\": \"%s\", \"priority\": %d}",
                            af_pattern_type_to_string (r->type), af_level_to_string (r->level),
                            r->priority);
  }
  g_string_append (out, "\n]\n");
  return g_string_free (out, FALSE);
}

static gboolean
validate_labels (GVariant *labels, GError **error)
{
  if (labels == NULL)
    return TRUE;
  gsize n = g_variant_n_children (labels);
  if (n > MAX_LABELS) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "labels: %zu labels, at most %d", n,
                 MAX_LABELS);
    return FALSE;
  }
  GVariantIter iter;
  const char *k, *v;
  g_variant_iter_init (&iter, labels);
  while (g_variant_iter_next (&iter, "{&s&s}", &k, &v)) {
    if (k[0] == '\0' || strlen (k) > MAX_LABEL_KEY) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "labels: key '%.80s' must be 1 to %d bytes", k, MAX_LABEL_KEY);
      return FALSE;
    }
    if (strlen (v) > MAX_LABEL_VALUE) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "labels: value of '%s' is longer than %d bytes", k, MAX_LABEL_VALUE);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
check_range (const char *what, gint64 v, gint64 min, gint64 max, GError **error)
{
  if (v == 0 || (v >= min && v <= max))
    return TRUE;
  g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
               "resources.%s: %" G_GINT64_FORMAT
               " is out of range (0 for none, or %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT ")",
               what, v, min, max);
  return FALSE;
}

AfdSandboxRow *
afd_sandboxes_create (AfdSandboxes *self, const AfdCaller *caller, const AfdSandboxCreate *req,
                      GError **error)
{
  if (req->codebase_id == NULL || req->codebase_id[0] == '\0') {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "codebase_id is required");
    return NULL;
  }
  g_autoptr (AfdCodebase) cb = afd_codebases_get (self->codebases, caller, req->codebase_id, error);
  if (cb == NULL)
    return NULL;
  if (!afd_rules_validate (req->rules, req->n_rules, error))
    return NULL;
  if (req->runtime < 0 || req->runtime > AFD_RUNTIME_DOCKER) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "runtime: unknown value %d",
                 req->runtime);
    return NULL;
  }
  int runtime = req->runtime ? req->runtime : AFD_RUNTIME_BWRAP;
  const char *image = req->image ? req->image : "";
  if (runtime == AFD_RUNTIME_DOCKER && image[0] == '\0')
    image = self->settings->default_image;
  if (runtime == AFD_RUNTIME_DOCKER && image[0] == '\0') {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "image is required for the docker runtime (no default is configured)");
    return NULL;
  }
  if (strlen (image) > 255) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "image: longer than 255 bytes");
    return NULL;
  }
  if (!check_range ("memory_bytes", req->memory_bytes, MIN_MEMORY, 1LL << 40, error) ||
      !check_range ("cpu_quota", req->cpu_quota, 1000, 100000000, error) ||
      !check_range ("cpu_shares", req->cpu_shares, 2, 262144, error) ||
      !check_range ("pids_limit", req->pids_limit, 8, 4194304, error) ||
      !validate_labels (req->labels, error))
    return NULL;
  if (runtime == AFD_RUNTIME_BWRAP &&
      !afd_limits_check (&self->limits, req->memory_bytes, req->cpu_quota, req->cpu_shares,
                         req->pids_limit, error))
    return NULL;
  if (req->expires_in_us < 0) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "expires_in must not be negative");
    return NULL;
  }
  if (req->commit_mode < 0 || req->commit_mode > AFD_COMMIT_MANUAL || req->conflict_policy < 0 ||
      req->conflict_policy > AFD_CONFLICT_REJECT) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "commit_mode or conflict_policy: unknown value");
    return NULL;
  }

  g_autoptr (AfdSandboxRow) row = afd_sandbox_row_new ();
  row->id = af_id_new (AF_ID_SANDBOX);
  row->codebase_id = g_strdup (cb->id);
  row->owner = afd_caller_is_scoped (caller) ? g_strdup_printf ("uid:%u", (guint)caller->uid)
                                             : g_strdup_printf ("owner:%s", cb->owner_id);
  row->status = AFD_SB_PENDING;
  row->error = g_strdup ("");
  row->labels = req->labels ? g_variant_print (req->labels, TRUE) : g_strdup ("@a{ss} {}");
  row->runtime = runtime;
  row->image = g_strdup (image);
  row->memory_bytes = req->memory_bytes;
  row->cpu_quota = req->cpu_quota;
  row->cpu_shares = req->cpu_shares;
  row->pids_limit = req->pids_limit;
  row->commit_mode = req->commit_mode ? req->commit_mode : AFD_COMMIT_AFTER_EACH;
  row->conflict_policy = req->conflict_policy ? req->conflict_policy : AFD_CONFLICT_LWW;
  row->created_us = afd_db_now_us ();
  row->expires_us = req->expires_in_us ? row->created_us + req->expires_in_us : 0;
  for (gsize i = 0; i < req->n_rules; i++) {
    AfRule r = req->rules[i];
    r.pattern = g_strdup (r.pattern);
    g_array_append_val (row->rules, r);
  }
  g_autofree char *actor = afd_caller_actor (caller);
  g_autofree char *detail = g_strdup_printf ("rules=%u runtime=%s", row->rules->len,
                                             runtime == AFD_RUNTIME_DOCKER ? "docker" : "bwrap");
  if (!afd_db_begin_light (self->db, error))
    return NULL;
  if (!afd_rows_sandbox_insert (self->db, row, error) ||
      !afd_rows_event_append (self->db, actor, "sandbox.create", cb->id, row->id, detail, error) ||
      !afd_db_commit (self->db, error)) {
    afd_db_rollback (self->db);
    return NULL;
  }
  /* Known to the server from now on (expiry looks at the live table). */
  g_autoptr (GError) local = NULL;
  afd_sandboxes_find (self, row->id, &local);
  afd_sandboxes_schedule_expiry (self);
  return g_steal_pointer (&row);
}

AfdSandboxRow *
afd_sandboxes_get (AfdSandboxes *self, const AfdCaller *caller, const char *id, GError **error)
{
  AfdSandbox *sb = afd_sandboxes_find_for (self, caller, id, error);
  return sb ? afd_sandbox_row_copy (sb->row) : NULL;
}

GPtrArray *
afd_sandboxes_list (AfdSandboxes *self, const AfdCaller *caller, const char *codebase_id,
                    int page_size, const char *page_token, char **out_next_token, GError **error)
{
  if (page_size < 0) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "page_size must not be negative");
    return NULL;
  }
  int limit = page_size == 0 ? 50 : MIN (page_size, 1000);
  gint64 after_us = -1;
  g_autofree char *after_id = NULL;
  if (page_token && page_token[0]) {
    /* "<created_us>:<id>", as for codebases: opaque to clients. */
    const char *colon = strchr (page_token, ':');
    char *end = NULL;
    after_us = colon ? g_ascii_strtoll (page_token, &end, 10) : -1;
    if (colon == NULL || end != colon || !af_id_is_valid (AF_ID_SANDBOX, colon + 1)) {
      g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "page_token is not valid");
      return NULL;
    }
    after_id = g_strdup (colon + 1);
  }
  const char *filter = codebase_id && codebase_id[0] ? codebase_id : NULL;
  if (filter && !af_id_validate (AF_ID_CODEBASE, filter, "codebase_id", error))
    return NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)afd_sandbox_row_free);
  /* Read pages until @limit visible rows: rows of codebases the caller may
   * not see are skipped. */
  while ((int)out->len < limit) {
    g_autoptr (GPtrArray) rows =
        afd_rows_sandbox_list (self->db, filter, after_us, after_id, limit + 1, error);
    if (rows == NULL)
      return NULL;
    for (guint i = 0; i < rows->len && (int)out->len < limit + 1; i++) {
      AfdSandboxRow *r = g_ptr_array_index (rows, i);
      after_us = r->created_us;
      g_free (after_id);
      after_id = g_strdup (r->id);
      g_autoptr (GError) local = NULL;
      g_autoptr (AfdCodebase) cb =
          afd_codebases_get (self->codebases, caller, r->codebase_id, &local);
      if (cb == NULL)
        continue;
      AfdSandbox *live = g_hash_table_lookup (self->live, r->id);
      g_ptr_array_add (out, live ? afd_sandbox_row_copy (live->row) : afd_sandbox_row_copy (r));
    }
    if ((int)rows->len <= limit)
      break;
  }
  *out_next_token = g_strdup ("");
  if ((int)out->len > limit) {
    g_ptr_array_set_size (out, (guint)limit);
    AfdSandboxRow *last = g_ptr_array_index (out, out->len - 1);
    g_free (*out_next_token);
    *out_next_token = g_strdup_printf ("%" G_GINT64_FORMAT ":%s", last->created_us, last->id);
  }
  return g_steal_pointer (&out);
}

/* ---- streams ---- */

static void
on_exec_finished (GDBusConnection *c, const char *sender, const char *path, const char *iface,
                  const char *name, GVariant *params, gpointer data)
{
  AfdSandbox *sb = data;
  guint64 id = 0;
  g_autoptr (GVariant) result = NULL;
  const char *ename = NULL, *emsg = NULL;
  if (!g_variant_is_of_type (params, G_VARIANT_TYPE ("(ta{sv}ss)")))
    return;
  g_variant_get (params, "(t@a{sv}&s&s)", &id, &result, &ename, &emsg);
  StreamWatch *w = g_hash_table_lookup (sb->streams, &id);
  if (w == NULL)
    return;
  AfdStreamFinished func = w->func;
  gpointer fdata = w->data;
  g_hash_table_remove (sb->streams, &id);
  func (result, ename, emsg, fdata);
}

void
afd_sandbox_watch_stream (AfdSandbox *sb, guint64 exec_id, AfdStreamFinished func, gpointer data)
{
  StreamWatch *w = g_new0 (StreamWatch, 1);
  w->id = exec_id;
  w->func = func;
  w->data = data;
  g_hash_table_replace (sb->streams, &w->id, w);
}

void
afd_sandbox_unwatch_stream (AfdSandbox *sb, guint64 exec_id)
{
  g_hash_table_remove (sb->streams, &exec_id);
}

/* Every watched stream ends with an error (the helpers are gone). */
static void
fail_streams (AfdSandbox *sb, const char *reason)
{
  GHashTableIter it;
  gpointer v;
  g_autoptr (GPtrArray) ws = g_ptr_array_new_with_free_func (g_free);
  g_hash_table_iter_init (&it, sb->streams);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    g_ptr_array_add (ws, v);
    g_hash_table_iter_steal (&it);
  }
  for (guint i = 0; i < ws->len; i++) {
    StreamWatch *w = g_ptr_array_index (ws, i);
    w->func (NULL, "org.agentfense.Error.Unavailable", reason, w->data);
  }
}

GDBusConnection *
afd_sandbox_exec_conn (AfdSandbox *sb, GError **error)
{
  if (sb->row->status != AFD_SB_RUNNING || sb->helpers == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "sandbox %s is not running",
                 sb->row->id);
    return NULL;
  }
  return afd_helpers_get_exec (sb->helpers);
}

AfdSandbox *
afd_sandboxes_lookup_running (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                              GError **error)
{
  AfdSandbox *sb = afd_sandboxes_find_for (self, caller, id, error);
  if (sb == NULL || afd_sandbox_exec_conn (sb, error) == NULL)
    return NULL;
  return afd_sandbox_ref (sb);
}

gboolean
afd_sandbox_exec_begin (AfdSandbox *sb, GError **error)
{
  const AfdSettings *s = sb->owner->settings;
  if (sb->n_execs >= (guint)s->max_execs) {
    g_set_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
                 "limit sandbox.max_execs reached: %u commands are already running in %s",
                 sb->n_execs, sb->row->id);
    return FALSE;
  }
  sb->n_execs++;
  return TRUE;
}

/* ---- lifecycle ---- */

typedef struct {
  AfdSandbox *sb;
  char *actor;
  AfdSandboxDone done;
  gpointer data;
  gboolean destroy_after;
} Op;

static Op *
op_new (AfdSandbox *sb, const AfdCaller *caller, AfdSandboxDone done, gpointer data)
{
  Op *op = g_new0 (Op, 1);
  op->sb = afd_sandbox_ref (sb);
  op->actor = afd_sandboxes_actor (caller);
  op->done = done;
  op->data = data;
  return op;
}

static void
op_finish (Op *op, const GError *error)
{
  if (op->done) {
    g_autoptr (AfdSandboxRow) row = error ? NULL : afd_sandbox_row_copy (op->sb->row);
    op->done (row, error, op->data);
  }
  afd_sandbox_unref (op->sb);
  g_free (op->actor);
  g_free (op);
}

static void
running_adjust (AfdSandboxes *self, const char *owner, int delta)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->running, owner));
  n = (guint)((int)n + delta);
  if (n == 0)
    g_hash_table_remove (self->running, owner);
  else
    g_hash_table_replace (self->running, g_strdup (owner), GUINT_TO_POINTER (n));
}

/* RUNNING → not running: the bookkeeping every way out shares. */
static void
leave_running (AfdSandbox *sb)
{
  AfdSandboxes *self = sb->owner;
  if (sb->finished_sub && sb->helpers)
    g_dbus_connection_signal_unsubscribe (afd_helpers_get_exec (sb->helpers), sb->finished_sub);
  sb->finished_sub = 0;
  sb->helpers = NULL;
  if (self) {
    running_adjust (self, sb->row->owner, -1);
    afd_codebases_unpin (self->codebases, sb->row->codebase_id);
  }
}

static void
on_helpers_released (gpointer data)
{
}

static void
on_died (AfdHelpers *helpers, const char *reason, gpointer data)
{
  AfdSandbox *sb = data;
  if (sb->helpers != helpers)
    return;
  leave_running (sb);
  sb->row->status = AFD_SB_ERROR;
  g_free (sb->row->error);
  sb->row->error = g_strdup (reason);
  sb->row->stopped_us = afd_db_now_us ();
  sb->row->fuse_pid = sb->row->exec_pid = 0;
  g_autoptr (GError) error = NULL;
  if (sb->owner &&
      !afd_sandboxes_save_state (sb->owner, sb, "server", "sandbox.error", reason, &error))
    g_warning ("sandbox %s: %s", sb->row->id, error->message);
  fail_streams (sb, reason);
  /* Drop the owner's reference once the other helper and the mount are gone. */
  afd_helpers_stop (helpers, G_CALLBACK (on_helpers_released), NULL);
  afd_sandbox_unref (sb); /* the helpers' reference */
}

static void
on_started (GObject *source, GAsyncResult *res, gpointer data)
{
  Op *op = data;
  AfdSandbox *sb = op->sb;
  AfdSandboxes *self = sb->owner;
  g_autoptr (GError) error = NULL;
  AfdHelpers *helpers = afd_helpers_start_finish (res, &error);
  sb->transition = FALSE;
  if (self == NULL) { /* destroyed meanwhile: cannot happen (transition guards) */
    if (helpers)
      afd_helpers_stop (helpers, G_CALLBACK (on_helpers_released), NULL);
    op_finish (op, error);
    return;
  }
  if (helpers == NULL) {
    running_adjust (self, sb->row->owner, -1);
    afd_codebases_unpin (self->codebases, sb->row->codebase_id);
    afd_sandbox_unref (sb); /* the helpers' reference, never used */
    sb->row->status = AFD_SB_ERROR;
    g_free (sb->row->error);
    sb->row->error = g_strdup (error->message);
    sb->row->stopped_us = afd_db_now_us ();
    g_autoptr (GError) save = NULL;
    if (!afd_sandboxes_save_state (self, sb, op->actor, "sandbox.error", error->message, &save))
      g_warning ("sandbox %s: %s", sb->row->id, save->message);
    g_prefix_error (&error, "sandbox %s failed to start: ", sb->row->id);
    op_finish (op, error);
    return;
  }
  sb->helpers = helpers;
  sb->row->status = AFD_SB_RUNNING;
  g_free (sb->row->error);
  sb->row->error = g_strdup ("");
  sb->row->started_us = afd_db_now_us ();
  sb->row->stopped_us = 0;
  sb->row->fuse_pid = afd_helpers_get_fuse_pid (helpers);
  sb->row->exec_pid = afd_helpers_get_exec_pid (helpers);
  sb->finished_sub = g_dbus_connection_signal_subscribe (
      afd_helpers_get_exec (helpers), NULL, "org.agentfense.Exec1", "ExecFinished",
      "/org/agentfense/Exec1", NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_exec_finished, sb, NULL);
  g_autofree char *detail =
      g_strdup_printf ("af-fuse pid %" G_GINT64_FORMAT ", af-exec pid %" G_GINT64_FORMAT,
                       sb->row->fuse_pid, sb->row->exec_pid);
  if (!afd_sandboxes_save_state (self, sb, op->actor, "sandbox.start", detail, &error))
    g_warning ("sandbox %s: %s", sb->row->id, error->message);
  op_finish (op, NULL);
}

void
afd_sandboxes_start (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                     AfdSandboxDone done, gpointer data)
{
  g_autoptr (GError) error = NULL;
  AfdSandbox *sb = afd_sandboxes_find_for (self, caller, id, &error);
  if (sb == NULL) {
    done (NULL, error, data);
    return;
  }
  if (sb->transition || sb->row->status == AFD_SB_RUNNING) {
    g_set_error (&error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "sandbox %s is already %s", id,
                 sb->transition ? "starting or stopping" : "running");
    done (NULL, error, data);
    return;
  }
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->running, sb->row->owner));
  if (n >= (guint)self->settings->max_running_per_owner) {
    g_set_error (&error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
                 "limit sandbox.max_running_per_owner reached: %s already has %u running "
                 "sandboxes",
                 sb->row->owner, n);
    done (NULL, error, data);
    return;
  }
  running_adjust (self, sb->row->owner, +1);
  afd_codebases_pin (self->codebases, sb->row->codebase_id);
  sb->transition = TRUE;

  g_autofree char *dir = afd_sandbox_dir (self, id, "sandboxes");
  g_autofree char *mnt = afd_sandbox_dir (self, id, "mounts");
  g_autofree char *delta = afd_sandbox_dir (self, id, "delta");
  g_autofree char *src =
      g_build_filename (self->settings->state_dir, "codebases", sb->row->codebase_id, NULL);
  g_autofree char *rules = afd_rules_to_json (sb->row->rules);
  AfdHelpersSpec spec = {
    .sandbox_id = id,
    .fuse_path = self->fuse_path,
    .exec_path = self->exec_path,
    .source_dir = src,
    .sandbox_dir = dir,
    .mountpoint = mnt,
    .delta_dir = delta,
    .rules_json = rules,
    .conflict_reject = sb->row->conflict_policy == AFD_CONFLICT_REJECT,
    .docker = sb->row->runtime == AFD_RUNTIME_DOCKER,
    .image = sb->row->image,
    .memory_bytes = sb->row->memory_bytes,
    .cpu_quota = sb->row->cpu_quota,
    .cpu_shares = sb->row->cpu_shares,
    .pids_limit = sb->row->pids_limit,
    .timeout_ms = (guint)self->settings->start_timeout_ms,
  };
  afd_helpers_start_async (&spec, on_died, afd_sandbox_ref (sb), on_started,
                           op_new (sb, caller, done, data));
}

static void remove_sandbox (Op *op);

static void
on_stopped (gpointer data)
{
  Op *op = data;
  AfdSandbox *sb = op->sb;
  sb->transition = FALSE;
  sb->row->status = AFD_SB_STOPPED;
  sb->row->stopped_us = afd_db_now_us ();
  sb->row->fuse_pid = sb->row->exec_pid = 0;
  g_autoptr (GError) error = NULL;
  if (sb->owner && !afd_sandboxes_save_state (sb->owner, sb, op->actor, "sandbox.stop", "", &error))
    g_warning ("sandbox %s: %s", sb->row->id, error->message);
  fail_streams (sb, "the sandbox was stopped");
  afd_sandbox_unref (sb); /* the helpers' reference */
  if (op->destroy_after)
    remove_sandbox (op);
  else
    op_finish (op, NULL);
}

static void
stop_helpers (Op *op)
{
  AfdSandbox *sb = op->sb;
  AfdHelpers *helpers = sb->helpers;
  leave_running (sb);
  afd_helpers_stop (helpers, G_CALLBACK (on_stopped), op);
}

static void
on_stop_commit (GVariant *changes, const GError *error, gpointer data)
{
  Op *op = data;
  if (error)
    af_sb_warning (op->sb->row->id, "commit before stop failed: %s", error->message);
  if (op->sb->helpers == NULL) {
    /* A helper died while committing: on_died already took it down. */
    op->sb->transition = FALSE;
    if (op->destroy_after)
      remove_sandbox (op);
    else
      op_finish (op, NULL);
    return;
  }
  stop_helpers (op);
}

static void
begin_stop (Op *op)
{
  AfdSandbox *sb = op->sb;
  sb->transition = TRUE;
  /* After-each-command sandboxes have nothing pending unless a command
   * is still running; commit that too. Manual ones keep their delta. */
  if (sb->row->commit_mode == AFD_COMMIT_AFTER_EACH) {
    AfdCaller server = { 0 };
    afd_sandbox_commit (sb, &server, on_stop_commit, op);
  } else {
    stop_helpers (op);
  }
}

void
afd_sandboxes_stop (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                    AfdSandboxDone done, gpointer data)
{
  g_autoptr (GError) error = NULL;
  AfdSandbox *sb = afd_sandboxes_find_for (self, caller, id, &error);
  if (sb == NULL) {
    done (NULL, error, data);
    return;
  }
  if (sb->transition || sb->row->status != AFD_SB_RUNNING) {
    g_set_error (&error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "sandbox %s is not running (%s)",
                 id, sb->transition ? "starting or stopping" : "stopped");
    done (NULL, error, data);
    return;
  }
  begin_stop (op_new (sb, caller, done, data));
}

static void
remove_dir (AfdSandboxes *self, const char *kind, const char *id)
{
  g_autofree char *parent = g_build_filename (self->settings->state_dir, kind, NULL);
  int fd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return;
  g_autoptr (GError) error = NULL;
  if (!afd_store_remove_tree_at (fd, id, &error) &&
      !g_error_matches (error, AF_ERROR, AF_ERROR_NOT_FOUND))
    g_warning ("removing %s/%s: %s", parent, id, error->message);
  close (fd);
}

static void
remove_sandbox (Op *op)
{
  AfdSandbox *sb = op->sb;
  AfdSandboxes *self = sb->owner;
  g_autoptr (GError) error = NULL;
  g_autofree char *mnt = afd_sandbox_dir (self, sb->row->id, "mounts");
  afd_force_unmount (mnt);
  if (!afd_db_begin_light (self->db, &error) ||
      !afd_rows_sandbox_delete (self->db, sb->row->id, &error) ||
      !afd_rows_event_append (self->db, op->actor, "sandbox.destroy", sb->row->codebase_id,
                              sb->row->id, "", &error) ||
      !afd_db_commit (self->db, &error)) {
    afd_db_rollback (self->db);
    sb->transition = FALSE;
    op_finish (op, error);
    return;
  }
  remove_dir (self, "delta", sb->row->id);
  remove_dir (self, "sandboxes", sb->row->id);
  g_rmdir (mnt);
  sb->transition = FALSE;
  AfdSandboxDone done = op->done;
  gpointer data = op->data;
  op->done = NULL;
  g_hash_table_remove (self->live, sb->row->id);
  op_finish (op, NULL);
  if (done)
    done (NULL, NULL, data);
}

void
afd_sandboxes_destroy (AfdSandboxes *self, const AfdCaller *caller, const char *id,
                       AfdSandboxDone done, gpointer data)
{
  g_autoptr (GError) error = NULL;
  AfdSandbox *sb = afd_sandboxes_find_for (self, caller, id, &error);
  if (sb == NULL) {
    done (NULL, error, data);
    return;
  }
  if (sb->transition) {
    g_set_error (&error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "sandbox %s is starting or stopping; try again", id);
    done (NULL, error, data);
    return;
  }
  Op *op = op_new (sb, caller, done, data);
  op->destroy_after = TRUE;
  sb->transition = TRUE;
  if (sb->row->status == AFD_SB_RUNNING)
    begin_stop (op);
  else
    remove_sandbox (op);
}
