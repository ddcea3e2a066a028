/* af-config.c — schema-checked configuration. Never logs; every failure is a
 * GError naming the key and its origin. */
#include "af-config.h"
#include "af-error.h"

#include <errno.h>
#include <string.h>

typedef enum { ORIGIN_DEFAULT, ORIGIN_FILE, ORIGIN_FLAG } Origin;

typedef struct {
  const AfConfigKey *key;
  char *text;    /* canonical value text */
  gint64 number; /* INT/SIZE/DURATION/BOOL */
  Origin origin;
} Value;

struct _AfConfig {
  const AfConfigKey *schema;
  gsize n_keys;
  Value *values;             /* one per schema key, same order */
  GPtrArray *option_strings; /* strings referenced by the option group */
};

gboolean
af_config_parse_bool (const char *text, gboolean *out, GError **error)
{
  static const char *const yes[] = { "true", "yes", "1", "on" };
  static const char *const no[] = { "false", "no", "0", "off" };
  for (gsize i = 0; i < G_N_ELEMENTS (yes); i++) {
    if (g_ascii_strcasecmp (text, yes[i]) == 0) {
      *out = TRUE;
      return TRUE;
    }
    if (g_ascii_strcasecmp (text, no[i]) == 0) {
      *out = FALSE;
      return TRUE;
    }
  }
  g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
               "expected a boolean (true/false), got '%s'", text);
  return FALSE;
}

/* Parse a non-negative decimal integer followed by a unit from @units. */
typedef struct {
  const char *suffix;
  gint64 factor;
} Unit;

static gboolean
parse_number_and_unit (const char *text, const Unit *units, gsize n_units, gint64 *out)
{
  const char *p = text;
  while (g_ascii_isspace (*p))
    p++;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  errno = 0;
  char *end = NULL;
  guint64 n = g_ascii_strtoull (p, &end, 10);
  if (errno != 0 || n > G_MAXINT64)
    return FALSE;
  while (g_ascii_isspace (*end))
    end++;
  g_autofree char *suffix = g_strchomp (g_strdup (end));
  for (gsize i = 0; i < n_units; i++) {
    if (g_ascii_strcasecmp (suffix, units[i].suffix) == 0) {
      if (units[i].factor > 1 && n > (guint64)(G_MAXINT64 / units[i].factor))
        return FALSE;
      *out = (gint64)n * units[i].factor;
      return TRUE;
    }
  }
  return FALSE;
}

static gboolean
parse_with_units (const char *text, const Unit *units, gsize n_units, const char *what, gint64 *out,
                  GError **error)
{
  if (parse_number_and_unit (text, units, n_units, out))
    return TRUE;
  g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "expected %s, got '%s'", what, text);
  return FALSE;
}

gboolean
af_config_parse_size (const char *text, gint64 *out, GError **error)
{
  static const Unit units[] = {
    { "", 1 },          { "B", 1 },           { "K", 1LL << 10 }, { "KiB", 1LL << 10 },
    { "M", 1LL << 20 }, { "MiB", 1LL << 20 }, { "G", 1LL << 30 }, { "GiB", 1LL << 30 },
    { "T", 1LL << 40 }, { "TiB", 1LL << 40 },
  };
  return parse_with_units (text, units, G_N_ELEMENTS (units),
                           "a size such as 4096, 64K, 512M or 1G", out, error);
}

gboolean
af_config_parse_duration_ms (const char *text, gint64 *out, GError **error)
{
  static const Unit units[] = {
    { "", 1000 }, { "s", 1000 }, { "ms", 1 }, { "m", 60000 }, { "h", 3600000 },
  };
  return parse_with_units (text, units, G_N_ELEMENTS (units),
                           "a duration such as 60 (seconds), 30s, 500ms, 5m or 1h", out, error);
}

static gboolean
parse_int (const char *text, gint64 *out, GError **error)
{
  char *end = NULL;
  errno = 0;
  gint64 n = g_ascii_strtoll (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "expected an integer, got '%s'", text);
    return FALSE;
  }
  *out = n;
  return TRUE;
}

/* Parse @text for @key into @v (only on success). */
static gboolean
parse_value (const AfConfigKey *key, const char *text, Value *v, GError **error)
{
  gint64 number = 0;
  gboolean b = FALSE;

  switch (key->type) {
  case AF_CONFIG_STRING:
    break;
  case AF_CONFIG_PATH:
    if (*text != '\0' && !g_path_is_absolute (text)) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "expected an absolute path, got '%s'", text);
      return FALSE;
    }
    break;
  case AF_CONFIG_INT:
    if (!parse_int (text, &number, error))
      return FALSE;
    break;
  case AF_CONFIG_BOOL:
    if (!af_config_parse_bool (text, &b, error))
      return FALSE;
    number = b;
    break;
  case AF_CONFIG_SIZE:
    if (!af_config_parse_size (text, &number, error))
      return FALSE;
    break;
  case AF_CONFIG_DURATION:
    if (!af_config_parse_duration_ms (text, &number, error))
      return FALSE;
    break;
  }

  if (key->type != AF_CONFIG_STRING && key->type != AF_CONFIG_PATH && key->type != AF_CONFIG_BOOL &&
      (key->min != 0 || key->max != 0) && (number < key->min || number > key->max)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "'%s' is out of range (%" G_GINT64_FORMAT "..%" G_GINT64_FORMAT ")", text,
                 key->min, key->max);
    return FALSE;
  }

  g_free (v->text);
  v->text = g_strdup (text);
  v->number = number;
  return TRUE;
}

AfConfig *
af_config_new (const AfConfigKey *schema, gsize n_keys)
{
  AfConfig *config = g_new0 (AfConfig, 1);
  config->schema = schema;
  config->n_keys = n_keys;
  config->values = g_new0 (Value, n_keys);
  config->option_strings = g_ptr_array_new_with_free_func (g_free);
  for (gsize i = 0; i < n_keys; i++) {
    g_autoptr (GError) error = NULL;
    config->values[i].key = &schema[i];
    config->values[i].origin = ORIGIN_DEFAULT;
    if (!parse_value (&schema[i], schema[i].default_value ? schema[i].default_value : "",
                      &config->values[i], &error))
      g_critical ("default of %s.%s: %s", schema[i].group, schema[i].key, error->message);
  }
  return config;
}

void
af_config_free (AfConfig *config)
{
  if (config == NULL)
    return;
  for (gsize i = 0; i < config->n_keys; i++)
    g_free (config->values[i].text);
  g_free (config->values);
  g_ptr_array_unref (config->option_strings);
  g_free (config);
}

static Value *
lookup (AfConfig *config, const char *group, const char *key)
{
  for (gsize i = 0; i < config->n_keys; i++) {
    const AfConfigKey *k = &config->schema[i];
    if (strcmp (k->key, key) == 0 && (group == NULL || strcmp (k->group, group) == 0))
      return &config->values[i];
  }
  return NULL;
}

static Value *
lookup_checked (AfConfig *config, const char *group, const char *key)
{
  Value *v = lookup (config, group, key);
  if (v == NULL)
    g_critical ("no config key %s.%s in the schema", group, key);
  return v;
}

gboolean
af_config_load_file (AfConfig *config, const char *path, gboolean must_exist, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local)) {
    if (!must_exist && g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return TRUE;
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "config file %s: %s", path,
                 local->message);
    return FALSE;
  }

  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (gsize g = 0; groups[g]; g++) {
    g_auto (GStrv) keys = g_key_file_get_keys (kf, groups[g], NULL, NULL);
    for (gsize k = 0; keys && keys[k]; k++) {
      Value *v = lookup (config, groups[g], keys[k]);
      if (v == NULL) {
        g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                     "config file %s: unknown key '%s' in group [%s]", path, keys[k], groups[g]);
        return FALSE;
      }
      g_autofree char *text = g_key_file_get_string (kf, groups[g], keys[k], &local);
      if (text == NULL) {
        g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "config file %s: [%s] %s: %s",
                     path, groups[g], keys[k], local->message);
        return FALSE;
      }
      if (v->origin == ORIGIN_FLAG)
        continue; /* the command line wins */
      Value tmp = *v;
      tmp.text = NULL;
      if (!parse_value (v->key, text, &tmp, &local)) {
        g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "config file %s: [%s] %s: %s",
                     path, groups[g], keys[k], local->message);
        return FALSE;
      }
      g_free (v->text);
      *v = tmp;
      v->origin = ORIGIN_FILE;
    }
  }
  return TRUE;
}

gboolean
af_config_set (AfConfig *config, const char *name, const char *value, const char *origin,
               GError **error)
{
  g_autofree char *group = NULL;
  const char *key = name;
  const char *dot = strchr (name, '.');
  if (dot) {
    group = g_strndup (name, (gsize)(dot - name));
    key = dot + 1;
  }
  g_autofree char *underscored = g_strdelimit (g_strdup (key), "-", '_');
  Value *v = lookup (config, group, underscored);
  if (v == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "%s: unknown config key '%s'", origin,
                 name);
    return FALSE;
  }
  g_autoptr (GError) local = NULL;
  Value tmp = *v;
  tmp.text = NULL;
  if (!parse_value (v->key, value, &tmp, &local)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "%s (%s.%s): %s", origin,
                 v->key->group, v->key->key, local->message);
    return FALSE;
  }
  g_free (v->text);
  *v = tmp;
  v->origin = ORIGIN_FLAG;
  return TRUE;
}

static gboolean
option_cb (const char *option_name, const char *value, gpointer data, GError **error)
{
  AfConfig *config = data;
  if (strcmp (option_name, "--set") == 0) {
    const char *eq = value ? strchr (value, '=') : NULL;
    if (eq == NULL) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--set expects group.key=value, got '%s'", value ? value : "");
      return FALSE;
    }
    g_autofree char *name = g_strndup (value, (gsize)(eq - value));
    if (!af_config_set (config, name, eq + 1, "--set", error)) {
      (*error)->domain = G_OPTION_ERROR;
      (*error)->code = G_OPTION_ERROR_BAD_VALUE;
      return FALSE;
    }
    return TRUE;
  }
  /* "--max-file-size" → key "max_file_size" */
  const char *flag = option_name + 2;
  for (gsize i = 0; i < config->n_keys; i++) {
    g_autofree char *want = g_strdelimit (g_strdup (config->schema[i].key), "_", '-');
    if (strcmp (flag, want) != 0)
      continue;
    g_autofree char *name =
        g_strdup_printf ("%s.%s", config->schema[i].group, config->schema[i].key);
    const char *text = value;
    if (config->schema[i].type == AF_CONFIG_BOOL && value == NULL)
      text = "true";
    if (!af_config_set (config, name, text, option_name, error)) {
      (*error)->domain = G_OPTION_ERROR;
      (*error)->code = G_OPTION_ERROR_BAD_VALUE;
      return FALSE;
    }
    return TRUE;
  }
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION, "unknown option %s",
               option_name);
  return FALSE;
}

/* Option strings must outlive the GOptionGroup (which copies the entry
 * array but not the strings): the AfConfig owns them. */
static const char *
keep (AfConfig *config, char *owned)
{
  g_ptr_array_add (config->option_strings, owned);
  return owned;
}

GOptionGroup *
af_config_option_group (AfConfig *config)
{
  g_autofree GOptionEntry *entries = g_new0 (GOptionEntry, config->n_keys + 2);
  for (gsize i = 0; i < config->n_keys; i++) {
    const AfConfigKey *k = &config->schema[i];
    entries[i].long_name = keep (config, g_strdelimit (g_strdup (k->key), "_", '-'));
    entries[i].arg = G_OPTION_ARG_CALLBACK;
    entries[i].arg_data = (gpointer)option_cb;
    entries[i].flags = k->type == AF_CONFIG_BOOL ? G_OPTION_FLAG_OPTIONAL_ARG : 0;
    entries[i].description =
        keep (config,
              g_strdup_printf ("%s [%s.%s, default: %s]", k->description, k->group, k->key,
                               k->default_value && *k->default_value ? k->default_value : "unset"));
    entries[i].arg_description = k->type == AF_CONFIG_BOOL ? "BOOL" : "VALUE";
  }
  GOptionEntry *set = &entries[config->n_keys];
  set->long_name = "set";
  set->arg = G_OPTION_ARG_CALLBACK;
  set->arg_data = (gpointer)option_cb;
  set->description = "Set any config key: --set group.key=value";
  set->arg_description = "KEY=VALUE";

  GOptionGroup *group = g_option_group_new ("config", "Configuration keys (override the file):",
                                            "Show configuration flags", config, NULL);
  g_option_group_add_entries (group, entries);
  return group;
}

const char *
af_config_get_string (AfConfig *config, const char *group, const char *key)
{
  Value *v = lookup_checked (config, group, key);
  return v ? v->text : NULL;
}

gint64
af_config_get_int (AfConfig *config, const char *group, const char *key)
{
  Value *v = lookup_checked (config, group, key);
  return v ? v->number : 0;
}

gboolean
af_config_get_bool (AfConfig *config, const char *group, const char *key)
{
  Value *v = lookup_checked (config, group, key);
  return v ? v->number != 0 : FALSE;
}

gboolean
af_config_is_set (AfConfig *config, const char *group, const char *key)
{
  Value *v = lookup_checked (config, group, key);
  return v ? v->origin != ORIGIN_DEFAULT : FALSE;
}

char *
af_config_dump_defaults (AfConfig *config)
{
  GString *out = g_string_new (NULL);
  const char *current = NULL;
  for (gsize i = 0; i < config->n_keys; i++) {
    const AfConfigKey *k = &config->schema[i];
    if (current == NULL || strcmp (current, k->group) != 0) {
      g_string_append_printf (out, "%s[%s]\n", current ? "\n" : "", k->group);
      current = k->group;
    }
    g_string_append_printf (out, "# %s\n#%s=%s\n", k->description, k->key,
                            k->default_value ? k->default_value : "");
  }
  return g_string_free (out, FALSE);
}
