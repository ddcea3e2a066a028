/* af-rule.c — the vocabulary of rules: levels, pattern types, their names
 * and wire values, and rule arrays. Owns the one table of names; must never
 * know about matching. */
#include "afpolicy.h"

#include "af-error.h"

#include <string.h>

static const char *const level_names[] = { "none", "view", "read", "write" };
static const char *const level_wire_names[] = { "PERMISSION_NONE", "PERMISSION_VIEW",
                                                "PERMISSION_READ", "PERMISSION_WRITE" };
static const char *const type_names[] = { "glob", "directory", "file" };
static const char *const type_wire_names[] = { "PATTERN_TYPE_GLOB", "PATTERN_TYPE_DIRECTORY",
                                               "PATTERN_TYPE_FILE" };

void
af_rule_clear (AfRule *rule)
{
  if (rule == NULL)
    return;
  g_clear_pointer (&rule->pattern, g_free);
}

const char *
af_level_to_string (AfLevel level)
{
  if ((guint)level <= AF_LEVEL_WRITE)
    return level_names[level];
  return "invalid";
}

gboolean
af_level_parse (const char *text, AfLevel *out_level, GError **error)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (level_names); i++) {
    if (g_ascii_strcasecmp (text, level_names[i]) == 0 ||
        g_ascii_strcasecmp (text, level_wire_names[i]) == 0) {
      *out_level = (AfLevel)i;
      return TRUE;
    }
  }
  g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
               "unknown permission '%s' (expected none, view, read or write)",
               text ? text : "(null)");
  return FALSE;
}

const char *
af_pattern_type_to_string (AfPatternType type)
{
  if ((guint)type <= AF_PATTERN_FILE)
    return type_names[type];
  return "invalid";
}

gboolean
af_pattern_type_parse (const char *text, AfPatternType *out_type, GError **error)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (type_names); i++) {
    if (g_ascii_strcasecmp (text, type_names[i]) == 0 ||
        g_ascii_strcasecmp (text, type_wire_names[i]) == 0) {
      *out_type = (AfPatternType)i;
      return TRUE;
    }
  }
  g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
               "unknown pattern type '%s' (expected glob, directory or file)",
               text ? text : "(null)");
  return FALSE;
}

gboolean
af_level_from_wire (int wire_permission, AfLevel *out_level, GError **error)
{
  /* sandbox.v1.Permission: UNSPECIFIED=0, NONE=1, VIEW=2, READ=3, WRITE=4 */
  if (wire_permission >= 1 && wire_permission <= 4) {
    *out_level = (AfLevel)(wire_permission - 1);
    return TRUE;
  }
  if (wire_permission == 0)
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "permission is unspecified (expected none, view, read or write)");
  else
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "unknown permission value %d",
                 wire_permission);
  return FALSE;
}

int
af_level_to_wire (AfLevel level)
{
  return (guint)level <= AF_LEVEL_WRITE ? (int)level + 1 : 0;
}

gboolean
af_pattern_type_from_wire (int wire_type, AfPatternType *out_type, GError **error)
{
  /* sandbox.v1.PatternType: UNSPECIFIED=0 (glob), GLOB=1, DIRECTORY=2, FILE=3 */
  if (wire_type == 0) {
    *out_type = AF_PATTERN_GLOB;
    return TRUE;
  }
  if (wire_type >= 1 && wire_type <= 3) {
    *out_type = (AfPatternType)(wire_type - 1);
    return TRUE;
  }
  g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "unknown pattern type value %d",
               wire_type);
  return FALSE;
}

int
af_pattern_type_to_wire (AfPatternType type)
{
  return (guint)type <= AF_PATTERN_FILE ? (int)type + 1 : 0;
}

static void
rule_array_clear (gpointer data)
{
  af_rule_clear (data);
}

GArray *
af_rule_array_new (void)
{
  GArray *a = g_array_new (FALSE, TRUE, sizeof (AfRule));
  g_array_set_clear_func (a, rule_array_clear);
  return a;
}

void
af_rule_array_add (GArray *rules, const char *pattern, AfPatternType type, AfLevel level,
                   gint32 priority)
{
  AfRule r = { g_strdup (pattern), type, level, priority };
  g_array_append_val (rules, r);
}

char *
af_rule_to_string (const AfRule *rule)
{
  return g_strdup_printf ("%s '%s' %s priority %d", af_pattern_type_to_string (rule->type),
                          rule->pattern ? rule->pattern : "", af_level_to_string (rule->level),
                          rule->priority);
}
