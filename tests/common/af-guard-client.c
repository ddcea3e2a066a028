/* af-guard-client.c — see af-guard-client.h. Blocks on the guard's socket
 * (one reply per request, exit reports in between are kept), never polls. */
#define _GNU_SOURCE
#include "af-guard-client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FDS 16

struct _AfGuard {
  GMutex lock;        /* guards everything below */
  int sock;           /* our end; close-on-exec */
  GPid pid;           /* the guard */
  GHashTable *exited; /* pid → wait status, reported and not yet waited for */
};

const char *
af_guard_binary (void)
{
  const char *b = g_getenv ("AF_TEST_GUARD");
  return b != NULL ? b : AF_TEST_GUARD_PATH;
}

AfGuard *
af_guard_new (const char *dir, const char *const *envp)
{
  g_autoptr (GError) error = NULL;
  int sv[2];
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ==, 0);
  g_autofree char *dir_arg = g_strdup_printf ("--dir=%s", dir);
  const char *argv[] = { af_guard_binary (), dir_arg, "--control-fd=3", NULL };
  int source[] = { sv[1] };
  int target[] = { 3 };
  AfGuard *g = g_new0 (AfGuard, 1);
  g_mutex_init (&g->lock);
  /* Not reaped by GLib: af_guard_close waits for it. No death signal: it
   * must outlive the test to clean up after it. */
  g_spawn_async_with_pipes_and_fds (NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, -1, -1,
                                    -1, source, target, 1, &g->pid, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  close (sv[1]);
  g->sock = sv[0];
  g->exited = g_hash_table_new (NULL, NULL);
  return g;
}

/* One message from the guard into @buf (NUL-terminated); FALSE at EOF. */
static gboolean
recv_msg (AfGuard *g, char *buf, gsize size)
{
  for (;;) {
    ssize_t n = recv (g->sock, buf, size - 1, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    buf[n] = '\0';
    return TRUE;
  }
}

/* Keeps an exit report; returns TRUE if @buf was one. */
static gboolean
note_exit (AfGuard *g, const char *buf)
{
  int pid, status;
  if (sscanf (buf, "X %d %d", &pid, &status) != 2)
    return FALSE;
  g_hash_table_insert (g->exited, GINT_TO_POINTER (pid), GINT_TO_POINTER (status));
  return TRUE;
}

GPid
af_guard_spawn (AfGuard *g, const char *const *argv, const int *fds, guint n_fds, GError **error)
{
  g_assert_cmpuint (n_fds, >=, 3);
  g_assert_cmpuint (n_fds, <=, MAX_FDS);
  g_autoptr (GByteArray) msg = g_byte_array_new ();
  g_byte_array_append (msg, (const guint8 *)"S", 1);
  for (gsize i = 0; argv[i] != NULL; i++)
    g_byte_array_append (msg, (const guint8 *)argv[i], strlen (argv[i]) + 1);

  int null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  g_assert_cmpint (null_fd, >=, 0);
  int send_fds[MAX_FDS];
  for (guint i = 0; i < n_fds; i++)
    send_fds[i] = fds[i] >= 0 ? fds[i] : null_fd;
  union {
    char buf[CMSG_SPACE (MAX_FDS * sizeof (int))];
    struct cmsghdr align;
  } cbuf;
  memset (&cbuf, 0, sizeof cbuf);
  struct iovec iov = { .iov_base = msg->data, .iov_len = msg->len };
  struct msghdr mh = { .msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = cbuf.buf,
                       .msg_controllen = CMSG_SPACE (n_fds * sizeof (int)) };
  struct cmsghdr *c = CMSG_FIRSTHDR (&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (n_fds * sizeof (int));
  memcpy (CMSG_DATA (c), send_fds, n_fds * sizeof (int));

  g_mutex_lock (&g->lock);
  ssize_t sent;
  do
    sent = sendmsg (g->sock, &mh, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  int saved = errno;
  close (null_fd);
  GPid pid = 0;
  char buf[128];
  if (sent < 0) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "guard: %s", g_strerror (saved));
  } else {
    for (;;) {
      if (!recv_msg (g, buf, sizeof buf)) {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "guard: gone");
        break;
      }
      if (note_exit (g, buf))
        continue;
      int v;
      if (sscanf (buf, "P %d", &v) == 1) {
        pid = v;
      } else {
        v = 0;
        sscanf (buf, "E %d", &v);
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (v), "guard cannot start %s: %s",
                     argv[0], g_strerror (v));
      }
      break;
    }
  }
  g_mutex_unlock (&g->lock);
  return pid;
}

int
af_guard_wait (AfGuard *g, GPid pid)
{
  g_mutex_lock (&g->lock);
  gpointer status;
  while (!g_hash_table_lookup_extended (g->exited, GINT_TO_POINTER (pid), NULL, &status)) {
    char buf[128];
    if (!recv_msg (g, buf, sizeof buf))
      g_error ("af-test-guard ended while waiting for pid %d", (int)pid);
    note_exit (g, buf);
  }
  g_hash_table_remove (g->exited, GINT_TO_POINTER (pid));
  g_mutex_unlock (&g->lock);
  return GPOINTER_TO_INT (status);
}

gboolean
af_guard_has_exited (AfGuard *g, GPid pid)
{
  g_mutex_lock (&g->lock);
  char buf[128];
  while (recv (g->sock, buf, 0, MSG_DONTWAIT | MSG_PEEK) >= 0 && recv_msg (g, buf, sizeof buf))
    note_exit (g, buf);
  gboolean gone = g_hash_table_contains (g->exited, GINT_TO_POINTER (pid));
  g_mutex_unlock (&g->lock);
  return gone;
}

int
af_guard_close (AfGuard *g)
{
  close (g->sock);
  int status = 0;
  while (waitpid (g->pid, &status, 0) < 0 && errno == EINTR)
    ;
  g_spawn_close_pid (g->pid);
  g_hash_table_unref (g->exited);
  g_mutex_clear (&g->lock);
  g_free (g);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}
