/* af-grpc-log.h — grpc core's own log lines (a failed TLS handshake, a
 * listener that cannot bind) as GLib structured log records, so that they
 * reach the journal or stderr in the same format as ours. Internal, not
 * installed.
 *
 * Owns: the process-wide gpr log function and the mapping of grpc's
 * severities to GLib levels. Must never: print anything itself (the GLib
 * writer of the process does), or decide which of grpc's lines exist —
 * grpc's own verbosity (GRPC_VERBOSITY, ERROR by default) filters them
 * before they get here, as it always has. */
#pragma once

#include <glib.h>
#include <grpc/support/log.h>

#include "af-log.h"

G_BEGIN_DECLS

/* Route grpc's log through g_log_structured from now on, under the domain
 * AF_LOG_DOMAIN_GRPC, with grpc's file and line as CODE_FILE and
 * CODE_LINE. Idempotent; af_grpc_runtime_ref calls it before grpc_init. */
void af_grpc_log_install (void);

/* The GLib level of a grpc severity: ERROR → MESSAGE, INFO → INFO,
 * DEBUG → DEBUG. Why not WARNING for ERROR: grpc reports at ERROR what is
 * an ordinary event for a server or a client (a peer failing the TLS
 * handshake, a connection refused), and GLib makes WARNING fatal in every
 * GTest program and under G_DEBUG=fatal-warnings — an application using
 * our client library would abort on a network error. MESSAGE is shown at
 * every daemon's default level and is never fatal. */
GLogLevelFlags af_grpc_log_level (gpr_log_severity severity);

G_END_DECLS
