/* docker-http.c — see docker-http.h. One request per connection, plain
 * sockets and poll() against one deadline: the engine is asked three
 * things per sandbox, so a connection pool or an event loop would be
 * weight without a use. The parser is stateless and re-reads the buffer
 * after each read; that is quadratic only up to the limits, which keep it
 * small. */
#define _GNU_SOURCE
#include "docker-http.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "af-error.h"

void
af_http_response_clear (AfHttpResponse *resp)
{
  resp->status = 0;
  g_clear_pointer (&resp->content_type, g_free);
  g_clear_pointer (&resp->server, g_free);
  g_clear_pointer (&resp->body, g_byte_array_unref);
}

static AfHttpParse
malformed (GError **error, const char *what)
{
  g_set_error (error, AF_ERROR, AF_ERROR_DATA_LOSS, "malformed HTTP response: %s", what);
  return AF_HTTP_PARSE_ERROR;
}

static AfHttpParse
incomplete (gboolean eof, GError **error)
{
  if (!eof)
    return AF_HTTP_PARSE_MORE;
  g_set_error (error, AF_ERROR, AF_ERROR_DATA_LOSS,
               "truncated HTTP response: the server closed the connection mid-response");
  return AF_HTTP_PARSE_ERROR;
}

static AfHttpParse
too_big (GError **error, const char *what, gsize limit)
{
  g_set_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED,
               "HTTP response %s exceed%s the limit of %" G_GSIZE_FORMAT " bytes", what,
               g_str_has_suffix (what, "s") ? "" : "s", limit);
  return AF_HTTP_PARSE_ERROR;
}

/* memmem for "\r\n" from @p to @end; NULL when absent. */
static const char *
find_crlf (const char *p, const char *end)
{
  return p == NULL || end - p < 2 ? NULL : memmem (p, (gsize)(end - p), "\r\n", 2);
}

/* A strictly decimal or hexadecimal size, at most @max. */
static gboolean
parse_size (const char *s, gsize n, guint base, gsize max, gsize *out, gboolean *over)
{
  gsize v = 0;
  *over = FALSE;
  if (n == 0)
    return FALSE;
  for (gsize i = 0; i < n; i++) {
    int d = base == 16 ? g_ascii_xdigit_value (s[i]) : g_ascii_digit_value (s[i]);
    if (d < 0)
      return FALSE;
    if ((gsize)d > max || v > (max - (gsize)d) / base) {
      *over = TRUE; /* keep checking the syntax, stop counting */
      v = max;
      continue;
    }
    v = v * base + (gsize)d;
  }
  *out = v;
  return TRUE;
}

/* Decode a chunked body starting at @p. */
static AfHttpParse
parse_chunked (const char *p, const char *end, gboolean eof, const AfHttpLimits *limits,
               GByteArray *body, GError **error)
{
  for (;;) {
    const char *eol = find_crlf (p, end), *ext;
    gsize size;
    gboolean over;

    if (eol == NULL)
      return (gsize)(end - p) > 64 ? malformed (error, "chunk size line too long")
                                   : incomplete (eof, error);
    ext = memchr (p, ';', (gsize)(eol - p)); /* chunk extensions are ignored */
    if (!parse_size (p, (gsize)((ext ? ext : eol) - p), 16, limits->max_body, &size, &over))
      return malformed (error, "bad chunk size");
    if (over || body->len + size > limits->max_body)
      return too_big (error, "body", limits->max_body);
    p = eol + 2;
    if (size == 0)
      break;
    if ((gsize)(end - p) < size + 2)
      return incomplete (eof, error);
    if (p[size] != '\r' || p[size + 1] != '\n')
      return malformed (error, "chunk not followed by CRLF");
    g_byte_array_append (body, (const guint8 *)p, (guint)size);
    p += size + 2;
  }
  /* Trailers, ignored, up to an empty line. */
  for (;;) {
    const char *eol = find_crlf (p, end);
    if (eol == NULL)
      return (gsize)(end - p) > limits->max_head ? too_big (error, "trailers", limits->max_head)
                                                 : incomplete (eof, error);
    if (eol == p)
      return AF_HTTP_PARSE_DONE;
    p = eol + 2;
  }
}

/* Whether a Transfer-Encoding value ends in "chunked" (the only coding we
 * accept; anything else would need decoding we do not do). */
static gboolean
te_is_chunked (const char *v)
{
  g_autofree char *lower = g_ascii_strdown (v, -1);
  return g_str_equal (g_strstrip (lower), "chunked");
}

AfHttpParse
af_http_parse_response (const char *buf, gsize len, gboolean eof, const AfHttpLimits *limits,
                        AfHttpResponse *resp, GError **error)
{
  const char *p = buf, *end = buf + len;

  for (;;) {
    const char *head_end, *line, *eol;
    g_autofree char *content_type = NULL, *server = NULL;
    g_autoptr (GByteArray) body = NULL;
    gboolean chunked = FALSE, have_length = FALSE;
    gsize length = 0;
    guint status;
    AfHttpParse r;

    head_end = (gsize)(end - p) >= 4 ? memmem (p, (gsize)(end - p), "\r\n\r\n", 4) : NULL;
    if (head_end == NULL || (gsize)(head_end + 4 - p) > limits->max_head) {
      if ((gsize)(end - p) > limits->max_head || head_end != NULL)
        return too_big (error, "headers", limits->max_head);
      return incomplete (eof, error);
    }
    /* Status line: HTTP/1.x SP 3DIGIT SP reason */
    eol = find_crlf (p, head_end + 2);
    if (eol - p < 12 || memcmp (p, "HTTP/1.", 7) != 0 || !g_ascii_isdigit (p[7]) || p[8] != ' ' ||
        !g_ascii_isdigit (p[9]) || !g_ascii_isdigit (p[10]) || !g_ascii_isdigit (p[11]) ||
        (eol - p > 12 && p[12] != ' '))
      return malformed (error, "bad status line");
    status = (guint)((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
    if (status < 100)
      return malformed (error, "bad status code");

    for (line = eol + 2; line < head_end + 2; line = eol + 2) {
      const char *colon;
      g_autofree char *name = NULL, *value = NULL;

      eol = find_crlf (line, head_end + 2);
      colon = memchr (line, ':', (gsize)(eol - line));
      if (colon == NULL || colon == line || line[0] == ' ' || line[0] == '\t')
        return malformed (error, "bad header line");
      name = g_strndup (line, (gsize)(colon - line));
      value = g_strstrip (g_strndup (colon + 1, (gsize)(eol - colon - 1)));
      if (strpbrk (name, " \t"))
        return malformed (error, "bad header name");
      if (g_ascii_strcasecmp (name, "Content-Length") == 0) {
        gsize v;
        gboolean over;
        if (!parse_size (value, strlen (value), 10, G_MAXSIZE, &v, &over) ||
            (have_length && v != length))
          return malformed (error, "bad Content-Length");
        if (over)
          return too_big (error, "body", limits->max_body);
        have_length = TRUE;
        length = v;
      } else if (g_ascii_strcasecmp (name, "Transfer-Encoding") == 0) {
        if (!te_is_chunked (value)) {
          g_set_error (error, AF_ERROR, AF_ERROR_UNIMPLEMENTED,
                       "unsupported HTTP transfer coding \"%s\"", value);
          return AF_HTTP_PARSE_ERROR;
        }
        chunked = TRUE;
      } else if (g_ascii_strcasecmp (name, "Content-Type") == 0) {
        g_free (content_type);
        content_type = g_steal_pointer (&value);
      } else if (g_ascii_strcasecmp (name, "Server") == 0) {
        g_free (server);
        server = g_steal_pointer (&value);
      }
    }
    p = head_end + 4;
    if (status < 200) {
      if (status == 101)
        return malformed (error, "unexpected protocol switch");
      continue; /* interim (100 Continue): the real response follows */
    }

    body = g_byte_array_new ();
    if (status == 204 || status == 304) {
      r = AF_HTTP_PARSE_DONE;
    } else if (chunked) {
      r = parse_chunked (p, end, eof, limits, body, error);
    } else if (have_length) {
      if (length > limits->max_body)
        return too_big (error, "body", limits->max_body);
      if ((gsize)(end - p) < length)
        return incomplete (eof, error);
      g_byte_array_append (body, (const guint8 *)p, (guint)length);
      r = AF_HTTP_PARSE_DONE;
    } else {
      /* No length: the body runs to the connection's close. */
      if ((gsize)(end - p) > limits->max_body)
        return too_big (error, "body", limits->max_body);
      if (!eof)
        return AF_HTTP_PARSE_MORE;
      g_byte_array_append (body, (const guint8 *)p, (guint)(end - p));
      r = AF_HTTP_PARSE_DONE;
    }
    if (r != AF_HTTP_PARSE_DONE)
      return r;
    af_http_response_clear (resp);
    resp->status = status;
    resp->content_type = g_steal_pointer (&content_type);
    resp->server = g_steal_pointer (&server);
    resp->body = g_steal_pointer (&body);
    return AF_HTTP_PARSE_DONE;
  }
}

/* Milliseconds left before @deadline for poll(); 0 once passed. */
static int
ms_left (gint64 deadline)
{
  gint64 left = deadline - g_get_monotonic_time ();
  return left <= 0 ? 0 : (int)MIN ((left + 999) / 1000, G_MAXINT);
}

static gboolean
wait_fd (int fd, short events, gint64 deadline, const char *path, GError **error)
{
  struct pollfd pfd = { fd, events, 0 };
  int r;
  do
    r = poll (&pfd, 1, ms_left (deadline));
  while (r < 0 && errno == EINTR);
  if (r > 0)
    return TRUE;
  if (r == 0)
    g_set_error (error, AF_ERROR, AF_ERROR_DEADLINE_EXCEEDED, "no complete answer from %s in time",
                 path);
  else
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "poll: %s", g_strerror (errno));
  return FALSE;
}

static int
connect_unix (const char *path, gint64 deadline, GError **error)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd, saved;

  if (strlen (path) >= sizeof sa.sun_path) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "socket path too long: %s", path);
    return -1;
  }
  strcpy (sa.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "socket: %s", g_strerror (errno));
    return -1;
  }
  /* A unix connect completes or fails at once unless the listener's
   * backlog is full; then a blocking connect waits for room, for at most
   * SO_SNDTIMEO (a non-blocking one could only spin). The I/O after it is
   * non-blocking, under poll(). */
  {
    gint64 left = MAX (deadline - g_get_monotonic_time (), 1000);
    struct timeval tv = { .tv_sec = left / G_USEC_PER_SEC, .tv_usec = left % G_USEC_PER_SEC };
    int r;
    if (setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0) {
      do
        r = connect (fd, (struct sockaddr *)&sa, sizeof sa);
      while (r < 0 && errno == EINTR && ms_left (deadline) > 0);
      if (r == 0 && fcntl (fd, F_SETFL, O_NONBLOCK) == 0)
        return fd;
      if (r < 0 && (errno == EAGAIN || errno == EINPROGRESS))
        errno = ETIMEDOUT;
    }
  }
  saved = errno;
  close (fd);
  g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE, "cannot connect to %s: %s", path,
               g_strerror (saved));
  return -1;
}

static gboolean
send_all (int fd, const char *data, gsize len, gint64 deadline, const char *path, GError **error)
{
  while (len > 0) {
    ssize_t n = send (fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN) {
      if (!wait_fd (fd, POLLOUT, deadline, path, error))
        return FALSE;
      continue;
    }
    if (n < 0) {
      g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE, "cannot send to %s: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
    data += n;
    len -= (gsize)n;
  }
  return TRUE;
}

gboolean
af_http_request (const char *socket_path, const char *method, const char *target,
                 const char *content_type, const char *body, gsize body_len, gint64 deadline,
                 const AfHttpLimits *limits, AfHttpResponse *resp, GError **error)
{
  g_autoptr (GString) req = g_string_new (NULL);
  g_autoptr (GByteArray) in = g_byte_array_new ();
  gsize cap = limits->max_head + limits->max_body + 4096; /* chunk framing */
  gboolean eof = FALSE;
  int fd;

  g_string_append_printf (req, "%s %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: af-exec\r\n", method,
                          target);
  if (body != NULL)
    g_string_append_printf (req, "Content-Type: %s\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n",
                            content_type, body_len);
  g_string_append (req, "Connection: close\r\n\r\n");
  if (body != NULL)
    g_string_append_len (req, body, (gssize)body_len);

  fd = connect_unix (socket_path, deadline, error);
  if (fd < 0)
    return FALSE;
  if (!send_all (fd, req->str, req->len, deadline, socket_path, error)) {
    close (fd);
    return FALSE;
  }
  for (;;) {
    guint8 chunk[16384];
    ssize_t n;
    AfHttpParse r = af_http_parse_response (in->len ? (const char *)in->data : "", in->len, eof,
                                            limits, resp, error);
    if (r != AF_HTTP_PARSE_MORE) {
      close (fd);
      return r == AF_HTTP_PARSE_DONE;
    }
    if (in->len >= cap) { /* the parser bounds each part; this bounds the sum */
      close (fd);
      too_big (error, "parts", cap);
      return FALSE;
    }
    n = recv (fd, chunk, MIN (sizeof chunk, cap - in->len), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN) {
      if (!wait_fd (fd, POLLIN, deadline, socket_path, error)) {
        close (fd);
        return FALSE;
      }
      continue;
    }
    if (n < 0) {
      int saved = errno;
      close (fd);
      g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE, "cannot read from %s: %s", socket_path,
                   g_strerror (saved));
      return FALSE;
    }
    if (n == 0)
      eof = TRUE;
    else
      g_byte_array_append (in, chunk, (guint)n);
  }
}
