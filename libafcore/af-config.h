/* af-config.h — configuration: a typed schema, a GKeyFile, flag overrides.
 *
 * Each executable declares its keys once (group, key, type, default, range,
 * description). Values come from, in rising precedence: the schema default,
 * the config file, the command line (one `--key` flag per schema key, plus a
 * generic `--set group.key=value`). A bad value is an error that names the key
 * and where it came from (file path and line group, or the flag). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  AF_CONFIG_STRING,
  AF_CONFIG_PATH,     /* a string that must be an absolute path (or empty) */
  AF_CONFIG_INT,      /* gint64 within [min, max] */
  AF_CONFIG_BOOL,     /* true/false/yes/no/1/0/on/off */
  AF_CONFIG_SIZE,     /* bytes: "1024", "64K", "512M", "1G", "10GiB" — within [min, max] */
  AF_CONFIG_DURATION, /* milliseconds: "60" (seconds), "60s", "500ms", "5m", "1h" */
} AfConfigType;

typedef struct {
  const char *group; /* "server" */
  const char *key;   /* "max_file_size"; flag is --max-file-size */
  AfConfigType type;
  const char *default_value; /* text, parsed like a file value; NULL = unset ("") */
  gint64 min, max;           /* for INT/SIZE/DURATION; min == max == 0 means no bound */
  const char *description;   /* one line, for --help and the commented default file */
} AfConfigKey;

typedef struct _AfConfig AfConfig;

/* @schema must outlive the AfConfig (it is normally a static table). Defaults
 * that fail to parse are a programming error (g_critical). */
AfConfig *af_config_new (const AfConfigKey *schema, gsize n_keys);
void af_config_free (AfConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfConfig, af_config_free)

/* Load @path. Keys already set from the command line keep their value.
 * Unknown groups or keys are errors (a typo must not be silently ignored).
 * With @must_exist FALSE a missing file is not an error. */
gboolean af_config_load_file (AfConfig *config, const char *path, gboolean must_exist,
                              GError **error);

/* Set "group.key" (or a bare key when unique) from @origin ("--set",
 * "--listen", a file name). Values set this way beat the file. */
gboolean af_config_set (AfConfig *config, const char *name, const char *value, const char *origin,
                        GError **error);

/* A GOptionGroup with one --key flag per schema key and --set; errors from
 * the flags surface from g_option_context_parse. The AfConfig must outlive
 * the group. */
GOptionGroup *af_config_option_group (AfConfig *config);

const char *af_config_get_string (AfConfig *config, const char *group, const char *key);
gint64 af_config_get_int (AfConfig *config, const char *group, const char *key);
gboolean af_config_get_bool (AfConfig *config, const char *group, const char *key);

/* TRUE if the value came from the file or the command line, not the default. */
gboolean af_config_is_set (AfConfig *config, const char *group, const char *key);

/* The whole schema as a commented key file (every key commented out with its
 * default) — what gets installed as the default config. */
char *af_config_dump_defaults (AfConfig *config);

/* Parsers shared with other layers. */
gboolean af_config_parse_size (const char *text, gint64 *out, GError **error);
gboolean af_config_parse_duration_ms (const char *text, gint64 *out, GError **error);
gboolean af_config_parse_bool (const char *text, gboolean *out, GError **error);

G_END_DECLS
