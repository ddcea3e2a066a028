/* test-docker-http.c — the Docker runtime's HTTP client and engine
 * endpoint, without an engine: the response parser on crafted bytes
 * (Content-Length, chunked, read-to-close, truncated, oversized,
 * malformed), then the client against a real unix-socket server in a
 * thread (bytes dribbled in small writes, a server that never answers,
 * no server at all), and DOCKER_HOST handling. */
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "af-error.h"
#include "docker-engine.h"
#include "docker-http.h"

static const AfHttpLimits small = { 256, 64 };

static AfHttpParse
parse_str (const char *s, gboolean eof, const AfHttpLimits *limits, AfHttpResponse *resp,
           GError **error)
{
  return af_http_parse_response (s, strlen (s), eof, limits, resp, error);
}

static char *
body_str (const AfHttpResponse *resp)
{
  return g_strndup ((const char *)resp->body->data, resp->body->len);
}

/* Every strict prefix of @s needs more bytes, and is truncated at EOF. */
static void
assert_prefixes_incomplete (const char *s, const AfHttpLimits *limits)
{
  for (gsize n = 0; n < strlen (s); n++) {
    g_auto (AfHttpResponse) resp = { 0 };
    g_autoptr (GError) error = NULL;
    g_assert_cmpint (af_http_parse_response (s, n, FALSE, limits, &resp, &error), ==,
                     AF_HTTP_PARSE_MORE);
    g_assert_no_error (error);
    g_assert_null (resp.body);
    g_assert_cmpint (af_http_parse_response (s, n, TRUE, limits, &resp, &error), ==,
                     AF_HTTP_PARSE_ERROR);
    g_assert_error (error, AF_ERROR, AF_ERROR_DATA_LOSS);
    g_assert_nonnull (strstr (error->message, "truncated"));
  }
}

static void
test_content_length (void)
{
  const char *s = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                  "server:  Libpod/4.3.1 (linux) \r\n"
                  "content-length: 11\r\n\r\n{\"Id\":\"x\"}\n";
  g_auto (AfHttpResponse) resp = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *body = NULL;
  AfHttpLimits limits = AF_HTTP_LIMITS_DEFAULT;

  g_assert_cmpint (parse_str (s, FALSE, &limits, &resp, &error), ==, AF_HTTP_PARSE_DONE);
  g_assert_no_error (error);
  g_assert_cmpuint (resp.status, ==, 201);
  g_assert_cmpstr (resp.content_type, ==, "application/json");
  g_assert_cmpstr (resp.server, ==, "Libpod/4.3.1 (linux)");
  body = body_str (&resp);
  g_assert_cmpstr (body, ==, "{\"Id\":\"x\"}\n");
  assert_prefixes_incomplete (s, &limits);
}

static void
test_chunked (void)
{
  const char *s = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: Chunked\r\n\r\n"
                  "5\r\nhello\r\n6;name=value\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
  g_auto (AfHttpResponse) resp = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *body = NULL;

  g_assert_cmpint (parse_str (s, TRUE, &small, &resp, &error), ==, AF_HTTP_PARSE_DONE);
  g_assert_no_error (error);
  g_assert_cmpuint (resp.status, ==, 404);
  g_assert_null (resp.content_type);
  g_assert_null (resp.server);
  body = body_str (&resp);
  g_assert_cmpstr (body, ==, "hello world");
  assert_prefixes_incomplete (s, &small);
}

static void
test_no_body_statuses (void)
{
  /* 204: no body whatever follows; a 100 Continue before the real answer. */
  const char *s =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nApi-Version: 1.41\r\n\r\n";
  g_auto (AfHttpResponse) resp = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (parse_str (s, FALSE, &small, &resp, &error), ==, AF_HTTP_PARSE_DONE);
  g_assert_no_error (error);
  g_assert_cmpuint (resp.status, ==, 204);
  g_assert_cmpuint (resp.body->len, ==, 0);
}

static void
test_read_to_close (void)
{
  const char *s = "HTTP/1.0 500 Internal Server Error\r\n\r\nengine broke";
  g_auto (AfHttpResponse) resp = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *body = NULL;

  /* Without a length the body ends only with the connection. */
  g_assert_cmpint (parse_str (s, FALSE, &small, &resp, &error), ==, AF_HTTP_PARSE_MORE);
  g_assert_cmpint (parse_str (s, TRUE, &small, &resp, &error), ==, AF_HTTP_PARSE_DONE);
  g_assert_no_error (error);
  g_assert_cmpuint (resp.status, ==, 500);
  body = body_str (&resp);
  g_assert_cmpstr (body, ==, "engine broke");
}

static void
assert_fails (const char *s, gboolean eof, int code, const char *fragment)
{
  g_auto (AfHttpResponse) resp = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (parse_str (s, eof, &small, &resp, &error), ==, AF_HTTP_PARSE_ERROR);
  g_assert_error (error, AF_ERROR, code);
  g_assert_nonnull (strstr (error->message, fragment));
  g_assert_null (resp.body); /* untouched on failure */
}

static void
test_oversized (void)
{
  g_autofree char *long_head = NULL, *long_to_close = NULL, *many_chunks = NULL;
  GString *chunks = g_string_new ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");

  /* Declared bodies past the limit fail before their bytes arrive. */
  assert_fails ("HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n", FALSE, AF_ERROR_RESOURCE_EXHAUSTED,
                "body");
  assert_fails ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", FALSE,
                AF_ERROR_RESOURCE_EXHAUSTED, "body");
  assert_fails ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n", FALSE,
                AF_ERROR_RESOURCE_EXHAUSTED, "body");
  /* A chunk size that would overflow a size_t is a limit, not a wrap. */
  assert_fails ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "fffffffffffffffffffffffff\r\n",
                FALSE, AF_ERROR_RESOURCE_EXHAUSTED, "body");
  /* Many small chunks add up. */
  for (int i = 0; i < 20; i++)
    g_string_append (chunks, "4\r\nabcd\r\n");
  many_chunks = g_string_free (chunks, FALSE);
  assert_fails (many_chunks, FALSE, AF_ERROR_RESOURCE_EXHAUSTED, "body");
  /* Headers that never end. */
  long_head = g_strdup_printf ("HTTP/1.1 200 OK\r\nX: %0300d", 0);
  assert_fails (long_head, FALSE, AF_ERROR_RESOURCE_EXHAUSTED, "headers");
  /* A body without length past the limit, before EOF. */
  long_to_close = g_strdup_printf ("HTTP/1.1 200 OK\r\n\r\n%0100d", 0);
  assert_fails (long_to_close, FALSE, AF_ERROR_RESOURCE_EXHAUSTED, "body");
}

static void
test_malformed (void)
{
  assert_fails ("HTTP/2 200 OK\r\n\r\n", FALSE, AF_ERROR_DATA_LOSS, "status line");
  assert_fails ("HTTP/1.1 2x0 OK\r\n\r\n", FALSE, AF_ERROR_DATA_LOSS, "status line");
  assert_fails ("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", FALSE, AF_ERROR_DATA_LOSS, "header");
  assert_fails ("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", FALSE, AF_ERROR_DATA_LOSS, "header");
  assert_fails ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", FALSE,
                AF_ERROR_DATA_LOSS, "Content-Length");
  assert_fails ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", FALSE, AF_ERROR_DATA_LOSS,
                "Content-Length");
  assert_fails ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", FALSE, AF_ERROR_UNIMPLEMENTED,
                "gzip");
  assert_fails ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", FALSE,
                AF_ERROR_DATA_LOSS, "chunk size");
  assert_fails ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", FALSE,
                AF_ERROR_DATA_LOSS, "CRLF");
}

/* A one-shot server on a unix socket in a temp dir: accepts one
 * connection (two with second_reply), reads the request head, then writes
 * @reply in pieces of @piece bytes (or nothing at all when @reply is NULL,
 * until the client goes away). */
typedef struct {
  char *dir, *path;
  int lfd;
  const char *reply;
  const char *second_reply; /* a second connection's, or NULL */
  gsize piece;
  char *request; /* what the client sent, up to the blank line */
  GThread *thread;
} Server;

static void
serve_one (Server *s, const char *reply, GString *requests)
{
  GString *req = g_string_new (NULL);
  char buf[4096];
  int fd = accept (s->lfd, NULL, NULL);
  g_assert_cmpint (fd, >=, 0);
  while (strstr (req->str, "\r\n\r\n") == NULL) {
    ssize_t n = read (fd, buf, sizeof buf);
    g_assert_cmpint (n, >, 0);
    g_string_append_len (req, buf, n);
  }
  g_string_append (requests, req->str);
  g_string_free (req, TRUE);
  if (reply == NULL) {
    while (read (fd, buf, sizeof buf) > 0) /* until the client gives up */
      ;
  } else {
    for (gsize off = 0; off < strlen (reply); off += s->piece) {
      gsize n = MIN (s->piece, strlen (reply) - off);
      g_assert_cmpint (write (fd, reply + off, n), ==, (gssize)n);
      g_usleep (1000); /* separate reads on the other side */
    }
  }
  close (fd);
}

static gpointer
serve (gpointer data)
{
  Server *s = data;
  GString *requests = g_string_new (NULL);
  serve_one (s, s->reply, requests);
  if (s->second_reply)
    serve_one (s, s->second_reply, requests);
  s->request = g_string_free (requests, FALSE);
  return NULL;
}

static void
server_start (Server *s, const char *reply, gsize piece)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  g_autoptr (GError) error = NULL;

  s->dir = g_dir_make_tmp ("af-docker-http-XXXXXX", &error);
  g_assert_no_error (error);
  s->path = g_build_filename (s->dir, "engine.sock", NULL);
  g_assert_cmpuint (strlen (s->path), <, sizeof sa.sun_path);
  strcpy (sa.sun_path, s->path);
  s->lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (bind (s->lfd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  g_assert_cmpint (listen (s->lfd, 1), ==, 0);
  s->reply = reply;
  s->piece = piece;
  s->thread = g_thread_new ("server", serve, s);
}

/* Returns what the client sent (to be freed). */
static char *
server_finish (Server *s)
{
  g_thread_join (s->thread);
  close (s->lfd);
  g_unlink (s->path);
  g_rmdir (s->dir);
  g_free (s->path);
  g_free (s->dir);
  return g_steal_pointer (&s->request);
}

static void
test_client_dribbled_chunks (void)
{
  Server s = { 0 };
  g_auto (AfHttpResponse) resp = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *body = NULL, *request = NULL;
  AfHttpLimits limits = AF_HTTP_LIMITS_DEFAULT;

  server_start (&s,
                "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3\r\n{\"I\r\na\r\nd\":\"abc\"}\n\r\n0\r\n\r\n",
                3);
  g_assert_true (
      af_http_request (s.path, "POST", "/v1.41/containers/create?name=x", "application/json", "{}",
                       2, g_get_monotonic_time () + 10 * G_USEC_PER_SEC, &limits, &resp, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (resp.status, ==, 201);
  body = body_str (&resp);
  g_assert_cmpstr (body, ==, "{\"Id\":\"abc\"}\n");
  request = server_finish (&s);
  g_assert_true (g_str_has_prefix (request, "POST /v1.41/containers/create?name=x HTTP/1.1\r\n"));
  g_assert_nonnull (strstr (request, "\r\nContent-Length: 2\r\n"));
  g_assert_nonnull (strstr (request, "\r\nConnection: close\r\n"));
}

static void
test_client_truncated (void)
{
  Server s = { 0 };
  g_auto (AfHttpResponse) resp = { 0 };
  g_autoptr (GError) error = NULL;
  AfHttpLimits limits = AF_HTTP_LIMITS_DEFAULT;

  server_start (&s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", 7);
  g_assert_false (af_http_request (s.path, "DELETE", "/x", NULL, NULL, 0,
                                   g_get_monotonic_time () + 10 * G_USEC_PER_SEC, &limits, &resp,
                                   &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_DATA_LOSS);
  g_free (server_finish (&s));
}

static void
test_client_deadline (void)
{
  Server s = { 0 };
  g_auto (AfHttpResponse) resp = { 0 };
  g_autoptr (GError) error = NULL;
  AfHttpLimits limits = AF_HTTP_LIMITS_DEFAULT;
  gint64 t0 = g_get_monotonic_time ();

  server_start (&s, NULL, 0);
  g_assert_false (af_http_request (s.path, "POST", "/x", NULL, NULL, 0, t0 + 300 * 1000, &limits,
                                   &resp, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_DEADLINE_EXCEEDED);
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, 300 * 1000);
  g_free (server_finish (&s)); /* our close ends the server's read */
}

static void
test_client_no_server (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("af-docker-http-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "missing.sock", NULL);
  g_autofree char *host = g_strconcat ("unix://", path, NULL);
  g_autoptr (AfDockerEngine) engine = af_docker_engine_new (host, &error);
  g_autoptr (JsonNode) config = json_from_string ("{\"Image\":\"img\"}", NULL);
  g_autofree char *id = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (af_docker_engine_socket (engine), ==, path);
  id = af_docker_engine_create (engine, "agentfense-x", config, "img", &error);
  g_assert_null (id);
  g_assert_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE);
  g_assert_true (g_str_has_prefix (error->message, "no Docker engine answers at "));
  g_assert_nonnull (strstr (error->message, path));
  g_rmdir (dir);
}

/* A listener that never accepts, its backlog full: the connect itself is
 * bounded by the deadline. */
static void
test_client_backlog_full (void)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  g_autofree char *dir = g_dir_make_tmp ("af-docker-http-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "busy.sock", NULL);
  g_auto (AfHttpResponse) resp = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) fillers = g_array_new (FALSE, FALSE, sizeof (int));
  AfHttpLimits limits = AF_HTTP_LIMITS_DEFAULT;
  int lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  gint64 t0;

  strcpy (sa.sun_path, path);
  g_assert_cmpint (bind (lfd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
  g_assert_cmpint (listen (lfd, 0), ==, 0);
  for (int i = 0; i < 16; i++) {
    int c = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (connect (c, (struct sockaddr *)&sa, sizeof sa) < 0) {
      g_assert_cmpint (errno, ==, EAGAIN);
      close (c);
      break;
    }
    g_array_append_val (fillers, c);
  }
  t0 = g_get_monotonic_time ();
  g_assert_false (af_http_request (path, "GET", "/_ping", NULL, NULL, 0, t0 + 300 * 1000, &limits,
                                   &resp, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE);
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, 250 * 1000);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_USEC_PER_SEC);
  for (guint i = 0; i < fillers->len; i++)
    close (g_array_index (fillers, int, i));
  close (lfd);
  g_unlink (path);
  g_rmdir (dir);
}

/* The engine's error text reaches the caller inside our message, and a
 * 404 at create names the image. */
static void
test_engine_errors (void)
{
  Server s = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *host = NULL, *id = NULL, *request = NULL;
  g_autoptr (AfDockerEngine) engine = NULL;
  g_autoptr (JsonNode) config = json_from_string ("{\"Image\":\"img:tag\"}", NULL);

  server_start (&s,
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                "Content-Length: 36\r\n\r\n{\"message\":\"No such image: img:tag\"}",
                4096);
  host = g_strconcat ("unix://", s.path, NULL);
  engine = af_docker_engine_new (host, &error);
  g_assert_no_error (error);
  id = af_docker_engine_create (engine, "agentfense-x", config, "img:tag", &error);
  g_assert_null (id);
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "docker image img:tag not found"));
  g_assert_nonnull (strstr (error->message, "No such image: img:tag"));
  request = server_finish (&s);
  g_assert_true (
      g_str_has_prefix (request, "POST /v1.41/containers/create?name=agentfense-x HTTP/1.1"));
}

/* An engine that no longer serves v1.41 (Docker 29: minimum 1.44) gets
 * the request again at its minimum version, once. */
static void
test_engine_version_too_old (void)
{
  Server s = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *host = NULL, *request = NULL;
  g_autoptr (AfDockerEngine) engine = NULL;

  s.second_reply = "HTTP/1.1 204 No Content\r\n\r\n";
  server_start (&s,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                "Content-Length: 130\r\n\r\n{\"message\":\"client version 1.41 is too old. "
                "Minimum supported API version is 1.44, please upgrade your client to a newer "
                "version\"}",
                4096);
  host = g_strconcat ("unix://", s.path, NULL);
  engine = af_docker_engine_new (host, &error);
  g_assert_no_error (error);
  g_assert_true (af_docker_engine_start (engine, "0123abcd", &error));
  g_assert_no_error (error);
  request = server_finish (&s);
  g_assert_true (g_str_has_prefix (request, "POST /v1.41/containers/0123abcd/start HTTP/1.1"));
  g_assert_nonnull (strstr (request, "\r\n\r\nPOST /v1.44/containers/0123abcd/start HTTP/1.1"));
}

/* A removal AutoRemove already started is waited for (condition=removed,
 * whose answer the engine streams: headers at once, body when done). */
static void
test_engine_remove_in_progress (void)
{
  Server s = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *host = NULL, *request = NULL;
  g_autoptr (AfDockerEngine) engine = NULL;

  s.second_reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n"
                   "1f\r\n{\"Error\":null,\"StatusCode\":137}\r\n0\r\n\r\n";
  server_start (&s,
                "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n"
                "Content-Length: 61\r\n\r\n"
                "{\"message\":\"removal of container abc is already in progress\"}",
                16);
  host = g_strconcat ("unix://", s.path, NULL);
  engine = af_docker_engine_new (host, &error);
  g_assert_no_error (error);
  g_assert_true (af_docker_engine_remove (engine, "abc", &error));
  g_assert_no_error (error);
  request = server_finish (&s);
  g_assert_true (g_str_has_prefix (request, "DELETE /v1.41/containers/abc?force=1 HTTP/1.1"));
  g_assert_nonnull (
      strstr (request, "\r\n\r\nPOST /v1.41/containers/abc/wait?condition=removed HTTP/1.1"));
}

static void
test_docker_host (void)
{
  const char *bad[] = { "tcp://127.0.0.1:2375", "ssh://user@host", "unix://relative.sock",
                        "/var/run/docker.sock", "npipe:////./pipe/docker_engine" };
  g_autoptr (GError) error = NULL;
  g_autoptr (AfDockerEngine) def = af_docker_engine_new (NULL, &error);
  g_autoptr (AfDockerEngine) empty = af_docker_engine_new ("", &error);
  g_autoptr (AfDockerEngine) podman =
      af_docker_engine_new ("unix:///run/podman/podman.sock", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (af_docker_engine_socket (def), ==, "/var/run/docker.sock");
  g_assert_cmpstr (af_docker_engine_socket (empty), ==, "/var/run/docker.sock");
  g_assert_cmpstr (af_docker_engine_socket (podman), ==, "/run/podman/podman.sock");
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) e = NULL;
    g_assert_null (af_docker_engine_new (bad[i], &e));
    g_assert_error (e, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (e->message, bad[i]));
    g_assert_nonnull (strstr (e->message, "unix://"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/af-exec/docker-http/content-length", test_content_length);
  g_test_add_func ("/af-exec/docker-http/chunked", test_chunked);
  g_test_add_func ("/af-exec/docker-http/no-body-statuses", test_no_body_statuses);
  g_test_add_func ("/af-exec/docker-http/read-to-close", test_read_to_close);
  g_test_add_func ("/af-exec/docker-http/oversized", test_oversized);
  g_test_add_func ("/af-exec/docker-http/malformed", test_malformed);
  g_test_add_func ("/af-exec/docker-http/client-dribbled-chunks", test_client_dribbled_chunks);
  g_test_add_func ("/af-exec/docker-http/client-truncated", test_client_truncated);
  g_test_add_func ("/af-exec/docker-http/client-deadline", test_client_deadline);
  g_test_add_func ("/af-exec/docker-http/client-no-server", test_client_no_server);
  g_test_add_func ("/af-exec/docker-http/client-backlog-full", test_client_backlog_full);
  g_test_add_func ("/af-exec/docker-http/engine-errors", test_engine_errors);
  g_test_add_func ("/af-exec/docker-http/engine-version-too-old", test_engine_version_too_old);
  g_test_add_func ("/af-exec/docker-http/engine-remove-in-progress",
                   test_engine_remove_in_progress);
  g_test_add_func ("/af-exec/docker-http/docker-host", test_docker_host);
  return g_test_run ();
}
