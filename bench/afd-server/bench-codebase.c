/* bench-codebase.c — CodebaseService throughput of a real afd-server, each
 * beside `cp` of the same data on the same disk, measured in the same run:
 *   1. UploadFiles of one 512 MiB file (256 KiB chunks) vs  cp + sync of it
 *   2. DownloadFile of that file                       vs  cp of it
 *   3. 10,000 small files, one UploadFiles call each   vs  cp -r of them
 * Over the unix socket and loopback TCP, then the unix socket again with
 * --sync=false (no fsync before answering). Run by hand:
 *   build/bench/afd-server/bench-codebase [--size-mib N] [--files N]
 * Writes its data under $TMPDIR (same disk as the server's temp state). */
#include "afd-test-daemon.h"
#include "afd-test-util.h"

#include "codebase.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define SVC "/sandbox.v1.CodebaseService/"

static gint size_mib = 512;
static gint n_files = 10000;
static gint small_size = 2048;
static gint chunk_kib = 256;
static char *big_sum, *small_sum;

static double
now_s (void)
{
  return (double)g_get_monotonic_time () / G_USEC_PER_SEC;
}

static void
run_or_die (const char *cmd)
{
  g_autoptr (GError) error = NULL;
  int status = 0;
  if (!g_spawn_command_line_sync (cmd, NULL, NULL, &status, &error) ||
      !g_spawn_check_wait_status (status, &error))
    g_error ("%s: %s", cmd, error->message);
}

static char *
create_cb (AfGrpcChannel *ch, const char *name)
{
  g_autoptr (GError) error = NULL;
  Sandbox__V1__CreateCodebaseRequest req = SANDBOX__V1__CREATE_CODEBASE_REQUEST__INIT;
  req.name = (char *)name;
  req.owner_id = "bench";
  ProtobufCMessage *out = NULL;
  if (!af_grpc_channel_call_unary (ch, SVC "CreateCodebase", &req.base,
                                   &sandbox__v1__codebase__descriptor, NULL, &out, NULL, &error))
    g_error ("CreateCodebase: %s", error->message);
  char *id = g_strdup (((Sandbox__V1__Codebase *)out)->id);
  protobuf_c_message_free_unpacked (out, NULL);
  return id;
}

/* Upload @path's bytes from the open fd @fd (streamed, 1 MiB chunks). */
static char *
upload_fd (AfGrpcChannel *ch, const char *cb, const char *path, int fd, gint64 len, guint8 *buf,
           gsize chunk)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_client_stream (
      ch, SVC "UploadFiles", &sandbox__v1__upload_result__descriptor, NULL, NULL, &error);
  Sandbox__V1__UploadChunk__Metadata md = SANDBOX__V1__UPLOAD_CHUNK__METADATA__INIT;
  md.codebase_id = (char *)cb;
  md.file_path = (char *)path;
  md.total_size = len;
  Sandbox__V1__UploadChunk first = SANDBOX__V1__UPLOAD_CHUNK__INIT;
  first.content_case = SANDBOX__V1__UPLOAD_CHUNK__CONTENT_METADATA;
  first.metadata = &md;
  af_grpc_client_stream_write (s, &first.base, NULL);
  for (gint64 off = 0; off < len;) {
    ssize_t n = pread (fd, buf, chunk, off);
    if (n <= 0)
      g_error ("read: %s", g_strerror (errno));
    Sandbox__V1__UploadChunk c = SANDBOX__V1__UPLOAD_CHUNK__INIT;
    c.content_case = SANDBOX__V1__UPLOAD_CHUNK__CONTENT_DATA;
    c.data.data = buf;
    c.data.len = (size_t)n;
    if (!af_grpc_client_stream_write (s, &c.base, NULL))
      break;
    off += n;
  }
  ProtobufCMessage *out = NULL;
  if (!af_grpc_client_stream_finish (s, &out, &error))
    g_error ("UploadFiles %s: %s", path, error->message);
  char *sum = g_strdup (((Sandbox__V1__UploadResult *)out)->checksum);
  protobuf_c_message_free_unpacked (out, NULL);
  return sum;
}

static gint64
download_count (AfGrpcChannel *ch, const char *cb, const char *path, char **out_sum)
{
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr (GError) error = NULL;
  Sandbox__V1__DownloadFileRequest req = SANDBOX__V1__DOWNLOAD_FILE_REQUEST__INIT;
  req.codebase_id = (char *)cb;
  req.file_path = (char *)path;
  g_autoptr (AfGrpcClientStream) s = af_grpc_channel_start_server_stream (
      ch, SVC "DownloadFile", &req.base, &sandbox__v1__file_chunk__descriptor, NULL, NULL, &error);
  gint64 total = 0;
  ProtobufCMessage *m;
  while ((m = af_grpc_client_stream_read (s, &error)) != NULL) {
    Sandbox__V1__FileChunk *fc = (Sandbox__V1__FileChunk *)m;
    g_checksum_update (sha, fc->data.data, (gssize)fc->data.len);
    total += (gint64)fc->data.len;
    protobuf_c_message_free_unpacked (m, NULL);
  }
  if (error)
    g_error ("DownloadFile: %s", error->message);
  *out_sum = g_strdup (g_checksum_get_string (sha));
  return total;
}

static void
bench_transport (AfdTestDaemon *d, const char *label, AfGrpcChannel *ch, const char *big,
                 const char *small_dir, double cp_up, double cp_down, double cp_small)
{
  double mib = size_mib;
  g_autofree char *cb = create_cb (ch, label);
  g_autofree guint8 *buf = g_malloc (1 << 20);
  int fd = open (big, O_RDONLY | O_CLOEXEC);
  double t0 = now_s ();
  g_autofree char *up_sum =
      upload_fd (ch, cb, "big.bin", fd, (gint64)size_mib << 20, buf, (gsize)chunk_kib << 10);
  double up = now_s () - t0;
  close (fd);

  t0 = now_s ();
  g_autofree char *down_sum = NULL;
  gint64 got = download_count (ch, cb, "big.bin", &down_sum);
  double down = now_s () - t0;
  g_assert_cmpint (got, ==, (gint64)size_mib << 20);
  g_assert_cmpstr (up_sum, ==, big_sum);
  g_assert_cmpstr (down_sum, ==, big_sum);

  g_autofree char *cb2 = create_cb (ch, "small");
  t0 = now_s ();
  for (int i = 0; i < n_files; i++) {
    g_autofree char *name = g_strdup_printf ("d%02d/f%05d.txt", i % 50, i);
    g_autofree char *full = g_build_filename (small_dir, name, NULL);
    int sfd = open (full, O_RDONLY | O_CLOEXEC);
    g_autofree char *sum = upload_fd (ch, cb2, name, sfd, small_size, buf, 1 << 20);
    g_assert_cmpstr (sum, ==, small_sum);
    close (sfd);
  }
  double small = now_s () - t0;

  g_print ("%-6s upload   %7.1f MiB/s   (cp+sync %7.1f MiB/s, ratio %.2f)\n", label, mib / up,
           mib / cp_up, cp_up / up);
  g_print ("%-6s download %7.1f MiB/s   (cp      %7.1f MiB/s, ratio %.2f)\n", label, mib / down,
           mib / cp_down, cp_down / down);
  g_print ("%-6s small    %7.0f files/s  (cp -r   %7.0f files/s, ratio %.3f)\n", label,
           n_files / small, n_files / cp_small, cp_small / small);
}

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "size-mib", 0, 0, G_OPTION_ARG_INT, &size_mib, "Big file size (MiB)", "N" },
    { "files", 0, 0, G_OPTION_ARG_INT, &n_files, "Small files", "N" },
    { "small-size", 0, 0, G_OPTION_ARG_INT, &small_size, "Bytes per small file", "N" },
    { "chunk-kib", 0, 0, G_OPTION_ARG_INT, &chunk_kib, "Upload chunk (KiB, default 256)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("— afd-server codebase benchmark");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    g_error ("%s", error->message);

  AfdTestDaemon d = { 0 };
  afd_test_daemon_start (&d, (const char *const[]){ "--log-level=warning", NULL });

  /* Test data next to the server's state: same disk. */
  g_autofree char *data = g_build_filename (d.top, "data", NULL);
  g_autofree char *big = g_build_filename (data, "big.bin", NULL);
  g_autofree char *small_dir = g_build_filename (data, "small", NULL);
  g_mkdir_with_parents (small_dir, 0755);
  g_autofree char *cmd =
      g_strdup_printf ("dd if=/dev/urandom of=%s bs=1M count=%d status=none", big, size_mib);
  run_or_die (cmd);
  g_autofree char *content = g_strnfill ((gsize)small_size, 's');
  for (int i = 0; i < n_files; i++) {
    g_autofree char *name = g_strdup_printf ("d%02d/f%05d.txt", i % 50, i);
    afd_test_write (small_dir, name, content);
  }
  run_or_die ("sync");
  {
    g_autoptr (GMappedFile) m = g_mapped_file_new (big, FALSE, &error);
    g_assert_no_error (error);
    big_sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                           (const guchar *)g_mapped_file_get_contents (m),
                                           g_mapped_file_get_length (m));
    small_sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, content, -1);
  }

  /* References, same disk, same run. */
  g_autofree char *copy = g_build_filename (data, "copy.bin", NULL);
  g_autofree char *cp_cmd = g_strdup_printf ("cp %s %s", big, copy);
  g_autofree char *sync_cmd = g_strdup_printf ("sync %s", copy);
  double t0 = now_s ();
  run_or_die (cp_cmd);
  run_or_die (sync_cmd);
  double cp_up = now_s () - t0;
  g_autofree char *copy2 = g_build_filename (data, "copy2.bin", NULL);
  g_autofree char *cp2_cmd = g_strdup_printf ("cp %s %s", copy, copy2);
  t0 = now_s ();
  run_or_die (cp2_cmd);
  double cp_down = now_s () - t0;
  g_autofree char *small_copy = g_build_filename (data, "small-copy", NULL);
  g_autofree char *cpr_cmd = g_strdup_printf ("cp -r %s %s", small_dir, small_copy);
  t0 = now_s ();
  run_or_die (cpr_cmd);
  double cp_small = now_s () - t0;

  g_print ("afd-server codebase benchmark: %d MiB file in %d KiB chunks, %d files of %d bytes\n",
           size_mib, chunk_kib, n_files, small_size);
  g_autoptr (AfGrpcChannel) unix_ch = afd_test_daemon_unix_channel (&d);
  bench_transport (&d, "unix", unix_ch, big, small_dir, cp_up, cp_down, cp_small);
  g_autoptr (AfGrpcChannel) tcp_ch = afd_test_daemon_tcp_channel (&d);
  bench_transport (&d, "tcp", tcp_ch, big, small_dir, cp_up, cp_down, cp_small);
  g_print ("server peak RSS %" G_GINT64_FORMAT " KiB\n", afd_test_daemon_peak_rss_kb (&d));

  /* The same over the unix socket with --sync=false: what the fsyncs cost. */
  AfdTestDaemon nosync = { 0 };
  afd_test_daemon_start (&nosync,
                         (const char *const[]){ "--log-level=warning", "--sync=false", NULL });
  g_autoptr (AfGrpcChannel) ns_ch = afd_test_daemon_unix_channel (&nosync);
  bench_transport (&nosync, "nosync", ns_ch, big, small_dir, cp_up, cp_down, cp_small);
  afd_test_daemon_free (&nosync);
  afd_test_daemon_free (&d);
  return 0;
}
