/* afd-test-util.h — small helpers shared by afd-server's unit tests: temp
 * state dirs, removing them, and listing every entry of a tree (to prove
 * nothing was written where it must not be). */
#pragma once

#include "afd-codebases.h"

#include <glib/gstdio.h>

typedef struct {
  char *top;   /* temp dir; the state dir is top/state, so top/ catches escapes */
  char *state; /* top/state */
  AfdSettings settings;
  AfdDb *db;
  AfdStore *store;
  AfdCodebases *cbs;
} AfdTestState;

void afd_test_state_open (AfdTestState *s);
/* Close db/store/codebases but keep the files (to reopen after a "crash"). */
void afd_test_state_close (AfdTestState *s);
void afd_test_state_free (AfdTestState *s);

/* Sorted list of every path under @dir (relative, dirs with a trailing /). */
GPtrArray *afd_test_tree (const char *dir);
gboolean afd_test_tree_contains (GPtrArray *tree, const char *entry);

/* Write @path (relative to @dir, parents created) with @content. */
void afd_test_write (const char *dir, const char *path, const char *content);

/* Upload @content as @path; returns the stored row or NULL with @error. */
AfdFileRow *afd_test_upload (AfdCodebases *cbs, const AfdCaller *caller, const char *cb_id,
                             const char *path, const char *content, GError **error);

extern const AfdCaller afd_test_root;
