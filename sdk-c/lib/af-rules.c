/* af-rules.c — AfPermissionRule, the immutable boxed rule of the public
 * API, and the names of levels and pattern kinds.
 *
 * Must never: validate patterns (the server and libafpolicy do, with the
 * rule index in the message). */
#include "af-sdk-private.h"

struct _AfPermissionRule {
  gint ref_count;
  char *pattern;
  AfPermission permission;
  AfPatternKind kind;
  gint priority;
};

G_DEFINE_BOXED_TYPE (AfPermissionRule, af_permission_rule, af_permission_rule_ref,
                     af_permission_rule_unref)

static const char *const permission_names[] = {
  [AF_PERMISSION_NONE] = "none",
  [AF_PERMISSION_VIEW] = "view",
  [AF_PERMISSION_READ] = "read",
  [AF_PERMISSION_WRITE] = "write",
};

const char *
af_permission_to_string (AfPermission permission)
{
  if ((int)permission < AF_PERMISSION_NONE || permission > AF_PERMISSION_WRITE)
    return NULL;
  return permission_names[permission];
}

gboolean
af_permission_from_string (const char *text, AfPermission *out_permission, GError **error)
{
  for (int p = AF_PERMISSION_NONE; p <= AF_PERMISSION_WRITE; p++) {
    if (text != NULL && g_ascii_strcasecmp (text, permission_names[p]) == 0) {
      *out_permission = (AfPermission)p;
      return TRUE;
    }
  }
  g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
               "unknown permission '%s' (expected none, view, read or write)",
               text != NULL ? text : "");
  return FALSE;
}

const char *
af_pattern_kind_to_string (AfPatternKind kind)
{
  switch (kind) {
  case AF_PATTERN_KIND_GLOB:
    return "glob";
  case AF_PATTERN_KIND_DIRECTORY:
    return "directory";
  case AF_PATTERN_KIND_FILE:
    return "file";
  }
  return NULL;
}

AfPermissionRule *
af_permission_rule_new (const char *pattern, AfPermission permission, AfPatternKind kind,
                        gint priority)
{
  g_return_val_if_fail (pattern != NULL, NULL);

  AfPermissionRule *rule = g_new0 (AfPermissionRule, 1);
  rule->ref_count = 1;
  rule->pattern = g_strdup (pattern);
  rule->permission = permission;
  rule->kind = kind;
  rule->priority = priority;
  return rule;
}

AfPermissionRule *
af_permission_rule_ref (AfPermissionRule *rule)
{
  g_return_val_if_fail (rule != NULL, NULL);
  g_atomic_int_inc (&rule->ref_count);
  return rule;
}

void
af_permission_rule_unref (AfPermissionRule *rule)
{
  if (rule == NULL || !g_atomic_int_dec_and_test (&rule->ref_count))
    return;
  g_free (rule->pattern);
  g_free (rule);
}

const char *
af_permission_rule_get_pattern (const AfPermissionRule *rule)
{
  return rule->pattern;
}

AfPermission
af_permission_rule_get_permission (const AfPermissionRule *rule)
{
  return rule->permission;
}

AfPatternKind
af_permission_rule_get_kind (const AfPermissionRule *rule)
{
  return rule->kind;
}

gint
af_permission_rule_get_priority (const AfPermissionRule *rule)
{
  return rule->priority;
}

GPtrArray *
af_sdk_rules_from_wire (Sandbox__V1__PermissionRule **rules, size_t n)
{
  GPtrArray *out = g_ptr_array_new_full (n, (GDestroyNotify)af_permission_rule_unref);
  for (size_t i = 0; i < n; i++)
    g_ptr_array_add (out,
                     af_permission_rule_new (rules[i]->pattern, (AfPermission)rules[i]->permission,
                                             (AfPatternKind)rules[i]->type, rules[i]->priority));
  return out;
}

Sandbox__V1__PermissionRule **
af_sdk_rules_to_wire (GPtrArray *rules, Sandbox__V1__PermissionRule **out_storage)
{
  guint n = rules != NULL ? rules->len : 0;
  Sandbox__V1__PermissionRule *storage = g_new0 (Sandbox__V1__PermissionRule, n + 1);
  Sandbox__V1__PermissionRule **ptrs = g_new0 (Sandbox__V1__PermissionRule *, n + 1);
  for (guint i = 0; i < n; i++) {
    const AfPermissionRule *rule = g_ptr_array_index (rules, i);
    sandbox__v1__permission_rule__init (&storage[i]);
    storage[i].pattern = rule->pattern;
    storage[i].type = (Sandbox__V1__PatternType)rule->kind;
    storage[i].permission = (Sandbox__V1__Permission)rule->permission;
    storage[i].priority = rule->priority;
    ptrs[i] = &storage[i];
  }
  *out_storage = storage;
  return ptrs;
}
