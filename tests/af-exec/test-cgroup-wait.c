/* test-cgroup-wait.c — waiting for a cgroup to empty, on real cgroups: the
 * v2 event (cgroup.events, in the unified tree of a hybrid host) and the v1
 * one (pidfds of the processes listed), its deadline, an rmdir racing a
 * killed process's exit, and a cgroup removed from outside while watched.
 * Needs root and writable cgroups; skips otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <linux/magic.h>

#include "cgroup-private.h"

static gboolean
is_fs (const char *path, long magic)
{
  struct statfs st;
  return statfs (path, &st) == 0 && (long)st.f_type == magic;
}

/* A fresh cgroup below @root holding one process of ours (sleeping). */
static char *
make_cgroup_with_child (const char *root, pid_t *ret_pid)
{
  g_autofree char *name = g_strdup_printf ("af-exec-test-wait-%d", (int)getpid ());
  char *dir = g_build_filename (root, name, NULL);
  g_autofree char *procs = g_build_filename (dir, "cgroup.procs", NULL);
  g_autofree char *pid_text = NULL;
  pid_t pid;
  int fd;

  g_assert_cmpint (mkdir (dir, 0755), ==, 0);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0) {
    /* Never outlive the test, even one that aborts on an assertion. */
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    for (;;)
      pause ();
  }
  *ret_pid = pid;
  pid_text = g_strdup_printf ("%d", (int)pid);
  fd = open (procs, O_WRONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, pid_text, strlen (pid_text)), ==, (gssize)strlen (pid_text));
  close (fd);
  return dir;
}

typedef enum {
  WAIT_EVENTS,      /* an open cgroup.events given */
  WAIT_OPEN_EVENTS, /* -1: the helper opens it (v1: falls back to pidfds) */
  WAIT_MEMBERS,     /* the members' pidfds */
} WaitHow;

static gboolean
wait_empty (const char *dir, int events_fd, WaitHow how, gint64 deadline)
{
  return how == WAIT_MEMBERS ? af_cgroup_wait_members (dir, deadline)
                             : af_cgroup_wait_empty (dir, events_fd, deadline);
}

static void
check_wait (const char *root, WaitHow how)
{
  g_autofree char *dir = NULL;
  g_autofree char *events = NULL;
  int events_fd = -1;
  pid_t pid;
  gint64 t0;
  int status;

  if (geteuid () != 0 || access (root, W_OK) != 0) {
    g_test_skip ("needs root and a writable cgroup hierarchy");
    return;
  }
  dir = make_cgroup_with_child (root, &pid);
  if (how == WAIT_EVENTS) {
    events = g_build_filename (dir, "cgroup.events", NULL);
    events_fd = open (events, O_RDONLY | O_CLOEXEC);
    g_assert_cmpint (events_fd, >=, 0);
  }

  /* A live process: the wait ends at its deadline, not before. */
  t0 = g_get_monotonic_time ();
  g_assert_false (wait_empty (dir, events_fd, how, t0 + 100 * 1000));
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, 95 * 1000);
  g_assert_cmpint (rmdir (dir), ==, -1);
  g_assert_cmpint (errno, ==, EBUSY);

  /* Killed and not yet reaped: a zombie is out of its cgroup, so the wait
   * ends on the kernel's event, long before the deadline; and the rmdir
   * racing the exit succeeds. */
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  t0 = g_get_monotonic_time ();
  g_assert_true (
      af_cgroup_rmdir_when_empty (dir, events_fd, how == WAIT_MEMBERS, t0 + 5 * G_USEC_PER_SEC));
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 4 * G_USEC_PER_SEC);
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  if (events_fd >= 0)
    close (events_fd);
}

/* The cgroup2 hierarchy: at the root (unified) or beside v1 (hybrid). */
static const char *
v2_root (void)
{
  if (is_fs (CG_ROOT, CGROUP2_SUPER_MAGIC))
    return CG_ROOT;
  if (is_fs (CG_ROOT "/unified", CGROUP2_SUPER_MAGIC))
    return CG_ROOT "/unified";
  return NULL;
}

/* The cgroup2 hierarchy, writable; NULL with the test skipped otherwise. */
static const char *
require_v2 (void)
{
  const char *root = v2_root ();

  if (root == NULL) {
    g_test_skip ("no cgroup2 hierarchy mounted");
    return NULL;
  }
  if (geteuid () != 0 || access (root, W_OK) != 0) {
    g_test_skip ("needs root and a writable cgroup hierarchy");
    return NULL;
  }
  return root;
}

static void
test_wait_v2 (gconstpointer data)
{
  /* WAIT_EVENTS; WAIT_OPEN_EVENTS (the helper opens cgroup.events itself);
   * WAIT_MEMBERS (the pidfd wait, on v2: how a container's cgroup is
   * waited on). */
  const char *root = require_v2 ();
  if (root)
    check_wait (root, GPOINTER_TO_INT (data));
}

static void
test_wait_v1 (void)
{
  if (is_fs (CG_ROOT "/pids", CGROUP_SUPER_MAGIC))
    check_wait (CG_ROOT "/pids", WAIT_OPEN_EVENTS);
  else
    g_test_skip ("no cgroup v1 pids hierarchy mounted");
}

/* A cgroup removed from outside while its cgroup.events is open: what a
 * container's runtime does to our command cgroups as the container ends.
 * The open file then polls ready for good and reads fail; the wait must
 * take the removal for empty (only an empty cgroup can go), not spin. */
static void
test_wait_v2_removed (void)
{
  const char *root;
  g_autofree char *dir = NULL;
  g_autofree char *events = NULL;
  int events_fd, status;
  pid_t pid;
  gint64 t0;

  if ((root = require_v2 ()) == NULL)
    return;
  dir = make_cgroup_with_child (root, &pid);
  events = g_build_filename (dir, "cgroup.events", NULL);
  events_fd = open (events, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (events_fd, >=, 0);
  g_assert_false (af_cgroup_events_say_empty (events_fd));
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_cmpint (rmdir (dir), ==, 0);

  g_assert_true (af_cgroup_events_say_empty (events_fd));
  t0 = g_get_monotonic_time ();
  g_assert_true (af_cgroup_wait_empty (dir, events_fd, t0 + 5 * G_USEC_PER_SEC));
  g_assert_true (af_cgroup_wait_members (dir, t0 + 5 * G_USEC_PER_SEC));
  g_assert_true (af_cgroup_rmdir_when_empty (dir, events_fd, FALSE, t0 + 5 * G_USEC_PER_SEC));
  g_assert_true (af_cgroup_rmdir_when_empty (dir, -1, TRUE, t0 + 5 * G_USEC_PER_SEC));
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 4 * G_USEC_PER_SEC);
  close (events_fd);
}

static gboolean
on_timeout (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
on_empty (gpointer data)
{
  (*(int *)data)++;
  return G_SOURCE_REMOVE;
}

/* A process of ours (sleeping) placed in @cmd's cgroup, as the init
 * places a command. */
static pid_t
start_in_cmd (AfCgroupCmd *cmd)
{
  char pid_text[32];
  const int *fds;
  int n_fds;
  pid_t pid = fork ();

  g_assert_cmpint (pid, >=, 0);
  if (pid == 0) {
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    for (;;)
      pause ();
  }
  fds = af_cgroup_cmd_fds (cmd, &n_fds);
  g_snprintf (pid_text, sizeof pid_text, "%d", (int)pid);
  g_assert_cmpint (write (fds[0], pid_text, strlen (pid_text)), ==, (gssize)strlen (pid_text));
  return pid;
}

/* The asynchronous watch a command's end uses (cgroup-cmd.c), on a real
 * cgroup: nothing is reported while a process lives; after its kill the
 * callback comes from the main loop (v2: cgroup.events, v1: a pidfd), and
 * the cgroup is removed with the command. */
static void
check_when_empty (AfCgroupMode mode, const char *parent, gboolean removed_outside)
{
  g_autofree char *name = g_strdup_printf ("af-exec-test-watch-%d", (int)getpid ());
  g_autofree char *dir = g_build_filename (parent, name, NULL);
  g_autoptr (GError) error = NULL;
  AfCgroup cg = { 0 };
  AfCgroupCmd *cmd;
  int fired = 0, status;
  pid_t pid;
  gint64 deadline;

  if (geteuid () != 0 || access (parent, W_OK) != 0) {
    g_test_skip ("needs root and a writable cgroup hierarchy");
    return;
  }
  g_assert_cmpint (mkdir (dir, 0755), ==, 0);
  cg.mode = mode;
  cg.cmd_parent = dir; /* no `dirs`: nothing is made ahead */
  cmd = af_cgroup_cmd_new (&cg, &error);
  g_assert_no_error (error);
  g_assert_true ((mode == AF_CGROUP_MODE_V1) == (cmd->events_fd < 0));

  pid = start_in_cmd (cmd);

  g_assert_false (af_cgroup_cmd_is_empty (cmd));
  g_assert_false (af_cgroup_cmd_when_empty (cmd, on_empty, &fired));
  /* Nothing fires while it lives. */
  deadline = g_get_monotonic_time () + 100 * 1000;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpint (fired, ==, 0);

  af_cgroup_cmd_kill (cmd);
  if (removed_outside) {
    /* Gone before the loop saw it empty, as a container's runtime
     * removes it: the watch reports it emptied, once, and stops. */
    g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
    g_assert_cmpint (rmdir (cmd->dir), ==, 0);
  }
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (fired == 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (fired, ==, 1);
  g_assert_true (af_cgroup_cmd_is_empty (cmd));
  if (!removed_outside)
    g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

  af_cgroup_cmd_free (cmd);
  g_assert_cmpint (rmdir (dir), ==, 0); /* empty: the command's was removed */
}

/* The mode a command cgroup in the cgroup2 hierarchy is made under. */
static AfCgroupMode
v2_mode (void)
{
  return is_fs (CG_ROOT, CGROUP2_SUPER_MAGIC) ? AF_CGROUP_MODE_V2 : AF_CGROUP_MODE_HYBRID;
}

static void
test_when_empty_v2 (gconstpointer removed_outside)
{
  const char *root = require_v2 ();
  if (root)
    check_when_empty (v2_mode (), root, GPOINTER_TO_INT (removed_outside));
}

typedef struct {
  const char *dir;
  pid_t pid;
  int rmdir_errno;
} Engine;

/* Another thread plays a container engine ending the container while the
 * main loop sleeps in poll: kill, reap, remove. Started right after the
 * process joined (`populated 1`, notified), so its `populated 0` comes
 * within the kernel's 10 ms between two cgroup.events notifications: held
 * back, then dropped with the removed cgroup. A removal wakes no poller. */
static gpointer
end_container (gpointer data)
{
  Engine *e = data;
  int status;

  g_usleep (1000); /* the main loop is in poll by now */
  kill (e->pid, SIGKILL);
  waitpid (e->pid, &status, 0);
  e->rmdir_errno = rmdir (e->dir) == 0 ? 0 : errno;
  return NULL;
}

/* A command's end in a container's cgroup (adopted): the watch must report
 * it however the engine's removal races the kernel's events. */
static void
test_when_empty_adopted_removed (void)
{
  g_autofree char *name = g_strdup_printf ("af-exec-test-adopted-%d", (int)getpid ());
  const char *root;
  g_autofree char *dir = NULL;
  g_autoptr (GError) error = NULL;
  AfCgroup cg = { 0 };
  AfCgroupCmd *cmd;
  Engine engine = { 0 };
  GThread *thread;
  int fired = 0;
  gboolean timed_out = FALSE;
  guint timer;
  pid_t pid;

  if ((root = require_v2 ()) == NULL)
    return;
  dir = g_build_filename (root, name, NULL);
  g_assert_cmpint (mkdir (dir, 0755), ==, 0);
  cg.mode = v2_mode ();
  cg.cmd_parent = dir;
  cg.adopted = TRUE;
  cmd = af_cgroup_cmd_new (&cg, &error);
  g_assert_no_error (error);
  g_assert_true (cmd->by_members);

  pid = start_in_cmd (cmd);
  g_assert_false (af_cgroup_cmd_when_empty (cmd, on_empty, &fired));
  engine.dir = cmd->dir;
  engine.pid = pid;
  thread = g_thread_new ("engine", end_container, &engine);

  timer = g_timeout_add (5000, on_timeout, &timed_out);
  while (fired == 0 && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timer);
  g_thread_join (thread);
  g_assert_cmpint (engine.rmdir_errno, ==, 0);
  /* Reported at the exit, not found when the timer woke the loop (a new
   * poll of a removed cgroup's file is ready at once). */
  g_assert_false (timed_out);
  g_assert_cmpint (fired, ==, 1);
  g_assert_true (af_cgroup_cmd_is_empty (cmd));
  af_cgroup_cmd_free (cmd); /* its directory is gone already */
  g_assert_cmpint (rmdir (dir), ==, 0);
}

static void
test_when_empty_v1 (void)
{
  if (is_fs (CG_ROOT "/pids", CGROUP_SUPER_MAGIC))
    check_when_empty (AF_CGROUP_MODE_V1, CG_ROOT "/pids", FALSE);
  else
    g_test_skip ("no cgroup v1 pids hierarchy mounted");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/af-exec/cgroup-wait/v2-events", GINT_TO_POINTER (WAIT_EVENTS),
                        test_wait_v2);
  g_test_add_data_func ("/af-exec/cgroup-wait/v2-opens-events", GINT_TO_POINTER (WAIT_OPEN_EVENTS),
                        test_wait_v2);
  g_test_add_data_func ("/af-exec/cgroup-wait/v2-members", GINT_TO_POINTER (WAIT_MEMBERS),
                        test_wait_v2);
  g_test_add_func ("/af-exec/cgroup-wait/v2-removed", test_wait_v2_removed);
  g_test_add_func ("/af-exec/cgroup-wait/v1-pidfd", test_wait_v1);
  g_test_add_data_func ("/af-exec/cgroup-wait/when-empty-v2", GINT_TO_POINTER (FALSE),
                        test_when_empty_v2);
  g_test_add_data_func ("/af-exec/cgroup-wait/when-empty-v2-removed", GINT_TO_POINTER (TRUE),
                        test_when_empty_v2);
  g_test_add_func ("/af-exec/cgroup-wait/when-empty-adopted-removed",
                   test_when_empty_adopted_removed);
  g_test_add_func ("/af-exec/cgroup-wait/when-empty-v1", test_when_empty_v1);
  return g_test_run ();
}
