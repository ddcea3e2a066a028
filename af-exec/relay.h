/* relay.h — copy one output stream of a command to its consumer, capped.
 *
 * Owns: a (pooled) thread per stream, from its first byte on, that reads the command's pipe and
 * writes to the destination fd as bytes arrive (so a line reaches the consumer at once), counting
 * what it forwards; past the cap it keeps reading and drops, so the command never blocks on a full
 * pipe and af-exec's memory stays one fixed buffer per stream. Must never: buffer more than that,
 * or close the destination (the owner does). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _AfRelay AfRelay;

/* Takes @src (the read end). @dst is borrowed until af_relay_join. A @cap
 * of 0 means unlimited. Until @src has data it is watched from the
 * thread-default main context (af-fd-watch: on the default context, in
 * the process's one epoll set), so start, drain_and_stop and join are called from that
 * context's thread. */
AfRelay *af_relay_start (int src, int dst, gint64 cap);

/* Stop at the first moment the source has nothing more to give right now
 * (sessions: the shell keeps its pipe open between commands). */
void af_relay_drain_and_stop (AfRelay *relay);

/* After drain_and_stop: call @func(@data) from the thread-default main
 * context once the relay is done, so join will not block; or return TRUE
 * at once when it is done already (then @func is not called). Never blocks:
 * a consumer that reads slowly holds only its own command's result. */
gboolean af_relay_when_finished (AfRelay *relay, GSourceFunc func, gpointer data);

/* Wait for the thread (EOF, or drained after drain_and_stop); report. */
void af_relay_join (AfRelay *relay, gint64 *forwarded, gboolean *truncated);

/* Hand back the source fd instead of closing it (sessions reuse it). */
int af_relay_join_keep_source (AfRelay *relay, gint64 *forwarded, gboolean *truncated);

G_END_DECLS
