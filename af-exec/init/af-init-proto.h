/* af-init-proto.h — the wire between af-exec and the init inside a sandbox.
 *
 * Owns: the message layout on the SOCK_SEQPACKET socket the init inherits.
 * One datagram is one message; file descriptors travel with a SPAWN request
 * as SCM_RIGHTS. Shared by the supervisor (GLib) and the init (plain libc),
 * so it must never include anything but standard headers. Both ends are
 * built from the same tree, so the layout is native (no byte swapping); the
 * magic and version catch a stale init binary. */
#pragma once

#include <stdint.h>

#define AF_INIT_MAGIC 0x41464931u /* "AFI1" */

/* Largest message either side sends: a SPAWN carries cwd, argv and env. */
#define AF_INIT_MAX_MSG (128 * 1024)
/* stdin, stdout, stderr, an optional status fd, then cgroup.procs fds. */
#define AF_INIT_MAX_FDS 8
/* Commands the init tracks at once (each holds a pid-table slot). */
#define AF_INIT_MAX_CHILDREN 1024

enum {
  AF_INIT_OP_SPAWN = 1, /* supervisor → init: start a process */
  AF_INIT_OP_SPAWNED,   /* init → supervisor: the process started (pid) or not (error) */
  AF_INIT_OP_EXITED,    /* init → supervisor: the process ended (wait status) */
  AF_INIT_OP_READY,     /* init → supervisor: first message, the init is listening */
};

/* Flags of a SPAWN request. */
enum {
  /* fd[3] is a status fd placed at fd 3 in the child (sessions). */
  AF_INIT_SPAWN_STATUS_FD = 1u << 0,
  /* The command stands for `/bin/sh -c COMMAND` run without the shell: a
   * failed lookup or exec is reported as that shell would (its message on
   * the command's stderr, exit 127 or 126) — a started command that
   * exits — instead of a SPAWNED error. */
  AF_INIT_SPAWN_SHELL_ERRORS = 1u << 1,
  /* No cgroup holds the command's tree (rootless): the init forks a
   * per-command reaper (PR_SET_CHILD_SUBREAPER) that starts the command as
   * its child, so every orphan of the tree — setsid'd and double-forked
   * ones included — stays a descendant of that reaper. SPAWNED's pid is
   * then the reaper's: af-exec finds the tree below it. */
  AF_INIT_SPAWN_REAPER = 1u << 2,
};

typedef struct {
  uint32_t magic;
  uint32_t op;
  uint64_t id; /* chosen by the supervisor, echoed in SPAWNED/EXITED */
} AfInitHeader;

/* SPAWN payload after the header: n_argv, n_env, n_cgroup_fds, flags, then
 * the strings "cwd\0arg0\0…\0env0\0…\0" to the end of the message. The fds
 * are stdin, stdout, stderr, [status], cgroup.procs… in that order. */
typedef struct {
  AfInitHeader hdr;
  uint32_t n_argv;
  uint32_t n_env;
  uint32_t n_cgroup_fds;
  uint32_t flags;
} AfInitSpawn;

/* SPAWNED: pid inside the sandbox's pid namespace (the command's, or with
 * AF_INIT_SPAWN_REAPER its reaper's), or error = errno and stage = what
 * failed (AF_INIT_STAGE_*). */
typedef struct {
  AfInitHeader hdr;
  int32_t pid;
  int32_t error;
  int32_t stage;
  int32_t pad;
} AfInitSpawned;

enum {
  AF_INIT_STAGE_NONE = 0,
  AF_INIT_STAGE_REQUEST, /* the request was malformed */
  AF_INIT_STAGE_FORK,    /* clone failed (EAGAIN under a pids limit) */
  AF_INIT_STAGE_CGROUP,  /* joining the command's cgroup failed */
  AF_INIT_STAGE_CHDIR,   /* the working directory does not exist inside */
  AF_INIT_STAGE_EXEC,    /* execve failed (ENOENT: no such command) */
};

/* EXITED: the raw wait status of the command's main process. */
typedef struct {
  AfInitHeader hdr;
  int32_t status;
  int32_t pad;
} AfInitExited;
