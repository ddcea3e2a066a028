/* rules.h — permission rules as a client writes them.
 *
 * A rule gives paths matching a pattern a permission level; the highest
 * priority match decides. The semantics are the server's (docs/permissions.md);
 * this header only carries rules to and from the API. */
#pragma once

#include <agentfense/macros.h>
#include <glib-object.h>

G_BEGIN_DECLS

/**
 * AfPermission:
 * @AF_PERMISSION_NONE: the path does not exist inside the sandbox.
 * @AF_PERMISSION_VIEW: listed and stat-able, content unreadable.
 * @AF_PERMISSION_READ: readable, not changeable.
 * @AF_PERMISSION_WRITE: readable and changeable.
 *
 * Permission levels; the values are those of `sandbox.v1.Permission`.
 */
typedef enum {
  AF_PERMISSION_NONE = 1,
  AF_PERMISSION_VIEW = 2,
  AF_PERMISSION_READ = 3,
  AF_PERMISSION_WRITE = 4,
} AfPermission;

/**
 * AfPatternKind:
 * @AF_PATTERN_KIND_GLOB: a glob (`*`, `**`, `?`, `[...]`).
 * @AF_PATTERN_KIND_DIRECTORY: a directory and everything below it.
 * @AF_PATTERN_KIND_FILE: exactly one path.
 *
 * How a rule's pattern is read; the values are those of
 * `sandbox.v1.PatternType`.
 */
typedef enum {
  AF_PATTERN_KIND_GLOB = 1,
  AF_PATTERN_KIND_DIRECTORY = 2,
  AF_PATTERN_KIND_FILE = 3,
} AfPatternKind;

/**
 * af_permission_to_string:
 * @permission: an #AfPermission
 *
 * Returns: (transfer none) (nullable): "none", "view", "read" or "write";
 *   %NULL for a value that is not an #AfPermission.
 */
AF_PUBLIC const char *af_permission_to_string (AfPermission permission);

/**
 * af_permission_from_string:
 * @text: "none", "view", "read" or "write"
 * @out_permission: (out): where to store the level
 * @error: return location for an %AF_SDK_ERROR_INVALID_CONFIGURATION error
 *
 * Returns: %TRUE if @text names a level.
 */
AF_PUBLIC gboolean af_permission_from_string (const char *text, AfPermission *out_permission,
                                              GError **error);

/**
 * af_pattern_kind_to_string:
 * @kind: an #AfPatternKind
 *
 * Returns: (transfer none) (nullable): "glob", "directory" or "file".
 */
AF_PUBLIC const char *af_pattern_kind_to_string (AfPatternKind kind);

/**
 * AfPermissionRule:
 *
 * One rule: a pattern, how to read it, a level and a priority. A boxed,
 * reference-counted, immutable value.
 */
typedef struct _AfPermissionRule AfPermissionRule;

/**
 * af_permission_rule_get_type:
 *
 * Returns: the #GType of #AfPermissionRule.
 */
AF_PUBLIC GType af_permission_rule_get_type (void);

/**
 * af_permission_rule_new:
 * @pattern: the pattern, relative to the codebase root (a leading slash anchors it at the root)
 * @permission: the level it grants
 * @kind: how @pattern is read
 * @priority: higher wins when several rules match
 *
 * Returns: (transfer full): a new rule.
 */
AF_PUBLIC AfPermissionRule *af_permission_rule_new (const char *pattern, AfPermission permission,
                                                    AfPatternKind kind, gint priority);

/**
 * af_permission_rule_ref:
 * @rule: a rule
 *
 * Returns: (transfer full): @rule
 */
AF_PUBLIC AfPermissionRule *af_permission_rule_ref (AfPermissionRule *rule);

/**
 * af_permission_rule_unref:
 * @rule: (transfer full): a rule
 *
 * Drops a reference; the rule is freed with the last one.
 */
AF_PUBLIC void af_permission_rule_unref (AfPermissionRule *rule);

/**
 * af_permission_rule_get_pattern:
 * @rule: a rule
 *
 * Returns: (transfer none): the pattern as given.
 */
AF_PUBLIC const char *af_permission_rule_get_pattern (const AfPermissionRule *rule);

/**
 * af_permission_rule_get_permission:
 * @rule: a rule
 *
 * Returns: the level the rule grants.
 */
AF_PUBLIC AfPermission af_permission_rule_get_permission (const AfPermissionRule *rule);

/**
 * af_permission_rule_get_kind:
 * @rule: a rule
 *
 * Returns: how the pattern is read.
 */
AF_PUBLIC AfPatternKind af_permission_rule_get_kind (const AfPermissionRule *rule);

/**
 * af_permission_rule_get_priority:
 * @rule: a rule
 *
 * Returns: the priority.
 */
AF_PUBLIC gint af_permission_rule_get_priority (const AfPermissionRule *rule);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfPermissionRule, af_permission_rule_unref)

G_END_DECLS
