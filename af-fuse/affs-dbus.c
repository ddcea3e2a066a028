/* affs-dbus.c — org.agentfense.Fuse1 on a peer-to-peer connection.
 *
 * Owns: the method handlers (UpdateRules, Commit, Discard, GetChanges,
 * GetStats, InvalidatePaths, Shutdown) and the rate-limited Denied signal.
 * The connection is authenticated by af_dbus_peer_connect (same uid or
 * root); every call arrives on the main context.
 *
 * Must never: emit a signal from a FUSE thread (denials are queued and
 * emitted on the main context), or block on the kernel with a lock held. */
#include "affs-dbus.h"

#include "af-dbus-peer.h"
#include "af-error.h"
#include "af-path.h"
#include "affs-dbus-generated.h"

/* Denied signals: a burst, then a steady rate; the rest are counted. */
#define AFFS_DENIED_BURST 100.0
#define AFFS_DENIED_PER_SEC 20.0
#define AFFS_DENIED_QUEUE_MAX 1000

typedef struct {
  char *path;
  AffsOp op;
  int rule;
} Denial;

struct _AffsDBus {
  AfFs *fs;
  GDBusConnection *conn;
  AfFuse1 *skeleton;
  GMainContext *context;
  void (*shutdown) (gpointer);
  gpointer shutdown_data;

  GMutex lock; /* guards everything below */
  double tokens;
  gint64 last_refill_us;
  GQueue queue; /* Denial* */
  gboolean emit_scheduled;
  guint64 suppressed;
  guint64 denials;
};

static void
denial_free (gpointer p)
{
  Denial *d = p;
  g_free (d->path);
  g_free (d);
}

static gboolean
emit_denials (gpointer data)
{
  AffsDBus *d = data;
  GQueue q = G_QUEUE_INIT;
  g_mutex_lock (&d->lock);
  q = d->queue;
  g_queue_init (&d->queue);
  d->emit_scheduled = FALSE;
  g_mutex_unlock (&d->lock);
  g_autoptr (AfPolicy) policy = affs_policy_get (d->fs);
  Denial *den;
  while ((den = g_queue_pop_head (&q)) != NULL) {
    const char *pattern = "";
    if (den->rule >= 0 && (gsize)den->rule < af_policy_get_n_rules (policy))
      pattern = af_policy_get_rule (policy, (gsize)den->rule)->pattern;
    g_autofree char *abs = affs_path_abs (den->path);
    af_fuse1_emit_denied (d->skeleton, abs, affs_op_name (den->op), den->rule, pattern);
    denial_free (den);
  }
  return G_SOURCE_REMOVE;
}

/* Called from FUSE threads. */
static void
on_denied (const char *path, AffsOp op, int rule, gpointer data)
{
  AffsDBus *d = data;
  g_mutex_lock (&d->lock);
  d->denials++;
  gint64 now = g_get_monotonic_time ();
  d->tokens = MIN (AFFS_DENIED_BURST,
                   d->tokens + (double)(now - d->last_refill_us) / 1e6 * AFFS_DENIED_PER_SEC);
  d->last_refill_us = now;
  if (d->tokens < 1.0 || d->queue.length >= AFFS_DENIED_QUEUE_MAX) {
    d->suppressed++;
    g_mutex_unlock (&d->lock);
    return;
  }
  d->tokens -= 1.0;
  Denial *den = g_new0 (Denial, 1);
  den->path = g_strdup (path);
  den->op = op;
  den->rule = rule;
  g_queue_push_tail (&d->queue, den);
  gboolean schedule = !d->emit_scheduled;
  d->emit_scheduled = TRUE;
  g_mutex_unlock (&d->lock);
  if (schedule)
    g_main_context_invoke (d->context, emit_denials, d);
}

static void
return_error (GDBusMethodInvocation *inv, GError *error)
{
  g_autoptr (GError) norm = af_error_normalize (error);
  g_dbus_method_invocation_return_gerror (inv, norm);
}

static gboolean
handle_update_rules (AfFuse1 *obj, GDBusMethodInvocation *inv, GVariant *rules, gpointer data)
{
  AffsDBus *d = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) arr = af_rule_array_new ();
  GVariantIter iter;
  const char *pattern, *type, *level;
  gint32 priority;
  if (g_variant_n_children (rules) > AF_POLICY_MAX_RULES) {
    g_set_error (&error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "more than %d rules",
                 AF_POLICY_MAX_RULES);
    return_error (inv, error);
    return TRUE;
  }
  g_variant_iter_init (&iter, rules);
  guint i = 0;
  while (g_variant_iter_next (&iter, "(&s&s&si)", &pattern, &type, &level, &priority)) {
    AfRule r = { 0 };
    if (!af_pattern_type_parse (type, &r.type, &error) ||
        !af_level_parse (level, &r.level, &error)) {
      g_prefix_error (&error, "rule %u: ", i);
      return_error (inv, error);
      return TRUE;
    }
    r.pattern = g_strdup (pattern);
    r.priority = priority;
    g_array_append_val (arr, r);
    i++;
  }
  g_autoptr (AfPolicy) policy =
      af_policy_new ((const AfRule *)(gpointer)arr->data, arr->len, &error);
  if (policy == NULL) {
    return_error (inv, error);
    return TRUE;
  }
  affs_policy_set (d->fs, policy);
  affs_invalidate_all (d->fs);
  af_fuse1_complete_update_rules (obj, inv);
  return TRUE;
}

static const char *const *
strv (GPtrArray *a)
{
  g_ptr_array_add (a, NULL);
  return (const char *const *)a->pdata;
}

static gboolean
handle_commit (AfFuse1 *obj, GDBusMethodInvocation *inv, gpointer data)
{
  AffsDBus *d = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (AffsChanges) c = affs_changes_new ();
  if (!affs_commit (d->fs, c, &error)) {
    return_error (inv, error);
    return TRUE;
  }
  af_fuse1_complete_commit (obj, inv, strv (c->added), strv (c->modified), strv (c->deleted),
                            strv (c->conflicts));
  return TRUE;
}

static gboolean
handle_discard (AfFuse1 *obj, GDBusMethodInvocation *inv, gpointer data)
{
  AffsDBus *d = data;
  g_autoptr (GError) error = NULL;
  if (!affs_discard (d->fs, &error)) {
    return_error (inv, error);
    return TRUE;
  }
  af_fuse1_complete_discard (obj, inv);
  return TRUE;
}

static gboolean
handle_get_changes (AfFuse1 *obj, GDBusMethodInvocation *inv, gpointer data)
{
  AffsDBus *d = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (AffsChanges) c = affs_changes_new ();
  if (!affs_get_changes (d->fs, c, &error)) {
    return_error (inv, error);
    return TRUE;
  }
  af_fuse1_complete_get_changes (obj, inv, strv (c->added), strv (c->modified), strv (c->deleted));
  return TRUE;
}

static gboolean
handle_get_stats (AfFuse1 *obj, GDBusMethodInvocation *inv, gpointer data)
{
  AffsDBus *d = data;
  AfFs *fs = d->fs;
  GVariantBuilder ops;
  g_variant_builder_init (&ops, G_VARIANT_TYPE ("a{s(tt)}"));
  guint64 denied_total = 0;
  for (int op = 0; op < AFFS_OP_N; op++) {
    guint64 a = (guint64)__atomic_load_n (&fs->op_allowed[op], __ATOMIC_RELAXED);
    guint64 n = (guint64)__atomic_load_n (&fs->op_denied[op], __ATOMIC_RELAXED);
    denied_total += n;
    g_variant_builder_add (&ops, "{s(tt)}", affs_op_name ((AffsOp)op), a, n);
  }
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&b, "{sv}", "ops", g_variant_builder_end (&ops));
  g_variant_builder_add (
      &b, "{sv}", "bytes_read",
      g_variant_new_uint64 ((guint64)__atomic_load_n (&fs->bytes_read, __ATOMIC_RELAXED)));
  g_variant_builder_add (
      &b, "{sv}", "bytes_written",
      g_variant_new_uint64 ((guint64)__atomic_load_n (&fs->bytes_written, __ATOMIC_RELAXED)));
  g_variant_builder_add (&b, "{sv}", "denials", g_variant_new_uint64 (denied_total));
  g_mutex_lock (&d->lock);
  guint64 suppressed = d->suppressed;
  g_mutex_unlock (&d->lock);
  g_variant_builder_add (&b, "{sv}", "denials_suppressed", g_variant_new_uint64 (suppressed));
  g_variant_builder_add (&b, "{sv}", "open_handles",
                         g_variant_new_uint32 ((guint32)g_atomic_int_get (&fs->open_handles)));
  g_variant_builder_add (&b, "{sv}", "max_handles",
                         g_variant_new_uint32 ((guint32)fs->max_handles));
  af_fuse1_complete_get_stats (obj, inv, g_variant_builder_end (&b));
  return TRUE;
}

static gboolean
handle_invalidate_paths (AfFuse1 *obj, GDBusMethodInvocation *inv, const char *const *paths,
                         gpointer data)
{
  AffsDBus *d = data;
  g_autoptr (GPtrArray) norm = g_ptr_array_new_with_free_func (g_free);
  for (const char *const *p = paths; *p != NULL; p++) {
    g_autoptr (GError) error = NULL;
    char *n = af_path_normalize (*p, -1, AF_PATH_ALLOW_ABSOLUTE | AF_PATH_ALLOW_ROOT, &error);
    if (n == NULL) {
      return_error (inv, error);
      return TRUE;
    }
    g_ptr_array_add (norm, n);
  }
  g_ptr_array_add (norm, NULL);
  affs_invalidate_paths (d->fs, (const char *const *)norm->pdata);
  af_fuse1_complete_invalidate_paths (obj, inv);
  return TRUE;
}

static gboolean
handle_shutdown (AfFuse1 *obj, GDBusMethodInvocation *inv, gpointer data)
{
  AffsDBus *d = data;
  af_fuse1_complete_shutdown (obj, inv);
  d->shutdown (d->shutdown_data);
  return TRUE;
}

AffsDBus *
affs_dbus_new (AfFs *fs, const char *address, void (*shutdown) (gpointer), gpointer shutdown_data,
               GError **error)
{
  g_autoptr (GDBusConnection) conn = af_dbus_peer_connect (address, NULL, error);
  if (conn == NULL)
    return NULL;
  AffsDBus *d = g_new0 (AffsDBus, 1);
  d->fs = fs;
  d->conn = g_steal_pointer (&conn);
  d->context = g_main_context_ref_thread_default ();
  d->shutdown = shutdown;
  d->shutdown_data = shutdown_data;
  g_mutex_init (&d->lock);
  d->tokens = AFFS_DENIED_BURST;
  d->last_refill_us = g_get_monotonic_time ();
  g_queue_init (&d->queue);
  d->skeleton = af_fuse1_skeleton_new ();
  af_fuse1_set_version (d->skeleton, AFFS_DBUS_VERSION);
  g_signal_connect (d->skeleton, "handle-update-rules", G_CALLBACK (handle_update_rules), d);
  g_signal_connect (d->skeleton, "handle-commit", G_CALLBACK (handle_commit), d);
  g_signal_connect (d->skeleton, "handle-discard", G_CALLBACK (handle_discard), d);
  g_signal_connect (d->skeleton, "handle-get-changes", G_CALLBACK (handle_get_changes), d);
  g_signal_connect (d->skeleton, "handle-get-stats", G_CALLBACK (handle_get_stats), d);
  g_signal_connect (d->skeleton, "handle-invalidate-paths", G_CALLBACK (handle_invalidate_paths),
                    d);
  g_signal_connect (d->skeleton, "handle-shutdown", G_CALLBACK (handle_shutdown), d);
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (d->skeleton), d->conn,
                                         AFFS_DBUS_PATH, error)) {
    affs_dbus_free (d);
    return NULL;
  }
  fs->denied_data = d;
  __atomic_store_n (&fs->denied_func, on_denied, __ATOMIC_RELEASE);
  return d;
}

void
affs_dbus_free (AffsDBus *d)
{
  if (d == NULL)
    return;
  __atomic_store_n (&d->fs->denied_func, NULL, __ATOMIC_RELEASE);
  if (d->skeleton != NULL) {
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (d->skeleton));
    g_object_unref (d->skeleton);
  }
  /* Emissions already scheduled hold d: run them now. */
  while (g_main_context_iteration (d->context, FALSE))
    ;
  g_queue_clear_full (&d->queue, denial_free);
  g_mutex_clear (&d->lock);
  g_clear_object (&d->conn);
  g_main_context_unref (d->context);
  g_free (d);
}
