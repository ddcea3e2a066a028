/* afd-config.c — afd-server's configuration keys and their resolution.
 * Never logs; never touches the disk except to read the token file. */
#include "afd-config.h"

#include "af-grpc-tls.h"

#include <gio/gio.h>
#include <string.h>

#define GiB (1LL << 30)

static const AfConfigKey schema[] = {
  { "server", "state_dir", AF_CONFIG_PATH, "", 0, 0,
    "State directory (database, codebases); empty = the default state dir" },
  { "server", "socket", AF_CONFIG_STRING, "", 0, 0,
    "Unix socket path; empty = <runtime dir>/afd.sock; none = no unix socket" },
  { "server", "listen", AF_CONFIG_STRING, "127.0.0.1:9000", 0, 0,
    "TCP address (host:port); none = no TCP" },
  { "server", "allow_remote", AF_CONFIG_BOOL, "false", 0, 0,
    "Allow a TCP address other than loopback (needs an auth token)" },
  { "server", "auth_token", AF_CONFIG_STRING, "", 0, 0,
    "Bearer token TCP clients must send (prefer auth_token_file)" },
  { "server", "auth_token_file", AF_CONFIG_PATH, "", 0, 0,
    "File holding the bearer token TCP clients must send" },
  { "server", "tls_cert", AF_CONFIG_PATH, "", 0, 0,
    "PEM certificate chain of the TCP listener; with tls_key, TCP speaks TLS only "
    "(the unix socket stays plain)" },
  { "server", "tls_key", AF_CONFIG_PATH, "", 0, 0, "PEM private key (unencrypted) of tls_cert" },
  { "server", "tls_client_ca", AF_CONFIG_PATH, "", 0, 0,
    "PEM CA certificates; when set, TCP clients must present a certificate they issued "
    "(mutual TLS)" },
  { "server", "log_level", AF_CONFIG_STRING, "message", 0, 0,
    "error, warning, message, info or debug (one line per RPC)" },
  { "server", "sync", AF_CONFIG_BOOL, "true", 0, 0,
    "fsync each upload and each change of codebase content before answering (false: "
    "faster, but a power loss may lose the last acknowledged changes; a crash of afd-server "
    "alone never does). Sandbox, session and event rows never wait for the disk" },
  { "server", "max_message_size", AF_CONFIG_SIZE, "4M", 64 * 1024, GiB,
    "Largest gRPC message accepted or sent" },
  { "codebase", "max_file_size", AF_CONFIG_SIZE, "1G", 0, 1LL << 40,
    "Largest file an upload may store" },
  { "codebase", "quota", AF_CONFIG_SIZE, "10G", 0, 1LL << 50, "Total bytes per codebase" },
  { "codebase", "max_per_owner", AF_CONFIG_INT, "10000", 1, G_MAXINT32,
    "Codebases one owner may have" },
  { "codebase", "download_chunk_size", AF_CONFIG_SIZE, "256K", 64 * 1024, 1024 * 1024,
    "Bytes per DownloadFile message (64K..1M)" },
  { "codebase", "max_uploads", AF_CONFIG_INT, "256", 1, 65536,
    "Uploads in progress at once, over all clients (each holds a temp file)" },
  { "codebase", "max_list_entries", AF_CONFIG_INT, "100000", 1, 10000000,
    "Entries one ListFiles answer may hold" },
  { "sandbox", "fuse_helper", AF_CONFIG_PATH, "", 0, 0,
    "af-fuse executable (empty: installed, or the build tree's)" },
  { "sandbox", "exec_helper", AF_CONFIG_PATH, "", 0, 0,
    "af-exec executable (empty: installed, or the build tree's)" },
  { "sandbox", "exec_timeout", AF_CONFIG_DURATION, "60s", 1, 86400000,
    "Command timeout when a request sets none" },
  { "sandbox", "start_timeout", AF_CONFIG_DURATION, "30s", 100, 600000,
    "Longest a start may take (mount and isolation ready)" },
  { "sandbox", "max_running_per_owner", AF_CONFIG_INT, "100", 1, 100000,
    "Running sandboxes one owner may have" },
  { "sandbox", "max_sessions", AF_CONFIG_INT, "16", 1, 1024, "Open sessions per sandbox" },
  { "sandbox", "max_execs", AF_CONFIG_INT, "32", 1, 1024, "Commands running at once per sandbox" },
  { "sandbox", "default_image", AF_CONFIG_STRING, "", 0, 0,
    "Docker image when a request names none (empty: the request must)" },
  { "sandbox", "recovery", AF_CONFIG_STRING, "stop", 0, 0,
    "Sandboxes found running after a restart: stop (STOPPED) or restart" },
  { "events", "max_count", AF_CONFIG_INT, "1000000", 0, 1000000000,
    "Events kept in the history, newest first (0: no bound by count)" },
  { "events", "max_age", AF_CONFIG_DURATION, "2160h", 0, 87600LL * 3600000,
    "Events older than this are removed (0: no bound by age; 2160h = 90 days)" },
};

const AfConfigKey *
afd_config_schema (gsize *out_n_keys)
{
  *out_n_keys = G_N_ELEMENTS (schema);
  return schema;
}

AfConfig *
afd_config_new (void)
{
  return af_config_new (schema, G_N_ELEMENTS (schema));
}

void
afd_settings_free (AfdSettings *s)
{
  if (s == NULL)
    return;
  g_free (s->state_dir);
  g_free (s->socket_path);
  g_free (s->listen);
  g_free (s->auth_token);
  g_free (s->tls_cert_file);
  g_free (s->tls_key_file);
  g_free (s->tls_client_ca_file);
  g_free (s->tls_cert_pem);
  if (s->tls_key_pem != NULL)
    memset (s->tls_key_pem, 0, strlen (s->tls_key_pem)); /* no key left in freed memory */
  g_free (s->tls_key_pem);
  g_free (s->tls_client_ca_pem);
  g_free (s->fuse_helper);
  g_free (s->exec_helper);
  g_free (s->default_image);
  g_free (s);
}

gboolean
afd_listen_is_loopback (const char *listen)
{
  /* "host:port", "[v6]:port", optionally with grpc's "ipv4:"/"ipv6:" scheme.
   * Only a literal loopback address or "localhost" counts: a name such as
   * "127.example.com" could resolve anywhere. */
  const char *p = listen;
  if (g_str_has_prefix (p, "ipv4:") || g_str_has_prefix (p, "ipv6:"))
    p += 5;
  const char *colon = strrchr (p, ':');
  if (colon == NULL)
    return FALSE;
  g_autofree char *host = g_strndup (p, (gsize)(colon - p));
  if (host[0] == '[' && host[strlen (host) - 1] == ']') {
    char *inner = g_strndup (host + 1, strlen (host) - 2);
    g_free (host);
    host = inner;
  }
  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (host);
  return addr != NULL && g_inet_address_get_is_loopback (addr);
}

static char *
read_token_file (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &text, &len, &local)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "auth_token_file: %s", local->message);
    return NULL;
  }
  if (len > 4096 || memchr (text, '\0', len) != NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "auth_token_file %s: not a token (binary or longer than 4 KiB)", path);
    return NULL;
  }
  return g_strstrip (g_steal_pointer (&text));
}

/* Reads and checks the PEM file of key @key (empty: *@out stays NULL);
 * errors name the key and the file. */
static gboolean
read_tls_file (AfConfig *config, const char *key, gboolean certificates, char **out, GError **error)
{
  const char *path = af_config_get_string (config, "server", key);
  if (*path == '\0')
    return TRUE;
  g_autoptr (GError) local = NULL;
  g_autofree char *pem = af_grpc_tls_read_pem (path, &local);
  if (pem != NULL && certificates)
    af_grpc_tls_check_certificates (pem, NULL, &local);
  else if (pem != NULL)
    af_grpc_tls_check_key (pem, NULL, &local);
  if (local != NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "%s (%s): %s", key, path,
                 local->message);
    return FALSE;
  }
  *out = g_steal_pointer (&pem);
  return TRUE;
}

static gboolean
resolve_tls (AfConfig *config, AfdSettings *s, GError **error)
{
  const char *cert = af_config_get_string (config, "server", "tls_cert");
  const char *key = af_config_get_string (config, "server", "tls_key");
  if ((*cert == '\0') != (*key == '\0')) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "tls_cert and tls_key go together: set both for TLS, or neither");
    return FALSE;
  }
  const char *ca = af_config_get_string (config, "server", "tls_client_ca");
  if (*cert == '\0' && *ca != '\0') {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "tls_client_ca needs TLS: set tls_cert and tls_key too");
    return FALSE;
  }
  if (!read_tls_file (config, "tls_cert", TRUE, &s->tls_cert_pem, error) ||
      !read_tls_file (config, "tls_key", FALSE, &s->tls_key_pem, error) ||
      !read_tls_file (config, "tls_client_ca", TRUE, &s->tls_client_ca_pem, error))
    return FALSE;
  if (s->tls_cert_pem == NULL)
    return TRUE;
  g_autoptr (GError) local = NULL;
  if (!af_grpc_tls_check_key (s->tls_key_pem, s->tls_cert_pem, &local)) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "tls_key (%s) and tls_cert (%s): %s",
                 key, cert, local->message);
    return FALSE;
  }
  s->tls_cert_file = g_canonicalize_filename (cert, NULL);
  s->tls_key_file = g_canonicalize_filename (key, NULL);
  if (s->tls_client_ca_pem != NULL)
    s->tls_client_ca_file = g_canonicalize_filename (ca, NULL);
  return TRUE;
}

AfdSettings *
afd_settings_resolve (AfConfig *config, const AfDirsEnv *env, GError **error)
{
  g_autoptr (AfdSettings) s = g_new0 (AfdSettings, 1);

  const char *state = af_config_get_string (config, "server", "state_dir");
  s->state_dir = *state ? g_strdup (state) : af_dirs_state_dir (env);

  const char *sock = af_config_get_string (config, "server", "socket");
  if (*sock == '\0')
    s->socket_path = af_dirs_server_socket (env);
  else if (strcmp (sock, "none") != 0) {
    if (!g_path_is_absolute (sock)) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "socket: expected an absolute path or 'none', got '%s'", sock);
      return NULL;
    }
    s->socket_path = g_strdup (sock);
  }

  const char *listen = af_config_get_string (config, "server", "listen");
  if (*listen != '\0' && strcmp (listen, "none") != 0)
    s->listen = g_strdup (listen);
  if (s->socket_path == NULL && s->listen == NULL) {
    g_set_error_literal (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                         "both the unix socket and TCP are disabled: nothing to serve");
    return NULL;
  }

  const char *token = af_config_get_string (config, "server", "auth_token");
  const char *token_file = af_config_get_string (config, "server", "auth_token_file");
  if (*token_file != '\0') {
    s->auth_token = read_token_file (token_file, error);
    if (s->auth_token == NULL)
      return NULL;
  } else if (*token != '\0') {
    s->auth_token = g_strdup (token);
  }
  if (s->auth_token != NULL && *s->auth_token == '\0')
    g_clear_pointer (&s->auth_token, g_free);

  if (!resolve_tls (config, s, error))
    return NULL;

  s->allow_remote = af_config_get_bool (config, "server", "allow_remote");
  s->sync = af_config_get_bool (config, "server", "sync");
  if (s->listen != NULL && !afd_listen_is_loopback (s->listen)) {
    if (!s->allow_remote) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "listen address %s is not loopback: pass --allow-remote and configure "
                   "an auth token (auth_token_file) to serve other hosts",
                   s->listen);
      return NULL;
    }
    if (s->auth_token == NULL) {
      g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                   "listen address %s is not loopback: an auth token is required "
                   "(auth_token_file or auth_token)",
                   s->listen);
      return NULL;
    }
  }

  if (!af_log_level_parse (af_config_get_string (config, "server", "log_level"), &s->log_level,
                           error))
    return NULL;

  s->max_message_size = af_config_get_int (config, "server", "max_message_size");
  s->max_file_size = af_config_get_int (config, "codebase", "max_file_size");
  s->codebase_quota = af_config_get_int (config, "codebase", "quota");
  s->max_codebases_per_owner = af_config_get_int (config, "codebase", "max_per_owner");
  s->download_chunk_size = af_config_get_int (config, "codebase", "download_chunk_size");
  s->max_list_entries = af_config_get_int (config, "codebase", "max_list_entries");
  s->max_uploads = af_config_get_int (config, "codebase", "max_uploads");
  s->fuse_helper = g_strdup (af_config_get_string (config, "sandbox", "fuse_helper"));
  s->exec_helper = g_strdup (af_config_get_string (config, "sandbox", "exec_helper"));
  s->exec_timeout_ms = af_config_get_int (config, "sandbox", "exec_timeout");
  s->start_timeout_ms = af_config_get_int (config, "sandbox", "start_timeout");
  s->max_running_per_owner = af_config_get_int (config, "sandbox", "max_running_per_owner");
  s->max_sessions = af_config_get_int (config, "sandbox", "max_sessions");
  s->max_execs = af_config_get_int (config, "sandbox", "max_execs");
  s->events_max_count = af_config_get_int (config, "events", "max_count");
  s->events_max_age_ms = af_config_get_int (config, "events", "max_age");
  s->default_image = g_strdup (af_config_get_string (config, "sandbox", "default_image"));
  const char *recovery = af_config_get_string (config, "sandbox", "recovery");
  if (g_strcmp0 (recovery, "stop") != 0 && g_strcmp0 (recovery, "restart") != 0) {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "recovery: expected stop or restart, got '%s'", recovery);
    return NULL;
  }
  s->recovery_restart = g_strcmp0 (recovery, "restart") == 0;
  /* A download chunk plus framing must fit in one message. */
  if (s->download_chunk_size + 64 > s->max_message_size)
    s->download_chunk_size = s->max_message_size - 64;
  return g_steal_pointer (&s);
}
