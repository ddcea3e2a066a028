/* presets.h — named rule sets (view-only, read-only, full-access,
 * development, agent-safe) and their extension.
 *
 * The same presets and semantics the server and the Python SDK use; a
 * client expands a preset into rules before creating a sandbox. */
#pragma once

#include <agentfense/macros.h>
#include <agentfense/rules.h>

G_BEGIN_DECLS

/**
 * af_presets_list:
 *
 * The names of the built-in presets, sorted.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names; free with
 *   g_strfreev().
 */
AF_PUBLIC char **af_presets_list (void);

/**
 * af_presets_get:
 * @name: a preset name ("view-only")
 * @error: return location for an %AF_SDK_ERROR_INVALID_CONFIGURATION error
 *   naming the known presets
 *
 * The rules of preset @name, in the preset's order.
 *
 * Returns: (transfer container) (element-type AfPermissionRule): the rules,
 *   or %NULL with @error set for an unknown name.
 */
AF_PUBLIC GPtrArray *af_presets_get (const char *name, GError **error);

/**
 * af_presets_extend:
 * @base: the preset to start from
 * @additions: (nullable) (element-type AfPermissionRule): rules appended as
 *   given
 * @overrides: (nullable) (element-type AfPermissionRule): rules that must win
 *   over the preset: each whose priority is not above the highest priority
 *   of the preset is raised to that highest priority + 100
 * @error: return location for an %AF_SDK_ERROR_INVALID_CONFIGURATION error
 *
 * Like the Python SDK's `extend_preset(base, additions, overrides)`: the
 * preset's rules, then @additions, then @overrides.
 *
 * Returns: (transfer container) (element-type AfPermissionRule): the
 *   combined rules, or %NULL with @error set for an unknown preset.
 */
AF_PUBLIC GPtrArray *af_presets_extend (const char *base, GPtrArray *additions,
                                        GPtrArray *overrides, GError **error);

G_END_DECLS
