/* Unit tests for af-log: fields reach the writer; the line format; levels;
 * grpc core's own lines as records of the "grpc" domain, filtered by grpc's
 * verbosity and not by ours. */
#include "afcore.h"

#include <string.h>

#include "af-grpc-log.h"
#include "af-grpc-wire.h"

static GPtrArray *captured; /* "KEY=value" strings of the last record */

static GLogWriterOutput
capture_writer (GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
  g_ptr_array_set_size (captured, 0);
  for (gsize i = 0; i < n; i++) {
    gssize len = fields[i].length;
    g_ptr_array_add (captured,
                     g_strdup_printf ("%s=%.*s", fields[i].key,
                                      (int)(len < 0 ? (gssize)strlen (fields[i].value) : len),
                                      (const char *)fields[i].value));
  }
  return G_LOG_WRITER_HANDLED;
}

static gboolean
has (const char *kv)
{
  for (guint i = 0; i < captured->len; i++)
    if (strcmp (captured->pdata[i], kv) == 0)
      return TRUE;
  return FALSE;
}

static void
test_fields (void)
{
  af_sb_message ("sb_0123", "started in %d ms", 12);
  g_assert_true (has ("MESSAGE=started in 12 ms"));
  g_assert_true (has ("AF_SANDBOX_ID=sb_0123"));
  g_assert_true (has ("GLIB_DOMAIN=af-test"));
  g_assert_true (has ("PRIORITY=5"));

  af_log_sandbox (G_LOG_LEVEL_WARNING, NULL, "no sandbox");
  g_assert_true (has ("MESSAGE=no sandbox"));
  g_assert_true (has ("PRIORITY=4"));
  for (guint i = 0; i < captured->len; i++)
    g_assert_false (g_str_has_prefix (captured->pdata[i], "AF_SANDBOX_ID="));
}

static void
test_line (void)
{
  const GLogField fields[] = {
    { "MESSAGE", "mount ready", -1 },
    { "GLIB_DOMAIN", "af-fuse", -1 },
    { AF_LOG_FIELD_SANDBOX_ID, "sb_abc", -1 },
  };
  g_autofree char *line = af_log_format_line (G_LOG_LEVEL_WARNING, fields, 3);
  g_assert_cmpstr (line, ==, "WARNING af-fuse [sb_abc] mount ready");
  g_autofree char *l2 = af_log_format_line (G_LOG_LEVEL_DEBUG, fields, 1);
  g_assert_cmpstr (l2, ==, "DEBUG mount ready");
}

static void
test_levels (void)
{
  static const char *const names[] = { "error", "warning", "message", "info", "DEBUG" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
    AfLogLevel l;
    g_assert_true (af_log_level_parse (names[i], &l, NULL));
    g_assert_cmpint (l, ==, (AfLogLevel)i);
  }
  AfLogLevel l = AF_LOG_LEVEL_INFO;
  g_autoptr (GError) error = NULL;
  g_assert_false (af_log_level_parse ("loud", &l, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "loud"));
  g_assert_cmpint (l, ==, AF_LOG_LEVEL_INFO); /* untouched on failure */
}

/* The writer filters by level: in a subprocess, warning-level init prints
 * warnings and drops info. */
static void
test_writer_filter (void)
{
  if (g_test_subprocess ()) {
    af_log_init (AF_LOG_LEVEL_WARNING);
    af_sb_warning ("sb_1", "shown");
    af_sb_info ("sb_1", "hidden");
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*WARNING af-test [sb_1] shown*");
  g_test_trap_assert_stderr_unmatched ("*hidden*");
}

/* A grpc line becomes a record: its severity mapped, its text the message,
 * its source location the CODE_FILE and CODE_LINE fields; and grpc's own
 * filter still applies (DEBUG is below its default verbosity, ERROR). */
static void
test_grpc_record (void)
{
  g_assert_cmpint (af_grpc_log_level (GPR_LOG_SEVERITY_ERROR), ==, G_LOG_LEVEL_MESSAGE);
  g_assert_cmpint (af_grpc_log_level (GPR_LOG_SEVERITY_INFO), ==, G_LOG_LEVEL_INFO);
  g_assert_cmpint (af_grpc_log_level (GPR_LOG_SEVERITY_DEBUG), ==, G_LOG_LEVEL_DEBUG);

  af_grpc_runtime_ref ();
  g_ptr_array_set_size (captured, 0);
  gpr_log ("src/core/tsi/x.cc", 1501, GPR_LOG_SEVERITY_ERROR, "Handshake failed: %s", "bad cert");
  g_assert_true (has ("MESSAGE=Handshake failed: bad cert"));
  g_assert_true (has ("GLIB_DOMAIN=grpc"));
  g_assert_true (has ("CODE_FILE=src/core/tsi/x.cc"));
  g_assert_true (has ("CODE_LINE=1501"));
  g_assert_true (has ("PRIORITY=5"));

  g_ptr_array_set_size (captured, 0);
  gpr_log ("x.cc", 7, GPR_LOG_SEVERITY_DEBUG, "below grpc's verbosity");
  g_assert_cmpuint (captured->len, ==, 0);
  af_grpc_runtime_unref ();
}

/* Through af_log_writer at its default level (message): GRPC_VERBOSITY
 * decides which of grpc's lines are printed — with DEBUG, its debug lines
 * are, although ours at that level are not; without, only its errors. */
static void
test_grpc_verbosity (void)
{
  if (g_test_subprocess ()) {
    if (g_strcmp0 (g_getenv ("AF_TEST_GRPC_DEBUG"), "1") == 0)
      g_setenv ("GRPC_VERBOSITY", "DEBUG", TRUE);
    else
      g_unsetenv ("GRPC_VERBOSITY");
    af_log_init (AF_LOG_LEVEL_MESSAGE);
    af_grpc_runtime_ref (); /* grpc_init reads GRPC_VERBOSITY */
    gpr_log ("x.cc", 11, GPR_LOG_SEVERITY_DEBUG, "grpc says debug");
    gpr_log ("x.cc", 12, GPR_LOG_SEVERITY_ERROR, "grpc says error");
    af_sb_debug (NULL, "our own debug");
    af_grpc_runtime_unref ();
    return;
  }
  g_setenv ("AF_TEST_GRPC_DEBUG", "1", TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*DEBUG grpc grpc says debug\n*");
  g_test_trap_assert_stderr ("*MESSAGE grpc grpc says error\n*");
  g_test_trap_assert_stderr_unmatched ("*our own debug*");
  g_test_trap_assert_stderr_unmatched ("*x.cc:1?]*"); /* grpc's own format */

  g_unsetenv ("AF_TEST_GRPC_DEBUG");
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr_unmatched ("*grpc says debug*");
  g_test_trap_assert_stderr ("*MESSAGE grpc grpc says error\n*");
}

int
main (int argc, char **argv)
{
  /* grpc's default verbosity (ERROR) for the grpc cases, whatever the
   * environment of the run; the subprocesses set their own. */
  g_unsetenv ("GRPC_VERBOSITY");
  g_test_init (&argc, &argv, NULL);
  captured = g_ptr_array_new_with_free_func (g_free);
  if (!g_test_subprocess ())
    g_log_set_writer_func (capture_writer, NULL, NULL);
  g_test_add_func ("/log/fields", test_fields);
  g_test_add_func ("/log/line", test_line);
  g_test_add_func ("/log/levels", test_levels);
  g_test_add_func ("/log/writer-filter", test_writer_filter);
  g_test_add_func ("/log/grpc-record", test_grpc_record);
  g_test_add_func ("/log/grpc-verbosity", test_grpc_verbosity);
  int rc = g_test_run ();
  g_ptr_array_unref (captured);
  return rc;
}
