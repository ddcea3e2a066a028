/* af-sandbox-calls.c — the unary SandboxService calls of AfClient:
 * sandboxes (create, get, list, start, stop, destroy), sessions (create,
 * get, list, destroy) and the change calls (get, commit, discard, update
 * permissions).
 *
 * Owns: building each request and picking the error context of each
 * call. Must never: cache anything between calls. Commands: af-exec-calls.c. */
#include "af-sdk-private.h"

#define METHOD(name) "/sandbox.v1.SandboxService/" name

/* ListSandboxes pages are followed to the end, but not forever. */
#define MAX_LIST_PAGES 10000

/* Requests that carry nothing but a sandbox_id or a session_id share one
 * layout; the descriptor says which message it is. */
typedef struct {
  ProtobufCMessage base;
  char *id;
} IdRequest;

static ProtobufCMessage *
call_with_id (AfClient *client, const char *method, const ProtobufCMessageDescriptor *request_desc,
              const ProtobufCMessageDescriptor *response_desc, const char *id, const char *what,
              AfCallContext context, GCancellable *cancellable, GError **error)
{
  if (!af_client_check_id (id, what, error))
    return NULL;
  IdRequest request = { PROTOBUF_C_MESSAGE_INIT (request_desc), (char *)id };
  ProtobufCMessage *response = NULL;
  if (!af_client_call_unary (client, method, &request.base, response_desc, &response, context, id,
                             cancellable, error))
    return NULL;
  return response;
}

static AfSandboxInfo *
sandbox_call (AfClient *client, const char *method, const ProtobufCMessageDescriptor *request_desc,
              const char *sandbox_id, GCancellable *cancellable, GError **error)
{
  g_autoptr (AfProtobufMessage) response =
      call_with_id (client, method, request_desc, &sandbox__v1__sandbox__descriptor, sandbox_id,
                    "sandbox_id", AF_CALL_SANDBOX, cancellable, error);
  if (response == NULL)
    return NULL;
  return af_sandbox_info_new_from_wire ((const Sandbox__V1__Sandbox *)response);
}

AfSdkMapEntry **
af_sdk_map_to_wire (GHashTable *map, const ProtobufCMessageDescriptor *descriptor, size_t *out_n)
{
  guint n = map != NULL ? g_hash_table_size (map) : 0;
  /* Pointers first, then the entries, in one block. */
  gpointer block = g_malloc0 ((n + 1) * sizeof (AfSdkMapEntry *) + n * sizeof (AfSdkMapEntry));
  AfSdkMapEntry **ptrs = block;
  AfSdkMapEntry *entries = (AfSdkMapEntry *)(ptrs + n + 1);
  *out_n = n;
  if (n == 0)
    return ptrs;
  GHashTableIter iter;
  gpointer key, value;
  guint i = 0;
  g_hash_table_iter_init (&iter, map);
  while (g_hash_table_iter_next (&iter, &key, &value)) {
    entries[i] = (AfSdkMapEntry){ PROTOBUF_C_MESSAGE_INIT (descriptor), key,
                                  value != NULL ? value : (char *)"" };
    ptrs[i] = &entries[i];
    i++;
  }
  return ptrs;
}

AfSandboxInfo *
af_client_create_sandbox (AfClient *client, const char *codebase_id, GPtrArray *rules,
                          AfSandboxOptions *options, GCancellable *cancellable, GError **error)
{
  if (!af_client_check_id (codebase_id, "codebase_id", error))
    return NULL;

  Sandbox__V1__CreateSandboxRequest request = SANDBOX__V1__CREATE_SANDBOX_REQUEST__INIT;
  Google__Protobuf__Duration expires = GOOGLE__PROTOBUF__DURATION__INIT;
  Sandbox__V1__ResourceLimits limits = SANDBOX__V1__RESOURCE_LIMITS__INIT;
  g_autofree Sandbox__V1__PermissionRule *storage = NULL;
  g_autofree Sandbox__V1__PermissionRule **wire_rules = af_sdk_rules_to_wire (rules, &storage);
  g_autofree AfSdkMapEntry **labels = NULL;

  request.codebase_id = (char *)codebase_id;
  request.n_permissions = rules != NULL ? rules->len : 0;
  request.permissions = wire_rules;
  if (options != NULL) {
    if (options->expires_in > 0) {
      expires.seconds = options->expires_in;
      request.expires_in = &expires;
    }
    labels = af_sdk_map_to_wire (options->labels,
                                 &sandbox__v1__create_sandbox_request__labels_entry__descriptor,
                                 &request.n_labels);
    request.labels = (Sandbox__V1__CreateSandboxRequest__LabelsEntry **)labels;
    request.runtime = (Sandbox__V1__RuntimeType)options->runtime;
    if (options->image != NULL)
      request.image = options->image;
    if (options->has_resources) {
      limits.memory_bytes = options->resources.memory_bytes;
      limits.cpu_quota = options->resources.cpu_quota;
      limits.cpu_shares = options->resources.cpu_shares;
      limits.pids_limit = options->resources.pids_limit;
      request.resources = &limits;
    }
    request.commit_mode = (Sandbox__V1__CommitMode)options->commit_mode;
  }

  g_autoptr (AfProtobufMessage) response = NULL;
  if (!af_client_call_unary (client, METHOD ("CreateSandbox"), &request.base,
                             &sandbox__v1__sandbox__descriptor, &response, AF_CALL_CODEBASE,
                             codebase_id, cancellable, error))
    return NULL;
  return af_sandbox_info_new_from_wire ((const Sandbox__V1__Sandbox *)response);
}

AfSandboxInfo *
af_client_get_sandbox (AfClient *client, const char *sandbox_id, GCancellable *cancellable,
                       GError **error)
{
  return sandbox_call (client, METHOD ("GetSandbox"), &sandbox__v1__get_sandbox_request__descriptor,
                       sandbox_id, cancellable, error);
}

GPtrArray *
af_client_list_sandboxes (AfClient *client, const char *codebase_id, GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (GPtrArray) out =
      g_ptr_array_new_with_free_func ((GDestroyNotify)af_sandbox_info_unref);
  g_autofree char *token = NULL;

  for (guint page = 0; page < MAX_LIST_PAGES; page++) {
    Sandbox__V1__ListSandboxesRequest request = SANDBOX__V1__LIST_SANDBOXES_REQUEST__INIT;
    if (codebase_id != NULL)
      request.codebase_id = (char *)codebase_id;
    if (token != NULL)
      request.page_token = token;
    g_autoptr (AfProtobufMessage) response = NULL;
    if (!af_client_call_unary (client, METHOD ("ListSandboxes"), &request.base,
                               &sandbox__v1__list_sandboxes_response__descriptor, &response,
                               AF_CALL_GENERIC, NULL, cancellable, error))
      return NULL;
    const Sandbox__V1__ListSandboxesResponse *list =
        (const Sandbox__V1__ListSandboxesResponse *)response;
    for (size_t i = 0; i < list->n_sandboxes; i++)
      g_ptr_array_add (out, af_sandbox_info_new_from_wire (list->sandboxes[i]));
    if (list->next_page_token == NULL || *list->next_page_token == '\0')
      return g_steal_pointer (&out);
    g_free (token);
    token = g_strdup (list->next_page_token);
  }
  g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_RESOURCE_LIMIT,
               "the server kept returning pages after %d of them", MAX_LIST_PAGES);
  return NULL;
}

AfSandboxInfo *
af_client_start_sandbox (AfClient *client, const char *sandbox_id, GCancellable *cancellable,
                         GError **error)
{
  return sandbox_call (client, METHOD ("StartSandbox"),
                       &sandbox__v1__start_sandbox_request__descriptor, sandbox_id, cancellable,
                       error);
}

AfSandboxInfo *
af_client_stop_sandbox (AfClient *client, const char *sandbox_id, GCancellable *cancellable,
                        GError **error)
{
  return sandbox_call (client, METHOD ("StopSandbox"),
                       &sandbox__v1__stop_sandbox_request__descriptor, sandbox_id, cancellable,
                       error);
}

gboolean
af_client_destroy_sandbox (AfClient *client, const char *sandbox_id, GCancellable *cancellable,
                           GError **error)
{
  g_autoptr (AfProtobufMessage) response = call_with_id (
      client, METHOD ("DestroySandbox"), &sandbox__v1__destroy_sandbox_request__descriptor,
      &sandbox__v1__empty__descriptor, sandbox_id, "sandbox_id", AF_CALL_SANDBOX, cancellable,
      error);
  return response != NULL;
}

AfSessionInfo *
af_client_create_session (AfClient *client, const char *sandbox_id, const char *shell,
                          GHashTable *env, GCancellable *cancellable, GError **error)
{
  if (!af_client_check_id (sandbox_id, "sandbox_id", error))
    return NULL;
  Sandbox__V1__CreateSessionRequest request = SANDBOX__V1__CREATE_SESSION_REQUEST__INIT;
  request.sandbox_id = (char *)sandbox_id;
  if (shell != NULL)
    request.shell = (char *)shell;
  g_autofree AfSdkMapEntry **entries = af_sdk_map_to_wire (
      env, &sandbox__v1__create_session_request__env_entry__descriptor, &request.n_env);
  request.env = (Sandbox__V1__CreateSessionRequest__EnvEntry **)entries;

  g_autoptr (AfProtobufMessage) response = NULL;
  if (!af_client_call_unary (client, METHOD ("CreateSession"), &request.base,
                             &sandbox__v1__session__descriptor, &response, AF_CALL_SANDBOX,
                             sandbox_id, cancellable, error))
    return NULL;
  return af_session_info_new_from_wire ((const Sandbox__V1__Session *)response);
}

AfSessionInfo *
af_client_get_session (AfClient *client, const char *session_id, GCancellable *cancellable,
                       GError **error)
{
  g_autoptr (AfProtobufMessage) response =
      call_with_id (client, METHOD ("GetSession"), &sandbox__v1__get_session_request__descriptor,
                    &sandbox__v1__session__descriptor, session_id, "session_id", AF_CALL_SESSION,
                    cancellable, error);
  if (response == NULL)
    return NULL;
  return af_session_info_new_from_wire ((const Sandbox__V1__Session *)response);
}

GPtrArray *
af_client_list_sessions (AfClient *client, const char *sandbox_id, GCancellable *cancellable,
                         GError **error)
{
  g_autoptr (AfProtobufMessage) response = call_with_id (
      client, METHOD ("ListSessions"), &sandbox__v1__list_sessions_request__descriptor,
      &sandbox__v1__list_sessions_response__descriptor, sandbox_id, "sandbox_id", AF_CALL_SANDBOX,
      cancellable, error);
  if (response == NULL)
    return NULL;
  const Sandbox__V1__ListSessionsResponse *list =
      (const Sandbox__V1__ListSessionsResponse *)response;
  GPtrArray *out = g_ptr_array_new_full (list->n_sessions, (GDestroyNotify)af_session_info_unref);
  for (size_t i = 0; i < list->n_sessions; i++)
    g_ptr_array_add (out, af_session_info_new_from_wire (list->sessions[i]));
  return out;
}

gboolean
af_client_destroy_session (AfClient *client, const char *session_id, GCancellable *cancellable,
                           GError **error)
{
  g_autoptr (AfProtobufMessage) response = call_with_id (
      client, METHOD ("DestroySession"), &sandbox__v1__destroy_session_request__descriptor,
      &sandbox__v1__empty__descriptor, session_id, "session_id", AF_CALL_SESSION, cancellable,
      error);
  return response != NULL;
}

static AfChanges *
changes_call (AfClient *client, const char *method, const ProtobufCMessageDescriptor *request_desc,
              const char *sandbox_id, GCancellable *cancellable, GError **error)
{
  g_autoptr (AfProtobufMessage) response =
      call_with_id (client, method, request_desc, &sandbox__v1__changes__descriptor, sandbox_id,
                    "sandbox_id", AF_CALL_SANDBOX, cancellable, error);
  if (response == NULL)
    return NULL;
  return af_changes_new_from_wire ((const Sandbox__V1__Changes *)response);
}

AfChanges *
af_client_get_changes (AfClient *client, const char *sandbox_id, GCancellable *cancellable,
                       GError **error)
{
  return changes_call (client, METHOD ("GetChanges"), &sandbox__v1__get_changes_request__descriptor,
                       sandbox_id, cancellable, error);
}

AfChanges *
af_client_commit_changes (AfClient *client, const char *sandbox_id, GCancellable *cancellable,
                          GError **error)
{
  return changes_call (client, METHOD ("CommitChanges"),
                       &sandbox__v1__commit_changes_request__descriptor, sandbox_id, cancellable,
                       error);
}

gboolean
af_client_discard_changes (AfClient *client, const char *sandbox_id, GCancellable *cancellable,
                           GError **error)
{
  g_autoptr (AfProtobufMessage) response = call_with_id (
      client, METHOD ("DiscardChanges"), &sandbox__v1__discard_changes_request__descriptor,
      &sandbox__v1__empty__descriptor, sandbox_id, "sandbox_id", AF_CALL_SANDBOX, cancellable,
      error);
  return response != NULL;
}

AfSandboxInfo *
af_client_update_permissions (AfClient *client, const char *sandbox_id, GPtrArray *rules,
                              GCancellable *cancellable, GError **error)
{
  if (!af_client_check_id (sandbox_id, "sandbox_id", error))
    return NULL;
  Sandbox__V1__UpdatePermissionsRequest request = SANDBOX__V1__UPDATE_PERMISSIONS_REQUEST__INIT;
  g_autofree Sandbox__V1__PermissionRule *storage = NULL;
  g_autofree Sandbox__V1__PermissionRule **wire_rules = af_sdk_rules_to_wire (rules, &storage);
  request.sandbox_id = (char *)sandbox_id;
  request.n_permissions = rules != NULL ? rules->len : 0;
  request.permissions = wire_rules;

  g_autoptr (AfProtobufMessage) response = NULL;
  if (!af_client_call_unary (client, METHOD ("UpdatePermissions"), &request.base,
                             &sandbox__v1__sandbox__descriptor, &response, AF_CALL_SANDBOX,
                             sandbox_id, cancellable, error))
    return NULL;
  return af_sandbox_info_new_from_wire ((const Sandbox__V1__Sandbox *)response);
}
