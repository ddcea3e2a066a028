/* The wire contract cannot drift: every enum value, message field (number,
 * type, label) and method listed in wire-contract.txt is checked against the
 * protobuf-c descriptors generated from proto/. Streaming kinds, which
 * protobuf-c does not record, are checked by check-contract.py. */
#include <glib.h>
#include <protobuf-c/protobuf-c.h>
#include <stdlib.h>
#include <string.h>

#include "codebase.pb-c.h"
#include "sandbox.pb-c.h"

static GHashTable *messages; /* full name -> ProtobufCMessageDescriptor* */
static GHashTable *enums;    /* full name -> ProtobufCEnumDescriptor* */
static GPtrArray *lines;     /* contract lines */

static void
collect_message (const ProtobufCMessageDescriptor *m)
{
  if (g_hash_table_contains (messages, m->name))
    return;
  g_hash_table_insert (messages, (gpointer)m->name, (gpointer)m);
  for (unsigned i = 0; i < m->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &m->fields[i];
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
      collect_message (f->descriptor);
    else if (f->type == PROTOBUF_C_TYPE_ENUM) {
      const ProtobufCEnumDescriptor *e = f->descriptor;
      g_hash_table_insert (enums, (gpointer)e->name, (gpointer)e);
    }
  }
}

static const ProtobufCServiceDescriptor *const services[] = {
  &sandbox__v1__codebase_service__descriptor,
  &sandbox__v1__sandbox_service__descriptor,
};

static const char *
type_name (const ProtobufCFieldDescriptor *f)
{
  switch (f->type) {
  case PROTOBUF_C_TYPE_STRING:
    return "string";
  case PROTOBUF_C_TYPE_BYTES:
    return "bytes";
  case PROTOBUF_C_TYPE_BOOL:
    return "bool";
  case PROTOBUF_C_TYPE_INT32:
    return "int32";
  case PROTOBUF_C_TYPE_INT64:
    return "int64";
  case PROTOBUF_C_TYPE_ENUM:
    return "enum";
  case PROTOBUF_C_TYPE_MESSAGE:
    return "message";
  default:
    return "other";
  }
}

static const ProtobufCFieldDescriptor *
field_by_name (const ProtobufCMessageDescriptor *m, const char *name)
{
  for (unsigned i = 0; i < m->n_fields; i++)
    if (strcmp (m->fields[i].name, name) == 0)
      return &m->fields[i];
  return NULL;
}

/* A map field: repeated message "<Name>Entry" with key=1, value=2. */
static void
check_map (const char *where, const ProtobufCFieldDescriptor *f, const char *kv)
{
  g_auto (GStrv) types = g_strsplit (kv, ",", 2);
  g_assert_cmpint (f->type, ==, PROTOBUF_C_TYPE_MESSAGE);
  g_assert_cmpint (f->label, ==, PROTOBUF_C_LABEL_REPEATED);
  const ProtobufCMessageDescriptor *entry = f->descriptor;
  g_assert_true (g_str_has_suffix (entry->name, "Entry"));
  g_assert_cmpuint (entry->n_fields, ==, 2);
  const ProtobufCFieldDescriptor *k = field_by_name (entry, "key");
  const ProtobufCFieldDescriptor *v = field_by_name (entry, "value");
  if (!k || !v || k->id != 1 || v->id != 2 || strcmp (type_name (k), types[0]) != 0 ||
      strcmp (type_name (v), types[1]) != 0)
    g_error ("%s: not a map<%s>", where, kv);
}

static void
check_message_line (char **tok)
{
  const char *mname = tok[1];
  const ProtobufCMessageDescriptor *m = g_hash_table_lookup (messages, mname);
  if (m == NULL)
    g_error ("message %s is missing from the generated code", mname);
  int oneof_offset = -1;
  for (int t = 2; tok[t]; t++) {
    g_auto (GStrv) parts = g_strsplit (tok[t], ":", 4);
    g_autofree char *where = g_strdup_printf ("%s.%s", mname, parts[0]);
    const ProtobufCFieldDescriptor *f = field_by_name (m, parts[0]);
    if (f == NULL)
      g_error ("%s: field missing", where);
    unsigned id = (unsigned)g_ascii_strtoull (parts[1], NULL, 10);
    if (f->id != id)
      g_error ("%s: field number %u, contract says %u", where, f->id, id);

    const char *type = parts[2];
    const char *label = parts[3];
    if (g_str_has_prefix (type, "map=")) {
      check_map (where, f, type + 4);
      continue;
    }
    const char *eq = strchr (type, '=');
    g_autofree char *base = eq ? g_strndup (type, (gsize)(eq - type)) : g_strdup (type);
    if (strcmp (type_name (f), base) != 0)
      g_error ("%s: type %s, contract says %s", where, type_name (f), base);
    if (eq && f->type == PROTOBUF_C_TYPE_MESSAGE)
      g_assert_cmpstr (((const ProtobufCMessageDescriptor *)f->descriptor)->name, ==, eq + 1);
    if (eq && f->type == PROTOBUF_C_TYPE_ENUM)
      g_assert_cmpstr (((const ProtobufCEnumDescriptor *)f->descriptor)->name, ==, eq + 1);

    if (label && strcmp (label, "repeated") == 0) {
      if (f->label != PROTOBUF_C_LABEL_REPEATED)
        g_error ("%s: must be repeated", where);
    } else if (label && g_str_has_prefix (label, "oneof=")) {
      if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        g_error ("%s: must be in oneof %s", where, label + 6);
      /* members of one oneof share the case field */
      if (oneof_offset >= 0)
        g_assert_cmpint (oneof_offset, ==, (int)f->quantifier_offset);
      oneof_offset = (int)f->quantifier_offset;
    } else {
      /* proto3 singular: no label, not in a oneof */
      if (f->label != PROTOBUF_C_LABEL_NONE || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        g_error ("%s: must be a plain singular proto3 field", where);
    }
  }
}

static void
check_enum_line (char **tok)
{
  const ProtobufCEnumDescriptor *e = g_hash_table_lookup (enums, tok[1]);
  if (e == NULL)
    g_error ("enum %s is missing from the generated code", tok[1]);
  unsigned listed = 0;
  for (int t = 2; tok[t]; t++, listed++) {
    g_auto (GStrv) kv = g_strsplit (tok[t], "=", 2);
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name (e, kv[0]);
    if (v == NULL)
      g_error ("%s.%s missing", tok[1], kv[0]);
    if (v->value != atoi (kv[1]))
      g_error ("%s.%s = %d, contract says %s", tok[1], kv[0], v->value, kv[1]);
  }
  g_assert_cmpuint (e->n_values, ==, listed);
}

static void
check_rpc_line (char **tok)
{
  g_autofree char *sname = g_strdup_printf ("sandbox.v1.%s", tok[1]);
  for (gsize s = 0; s < G_N_ELEMENTS (services); s++) {
    if (strcmp (services[s]->name, sname) != 0)
      continue;
    for (unsigned i = 0; i < services[s]->n_methods; i++) {
      const ProtobufCMethodDescriptor *md = &services[s]->methods[i];
      if (strcmp (md->name, tok[2]) != 0)
        continue;
      g_autofree char *in = g_strdup_printf ("sandbox.v1.%s", tok[3]);
      g_autofree char *out = g_strdup_printf ("sandbox.v1.%s", tok[4]);
      g_assert_cmpstr (md->input->name, ==, in);
      g_assert_cmpstr (md->output->name, ==, out);
      return;
    }
    g_error ("method %s.%s missing", sname, tok[2]);
  }
  g_error ("service %s missing", sname);
}

static void
load_contract (void)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  const char *path = g_test_get_filename (G_TEST_DIST, "proto", "wire-contract.txt", NULL);
  if (!g_file_get_contents (path, &text, NULL, &error))
    g_error ("%s", error->message);
  lines = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) all = g_strsplit (text, "\n", -1);
  for (int i = 0; all[i]; i++) {
    g_strstrip (all[i]);
    if (all[i][0] != '\0' && all[i][0] != '#')
      g_ptr_array_add (lines, g_strdup (all[i]));
  }
}

static void
test_contract (void)
{
  load_contract ();
  guint n_msg = 0, n_enum = 0, n_rpc = 0;
  for (guint i = 0; i < lines->len; i++) {
    g_auto (GStrv) tok = g_strsplit_set (lines->pdata[i], " \t", -1);
    if (strcmp (tok[0], "message") == 0) {
      check_message_line (tok);
      n_msg++;
    } else if (strcmp (tok[0], "enum") == 0) {
      check_enum_line (tok);
      n_enum++;
    } else if (strcmp (tok[0], "rpc") == 0) {
      check_rpc_line (tok);
      n_rpc++;
    } else {
      g_error ("bad contract line: %s", (char *)lines->pdata[i]);
    }
  }
  /* the table itself is complete: WIRE.md lists 35 messages (+2 WKT),
   * 6 enums and 21 methods */
  g_assert_cmpuint (n_msg, ==, 37);
  g_assert_cmpuint (n_enum, ==, 6);
  g_assert_cmpuint (n_rpc, ==, 21);
}

/* Every field of a contract message that the table does not list must be
 * an addition: a field number the contract does not use. */
static void
test_services_complete (void)
{
  guint n = 0;
  for (gsize s = 0; s < G_N_ELEMENTS (services); s++)
    n += services[s]->n_methods;
  /* the 21 contract methods plus any additions; additions are checked to
   * keep the contract's names */
  g_assert_cmpuint (n, >=, 21);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  messages = g_hash_table_new (g_str_hash, g_str_equal);
  enums = g_hash_table_new (g_str_hash, g_str_equal);
  for (gsize s = 0; s < G_N_ELEMENTS (services); s++)
    for (unsigned i = 0; i < services[s]->n_methods; i++) {
      collect_message (services[s]->methods[i].input);
      collect_message (services[s]->methods[i].output);
    }

  g_test_add_func ("/contract/descriptors", test_contract);
  g_test_add_func ("/contract/services", test_services_complete);
  int rc = g_test_run ();
  if (lines)
    g_ptr_array_unref (lines);
  g_hash_table_unref (messages);
  g_hash_table_unref (enums);
  return rc;
}
