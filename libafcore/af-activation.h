/* af-activation.h — listening sockets handed over by a service manager
 * (systemd socket activation: $LISTEN_PID, $LISTEN_FDS, fds from 3 on).
 *
 * Owns: reading and clearing that protocol's environment. Uses libsystemd's
 * sd_listen_fds() when built with it, and the same documented protocol
 * itself otherwise, so a server built either way can be activated. Must
 * never: take fds meant for another process (LISTEN_PID must be ours), or
 * leave the variables for children to misread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The first fd of the protocol (SD_LISTEN_FDS_START). */
#define AF_ACTIVATION_FDS_START 3

/* Number of fds passed to this process (they are AF_ACTIVATION_FDS_START
 * onwards, each marked close-on-exec), 0 when none were. The variables are
 * removed from the environment either way. -1 with @error set when the
 * variables are malformed. */
int af_activation_listen_fds (GError **error);

G_END_DECLS
