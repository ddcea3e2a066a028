/* options.c — see options.h. */
#include "options.h"

#include <unistd.h>

#include "af-build-config.h"
#include "af-error.h"

static const AfConfigKey exec_keys[] = {
  { "exec", "workspace", AF_CONFIG_PATH, NULL, 0, 0, "Directory bound at /workspace" },
  { "exec", "runtime", AF_CONFIG_STRING, "bwrap", 0, 0, "Isolation: bwrap or docker" },
  { "exec", "image", AF_CONFIG_STRING, AF_EXEC_DEFAULT_IMAGE, 0, 0, "Docker image" },
  { "exec", "memory", AF_CONFIG_SIZE, "0", 0, G_MAXINT64, "Memory limit in bytes (0: none)" },
  { "exec", "cpu_quota", AF_CONFIG_INT, "0", 0, 100000000,
    "CPU time in µs per 100 ms period (0: none)" },
  { "exec", "cpu_shares", AF_CONFIG_INT, "0", 0, 262144, "Relative CPU weight (1024: default)" },
  { "exec", "pids", AF_CONFIG_INT, "0", 0, 4194304, "Most processes at once (0: none)" },
  { "exec", "network", AF_CONFIG_BOOL, "false", 0, 0, "Share the host network" },
  { "exec", "timeout", AF_CONFIG_DURATION, "60s", 0, 86400000, "Command timeout (0: none)" },
  { "exec", "workdir", AF_CONFIG_STRING, "/workspace", 0, 0, "Working directory inside" },
  { "exec", "output_limit", AF_CONFIG_SIZE, "16M", 0, G_GINT64_CONSTANT (1) << 40,
    "Bytes kept per output stream of a command (0: unlimited)" },
  { "exec", "tmp_size", AF_CONFIG_SIZE, "256M", 4096, G_GINT64_CONSTANT (1) << 40,
    "Size of the private /tmp and home tmpfs" },
  { "exec", "uid", AF_CONFIG_INT, "0", 0, 4294967294, "Host uid of the sandbox (0: automatic)" },
  { "exec", "uid_base", AF_CONFIG_INT, G_STRINGIFY (AF_EXEC_UID_BASE_DEFAULT), 1000, 4200000000,
    "Start of the host uid range for sandboxes (as root)" },
  { "exec", "cgroup_parent", AF_CONFIG_STRING, "agentfense", 0, 0,
    "Cgroup (relative to each hierarchy root) holding the sandboxes" },
  { "exec", "init", AF_CONFIG_PATH, NULL, 0, 0, "Path of af-exec-init" },
  { "exec", "sandbox_id", AF_CONFIG_STRING, NULL, 0, 0, "Sandbox id (names cgroups)" },
  { "exec", "max_sessions", AF_CONFIG_INT, "16", 1, 1024, "Sessions per sandbox" },
  { "exec", "wait_fd", AF_CONFIG_INT, "-1", -1, 65535,
    "--serve: read this fd to its end before building the isolation (the owner closes it "
    "once the workspace is mounted; -1: do not wait)" },
};

AfConfig *
af_exec_config_new (void)
{
  return af_config_new (exec_keys, G_N_ELEMENTS (exec_keys));
}

char *
af_exec_find_init (AfConfig *config, GError **error)
{
  const char *set = af_config_get_string (config, "exec", "init");
  g_autofree char *self = NULL, *dir = NULL, *beside = NULL;
  const char *installed = AF_LIBEXECDIR "/af-exec-init";

  if (set && set[0])
    return g_strdup (set);
  /* A build tree: the init is built next to af-exec. */
  self = g_file_read_link ("/proc/self/exe", NULL);
  if (self) {
    dir = g_path_get_dirname (self);
    beside = g_build_filename (dir, "af-exec-init", NULL);
    if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
      return g_steal_pointer (&beside);
  }
  if (g_file_test (installed, G_FILE_TEST_IS_EXECUTABLE))
    return g_strdup (installed);
  g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
               "af-exec-init not found (looked in %s and beside af-exec); set --init", installed);
  return NULL;
}

gboolean
af_exec_sandbox_config (AfConfig *config, const char *name, AfSandboxConfig *cfg, GError **error)
{
  const char *runtime = af_config_get_string (config, "exec", "runtime");
  const char *ws = af_config_get_string (config, "exec", "workspace");
  gint64 uid = af_config_get_int (config, "exec", "uid");

  memset (cfg, 0, sizeof *cfg);
  if (g_str_equal (runtime, "bwrap")) {
    cfg->kind = AF_RUNTIME_BWRAP;
  } else if (g_str_equal (runtime, "docker")) {
    cfg->kind = AF_RUNTIME_DOCKER;
  } else {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT,
                 "--runtime must be bwrap or docker, not \"%s\"", runtime);
    return FALSE;
  }
  if (ws == NULL || ws[0] == '\0') {
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "--workspace DIR is required");
    return FALSE;
  }
  if (!g_file_test (ws, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, AF_ERROR, AF_ERROR_NOT_FOUND, "workspace %s is not a directory", ws);
    return FALSE;
  }
  cfg->init_path = af_exec_find_init (config, error);
  if (cfg->init_path == NULL)
    return FALSE;
  cfg->name = g_strdup (name);
  cfg->workspace = g_strdup (ws);
  cfg->image = g_strdup (af_config_get_string (config, "exec", "image"));
  cfg->cgroup_parent = g_strdup (af_config_get_string (config, "exec", "cgroup_parent"));
  cfg->limits.memory_bytes = af_config_get_int (config, "exec", "memory");
  cfg->limits.cpu_quota_us = af_config_get_int (config, "exec", "cpu_quota");
  cfg->limits.cpu_shares = af_config_get_int (config, "exec", "cpu_shares");
  cfg->limits.pids = af_config_get_int (config, "exec", "pids");
  cfg->network = af_config_get_bool (config, "exec", "network");
  cfg->tmp_size = af_config_get_int (config, "exec", "tmp_size");

  if (uid == 0 && geteuid () == 0) {
    /* One uid per sandbox, so two sandboxes never share file ownership or
     * signal rights. Derived from the name: the same sandbox gets the
     * same uid after a restart. */
    gint64 base = af_config_get_int (config, "exec", "uid_base");
    uid = base + (gint64)(g_str_hash (name) % AF_EXEC_UID_RANGE);
  } else if (uid == 0) {
    uid = geteuid ();
  } else if (geteuid () != 0 && uid != (gint64)geteuid ()) {
    g_set_error (error, AF_ERROR, AF_ERROR_PERMISSION_DENIED,
                 "--uid needs root (af-exec runs as uid %u)", (guint)geteuid ());
    return FALSE;
  }
  cfg->host_uid = (uid_t)uid;
  cfg->host_gid = (gid_t)uid;
  return TRUE;
}
