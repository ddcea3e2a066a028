/* af-error.h — the one error domain of AgentFense.
 *
 * Owns: AF_ERROR and the single table that maps each code to its gRPC status
 * code, its canonical name and its D-Bus error name. Every layer that turns an
 * error into something on a wire (gRPC status, D-Bus reply) goes through here.
 * Codes are numerically equal to gRPC status codes, so a code is never
 * translated by hand anywhere else.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define AF_ERROR (af_error_quark ())

/* Values equal the gRPC status codes (grpc/status.h). */
typedef enum {
  AF_ERROR_CANCELLED = 1,
  AF_ERROR_UNKNOWN = 2,
  AF_ERROR_INVALID_ARGUMENT = 3,
  AF_ERROR_DEADLINE_EXCEEDED = 4,
  AF_ERROR_NOT_FOUND = 5,
  AF_ERROR_ALREADY_EXISTS = 6,
  AF_ERROR_PERMISSION_DENIED = 7,
  AF_ERROR_RESOURCE_EXHAUSTED = 8,
  AF_ERROR_FAILED_PRECONDITION = 9,
  AF_ERROR_ABORTED = 10,
  AF_ERROR_OUT_OF_RANGE = 11,
  AF_ERROR_UNIMPLEMENTED = 12,
  AF_ERROR_INTERNAL = 13,
  AF_ERROR_UNAVAILABLE = 14,
  AF_ERROR_DATA_LOSS = 15,
  AF_ERROR_UNAUTHENTICATED = 16,
} AfErrorCode;

#define AF_ERROR_N_CODES 17 /* 0 (OK) .. 16 */

GQuark af_error_quark (void);

/* The gRPC status code for @error: AF_ERROR codes map 1:1; well-known GLib
 * domains (GIOError, GFileError, GDBusError, GOptionError, GKeyFileError) map
 * to their nearest status; anything else is UNKNOWN. NULL means OK (0). */
int af_error_to_grpc_status (const GError *error);

/* The AF_ERROR code for a gRPC status received from a peer; an out-of-range
 * status becomes AF_ERROR_UNKNOWN. Status 0 (OK) must not be passed. */
AfErrorCode af_error_code_from_grpc_status (int status);

/* Canonical upper-case name ("INVALID_ARGUMENT"), or NULL for no such code. */
const char *af_error_code_name (int code);

/* D-Bus error name ("org.agentfense.Error.InvalidArgument"), or NULL. */
const char *af_error_code_dbus_name (int code);

/* Convert any GError to an AF_ERROR with the same message and mapped code.
 * Returns a new error; @error is not touched. */
GError *af_error_normalize (const GError *error);

G_END_DECLS
