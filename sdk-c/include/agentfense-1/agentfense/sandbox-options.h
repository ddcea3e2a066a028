/* sandbox-options.h — AfSandboxOptions, the builder of everything a new
 * sandbox can be given: where the client connects, how a local tree is
 * uploaded, the rules, and what CreateSandbox is asked for.
 *
 * A mutable, reference-counted value; not thread-safe while being built.
 * The functions that take options read them during the call only. */
#pragma once

#include <agentfense/client.h>
#include <agentfense/local-tree.h>
#include <agentfense/macros.h>
#include <agentfense/rules.h>
#include <agentfense/sandbox-values.h>

G_BEGIN_DECLS

/**
 * AF_SANDBOX_DEFAULT_PRESET:
 *
 * The preset a sandbox gets unless told otherwise (as in the Python SDK).
 */
#define AF_SANDBOX_DEFAULT_PRESET "view-only"

/**
 * AF_SANDBOX_DEFAULT_MAX_FILE_SIZE:
 *
 * af_sandbox_from_local() skips (and reports) files larger than this, 50
 * MB, unless af_sandbox_options_set_max_file_size() says otherwise.
 */
#define AF_SANDBOX_DEFAULT_MAX_FILE_SIZE ((gint64)50 * 1024 * 1024)

/**
 * AfSandboxOptions:
 *
 * Options for af_sandbox_from_local(), af_sandbox_from_codebase() and
 * af_client_create_sandbox(). Every option has a default; an option a
 * function has no use for is ignored by it.
 */
typedef struct _AfSandboxOptions AfSandboxOptions;

/**
 * af_sandbox_options_get_type:
 *
 * Returns: the boxed #GType of #AfSandboxOptions.
 */
AF_PUBLIC GType af_sandbox_options_get_type (void);

/**
 * af_sandbox_options_new:
 *
 * Returns: (transfer full): options with every default: preset
 *   %AF_SANDBOX_DEFAULT_PRESET, no extra rules, the default ignore
 *   patterns, a %AF_SANDBOX_DEFAULT_MAX_FILE_SIZE limit, the server's
 *   default runtime, no limits, no labels, no expiry, the default endpoint
 *   without TLS, and auto-start.
 */
AF_PUBLIC AfSandboxOptions *af_sandbox_options_new (void);

/**
 * af_sandbox_options_ref:
 * @options: options
 *
 * Returns: (transfer full): @options
 */
AF_PUBLIC AfSandboxOptions *af_sandbox_options_ref (AfSandboxOptions *options);

/**
 * af_sandbox_options_unref:
 * @options: (transfer full): options
 */
AF_PUBLIC void af_sandbox_options_unref (AfSandboxOptions *options);

/**
 * af_sandbox_options_set_name:
 * @options: options
 * @name: (nullable): the codebase name af_sandbox_from_local() creates;
 *   %NULL for the directory's name
 */
AF_PUBLIC void af_sandbox_options_set_name (AfSandboxOptions *options, const char *name);

/**
 * af_sandbox_options_set_owner_id:
 * @options: options
 * @owner_id: (nullable): the owner of a created codebase; %NULL for the
 *   user running the program
 */
AF_PUBLIC void af_sandbox_options_set_owner_id (AfSandboxOptions *options, const char *owner_id);

/**
 * af_sandbox_options_set_preset:
 * @options: options
 * @preset: (nullable): a preset name (af_presets_list()); %NULL for
 *   %AF_SANDBOX_DEFAULT_PRESET. Checked when the sandbox is created.
 */
AF_PUBLIC void af_sandbox_options_set_preset (AfSandboxOptions *options, const char *preset);

/**
 * af_sandbox_options_add_rule:
 * @options: options
 * @rule: a rule appended after the preset's rules
 */
AF_PUBLIC void af_sandbox_options_add_rule (AfSandboxOptions *options, AfPermissionRule *rule);

/**
 * af_sandbox_options_add_ignore_pattern:
 * @options: options
 * @pattern: a gitignore-syntax pattern af_sandbox_from_local() applies
 *   after the root's `.gitignore` and `.sandboxignore`
 */
AF_PUBLIC void af_sandbox_options_add_ignore_pattern (AfSandboxOptions *options,
                                                      const char *pattern);

/**
 * af_sandbox_options_set_default_ignores:
 * @options: options
 * @enabled: whether the default ignore patterns apply (they do unless
 *   turned off)
 */
AF_PUBLIC void af_sandbox_options_set_default_ignores (AfSandboxOptions *options, gboolean enabled);

/**
 * af_sandbox_options_set_max_file_size:
 * @options: options
 * @max_bytes: files larger than this are skipped and reported; 0 for no
 *   limit
 */
AF_PUBLIC void af_sandbox_options_set_max_file_size (AfSandboxOptions *options, gint64 max_bytes);

/**
 * af_sandbox_options_set_upload_progress:
 * @options: options
 * @progress: (nullable) (scope notified): called after each uploaded file
 * @user_data: data for @progress
 * @destroy: (nullable): frees @user_data with the options
 *
 * @progress runs on the thread doing the upload: the caller's for
 * af_sandbox_from_local(), a worker thread for
 * af_sandbox_from_local_async().
 */
AF_PUBLIC void af_sandbox_options_set_upload_progress (AfSandboxOptions *options,
                                                       AfUploadProgressFunc progress,
                                                       gpointer user_data, GDestroyNotify destroy);

/**
 * af_sandbox_options_set_runtime:
 * @options: options
 * @runtime: where commands run
 */
AF_PUBLIC void af_sandbox_options_set_runtime (AfSandboxOptions *options, AfRuntime runtime);

/**
 * af_sandbox_options_set_image:
 * @options: options
 * @image: (nullable): the container image of the docker runtime
 */
AF_PUBLIC void af_sandbox_options_set_image (AfSandboxOptions *options, const char *image);

/**
 * af_sandbox_options_set_resources:
 * @options: options
 * @limits: (nullable): resource limits (copied); %NULL for none
 */
AF_PUBLIC void af_sandbox_options_set_resources (AfSandboxOptions *options,
                                                 const AfResourceLimits *limits);

/**
 * af_sandbox_options_set_label:
 * @options: options
 * @key: a label name
 * @value: (nullable): its value; %NULL removes the label
 */
AF_PUBLIC void af_sandbox_options_set_label (AfSandboxOptions *options, const char *key,
                                             const char *value);

/**
 * af_sandbox_options_set_expires_in:
 * @options: options
 * @seconds: the server destroys the sandbox this long after creation; 0
 *   for never
 */
AF_PUBLIC void af_sandbox_options_set_expires_in (AfSandboxOptions *options, guint seconds);

/**
 * af_sandbox_options_set_commit_mode:
 * @options: options
 * @mode: when the sandbox's changes reach the codebase
 */
AF_PUBLIC void af_sandbox_options_set_commit_mode (AfSandboxOptions *options, AfCommitMode mode);

/**
 * af_sandbox_options_set_endpoint:
 * @options: options
 * @endpoint: (nullable): the server (as for af_client_new()); %NULL for
 *   the default
 * @secure: whether to use TLS
 *
 * Ignored when af_sandbox_options_set_client() gave a client.
 */
AF_PUBLIC void af_sandbox_options_set_endpoint (AfSandboxOptions *options, const char *endpoint,
                                                gboolean secure);

/**
 * af_sandbox_options_set_client:
 * @options: options
 * @client: (nullable): an existing client to use (one connection shared by
 *   many sandboxes); %NULL to make one from the endpoint
 */
AF_PUBLIC void af_sandbox_options_set_client (AfSandboxOptions *options, AfClient *client);

/**
 * af_sandbox_options_set_auto_start:
 * @options: options
 * @auto_start: whether a new sandbox is started at once (the default)
 */
AF_PUBLIC void af_sandbox_options_set_auto_start (AfSandboxOptions *options, gboolean auto_start);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfSandboxOptions, af_sandbox_options_unref)

G_END_DECLS
