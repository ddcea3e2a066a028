/* af-dirs.h — where AgentFense keeps state, sockets and configuration.
 *
 * Defaults (ARCHITECTURE.md): as root, state in /var/lib/agentfense and
 * sockets in /run/agentfense; as any other user, state in
 * $XDG_STATE_HOME/agentfense (~/.local/state/agentfense) and sockets in
 * $XDG_RUNTIME_DIR/agentfense (or <state dir>/run when unset). The
 * environment variables AGENTFENSE_STATE_DIR and AGENTFENSE_RUNTIME_DIR
 * override both; config keys and flags override those in turn. */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef struct {
  uid_t uid;
  const char *home;             /* $HOME */
  const char *xdg_state_home;   /* may be NULL */
  const char *xdg_runtime_dir;  /* may be NULL */
  const char *state_override;   /* AGENTFENSE_STATE_DIR, may be NULL */
  const char *runtime_override; /* AGENTFENSE_RUNTIME_DIR, may be NULL */
} AfDirsEnv;

/* Fill @env from this process (getuid, g_get_home_dir, getenv). */
void af_dirs_env_from_process (AfDirsEnv *env);

/* Pure functions of @env: newly allocated absolute paths. */
char *af_dirs_state_dir (const AfDirsEnv *env);
char *af_dirs_runtime_dir (const AfDirsEnv *env);

/* /etc/agentfense/afd.conf (the sysconfdir this was built for). */
const char *af_dirs_system_config_file (void);

/* The default config file for @env: the system one for root,
 * $XDG_CONFIG_HOME/agentfense/afd.conf otherwise. */
char *af_dirs_config_file (const AfDirsEnv *env, const char *xdg_config_home);

/* The default server socket: <runtime dir>/afd.sock. */
char *af_dirs_server_socket (const AfDirsEnv *env);

/* mkdir -p @path with @mode for the directories it creates; an existing
 * non-directory is an error. */
gboolean af_dirs_ensure (const char *path, int mode, GError **error);

G_END_DECLS
