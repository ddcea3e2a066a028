/* affs-session.c — the filesystem's life: opening the layer roots, the
 * libfuse session (capabilities, mount, the multi-threaded loop on its own
 * thread), and a clean stop.
 *
 * Owns: AfFs creation and teardown, the fd budget, the kernel caching
 * choices (each explained where it is made).
 *
 * Must never: run the loop on the GLib main thread (D-Bus and signals live
 * there), or leave the mount behind on a clean stop. */
#include "affs-session.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "af-error.h"
#include "affs-ops.h"

/* fds kept back from the handle budget: loop threads (each may hold a few
 * transiently), D-Bus, copy-up and commit temporaries, stdio. */
#define AFFS_FD_RESERVE 256

static int
open_dir (const char *path, GError **error)
{
  int fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    g_set_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT, "%s: %s", path, g_strerror (errno));
  return fd;
}

static gboolean
ensure_dir (const char *path, GError **error)
{
  if (mkdir (path, 0700) < 0 && errno != EEXIST) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "mkdir %s: %s", path, g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

AfFs *
affs_new (const char *source, const char *delta, GError **error)
{
  g_autoptr (GError) local = NULL;
  AfFs *fs = g_new0 (AfFs, 1);
  fs->src_fd = fs->upper_fd = fs->work_fd = -1;
  g_mutex_init (&fs->policy_lock);
  g_mutex_init (&fs->cache_lock);
  g_mutex_init (&fs->delta_lock);
  g_mutex_init (&fs->handles_lock);
  fs->handles = g_hash_table_new (NULL, NULL);
  fs->dir_handles = g_hash_table_new_full (NULL, NULL, affs_dir_handle_free, NULL);
  fs->lower_visible = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  fs->negatives = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  fs->reveals = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  fs->upper_dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  fs->dir_nlink = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  affs_inodes_init (fs);
  fs->timeout = 600.0;
  fs->threads = 1;
  fs->source_path = g_canonicalize_filename (source, NULL);
  fs->delta_path = g_canonicalize_filename (delta, NULL);
  g_autofree char *upper = g_build_filename (fs->delta_path, "upper", NULL);
  g_autofree char *work = g_build_filename (fs->delta_path, "work", NULL);
  fs->src_fd = open_dir (fs->source_path, &local);
  if (fs->src_fd >= 0 && ensure_dir (fs->delta_path, &local) && ensure_dir (upper, &local) &&
      ensure_dir (work, &local)) {
    fs->upper_fd = open_dir (upper, &local);
    if (fs->upper_fd >= 0)
      fs->work_fd = open_dir (work, &local);
  }
  if (local == NULL && fs->work_fd >= 0)
    (void)affs_marks_init (fs, &local);
  if (local != NULL) {
    g_propagate_error (error, g_steal_pointer (&local));
    affs_free (fs);
    return NULL;
  }
  /* Temporaries left by a crash are garbage: nothing refers to them. */
  (void)affs_remove_tree (fs->work_fd, "");

  /* The fd budget: raise the soft limit to the hard one (all we may do
   * without CAP_SYS_RESOURCE) and keep a reserve for everything that is
   * not an open handle. Inodes hold no fds, so the tree size is irrelevant. */
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit (RLIMIT_NOFILE, &rl);
    getrlimit (RLIMIT_NOFILE, &rl);
  }
  fs->max_handles = (int)MAX ((rlim_t)16, MIN (rl.rlim_cur, (rlim_t)1 << 20) - AFFS_FD_RESERVE);
  return fs;
}

void
affs_free (AfFs *fs)
{
  if (fs == NULL)
    return;
  if (fs->src_fd >= 0)
    close (fs->src_fd);
  if (fs->upper_fd >= 0)
    close (fs->upper_fd);
  if (fs->work_fd >= 0)
    close (fs->work_fd);
  /* Handles whose release never arrived (the mount ended first). */
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, fs->handles);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    AffsHandle *h = key;
    affs_io_release (fs, h);
    if (h->fd >= 0)
      close (h->fd);
    g_free (h);
  }
  g_hash_table_unref (fs->handles);
  g_hash_table_unref (fs->dir_handles);
  g_mutex_clear (&fs->handles_lock);
  affs_inodes_clear (fs);
  g_clear_pointer (&fs->lower_visible, g_hash_table_unref);
  g_clear_pointer (&fs->reveals, g_hash_table_unref);
  g_clear_pointer (&fs->upper_dirs, g_hash_table_unref);
  g_clear_pointer (&fs->dir_nlink, g_hash_table_unref);
  g_clear_pointer (&fs->negatives, g_hash_table_unref);
  g_clear_pointer (&fs->policy, af_policy_unref);
  g_mutex_clear (&fs->policy_lock);
  g_mutex_clear (&fs->cache_lock);
  g_mutex_clear (&fs->delta_lock);
  g_free (fs->source_path);
  g_free (fs->delta_path);
  g_free (fs->mountpoint);
  g_free (fs->fusermount_path);
  g_free (fs->sandbox_id);
  g_free (fs);
}

static void
op_init (void *userdata, struct fuse_conn_info *conn)
{
  /* O_TRUNC arrives with open, so a refused open truncates nothing. */
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
    conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  /* Listings come with attributes (one round-trip for ls -l / find), and
   * always: the adaptive mode would fall back to per-entry lookups. */
  if (conn->capable & FUSE_CAP_READDIRPLUS)
    conn->want |= FUSE_CAP_READDIRPLUS;
  conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
  /* A read through the page cache first refreshes expired attributes, and
   * a changed size or mtime drops the cached pages: what keeps the names
   * of a hard-linked file (attributes never cached) coherent. */
  if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
    conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
  /* Symlink targets are cached in the page cache; a rule change drops
   * them (inval_inode), so a read symlink turned view is not served. */
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
    conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  /* Reads reply by splicing from the backing fd: no copy through us. */
  if (conn->capable & FUSE_CAP_SPLICE_WRITE)
    conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
  /* No writeback cache: every write must reach us with its opener's
   * context so the level can be decided again; O_APPEND stays atomic. */
  conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
  /* Large requests: fewer round-trips for sequential I/O (libfuse sizes
   * its buffers for 1 MiB plus header). */
  conn->max_write = 1 << 20;
  conn->max_readahead = 1 << 20;
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  /* libfuse 3.14 cannot ask for passthrough: our I/O wrapper patches the
   * reply this thread sends next (affs-passthrough.c). Passthrough and
   * the writeback cache exclude each other; we never want the latter. */
  affs_passthrough_arm_init ();
}

static gpointer
loop_thread (gpointer data)
{
  AfFs *fs = data;
  AffsSession *s = fs->session;
  s->tid = pthread_self ();
  g_atomic_int_set (&s->tid_valid, 1);
  struct fuse_loop_config *cfg = fuse_loop_cfg_create ();
  /* A fixed pool (idle = max): libfuse otherwise ends and starts threads
   * between bursts of small requests. One worker by default: the kernel
   * hands each request to the waiter that has slept longest, so with N
   * idle workers every request wakes a cold thread, while a single worker
   * often finds the next request (an asynchronous release, the next open)
   * already queued. Measured over grep -r of 20,000 files here: the
   * daemon's CPU time roughly halves with 1 worker against 16, and the
   * sandbox's own processes get that CPU back. No handler waits for
   * another request, so one worker cannot deadlock; --threads raises it
   * for parallel workloads on many cores. */
  int n = CLAMP (fs->threads, 1, 64);
  fuse_loop_cfg_set_max_threads (cfg, (unsigned)n);
  fuse_loop_cfg_set_idle_threads (cfg, (unsigned)n);
  s->loop_result = fuse_session_loop_mt (fs->se, cfg);
  fuse_loop_cfg_destroy (cfg);
  if (s->on_exit != NULL)
    g_main_context_invoke (s->context, s->on_exit, s->on_exit_data);
  return NULL;
}

static void
wake_handler (int sig)
{
}

gboolean
affs_session_mount (AfFs *fs, const char *mountpoint, gboolean allow_other, GError **error)
{
  struct fuse_lowlevel_ops ops = { 0 };
  ops.init = op_init;
  affs_ops_meta (&ops);
  affs_ops_dir (&ops);
  affs_ops_file (&ops);
  affs_ops_ns (&ops);

  g_autofree char *opts =
      g_strdup_printf ("fsname=agentfense,subtype=agentfense%s", allow_other ? ",allow_other" : "");
  char *argv[] = { (char *)"af-fuse", (char *)"-o", opts, NULL };
  struct fuse_args args = FUSE_ARGS_INIT (3, argv);
  fs->se = fuse_session_new (&args, &ops, sizeof ops, fs);
  fuse_opt_free_args (&args);
  if (fs->se == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot create the FUSE session");
    return FALSE;
  }
  /* Without root, fusermount3 mounts (affs-rootless.c) and the session
   * takes the /dev/fuse fd it hands back. */
  g_autofree char *fdpath = NULL;
  if (geteuid () != 0) {
    g_autoptr (GError) local = NULL;
    int fd = affs_fusermount_mount (fs, mountpoint, opts, &local);
    if (fd < 0) {
      fuse_session_destroy (fs->se);
      fs->se = NULL;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
    fdpath = g_strdup_printf ("/dev/fd/%d", fd);
  }
  if (fuse_session_mount (fs->se, fdpath ? fdpath : mountpoint) != 0) {
    fuse_session_destroy (fs->se);
    fs->se = NULL;
    g_set_error (error, AF_ERROR, AF_ERROR_FAILED_PRECONDITION, "cannot mount on %s", mountpoint);
    return FALSE;
  }
  /* Passthrough needs CAP_SYS_ADMIN for its backing files: as root only.
   * Without root the session keeps libfuse's own I/O. */
  if (geteuid () == 0 && fs->passthrough_min_size >= 0 && !affs_passthrough_install (fs))
    g_message ("passthrough: cannot wrap the session's I/O; off");
  else if (fs->verbose && fs->passthrough_min_size < 0)
    g_debug ("passthrough: off (--no-passthrough)");
  else if (fs->verbose && geteuid () != 0)
    g_debug ("passthrough: off (backing files need CAP_SYS_ADMIN: root only)");
  fs->mountpoint = g_strdup (mountpoint);
  return TRUE;
}

void
affs_session_start (AfFs *fs, GSourceFunc on_exit, gpointer data)
{
  AffsSession *s = g_new0 (AffsSession, 1);
  s->context = g_main_context_ref_thread_default ();
  s->on_exit = on_exit;
  s->on_exit_data = data;
  fs->session = s;
  /* SIGUSR1 only interrupts the loop's wait (see affs_session_stop). */
  struct sigaction sa = { 0 };
  sa.sa_handler = wake_handler;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGUSR1, &sa, NULL);
  s->thread = g_thread_new ("fuse-loop", loop_thread, fs);
}

void
affs_session_stop (AfFs *fs)
{
  AffsSession *s = fs->session;
  if (s == NULL || s->stopping)
    return;
  s->stopping = TRUE;
  /* The loop's main thread waits in sem_wait, which a signal interrupts
   * (never restarted); it then sees the exit flag and cancels the workers. */
  fuse_session_exit (fs->se);
  if (g_atomic_int_get (&s->tid_valid))
    pthread_kill (s->tid, SIGUSR1);
}

void
affs_session_finish (AfFs *fs)
{
  AffsSession *s = fs->session;
  if (s != NULL) {
    g_thread_join (s->thread);
    g_main_context_unref (s->context);
    g_free (s);
    fs->session = NULL;
  }
  if (fs->se != NULL) {
    fuse_session_unmount (fs->se);
    affs_fusermount_unmount (fs);
    fuse_session_destroy (fs->se);
    fs->se = NULL;
  }
}
