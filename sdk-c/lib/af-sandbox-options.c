/* af-sandbox-options.c — AfSandboxOptions, the builder of a new sandbox.
 *
 * Owns: the defaults (preset, size limit, auto-start). Must never: check
 * what only the server or the preset registry can judge (rules, presets,
 * images): that happens when the options are used. */
#include "af-sdk-private.h"

G_DEFINE_BOXED_TYPE (AfSandboxOptions, af_sandbox_options, af_sandbox_options_ref,
                     af_sandbox_options_unref)

AfSandboxOptions *
af_sandbox_options_new (void)
{
  AfSandboxOptions *o = g_new0 (AfSandboxOptions, 1);
  o->ref_count = 1;
  o->rules = g_ptr_array_new_with_free_func ((GDestroyNotify)af_permission_rule_unref);
  o->ignore = g_ptr_array_new_with_free_func (g_free);
  o->default_ignores = TRUE;
  o->max_file_size = AF_SANDBOX_DEFAULT_MAX_FILE_SIZE;
  o->labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  o->auto_start = TRUE;
  return o;
}

AfSandboxOptions *
af_sandbox_options_ref (AfSandboxOptions *options)
{
  g_return_val_if_fail (options != NULL, NULL);
  g_atomic_int_inc (&options->ref_count);
  return options;
}

void
af_sandbox_options_unref (AfSandboxOptions *o)
{
  if (o == NULL || !g_atomic_int_dec_and_test (&o->ref_count))
    return;
  g_free (o->name);
  g_free (o->owner_id);
  g_free (o->preset);
  g_ptr_array_unref (o->rules);
  g_ptr_array_unref (o->ignore);
  if (o->progress_destroy != NULL)
    o->progress_destroy (o->progress_data);
  g_free (o->image);
  g_hash_table_unref (o->labels);
  g_free (o->endpoint);
  g_clear_pointer (&o->client, af_client_unref);
  g_free (o);
}

static void
replace_string (char **field, const char *value)
{
  char *old = *field;
  *field = (value != NULL && *value != '\0') ? g_strdup (value) : NULL;
  g_free (old);
}

void
af_sandbox_options_set_name (AfSandboxOptions *options, const char *name)
{
  replace_string (&options->name, name);
}

void
af_sandbox_options_set_owner_id (AfSandboxOptions *options, const char *owner_id)
{
  replace_string (&options->owner_id, owner_id);
}

void
af_sandbox_options_set_preset (AfSandboxOptions *options, const char *preset)
{
  replace_string (&options->preset, preset);
}

void
af_sandbox_options_add_rule (AfSandboxOptions *options, AfPermissionRule *rule)
{
  g_return_if_fail (rule != NULL);
  g_ptr_array_add (options->rules, af_permission_rule_ref (rule));
}

void
af_sandbox_options_add_ignore_pattern (AfSandboxOptions *options, const char *pattern)
{
  g_return_if_fail (pattern != NULL);
  g_ptr_array_add (options->ignore, g_strdup (pattern));
}

void
af_sandbox_options_set_default_ignores (AfSandboxOptions *options, gboolean enabled)
{
  options->default_ignores = enabled;
}

void
af_sandbox_options_set_max_file_size (AfSandboxOptions *options, gint64 max_bytes)
{
  options->max_file_size = MAX (max_bytes, 0);
}

void
af_sandbox_options_set_upload_progress (AfSandboxOptions *options, AfUploadProgressFunc progress,
                                        gpointer user_data, GDestroyNotify destroy)
{
  if (options->progress_destroy != NULL)
    options->progress_destroy (options->progress_data);
  options->progress = progress;
  options->progress_data = user_data;
  options->progress_destroy = destroy;
}

void
af_sandbox_options_set_runtime (AfSandboxOptions *options, AfRuntime runtime)
{
  options->runtime = runtime;
}

void
af_sandbox_options_set_image (AfSandboxOptions *options, const char *image)
{
  replace_string (&options->image, image);
}

void
af_sandbox_options_set_resources (AfSandboxOptions *options, const AfResourceLimits *limits)
{
  options->has_resources = limits != NULL;
  if (limits != NULL)
    options->resources = *limits;
  else
    memset (&options->resources, 0, sizeof options->resources);
}

void
af_sandbox_options_set_label (AfSandboxOptions *options, const char *key, const char *value)
{
  g_return_if_fail (key != NULL);
  if (value == NULL)
    g_hash_table_remove (options->labels, key);
  else
    g_hash_table_replace (options->labels, g_strdup (key), g_strdup (value));
}

void
af_sandbox_options_set_expires_in (AfSandboxOptions *options, guint seconds)
{
  options->expires_in = seconds;
}

void
af_sandbox_options_set_commit_mode (AfSandboxOptions *options, AfCommitMode mode)
{
  options->commit_mode = mode;
}

void
af_sandbox_options_set_endpoint (AfSandboxOptions *options, const char *endpoint, gboolean secure)
{
  replace_string (&options->endpoint, endpoint);
  options->secure = secure;
}

void
af_sandbox_options_set_client (AfSandboxOptions *options, AfClient *client)
{
  AfClient *old = options->client;
  options->client = client != NULL ? af_client_ref (client) : NULL;
  if (old != NULL)
    af_client_unref (old);
}

void
af_sandbox_options_set_auto_start (AfSandboxOptions *options, gboolean auto_start)
{
  options->auto_start = auto_start;
}

AfSandboxOptions *
af_sandbox_options_copy (AfSandboxOptions *o)
{
  AfSandboxOptions *c = af_sandbox_options_new ();
  c->name = g_strdup (o->name);
  c->owner_id = g_strdup (o->owner_id);
  c->preset = g_strdup (o->preset);
  for (guint i = 0; i < o->rules->len; i++)
    af_sandbox_options_add_rule (c, g_ptr_array_index (o->rules, i));
  for (guint i = 0; i < o->ignore->len; i++)
    af_sandbox_options_add_ignore_pattern (c, g_ptr_array_index (o->ignore, i));
  c->default_ignores = o->default_ignores;
  c->max_file_size = o->max_file_size;
  /* The progress function and its data are shared, not owned, by the
   * copy: the original frees the data. */
  c->progress = o->progress;
  c->progress_data = o->progress_data;
  c->runtime = o->runtime;
  c->image = g_strdup (o->image);
  c->resources = o->resources;
  c->has_resources = o->has_resources;
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, o->labels);
  while (g_hash_table_iter_next (&iter, &key, &value))
    af_sandbox_options_set_label (c, key, value);
  c->expires_in = o->expires_in;
  c->commit_mode = o->commit_mode;
  c->endpoint = g_strdup (o->endpoint);
  c->secure = o->secure;
  af_sandbox_options_set_client (c, o->client);
  c->auto_start = o->auto_start;
  return c;
}
