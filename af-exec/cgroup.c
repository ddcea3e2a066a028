/* cgroup.c — see cgroup.h. Files are written with plain open/write: each
 * is a single small value, and the kernel answers synchronously. */
#define _GNU_SOURCE
#include "cgroup-private.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <linux/magic.h>

#include "af-error.h"

/* Processes the init may need besides the commands' own pids limit. */
#define INIT_PIDS_HEADROOM 8

static gboolean
is_fs (const char *path, long magic)
{
  struct statfs st;
  return statfs (path, &st) == 0 && (long)st.f_type == magic;
}

static const char *
v1_dir (const char *controller)
{
  /* Debian mounts cpu and cpuacct separately; others co-mount them. */
  static const char *const cpu_names[] = { CG_ROOT "/cpu", CG_ROOT "/cpu,cpuacct" };
  if (g_str_equal (controller, "cpu")) {
    for (gsize i = 0; i < G_N_ELEMENTS (cpu_names); i++)
      if (is_fs (cpu_names[i], CGROUP_SUPER_MAGIC))
        return cpu_names[i];
    return NULL;
  }
  if (g_str_equal (controller, "memory"))
    return is_fs (CG_ROOT "/memory", CGROUP_SUPER_MAGIC) ? CG_ROOT "/memory" : NULL;
  if (g_str_equal (controller, "pids"))
    return is_fs (CG_ROOT "/pids", CGROUP_SUPER_MAGIC) ? CG_ROOT "/pids" : NULL;
  return NULL;
}

AfCgroupMode
af_cgroup_detect (void)
{
  if (is_fs (CG_ROOT, CGROUP2_SUPER_MAGIC))
    return access (CG_ROOT, W_OK) == 0 ? AF_CGROUP_MODE_V2 : AF_CGROUP_MODE_NONE;
  if (is_fs (CG_ROOT "/unified", CGROUP2_SUPER_MAGIC) && access (CG_ROOT "/unified", W_OK) == 0)
    return AF_CGROUP_MODE_HYBRID;
  if (v1_dir ("pids") && access (v1_dir ("pids"), W_OK) == 0)
    return AF_CGROUP_MODE_V1;
  return AF_CGROUP_MODE_NONE;
}

const char *
af_cgroup_mode_name (AfCgroupMode mode)
{
  switch (mode) {
  case AF_CGROUP_MODE_V2:
    return "v2";
  case AF_CGROUP_MODE_HYBRID:
    return "hybrid";
  case AF_CGROUP_MODE_V1:
    return "v1";
  case AF_CGROUP_MODE_NONE:
  default:
    return "none";
  }
}

char *
af_cgroup_describe (AfCgroupMode mode)
{
  GString *s = g_string_new (af_cgroup_mode_name (mode));
  const char *ctrls[] = { "memory", "pids", "cpu" };
  gboolean first = TRUE;

  switch (mode) {
  case AF_CGROUP_MODE_V2:
    g_string_append (s, " (memory, pids, cpu and command tracking in " CG_ROOT ")");
    break;
  case AF_CGROUP_MODE_HYBRID:
  case AF_CGROUP_MODE_V1:
    g_string_append (s, " (v1 controllers ");
    for (gsize i = 0; i < G_N_ELEMENTS (ctrls); i++)
      if (v1_dir (ctrls[i])) {
        g_string_append_printf (s, "%s%s", first ? "" : ",", ctrls[i]);
        first = FALSE;
      }
    g_string_append (s, mode == AF_CGROUP_MODE_HYBRID ? "; commands tracked in v2 unified)"
                                                      : "; commands tracked in v1 pids)");
    break;
  case AF_CGROUP_MODE_NONE:
  default:
    g_string_append (s, " (no writable cgroups: no limits)");
    break;
  }
  return g_string_free (s, FALSE);
}

char *
af_cgroup_limits_available (AfCgroupMode mode)
{
  GString *s = g_string_new (NULL);
  if (mode == AF_CGROUP_MODE_V2) {
    g_string_append (s, "memory pids cpu-quota cpu-shares");
  } else if (mode != AF_CGROUP_MODE_NONE) {
    if (v1_dir ("memory"))
      g_string_append (s, "memory ");
    if (v1_dir ("pids"))
      g_string_append (s, "pids ");
    if (v1_dir ("cpu"))
      g_string_append (s, "cpu-quota cpu-shares");
  }
  g_strchomp (s->str);
  if (s->str[0] == '\0')
    g_string_assign (s, "none");
  return g_string_free (s, FALSE);
}

static gboolean
write_file (const char *dir, const char *file, const char *value, GError **error)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  size_t len = strlen (value);
  ssize_t n;
  int saved;

  if (fd < 0) {
    saved = errno;
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "cannot open %s: %s", path,
                 g_strerror (saved));
    return FALSE;
  }
  n = write (fd, value, len);
  saved = errno;
  close (fd);
  if (n != (ssize_t)len) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "cannot write \"%s\" to %s: %s",
                 value, path, n < 0 ? g_strerror (saved) : "short write");
    return FALSE;
  }
  return TRUE;
}

char *
af_cgroup_read_file (const char *dir, const char *file)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  char *contents = NULL;
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return contents;
}

/* The value of "key N" in a flat-keyed file (memory.events, oom_control). */
gint64
af_cgroup_read_keyed (const char *dir, const char *file, const char *key)
{
  g_autofree char *text = af_cgroup_read_file (dir, file);
  g_auto (GStrv) lines = NULL;
  gsize klen = strlen (key);

  if (text == NULL)
    return -1;
  lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    if (strncmp (*l, key, klen) == 0 && (*l)[klen] == ' ')
      return g_ascii_strtoll (*l + klen + 1, NULL, 10);
  return -1;
}

static gboolean
make_dir (AfCgroup *cg, const char *path, GError **error)
{
  if (mkdir (path, 0755) < 0 && errno != EEXIST) {
    int saved = errno;
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "cannot create cgroup %s: %s", path,
                 g_strerror (saved));
    return FALSE;
  }
  g_ptr_array_add (cg->dirs, g_strdup (path));
  return TRUE;
}

/* mkdir -p below @root for "parent/name[/sub]"; records what it created. */
static char *
make_tree (AfCgroup *cg, const char *root, const char *parent, const char *name, const char *sub,
           GError **error)
{
  g_autofree char *p1 = g_build_filename (root, parent, NULL);
  g_autofree char *p2 = g_build_filename (p1, name, NULL);
  char *p3 = sub ? g_build_filename (p2, sub, NULL) : NULL;

  /* The shared parent is never removed: other sandboxes live in it. */
  if (mkdir (p1, 0755) < 0 && errno != EEXIST) {
    int saved = errno;
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "cannot create cgroup %s: %s", p1,
                 g_strerror (saved));
    g_free (p3);
    return NULL;
  }
  if (!make_dir (cg, p2, error) || (p3 && !make_dir (cg, p3, error))) {
    g_free (p3);
    return NULL;
  }
  return p3 ? p3 : g_steal_pointer (&p2);
}

int
af_cgroup_open_procs (const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "cgroup.procs", NULL);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    int saved = errno;
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "cannot open %s: %s", path,
                 g_strerror (saved));
  }
  return fd;
}

static gboolean
apply_v1_limits (AfCgroup *cg, const AfLimits *l, GError **error)
{
  char buf[32];

  if (l->memory_bytes > 0) {
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, l->memory_bytes);
    if (!write_file (cg->mem_cmds, "memory.limit_in_bytes", buf, error))
      return FALSE;
  }
  if (l->pids > 0) {
    g_autofree char *pids_cmds = g_build_filename (cg->pids_sb, "cmds", NULL);
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, l->pids + INIT_PIDS_HEADROOM);
    if (!write_file (cg->pids_sb, "pids.max", buf, error))
      return FALSE;
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, l->pids);
    if (!write_file (pids_cmds, "pids.max", buf, error))
      return FALSE;
  }
  if (l->cpu_quota_us > 0) {
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, l->cpu_quota_us);
    if (!write_file (cg->cpu_sb, "cpu.cfs_period_us", "100000", error) ||
        !write_file (cg->cpu_sb, "cpu.cfs_quota_us", buf, error))
      return FALSE;
  }
  if (l->cpu_shares > 0) {
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, l->cpu_shares);
    if (!write_file (cg->cpu_sb, "cpu.shares", buf, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
apply_v2_limits (AfCgroup *cg, const AfLimits *l, GError **error)
{
  char buf[48];
  g_autofree char *cmds = g_build_filename (cg->track, "cmds", NULL);

  if (l->memory_bytes > 0) {
    cg->oom_counted = TRUE;
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, l->memory_bytes);
    if (!write_file (cmds, "memory.max", buf, error))
      return FALSE;
    write_file (cmds, "memory.swap.max", "0", NULL); /* absent without swap accounting */
  }
  if (l->pids > 0) {
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, l->pids + INIT_PIDS_HEADROOM);
    if (!write_file (cg->track, "pids.max", buf, error))
      return FALSE;
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, l->pids);
    if (!write_file (cmds, "pids.max", buf, error))
      return FALSE;
  }
  if (l->cpu_quota_us > 0) {
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT " 100000", l->cpu_quota_us);
    if (!write_file (cg->track, "cpu.max", buf, error))
      return FALSE;
  }
  if (l->cpu_shares > 0) {
    /* The conversion runc and systemd use from v1 shares [2, 262144]. */
    gint64 shares = CLAMP (l->cpu_shares, 2, 262144);
    g_snprintf (buf, sizeof buf, "%" G_GINT64_FORMAT, 1 + ((shares - 2) * 9999) / 262142);
    if (!write_file (cg->track, "cpu.weight", buf, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
has_limits (const AfLimits *l)
{
  return l && (l->memory_bytes > 0 || l->cpu_quota_us > 0 || l->cpu_shares > 0 || l->pids > 0);
}

static gboolean
setup_v2 (AfCgroup *cg, const char *parent, const char *name, const AfLimits *l, GError **error)
{
  g_autofree char *parent_dir = g_build_filename (CG_ROOT, parent, NULL);
  g_autofree char *init = NULL, *cmds = NULL;

  init = make_tree (cg, CG_ROOT, parent, name, "init", error);
  if (init == NULL)
    return FALSE;
  cg->track = g_build_filename (parent_dir, name, NULL);
  /* Controllers must be enabled top-down before the leaves get processes. */
  write_file (CG_ROOT, "cgroup.subtree_control", "+memory +pids +cpu", NULL);
  if (!write_file (parent_dir, "cgroup.subtree_control", "+memory +pids +cpu", error) ||
      !write_file (cg->track, "cgroup.subtree_control", "+memory +pids +cpu", error))
    return FALSE;
  cmds = g_build_filename (cg->track, "cmds", NULL);
  if (!make_dir (cg, cmds, error))
    return FALSE;
  cg->cmd_parent = g_strdup (cmds);
  cg->mem_cmds = g_strdup (cmds);
  cg->mem_sb = g_strdup (cg->track);
  cg->pids_sb = g_strdup (cg->track);
  cg->cpu_sb = g_strdup (cg->track);
  if ((cg->init_fds[cg->n_init_fds++] = af_cgroup_open_procs (init, error)) < 0)
    return FALSE;
  return apply_v2_limits (cg, l, error);
}

static gboolean
setup_v1_controllers (AfCgroup *cg, const char *parent, const char *name, const AfLimits *l,
                      GError **error)
{
  const char *mem = v1_dir ("memory"), *pids = v1_dir ("pids"), *cpu = v1_dir ("cpu");

  if (mem) {
    g_autofree char *c = make_tree (cg, mem, parent, name, "cmds", error);
    if (c == NULL)
      return FALSE;
    cg->mem_cmds = g_steal_pointer (&c);
    cg->mem_sb = g_path_get_dirname (cg->mem_cmds);
  }
  if (pids) {
    g_autofree char *c = make_tree (cg, pids, parent, name, "cmds", error);
    if (c == NULL)
      return FALSE;
    cg->pids_sb = g_path_get_dirname (c);
  }
  if (cpu) {
    cg->cpu_sb = make_tree (cg, cpu, parent, name, NULL, error);
    if (cg->cpu_sb == NULL)
      return FALSE;
  }
  if ((l->memory_bytes > 0 && !mem) || (l->pids > 0 && !pids) ||
      ((l->cpu_quota_us > 0 || l->cpu_shares > 0) && !cpu)) {
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                 "a requested limit has no cgroup v1 controller mounted here");
    return FALSE;
  }
  /* The init joins the sandbox level; commands the `cmds` children. */
  {
    const char *sb_dirs[] = { cg->mem_sb, cg->pids_sb, cg->cpu_sb };
    for (gsize i = 0; i < G_N_ELEMENTS (sb_dirs); i++)
      if (sb_dirs[i] &&
          (cg->init_fds[cg->n_init_fds++] = af_cgroup_open_procs (sb_dirs[i], error)) < 0)
        return FALSE;
  }
  cg->mem_limited = l->memory_bytes > 0;
  cg->oom_counted = cg->mem_limited && cg->mem_cmds != NULL;
  cg->pids_limited = l->pids > 0;
  if (cg->mem_cmds && cg->mem_limited &&
      (cg->shared_cmd_fds[cg->n_shared_cmd_fds++] = af_cgroup_open_procs (cg->mem_cmds, error)) < 0)
    return FALSE;
  return apply_v1_limits (cg, l, error);
}

/* Read a cgroup.procs file and send @sig to each pid; returns how many. */
guint
af_cgroup_signal_procs (const char *dir, int sig)
{
  g_autofree char *text = af_cgroup_read_file (dir, "cgroup.procs");
  guint n = 0;
  char *p, *end;

  if (text == NULL)
    return 0;
  for (p = text; *p; p = end) {
    gint64 pid = g_ascii_strtoll (p, &end, 10);
    if (end == p)
      break;
    if (pid > 0 && kill ((pid_t)pid, sig) == 0)
      n++;
    while (*end == '\n')
      end++;
  }
  return n;
}

/* Remove @dir and its children, deepest first, killing what is left. */
static void
remove_tree (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *n;

  while (d && (n = g_dir_read_name (d))) {
    g_autofree char *child = g_build_filename (dir, n, NULL);
    if (g_file_test (child, G_FILE_TEST_IS_DIR))
      remove_tree (child);
  }
  for (int round = 0; round < 100 && af_cgroup_signal_procs (dir, SIGKILL) > 0; round++)
    ;
  rmdir (dir);
}

/* Sandboxes without an id are named oneshot-<pid> or sandbox-<pid> (the
 * af-exec's pid); one whose af-exec died by SIGKILL left its cgroups
 * behind. Sweep those of dead processes, and any left under our own name. */
static void
sweep_stale (const char *parent, const char *name)
{
  const char *roots[] = { CG_ROOT, CG_ROOT "/unified", v1_dir ("memory"), v1_dir ("pids"),
                          v1_dir ("cpu") };

  for (gsize i = 0; i < G_N_ELEMENTS (roots); i++) {
    g_autofree char *base = NULL;
    g_autoptr (GDir) d = NULL;
    const char *n;

    if (roots[i] == NULL)
      continue;
    base = g_build_filename (roots[i], parent, NULL);
    {
      /* Our own name left by an af-exec of this sandbox that was killed:
       * its command cgroups would collide with ours. */
      g_autofree char *own = g_build_filename (base, name, NULL);
      if (g_file_test (own, G_FILE_TEST_IS_DIR))
        remove_tree (own);
    }
    d = g_dir_open (base, 0, NULL);
    while (d && (n = g_dir_read_name (d))) {
      g_autofree char *dir = NULL;
      int pid;
      if (g_str_has_prefix (n, "oneshot-"))
        pid = atoi (n + 8);
      else if (g_str_has_prefix (n, "sandbox-"))
        pid = atoi (n + 8);
      else
        continue;
      if (pid <= 0 || kill (pid, 0) == 0 || errno != ESRCH)
        continue;
      dir = g_build_filename (base, n, NULL);
      remove_tree (dir);
    }
  }
}

AfCgroup *
af_cgroup_new (const char *parent, const char *name, const AfLimits *limits, GError **error)
{
  g_autoptr (AfCgroup) cg = g_new0 (AfCgroup, 1);
  AfLimits none = { 0 };
  const AfLimits *l = limits ? limits : &none;

  cg->mode = af_cgroup_detect ();
  cg->dirs = g_ptr_array_new_with_free_func (g_free);
  cg->n_shared_cmd_fds = 0;
  if (cg->mode != AF_CGROUP_MODE_NONE)
    sweep_stale (parent, name);

  switch (cg->mode) {
  case AF_CGROUP_MODE_NONE:
    if (has_limits (l)) {
      g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION,
                   "resource limits need writable cgroups, and none are available here");
      return NULL;
    }
    return g_steal_pointer (&cg);
  case AF_CGROUP_MODE_V2:
    if (!setup_v2 (cg, parent, name, l, error))
      return NULL;
    return g_steal_pointer (&cg);
  case AF_CGROUP_MODE_HYBRID: {
    g_autofree char *init = make_tree (cg, CG_ROOT "/unified", parent, name, "init", error);
    if (init == NULL)
      return NULL;
    cg->track = g_path_get_dirname (init);
    cg->cmd_parent = g_strdup (cg->track);
    if ((cg->init_fds[cg->n_init_fds++] = af_cgroup_open_procs (init, error)) < 0)
      return NULL;
    if (!setup_v1_controllers (cg, parent, name, l, error))
      return NULL;
    return g_steal_pointer (&cg);
  }
  case AF_CGROUP_MODE_V1:
  default:
    if (!setup_v1_controllers (cg, parent, name, l, error))
      return NULL;
    /* Without a v2 tree, the pids hierarchy tracks commands. */
    cg->track = g_strdup (cg->pids_sb);
    cg->cmd_parent = g_build_filename (cg->pids_sb, "cmds", NULL);
    return g_steal_pointer (&cg);
  }
}

AfCgroup *
af_cgroup_new_for_pid (int pid, GError **error)
{
  g_autoptr (AfCgroup) cg = g_new0 (AfCgroup, 1);
  g_autofree char *path = g_strdup_printf ("/proc/%d/cgroup", pid);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  const char *v2 = NULL, *mem = NULL, *pids = NULL;

  cg->mode = af_cgroup_detect ();
  cg->dirs = g_ptr_array_new_with_free_func (g_free);
  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    g_auto (GStrv) f = g_strsplit (*l, ":", 3);
    if (g_strv_length (f) != 3)
      continue;
    if (g_str_equal (f[0], "0") && f[1][0] == '\0')
      v2 = strstr (*l, "::") + 2;
    else if (strstr (f[1], "memory"))
      mem = strchr (strchr (*l, ':') + 1, ':') + 1;
    else if (g_str_equal (f[1], "pids"))
      pids = strchr (strchr (*l, ':') + 1, ':') + 1;
  }
  switch (cg->mode) {
  case AF_CGROUP_MODE_V2:
    if (v2 == NULL)
      break;
    cg->track = g_build_filename (CG_ROOT, v2, NULL);
    cg->mem_cmds = g_strdup (cg->track);
    break;
  case AF_CGROUP_MODE_HYBRID:
    if (v2 == NULL)
      break;
    cg->track = g_build_filename (CG_ROOT "/unified", v2, NULL);
    if (mem && v1_dir ("memory"))
      cg->mem_cmds = g_build_filename (v1_dir ("memory"), mem, NULL);
    break;
  case AF_CGROUP_MODE_V1:
    if (pids == NULL || v1_dir ("pids") == NULL)
      break;
    cg->track = g_build_filename (v1_dir ("pids"), pids, NULL);
    if (mem && v1_dir ("memory"))
      cg->mem_cmds = g_build_filename (v1_dir ("memory"), mem, NULL);
    break;
  case AF_CGROUP_MODE_NONE:
  default:
    break;
  }
  if (cg->track == NULL) {
    cg->mode = AF_CGROUP_MODE_NONE;
  } else {
    cg->adopted = TRUE;
    cg->cmd_parent = g_strdup (cg->track);
    cg->mem_sb = g_strdup (cg->mem_cmds);
    cg->oom_counted = cg->mem_cmds != NULL;
    if (cg->mode == AF_CGROUP_MODE_V2)
      cg->pids_sb = g_strdup (cg->track);
    else if (pids && v1_dir ("pids"))
      cg->pids_sb = g_build_filename (v1_dir ("pids"), pids, NULL);
  }
  return g_steal_pointer (&cg);
}

AfCgroupMode
af_cgroup_get_mode (AfCgroup *cg)
{
  return cg->mode;
}

const int *
af_cgroup_init_fds (AfCgroup *cg, int *n_fds)
{
  *n_fds = cg->n_init_fds;
  return cg->init_fds;
}

void
af_cgroup_kill_dir (AfCgroup *cg, const char *dir)
{
  if (cg->mode == AF_CGROUP_MODE_V2 || cg->mode == AF_CGROUP_MODE_HYBRID) {
    if (write_file (dir, "cgroup.kill", "1", NULL))
      return;
  }
  /* v1 (or a kernel before 5.14): kill until nothing answers. A fork bomb
   * is bounded by pids.max, so this ends. */
  for (int round = 0; round < 1000 && af_cgroup_signal_procs (dir, SIGKILL) > 0; round++)
    ;
}

void
af_cgroup_kill_all (AfCgroup *cg)
{
  if (cg->track)
    af_cgroup_kill_dir (cg, cg->track);
}

void
af_cgroup_free (AfCgroup *cg)
{
  if (cg == NULL)
    return;
  af_cgroup_drop_spare (cg);
  if (cg->track)
    af_cgroup_kill_dir (cg, cg->track);
  for (int i = 0; i < cg->n_init_fds; i++)
    if (cg->init_fds[i] >= 0)
      close (cg->init_fds[i]);
  for (int i = 0; i < cg->n_shared_cmd_fds; i++)
    if (cg->shared_cmd_fds[i] >= 0)
      close (cg->shared_cmd_fds[i]);
  /* rmdir fails with EBUSY while a killed process is still exiting: wait
   * for the emptiness event of each directory (one shared deadline). A v1
   * directory (no cgroup.events) is waited on through its processes'
   * pidfds; the tracking tree emptied first, so those are gone already. */
  {
    gint64 deadline = g_get_monotonic_time () + AF_CGROUP_RMDIR_WAIT_US;
    for (guint i = cg->dirs ? cg->dirs->len : 0; i > 0; i--)
      af_cgroup_rmdir_when_empty (g_ptr_array_index (cg->dirs, i - 1), -1, FALSE, deadline);
  }
  g_clear_pointer (&cg->dirs, g_ptr_array_unref);
  g_free (cg->track);
  g_free (cg->cmd_parent);
  g_free (cg->mem_cmds);
  g_free (cg->mem_sb);
  g_free (cg->pids_sb);
  g_free (cg->cpu_sb);
  g_free (cg);
}
