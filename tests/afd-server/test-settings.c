/* Unit tests for afd-server's configuration: defaults from the environment,
 * flags over the file, and the cross-key rules (remote listening needs
 * --allow-remote and a token; nothing to serve is an error). */
#include "afd-config.h"

#include <glib/gstdio.h>
#include <string.h>

static AfDirsEnv root_env = { .uid = 0, .home = "/root" };

static AfdSettings *
resolve (const char *const *sets, GError **error)
{
  g_autoptr (AfConfig) config = afd_config_new ();
  for (gsize i = 0; sets && sets[i]; i += 2)
    g_assert_true (af_config_set (config, sets[i], sets[i + 1], "test", NULL));
  return afd_settings_resolve (config, &root_env, error);
}

static void
test_defaults (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfdSettings) s = resolve (NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s->state_dir, ==, "/var/lib/agentfense");
  g_assert_cmpstr (s->socket_path, ==, "/run/agentfense/afd.sock");
  g_assert_cmpstr (s->listen, ==, "127.0.0.1:9000");
  g_assert_null (s->auth_token);
  g_assert_cmpint (s->max_file_size, ==, 1LL << 30);
  g_assert_cmpint (s->codebase_quota, ==, 10LL << 30);
  g_assert_cmpint (s->download_chunk_size, >=, 64 * 1024);
  g_assert_cmpint (s->download_chunk_size, <=, 1024 * 1024);
}

static void
test_overrides (void)
{
  g_autoptr (GError) error = NULL;
  const char *sets[] = { "state_dir",  "/srv/afd", "socket", "none", "listen",
                         "[::1]:7000", "quota",    "1M",     NULL };
  g_autoptr (AfdSettings) s = resolve (sets, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s->state_dir, ==, "/srv/afd");
  g_assert_null (s->socket_path);
  g_assert_cmpstr (s->listen, ==, "[::1]:7000");
  g_assert_cmpint (s->codebase_quota, ==, 1 << 20);

  const char *nothing[] = { "socket", "none", "listen", "none", NULL };
  g_autoptr (AfdSettings) n = resolve (nothing, &error);
  g_assert_null (n);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  const char *relative[] = { "socket", "afd.sock", NULL };
  g_autoptr (AfdSettings) r = resolve (relative, &error);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
}

static void
test_remote_rules (void)
{
  g_autoptr (GError) error = NULL;
  const char *no_flag[] = { "listen", "0.0.0.0:9000", "auth_token", "t", NULL };
  g_autoptr (AfdSettings) a = resolve (no_flag, &error);
  g_assert_null (a);
  g_assert_nonnull (strstr (error->message, "--allow-remote"));
  g_clear_error (&error);

  const char *no_token[] = { "listen", "10.0.0.1:9000", "allow_remote", "true", NULL };
  g_autoptr (AfdSettings) b = resolve (no_token, &error);
  g_assert_null (b);
  g_assert_nonnull (strstr (error->message, "token"));
  g_clear_error (&error);

  g_autofree char *dir = g_dir_make_tmp ("afd-settings-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "token", NULL);
  g_assert_true (g_file_set_contents (file, "  s3cret\n", -1, NULL));
  const char *ok[] = { "listen", "0.0.0.0:9000", "allow_remote", "yes", "auth_token_file", file,
                       NULL };
  g_autoptr (AfdSettings) c = resolve (ok, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->auth_token, ==, "s3cret");
  g_unlink (file);
  g_rmdir (dir);

  g_assert_true (afd_listen_is_loopback ("127.0.0.1:1"));
  g_assert_true (afd_listen_is_loopback ("[::1]:1"));
  g_assert_true (afd_listen_is_loopback ("localhost:1"));
  g_assert_false (afd_listen_is_loopback ("0.0.0.0:1"));
  g_assert_false (afd_listen_is_loopback ("[::]:1"));
  g_assert_false (afd_listen_is_loopback ("127.example.com:1"));
  g_assert_false (afd_listen_is_loopback ("nonsense"));
  g_assert_true (afd_listen_is_loopback ("127.8.9.10:1"));
  g_assert_true (afd_listen_is_loopback ("ipv4:127.0.0.1:9000"));
}

static void
test_file_then_flags (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("afd-settings-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "afd.conf", NULL);
  g_assert_true (g_file_set_contents (
      file, "[server]\nlisten=127.0.0.1:9100\n[codebase]\nmax_file_size=2M\n", -1, NULL));
  g_autoptr (AfConfig) config = afd_config_new ();
  g_assert_true (af_config_set (config, "codebase.max_file_size", "3M", "--max-file-size", NULL));
  g_assert_true (af_config_load_file (config, file, TRUE, &error));
  g_autoptr (AfdSettings) s = afd_settings_resolve (config, &root_env, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s->listen, ==, "127.0.0.1:9100");
  g_assert_cmpint (s->max_file_size, ==, 3 << 20);

  g_assert_true (g_file_set_contents (file, "[server]\nlisten_typo=1\n", -1, NULL));
  g_autoptr (AfConfig) c2 = afd_config_new ();
  g_assert_false (af_config_load_file (c2, file, TRUE, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_unlink (file);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/afd-settings/defaults", test_defaults);
  g_test_add_func ("/afd-settings/overrides", test_overrides);
  g_test_add_func ("/afd-settings/remote-rules", test_remote_rules);
  g_test_add_func ("/afd-settings/file-then-flags", test_file_then_flags);
  return g_test_run ();
}
