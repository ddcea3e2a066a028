/* runtime-bwrap.c — the bwrap runtime: one bwrap per sandbox, our init as
 * its pid 1, every command spawned by that init.
 *
 * Owns: the bwrap command line (the isolation defaults of the
 * architecture), the child that joins the sandbox's cgroups and drops to the
 * sandbox's unprivileged host uid before exec'ing bwrap, and the sandbox's
 * lifetime (it ends when the init's socket closes). Must never: exec bwrap
 * as host root, hand bwrap any fd but the init socket, the seccomp program
 * and the generated /etc files, or call anything in the child but plain
 * system calls (it shares af-exec's memory until it execs, and af-exec
 * may have threads: glibc's setresuid would change theirs too). */
#define _GNU_SOURCE
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "af-error.h"
#include "init-channel.h"
#include "seccomp-filter.h"

/* Fixed fd numbers in bwrap's process; the argv refers to them. */
#define FD_SOCK 3
#define FD_SECCOMP 4
#define FD_PASSWD 5
#define FD_GROUP 6
#define FD_FIRST_FREE 7

#define SANDBOX_UID 1000
#define SANDBOX_HOME "/home/sandbox"
#define READY_TIMEOUT_MS 10000

typedef struct {
  AfRuntime parent;
  AfInitChannel *channel;
  GPid bwrap_pid;
  guint child_watch;
  /* Between launch and finish_start: bwrap's stderr, read for the reason
   * when the init never says it is ready; -1 otherwise. */
  int err_r;
  gboolean launched; /* bwrap runs, the init has not answered yet */
} AfRuntimeBwrap;

/* Host directories a command needs to run programs, read-only. */
static const char *const etc_files[] = {
  "/etc/alternatives", "/etc/ld.so.cache",   "/etc/ld.so.conf", "/etc/ld.so.conf.d",
  "/etc/localtime",    "/etc/nsswitch.conf", "/etc/ssl",        "/etc/ca-certificates",
  "/etc/protocols",    "/etc/services",      "/etc/mime.types", "/etc/host.conf",
};

static void
add (GPtrArray *argv, const char *first, ...)
{
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (a));
  va_end (ap);
}

static void
add_fmt_int (GPtrArray *argv, gint64 v)
{
  g_ptr_array_add (argv, g_strdup_printf ("%" G_GINT64_FORMAT, v));
}

static int
data_memfd (const char *name, const char *contents, GError **error)
{
  int fd = memfd_create (name, MFD_CLOEXEC);
  size_t len = strlen (contents);

  if (fd < 0 || write (fd, contents, len) != (ssize_t)len || lseek (fd, 0, SEEK_SET) != 0) {
    int saved = errno;
    if (fd >= 0)
      close (fd);
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "memfd for %s: %s", name, g_strerror (saved));
    return -1;
  }
  return fd;
}

static GPtrArray *
build_argv (const AfSandboxConfig *cfg, const char *bwrap)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  const char *top[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };

  add (argv, bwrap, "--unshare-all", "--unshare-user", "--disable-userns", NULL);
  if (cfg->network)
    add (argv, "--share-net", NULL);
  add (argv, "--uid", "1000", "--gid", "1000", "--hostname", "sandbox", "--new-session",
       "--die-with-parent", "--as-pid-1", "--cap-drop", "ALL", "--clearenv", NULL);

  add (argv, "--ro-bind", "/usr", "/usr", NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (top); i++) {
    g_autofree char *path = g_strconcat ("/", top[i], NULL);
    g_autofree char *target = g_file_read_link (path, NULL);
    struct stat st;
    if (target)
      add (argv, "--symlink", target, path, NULL);
    else if (lstat (path, &st) == 0 && S_ISDIR (st.st_mode))
      add (argv, "--ro-bind", path, path, NULL);
  }
  for (gsize i = 0; i < G_N_ELEMENTS (etc_files); i++)
    add (argv, "--ro-bind-try", etc_files[i], etc_files[i], NULL);
  if (cfg->network)
    add (argv, "--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf", "--ro-bind-try",
         "/etc/hosts", "/etc/hosts", NULL);
  add (argv, "--ro-bind-data", G_STRINGIFY (FD_PASSWD), "/etc/passwd", "--ro-bind-data",
       G_STRINGIFY (FD_GROUP), "/etc/group", NULL);

  add (argv, "--proc", "/proc", "--dev", "/dev", NULL);
  add (argv, "--size", NULL);
  add_fmt_int (argv, cfg->tmp_size);
  add (argv, "--tmpfs", "/tmp", "--size", NULL);
  add_fmt_int (argv, cfg->tmp_size);
  add (argv, "--tmpfs", SANDBOX_HOME, NULL);
  add (argv, "--bind", cfg->workspace, "/workspace", NULL);
  add (argv, "--ro-bind", cfg->init_path, "/.af-init", NULL);
  add (argv, "--remount-ro", "/", NULL);
  /* The init's cwd is /, never the workspace: afd-server may build the
   * isolation before the workspace's mount arrives (a shared mount point),
   * and a cwd taken then would pin the empty directory beneath it. Each
   * command resolves its own cwd when it is spawned. */
  add (argv, "--chdir", "/", NULL);
  add (argv, "--seccomp", G_STRINGIFY (FD_SECCOMP), NULL);
  add (argv, "--", "/.af-init", G_STRINGIFY (FD_SOCK), NULL);
  g_ptr_array_add (argv, NULL);
  return argv;
}

/* Everything the child needs, computed before the clone. */
typedef struct {
  const int *cg_fds;
  int n_cg_fds;
  int sock, seccomp, passwd, group, devnull, err_w;
  char seccomp_path[64];
  uid_t uid;
  gid_t gid;
  gboolean drop;
  pid_t parent;
  char *const *argv;
} ChildPlan;

/* Runs in a CLONE_VM|CLONE_VFORK child on its own stack, as posix_spawn's
 * child does: no copy of af-exec's page tables, and no copy-on-write
 * fault in af-exec afterwards for every page it writes (each fault costs
 * ~30 µs on a VM; a fork cost af-exec's start ~4 ms of CPU that way). af-exec
 * is suspended until the exec. The child writes only its own stack and
 * errno, and changes credentials with raw system calls, which act on the
 * calling task alone. Not instrumented: the stack is not one ASan knows. */
static void G_GNUC_NORETURN __attribute__ ((no_sanitize_address)) child_exec (const ChildPlan *p)
{
  static char *const empty_env[] = { NULL };
  int src[4], fd;
  sigset_t none;

  /* Ignored signals and the mask survive exec: GIO ignores SIGPIPE, and a
   * command must start with the defaults. The parent blocked every signal
   * around the clone: no handler of af-exec's may run on this stack, so
   * the defaults go in before the mask is lifted. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal (sig, SIG_DFL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);

  for (int i = 0; i < p->n_cg_fds; i++)
    if (write (p->cg_fds[i], "0", 1) != 1)
      _exit (126);
  /* A private open file of the BPF program: the memfd's offset is shared,
   * and bwrap reads to EOF. */
  fd = open (p->seccomp_path, O_RDONLY);
  if (fd < 0)
    _exit (126);
  /* Park every fd we keep above the fixed slots, then move into place. */
  src[0] = fcntl (p->sock, F_DUPFD, 100);
  src[1] = fcntl (fd, F_DUPFD, 100);
  src[2] = fcntl (p->passwd, F_DUPFD, 100);
  src[3] = fcntl (p->group, F_DUPFD, 100);
  if (src[0] < 0 || src[1] < 0 || src[2] < 0 || src[3] < 0)
    _exit (126);
  if (dup2 (p->devnull, 0) < 0 || dup2 (p->devnull, 1) < 0 || dup2 (p->err_w, 2) < 0)
    _exit (126);
  for (int i = 0; i < 4; i++)
    if (dup2 (src[i], FD_SOCK + i) < 0)
      _exit (126);
  close_range (FD_FIRST_FREE, ~0u, 0);

  if (p->drop) {
    if (syscall (SYS_setgroups, 0, NULL) < 0 ||
        syscall (SYS_setresgid, p->gid, p->gid, p->gid) < 0 ||
        syscall (SYS_setresuid, p->uid, p->uid, p->uid) < 0)
      _exit (126);
  }
  /* setresuid clears the parent-death signal: set it after, then make sure
   * the parent did not die in between. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != p->parent)
    _exit (126);
  execve (p->argv[0], p->argv, empty_env);
  _exit (127);
}

static int
child_main (void *data)
{
  child_exec (data);
}

#define CHILD_STACK_SIZE (256 * 1024)

/* clone(CLONE_VM | CLONE_VFORK): returns once the child has exec'd or
 * exited. Every signal is blocked around it (see child_exec). */
static pid_t
spawn_child (ChildPlan *plan)
{
  sigset_t all, old;
  pid_t pid;
  int saved;
  void *stack = mmap (NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

  if (stack == MAP_FAILED)
    return -1;
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  pid =
      clone (child_main, (char *)stack + CHILD_STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, plan);
  saved = errno;
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  munmap (stack, CHILD_STACK_SIZE);
  errno = saved;
  return pid;
}

static void
on_runtime_died (gpointer data, const char *reason)
{
  AfRuntime *rt = data;
  if (rt->died)
    rt->died (rt->died_data, reason);
}

static void
on_bwrap_exit (GPid pid, gint status, gpointer data)
{
  AfRuntimeBwrap *self = data;
  self->child_watch = 0;
  self->bwrap_pid = 0;
}

static char *
read_all_nonblocking (int fd)
{
  GString *s = g_string_new (NULL);
  char buf[1024];
  ssize_t n;

  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
  while (s->len < 4096 && (n = read (fd, buf, sizeof buf)) > 0)
    g_string_append_len (s, buf, n);
  g_strchomp (s->str);
  return g_string_free (s, FALSE);
}

static gboolean
bwrap_start (AfRuntime *rt, GError **error)
{
  AfRuntimeBwrap *self = (AfRuntimeBwrap *)rt;
  const AfSandboxConfig *cfg = rt->cfg;
  g_autofree char *bwrap = g_find_program_in_path ("bwrap");
  g_autoptr (GPtrArray) argv = NULL;
  g_autofree char *passwd = NULL, *group = NULL;
  int sv[2] = { -1, -1 }, errpipe[2] = { -1, -1 };
  int seccomp_fd = -1, passwd_fd = -1, group_fd = -1, devnull = -1;
  ChildPlan plan = { 0 };
  gboolean ok = FALSE;
  pid_t pid;

  if (bwrap == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "bwrap (bubblewrap) is not installed or not in PATH");
    return FALSE;
  }
  if (geteuid () == 0 && cfg->host_uid == 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "refusing to run a sandbox as host root: give it an unprivileged uid");
    return FALSE;
  }
  argv = build_argv (cfg, bwrap);
  passwd = g_strdup_printf ("root:x:0:0:root:/:/bin/false\n"
                            "sandbox:x:%d:%d:sandbox:" SANDBOX_HOME ":/bin/sh\n"
                            "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
                            SANDBOX_UID, SANDBOX_UID);
  group = g_strdup_printf ("root:x:0:\nsandbox:x:%d:\nnogroup:x:65534:\n", SANDBOX_UID);

  if ((seccomp_fd = af_seccomp_build_memfd (error)) < 0)
    goto out;
  if ((passwd_fd = data_memfd ("passwd", passwd, error)) < 0 ||
      (group_fd = data_memfd ("group", group, error)) < 0)
    goto out;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
      pipe2 (errpipe, O_CLOEXEC) < 0 || (devnull = open ("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "socketpair/pipe: %s", g_strerror (errno));
    goto out;
  }

  plan.cg_fds = rt->cgroup ? af_cgroup_init_fds (rt->cgroup, &plan.n_cg_fds) : NULL;
  plan.sock = sv[1];
  plan.seccomp = seccomp_fd;
  plan.passwd = passwd_fd;
  plan.group = group_fd;
  plan.devnull = devnull;
  plan.err_w = errpipe[1];
  g_snprintf (plan.seccomp_path, sizeof plan.seccomp_path, "/proc/self/fd/%d", seccomp_fd);
  plan.drop = geteuid () == 0;
  plan.uid = cfg->host_uid;
  plan.gid = cfg->host_gid;
  plan.parent = getpid ();
  plan.argv = (char *const *)argv->pdata;

  pid = spawn_child (&plan);
  if (pid < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED, "clone: %s", g_strerror (errno));
    goto out;
  }

  self->bwrap_pid = pid;
  close (sv[1]);
  sv[1] = -1;
  close (errpipe[1]);
  errpipe[1] = -1;
  self->channel = af_init_channel_new (sv[0], on_runtime_died, rt);
  sv[0] = -1;
  self->err_r = errpipe[0];
  errpipe[0] = -1;
  self->launched = TRUE;
  ok = TRUE;

out:
  for (int i = 0; i < 2; i++) {
    if (sv[i] >= 0)
      close (sv[i]);
    if (errpipe[i] >= 0)
      close (errpipe[i]);
  }
  if (seccomp_fd >= 0)
    close (seccomp_fd);
  if (passwd_fd >= 0)
    close (passwd_fd);
  if (group_fd >= 0)
    close (group_fd);
  if (devnull >= 0)
    close (devnull);
  return ok;
}

/* Wait until the init says it is ready: only then is the isolation known
 * to be built (a bwrap that fails says why on its stderr and exits). */
static gboolean
bwrap_finish_start (AfRuntime *rt, GError **error)
{
  AfRuntimeBwrap *self = (AfRuntimeBwrap *)rt;
  gboolean ok;

  g_return_val_if_fail (self->launched, FALSE);
  self->launched = FALSE;
  ok = af_init_channel_wait_ready (self->channel, READY_TIMEOUT_MS, error);
  if (!ok) {
    g_autofree char *msg = NULL;
    int status;
    kill (self->bwrap_pid, SIGKILL);
    waitpid (self->bwrap_pid, &status, 0);
    self->bwrap_pid = 0;
    g_clear_pointer (&self->channel, af_init_channel_free);
    msg = read_all_nonblocking (self->err_r);
    if (msg[0]) {
      GError *e = *error;
      *error = g_error_new (e->domain, e->code, "%s: %s", e->message, msg);
      g_error_free (e);
    }
  } else {
    self->child_watch = g_child_watch_add (self->bwrap_pid, on_bwrap_exit, self);
    if (rt->cgroup)
      af_cgroup_set_bwrap_pid (rt->cgroup, self->bwrap_pid);
    af_init_channel_attach (self->channel);
  }
  close (self->err_r);
  self->err_r = -1;
  return ok;
}

static gboolean
bwrap_spawn (AfRuntime *rt, guint64 id, const AfSpawnRequest *req, GError **error)
{
  AfRuntimeBwrap *self = (AfRuntimeBwrap *)rt;

  if (self->channel == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "the sandbox is not running");
    return FALSE;
  }
  return af_init_channel_spawn (self->channel, id, req, error);
}

static void
bwrap_kill (AfRuntime *rt)
{
  AfRuntimeBwrap *self = (AfRuntimeBwrap *)rt;

  /* bwrap's pid 1 has bwrap's death as its parent-death signal. */
  if (self->bwrap_pid > 0)
    kill (self->bwrap_pid, SIGKILL);
}

static void
bwrap_stop (AfRuntime *rt)
{
  AfRuntimeBwrap *self = (AfRuntimeBwrap *)rt;

  /* Launched, never finished (the owner gave up in between): let the
   * start end first. A bwrap killed while it builds the namespaces leaves
   * its child — the sandbox's pid 1 to be — waiting forever for a signal
   * from the dead parent; once the init is up, it goes with its socket. */
  if (self->launched) {
    g_autoptr (GError) ignored = NULL;
    bwrap_finish_start (rt, &ignored);
  }
  /* Closing the socket ends the init; as pid 1 it takes every process of
   * the sandbox with it, and bwrap exits after it. */
  if (self->channel) {
    af_init_channel_forget_all (self->channel);
    g_clear_pointer (&self->channel, af_init_channel_free);
  }
  if (self->child_watch) {
    g_source_remove (self->child_watch);
    self->child_watch = 0;
  }
  if (self->bwrap_pid > 0) {
    int status;
    /* bwrap exits on its own once its pid 1 is gone; this waits for that. */
    while (waitpid (self->bwrap_pid, &status, 0) < 0 && errno == EINTR)
      ;
    self->bwrap_pid = 0;
  }
}

static void
bwrap_free (AfRuntime *rt)
{
  AfRuntimeBwrap *self = (AfRuntimeBwrap *)rt;

  bwrap_stop (rt);
  if (self->err_r >= 0)
    close (self->err_r);
  g_free (rt);
}

static const AfRuntimeVTable bwrap_vtable = {
  .name = "bwrap",
  .start = bwrap_start,
  .finish_start = bwrap_finish_start,
  .spawn = bwrap_spawn,
  .kill = bwrap_kill,
  .stop = bwrap_stop,
  .free = bwrap_free,
};

AfRuntime *
af_runtime_bwrap_new (AfSandboxConfig *cfg, AfCgroup *cgroup)
{
  AfRuntimeBwrap *self = g_new0 (AfRuntimeBwrap, 1);
  self->parent.vtable = &bwrap_vtable;
  self->parent.cfg = cfg;
  self->parent.cgroup = cgroup;
  self->err_r = -1;
  return &self->parent;
}
