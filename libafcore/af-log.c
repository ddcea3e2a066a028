/* af-log.c — the structured log writer. Owns the process-wide verbosity
 * (set once by af_log_init before threads start; read-only afterwards). */
#include "af-log.h"
#include "af-error.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static AfLogLevel max_level = AF_LOG_LEVEL_MESSAGE;
static gboolean to_journal = FALSE;

static const struct {
  const char *name;
  AfLogLevel level;
} level_names[] = {
  { "error", AF_LOG_LEVEL_ERROR },     { "warning", AF_LOG_LEVEL_WARNING },
  { "message", AF_LOG_LEVEL_MESSAGE }, { "info", AF_LOG_LEVEL_INFO },
  { "debug", AF_LOG_LEVEL_DEBUG },
};

gboolean
af_log_level_parse (const char *text, AfLogLevel *out_level, GError **error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (level_names); i++) {
    if (text != NULL && g_ascii_strcasecmp (text, level_names[i].name) == 0) {
      *out_level = level_names[i].level;
      return TRUE;
    }
  }
  g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
               "unknown log level '%s' (expected error, warning, message, info or debug)",
               text ? text : "");
  return FALSE;
}

static AfLogLevel
level_of (GLogLevelFlags flags)
{
  if (flags & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return AF_LOG_LEVEL_ERROR;
  if (flags & G_LOG_LEVEL_WARNING)
    return AF_LOG_LEVEL_WARNING;
  if (flags & G_LOG_LEVEL_MESSAGE)
    return AF_LOG_LEVEL_MESSAGE;
  if (flags & G_LOG_LEVEL_INFO)
    return AF_LOG_LEVEL_INFO;
  return AF_LOG_LEVEL_DEBUG;
}

static const char *
level_label (GLogLevelFlags flags)
{
  static const char *const labels[] = { "ERROR", "WARNING", "MESSAGE", "INFO", "DEBUG" };
  return labels[level_of (flags)];
}

static const char *
field_str (const GLogField *fields, gsize n, const char *key, gsize *out_len)
{
  for (gsize i = 0; i < n; i++) {
    if (strcmp (fields[i].key, key) == 0) {
      *out_len = fields[i].length < 0 ? strlen (fields[i].value) : (gsize)fields[i].length;
      return fields[i].value;
    }
  }
  *out_len = 0;
  return NULL;
}

char *
af_log_format_line (GLogLevelFlags log_level, const GLogField *fields, gsize n_fields)
{
  GString *line = g_string_new (level_label (log_level));
  gsize len;
  const char *domain = field_str (fields, n_fields, "GLIB_DOMAIN", &len);
  if (domain) {
    g_string_append_c (line, ' ');
    g_string_append_len (line, domain, (gssize)len);
  }
  const char *sb = field_str (fields, n_fields, AF_LOG_FIELD_SANDBOX_ID, &len);
  if (sb) {
    g_string_append (line, " [");
    g_string_append_len (line, sb, (gssize)len);
    g_string_append_c (line, ']');
  }
  const char *msg = field_str (fields, n_fields, "MESSAGE", &len);
  g_string_append_c (line, ' ');
  if (msg)
    g_string_append_len (line, msg, (gssize)len);
  return g_string_free (line, FALSE);
}

/* grpc's lines passed grpc's own verbosity filter already: GRPC_VERBOSITY
 * keeps deciding which of them are printed, as it did before they were
 * routed here. */
static gboolean
from_grpc (const GLogField *fields, gsize n_fields)
{
  gsize len;
  const char *domain = field_str (fields, n_fields, "GLIB_DOMAIN", &len);
  return domain && len == strlen (AF_LOG_DOMAIN_GRPC) &&
         memcmp (domain, AF_LOG_DOMAIN_GRPC, len) == 0;
}

GLogWriterOutput
af_log_writer (GLogLevelFlags log_level, const GLogField *fields, gsize n_fields,
               gpointer user_data)
{
  if (level_of (log_level) > max_level && !from_grpc (fields, n_fields))
    return G_LOG_WRITER_HANDLED;
  if (to_journal &&
      g_log_writer_journald (log_level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;
  g_autofree char *line = af_log_format_line (log_level, fields, n_fields);
  fprintf (stderr, "%s\n", line);
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

void
af_log_init (AfLogLevel level)
{
  max_level = level;
  to_journal = g_log_writer_is_journald (fileno (stderr));
  g_log_set_writer_func (af_log_writer, NULL, NULL);
}

static const char *
priority_of (GLogLevelFlags flags)
{
  /* syslog(3) priorities, as journald expects them */
  static const char *const prios[] = { "3", "4", "5", "6", "7" };
  return prios[level_of (flags)];
}

void
af_log_sandbox_full (const char *domain, GLogLevelFlags level, const char *sandbox_id,
                     const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);

  const GLogField fields[] = {
    { "MESSAGE", msg, -1 },
    { "PRIORITY", priority_of (level), -1 },
    { "GLIB_DOMAIN", domain ? domain : "agentfense", -1 },
    { AF_LOG_FIELD_SANDBOX_ID, sandbox_id ? sandbox_id : "", -1 },
  };
  g_log_structured_array (level, fields, sandbox_id ? 4 : 3);
}
