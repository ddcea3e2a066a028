/* service-private.h — what the two halves of supervisor mode share:
 * service.c (Exec, ExecStream, GetStats, Stop, the connection's life) and
 * service-session.c (the session methods). Not an interface for anything
 * else in af-exec. */
#pragma once

#include <gio/gunixfdlist.h>

#include "af-exec-dbus.h"
#include "af-fd-watch.h"
#include "options.h"
#include "sandbox.h"
#include "session.h"

typedef struct {
  AfConfig *config;
  AfSandbox *sb;
  AfExec1 *skeleton;
  GDBusConnection *conn;
  GMainLoop *loop;
  gboolean term_requested; /* SIGTERM/SIGINT seen, maybe before the loop */
  GHashTable *sessions;    /* id → AfSession (live, not destroyed) */
  guint n_running;
  guint64 n_run;
  guint64 next_stream_id;
  gboolean stopping;
  guint trim; /* pending give-back of freed heap, once idle */
  const char *sb_id;
  /* Callers' output pipe ends of answered commands, closed at the next
   * request or LATE_CLOSE_MS later (see complete). */
  GArray *late_fds;
  guint late_timer;
} Service;

/* One call in flight: the fds it owns and how to answer. */
typedef struct {
  Service *svc;
  /* NULL for a stream. Not a reference of ours: returning on it consumes
   * the one the skeleton handed over. */
  GDBusMethodInvocation *invocation;
  guint64 stream_id;
  int fds[3];                /* stdin, stdout, stderr (-1 when absent) */
  int lifeline;              /* the request's "lifeline" fd, -1 when absent */
  AfFdWatch *lifeline_watch; /* sessions: the watch that ends the session */
  char *session_id;          /* sessions: which one the lifeline ends */
  char **argv;
  char **env;
} Call;

/* The fds that came with a message, taken out of its list as they are
 * (no duplicate of each, no close of the original after the call): the
 * message is done with them once its handler runs. A handle named twice
 * gets a duplicate the second time; what no handle named is closed. */
typedef struct {
  int *fds;
  int n;
  gboolean *used;
} FdSet;

/* A call of @svc with no fds yet (-1 everywhere). */
Call *service_call_new (Service *svc);
void service_call_free (Call *c);
/* Answer @c with @result (a floating a{sv}) or @error, and free it. */
void service_complete (Call *c, GVariant *result, const GError *error);
GVariant *service_result_to_variant (const AfExecResult *r, gboolean session, gboolean restarted);
/* Close the output pipe ends of answered calls now (see service_complete). */
void service_close_late_fds (Service *svc);

void service_fd_set_init (FdSet *set, GUnixFDList *list);
void service_fd_set_clear (FdSet *set);
gboolean service_take_fds (FdSet *set, const gint32 *handles, int n, Call *c, GError **error);
gboolean service_take_lifeline (GVariant *request, FdSet *set, Call *c, GError **error);
gboolean service_check_capacity (Service *svc, GError **error);
char **service_env_from_variant (GVariant *dict);
gint64 service_lookup_u64 (GVariant *dict, const char *key, gint64 dflt);

/* service-session.c: the session methods' handlers on @svc's skeleton. */
void service_connect_sessions (Service *svc);
