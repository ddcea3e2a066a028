/* cgroup-private.h — what cgroup.c (sandbox cgroups) and cgroup-cmd.c
 * (per-command cgroups) share. Not for anything outside those two files. */
#pragma once

#include "cgroup.h"

#define CG_ROOT "/sys/fs/cgroup"

/* How long a removal waits for killed processes to finish exiting (one
 * blocked in the kernel, e.g. on a stalled FUSE mount, can take a while). */
#define AF_CGROUP_RMDIR_WAIT_US (2 * G_USEC_PER_SEC)

struct _AfCgroup {
  AfCgroupMode mode;
  char *track;      /* sandbox dir in the tracking tree (v2/unified, or v1 pids) */
  char *cmd_parent; /* where c<N> dirs go */
  char *mem_cmds;   /* memory cgroup of the commands (NULL: none) */
  char *mem_sb, *pids_sb, *cpu_sb;
  GPtrArray *dirs; /* created, in creation order; removed in reverse */
  int init_fds[4];
  int n_init_fds;
  int shared_cmd_fds[2]; /* v1 memory/pids `cmds` cgroup.procs (hybrid/v1) */
  int n_shared_cmd_fds;
  /* Each join is a cgroup migration, which the kernel makes expensive, so
   * commands join the v1 `cmds` cgroups only when they carry a limit. */
  gboolean mem_limited, pids_limited;
  /* Whether an OOM kill can be ours to report: a memory limit of ours, or
   * an adopted container's. Without one the counter is never read, which
   * keeps two file reads off every command. */
  gboolean oom_counted;
  /* The next command's cgroup, made ahead on an idle callback. */
  AfCgroupCmd *spare;
  guint spare_idle;
  gboolean closing; /* being freed: make no more */
  guint64 n_made;   /* names c<N> */
  /* A container's cgroup (af_cgroup_new_for_pid): its engine removes it,
   * and our cgroups below it, as the container ends. The kernel wakes no
   * poller of cgroup.events when its cgroup is removed, and a `populated`
   * change it held back (at most one per 10 ms is sent) goes with it, so
   * commands here are waited on through their processes' pidfds. */
  gboolean adopted;
  /* Without cgroups (cgroup-none.c): the sandbox's pid 1 and namespace. */
  int init_host_pid;
  guint64 pidns;
};

struct _AfCgroupCmd {
  AfCgroup *cg;
  char *dir;
  int fds[3];
  int n_fds;
  int events_fd; /* v2 cgroup.events, -1 in v1 */
  /* Wait on members' pidfds, not on cgroup.events (none: v1; adopted). */
  gboolean by_members;
  int member_fd;  /* pidfd of a process still in it being waited on, or -1 */
  gboolean empty; /* seen empty after the command ended: no kill needed */
  guint watch;
  GSourceFunc func;
  gpointer data;
  /* Without cgroups: host pid of the command's reaper, and a pidfd of it
   * (both valid once leader > 0). */
  int leader;
  int leader_fd;
};

/* Remove the prepared command cgroup and make no more (cgroup-cmd.c). */
void af_cgroup_drop_spare (AfCgroup *cg);

/* Small file helpers: one value per cgroup file. */
char *af_cgroup_read_file (const char *dir, const char *file);
gint64 af_cgroup_read_keyed (const char *dir, const char *file, const char *key);
int af_cgroup_open_procs (const char *dir, GError **error);
/* Send @sig to every pid in @dir's cgroup.procs; how many there were. */
guint af_cgroup_signal_procs (const char *dir, int sig);
/* SIGKILL everything in @dir (v2 cgroup.kill, else kill until empty). */
void af_cgroup_kill_dir (AfCgroup *cg, const char *dir);

/* cgroup-wait.c: emptiness as an event (v2 cgroup.events, or pidfds of
 * the processes in it). */
gboolean af_cgroup_events_say_empty (int events_fd);
/* A pidfd of a process still in @dir, or -1 with *@empty saying why. */
int af_cgroup_member_pidfd (const char *dir, gboolean *empty);
/* Block until @dir is empty or @deadline_us (monotonic) passes; TRUE when
 * empty. @events_fd: its open cgroup.events, or -1 to open it (v1: none,
 * then as af_cgroup_wait_members). */
gboolean af_cgroup_wait_empty (const char *dir, int events_fd, gint64 deadline_us);
/* The same through the pidfds of the processes it lists, one at a time:
 * v1, and a cgroup that may be removed under the wait. */
gboolean af_cgroup_wait_members (const char *dir, gint64 deadline_us);
/* rmdir @dir, waiting (until @deadline_us) for the last exiting process
 * when the kernel says EBUSY: on @events_fd as af_cgroup_wait_empty, or
 * with @by_members as af_cgroup_wait_members. TRUE when it is gone. */
gboolean af_cgroup_rmdir_when_empty (const char *dir, int events_fd, gboolean by_members,
                                     gint64 deadline_us);

/* cgroup-none.c: the descendants of the command's reaper, where no cgroup
 * exists. */
GArray *af_cgroup_none_tree_pids (AfCgroupCmd *cmd);
guint af_cgroup_none_signal (AfCgroupCmd *cmd, int sig);
void af_cgroup_none_kill (AfCgroupCmd *cmd);
void af_cgroup_none_forget (AfCgroupCmd *cmd);
