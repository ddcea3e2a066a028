/* affs-rootless.c — af-fuse without root: the mount through fusermount3,
 * and delta marks an unprivileged process can write.
 *
 * Mount: libfuse opens /dev/fuse itself first and only falls back to
 * fusermount3 when that open reports a missing device, so a host whose
 * /dev/fuse is 0600 (this kind of VM) defeats it. We run the setuid
 * fusermount3 ourselves, as libfuse would (`_FUSE_COMMFD`, the /dev/fuse fd
 * comes back over a socketpair). The session then runs on "/dev/fd/N"; a
 * clean stop unmounts with `fusermount3 -u -z`. Not `auto_unmount`: the
 * fusermount3 of libfuse 3.14 probes the dead mount as root, which a mount
 * without allow_other answers with EACCES instead of ENOTCONN, so it never
 * unmounts — and it would keep a setuid process per mount. A SIGKILLed
 * af-fuse leaves a dead mount, as any FUSE daemon does; afd-server removes
 * it (fusermount3 -u -z) when it sees the helper die or at its next start.
 *
 * Marks: opaque directories, copy-up origins and commit records are
 * trusted.agentfense.* xattrs as root, which needs CAP_SYS_ADMIN. Without
 * it they are user.agentfense.* — and user.* xattrs are the sandbox's own,
 * so the reserved prefix is escaped as overlayfs does: the view's
 * "user.agentfense.NAME" is stored as "user.agentfense.x.NAME"; any other
 * stored user.agentfense.* name is a mark and never shown. No name the
 * sandbox can set is reserved. A delta records its scheme (the file
 * <delta>/user-xattrs) so it is read the same way by whoever mounts it
 * later; a delta written by a root af-fuse cannot be read without root.
 *
 * Must never: show or accept a mark through the view. */
#include "affs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "af-error.h"

#define SCHEME_FILE "user-xattrs"
#define USER_PREFIX "user.agentfense."
#define ESCAPE_PREFIX "user.agentfense.x."

static const char *const trusted_marks[] = {
  [AFFS_MARK_OPAQUE] = "trusted.agentfense.opaque",
  [AFFS_MARK_ORIGIN] = "trusted.agentfense.origin",
  [AFFS_MARK_COMMIT] = "trusted.agentfense.commit",
};
static const char *const user_marks[] = {
  [AFFS_MARK_OPAQUE] = USER_PREFIX "opaque",
  [AFFS_MARK_ORIGIN] = USER_PREFIX "origin",
  [AFFS_MARK_COMMIT] = USER_PREFIX "commit",
};

const char *
affs_mark_name (const AfFs *fs, AffsMark mark)
{
  return fs->user_xattrs ? user_marks[mark] : trusted_marks[mark];
}

static gboolean
upper_is_empty (AfFs *fs)
{
  int fd = openat (fs->upper_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  DIR *d = fdopendir (fd);
  if (d == NULL) {
    close (fd);
    return FALSE;
  }
  gboolean empty = TRUE;
  struct dirent *e;
  while (empty && (e = readdir (d)) != NULL)
    empty = g_str_equal (e->d_name, ".") || g_str_equal (e->d_name, "..");
  closedir (d);
  return empty;
}

gboolean
affs_marks_init (AfFs *fs, GError **error)
{
  g_autofree char *scheme = g_build_filename (fs->delta_path, SCHEME_FILE, NULL);
  if (g_file_test (scheme, G_FILE_TEST_EXISTS)) {
    fs->user_xattrs = TRUE;
    return TRUE;
  }
  if (geteuid () == 0)
    return TRUE;
  /* A non-empty upper without the record was written with trusted.* marks,
   * which this process can neither read nor write: mounting it would bring
   * back whatever its opaque directories hide. */
  if (!upper_is_empty (fs)) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "the delta %s was written by af-fuse as root (trusted.* marks); "
                 "only root can mount it",
                 fs->delta_path);
    return FALSE;
  }
  if (!g_file_set_contents (scheme, "", 0, error))
    return FALSE;
  fs->user_xattrs = TRUE;
  return TRUE;
}

char *
affs_xattr_to_backing (const AfFs *fs, const char *name)
{
  if (fs->user_xattrs && g_str_has_prefix (name, USER_PREFIX))
    return g_strconcat (ESCAPE_PREFIX, name + strlen (USER_PREFIX), NULL);
  return g_strdup (name);
}

gboolean
affs_xattr_is_mark (const AfFs *fs, const char *backing)
{
  return fs->user_xattrs && g_str_has_prefix (backing, USER_PREFIX) &&
         !g_str_has_prefix (backing, ESCAPE_PREFIX);
}

void
affs_xattr_append_view_name (const AfFs *fs, const char *backing, GString *out)
{
  if (!g_str_has_prefix (backing, "user.") || affs_xattr_is_mark (fs, backing))
    return;
  if (fs->user_xattrs && g_str_has_prefix (backing, ESCAPE_PREFIX)) {
    g_string_append (out, USER_PREFIX);
    g_string_append (out, backing + strlen (ESCAPE_PREFIX));
  } else {
    g_string_append (out, backing);
  }
  g_string_append_c (out, '\0');
}

/* Receive the /dev/fuse fd fusermount3 sends (one byte + SCM_RIGHTS). */
static int
receive_fd (int sock)
{
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE (sizeof (int))];
  } ctl;
  struct msghdr msg = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf
  };
  ssize_t n;
  do
    n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c; c = CMSG_NXTHDR (&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN (sizeof (int))) {
      int fd;
      memcpy (&fd, CMSG_DATA (c), sizeof fd);
      return fd;
    }
  return -1;
}

int
affs_fusermount_mount (AfFs *fs, const char *mountpoint, const char *opts, GError **error)
{
  /* The watcher chdirs to / before it waits: it needs the real path, as
   * libfuse gives it. */
  g_autofree char *abs = realpath (mountpoint, NULL);
  if (abs == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "%s: %s", mountpoint,
                 g_strerror (errno));
    return -1;
  }
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "socketpair: %s", g_strerror (errno));
    return -1;
  }
  const char *argv[] = { "fusermount3", "-o", opts, "--", abs, NULL };
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "_FUSE_COMMFD", "3", TRUE);
  int source_fds[] = { sv[1] };
  int target_fds[] = { 3 };
  /* Without DO_NOT_REAP_CHILD GLib double-forks: fusermount3 is nobody's
   * child to wait for (it exits once it has sent the fd). */
  gboolean ok = g_spawn_async_with_pipes_and_fds (
      NULL, argv, (const char *const *)envp, G_SPAWN_SEARCH_PATH, NULL, NULL, -1, -1, -1,
      source_fds, target_fds, 1, NULL, NULL, NULL, NULL, error);
  close (sv[1]);
  if (!ok) {
    close (sv[0]);
    return -1;
  }
  /* fusermount3 answers with the fd, or exits (EOF) after saying why on
   * stderr — af-fuse's own, which the server keeps in the sandbox's log. */
  int fd = receive_fd (sv[0]);
  close (sv[0]);
  if (fd < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "fusermount3 could not mount on %s (see its message above)", abs);
    return -1;
  }
  fs->fusermount_path = g_steal_pointer (&abs);
  return fd;
}

void
affs_fusermount_unmount (AfFs *fs)
{
  g_autofree char *path = g_steal_pointer (&fs->fusermount_path);
  if (path == NULL)
    return;
  const char *argv[] = { "fusermount3", "-u", "-z", "--", path, NULL };
  g_spawn_sync (NULL, (char **)argv, NULL,
                G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                NULL, NULL, NULL, NULL, NULL);
}
