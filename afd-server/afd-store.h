/* afd-store.h — the codebase store on disk: <state>/codebases/<id>/<path>.
 *
 * Owns: every filesystem access to codebase content. All access is relative
 * to directory fds, one component at a time, with O_NOFOLLOW: a symlink in
 * the store (which the store never creates) is never followed, and no path
 * can leave the codebase directory. Uploads stream into <state>/tmp (same
 * filesystem), are fsynced, then renamed into place.
 * Must never: take a path that af_path_normalize has not produced, or an id
 * that af_id_validate has not accepted; touch the database. */
#pragma once

#include "afcore.h"

#include <sys/stat.h>

G_BEGIN_DECLS

/* Deepest path the store accepts (components); bounds recursion and fds. */
#define AFD_STORE_MAX_DEPTH 256

typedef struct _AfdStore AfdStore;

/* Create (0700) and open <state_dir>/codebases and <state_dir>/tmp. */
AfdStore *afd_store_open (const char *state_dir, GError **error);
void afd_store_free (AfdStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdStore, afd_store_free)

/* With @sync FALSE uploads are not fsynced before their rename (default
 * TRUE). */
void afd_store_set_sync (AfdStore *store, gboolean sync);

int afd_store_codebases_fd (AfdStore *store);
int afd_store_tmp_fd (AfdStore *store);

gboolean afd_store_create_codebase (AfdStore *store, const char *id, GError **error);

/* A new O_DIRECTORY fd on the codebase's root; NOT_FOUND when absent. */
int afd_store_open_codebase (AfdStore *store, const char *id, GError **error);

/* Remove the codebase's directory and everything under it (first renamed to
 * a trash name so a crash half-way leaves nothing that looks like data). */
gboolean afd_store_remove_codebase (AfdStore *store, const char *id, GError **error);

/* Remove @name under @dirfd recursively, never following symlinks. */
gboolean afd_store_remove_tree_at (int dirfd, const char *name, GError **error);

/* Open @relpath (canonical, "" = the root itself) under @root_fd as a
 * directory; with @create, missing directories are made (0755). A component
 * that is a file is FAILED_PRECONDITION; missing is NOT_FOUND. */
int afd_store_open_dir (int root_fd, const char *relpath, gboolean create, GError **error);

/* Open the regular file @relpath under @root_fd read-only. Missing is
 * NOT_FOUND, a directory INVALID_ARGUMENT, anything else (symlink, device)
 * NOT_FOUND. */
int afd_store_open_file (int root_fd, const char *relpath, GError **error);

/* An upload in progress: a temp file plus a running SHA-256. */
typedef struct _AfdUpload AfdUpload;

AfdUpload *afd_upload_begin (AfdStore *store, GError **error);
gboolean afd_upload_write (AfdUpload *up, const void *data, gsize len, GError **error);
gint64 afd_upload_size (AfdUpload *up);

/* fsync the data and rename it to @relpath under @root_fd (parents created,
 * an existing file replaced atomically, the parent directory fsynced).
 * Returns the lower-case hex SHA-256 and the file's mtime (µs). */
gboolean afd_upload_commit (AfdUpload *up, int root_fd, const char *relpath, char **out_sha256,
                            gint64 *out_mtime_us, GError **error);

/* Unlinks the temp file unless committed. */
void afd_upload_free (AfdUpload *up);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdUpload, afd_upload_free)

/* Hash the regular file @fd from its start (for reconciliation). */
char *afd_store_hash_fd (int fd, GError **error);

/* st_mtim in microseconds. */
gint64 afd_store_stat_mtime_us (const struct stat *st);

G_END_DECLS
