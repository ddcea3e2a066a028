/* test-presets.c — presets through the public API of the shared library
 * (this program links libagentfense.so, not the internals). */
#include <agentfense/agentfense.h>

#include <string.h>

static void
test_list (void)
{
  g_auto (GStrv) names = af_presets_list ();
  g_autofree char *joined = g_strjoinv (" ", names);
  g_assert_cmpstr (joined, ==, "agent-safe development full-access read-only view-only");
}

static void
test_get (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rules = af_presets_get ("view-only", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rules->len, ==, 1);
  AfPermissionRule *rule = rules->pdata[0];
  g_assert_cmpstr (af_permission_rule_get_pattern (rule), ==, "**/*");
  g_assert_cmpint (af_permission_rule_get_permission (rule), ==, AF_PERMISSION_VIEW);
  g_assert_cmpint (af_permission_rule_get_kind (rule), ==, AF_PATTERN_KIND_GLOB);

  g_autoptr (GPtrArray) safe = af_presets_get ("agent-safe", &error);
  g_assert_no_error (error);
  gboolean env_hidden = FALSE;
  for (guint i = 0; i < safe->len; i++)
    if (strcmp (af_permission_rule_get_pattern (safe->pdata[i]), "**/.env*") == 0)
      env_hidden = af_permission_rule_get_permission (safe->pdata[i]) == AF_PERMISSION_NONE;
  g_assert_true (env_hidden);

  g_assert_null (af_presets_get ("no-such-preset", &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, "view-only")); /* lists the known names */
  g_clear_error (&error);
  g_assert_null (af_presets_get (NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
}

static void
test_extend (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) additions =
      g_ptr_array_new_with_free_func ((GDestroyNotify)af_permission_rule_unref);
  g_autoptr (GPtrArray) overrides =
      g_ptr_array_new_with_free_func ((GDestroyNotify)af_permission_rule_unref);
  g_ptr_array_add (additions, af_permission_rule_new ("/src", AF_PERMISSION_WRITE,
                                                      AF_PATTERN_KIND_DIRECTORY, 10));
  g_ptr_array_add (overrides,
                   af_permission_rule_new ("**/.env", AF_PERMISSION_NONE, AF_PATTERN_KIND_GLOB, 0));
  g_ptr_array_add (overrides,
                   af_permission_rule_new ("/big", AF_PERMISSION_NONE, AF_PATTERN_KIND_FILE, 500));

  g_autoptr (GPtrArray) rules = af_presets_extend ("development", additions, overrides, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) base = af_presets_get ("development", &error);
  g_assert_cmpuint (rules->len, ==, base->len + 3);

  AfPermissionRule *added = rules->pdata[base->len];
  g_assert_cmpstr (af_permission_rule_get_pattern (added), ==, "/src");
  g_assert_cmpint (af_permission_rule_get_kind (added), ==, AF_PATTERN_KIND_DIRECTORY);
  g_assert_cmpint (af_permission_rule_get_priority (added), ==, 10);
  /* development's highest priority is 100: a too-low override is raised
   * above it, a high one kept. */
  g_assert_cmpint (af_permission_rule_get_priority (rules->pdata[base->len + 1]), ==, 200);
  g_assert_cmpint (af_permission_rule_get_priority (rules->pdata[base->len + 2]), ==, 500);
  g_assert_cmpint (af_permission_rule_get_kind (rules->pdata[base->len + 2]), ==,
                   AF_PATTERN_KIND_FILE);

  g_autoptr (GPtrArray) plain = af_presets_extend ("read-only", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (plain->len, ==, 1);

  g_assert_null (af_presets_extend ("nope", additions, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_clear_error (&error);

  g_autoptr (GPtrArray) bad =
      g_ptr_array_new_with_free_func ((GDestroyNotify)af_permission_rule_unref);
  g_ptr_array_add (bad, af_permission_rule_new ("/x", (AfPermission)0, AF_PATTERN_KIND_GLOB, 0));
  g_assert_null (af_presets_extend ("read-only", bad, NULL, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
}

static void
test_permission_names (void)
{
  AfPermission permission = 0;
  g_assert_true (af_permission_from_string ("WRITE", &permission, NULL));
  g_assert_cmpint (permission, ==, AF_PERMISSION_WRITE);
  g_assert_cmpstr (af_permission_to_string (AF_PERMISSION_VIEW), ==, "view");
  g_assert_null (af_permission_to_string ((AfPermission)7));
  g_assert_cmpstr (af_pattern_kind_to_string (AF_PATTERN_KIND_DIRECTORY), ==, "directory");

  g_autoptr (GError) error = NULL;
  g_assert_false (af_permission_from_string ("admin", &permission, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);

  /* The boxed type round-trips through GValue. */
  g_autoptr (AfPermissionRule) rule =
      af_permission_rule_new ("/a", AF_PERMISSION_READ, AF_PATTERN_KIND_FILE, 3);
  g_auto (GValue) value = G_VALUE_INIT;
  g_value_init (&value, af_permission_rule_get_type ());
  g_value_set_boxed (&value, rule);
  g_assert_true (g_value_get_boxed (&value) == rule);
  g_assert_cmpstr (af_sdk_get_version (), ==, AF_SDK_VERSION_STRING);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sdk/presets/list", test_list);
  g_test_add_func ("/sdk/presets/get", test_get);
  g_test_add_func ("/sdk/presets/extend", test_extend);
  g_test_add_func ("/sdk/presets/permission-names", test_permission_names);
  return g_test_run ();
}
