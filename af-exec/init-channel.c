/* init-channel.c — see init-channel.h. */
#define _GNU_SOURCE
#include "init-channel.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "af-error.h"
#include "init/af-init-proto.h"

typedef struct {
  AfSpawnedFunc spawned;
  AfExitedFunc exited;
  gpointer data;
  gboolean started;
} Pending;

struct _AfInitChannel {
  int sock;
  guint watch;
  GHashTable *pending; /* guint64 id → Pending */
  AfRuntimeDiedFunc died;
  gpointer died_data;
  gboolean dead;
};

/* Spawn errors need the cwd and argv[0] for their message; keep them. */
typedef struct {
  Pending p;
  char *cwd, *arg0;
} PendingSpawn;

static guint
id_hash (gconstpointer v)
{
  return g_int64_hash (v);
}

static void
pending_spawn_free (gpointer data)
{
  PendingSpawn *ps = data;
  g_free (ps->cwd);
  g_free (ps->arg0);
  g_free (ps);
}

AfInitChannel *
af_init_channel_new (int sock, AfRuntimeDiedFunc died, gpointer died_data)
{
  AfInitChannel *ch = g_new0 (AfInitChannel, 1);
  ch->sock = sock;
  ch->pending = g_hash_table_new_full (id_hash, g_int64_equal, g_free, pending_spawn_free);
  ch->died = died;
  ch->died_data = died_data;
  return ch;
}

void
af_init_channel_forget_all (AfInitChannel *ch)
{
  g_hash_table_remove_all (ch->pending);
}

void
af_init_channel_free (AfInitChannel *ch)
{
  if (ch == NULL)
    return;
  if (ch->watch)
    g_source_remove (ch->watch);
  if (ch->sock >= 0)
    close (ch->sock);
  g_hash_table_unref (ch->pending);
  g_free (ch);
}

gboolean
af_init_channel_wait_ready (AfInitChannel *ch, int timeout_ms, GError **error)
{
  struct pollfd pfd = { ch->sock, POLLIN, 0 };
  AfInitHeader hdr;
  ssize_t n;
  int rc;

  do
    rc = poll (&pfd, 1, timeout_ms);
  while (rc < 0 && errno == EINTR);
  if (rc == 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_DEADLINE_EXCEEDED,
                 "the sandbox's init did not answer within %d ms", timeout_ms);
    return FALSE;
  }
  n = recv (ch->sock, &hdr, sizeof hdr, 0);
  if (n != sizeof hdr || hdr.magic != AF_INIT_MAGIC || hdr.op != AF_INIT_OP_READY) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE,
                 n == 0 ? "the sandbox exited before its init started"
                        : "the sandbox's init sent an unexpected first message");
    return FALSE;
  }
  return TRUE;
}

static void
die (AfInitChannel *ch, const char *reason)
{
  g_autoptr (GHashTable) pending = NULL;
  GHashTableIter iter;
  gpointer value;

  if (ch->dead)
    return;
  ch->dead = TRUE;
  /* Fail what is in flight: not-yet-started spawns get an error, running
   * commands an exit by SIGKILL (the pid namespace took them down). */
  pending = g_steal_pointer (&ch->pending);
  ch->pending = g_hash_table_new_full (id_hash, g_int64_equal, g_free, pending_spawn_free);
  g_hash_table_iter_init (&iter, pending);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    Pending *p = value;
    if (!p->started) {
      g_autoptr (GError) e = g_error_new (AF_ERROR, AF_ERROR_UNAVAILABLE, "%s", reason);
      p->spawned (p->data, 0, e);
    } else {
      p->exited (p->data, SIGKILL);
    }
  }
  if (ch->died)
    ch->died (ch->died_data, reason);
}

static GError *
spawn_error (const AfInitSpawned *r, const char *cwd, const char *arg0)
{
  int code = AF_ERROR_INTERNAL;
  const char *what = "the sandbox's init";

  switch (r->stage) {
  case AF_INIT_STAGE_CHDIR:
    return g_error_new (AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                        "working directory %s does not exist inside the sandbox: %s", cwd,
                        g_strerror (r->error));
  case AF_INIT_STAGE_EXEC:
    return g_error_new (AF_ERROR,
                        r->error == ENOENT ? AF_ERROR_NOT_FOUND : AF_ERROR_PERMISSION_DENIED,
                        "cannot run %s inside the sandbox: %s", arg0, g_strerror (r->error));
  case AF_INIT_STAGE_FORK:
    code = AF_ERROR_RESOURCE_EXHAUSTED;
    what = "starting a process (pids limit reached?)";
    break;
  case AF_INIT_STAGE_CGROUP:
    what = "joining the command's cgroup";
    break;
  case AF_INIT_STAGE_REQUEST:
  default:
    what = "the request";
    break;
  }
  return g_error_new (AF_ERROR, code, "%s failed: %s", what, g_strerror (r->error));
}

static gboolean
on_socket (gint fd, GIOCondition cond, gpointer user_data)
{
  AfInitChannel *ch = user_data;
  union {
    AfInitHeader hdr;
    AfInitSpawned spawned;
    AfInitExited exited;
  } m;
  ssize_t n;

  for (;;) {
    Pending *p;

    n = recv (ch->sock, &m, sizeof m, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return G_SOURCE_CONTINUE;
    if (n <= 0) {
      ch->watch = 0;
      die (ch, "the sandbox's init exited");
      return G_SOURCE_REMOVE;
    }
    if ((size_t)n < sizeof m.hdr || m.hdr.magic != AF_INIT_MAGIC) {
      ch->watch = 0;
      die (ch, "the sandbox's init sent a malformed message");
      return G_SOURCE_REMOVE;
    }
    p = g_hash_table_lookup (ch->pending, &m.hdr.id);
    if (p == NULL)
      continue; /* forgotten by its owner */
    if (m.hdr.op == AF_INIT_OP_SPAWNED && (size_t)n >= sizeof m.spawned) {
      PendingSpawn *ps = (PendingSpawn *)p;
      if (m.spawned.error != 0 || m.spawned.pid <= 0) {
        g_autoptr (GError) e = spawn_error (&m.spawned, ps->cwd, ps->arg0);
        AfSpawnedFunc cb = p->spawned;
        gpointer data = p->data;
        g_hash_table_remove (ch->pending, &m.hdr.id);
        cb (data, 0, e);
      } else {
        p->started = TRUE;
        p->spawned (p->data, m.spawned.pid, NULL);
      }
    } else if (m.hdr.op == AF_INIT_OP_EXITED && (size_t)n >= sizeof m.exited) {
      AfExitedFunc cb = p->exited;
      gpointer data = p->data;
      g_hash_table_remove (ch->pending, &m.hdr.id);
      cb (data, m.exited.status);
    }
  }
}

void
af_init_channel_attach (AfInitChannel *ch)
{
  g_autoptr (GSource) src = g_unix_fd_source_new (ch->sock, G_IO_IN | G_IO_HUP | G_IO_ERR);
  g_source_set_callback (src, (GSourceFunc)(void (*) (void))on_socket, ch, NULL);
  /* Not blocked while it dispatches: GLib 2.74 blocks a source by taking
   * its fds out of the poll set and back, and each of the two wakes the
   * context — one extra loop iteration (a poll, two eventfd writes and a
   * read) for every message of the init. on_socket never iterates the
   * context, so it cannot be entered twice. */
  g_source_set_can_recurse (src, TRUE);
  ch->watch = g_source_attach (src, NULL);
}

gboolean
af_init_channel_spawn (AfInitChannel *ch, guint64 id, const AfSpawnRequest *req, GError **error)
{
  g_autoptr (GByteArray) msg = g_byte_array_sized_new (4096);
  AfInitSpawn hdr = { { AF_INIT_MAGIC, AF_INIT_OP_SPAWN, id }, 0, 0, 0, 0 };
  int fds[AF_INIT_MAX_FDS];
  int n_fds = 0, n_cg = 0;
  const int *cg_fds = NULL;
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE (sizeof (int) * AF_INIT_MAX_FDS)];
  } cbuf;
  struct iovec iov;
  struct msghdr mh = { 0 };
  struct cmsghdr *cmsg;
  PendingSpawn *ps;
  guint64 *key;
  ssize_t n;

  if (ch->dead) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "the sandbox is not running");
    return FALSE;
  }
  for (const char *const *a = req->argv; *a; a++)
    hdr.n_argv++;
  for (const char *const *e = req->envp; *e; e++)
    hdr.n_env++;
  if (req->cgroup)
    cg_fds = af_cgroup_cmd_fds (req->cgroup, &n_cg);
  hdr.n_cgroup_fds = (guint32)n_cg;
  hdr.flags = (req->status_fd >= 0 ? AF_INIT_SPAWN_STATUS_FD : 0) |
              (req->shell_errors ? AF_INIT_SPAWN_SHELL_ERRORS : 0) |
              (req->cgroup && af_cgroup_cmd_needs_reaper (req->cgroup) ? AF_INIT_SPAWN_REAPER : 0);

  g_byte_array_append (msg, (const guint8 *)&hdr, sizeof hdr);
  g_byte_array_append (msg, (const guint8 *)req->cwd, strlen (req->cwd) + 1);
  for (const char *const *a = req->argv; *a; a++)
    g_byte_array_append (msg, (const guint8 *)*a, strlen (*a) + 1);
  for (const char *const *e = req->envp; *e; e++)
    g_byte_array_append (msg, (const guint8 *)*e, strlen (*e) + 1);
  if (msg->len > AF_INIT_MAX_MSG) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "command, environment and workdir take %u bytes; the limit is %u", msg->len,
                 (guint)AF_INIT_MAX_MSG);
    return FALSE;
  }

  fds[n_fds++] = req->stdin_fd;
  fds[n_fds++] = req->stdout_fd;
  fds[n_fds++] = req->stderr_fd;
  if (req->status_fd >= 0)
    fds[n_fds++] = req->status_fd;
  for (int i = 0; i < n_cg && n_fds < AF_INIT_MAX_FDS; i++)
    fds[n_fds++] = cg_fds[i];

  iov.iov_base = msg->data;
  iov.iov_len = msg->len;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf.buf;
  mh.msg_controllen = CMSG_SPACE (sizeof (int) * (size_t)n_fds);
  cmsg = CMSG_FIRSTHDR (&mh);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int) * (size_t)n_fds);
  memcpy (CMSG_DATA (cmsg), fds, sizeof (int) * (size_t)n_fds);

  do
    n = sendmsg (ch->sock, &mh, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t)msg->len) {
    int saved = errno;
    g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE, "cannot reach the sandbox's init: %s",
                 n < 0 ? g_strerror (saved) : "short send");
    return FALSE;
  }

  ps = g_new0 (PendingSpawn, 1);
  ps->p.spawned = req->spawned;
  ps->p.exited = req->exited;
  ps->p.data = req->data;
  ps->cwd = g_strdup (req->cwd);
  ps->arg0 = g_strdup (req->argv[0]);
  key = g_new (guint64, 1);
  *key = id;
  g_hash_table_insert (ch->pending, key, ps);
  return TRUE;
}
