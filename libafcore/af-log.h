/* af-log.h — structured logging for the daemons.
 *
 * Daemons log, libraries don't: only executables call af_log_init. Messages go
 * through g_log_structured with the fields MESSAGE, PRIORITY, GLIB_DOMAIN and,
 * when known, AF_SANDBOX_ID — so journald can filter by sandbox
 * (`journalctl AF_SANDBOX_ID=sb_…`). Off the journal, one line per message on
 * stderr: "LEVEL domain [sb_…] message". grpc core's own lines come the same
 * way, under the domain "grpc" (AF_LOG_DOMAIN_GRPC). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  AF_LOG_LEVEL_ERROR,
  AF_LOG_LEVEL_WARNING,
  AF_LOG_LEVEL_MESSAGE,
  AF_LOG_LEVEL_INFO,
  AF_LOG_LEVEL_DEBUG,
} AfLogLevel;

#define AF_LOG_FIELD_SANDBOX_ID "AF_SANDBOX_ID"

/* The domain of grpc core's own lines (af-grpc-log.h). grpc filters them by
 * its own verbosity (GRPC_VERBOSITY, ERROR by default) before they become
 * records, so af_log_writer prints every one it gets, whatever the level
 * given to af_log_init. */
#define AF_LOG_DOMAIN_GRPC "grpc"

/* Parse "error|warning|message|info|debug". */
gboolean af_log_level_parse (const char *text, AfLogLevel *out_level, GError **error);

/* Install the writer with @level as the most verbose level printed. Call
 * once, early, from main(). */
void af_log_init (AfLogLevel level);

/* The writer af_log_init installs; exposed so tests can drive it directly. */
GLogWriterOutput af_log_writer (GLogLevelFlags log_level, const GLogField *fields, gsize n_fields,
                                gpointer user_data);

/* Render a record as the stderr line ("WARNING af-fuse [sb_x] text"). */
char *af_log_format_line (GLogLevelFlags log_level, const GLogField *fields, gsize n_fields);

/* Log with the sandbox id as a field; @domain is the caller's G_LOG_DOMAIN
 * (use the af_sb_* macros, which pass it). @sandbox_id may be NULL. */
void af_log_sandbox_full (const char *domain, GLogLevelFlags level, const char *sandbox_id,
                          const char *format, ...) G_GNUC_PRINTF (4, 5);

#define af_log_sandbox(level, sb, ...)                                                             \
  af_log_sandbox_full (G_LOG_DOMAIN, (level), (sb), __VA_ARGS__)

/* Convenience: af_sb_message (sb_id, "started in %d ms", ms) */
#define af_sb_warning(sb, ...) af_log_sandbox (G_LOG_LEVEL_WARNING, (sb), __VA_ARGS__)
#define af_sb_message(sb, ...) af_log_sandbox (G_LOG_LEVEL_MESSAGE, (sb), __VA_ARGS__)
#define af_sb_info(sb, ...) af_log_sandbox (G_LOG_LEVEL_INFO, (sb), __VA_ARGS__)
#define af_sb_debug(sb, ...) af_log_sandbox (G_LOG_LEVEL_DEBUG, (sb), __VA_ARGS__)

G_END_DECLS
