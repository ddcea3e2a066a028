/* cgroup.h — a sandbox's cgroups: limits, and one cgroup per command.
 *
 * Owns: detecting the host's layout (pure v2, hybrid = v1 controllers plus
 * the v2 unified tree, or v1 only), creating `<parent>/<name>` with the
 * sandbox's limits, the per-command cgroups that let one command's whole
 * process tree be killed (double-forked and setsid'd processes included),
 * and removing all of it. Layout (v2 tracking tree):
 *
 *   <name>/init        the sandbox's bwrap + init (never OOM-killed first)
 *   <name>/c<N>        one per running command (joined through a passed fd),
 *                      the next one made ahead while the loop is idle
 *
 * and, where the controllers live (v2: the same tree under <name>/cmds;
 * v1: memory/pids `<name>/cmds`), the memory and pids limits apply to the
 * commands' cgroup so a command's OOM or fork bomb never takes the init.
 *
 * Must never: write into a cgroup it did not create, or block waiting for
 * a cgroup to empty (emptiness is an event: cgroup.events `populated 0`). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  AF_CGROUP_MODE_NONE,   /* no writable cgroups: no limits, no per-command kill */
  AF_CGROUP_MODE_V2,     /* /sys/fs/cgroup is cgroup2 with its controllers */
  AF_CGROUP_MODE_HYBRID, /* v1 controllers; v2 unified tree tracks commands */
  AF_CGROUP_MODE_V1,     /* v1 only: commands tracked in the pids hierarchy */
} AfCgroupMode;

typedef struct {
  gint64 memory_bytes; /* 0 = unlimited */
  gint64 cpu_quota_us; /* per 100 ms period; 0 = unlimited */
  gint64 cpu_shares;   /* v1 shares (1024 = default); 0 = default */
  gint64 pids;         /* 0 = unlimited */
} AfLimits;

AfCgroupMode af_cgroup_detect (void);
const char *af_cgroup_mode_name (AfCgroupMode mode);
/* "v2", "hybrid (v1 memory,pids,cpu + v2 tracking)", … for --version. */
char *af_cgroup_describe (AfCgroupMode mode);

/* The limits @mode can enforce, space-separated from "memory pids
 * cpu-quota cpu-shares", or "none" (the `limits:` line of --version, which
 * afd-server reads to refuse what it cannot enforce). */
char *af_cgroup_limits_available (AfCgroupMode mode);

typedef struct _AfCgroup AfCgroup;
typedef struct _AfCgroupCmd AfCgroupCmd;

/* Create the sandbox's cgroups under @parent (a relative name such as
 * "agentfense") and apply @limits. Fails with FAILED_PRECONDITION when
 * limits are asked for and no cgroup can be written. */
AfCgroup *af_cgroup_new (const char *parent, const char *name, const AfLimits *limits,
                         GError **error);
/* Adopt the cgroups another manager made for @pid (a Docker container's
 * init): commands get c<N> cgroups below its tracking cgroup; limits stay
 * the other manager's business. */
AfCgroup *af_cgroup_new_for_pid (int pid, GError **error);

/* Kill everything left, remove the directories. */
void af_cgroup_free (AfCgroup *cg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfCgroup, af_cgroup_free)

AfCgroupMode af_cgroup_get_mode (AfCgroup *cg);

/* O_WRONLY cgroup.procs fds of the init's cgroups, for the spawning child to
 * write "0" into before it execs bwrap. Owned by @cg; closed by free. */
const int *af_cgroup_init_fds (AfCgroup *cg, int *n_fds);

/* A command's cgroup (the one made ahead, when there is one). Its fds go
 * to the init with the command's stdio. */
AfCgroupCmd *af_cgroup_cmd_new (AfCgroup *cg, GError **error);
const int *af_cgroup_cmd_fds (AfCgroupCmd *cmd, int *n_fds);
/* Kill every process in the command's cgroup (SIGKILL; v2 cgroup.kill). */
void af_cgroup_cmd_kill (AfCgroupCmd *cmd);
/* Send @sig to every process in it (a grace signal before the kill). */
void af_cgroup_cmd_signal (AfCgroupCmd *cmd, int sig);
/* Host pids in the command's cgroup (empty without cgroups). */
GArray *af_cgroup_cmd_pids (AfCgroupCmd *cmd);
/* TRUE once no process is left in it. */
gboolean af_cgroup_cmd_is_empty (AfCgroupCmd *cmd);
/* Call @func once the cgroup is empty, from the thread-default main
 * context; or at once, returning TRUE, if it is empty already (then @cmd
 * may be gone: @func's owner usually frees it). FALSE: a watch waits. */
gboolean af_cgroup_cmd_when_empty (AfCgroupCmd *cmd, GSourceFunc func, gpointer data);
/* Number of OOM kills so far in the commands' memory cgroup (-1 unknown). */
gint64 af_cgroup_oom_kills (AfCgroup *cg);
/* Remove the command's cgroup (kills what is left first). */
void af_cgroup_cmd_free (AfCgroupCmd *cmd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfCgroupCmd, af_cgroup_cmd_free)

/* Without writable cgroups a command's tree is the descendants of its
 * reaper, a child subreaper the init starts it under (cgroup-none.c): the
 * runtime names bwrap's pid once its init is up, and each spawn names the
 * reaper's pid inside. */
void af_cgroup_set_bwrap_pid (AfCgroup *cg, int bwrap_pid);
void af_cgroup_cmd_set_leader (AfCgroupCmd *cmd, int ns_pid);
/* Whether the init must start the command under a reaper of its own. */
gboolean af_cgroup_cmd_needs_reaper (AfCgroupCmd *cmd);

/* SIGKILL every process of the sandbox, its init included. */
void af_cgroup_kill_all (AfCgroup *cg);

/* Stats for GetStats: memory in use by the sandbox, pids, cpu time (µs). */
void af_cgroup_stats (AfCgroup *cg, gint64 *memory_bytes, gint64 *pids, gint64 *cpu_usec);

G_END_DECLS
