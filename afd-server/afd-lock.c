/* afd-lock.c — flock on <state>/afd.lock. Never logs. */
#include "afd-lock.h"
#include "afcore.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <string.h>
#include <unistd.h>

int
afd_lock_state_dir (const char *state_dir, GError **error)
{
  g_autofree char *path = g_build_filename (state_dir, "afd.lock", NULL);
  int fd = open (path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot open %s: %s", path,
                 g_strerror (errno));
    return -1;
  }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = { 0 };
    ssize_t n = pread (fd, buf, sizeof buf - 1, 0);
    close (fd);
    if (err == EWOULDBLOCK) {
      g_strstrip (buf);
      g_set_error (error, AF_ERROR, AF_ERROR_ALREADY_EXISTS,
                   "another afd-server%s%s%s is already running on state dir %s",
                   n > 0 ? " (pid " : "", n > 0 ? buf : "", n > 0 ? ")" : "", state_dir);
    } else {
      g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot lock %s: %s", path,
                   g_strerror (err));
    }
    return -1;
  }
  g_autofree char *pid = g_strdup_printf ("%d\n", (int)getpid ());
  if (ftruncate (fd, 0) != 0 || pwrite (fd, pid, strlen (pid), 0) < 0) {
    /* The pid is only for the message; the lock itself holds. */
  }
  return fd;
}
