/* test-util.h — small helpers shared by the transport tests: a raw grpc
 * core client (to send what our client never would: no message, or bytes
 * that are not a valid encoding) and /proc readings.
 */
#pragma once

#include <glib.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <string.h>

/* Sends @data (or no message at all when @data is NULL) to @method and
 * returns the status; *@details gets the status details (g_free). */
static inline grpc_status_code
test_raw_call (const char *endpoint, const char *method, const guint8 *data, gsize len,
               char **details)
{
  grpc_init ();
  grpc_channel_credentials *creds = grpc_insecure_credentials_create ();
  grpc_channel *channel = grpc_channel_create (endpoint, creds, NULL);
  grpc_channel_credentials_release (creds);
  grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck (NULL);
  grpc_slice method_slice = grpc_slice_from_copied_string (method);
  grpc_call *call = grpc_channel_create_call (
      channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method_slice, NULL,
      gpr_time_add (gpr_now (GPR_CLOCK_REALTIME), gpr_time_from_seconds (10, GPR_TIMESPAN)), NULL);
  grpc_slice_unref (method_slice);
  grpc_metadata_array initial, trailing;
  grpc_metadata_array_init (&initial);
  grpc_metadata_array_init (&trailing);
  grpc_status_code status = GRPC_STATUS_OK;
  grpc_slice status_details = grpc_empty_slice ();
  grpc_byte_buffer *request = NULL, *reply = NULL;
  grpc_op ops[6];
  size_t n = 0;
  memset (ops, 0, sizeof ops);
  ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
  if (data != NULL) {
    grpc_slice s = grpc_slice_from_copied_buffer ((const char *)data, len);
    request = grpc_raw_byte_buffer_create (&s, 1);
    grpc_slice_unref (s);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = request;
  }
  ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[n++].data.recv_initial_metadata.recv_initial_metadata = &initial;
  ops[n].op = GRPC_OP_RECV_MESSAGE;
  ops[n++].data.recv_message.recv_message = &reply;
  ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[n].data.recv_status_on_client.trailing_metadata = &trailing;
  ops[n].data.recv_status_on_client.status = &status;
  ops[n++].data.recv_status_on_client.status_details = &status_details;
  g_assert_cmpint (grpc_call_start_batch (call, ops, n, (void *)1, NULL), ==, GRPC_CALL_OK);
  grpc_event ev =
      grpc_completion_queue_pluck (cq, (void *)1, gpr_inf_future (GPR_CLOCK_REALTIME), NULL);
  g_assert_cmpint (ev.type, ==, GRPC_OP_COMPLETE);
  *details = g_strndup ((const char *)GRPC_SLICE_START_PTR (status_details),
                        GRPC_SLICE_LENGTH (status_details));
  grpc_slice_unref (status_details);
  if (request != NULL)
    grpc_byte_buffer_destroy (request);
  if (reply != NULL)
    grpc_byte_buffer_destroy (reply);
  grpc_metadata_array_destroy (&initial);
  grpc_metadata_array_destroy (&trailing);
  grpc_call_unref (call);
  grpc_completion_queue_shutdown (cq);
  grpc_completion_queue_pluck (cq, NULL, gpr_inf_past (GPR_CLOCK_REALTIME), NULL);
  grpc_completion_queue_destroy (cq);
  grpc_channel_destroy (channel);
  grpc_shutdown_blocking ();
  return status;
}

/* A field of /proc/self/status in kB ("VmRSS", "VmHWM"). */
static inline gsize
test_proc_status_kb (const char *field)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents ("/proc/self/status", &text, NULL, NULL));
  g_autofree char *key = g_strconcat ("\n", field, ":", NULL);
  const char *p = strstr (text, key);
  g_assert_nonnull (p);
  return (gsize)g_ascii_strtoull (p + strlen (key), NULL, 10);
}

static inline gboolean
test_under_valgrind (void)
{
  return g_getenv ("AF_UNDER_VALGRIND") != NULL;
}
