/* test-oneshot.c — af-exec one-shot mode over a real bwrap: exit codes,
 * stdin, environment, workdir, timeouts and tree kills checked in /proc,
 * output caps, host uid, capabilities, network, and every seccomp block
 * proven by try-syscall inside the sandbox. */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "exec-testlib.h"

/* af-exec with the runtime under test, in the background. */
static GSubprocess *launch_flags (ExecFixture *fx, GSubprocessFlags flags, GError **error,
                                  const char *first, ...) G_GNUC_NULL_TERMINATED;
#define launch(fx, error, ...) launch_flags (fx, G_SUBPROCESS_FLAGS_NONE, error, __VA_ARGS__)

static GSubprocess *
launch_flags (ExecFixture *fx, GSubprocessFlags flags, GError **error, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  va_list ap;
  g_ptr_array_add (argv, (char *)exec_test_af_exec ());
  g_ptr_array_add (argv, "--workspace");
  g_ptr_array_add (argv, fx->workspace);
  for (const char *const *r = exec_test_runtime_args (); *r; r++)
    g_ptr_array_add (argv, (char *)*r);
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *)a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return g_subprocess_newv ((const char *const *)argv->pdata, flags, error);
}

#define SETUP()                                                                                    \
  if (!exec_test_require_root () || !exec_test_require_sandbox ())                                 \
    return;

static void
test_exit_codes (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *err = NULL;
  SETUP ();
  g_assert_cmpint (exec_test_run (fx, NULL, NULL, NULL, "--", "true", NULL), ==, 0);
  g_assert_cmpint (exec_test_run (fx, NULL, NULL, NULL, "--", "sh", "-c", "exit 3", NULL), ==, 3);
  g_assert_cmpint (exec_test_run (fx, NULL, NULL, NULL, "--", "sh", "-c", "exit 255", NULL), ==,
                   255);
  g_assert_cmpint (exec_test_run (fx, NULL, NULL, NULL, "--", "sh", "-c", "kill -TERM $$", NULL),
                   ==, 128 + SIGTERM);
  g_assert_cmpint (exec_test_run (fx, NULL, NULL, NULL, "--", "sh", "-c", "kill -KILL $$", NULL),
                   ==, 128 + SIGKILL);
  g_assert_cmpint (exec_test_run (fx, NULL, NULL, &err, "--", "no-such-command", NULL), ==, 127);
  g_assert_nonnull (strstr (err, "no-such-command"));
}

static void
test_stdin (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL;
  SETUP ();
  g_assert_cmpint (exec_test_run (fx, "line one\nline two\n", &out, NULL, "--", "sh", "-c",
                                  "tac; echo end", NULL),
                   ==, 0);
  g_assert_cmpstr (out, ==, "line two\nline one\nend\n");
}

static void
test_env_clean (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_auto (GStrv) lines = NULL;
  SETUP ();
  g_setenv ("AF_SUPERVISOR_MARKER", "leaked", TRUE);
  g_assert_cmpint (exec_test_run (fx, NULL, &out, NULL, "--env", "FOO=bar", "--env", "LANG=C", "--",
                                  "env", NULL),
                   ==, 0);
  g_unsetenv ("AF_SUPERVISOR_MARKER");
  g_assert_null (strstr (out, "leaked"));
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 5);
  g_assert_true (g_strv_contains ((const char *const *)lines, "FOO=bar"));
  g_assert_true (g_strv_contains ((const char *const *)lines, "LANG=C"));
  g_assert_true (g_strv_contains ((const char *const *)lines, "HOME=/home/sandbox"));
  g_assert_true (g_strv_contains ((const char *const *)lines, "TERM=dumb"));
  g_assert_true (g_strv_contains ((const char *const *)lines, "PATH=/usr/local/bin:/usr/bin:/bin"));
  /* A bad name is refused before anything runs. */
  g_assert_cmpint (exec_test_run (fx, NULL, NULL, NULL, "--env", "1BAD=x", "--", "true", NULL), ==,
                   125);
}

static gboolean
environ_has (int pid, const char *needle)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/environ", pid);
  g_autofree char *env = NULL;
  gsize len;
  if (!g_file_get_contents (path, &env, &len, NULL))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (env[i] == '\0')
      env[i] = '\n';
  return strstr (env, needle) != NULL;
}

static int
parent_of (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  const char *p;
  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return -1;
  p = strrchr (stat, ')');
  return p ? atoi (p + 4) : -1;
}

static void
test_env_not_on_host (ExecFixture *fx, gconstpointer data)
{
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *secs = exec_test_tagged ("30.");
  g_autofree char *needle = g_strconcat ("sleep ", secs, NULL);
  int sleeper, pid, chain = 0;
  SETUP ();

  p = launch (fx, &error, "--env", "AF_REQ_MARKER=req-7c1e", "--", "sleep", secs, NULL);
  g_assert_no_error (error);
  sleeper = exec_test_wait_proc (needle, 30000);
  g_assert_cmpint (sleeper, >, 0);
  g_assert_true (environ_has (sleeper, "AF_REQ_MARKER=req-7c1e"));
  /* Every host-side ancestor up to af-exec: bwrap, the init — none has it. */
  for (pid = parent_of (sleeper); pid > 1; pid = parent_of (pid)) {
    g_assert_false (environ_has (pid, "req-7c1e"));
    chain++;
    if (atoi (g_subprocess_get_identifier (p)) == pid)
      break;
  }
  g_assert_cmpint (chain, >=, exec_test_is_docker () ? 1 : 2);
  g_subprocess_send_signal (p, SIGTERM);
  g_subprocess_wait (p, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 128 + SIGTERM);
  g_assert_cmpint (exec_test_count_procs (needle), ==, 0);
}

static void
test_workdir (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  SETUP ();
  g_assert_cmpint (exec_test_run (fx, NULL, &out, NULL, "--", "pwd", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "/workspace\n");
  g_free (out);
  g_assert_cmpint (exec_test_run (fx, NULL, &out, NULL, "--workdir", "/tmp", "--", "pwd", NULL), ==,
                   0);
  g_assert_cmpstr (out, ==, "/tmp\n");
  g_assert_cmpint (
      exec_test_run (fx, NULL, NULL, &err, "--workdir", "/no/such/dir", "--", "pwd", NULL), ==,
      125);
  g_assert_nonnull (strstr (err, "/no/such/dir"));
}

static gboolean
proc_is (int pid, const char *needle)
{
  g_autoptr (GArray) pids = exec_test_find_procs (needle);
  for (guint i = 0; i < pids->len; i++)
    if (g_array_index (pids, int, i) == pid)
      return TRUE;
  return FALSE;
}

static void
test_timeout_kills_tree (ExecFixture *fx, gconstpointer data)
{
  /* This run's own names: a concurrent run of this test has other ones. */
  g_autofree char *s1 = exec_test_tagged ("sleep 301.");
  g_autofree char *s2 = exec_test_tagged ("sleep 302.");
  g_autofree char *s3 = exec_test_tagged ("sleep 303.");
  const char *const sleeps[] = { s1, s2, s3 };
  g_autofree char *command = g_strdup_printf ("(setsid %s &); %s & %s", s1, s2, s3);
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int pids[G_N_ELEMENTS (sleeps)];
  gint64 seen;
  SETUP ();
  /* A setsid'd double fork, a background job and a foreground sleep. The
   * timeout counts from the command's start, not the sandbox's, and leaves
   * time to see all three running first: the test proves they were killed,
   * not that they never started, whatever the machine's load. */
  p = launch_flags (fx, G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, "--timeout", "5s", "--", "sh", "-c",
                    command, NULL);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (sleeps); i++) {
    pids[i] = exec_test_wait_proc (sleeps[i], 60000);
    g_assert_cmpint (pids[i], >, 0);
  }
  seen = g_get_monotonic_time ();
  g_subprocess_communicate_utf8 (p, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 124);
  /* Killed at the timeout, not when the 300 s sleeps would have ended. */
  g_assert_cmpint (g_get_monotonic_time () - seen, <, 60 * G_USEC_PER_SEC);
  g_assert_nonnull (strstr (err, "timed out"));
  /* Each one seen is gone, and no other process by these names (only this
   * run of this test uses them) is left. */
  for (guint i = 0; i < G_N_ELEMENTS (sleeps); i++) {
    g_assert_false (proc_is (pids[i], sleeps[i]));
    g_assert_cmpuint (exec_test_count_procs (sleeps[i]), ==, 0);
  }
}

static gboolean
on_expired (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
on_line (GObject *source, GAsyncResult *res, gpointer data)
{
  *(GAsyncResult **)data = g_object_ref (res);
}

/* Docker: af-exec SIGKILLed mid-command leaves neither the command nor its
 * container (stopped or not). The container's removal is awaited as the
 * engine's `destroy` event, replayed from before the run so it cannot be
 * missed. */
static void
test_killed_leaves_no_container (ExecFixture *fx, gconstpointer data)
{
  g_autoptr (GSubprocess) p = NULL, events = NULL, inspect = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDataInputStream) lines = NULL;
  g_autofree char *name = NULL, *since = NULL, *filter = NULL, *line = NULL;
  g_autofree char *inspect_err = NULL;
  g_autofree char *secs = exec_test_tagged ("306.");
  g_autofree char *needle = g_strconcat ("sleep ", secs, NULL);
  SETUP ();

  since = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () / G_USEC_PER_SEC - 1);
  p = launch (fx, &error, "--", "sleep", secs, NULL);
  g_assert_no_error (error);
  g_assert_cmpint (exec_test_wait_proc (needle, 60000), >, 0);
  name = g_strdup_printf ("agentfense-oneshot-%s", g_subprocess_get_identifier (p));
  filter = g_strdup_printf ("container=%s", name);
  g_subprocess_force_exit (p);
  g_subprocess_wait (p, NULL, &error);
  g_assert_no_error (error);

  events = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "docker", "events", "--since",
                             since, "--filter", filter, "--filter", "event=destroy",
                             /* Podman's name for the same event */
                             "--filter", "event=remove", "--format", "{{.Action}}", NULL);
  g_assert_no_error (error);
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (events));
  {
    /* Bounded: no event within 120 s is a failure, not a hang. */
    GAsyncResult *res = NULL;
    gboolean expired = FALSE;
    guint timer = g_timeout_add_seconds (120, on_expired, &expired);
    g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, on_line, &res);
    while (res == NULL && !expired)
      g_main_context_iteration (NULL, TRUE);
    g_subprocess_force_exit (events);
    g_subprocess_wait (events, NULL, NULL);
    if (res == NULL) {
      while (res == NULL) /* the read ends once the pipe closes */
        g_main_context_iteration (NULL, TRUE);
    } else {
      g_source_remove (timer);
    }
    line = g_data_input_stream_read_line_finish (lines, res, NULL, &error);
    g_object_unref (res);
    g_assert_false (expired);
  }
  g_assert_no_error (error);
  g_assert_true (g_strcmp0 (line, "destroy") == 0 || g_strcmp0 (line, "remove") == 0);

  inspect = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              &error, "docker", "container", "inspect", name, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (inspect, NULL, NULL, NULL, &inspect_err, &error);
  g_assert_no_error (error);
  g_assert_false (g_subprocess_get_successful (inspect));
  g_assert_true (exec_test_no_such_container (inspect_err));
  g_assert_cmpuint (exec_test_count_procs (needle), ==, 0);
}

static void
test_end_kills_tree (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *needle = exec_test_tagged ("sleep 304.");
  g_autofree char *command = g_strdup_printf ("(setsid %s > /dev/null 2>&1 &); echo done", needle);
  g_autoptr (GArray) left = NULL;
  SETUP ();
  g_assert_cmpint (exec_test_run (fx, NULL, &out, NULL, "--", "sh", "-c", command, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "done\n");
  left = exec_test_find_procs (needle);
  g_assert_cmpuint (left->len, ==, 0);
}

static void
test_output_cap (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  struct rusage ru;
  SETUP ();
  /* 300 MB printed, 1 MiB kept; the command still runs to completion. */
  g_assert_cmpint (exec_test_run (fx, NULL, &out, &err, "--output-limit", "1M", "--", "sh", "-c",
                                  "head -c 300000000 /dev/zero; echo finished >&2", NULL),
                   ==, 0);
  g_assert_cmpuint (strlen (out), ==, 0); /* zeros: strlen stops at once */
  g_assert_nonnull (strstr (err, "finished"));
  g_assert_nonnull (strstr (err, "truncated"));
  g_assert_cmpint (getrusage (RUSAGE_CHILDREN, &ru), ==, 0);
  /* Far below what buffering the output would take (KiB). */
  g_assert_cmpint (ru.ru_maxrss, <, 150 * 1024);
}

static void
test_output_cap_exact (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL;
  SETUP ();
  g_assert_cmpint (exec_test_run (fx, NULL, &out, NULL, "--output-limit", "1000", "--", "sh", "-c",
                                  "yes abcdefghi | head -c 5000", NULL),
                   ==, 0);
  g_assert_cmpuint (strlen (out), ==, 1000);
}

static void
test_uid_not_root (ExecFixture *fx, gconstpointer data)
{
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *secs = exec_test_tagged ("30.");
  g_autofree char *needle = g_strconcat ("sleep ", secs, NULL);
  int sleeper;
  SETUP ();
  p = launch (fx, &error, "--", "sleep", secs, NULL);
  g_assert_no_error (error);
  sleeper = exec_test_wait_proc (needle, 30000);
  g_assert_cmpint (sleeper, >, 0);
  g_assert_cmpint (exec_test_proc_uid (sleeper), >, 0);
  g_assert_cmpint (exec_test_proc_uid (parent_of (sleeper)), >, 0); /* the init */
  g_subprocess_send_signal (p, SIGTERM);
  g_subprocess_wait (p, NULL, NULL);
  /* Inside, not root either, and system dirs are not writable. */
  g_assert_cmpint (
      exec_test_run (fx, NULL, &out, NULL, "--", "sh", "-c",
                     "id -u; touch /usr/af-test /bin/af-test 2>/dev/null || echo denied", NULL),
      ==, 0);
  g_assert_cmpint (atoi (out), >, 0);
  g_assert_nonnull (strstr (out, "\ndenied\n"));
}

static void
test_proc_status (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL;
  SETUP ();
  g_assert_cmpint (exec_test_run (fx, NULL, &out, NULL, "--", "grep", "-E",
                                  "^(CapEff|CapBnd|NoNewPrivs|Seccomp):", "/proc/self/status",
                                  NULL),
                   ==, 0);
  g_assert_nonnull (strstr (out, "CapEff:\t0000000000000000"));
  g_assert_nonnull (strstr (out, "CapBnd:\t0000000000000000"));
  g_assert_nonnull (strstr (out, "NoNewPrivs:\t1"));
  g_assert_nonnull (strstr (out, "Seccomp:\t2"));
}

static int
listen_loopback (int *port)
{
  struct sockaddr_in sa = { 0 };
  socklen_t len = sizeof sa;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  g_assert_cmpint (listen (fd, 4), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *)&sa, &len), ==, 0);
  *port = ntohs (sa.sin_port);
  return fd;
}

static void
test_network (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL, *out2 = NULL, *ifs = NULL;
  g_autofree char *port_s = NULL;
  int port, fd;
  SETUP ();
  fd = listen_loopback (&port);
  port_s = g_strdup_printf ("%d", port);
  g_assert_cmpint (exec_test_run (fx, NULL, &ifs, NULL, "--", "sh", "-c",
                                  "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '", NULL),
                   ==, 0);
  g_assert_cmpstr (ifs, ==, "lo\n");
  g_assert_cmpint (
      exec_test_run (fx, NULL, &out, NULL, "--", "/workspace/try-syscall", "connect", port_s, NULL),
      ==, 0);
  g_assert_cmpstr (out, ==, "connect 111\n"); /* ECONNREFUSED: its own, empty loopback */
  if (exec_test_is_docker ()) {
    /* Bridge networking: an interface besides lo (the host's loopback is
     * not the container's, so the connect check is bwrap's). */
    g_assert_cmpint (exec_test_run (fx, NULL, &out2, NULL, "--network", "--", "sh", "-c",
                                    "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '", NULL),
                     ==, 0);
    g_assert_nonnull (strstr (out2, "eth0"));
  } else {
    g_assert_cmpint (exec_test_run (fx, NULL, &out2, NULL, "--network", "--",
                                    "/workspace/try-syscall", "connect", port_s, NULL),
                     ==, 0);
    g_assert_cmpstr (out2, ==, "connect 0\n");
  }
  close (fd);
}

/* name → the errno the filter must return. */
static const struct {
  const char *name;
  int err;
} blocked[] = {
  { "mount", EPERM },
  { "umount2", EPERM },
  { "pivot_root", EPERM },
  { "chroot", EPERM },
  { "unshare", EPERM },
  { "setns", EPERM },
  { "clone_newuser", EPERM },
  { "clone_newns", EPERM },
  { "clone_newpid", EPERM },
  { "clone_newnet", EPERM },
  { "clone_newuts", EPERM },
  { "clone_newipc", EPERM },
  { "clone_newcgroup", EPERM },
  { "ptrace", EPERM },
  { "process_vm_readv", EPERM },
  { "process_vm_writev", EPERM },
  { "kcmp", EPERM },
  { "bpf", EPERM },
  { "perf_event_open", EPERM },
  { "userfaultfd", EPERM },
  { "kexec_load", EPERM },
  { "kexec_file_load", EPERM },
  { "init_module", EPERM },
  { "finit_module", EPERM },
  { "delete_module", EPERM },
  { "reboot", EPERM },
  { "keyctl", EPERM },
  { "add_key", EPERM },
  { "request_key", EPERM },
  { "open_by_handle_at", EPERM },
  { "acct", EPERM },
  { "quotactl", EPERM },
  { "syslog", EPERM },
  { "swapon", EPERM },
  { "swapoff", EPERM },
  { "settimeofday", EPERM },
  { "clock_settime", EPERM },
  { "clock_adjtime", EPERM },
#ifdef __x86_64__
  { "iopl", EPERM },
  { "ioperm", EPERM },
  { "modify_ldt", EPERM },
  { "uselib", EPERM },
#endif
  { "personality", EPERM },
  { "mbind", EPERM },
  { "move_pages", EPERM },
  { "set_mempolicy", EPERM },
  { "migrate_pages", EPERM },
  { "ioctl_tiocsti", EPERM },
  { "ioctl_tiocsti_high", EPERM },
  { "ioctl_tioclinux", EPERM },
  { "clone3", ENOSYS },
  { "open_tree", ENOSYS },
  { "move_mount", ENOSYS },
  { "fsopen", ENOSYS },
  { "fsconfig", ENOSYS },
  { "fsmount", ENOSYS },
  { "fspick", ENOSYS },
  { "mount_setattr", ENOSYS },
  { "io_uring_setup", ENOSYS },
  { "io_uring_enter", ENOSYS },
  { "io_uring_register", ENOSYS },
  { "socket_vsock", EAFNOSUPPORT },
  { "socket_packet", EAFNOSUPPORT },
  { "socket_bluetooth", EAFNOSUPPORT },
  { "socket_alg", EAFNOSUPPORT },
  { "socket_unix", 0 },
  { "socket_inet", 0 },
  { "socket_netlink", 0 },
  { "getpid", 0 },
};

static GHashTable *
parse_results (const char *text)
{
  GHashTable *h = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    char *sp = strchr (*l, ' ');
    if (sp)
      g_hash_table_insert (h, g_strndup (*l, (gsize)(sp - *l)), GINT_TO_POINTER (atoi (sp + 1)));
  }
  return h;
}

static void
test_seccomp (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL, *host_out = NULL, *helper = NULL;
  g_autoptr (GHashTable) inside = NULL, host = NULL;
  const char *host_argv[] = { NULL, "all", NULL };
  int status;
  SETUP ();
  g_assert_cmpint (
      exec_test_run (fx, NULL, &out, NULL, "--", "/workspace/try-syscall", "all", NULL), ==, 0);
  inside = parse_results (out);
  /* The same calls outside any filter: never the filter's errno (except
   * where the control is an allowed call), so the answer above came from
   * the filter, not from the kernel rejecting the arguments. */
  helper = g_build_filename (fx->workspace, "try-syscall", NULL);
  host_argv[0] = helper;
  g_assert_true (
      g_spawn_sync (NULL, (char **)host_argv, NULL, 0, NULL, NULL, &host_out, NULL, &status, NULL));
  host = parse_results (host_out);
  for (gsize i = 0; i < G_N_ELEMENTS (blocked); i++) {
    gpointer v;
    g_test_message ("%s: inside %d, expected %d", blocked[i].name,
                    GPOINTER_TO_INT (g_hash_table_lookup (inside, blocked[i].name)),
                    blocked[i].err);
    g_assert_true (g_hash_table_lookup_extended (inside, blocked[i].name, NULL, &v));
    g_assert_cmpint (GPOINTER_TO_INT (v), ==, blocked[i].err);
    if (blocked[i].err != 0 && g_hash_table_lookup_extended (host, blocked[i].name, NULL, &v) &&
        !g_str_has_prefix (blocked[i].name, "socket_"))
      g_assert_cmpint (GPOINTER_TO_INT (v), !=, blocked[i].err);
  }
}

static void
test_foreign_arch (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *helper = NULL;
  const char *argv[] = { NULL, "int80", NULL };
  int status;
  SETUP ();
#ifndef __x86_64__
  g_test_skip ("the i386 entry exists only on x86_64");
  return;
#endif
  helper = g_build_filename (fx->workspace, "try-syscall", NULL);
  argv[0] = helper;
  g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                NULL, NULL, NULL, NULL, &status, NULL);
  if (!g_spawn_check_wait_status (status, NULL)) {
    g_test_skip ("this kernel has no working i386 syscall entry (int 0x80 faults on the host)");
    return;
  }
  /* The filter kills the process on a foreign architecture: SIGSYS. */
  g_assert_cmpint (
      exec_test_run (fx, NULL, NULL, NULL, "--", "/workspace/try-syscall", "int80", NULL), ==,
      128 + SIGSYS);
}

static void
test_memory_limit (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *err = NULL, *out = NULL;
  SETUP ();
  /* A shell variable of 300 MB under a 64 MiB limit. */
  g_assert_cmpint (exec_test_run (fx, NULL, NULL, &err, "--memory", "64M", "--", "sh", "-c",
                                  "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo ${#x}",
                                  NULL),
                   ==, 137);
  if (!exec_test_is_docker ())
    g_assert_nonnull (strstr (err, "memory limit"));
  /* Under the limit, fine. */
  g_assert_cmpint (exec_test_run (fx, NULL, &out, NULL, "--memory", "64M", "--", "sh", "-c",
                                  "x=$(head -c 1000000 /dev/zero | tr '\\0' a); echo ${#x}", NULL),
                   ==, 0);
  g_assert_cmpstr (out, ==, "1000000\n");
}

static void
test_pids_limit (ExecFixture *fx, gconstpointer data)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *needle = exec_test_tagged ("sleep 60.");
  g_autofree char *bomb = g_strdup_printf ("b() { b | b & }; b; %s", needle);
  g_autoptr (GArray) left = NULL;
  SETUP ();
  /* A fork bomb is contained and killed by the timeout. */
  g_assert_cmpint (exec_test_run (fx, NULL, NULL, NULL, "--pids", "32", "--timeout", "2s", "--",
                                  "sh", "-c", bomb, NULL),
                   ==, 124);
  left = exec_test_find_procs (needle);
  g_assert_cmpuint (left->len, ==, 0);
  /* The limit is enforced: 40 background sleeps cannot all start under 32. */
  g_assert_cmpint (exec_test_run (fx, NULL, &out, &err, "--pids", "32", "--", "sh", "-c",
                                  "for i in $(seq 40); do sleep 5 & done; echo all started", NULL),
                   !=, 0);
  g_assert_null (strstr (out, "all started"));
  g_assert_nonnull (strstr (err, "fork"));
}

static guint64
proc_cpu_ticks (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  g_auto (GStrv) f = NULL;
  const char *p;
  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return 0;
  p = strrchr (stat, ')');
  f = g_strsplit (p + 2, " ", -1);
  /* utime and stime are fields 14 and 15; f[0] is field 3. */
  return g_ascii_strtoull (f[11], NULL, 10) + g_ascii_strtoull (f[12], NULL, 10);
}

static void
test_cpu_quota (ExecFixture *fx, gconstpointer data)
{
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;
  guint64 t0, t1;
  g_autofree char *loop = exec_test_tagged ("while :; do :; done; #cpu ");
  g_autofree char *needle = g_strconcat ("sh -c ", loop, NULL);
  double used;
  int looper;
  SETUP ();
  /* 20 ms per 100 ms: a busy loop gets about a fifth of a CPU. */
  p = launch (fx, &error, "--cpu-quota", "20000", "--", "sh", "-c", loop, NULL);
  g_assert_no_error (error);
  looper = exec_test_wait_proc (needle, 30000);
  g_assert_cmpint (looper, >, 0);
  t0 = proc_cpu_ticks (looper);
  g_usleep (G_USEC_PER_SEC);
  t1 = proc_cpu_ticks (looper);
  used = (double)(t1 - t0) / (double)sysconf (_SC_CLK_TCK);
  g_test_message ("cpu used in 1 s wall under a 20%% quota: %.3f s", used);
  g_subprocess_send_signal (p, SIGTERM);
  g_subprocess_wait (p, NULL, NULL);
  g_assert_cmpfloat (used, <, 0.45);
  g_assert_cmpfloat (used, >, 0.05);
}

static void
test_cpu_shares (ExecFixture *fx, gconstpointer data)
{
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *v1 = NULL, *v2 = NULL, *value = NULL;
  g_autofree char *secs = exec_test_tagged ("30.");
  g_autofree char *needle = g_strconcat ("sleep ", secs, NULL);
  SETUP ();
  if (exec_test_is_docker ()) {
    g_test_skip ("the engine applies --cpu-shares (checked by its own tests)");
    return;
  }
  p = launch (fx, &error, "--cpu-shares", "512", "--", "sleep", secs, NULL);
  g_assert_no_error (error);
  g_assert_cmpint (exec_test_wait_proc (needle, 30000), >, 0);
  v1 = g_strdup_printf ("/sys/fs/cgroup/cpu/agentfense/oneshot-%s/cpu.shares",
                        g_subprocess_get_identifier (p));
  v2 = g_strdup_printf ("/sys/fs/cgroup/agentfense/oneshot-%s/cpu.weight",
                        g_subprocess_get_identifier (p));
  if (g_file_get_contents (v1, &value, NULL, NULL)) {
    g_assert_cmpstr (g_strstrip (value), ==, "512");
  } else if (g_file_get_contents (v2, &value, NULL, NULL)) {
    g_assert_cmpstr (g_strstrip (value), ==, "20"); /* 1 + (510 * 9999) / 262142 */
  } else {
    g_subprocess_send_signal (p, SIGTERM);
    g_subprocess_wait (p, NULL, NULL);
    g_test_skip ("no cpu controller here");
    return;
  }
  g_subprocess_send_signal (p, SIGTERM);
  g_subprocess_wait (p, NULL, NULL);
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 128 + SIGTERM);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn)                                                                              \
  g_test_add ("/af-exec/oneshot/" path, ExecFixture, NULL, exec_fixture_setup, fn,                 \
              exec_fixture_teardown)
  ADD ("exit-codes", test_exit_codes);
  ADD ("stdin", test_stdin);
  ADD ("env-clean", test_env_clean);
  ADD ("env-not-on-host", test_env_not_on_host);
  ADD ("workdir", test_workdir);
  ADD ("timeout-kills-tree", test_timeout_kills_tree);
  ADD ("end-kills-tree", test_end_kills_tree);
  if (exec_test_is_docker ())
    ADD ("killed-leaves-no-container", test_killed_leaves_no_container);
  ADD ("output-cap", test_output_cap);
  ADD ("output-cap-exact", test_output_cap_exact);
  ADD ("uid-not-root", test_uid_not_root);
  ADD ("proc-status", test_proc_status);
  ADD ("network", test_network);
  ADD ("seccomp", test_seccomp);
  ADD ("foreign-arch", test_foreign_arch);
  ADD ("memory-limit", test_memory_limit);
  ADD ("pids-limit", test_pids_limit);
  ADD ("cpu-quota", test_cpu_quota);
  ADD ("cpu-shares", test_cpu_shares);
  return g_test_run ();
}
