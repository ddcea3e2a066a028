/* cli-policy.c — `agentfense policy explain --rules FILE PATH...`: the
 * level each path gets under a rule file, the rule that decided it and
 * every other rule that matched, in precedence order.
 *
 * Decisions come from libafpolicy (linked into this tool), the same engine
 * af-fuse enforces with; this file only presents them. */
#include "cli.h"

#include "af-path.h"
#include "afpolicy.h"

static char *opt_rules;

static const GOptionEntry explain_entries[] = {
  { "rules", 'r', 0, G_OPTION_ARG_FILENAME, &opt_rules,
    "JSON rule file: an array of rules or {\"preset\": NAME, \"rules\": [...]}", "FILE" },
  { NULL },
};

static JsonNode *
rule_json (const AfPolicy *policy, int index)
{
  const AfRule *rule = af_policy_get_rule (policy, (gsize)index);
  JsonNode *node = cli_rule_to_json (rule->pattern, af_level_to_string (rule->level),
                                     af_pattern_type_to_string (rule->type), rule->priority);
  json_object_set_int_member (json_node_get_object (node), "index", index);
  return node;
}

static void
explain_json (JsonBuilder *builder, const AfPolicy *policy, const char *path,
              const AfExplanation *e)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, path);
  json_builder_set_member_name (builder, "permission");
  json_builder_add_string_value (builder, af_level_to_string (e->level));
  json_builder_set_member_name (builder, "rule");
  if (e->rule >= 0)
    json_builder_add_value (builder, rule_json (policy, e->rule));
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "matches");
  json_builder_begin_array (builder);
  for (guint i = 0; i < e->matches->len; i++)
    json_builder_add_value (builder, rule_json (policy, g_array_index (e->matches, int, i)));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

static void
explain_text (const AfPolicy *policy, const char *path, const AfExplanation *e)
{
  g_autofree char *shown = cli_escape (path);
  g_print ("%s: %s\n", shown, af_level_to_string (e->level));
  if (e->rule < 0) {
    g_print ("  decided by: no rule matches (the default is none)\n");
    return;
  }
  for (guint i = 0; i < e->matches->len; i++) {
    int index = g_array_index (e->matches, int, i);
    g_autofree char *text = af_rule_to_string (af_policy_get_rule (policy, (gsize)index));
    g_autofree char *escaped = cli_escape (text);
    g_print ("  %s rule %d: %s\n", i == 0 ? "decided by" : "also matches", index, escaped);
  }
}

static int
policy_explain (CliContext *cli, int argc, char **argv)
{
  if (opt_rules == NULL)
    return cli_usage_error (cli, "policy", "explain needs --rules FILE");
  if (argc < 3)
    return cli_usage_error (cli, "policy", "explain needs at least one PATH");

  g_autoptr (GArray) rules = af_rule_array_new ();
  g_autoptr (GError) error = NULL;
  if (!af_rules_load_file (opt_rules, NULL, rules, &error)) {
    g_autoptr (GError) shown = g_error_new (AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                                            "%s: %s", opt_rules, error->message);
    return cli_fail (cli, shown);
  }
  g_autoptr (AfPolicy) policy =
      af_policy_new ((const AfRule *)(void *)rules->data, rules->len, &error);
  if (policy == NULL) {
    g_autoptr (GError) shown = g_error_new (AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                                            "%s: %s", opt_rules, error->message);
    return cli_fail (cli, shown);
  }

  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_array (builder);
  for (int i = 2; i < argc; i++) {
    /* Paths are codebase paths: "src/a.c" and "/src/a.c" are the same. */
    g_autofree char *relative =
        af_path_normalize (argv[i], -1, AF_PATH_ALLOW_ABSOLUTE | AF_PATH_ALLOW_ROOT, &error);
    if (relative == NULL) {
      g_autoptr (GError) shown = g_error_new (AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                                              "%s: %s", argv[i], error->message);
      return cli_fail (cli, shown);
    }
    g_autofree char *path = af_path_to_absolute (relative);
    g_autoptr (AfExplanation) e = af_policy_explain (policy, path, -1);
    if (cli->json)
      explain_json (builder, policy, path, e);
    else
      explain_text (policy, path, e);
  }
  json_builder_end_array (builder);
  if (cli->json) {
    g_autoptr (JsonNode) root = json_builder_get_root (builder);
    cli_print_json (root);
  }
  return CLI_EXIT_OK;
}

int
cli_policy (CliContext *cli, int argc, char **argv)
{
  if (!cli_parse (cli, "policy", "explain --rules FILE PATH...",
                  "Explain which permission each PATH (a codebase path) gets under FILE.",
                  explain_entries, &argc, &argv))
    return CLI_EXIT_USAGE;
  if (argc >= 2 && g_strcmp0 (argv[1], "explain") == 0)
    return policy_explain (cli, argc, argv);
  return cli_usage_error (cli, "policy", "expected 'explain --rules FILE PATH...'");
}
