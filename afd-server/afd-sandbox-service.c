/* afd-sandbox-service.c — SandboxService of sandbox.v1: the lifecycle
 * handlers (Create/Get/List/Start/Stop/Destroy) and the delta additions
 * (GetChanges, CommitChanges, DiscardChanges, UpdatePermissions).
 *
 * Owns: translating requests into afd-sandboxes operations and rows into
 * messages. Must never decide anything itself: validation, state and limits
 * live in afd-sandboxes*.c. Exec and sessions: afd-exec-service.c. */
#include "afd-sandbox-service.h"

#include "google/protobuf/duration.pb-c.h"

/* A Sandbox message and the storage its pointers borrow. */
typedef struct {
  Sandbox__V1__Sandbox msg;
  Google__Protobuf__Timestamp created, started, stopped, expires;
  Sandbox__V1__ResourceLimits resources;
  Sandbox__V1__PermissionRule *rules;
  Sandbox__V1__PermissionRule **rule_ptrs;
  Sandbox__V1__Sandbox__LabelsEntry *labels;
  Sandbox__V1__Sandbox__LabelsEntry **label_ptrs;
  GVariant *label_variant;
} SandboxMsg;

static void
afd_sandbox_msg_fill (SandboxMsg *out, const AfdSandboxRow *row)
{
  memset (out, 0, sizeof *out);
  sandbox__v1__sandbox__init (&out->msg);
  out->msg.id = row->id;
  out->msg.codebase_id = row->codebase_id;
  out->msg.status = (Sandbox__V1__SandboxStatus)row->status;
  out->msg.runtime = (Sandbox__V1__RuntimeType)row->runtime;
  out->msg.image = row->image;
  out->msg.error = row->error;
  out->msg.commit_mode = (Sandbox__V1__CommitMode)row->commit_mode;
  out->msg.conflict_policy = (Sandbox__V1__ConflictPolicy)row->conflict_policy;
  afd_rpc_timestamp (&out->created, row->created_us);
  out->msg.created_at = &out->created;
  if (row->started_us) {
    afd_rpc_timestamp (&out->started, row->started_us);
    out->msg.started_at = &out->started;
  }
  if (row->stopped_us) {
    afd_rpc_timestamp (&out->stopped, row->stopped_us);
    out->msg.stopped_at = &out->stopped;
  }
  if (row->expires_us) {
    afd_rpc_timestamp (&out->expires, row->expires_us);
    out->msg.expires_at = &out->expires;
  }
  sandbox__v1__resource_limits__init (&out->resources);
  out->resources.memory_bytes = row->memory_bytes;
  out->resources.cpu_quota = row->cpu_quota;
  out->resources.cpu_shares = row->cpu_shares;
  out->resources.pids_limit = row->pids_limit;
  out->msg.resources = &out->resources;
  guint n = row->rules->len;
  out->rules = g_new0 (Sandbox__V1__PermissionRule, n + 1);
  out->rule_ptrs = g_new0 (Sandbox__V1__PermissionRule *, n + 1);
  for (guint i = 0; i < n; i++) {
    const AfRule *r = &g_array_index (row->rules, AfRule, i);
    sandbox__v1__permission_rule__init (&out->rules[i]);
    out->rules[i].pattern = r->pattern;
    out->rules[i].type = (Sandbox__V1__PatternType)af_pattern_type_to_wire (r->type);
    out->rules[i].permission = (Sandbox__V1__Permission)af_level_to_wire (r->level);
    out->rules[i].priority = r->priority;
    out->rule_ptrs[i] = &out->rules[i];
  }
  out->msg.n_permissions = n;
  out->msg.permissions = out->rule_ptrs;
  out->label_variant = g_variant_parse (G_VARIANT_TYPE ("a{ss}"), row->labels, NULL, NULL, NULL);
  gsize nl = out->label_variant ? g_variant_n_children (out->label_variant) : 0;
  out->labels = g_new0 (Sandbox__V1__Sandbox__LabelsEntry, nl + 1);
  out->label_ptrs = g_new0 (Sandbox__V1__Sandbox__LabelsEntry *, nl + 1);
  for (gsize i = 0; i < nl; i++) {
    const char *k, *v;
    g_variant_get_child (out->label_variant, i, "{&s&s}", &k, &v);
    sandbox__v1__sandbox__labels_entry__init (&out->labels[i]);
    out->labels[i].key = (char *)k;
    out->labels[i].value = (char *)v;
    out->label_ptrs[i] = &out->labels[i];
  }
  out->msg.n_labels = nl;
  out->msg.labels = out->label_ptrs;
}

static void
afd_sandbox_msg_clear (SandboxMsg *m)
{
  g_free (m->rules);
  g_free (m->rule_ptrs);
  g_free (m->labels);
  g_free (m->label_ptrs);
  if (m->label_variant)
    g_variant_unref (m->label_variant);
}

/* Wire rules → ours; INVALID_ARGUMENT naming the rule. The patterns are
 * borrowed from the request. */
static GArray *
afd_rules_from_wire (Sandbox__V1__PermissionRule **rules, size_t n, GError **error)
{
  if (n > AF_POLICY_MAX_RULES) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "permissions: %zu rules, at most %d",
                 n, AF_POLICY_MAX_RULES);
    return NULL;
  }
  g_autoptr (GArray) out = g_array_sized_new (FALSE, TRUE, sizeof (AfRule), (guint)n);
  for (size_t i = 0; i < n; i++) {
    AfRule r = { rules[i]->pattern, AF_PATTERN_GLOB, AF_LEVEL_NONE, rules[i]->priority };
    if (!af_pattern_type_from_wire (rules[i]->type, &r.type, error) ||
        !af_level_from_wire (rules[i]->permission, &r.level, error)) {
      g_prefix_error (error, "permissions: rule %zu (%s): ", i, rules[i]->pattern);
      return NULL;
    }
    g_array_append_val (out, r);
  }
  return g_steal_pointer (&out);
}

#define BEGIN_CALL(req_type)                                                                       \
  AfdRpc *rpc = user_data;                                                                         \
  const req_type *req = (const req_type *)request;                                                 \
  gint64 started = g_get_monotonic_time ();                                                        \
  g_autoptr (GError) error = NULL;                                                                 \
  AfdCaller caller;                                                                                \
  if (!afd_rpc_caller (rpc, call, &caller, &error)) {                                              \
    afd_rpc_finish (call, NULL, error, started);                                                   \
    return;                                                                                        \
  }

static void
finish_row (AfGrpcCall *call, const AfdSandboxRow *row, const GError *error, gint64 started)
{
  if (row == NULL) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  SandboxMsg out;
  afd_sandbox_msg_fill (&out, row);
  afd_rpc_finish (call, &out.msg.base, NULL, started);
  afd_sandbox_msg_clear (&out);
}

static void
create_sandbox (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__CreateSandboxRequest);
  g_autoptr (GArray) rules = afd_rules_from_wire (req->permissions, req->n_permissions, &error);
  if (rules == NULL) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{ss}"));
  for (size_t i = 0; i < req->n_labels; i++)
    g_variant_builder_add (&b, "{ss}", req->labels[i]->key, req->labels[i]->value);
  g_autoptr (GVariant) labels = g_variant_ref_sink (g_variant_builder_end (&b));
  AfdSandboxCreate c = {
    .codebase_id = req->codebase_id,
    .rules = (const AfRule *)(gpointer)rules->data,
    .n_rules = rules->len,
    .labels = labels,
    .runtime = req->runtime,
    .image = req->image,
    .commit_mode = req->commit_mode,
    .conflict_policy = req->conflict_policy,
  };
  if (req->expires_in) {
    if (req->expires_in->seconds < 0 || req->expires_in->nanos < 0 ||
        req->expires_in->seconds > G_MAXINT64 / G_USEC_PER_SEC / 2) {
      g_set_error_literal (&error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                           "expires_in must not be negative");
      afd_rpc_finish (call, NULL, error, started);
      return;
    }
    c.expires_in_us = req->expires_in->seconds * G_USEC_PER_SEC + req->expires_in->nanos / 1000;
  }
  if (req->resources) {
    c.memory_bytes = req->resources->memory_bytes;
    c.cpu_quota = req->resources->cpu_quota;
    c.cpu_shares = req->resources->cpu_shares;
    c.pids_limit = req->resources->pids_limit;
  }
  g_autoptr (AfdSandboxRow) row = afd_sandboxes_create (rpc->sandboxes, &caller, &c, &error);
  finish_row (call, row, error, started);
}

static void
get_sandbox (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__GetSandboxRequest);
  g_autoptr (AfdSandboxRow) row =
      afd_sandboxes_get (rpc->sandboxes, &caller, req->sandbox_id, &error);
  finish_row (call, row, error, started);
}

static void
list_sandboxes (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__ListSandboxesRequest);
  g_autofree char *next = NULL;
  g_autoptr (GPtrArray) rows = afd_sandboxes_list (rpc->sandboxes, &caller, req->codebase_id,
                                                   req->page_size, req->page_token, &next, &error);
  if (rows == NULL) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  g_autofree SandboxMsg *msgs = g_new0 (SandboxMsg, rows->len + 1);
  g_autofree Sandbox__V1__Sandbox **ptrs = g_new0 (Sandbox__V1__Sandbox *, rows->len + 1);
  for (guint i = 0; i < rows->len; i++) {
    afd_sandbox_msg_fill (&msgs[i], g_ptr_array_index (rows, i));
    ptrs[i] = &msgs[i].msg;
  }
  Sandbox__V1__ListSandboxesResponse out = SANDBOX__V1__LIST_SANDBOXES_RESPONSE__INIT;
  out.n_sandboxes = rows->len;
  out.sandboxes = ptrs;
  out.next_page_token = next;
  afd_rpc_finish (call, &out.base, NULL, started);
  for (guint i = 0; i < rows->len; i++)
    afd_sandbox_msg_clear (&msgs[i]);
}

typedef struct {
  AfGrpcCall *call;
  gint64 started;
} Pending;

static Pending *
pending_new (AfGrpcCall *call, gint64 started)
{
  Pending *p = g_new0 (Pending, 1);
  p->call = af_grpc_call_ref (call);
  p->started = started;
  return p;
}

static void
on_row_done (AfdSandboxRow *row, const GError *error, gpointer data)
{
  Pending *p = data;
  finish_row (p->call, row, error, p->started);
  af_grpc_call_unref (p->call);
  g_free (p);
}

static void
on_empty_done (AfdSandboxRow *row, const GError *error, gpointer data)
{
  Pending *p = data;
  afd_rpc_finish_empty (p->call, error, p->started);
  af_grpc_call_unref (p->call);
  g_free (p);
}

static void
start_sandbox (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__StartSandboxRequest);
  afd_sandboxes_start (rpc->sandboxes, &caller, req->sandbox_id, on_row_done,
                       pending_new (call, started));
}

static void
stop_sandbox (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__StopSandboxRequest);
  afd_sandboxes_stop (rpc->sandboxes, &caller, req->sandbox_id, on_row_done,
                      pending_new (call, started));
}

static void
destroy_sandbox (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__DestroySandboxRequest);
  afd_sandboxes_destroy (rpc->sandboxes, &caller, req->sandbox_id, on_empty_done,
                         pending_new (call, started));
}

static void
update_permissions (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__UpdatePermissionsRequest);
  g_autoptr (GArray) rules = afd_rules_from_wire (req->permissions, req->n_permissions, &error);
  if (rules == NULL) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  afd_sandboxes_update_rules (rpc->sandboxes, &caller, req->sandbox_id,
                              (const AfRule *)(gpointer)rules->data, rules->len, on_row_done,
                              pending_new (call, started));
}

/* ---- changes ---- */

static void
on_changes (GVariant *changes, const GError *error, gpointer data)
{
  Pending *p = data;
  Sandbox__V1__Changes out = SANDBOX__V1__CHANGES__INIT;
  const char **lists[4] = { NULL };
  if (changes && !error) {
    gsize n = g_variant_n_children (changes);
    for (gsize k = 0; k < n && k < 4; k++) {
      g_autoptr (GVariant) child = g_variant_get_child_value (changes, k);
      gsize len = 0;
      lists[k] = g_variant_get_strv (child, &len);
      switch (k) {
      case 0:
        out.n_added = len;
        out.added = (char **)lists[k];
        break;
      case 1:
        out.n_modified = len;
        out.modified = (char **)lists[k];
        break;
      case 2:
        out.n_deleted = len;
        out.deleted = (char **)lists[k];
        break;
      default:
        out.n_conflicts = len;
        out.conflicts = (char **)lists[k];
      }
    }
  }
  afd_rpc_finish (p->call, error ? NULL : &out.base, error, p->started);
  for (int k = 0; k < 4; k++)
    g_free (lists[k]);
  af_grpc_call_unref (p->call);
  g_free (p);
}

static void
on_discarded (GVariant *changes, const GError *error, gpointer data)
{
  on_empty_done (NULL, error, data);
}

#define RUNNING_SANDBOX(req)                                                                       \
  g_autoptr (AfdSandbox) sb =                                                                      \
      afd_sandboxes_lookup_running (rpc->sandboxes, &caller, (req)->sandbox_id, &error);           \
  if (sb == NULL) {                                                                                \
    afd_rpc_finish (call, NULL, error, started);                                                   \
    return;                                                                                        \
  }

static void
get_changes (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__GetChangesRequest);
  RUNNING_SANDBOX (req);
  afd_sandbox_get_changes (sb, on_changes, pending_new (call, started));
}

static void
commit_changes (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__CommitChangesRequest);
  RUNNING_SANDBOX (req);
  afd_sandbox_commit (sb, &caller, on_changes, pending_new (call, started));
}

static void
discard_changes (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__DiscardChangesRequest);
  RUNNING_SANDBOX (req);
  afd_sandbox_discard (sb, on_discarded, pending_new (call, started));
}

#define METHOD(name, kind, req, resp, fn)                                                          \
  {                                                                                                \
    "/sandbox.v1.SandboxService/" name, kind, &req##__descriptor, &resp##__descriptor, fn          \
  }

static const AfGrpcMethod methods[] = {
  METHOD ("CreateSandbox", AF_GRPC_UNARY, sandbox__v1__create_sandbox_request, sandbox__v1__sandbox,
          create_sandbox),
  METHOD ("GetSandbox", AF_GRPC_UNARY, sandbox__v1__get_sandbox_request, sandbox__v1__sandbox,
          get_sandbox),
  METHOD ("ListSandboxes", AF_GRPC_UNARY, sandbox__v1__list_sandboxes_request,
          sandbox__v1__list_sandboxes_response, list_sandboxes),
  METHOD ("StartSandbox", AF_GRPC_UNARY, sandbox__v1__start_sandbox_request, sandbox__v1__sandbox,
          start_sandbox),
  METHOD ("StopSandbox", AF_GRPC_UNARY, sandbox__v1__stop_sandbox_request, sandbox__v1__sandbox,
          stop_sandbox),
  METHOD ("DestroySandbox", AF_GRPC_UNARY, sandbox__v1__destroy_sandbox_request, sandbox__v1__empty,
          destroy_sandbox),
  METHOD ("GetChanges", AF_GRPC_UNARY, sandbox__v1__get_changes_request, sandbox__v1__changes,
          get_changes),
  METHOD ("CommitChanges", AF_GRPC_UNARY, sandbox__v1__commit_changes_request, sandbox__v1__changes,
          commit_changes),
  METHOD ("DiscardChanges", AF_GRPC_UNARY, sandbox__v1__discard_changes_request, sandbox__v1__empty,
          discard_changes),
  METHOD ("UpdatePermissions", AF_GRPC_UNARY, sandbox__v1__update_permissions_request,
          sandbox__v1__sandbox, update_permissions),
};

const AfGrpcMethod *
afd_sandbox_service_methods (gsize *out_n)
{
  *out_n = G_N_ELEMENTS (methods);
  return methods;
}
