/* afd-lock.h — the state directory's single-owner lock.
 *
 * Owns: <state>/afd.lock, flock()ed for the life of the daemon, with the
 * owner's pid written into it so the refusal can name it. Must never wait
 * for the lock: a second server refuses at once. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Returns the lock fd (keep it open), or -1 with AF_ERROR_ALREADY_EXISTS
 * "another afd-server (pid N) is already running on state dir …". */
int afd_lock_state_dir (const char *state_dir, GError **error);

G_END_DECLS
