/* af-fd-watch.h — readability watches for short-lived fds (a running
 * command's pipes, a caller's lifeline) without a GLib source each.
 *
 * Adding or removing a GLib fd source wakes its main context and makes it
 * rebuild its poll set; a process that adds and removes several per
 * command pays that on every command. Here the watches of the default main
 * context share one epoll set, watched by a single GSource for the life of
 * the process: adding or removing a watch is an epoll_ctl, nothing more.
 * On another thread-default context (tests running a component on its
 * own), or if no epoll set can be made, a watch is a plain GLib fd source
 * on that context, with the same behaviour.
 *
 * Owns: the process's epoll set and its GSource. Must never: be used from
 * a thread other than the one running the watch's context, or call back
 * after a watch is removed. */
#pragma once

#include <glib-unix.h>
#include <glib.h>

G_BEGIN_DECLS

typedef struct _AfFdWatch AfFdWatch;

/* Call @func(@data) whenever @fd is readable or hung up (level-triggered)
 * until removed; its return value is ignored. @func may remove this watch
 * or any other. */
AfFdWatch *af_fd_watch_add (int fd, GSourceFunc func, gpointer data);

/* Call @func(@data) once, when @fd is readable or hung up; the watch is
 * then finished and freed (do not remove it afterwards). */
AfFdWatch *af_fd_watch_once (int fd, GSourceFunc func, gpointer data);

/* As af_fd_watch_once, and @func is told what the fd showed: G_IO_IN
 * (with G_IO_HUP too when the writer has gone after writing), or
 * G_IO_HUP / G_IO_ERR alone when there is nothing to read — so a caller
 * can tell "data came" from "closed empty" without another syscall. Its
 * return value is ignored. */
AfFdWatch *af_fd_watch_once_cond (int fd, GUnixFDSourceFunc func, gpointer data);

/* Stop watching (NULL is ignored). Before the fd is closed. */
void af_fd_watch_remove (AfFdWatch *w);

G_END_DECLS
