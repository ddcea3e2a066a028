/* af-rules-json.c — rule files: a JSON array of rules, or an object
 * {"preset": NAME, "rules": [...]} (the preset's rules first).
 *
 * Owns the file format and its error messages, which name the rule by its
 * index in the expanded list (and by its place in "rules" when they differ).
 * Strict: unknown members and wrong JSON types are errors, so a typo never
 * silently widens access. Reads a file only in af_rules_load_file. */
#include "afpolicy.h"

#include "af-error.h"
#include "af-glob.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define AF_RULES_FILE_MAX (16 * 1024 * 1024)

typedef struct {
  GPtrArray *errors; /* collect mode: every message; else stop at the first */
  GError **error;
  gboolean failed;
} Report;

static void report (Report *rep, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
report (Report *rep, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (rep->errors != NULL)
    g_ptr_array_add (rep->errors, msg);
  else if (!rep->failed)
    g_set_error_literal (rep->error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, msg);
  if (rep->errors == NULL)
    g_free (msg);
  rep->failed = TRUE;
}

/* "rule 7" or "rule 7 (rules[2])" */
static char *
rule_label (gsize expanded, gsize in_file, gboolean object_form)
{
  if (object_form)
    return g_strdup_printf ("rule %" G_GSIZE_FORMAT " (rules[%" G_GSIZE_FORMAT "])", expanded,
                            in_file);
  return g_strdup_printf ("rule %" G_GSIZE_FORMAT, expanded);
}

static gboolean
parse_enum (JsonNode *node, gboolean is_level, int *out, GError **error)
{
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64) {
    gint64 v = json_node_get_int (node);
    if (v < G_MININT || v > G_MAXINT)
      v = G_MAXINT;
    if (is_level) {
      AfLevel level;
      if (!af_level_from_wire ((int)v, &level, error))
        return FALSE;
      *out = (int)level;
    } else {
      AfPatternType type;
      if (!af_pattern_type_from_wire ((int)v, &type, error))
        return FALSE;
      *out = (int)type;
    }
    return TRUE;
  }
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING) {
    const char *s = json_node_get_string (node);
    if (is_level) {
      AfLevel level;
      if (!af_level_parse (s, &level, error))
        return FALSE;
      *out = (int)level;
    } else {
      AfPatternType type;
      if (!af_pattern_type_parse (s, &type, error))
        return FALSE;
      *out = (int)type;
    }
    return TRUE;
  }
  g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
               "%s must be a string or a wire enum number", is_level ? "permission" : "type");
  return FALSE;
}

/* One rule object; appends it to @out when valid. */
static void
parse_rule (JsonNode *node, const char *label, GArray *out, Report *rep)
{
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    report (rep, "%s: must be an object", label);
    return;
  }
  JsonObject *obj = json_node_get_object (node);
  AfRule rule = { NULL, AF_PATTERN_GLOB, AF_LEVEL_NONE, 0 };
  gboolean have_level = FALSE, ok = TRUE;

  JsonObjectIter iter;
  const char *member;
  JsonNode *value;
  json_object_iter_init (&iter, obj);
  while (json_object_iter_next (&iter, &member, &value)) {
    g_autoptr (GError) local = NULL;
    if (strcmp (member, "pattern") == 0) {
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING) {
        report (rep, "%s: pattern must be a string", label);
        ok = FALSE;
      } else {
        rule.pattern = (char *)json_node_get_string (value);
      }
    } else if (strcmp (member, "permission") == 0) {
      int v;
      if (!parse_enum (value, TRUE, &v, &local)) {
        report (rep, "%s: %s", label, local->message);
        ok = FALSE;
      } else {
        rule.level = (AfLevel)v;
        have_level = TRUE;
      }
    } else if (strcmp (member, "type") == 0) {
      int v;
      if (!parse_enum (value, FALSE, &v, &local)) {
        report (rep, "%s: %s", label, local->message);
        ok = FALSE;
      } else {
        rule.type = (AfPatternType)v;
      }
    } else if (strcmp (member, "priority") == 0) {
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_INT64 ||
          json_node_get_int (value) < G_MININT32 || json_node_get_int (value) > G_MAXINT32) {
        report (rep, "%s: priority must be an integer from %d to %d", label, G_MININT32,
                G_MAXINT32);
        ok = FALSE;
      } else {
        rule.priority = (gint32)json_node_get_int (value);
      }
    } else {
      report (rep, "%s: unknown member '%s' (expected pattern, permission, type, priority)", label,
              member);
      ok = FALSE;
    }
  }
  if (!ok)
    return;
  if (rule.pattern == NULL) {
    report (rep, "%s: pattern is missing", label);
    return;
  }
  if (!have_level) {
    report (rep, "%s: permission is missing (none, view, read or write)", label);
    return;
  }
  g_autoptr (GError) local = NULL;
  g_autoptr (AfGlob) glob = af_glob_compile (rule.pattern, -1, rule.type, &local);
  if (glob == NULL) {
    report (rep, "%s: %s", label, local->message);
    return;
  }
  af_rule_array_add (out, rule.pattern, rule.type, rule.level, rule.priority);
}

static void
parse_rules_array (JsonArray *array, gsize base, gboolean object_form, GArray *out, Report *rep)
{
  guint n = json_array_get_length (array);
  if (base + n > AF_POLICY_MAX_RULES) {
    report (rep, "too many rules: %" G_GSIZE_FORMAT " (the limit is %d)", base + n,
            AF_POLICY_MAX_RULES);
    return;
  }
  for (guint i = 0; i < n; i++) {
    g_autofree char *label = rule_label (base + i, i, object_form);
    parse_rule (json_array_get_element (array, i), label, out, rep);
    if (rep->failed && rep->errors == NULL)
      return;
  }
}

gboolean
af_rules_parse_json_full (const char *data, gssize len, AfPresetRegistry *registry, GArray *out,
                          GPtrArray *errors, GError **error)
{
  Report rep = { errors, error, FALSE };
  gsize n = len < 0 ? strlen (data) : (gsize)len;
  if (n > AF_RULES_FILE_MAX) {
    report (&rep, "rule file is %" G_GSIZE_FORMAT " bytes; the limit is %d", n, AF_RULES_FILE_MAX);
    return FALSE;
  }
  /* json-glib stops at a NUL; a NUL inside would hide what follows it. */
  if (memchr (data, '\0', n) != NULL) {
    report (&rep, "rule file contains a NUL byte");
    return FALSE;
  }

  /* json-glib decodes "\u0000" and then cuts the string there, which would
   * silently change a pattern; refuse it before parsing. */
  for (gsize i = 0; i < n; i++) {
    if (data[i] != '\\')
      continue;
    gsize run = 0;
    while (i < n && data[i] == '\\') {
      run++;
      i++;
    }
    if (run % 2 == 1 && n - i >= 5 && memcmp (data + i, "u0000", 5) == 0) {
      report (&rep, "rule file contains a NUL byte (\\u0000) in a string");
      return FALSE;
    }
  }

  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (parser, data, (gssize)n, &local)) {
    report (&rep, "not valid JSON: %s", local->message);
    return FALSE;
  }
  JsonNode *root = json_parser_get_root (parser);
  g_autoptr (AfPresetRegistry) own = NULL;
  guint start = out->len;

  if (root == NULL) {
    report (&rep, "rule file is empty");
  } else if (JSON_NODE_HOLDS_ARRAY (root)) {
    parse_rules_array (json_node_get_array (root), 0, FALSE, out, &rep);
  } else if (JSON_NODE_HOLDS_OBJECT (root)) {
    JsonObject *obj = json_node_get_object (root);
    JsonNode *preset = NULL, *rules = NULL;
    JsonObjectIter iter;
    const char *member;
    JsonNode *value;
    json_object_iter_init (&iter, obj);
    while (json_object_iter_next (&iter, &member, &value)) {
      if (strcmp (member, "preset") == 0)
        preset = value;
      else if (strcmp (member, "rules") == 0)
        rules = value;
      else
        report (&rep, "unknown member '%s' (expected preset, rules)", member);
    }
    gsize base = 0;
    if (!rep.failed && preset != NULL) {
      if (!JSON_NODE_HOLDS_VALUE (preset) || json_node_get_value_type (preset) != G_TYPE_STRING) {
        report (&rep, "preset must be a string");
      } else {
        if (registry == NULL)
          registry = own = af_preset_registry_new ();
        g_autoptr (GArray) expanded = af_rule_array_new ();
        if (!af_preset_registry_expand (registry, json_node_get_string (preset), expanded,
                                        &local)) {
          report (&rep, "%s", local->message);
        } else {
          base = expanded->len;
          for (guint i = 0; i < expanded->len; i++) {
            const AfRule *r = &g_array_index (expanded, AfRule, i);
            af_rule_array_add (out, r->pattern, r->type, r->level, r->priority);
          }
        }
      }
    }
    if ((!rep.failed || errors != NULL) && rules != NULL) {
      if (!JSON_NODE_HOLDS_ARRAY (rules))
        report (&rep, "rules must be an array");
      else
        parse_rules_array (json_node_get_array (rules), base, TRUE, out, &rep);
    }
  } else {
    report (&rep, "a rule file must be a JSON array of rules or an object with "
                  "\"preset\" and/or \"rules\"");
  }

  if (rep.failed) {
    g_array_set_size (out, start);
    if (errors != NULL && error != NULL && errors->len > 0)
      g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, errors->pdata[0]);
    return FALSE;
  }
  return TRUE;
}

gboolean
af_rules_parse_json (const char *data, gssize len, AfPresetRegistry *registry, GArray *out,
                     GError **error)
{
  return af_rules_parse_json_full (data, len, registry, out, NULL, error);
}

gboolean
af_rules_load_file (const char *path, AfPresetRegistry *registry, GArray *out, GError **error)
{
  g_autofree char *data = NULL;
  gsize n = 0;
  g_autoptr (GError) local = NULL;
  GStatBuf st;
  /* Refuse a huge file before reading it (the parser re-checks the bound). */
  if (g_stat (path, &st) == 0 && st.st_size > AF_RULES_FILE_MAX) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "%s: rule file is %" G_GINT64_FORMAT " bytes; the limit is %d", path,
                 (gint64)st.st_size, AF_RULES_FILE_MAX);
    return FALSE;
  }
  if (!g_file_get_contents (path, &data, &n, &local)) {
    g_set_error (error, AF_ERROR,
                 g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? AF_ERROR_NOT_FOUND
                     : AF_ERROR_INVALID_ARGUMENT,
                 "%s", local->message);
    return FALSE;
  }
  return af_rules_parse_json (data, (gssize)n, registry, out, error);
}
