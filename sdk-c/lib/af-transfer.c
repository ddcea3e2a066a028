/* af-transfer.c — file content to and from a codebase: UploadFiles (client
 * streaming, one file per call: a metadata chunk, then data chunks) and
 * DownloadFile (server streaming), plus the upload of a scanned local tree.
 *
 * Owns: chunking and the local side of each transfer. Must never: hold a
 * whole local file in memory for an upload, or follow a symbolic link when
 * opening a local file. */
#include "af-sdk-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define METHOD(name) "/sandbox.v1.CodebaseService/" name

/* Well under the transport's 4 MiB message limit; large enough that the
 * per-message cost does not dominate. */
#define UPLOAD_CHUNK_SIZE (256 * 1024)

/* Fills @buf with up to @len bytes; returns the count (0 at the end) or -1
 * with @error set. */
typedef gssize (*SourceRead) (gpointer source, guint8 *buf, gsize len, GError **error);

static gboolean
finish_with_status (AfGrpcClientStream *stream, const char *subject, char **out_checksum,
                    GError **error)
{
  g_autoptr (AfProtobufMessage) response = NULL;
  GError *call_error = NULL;
  if (!af_grpc_client_stream_finish (stream, &response, &call_error)) {
    af_sdk_propagate_call_error (error, call_error, AF_CALL_UPLOAD, subject);
    return FALSE;
  }
  const Sandbox__V1__UploadResult *result = (const Sandbox__V1__UploadResult *)response;
  if (out_checksum != NULL)
    *out_checksum = g_strdup (result->checksum);
  return TRUE;
}

/* A write failed: the server ended the call, and its status says why. */
static gboolean
fail_after_write (AfGrpcClientStream *stream, const char *subject, GError **error)
{
  if (finish_with_status (stream, subject, NULL, error))
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_UPLOAD,
                 "upload of %s failed: the server ended the upload before all data was sent",
                 subject);
  return FALSE;
}

static gboolean
upload (AfClient *client, const char *codebase_id, const char *file_path, gint64 total_size,
        SourceRead read_func, gpointer source, char **out_checksum, GCancellable *cancellable,
        GError **error)
{
  if (!af_client_check_id (codebase_id, "codebase_id", error))
    return FALSE;
  g_autofree char *wire_path = af_client_wire_path (file_path, FALSE, error);
  if (wire_path == NULL)
    return FALSE;

  GError *call_error = NULL;
  g_autoptr (AfGrpcClientStream) stream = af_grpc_channel_start_client_stream (
      client->channel, METHOD ("UploadFiles"), &sandbox__v1__upload_result__descriptor, NULL,
      cancellable, &call_error);
  if (stream == NULL) {
    af_sdk_propagate_call_error (error, call_error, AF_CALL_UPLOAD, wire_path);
    return FALSE;
  }

  Sandbox__V1__UploadChunk__Metadata metadata = SANDBOX__V1__UPLOAD_CHUNK__METADATA__INIT;
  metadata.codebase_id = (char *)codebase_id;
  metadata.file_path = wire_path;
  metadata.total_size = total_size;
  Sandbox__V1__UploadChunk chunk = SANDBOX__V1__UPLOAD_CHUNK__INIT;
  chunk.content_case = SANDBOX__V1__UPLOAD_CHUNK__CONTENT_METADATA;
  chunk.metadata = &metadata;
  if (!af_grpc_client_stream_write (stream, &chunk.base, NULL))
    return fail_after_write (stream, wire_path, error);

  g_autofree guint8 *buf = g_malloc (UPLOAD_CHUNK_SIZE);
  gint64 sent = 0;
  while (sent < total_size) {
    g_autoptr (GError) read_error = NULL;
    gsize want = (gsize)MIN ((gint64)UPLOAD_CHUNK_SIZE, total_size - sent);
    gssize n = read_func (source, buf, want, &read_error);
    if (n <= 0) {
      af_grpc_client_stream_cancel (stream);
      g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_UPLOAD, "upload of %s failed: %s", wire_path,
                   n < 0 ? read_error->message : "the local file shrank while it was uploaded");
      return FALSE;
    }
    chunk = (Sandbox__V1__UploadChunk)SANDBOX__V1__UPLOAD_CHUNK__INIT;
    chunk.content_case = SANDBOX__V1__UPLOAD_CHUNK__CONTENT_DATA;
    chunk.data.data = buf;
    chunk.data.len = (gsize)n;
    if (!af_grpc_client_stream_write (stream, &chunk.base, NULL))
      return fail_after_write (stream, wire_path, error);
    sent += n;
  }
  return finish_with_status (stream, wire_path, out_checksum, error);
}

typedef struct {
  GBytes *bytes;
  gsize offset;
} BytesSource;

static gssize
bytes_read (gpointer source, guint8 *buf, gsize len, GError **error)
{
  BytesSource *s = source;
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (s->bytes, &size);
  gsize n = MIN (len, size - s->offset);
  memcpy (buf, data + s->offset, n);
  s->offset += n;
  return (gssize)n;
}

gboolean
af_client_upload_bytes (AfClient *client, const char *codebase_id, const char *file_path,
                        GBytes *content, char **out_checksum, GCancellable *cancellable,
                        GError **error)
{
  g_return_val_if_fail (content != NULL, FALSE);
  BytesSource source = { content, 0 };
  return upload (client, codebase_id, file_path, (gint64)g_bytes_get_size (content), bytes_read,
                 &source, out_checksum, cancellable, error);
}

static gssize
fd_read (gpointer source, guint8 *buf, gsize len, GError **error)
{
  int fd = GPOINTER_TO_INT (source);
  for (;;) {
    gssize n = read (fd, buf, len);
    if (n >= 0)
      return n;
    if (errno == EINTR)
      continue;
    int saved_errno = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s",
                 g_strerror (saved_errno));
    return -1;
  }
}

gboolean
af_client_upload_local_file (AfClient *client, const char *codebase_id, const char *file_path,
                             const char *local_path, char **out_checksum, GCancellable *cancellable,
                             GError **error)
{
  int fd = open (local_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) != 0) {
    int saved_errno = errno;
    if (fd >= 0)
      close (fd);
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_UPLOAD, "upload of %s failed: %s: %s", file_path,
                 local_path,
                 saved_errno == ELOOP ? "is a symbolic link" : g_strerror (saved_errno));
    return FALSE;
  }
  if (!S_ISREG (st.st_mode)) {
    close (fd);
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_UPLOAD,
                 "upload of %s failed: %s is not a regular file", file_path, local_path);
    return FALSE;
  }
  gboolean ok = upload (client, codebase_id, file_path, st.st_size, fd_read, GINT_TO_POINTER (fd),
                        out_checksum, cancellable, error);
  close (fd);
  return ok;
}

gboolean
af_client_upload_tree (AfClient *client, const char *codebase_id, AfLocalTree *tree,
                       AfUploadProgressFunc progress, gpointer user_data, GCancellable *cancellable,
                       GError **error)
{
  GPtrArray *files = af_local_tree_get_files (tree);
  gint64 bytes_done = 0;

  for (guint i = 0; i < files->len; i++) {
    const AfLocalFile *file = files->pdata[i];
    const char *path = af_local_file_get_path (file);
    g_autofree char *local = g_build_filename (af_local_tree_get_root (tree), path, NULL);
    if (!af_client_upload_local_file (client, codebase_id, path, local, NULL, cancellable, error))
      return FALSE;
    bytes_done += af_local_file_get_size (file);
    if (progress != NULL)
      progress (file, i + 1, bytes_done, user_data);
  }
  return TRUE;
}

/* ---- download ---- */

typedef gboolean (*SinkWrite) (gpointer sink, const guint8 *data, gsize len,
                               GCancellable *cancellable, GError **error);

typedef struct {
  SinkWrite write;
  gpointer sink;
  GCancellable *cancellable;
  GError *sink_error; /* why the sink stopped the stream */
} DownloadState;

static gboolean
on_chunk (const ProtobufCMessage *message, gpointer user_data)
{
  DownloadState *state = user_data;
  const Sandbox__V1__FileChunk *chunk = (const Sandbox__V1__FileChunk *)message;
  return state->write (state->sink, chunk->data.data, chunk->data.len, state->cancellable,
                       &state->sink_error);
}

static gboolean
download (AfClient *client, const char *codebase_id, const char *file_path, SinkWrite write,
          gpointer sink, GCancellable *cancellable, GError **error)
{
  if (!af_client_check_id (codebase_id, "codebase_id", error))
    return FALSE;
  g_autofree char *wire_path = af_client_wire_path (file_path, FALSE, error);
  if (wire_path == NULL)
    return FALSE;

  Sandbox__V1__DownloadFileRequest request = SANDBOX__V1__DOWNLOAD_FILE_REQUEST__INIT;
  request.codebase_id = (char *)codebase_id;
  request.file_path = wire_path;
  DownloadState state = { write, sink, cancellable, NULL };
  GError *call_error = NULL;
  if (!af_grpc_channel_call_server_stream (client->channel, METHOD ("DownloadFile"), &request.base,
                                           &sandbox__v1__file_chunk__descriptor, NULL, on_chunk,
                                           &state, cancellable, &call_error)) {
    if (state.sink_error != NULL) {
      g_error_free (call_error);
      g_propagate_error (error, state.sink_error);
      return FALSE;
    }
    af_sdk_propagate_call_error (error, call_error, AF_CALL_FILE, wire_path);
    return FALSE;
  }
  return TRUE;
}

static gboolean
stream_write (gpointer sink, const guint8 *data, gsize len, GCancellable *cancellable,
              GError **error)
{
  g_autoptr (GError) local_error = NULL;
  if (g_output_stream_write_all (G_OUTPUT_STREAM (sink), data, len, NULL, cancellable,
                                 &local_error))
    return TRUE;
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, g_steal_pointer (&local_error));
  else
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_FAILED, "writing the download: %s",
                 local_error->message);
  return FALSE;
}

gboolean
af_client_download_file_to_stream (AfClient *client, const char *codebase_id, const char *file_path,
                                   GOutputStream *stream, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (stream), FALSE);
  return download (client, codebase_id, file_path, stream_write, stream, cancellable, error);
}

static gboolean
array_write (gpointer sink, const guint8 *data, gsize len, GCancellable *cancellable,
             GError **error)
{
  GByteArray *array = sink;
  if (len > AF_CLIENT_MAX_DOWNLOAD_BYTES - array->len) {
    g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_RESOURCE_LIMIT,
                 "file larger than %zu bytes: download it to a stream instead",
                 AF_CLIENT_MAX_DOWNLOAD_BYTES);
    return FALSE;
  }
  g_byte_array_append (array, data, (guint)len);
  return TRUE;
}

GBytes *
af_client_download_file (AfClient *client, const char *codebase_id, const char *file_path,
                         GCancellable *cancellable, GError **error)
{
  g_autoptr (GByteArray) array = g_byte_array_new ();
  if (!download (client, codebase_id, file_path, array_write, array, cancellable, error))
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&array));
}
