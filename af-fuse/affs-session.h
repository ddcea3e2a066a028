/* affs-session.h — the filesystem's life (affs-session.c): create, mount,
 * run the FUSE loop on its own thread, stop, unmount. */
#pragma once

#include <pthread.h>

#include "affs.h"

G_BEGIN_DECLS

typedef struct _AffsSession AffsSession;
struct _AffsSession {
  GThread *thread;
  pthread_t tid;  /* the loop thread, for the wake-up signal */
  gint tid_valid; /* atomic */
  gboolean stopping;
  int loop_result;
  GMainContext *context; /* where on_exit runs */
  GSourceFunc on_exit;
  gpointer on_exit_data;
};

/* Open the layer roots (creating <delta>/upper and <delta>/work) and size
 * the fd budget. */
AfFs *affs_new (const char *source, const char *delta, GError **error);
void affs_free (AfFs *fs);
gboolean affs_session_mount (AfFs *fs, const char *mountpoint, gboolean allow_other,
                             GError **error);
/* Run the loop; @on_exit is invoked on the caller's main context when the
 * loop ends (stop, external unmount, error). */
void affs_session_start (AfFs *fs, GSourceFunc on_exit, gpointer data);
void affs_session_stop (AfFs *fs);
/* Join the loop, unmount (lazily), destroy the session. */
void affs_session_finish (AfFs *fs);

G_END_DECLS
