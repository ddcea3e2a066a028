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
 * Must never: link GLib or anything that starts threads (it clones with a
 * shared address space), allocate per request beyond its fixed tables, or
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
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "af-init-proto.h"

typedef struct {
  uint64_t id;
  pid_t pid; /* 0 = free slot */
} Child;

static Child children[AF_INIT_MAX_CHILDREN];
static int n_children;

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

#define PATH_BSHELL "/bin/sh"

/* execve, and a file the kernel cannot run (no #! line) as a script of
 * /bin/sh, with $0 = its path. @argv has a free slot before it. */
static void
try_exec (const char *file, char **argv, char **envp)
{
  char *arg0 = argv[0];

  execve (file, argv, envp);
  if (errno != ENOEXEC)
    return;
  argv[-1] = (char *)PATH_BSHELL;
  argv[0] = (char *)file;
  execve (PATH_BSHELL, argv - 1, envp);
  argv[0] = arg0;
  errno = ENOEXEC;
}

/* Run argv[0] the way /bin/sh (dash) runs a simple command: a name with a
 * slash as is, else each PATH entry in turn (from the request's PATH, or
 * dash's default), going on past entries that exist but cannot run — the
 * error remembered is the last one other than "no such file". Returns the
 * exit status sh would give; errno is the error to report. No allocation:
 * this runs in the clone child on a borrowed stack. */
static int
exec_search (char **argv, char **envp)
{
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  const char *name = argv[0];
  size_t name_len = strlen (name);
  int e = ENOENT;
  char buf[4096];

  if (strchr (name, '/')) {
    try_exec (name, argv, envp);
    e = errno;
    return (e == ENOENT || e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG) ? 127 : 126;
  }
  for (char **v = envp; *v; v++)
    if (strncmp (*v, "PATH=", 5) == 0)
      path = *v + 5;

  for (const char *p = path;; p++) {
    const char *end = strchrnul (p, ':');
    size_t dir_len = (size_t)(end - p);
    if (dir_len + 1 + name_len + 1 <= sizeof buf) {
      if (dir_len == 0) {
        memcpy (buf, name, name_len + 1);
      } else {
        memcpy (buf, p, dir_len);
        buf[dir_len] = '/';
        memcpy (buf + dir_len + 1, name, name_len + 1);
      }
      try_exec (buf, argv, envp);
      if (errno != ENOENT && errno != ENOTDIR)
        e = errno;
    } else {
      e = ENAMETOOLONG;
    }
    if (*end == '\0')
      break;
    p = end;
  }
  errno = e;
  /* A lookup that found nothing runnable: 127 whatever the reason. */
  return 127;
}

/* dash's words for an exec error. The init is built with musl, whose
 * strerror texts differ from glibc's (the shell's), so the ones an exec
 * can give are spelled out here. */
static const char *
exec_errmsg (int e)
{
  switch (e) {
  case ENOENT:
  case ENOTDIR:
    return "not found";
  case EACCES:
    return "Permission denied";
  case ELOOP:
    return "Too many levels of symbolic links";
  case ENAMETOOLONG:
    return "File name too long";
  case ENOEXEC:
    return "Exec format error";
  case E2BIG:
    return "Argument list too long";
  case ENOMEM:
    return "Cannot allocate memory";
  case ETXTBSY:
    return "Text file busy";
  case EPERM:
    return "Operation not permitted";
  case EIO:
    return "Input/output error";
  default:
    return strerror (e);
  }
}

/* "/bin/sh: 1: NAME: MESSAGE\n" on stderr, as `/bin/sh -c NAME` prints it. */
static void
shell_error (const char *name, int e)
{
  static const char prefix[] = PATH_BSHELL ": 1: ";
  const char *msg = exec_errmsg (e);
  struct iovec iov[5] = {
    { (void *)prefix, sizeof prefix - 1 },
    { (void *)name, strlen (name) },
    { (void *)": ", 2 },
    { (void *)msg, strlen (msg) },
    { (void *)"\n", 1 },
  };
  if (writev (2, iov, 5) < 0) {
    /* Nobody reads stderr: the exit status still says it. */
  }
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
    int code = exec_search (ctx->argv, ctx->envp);
    if (ctx->shell_errors) {
      /* Like sh: a started command that says why and exits. */
      shell_error (ctx->argv[0], errno);
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

static void
handle_spawn (int sock, size_t len, int *fds, int n_fds)
{
  AfInitSpawn req;
  SpawnCtx ctx;
  char *p, *end;
  size_t n_strings;
  pid_t pid;
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
  reply_spawned (sock, req.hdr.id, pid, 0, AF_INIT_STAGE_NONE);
  return;

bad_request:
  close_fds (fds, n_fds);
  reply_spawned (sock, req.hdr.id, 0, EINVAL, AF_INIT_STAGE_REQUEST);
}

static void
handle_request (int sock)
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
  handle_spawn (sock, (size_t)n, fds, n_fds);
}

static void
reap (int sock)
{
  int status;
  pid_t pid;

  while ((pid = waitpid (-1, &status, WNOHANG)) > 0) {
    Child *slot = child_slot (pid);
    AfInitExited r;

    if (slot == NULL)
      continue; /* an orphan reparented to us, or a failed spawn */
    memset (&r, 0, sizeof r);
    r.hdr.magic = AF_INIT_MAGIC;
    r.hdr.op = AF_INIT_OP_EXITED;
    r.hdr.id = slot->id;
    r.status = status;
    *slot = children[--n_children];
    if (send_all (sock, &r, sizeof r) < 0)
      _exit (0);
  }
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
    struct pollfd pfd[2] = { { sock, POLLIN, 0 }, { sfd, POLLIN, 0 } };

    if (poll (pfd, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return 2;
    }
    if (pfd[1].revents & POLLIN) {
      struct signalfd_siginfo si[16];
      while (read (sfd, si, sizeof si) > 0)
        ;
      reap (sock);
    }
    if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
      handle_request (sock);
  }
}
