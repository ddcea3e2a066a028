/* af-presets.c — the presets API of libagentfense: list, get and extend,
 * thin wrappers over libafpolicy's registry so the client expands presets
 * exactly as the server and af-fuse understand them.
 *
 * Owns: the conversion between AfPermissionRule (public) and AfRule
 * (libafpolicy). Must never: define preset contents (libafpolicy does). */
#include "af-sdk-private.h"

#include "afpolicy.h"

static GPtrArray *
rules_to_public (GArray *rules)
{
  GPtrArray *out = g_ptr_array_new_full (rules->len, (GDestroyNotify)af_permission_rule_unref);
  for (guint i = 0; i < rules->len; i++) {
    const AfRule *rule = &g_array_index (rules, AfRule, i);
    g_ptr_array_add (out, af_permission_rule_new (
                              rule->pattern, (AfPermission)af_level_to_wire (rule->level),
                              (AfPatternKind)af_pattern_type_to_wire (rule->type), rule->priority));
  }
  return out;
}

/* Converts @rules (may be NULL) to AfRule, appending to @out. The patterns
 * are copied: @out clears its elements. */
static gboolean
rules_from_public (GPtrArray *rules, const char *what, GArray *out, GError **error)
{
  for (guint i = 0; rules != NULL && i < rules->len; i++) {
    const AfPermissionRule *rule = rules->pdata[i];
    AfRule converted = { 0 };
    g_autoptr (GError) local_error = NULL;

    if (!af_level_from_wire (af_permission_rule_get_permission (rule), &converted.level,
                             &local_error) ||
        !af_pattern_type_from_wire (af_permission_rule_get_kind (rule), &converted.type,
                                    &local_error)) {
      g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION, "%s rule %u: %s", what,
                   i, local_error->message);
      return FALSE;
    }
    converted.pattern = g_strdup (af_permission_rule_get_pattern (rule));
    converted.priority = af_permission_rule_get_priority (rule);
    g_array_append_val (out, converted);
  }
  return TRUE;
}

static GArray *
expand (const char *name, GError **error)
{
  g_autoptr (AfPresetRegistry) registry = af_preset_registry_new ();
  g_autoptr (GArray) rules = af_rule_array_new ();
  g_autoptr (GError) local_error = NULL;

  if (name == NULL || !af_preset_registry_expand (registry, name, rules, &local_error)) {
    g_set_error_literal (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION,
                         local_error != NULL ? local_error->message : "preset name is required");
    return NULL;
  }
  return g_steal_pointer (&rules);
}

char **
af_presets_list (void)
{
  g_autoptr (AfPresetRegistry) registry = af_preset_registry_new ();
  return af_preset_registry_list (registry);
}

GPtrArray *
af_presets_get (const char *name, GError **error)
{
  g_autoptr (GArray) rules = expand (name, error);
  if (rules == NULL)
    return NULL;
  return rules_to_public (rules);
}

GPtrArray *
af_presets_extend (const char *base, GPtrArray *additions, GPtrArray *overrides, GError **error)
{
  g_autoptr (GArray) base_rules = expand (base, error);
  if (base_rules == NULL)
    return NULL;

  g_autoptr (GArray) add = af_rule_array_new ();
  g_autoptr (GArray) over = af_rule_array_new ();
  if (!rules_from_public (additions, "addition", add, error) ||
      !rules_from_public (overrides, "override", over, error))
    return NULL;

  g_autoptr (GArray) out = af_rule_array_new ();
  af_preset_extend ((const AfRule *)(void *)base_rules->data, base_rules->len,
                    (const AfRule *)(void *)add->data, add->len, (const AfRule *)(void *)over->data,
                    over->len, out);
  return rules_to_public (out);
}
