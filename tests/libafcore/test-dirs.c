/* Unit tests for af-dirs: defaults for root and users, overrides. */
#include "afcore.h"

#include <glib/gstdio.h>

static void
test_root (void)
{
  AfDirsEnv env = { .uid = 0, .home = "/root", .xdg_state_home = "/x", .xdg_runtime_dir = "/y" };
  g_autofree char *s = af_dirs_state_dir (&env);
  g_autofree char *r = af_dirs_runtime_dir (&env);
  g_autofree char *sock = af_dirs_server_socket (&env);
  g_autofree char *conf = af_dirs_config_file (&env, "/z");
  g_assert_cmpstr (s, ==, "/var/lib/agentfense");
  g_assert_cmpstr (r, ==, "/run/agentfense");
  g_assert_cmpstr (sock, ==, "/run/agentfense/afd.sock");
  g_assert_true (g_str_has_suffix (conf, "/agentfense/afd.conf"));
  g_assert_cmpstr (conf, ==, af_dirs_system_config_file ());
}

static void
test_user (void)
{
  AfDirsEnv env = { .uid = 1000,
                    .home = "/home/u",
                    .xdg_state_home = "/home/u/st",
                    .xdg_runtime_dir = "/run/user/1000" };
  g_autofree char *s = af_dirs_state_dir (&env);
  g_autofree char *r = af_dirs_runtime_dir (&env);
  g_autofree char *conf = af_dirs_config_file (&env, "/home/u/cfg");
  g_assert_cmpstr (s, ==, "/home/u/st/agentfense");
  g_assert_cmpstr (r, ==, "/run/user/1000/agentfense");
  g_assert_cmpstr (conf, ==, "/home/u/cfg/agentfense/afd.conf");

  /* unset or relative XDG values fall back */
  AfDirsEnv bare = {
    .uid = 1000, .home = "/home/u", .xdg_state_home = "rel", .xdg_runtime_dir = NULL
  };
  g_autofree char *s2 = af_dirs_state_dir (&bare);
  g_autofree char *r2 = af_dirs_runtime_dir (&bare);
  g_autofree char *c2 = af_dirs_config_file (&bare, NULL);
  g_assert_cmpstr (s2, ==, "/home/u/.local/state/agentfense");
  g_assert_cmpstr (r2, ==, "/home/u/.local/state/agentfense/run");
  g_assert_cmpstr (c2, ==, "/home/u/.config/agentfense/afd.conf");
}

static void
test_overrides (void)
{
  AfDirsEnv env = {
    .uid = 0, .home = "/root", .state_override = "/srv/af", .runtime_override = "/srv/run"
  };
  g_autofree char *s = af_dirs_state_dir (&env);
  g_autofree char *r = af_dirs_runtime_dir (&env);
  g_assert_cmpstr (s, ==, "/srv/af");
  g_assert_cmpstr (r, ==, "/srv/run");
  env.state_override = "relative"; /* ignored */
  g_autofree char *s2 = af_dirs_state_dir (&env);
  g_assert_cmpstr (s2, ==, "/var/lib/agentfense");
}

static void
test_process_env (void)
{
  g_setenv ("AGENTFENSE_STATE_DIR", "/tmp/af-test-state", TRUE);
  AfDirsEnv env;
  af_dirs_env_from_process (&env);
  g_autofree char *s = af_dirs_state_dir (&env);
  g_assert_cmpstr (s, ==, "/tmp/af-test-state");
  g_unsetenv ("AGENTFENSE_STATE_DIR");
}

static void
test_ensure (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("af-dirs-XXXXXX", NULL);
  g_autofree char *deep = g_build_filename (tmp, "a", "b", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (af_dirs_ensure (deep, 0700, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (deep, G_FILE_TEST_IS_DIR));
  g_assert_true (af_dirs_ensure (deep, 0700, &error)); /* idempotent */
  g_autofree char *file = g_build_filename (tmp, "f", NULL);
  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  g_assert_false (af_dirs_ensure (file, 0700, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION);
  g_unlink (file);
  g_rmdir (deep);
  g_autofree char *mid = g_build_filename (tmp, "a", NULL);
  g_rmdir (mid);
  g_rmdir (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dirs/root", test_root);
  g_test_add_func ("/dirs/user", test_user);
  g_test_add_func ("/dirs/overrides", test_overrides);
  g_test_add_func ("/dirs/process-env", test_process_env);
  g_test_add_func ("/dirs/ensure", test_ensure);
  return g_test_run ();
}
