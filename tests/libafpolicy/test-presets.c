/* Presets: the exact built-in rules, the unknown-name error, custom
 * registration, a directory of JSON presets, and extend(). */
#include "afcore.h"
#include "afpolicy.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  const char *pattern;
  AfLevel level;
  gint32 priority;
} Expect;

static void
assert_preset (AfPresetRegistry *reg, const char *name, const Expect *want, guint n)
{
  g_autoptr (GArray) rules = af_rule_array_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (af_preset_registry_expand (reg, name, rules, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (rules->len, ==, n);
  for (guint i = 0; i < n; i++) {
    const AfRule *r = &g_array_index (rules, AfRule, i);
    g_assert_cmpstr (r->pattern, ==, want[i].pattern);
    g_assert_cmpint (r->type, ==, AF_PATTERN_GLOB);
    g_assert_cmpint (r->level, ==, want[i].level);
    g_assert_cmpint (r->priority, ==, want[i].priority);
  }
}

static void
test_builtins (void)
{
  g_autoptr (AfPresetRegistry) reg = af_preset_registry_new ();
  static const Expect view[] = { { "**/*", AF_LEVEL_VIEW, 0 } };
  static const Expect read[] = { { "**/*", AF_LEVEL_READ, 0 } };
  static const Expect full[] = { { "**/*", AF_LEVEL_WRITE, 0 } };
  static const Expect dev[] = {
    { "**/*", AF_LEVEL_WRITE, 0 },           { "**/.env*", AF_LEVEL_NONE, 100 },
    { "**/secrets/**", AF_LEVEL_NONE, 100 }, { "**/*.key", AF_LEVEL_NONE, 100 },
    { "**/*.pem", AF_LEVEL_NONE, 100 },
  };
  static const Expect safe[] = {
    { "**/*", AF_LEVEL_READ, 0 },
    { "/output/**", AF_LEVEL_WRITE, 10 },
    { "/tmp/**", AF_LEVEL_WRITE, 10 },
    { "**/.env*", AF_LEVEL_NONE, 100 },
    { "**/secrets/**", AF_LEVEL_NONE, 100 },
    { "**/*.key", AF_LEVEL_NONE, 100 },
    { "**/*.pem", AF_LEVEL_NONE, 100 },
    { "**/credentials*", AF_LEVEL_NONE, 100 },
    { "**/.git/**", AF_LEVEL_NONE, 50 },
  };
  assert_preset (reg, "view-only", view, G_N_ELEMENTS (view));
  assert_preset (reg, "read-only", read, G_N_ELEMENTS (read));
  assert_preset (reg, "full-access", full, G_N_ELEMENTS (full));
  assert_preset (reg, "development", dev, G_N_ELEMENTS (dev));
  assert_preset (reg, "agent-safe", safe, G_N_ELEMENTS (safe));

  g_auto (GStrv) names = af_preset_registry_list (reg);
  g_autofree char *joined = g_strjoinv (",", names);
  g_assert_cmpstr (joined, ==, "agent-safe,development,full-access,read-only,view-only");
}

static void
test_unknown (void)
{
  g_autoptr (AfPresetRegistry) reg = af_preset_registry_new ();
  g_autoptr (GArray) rules = af_rule_array_new ();
  g_autoptr (GError) error = NULL;
  g_assert_false (af_preset_registry_expand (reg, "yolo", rules, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "unknown preset 'yolo'"));
  g_assert_nonnull (
      strstr (error->message, "agent-safe, development, full-access, read-only, view-only"));
  g_assert_cmpuint (rules->len, ==, 0);
}

static void
test_custom (void)
{
  g_autoptr (AfPresetRegistry) reg = af_preset_registry_new ();
  AfRule rules[] = { { (char *)"/src", AF_PATTERN_DIRECTORY, AF_LEVEL_WRITE, 3 } };
  g_autoptr (GError) error = NULL;
  g_assert_true (af_preset_registry_add (reg, "src-only", rules, 1, &error));
  g_assert_no_error (error);
  g_autoptr (GArray) out = af_rule_array_new ();
  g_assert_true (af_preset_registry_expand (reg, "src-only", out, NULL));
  g_assert_cmpuint (out->len, ==, 1);
  g_assert_cmpint (g_array_index (out, AfRule, 0).type, ==, AF_PATTERN_DIRECTORY);
  g_assert_cmpint (g_array_index (out, AfRule, 0).priority, ==, 3);

  /* Built-in names are reserved; bad names and bad rules are refused. */
  g_assert_false (af_preset_registry_add (reg, "agent-safe", rules, 1, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_ALREADY_EXISTS);
  g_clear_error (&error);
  g_assert_false (af_preset_registry_add (reg, "a/b", rules, 1, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (af_preset_registry_add (reg, "", rules, 1, &error));
  g_clear_error (&error);
  AfRule bad[] = { { (char *)"/ok", AF_PATTERN_GLOB, AF_LEVEL_READ, 0 },
                   { (char *)"/a/[", AF_PATTERN_GLOB, AF_LEVEL_READ, 0 } };
  g_assert_false (af_preset_registry_add (reg, "broken", bad, 2, &error));
  g_assert_nonnull (strstr (error->message, "preset 'broken': rule 1: unbalanced '['"));
  g_clear_error (&error);
  /* A JSON rule file may name the custom preset. */
  g_autoptr (GArray) parsed = af_rule_array_new ();
  g_assert_true (af_rules_parse_json ("{\"preset\": \"src-only\"}", -1, reg, parsed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (parsed->len, ==, 1);
}

static void
write_file (const char *dir, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_unlink (path);
  }
  g_rmdir (dir);
}

static void
test_load_dir (void)
{
  g_autofree char *dir = g_dir_make_tmp ("afpolicy-presets-XXXXXX", NULL);
  g_assert_nonnull (dir);
  write_file (dir, "a-docs.json", "[{\"pattern\": \"/docs/**\", \"permission\": \"write\"}]");
  write_file (dir, "b-strict.json",
              "{\"preset\": \"a-docs\", \"rules\": [{\"pattern\": \"**/*.md\", "
              "\"permission\": \"none\", \"priority\": 5}]}");
  write_file (dir, "notes.txt", "not a preset");

  g_autoptr (AfPresetRegistry) reg = af_preset_registry_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (af_preset_registry_load_dir (reg, dir, &error));
  g_assert_no_error (error);
  g_auto (GStrv) names = af_preset_registry_list (reg);
  g_assert_true (g_strv_contains ((const char *const *)names, "a-docs"));
  g_assert_true (g_strv_contains ((const char *const *)names, "b-strict"));
  g_assert_false (g_strv_contains ((const char *const *)names, "notes"));

  g_autoptr (GArray) rules = af_rule_array_new ();
  g_assert_true (af_preset_registry_expand (reg, "b-strict", rules, NULL));
  g_assert_cmpuint (rules->len, ==, 2);
  g_autoptr (AfPolicy) p = af_policy_new ((const AfRule *)(void *)rules->data, rules->len, NULL);
  g_assert_cmpint (af_policy_decide (p, "/docs/x.txt", -1, NULL), ==, AF_LEVEL_WRITE);
  g_assert_cmpint (af_policy_decide (p, "/docs/x.md", -1, NULL), ==, AF_LEVEL_NONE);

  /* A broken file names itself and the rule. */
  write_file (dir, "c-bad.json", "[{\"pattern\": \"/x\", \"permission\": \"rw\"}]");
  g_autoptr (AfPresetRegistry) reg2 = af_preset_registry_new ();
  g_assert_false (af_preset_registry_load_dir (reg2, dir, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "c-bad.json"));
  g_assert_nonnull (strstr (error->message, "rule 0: unknown permission 'rw'"));
  g_clear_error (&error);

  remove_dir (dir);
  /* A missing directory is not an error. */
  g_assert_true (af_preset_registry_load_dir (reg2, dir, &error));
  g_assert_no_error (error);
}

static void
test_extend (void)
{
  AfRule base[] = { { (char *)"**/*", AF_PATTERN_GLOB, AF_LEVEL_READ, 0 },
                    { (char *)"**/.git/**", AF_PATTERN_GLOB, AF_LEVEL_NONE, 50 } };
  AfRule additions[] = { { (char *)"/out", AF_PATTERN_DIRECTORY, AF_LEVEL_WRITE, 7 } };
  AfRule overrides[] = { { (char *)"/.git/config", AF_PATTERN_FILE, AF_LEVEL_READ, 0 },
                         { (char *)"/.git/HEAD", AF_PATTERN_FILE, AF_LEVEL_READ, 50 },
                         { (char *)"/.git/hooks", AF_PATTERN_DIRECTORY, AF_LEVEL_VIEW, 51 } };
  g_autoptr (GArray) out = af_rule_array_new ();
  af_preset_extend (base, 2, additions, 1, overrides, 3, out);
  g_assert_cmpuint (out->len, ==, 6);
  static const gint32 prio[] = { 0, 50, 7, 150, 150, 51 };
  static const char *const pat[] = { "**/*",         "**/.git/**", "/out",
                                     "/.git/config", "/.git/HEAD", "/.git/hooks" };
  for (guint i = 0; i < 6; i++) {
    g_assert_cmpstr (g_array_index (out, AfRule, i).pattern, ==, pat[i]);
    g_assert_cmpint (g_array_index (out, AfRule, i).priority, ==, prio[i]);
  }
  g_autoptr (AfPolicy) p = af_policy_new ((const AfRule *)(void *)out->data, out->len, NULL);
  g_assert_cmpint (af_policy_decide (p, "/.git/config", -1, NULL), ==, AF_LEVEL_READ);
  g_assert_cmpint (af_policy_decide (p, "/.git/objects", -1, NULL), ==, AF_LEVEL_NONE);

  /* An empty base counts as highest 0; the raise saturates at G_MAXINT32. */
  g_autoptr (GArray) out2 = af_rule_array_new ();
  af_preset_extend (NULL, 0, NULL, 0, overrides, 1, out2);
  g_assert_cmpint (g_array_index (out2, AfRule, 0).priority, ==, 100);
  AfRule top[] = { { (char *)"/a", AF_PATTERN_GLOB, AF_LEVEL_READ, G_MAXINT32 - 10 } };
  g_autoptr (GArray) out3 = af_rule_array_new ();
  af_preset_extend (top, 1, NULL, 0, overrides, 1, out3);
  g_assert_cmpint (g_array_index (out3, AfRule, 1).priority, ==, G_MAXINT32);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/presets/builtins", test_builtins);
  g_test_add_func ("/presets/unknown", test_unknown);
  g_test_add_func ("/presets/custom", test_custom);
  g_test_add_func ("/presets/load-dir", test_load_dir);
  g_test_add_func ("/presets/extend", test_extend);
  return g_test_run ();
}
