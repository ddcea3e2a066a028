/* afd-rows.h — rows of the codebases, files and events tables.
 *
 * Owns: every SQL statement on those tables (all static text, all bound,
 * all cached by afd-db). Must never: check permissions, touch the disk, or
 * open a transaction — callers group these calls into one. */
#pragma once

#include "afd-db.h"

G_BEGIN_DECLS

typedef struct {
  char *id;
  char *name;
  char *owner_id;
  gint64 size;
  gint64 file_count;
  gint64 created_us;
  gint64 updated_us;
  gboolean has_owner_uid;
  gint64 owner_uid;
} AfdCodebase;

void afd_codebase_free (AfdCodebase *cb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdCodebase, afd_codebase_free)

typedef struct {
  char *path; /* canonical, relative */
  gint64 size;
  char *sha256;
  gint64 mtime_us;
} AfdFileRow;

void afd_file_row_free (AfdFileRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdFileRow, afd_file_row_free)

/* NULL with NOT_FOUND when absent. */
AfdCodebase *afd_rows_codebase_get (AfdDb *db, const char *id, GError **error);
gboolean afd_rows_codebase_insert (AfdDb *db, const AfdCodebase *cb, GError **error);
gboolean afd_rows_codebase_delete (AfdDb *db, const char *id, GError **error);
gboolean afd_rows_codebase_touch (AfdDb *db, const char *id, gint64 now_us, GError **error);

/* Codebases after (@after_us, @after_id) in (created_at, id) order, at most
 * @limit. @owner_id NULL = any; @owner_uid < 0 = any. */
GPtrArray *afd_rows_codebase_list (AfdDb *db, const char *owner_id, gint64 owner_uid,
                                   gint64 after_us, const char *after_id, int limit,
                                   GError **error);

/* How many codebases @owner_id (or, when @owner_uid >= 0, that uid) has. */
gboolean afd_rows_codebase_count_owner (AfdDb *db, const char *owner_id, gint64 owner_uid,
                                        gint64 *out_count, GError **error);

/* All codebase ids (reconciliation). */
GPtrArray *afd_rows_codebase_ids (AfdDb *db, GError **error);

/* NULL with NOT_FOUND when absent. */
AfdFileRow *afd_rows_file_get (AfdDb *db, const char *codebase_id, const char *path,
                               GError **error);
gboolean afd_rows_file_upsert (AfdDb *db, const char *codebase_id, const AfdFileRow *row,
                               GError **error);
gboolean afd_rows_file_delete (AfdDb *db, const char *codebase_id, const char *path,
                               GError **error);

/* Files strictly under directory @dir ("" = all), in path order, at most
 * @limit (pass one more than you accept to detect overflow). */
GPtrArray *afd_rows_file_list_under (AfdDb *db, const char *codebase_id, const char *dir, int limit,
                                     GError **error);

/* Call @func on every file strictly under @dir ("" = all), in path order,
 * holding only one row at a time; @func returns FALSE to stop early. */
typedef gboolean (*AfdFileRowFunc) (const AfdFileRow *row, gpointer user_data);
gboolean afd_rows_file_foreach_under (AfdDb *db, const char *codebase_id, const char *dir,
                                      AfdFileRowFunc func, gpointer user_data, GError **error);

/* FAILED_PRECONDITION when @path cannot be a file: one of its ancestors is a
 * file, or files exist under it (it is a directory). */
gboolean afd_rows_file_check_shape (AfdDb *db, const char *codebase_id, const char *path,
                                    GError **error);

/* Append to the history. @actor says who ("uid:1000", "tcp:127.0.0.1:…"). */
gboolean afd_rows_event_append (AfdDb *db, const char *actor, const char *action,
                                const char *codebase_id, const char *sandbox_id, const char *detail,
                                GError **error);
/* The same, naming a session too (@session_id may be NULL). */
gboolean afd_rows_event_append_session (AfdDb *db, const char *actor, const char *action,
                                        const char *codebase_id, const char *sandbox_id,
                                        const char *session_id, const char *detail, GError **error);

typedef struct {
  gint64 id, time_us;
  char *actor, *action, *codebase_id, *sandbox_id, *session_id, *detail; /* "" when unset */
} AfdEventRow;

void afd_event_row_free (AfdEventRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdEventRow, afd_event_row_free)

/* Events with id > @after_id and time >= @since_us, oldest first, at most
 * @limit; @sandbox_id / @codebase_id NULL = any. */
GPtrArray *afd_rows_event_list (AfdDb *db, const char *sandbox_id, const char *codebase_id,
                                gint64 since_us, gint64 after_id, int limit, GError **error);

/* Delete at most @batch of the oldest events that are beyond the newest
 * @keep_count (0 = no count bound) or older than @before_us (0 = no age
 * bound). *@out_deleted gets how many went. */
gboolean afd_rows_event_prune (AfdDb *db, gint64 keep_count, gint64 before_us, int batch,
                               int *out_deleted, GError **error);

G_END_DECLS
