/* Unit tests for af-error: the code table and the mappings. */
#include "afcore.h"

#include <string.h>

static void
test_table (void)
{
  /* Codes equal gRPC status numbers, names are the gRPC canonical names. */
  static const struct {
    int code;
    const char *name;
  } expected[] = {
    { 1, "CANCELLED" },           { 2, "UNKNOWN" },
    { 3, "INVALID_ARGUMENT" },    { 4, "DEADLINE_EXCEEDED" },
    { 5, "NOT_FOUND" },           { 6, "ALREADY_EXISTS" },
    { 7, "PERMISSION_DENIED" },   { 8, "RESOURCE_EXHAUSTED" },
    { 9, "FAILED_PRECONDITION" }, { 10, "ABORTED" },
    { 11, "OUT_OF_RANGE" },       { 12, "UNIMPLEMENTED" },
    { 13, "INTERNAL" },           { 14, "UNAVAILABLE" },
    { 15, "DATA_LOSS" },          { 16, "UNAUTHENTICATED" },
  };
  g_autoptr (GHashTable) dbus_names = g_hash_table_new (g_str_hash, g_str_equal);
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++) {
    g_assert_cmpstr (af_error_code_name (expected[i].code), ==, expected[i].name);
    const char *dn = af_error_code_dbus_name (expected[i].code);
    g_assert_nonnull (dn);
    g_assert_true (g_str_has_prefix (dn, "org.agentfense.Error."));
    g_assert_true (g_dbus_is_error_name (dn) || g_dbus_is_interface_name (dn));
    g_assert_false (g_hash_table_contains (dbus_names, dn));
    g_hash_table_add (dbus_names, (gpointer)dn);

    g_autoptr (GError) e = g_error_new (AF_ERROR, expected[i].code, "x");
    g_assert_cmpint (af_error_to_grpc_status (e), ==, expected[i].code);
    g_assert_cmpint (af_error_code_from_grpc_status (expected[i].code), ==, expected[i].code);
  }
  g_assert_cmpstr (af_error_code_name (0), ==, "OK");
  g_assert_null (af_error_code_name (17));
  g_assert_null (af_error_code_name (-1));
  g_assert_null (af_error_code_dbus_name (0));
  g_assert_cmpint (af_error_code_from_grpc_status (99), ==, AF_ERROR_UNKNOWN);
  g_assert_cmpint (af_error_to_grpc_status (NULL), ==, 0);
}

static void
test_foreign_domains (void)
{
  static const struct {
    GQuark (*domain) (void);
    int code;
    int status;
  } rows[] = {
    { g_io_error_quark, G_IO_ERROR_NOT_FOUND, AF_ERROR_NOT_FOUND },
    { g_io_error_quark, G_IO_ERROR_EXISTS, AF_ERROR_ALREADY_EXISTS },
    { g_io_error_quark, G_IO_ERROR_PERMISSION_DENIED, AF_ERROR_PERMISSION_DENIED },
    { g_io_error_quark, G_IO_ERROR_CANCELLED, AF_ERROR_CANCELLED },
    { g_io_error_quark, G_IO_ERROR_TIMED_OUT, AF_ERROR_DEADLINE_EXCEEDED },
    { g_io_error_quark, G_IO_ERROR_NO_SPACE, AF_ERROR_RESOURCE_EXHAUSTED },
    { g_io_error_quark, G_IO_ERROR_NOT_DIRECTORY, AF_ERROR_FAILED_PRECONDITION },
    { g_io_error_quark, G_IO_ERROR_CONNECTION_REFUSED, AF_ERROR_UNAVAILABLE },
    { g_io_error_quark, G_IO_ERROR_FAILED, AF_ERROR_INTERNAL },
    { g_file_error_quark, G_FILE_ERROR_NOENT, AF_ERROR_NOT_FOUND },
    { g_file_error_quark, G_FILE_ERROR_ACCES, AF_ERROR_PERMISSION_DENIED },
    { g_file_error_quark, G_FILE_ERROR_ISDIR, AF_ERROR_FAILED_PRECONDITION },
    { g_file_error_quark, G_FILE_ERROR_NOSPC, AF_ERROR_RESOURCE_EXHAUSTED },
    { g_option_error_quark, G_OPTION_ERROR_BAD_VALUE, AF_ERROR_INVALID_ARGUMENT },
    { g_key_file_error_quark, G_KEY_FILE_ERROR_PARSE, AF_ERROR_INVALID_ARGUMENT },
    { g_dbus_error_quark, G_DBUS_ERROR_ACCESS_DENIED, AF_ERROR_PERMISSION_DENIED },
    { g_dbus_error_quark, G_DBUS_ERROR_UNKNOWN_METHOD, AF_ERROR_UNIMPLEMENTED },
    { g_dbus_error_quark, G_DBUS_ERROR_DISCONNECTED, AF_ERROR_UNAVAILABLE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
    g_autoptr (GError) e = g_error_new (rows[i].domain (), rows[i].code, "msg %zu", i);
    g_assert_cmpint (af_error_to_grpc_status (e), ==, rows[i].status);
    g_autoptr (GError) n = af_error_normalize (e);
    g_assert_error (n, AF_ERROR, rows[i].status);
    g_assert_cmpstr (n->message, ==, e->message);
  }
  g_autoptr (GError) other = g_error_new (g_quark_from_static_string ("x-test"), 1, "m");
  g_assert_cmpint (af_error_to_grpc_status (other), ==, AF_ERROR_UNKNOWN);
}

static void
test_dbus_round_trip (void)
{
  /* A remote AF_ERROR crosses D-Bus as its registered name and comes back
   * as the same domain and code. */
  g_autoptr (GError) e = g_error_new (AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED, "too many sessions");
  g_autofree char *name = g_dbus_error_encode_gerror (e);
  g_assert_cmpstr (name, ==, "org.agentfense.Error.ResourceExhausted");
  g_autoptr (GError) back = g_dbus_error_new_for_dbus_error (name, "too many sessions");
  g_assert_error (back, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/error/table", test_table);
  g_test_add_func ("/error/foreign-domains", test_foreign_domains);
  g_test_add_func ("/error/dbus-round-trip", test_dbus_round_trip);
  return g_test_run ();
}
