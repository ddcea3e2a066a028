/* af-preset.c — named rule sets: the built-ins, custom registrations, a
 * directory of JSON presets, and extend().
 *
 * Owns the exact rules of each built-in preset (they are part of the
 * contract: docs/permissions.md). A registry is plain data owned by its
 * caller — no global registry exists. Reads files only in load_dir, never
 * while deciding. */
#include "afpolicy.h"

#include "af-error.h"

#include <string.h>

#define AF_PRESET_NAME_MAX 64
#define AF_PRESET_FILE_MAX (16 * 1024 * 1024)

struct _AfPresetRegistry {
  GHashTable *presets; /* name → GArray of AfRule */
};

typedef struct {
  const char *pattern;
  AfLevel level;
  gint32 priority;
} BuiltinRule;

#define END                                                                                        \
  {                                                                                                \
    NULL, 0, 0                                                                                     \
  }

static const BuiltinRule view_only[] = { { "**/*", AF_LEVEL_VIEW, 0 }, END };
static const BuiltinRule read_only[] = { { "**/*", AF_LEVEL_READ, 0 }, END };
static const BuiltinRule full_access[] = { { "**/*", AF_LEVEL_WRITE, 0 }, END };
static const BuiltinRule development[] = {
  { "**/*", AF_LEVEL_WRITE, 0 },           { "**/.env*", AF_LEVEL_NONE, 100 },
  { "**/secrets/**", AF_LEVEL_NONE, 100 }, { "**/*.key", AF_LEVEL_NONE, 100 },
  { "**/*.pem", AF_LEVEL_NONE, 100 },      END,
};
static const BuiltinRule agent_safe[] = {
  { "**/*", AF_LEVEL_READ, 0 },
  { "/output/**", AF_LEVEL_WRITE, 10 },
  { "/tmp/**", AF_LEVEL_WRITE, 10 },
  { "**/.env*", AF_LEVEL_NONE, 100 },
  { "**/secrets/**", AF_LEVEL_NONE, 100 },
  { "**/*.key", AF_LEVEL_NONE, 100 },
  { "**/*.pem", AF_LEVEL_NONE, 100 },
  { "**/credentials*", AF_LEVEL_NONE, 100 },
  { "**/.git/**", AF_LEVEL_NONE, 50 },
  END,
};

static const struct {
  const char *name;
  const BuiltinRule *rules;
} builtins[] = {
  { "view-only", view_only },     { "read-only", read_only },   { "full-access", full_access },
  { "development", development }, { "agent-safe", agent_safe },
};

static gboolean
is_builtin (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (builtins); i++)
    if (strcmp (builtins[i].name, name) == 0)
      return TRUE;
  return FALSE;
}

static void
put (AfPresetRegistry *registry, const char *name, const AfRule *rules, gsize n_rules)
{
  GArray *copy = af_rule_array_new ();
  for (gsize i = 0; i < n_rules; i++)
    af_rule_array_add (copy, rules[i].pattern, rules[i].type, rules[i].level, rules[i].priority);
  g_hash_table_replace (registry->presets, g_strdup (name), copy);
}

AfPresetRegistry *
af_preset_registry_new (void)
{
  AfPresetRegistry *registry = g_new0 (AfPresetRegistry, 1);
  registry->presets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify)(void (*) (void))g_array_unref);
  for (guint i = 0; i < G_N_ELEMENTS (builtins); i++) {
    g_autoptr (GArray) rules = af_rule_array_new ();
    for (const BuiltinRule *b = builtins[i].rules; b->pattern != NULL; b++)
      af_rule_array_add (rules, b->pattern, AF_PATTERN_GLOB, b->level, b->priority);
    put (registry, builtins[i].name, (const AfRule *)(void *)rules->data, rules->len);
  }
  return registry;
}

void
af_preset_registry_free (AfPresetRegistry *registry)
{
  if (registry == NULL)
    return;
  g_hash_table_unref (registry->presets);
  g_free (registry);
}

static gboolean
valid_name (const char *name, GError **error)
{
  gsize n = name ? strlen (name) : 0;
  if (n == 0 || n > AF_PRESET_NAME_MAX) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "preset name must be 1 to %d characters long", AF_PRESET_NAME_MAX);
    return FALSE;
  }
  for (gsize i = 0; i < n; i++) {
    if (!g_ascii_isalnum (name[i]) && name[i] != '-' && name[i] != '_' && name[i] != '.') {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "preset name '%s' may only hold letters, digits, '-', '_' and '.'", name);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
af_preset_registry_add (AfPresetRegistry *registry, const char *name, const AfRule *rules,
                        gsize n_rules, GError **error)
{
  if (!valid_name (name, error))
    return FALSE;
  if (is_builtin (name)) {
    g_set_error (error, AF_ERROR, AF_ERROR_ALREADY_EXISTS,
                 "preset '%s' is built in and cannot be redefined", name);
    return FALSE;
  }
  if (n_rules > AF_POLICY_MAX_RULES) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "preset '%s': too many rules: %" G_GSIZE_FORMAT " (the limit is %d)", name,
                 n_rules, AF_POLICY_MAX_RULES);
    return FALSE;
  }
  for (gsize i = 0; i < n_rules; i++) {
    g_autoptr (GError) local = NULL;
    if (!af_rule_validate (&rules[i], -1, i, &local)) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "preset '%s': %s", name,
                   local->message);
      return FALSE;
    }
  }
  put (registry, name, rules, n_rules);
  return TRUE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

gboolean
af_preset_registry_load_dir (AfPresetRegistry *registry, const char *dir, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &local);
  if (d == NULL) {
    if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return TRUE;
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "presets directory: %s",
                 local->message);
    return FALSE;
  }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *entry;
  while ((entry = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (entry, ".json") && entry[0] != '.')
      g_ptr_array_add (names, g_strdup (entry));
  g_ptr_array_sort (names, compare_names);

  /* Sorted, so a preset file may build on one whose name sorts earlier. */
  for (guint i = 0; i < names->len; i++) {
    const char *file = g_ptr_array_index (names, i);
    g_autofree char *path = g_build_filename (dir, file, NULL);
    g_autofree char *name = g_strndup (file, strlen (file) - strlen (".json"));
    g_autoptr (GArray) rules = af_rule_array_new ();
    if (!af_rules_load_file (path, registry, rules, &local) ||
        !af_preset_registry_add (registry, name, (const AfRule *)(void *)rules->data, rules->len,
                                 &local)) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "%s: %s", path, local->message);
      return FALSE;
    }
  }
  return TRUE;
}

char **
af_preset_registry_list (AfPresetRegistry *registry)
{
  guint n = 0;
  char **names = (char **)g_hash_table_get_keys_as_array (registry->presets, &n);
  char **out = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    out[i] = g_strdup (names[i]);
  g_free (names);
  qsort (out, n, sizeof (char *), compare_names);
  return out;
}

gboolean
af_preset_registry_expand (AfPresetRegistry *registry, const char *name, GArray *out,
                           GError **error)
{
  GArray *rules = name ? g_hash_table_lookup (registry->presets, name) : NULL;
  if (rules == NULL) {
    g_auto (GStrv) names = af_preset_registry_list (registry);
    g_autofree char *list = g_strjoinv (", ", names);
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "unknown preset '%s' (available: %s)",
                 name ? name : "(null)", list);
    return FALSE;
  }
  for (guint i = 0; i < rules->len; i++) {
    const AfRule *r = &g_array_index (rules, AfRule, i);
    af_rule_array_add (out, r->pattern, r->type, r->level, r->priority);
  }
  return TRUE;
}

void
af_preset_extend (const AfRule *base, gsize n_base, const AfRule *additions, gsize n_additions,
                  const AfRule *overrides, gsize n_overrides, GArray *out)
{
  /* An empty base has no highest priority; 0 (the default) stands in. */
  gint32 highest = n_base > 0 ? G_MININT32 : 0;
  for (gsize i = 0; i < n_base; i++) {
    highest = MAX (highest, base[i].priority);
    af_rule_array_add (out, base[i].pattern, base[i].type, base[i].level, base[i].priority);
  }
  for (gsize i = 0; i < n_additions; i++)
    af_rule_array_add (out, additions[i].pattern, additions[i].type, additions[i].level,
                       additions[i].priority);
  gint32 raised = highest > G_MAXINT32 - 100 ? G_MAXINT32 : highest + 100;
  for (gsize i = 0; i < n_overrides; i++)
    af_rule_array_add (out, overrides[i].pattern, overrides[i].type, overrides[i].level,
                       overrides[i].priority > highest ? overrides[i].priority : raised);
}
