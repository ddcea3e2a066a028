/* fuse-fixture.h — a real af-fuse mount for integration tests: a temporary
 * source tree, a rule file, the af-fuse process (started with --ready-fd and
 * optionally --dbus-address on a peer server of ours), and teardown that
 * always unmounts and removes what it made. af-fuse runs under an
 * af-test-guard for the temp dir (tests/common/af-guard-client.h), so a
 * test that dies mid-way (assertion, timeout, SIGKILL) leaves no mount and
 * no process behind either. */
#pragma once

#include <gio/gio.h>

#include "af-dbus-peer.h"
#include "af-guard-client.h"

G_BEGIN_DECLS

typedef struct {
  char *root; /* temporary directory holding everything below */
  char *src;
  char *mnt;
  char *delta;
  char *rules;
  char *canary;   /* a host file outside src/delta/mnt: must never be read or changed */
  AfGuard *guard; /* from fx_init to fx_clear; af-fuse is its child */
  GPid pid;
  gboolean mounted;
  AfDBusPeerServer *server;
  GDBusConnection *conn;
} FuseFixture;

/* NULL when the tests can run here, else the reason to skip. */
const char *fx_skip_reason (void);

void fx_init (FuseFixture *f);
/* Mount with @rules_json; @dbus adds a control connection (f->conn);
 * @extra is a NULL-terminated list of more af-fuse arguments or NULL. */
void fx_mount (FuseFixture *f, const char *rules_json, gboolean dbus, const char *const *extra);
/* SIGTERM, wait, assert the mount is gone and the exit status is 0. */
void fx_unmount (FuseFixture *f);
/* SIGKILL, wait, then `fusermount3 -u -z` (the documented recovery). */
void fx_kill9 (FuseFixture *f);
void fx_clear (FuseFixture *f);

/* GTest hooks: every test of a suite runs on a fresh fixture, and the
 * teardown runs even after a failed check (see fx_test_init). */
void fx_setup (FuseFixture *f, gconstpointer data);
void fx_teardown (FuseFixture *f, gconstpointer data);
/* Registers @fn as the test "/af-fuse/@name" on a FuseFixture. */
#define FX_ADD(name, fn) g_test_add ("/af-fuse/" name, FuseFixture, NULL, fx_setup, fn, fx_teardown)
/* g_test_init with non-fatal assertions: a failed check must still reach
 * the teardown that unmounts. */
void fx_test_init (int *argc, char ***argv);
/* Returns from the calling test with a skip when @reason (evaluated once)
 * is not NULL, e.g. FX_SKIP_IF (fx_skip_reason ()). */
#define FX_SKIP_IF(reason)                                                                         \
  do {                                                                                             \
    const char *fx_reason_ = (reason);                                                             \
    if (fx_reason_ != NULL) {                                                                      \
      g_test_skip (fx_reason_);                                                                    \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

char *fx_path (const char *dir, const char *rel);
void fx_write (const char *path, const char *content);
char *fx_read (const char *path); /* NULL if unreadable */
/* Call a Fuse1 method; returns the reply or NULL with @error. */
GVariant *fx_call (FuseFixture *f, const char *method, GVariant *params, GError **error);
/* Replace the rules over D-Bus (same JSON as the rule file). */
void fx_update_rules (FuseFixture *f, const char *rules_json);

G_END_DECLS
