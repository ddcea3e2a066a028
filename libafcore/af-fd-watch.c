/* af-fd-watch.c — see af-fd-watch.h. */
#include "af-fd-watch.h"

#include <errno.h>
#include <sys/epoll.h>

#include <glib-unix.h>

struct _AfFdWatch {
  int fd;
  GSourceFunc func;
  GUnixFDSourceFunc cond_func; /* instead of func: told what the fd showed */
  gpointer data;
  gboolean once;
  GSource *source; /* the fallback: a GLib source of its own, on its context */
};

static int watch_epfd = -1;

static void
call (AfFdWatch *w, GIOCondition cond)
{
  if (w->cond_func)
    w->cond_func (w->fd, cond, w->data);
  else
    w->func (w->data);
}

static GIOCondition
condition_of (guint32 events)
{
  guint cond = 0;

  if (events & EPOLLIN)
    cond |= G_IO_IN;
  if (events & EPOLLHUP)
    cond |= G_IO_HUP;
  if (events & EPOLLERR)
    cond |= G_IO_ERR;
  return (GIOCondition)cond;
}

/* One ready watch per dispatch: a callback may remove another watch, which
 * must not then be touched from a list read before it. The set stays
 * readable while more are ready, so the next iteration takes the next. */
static gboolean
on_epoll (gint fd, GIOCondition cond, gpointer unused)
{
  struct epoll_event ev;
  int n;

  do
    n = epoll_wait (watch_epfd, &ev, 1, 0);
  while (n < 0 && errno == EINTR);
  if (n == 1) {
    AfFdWatch *w = ev.data.ptr;
    if (w->once) {
      epoll_ctl (watch_epfd, EPOLL_CTL_DEL, w->fd, NULL);
      call (w, condition_of (ev.events));
      g_free (w);
    } else {
      call (w, condition_of (ev.events)); /* @w may be gone after this */
    }
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_source (gint fd, GIOCondition cond, gpointer data)
{
  AfFdWatch *w = data;
  if (!w->once) {
    call (w, cond); /* may remove the watch: then GLib drops the source */
    return G_SOURCE_CONTINUE;
  }
  g_clear_pointer (&w->source, g_source_unref); /* GLib destroys it on return */
  call (w, cond);
  g_free (w);
  return G_SOURCE_REMOVE;
}

/* Into the default context's epoll set; FALSE when the caller's context is
 * another one or the set cannot be had. */
static gboolean
add_to_epoll (AfFdWatch *w)
{
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };
  GMainContext *ctx = g_main_context_get_thread_default (); /* NULL: the default */

  if (ctx != NULL && ctx != g_main_context_default ())
    return FALSE;
  if (watch_epfd < 0) {
    g_autoptr (GSource) src = NULL;
    int epfd = epoll_create1 (EPOLL_CLOEXEC);
    if (epfd < 0)
      return FALSE;
    watch_epfd = epfd;
    src = g_unix_fd_source_new (epfd, G_IO_IN);
    g_source_set_callback (src, (GSourceFunc)(void (*) (void))on_epoll, NULL, NULL);
    /* Not blocked while it dispatches: GLib 2.74 blocks a source by taking
     * its fds out of the poll set and putting them back, and each of the
     * two wakes the context (an extra loop iteration per dispatch). The
     * callbacks never iterate the context, so nothing re-enters. */
    g_source_set_can_recurse (src, TRUE);
    g_source_attach (src, g_main_context_default ());
  }
  return epoll_ctl (watch_epfd, EPOLL_CTL_ADD, w->fd, &ev) == 0;
}

static AfFdWatch *
watch_new (int fd, GSourceFunc func, GUnixFDSourceFunc cond_func, gpointer data, gboolean once)
{
  AfFdWatch *w = g_new0 (AfFdWatch, 1);

  w->fd = fd;
  w->func = func;
  w->cond_func = cond_func;
  w->data = data;
  w->once = once;
  if (!add_to_epoll (w)) {
    w->source = g_unix_fd_source_new (fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback (w->source, (GSourceFunc)(void (*) (void))on_source, w, NULL);
    /* Destroyed through the pointer, not an id: g_source_remove () looks
     * ids up in the global default context only. */
    g_source_attach (w->source, g_main_context_get_thread_default ());
  }
  return w;
}

AfFdWatch *
af_fd_watch_add (int fd, GSourceFunc func, gpointer data)
{
  return watch_new (fd, func, NULL, data, FALSE);
}

AfFdWatch *
af_fd_watch_once (int fd, GSourceFunc func, gpointer data)
{
  return watch_new (fd, func, NULL, data, TRUE);
}

AfFdWatch *
af_fd_watch_once_cond (int fd, GUnixFDSourceFunc func, gpointer data)
{
  return watch_new (fd, NULL, func, data, TRUE);
}

void
af_fd_watch_remove (AfFdWatch *w)
{
  if (w == NULL)
    return;
  if (w->source) {
    g_source_destroy (w->source);
    g_source_unref (w->source);
  } else
    epoll_ctl (watch_epfd, EPOLL_CTL_DEL, w->fd, NULL);
  g_free (w);
}
