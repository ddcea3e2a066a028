/* af-error.c — the code table behind af-error.h. One row per gRPC status; no
 * other file maps codes. */
#include "af-error.h"

typedef struct {
  int code;
  const char *name;
  const char *dbus_name;
} AfErrorRow;

/* Indexed by code; row 0 is OK and has no D-Bus name. */
static const AfErrorRow error_table[AF_ERROR_N_CODES] = {
  { 0, "OK", NULL },
  { AF_ERROR_CANCELLED, "CANCELLED", "org.agentfense.Error.Cancelled" },
  { AF_ERROR_UNKNOWN, "UNKNOWN", "org.agentfense.Error.Unknown" },
  { AF_ERROR_INVALID_ARGUMENT, "INVALID_ARGUMENT", "org.agentfense.Error.InvalidArgument" },
  { AF_ERROR_DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", "org.agentfense.Error.DeadlineExceeded" },
  { AF_ERROR_NOT_FOUND, "NOT_FOUND", "org.agentfense.Error.NotFound" },
  { AF_ERROR_ALREADY_EXISTS, "ALREADY_EXISTS", "org.agentfense.Error.AlreadyExists" },
  { AF_ERROR_PERMISSION_DENIED, "PERMISSION_DENIED", "org.agentfense.Error.PermissionDenied" },
  { AF_ERROR_RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED", "org.agentfense.Error.ResourceExhausted" },
  { AF_ERROR_FAILED_PRECONDITION, "FAILED_PRECONDITION",
    "org.agentfense.Error.FailedPrecondition" },
  { AF_ERROR_ABORTED, "ABORTED", "org.agentfense.Error.Aborted" },
  { AF_ERROR_OUT_OF_RANGE, "OUT_OF_RANGE", "org.agentfense.Error.OutOfRange" },
  { AF_ERROR_UNIMPLEMENTED, "UNIMPLEMENTED", "org.agentfense.Error.Unimplemented" },
  { AF_ERROR_INTERNAL, "INTERNAL", "org.agentfense.Error.Internal" },
  { AF_ERROR_UNAVAILABLE, "UNAVAILABLE", "org.agentfense.Error.Unavailable" },
  { AF_ERROR_DATA_LOSS, "DATA_LOSS", "org.agentfense.Error.DataLoss" },
  { AF_ERROR_UNAUTHENTICATED, "UNAUTHENTICATED", "org.agentfense.Error.Unauthenticated" },
};

/* Registering the D-Bus mapping makes a remote AF_ERROR arrive as AF_ERROR
 * with the same code (g_dbus_error_register_error_domain). */
GQuark
af_error_quark (void)
{
  static gsize quark = 0;
  static GDBusErrorEntry entries[AF_ERROR_N_CODES - 1];

  if (g_once_init_enter (&quark)) {
    for (int i = 1; i < AF_ERROR_N_CODES; i++) {
      entries[i - 1].error_code = error_table[i].code;
      entries[i - 1].dbus_error_name = error_table[i].dbus_name;
    }
    gsize q = 0;
    g_dbus_error_register_error_domain ("af-error-quark", &q, entries, G_N_ELEMENTS (entries));
    g_once_init_leave (&quark, q);
  }
  return (GQuark)quark;
}

const char *
af_error_code_name (int code)
{
  if (code < 0 || code >= AF_ERROR_N_CODES)
    return NULL;
  return error_table[code].name;
}

const char *
af_error_code_dbus_name (int code)
{
  if (code <= 0 || code >= AF_ERROR_N_CODES)
    return NULL;
  return error_table[code].dbus_name;
}

AfErrorCode
af_error_code_from_grpc_status (int status)
{
  if (status <= 0 || status >= AF_ERROR_N_CODES)
    return AF_ERROR_UNKNOWN;
  return (AfErrorCode)status;
}

static int
io_error_to_status (int code)
{
  switch (code) {
  case G_IO_ERROR_NOT_FOUND:
    return AF_ERROR_NOT_FOUND;
  case G_IO_ERROR_EXISTS:
    return AF_ERROR_ALREADY_EXISTS;
  case G_IO_ERROR_PERMISSION_DENIED:
    return AF_ERROR_PERMISSION_DENIED;
  case G_IO_ERROR_INVALID_ARGUMENT:
  case G_IO_ERROR_INVALID_FILENAME:
  case G_IO_ERROR_FILENAME_TOO_LONG:
  case G_IO_ERROR_INVALID_DATA:
    return AF_ERROR_INVALID_ARGUMENT;
  case G_IO_ERROR_NO_SPACE:
  case G_IO_ERROR_TOO_MANY_OPEN_FILES:
  case G_IO_ERROR_MESSAGE_TOO_LARGE:
    return AF_ERROR_RESOURCE_EXHAUSTED;
  case G_IO_ERROR_CANCELLED:
    return AF_ERROR_CANCELLED;
  case G_IO_ERROR_TIMED_OUT:
    return AF_ERROR_DEADLINE_EXCEEDED;
  case G_IO_ERROR_NOT_SUPPORTED:
    return AF_ERROR_UNIMPLEMENTED;
  case G_IO_ERROR_IS_DIRECTORY:
  case G_IO_ERROR_NOT_DIRECTORY:
  case G_IO_ERROR_NOT_EMPTY:
  case G_IO_ERROR_BUSY:
    return AF_ERROR_FAILED_PRECONDITION;
  case G_IO_ERROR_CONNECTION_REFUSED:
  case G_IO_ERROR_NOT_CONNECTED:
  case G_IO_ERROR_BROKEN_PIPE:
  case G_IO_ERROR_CLOSED:
  case G_IO_ERROR_HOST_UNREACHABLE:
  case G_IO_ERROR_NETWORK_UNREACHABLE:
    return AF_ERROR_UNAVAILABLE;
  default:
    return AF_ERROR_INTERNAL;
  }
}

static int
file_error_to_status (int code)
{
  switch (code) {
  case G_FILE_ERROR_NOENT:
    return AF_ERROR_NOT_FOUND;
  case G_FILE_ERROR_EXIST:
    return AF_ERROR_ALREADY_EXISTS;
  case G_FILE_ERROR_ACCES:
  case G_FILE_ERROR_PERM:
  case G_FILE_ERROR_ROFS:
    return AF_ERROR_PERMISSION_DENIED;
  case G_FILE_ERROR_NAMETOOLONG:
  case G_FILE_ERROR_INVAL:
    return AF_ERROR_INVALID_ARGUMENT;
  case G_FILE_ERROR_NOSPC:
  case G_FILE_ERROR_MFILE:
  case G_FILE_ERROR_NFILE:
  case G_FILE_ERROR_NOMEM:
    return AF_ERROR_RESOURCE_EXHAUSTED;
  case G_FILE_ERROR_ISDIR:
  case G_FILE_ERROR_NOTDIR:
    return AF_ERROR_FAILED_PRECONDITION;
  default:
    return AF_ERROR_INTERNAL;
  }
}

int
af_error_to_grpc_status (const GError *error)
{
  if (error == NULL)
    return 0;
  if (error->domain == AF_ERROR)
    return (error->code > 0 && error->code < AF_ERROR_N_CODES) ? error->code : AF_ERROR_UNKNOWN;
  if (error->domain == G_IO_ERROR)
    return io_error_to_status (error->code);
  if (error->domain == G_FILE_ERROR)
    return file_error_to_status (error->code);
  if (error->domain == G_OPTION_ERROR || error->domain == G_KEY_FILE_ERROR)
    return AF_ERROR_INVALID_ARGUMENT;
  if (error->domain == G_DBUS_ERROR) {
    switch (error->code) {
    case G_DBUS_ERROR_NO_MEMORY:
    case G_DBUS_ERROR_LIMITS_EXCEEDED:
      return AF_ERROR_RESOURCE_EXHAUSTED;
    case G_DBUS_ERROR_ACCESS_DENIED:
    case G_DBUS_ERROR_AUTH_FAILED:
      return AF_ERROR_PERMISSION_DENIED;
    case G_DBUS_ERROR_TIMEOUT:
    case G_DBUS_ERROR_TIMED_OUT:
      return AF_ERROR_DEADLINE_EXCEEDED;
    case G_DBUS_ERROR_INVALID_ARGS:
      return AF_ERROR_INVALID_ARGUMENT;
    case G_DBUS_ERROR_UNKNOWN_METHOD:
    case G_DBUS_ERROR_NOT_SUPPORTED:
      return AF_ERROR_UNIMPLEMENTED;
    case G_DBUS_ERROR_DISCONNECTED:
    case G_DBUS_ERROR_NO_SERVER:
    case G_DBUS_ERROR_NO_REPLY:
      return AF_ERROR_UNAVAILABLE;
    default:
      return AF_ERROR_INTERNAL;
    }
  }
  return AF_ERROR_UNKNOWN;
}

GError *
af_error_normalize (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);
  return g_error_new_literal (AF_ERROR, af_error_to_grpc_status (error), error->message);
}
