/* service.h — supervisor mode: org.agentfense.Exec1 on a peer connection. */
#pragma once

#include "af-config.h"

G_BEGIN_DECLS

/* Connect to @address, start the sandbox, serve until Stop or the peer
 * goes away. Returns the process exit status. */
int af_exec_serve (AfConfig *config, const char *address);

G_END_DECLS
