/* cgroup-none.c — a command's process tree where no cgroup can be written
 * (an unprivileged af-exec on a host without a delegated cgroup).
 *
 * The init makes every command a session leader (setsid), and everything a
 * command starts stays in that session unless it calls setsid itself. So
 * without cgroups the tree is "the processes of the sandbox's pid
 * namespace whose session is the command's": found by reading /proc,
 * killed by pid. The pids are host pids: commands run as our own uid, so
 * af-exec may signal them. A process that makes its own session escapes
 * until the sandbox ends (the init is pid 1 of the namespace: when it
 * exits, the kernel kills every process in it) — docs/rootless.md says so.
 *
 * Must never: signal a process outside the sandbox's pid namespace. */
#define _GNU_SOURCE
#include "cgroup-private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static guint64
pidns_of (int pid)
{
  char path[64];
  struct stat st;
  g_snprintf (path, sizeof path, "/proc/%d/ns/pid", pid);
  return stat (path, &st) == 0 ? (guint64)st.st_ino : 0;
}

/* The host pids of @pid's children (from /proc/PID/task/PID/children). */
static GArray *
children_of (int pid)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (int));
  g_autofree char *path = g_strdup_printf ("/proc/%d/task/%d/children", pid, pid);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return out;
  for (char *p = text, *end; *p; p = end) {
    int c = (int)strtol (p, &end, 10);
    if (end == p)
      break;
    if (c > 0)
      g_array_append_val (out, c);
  }
  return out;
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

void
af_cgroup_cmd_set_leader (AfCgroupCmd *cmd, int ns_pid)
{
  AfCgroup *cg = cmd ? cmd->cg : NULL;
  if (cg == NULL || cg->mode != AF_CGROUP_MODE_NONE || cg->init_host_pid <= 0)
    return;
  g_autoptr (GArray) kids = children_of (cg->init_host_pid);
  for (guint i = 0; i < kids->len; i++) {
    int c = g_array_index (kids, int, i);
    if (ns_pid_of (c) == ns_pid && pidns_of (c) == cg->pidns) {
      cmd->leader = c;
      return;
    }
  }
}

/* Session and state of host pid @pid from /proc/PID/stat. */
static gboolean
read_stat (int pid, int *session, char *state)
{
  char path[64];
  g_snprintf (path, sizeof path, "/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  /* The command name may hold spaces and parentheses: fields follow the
   * last ')'. */
  const char *p = strrchr (text, ')');
  int ppid, pgrp;
  return p != NULL && sscanf (p + 1, " %c %d %d %d", state, &ppid, &pgrp, session) == 4;
}

GArray *
af_cgroup_none_session_pids (AfCgroupCmd *cmd)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (int));
  if (cmd->leader <= 0)
    return pids;
  g_autoptr (GDir) d = g_dir_open ("/proc", 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name (d))) {
    if (!g_ascii_isdigit (n[0]))
      continue;
    int pid = atoi (n), session;
    char state;
    /* Zombies are the init's to reap; they hold nothing. */
    if (read_stat (pid, &session, &state) && session == cmd->leader && state != 'Z' &&
        pidns_of (pid) == cmd->cg->pidns)
      g_array_append_val (pids, pid);
  }
  return pids;
}

guint
af_cgroup_none_signal (AfCgroupCmd *cmd, int sig)
{
  g_autoptr (GArray) pids = af_cgroup_none_session_pids (cmd);
  for (guint i = 0; i < pids->len; i++)
    kill (g_array_index (pids, int, i), sig);
  return pids->len;
}

void
af_cgroup_none_kill (AfCgroupCmd *cmd)
{
  /* Forks racing the scan are caught by the next round; bounded like the
   * v1 kill loop. */
  for (int round = 0; round < 100 && af_cgroup_none_signal (cmd, SIGKILL) > 0; round++)
    ;
}
