/* af-grpc-listen.c — the unix-socket listener: lock file, socket mode,
 * accepting connections ourselves to learn SO_PEERCRED; and listeners on
 * sockets handed over already listening (socket activation), unix or TCP.
 *
 * grpc core does not expose the fd of a connection it accepted, so the
 * socket is ours: we bind it, accept on the server context, read
 * SO_PEERCRED of each connection and only then hand the fd to grpc with
 * grpc_server_add_channel_from_fd. grpc names such a connection's peer
 * "fd:N", which af-grpc-call.c maps back to the credentials recorded here.
 *
 * Owns: the listening socket, its path and the flock()ed lock file beside
 * it. Must never: unlink or bind over a socket whose lock another live
 * process holds; leave the socket connectable with wider permissions than
 * asked (it is bound under a temporary name, chmod()ed, then renamed).
 */
#define _GNU_SOURCE
#include "af-grpc-server-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <stddef.h>
#include <grpc/grpc_posix.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include "af-error.h"

/* Connections accepted per wakeup before yielding to other sources. */
#define ACCEPT_BURST 32

struct _AfGrpcUnixListener {
  AfGrpcServer *server;
  char *path;    /* NULL for an adopted socket: its path is not ours */
  char *address; /* "unix:PATH"; NULL for a TCP socket (per peer) */
  int family;    /* AF_UNIX, AF_INET or AF_INET6 */
  int fd;
  int lock_fd; /* -1 for an adopted socket */
  GSource *source;
};

void
af_grpc_peer_creds_free (AfGrpcPeerCreds *creds)
{
  g_free (creds->address);
  g_free (creds);
}

/* grpc's spelling of a TCP peer: "ipv4:127.0.0.1:5000", "ipv6:[::1]:5000". */
static char *
format_inet (const struct sockaddr_storage *sa)
{
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa->ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    inet_ntop (AF_INET6, &in6->sin6_addr, host, sizeof host);
    return g_strdup_printf ("ipv6:[%s]:%u", host, (unsigned)ntohs (in6->sin6_port));
  }
  const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
  inet_ntop (AF_INET, &in4->sin_addr, host, sizeof host);
  return g_strdup_printf ("ipv4:%s:%u", host, (unsigned)ntohs (in4->sin_port));
}

static gboolean
on_accept (gint fd, GIOCondition condition, gpointer user_data)
{
  AfGrpcUnixListener *self = user_data;
  AfGrpcServer *server = self->server;

  for (int i = 0; i < ACCEPT_BURST; i++) {
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    int conn = accept4 (fd, (struct sockaddr *)&peer, &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (conn < 0)
      break; /* EAGAIN, or a connection that died before we took it */
    AfGrpcPeerCreds *creds = g_new0 (AfGrpcPeerCreds, 1);
    if (self->family == AF_UNIX) {
      struct ucred cred;
      socklen_t len = sizeof cred;
      if (getsockopt (conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        g_free (creds);
        close (conn);
        continue;
      }
      creds->has_credentials = TRUE;
      creds->uid = cred.uid;
      creds->gid = cred.gid;
      creds->pid = cred.pid;
      creds->address = g_strdup (self->address);
    } else {
      creds->address = format_inet (&peer);
    }
    /* An fd number is reused only after grpc closed the old connection;
     * the newest accept is the one a new call can come from. */
    g_hash_table_replace (server->peer_creds, GINT_TO_POINTER (conn), creds);
    grpc_server_add_channel_from_fd (server->server, conn, server->insecure);
  }
  return G_SOURCE_CONTINUE;
}

AfGrpcUnixListener *
af_grpc_unix_listener_new (AfGrpcServer *server, const char *path, guint mode, GError **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  g_autofree char *lock_path = g_strconcat (path, ".lock", NULL);
  g_autofree char *tmp_path = g_strdup_printf ("%s.%u.tmp", path, (unsigned)getpid ());
  int errsv;

  if (strlen (tmp_path) >= sizeof addr.sun_path) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "socket path %s is too long (limit %zu bytes)", path, sizeof addr.sun_path - 12);
    return NULL;
  }
  int lock_fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock_fd < 0) {
    errsv = errno;
    g_set_error (error, AF_ERROR, errsv == ENOENT ? AF_ERROR_NOT_FOUND : AF_ERROR_PERMISSION_DENIED,
                 "cannot open lock file %s: %s", lock_path, g_strerror (errsv));
    return NULL;
  }
  if (flock (lock_fd, LOCK_EX | LOCK_NB) < 0) {
    errsv = errno;
    close (lock_fd);
    if (errsv == EWOULDBLOCK)
      g_set_error (error, AF_ERROR, AF_ERROR_ALREADY_EXISTS,
                   "a server is already running on %s (lock %s is held)", path, lock_path);
    else
      g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE, "cannot lock %s: %s", lock_path,
                   g_strerror (errsv));
    return NULL;
  }

  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    errsv = errno;
    close (lock_fd);
    g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE, "cannot create a socket: %s",
                 g_strerror (errsv));
    return NULL;
  }
  /* Bind under a private name and chmod before it becomes visible under
   * @path, so no peer ever connects while the mode is still the umask's. */
  strcpy (addr.sun_path, tmp_path);
  unlink (tmp_path);
  if (bind (fd, (struct sockaddr *)&addr, sizeof addr) < 0 || chmod (tmp_path, mode) < 0 ||
      listen (fd, SOMAXCONN) < 0 || rename (tmp_path, path) < 0) {
    errsv = errno;
    unlink (tmp_path);
    close (fd);
    close (lock_fd);
    g_set_error (error, AF_ERROR, errsv == ENOENT ? AF_ERROR_NOT_FOUND : AF_ERROR_UNAVAILABLE,
                 "cannot listen on unix socket %s: %s", path, g_strerror (errsv));
    return NULL;
  }

  AfGrpcUnixListener *self = g_new0 (AfGrpcUnixListener, 1);
  self->server = server;
  self->family = AF_UNIX;
  self->path = g_strdup (path);
  self->address = g_strconcat ("unix:", path, NULL);
  self->fd = fd;
  self->lock_fd = lock_fd;
  return self;
}

AfGrpcUnixListener *
af_grpc_fd_listener_new (AfGrpcServer *server, int fd, int *out_port, GError **error)
{
  struct sockaddr_storage sa = { 0 };
  socklen_t len = sizeof sa;
  int type = 0, listening = 0;
  socklen_t optlen = sizeof type;
  if (out_port != NULL)
    *out_port = 0;
  if (getsockname (fd, (struct sockaddr *)&sa, &len) < 0 ||
      getsockopt (fd, SOL_SOCKET, SO_TYPE, &type, &optlen) < 0 ||
      (optlen = sizeof listening,
       getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) < 0)) {
    int errsv = errno;
    close (fd);
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "fd %d is not a socket: %s", fd,
                 g_strerror (errsv));
    return NULL;
  }
  if (type != SOCK_STREAM || !listening ||
      (sa.ss_family != AF_UNIX && sa.ss_family != AF_INET && sa.ss_family != AF_INET6)) {
    close (fd);
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "fd %d is not a listening unix or TCP stream socket", fd);
    return NULL;
  }
  if (sa.ss_family != AF_UNIX && server->tls != NULL) {
    /* grpc core serves a connection handed over as an fd only without
     * TLS; serving this one plain would quietly drop the TLS asked for. */
    close (fd);
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "fd %d is a TCP socket and TLS is configured: TLS is served only on TCP "
                 "addresses the server binds itself (listen), not on adopted sockets",
                 fd);
    return NULL;
  }
  /* We accept on the server context: the fd must never block it, and must
   * not leak into the helpers the server spawns. */
  if (fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK) < 0 ||
      fcntl (fd, F_SETFD, FD_CLOEXEC) < 0) {
    int errsv = errno;
    close (fd);
    g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE, "fd %d: %s", fd, g_strerror (errsv));
    return NULL;
  }

  AfGrpcUnixListener *self = g_new0 (AfGrpcUnixListener, 1);
  self->server = server;
  self->family = sa.ss_family;
  self->fd = fd;
  self->lock_fd = -1;
  if (sa.ss_family == AF_UNIX) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)&sa;
    gsize n = len > offsetof (struct sockaddr_un, sun_path)
                  ? len - offsetof (struct sockaddr_un, sun_path)
                  : 0;
    /* Abstract sockets start with NUL; show them as "@name". */
    self->address =
        un->sun_path[0] == '\0' && n > 0
            ? g_strdup_printf ("unix:@%.*s", (int)(n - 1), un->sun_path + 1)
            : g_strdup_printf ("unix:%.*s", (int)strnlen (un->sun_path, n), un->sun_path);
  } else if (out_port != NULL) {
    *out_port = ntohs (sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                : ((struct sockaddr_in *)&sa)->sin_port);
  }
  return self;
}

void
af_grpc_unix_listener_start (AfGrpcUnixListener *self)
{
  if (self->source != NULL || self->fd < 0)
    return;
  self->source = g_unix_fd_source_new (self->fd, G_IO_IN);
  g_source_set_callback (self->source, (GSourceFunc)(void (*) (void))on_accept, self, NULL);
  g_source_attach (self->source, self->server->context);
}

/* Stops accepting and removes the socket; keeps the lock until freed so a
 * new server cannot start while this one still finishes calls. */
void
af_grpc_unix_listener_stop (AfGrpcUnixListener *self)
{
  if (self->source != NULL) {
    g_source_destroy (self->source);
    g_clear_pointer (&self->source, g_source_unref);
  }
  if (self->fd >= 0) {
    if (self->path != NULL)
      unlink (self->path);
    close (self->fd);
    self->fd = -1;
  }
}

void
af_grpc_unix_listener_free (AfGrpcUnixListener *self)
{
  af_grpc_unix_listener_stop (self);
  /* The lock file stays: unlinking it would let two servers lock two
   * different inodes under the same name. */
  if (self->lock_fd >= 0)
    close (self->lock_fd);
  g_free (self->address);
  g_free (self->path);
  g_free (self);
}
