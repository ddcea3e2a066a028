/* codebase.h — the codebase calls of #AfClient (sandbox.v1
 * CodebaseService): create, get, list and delete codebases, upload and
 * download files, list files.
 *
 * Paths inside a codebase are relative to its root; a leading '/' is
 * accepted and means the root ("/src/a.c" is "src/a.c"). A path with ".."
 * components or invalid UTF-8 fails with
 * %AF_SDK_ERROR_INVALID_CONFIGURATION before anything is sent. */
#pragma once

#include <agentfense/client.h>
#include <agentfense/local-tree.h>
#include <agentfense/macros.h>

G_BEGIN_DECLS

/**
 * AF_CLIENT_MAX_DOWNLOAD_BYTES:
 *
 * af_client_download_file() refuses to hold a file larger than this (256
 * MiB) in memory and fails with %AF_SDK_ERROR_RESOURCE_LIMIT; use
 * af_client_download_file_to_stream() for larger files.
 */
#define AF_CLIENT_MAX_DOWNLOAD_BYTES ((gsize)256 * 1024 * 1024)

/**
 * AfCodebase:
 *
 * A codebase as the server describes it. Immutable, reference counted.
 */
typedef struct _AfCodebase AfCodebase;

/**
 * af_codebase_get_type:
 *
 * Returns: the boxed #GType of #AfCodebase.
 */
AF_PUBLIC GType af_codebase_get_type (void);

/**
 * af_codebase_ref:
 * @codebase: a codebase
 *
 * Returns: (transfer full): @codebase
 */
AF_PUBLIC AfCodebase *af_codebase_ref (AfCodebase *codebase);

/**
 * af_codebase_unref:
 * @codebase: (transfer full): a codebase
 */
AF_PUBLIC void af_codebase_unref (AfCodebase *codebase);

/**
 * af_codebase_get_id:
 * @codebase: a codebase
 *
 * Returns: (transfer none): the id ("cb_…").
 */
AF_PUBLIC const char *af_codebase_get_id (AfCodebase *codebase);

/**
 * af_codebase_get_name:
 * @codebase: a codebase
 *
 * Returns: (transfer none): the name given at creation.
 */
AF_PUBLIC const char *af_codebase_get_name (AfCodebase *codebase);

/**
 * af_codebase_get_owner_id:
 * @codebase: a codebase
 *
 * Returns: (transfer none): the owner id given at creation.
 */
AF_PUBLIC const char *af_codebase_get_owner_id (AfCodebase *codebase);

/**
 * af_codebase_get_size:
 * @codebase: a codebase
 *
 * Returns: the total size of its files in bytes.
 */
AF_PUBLIC gint64 af_codebase_get_size (AfCodebase *codebase);

/**
 * af_codebase_get_file_count:
 * @codebase: a codebase
 *
 * Returns: the number of files.
 */
AF_PUBLIC gint af_codebase_get_file_count (AfCodebase *codebase);

/**
 * af_codebase_get_created_at:
 * @codebase: a codebase
 *
 * Returns: (transfer none) (nullable): when it was created (UTC), or %NULL
 *   when the server did not say.
 */
AF_PUBLIC GDateTime *af_codebase_get_created_at (AfCodebase *codebase);

/**
 * af_codebase_get_updated_at:
 * @codebase: a codebase
 *
 * Returns: (transfer none) (nullable): when its files last changed (UTC), or
 *   %NULL when the server did not say.
 */
AF_PUBLIC GDateTime *af_codebase_get_updated_at (AfCodebase *codebase);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfCodebase, af_codebase_unref)

/**
 * AfFileInfo:
 *
 * One entry of a codebase listing. Immutable, reference counted.
 */
typedef struct _AfFileInfo AfFileInfo;

/**
 * af_file_info_get_type:
 *
 * Returns: the boxed #GType of #AfFileInfo.
 */
AF_PUBLIC GType af_file_info_get_type (void);

/**
 * af_file_info_ref:
 * @info: an entry
 *
 * Returns: (transfer full): @info
 */
AF_PUBLIC AfFileInfo *af_file_info_ref (AfFileInfo *info);

/**
 * af_file_info_unref:
 * @info: (transfer full): an entry
 */
AF_PUBLIC void af_file_info_unref (AfFileInfo *info);

/**
 * af_file_info_get_path:
 * @info: an entry
 *
 * Returns: (transfer none): its path relative to the codebase root.
 */
AF_PUBLIC const char *af_file_info_get_path (AfFileInfo *info);

/**
 * af_file_info_get_name:
 * @info: an entry
 *
 * Returns: (transfer none): its last path component.
 */
AF_PUBLIC const char *af_file_info_get_name (AfFileInfo *info);

/**
 * af_file_info_is_dir:
 * @info: an entry
 *
 * Returns: whether it is a directory.
 */
AF_PUBLIC gboolean af_file_info_is_dir (AfFileInfo *info);

/**
 * af_file_info_get_size:
 * @info: an entry
 *
 * Returns: its size in bytes (0 for a directory).
 */
AF_PUBLIC gint64 af_file_info_get_size (AfFileInfo *info);

/**
 * af_file_info_get_modified_at:
 * @info: an entry
 *
 * Returns: (transfer none) (nullable): its modification time (UTC).
 */
AF_PUBLIC GDateTime *af_file_info_get_modified_at (AfFileInfo *info);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfFileInfo, af_file_info_unref)

/**
 * af_client_create_codebase:
 * @client: a client
 * @name: a name for people to recognise it by
 * @owner_id: (nullable): the owner; %NULL or "" lets the server decide
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Returns: (transfer full): the new codebase, or %NULL with @error set.
 */
AF_PUBLIC AfCodebase *af_client_create_codebase (AfClient *client, const char *name,
                                                 const char *owner_id, GCancellable *cancellable,
                                                 GError **error);

/**
 * af_client_get_codebase:
 * @client: a client
 * @codebase_id: a codebase id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_CODEBASE_NOT_FOUND)
 *
 * Returns: (transfer full): the codebase, or %NULL with @error set.
 */
AF_PUBLIC AfCodebase *af_client_get_codebase (AfClient *client, const char *codebase_id,
                                              GCancellable *cancellable, GError **error);

/**
 * af_client_list_codebases:
 * @client: a client
 * @owner_id: (nullable): only this owner's codebases; %NULL for all
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Lists codebases, following the server's pages to the end.
 *
 * Returns: (transfer container) (element-type AfCodebase): the codebases,
 *   or %NULL with @error set.
 */
AF_PUBLIC GPtrArray *af_client_list_codebases (AfClient *client, const char *owner_id,
                                               GCancellable *cancellable, GError **error);

/**
 * af_client_delete_codebase:
 * @client: a client
 * @codebase_id: a codebase id
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_CODEBASE_NOT_FOUND)
 *
 * Returns: %TRUE when the codebase and its files are gone.
 */
AF_PUBLIC gboolean af_client_delete_codebase (AfClient *client, const char *codebase_id,
                                              GCancellable *cancellable, GError **error);

/**
 * af_client_upload_bytes:
 * @client: a client
 * @codebase_id: a codebase id
 * @file_path: the path inside the codebase
 * @content: the file's content
 * @out_checksum: (out) (optional) (transfer full): the checksum the server
 *   computed
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_CODEBASE_NOT_FOUND,
 *   %AF_SDK_ERROR_UPLOAD, …)
 *
 * Creates or replaces one file.
 *
 * Returns: %TRUE on success.
 */
AF_PUBLIC gboolean af_client_upload_bytes (AfClient *client, const char *codebase_id,
                                           const char *file_path, GBytes *content,
                                           char **out_checksum, GCancellable *cancellable,
                                           GError **error);

/**
 * af_client_upload_local_file:
 * @client: a client
 * @codebase_id: a codebase id
 * @file_path: the path inside the codebase
 * @local_path: a regular file on this machine (a symbolic link is refused)
 * @out_checksum: (out) (optional) (transfer full): the checksum the server
 *   computed
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Creates or replaces one file with the content of @local_path, streamed
 * in chunks (never read whole into memory).
 *
 * Returns: %TRUE on success.
 */
AF_PUBLIC gboolean af_client_upload_local_file (AfClient *client, const char *codebase_id,
                                                const char *file_path, const char *local_path,
                                                char **out_checksum, GCancellable *cancellable,
                                                GError **error);

/**
 * AfUploadProgressFunc:
 * @file: the file just uploaded
 * @files_done: files uploaded so far, this one included
 * @bytes_done: bytes uploaded so far
 * @user_data: the data given with the function
 *
 * Called after each file of af_client_upload_tree().
 */
typedef void (*AfUploadProgressFunc) (const AfLocalFile *file, guint files_done, gint64 bytes_done,
                                      gpointer user_data);

/**
 * af_client_upload_tree:
 * @client: a client
 * @codebase_id: a codebase id
 * @tree: a tree on which af_local_tree_scan() succeeded
 * @progress: (nullable) (scope call): called after each file
 * @user_data: data for @progress
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Uploads every file the scan of @tree included, under its path relative
 * to the tree's root. Stops at the first failure.
 *
 * Returns: %TRUE when every file was uploaded.
 */
AF_PUBLIC gboolean af_client_upload_tree (AfClient *client, const char *codebase_id,
                                          AfLocalTree *tree, AfUploadProgressFunc progress,
                                          gpointer user_data, GCancellable *cancellable,
                                          GError **error);

/**
 * af_client_download_file:
 * @client: a client
 * @codebase_id: a codebase id
 * @file_path: the path inside the codebase
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error (%AF_SDK_ERROR_FILE_NOT_FOUND, …)
 *
 * Returns: (transfer full): the content, or %NULL with @error set.
 */
AF_PUBLIC GBytes *af_client_download_file (AfClient *client, const char *codebase_id,
                                           const char *file_path, GCancellable *cancellable,
                                           GError **error);

/**
 * af_client_download_file_to_stream:
 * @client: a client
 * @codebase_id: a codebase id
 * @file_path: the path inside the codebase
 * @stream: where to write the content, chunk by chunk
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Returns: %TRUE when the whole file was written to @stream (which is not
 *   closed).
 */
AF_PUBLIC gboolean af_client_download_file_to_stream (AfClient *client, const char *codebase_id,
                                                      const char *file_path, GOutputStream *stream,
                                                      GCancellable *cancellable, GError **error);

/**
 * af_client_list_files:
 * @client: a client
 * @codebase_id: a codebase id
 * @path: (nullable): a directory inside the codebase; %NULL or "" for the
 *   root
 * @recursive: whether to list everything below @path
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * Returns: (transfer container) (element-type AfFileInfo): the entries, or
 *   %NULL with @error set.
 */
AF_PUBLIC GPtrArray *af_client_list_files (AfClient *client, const char *codebase_id,
                                           const char *path, gboolean recursive,
                                           GCancellable *cancellable, GError **error);

G_END_DECLS
