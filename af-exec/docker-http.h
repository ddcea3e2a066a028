/* docker-http.h — a small HTTP/1.1 client over a unix stream socket, for
 * the Docker Engine API (and Podman's compatible one).
 *
 * Owns: writing one request (Connection: close, one connection per
 * request), reading its response within a deadline and parsing it:
 * status line, headers, body by Content-Length, chunked transfer coding or
 * read-to-close. Every size is bounded (AfHttpLimits) and every wait has a
 * deadline. Must never: follow redirects, keep a connection, speak TLS, or
 * accept a response larger than its limits. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gsize max_head; /* status line plus headers */
  gsize max_body; /* decoded body */
} AfHttpLimits;

/* 16 KiB of headers, 1 MiB of body: the engine's answers to create, start
 * and delete are a few hundred bytes. */
#define AF_HTTP_LIMITS_DEFAULT ((AfHttpLimits){ 16 * 1024, 1024 * 1024 })

typedef struct {
  guint status;
  char *content_type; /* NULL when absent */
  char *server;       /* the Server header ("Docker/28.2.2 (linux)"); NULL when absent */
  GByteArray *body;   /* decoded; never NULL after a successful parse */
} AfHttpResponse;

void af_http_response_clear (AfHttpResponse *resp);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AfHttpResponse, af_http_response_clear)

typedef enum {
  AF_HTTP_PARSE_ERROR = -1, /* @error set */
  AF_HTTP_PARSE_MORE = 0,   /* a complete response needs more bytes */
  AF_HTTP_PARSE_DONE = 1,   /* @resp filled */
} AfHttpParse;

/* Parse the response held in @buf[0..@len), the bytes read so far; @eof:
 * the peer has closed, no more will come (a response still incomplete is
 * then an error: truncated). Interim 1xx responses are skipped. On DONE,
 * @resp is filled (cleared first); it is untouched otherwise. Stateless,
 * so call it again with the longer buffer after each read. */
AfHttpParse af_http_parse_response (const char *buf, gsize len, gboolean eof,
                                    const AfHttpLimits *limits, AfHttpResponse *resp,
                                    GError **error);

/* Send @method @target (with @body of @content_type when @body is not
 * NULL) to the server listening at unix socket @socket_path, and read its
 * response, all before @deadline (g_get_monotonic_time () µs). Errors:
 * AF_ERROR_UNAVAILABLE when nothing listens there (no socket, refused,
 * denied), AF_ERROR_DEADLINE_EXCEEDED, AF_ERROR_RESOURCE_EXHAUSTED past a
 * limit, AF_ERROR_DATA_LOSS for a malformed or truncated response. */
gboolean af_http_request (const char *socket_path, const char *method, const char *target,
                          const char *content_type, const char *body, gsize body_len,
                          gint64 deadline, const AfHttpLimits *limits, AfHttpResponse *resp,
                          GError **error);

G_END_DECLS
