/* afd-fd-watch.c — see afd-fd-watch.h. */
#include "afd-fd-watch.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <glib-unix.h>

struct _AfdFdWatch {
  int fd;
  GSourceFunc func;
  gpointer data;
  guint source; /* fallback when no epoll set could be made */
};

static int watch_epfd = -1;

/* One ready watch per dispatch: a callback may remove another watch (an
 * Exec's end removes both of its pipes), which must not be touched from a
 * list read before. The set stays readable while more are ready. */
static gboolean
on_epoll (gint fd, GIOCondition cond, gpointer unused)
{
  struct epoll_event ev;
  int n;

  do
    n = epoll_wait (watch_epfd, &ev, 1, 0);
  while (n < 0 && errno == EINTR);
  if (n == 1) {
    AfdFdWatch *w = ev.data.ptr;
    w->func (w->data); /* @w may be gone after this */
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_source (gint fd, GIOCondition cond, gpointer data)
{
  AfdFdWatch *w = data;
  w->func (w->data);
  return G_SOURCE_CONTINUE;
}

static gboolean
ensure_set (void)
{
  if (watch_epfd >= 0)
    return TRUE;
  int epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (epfd < 0)
    return FALSE;
  watch_epfd = epfd;
  g_autoptr (GSource) src = g_unix_fd_source_new (epfd, G_IO_IN);
  g_source_set_callback (src, (GSourceFunc)(void (*) (void))on_epoll, NULL, NULL);
  /* Not blocked while it dispatches: GLib 2.74 blocks a source by taking
   * its fds out of the poll set and putting them back, and each of the two
   * wakes the context (an extra loop iteration per dispatch). The pumps it
   * calls never iterate the context, so nothing re-enters. */
  g_source_set_can_recurse (src, TRUE);
  g_source_attach (src, g_main_context_default ());
  return TRUE;
}

AfdFdWatch *
afd_fd_watch_add (int fd, GSourceFunc func, gpointer data)
{
  AfdFdWatch *w = g_new0 (AfdFdWatch, 1);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

  w->fd = fd;
  w->func = func;
  w->data = data;
  if (!ensure_set () || epoll_ctl (watch_epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    g_autoptr (GSource) src = g_unix_fd_source_new (fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback (src, (GSourceFunc)(void (*) (void))on_source, w, NULL);
    w->source = g_source_attach (src, g_main_context_default ());
  }
  return w;
}

void
afd_fd_watch_remove (AfdFdWatch *w)
{
  if (w == NULL)
    return;
  if (w->source)
    g_source_remove (w->source);
  else
    epoll_ctl (watch_epfd, EPOLL_CTL_DEL, w->fd, NULL);
  g_free (w);
}
