/* test-fd-watch.c — af-fd-watch on real pipes: a level-triggered watch
 * fires while data is there and stops once removed, a once-watch fires
 * once (also on hang-up), a once-watch told the condition tells data
 * from an empty hang-up, a callback may remove another watch, and the
 * fallback on a thread-default context behaves the same. */
#include <glib-unix.h>
#include <unistd.h>

#include "af-fd-watch.h"

typedef struct {
  int fds[2];
  guint fired;
  GIOCondition cond; /* what a condition-told watch was told */
  AfFdWatch *watch, *other;
} Pipe;

static void
pipe_open (Pipe *p)
{
  GError *error = NULL;
  g_assert_true (g_unix_open_pipe (p->fds, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  p->fired = 0;
  p->cond = 0;
  p->watch = p->other = NULL;
}

static void
pipe_close (Pipe *p)
{
  if (p->fds[0] >= 0)
    close (p->fds[0]);
  if (p->fds[1] >= 0)
    close (p->fds[1]);
}

static void
iterate (GMainContext *ctx, guint times)
{
  for (guint i = 0; i < times; i++)
    g_main_context_iteration (ctx, FALSE);
}

/* Reads one byte, counts; removes the watch at the third. */
static gboolean
on_level (gpointer data)
{
  Pipe *p = data;
  char c;
  g_assert_cmpint (read (p->fds[0], &c, 1), ==, 1);
  if (++p->fired == 3)
    g_clear_pointer (&p->watch, af_fd_watch_remove);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_once (gpointer data)
{
  Pipe *p = data;
  p->fired++;
  p->watch = NULL; /* finished: freed by the watch itself */
  return G_SOURCE_REMOVE;
}

static gboolean
on_once_cond (gint fd, GIOCondition cond, gpointer data)
{
  Pipe *p = data;
  g_assert_cmpint (fd, ==, p->fds[0]);
  p->fired++;
  p->cond = cond;
  p->watch = NULL;
  return G_SOURCE_CONTINUE; /* ignored: once is once */
}

/* Fires once and removes the other pipe's watch. */
static gboolean
on_remove_other (gpointer data)
{
  Pipe *p = data;
  p->fired++;
  g_clear_pointer (&p->other, af_fd_watch_remove);
  p->watch = NULL;
  return G_SOURCE_REMOVE;
}

static gboolean
on_never (gpointer data)
{
  g_assert_not_reached ();
  return G_SOURCE_REMOVE;
}

static gboolean
on_never_cond (gint fd, GIOCondition cond, gpointer data)
{
  g_assert_not_reached ();
  return G_SOURCE_REMOVE;
}

static void
run_cases (GMainContext *ctx)
{
  Pipe p, q;

  /* Level-triggered: fires while bytes remain, not after its removal. */
  pipe_open (&p);
  g_assert_cmpint (write (p.fds[1], "abcde", 5), ==, 5);
  p.watch = af_fd_watch_add (p.fds[0], on_level, &p);
  iterate (ctx, 20);
  g_assert_cmpuint (p.fired, ==, 3);
  g_assert_null (p.watch);
  pipe_close (&p);

  /* Once: on hang-up, exactly once. */
  pipe_open (&p);
  p.watch = af_fd_watch_once (p.fds[0], on_once, &p);
  iterate (ctx, 5);
  g_assert_cmpuint (p.fired, ==, 0);
  close (p.fds[1]);
  p.fds[1] = -1;
  iterate (ctx, 20);
  g_assert_cmpuint (p.fired, ==, 1);
  g_assert_null (p.watch);
  pipe_close (&p);

  /* Once, told the condition: data is G_IO_IN, once only. */
  pipe_open (&p);
  p.watch = af_fd_watch_once_cond (p.fds[0], on_once_cond, &p);
  iterate (ctx, 5);
  g_assert_cmpuint (p.fired, ==, 0);
  g_assert_cmpint (write (p.fds[1], "ab", 2), ==, 2);
  iterate (ctx, 20);
  g_assert_cmpuint (p.fired, ==, 1);
  g_assert_cmpint (p.cond, ==, G_IO_IN);
  g_assert_null (p.watch);
  pipe_close (&p);

  /* Hung up empty: G_IO_HUP without G_IO_IN. */
  pipe_open (&p);
  p.watch = af_fd_watch_once_cond (p.fds[0], on_once_cond, &p);
  close (p.fds[1]);
  p.fds[1] = -1;
  iterate (ctx, 20);
  g_assert_cmpuint (p.fired, ==, 1);
  g_assert_cmpint (p.cond, ==, G_IO_HUP);
  pipe_close (&p);

  /* Written to, then hung up: both. */
  pipe_open (&p);
  g_assert_cmpint (write (p.fds[1], "c", 1), ==, 1);
  close (p.fds[1]);
  p.fds[1] = -1;
  p.watch = af_fd_watch_once_cond (p.fds[0], on_once_cond, &p);
  iterate (ctx, 20);
  g_assert_cmpuint (p.fired, ==, 1);
  g_assert_cmpint (p.cond, ==, G_IO_IN | G_IO_HUP);
  pipe_close (&p);

  /* Removed before it fired: silent. */
  pipe_open (&p);
  g_assert_cmpint (write (p.fds[1], "d", 1), ==, 1);
  p.watch = af_fd_watch_once_cond (p.fds[0], on_never_cond, &p);
  af_fd_watch_remove (p.watch);
  iterate (ctx, 10);
  pipe_close (&p);

  /* A callback removes another, readable, watch: it never fires. */
  pipe_open (&p);
  pipe_open (&q);
  g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
  p.other = af_fd_watch_once (q.fds[0], on_never, &q);
  p.watch = af_fd_watch_once (p.fds[0], on_remove_other, &p);
  iterate (ctx, 10);
  g_assert_cmpuint (p.fired, ==, 1);
  g_assert_null (p.other);
  g_assert_cmpint (write (q.fds[1], "y", 1), ==, 1);
  iterate (ctx, 10);
  pipe_close (&p);
  pipe_close (&q);

  /* Removed before it fired: silent. */
  pipe_open (&p);
  p.watch = af_fd_watch_add (p.fds[0], on_never, &p);
  af_fd_watch_remove (p.watch);
  g_assert_cmpint (write (p.fds[1], "z", 1), ==, 1);
  iterate (ctx, 10);
  af_fd_watch_remove (NULL);
  pipe_close (&p);
}

static void
test_default_context (void)
{
  run_cases (NULL);
}

/* Another thread-default context: each watch is a GLib source there, and
 * nothing fires when the default context runs. */
static void
test_own_context (void)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_main_context_push_thread_default (ctx);
  run_cases (ctx);
  g_main_context_pop_thread_default (ctx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fd-watch/default-context", test_default_context);
  g_test_add_func ("/fd-watch/own-context", test_own_context);
  return g_test_run ();
}
