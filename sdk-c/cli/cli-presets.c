/* cli-presets.c — `agentfense presets ls` and `agentfense presets show
 * NAME`: the built-in presets, from libagentfense. */
#include "cli.h"

#include <string.h>

static JsonNode *
rules_to_json (GPtrArray *rules)
{
  JsonArray *array = json_array_sized_new (rules->len);
  for (guint i = 0; i < rules->len; i++) {
    const AfPermissionRule *rule = rules->pdata[i];
    json_array_add_element (
        array, cli_rule_to_json (af_permission_rule_get_pattern (rule),
                                 af_permission_to_string (af_permission_rule_get_permission (rule)),
                                 af_pattern_kind_to_string (af_permission_rule_get_kind (rule)),
                                 af_permission_rule_get_priority (rule)));
  }
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, array);
  return node;
}

static int
presets_ls (CliContext *cli)
{
  g_auto (GStrv) names = af_presets_list ();

  if (cli->json) {
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    json_builder_begin_array (builder);
    for (gsize i = 0; names[i] != NULL; i++) {
      g_autoptr (GPtrArray) rules = af_presets_get (names[i], NULL);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, names[i]);
      json_builder_set_member_name (builder, "rules");
      json_builder_add_value (builder, rules_to_json (rules));
      json_builder_end_object (builder);
    }
    json_builder_end_array (builder);
    g_autoptr (JsonNode) root = json_builder_get_root (builder);
    cli_print_json (root);
    return CLI_EXIT_OK;
  }

  const char *headers[] = { "NAME", "RULES", "DEFAULT", NULL };
  g_autoptr (CliTable) table = cli_table_new (headers);
  for (gsize i = 0; names[i] != NULL; i++) {
    g_autoptr (GPtrArray) rules = af_presets_get (names[i], NULL);
    g_autofree char *count = g_strdup_printf ("%u", rules->len);
    /* Every built-in preset starts with its base rule, matching every
     * path: the level of any path no other rule names. */
    const AfPermissionRule *base = rules->pdata[0];
    const char *row[] = { names[i], count,
                          af_permission_to_string (af_permission_rule_get_permission (base)),
                          NULL };
    cli_table_add (table, row);
  }
  cli_table_print (table);
  return CLI_EXIT_OK;
}

static int
presets_show (CliContext *cli, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rules = af_presets_get (name, &error);
  if (rules == NULL)
    return cli_fail (cli, error);

  if (cli->json) {
    g_autoptr (JsonBuilder) builder = json_builder_new ();
    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "name");
    json_builder_add_string_value (builder, name);
    json_builder_set_member_name (builder, "rules");
    json_builder_add_value (builder, rules_to_json (rules));
    json_builder_end_object (builder);
    g_autoptr (JsonNode) root = json_builder_get_root (builder);
    cli_print_json (root);
    return CLI_EXIT_OK;
  }

  const char *headers[] = { "PRIORITY", "PERMISSION", "TYPE", "PATTERN", NULL };
  g_autoptr (CliTable) table = cli_table_new (headers);
  for (guint i = 0; i < rules->len; i++) {
    const AfPermissionRule *rule = rules->pdata[i];
    g_autofree char *priority = g_strdup_printf ("%d", af_permission_rule_get_priority (rule));
    const char *row[] = { priority,
                          af_permission_to_string (af_permission_rule_get_permission (rule)),
                          af_pattern_kind_to_string (af_permission_rule_get_kind (rule)),
                          af_permission_rule_get_pattern (rule), NULL };
    cli_table_add (table, row);
  }
  cli_table_print (table);
  return CLI_EXIT_OK;
}

int
cli_presets (CliContext *cli, int argc, char **argv)
{
  if (!cli_parse (cli, "presets", "ls | show NAME", "The built-in permission presets.", NULL, &argc,
                  &argv))
    return CLI_EXIT_USAGE;
  if (argc == 2 && strcmp (argv[1], "ls") == 0)
    return presets_ls (cli);
  if (argc == 3 && strcmp (argv[1], "show") == 0)
    return presets_show (cli, argv[2]);
  return cli_usage_error (cli, "presets", "expected 'ls' or 'show NAME'");
}
