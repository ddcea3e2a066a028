/* init-channel.h — af-exec's end of the socket to af-exec-init.
 *
 * Owns: encoding SPAWN requests (strings + SCM_RIGHTS), decoding SPAWNED
 * and EXITED, and routing each to the callbacks of its request. Used by
 * every runtime whose sandbox runs our init. Must never: block on the
 * socket outside the start handshake, or keep a request's fds after the
 * SPAWN has been sent. */
#pragma once

#include "runtime.h"

G_BEGIN_DECLS

typedef struct _AfInitChannel AfInitChannel;

/* Takes @sock. @died runs once when the init is gone (EOF or bad message). */
AfInitChannel *af_init_channel_new (int sock, AfRuntimeDiedFunc died, gpointer died_data);
void af_init_channel_free (AfInitChannel *ch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfInitChannel, af_init_channel_free)

/* Wait (at most @timeout_ms) for the init's READY message. EOF means the
 * sandbox failed to start. Blocking: called once, at start. */
gboolean af_init_channel_wait_ready (AfInitChannel *ch, int timeout_ms, GError **error);

/* Start watching the socket on the thread-default main context. */
void af_init_channel_attach (AfInitChannel *ch);

gboolean af_init_channel_spawn (AfInitChannel *ch, guint64 id, const AfSpawnRequest *req,
                                GError **error);

/* Drop every pending request without calling it (the owner is stopping). */
void af_init_channel_forget_all (AfInitChannel *ch);

G_END_DECLS
