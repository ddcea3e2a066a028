/* test-wire.c — the wire glue on its own: the NUL-in-string walk over
 * encoded messages (top level, nested, map entries, depth), malformed
 * encodings, size limits, empty bodies.
 */
#include <string.h>

#include "af-error.h"
#include "af-grpc-wire.h"
#include "transport_test.pb-c.h"

static const ProtobufCMessageDescriptor *req_desc = &aftest__v1__test_request__descriptor;

static gboolean
check (const guint8 *data, gsize len, GError **error)
{
  return af_grpc_wire_check_strings (req_desc, data, len, error);
}

static void
test_valid (void)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  Aftest__V1__Inner inner = AFTEST__V1__INNER__INIT;
  Aftest__V1__TestRequest__LabelsEntry e = AFTEST__V1__TEST_REQUEST__LABELS_ENTRY__INIT;
  Aftest__V1__TestRequest__LabelsEntry *entries[] = { &e };
  char *items[] = { (char *)"a", (char *)"bb" };
  guint8 bytes[] = { 0, 0, 1 };
  g_autoptr (GError) error = NULL;

  req.text = (char *)"plain";
  req.payload.data = bytes;
  req.payload.len = sizeof bytes; /* bytes may hold NULs */
  req.code = -5;                  /* negative varint: 10 bytes */
  req.count = 7;
  req.inner = &inner;
  inner.name = (char *)"n";
  req.n_items = 2;
  req.items = items;
  e.key = (char *)"k";
  e.value = (char *)"v";
  req.n_labels = 1;
  req.labels = entries;
  gsize len = protobuf_c_message_get_packed_size (&req.base);
  g_autofree guint8 *buf = g_malloc (len);
  protobuf_c_message_pack (&req.base, buf);
  g_assert_true (check (buf, len, &error));
  g_assert_no_error (error);
  g_assert_true (check (NULL, 0, &error)); /* the empty message */
}

static void
test_nul (void)
{
  struct {
    const char *name;
    guint8 data[16];
    gsize len;
    const char *message;
  } cases[] = {
    { "top", { 0x0a, 3, 'x', 0, 'y' }, 5, "field text contains a NUL byte" },
    { "only-nul", { 0x0a, 1, 0 }, 3, "field text contains a NUL byte" },
    { "repeated", { 0x4a, 1, 'a', 0x4a, 2, 'b', 0 }, 7, "field items contains a NUL byte" },
    { "nested", { 0x42, 4, 0x0a, 2, 0, 'a' }, 6, "field inner.name contains a NUL byte" },
    { "map-key", { 0x52, 5, 0x0a, 3, 'k', 0, 'k' }, 7, "field labels.key contains a NUL byte" },
    { "map-value",
      { 0x42, 9, 0x12, 7, 0x0a, 1, 'k', 0x12, 2, 'v', 0 },
      11,
      "field inner.labels.value contains a NUL byte" },
    { "deeper",
      { 0x42, 6, 0x1a, 4, 0x0a, 2, 'a', 0 },
      8,
      "field inner.child.name contains a NUL byte" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    g_test_message ("case %s", cases[i].name);
    g_assert_false (check (cases[i].data, cases[i].len, &error));
    g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
    g_assert_cmpstr (error->message, ==, cases[i].message);
  }
}

static void
test_malformed (void)
{
  struct {
    guint8 data[12];
    gsize len;
  } cases[] = {
    { { 0x0a, 5, 'x' }, 3 }, /* length past the end */
    { { 0x28 }, 1 },         /* varint cut short */
    { { 0x28, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 }, 12 }, /* long */
    { { 0x0b, 0x0c }, 2 },       /* group wire types */
    { { 0x01, 0, 0 }, 3 },       /* fixed64 cut short */
    { { 0x00, 0x01 }, 2 },       /* field number 0 */
    { { 0x42, 2, 0x0a, 5 }, 4 }, /* bad nested message */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    g_assert_false (check (cases[i].data, cases[i].len, &error));
    g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
    g_assert_true (g_str_has_prefix (error->message, "malformed"));
  }
}

static void
test_depth (void)
{
  /* inner { child { child { … } } } nested past the limit. */
  GByteArray *msg = g_byte_array_new ();
  for (int depth = 0; depth < AF_GRPC_WIRE_MAX_DEPTH + 5; depth++) {
    GByteArray *outer = g_byte_array_new ();
    guint8 key = depth == AF_GRPC_WIRE_MAX_DEPTH + 4 ? 0x42 : 0x1a;
    g_byte_array_append (outer, &key, 1);
    guint len = msg->len; /* varint */
    do {
      guint8 b = (len & 0x7f) | (len > 0x7f ? 0x80 : 0);
      g_byte_array_append (outer, &b, 1);
      len >>= 7;
    } while (len > 0);
    g_byte_array_append (outer, msg->data, msg->len);
    g_byte_array_unref (msg);
    msg = outer;
  }
  g_autoptr (GError) error = NULL;
  g_assert_false (check (msg->data, msg->len, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "deeper"));
  g_byte_array_unref (msg);
}

static void
test_pack_unpack (void)
{
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  g_autofree guint8 *big = g_malloc0 (2000);

  req.text = (char *)"round trip";
  grpc_byte_buffer *buf = af_grpc_wire_pack (&req.base, 100, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, protobuf_c_message_get_packed_size (&req.base));
  g_autoptr (AfProtobufMessage) back = af_grpc_wire_unpack (req_desc, buf, "request", &error);
  grpc_byte_buffer_destroy (buf);
  g_assert_no_error (error);
  g_assert_cmpstr (((Aftest__V1__TestRequest *)back)->text, ==, "round trip");

  req.payload.data = big;
  req.payload.len = 2000;
  g_assert_null (af_grpc_wire_pack (&req.base, 1000, &len, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_RESOURCE_EXHAUSTED);
  g_clear_error (&error);

  g_assert_null (af_grpc_wire_unpack (req_desc, NULL, "request", &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "empty request body");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  af_grpc_runtime_ref ();
  g_test_add_func ("/wire/valid", test_valid);
  g_test_add_func ("/wire/nul", test_nul);
  g_test_add_func ("/wire/malformed", test_malformed);
  g_test_add_func ("/wire/depth", test_depth);
  g_test_add_func ("/wire/pack-unpack", test_pack_unpack);
  int rc = g_test_run ();
  af_grpc_runtime_unref ();
  return rc;
}
