/* afd-codebase-service.c — CodebaseService of sandbox.v1: the gRPC handlers.
 *
 * Owns: translating requests into afd-codebases operations and results into
 * messages; the streaming of uploads (one chunk at a time, straight to disk)
 * and downloads (one chunk read per send slot, so memory stays bounded
 * whatever the file size). Must never decide anything itself: validation,
 * ownership and limits live in afd-codebases.c. */
#include "afd-rpc.h"

#include "codebase.pb-c.h"
#include "common.pb-c.h"

#include <errno.h>
#include <unistd.h>

typedef struct {
  Sandbox__V1__Codebase msg;
  Google__Protobuf__Timestamp created, updated;
} CodebaseMsg;

static void
fill_codebase (CodebaseMsg *out, const AfdCodebase *cb)
{
  sandbox__v1__codebase__init (&out->msg);
  out->msg.id = cb->id;
  out->msg.name = cb->name;
  out->msg.owner_id = cb->owner_id;
  out->msg.size = cb->size;
  out->msg.file_count = (int32_t)MIN (cb->file_count, G_MAXINT32);
  afd_rpc_timestamp (&out->created, cb->created_us);
  afd_rpc_timestamp (&out->updated, cb->updated_us);
  out->msg.created_at = &out->created;
  out->msg.updated_at = &out->updated;
}

/* Every handler starts the same way: note the time, identify the caller. */
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
create_codebase (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__CreateCodebaseRequest);
  g_autoptr (AfdCodebase) cb =
      afd_codebases_create (rpc->codebases, &caller, req->name, req->owner_id, &error);
  if (cb == NULL) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  CodebaseMsg out;
  fill_codebase (&out, cb);
  afd_rpc_finish (call, &out.msg.base, NULL, started);
}

static void
get_codebase (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__GetCodebaseRequest);
  g_autoptr (AfdCodebase) cb =
      afd_codebases_get (rpc->codebases, &caller, req->codebase_id, &error);
  if (cb == NULL) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  CodebaseMsg out;
  fill_codebase (&out, cb);
  afd_rpc_finish (call, &out.msg.base, NULL, started);
}

static void
list_codebases (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__ListCodebasesRequest);
  g_autofree char *next = NULL;
  g_autoptr (GPtrArray) rows = afd_codebases_list (rpc->codebases, &caller, req->owner_id,
                                                   req->page_size, req->page_token, &next, &error);
  if (rows == NULL) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  g_autofree CodebaseMsg *msgs = g_new0 (CodebaseMsg, rows->len + 1);
  g_autofree Sandbox__V1__Codebase **ptrs = g_new0 (Sandbox__V1__Codebase *, rows->len + 1);
  for (guint i = 0; i < rows->len; i++) {
    fill_codebase (&msgs[i], g_ptr_array_index (rows, i));
    ptrs[i] = &msgs[i].msg;
  }
  Sandbox__V1__ListCodebasesResponse out = SANDBOX__V1__LIST_CODEBASES_RESPONSE__INIT;
  out.n_codebases = rows->len;
  out.codebases = ptrs;
  out.next_page_token = next;
  afd_rpc_finish (call, &out.base, NULL, started);
}

static void
delete_codebase (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__DeleteCodebaseRequest);
  afd_codebases_delete (rpc->codebases, &caller, req->codebase_id, &error);
  afd_rpc_finish_empty (call, error, started);
}

static void
list_files (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__ListFilesRequest);
  g_autoptr (GPtrArray) entries = afd_codebases_list_files (
      rpc->codebases, &caller, req->codebase_id, req->path, req->recursive, &error);
  if (entries == NULL) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  g_autofree Sandbox__V1__FileInfo *infos = g_new0 (Sandbox__V1__FileInfo, entries->len + 1);
  g_autofree Google__Protobuf__Timestamp *times =
      g_new0 (Google__Protobuf__Timestamp, entries->len + 1);
  g_autofree Sandbox__V1__FileInfo **ptrs = g_new0 (Sandbox__V1__FileInfo *, entries->len + 1);
  for (guint i = 0; i < entries->len; i++) {
    AfdFileInfo *e = g_ptr_array_index (entries, i);
    sandbox__v1__file_info__init (&infos[i]);
    infos[i].path = e->path;
    infos[i].name = (char *)e->name;
    infos[i].is_dir = e->is_dir;
    infos[i].size = e->size;
    afd_rpc_timestamp (&times[i], e->mtime_us);
    infos[i].modified_at = &times[i];
    ptrs[i] = &infos[i];
  }
  Sandbox__V1__ListFilesResponse out = SANDBOX__V1__LIST_FILES_RESPONSE__INIT;
  out.n_files = entries->len;
  out.files = ptrs;
  afd_rpc_finish (call, &out.base, NULL, started);
}

/* ---- UploadFiles: client streaming ---- */

typedef struct {
  AfdRpc *rpc;
  AfGrpcCall *call; /* our ref */
  AfdCaller caller;
  char *address;
  AfdCodebaseUpload *up;
  gint64 started;
  gulong cancel_handler;
  gboolean done;
} UploadState;

static void
upload_state_clear (gpointer p)
{
  UploadState *st = p;
  afd_codebase_upload_free (st->up);
  af_grpc_call_unref (st->call);
  g_free (st->address);
}

static void
upload_state_unref (gpointer p)
{
  g_atomic_rc_box_release_full (p, upload_state_clear);
}

static void
ignore_message (AfGrpcCall *call, const ProtobufCMessage *message, gpointer user_data)
{
}

/* The one way an upload ends: the temp file goes unless it was committed. */
static void
upload_end (UploadState *st, const ProtobufCMessage *response, const GError *error)
{
  if (st->done)
    return;
  st->done = TRUE;
  af_grpc_call_set_receive_func (st->call, ignore_message, NULL);
  g_clear_pointer (&st->up, afd_codebase_upload_free);
  afd_rpc_cancel_disconnect (st->call, st->cancel_handler);
  st->cancel_handler = 0;
  afd_rpc_finish (st->call, response, error, st->started);
  upload_state_unref (st); /* the stream's own reference */
}

static gboolean
upload_cancelled (gpointer p)
{
  UploadState *st = p;
  g_autoptr (GError) error =
      g_error_new_literal (AF_ERROR, AF_ERROR_CANCELLED, "upload cancelled; nothing stored");
  upload_end (st, NULL, error);
  return G_SOURCE_REMOVE;
}

static void
upload_receive (AfGrpcCall *call, const ProtobufCMessage *message, gpointer user_data)
{
  UploadState *st = user_data;
  g_autoptr (GError) error = NULL;
  if (st->done)
    return;
  /* Hold a reference: upload_end may drop the stream's one. */
  st = g_atomic_rc_box_acquire (st);

  if (message == NULL) {
    if (st->up == NULL) {
      g_set_error_literal (&error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                           "the stream ended before any metadata message");
      upload_end (st, NULL, error);
    } else {
      g_autoptr (AfdFileRow) row = afd_codebase_upload_finish (st->up, &error);
      if (row == NULL) {
        upload_end (st, NULL, error);
      } else {
        g_autofree char *id = g_strdup (afd_codebase_upload_get_codebase_id (st->up));
        Sandbox__V1__UploadResult out = SANDBOX__V1__UPLOAD_RESULT__INIT;
        out.codebase_id = id;
        out.file_path = row->path;
        out.size = row->size;
        out.checksum = row->sha256;
        upload_end (st, &out.base, NULL);
      }
    }
    upload_state_unref (st);
    return;
  }

  const Sandbox__V1__UploadChunk *chunk = (const Sandbox__V1__UploadChunk *)message;
  if (st->up == NULL) {
    if (chunk->content_case != SANDBOX__V1__UPLOAD_CHUNK__CONTENT_METADATA ||
        chunk->metadata == NULL) {
      g_set_error_literal (&error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                           "the first message of UploadFiles must be metadata");
      upload_end (st, NULL, error);
    } else {
      const Sandbox__V1__UploadChunk__Metadata *md = chunk->metadata;
      st->up = afd_codebases_upload_begin (st->rpc->codebases, &st->caller, md->codebase_id,
                                           md->file_path, md->total_size, &error);
      if (st->up == NULL)
        upload_end (st, NULL, error);
    }
  } else if (chunk->content_case != SANDBOX__V1__UPLOAD_CHUNK__CONTENT_DATA) {
    g_set_error_literal (&error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "only data may follow the metadata (one file per call)");
    upload_end (st, NULL, error);
  } else if (!afd_codebase_upload_write (st->up, chunk->data.data, chunk->data.len, &error)) {
    upload_end (st, NULL, error);
  }
  upload_state_unref (st);
}

static void
upload_files (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  AfdRpc *rpc = user_data;
  gint64 started = g_get_monotonic_time ();
  g_autoptr (GError) error = NULL;
  UploadState *st = g_atomic_rc_box_new0 (UploadState);
  st->rpc = rpc;
  st->call = af_grpc_call_ref (call);
  st->started = started;
  if (!afd_rpc_caller (rpc, call, &st->caller, &error)) {
    upload_end (st, NULL, error);
    return;
  }
  /* The peer address belongs to the call; keep our own copy. */
  st->address = g_strdup (st->caller.address);
  st->caller.address = st->address;
  st->cancel_handler =
      afd_rpc_on_cancel (call, upload_cancelled, g_atomic_rc_box_acquire (st), upload_state_unref);
  af_grpc_call_set_receive_func (call, upload_receive, st);
}

/* ---- DownloadFile: server streaming ---- */

typedef struct {
  AfdRpc *rpc;
  AfGrpcCall *call; /* our ref */
  int fd;
  guint8 *buf;
  gsize chunk;
  gint64 started;
  gulong cancel_handler;
  gboolean done;
} DownloadState;

static void
download_state_clear (gpointer p)
{
  DownloadState *st = p;
  if (st->fd >= 0)
    close (st->fd);
  g_free (st->buf);
  af_grpc_call_unref (st->call);
}

static void
download_state_unref (gpointer p)
{
  g_atomic_rc_box_release_full (p, download_state_clear);
}

static void
download_end (DownloadState *st, const GError *error)
{
  if (st->done)
    return;
  st->done = TRUE;
  af_grpc_call_set_send_ready_func (st->call, NULL, NULL);
  afd_rpc_cancel_disconnect (st->call, st->cancel_handler);
  st->cancel_handler = 0;
  afd_rpc_finish (st->call, NULL, error, st->started);
  download_state_unref (st);
}

static gboolean
download_cancelled (gpointer p)
{
  g_autoptr (GError) error =
      g_error_new_literal (AF_ERROR, AF_ERROR_CANCELLED, "download cancelled");
  download_end (p, error);
  return G_SOURCE_REMOVE;
}

/* Read and send while the send queue has room; resume when it drains. */
static void
download_pump (AfGrpcCall *call, gpointer user_data)
{
  DownloadState *st = user_data;
  g_autoptr (GError) error = NULL;
  while (!st->done && af_grpc_call_can_send (st->call)) {
    ssize_t n = read (st->fd, st->buf, st->chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_set_error (&error, AF_ERROR, AF_ERROR_INTERNAL, "cannot read the file: %s",
                   g_strerror (errno));
      download_end (st, error);
      return;
    }
    if (n == 0) {
      download_end (st, NULL);
      return;
    }
    Sandbox__V1__FileChunk msg = SANDBOX__V1__FILE_CHUNK__INIT;
    msg.data.data = st->buf;
    msg.data.len = (size_t)n;
    if (!af_grpc_call_send (st->call, &msg.base, &error)) {
      download_end (st, error);
      return;
    }
  }
}

static void
download_file (AfGrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
  BEGIN_CALL (Sandbox__V1__DownloadFileRequest);
  g_autofree char *path = NULL;
  int fd = afd_codebases_open_file (rpc->codebases, &caller, req->codebase_id, req->file_path,
                                    &path, &error);
  if (fd < 0) {
    afd_rpc_finish (call, NULL, error, started);
    return;
  }
  DownloadState *st = g_atomic_rc_box_new0 (DownloadState);
  st->rpc = rpc;
  st->call = af_grpc_call_ref (call);
  st->fd = fd;
  st->chunk = (gsize)rpc->settings->download_chunk_size;
  st->buf = g_malloc (st->chunk);
  st->started = started;
  st->cancel_handler = afd_rpc_on_cancel (call, download_cancelled, g_atomic_rc_box_acquire (st),
                                          download_state_unref);
  af_grpc_call_set_send_ready_func (call, download_pump, st);
  g_atomic_rc_box_acquire (st);
  download_pump (call, st);
  download_state_unref (st);
}

#define METHOD(name, kind, req, resp, fn)                                                          \
  {                                                                                                \
    "/sandbox.v1.CodebaseService/" name, kind, &req##__descriptor, &resp##__descriptor, fn         \
  }

static const AfGrpcMethod methods[] = {
  METHOD ("CreateCodebase", AF_GRPC_UNARY, sandbox__v1__create_codebase_request,
          sandbox__v1__codebase, create_codebase),
  METHOD ("GetCodebase", AF_GRPC_UNARY, sandbox__v1__get_codebase_request, sandbox__v1__codebase,
          get_codebase),
  METHOD ("ListCodebases", AF_GRPC_UNARY, sandbox__v1__list_codebases_request,
          sandbox__v1__list_codebases_response, list_codebases),
  METHOD ("DeleteCodebase", AF_GRPC_UNARY, sandbox__v1__delete_codebase_request, sandbox__v1__empty,
          delete_codebase),
  METHOD ("UploadFiles", AF_GRPC_CLIENT_STREAMING, sandbox__v1__upload_chunk,
          sandbox__v1__upload_result, upload_files),
  METHOD ("DownloadFile", AF_GRPC_SERVER_STREAMING, sandbox__v1__download_file_request,
          sandbox__v1__file_chunk, download_file),
  METHOD ("ListFiles", AF_GRPC_UNARY, sandbox__v1__list_files_request,
          sandbox__v1__list_files_response, list_files),
};

const AfGrpcMethod *
afd_codebase_service_methods (gsize *out_n)
{
  *out_n = G_N_ELEMENTS (methods);
  return methods;
}
