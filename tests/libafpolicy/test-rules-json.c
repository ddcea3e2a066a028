/* JSON rule files: both shapes, defaults, permission/type spellings, strict
 * members, rule-indexed errors, collect-all mode, limits, files on disk. */
#include "afcore.h"
#include "afpolicy.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static GArray *
parse_ok (const char *json)
{
  GArray *rules = af_rule_array_new ();
  g_autoptr (GError) error = NULL;
  if (!af_rules_parse_json (json, -1, NULL, rules, &error))
    g_error ("%s: %s", json, error->message);
  return rules;
}

static void
parse_fails (const char *json, const char *why)
{
  g_autoptr (GArray) rules = af_rule_array_new ();
  af_rule_array_add (rules, "/keep", AF_PATTERN_GLOB, AF_LEVEL_READ, 0);
  g_autoptr (GError) error = NULL;
  if (af_rules_parse_json (json, -1, NULL, rules, &error))
    g_error ("%s: parsed, expected '%s'", json, why);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  if (strstr (error->message, why) == NULL)
    g_error ("%s: got '%s', expected '%s'", json, error->message, why);
  /* Nothing half-parsed is left behind. */
  g_assert_cmpuint (rules->len, ==, 1);
}

static void
test_array (void)
{
  g_autoptr (GArray) r = parse_ok (
      "[{\"pattern\": \"/docs/**\", \"permission\": \"write\", \"type\": \"glob\", "
      "\"priority\": 10},"
      " {\"pattern\": \"/src\", \"permission\": \"PERMISSION_READ\", \"type\": \"directory\"},"
      " {\"pattern\": \"/a\", \"permission\": \"view\", \"type\": \"PATTERN_TYPE_FILE\", "
      "\"priority\": -3},"
      " {\"pattern\": \"**/*\", \"permission\": 2, \"type\": 0}]");
  g_assert_cmpuint (r->len, ==, 4);
  AfRule *a = (AfRule *)(void *)r->data;
  g_assert_cmpstr (a[0].pattern, ==, "/docs/**");
  g_assert_cmpint (a[0].level, ==, AF_LEVEL_WRITE);
  g_assert_cmpint (a[0].priority, ==, 10);
  g_assert_cmpint (a[1].type, ==, AF_PATTERN_DIRECTORY);
  g_assert_cmpint (a[1].level, ==, AF_LEVEL_READ);
  g_assert_cmpint (a[1].priority, ==, 0); /* default */
  g_assert_cmpint (a[2].type, ==, AF_PATTERN_FILE);
  g_assert_cmpint (a[2].priority, ==, -3);
  g_assert_cmpint (a[3].type, ==, AF_PATTERN_GLOB); /* wire 0 = unspecified = glob */
  g_assert_cmpint (a[3].level, ==, AF_LEVEL_VIEW);  /* wire 2 = view */

  g_autoptr (GArray) empty = parse_ok ("[]");
  g_assert_cmpuint (empty->len, ==, 0);
  g_autoptr (GArray) dflt = parse_ok ("[{\"pattern\": \"/x\", \"permission\": \"none\"}]");
  g_assert_cmpint (g_array_index (dflt, AfRule, 0).type, ==, AF_PATTERN_GLOB);
}

static void
test_object (void)
{
  g_autoptr (GArray) r = parse_ok ("{\"preset\": \"agent-safe\", \"rules\": [{\"pattern\": "
                                   "\"/docs/**\", \"permission\": \"write\", \"priority\": 20}]}");
  g_assert_cmpuint (r->len, ==, 10);
  g_assert_cmpstr (g_array_index (r, AfRule, 0).pattern, ==, "**/*");
  g_assert_cmpstr (g_array_index (r, AfRule, 9).pattern, ==, "/docs/**");
  g_autoptr (GArray) only_preset = parse_ok ("{\"preset\": \"read-only\"}");
  g_assert_cmpuint (only_preset->len, ==, 1);
  g_autoptr (GArray) only_rules =
      parse_ok ("{\"rules\": [{\"pattern\": \"/a\", \"permission\": \"read\"}]}");
  g_assert_cmpuint (only_rules->len, ==, 1);
}

static void
test_errors (void)
{
  parse_fails ("", "rule file is empty");
  parse_fails ("  ", "rule file is empty");
  parse_fails ("[{", "not valid JSON");
  parse_fails ("42", "must be a JSON array of rules or an object");
  parse_fails ("[42]", "rule 0: must be an object");
  parse_fails ("[{\"permission\": \"read\"}]", "rule 0: pattern is missing");
  parse_fails ("[{\"pattern\": \"/a\"}]", "rule 0: permission is missing");
  parse_fails ("[{\"pattern\": 5, \"permission\": \"read\"}]", "rule 0: pattern must be a string");
  parse_fails ("[{\"pattern\": \"/a\", \"permission\": \"read\"}, {\"pattern\": \"/b\", "
               "\"permission\": \"rwx\"}]",
               "rule 1: unknown permission 'rwx'");
  parse_fails ("[{\"pattern\": \"/a\", \"permission\": \"read\", \"type\": \"regex\"}]",
               "rule 0: unknown pattern type 'regex'");
  parse_fails ("[{\"pattern\": \"/a\", \"permission\": 0}]", "rule 0: permission is unspecified");
  parse_fails ("[{\"pattern\": \"/a\", \"permission\": 9}]", "rule 0: unknown permission value 9");
  parse_fails ("[{\"pattern\": \"/a\", \"permission\": true}]", "rule 0: permission must be");
  parse_fails ("[{\"pattern\": \"/a\", \"permission\": \"read\", \"priority\": 1.5}]",
               "rule 0: priority must be an integer");
  parse_fails ("[{\"pattern\": \"/a\", \"permission\": \"read\", \"priority\": 2147483648}]",
               "rule 0: priority must be an integer");
  parse_fails ("[{\"pattern\": \"/a\", \"permission\": \"read\", \"permision\": \"write\"}]",
               "rule 0: unknown member 'permision'");
  parse_fails ("[{\"pattern\": \"/a/[x\", \"permission\": \"read\"}]", "rule 0: unbalanced '['");
  parse_fails ("[{\"pattern\": \"/../a\", \"permission\": \"read\"}]", "above the codebase root");
  parse_fails ("[{\"pattern\": \"/a/*\", \"permission\": \"read\", \"type\": \"file\"}]",
               "rule 0: wildcards");
  parse_fails ("{\"preset\": \"nope\"}", "unknown preset 'nope'");
  parse_fails ("{\"preset\": 3}", "preset must be a string");
  parse_fails ("{\"rules\": {}}", "rules must be an array");
  parse_fails ("{\"preset\": \"read-only\", \"extra\": 1}", "unknown member 'extra'");
  /* In the object form, the index is in the expanded list, with the file's
   * own position alongside. */
  parse_fails ("{\"preset\": \"agent-safe\", \"rules\": [{\"pattern\": \"/a\", \"permission\": "
               "\"read\"}, {\"pattern\": \"\", \"permission\": \"read\"}]}",
               "rule 10 (rules[1]): empty pattern");
  /* A NUL byte inside the data. */
  g_autoptr (GArray) rules = af_rule_array_new ();
  g_autoptr (GError) error = NULL;
  g_assert_false (af_rules_parse_json ("[]\0[]", 5, NULL, rules, &error));
  g_assert_nonnull (strstr (error->message, "NUL"));
  g_clear_error (&error);
  g_assert_false (af_rules_parse_json ("[{\"pattern\": \"/a\\u0000b\", \"permission\": \"read\"}]",
                                       -1, NULL, rules, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
}

static void
test_collect_all (void)
{
  g_autoptr (GArray) rules = af_rule_array_new ();
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_assert_false (af_rules_parse_json_full (
      "[{\"pattern\": \"\", \"permission\": \"read\"}, {\"pattern\": \"/ok\", \"permission\": "
      "\"read\"}, {\"pattern\": \"/x\", \"permission\": \"admin\"}, {\"pattern\": \"/a\\\\\", "
      "\"permission\": \"read\"}]",
      -1, NULL, rules, errors, &error));
  g_assert_cmpuint (errors->len, ==, 3);
  g_assert_nonnull (strstr (errors->pdata[0], "rule 0: empty pattern"));
  g_assert_nonnull (strstr (errors->pdata[1], "rule 2: unknown permission"));
  g_assert_nonnull (strstr (errors->pdata[2], "rule 3: trailing '\\'"));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, errors->pdata[0]);
  g_assert_cmpuint (rules->len, ==, 0);
}

static void
test_limits (void)
{
  GString *s = g_string_new ("[");
  for (guint i = 0; i <= AF_POLICY_MAX_RULES; i++)
    g_string_append_printf (s, "%s{\"pattern\": \"/f%u\", \"permission\": \"read\"}", i ? "," : "",
                            i);
  g_string_append_c (s, ']');
  g_autoptr (GArray) rules = af_rule_array_new ();
  g_autoptr (GError) error = NULL;
  g_assert_false (af_rules_parse_json (s->str, (gssize)s->len, NULL, rules, &error));
  g_assert_nonnull (strstr (error->message, "too many rules: 10001 (the limit is 10000)"));
  g_string_free (s, TRUE);
}

static void
test_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("afpolicy-json-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "rules.json", NULL);
  g_assert_true (g_file_set_contents (
      path, "[{\"pattern\": \"/docs/**\", \"permission\": \"write\"}]", -1, NULL));
  g_autoptr (GArray) rules = af_rule_array_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (af_rules_load_file (path, NULL, rules, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (rules->len, ==, 1);
  /* Over 16 MiB: refused before reading (a sparse file costs nothing). */
  g_assert_cmpint (truncate (path, 16 * 1024 * 1024 + 1), ==, 0);
  g_assert_false (af_rules_load_file (path, NULL, rules, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "the limit is 16777216"));
  g_clear_error (&error);
  g_unlink (path);
  g_assert_false (af_rules_load_file (path, NULL, rules, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rules-json/array", test_array);
  g_test_add_func ("/rules-json/object", test_object);
  g_test_add_func ("/rules-json/errors", test_errors);
  g_test_add_func ("/rules-json/collect-all", test_collect_all);
  g_test_add_func ("/rules-json/limits", test_limits);
  g_test_add_func ("/rules-json/file", test_file);
  return g_test_run ();
}
