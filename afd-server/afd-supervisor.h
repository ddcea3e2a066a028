/* afd-supervisor.h — the helper processes of one running sandbox.
 *
 * Owns: spawning af-fuse (mount) and af-exec (isolation) with posix_spawn,
 * each on its own private D-Bus peer socket; waiting until both are ready
 * (af-fuse's ready fd, af-exec's exported object); a child watch on each,
 * so a death is reported at once; as root, the mount point made a shared
 * bind of itself so bwrap is built while af-fuse mounts (else af-exec
 * waits for the mount); the stop order (af-exec first, then the mount);
 * and the last resort when a helper does not go: SIGKILL by pid and a lazy
 * unmount of the mount and the bind. Must never: touch the database, kill a pid it did not
 * spawn, or leave a mount behind once it reports stopped. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _AfdHelpers AfdHelpers;

typedef struct {
  const char *sandbox_id;
  const char *fuse_path;   /* af-fuse executable */
  const char *exec_path;   /* af-exec executable */
  const char *source_dir;  /* codebase directory */
  const char *sandbox_dir; /* <state>/sandboxes/<id>: rules, sockets, logs */
  const char *mountpoint;
  const char *delta_dir;
  const char *rules_json; /* the rule file's content */
  gboolean conflict_reject;
  gboolean docker;
  const char *image;
  gint64 memory_bytes, cpu_quota, cpu_shares, pids_limit;
  guint timeout_ms; /* for the whole start */
} AfdHelpersSpec;

/* Called once when a started sandbox loses a helper (it exited or was
 * killed). The other helper and the mount are already being torn down;
 * @reason says which and how. Never called after afd_helpers_stop. */
typedef void (*AfdHelpersDiedFunc) (AfdHelpers *helpers, const char *reason, gpointer user_data);

/* Start both helpers; @callback runs when both are ready or one failed
 * (then everything is already torn down). Finish with
 * afd_helpers_start_finish, which returns the helpers (or NULL + error). */
void afd_helpers_start_async (const AfdHelpersSpec *spec, AfdHelpersDiedFunc died,
                              gpointer died_data, GAsyncReadyCallback callback, gpointer user_data);
AfdHelpers *afd_helpers_start_finish (GAsyncResult *result, GError **error);

GDBusConnection *afd_helpers_get_fuse (AfdHelpers *helpers);
GDBusConnection *afd_helpers_get_exec (AfdHelpers *helpers);
int afd_helpers_get_fuse_pid (AfdHelpers *helpers);
int afd_helpers_get_exec_pid (AfdHelpers *helpers);

/* Stop: af-exec Stop, then af-fuse Shutdown; SIGKILL after a grace period,
 * lazy unmount if the mount outlived af-fuse. @callback runs once both
 * processes are gone. Consumes @helpers. */
void afd_helpers_stop (AfdHelpers *helpers, GCallback callback, gpointer user_data);

/* Whether @path is a mount point right now (/proc/self/mountinfo). */
gboolean afd_is_mounted (const char *path);
/* Lazily unmount everything mounted at @path (as root umount2
 * MNT_DETACH until nothing is left, else fusermount3 -u -z); quiet. */
void afd_force_unmount (const char *path);
/* As root: bind @path onto itself and make that mount shared (in a peer
 * group of its own), so a bind of @path made now (bwrap's /workspace)
 * sees what is mounted on @path later. FALSE (nothing left mounted) when
 * not root or the kernel refuses. afd_force_unmount undoes it. */
gboolean afd_share_mountpoint (const char *path);

G_END_DECLS
