/* test-unit.c — af-exec's pure parts: the shell bypass, the environment
 * builder, the seccomp program and its Docker profile, option resolution. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "af-error.h"
#include "options.h"
#include "sandbox.h"
#include "seccomp-filter.h"

static void
assert_argv (const char *command, const char *const *want)
{
  g_auto (GStrv) argv = af_exec_shell_argv (command);
  g_assert_cmpstrv (argv, want);
}

static void
test_shell_argv (void)
{
  assert_argv ("ls -la /tmp", (const char *const[]){ "ls", "-la", "/tmp", NULL });
  assert_argv ("true", (const char *const[]){ "/bin/sh", "-c", "true", NULL });
  assert_argv ("echo a", (const char *const[]){ "/bin/sh", "-c", "echo a", NULL });
  assert_argv ("test -f x", (const char *const[]){ "/bin/sh", "-c", "test -f x", NULL });
  assert_argv ("if", (const char *const[]){ "/bin/sh", "-c", "if", NULL });
  assert_argv ("  ls   -l  ", (const char *const[]){ "ls", "-l", NULL });
  assert_argv ("env A=b", (const char *const[]){ "env", "A=b", NULL });
  assert_argv ("ls\t-l", (const char *const[]){ "/bin/sh", "-c", "ls\t-l", NULL });
  assert_argv ("ls # c", (const char *const[]){ "/bin/sh", "-c", "ls # c", NULL });
  assert_argv ("ls >f", (const char *const[]){ "/bin/sh", "-c", "ls >f", NULL });
  assert_argv ("   ", (const char *const[]){ "/bin/sh", "-c", "   ", NULL });
  assert_argv ("echo $HOME", (const char *const[]){ "/bin/sh", "-c", "echo $HOME", NULL });
  assert_argv ("cd /tmp", (const char *const[]){ "/bin/sh", "-c", "cd /tmp", NULL });
  assert_argv ("A=b env", (const char *const[]){ "/bin/sh", "-c", "A=b env", NULL });
  assert_argv ("ls *.c", (const char *const[]){ "/bin/sh", "-c", "ls *.c", NULL });
  assert_argv ("echo 'a b'", (const char *const[]){ "/bin/sh", "-c", "echo 'a b'", NULL });
  assert_argv ("a && b", (const char *const[]){ "/bin/sh", "-c", "a && b", NULL });
  assert_argv ("echo ~", (const char *const[]){ "/bin/sh", "-c", "echo ~", NULL });
}

static void
test_env (void)
{
  g_autoptr (GError) error = NULL;
  const char *const add[] = { "FOO=bar", "LANG=C", "EMPTY=", NULL };
  g_auto (GStrv) env = af_sandbox_build_env (add, &error);
  g_autoptr (GPtrArray) many = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) none = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (env), ==, 6);
  g_assert_true (g_strv_contains ((const char *const *)env, "FOO=bar"));
  g_assert_true (g_strv_contains ((const char *const *)env, "LANG=C"));
  g_assert_false (g_strv_contains ((const char *const *)env, "LANG=C.UTF-8"));
  g_assert_true (g_strv_contains ((const char *const *)env, "EMPTY="));
  g_assert_true (g_strv_contains ((const char *const *)env, "HOME=/home/sandbox"));

  for (const char *bad[] = { "NOEQUALS", "1X=y", "A-B=c", "=x", NULL }, **b = bad; *b; b++) {
    const char *one[] = { *b, NULL };
    g_autoptr (GError) e = NULL;
    g_auto (GStrv) r = af_sandbox_build_env (one, &e);
    g_assert_null (r);
    g_assert_error (e, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  }
  for (int i = 0; i < AF_EXEC_MAX_ENV + 1; i++)
    g_ptr_array_add (many, g_strdup_printf ("V%d=x", i));
  g_ptr_array_add (many, NULL);
  none = af_sandbox_build_env ((const char *const *)many->pdata, &error);
  g_assert_null (none);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
}

static void
test_seccomp_bpf (void)
{
  g_autoptr (GError) error = NULL;
  int fd = af_seccomp_build_memfd (&error);
  struct stat st;

  g_assert_no_error (error);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fstat (fd, &st), ==, 0);
  /* struct sock_filter is 8 bytes; the program is not trivial. */
  g_assert_cmpint (st.st_size % 8, ==, 0);
  g_assert_cmpint (st.st_size / 8, >, 50);
  g_assert_cmpint (lseek (fd, 0, SEEK_CUR), ==, 0);
  close (fd);
}

static void
test_seccomp_docker_profile (void)
{
  g_autofree char *json = af_seccomp_docker_profile ();
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonObject *root;
  JsonArray *rules;
  gboolean saw_mount = FALSE, saw_clone3 = FALSE, saw_vsock = FALSE;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "defaultAction"), ==, "SCMP_ACT_ALLOW");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "architectures")),
                    ==, 1);
  rules = json_object_get_array_member (root, "syscalls");
  for (guint i = 0; i < json_array_get_length (rules); i++) {
    JsonObject *r = json_array_get_object_element (rules, i);
    JsonArray *names = json_object_get_array_member (r, "names");
    gint64 err = json_object_get_int_member (r, "errnoRet");
    for (guint k = 0; k < json_array_get_length (names); k++) {
      const char *n = json_array_get_string_element (names, k);
      if (g_str_equal (n, "mount"))
        saw_mount = err == EPERM;
      if (g_str_equal (n, "clone3"))
        saw_clone3 = err == ENOSYS;
      if (g_str_equal (n, "socket") && json_object_has_member (r, "args")) {
        JsonObject *a = json_array_get_object_element (json_object_get_array_member (r, "args"), 0);
        if (json_object_get_int_member (a, "value") == 40)
          saw_vsock = err == EAFNOSUPPORT;
      }
    }
  }
  g_assert_true (saw_mount);
  g_assert_true (saw_clone3);
  g_assert_true (saw_vsock);
}

static void
test_options (void)
{
  g_autoptr (AfConfig) config = af_exec_config_new ();
  g_autoptr (GError) error = NULL;
  g_auto (AfSandboxConfig) cfg = { 0 };
  g_autofree char *ws = g_dir_make_tmp ("af-exec-unit-XXXXXX", NULL);

  /* No workspace: a clear error. */
  g_assert_false (af_exec_sandbox_config (config, "sb_x", &cfg, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (af_config_set (config, "exec.workspace", ws, "test", NULL));
  g_assert_true (af_config_set (config, "exec.init", "/bin/true", "test", NULL));
  g_assert_true (af_config_set (config, "exec.runtime", "lxc", "test", NULL));
  g_assert_false (af_exec_sandbox_config (config, "sb_x", &cfg, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (af_config_set (config, "exec.runtime", "bwrap", "test", NULL));
  g_assert_true (af_config_set (config, "exec.memory", "64M", "test", NULL));
  g_assert_true (af_exec_sandbox_config (config, "sb_x", &cfg, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cfg.limits.memory_bytes, ==, 64 * 1024 * 1024);
  g_assert_cmpuint (cfg.host_uid, !=, 0);
  if (geteuid () == 0) {
    g_assert_cmpuint (cfg.host_uid, >=, AF_EXEC_UID_BASE_DEFAULT);
    g_assert_cmpuint (cfg.host_uid, <, AF_EXEC_UID_BASE_DEFAULT + AF_EXEC_UID_RANGE);
  }
  g_rmdir (ws);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/af-exec/unit/shell-argv", test_shell_argv);
  g_test_add_func ("/af-exec/unit/env", test_env);
  g_test_add_func ("/af-exec/unit/seccomp-bpf", test_seccomp_bpf);
  g_test_add_func ("/af-exec/unit/seccomp-docker-profile", test_seccomp_docker_profile);
  g_test_add_func ("/af-exec/unit/options", test_options);
  return g_test_run ();
}
