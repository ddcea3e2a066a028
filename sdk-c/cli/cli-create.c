/* cli-create.c — the options that describe a new sandbox, shared by
 * `run`, `shell` and `sandbox create`: rules (--preset, --rules, --allow),
 * runtime, image, resource limits, labels, expiry, commit mode.
 *
 * Owns: these options and their translation into AfSandboxOptions and a
 * rule list. Must never: create anything on a server. */
#include "cli.h"

#include "af-config.h"

#include <string.h>

static char *opt_preset;
static char *opt_rules;
static char **opt_allow;
static char *opt_runtime;
static char *opt_image;
static char *opt_memory;
static gint64 opt_cpu_quota;
static gint64 opt_pids;
static char **opt_labels;
static char *opt_expires;
static gboolean opt_manual_commit;

static const GOptionEntry create_entries[] = {
  { "preset", 'p', 0, G_OPTION_ARG_STRING, &opt_preset,
    "Base permissions (default: the rule file's preset, else view-only)", "PRESET" },
  { "rules", 0, 0, G_OPTION_ARG_FILENAME, &opt_rules,
    "JSON rule file appended after the preset's rules", "FILE" },
  { "allow", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &opt_allow,
    "A glob rule of priority 10, e.g. '/src/**=write' (repeatable)", "PATTERN=LEVEL" },
  { "runtime", 0, 0, G_OPTION_ARG_STRING, &opt_runtime,
    "Isolation: bwrap or docker (default: the server's)", "RUNTIME" },
  { "image", 0, 0, G_OPTION_ARG_STRING, &opt_image, "Docker image", "IMAGE" },
  { "memory", 0, 0, G_OPTION_ARG_STRING, &opt_memory, "Memory limit of the commands (e.g. 512M)",
    "BYTES" },
  { "cpu-quota", 0, 0, G_OPTION_ARG_INT64, &opt_cpu_quota,
    "CPU time in microseconds per 100 ms period", "US" },
  { "pids", 0, 0, G_OPTION_ARG_INT64, &opt_pids, "Most processes at once", "N" },
  { "label", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &opt_labels, "A label of the sandbox (repeatable)",
    "KEY=VALUE" },
  { "expires", 0, 0, G_OPTION_ARG_STRING, &opt_expires,
    "Destroyed by the server after this long (e.g. 30m)", "DURATION" },
  { "manual-commit", 0, 0, G_OPTION_ARG_NONE, &opt_manual_commit,
    "Keep changes in the sandbox until 'sandbox commit'", NULL },
  { NULL },
};

const GOptionEntry *
cli_create_entries (void)
{
  return create_entries;
}

static GError *
invalid (const char *what, const char *message)
{
  return g_error_new (AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION, "%s: %s", what, message);
}

AfSandboxOptions *
cli_create_options (GPtrArray **out_rules, char **out_preset, GError **error)
{
  g_autoptr (AfSandboxOptions) options = af_sandbox_options_new ();
  g_autofree char *preset = NULL;
  g_autoptr (GPtrArray) rules = NULL;
  g_autoptr (GError) local = NULL;

  if (!cli_rules_collect (opt_preset, opt_rules, opt_allow, &preset, &rules, error))
    return NULL;
  af_sandbox_options_set_preset (options, preset);
  for (guint i = 0; i < rules->len; i++)
    af_sandbox_options_add_rule (options, rules->pdata[i]);

  if (opt_runtime != NULL) {
    AfRuntime runtime;
    if (!af_runtime_from_string (opt_runtime, &runtime, error))
      return NULL;
    af_sandbox_options_set_runtime (options, runtime);
  }
  if (opt_image != NULL)
    af_sandbox_options_set_image (options, opt_image);

  AfResourceLimits limits = { 0 };
  if (opt_memory != NULL && !af_config_parse_size (opt_memory, &limits.memory_bytes, &local)) {
    g_propagate_error (error, invalid ("--memory", local->message));
    return NULL;
  }
  if (opt_cpu_quota < 0 || opt_pids < 0) {
    g_propagate_error (error, invalid ("--cpu-quota/--pids", "must not be negative"));
    return NULL;
  }
  limits.cpu_quota = opt_cpu_quota;
  limits.pids_limit = opt_pids;
  if (limits.memory_bytes > 0 || limits.cpu_quota > 0 || limits.pids_limit > 0)
    af_sandbox_options_set_resources (options, &limits);

  for (gsize i = 0; opt_labels != NULL && opt_labels[i] != NULL; i++) {
    const char *eq = strchr (opt_labels[i], '=');
    if (eq == NULL || eq == opt_labels[i]) {
      g_propagate_error (error, invalid (opt_labels[i], "--label takes KEY=VALUE"));
      return NULL;
    }
    g_autofree char *key = g_strndup (opt_labels[i], (gsize)(eq - opt_labels[i]));
    af_sandbox_options_set_label (options, key, eq + 1);
  }
  if (opt_expires != NULL) {
    gint64 ms = 0;
    if (!af_config_parse_duration_ms (opt_expires, &ms, &local)) {
      g_propagate_error (error, invalid ("--expires", local->message));
      return NULL;
    }
    if (ms < 1000 || ms / 1000 > G_MAXUINT) {
      g_propagate_error (error, invalid ("--expires", "must be at least 1s"));
      return NULL;
    }
    af_sandbox_options_set_expires_in (options, (guint)(ms / 1000));
  }
  if (opt_manual_commit)
    af_sandbox_options_set_commit_mode (options, AF_COMMIT_MODE_MANUAL);

  if (out_rules != NULL) {
    /* Fully expanded, for the low-level create call. */
    g_autoptr (GPtrArray) all =
        af_presets_get (preset != NULL ? preset : AF_SANDBOX_DEFAULT_PRESET, error);
    if (all == NULL)
      return NULL;
    for (guint i = 0; i < rules->len; i++)
      g_ptr_array_add (all, af_permission_rule_ref (rules->pdata[i]));
    *out_rules = g_steal_pointer (&all);
  }
  if (out_preset != NULL)
    *out_preset = g_steal_pointer (&preset);
  return g_steal_pointer (&options);
}

gboolean
cli_parse_timeout (const char *text, guint *out_seconds, GError **error)
{
  /* Whole seconds ("30"), or a duration ("90s", "5m"). */
  if (text == NULL) {
    *out_seconds = 0;
    return TRUE;
  }
  guint64 seconds = 0;
  if (g_ascii_string_to_unsigned (text, 10, 1, AF_CLIENT_MAX_TIMEOUT_S, &seconds, NULL)) {
    *out_seconds = (guint)seconds;
    return TRUE;
  }
  gint64 ms = 0;
  g_autoptr (GError) local = NULL;
  if (!af_config_parse_duration_ms (text, &ms, &local) || ms < 1000 ||
      ms / 1000 > AF_CLIENT_MAX_TIMEOUT_S) {
    g_autofree char *limit = g_strdup_printf ("a number of seconds from 1 to %d, or a duration "
                                              "such as 90s or 5m",
                                              AF_CLIENT_MAX_TIMEOUT_S);
    g_propagate_error (error, invalid ("--timeout", limit));
    return FALSE;
  }
  *out_seconds = (guint)(ms / 1000);
  return TRUE;
}

GHashTable *
cli_parse_env (char **pairs, GError **error)
{
  if (pairs == NULL)
    return NULL;
  g_autoptr (GHashTable) env = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (gsize i = 0; pairs[i] != NULL; i++) {
    const char *eq = strchr (pairs[i], '=');
    if (eq == NULL || eq == pairs[i]) {
      g_propagate_error (error, invalid (pairs[i], "--env takes NAME=VALUE"));
      return NULL;
    }
    g_hash_table_replace (env, g_strndup (pairs[i], (gsize)(eq - pairs[i])), g_strdup (eq + 1));
  }
  return g_steal_pointer (&env);
}
