/* af-policy — the rule author's tool: check a rule file, explain decisions.
 *
 *   af-policy check   (--rules FILE | --preset NAME) [--presets-dir DIR]
 *   af-policy explain (--rules FILE | --preset NAME) [--json] [--presets-dir DIR] PATH...
 *   af-policy presets [--presets-dir DIR]
 *
 * Exit status: 0 success, 1 invalid rules or paths, 2 usage error. Owns only
 * presentation; every decision comes from libafpolicy. */
#include "af-build-config.h"
#include "afcore.h"
#include "afpolicy.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

static char *opt_rules;
static char *opt_preset;
static char *opt_presets_dir;
static gboolean opt_json;

static const GOptionEntry entries[] = {
  { "rules", 'r', 0, G_OPTION_ARG_FILENAME, &opt_rules, "JSON rule file", "FILE" },
  { "preset", 'p', 0, G_OPTION_ARG_STRING, &opt_preset, "Use a preset instead of a file", "NAME" },
  { "presets-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_presets_dir,
    "Directory of custom presets (*.json); default " AF_SYSCONFDIR "/agentfense/presets.d", "DIR" },
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "explain: print one JSON array", NULL },
  { NULL },
};

static AfPresetRegistry *
load_registry (void)
{
  AfPresetRegistry *registry = af_preset_registry_new ();
  g_autofree char *dflt = g_build_filename (AF_SYSCONFDIR, "agentfense", "presets.d", NULL);
  g_autoptr (GError) error = NULL;
  if (!af_preset_registry_load_dir (registry, opt_presets_dir ? opt_presets_dir : dflt, &error)) {
    g_printerr ("af-policy: %s\n", error->message);
    af_preset_registry_free (registry);
    return NULL;
  }
  return registry;
}

/* The expanded rules, or NULL after printing every error. */
static GArray *
load_rules (AfPresetRegistry *registry)
{
  g_autoptr (GArray) rules = af_rule_array_new ();
  g_autoptr (GError) error = NULL;
  if (opt_preset != NULL) {
    if (!af_preset_registry_expand (registry, opt_preset, rules, &error)) {
      g_printerr ("af-policy: %s\n", error->message);
      return NULL;
    }
    return g_steal_pointer (&rules);
  }
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents (opt_rules, &data, &len, &error)) {
    g_printerr ("af-policy: %s\n", error->message);
    return NULL;
  }
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  if (!af_rules_parse_json_full (data, (gssize)len, registry, rules, errors, NULL)) {
    for (guint i = 0; i < errors->len; i++)
      g_printerr ("%s: %s\n", opt_rules, (const char *)errors->pdata[i]);
    return NULL;
  }
  return g_steal_pointer (&rules);
}

static void
print_text (const AfPolicy *policy, const char *path, const AfExplanation *e, gboolean reveal)
{
  g_print ("%s: %s\n", path, af_level_to_string (e->level));
  if (e->rule < 0) {
    g_print ("  decided by: the default (no rule matches)\n");
  } else {
    g_autofree char *text = af_rule_to_string (af_policy_get_rule (policy, (gsize)e->rule));
    g_print ("  decided by: rule %d: %s\n", e->rule, text);
  }
  for (guint i = 1; i < e->matches->len; i++) {
    int idx = g_array_index (e->matches, int, i);
    g_autofree char *text = af_rule_to_string (af_policy_get_rule (policy, (gsize)idx));
    g_print ("  also matched: rule %d: %s\n", idx, text);
  }
  if (e->level == AF_LEVEL_NONE && reveal)
    g_print ("  traversable: rules may reveal paths below it\n");
}

static void
add_json (JsonBuilder *b, const AfPolicy *policy, const char *path, const AfExplanation *e,
          gboolean reveal)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, path);
  json_builder_set_member_name (b, "level");
  json_builder_add_string_value (b, af_level_to_string (e->level));
  json_builder_set_member_name (b, "rule");
  if (e->rule < 0) {
    json_builder_add_null_value (b);
  } else {
    json_builder_add_int_value (b, e->rule);
    g_autofree char *text = af_rule_to_string (af_policy_get_rule (policy, (gsize)e->rule));
    json_builder_set_member_name (b, "rule_text");
    json_builder_add_string_value (b, text);
  }
  json_builder_set_member_name (b, "matches");
  json_builder_begin_array (b);
  for (guint i = 0; i < e->matches->len; i++)
    json_builder_add_int_value (b, g_array_index (e->matches, int, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "may_reveal_below");
  json_builder_add_boolean_value (b, reveal);
  json_builder_end_object (b);
}

static int
explain (AfPolicy *policy, int argc, char **argv)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  int status = 0;
  json_builder_begin_array (b);
  for (int i = 0; i < argc; i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *rel = af_path_normalize (
        argv[i], -1, AF_PATH_ALLOW_ABSOLUTE | AF_PATH_RESOLVE_DOTDOT | AF_PATH_ALLOW_ROOT, &error);
    if (rel == NULL) {
      g_printerr ("af-policy: %s: %s\n", argv[i], error->message);
      status = 1;
      continue;
    }
    g_autofree char *path = af_path_to_absolute (rel);
    g_autoptr (AfExplanation) e = af_policy_explain (policy, path, -1);
    gboolean reveal = af_policy_may_reveal_below (policy, path, -1);
    if (opt_json)
      add_json (b, policy, path, e, reveal);
    else
      print_text (policy, path, e, reveal);
  }
  json_builder_end_array (b);
  if (opt_json) {
    g_autoptr (JsonGenerator) gen = json_generator_new ();
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    json_generator_set_root (gen, root);
    json_generator_set_pretty (gen, TRUE);
    g_autofree char *text = json_generator_to_data (gen, NULL);
    g_print ("%s\n", text);
  }
  return status;
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new (
      "check|explain|presets [PATH...] — check rule files, explain decisions");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("af-policy: %s\n", error->message);
    return 2;
  }
  if (argc < 2) {
    g_printerr ("af-policy: a command is required: check, explain or presets\n");
    return 2;
  }
  const char *cmd = argv[1];
  g_autoptr (AfPresetRegistry) registry = load_registry ();
  if (registry == NULL)
    return 1;

  if (strcmp (cmd, "presets") == 0) {
    g_auto (GStrv) names = af_preset_registry_list (registry);
    for (char **n = names; *n; n++)
      g_print ("%s\n", *n);
    return 0;
  }
  if (strcmp (cmd, "check") != 0 && strcmp (cmd, "explain") != 0) {
    g_printerr ("af-policy: unknown command '%s' (check, explain or presets)\n", cmd);
    return 2;
  }
  if ((opt_rules == NULL) == (opt_preset == NULL)) {
    g_printerr ("af-policy: give exactly one of --rules FILE or --preset NAME\n");
    return 2;
  }
  g_autoptr (GArray) rules = load_rules (registry);
  if (rules == NULL)
    return 1;
  g_autoptr (AfPolicy) policy =
      af_policy_new ((const AfRule *)(void *)rules->data, rules->len, &error);
  if (policy == NULL) {
    g_printerr ("af-policy: %s\n", error->message);
    return 1;
  }
  if (strcmp (cmd, "check") == 0) {
    if (argc > 2) {
      g_printerr ("af-policy: check takes no paths\n");
      return 2;
    }
    g_print ("%s: %u rules, valid\n", opt_rules ? opt_rules : opt_preset, rules->len);
    return 0;
  }
  if (argc < 3) {
    g_printerr ("af-policy: explain needs at least one PATH\n");
    return 2;
  }
  return explain (policy, argc - 2, argv + 2);
}
