/* relay.c — see relay.h. Blocking I/O on a thread: the destination may be a
 * slow reader, and blocking there must not stall the main loop. Threads
 * come from a shared pool without a limit (a relay may block for a whole
 * command, so a bounded pool could starve): a command reuses the threads
 * of the last one instead of creating, and later unmapping, two stacks.
 *
 * A stream only gets its thread once it has something to say: until then
 * the caller's main context watches the pipe (af-fd-watch: on the default
 * context, an epoll_ctl rather than a GLib source). Most commands print nothing
 * on stderr and many nothing at all; for those no thread wakes, and the
 * end (EOF, or what is left after drain_and_stop) is read in the caller's
 * thread at join. The first chunk pays one hand-off, well inside the
 * 20 ms a printed line may take to reach the consumer. */
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "af-fd-watch.h"

#define RELAY_BUF (64 * 1024)

struct _AfRelay {
  int src, dst, stop_fd; /* stop_fd: -1 until a thread owns the relay */
  gint64 cap, forwarded;
  gboolean truncated, dst_broken;
  /* Owner's thread only: the watch while no thread has the relay. */
  AfFdWatch *watch;
  gboolean handed;         /* a pool thread owns the reading */
  gboolean stop_requested; /* drain_and_stop came before any hand-off */
  gboolean at_eof;         /* seen closed and empty: nothing left to read */
  GMutex lock;
  GCond cond;
  gboolean finished; /* under lock: the pool's thread is done with us */
  /* Under lock: af_relay_when_finished's callback, run on its context. */
  GSourceFunc notify;
  gpointer notify_data;
  GMainContext *notify_ctx;
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

/* Read @r->src until EOF — or, once @draining, until it has nothing more
 * right now — forwarding as it goes. On a thread (a stop_fd exists), a
 * write to stop_fd turns draining on. Every read follows a poll that saw
 * the pipe readable, so the fd's blocking mode never matters (a session's
 * pipe is shared by its commands) and no fcntl is needed. */
static void
relay_loop (AfRelay *r, gboolean draining)
{
  char *buf = g_malloc (RELAY_BUF);
  gboolean threaded = r->stop_fd >= 0;

  for (;;) {
    struct pollfd pfd[2] = { { r->src, POLLIN, 0 }, { r->stop_fd, POLLIN, 0 } };
    gboolean watch_stop = threaded && !draining;
    int rc = poll (pfd, watch_stop ? 2 : 1, draining ? 0 : -1);
    gssize n;

    if (rc < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (watch_stop && (pfd[1].revents & POLLIN)) {
      draining = TRUE; /* take what is there, then stop */
      continue;
    }
    if (rc == 0)
      break; /* drained: nothing more right now */
    if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
      continue;
    n = read (r->src, buf, RELAY_BUF);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; /* EOF */
    forward (r, buf, n);
  }
  g_free (buf);
}

static void
relay_run (gpointer data, gpointer unused)
{
  AfRelay *r = data;

  GSourceFunc notify;
  gpointer notify_data;
  GMainContext *notify_ctx;

  relay_loop (r, FALSE);
  g_mutex_lock (&r->lock);
  r->finished = TRUE;
  notify = r->notify;
  notify_data = r->notify_data;
  notify_ctx = g_steal_pointer (&r->notify_ctx);
  g_cond_signal (&r->cond);
  g_mutex_unlock (&r->lock);
  /* The owner may free @r as soon as the lock is released: locals only. */
  if (notify) {
    g_autoptr (GSource) src = g_idle_source_new ();
    g_source_set_callback (src, notify, notify_data, NULL);
    g_source_attach (src, notify_ctx);
    g_main_context_unref (notify_ctx);
  }
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

static void signal_stop (AfRelay *relay);

static void
hand_off (AfRelay *r)
{
  r->handed = TRUE;
  r->stop_fd = eventfd (0, EFD_CLOEXEC);
  /* Asked to stop already (a session's pipe stays open after its command):
   * the thread drains what is there and ends, never waits for EOF. */
  if (r->stop_requested)
    signal_stop (r);
  if (!g_thread_pool_push (relay_pool (), r, NULL))
    g_thread_unref (g_thread_new ("af-relay", relay_thread, r));
}

/* The pipe showed something for the first time (a once-watch, now gone). */
static gboolean
on_first_sight (gint fd, GIOCondition cond, gpointer data)
{
  AfRelay *r = data;

  r->watch = NULL;
  /* A thread reads it from now on; HUP alone is EOF with nothing to
   * forward, which join finishes inline. */
  if (cond & G_IO_IN)
    hand_off (r);
  return G_SOURCE_REMOVE;
}

AfRelay *
af_relay_start (int src, int dst, gint64 cap)
{
  AfRelay *r = g_new0 (AfRelay, 1);
  r->src = src;
  r->dst = dst;
  r->cap = cap;
  r->stop_fd = -1;
  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  r->watch = af_fd_watch_once_cond (src, on_first_sight, r);
  return r;
}

static void
unwatch (AfRelay *relay)
{
  g_clear_pointer (&relay->watch, af_fd_watch_remove);
}

static void
signal_stop (AfRelay *relay)
{
  guint64 one = 1;
  if (write (relay->stop_fd, &one, sizeof one) < 0)
    g_warn_if_reached ();
}

void
af_relay_drain_and_stop (AfRelay *relay)
{
  relay->stop_requested = TRUE;
  if (relay->handed)
    signal_stop (relay);
}

gboolean
af_relay_when_finished (AfRelay *relay, GSourceFunc func, gpointer data)
{
  gboolean done;

  if (!relay->handed) {
    struct pollfd pfd = { relay->src, POLLIN, 0 };
    /* Bytes that came since the last look go to a thread too: forwarding
     * them here could block the main loop on a consumer that reads slowly,
     * and with it every other command of the sandbox. */
    unwatch (relay);
    if (poll (&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN)) {
      /* EOF (HUP, no data: nothing left to read) or nothing right now:
       * join finishes it without blocking. Out of the watch, so bytes a
       * session's background job writes meanwhile wait for join (which
       * takes what is there) instead of starting a thread. */
      relay->at_eof = (pfd.revents & POLLHUP) != 0;
      return TRUE;
    }
    hand_off (relay);
  }
  g_mutex_lock (&relay->lock);
  done = relay->finished;
  if (!done) {
    relay->notify = func;
    relay->notify_data = data;
    relay->notify_ctx = g_main_context_ref_thread_default ();
  }
  g_mutex_unlock (&relay->lock);
  return done;
}

int
af_relay_join_keep_source (AfRelay *relay, gint64 *forwarded, gboolean *truncated)
{
  int src;

  if (!relay->handed) {
    /* No thread ever took it: finish here (drain, or read to EOF). */
    unwatch (relay);
    if (!relay->at_eof)
      relay_loop (relay, relay->stop_requested);
    relay->finished = TRUE;
  }
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
  if (relay->stop_fd >= 0)
    close (relay->stop_fd);
  g_free (relay);
  return src;
}

void
af_relay_join (AfRelay *relay, gint64 *forwarded, gboolean *truncated)
{
  close (af_relay_join_keep_source (relay, forwarded, truncated));
}
