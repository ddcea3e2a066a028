/* af-codebase.c — AfCodebase and AfFileInfo values and the unary
 * CodebaseService calls (create, get, list, delete, list files).
 *
 * Owns: the conversion of Codebase/FileInfo messages to public values.
 * Must never: hold a message after the call that produced it returned (the
 * values copy what they keep). Uploads and downloads: af-transfer.c. */
#include "af-sdk-private.h"

#define METHOD(name) "/sandbox.v1.CodebaseService/" name

/* ListCodebases pages are followed to the end, but not forever: a server
 * that keeps returning a next_page_token is a broken server. */
#define MAX_LIST_PAGES 10000

struct _AfCodebase {
  gint ref_count;
  char *id;
  char *name;
  char *owner_id;
  gint64 size;
  gint file_count;
  GDateTime *created_at; /* NULL when unset */
  GDateTime *updated_at;
};

struct _AfFileInfo {
  gint ref_count;
  char *path;
  char *name;
  gboolean is_dir;
  gint64 size;
  GDateTime *modified_at;
};

G_DEFINE_BOXED_TYPE (AfCodebase, af_codebase, af_codebase_ref, af_codebase_unref)
G_DEFINE_BOXED_TYPE (AfFileInfo, af_file_info, af_file_info_ref, af_file_info_unref)

AfCodebase *
af_codebase_new_from_wire (const Sandbox__V1__Codebase *message)
{
  AfCodebase *codebase = g_new0 (AfCodebase, 1);
  codebase->ref_count = 1;
  codebase->id = g_strdup (message->id);
  codebase->name = g_strdup (message->name);
  codebase->owner_id = g_strdup (message->owner_id);
  codebase->size = message->size;
  codebase->file_count = message->file_count;
  codebase->created_at = af_sdk_datetime_from_wire (message->created_at);
  codebase->updated_at = af_sdk_datetime_from_wire (message->updated_at);
  return codebase;
}

AfCodebase *
af_codebase_ref (AfCodebase *codebase)
{
  g_return_val_if_fail (codebase != NULL, NULL);
  g_atomic_int_inc (&codebase->ref_count);
  return codebase;
}

void
af_codebase_unref (AfCodebase *codebase)
{
  if (codebase == NULL || !g_atomic_int_dec_and_test (&codebase->ref_count))
    return;
  g_free (codebase->id);
  g_free (codebase->name);
  g_free (codebase->owner_id);
  g_clear_pointer (&codebase->created_at, g_date_time_unref);
  g_clear_pointer (&codebase->updated_at, g_date_time_unref);
  g_free (codebase);
}

const char *
af_codebase_get_id (AfCodebase *codebase)
{
  return codebase->id;
}

const char *
af_codebase_get_name (AfCodebase *codebase)
{
  return codebase->name;
}

const char *
af_codebase_get_owner_id (AfCodebase *codebase)
{
  return codebase->owner_id;
}

gint64
af_codebase_get_size (AfCodebase *codebase)
{
  return codebase->size;
}

gint
af_codebase_get_file_count (AfCodebase *codebase)
{
  return codebase->file_count;
}

GDateTime *
af_codebase_get_created_at (AfCodebase *codebase)
{
  return codebase->created_at;
}

GDateTime *
af_codebase_get_updated_at (AfCodebase *codebase)
{
  return codebase->updated_at;
}

AfFileInfo *
af_file_info_new_from_wire (const Sandbox__V1__FileInfo *message)
{
  AfFileInfo *info = g_new0 (AfFileInfo, 1);
  info->ref_count = 1;
  info->path = g_strdup (message->path);
  info->name = g_strdup (message->name);
  info->is_dir = message->is_dir;
  info->size = message->size;
  info->modified_at = af_sdk_datetime_from_wire (message->modified_at);
  return info;
}

AfFileInfo *
af_file_info_ref (AfFileInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  g_atomic_int_inc (&info->ref_count);
  return info;
}

void
af_file_info_unref (AfFileInfo *info)
{
  if (info == NULL || !g_atomic_int_dec_and_test (&info->ref_count))
    return;
  g_free (info->path);
  g_free (info->name);
  g_clear_pointer (&info->modified_at, g_date_time_unref);
  g_free (info);
}

const char *
af_file_info_get_path (AfFileInfo *info)
{
  return info->path;
}

const char *
af_file_info_get_name (AfFileInfo *info)
{
  return info->name;
}

gboolean
af_file_info_is_dir (AfFileInfo *info)
{
  return info->is_dir;
}

gint64
af_file_info_get_size (AfFileInfo *info)
{
  return info->size;
}

GDateTime *
af_file_info_get_modified_at (AfFileInfo *info)
{
  return info->modified_at;
}

AfCodebase *
af_client_create_codebase (AfClient *client, const char *name, const char *owner_id,
                           GCancellable *cancellable, GError **error)
{
  if (!af_client_check_id (name, "name", error))
    return NULL;

  Sandbox__V1__CreateCodebaseRequest request = SANDBOX__V1__CREATE_CODEBASE_REQUEST__INIT;
  request.name = (char *)name;
  request.owner_id = (char *)(owner_id != NULL ? owner_id : "");
  g_autoptr (AfProtobufMessage) response = NULL;
  if (!af_client_call_unary (client, METHOD ("CreateCodebase"), &request.base,
                             &sandbox__v1__codebase__descriptor, &response, AF_CALL_GENERIC, name,
                             cancellable, error))
    return NULL;
  return af_codebase_new_from_wire ((const Sandbox__V1__Codebase *)response);
}

AfCodebase *
af_client_get_codebase (AfClient *client, const char *codebase_id, GCancellable *cancellable,
                        GError **error)
{
  if (!af_client_check_id (codebase_id, "codebase_id", error))
    return NULL;

  Sandbox__V1__GetCodebaseRequest request = SANDBOX__V1__GET_CODEBASE_REQUEST__INIT;
  request.codebase_id = (char *)codebase_id;
  g_autoptr (AfProtobufMessage) response = NULL;
  if (!af_client_call_unary (client, METHOD ("GetCodebase"), &request.base,
                             &sandbox__v1__codebase__descriptor, &response, AF_CALL_CODEBASE,
                             codebase_id, cancellable, error))
    return NULL;
  return af_codebase_new_from_wire ((const Sandbox__V1__Codebase *)response);
}

GPtrArray *
af_client_list_codebases (AfClient *client, const char *owner_id, GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (GPtrArray) codebases =
      g_ptr_array_new_with_free_func ((GDestroyNotify)af_codebase_unref);
  g_autofree char *page_token = g_strdup ("");

  for (guint page = 0;; page++) {
    if (page == MAX_LIST_PAGES) {
      g_set_error (error, AF_SDK_ERROR, AF_SDK_ERROR_RESOURCE_LIMIT,
                   "ListCodebases returned more than %d pages", MAX_LIST_PAGES);
      return NULL;
    }
    Sandbox__V1__ListCodebasesRequest request = SANDBOX__V1__LIST_CODEBASES_REQUEST__INIT;
    request.owner_id = (char *)(owner_id != NULL ? owner_id : "");
    request.page_token = page_token;
    g_autoptr (AfProtobufMessage) response = NULL;
    if (!af_client_call_unary (client, METHOD ("ListCodebases"), &request.base,
                               &sandbox__v1__list_codebases_response__descriptor, &response,
                               AF_CALL_GENERIC, NULL, cancellable, error))
      return NULL;

    const Sandbox__V1__ListCodebasesResponse *list =
        (const Sandbox__V1__ListCodebasesResponse *)response;
    for (gsize i = 0; i < list->n_codebases; i++)
      g_ptr_array_add (codebases, af_codebase_new_from_wire (list->codebases[i]));
    if (list->next_page_token == NULL || *list->next_page_token == '\0')
      break;
    g_free (page_token);
    page_token = g_strdup (list->next_page_token);
  }
  return g_steal_pointer (&codebases);
}

gboolean
af_client_delete_codebase (AfClient *client, const char *codebase_id, GCancellable *cancellable,
                           GError **error)
{
  if (!af_client_check_id (codebase_id, "codebase_id", error))
    return FALSE;

  Sandbox__V1__DeleteCodebaseRequest request = SANDBOX__V1__DELETE_CODEBASE_REQUEST__INIT;
  request.codebase_id = (char *)codebase_id;
  g_autoptr (AfProtobufMessage) response = NULL;
  return af_client_call_unary (client, METHOD ("DeleteCodebase"), &request.base,
                               &sandbox__v1__empty__descriptor, &response, AF_CALL_CODEBASE,
                               codebase_id, cancellable, error);
}

GPtrArray *
af_client_list_files (AfClient *client, const char *codebase_id, const char *path,
                      gboolean recursive, GCancellable *cancellable, GError **error)
{
  if (!af_client_check_id (codebase_id, "codebase_id", error))
    return NULL;
  g_autofree char *wire_path = af_client_wire_path (path, TRUE, error);
  if (wire_path == NULL)
    return NULL;

  Sandbox__V1__ListFilesRequest request = SANDBOX__V1__LIST_FILES_REQUEST__INIT;
  request.codebase_id = (char *)codebase_id;
  request.path = wire_path;
  request.recursive = recursive;
  g_autoptr (AfProtobufMessage) response = NULL;
  if (!af_client_call_unary (client, METHOD ("ListFiles"), &request.base,
                             &sandbox__v1__list_files_response__descriptor, &response,
                             AF_CALL_CODEBASE, codebase_id, cancellable, error))
    return NULL;

  const Sandbox__V1__ListFilesResponse *list = (const Sandbox__V1__ListFilesResponse *)response;
  GPtrArray *files = g_ptr_array_new_full (list->n_files, (GDestroyNotify)af_file_info_unref);
  for (gsize i = 0; i < list->n_files; i++)
    g_ptr_array_add (files, af_file_info_new_from_wire (list->files[i]));
  return files;
}
