/* af-grpc-log.c — see af-grpc-log.h. Runs on whatever thread grpc logs
 * from (its own pollers included): g_log_structured_array and the writers
 * are thread-safe, and nothing here keeps state but the installed flag. */
#include "af-grpc-log.h"

GLogLevelFlags
af_grpc_log_level (gpr_log_severity severity)
{
  switch (severity) {
  case GPR_LOG_SEVERITY_DEBUG:
    return G_LOG_LEVEL_DEBUG;
  case GPR_LOG_SEVERITY_INFO:
    return G_LOG_LEVEL_INFO;
  case GPR_LOG_SEVERITY_ERROR:
  default:
    return G_LOG_LEVEL_MESSAGE;
  }
}

/* syslog(3) priorities of the levels above, as journald expects them. */
static const char *
priority_of (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_MESSAGE)
    return "5";
  if (level & G_LOG_LEVEL_INFO)
    return "6";
  return "7";
}

static void
on_grpc_log (gpr_log_func_args *args)
{
  GLogLevelFlags level = af_grpc_log_level (args->severity);
  char line[16];
  const GLogField fields[] = {
    { "MESSAGE", args->message ? args->message : "", -1 },
    { "PRIORITY", priority_of (level), -1 },
    { "GLIB_DOMAIN", AF_LOG_DOMAIN_GRPC, -1 },
    { "CODE_FILE", args->file ? args->file : "", -1 },
    { "CODE_LINE", line, -1 },
  };

  g_snprintf (line, sizeof line, "%d", args->line);
  g_log_structured_array (level, fields, G_N_ELEMENTS (fields));
}

void
af_grpc_log_install (void)
{
  static gsize installed;

  if (g_once_init_enter (&installed)) {
    gpr_set_log_function (on_grpc_log);
    g_once_init_leave (&installed, 1);
  }
}
