/* fd-watch.h — watch a per-command fd (a caller's lifeline) without
 * adding a GLib source for it.
 *
 * Owns: one epoll set of the default main context, watched by a single
 * GSource that lives as long as the process. Adding or removing a GLib fd
 * source wakes the context and makes it rebuild its poll set — twice per
 * command for a watch that lives as long as the command; an epoll_ctl does
 * neither. Other contexts (tests that run a sandbox on their own context)
 * get a plain GLib fd source. Must never: be used from any thread but the
 * one that runs the watch's context, or call back after remove. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _AfFdWatch AfFdWatch;

/* Call @func(@data) once when @fd is readable or hung up; the watch is
 * then finished (do not remove it, it is gone). On the thread-default main
 * context. */
AfFdWatch *af_fd_watch_once (int fd, GSourceFunc func, gpointer data);

/* Stop watching before it fired (NULL is ignored). */
void af_fd_watch_remove (AfFdWatch *w);

G_END_DECLS
