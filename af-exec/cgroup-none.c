/* cgroup-none.c — a command's process tree where no cgroup can be written
 * (an unprivileged af-exec on a host without a delegated cgroup).
 *
 * The init starts such a command under a reaper of its own: a process that
 * made itself a child subreaper (PR_SET_CHILD_SUBREAPER) and has the
 * command as its child (af-exec-init.c). Every orphan of the tree —
 * background jobs, setsid'd sessions, daemonizing double forks — is
 * reparented to that reaper, never past it, so the tree is exactly the
 * reaper's descendants: read from /proc/PID/task/TID/children, killed by
 * pid, round after round until none is left. The reaper itself is not
 * killed: it exits by itself once its last descendant is gone, and killing
 * it first would hand the rest to the init.
 *
 * Pids are host pids (commands run as our own uid, so af-exec may signal
 * them) and may be reused once reaped (pid_max can be 32768): each process
 * is held by a pidfd, and trusted only if after the pidfd was taken it is
 * still the child of a process already trusted — the root being the
 * reaper, found among the init's children by its pid inside and held by a
 * pidfd from then on. Signals go through the pidfds.
 *
 * A command that kills its own reaper (it runs as the same uid) leaves its
 * processes to the init, which kills every child it does not track and
 * reports the command killed (af-exec-init.c); here that tree is then
 * simply empty.
 *
 * Must never: signal a process that is not a descendant of the command's
 * reaper, or signal the reaper. */
#define _GNU_SOURCE
#include "cgroup-private.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* Kill rounds before giving up (a process stuck in the kernel, or a tree
 * forking faster than it is killed: the rest dies with the sandbox). */
#define KILL_ROUNDS 1000

static guint64
pidns_of (int pid)
{
  char path[64];
  struct stat st;
  g_snprintf (path, sizeof path, "/proc/%d/ns/pid", pid);
  return stat (path, &st) == 0 ? (guint64)st.st_ino : 0;
}

/* Append to @out the pids in one /proc/…/children file. */
static void
parse_children (const char *path, GArray *out)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return;
  for (char *p = text, *end; *p; p = end) {
    int c = (int)strtol (p, &end, 10);
    if (end == p)
      break;
    if (c > 0)
      g_array_append_val (out, c);
  }
}

/* The host pids of @pid's children, as its main thread made them. */
static GArray *
children_of (int pid)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (int));
  g_autofree char *path = g_strdup_printf ("/proc/%d/task/%d/children", pid, pid);
  parse_children (path, out);
  return out;
}

/* Every thread's children of @pid (a process of the command may have
 * threads, and a child is listed under the thread that made it). */
static void
append_all_children (int pid, GArray *out)
{
  g_autofree char *task = g_strdup_printf ("/proc/%d/task", pid);
  g_autoptr (GDir) d = g_dir_open (task, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name (d))) {
    g_autofree char *path = g_strdup_printf ("%s/%s/children", task, n);
    parse_children (path, out);
  }
}

void
af_cgroup_set_bwrap_pid (AfCgroup *cg, int bwrap_pid)
{
  if (cg == NULL || cg->mode != AF_CGROUP_MODE_NONE)
    return;
  /* bwrap's one child is the sandbox's pid 1 (--as-pid-1). */
  g_autoptr (GArray) kids = children_of (bwrap_pid);
  if (kids->len != 1)
    return;
  cg->init_host_pid = g_array_index (kids, int, 0);
  cg->pidns = pidns_of (cg->init_host_pid);
}

/* The last NSpid entry of @pid: its pid in its innermost namespace. */
static int
ns_pid_of (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return -1;
  const char *l = strstr (text, "\nNSpid:");
  if (l == NULL)
    return -1;
  l += 7;
  int last = -1;
  for (char *end;; l = end) {
    long v = strtol (l, &end, 10);
    if (end == l)
      break;
    last = (int)v;
  }
  return last;
}

/* State and parent (host pid) of host pid @pid from /proc/PID/stat. */
static gboolean
read_stat (int pid, char *state, int *ppid)
{
  char path[64];
  g_snprintf (path, sizeof path, "/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  /* The command name may hold spaces and parentheses: fields follow the
   * last ')'. */
  const char *p = strrchr (text, ')');
  return p != NULL && sscanf (p + 1, " %c %d", state, ppid) == 2;
}

static gboolean
pidfd_exited (int fd)
{
  struct pollfd pfd = { fd, POLLIN, 0 };
  return poll (&pfd, 1, 0) != 0; /* POLLIN once it exited; an error: gone */
}

void
af_cgroup_cmd_set_leader (AfCgroupCmd *cmd, int ns_pid)
{
  AfCgroup *cg = cmd ? cmd->cg : NULL;
  if (cg == NULL || cg->mode != AF_CGROUP_MODE_NONE || cg->init_host_pid <= 0)
    return;
  af_cgroup_none_forget (cmd);
  g_autoptr (GArray) kids = children_of (cg->init_host_pid);
  for (guint i = 0; i < kids->len; i++) {
    int c = g_array_index (kids, int, i), fd, ppid;
    char state;
    if (ns_pid_of (c) != ns_pid || pidns_of (c) != cg->pidns)
      continue;
    /* Held from here on; still the init's child of that pid once held
     * (else it ended, its tree with it, and the pid went elsewhere). */
    fd = pidfd_open (c, 0);
    if (fd < 0)
      return;
    if (!read_stat (c, &state, &ppid) || ppid != cg->init_host_pid || ns_pid_of (c) != ns_pid) {
      close (fd);
      return;
    }
    cmd->leader = c;
    cmd->leader_fd = fd;
    return;
  }
}

gboolean
af_cgroup_cmd_needs_reaper (AfCgroupCmd *cmd)
{
  return cmd->cg->mode == AF_CGROUP_MODE_NONE;
}

void
af_cgroup_none_forget (AfCgroupCmd *cmd)
{
  if (cmd->leader > 0)
    close (cmd->leader_fd);
  cmd->leader = 0;
}

typedef struct {
  int pid;
  int fd; /* pidfd */
} Proc;

/* A GArray of Proc whose pidfds are closed with it. */
typedef GArray ProcList;

static void
proc_list_free (ProcList *procs)
{
  for (guint i = 0; i < procs->len; i++)
    close (g_array_index (procs, Proc, i).fd);
  g_array_unref (procs);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ProcList, proc_list_free)

/* The live processes of the tree, breadth first (the command first while
 * it runs), each held by a pidfd. *@unsettled: some process was seen dying
 * or gone during the walk and was not already dead in @dead_before — its
 * children may have moved up to the reaper after the reaper's list was
 * read, so a clean verdict needs another walk. Zombies seen go to @dead. */
static ProcList *
walk (AfCgroupCmd *cmd, GHashTable *dead_before, GHashTable *dead, gboolean *unsettled)
{
  GArray *procs = g_array_new (FALSE, FALSE, sizeof (Proc));
  g_autoptr (GArray) queue = NULL;
  g_autoptr (GArray) parents = g_array_new (FALSE, FALSE, sizeof (int));

  *unsettled = FALSE;
  if (cmd->leader <= 0)
    return procs;
  queue = children_of (cmd->leader);
  /* Read before the check: a reaper alive now was alive at the read. One
   * that exited had no descendant left (it exits only then). */
  if (pidfd_exited (cmd->leader_fd)) {
    g_array_set_size (queue, 0);
    return procs;
  }
  for (guint i = 0; i < queue->len; i++)
    g_array_append_val (parents, cmd->leader);

  for (guint i = 0; i < queue->len; i++) {
    int pid = g_array_index (queue, int, i), parent = g_array_index (parents, int, i), ppid;
    char state;
    Proc p = { pid, pidfd_open (pid, 0) };

    if (p.fd < 0) {
      *unsettled = TRUE; /* reaped since the list was read */
      continue;
    }
    if (!read_stat (pid, &state, &ppid) || ppid != parent) {
      close (p.fd); /* gone or moved since the list was read */
      *unsettled = TRUE;
      continue;
    }
    if (state == 'Z' || state == 'X') {
      close (p.fd);
      g_hash_table_add (dead, GINT_TO_POINTER (pid));
      if (dead_before == NULL || !g_hash_table_contains (dead_before, GINT_TO_POINTER (pid)))
        *unsettled = TRUE;
      continue;
    }
    g_array_append_val (procs, p);
    {
      guint before = queue->len;
      append_all_children (pid, queue);
      for (guint k = before; k < queue->len; k++)
        g_array_append_val (parents, pid);
    }
  }
  return procs;
}

GArray *
af_cgroup_none_tree_pids (AfCgroupCmd *cmd)
{
  g_autoptr (GHashTable) dead = g_hash_table_new (NULL, NULL);
  gboolean unsettled;
  g_autoptr (ProcList) procs = walk (cmd, NULL, dead, &unsettled);
  GArray *pids = g_array_sized_new (FALSE, FALSE, sizeof (int), procs->len);

  for (guint i = 0; i < procs->len; i++)
    g_array_append_val (pids, g_array_index (procs, Proc, i).pid);
  return pids;
}

guint
af_cgroup_none_signal (AfCgroupCmd *cmd, int sig)
{
  g_autoptr (GHashTable) dead = g_hash_table_new (NULL, NULL);
  gboolean unsettled;
  g_autoptr (ProcList) procs = walk (cmd, NULL, dead, &unsettled);

  for (guint i = 0; i < procs->len; i++)
    pidfd_send_signal (g_array_index (procs, Proc, i).fd, sig, NULL, 0);
  return procs->len;
}

/* Wait, on the pidfds, until every process of @procs has exited or
 * @deadline_us (monotonic) passes. */
static void
wait_exited (ProcList *procs, gint64 deadline_us)
{
  g_autofree struct pollfd *pfd = g_new (struct pollfd, procs->len);
  nfds_t n = procs->len;

  for (guint i = 0; i < procs->len; i++)
    pfd[i] = (struct pollfd){ g_array_index (procs, Proc, i).fd, POLLIN, 0 };
  while (n > 0) {
    gint64 left_ms = (deadline_us - g_get_monotonic_time ()) / 1000;
    int r = poll (pfd, n, (int)CLAMP (left_ms, 0, G_MAXINT));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return; /* the deadline, or no pidfd to wait on */
    for (nfds_t i = 0; i < n;) {
      if (pfd[i].revents)
        pfd[i] = pfd[--n];
      else
        i++;
    }
  }
}

void
af_cgroup_none_kill (AfCgroupCmd *cmd)
{
  gint64 deadline = g_get_monotonic_time () + AF_CGROUP_RMDIR_WAIT_US;
  g_autoptr (GHashTable) dead_before = NULL;

  /* Each round kills what it found and waits for those exits (their
   * children then belong to the reaper, for the next round). Done when a
   * walk finds nothing alive and nothing that died under its eyes. */
  for (int round = 0; round < KILL_ROUNDS; round++) {
    g_autoptr (GHashTable) dead = g_hash_table_new (NULL, NULL);
    gboolean unsettled;
    g_autoptr (ProcList) procs = walk (cmd, dead_before, dead, &unsettled);

    if (procs->len == 0 && !unsettled)
      return;
    for (guint i = 0; i < procs->len; i++)
      pidfd_send_signal (g_array_index (procs, Proc, i).fd, SIGKILL, NULL, 0);
    wait_exited (procs, deadline);
    g_clear_pointer (&dead_before, g_hash_table_unref);
    dead_before = g_steal_pointer (&dead);
    if (g_get_monotonic_time () > deadline)
      return;
  }
}
