/* relay.c — see relay.h. Blocking I/O on a thread: the destination may be a
 * slow reader, and blocking there must not stall the main loop. Threads
 * come from a shared pool without a limit (a relay may block for a whole
 * command, so a bounded pool could starve): a command reuses the threads
 * of the last one instead of creating, and later unmapping, two stacks. */
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
  GMutex lock;
  GCond cond;
  gboolean finished; /* under lock: the pool's thread is done with us */
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

static void
relay_run (gpointer data, gpointer unused)
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
  g_mutex_lock (&r->lock);
  r->finished = TRUE;
  g_cond_signal (&r->cond);
  g_mutex_unlock (&r->lock);
}

static gpointer
relay_thread (gpointer data)
{
  relay_run (data, NULL);
  return NULL;
}

static GThreadPool *
relay_pool (void)
{
  static GThreadPool *pool;
  if (g_once_init_enter (&pool)) {
    /* Unlimited and shared: cannot fail to be made. */
    GThreadPool *p = g_thread_pool_new (relay_run, NULL, -1, FALSE, NULL);
    g_once_init_leave (&pool, p);
  }
  return pool;
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
  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  if (!g_thread_pool_push (relay_pool (), r, NULL))
    g_thread_unref (g_thread_new ("af-relay", relay_thread, r));
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

  g_mutex_lock (&relay->lock);
  while (!relay->finished)
    g_cond_wait (&relay->cond, &relay->lock);
  g_mutex_unlock (&relay->lock);
  g_mutex_clear (&relay->lock);
  g_cond_clear (&relay->cond);
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
