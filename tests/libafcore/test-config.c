/* Unit tests for af-config: defaults, file, flags, precedence, errors. */
#include "afcore.h"

#include <glib/gstdio.h>
#include <string.h>

static const AfConfigKey schema[] = {
  { "server", "listen", AF_CONFIG_STRING, "127.0.0.1:9000", 0, 0, "TCP address" },
  { "server", "state_dir", AF_CONFIG_PATH, "", 0, 0, "State directory" },
  { "server", "max_file_size", AF_CONFIG_SIZE, "1G", 0, 1LL << 40, "Largest upload" },
  { "exec", "default_timeout", AF_CONFIG_DURATION, "60s", 1, 86400000, "Command timeout" },
  { "exec", "max_sessions", AF_CONFIG_INT, "16", 1, 1024, "Sessions per sandbox" },
  { "exec", "network", AF_CONFIG_BOOL, "false", 0, 0, "Network by default" },
};

typedef struct {
  char *dir;
  AfConfig *config;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("af-config-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->config = af_config_new (schema, G_N_ELEMENTS (schema));
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_autoptr (GDir) d = g_dir_open (f->dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (d))) {
    g_autofree char *p = g_build_filename (f->dir, name, NULL);
    g_unlink (p);
  }
  g_rmdir (f->dir);
  g_free (f->dir);
  af_config_free (f->config);
}

static char *
write_file (Fixture *f, const char *text)
{
  char *path = g_build_filename (f->dir, "afd.conf", NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static void
test_defaults (Fixture *f, gconstpointer data)
{
  g_assert_cmpstr (af_config_get_string (f->config, "server", "listen"), ==, "127.0.0.1:9000");
  g_assert_cmpint (af_config_get_int (f->config, "server", "max_file_size"), ==, 1LL << 30);
  g_assert_cmpint (af_config_get_int (f->config, "exec", "default_timeout"), ==, 60000);
  g_assert_cmpint (af_config_get_int (f->config, "exec", "max_sessions"), ==, 16);
  g_assert_false (af_config_get_bool (f->config, "exec", "network"));
  g_assert_false (af_config_is_set (f->config, "exec", "network"));
  g_assert_cmpstr (af_config_get_string (f->config, "server", "state_dir"), ==, "");
}

static void
test_file (Fixture *f, gconstpointer data)
{
  g_autofree char *path = write_file (f, "[server]\nlisten=none\nmax_file_size=512M\n"
                                         "[exec]\ndefault_timeout=500ms\nnetwork=yes\n");
  g_autoptr (GError) error = NULL;
  g_assert_true (af_config_load_file (f->config, path, TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (af_config_get_string (f->config, "server", "listen"), ==, "none");
  g_assert_cmpint (af_config_get_int (f->config, "server", "max_file_size"), ==, 512LL << 20);
  g_assert_cmpint (af_config_get_int (f->config, "exec", "default_timeout"), ==, 500);
  g_assert_true (af_config_get_bool (f->config, "exec", "network"));
  g_assert_true (af_config_is_set (f->config, "exec", "network"));
  g_assert_false (af_config_is_set (f->config, "exec", "max_sessions"));
}

static void
test_bad_values_name_key_and_file (Fixture *f, gconstpointer data)
{
  static const struct {
    const char *text;
    const char *key;
  } bad[] = {
    { "[exec]\nmax_sessions=abc\n", "max_sessions" },
    { "[exec]\nmax_sessions=0\n", "max_sessions" },    /* below min */
    { "[exec]\nmax_sessions=5000\n", "max_sessions" }, /* above max */
    { "[exec]\nnetwork=maybe\n", "network" },
    { "[exec]\ndefault_timeout=soon\n", "default_timeout" },
    { "[exec]\ndefault_timeout=5 fortnights\n", "default_timeout" },
    { "[server]\nmax_file_size=-1\n", "max_file_size" },
    { "[server]\nmax_file_size=2T\n", "max_file_size" },
    { "[server]\nmax_file_size=99999999999999999999G\n", "max_file_size" },
    { "[server]\nstate_dir=relative/dir\n", "state_dir" },
    { "[server]\nlisten_adress=x\n", "listen_adress" }, /* unknown key: a typo */
    { "[nosuchgroup]\nlisten=x\n", "nosuchgroup" },
    { "this is not a key file\n", "afd.conf" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (AfConfig) c = af_config_new (schema, G_N_ELEMENTS (schema));
    g_autofree char *path = write_file (f, bad[i].text);
    g_autoptr (GError) error = NULL;
    g_assert_false (af_config_load_file (c, path, TRUE, &error));
    g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
    if (strstr (error->message, bad[i].key) == NULL || strstr (error->message, path) == NULL)
      g_error ("case %zu: '%s' names neither key %s nor file %s", i, error->message, bad[i].key,
               path);
    /* a failed load changes nothing */
    g_assert_cmpint (af_config_get_int (c, "exec", "max_sessions"), ==, 16);
  }
}

static void
test_missing_file (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "absent.conf", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (af_config_load_file (f->config, path, FALSE, &error));
  g_assert_no_error (error);
  g_assert_false (af_config_load_file (f->config, path, TRUE, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_flags_beat_file (Fixture *f, gconstpointer data)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_option_context_add_group (ctx, af_config_option_group (f->config));
  char *argv_in[] = { "prog",      "--listen", "unix:/x", "--set", "exec.max_sessions=7",
                      "--network", NULL };
  int argc = 6;
  char **argv = argv_in;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_option_context_parse (ctx, &argc, &argv, &error));
  g_assert_no_error (error);

  g_autofree char *path = write_file (f, "[server]\nlisten=127.0.0.1:1\n[exec]\nmax_sessions=3\n"
                                         "default_timeout=10\n");
  g_assert_true (af_config_load_file (f->config, path, TRUE, &error));
  g_assert_cmpstr (af_config_get_string (f->config, "server", "listen"), ==, "unix:/x");
  g_assert_cmpint (af_config_get_int (f->config, "exec", "max_sessions"), ==, 7);
  g_assert_cmpint (af_config_get_int (f->config, "exec", "default_timeout"), ==, 10000);
  g_assert_true (af_config_get_bool (f->config, "exec", "network"));
}

static void
test_bad_flags (Fixture *f, gconstpointer data)
{
  static const char *const bad[][3] = {
    { "--max-sessions", "lots", "max_sessions" },
    { "--set", "exec.nope=1", "exec.nope" },
    { "--set", "novalue", "--set" },
    { "--default-timeout", "-5", "default_timeout" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (AfConfig) c = af_config_new (schema, G_N_ELEMENTS (schema));
    g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
    g_option_context_add_group (ctx, af_config_option_group (c));
    char *argv_in[] = { "prog", (char *)bad[i][0], (char *)bad[i][1], NULL };
    int argc = 3;
    char **argv = argv_in;
    g_autoptr (GError) error = NULL;
    g_assert_false (g_option_context_parse (ctx, &argc, &argv, &error));
    g_assert_nonnull (error);
    if (strstr (error->message, bad[i][2]) == NULL)
      g_error ("flag case %zu: '%s' does not name %s", i, error->message, bad[i][2]);
  }
}

static void
test_parsers (Fixture *f, gconstpointer data)
{
  gint64 v;
  g_assert_true (af_config_parse_size ("64K", &v, NULL));
  g_assert_cmpint (v, ==, 65536);
  g_assert_true (af_config_parse_size ("10GiB", &v, NULL));
  g_assert_cmpint (v, ==, 10LL << 30);
  g_assert_true (af_config_parse_size ("0", &v, NULL));
  g_assert_cmpint (v, ==, 0);
  g_assert_false (af_config_parse_size ("", &v, NULL));
  g_assert_false (af_config_parse_size ("1.5G", &v, NULL));
  g_assert_false (af_config_parse_size ("9223372036854775807K", &v, NULL));
  g_assert_true (af_config_parse_duration_ms ("2h", &v, NULL));
  g_assert_cmpint (v, ==, 7200000);
  g_assert_true (af_config_parse_duration_ms ("1m", &v, NULL));
  g_assert_cmpint (v, ==, 60000);
  gboolean b;
  g_assert_true (af_config_parse_bool ("OFF", &b, NULL));
  g_assert_false (b);
}

static void
test_dump_defaults (Fixture *f, gconstpointer data)
{
  g_autofree char *text = af_config_dump_defaults (f->config);
  g_assert_nonnull (strstr (text, "[server]\n"));
  g_assert_nonnull (strstr (text, "[exec]\n"));
  g_assert_nonnull (strstr (text, "#listen=127.0.0.1:9000\n"));
  g_assert_nonnull (strstr (text, "# Command timeout\n"));
  /* the dump is itself a loadable (all-commented) config */
  g_autofree char *path = write_file (f, text);
  g_assert_true (af_config_load_file (f->config, path, TRUE, NULL));
  g_assert_false (af_config_is_set (f->config, "server", "listen"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add ("/config/" name, Fixture, NULL, setup, fn, teardown)
  ADD ("defaults", test_defaults);
  ADD ("file", test_file);
  ADD ("bad-values", test_bad_values_name_key_and_file);
  ADD ("missing-file", test_missing_file);
  ADD ("flags-beat-file", test_flags_beat_file);
  ADD ("bad-flags", test_bad_flags);
  ADD ("parsers", test_parsers);
  ADD ("dump-defaults", test_dump_defaults);
  return g_test_run ();
}
