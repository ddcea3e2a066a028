/* The conformance table (conformance.json, next to this file): groups of a
 * rule file (array or {"preset","rules"}) with expected decisions
 * [path, level, deciding rule or null], expected explain lists [path,
 * [matching rules, winner first]], expected implied-traversal answers
 * [path, may_reveal_below], or an expected validation error substring.
 * Every sentence of docs/permissions.md has a group here. */
#include "afcore.h"
#include "afpolicy.h"

#include <json-glib/json-glib.h>
#include <string.h>

static guint n_checked;

static void
run_group (JsonObject *group)
{
  const char *name = json_object_get_string_member (group, "name");
  g_autofree char *rules_json = json_to_string (json_object_get_member (group, "rules"), FALSE);
  g_autoptr (GArray) rules = af_rule_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (AfPolicy) policy = NULL;

  if (af_rules_parse_json (rules_json, -1, NULL, rules, &error))
    policy = af_policy_new ((const AfRule *)(void *)rules->data, rules->len, &error);

  if (json_object_has_member (group, "error")) {
    const char *want = json_object_get_string_member (group, "error");
    if (policy != NULL)
      g_error ("%s: expected the error '%s', but the rules compiled", name, want);
    g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
    if (strstr (error->message, want) == NULL)
      g_error ("%s: expected an error containing '%s', got '%s'", name, want, error->message);
    n_checked++;
    return;
  }
  if (policy == NULL)
    g_error ("%s: %s", name, error->message);

  if (json_object_has_member (group, "cases")) {
    JsonArray *cases = json_object_get_array_member (group, "cases");
    for (guint i = 0; i < json_array_get_length (cases); i++) {
      JsonArray *c = json_array_get_array_element (cases, i);
      const char *path = json_array_get_string_element (c, 0);
      AfLevel want;
      g_assert_true (af_level_parse (json_array_get_string_element (c, 1), &want, NULL));
      int want_rule =
          json_array_get_null_element (c, 2) ? -1 : (int)json_array_get_int_element (c, 2);
      int got_rule;
      AfLevel got = af_policy_decide (policy, path, -1, &got_rule);
      g_autoptr (AfExplanation) e = af_policy_explain (policy, path, -1);
      if (got != want || got_rule != want_rule || e->level != want || e->rule != want_rule)
        g_error ("%s: %s: expected %s by rule %d, got %s by rule %d (explain: %s by %d)", name,
                 path, af_level_to_string (want), want_rule, af_level_to_string (got), got_rule,
                 af_level_to_string (e->level), e->rule);
      n_checked++;
    }
  }
  if (json_object_has_member (group, "explain")) {
    JsonArray *cases = json_object_get_array_member (group, "explain");
    for (guint i = 0; i < json_array_get_length (cases); i++) {
      JsonArray *c = json_array_get_array_element (cases, i);
      const char *path = json_array_get_string_element (c, 0);
      JsonArray *want = json_array_get_array_element (c, 1);
      g_autoptr (AfExplanation) e = af_policy_explain (policy, path, -1);
      gboolean same = e->matches->len == json_array_get_length (want);
      for (guint j = 0; same && j < e->matches->len; j++)
        same = g_array_index (e->matches, int, j) == (int)json_array_get_int_element (want, j);
      if (!same)
        g_error ("%s: explain(%s): the matches differ from the table", name, path);
      n_checked++;
    }
  }
  if (json_object_has_member (group, "reveal")) {
    JsonArray *cases = json_object_get_array_member (group, "reveal");
    for (guint i = 0; i < json_array_get_length (cases); i++) {
      JsonArray *c = json_array_get_array_element (cases, i);
      const char *path = json_array_get_string_element (c, 0);
      gboolean want = json_array_get_boolean_element (c, 1);
      gboolean got = af_policy_may_reveal_below (policy, path, -1);
      if (got != want)
        g_error ("%s: may_reveal_below(%s): expected %s", name, path, want ? "TRUE" : "FALSE");
      n_checked++;
    }
  }
}

static void
test_conformance (void)
{
  const char *file = g_test_get_filename (G_TEST_DIST, "libafpolicy", "conformance.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_file (parser, file, &error);
  g_assert_no_error (error);
  JsonArray *groups = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (groups); i++)
    run_group (json_array_get_object_element (groups, i));
  g_test_message ("%u groups, %u cases", json_array_get_length (groups), n_checked);
  g_assert_cmpuint (n_checked, >=, 300);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policy/conformance", test_conformance);
  return g_test_run ();
}
