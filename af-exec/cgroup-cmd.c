/* cgroup-cmd.c — one command's cgroup: made below the sandbox's, joined
 * by the command through a passed fd, killed as a whole, watched until
 * empty, removed. Must never: wait for emptiness on the main loop other
 * than as an event (cgroup.events `populated 0`, or v1 pidfds — see
 * cgroup-wait.c), or touch a cgroup it did not make. Only a removal of a
 * cgroup not yet seen empty blocks, bounded, on that same event. */
#define _GNU_SOURCE
#include "cgroup-private.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include "af-error.h"

static AfCgroupCmd *
make_cmd (AfCgroup *cg, GError **error)
{
  g_autoptr (AfCgroupCmd) cmd = g_new0 (AfCgroupCmd, 1);
  char name[32];

  cmd->cg = cg;
  cmd->events_fd = -1;
  cmd->member_fd = -1;
  if (cg->mode == AF_CGROUP_MODE_NONE)
    return g_steal_pointer (&cmd);

  /* Named by a counter of ours: a cgroup may be made before the command
   * that will use it is known. */
  g_snprintf (name, sizeof name, "c%" G_GUINT64_FORMAT, ++cg->n_made);
  cmd->dir = g_build_filename (cg->cmd_parent, name, NULL);
  if (mkdir (cmd->dir, 0755) < 0) {
    int saved = errno;
    g_set_error (error, AF_ERROR,
                 saved == EAGAIN ? AF_ERROR_RESOURCE_EXHAUSTED : AF_ERROR_FAILED_PRECONDITION,
                 "cannot create cgroup %s: %s", cmd->dir, g_strerror (saved));
    g_clear_pointer (&cmd->dir, g_free);
    return NULL;
  }
  if ((cmd->fds[cmd->n_fds++] = af_cgroup_open_procs (cmd->dir, error)) < 0)
    return NULL;
  /* Hybrid: the v1 memory `cmds` cgroup too (the pids one in v1 mode is
   * this very dir's parent chain, already joined by the c<N> write). */
  for (int i = 0; i < cg->n_shared_cmd_fds; i++) {
    cmd->fds[cmd->n_fds] = fcntl (cg->shared_cmd_fds[i], F_DUPFD_CLOEXEC, 3);
    if (cmd->fds[cmd->n_fds++] < 0) {
      g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "dup: %s", g_strerror (errno));
      return NULL;
    }
  }
  if (cg->mode == AF_CGROUP_MODE_HYBRID && cg->pids_sb && cg->pids_limited) {
    g_autofree char *pids_cmds = g_build_filename (cg->pids_sb, "cmds", NULL);
    if ((cmd->fds[cmd->n_fds++] = af_cgroup_open_procs (pids_cmds, error)) < 0)
      return NULL;
  }
  if (cg->mode != AF_CGROUP_MODE_V1) {
    g_autofree char *events = g_build_filename (cmd->dir, "cgroup.events", NULL);
    cmd->events_fd = open (events, O_RDONLY | O_CLOEXEC);
  }
  cmd->by_members = cmd->events_fd < 0 || cg->adopted;
  return g_steal_pointer (&cmd);
}

static gboolean
on_prepare_spare (gpointer data)
{
  AfCgroup *cg = data;

  cg->spare_idle = 0;
  if (cg->spare == NULL && !cg->closing) {
    cg->spare = make_cmd (cg, NULL); /* a failure shows at the next command */
    if (cg->spare)
      cg->spare->empty = TRUE; /* never held a process */
  }
  return G_SOURCE_REMOVE;
}

/* Make the next command's cgroup (mkdir, open its files) while the loop
 * is idle — usually while this command runs — so a command does not wait
 * for it. Only below cgroups we created: an adopted one (a container's)
 * is removed by its manager, which a child of ours would block. */
static void
schedule_spare (AfCgroup *cg)
{
  g_autoptr (GSource) src = NULL;

  if (cg->spare || cg->spare_idle || cg->closing || cg->mode == AF_CGROUP_MODE_NONE ||
      cg->dirs == NULL || cg->dirs->len == 0)
    return;
  src = g_idle_source_new ();
  g_source_set_callback (src, on_prepare_spare, cg, NULL);
  cg->spare_idle = g_source_attach (src, g_main_context_get_thread_default ());
}

AfCgroupCmd *
af_cgroup_cmd_new (AfCgroup *cg, GError **error)
{
  AfCgroupCmd *cmd = g_steal_pointer (&cg->spare);

  if (cmd)
    cmd->empty = FALSE;
  else
    cmd = make_cmd (cg, error);
  if (cmd)
    schedule_spare (cg);
  return cmd;
}

void
af_cgroup_drop_spare (AfCgroup *cg)
{
  cg->closing = TRUE;
  g_clear_handle_id (&cg->spare_idle, g_source_remove);
  g_clear_pointer (&cg->spare, af_cgroup_cmd_free);
}

const int *
af_cgroup_cmd_fds (AfCgroupCmd *cmd, int *n_fds)
{
  *n_fds = cmd->n_fds;
  return cmd->fds;
}

void
af_cgroup_cmd_kill (AfCgroupCmd *cmd)
{
  if (cmd->dir)
    af_cgroup_kill_dir (cmd->cg, cmd->dir);
  else
    af_cgroup_none_kill (cmd);
}

GArray *
af_cgroup_cmd_pids (AfCgroupCmd *cmd)
{
  if (cmd->dir == NULL)
    return af_cgroup_none_tree_pids (cmd);
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (int));
  g_autofree char *text = cmd->dir ? af_cgroup_read_file (cmd->dir, "cgroup.procs") : NULL;
  char *p, *end;

  for (p = text; p && *p; p = end) {
    int pid = (int)g_ascii_strtoll (p, &end, 10);
    if (end == p)
      break;
    if (pid > 0)
      g_array_append_val (pids, pid);
    while (*end == '\n')
      end++;
  }
  return pids;
}

void
af_cgroup_cmd_signal (AfCgroupCmd *cmd, int sig)
{
  if (cmd->dir)
    af_cgroup_signal_procs (cmd->dir, sig);
  else
    af_cgroup_none_signal (cmd, sig);
}

gboolean
af_cgroup_cmd_is_empty (AfCgroupCmd *cmd)
{
  if (cmd->dir == NULL) {
    g_autoptr (GArray) left = af_cgroup_none_tree_pids (cmd);
    return left->len == 0;
  }
  if (cmd->events_fd >= 0)
    return af_cgroup_events_say_empty (cmd->events_fd);
  {
    g_autofree char *text = af_cgroup_read_file (cmd->dir, "cgroup.procs");
    return text == NULL || text[0] == '\0';
  }
}

static gboolean watch_members (AfCgroupCmd *cmd);

static void
emptied (AfCgroupCmd *cmd, gboolean seen_empty)
{
  cmd->watch = 0;
  cmd->empty = seen_empty;
  cmd->func (cmd->data);
}

static gboolean
on_events (gint fd, GIOCondition cond, gpointer user_data)
{
  AfCgroupCmd *cmd = user_data;

  if (!af_cgroup_cmd_is_empty (cmd))
    return G_SOURCE_CONTINUE;
  emptied (cmd, TRUE);
  return G_SOURCE_REMOVE;
}

/* The process we watched exited; watch the next one left, if any. */
static gboolean
on_member_exit (gint fd, GIOCondition cond, gpointer user_data)
{
  AfCgroupCmd *cmd = user_data;

  close (cmd->member_fd);
  cmd->member_fd = -1;
  cmd->watch = 0;
  watch_members (cmd);
  return G_SOURCE_REMOVE;
}

/* TRUE when it called the owner's func (then @cmd may be gone). */
static gboolean
watch_members (AfCgroupCmd *cmd)
{
  gboolean empty = FALSE;

  cmd->member_fd = af_cgroup_member_pidfd (cmd->dir, &empty);
  if (cmd->member_fd >= 0) {
    g_autoptr (GSource) src = g_unix_fd_source_new (cmd->member_fd, G_IO_IN | G_IO_ERR);
    g_source_set_callback (src, (GSourceFunc)(void (*) (void))on_member_exit, cmd, NULL);
    cmd->watch = g_source_attach (src, g_main_context_get_thread_default ());
    return FALSE;
  }
  if (!empty) {
    /* No pidfd on this kernel: nothing to wait on. Kill the tree and go
     * on; not marked empty, so cmd_free kills again and waits, bounded,
     * for the last exit before its rmdir. */
    af_cgroup_cmd_kill (cmd);
  }
  emptied (cmd, empty);
  return TRUE;
}

gboolean
af_cgroup_cmd_when_empty (AfCgroupCmd *cmd, GSourceFunc func, gpointer data)
{
  g_autoptr (GSource) src = NULL;

  cmd->func = func;
  cmd->data = data;
  /* Often empty already when the init reports the exit: no source then.
   * (Reading cgroup.events also arms POLLPRI for any later change.) */
  if (af_cgroup_cmd_is_empty (cmd)) {
    emptied (cmd, TRUE);
    return TRUE;
  }
  if (cmd->dir == NULL)
    return FALSE; /* callers without cgroups never wait (see exec.c) */
  if (cmd->by_members)
    return watch_members (cmd);
  /* kernfs signals a change of cgroup.events as POLLPRI. */
  src = g_unix_fd_source_new (cmd->events_fd, G_IO_PRI | G_IO_ERR);
  g_source_set_callback (src, (GSourceFunc)(void (*) (void))on_events, cmd, NULL);
  cmd->watch = g_source_attach (src, g_main_context_get_thread_default ());
  return FALSE;
}

gint64
af_cgroup_oom_kills (AfCgroup *cg)
{
  if (cg->mem_cmds == NULL || !cg->oom_counted)
    return -1;
  if (cg->mode == AF_CGROUP_MODE_V2)
    return af_cgroup_read_keyed (cg->mem_cmds, "memory.events", "oom_kill");
  return af_cgroup_read_keyed (cg->mem_cmds, "memory.oom_control", "oom_kill");
}

void
af_cgroup_cmd_free (AfCgroupCmd *cmd)
{
  if (cmd == NULL)
    return;
  if (cmd->watch)
    g_source_remove (cmd->watch);
  for (int i = 0; i < cmd->n_fds; i++)
    if (cmd->fds[i] >= 0)
      close (cmd->fds[i]);
  if (cmd->member_fd >= 0)
    close (cmd->member_fd);
  if (cmd->dir) {
    /* Seen empty (the usual end): the rmdir just works. Otherwise kill
     * what is left and wait, on the kernel's event, for the last exit;
     * past the deadline the directory stays for the sweep at the next
     * start under this name (a process stuck in the kernel). */
    if (!cmd->empty)
      af_cgroup_cmd_kill (cmd);
    af_cgroup_rmdir_when_empty (cmd->dir, cmd->events_fd, cmd->by_members,
                                g_get_monotonic_time () + AF_CGROUP_RMDIR_WAIT_US);
    g_free (cmd->dir);
  }
  if (cmd->events_fd >= 0)
    close (cmd->events_fd);
  af_cgroup_none_forget (cmd);
  g_free (cmd);
}

void
af_cgroup_stats (AfCgroup *cg, gint64 *memory_bytes, gint64 *pids, gint64 *cpu_usec)
{
  g_autofree char *mem = NULL, *pc = NULL;

  *memory_bytes = *pids = *cpu_usec = -1;
  if (cg->mode == AF_CGROUP_MODE_NONE)
    return;
  if (cg->mode == AF_CGROUP_MODE_V2) {
    mem = af_cgroup_read_file (cg->track, "memory.current");
    pc = af_cgroup_read_file (cg->track, "pids.current");
    *cpu_usec = af_cgroup_read_keyed (cg->track, "cpu.stat", "usage_usec");
  } else {
    if (cg->mem_sb)
      mem = af_cgroup_read_file (cg->mem_sb, "memory.usage_in_bytes");
    if (cg->pids_sb)
      pc = af_cgroup_read_file (cg->pids_sb, "pids.current");
    *cpu_usec = -1;
  }
  if (mem)
    *memory_bytes = g_ascii_strtoll (mem, NULL, 10);
  if (pc)
    *pids = g_ascii_strtoll (pc, NULL, 10);
}
