/* afd-fd-watch.h — readability watches for the pipes of running commands,
 * without a GLib source each.
 *
 * Owns: one epoll set on the default main context, watched by a single
 * GSource for the life of the process. Adding or removing a GLib fd source
 * wakes the main context and makes it rebuild its poll set; every Exec
 * added and removed two (stdout, stderr). An epoll_ctl does neither.
 * Must never: be used off the default context's thread, or call back
 * after remove. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _AfdFdWatch AfdFdWatch;

/* Call @func(@data) whenever @fd is readable or hung up (level-triggered)
 * until removed. @func may remove this watch or any other. */
AfdFdWatch *afd_fd_watch_add (int fd, GSourceFunc func, gpointer data);
/* NULL is ignored. Before the fd is closed. */
void afd_fd_watch_remove (AfdFdWatch *w);

G_END_DECLS
