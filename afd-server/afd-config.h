/* afd-config.h — the configuration schema of afd-server.
 *
 * Owns: the table of every key the daemon understands (group, key, type,
 * default, bounds) and the resolution of the few values whose default depends
 * on the environment (state dir, socket). Must never read a file or parse
 * flags itself: libafcore's AfConfig does that. */
#pragma once

#include "afcore.h"

G_BEGIN_DECLS

/* The schema; every key is also a --flag (libafcore derives them). */
const AfConfigKey *afd_config_schema (gsize *out_n_keys);

AfConfig *afd_config_new (void);

/* Resolved settings the daemon runs with (all strings owned). */
typedef struct {
  char *state_dir;   /* absolute */
  char *socket_path; /* absolute, or NULL when the unix socket is disabled */
  char *listen;      /* "host:port", or NULL when TCP is disabled */
  gboolean allow_remote;
  gboolean sync;    /* fsync uploads and commits before answering */
  char *auth_token; /* NULL when none is configured */
  /* TLS of the TCP listener, PEM text read and checked at start-up; all
   * NULL when TCP is plain. */
  char
      *tls_cert_file; /* absolute paths: watched, renewed files are served (af-grpc-tls-reload.h) */
  char *tls_key_file;
  char *tls_client_ca_file; /* NULL with tls_client_ca_pem */
  char *tls_cert_pem;
  char *tls_key_pem;
  char *tls_client_ca_pem; /* NULL: no client certificates */
  AfLogLevel log_level;
  gint64 max_file_size;
  gint64 codebase_quota;
  gint64 max_codebases_per_owner;
  gint64 download_chunk_size;
  gint64 max_list_entries;
  gint64 max_uploads;
  gint64 max_message_size;
  /* Sandboxes. */
  char *fuse_helper; /* "" = find it */
  char *exec_helper;
  gint64 exec_timeout_ms;
  gint64 start_timeout_ms;
  gint64 max_running_per_owner;
  gint64 max_sessions;
  gint64 max_execs;
  char *default_image;
  gboolean recovery_restart;
  /* The history: pruned past either bound (0 = that bound is off). */
  gint64 events_max_count;
  gint64 events_max_age_ms;
} AfdSettings;

void afd_settings_free (AfdSettings *settings);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdSettings, afd_settings_free)

/* Resolve @config against @env into settings; checks cross-key rules (a
 * non-loopback listen address needs allow_remote and a token). */
AfdSettings *afd_settings_resolve (AfConfig *config, const AfDirsEnv *env, GError **error);

/* TRUE for "127.0.0.1:N", "[::1]:N", "localhost:N". */
gboolean afd_listen_is_loopback (const char *listen);

G_END_DECLS
