/* af-activation.c — see af-activation.h. */
#include "af-activation.h"
#include "af-error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef AF_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

/* Bound on the fds we accept: a service has a few sockets, not thousands. */
#define MAX_LISTEN_FDS 64

int
af_activation_listen_fds (GError **error)
{
#ifdef AF_HAVE_LIBSYSTEMD
  int n = sd_listen_fds (1);
  if (n < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "socket activation: %s",
                 g_strerror (-n));
    return -1;
  }
#else
  const char *pid_text = g_getenv ("LISTEN_PID");
  const char *fds_text = g_getenv ("LISTEN_FDS");
  guint64 pid = 0, n64 = 0;
  int n = 0;
  if (pid_text != NULL && fds_text != NULL &&
      g_ascii_string_to_unsigned (pid_text, 10, 1, G_MAXINT, &pid, NULL) &&
      (pid_t)pid == getpid ()) {
    if (!g_ascii_string_to_unsigned (fds_text, 10, 0, G_MAXINT - AF_ACTIVATION_FDS_START, &n64,
                                     NULL)) {
      g_unsetenv ("LISTEN_PID");
      g_unsetenv ("LISTEN_FDS");
      g_unsetenv ("LISTEN_FDNAMES");
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "socket activation: LISTEN_FDS=%s is not a number", fds_text);
      return -1;
    }
    n = (int)n64;
    for (int fd = AF_ACTIVATION_FDS_START; fd < AF_ACTIVATION_FDS_START + n; fd++)
      if (fcntl (fd, F_SETFD, FD_CLOEXEC) < 0) {
        int errsv = errno;
        g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "socket activation: fd %d: %s", fd,
                     g_strerror (errsv));
        n = -1;
        break;
      }
  }
  g_unsetenv ("LISTEN_PID");
  g_unsetenv ("LISTEN_FDS");
  g_unsetenv ("LISTEN_FDNAMES");
  if (n < 0)
    return -1;
#endif
  if (n > MAX_LISTEN_FDS) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "socket activation: %d sockets passed (limit %d)", n, MAX_LISTEN_FDS);
    return -1;
  }
  return n;
}
