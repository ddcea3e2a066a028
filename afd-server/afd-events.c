/* afd-events.c — see afd-events.h. */
#include "afd-events.h"

#include "afd-sandbox-service.h"
#include "afd-sandboxes-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000
#define PRUNE_BATCH 1000
#define PRUNE_INTERVAL_S 600

/* ---- ListEvents ---- */

/* Who may read what: a caller scoped to its uid reads the events of its own
 * sandboxes and codebases (which must still exist); root and TCP callers
 * read everything, including the history of what is gone. */
static gboolean
check_access (AfdRpc *rpc, const AfdCaller *caller, const char *sandbox_id, const char *codebase_id,
              GError **error)
{
  if (*sandbox_id && !af_id_validate (AF_ID_SANDBOX, sandbox_id, "sandbox_id", error))
    return FALSE;
  if (*codebase_id && !af_id_validate (AF_ID_CODEBASE, codebase_id, "codebase_id", error))
    return FALSE;
  if (!afd_caller_is_scoped (caller))
    return TRUE;
  if (!*sandbox_id && !*codebase_id) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_PERMISSION_DENIED,
                         "every event is for root to read: name a sandbox_id or codebase_id");
    return FALSE;
  }
  if (*sandbox_id && afd_sandboxes_find_for (rpc->sandboxes, caller, sandbox_id, error) == NULL)
    return FALSE;
  if (*codebase_id) {
    g_autoptr (AfdCodebase) cb = afd_codebases_get (rpc->codebases, caller, codebase_id, error);
    if (cb == NULL)
      return FALSE;
  }
  return TRUE;
}

static void
list_events (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  AfdRpc *rpc = user_data;
  const Sandbox__V1__ListEventsRequest *req = (const Sandbox__V1__ListEventsRequest *)request;
  gint64 started = g_get_monotonic_time ();
  g_autoptr (GError) error = NULL;
  AfdCaller caller;
  if (!afd_rpc_caller (rpc, call, &caller, &error) ||
      !check_access (rpc, &caller, req->sandbox_id, req->codebase_id, &error)) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  if (req->page_size < 0) {
    g_set_error_literal (&error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "page_size must not be negative");
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  int page = req->page_size == 0 ? PAGE_DEFAULT : MIN (req->page_size, PAGE_MAX);
  gint64 after = 0;
  if (req->page_token[0]) {
    char *end = NULL;
    errno = 0;
    after = g_ascii_strtoll (req->page_token, &end, 10);
    if (errno || *end || after < 0) {
      g_set_error_literal (&error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                           "page_token is not one this server gave");
      afd_rpc_finish (call, NULL, error, started);
      return;
    }
  }
  gint64 since = 0;
  if (req->since)
    since = req->since->seconds * G_USEC_PER_SEC + req->since->nanos / 1000;
  /* Commands' rows still queued come first (afd_db_defer_event). */
  if (!afd_db_flush_events (rpc->sandboxes->db, &error)) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  g_autoptr (GPtrArray) rows = afd_rows_event_list (
      rpc->sandboxes->db, req->sandbox_id[0] ? req->sandbox_id : NULL,
      req->codebase_id[0] ? req->codebase_id : NULL, since, after, page + 1, &error);
  if (rows == NULL) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  g_autofree char *next = NULL;
  if ((int)rows->len > page) {
    g_ptr_array_set_size (rows, (guint)page);
    const AfdEventRow *last = g_ptr_array_index (rows, rows->len - 1);
    next = g_strdup_printf ("%" G_GINT64_FORMAT, last->id);
  }
  guint n = rows->len;
  g_autofree Sandbox__V1__Event *ev = g_new0 (Sandbox__V1__Event, n + 1);
  g_autofree Sandbox__V1__Event **ptrs = g_new0 (Sandbox__V1__Event *, n + 1);
  g_autofree Google__Protobuf__Timestamp *ts = g_new0 (Google__Protobuf__Timestamp, n + 1);
  for (guint i = 0; i < n; i++) {
    const AfdEventRow *r = g_ptr_array_index (rows, i);
    sandbox__v1__event__init (&ev[i]);
    ev[i].id = r->id;
    afd_rpc_timestamp (&ts[i], r->time_us);
    ev[i].time = &ts[i];
    ev[i].actor = r->actor;
    ev[i].action = r->action;
    ev[i].codebase_id = r->codebase_id;
    ev[i].sandbox_id = r->sandbox_id;
    ev[i].session_id = r->session_id;
    ev[i].detail = r->detail;
    ptrs[i] = &ev[i];
  }
  Sandbox__V1__ListEventsResponse out = SANDBOX__V1__LIST_EVENTS_RESPONSE__INIT;
  out.n_events = n;
  out.events = ptrs;
  out.next_page_token = next ? next : "";
  afd_rpc_finish (call, &out.base, NULL, started);
}

static const AfGrpcMethod methods[] = {
  { "/sandbox.v1.SandboxService/ListEvents", AF_GRPC_UNARY,
    &sandbox__v1__list_events_request__descriptor, &sandbox__v1__list_events_response__descriptor,
    list_events },
};

const AfGrpcMethod *
afd_events_service_methods (gsize *out_n)
{
  *out_n = G_N_ELEMENTS (methods);
  return methods;
}

/* ---- retention ---- */

struct _AfdEventRetention {
  AfdDb *db; /* borrowed */
  gint64 keep_count, max_age_us;
  guint idle, timer;
};

/* One batch; TRUE when more may be due. */
static gboolean
prune_batch (AfdEventRetention *r, int *out_deleted, GError **error)
{
  gint64 before = r->max_age_us > 0 ? afd_db_now_us () - r->max_age_us : 0;
  if (!afd_db_flush_events (r->db, error))
    return FALSE;
  if (!afd_rows_event_prune (r->db, r->keep_count, before, PRUNE_BATCH, out_deleted, error))
    return FALSE;
  return *out_deleted == PRUNE_BATCH;
}

static gboolean
on_prune_idle (gpointer data)
{
  AfdEventRetention *r = data;
  g_autoptr (GError) error = NULL;
  int n = 0;
  if (prune_batch (r, &n, &error))
    return G_SOURCE_CONTINUE; /* the next batch after other work had a turn */
  if (error)
    g_warning ("pruning the event history: %s", error->message);
  r->idle = 0;
  return G_SOURCE_REMOVE;
}

static gboolean
on_prune_timer (gpointer data)
{
  AfdEventRetention *r = data;
  if (r->idle == 0)
    r->idle = g_idle_add_full (G_PRIORITY_LOW, on_prune_idle, r, NULL);
  return G_SOURCE_CONTINUE;
}

AfdEventRetention *
afd_event_retention_new (AfdDb *db, const AfdSettings *settings)
{
  if (settings->events_max_count <= 0 && settings->events_max_age_ms <= 0)
    return NULL;
  AfdEventRetention *r = g_new0 (AfdEventRetention, 1);
  r->db = db;
  r->keep_count = settings->events_max_count;
  r->max_age_us = settings->events_max_age_ms * 1000;
  r->timer = g_timeout_add_seconds (PRUNE_INTERVAL_S, on_prune_timer, r);
  /* What is due at start is pruned before anything is served: a server
   * restarted with a lower bound never answers ListEvents with more. Later
   * prunes run in batches at idle priority, after other work. */
  g_autoptr (GError) error = NULL;
  if (afd_event_retention_run (r, &error) < 0)
    g_warning ("pruning the event history: %s", error->message);
  return r;
}

gint64
afd_event_retention_run (AfdEventRetention *r, GError **error)
{
  gint64 total = 0;
  int n = 0;
  gboolean more;
  do {
    more = prune_batch (r, &n, error);
    total += n;
  } while (more);
  return error && *error ? -1 : total;
}

void
afd_event_retention_free (AfdEventRetention *r)
{
  if (r == NULL)
    return;
  g_clear_handle_id (&r->idle, g_source_remove);
  g_clear_handle_id (&r->timer, g_source_remove);
  g_free (r);
}

/* ---- afd-server --events ---- */

gboolean
afd_events_parse_since (const char *text, gint64 *out_us, GError **error)
{
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (text, utc);
  if (dt) {
    *out_us = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
    return TRUE;
  }
  char *end = NULL;
  errno = 0;
  gint64 n = g_ascii_strtoll (text, &end, 10);
  if (errno == 0 && end != text && n >= 0 && n < G_MAXINT64 / G_USEC_PER_SEC / 86400) {
    static const struct {
      const char *suffix;
      gint64 seconds;
    } units[] = { { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 } };
    if (*end == '\0') {
      *out_us = n * G_USEC_PER_SEC; /* epoch seconds */
      return TRUE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
      if (g_str_equal (end, units[i].suffix)) {
        *out_us = afd_db_now_us () - n * units[i].seconds * G_USEC_PER_SEC;
        return TRUE;
      }
  }
  g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
               "--since: expected an ISO 8601 time (2026-01-31T12:00:00Z), epoch seconds or an "
               "age such as 15m, 2h, 7d; got '%s'",
               text);
  return FALSE;
}

static const char *
or_dash (const char *s)
{
  return s && *s ? s : "-";
}

gboolean
afd_events_print (const char *db_path, const char *sandbox_id, gint64 since_us, GError **error)
{
  if (sandbox_id && !af_id_validate (AF_ID_SANDBOX, sandbox_id, "--sandbox", error))
    return FALSE;
  g_autoptr (AfdDb) db = afd_db_open_readonly (db_path, error);
  if (db == NULL)
    return FALSE;
  gint64 after = 0;
  for (;;) {
    /* Pages, so a reader never pins one WAL snapshot for the whole table
     * while the server writes. */
    g_autoptr (GPtrArray) rows =
        afd_rows_event_list (db, sandbox_id, NULL, since_us, after, PAGE_MAX, error);
    if (rows == NULL)
      return FALSE;
    for (guint i = 0; i < rows->len; i++) {
      const AfdEventRow *r = g_ptr_array_index (rows, i);
      g_autoptr (GDateTime) s = g_date_time_new_from_unix_utc (r->time_us / G_USEC_PER_SEC);
      g_autoptr (GDateTime) t = s ? g_date_time_add (s, r->time_us % G_USEC_PER_SEC) : NULL;
      g_autofree char *when = t ? g_date_time_format_iso8601 (t) : g_strdup ("?");
      /* Tab-separated: time, actor, action, codebase, sandbox, session,
       * detail (the detail last: a command may hold anything but a tab
       * is escaped by nobody, so it goes where it cannot shift a column). */
      printf ("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", when, or_dash (r->actor), or_dash (r->action),
              or_dash (r->codebase_id), or_dash (r->sandbox_id), or_dash (r->session_id),
              r->detail);
      after = r->id;
    }
    if (rows->len < PAGE_MAX)
      break;
  }
  if (fflush (stdout) != 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "writing the events: %s", g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}
