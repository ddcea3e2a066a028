/* docker-engine.c — see docker-engine.h. Each call is one HTTP request on
 * its own connection (docker-http.c) with its own deadline; the engine's
 * error text ({"message": …}) is passed on inside our own message. */
#include "docker-engine.h"

#include "af-error.h"
#include "docker-http.h"

/* The engine's own work for a create or start: 3–5 s measured on a
 * loaded 2-vCPU VM; a minute means it is stuck, not slow. */
#define REQUEST_TIMEOUT_US (60 * G_USEC_PER_SEC)
#define MAX_MESSAGE 512 /* bytes of the engine's error text we quote */

struct _AfDockerEngine {
  char *socket;
  char version[16]; /* "v1.41", or the engine's minimum once it refused ours */
  gboolean raised;  /* at most once per engine */
  gboolean podman;  /* its /_ping answered with Server: Libpod/… */
};

AfDockerEngine *
af_docker_engine_new (const char *docker_host, GError **error)
{
  AfDockerEngine *engine;
  const char *path = AF_DOCKER_DEFAULT_SOCKET;

  if (docker_host != NULL && *docker_host != '\0') {
    if (!g_str_has_prefix (docker_host, "unix://") || docker_host[7] != '/') {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "DOCKER_HOST=%s is not supported: af-exec speaks to the engine only over a "
                   "local unix socket (unix:///path/to/docker.sock)",
                   docker_host);
      return NULL;
    }
    path = docker_host + strlen ("unix://");
  }
  engine = g_new0 (AfDockerEngine, 1);
  engine->socket = g_strdup (path);
  g_strlcpy (engine->version, AF_DOCKER_API_VERSION, sizeof engine->version);
  return engine;
}

void
af_docker_engine_free (AfDockerEngine *engine)
{
  if (engine == NULL)
    return;
  g_free (engine->socket);
  g_free (engine);
}

const char *
af_docker_engine_socket (AfDockerEngine *engine)
{
  return engine->socket;
}

/* @name of @root when it is an object with a string there; else NULL. */
static const char *
string_member (JsonNode *root, const char *name)
{
  JsonNode *m;
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  m = json_object_get_member (json_node_get_object (root), name);
  if (m == NULL || !JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (m);
}

/* The engine's explanation in a response body: the "message" member of a
 * JSON error, else the text itself; bounded and made valid UTF-8. */
static char *
engine_message (const AfHttpResponse *resp)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *text = NULL;
  const char *msg = NULL;

  if (resp->body->len == 0)
    return g_strdup_printf ("HTTP status %u", resp->status);
  if (json_parser_load_from_data (parser, (const char *)resp->body->data, resp->body->len, NULL))
    msg = string_member (json_parser_get_root (parser), "message");
  if (msg != NULL)
    text = g_utf8_make_valid (msg, -1);
  else
    text = g_utf8_make_valid ((const char *)resp->body->data, resp->body->len);
  g_strstrip (text);
  if (strlen (text) > MAX_MESSAGE) {
    char *cut = g_utf8_find_prev_char (text, text + MAX_MESSAGE);
    *(cut ? cut : text + MAX_MESSAGE) = '\0';
  }
  return g_steal_pointer (&text);
}

/* An engine that no longer serves our pinned version answers 400 "client
 * version 1.41 is too old. Minimum supported API version is 1.44, …"
 * (Docker 29 and later). The calls we make kept their meaning in every
 * later version, so the engine's minimum is taken, once. Returns whether
 * the version was raised. */
static gboolean
raise_version (AfDockerEngine *engine, const AfHttpResponse *resp)
{
  static const char marker[] = "Minimum supported API version is ";
  g_autofree char *msg = NULL;
  const char *v;
  gsize n;

  if (engine->raised || resp->status != 400)
    return FALSE;
  msg = engine_message (resp);
  v = strstr (msg, marker);
  if (v == NULL || strstr (msg, "too old") == NULL)
    return FALSE;
  v += strlen (marker);
  n = strspn (v, "0123456789.");
  while (n > 0 && v[n - 1] == '.') /* the sentence's full stop */
    n--;
  if (n < 3 || n > 8 || !g_ascii_isdigit (v[0]) || memchr (v, '.', n) == NULL)
    return FALSE;
  engine->raised = TRUE;
  g_snprintf (engine->version, sizeof engine->version, "v%.*s", (int)n, v);
  return TRUE;
}

/* One request; an unreachable engine is reported as such. */
static gboolean
call (AfDockerEngine *engine, const char *method, const char *target, const char *json,
      AfHttpResponse *resp, GError **error)
{
  for (;;) {
    g_autofree char *path = g_strdup_printf ("/%s%s", engine->version, target);
    g_autoptr (GError) local = NULL;
    AfHttpLimits limits = AF_HTTP_LIMITS_DEFAULT;

    if (af_http_request (engine->socket, method, path, "application/json", json,
                         json ? strlen (json) : 0, g_get_monotonic_time () + REQUEST_TIMEOUT_US,
                         &limits, resp, &local)) {
      if (raise_version (engine, resp))
        continue;
      return TRUE;
    }
    if (g_error_matches (local, AF_ERROR, AF_ERROR_UNAVAILABLE))
      g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE,
                   "no Docker engine answers at %s (is dockerd, or podman system service, "
                   "running? DOCKER_HOST=unix://PATH names another socket): %s",
                   engine->socket, local->message);
    else
      g_set_error (error, AF_ERROR, local->code, "Docker engine at %s: %s", engine->socket,
                   local->message);
    return FALSE;
  }
}

gboolean
af_docker_engine_ping (AfDockerEngine *engine, GError **error)
{
  g_auto (AfHttpResponse) resp = { 0 };

  if (!call (engine, "GET", "/_ping", NULL, &resp, error))
    return FALSE;
  if (resp.status != 200) {
    g_autofree char *msg = engine_message (&resp);
    g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE,
                 "the Docker engine at %s is not healthy (/_ping): %s", engine->socket, msg);
    return FALSE;
  }
  engine->podman = resp.server != NULL && g_str_has_prefix (resp.server, "Libpod/");
  return TRUE;
}

gboolean
af_docker_engine_is_podman (AfDockerEngine *engine)
{
  return engine->podman;
}

char *
af_docker_engine_create (AfDockerEngine *engine, const char *name, JsonNode *config,
                         const char *image, GError **error)
{
  g_auto (AfHttpResponse) resp = { 0 };
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *escaped = g_uri_escape_string (name, NULL, FALSE);
  g_autofree char *target = g_strdup_printf ("/containers/create?name=%s", escaped);
  g_autofree char *json = json_to_string (config, FALSE);
  g_autofree char *msg = NULL;
  const char *id = NULL;

  if (!call (engine, "POST", target, json, &resp, error))
    return NULL;
  if (resp.status != 201) {
    msg = engine_message (&resp);
    if (resp.status == 404)
      g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND,
                   "docker image %s not found (it is never pulled: docker pull or load it "
                   "first): %s",
                   image, msg);
    else if (resp.status == 409 ||
             /* Podman 4 answers a name conflict with 500 and this text */
             (engine->podman && resp.status == 500 && strstr (msg, "name is already in use")))
      g_set_error (error, AF_ERROR, AF_ERROR_ALREADY_EXISTS, "container name %s is taken: %s", name,
                   msg);
    else
      g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                   "the Docker engine refused to create container %s: %s", name, msg);
    return NULL;
  }
  if (json_parser_load_from_data (parser, (const char *)resp.body->data, resp.body->len, NULL))
    id = string_member (json_parser_get_root (parser), "Id");
  if (id == NULL || strlen (id) != 64 || strspn (id, "0123456789abcdef") != 64) {
    g_set_error (error, AF_ERROR, AF_ERROR_DATA_LOSS,
                 "the Docker engine created container %s but its answer has no valid Id", name);
    return NULL;
  }
  return g_strdup (id);
}

/* The member @name of @o when it is an object; else NULL. */
static JsonObject *
object_member (JsonObject *o, const char *name)
{
  JsonNode *m = o ? json_object_get_member (o, name) : NULL;
  return m && JSON_NODE_HOLDS_OBJECT (m) ? json_node_get_object (m) : NULL;
}

gboolean
af_docker_engine_labels (AfDockerEngine *engine, const char *name, JsonObject **labels,
                         GError **error)
{
  g_auto (AfHttpResponse) resp = { 0 };
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *escaped = g_uri_escape_string (name, NULL, FALSE);
  g_autofree char *target = g_strdup_printf ("/containers/%s/json", escaped);
  JsonNode *root;
  JsonObject *found;

  *labels = NULL;
  if (!call (engine, "GET", target, NULL, &resp, error))
    return FALSE;
  if (resp.status == 404)
    return TRUE;
  if (resp.status != 200) {
    g_autofree char *msg = engine_message (&resp);
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "the Docker engine could not inspect container %s: %s", name, msg);
    return FALSE;
  }
  if (json_parser_load_from_data (parser, (const char *)resp.body->data, resp.body->len, NULL) &&
      (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (root)) {
    found = object_member (object_member (json_node_get_object (root), "Config"), "Labels");
    *labels = found ? json_object_ref (found) : json_object_new ();
  } else {
    *labels = json_object_new ();
  }
  return TRUE;
}

GPtrArray *
af_docker_engine_list_created (AfDockerEngine *engine, const char *label, GError **error)
{
  g_auto (AfHttpResponse) resp = { 0 };
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *filters =
      g_strdup_printf ("{\"label\":[\"%s\"],\"status\":[\"created\"]}", label);
  g_autofree char *escaped = g_uri_escape_string (filters, NULL, FALSE);
  g_autofree char *target = g_strdup_printf ("/containers/json?all=1&filters=%s", escaped);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)json_object_unref);
  JsonNode *root;
  JsonArray *list;

  if (!call (engine, "GET", target, NULL, &resp, error))
    return NULL;
  if (resp.status != 200) {
    g_autofree char *msg = engine_message (&resp);
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "the Docker engine could not list containers: %s", msg);
    return NULL;
  }
  if (!json_parser_load_from_data (parser, (const char *)resp.body->data, resp.body->len, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_ARRAY (root)) {
    g_set_error (error, AF_ERROR, AF_ERROR_DATA_LOSS,
                 "the Docker engine's container list is not a JSON array");
    return NULL;
  }
  list = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (list); i++) {
    JsonNode *item = json_array_get_element (list, i);
    const char *id = string_member (item, "Id");
    if (id == NULL || strlen (id) != 64 || strspn (id, "0123456789abcdef") != 64)
      continue;
    g_ptr_array_add (out, json_object_ref (json_node_get_object (item)));
  }
  return g_steal_pointer (&out);
}

gboolean
af_docker_engine_start (AfDockerEngine *engine, const char *id, GError **error)
{
  g_auto (AfHttpResponse) resp = { 0 };
  g_autofree char *target = g_strdup_printf ("/containers/%s/start", id);
  g_autofree char *msg = NULL;

  if (!call (engine, "POST", target, NULL, &resp, error))
    return FALSE;
  if (resp.status == 204 || resp.status == 304) /* 304: already started */
    return TRUE;
  msg = engine_message (&resp);
  g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
               "the Docker engine could not start container %.12s: %s", id, msg);
  return FALSE;
}

gboolean
af_docker_engine_remove (AfDockerEngine *engine, const char *id_or_name, GError **error)
{
  g_auto (AfHttpResponse) resp = { 0 };
  g_autofree char *escaped = g_uri_escape_string (id_or_name, NULL, FALSE);
  g_autofree char *target = g_strdup_printf ("/containers/%s?force=1", escaped);
  g_autofree char *msg = NULL;

  if (!call (engine, "DELETE", target, NULL, &resp, error))
    return FALSE;
  if (resp.status == 204 || resp.status == 404)
    return TRUE;
  msg = engine_message (&resp);
  /* 409 "removal already in progress": AutoRemove got there first; the
   * engine tells when it is done (a retried create must not find it). */
  if (resp.status == 409 && strstr (msg, "in progress")) {
    g_autofree char *wait = g_strdup_printf ("/containers/%s/wait?condition=removed", escaped);
    af_http_response_clear (&resp);
    if (!call (engine, "POST", wait, NULL, &resp, error))
      return FALSE;
    if (resp.status == 200 || resp.status == 404)
      return TRUE;
    g_free (msg);
    msg = engine_message (&resp);
  }
  g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
               "the Docker engine could not remove container %s: %s", id_or_name, msg);
  return FALSE;
}
