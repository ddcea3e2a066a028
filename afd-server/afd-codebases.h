/* afd-codebases.h — the codebase operations behind CodebaseService.
 *
 * Owns: validation of every client-supplied id, name, path and size; the
 * ownership check; the transaction that keeps disk, rows and the history in
 * step for each mutation; limits (file size, quota, codebases per owner,
 * listing size). Transport-independent: the gRPC handlers only translate.
 * Must never: use an id or path before libafcore validated it, or change
 * anything without appending an event in the same transaction. */
#pragma once

#include "afd-config.h"
#include "afd-db.h"
#include "afd-identity.h"
#include "afd-rows.h"
#include "afd-store.h"

G_BEGIN_DECLS

typedef struct _AfdCodebases AfdCodebases;

/* Borrows @db, @store and @settings; they must outlive it. */
AfdCodebases *afd_codebases_new (AfdDb *db, AfdStore *store, const AfdSettings *settings);
void afd_codebases_free (AfdCodebases *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdCodebases, afd_codebases_free)

AfdDb *afd_codebases_get_db (AfdCodebases *self);

/* A running sandbox pins its codebase; a pinned codebase cannot be deleted. */
void afd_codebases_pin (AfdCodebases *self, const char *id);
void afd_codebases_unpin (AfdCodebases *self, const char *id);

AfdCodebase *afd_codebases_create (AfdCodebases *self, const AfdCaller *caller, const char *name,
                                   const char *owner_id, GError **error);
AfdCodebase *afd_codebases_get (AfdCodebases *self, const AfdCaller *caller, const char *id,
                                GError **error);

/* One page. @page_size 0 = 50, above 1000 = 1000, negative is an error.
 * *@out_next_token is "" on the last page. */
GPtrArray *afd_codebases_list (AfdCodebases *self, const AfdCaller *caller, const char *owner_id,
                               int page_size, const char *page_token, char **out_next_token,
                               GError **error);
gboolean afd_codebases_delete (AfdCodebases *self, const AfdCaller *caller, const char *id,
                               GError **error);

/* One upload: begin (metadata checks, temp file), write (chunks), finish
 * (size check, rename, row, event — one transaction). Freeing an unfinished
 * upload removes its temp file. */
typedef struct _AfdCodebaseUpload AfdCodebaseUpload;
AfdCodebaseUpload *afd_codebases_upload_begin (AfdCodebases *self, const AfdCaller *caller,
                                               const char *codebase_id, const char *file_path,
                                               gint64 total_size, GError **error);
gboolean afd_codebase_upload_write (AfdCodebaseUpload *up, const void *data, gsize len,
                                    GError **error);
/* On success the stored file: canonical path, size, sha256. */
AfdFileRow *afd_codebase_upload_finish (AfdCodebaseUpload *up, GError **error);
const char *afd_codebase_upload_get_codebase_id (AfdCodebaseUpload *up);
void afd_codebase_upload_free (AfdCodebaseUpload *up);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdCodebaseUpload, afd_codebase_upload_free)

/* An fd open for reading the file (NOT_FOUND, INVALID_ARGUMENT for a
 * directory); *@out_path gets the canonical path. */
int afd_codebases_open_file (AfdCodebases *self, const AfdCaller *caller, const char *codebase_id,
                             const char *file_path, char **out_path, GError **error);

typedef struct {
  char *path;       /* relative to the codebase root */
  const char *name; /* points into path */
  gboolean is_dir;
  gint64 size;
  gint64 mtime_us;
} AfdFileInfo;

void afd_file_info_free (AfdFileInfo *info);

/* Entries under directory @path ("" / "." / "/" = root), sorted by path;
 * directories appear as entries (is_dir, size 0, newest mtime below them).
 * A missing directory is NOT_FOUND, a file INVALID_ARGUMENT; more than the
 * configured entries RESOURCE_EXHAUSTED. */
GPtrArray *afd_codebases_list_files (AfdCodebases *self, const AfdCaller *caller,
                                     const char *codebase_id, const char *path, gboolean recursive,
                                     GError **error);

G_END_DECLS
