/* relay.c — see relay.h. Blocking I/O on a thread: the destination may be a
 * slow reader, and blocking there must not stall the main loop. */
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <glib-unix.h>

#define RELAY_BUF (64 * 1024)

struct _AfRelay {
  int src, dst, stop_fd;
  gint64 cap, forwarded;
  gboolean truncated, dst_broken;
  GThread *thread;
};

static void
forward (AfRelay *r, const char *buf, gssize n)
{
  gssize keep = n;

  if (r->cap > 0 && r->forwarded + n > r->cap) {
    keep = r->cap - r->forwarded;
    r->truncated = TRUE;
  }
  /* A consumer that went away must not stop the command: drop the rest. */
  for (gssize off = 0; off < keep && !r->dst_broken;) {
    gssize w = write (r->dst, buf + off, (size_t)(keep - off));
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      r->dst_broken = TRUE;
      break;
    }
    off += w;
  }
  r->forwarded += keep;
}

static gpointer
relay_thread (gpointer data)
{
  AfRelay *r = data;
  char *buf = g_malloc (RELAY_BUF);
  gboolean draining = FALSE;

  for (;;) {
    gssize n;

    if (!draining) {
      struct pollfd pfd[2] = { { r->src, POLLIN, 0 }, { r->stop_fd, POLLIN, 0 } };
      if (poll (pfd, 2, -1) < 0) {
        if (errno == EINTR)
          continue;
        break;
      }
      if (pfd[1].revents & POLLIN) {
        draining = TRUE; /* take what is there, then stop */
        g_unix_set_fd_nonblocking (r->src, TRUE, NULL);
      }
      if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) && !draining)
        continue;
    }
    n = read (r->src, buf, RELAY_BUF);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; /* EOF, or drained (EAGAIN) */
    forward (r, buf, n);
  }
  g_free (buf);
  return NULL;
}

AfRelay *
af_relay_start (int src, int dst, gint64 cap)
{
  AfRelay *r = g_new0 (AfRelay, 1);
  /* A session's pipe comes back non-blocking from its last drain. */
  g_unix_set_fd_nonblocking (src, FALSE, NULL);
  r->src = src;
  r->dst = dst;
  r->cap = cap;
  r->stop_fd = eventfd (0, EFD_CLOEXEC);
  r->thread = g_thread_new ("af-relay", relay_thread, r);
  return r;
}

void
af_relay_drain_and_stop (AfRelay *relay)
{
  guint64 one = 1;
  if (write (relay->stop_fd, &one, sizeof one) < 0)
    g_warn_if_reached ();
}

int
af_relay_join_keep_source (AfRelay *relay, gint64 *forwarded, gboolean *truncated)
{
  int src;

  g_thread_join (relay->thread);
  if (forwarded)
    *forwarded = relay->forwarded;
  if (truncated)
    *truncated = relay->truncated;
  src = relay->src;
  close (relay->stop_fd);
  g_free (relay);
  return src;
}

void
af_relay_join (AfRelay *relay, gint64 *forwarded, gboolean *truncated)
{
  close (af_relay_join_keep_source (relay, forwarded, truncated));
}
