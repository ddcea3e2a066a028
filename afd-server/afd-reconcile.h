/* afd-reconcile.h — make the codebase store and the rows agree at start.
 *
 * Owns: the start-up repair after a crash: leftover upload temp files and
 * half-deleted codebases are removed; a codebase directory without a row is
 * removed; a row without a directory gets an empty one (its file rows go);
 * a file without a row is adopted (it was fsynced before its rename, so it
 * is complete); a row whose file is gone is dropped; a row whose file
 * changed (size or mtime) is re-hashed; anything in the store that is not a
 * regular file or a directory (a symlink, a device) is removed.
 * Must never: run while requests are served, or follow a symlink. */
#pragma once

#include "afd-db.h"
#include "afd-store.h"

G_BEGIN_DECLS

typedef struct {
  guint temp_files_removed;
  guint trash_removed;
  guint orphan_dirs_removed;
  guint dirs_recreated;
  guint files_adopted;
  guint rows_dropped;
  guint rows_rehashed;
  guint strange_removed;
} AfdReconcileReport;

/* All row changes in one transaction. @report is filled even on failure. */
gboolean afd_reconcile (AfdDb *db, AfdStore *store, AfdReconcileReport *report, GError **error);

/* "3 temp files removed, 1 file adopted" or NULL when nothing was done. */
char *afd_reconcile_report_describe (const AfdReconcileReport *report);

G_END_DECLS
