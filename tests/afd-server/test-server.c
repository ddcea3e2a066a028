/* Integration tests: a real afd-server on a temp state dir, driven through
 * libafcore's gRPC client over the unix socket and TCP. Every
 * CodebaseService method with its success and error codes, hostile uploads
 * (with the disk checked), lying 2 GiB uploads with the server's RSS
 * checked, persistence across kill -9, a crash mid-upload, a second server
 * refused, start-up refusals (corrupt database, remote listen). */
#include "afd-test-daemon.h"
#include "afd-test-util.h"

#include "codebase.pb-c.h"
#include "common.pb-c.h"

#include <sqlite3.h>
#include <string.h>

#define SVC "/sandbox.v1.CodebaseService/"

typedef struct {
  AfdTestDaemon d;
  AfGrpcChannel *ch;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  const char *const *args = data;
  afd_test_daemon_start (&f->d, args);
  f->ch = afd_test_daemon_unix_channel (&f->d);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->ch, af_grpc_channel_unref);
  afd_test_daemon_free (&f->d);
}

static void
restart (Fixture *f, gboolean kill9, const char *const *args)
{
  g_clear_pointer (&f->ch, af_grpc_channel_unref);
  if (kill9)
    afd_test_daemon_kill9 (&f->d);
  else
    afd_test_daemon_stop (&f->d);
  afd_test_daemon_start (&f->d, args);
  f->ch = afd_test_daemon_unix_channel (&f->d);
}

static ProtobufCMessage *
unary (AfGrpcChannel *ch, const char *method, const ProtobufCMessage *req,
       const ProtobufCMessageDescriptor *resp, GError **error)
{
  ProtobufCMessage *out = NULL;
  AfGrpcCallOptions opts = { .timeout_ms = 30000 };
  af_grpc_channel_call_unary (ch, method, req, resp, &opts, &out, NULL, error);
  return out;
}

#define FREE_MSG(m) protobuf_c_message_free_unpacked ((ProtobufCMessage *)(m), NULL)

static Sandbox__V1__Codebase *
create_cb (AfGrpcChannel *ch, const char *name, const char *owner, GError **error)
{
  Sandbox__V1__CreateCodebaseRequest req = SANDBOX__V1__CREATE_CODEBASE_REQUEST__INIT;
  req.name = (char *)name;
  req.owner_id = (char *)owner;
  return (Sandbox__V1__Codebase *)unary (ch, SVC "CreateCodebase", &req.base,
                                         &sandbox__v1__codebase__descriptor, error);
}

static Sandbox__V1__Codebase *
get_cb (AfGrpcChannel *ch, const char *id, GError **error)
{
  Sandbox__V1__GetCodebaseRequest req = SANDBOX__V1__GET_CODEBASE_REQUEST__INIT;
  req.codebase_id = (char *)id;
  return (Sandbox__V1__Codebase *)unary (ch, SVC "GetCodebase", &req.base,
                                         &sandbox__v1__codebase__descriptor, error);
}

/* Upload @len bytes (a repeating pattern when @data is NULL) declared as
 * @declared, in chunks of @chunk. */
static Sandbox__V1__UploadResult *
upload (AfGrpcChannel *ch, const char *cb, const char *path, const guint8 *data, gint64 len,
        gint64 declared, gsize chunk, GError **error)
{
  AfGrpcCallOptions opts = { .timeout_ms = 600000 };
  g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_client_stream (
      ch, SVC "UploadFiles", &sandbox__v1__upload_result__descriptor, &opts, NULL, error);
  if (s == NULL)
    return NULL;
  Sandbox__V1__UploadChunk__Metadata md = SANDBOX__V1__UPLOAD_CHUNK__METADATA__INIT;
  md.codebase_id = (char *)cb;
  md.file_path = (char *)path;
  md.total_size = declared;
  Sandbox__V1__UploadChunk first = SANDBOX__V1__UPLOAD_CHUNK__INIT;
  first.content_case = SANDBOX__V1__UPLOAD_CHUNK__CONTENT_METADATA;
  first.metadata = &md;
  gboolean ok = af_grpc_client_stream_write (s, &first.base, NULL);
  g_autofree guint8 *pattern = NULL;
  if (data == NULL) {
    pattern = g_malloc (chunk);
    for (gsize i = 0; i < chunk; i++)
      pattern[i] = (guint8)(i * 7);
  }
  for (gint64 off = 0; ok && off < len; off += (gint64)chunk) {
    Sandbox__V1__UploadChunk c = SANDBOX__V1__UPLOAD_CHUNK__INIT;
    c.content_case = SANDBOX__V1__UPLOAD_CHUNK__CONTENT_DATA;
    c.data.data = data ? (guint8 *)data + off : pattern;
    c.data.len = (size_t)MIN ((gint64)chunk, len - off);
    ok = af_grpc_client_stream_write (s, &c.base, NULL);
  }
  ProtobufCMessage *out = NULL;
  af_grpc_client_stream_finish (s, &out, error);
  return (Sandbox__V1__UploadResult *)out;
}

static Sandbox__V1__UploadResult *
upload_str (AfGrpcChannel *ch, const char *cb, const char *path, const char *text, GError **error)
{
  gint64 len = (gint64)strlen (text);
  return upload (ch, cb, path, (const guint8 *)text, len, len, 65536, error);
}

static GByteArray *
download (AfGrpcChannel *ch, const char *cb, const char *path, guint *out_chunks, GError **error)
{
  Sandbox__V1__DownloadFileRequest req = SANDBOX__V1__DOWNLOAD_FILE_REQUEST__INIT;
  req.codebase_id = (char *)cb;
  req.file_path = (char *)path;
  AfGrpcCallOptions opts = { .timeout_ms = 600000 };
  g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_server_stream (
      ch, SVC "DownloadFile", &req.base, &sandbox__v1__file_chunk__descriptor, &opts, NULL, error);
  if (s == NULL)
    return NULL;
  g_autoptr (GByteArray) out = g_byte_array_new ();
  guint chunks = 0;
  ProtobufCMessage *m;
  while ((m = af_grpc_client_stream_read (s, error)) != NULL) {
    Sandbox__V1__FileChunk *c = (Sandbox__V1__FileChunk *)m;
    g_byte_array_append (out, c->data.data, (guint)c->data.len);
    chunks++;
    FREE_MSG (m);
  }
  if (error && *error)
    return NULL;
  if (out_chunks)
    *out_chunks = chunks;
  return g_steal_pointer (&out);
}

static Sandbox__V1__ListFilesResponse *
list_files (AfGrpcChannel *ch, const char *cb, const char *path, gboolean recursive, GError **error)
{
  Sandbox__V1__ListFilesRequest req = SANDBOX__V1__LIST_FILES_REQUEST__INIT;
  req.codebase_id = (char *)cb;
  req.path = (char *)path;
  req.recursive = recursive;
  return (Sandbox__V1__ListFilesResponse *)unary (
      ch, SVC "ListFiles", &req.base, &sandbox__v1__list_files_response__descriptor, error);
}

static void
test_every_method (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Sandbox__V1__Codebase *cb = create_cb (f->ch, "demo", "alice", &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (cb->id, "cb_"));
  g_assert_cmpstr (cb->name, ==, "demo");
  g_assert_cmpint (cb->size, ==, 0);
  g_assert_nonnull (cb->created_at);
  g_assert_cmpint (cb->created_at->seconds, >, 1600000000);

  Sandbox__V1__UploadResult *r = upload_str (f->ch, cb->id, "src/main.c", "hello", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (r->file_path, ==, "src/main.c");
  g_assert_cmpstr (r->codebase_id, ==, cb->id);
  g_assert_cmpint (r->size, ==, 5);
  g_assert_cmpstr (r->checksum, ==,
                   "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  FREE_MSG (r);
  r = upload_str (f->ch, cb->id, "README", "readme!", &error);
  FREE_MSG (r);

  Sandbox__V1__Codebase *got = get_cb (f->ch, cb->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (got->size, ==, 12);
  g_assert_cmpint (got->file_count, ==, 2);
  FREE_MSG (got);

  guint chunks = 0;
  g_autoptr (GByteArray) bytes = download (f->ch, cb->id, "src/main.c", &chunks, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (bytes->data, bytes->len, "hello", 5);

  Sandbox__V1__ListFilesResponse *lf = list_files (f->ch, cb->id, "", FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lf->n_files, ==, 2);
  g_assert_cmpstr (lf->files[0]->path, ==, "README");
  g_assert_false (lf->files[0]->is_dir);
  g_assert_cmpint (lf->files[0]->size, ==, 7);
  g_assert_cmpstr (lf->files[1]->name, ==, "src");
  g_assert_true (lf->files[1]->is_dir);
  g_assert_nonnull (lf->files[1]->modified_at);
  FREE_MSG (lf);

  Sandbox__V1__ListCodebasesRequest lreq = SANDBOX__V1__LIST_CODEBASES_REQUEST__INIT;
  lreq.owner_id = "alice";
  Sandbox__V1__ListCodebasesResponse *lc = (Sandbox__V1__ListCodebasesResponse *)unary (
      f->ch, SVC "ListCodebases", &lreq.base, &sandbox__v1__list_codebases_response__descriptor,
      &error);
  g_assert_no_error (error);
  g_assert_cmpuint (lc->n_codebases, ==, 1);
  g_assert_cmpstr (lc->next_page_token, ==, "");
  FREE_MSG (lc);

  Sandbox__V1__DeleteCodebaseRequest dreq = SANDBOX__V1__DELETE_CODEBASE_REQUEST__INIT;
  dreq.codebase_id = cb->id;
  ProtobufCMessage *empty =
      unary (f->ch, SVC "DeleteCodebase", &dreq.base, &sandbox__v1__empty__descriptor, &error);
  g_assert_no_error (error);
  FREE_MSG (empty);
  g_autofree char *cbdir = g_build_filename (f->d.state, "codebases", cb->id, NULL);
  g_assert_false (g_file_test (cbdir, G_FILE_TEST_EXISTS));
  got = get_cb (f->ch, cb->id, &error);
  g_assert_null (got);
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
  FREE_MSG (cb);
}

static void
test_error_codes (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Sandbox__V1__Codebase *cb = create_cb (f->ch, "errs", "", &error);
  Sandbox__V1__UploadResult *r = upload_str (f->ch, cb->id, "dir/file", "x", &error);
  FREE_MSG (r);
  g_autofree char *unknown = af_id_new (AF_ID_CODEBASE);
  g_autofree char *long_name = g_strnfill (256, 'n');

  struct {
    const char *what;
    int code;
  } want[] = {
    { "create empty name", AF_ERROR_INVALID_ARGUMENT },
    { "create long name", AF_ERROR_INVALID_ARGUMENT },
    { "get no id", AF_ERROR_INVALID_ARGUMENT },
    { "get unknown", AF_ERROR_NOT_FOUND },
    { "upload through a file", AF_ERROR_FAILED_PRECONDITION },
    { "upload over a dir", AF_ERROR_FAILED_PRECONDITION },
    { "upload too big", AF_ERROR_RESOURCE_EXHAUSTED },
    { "download missing", AF_ERROR_NOT_FOUND },
    { "download dir", AF_ERROR_INVALID_ARGUMENT },
    { "list missing dir", AF_ERROR_NOT_FOUND },
    { "list unknown codebase", AF_ERROR_NOT_FOUND },
    { "list codebases bad token", AF_ERROR_INVALID_ARGUMENT },
    { "delete unknown", AF_ERROR_NOT_FOUND },
    { "a method not served", AF_ERROR_UNIMPLEMENTED },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (want); i++) {
    g_autoptr (GError) e = NULL;
    gpointer reply = NULL;
    switch (i) {
    case 0:
      reply = create_cb (f->ch, "", "", &e);
      break;
    case 1:
      reply = create_cb (f->ch, long_name, "", &e);
      break;
    case 2:
      reply = get_cb (f->ch, "", &e);
      break;
    case 3:
      reply = get_cb (f->ch, unknown, &e);
      break;
    case 4:
      reply = upload_str (f->ch, cb->id, "dir/file/x", "y", &e);
      break;
    case 5:
      reply = upload_str (f->ch, cb->id, "dir", "y", &e);
      break;
    case 6:
      reply = upload (f->ch, cb->id, "big", NULL, 0, (gint64)1 << 40, 1024, &e);
      break;
    case 7:
      reply = download (f->ch, cb->id, "nope", NULL, &e);
      break;
    case 8:
      reply = download (f->ch, cb->id, "dir", NULL, &e);
      break;
    case 9:
      reply = list_files (f->ch, cb->id, "nope", FALSE, &e);
      break;
    case 10:
      reply = list_files (f->ch, unknown, "", FALSE, &e);
      break;
    case 11: {
      Sandbox__V1__ListCodebasesRequest lr = SANDBOX__V1__LIST_CODEBASES_REQUEST__INIT;
      lr.page_token = "bm90IG91cnM=";
      reply = unary (f->ch, SVC "ListCodebases", &lr.base,
                     &sandbox__v1__list_codebases_response__descriptor, &e);
      break;
    }
    case 12: {
      Sandbox__V1__DeleteCodebaseRequest dr = SANDBOX__V1__DELETE_CODEBASE_REQUEST__INIT;
      dr.codebase_id = unknown;
      reply = unary (f->ch, SVC "DeleteCodebase", &dr.base, &sandbox__v1__empty__descriptor, &e);
      break;
    }
    case 13: {
      Sandbox__V1__GetCodebaseRequest gr = SANDBOX__V1__GET_CODEBASE_REQUEST__INIT;
      reply = unary (f->ch, "/sandbox.v1.CodebaseService/NoSuchMethod", &gr.base,
                     &sandbox__v1__codebase__descriptor, &e);
      break;
    }
    default:
      g_assert_not_reached ();
    }
    g_test_message ("%s", want[i].what);
    g_assert_null (reply);
    g_assert_error (e, AF_ERROR, want[i].code);
    g_assert_cmpstr (e->message, !=, "");
  }
  FREE_MSG (cb);
}

static void
test_hostile_uploads (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Sandbox__V1__Codebase *cb = create_cb (f->ch, "hostile", "", &error);
  Sandbox__V1__Codebase *other = create_cb (f->ch, "other", "", &error);
  Sandbox__V1__UploadResult *r = upload_str (f->ch, cb->id, "file", "x", &error);
  g_assert_no_error (error);
  FREE_MSG (r);
  g_autoptr (GPtrArray) before = afd_test_tree (f->d.top);

  g_autofree char *long_comp = g_strnfill (256, 'c');
  g_autofree char *other_rel = g_strdup_printf ("../%s/x", other->id);
  const char *paths[] = {
    "../x",    "a/../../x", "..",     "/etc/passwd",       "", ".", "file/inside",
    long_comp, other_rel,   "./../x", "a/./../../../etc/x"
  };
  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++) {
    g_autoptr (GError) e = NULL;
    r = upload_str (f->ch, cb->id, paths[i], "evil", &e);
    g_test_message ("path '%s'", paths[i]);
    g_assert_null (r);
    g_assert_true (g_error_matches (e, AF_ERROR, AF_ERROR_INVALID_ARGUMENT) ||
                   (i == 6 && g_error_matches (e, AF_ERROR, AF_ERROR_FAILED_PRECONDITION)));
  }
  /* A NUL inside the path: protobuf-c would truncate it to "x"; it must be
   * refused instead. Sent raw, since our client would not build it. */
  {
    g_autoptr (GError) e = NULL;
    static const char nul_path[] = "x\0y";
    /* protobuf-c packs strings with strlen: build the bytes by hand. */
    g_autoptr (GByteArray) b = g_byte_array_new ();
    guint8 inner[128];
    gsize n = 0;
    inner[n++] = 0x0a; /* field 1, len */
    inner[n++] = (guint8)strlen (cb->id);
    memcpy (inner + n, cb->id, strlen (cb->id));
    n += strlen (cb->id);
    inner[n++] = 0x12; /* field 2, len */
    inner[n++] = 3;
    memcpy (inner + n, nul_path, 3);
    n += 3;
    guint8 outer[2] = { 0x0a, (guint8)n };
    g_byte_array_append (b, outer, 2);
    g_byte_array_append (b, inner, (guint)n);
    ProtobufCMessage *raw =
        protobuf_c_message_unpack (&sandbox__v1__upload_chunk__descriptor, NULL, b->len, b->data);
    /* protobuf-c itself decodes it, truncating at the NUL — which is why the
     * transport checks the bytes before unpacking. */
    g_assert_nonnull (raw);
    FREE_MSG (raw);
    AfGrpcCallOptions opts = { .timeout_ms = 10000 };
    g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_client_stream (
        f->ch, SVC "UploadFiles", &sandbox__v1__upload_result__descriptor, &opts, NULL, &e);
    g_assert_no_error (e);
    /* Our client encodes from messages only; send the raw bytes through a
     * message whose one bytes field re-creates exactly this encoding. */
    Sandbox__V1__FileChunk carrier = SANDBOX__V1__FILE_CHUNK__INIT;
    carrier.data.data = inner;
    carrier.data.len = n;
    /* FileChunk{data=#1 bytes} encodes as 0x0a len <inner>: the same bytes
     * as UploadChunk{metadata=#1}. */
    af_grpc_client_stream_write (s, &carrier.base, NULL);
    ProtobufCMessage *out = NULL;
    g_assert_false (af_grpc_client_stream_finish (s, &out, &e));
    g_assert_error (e, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  }
  /* Ids that are paths. */
  const char *ids[] = { "../other", "..", "cb_/../../etc", "/etc" };
  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++) {
    g_autoptr (GError) e = NULL;
    r = upload_str (f->ch, ids[i], "x", "evil", &e);
    g_assert_null (r);
    g_assert_error (e, AF_ERROR, AF_ERROR_NOT_FOUND);
  }

  /* Nothing written anywhere: not in the store, not next to it. */
  g_autoptr (GPtrArray) after = afd_test_tree (f->d.top);
  for (guint i = 0; i < after->len; i++) {
    const char *p = g_ptr_array_index (after, i);
    if (g_str_has_prefix (p, "state/afd.db") || strcmp (p, "server.log") == 0)
      continue;
    g_assert_true (afd_test_tree_contains (before, p));
  }
  g_assert_cmpuint (after->len, ==, before->len);
  FREE_MSG (cb);
  FREE_MSG (other);
}

/* One round of lying uploads of SIZE bytes each: declared smaller than sent
 * (refused as soon as the bytes exceed it; the client's writes then fail and
 * it stops sending), then declared larger than sent (all SIZE bytes arrive,
 * then refused). */
static void
lying_round (Fixture *f, const char *cb_id, gint64 size)
{
  g_autoptr (GError) error = NULL;
  Sandbox__V1__UploadResult *r =
      upload (f->ch, cb_id, "small", NULL, size, 64 << 20, 1 << 20, &error);
  g_assert_null (r);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  r = upload (f->ch, cb_id, "large", NULL, size, size + 1, 1 << 20, &error);
  g_assert_null (r);
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
}

static void
test_lying_2gib (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Sandbox__V1__Codebase *cb = create_cb (f->ch, "big", "", &error);
  const gint64 two_gib = (gint64)2 << 30;

  /* A warm-up round brings the server's allocators (glibc arenas, grpc's
   * buffers, a sanitizer's quarantine) to their working size; the property
   * checked is that 4 GiB more of refused bytes then add nothing that grows
   * with the bytes: a server holding even 2 % of them would exceed the
   * bound. */
  lying_round (f, cb->id, 256 << 20);
  gint64 rss_before = afd_test_daemon_peak_rss_kb (&f->d);
  lying_round (f, cb->id, two_gib);
  gint64 rss_after = afd_test_daemon_peak_rss_kb (&f->d);
  g_test_message ("server peak RSS: %" G_GINT64_FORMAT
                  " KiB after a 512 MiB warm-up, %" G_GINT64_FORMAT
                  " KiB after 4 GiB more of lying uploads",
                  rss_before, rss_after);
  g_assert_cmpint (rss_after, <, rss_before + 64 * 1024);

  Sandbox__V1__Codebase *got = get_cb (f->ch, cb->id, &error);
  g_assert_cmpint (got->file_count, ==, 0);
  g_assert_cmpint (got->size, ==, 0);
  g_autofree char *tmp = g_build_filename (f->d.state, "tmp", NULL);
  g_autofree char *cbdir = g_build_filename (f->d.state, "codebases", cb->id, NULL);
  g_autoptr (GPtrArray) t1 = afd_test_tree (tmp);
  g_autoptr (GPtrArray) t2 = afd_test_tree (cbdir);
  g_assert_cmpuint (t1->len, ==, 0);
  g_assert_cmpuint (t2->len, ==, 0);
  FREE_MSG (got);
  FREE_MSG (cb);
}

static void
test_persistence_kill9 (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  char *ids[2] = { NULL, NULL };
  g_autoptr (GHashTable) sums = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree guint8 *big = g_malloc (3 << 20);
  for (gsize i = 0; i < (3 << 20); i++)
    big[i] = (guint8)g_random_int ();
  for (int c = 0; c < 2; c++) {
    Sandbox__V1__Codebase *cb = create_cb (f->ch, c ? "two" : "one", "bob", &error);
    ids[c] = g_strdup (cb->id);
    FREE_MSG (cb);
    const char *paths[] = { "a.txt", "deep/er/b.bin", "empty" };
    for (int i = 0; i < 3; i++) {
      gint64 len = i == 0 ? 11 : i == 1 ? (3 << 20) - c : 0;
      Sandbox__V1__UploadResult *r =
          upload (f->ch, ids[c], paths[i], i == 0 ? (const guint8 *)"hello world" : big, len, len,
                  1 << 20, &error);
      g_assert_no_error (error);
      g_hash_table_insert (sums, g_strdup_printf ("%s/%s", ids[c], paths[i]),
                           g_strdup (r->checksum));
      FREE_MSG (r);
    }
  }
  restart (f, TRUE, data);

  for (int c = 0; c < 2; c++) {
    Sandbox__V1__Codebase *cb = get_cb (f->ch, ids[c], &error);
    g_assert_no_error (error);
    g_assert_cmpint (cb->file_count, ==, 3);
    g_assert_cmpint (cb->size, ==, 11 + (3 << 20) - c);
    FREE_MSG (cb);
  }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, sums);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    g_auto (GStrv) parts = g_strsplit (k, "/", 2);
    g_autoptr (GByteArray) bytes = download (f->ch, parts[0], parts[1], NULL, &error);
    g_assert_no_error (error);
    g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, bytes->data, bytes->len);
    g_assert_cmpstr (sum, ==, v);
  }
  g_free (ids[0]);
  g_free (ids[1]);
}

static void
test_crash_mid_upload (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Sandbox__V1__Codebase *cb = create_cb (f->ch, "crash", "", &error);
  g_autofree char *id = g_strdup (cb->id);
  FREE_MSG (cb);

  AfGrpcCallOptions opts = { .timeout_ms = 60000 };
  g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_client_stream (
      f->ch, SVC "UploadFiles", &sandbox__v1__upload_result__descriptor, &opts, NULL, &error);
  Sandbox__V1__UploadChunk__Metadata md = SANDBOX__V1__UPLOAD_CHUNK__METADATA__INIT;
  md.codebase_id = id;
  md.file_path = "partial.bin";
  md.total_size = 64 << 20;
  Sandbox__V1__UploadChunk first = SANDBOX__V1__UPLOAD_CHUNK__INIT;
  first.content_case = SANDBOX__V1__UPLOAD_CHUNK__CONTENT_METADATA;
  first.metadata = &md;
  g_assert_true (af_grpc_client_stream_write (s, &first.base, &error));
  g_autofree guint8 *buf = g_malloc0 (1 << 20);
  for (int i = 0; i < 16; i++) {
    Sandbox__V1__UploadChunk c = SANDBOX__V1__UPLOAD_CHUNK__INIT;
    c.content_case = SANDBOX__V1__UPLOAD_CHUNK__CONTENT_DATA;
    c.data.data = buf;
    c.data.len = 1 << 20;
    g_assert_true (af_grpc_client_stream_write (s, &c.base, &error));
  }
  /* The server holds a temp file now (or will have, had it been faster). */
  g_clear_pointer (&f->ch, af_grpc_channel_unref);
  afd_test_daemon_kill9 (&f->d);
  g_clear_pointer (&s, af_grpc_client_stream_free);

  /* The database survived the crash intact. */
  g_autofree char *dbpath = g_build_filename (f->d.state, "afd.db", NULL);
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open_v2 (dbpath, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
  sqlite3_stmt *stmt = NULL;
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *)sqlite3_column_text (stmt, 0), ==, "ok");
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  afd_test_daemon_start (&f->d, NULL);
  f->ch = afd_test_daemon_unix_channel (&f->d);
  g_autoptr (GByteArray) got = download (f->ch, id, "partial.bin", NULL, &error);
  g_assert_null (got);
  g_assert_error (error, AF_ERROR, AF_ERROR_NOT_FOUND);
  g_clear_error (&error);
  Sandbox__V1__Codebase *after = get_cb (f->ch, id, &error);
  g_assert_cmpint (after->file_count, ==, 0);
  FREE_MSG (after);
  g_autofree char *tmp = g_build_filename (f->d.state, "tmp", NULL);
  g_autofree char *cbdir = g_build_filename (f->d.state, "codebases", id, NULL);
  g_autoptr (GPtrArray) t1 = afd_test_tree (tmp);
  g_autoptr (GPtrArray) t2 = afd_test_tree (cbdir);
  g_assert_cmpuint (t1->len, ==, 0);
  g_assert_cmpuint (t2->len, ==, 0);
}

typedef struct {
  GFileMonitorEvent want;
  gboolean seen;
} DirWatch;

static void
on_dir_event (GFileMonitor *m, GFile *file, GFile *other, GFileMonitorEvent event,
              gpointer user_data)
{
  DirWatch *w = user_data;
  if (event == w->want)
    w->seen = TRUE;
}

static gboolean
on_watch_timeout (gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterate until @w saw its event (inotify, no polling) or 60 s passed. */
static void
wait_for_event (DirWatch *w)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (60, on_watch_timeout, &timed_out);
  while (!w->seen && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  g_assert_true (w->seen);
}

static void
test_client_cancel_mid_upload (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Sandbox__V1__Codebase *cb = create_cb (f->ch, "cancel", "", &error);
  g_autofree char *tmp = g_build_filename (f->d.state, "tmp", NULL);
  g_autoptr (GFile) tmpdir = g_file_new_for_path (tmp);
  g_autoptr (GFileMonitor) mon =
      g_file_monitor_directory (tmpdir, G_FILE_MONITOR_NONE, NULL, &error);
  g_assert_no_error (error);
  DirWatch created = { G_FILE_MONITOR_EVENT_CREATED, FALSE };
  gulong h = g_signal_connect (mon, "changed", G_CALLBACK (on_dir_event), &created);

  AfGrpcCallOptions opts = { .timeout_ms = 60000 };
  AfGrpcClientStream *s = af_grpc_channel_start_client_stream (
      f->ch, SVC "UploadFiles", &sandbox__v1__upload_result__descriptor, &opts, NULL, &error);
  Sandbox__V1__UploadChunk__Metadata md = SANDBOX__V1__UPLOAD_CHUNK__METADATA__INIT;
  md.codebase_id = cb->id;
  md.file_path = "never.bin";
  md.total_size = 8 << 20;
  Sandbox__V1__UploadChunk first = SANDBOX__V1__UPLOAD_CHUNK__INIT;
  first.content_case = SANDBOX__V1__UPLOAD_CHUNK__CONTENT_METADATA;
  first.metadata = &md;
  g_assert_true (af_grpc_client_stream_write (s, &first.base, &error));
  guint8 buf[4096] = { 0 };
  Sandbox__V1__UploadChunk c = SANDBOX__V1__UPLOAD_CHUNK__INIT;
  c.content_case = SANDBOX__V1__UPLOAD_CHUNK__CONTENT_DATA;
  c.data.data = buf;
  c.data.len = sizeof buf;
  g_assert_true (af_grpc_client_stream_write (s, &c.base, &error));
  wait_for_event (&created); /* the server holds its temp file */
  g_signal_handler_disconnect (mon, h);

  DirWatch deleted = { G_FILE_MONITOR_EVENT_DELETED, FALSE };
  g_signal_connect (mon, "changed", G_CALLBACK (on_dir_event), &deleted);
  af_grpc_client_stream_cancel (s);
  af_grpc_client_stream_free (s);
  wait_for_event (&deleted); /* and lets go of it when the client goes */

  g_autoptr (GPtrArray) left = afd_test_tree (tmp);
  g_assert_cmpuint (left->len, ==, 0);
  Sandbox__V1__Codebase *got = get_cb (f->ch, cb->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (got->file_count, ==, 0);
  FREE_MSG (got);
  FREE_MSG (cb);
}

static void
test_second_server_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *err = NULL;
  g_autofree char *other_sock = g_build_filename (f->d.top, "other.sock", NULL);
  g_autofree char *arg = g_strdup_printf ("--socket=%s", other_sock);
  const char *args[] = { arg, NULL };
  int status = afd_test_daemon_run_expect_fail (&f->d, args, &err);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (err, "already running"));
  g_assert_nonnull (strstr (err, f->d.state));
  g_clear_pointer (&err, g_free);

  /* Same socket, another state dir: refused too, and the socket is left to
   * its owner. */
  g_autofree char *other_state = g_build_filename (f->d.top, "state2", NULL);
  g_autofree char *arg2 = g_strdup_printf ("--state-dir=%s", other_state);
  const char *args2[] = { arg2, NULL };
  status = afd_test_daemon_run_expect_fail (&f->d, args2, &err);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (err, "already running"));
  g_assert_nonnull (strstr (err, f->d.socket));
  /* And the first one still answers. */
  g_autoptr (GError) error = NULL;
  Sandbox__V1__Codebase *cb = create_cb (f->ch, "still", "", &error);
  g_assert_no_error (error);
  FREE_MSG (cb);
}

static void
test_refusals_at_start (void)
{
  AfdTestDaemon d = { 0 };
  g_autofree char *err = NULL;

  /* A non-loopback address needs --allow-remote and a token. */
  const char *remote[] = { "--listen=0.0.0.0:0", NULL };
  g_assert_cmpint (afd_test_daemon_run_expect_fail (&d, remote, &err), ==, 2);
  g_assert_nonnull (strstr (err, "--allow-remote"));
  g_clear_pointer (&err, g_free);
  const char *remote2[] = { "--listen=0.0.0.0:0", "--allow-remote", NULL };
  g_assert_cmpint (afd_test_daemon_run_expect_fail (&d, remote2, &err), ==, 2);
  g_assert_nonnull (strstr (err, "token"));
  g_clear_pointer (&err, g_free);

  /* A corrupt database: refuse, name it, leave it alone. */
  g_assert_cmpint (g_mkdir_with_parents (d.state, 0700), ==, 0);
  g_autofree char *dbpath = g_build_filename (d.state, "afd.db", NULL);
  g_autofree char *junk = g_strnfill (16384, 'j');
  g_assert_true (g_file_set_contents (dbpath, junk, -1, NULL));
  g_assert_cmpint (afd_test_daemon_run_expect_fail (&d, NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "refusing to start"));
  g_assert_nonnull (strstr (err, dbpath));
  g_autofree char *after = NULL;
  g_assert_true (g_file_get_contents (dbpath, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, junk);
  afd_test_daemon_free (&d);
}

static const char *const token_args[] = { "--auth-token=s3cret", NULL };
static const char *const big_args[] = { "--max-file-size=4G", NULL };
static const char *const nosync_args[] = { "--sync=false", NULL };

static void
test_tcp_token (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfGrpcChannel) tcp = afd_test_daemon_tcp_channel (&f->d);
  Sandbox__V1__CreateCodebaseRequest req = SANDBOX__V1__CREATE_CODEBASE_REQUEST__INIT;
  req.name = "t";
  req.owner_id = "";
  const char *bad[] = { "authorization", "Bearer wrong", NULL };
  const char *good[] = { "authorization", "Bearer s3cret", NULL };
  AfGrpcCallOptions none = { .timeout_ms = 10000 };
  AfGrpcCallOptions wrong = { .timeout_ms = 10000, .metadata = bad };
  AfGrpcCallOptions right = { .timeout_ms = 10000, .metadata = good };
  ProtobufCMessage *out = NULL;
  g_assert_false (af_grpc_channel_call_unary (tcp, SVC "CreateCodebase", &req.base,
                                              &sandbox__v1__codebase__descriptor, &none, &out, NULL,
                                              &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_UNAUTHENTICATED);
  g_clear_error (&error);
  g_assert_false (af_grpc_channel_call_unary (tcp, SVC "CreateCodebase", &req.base,
                                              &sandbox__v1__codebase__descriptor, &wrong, &out,
                                              NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_UNAUTHENTICATED);
  g_clear_error (&error);
  g_assert_true (af_grpc_channel_call_unary (tcp, SVC "CreateCodebase", &req.base,
                                             &sandbox__v1__codebase__descriptor, &right, &out, NULL,
                                             &error));
  g_assert_no_error (error);
  FREE_MSG (out);
  /* The unix socket identifies by uid and needs no token. */
  Sandbox__V1__Codebase *cb = create_cb (f->ch, "u", "", &error);
  g_assert_no_error (error);
  FREE_MSG (cb);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* In a sanitized build the servers these tests start keep freed memory in
   * AddressSanitizer's quarantine (256 MiB by default), which a bound on the
   * server's RSS would measure instead of our code; a small quarantine keeps
   * use-after-free detection for recent frees. Plain builds ignore it. */
  const char *asan = g_getenv ("ASAN_OPTIONS");
  g_autofree char *asan_small =
      g_strdup_printf ("%s%squarantine_size_mb=16", asan ? asan : "", asan && *asan ? ":" : "");
  g_setenv ("ASAN_OPTIONS", asan_small, TRUE);
#define ADD(name, fn, args) g_test_add (name, Fixture, args, setup, fn, teardown)
  ADD ("/afd-server/every-method", test_every_method, NULL);
  ADD ("/afd-server/error-codes", test_error_codes, NULL);
  ADD ("/afd-server/hostile-uploads", test_hostile_uploads, NULL);
  ADD ("/afd-server/lying-2gib", test_lying_2gib, big_args);
  ADD ("/afd-server/persistence-kill9", test_persistence_kill9, NULL);
  /* Without fsync only a power loss can lose data: kill -9 must not. */
  ADD ("/afd-server/persistence-kill9-nosync", test_persistence_kill9, nosync_args);
  ADD ("/afd-server/crash-mid-upload", test_crash_mid_upload, NULL);
  ADD ("/afd-server/client-cancel-mid-upload", test_client_cancel_mid_upload, NULL);
  ADD ("/afd-server/second-server-refused", test_second_server_refused, NULL);
  ADD ("/afd-server/tcp-token", test_tcp_token, token_args);
  g_test_add_func ("/afd-server/refusals-at-start", test_refusals_at_start);
  return g_test_run ();
}
