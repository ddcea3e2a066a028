/* af-exec-init — pid 1 inside a bwrap sandbox.
 *
 * Owns: starting each command af-exec asks for (one SPAWN message on the
 * inherited SOCK_SEQPACKET socket, stdio and cgroup fds passed with it),
 * finding its program the way /bin/sh would (PATH inside the sandbox,
 * #!-less scripts, failures worded as dash words them when the command
 * stands for `sh -c`), reporting its wait status, and reaping every orphan
 * (zombies count toward pids.max). A command costs one vfork-style clone
 * and an execve.
 *
 * Without a cgroup per command (rootless: AF_INIT_SPAWN_REAPER) a command
 * gets a reaper: a process sharing the init's memory (clone with
 * CLONE_VM, on a stack of its own) that makes itself a child subreaper
 * (PR_SET_CHILD_SUBREAPER), starts the command as its child the same
 * vfork-style way and reaps until it has no descendant left. Every orphan
 * of the command's tree, setsid'd and double-forked ones included, is
 * reparented to that reaper rather than to us, so the tree stays "the
 * reaper's descendants" — which af-exec kills by pid (cgroup-none.c). The
 * reaper sends its reports (started, the command's wait status) to the
 * init over a private socket; the init stays the only writer to af-exec.
 * A command can still kill its reaper (it runs as the same uid): then its
 * processes become ours, indistinguishable from any other command's — so
 * the init kills every child it does not track as a reaper, again after
 * each reap until none is left, and only then reports the command ended by
 * SIGKILL. A stopped reaper is continued. A per-command pid namespace would
 * do the same with the kernel's help, but needs CAP_SYS_ADMIN in the
 * sandbox's user namespace for the init and the seccomp filter applied by
 * the init instead of bwrap (docs/rootless.md).
 *
 * Must never: link GLib or anything that starts threads (it clones with a
 * shared address space), allocate per request beyond its fixed tables and
 * a running reaper's stack, or
 * outlive af-exec: when the socket reaches EOF it exits, and as pid 1 that
 * takes the whole sandbox down. It runs under the sandbox's seccomp filter
 * and without capabilities, so it has no power the commands lack — its only
 * job is to be cheap. Built without sanitizers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "af-init-exec.h"
#include "af-init-proto.h"

/* A reaper's progress, as its reports say. */
enum { REAPER_STARTING, REAPER_RUNNING, REAPER_DONE };

typedef struct {
  uint64_t id;
  pid_t pid;   /* the command, or its reaper; -1: a command whose reaper was
                * killed, reported once the sweep is over */
  int reaper;  /* pid is the command's reaper (AF_INIT_SPAWN_REAPER) */
  int state;   /* reapers: REAPER_* */
  char *stack; /* reapers: their stack mapping, unmapped once reaped */
} Child;

/* A reaper's stack mapping: its own frames in the upper half, the vfork
 * child that becomes the command in the lower half. */
#define REAPER_STACK (64 * 1024)

static Child children[AF_INIT_MAX_CHILDREN];

/* Where the raw calls mean what mmap/munmap mean, they are used: musl's
 * wrappers would link its thread locks in. */
static char *
stack_map (void)
{
  char *stack;
#if defined(__x86_64__) || defined(__aarch64__)
  stack = (char *)syscall (SYS_mmap, NULL, REAPER_STACK, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
#else
  stack = mmap (NULL, REAPER_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                -1, 0);
#endif
  /* A guard page: an overflow faults instead of writing into a mapping
   * that happens to lie below (another reaper's stack). */
  if (stack != MAP_FAILED)
    mprotect (stack, 4096, PROT_NONE);
  return stack;
}

static void
stack_unmap (char *stack)
{
#if defined(__x86_64__) || defined(__aarch64__)
  syscall (SYS_munmap, stack, REAPER_STACK);
#else
  munmap (stack, REAPER_STACK);
#endif
}
static int n_children;

/* Reapers → init: their reports, one datagram each (made at the first
 * reaper). Only the init and its reapers hold these. */
static int report_r = -1, report_w = -1;
/* A reaper died before its tree was gone: kill untracked children. */
static int sweeping;

/* The request being spawned; shared with the clone child (CLONE_VM). */
typedef struct {
  char **argv;
  char **envp;
  const char *cwd;
  int fds[AF_INIT_MAX_FDS];
  int n_fds;
  int n_cgroup_fds;
  int has_status_fd;
  int shell_errors;
  sigset_t child_mask;
  volatile int error;
  volatile int stage;
} SpawnCtx;

static _Alignas(16) char child_stack[128 * 1024];
static char msg_buf[AF_INIT_MAX_MSG];
/* argv starts at argv_buf[1]: slot 0 takes "/bin/sh" when a file without
 * a #! line is run as a script (ENOEXEC), as execvp and sh both do. */
static char *argv_buf[AF_INIT_MAX_MSG / 2 + 2];
static char *env_buf[AF_INIT_MAX_MSG / 2 + 1];

static int
send_all (int sock, const void *msg, size_t len)
{
  ssize_t n;
  do
    n = send (sock, msg, len, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)len ? 0 : -1;
}

static void
reply_spawned (int sock, uint64_t id, pid_t pid, int error, int stage)
{
  AfInitSpawned r;
  memset (&r, 0, sizeof r);
  r.hdr.magic = AF_INIT_MAGIC;
  r.hdr.op = AF_INIT_OP_SPAWNED;
  r.hdr.id = id;
  r.pid = pid;
  r.error = error;
  r.stage = stage;
  if (send_all (sock, &r, sizeof r) < 0)
    _exit (0);
}

static int
child_main (void *data)
{
  SpawnCtx *ctx = data;
  int stage = AF_INIT_STAGE_CGROUP;
  int first_cg = 3 + ctx->has_status_fd;

  /* The init blocks SIGCHLD for its signalfd, and a blocked mask survives
   * exec. (Dispositions need nothing here: main reset them once, and the
   * init installs no handler.) */
  sigprocmask (SIG_SETMASK, &ctx->child_mask, NULL);
  setsid ();

  /* Join the command's cgroups before anything else runs: the fds were
   * opened by af-exec on the host, and the kernel checks the opener. */
  for (int i = 0; i < ctx->n_cgroup_fds; i++)
    if (write (ctx->fds[first_cg + i], "0", 1) != 1)
      goto fail;

  stage = AF_INIT_STAGE_REQUEST;
  for (int i = 0; i < 3; i++)
    if (dup2 (ctx->fds[i], i) < 0)
      goto fail;
  if (ctx->has_status_fd) {
    if (ctx->fds[3] == 3) {
      if (fcntl (3, F_SETFD, 0) < 0)
        goto fail;
    } else if (dup2 (ctx->fds[3], 3) < 0) {
      goto fail;
    }
  }
  /* The raw call: musl has no close_range wrapper. */
  syscall (SYS_close_range, 3 + ctx->has_status_fd, ~0u, 0);

  stage = AF_INIT_STAGE_CHDIR;
  if (chdir (ctx->cwd) < 0)
    goto fail;

  stage = AF_INIT_STAGE_EXEC;
  {
    int code = af_init_exec_search (ctx->argv, ctx->envp);
    if (ctx->shell_errors) {
      /* Like sh: a started command that says why and exits. */
      af_init_shell_error (ctx->argv[0], errno);
      _exit (code);
    }
  }

fail:
  ctx->error = errno;
  ctx->stage = stage;
  _exit (127);
}

static void
close_fds (int *fds, int n)
{
  for (int i = 0; i < n; i++)
    close (fds[i]);
}

static Child *
child_slot (pid_t pid)
{
  for (int i = 0; i < n_children; i++)
    if (children[i].pid == pid)
      return &children[i];
  return NULL;
}

static Child *
reaper_slot (uint64_t id)
{
  for (int i = 0; i < n_children; i++)
    if (children[i].reaper && children[i].id == id)
      return &children[i];
  return NULL;
}

static void
drop_slot (Child *slot)
{
  *slot = children[--n_children];
}

static void
report (int fd, const void *msg, size_t len)
{
  if (send_all (fd, msg, len) < 0)
    _exit (0);
}

/* What a reaper starts with; read before it reports SPAWNED, while the
 * init waits for that report (it lives on the init's stack). */
typedef struct {
  SpawnCtx *ctx;
  uint64_t id;
  int sock, sfd; /* the init's: closed in the reaper */
  char *stack;
} ReaperStart;

/* The reaper of one command. It shares the init's memory (clone with
 * CLONE_VM: no copy of the address space, which a fork pays for twice —
 * at the fork and at the exit, ~1.3 ms of CPU on a VM where a page fault
 * costs ~30 us) but not its fds, and runs on a stack of its own. Until it
 * reports SPAWNED the init waits, so the request it and the command's vfork
 * child read stays put; after that it touches only its own stack. The one
 * state it shares beyond that is errno (one thread pointer): its only call
 * that fails afterwards is the last waitpid (ECHILD), and the init reads
 * errno only right after a call of its own failed, none of which can fail
 * with a retryable error here. Started with every signal blocked: only
 * SIGKILL and SIGSTOP reach it, and the init answers a stop with SIGCONT. */
static int
reaper_main (void *data)
{
  ReaperStart *start = data;
  SpawnCtx *ctx = start->ctx;
  uint64_t id = start->id;
  AfInitSpawned r;
  AfInitExited x;
  sigset_t all;
  pid_t pid, w;
  int status, err;

  close (start->sock);
  close (start->sfd);
  close (report_r);
  sigfillset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
  prctl (PR_SET_NAME, "af-reaper", 0, 0, 0);

  memset (&r, 0, sizeof r);
  r.hdr.magic = AF_INIT_MAGIC;
  r.hdr.op = AF_INIT_OP_SPAWNED;
  r.hdr.id = id;
  if (prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    r.error = errno;
    r.stage = AF_INIT_STAGE_FORK;
    report (report_w, &r, sizeof r);
    _exit (0);
  }
  pid = clone (child_main, start->stack + REAPER_STACK / 2, CLONE_VM | CLONE_VFORK | SIGCHLD, ctx);
  err = errno;
  /* The command holds its stdio now: ours must not keep a pipe open. */
  close_fds (ctx->fds, ctx->n_fds);
  if (pid < 0 || ctx->stage != AF_INIT_STAGE_NONE) {
    r.error = pid < 0 ? err : ctx->error;
    r.stage = pid < 0 ? AF_INIT_STAGE_FORK : ctx->stage;
    report (report_w, &r, sizeof r);
    _exit (0); /* the failed child is the init's to reap */
  }
  r.pid = getpid ();
  /* From here on the init runs again: @start and @ctx are gone. */
  report (report_w, &r, sizeof r);

  memset (&x, 0, sizeof x);
  x.hdr.magic = AF_INIT_MAGIC;
  x.hdr.op = AF_INIT_OP_EXITED;
  x.hdr.id = id;
  /* Reap the command and every orphan of its tree. The command's status
   * goes out as soon as it ends; the rest is af-exec's to kill, and this
   * process stays (holding the tree) until nothing of it is left. */
  for (;;) {
    w = waitpid (-1, &status, __WALL);
    if (w == pid) {
      x.status = status;
      report (report_w, &x, sizeof x);
    } else if (w < 0 && errno != EINTR) {
      _exit (0); /* ECHILD: the tree is gone */
    }
  }
}

/* Forward what the reapers said (the init is af-exec's only writer). */
static void
handle_reports (int sock)
{
  union {
    AfInitHeader hdr;
    AfInitSpawned spawned;
    AfInitExited exited;
  } m;
  ssize_t n;

  while ((n = recv (report_r, &m, sizeof m, MSG_DONTWAIT)) > 0) {
    Child *slot = reaper_slot (m.hdr.id);

    if (slot == NULL || slot->state == REAPER_DONE)
      continue;
    if (m.hdr.op == AF_INIT_OP_SPAWNED && n == sizeof m.spawned)
      slot->state = m.spawned.error == 0 ? REAPER_RUNNING : REAPER_DONE;
    else if (m.hdr.op == AF_INIT_OP_EXITED && n == sizeof m.exited)
      slot->state = REAPER_DONE;
    else
      continue;
    report (sock, &m, (size_t)n);
  }
}

/* SIGKILL every child of ours that is not a command or a reaper we track:
 * what a killed reaper left us. Reparented processes of a dead parent come
 * to us too, so this runs after each reap until a pass finds nobody; then
 * the commands that lost their reaper are reported killed. Nothing reaps
 * between the read and the kill (we are the reaper), so a pid read here is
 * still the process it named. */
static void
sweep (int sock)
{
  static char buf[16384];
  size_t len = 0;
  ssize_t n;
  int killed = 0;
  int fd = open ("/proc/1/task/1/children", O_RDONLY | O_CLOEXEC);

  if (fd >= 0) {
    while (len < sizeof buf - 1 && (n = read (fd, buf + len, sizeof buf - 1 - len)) > 0)
      len += (size_t)n;
    close (fd);
  }
  buf[len] = '\0';
  /* Decimal pids separated by spaces (no strtol: musl's pulls in its
   * whole number scanner). A full buffer may end in half a number: the
   * next pass reads it. */
  for (char *p = buf;;) {
    pid_t pid = 0;
    while (*p == ' ' || *p == '\n')
      p++;
    if (*p < '0' || *p > '9')
      break;
    while (*p >= '0' && *p <= '9')
      pid = pid * 10 + (*p++ - '0');
    if (*p == '\0' && len == sizeof buf - 1)
      break;
    if (pid > 1 && child_slot (pid) == NULL) {
      kill (pid, SIGKILL);
      killed++;
    }
  }
  if (killed > 0 || len == sizeof buf - 1)
    return; /* their exits bring SIGCHLD: another pass then */
  sweeping = 0;
  for (int i = n_children - 1; i >= 0; i--) {
    if (children[i].pid == -1) {
      AfInitExited r;
      memset (&r, 0, sizeof r);
      r.hdr.magic = AF_INIT_MAGIC;
      r.hdr.op = AF_INIT_OP_EXITED;
      r.hdr.id = children[i].id;
      r.status = SIGKILL; /* the wait status of a SIGKILL death */
      drop_slot (&children[i]);
      report (sock, &r, sizeof r);
    }
  }
}

/* A reaper is gone. Its own end (after the command, with no descendant
 * left) needs nothing; any other leaves its tree to us. */
static void
reaper_ended (int sock, Child *slot, int status)
{
  uint64_t id = slot->id;
  int state;

  handle_reports (sock); /* what it said before it died comes first */
  stack_unmap (slot->stack);
  slot->stack = NULL;
  state = slot->state;
  if (state == REAPER_DONE && WIFEXITED (status)) {
    drop_slot (slot);
    return;
  }
  sweeping = 1;
  if (state == REAPER_RUNNING) {
    slot->pid = -1; /* reported once the sweep is over */
    return;
  }
  drop_slot (slot);
  if (state == REAPER_STARTING)
    reply_spawned (sock, id, 0, EINTR, AF_INIT_STAGE_FORK);
}

static void reap (int sock);

/* Until the reaper of @id says whether its command started: forward the
 * reapers' reports and reap meanwhile (one that dies first is answered
 * for in reaper_ended). */
static void
wait_started (int sock, int sfd, uint64_t id)
{
  Child *slot;

  while ((slot = reaper_slot (id)) != NULL && slot->state == REAPER_STARTING) {
    struct pollfd pfd[2] = { { report_r, POLLIN, 0 }, { sfd, POLLIN, 0 } };

    if (poll (pfd, 2, -1) < 0)
      continue;
    if (pfd[0].revents & POLLIN)
      handle_reports (sock);
    if (pfd[1].revents & POLLIN) {
      struct signalfd_siginfo si[16];
      while (read (sfd, si, sizeof si) > 0)
        ;
      reap (sock);
    }
  }
}

static void
handle_spawn (int sock, int sfd, size_t len, int *fds, int n_fds)
{
  AfInitSpawn req;
  SpawnCtx ctx;
  ReaperStart start;
  char *p, *end;
  size_t n_strings;
  pid_t pid;
  int err;
  Child *slot;

  memcpy (&req, msg_buf, sizeof req);
  memset (&ctx, 0, sizeof ctx);

  /* Validate before touching anything: counts must match what arrived. */
  n_strings = 1 + (size_t)req.n_argv + (size_t)req.n_env;
  if (req.n_argv == 0 || n_strings > AF_INIT_MAX_MSG / 2 ||
      n_fds != 3 + (int)((req.flags & AF_INIT_SPAWN_STATUS_FD) ? 1 : 0) + (int)req.n_cgroup_fds)
    goto bad_request;

  /* Split "cwd\0argv…\0env…\0" into argv_buf (NULL-terminated) and
   * env_buf (NULL-terminated); every string must end inside the message. */
  p = msg_buf + sizeof req;
  end = msg_buf + len;
  for (size_t i = 0; i < n_strings; i++) {
    char *nul = memchr (p, '\0', (size_t)(end - p));
    if (nul == NULL)
      goto bad_request;
    if (i == 0)
      ctx.cwd = p;
    else if (i <= req.n_argv)
      argv_buf[i] = p;
    else
      env_buf[i - 1 - req.n_argv] = p;
    p = nul + 1;
  }
  argv_buf[req.n_argv + 1] = NULL;
  env_buf[req.n_env] = NULL;
  ctx.argv = argv_buf + 1;
  ctx.envp = env_buf;

  if (n_children >= AF_INIT_MAX_CHILDREN) {
    close_fds (fds, n_fds);
    reply_spawned (sock, req.hdr.id, 0, EAGAIN, AF_INIT_STAGE_FORK);
    return;
  }

  memcpy (ctx.fds, fds, sizeof (int) * (size_t)n_fds);
  ctx.n_fds = n_fds;
  ctx.n_cgroup_fds = (int)req.n_cgroup_fds;
  ctx.has_status_fd = (req.flags & AF_INIT_SPAWN_STATUS_FD) ? 1 : 0;
  ctx.shell_errors = (req.flags & AF_INIT_SPAWN_SHELL_ERRORS) ? 1 : 0;
  sigemptyset (&ctx.child_mask);

  if (req.flags & AF_INIT_SPAWN_REAPER) {
    int sv[2];
    if (report_r < 0) {
      if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        close_fds (fds, n_fds);
        reply_spawned (sock, req.hdr.id, 0, errno, AF_INIT_STAGE_FORK);
        return;
      }
      report_r = sv[0];
      report_w = sv[1];
    }
    start.ctx = &ctx;
    start.id = req.hdr.id;
    start.sock = sock;
    start.sfd = sfd;
    start.stack = stack_map ();
    pid = start.stack == MAP_FAILED
              ? -1
              : clone (reaper_main, start.stack + REAPER_STACK, CLONE_VM | SIGCHLD, &start);
    err = errno;
    close_fds (fds, n_fds); /* the reaper has its own fd table */
    if (pid < 0) {
      if (start.stack != MAP_FAILED)
        stack_unmap (start.stack);
      reply_spawned (sock, req.hdr.id, 0, err, AF_INIT_STAGE_FORK);
      return;
    }
    slot = &children[n_children++];
    slot->id = req.hdr.id;
    slot->pid = pid;
    slot->reaper = 1;
    slot->state = REAPER_STARTING;
    slot->stack = start.stack;
    /* SPAWNED comes from the reaper once the command runs (or not); the
     * command reads this request until then. */
    wait_started (sock, sfd, req.hdr.id);
    return;
  }

  pid =
      clone (child_main, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &ctx);
  close_fds (fds, n_fds);
  if (pid < 0) {
    reply_spawned (sock, req.hdr.id, 0, errno, AF_INIT_STAGE_FORK);
    return;
  }
  /* CLONE_VFORK: the child has exec'd or exited by now, so ctx.error is
   * final. A failed child is reaped by the SIGCHLD loop like any other;
   * it is not tracked, so no EXITED follows its SPAWNED error. */
  if (ctx.stage != AF_INIT_STAGE_NONE) {
    reply_spawned (sock, req.hdr.id, 0, ctx.error, ctx.stage);
    return;
  }
  slot = &children[n_children++];
  slot->id = req.hdr.id;
  slot->pid = pid;
  slot->reaper = 0;
  reply_spawned (sock, req.hdr.id, pid, 0, AF_INIT_STAGE_NONE);
  return;

bad_request:
  close_fds (fds, n_fds);
  reply_spawned (sock, req.hdr.id, 0, EINVAL, AF_INIT_STAGE_REQUEST);
}

static void
handle_request (int sock, int sfd)
{
  struct iovec iov = { msg_buf, AF_INIT_MAX_MSG };
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE (sizeof (int) * AF_INIT_MAX_FDS)];
  } cbuf;
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  int fds[AF_INIT_MAX_FDS];
  int n_fds = 0;
  AfInitHeader hdr;
  ssize_t n;

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf.buf;
  msg.msg_controllen = sizeof cbuf.buf;
  do
    n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    _exit (0); /* af-exec is gone: the sandbox ends with it */

  for (cmsg = CMSG_FIRSTHDR (&msg); cmsg; cmsg = CMSG_NXTHDR (&msg, cmsg)) {
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
      int k = (int)((cmsg->cmsg_len - CMSG_LEN (0)) / sizeof (int));
      for (int i = 0; i < k; i++) {
        int fd;
        memcpy (&fd, CMSG_DATA (cmsg) + i * sizeof (int), sizeof fd);
        if (n_fds < AF_INIT_MAX_FDS)
          fds[n_fds++] = fd;
        else
          close (fd);
      }
    }
  }

  if ((size_t)n < sizeof hdr || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
    close_fds (fds, n_fds);
    reply_spawned (sock, 0, 0, E2BIG, AF_INIT_STAGE_REQUEST);
    return;
  }
  memcpy (&hdr, msg_buf, sizeof hdr);
  if (hdr.magic != AF_INIT_MAGIC || hdr.op != AF_INIT_OP_SPAWN ||
      (size_t)n < sizeof (AfInitSpawn)) {
    close_fds (fds, n_fds);
    reply_spawned (sock, hdr.id, 0, EINVAL, AF_INIT_STAGE_REQUEST);
    return;
  }
  handle_spawn (sock, sfd, (size_t)n, fds, n_fds);
}

static void
reap (int sock)
{
  int status;
  pid_t pid;

  while ((pid = waitpid (-1, &status, WNOHANG | WUNTRACED)) > 0) {
    Child *slot = child_slot (pid);
    AfInitExited r;

    if (WIFSTOPPED (status)) {
      /* A command may stop its reaper; it must go on reaping. */
      if (slot && slot->reaper)
        kill (pid, SIGCONT);
      continue;
    }
    if (slot == NULL)
      continue; /* an orphan reparented to us, or a failed spawn */
    if (slot->reaper) {
      reaper_ended (sock, slot, status);
      continue;
    }
    memset (&r, 0, sizeof r);
    r.hdr.magic = AF_INIT_MAGIC;
    r.hdr.op = AF_INIT_OP_EXITED;
    r.hdr.id = slot->id;
    r.status = status;
    drop_slot (slot);
    report (sock, &r, sizeof r);
  }
  if (sweeping)
    sweep (sock);
}

int
main (int argc, char **argv)
{
  sigset_t mask;
  int sock, sfd;
  AfInitHeader ready = { AF_INIT_MAGIC, AF_INIT_OP_READY, 0 };

  if (argc == 3 && strcmp (argv[1], "--connect") == 0) {
    /* Docker: af-exec listens on a socket bind-mounted into the container. */
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen (argv[2]) >= sizeof sa.sun_path)
      return 2;
    strcpy (sa.sun_path, argv[2]);
    sock = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect (sock, (struct sockaddr *)&sa, sizeof sa) < 0)
      return 2;
  } else if (argc == 2) {
    /* bwrap: the socket is inherited at this fd. */
    sock = atoi (argv[1]);
    if (fcntl (sock, F_SETFD, FD_CLOEXEC) < 0)
      return 2;
  } else {
    return 2;
  }

  /* Commands run as our uid; keep them out of /proc/1/fd and /proc/1/mem. */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);

  /* Keep 0-2 occupied so received fds never land there. */
  for (int i = 0; i < 3; i++)
    if (fcntl (i, F_GETFD) < 0 && open ("/dev/null", O_RDWR) != i)
      return 2;

  /* An ignored signal stays ignored across exec: whatever ignores we were
   * started with must not reach the commands. Reset once here, so each
   * spawn needs no signal call but one sigprocmask. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal (sig, SIG_DFL);

  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  sfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0)
    return 2;

  if (send_all (sock, &ready, sizeof ready) < 0)
    return 0;

  for (;;) {
    /* The reports' socket exists once a command ran under a reaper. */
    struct pollfd pfd[3] = { { sock, POLLIN, 0 }, { sfd, POLLIN, 0 }, { report_r, POLLIN, 0 } };

    if (poll (pfd, report_r < 0 ? 2 : 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      return 2;
    }
    if (pfd[2].revents & POLLIN)
      handle_reports (sock);
    if (pfd[1].revents & POLLIN) {
      struct signalfd_siginfo si[16];
      while (read (sfd, si, sizeof si) > 0)
        ;
      reap (sock);
    }
    if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
      handle_request (sock, sfd);
  }
}
