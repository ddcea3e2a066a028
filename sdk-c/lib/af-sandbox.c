/* af-sandbox.c — AfSandbox: making one (from a local tree, from a
 * codebase, by id), its life on the server (start, stop, refresh,
 * destroy, destroy-on-last-unref), its properties and its files.
 *
 * Owns: what a handle owns on the server, and the rollback of a
 * from_local/from_codebase that failed half-way. Must never: leave on the
 * server what a failed constructor created, log, or hold its lock across a
 * call. Commands and sessions: af-sandbox-exec.c. */
#include "af-sdk-private.h"

#include <string.h>

struct _AfSandbox {
  GObject parent_instance;
  AfClient *client; /* immutable after construction */
  char *id;
  char *codebase_id;
  AfLocalTree *tree; /* from_local: the scan, for the skipped list */

  GMutex lock;
  AfSandboxInfo *info;    /* guarded by lock: last description */
  gboolean owns_sandbox;  /* guarded by lock */
  gboolean owns_codebase; /* guarded by lock */
};

G_DEFINE_FINAL_TYPE (AfSandbox, af_sandbox, G_TYPE_OBJECT)

static void
af_sandbox_dispose (GObject *object)
{
  AfSandbox *self = AF_SANDBOX (object);
  /* The C form of leaving a `with` block: an owning handle takes its
   * sandbox with it. Nobody is left to tell of a failure. */
  if (af_sandbox_get_owned (self))
    af_sandbox_destroy (self, AF_DELETE_CODEBASE_DEFAULT, NULL, NULL);
  G_OBJECT_CLASS (af_sandbox_parent_class)->dispose (object);
}

static void
af_sandbox_finalize (GObject *object)
{
  AfSandbox *self = AF_SANDBOX (object);
  g_clear_pointer (&self->client, af_client_unref);
  g_free (self->id);
  g_free (self->codebase_id);
  g_clear_pointer (&self->tree, af_local_tree_free);
  g_clear_pointer (&self->info, af_sandbox_info_unref);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (af_sandbox_parent_class)->finalize (object);
}

static void
af_sandbox_class_init (AfSandboxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  object_class->dispose = af_sandbox_dispose;
  object_class->finalize = af_sandbox_finalize;
}

static void
af_sandbox_init (AfSandbox *self)
{
  g_mutex_init (&self->lock);
}

/* Takes @info. */
static AfSandbox *
sandbox_new (AfClient *client, AfSandboxInfo *info, gboolean owns_sandbox, gboolean owns_codebase)
{
  AfSandbox *self = g_object_new (AF_TYPE_SANDBOX, NULL);
  self->client = af_client_ref (client);
  self->id = g_strdup (af_sandbox_info_get_id (info));
  self->codebase_id = g_strdup (af_sandbox_info_get_codebase_id (info));
  self->info = info;
  self->owns_sandbox = owns_sandbox;
  self->owns_codebase = owns_codebase;
  return self;
}

/* Takes @info. */
static void
set_info (AfSandbox *self, AfSandboxInfo *info)
{
  g_mutex_lock (&self->lock);
  AfSandboxInfo *old = self->info;
  self->info = info;
  g_mutex_unlock (&self->lock);
  af_sandbox_info_unref (old);
}

static AfClient *
client_for_options (AfSandboxOptions *options, GError **error)
{
  if (options->client != NULL)
    return af_client_ref (options->client);
  return af_client_new (options->endpoint, options->secure, error);
}

/* The preset expanded, then the extra rules: checked before anything is
 * created, so an unknown preset costs no upload. */
static GPtrArray *
rules_for_options (AfSandboxOptions *options, GError **error)
{
  const char *preset = options->preset != NULL ? options->preset : AF_SANDBOX_DEFAULT_PRESET;
  GPtrArray *rules = af_presets_get (preset, error);
  if (rules == NULL)
    return NULL;
  for (guint i = 0; i < options->rules->len; i++)
    g_ptr_array_add (rules, af_permission_rule_ref (g_ptr_array_index (options->rules, i)));
  return rules;
}

/* Creates and (unless told not to) starts the sandbox; on failure destroys
 * what it created. */
static AfSandboxInfo *
create_and_start (AfClient *client, const char *codebase_id, GPtrArray *rules,
                  AfSandboxOptions *options, GCancellable *cancellable, GError **error)
{
  g_autoptr (AfSandboxInfo) info =
      af_client_create_sandbox (client, codebase_id, rules, options, cancellable, error);
  if (info == NULL)
    return NULL;
  if (!options->auto_start)
    return g_steal_pointer (&info);
  AfSandboxInfo *started =
      af_client_start_sandbox (client, af_sandbox_info_get_id (info), cancellable, error);
  if (started == NULL)
    af_client_destroy_sandbox (client, af_sandbox_info_get_id (info), NULL, NULL);
  return started;
}

AfSandbox *
af_sandbox_from_local_internal (const char *path, AfSandboxOptions *options_or_null,
                                GCancellable *cancellable, GError **error)
{
  g_autoptr (AfSandboxOptions) options = options_or_null != NULL
                                             ? af_sandbox_options_ref (options_or_null)
                                             : af_sandbox_options_new ();
  g_return_val_if_fail (path != NULL, NULL);

  g_autoptr (AfLocalTree) tree = af_local_tree_new (path, error);
  if (tree == NULL)
    return NULL;
  af_local_tree_set_default_ignores (tree, options->default_ignores);
  af_local_tree_set_max_file_size (tree, options->max_file_size);
  for (guint i = 0; i < options->ignore->len; i++)
    if (!af_local_tree_add_ignore_pattern (tree, g_ptr_array_index (options->ignore, i), error))
      return NULL;
  g_autoptr (GPtrArray) rules = rules_for_options (options, error);
  if (rules == NULL)
    return NULL;
  g_autoptr (AfClient) client = client_for_options (options, error);
  if (client == NULL)
    return NULL;
  if (!af_local_tree_scan (tree, cancellable, error))
    return NULL;

  g_autofree char *name = NULL;
  if (options->name != NULL) {
    name = g_strdup (options->name);
  } else {
    g_autofree char *absolute = g_canonicalize_filename (path, NULL);
    name = g_path_get_basename (absolute);
  }
  const char *owner = options->owner_id != NULL ? options->owner_id : g_get_user_name ();

  g_autoptr (AfCodebase) codebase =
      af_client_create_codebase (client, name, owner, cancellable, error);
  if (codebase == NULL)
    return NULL;
  const char *codebase_id = af_codebase_get_id (codebase);
  AfSandboxInfo *info = NULL;
  if (af_client_upload_tree (client, codebase_id, tree, options->progress, options->progress_data,
                             cancellable, error))
    info = create_and_start (client, codebase_id, rules, options, cancellable, error);
  if (info == NULL) {
    af_client_delete_codebase (client, codebase_id, NULL, NULL);
    return NULL;
  }
  AfSandbox *self = sandbox_new (client, info, TRUE, TRUE);
  self->tree = g_steal_pointer (&tree);
  return self;
}

AfSandbox *
af_sandbox_from_local (const char *path, AfSandboxOptions *options, GError **error)
{
  return af_sandbox_from_local_internal (path, options, NULL, error);
}

AfSandbox *
af_sandbox_from_codebase (const char *codebase_id, AfSandboxOptions *options_or_null,
                          GError **error)
{
  g_autoptr (AfSandboxOptions) options = options_or_null != NULL
                                             ? af_sandbox_options_ref (options_or_null)
                                             : af_sandbox_options_new ();
  if (!af_client_check_id (codebase_id, "codebase_id", error))
    return NULL;
  g_autoptr (GPtrArray) rules = rules_for_options (options, error);
  if (rules == NULL)
    return NULL;
  g_autoptr (AfClient) client = client_for_options (options, error);
  if (client == NULL)
    return NULL;
  AfSandboxInfo *info = create_and_start (client, codebase_id, rules, options, NULL, error);
  if (info == NULL)
    return NULL;
  return sandbox_new (client, info, TRUE, FALSE);
}

AfSandbox *
af_sandbox_connect_with_client (AfClient *client, const char *sandbox_id, GCancellable *cancellable,
                                GError **error)
{
  g_return_val_if_fail (client != NULL, NULL);
  AfSandboxInfo *info = af_client_get_sandbox (client, sandbox_id, cancellable, error);
  if (info == NULL)
    return NULL;
  return sandbox_new (client, info, FALSE, FALSE);
}

AfSandbox *
af_sandbox_connect (const char *sandbox_id, const char *endpoint, gboolean secure, GError **error)
{
  g_autoptr (AfClient) client = af_client_new (endpoint, secure, error);
  if (client == NULL)
    return NULL;
  return af_sandbox_connect_with_client (client, sandbox_id, NULL, error);
}

AfClient *
af_sandbox_get_client (AfSandbox *self)
{
  return self->client;
}

const char *
af_sandbox_get_id (AfSandbox *self)
{
  return self->id;
}

const char *
af_sandbox_get_codebase_id (AfSandbox *self)
{
  return self->codebase_id;
}

AfSandboxInfo *
af_sandbox_get_info (AfSandbox *self)
{
  g_mutex_lock (&self->lock);
  AfSandboxInfo *info = af_sandbox_info_ref (self->info);
  g_mutex_unlock (&self->lock);
  return info;
}

AfSandboxStatus
af_sandbox_get_status (AfSandbox *self)
{
  g_autoptr (AfSandboxInfo) info = af_sandbox_get_info (self);
  return af_sandbox_info_get_status (info);
}

AfRuntime
af_sandbox_get_runtime (AfSandbox *self)
{
  g_autoptr (AfSandboxInfo) info = af_sandbox_get_info (self);
  return af_sandbox_info_get_runtime (info);
}

AfCodebase *
af_sandbox_get_codebase (AfSandbox *self, GCancellable *cancellable, GError **error)
{
  return af_client_get_codebase (self->client, self->codebase_id, cancellable, error);
}

GPtrArray *
af_sandbox_get_skipped (AfSandbox *self)
{
  return self->tree != NULL ? af_local_tree_get_skipped (self->tree) : NULL;
}

gboolean
af_sandbox_get_owned (AfSandbox *self)
{
  g_mutex_lock (&self->lock);
  gboolean owned = self->owns_sandbox;
  g_mutex_unlock (&self->lock);
  return owned;
}

void
af_sandbox_detach (AfSandbox *self)
{
  g_mutex_lock (&self->lock);
  self->owns_sandbox = FALSE;
  self->owns_codebase = FALSE;
  g_mutex_unlock (&self->lock);
}

gboolean
af_sandbox_start (AfSandbox *self, GCancellable *cancellable, GError **error)
{
  AfSandboxInfo *info = af_client_start_sandbox (self->client, self->id, cancellable, error);
  if (info == NULL)
    return FALSE;
  set_info (self, info);
  return TRUE;
}

gboolean
af_sandbox_stop (AfSandbox *self, GCancellable *cancellable, GError **error)
{
  AfSandboxInfo *info = af_client_stop_sandbox (self->client, self->id, cancellable, error);
  if (info == NULL)
    return FALSE;
  set_info (self, info);
  return TRUE;
}

gboolean
af_sandbox_refresh (AfSandbox *self, GCancellable *cancellable, GError **error)
{
  AfSandboxInfo *info = af_client_get_sandbox (self->client, self->id, cancellable, error);
  if (info == NULL)
    return FALSE;
  set_info (self, info);
  return TRUE;
}

gboolean
af_sandbox_destroy (AfSandbox *self, AfDeleteCodebase delete_codebase, GCancellable *cancellable,
                    GError **error)
{
  if (!af_client_destroy_sandbox (self->client, self->id, cancellable, error))
    return FALSE;

  g_mutex_lock (&self->lock);
  gboolean delete = delete_codebase == AF_DELETE_CODEBASE_YES ||
                    (delete_codebase == AF_DELETE_CODEBASE_DEFAULT && self->owns_codebase);
  self->owns_sandbox = FALSE;
  self->owns_codebase = FALSE;
  g_mutex_unlock (&self->lock);

  if (delete)
    return af_client_delete_codebase (self->client, self->codebase_id, cancellable, error);
  return TRUE;
}

/* "/workspace/src/a.c" and "src/a.c" name the same file, as in the Python
 * SDK; the client's path check does the rest. */
static const char *
codebase_path (const char *path)
{
  if (path == NULL)
    return "";
  if (strcmp (path, "/workspace") == 0)
    return "";
  if (g_str_has_prefix (path, "/workspace/"))
    return path + strlen ("/workspace/");
  return path;
}

GBytes *
af_sandbox_read_file_bytes (AfSandbox *self, const char *path, GCancellable *cancellable,
                            GError **error)
{
  return af_client_download_file (self->client, self->codebase_id, codebase_path (path),
                                  cancellable, error);
}

char *
af_sandbox_read_file (AfSandbox *self, const char *path, GCancellable *cancellable, GError **error)
{
  g_autoptr (GBytes) bytes = af_sandbox_read_file_bytes (self, path, cancellable, error);
  if (bytes == NULL)
    return NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  if (len > 0 && !g_utf8_validate_len (data, len, NULL)) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_FAILED,
                 "file %s is not UTF-8 text (read it with af_sandbox_read_file_bytes)", path);
    return NULL;
  }
  return g_strndup (data, len);
}

gboolean
af_sandbox_write_file_bytes (AfSandbox *self, const char *path, GBytes *content,
                             GCancellable *cancellable, GError **error)
{
  return af_client_upload_bytes (self->client, self->codebase_id, codebase_path (path), content,
                                 NULL, cancellable, error);
}

gboolean
af_sandbox_write_file (AfSandbox *self, const char *path, const char *content,
                       GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (content != NULL, FALSE);
  g_autoptr (GBytes) bytes = g_bytes_new_static (content, strlen (content));
  return af_sandbox_write_file_bytes (self, path, bytes, cancellable, error);
}

GPtrArray *
af_sandbox_list_files (AfSandbox *self, const char *path, gboolean recursive,
                       GCancellable *cancellable, GError **error)
{
  return af_client_list_files (self->client, self->codebase_id, codebase_path (path), recursive,
                               cancellable, error);
}
