/* cgroup-wait.c — knowing that a cgroup has emptied, as an event.
 *
 * Owns: the two ways the kernel says so. v2 (and the unified tree of a
 * hybrid host) raises POLLPRI on cgroup.events each time `populated`
 * changes. v1 has no per-cgroup event: its notify_on_release runs one
 * release_agent program per hierarchy, a host-wide setting that belongs to
 * the host's init, not to us. So on v1 we wait on a pidfd of a process the
 * cgroup still lists, and read the list again when it exits: one wake-up
 * per exiting process, no timer. The same members' wait serves a v2
 * cgroup that someone else may remove (a container engine's): a removal
 * wakes no poller of cgroup.events, and can take a held-back `populated`
 * event with it, while every process's exit wakes its pidfd.
 *
 * Must never: sleep-poll, or wait past the caller's deadline. */
#define _GNU_SOURCE
#include "cgroup-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib-unix.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

gboolean
af_cgroup_events_say_empty (int events_fd)
{
  char buf[256];
  ssize_t n = pread (events_fd, buf, sizeof buf - 1, 0);

  /* ENODEV: the cgroup was removed under the open file (a container's
   * runtime removes its cgroups, ours included, as the container ends).
   * Only an empty cgroup can be removed. Its file now polls ready for
   * good, so reading it as "not empty" would spin. */
  if (n < 0)
    return errno == ENODEV;
  if (n == 0)
    return FALSE;
  buf[n] = '\0';
  return strstr (buf, "populated 0") != NULL;
}

/* The first pid listed in @dir's cgroup.procs, 0 when none is left. */
static int
first_proc (const char *dir)
{
  g_autofree char *text = af_cgroup_read_file (dir, "cgroup.procs");
  return text ? atoi (text) : 0;
}

/* A pidfd of a process still in @dir (-1 when @dir is empty). A pid that
 * exits between the read and pidfd_open is read again, never waited on. */
int
af_cgroup_member_pidfd (const char *dir, gboolean *empty)
{
  for (;;) {
    int pid = first_proc (dir);
    int fd;

    if (pid <= 0) {
      *empty = TRUE;
      return -1;
    }
    fd = (int)syscall (SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
      /* Not empty unless it went between the read and the open. */
      *empty = FALSE;
      return fd;
    }
    if (errno != ESRCH) {
      /* No pidfd (a kernel before 5.3): the caller cannot wait. */
      *empty = FALSE;
      return -1;
    }
  }
}

static int
ms_until (gint64 deadline_us)
{
  gint64 left = deadline_us - g_get_monotonic_time ();
  if (left <= 0)
    return 0;
  return (int)MIN ((left + 999) / 1000, G_MAXINT);
}

gboolean
af_cgroup_wait_empty (const char *dir, int events_fd, gint64 deadline_us)
{
  g_autofree char *events_path = NULL;
  int own_fd = -1;
  gboolean empty = FALSE;

  if (events_fd < 0) {
    events_path = g_build_filename (dir, "cgroup.events", NULL);
    events_fd = own_fd = open (events_path, O_RDONLY | O_CLOEXEC);
  }
  if (events_fd < 0)
    return af_cgroup_wait_members (dir, deadline_us);
  /* Reading before polling arms the event: kernfs reports POLLPRI for a
   * change after this open file's last read, so none is missed (one
   * within 10 ms of the last notification comes up to 10 ms late). */
  while (!(empty = af_cgroup_events_say_empty (events_fd))) {
    struct pollfd pfd = { events_fd, POLLPRI, 0 };
    int rc = poll (&pfd, 1, ms_until (deadline_us));
    /* A ready file past the deadline ends the wait too: the deadline
     * holds whatever the file keeps saying. */
    if (rc == 0 || (rc < 0 && errno != EINTR) || g_get_monotonic_time () >= deadline_us)
      break;
  }
  if (own_fd >= 0)
    close (own_fd);
  return empty;
}

gboolean
af_cgroup_wait_members (const char *dir, gint64 deadline_us)
{
  gboolean empty = FALSE;

  for (;;) {
    int fd = af_cgroup_member_pidfd (dir, &empty);
    struct pollfd pfd = { fd, POLLIN, 0 };
    int rc;

    if (fd < 0)
      return empty;
    do
      rc = poll (&pfd, 1, ms_until (deadline_us));
    while (rc < 0 && errno == EINTR);
    close (fd);
    if (rc <= 0)
      return FALSE;
  }
}

gboolean
af_cgroup_rmdir_when_empty (const char *dir, int events_fd, gboolean by_members, gint64 deadline_us)
{
  gboolean empty;

  if (rmdir (dir) == 0 || errno == ENOENT)
    return TRUE;
  if (errno != EBUSY)
    return FALSE;
  /* A killed process is still exiting: wait for the event, then again. */
  empty = by_members ? af_cgroup_wait_members (dir, deadline_us)
                     : af_cgroup_wait_empty (dir, events_fd, deadline_us);
  return empty && (rmdir (dir) == 0 || errno == ENOENT);
}
