/* sdk-test-sandbox.h — the fixture of the sandbox tests: a real afd-server
 * that runs sandboxes, a client of it, and small builders. */
#pragma once

#include "sdk-test-server.h"
#include "sdk-test-util.h"

#include <agentfense/agentfense.h>

typedef struct {
  SdkTestServer *server; /* NULL when the test was skipped */
  AfClient *client;
} Fixture;

typedef void (*SdkTestFunc) (Fixture *f, gconstpointer data);

/* Fixture functions: a sandbox-capable server (empty config) and a
 * client of it; for g_test_add with test data of one's own. */
void sdk_test_fixture_setup (Fixture *f, gconstpointer data);
void sdk_test_fixture_teardown (Fixture *f, gconstpointer data);

/* g_test_add with a server per test (config @config_text may be NULL). */
void sdk_test_add (const char *path, SdkTestFunc func);
void sdk_test_add_with_config (const char *path, const char *config_text, SdkTestFunc func);

/* Options that use the fixture's client. */
AfSandboxOptions *sdk_test_options (Fixture *f);

/* A temp dir with main.c ("int main (void) { return 0; }\n") and
 * src/util.c; remove it with sdk_test_remove_tree(). */
char *sdk_test_make_tree (void);

/* A running, owning sandbox over sdk_test_make_tree() with full-access. */
AfSandbox *sdk_test_full_access_sandbox (Fixture *f);

/* An AfUploadProgressFunc counting calls in a guint. */
void sdk_test_count_progress (const AfLocalFile *file, guint files_done, gint64 bytes_done,
                              gpointer user_data);

/* "a b/ b/c" — the paths of @files sorted, directories with a '/'. */
char *sdk_test_file_list (GPtrArray *files);

/* An AfOutputFunc appending "out:DATA" / "err:DATA" per chunk to a
 * GString. */
gboolean sdk_test_append_output (AfOutputKind kind, const guint8 *data, gsize length,
                                 gpointer user_data);

/* Reads @stream to its end in the same "out:…err:…" form; NULL with
 * @error on failure. */
char *sdk_test_drain_stream (AfExecStream *stream, GError **error);

/* A GAsyncReadyCallback storing a reference to the result in a
 * GAsyncResult * the user data points to. */
void sdk_test_store_result (GObject *source, GAsyncResult *result, gpointer user_data);
