/* afpolicy.h — the public API of libafpolicy, the permission engine.
 *
 * A rule set is compiled once into an immutable, refcounted AfPolicy; any
 * number of threads may then decide paths concurrently without locks. A
 * decision allocates nothing and does no I/O. Semantics (the contract):
 * docs/permissions.md.
 *
 * Paths given to decisions are canonical absolute codebase paths: "/" for the
 * root, "/a/b" otherwise (no trailing '/', no '.', '..' or empty components —
 * what af_path_normalize + af_path_to_absolute produce). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Ordered: a higher level allows everything a lower one does. Numeric values
 * are ours; convert from the wire enum with af_level_from_wire. */
typedef enum {
  AF_LEVEL_NONE = 0,
  AF_LEVEL_VIEW = 1,
  AF_LEVEL_READ = 2,
  AF_LEVEL_WRITE = 3,
} AfLevel;

typedef enum {
  AF_PATTERN_GLOB = 0,
  AF_PATTERN_DIRECTORY = 1,
  AF_PATTERN_FILE = 2,
} AfPatternType;

#define AF_POLICY_MAX_RULES 10000
#define AF_POLICY_MAX_PATTERN 4096
/* All patterns of one rule set together, so the compiled index stays
 * bounded (about 60 bytes per pattern segment) whatever a client sends. */
#define AF_POLICY_MAX_TOTAL_PATTERN (1024 * 1024)

/* One rule as written by a client. Strings are owned by whoever owns the
 * AfRule; af_rule_clear frees them. */
typedef struct {
  char *pattern;
  AfPatternType type;
  AfLevel level;
  gint32 priority;
} AfRule;

void af_rule_clear (AfRule *rule);

/* "none"/"view"/"read"/"write" and back; parse also accepts the wire enum
 * names ("PERMISSION_READ"). Unknown → FALSE with AF_ERROR_INVALID_ARGUMENT. */
const char *af_level_to_string (AfLevel level);
gboolean af_level_parse (const char *text, AfLevel *out_level, GError **error);
const char *af_pattern_type_to_string (AfPatternType type);
gboolean af_pattern_type_parse (const char *text, AfPatternType *out_type, GError **error);

/* Wire enum values (sandbox.v1.Permission / PatternType) to ours: a wire
 * PERMISSION_UNSPECIFIED (0) or unknown value is an error; PATTERN_TYPE
 * UNSPECIFIED (0) means glob. */
gboolean af_level_from_wire (int wire_permission, AfLevel *out_level, GError **error);
int af_level_to_wire (AfLevel level);
gboolean af_pattern_type_from_wire (int wire_type, AfPatternType *out_type, GError **error);
int af_pattern_type_to_wire (AfPatternType type);

typedef struct _AfPolicy AfPolicy;

/* Validate and compile @n_rules rules (copied). Errors name the rule index
 * and the reason ("rule 3: unbalanced '[' in pattern"). */
AfPolicy *af_policy_new (const AfRule *rules, gsize n_rules, GError **error);
AfPolicy *af_policy_ref (AfPolicy *policy);
void af_policy_unref (AfPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfPolicy, af_policy_unref)

gsize af_policy_get_n_rules (const AfPolicy *policy);
/* The rule as given (pattern as given, not normalized). */
const AfRule *af_policy_get_rule (const AfPolicy *policy, gsize index);

/* The level of @path (canonical absolute, @len bytes or -1) and, if
 * @out_rule is not NULL, the index of the deciding rule or -1 when no rule
 * matched (the default, none). The root "/" is always at least traversable
 * (see af_policy_may_reveal_below); its own level is decided like any path. */
AfLevel af_policy_decide (const AfPolicy *policy, const char *path, gssize len, int *out_rule);

/* Implied traversal, static half: could any rule make some path strictly
 * below directory @path at least view? No false negatives (TRUE when in
 * doubt); af-fuse confirms against the real tree. */
gboolean af_policy_may_reveal_below (const AfPolicy *policy, const char *path, gssize len);

/* Explain: the decision, the winning rule and every other matching rule in
 * precedence order (best first). */
typedef struct {
  AfLevel level;
  int rule;        /* deciding rule index, -1 for the default */
  GArray *matches; /* int rule indices, precedence order, winner first */
} AfExplanation;

AfExplanation *af_policy_explain (const AfPolicy *policy, const char *path, gssize len);
void af_explanation_free (AfExplanation *explanation);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfExplanation, af_explanation_free)

/* Presets. Built-ins: view-only, read-only, full-access, development,
 * agent-safe. Unknown name → AF_ERROR_INVALID_ARGUMENT listing the names. */
typedef struct _AfPresetRegistry AfPresetRegistry;

AfPresetRegistry *af_preset_registry_new (void); /* holds the built-ins */
void af_preset_registry_free (AfPresetRegistry *registry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfPresetRegistry, af_preset_registry_free)
gboolean af_preset_registry_add (AfPresetRegistry *registry, const char *name, const AfRule *rules,
                                 gsize n_rules, GError **error);
/* Load every *.json in @dir (a rule file: array or {"preset","rules"}),
 * named after the file without ".json". A missing dir is not an error. */
gboolean af_preset_registry_load_dir (AfPresetRegistry *registry, const char *dir, GError **error);
/* Sorted names; free with g_strfreev. */
char **af_preset_registry_list (AfPresetRegistry *registry);
/* Append the preset's rules (copies) to @out (GArray of AfRule with
 * af_rule_clear as clear func). */
gboolean af_preset_registry_expand (AfPresetRegistry *registry, const char *name, GArray *out,
                                    GError **error);

/* extend(base, additions, overrides): additions appended as given; each
 * override whose priority is not above the base's highest priority gets
 * that highest + 100. Appends to @out. */
void af_preset_extend (const AfRule *base, gsize n_base, const AfRule *additions, gsize n_additions,
                       const AfRule *overrides, gsize n_overrides, GArray *out);

/* A new GArray of AfRule that clears its elements. */
GArray *af_rule_array_new (void);
/* Append a rule (the pattern is copied). */
void af_rule_array_add (GArray *rules, const char *pattern, AfPatternType type, AfLevel level,
                        gint32 priority);
/* "glob '/src/x' read priority 10" — for explain output and audit records. */
char *af_rule_to_string (const AfRule *rule);

/* Validate one rule (@len bytes of pattern, or -1): the same checks as
 * af_policy_new, for callers that hold patterns with explicit lengths (wire
 * strings may contain NUL). The message names rule @index. */
gboolean af_rule_validate (const AfRule *rule, gssize pattern_len, gsize index, GError **error);

/* Rule files (JSON): an array of rules, or {"preset": NAME, "rules": [...]}
 * (preset first, then the rules). Appends to @out. @registry may be NULL
 * for the built-ins only. Errors name the rule index. */
gboolean af_rules_parse_json (const char *data, gssize len, AfPresetRegistry *registry, GArray *out,
                              GError **error);
/* Like af_rules_parse_json, but when @errors is not NULL it collects every
 * error message (char *, for `af-policy check`) instead of stopping at the
 * first; @error then holds the first. */
gboolean af_rules_parse_json_full (const char *data, gssize len, AfPresetRegistry *registry,
                                   GArray *out, GPtrArray *errors, GError **error);
gboolean af_rules_load_file (const char *path, AfPresetRegistry *registry, GArray *out,
                             GError **error);

G_END_DECLS
