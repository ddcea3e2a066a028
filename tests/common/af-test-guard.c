/* af-test-guard.c — the guardian of one test's daemons.
 *
 * `af-test-guard --dir=DIR --control-fd=N` is started by a test fixture
 * (tests/common/af-guard-client.c, tests/common/af_test_guard.py) for the
 * test's own temp dir DIR. It becomes a child subreaper in a process group of
 * its own, then starts the daemons the test asks for (afd-server, af-fuse) as
 * its children, so every process they start stays its descendant — even one
 * whose parent died (af-fuse and af-exec outlive a killed afd-server by
 * design). The control socket N is a SOCK_SEQPACKET pair whose other end
 * only the test holds; when that end closes — the test tore down, failed an
 * assertion, was killed by meson's timeout or by SIGKILL — the guard:
 *
 *   1. SIGKILLs every descendant of its own, by pid (walking the ppid links
 *      of /proc; orphans come back to it as the subreaper), until it has no
 *      child left;
 *   2. lazily unmounts (MNT_DETACH, or `fusermount3 -u -z` when not root)
 *      every mount at or under DIR listed in /proc/self/mountinfo;
 *   3. removes DIR (never following a symbolic link, never crossing a mount);
 *
 * naming on stderr each process and mount it had to clean up. Exit status:
 * 0 nothing was left, 1 it cleaned something up, 2 something could not be
 * cleaned (still reported), 64 bad usage.
 *
 * Protocol (one message per datagram). Test → guard: "S" then the argv,
 * each string NUL-terminated, with up to 16 fds attached (SCM_RIGHTS) that
 * become fds 0, 1, 2, … of the child. Guard → test: "P <pid>" once started
 * or "E <errno>"; "X <pid> <wait status>" when that child exits.
 *
 * Must never: signal a process that is not its descendant, unmount anything
 * outside DIR, follow a symbolic link or cross a mount while removing DIR,
 * or write to stdout (TAP tests read theirs). Plain libc, single-threaded,
 * so the code between fork and exec is safe. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 16
#define MAX_MSG 65536
#define MAX_ARGS 256
#define MAX_SPAWNED 256
/* Killing a tree of a few dozen processes takes milliseconds; one stuck in
 * an uninterruptible sleep must not keep the guard (and meson) forever. */
#define CLEANUP_DEADLINE_MS 30000

static const char *dir;
static size_t dir_len;
static pid_t spawned[MAX_SPAWNED];
static int sigfd = -1;
static int cleaned; /* something had to be cleaned up */
static int failed;  /* something could not be */

static void
say (const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (buf, sizeof buf - 1, fmt, ap);
  va_end (ap);
  if (n < 0)
    return;
  if ((size_t)n > sizeof buf - 2)
    n = sizeof buf - 2;
  buf[n++] = '\n';
  /* One write per line: lines of several guards sharing a stderr stay whole. */
  if (write (STDERR_FILENO, buf, (size_t)n) < 0)
    return;
}

static long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- processes --------------------------------------------------------- */

static pid_t
read_ppid (pid_t pid)
{
  char path[64], buf[1024];
  snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  /* "pid (comm) state ppid …": comm may hold spaces and parentheses. */
  char *p = strrchr (buf, ')');
  int ppid;
  if (p == NULL || sscanf (p + 1, " %*c %d", &ppid) != 1)
    return -1;
  return ppid;
}

static void
describe (pid_t pid, char *out, size_t size)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/cmdline", (int)pid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read (fd, out, size - 1) : -1;
  if (fd >= 0)
    close (fd);
  if (n <= 0) {
    snprintf (out, size, "?");
    return;
  }
  for (ssize_t i = 0; i < n; i++)
    if (out[i] == '\0')
      out[i] = ' ';
  out[n] = '\0';
}

/* Every descendant of this process now, into @out (at most @max). */
static size_t
list_descendants (pid_t *out, size_t max)
{
  size_t n_all = 0, cap = 1024;
  pid_t (*all)[2] = malloc (cap * sizeof *all);
  DIR *proc = opendir ("/proc");
  if (all == NULL || proc == NULL) {
    free (all);
    if (proc)
      closedir (proc);
    return 0;
  }
  struct dirent *e;
  while ((e = readdir (proc)) != NULL) {
    char *end;
    long pid = strtol (e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0)
      continue;
    pid_t ppid = read_ppid ((pid_t)pid);
    if (ppid <= 0)
      continue;
    if (n_all == cap) {
      pid_t (*more)[2] = realloc (all, 2 * cap * sizeof *all);
      if (more == NULL)
        break;
      all = more;
      cap *= 2;
    }
    all[n_all][0] = (pid_t)pid;
    all[n_all][1] = ppid;
    n_all++;
  }
  closedir (proc);
  /* Breadth first from ourselves: out[] doubles as the queue. */
  size_t n = 0;
  pid_t self = getpid ();
  for (size_t head = 0;; head++) {
    pid_t parent = head == 0 ? self : (head - 1 < n ? out[head - 1] : -1);
    if (parent < 0)
      break;
    for (size_t i = 0; i < n_all && n < max; i++)
      if (all[i][1] == parent)
        out[n++] = all[i][0];
  }
  free (all);
  return n;
}

static void
report_exit (int control, pid_t pid, int status)
{
  for (size_t i = 0; i < MAX_SPAWNED; i++)
    if (spawned[i] == pid) {
      spawned[i] = 0;
      char msg[64];
      int len = snprintf (msg, sizeof msg, "X %d %d", (int)pid, status);
      if (control >= 0)
        send (control, msg, (size_t)len, MSG_NOSIGNAL);
      return;
    }
}

/* Reaps what has exited; returns FALSE once there is no child left. */
static int
reap (int control)
{
  for (;;) {
    int status;
    pid_t pid = waitpid (-1, &status, WNOHANG);
    if (pid > 0) {
      report_exit (control, pid, status);
      continue;
    }
    return !(pid < 0 && errno == ECHILD);
  }
}

static void
drain_sigfd (void)
{
  struct signalfd_siginfo si;
  while (read (sigfd, &si, sizeof si) == (ssize_t)sizeof si)
    ;
}

static void
kill_descendants (void)
{
  static pid_t seen[4096];
  size_t n_seen = 0;
  long deadline = now_ms () + CLEANUP_DEADLINE_MS;
  pid_t pids[4096];
  /* A subreaper without a child has no descendant: every orphan below it
   * would have become its child. The usual teardown ends here, without
   * reading all of /proc. */
  if (!reap (-1))
    return;
  for (;;) {
    size_t n = list_descendants (pids, sizeof pids / sizeof pids[0]);
    for (size_t i = 0; i < n; i++) {
      int known = 0;
      for (size_t j = 0; j < n_seen && !known; j++)
        known = seen[j] == pids[i];
      if (!known) {
        char cmd[256];
        describe (pids[i], cmd, sizeof cmd);
        say ("af-test-guard: %s: killing left-behind process %d: %s", dir, (int)pids[i], cmd);
        if (n_seen < sizeof seen / sizeof seen[0])
          seen[n_seen++] = pids[i];
        cleaned = 1;
      }
      kill (pids[i], SIGKILL);
    }
    if (!reap (-1))
      return;
    /* Children remain: wait for the next SIGCHLD (a killed child, or an
     * orphan handed to us and killed in the next round). */
    long left = deadline - now_ms ();
    if (left <= 0) {
      say ("af-test-guard: %s: processes still alive after %d ms", dir, CLEANUP_DEADLINE_MS);
      failed = 1;
      return;
    }
    struct pollfd p = { .fd = sigfd, .events = POLLIN };
    if (poll (&p, 1, (int)(left < 200 ? left : 200)) > 0)
      drain_sigfd ();
  }
}

/* ---- mounts ------------------------------------------------------------ */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape (char *s)
{
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
        r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
}

static int
under_dir (const char *path)
{
  return strncmp (path, dir, dir_len) == 0 && (path[dir_len] == '\0' || path[dir_len] == '/');
}

/* Mount points at or under DIR, deepest (longest) first; returns how many. */
static size_t
list_mounts (char (*out)[PATH_MAX], char (*types)[64], size_t max)
{
  FILE *f = fopen ("/proc/self/mountinfo", "re");
  if (f == NULL)
    return 0;
  size_t n = 0;
  char *line = NULL;
  size_t cap = 0;
  while (getline (&line, &cap, f) > 0 && n < max) {
    /* id parent major:minor root mountpoint options … - fstype source … */
    char mp[PATH_MAX], type[64] = "?";
    if (sscanf (line, "%*s %*s %*s %*s %4095s", mp) != 1)
      continue;
    const char *sep = strstr (line, " - ");
    if (sep != NULL)
      sscanf (sep + 3, "%63s", type);
    unescape (mp);
    if (!under_dir (mp))
      continue;
    size_t at = n++;
    while (at > 0 && strlen (out[at - 1]) < strlen (mp)) {
      memcpy (out[at], out[at - 1], sizeof out[at]);
      memcpy (types[at], types[at - 1], sizeof types[at]);
      at--;
    }
    memcpy (out[at], mp, sizeof mp);
    memcpy (types[at], type, sizeof type);
  }
  free (line);
  fclose (f);
  return n;
}

static void
lazy_unmount (const char *mp)
{
  if (geteuid () == 0) {
    if (umount2 (mp, MNT_DETACH | UMOUNT_NOFOLLOW) != 0)
      say ("af-test-guard: umount %s: %s", mp, strerror (errno));
    return;
  }
  /* An unprivileged user's FUSE mount goes through the setuid helper. */
  pid_t pid = fork ();
  if (pid == 0) {
    execlp ("fusermount3", "fusermount3", "-u", "-z", "--", mp, (char *)NULL);
    _exit (127);
  }
  if (pid > 0) {
    int status;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
      ;
  }
}

static void
unmount_all (void)
{
  static char mps[64][PATH_MAX];
  static char types[64][64];
  size_t n = list_mounts (mps, types, 64);
  for (size_t i = 0; i < n; i++) {
    say ("af-test-guard: %s: unmounting left-behind %s mount %s", dir, types[i], mps[i]);
    cleaned = 1;
    lazy_unmount (mps[i]);
  }
  n = list_mounts (mps, types, 64);
  for (size_t i = 0; i < n; i++) {
    say ("af-test-guard: %s: still mounted: %s", dir, mps[i]);
    failed = 1;
  }
}

/* ---- the directory ----------------------------------------------------- */

static void remove_at (int parent, const char *name, dev_t dev, uid_t uid);

static void
empty_dir (int fd, dev_t dev, uid_t uid)
{
  DIR *d = fdopendir (fd);
  if (d == NULL) {
    close (fd);
    return;
  }
  struct dirent *e;
  while ((e = readdir (d)) != NULL) {
    if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
      continue;
    remove_at (dirfd (d), e->d_name, dev, uid);
  }
  closedir (d);
}

static void
remove_at (int parent, const char *name, dev_t dev, uid_t uid)
{
  struct stat st;
  if (fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return;
  if (S_ISDIR (st.st_mode)) {
    if (st.st_dev != dev) {
      say ("af-test-guard: %s: not crossing into a mount at %s", dir, name);
      failed = 1;
      return;
    }
    /* A directory a test made read-only (or a sandbox user's) must still go. */
    if (st.st_uid == uid && (st.st_mode & 0700) != 0700)
      fchmodat (parent, name, 0700, 0);
    int fd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
      empty_dir (fd, dev, uid);
    if (unlinkat (parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
      say ("af-test-guard: %s: rmdir %s: %s", dir, name, strerror (errno));
      failed = 1;
    }
  } else if (unlinkat (parent, name, 0) != 0 && errno != ENOENT) {
    say ("af-test-guard: %s: unlink %s: %s", dir, name, strerror (errno));
    failed = 1;
  }
}

static void
remove_dir (void)
{
  char *parent_path = strdup (dir);
  if (parent_path == NULL)
    return;
  char *slash = strrchr (parent_path, '/');
  const char *name = dir + (slash - parent_path) + 1;
  *(slash == parent_path ? slash + 1 : slash) = '\0';
  int parent = open (parent_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (parent >= 0 && fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode))
    remove_at (parent, name, st.st_dev, geteuid ());
  if (parent >= 0)
    close (parent);
  free (parent_path);
}

/* ---- spawning ---------------------------------------------------------- */

static void
spawn (int control, char *msg, size_t len, int *fds, int n_fds)
{
  char *argv[MAX_ARGS + 1];
  int argc = 0;
  for (size_t at = 1; at < len && argc < MAX_ARGS;) {
    argv[argc++] = msg + at;
    at += strnlen (msg + at, len - at) + 1;
  }
  argv[argc] = NULL;
  char reply[64];
  int rlen;
  size_t slot = 0;
  while (slot < MAX_SPAWNED && spawned[slot] != 0)
    slot++;
  pid_t pid = argc == 0 || slot == MAX_SPAWNED ? (errno = E2BIG, -1) : fork ();
  if (pid == 0) {
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    signal (SIGPIPE, SIG_DFL);
    /* Should the guard itself be killed, its daemons stop in order. */
    prctl (PR_SET_PDEATHSIG, SIGTERM);
    /* Move the passed fds out of the way, then into 0, 1, 2, …; the
     * copies above n_fds are close-on-exec. */
    int high[MAX_FDS];
    for (int i = 0; i < n_fds; i++)
      if ((high[i] = fcntl (fds[i], F_DUPFD_CLOEXEC, 100)) < 0)
        _exit (127);
    for (int i = 0; i < n_fds; i++)
      if (dup2 (high[i], i) < 0)
        _exit (127);
    close_range ((unsigned)n_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    execv (argv[0], argv);
    _exit (127);
  }
  if (pid < 0) {
    rlen = snprintf (reply, sizeof reply, "E %d", errno);
  } else {
    spawned[slot] = pid;
    rlen = snprintf (reply, sizeof reply, "P %d", (int)pid);
  }
  send (control, reply, (size_t)rlen, MSG_NOSIGNAL);
}

/* Returns 0 at end of file (or a broken socket), 1 otherwise. */
static int
receive (int control)
{
  static char msg[MAX_MSG];
  union {
    char buf[CMSG_SPACE (MAX_FDS * sizeof (int))];
    struct cmsghdr align;
  } cbuf;
  struct iovec iov = { .iov_base = msg, .iov_len = sizeof msg - 1 };
  struct msghdr mh = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf, .msg_controllen = sizeof cbuf.buf
  };
  ssize_t n = recvmsg (control, &mh, MSG_CMSG_CLOEXEC);
  if (n < 0)
    return errno == EINTR || errno == EAGAIN;
  if (n == 0)
    return 0;
  msg[n] = '\0';
  int fds[MAX_FDS], n_fds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&mh); c != NULL; c = CMSG_NXTHDR (&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int k = (int)((c->cmsg_len - CMSG_LEN (0)) / sizeof (int));
      for (int i = 0; i < k; i++) {
        int fd;
        memcpy (&fd, CMSG_DATA (c) + i * sizeof (int), sizeof fd);
        if (n_fds < MAX_FDS)
          fds[n_fds++] = fd;
        else
          close (fd);
      }
    }
  if (msg[0] == 'S' && (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0)
    spawn (control, msg, (size_t)n, fds, n_fds);
  else
    send (control, "E 22", 4, MSG_NOSIGNAL);
  for (int i = 0; i < n_fds; i++)
    close (fds[i]);
  return 1;
}

static int
usage (const char *why)
{
  say ("af-test-guard: %s\nusage: af-test-guard --dir=DIR --control-fd=N", why);
  return 64;
}

int
main (int argc, char **argv)
{
  int control = -1;
  for (int i = 1; i < argc; i++) {
    if (strncmp (argv[i], "--dir=", 6) == 0)
      dir = argv[i] + 6;
    else if (strncmp (argv[i], "--control-fd=", 13) == 0)
      control = atoi (argv[i] + 13);
    else
      return usage ("unknown argument");
  }
  /* DIR must be the test's own: absolute, canonical, a directory it owns,
   * and never the root. */
  char real[PATH_MAX];
  struct stat st;
  if (dir == NULL || dir[0] != '/' || realpath (dir, real) == NULL || strcmp (real, dir) != 0 ||
      strcmp (dir, "/") == 0 || stat (dir, &st) != 0 || !S_ISDIR (st.st_mode) ||
      st.st_uid != geteuid ())
    return usage ("--dir must name an existing canonical directory of ours, not /");
  dir_len = strlen (dir);
  int type;
  socklen_t tlen = sizeof type;
  if (control < 3 || getsockopt (control, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 ||
      type != SOCK_SEQPACKET)
    return usage ("--control-fd must be a SOCK_SEQPACKET socket");
  fcntl (control, F_SETFD, FD_CLOEXEC);

  /* Out of the test's process group: meson kills that group on a timeout,
   * and the guard must live to clean up. Not a new session: that would be
   * a scheduler autogroup of its own and change the timing the daemons'
   * tests see under load. */
  setpgid (0, 0);
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) != 0) {
    say ("af-test-guard: PR_SET_CHILD_SUBREAPER: %s", strerror (errno));
    return 2;
  }
  signal (SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGCHLD);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGHUP);
  sigprocmask (SIG_BLOCK, &set, NULL);
  sigfd = signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0)
    return 2;

  for (int running = 1; running;) {
    struct pollfd p[2] = { { .fd = control, .events = POLLIN }, { .fd = sigfd, .events = POLLIN } };
    if (poll (p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read (sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        if (si.ssi_signo != SIGCHLD)
          running = 0; /* asked to stop: clean up as at end of file */
      reap (control);
    }
    if (running && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
      running = receive (control);
  }
  close (control);
  kill_descendants ();
  unmount_all ();
  remove_dir ();
  struct stat left;
  if (lstat (dir, &left) == 0) {
    say ("af-test-guard: %s: could not be removed", dir);
    failed = 1;
  }
  close (sigfd);
  return failed ? 2 : cleaned ? 1 : 0;
}
