/* af-dirs.c — default directory resolution. Pure apart from the two
 * functions that read the process environment or create directories. */
#include "af-dirs.h"
#include "af-error.h"
#include "af-build-config.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

void
af_dirs_env_from_process (AfDirsEnv *env)
{
  env->uid = getuid ();
  env->home = g_get_home_dir ();
  env->xdg_state_home = g_getenv ("XDG_STATE_HOME");
  env->xdg_runtime_dir = g_getenv ("XDG_RUNTIME_DIR");
  env->state_override = g_getenv ("AGENTFENSE_STATE_DIR");
  env->runtime_override = g_getenv ("AGENTFENSE_RUNTIME_DIR");
}

static gboolean
usable (const char *p)
{
  /* The XDG spec says relative values are invalid and must be ignored. */
  return p != NULL && g_path_is_absolute (p);
}

char *
af_dirs_state_dir (const AfDirsEnv *env)
{
  if (usable (env->state_override))
    return g_strdup (env->state_override);
  if (env->uid == 0)
    return g_strdup ("/var/lib/agentfense");
  if (usable (env->xdg_state_home))
    return g_build_filename (env->xdg_state_home, "agentfense", NULL);
  return g_build_filename (env->home ? env->home : "/", ".local", "state", "agentfense", NULL);
}

char *
af_dirs_runtime_dir (const AfDirsEnv *env)
{
  if (usable (env->runtime_override))
    return g_strdup (env->runtime_override);
  if (env->uid == 0)
    return g_strdup ("/run/agentfense");
  if (usable (env->xdg_runtime_dir))
    return g_build_filename (env->xdg_runtime_dir, "agentfense", NULL);
  /* Not /tmp/agentfense-UID: anyone could create that first. The state
   * dir is the user's own (runuser and cron set no XDG_RUNTIME_DIR). */
  g_autofree char *state = af_dirs_state_dir (env);
  return g_build_filename (state, "run", NULL);
}

const char *
af_dirs_system_config_file (void)
{
  return AF_SYSCONFDIR "/agentfense/afd.conf";
}

char *
af_dirs_config_file (const AfDirsEnv *env, const char *xdg_config_home)
{
  if (env->uid == 0)
    return g_strdup (af_dirs_system_config_file ());
  if (usable (xdg_config_home))
    return g_build_filename (xdg_config_home, "agentfense", "afd.conf", NULL);
  return g_build_filename (env->home ? env->home : "/", ".config", "agentfense", "afd.conf", NULL);
}

char *
af_dirs_server_socket (const AfDirsEnv *env)
{
  g_autofree char *rt = af_dirs_runtime_dir (env);
  return g_build_filename (rt, "afd.sock", NULL);
}

gboolean
af_dirs_ensure (const char *path, int mode, GError **error)
{
  if (g_mkdir_with_parents (path, mode) != 0) {
    int e = errno;
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "cannot create directory %s: %s",
                 path, g_strerror (e));
    return FALSE;
  }
  struct stat st;
  if (stat (path, &st) != 0 || !S_ISDIR (st.st_mode)) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "%s exists but is not a directory",
                 path);
    return FALSE;
  }
  return TRUE;
}
