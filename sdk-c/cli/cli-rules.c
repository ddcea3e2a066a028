/* cli-rules.c — the rules of a new sandbox from the command line:
 * --preset NAME, --rules FILE, --allow PATTERN=LEVEL.
 *
 * The sandbox gets, in order: the preset's rules (--preset; else the
 * preset the rule file names; else view-only), the rule file's own rules,
 * then each --allow as a glob rule of priority CLI_ALLOW_PRIORITY — above a
 * preset's base rule, below the denials presets give priority 50 and 100
 * (secrets stay hidden even when --allow grants write on everything).
 *
 * Owns: reading and validating the rule file (with libafpolicy, the engine
 * af-fuse enforces with) and --allow. Must never: expand the preset itself
 * (the library does, so the rules sent are the ones the Python SDK sends). */
#include "cli.h"

#include "afpolicy.h"

#include <string.h>

#define CLI_ALLOW_PRIORITY 10
/* libafpolicy's own bound on a rule file. */
#define RULE_FILE_MAX (16 * 1024 * 1024)

static GError *
invalid (const char *what, const char *message)
{
  return g_error_new (AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION, "%s: %s", what, message);
}

/* The preset a rule file names ({"preset": NAME, ...}), or NULL. */
static char *
file_preset (const char *path, const char *data, gsize len, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (parser, data, (gssize)len, &local)) {
    g_propagate_error (error, invalid (path, local->message));
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  JsonObject *object = json_node_get_object (root);
  JsonNode *preset = json_object_get_member (object, "preset");
  if (preset == NULL || !JSON_NODE_HOLDS_VALUE (preset) ||
      json_node_get_value_type (preset) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (preset));
}

static AfPermissionRule *
rule_from_policy (const AfRule *rule)
{
  return af_permission_rule_new (rule->pattern, (AfPermission)af_level_to_wire (rule->level),
                                 (AfPatternKind)af_pattern_type_to_wire (rule->type),
                                 rule->priority);
}

/* The file's rules without those of the preset it names: libafpolicy
 * parses and validates the whole file (preset rules first), and the
 * preset's part is dropped here because the library adds it again. */
static gboolean
load_rule_file (const char *path, char **io_preset, GPtrArray *out, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  g_autoptr (GMappedFile) mapped = g_mapped_file_new (path, FALSE, &local);
  if (mapped == NULL) {
    g_propagate_error (error, invalid (path, local->message));
    return FALSE;
  }
  len = g_mapped_file_get_length (mapped);
  if (len > RULE_FILE_MAX) {
    g_autofree char *message = g_strdup_printf (
        "the file is %" G_GSIZE_FORMAT " bytes; the limit is %d", len, RULE_FILE_MAX);
    g_propagate_error (error, invalid (path, message));
    return FALSE;
  }
  data = g_strndup (g_mapped_file_get_contents (mapped), len);

  g_autofree char *named = file_preset (path, data, len, error);
  if (error != NULL && *error != NULL)
    return FALSE;
  if (named != NULL && *io_preset != NULL && g_strcmp0 (named, *io_preset) != 0) {
    g_autofree char *message =
        g_strdup_printf ("the file names preset '%s' and --preset names '%s': give the preset once",
                         named, *io_preset);
    g_propagate_error (error, invalid (path, message));
    return FALSE;
  }

  g_autoptr (AfPresetRegistry) registry = af_preset_registry_new ();
  g_autoptr (GArray) rules = af_rule_array_new ();
  if (!af_rules_parse_json (data, (gssize)len, registry, rules, &local)) {
    g_propagate_error (error, invalid (path, local->message));
    return FALSE;
  }
  guint skip = 0;
  if (named != NULL) {
    g_autoptr (GArray) preset_rules = af_rule_array_new ();
    if (!af_preset_registry_expand (registry, named, preset_rules, &local)) {
      g_propagate_error (error, invalid (path, local->message));
      return FALSE;
    }
    skip = preset_rules->len;
    if (*io_preset == NULL)
      *io_preset = g_steal_pointer (&named);
  }
  for (guint i = skip; i < rules->len; i++)
    g_ptr_array_add (out, rule_from_policy (&g_array_index (rules, AfRule, i)));
  return TRUE;
}

static gboolean
parse_allow (const char *text, GPtrArray *out, GError **error)
{
  const char *eq = strrchr (text, '=');
  if (eq == NULL || eq == text || eq[1] == '\0') {
    g_propagate_error (error, invalid (text, "--allow takes PATTERN=LEVEL (none, view, read, "
                                             "write)"));
    return FALSE;
  }
  g_autofree char *pattern = g_strndup (text, (gsize)(eq - text));
  AfPermission permission;
  g_autoptr (GError) local = NULL;
  if (!af_permission_from_string (eq + 1, &permission, &local)) {
    g_propagate_error (error, invalid (text, local->message));
    return FALSE;
  }
  /* Validated as the server will: a bad glob is refused before any upload. */
  AfRule rule = { pattern, AF_PATTERN_GLOB, AF_LEVEL_NONE, CLI_ALLOW_PRIORITY };
  if (!af_rule_validate (&rule, -1, 0, &local)) {
    g_propagate_error (error, invalid (text, local->message));
    return FALSE;
  }
  g_ptr_array_add (
      out, af_permission_rule_new (pattern, permission, AF_PATTERN_KIND_GLOB, CLI_ALLOW_PRIORITY));
  return TRUE;
}

gboolean
cli_rules_collect (const char *preset, const char *rules_file, char **allow, char **out_preset,
                   GPtrArray **out_rules, GError **error)
{
  g_autofree char *chosen = g_strdup (preset);
  g_autoptr (GPtrArray) rules =
      g_ptr_array_new_with_free_func ((GDestroyNotify)af_permission_rule_unref);

  if (rules_file != NULL && !load_rule_file (rules_file, &chosen, rules, error))
    return FALSE;
  for (gsize i = 0; allow != NULL && allow[i] != NULL; i++)
    if (!parse_allow (allow[i], rules, error))
      return FALSE;
  if (chosen != NULL) {
    /* An unknown preset is refused here, before anything is uploaded. */
    g_autoptr (GPtrArray) known = af_presets_get (chosen, error);
    if (known == NULL)
      return FALSE;
  }
  *out_preset = g_steal_pointer (&chosen);
  *out_rules = g_steal_pointer (&rules);
  return TRUE;
}
