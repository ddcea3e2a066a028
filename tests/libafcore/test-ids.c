/* Unit tests for af-ids: format, randomness, validation. */
#include "afcore.h"

#include <string.h>

static void
test_format (void)
{
  static const struct {
    AfIdKind kind;
    const char *prefix;
  } kinds[] = { { AF_ID_CODEBASE, "cb_" }, { AF_ID_SANDBOX, "sb_" }, { AF_ID_SESSION, "sess_" } };

  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++) {
    g_autofree char *id = af_id_new (kinds[i].kind);
    g_assert_true (g_str_has_prefix (id, kinds[i].prefix));
    g_assert_cmpuint (strlen (id), ==, strlen (kinds[i].prefix) + 32);
    for (const char *p = id + strlen (kinds[i].prefix); *p; p++)
      g_assert_true ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
    g_assert_true (af_id_is_valid (kinds[i].kind, id));
    g_assert_cmpstr (af_id_prefix (kinds[i].kind), ==, kinds[i].prefix);
    /* an id of one kind is not valid as another */
    for (gsize j = 0; j < G_N_ELEMENTS (kinds); j++)
      if (j != i)
        g_assert_false (af_id_is_valid (kinds[j].kind, id));
  }
}

static void
test_unique (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* 10,000 ids; 128 random bits make a collision a failure of getrandom. */
  for (int i = 0; i < 10000; i++) {
    char *id = af_id_new (AF_ID_SANDBOX);
    g_assert_false (g_hash_table_contains (seen, id));
    g_hash_table_add (seen, id);
  }
  /* every hex digit appears in every position over many ids (not a constant) */
  guint counts[32][16] = { { 0 } };
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, seen);
  while (g_hash_table_iter_next (&it, &key, NULL)) {
    const char *hex = (const char *)key + 3;
    for (int p = 0; p < 32; p++)
      counts[p][g_ascii_xdigit_value (hex[p])]++;
  }
  for (int p = 0; p < 32; p++)
    for (int d = 0; d < 16; d++)
      g_assert_cmpuint (counts[p][d], >, 400); /* expected 625 each */
}

static void
test_validate (void)
{
  static const char *const bad[] = {
    "sb_",
    "sb_0123456789abcdef0123456789abcde",   /* 31 digits */
    "sb_0123456789abcdef0123456789abcdef0", /* 33 digits */
    "sb_0123456789ABCDEF0123456789abcdef",  /* upper case */
    "sb_0123456789abcdef0123456789abcdeg",
    "SB_0123456789abcdef0123456789abcdef",
    "sb-0123456789abcdef0123456789abcdef",
    "../0123456789abcdef0123456789abcdef",
    "sb_../../../etc/passwd",
    "sb_0123456789abcdef/123456789abcdef",
    " sb_0123456789abcdef0123456789abcdef",
    "nonexistent",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_assert_false (af_id_is_valid (AF_ID_SANDBOX, bad[i]));
    g_assert_false (af_id_validate (AF_ID_SANDBOX, bad[i], "sandbox_id", &error));
    g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "sandbox_id"));
  }
  g_autoptr (GError) error = NULL;
  g_assert_false (af_id_validate (AF_ID_SANDBOX, "", "sandbox_id", &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "required"));
  g_clear_error (&error);
  g_assert_false (af_id_validate (AF_ID_SESSION, NULL, "session_id", &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_false (af_id_is_valid (AF_ID_SANDBOX, NULL));
  g_assert_true (
      af_id_validate (AF_ID_CODEBASE, "cb_0123456789abcdef0123456789abcdef", "id", NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ids/format", test_format);
  g_test_add_func ("/ids/unique", test_unique);
  g_test_add_func ("/ids/validate", test_validate);
  return g_test_run ();
}
