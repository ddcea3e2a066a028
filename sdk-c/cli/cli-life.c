/* cli-life.c — the life of a throwaway sandbox for `run` and `shell`:
 * upload a directory and create the sandbox, hand it to the verb's body,
 * then destroy the sandbox and its codebase, whatever happened.
 *
 * The main thread runs a GLib main loop that owns the signals: the upload
 * and creation go through af_sandbox_from_local_async(), and SIGINT,
 * SIGTERM and SIGHUP cancel whatever is in progress (the body may take
 * SIGINT for itself, as the shell does); the cleanup then runs as usual
 * and the tool exits 128+signal. A second signal during the cleanup ends
 * the tool at once and names what it leaves behind.
 *
 * Owns: the sandbox and the codebase the verb created. Must never: return
 * with them still on the server (unless --keep, or cleanup failed, which
 * is reported with their ids). */
#include "cli.h"

#include <glib-unix.h>
#include <signal.h>
#include <unistd.h>

struct _CliLife {
  CliContext *cli;
  GMainLoop *loop;
  GCancellable *cancel; /* the upload, and what the body runs */
  AfSandbox *sandbox;   /* owned once created */
  CliProgress *progress;
  gboolean keep;
  CliLifeBody body;
  CliLifeInterrupt interrupt;
  gpointer data;
  int status;
  int signal; /* the first signal that ends the life, 0 for none */
  gboolean cleaning;
};

AfSandbox *
cli_life_get_sandbox (CliLife *life)
{
  return life->sandbox;
}

GCancellable *
cli_life_get_cancellable (CliLife *life)
{
  return life->cancel;
}

int
cli_life_get_signal (CliLife *life)
{
  return life->signal;
}

static void
on_progress (const AfLocalFile *file, guint files_done, gint64 bytes_done, gpointer user_data)
{
  cli_progress_update (user_data, files_done, bytes_done);
}

/* The bar needs the totals before the first file: the same walk the
 * library does, done once more (only when a terminal shows the bar). */
static CliProgress *
progress_for (CliContext *cli, const char *dir)
{
  if (cli->json || !isatty (STDERR_FILENO))
    return NULL;
  g_autoptr (AfLocalTree) tree = af_local_tree_new (dir, NULL);
  if (tree == NULL || !af_local_tree_scan (tree, NULL, NULL))
    return NULL;
  return cli_progress_new (cli, "uploading", af_local_tree_get_files (tree)->len,
                           af_local_tree_get_total_size (tree));
}

static void
report_left_behind (CliLife *life, const char *verb)
{
  if (life->sandbox == NULL)
    return;
  g_autofree char *sb = cli_escape (af_sandbox_get_id (life->sandbox));
  g_autofree char *cb = cli_escape (af_sandbox_get_codebase_id (life->sandbox));
  g_printerr ("%s: %s sandbox %s, codebase %s\n", life->cli->prog, verb, sb, cb);
}

static void
handle_signal (CliLife *life, int signum)
{
  if (life->signal != 0 || life->cleaning) {
    /* Asked twice: stop waiting for the server. */
    g_printerr ("\n%s: interrupted again, not cleaning up\n", life->cli->prog);
    report_left_behind (life, "left on the server:");
    _exit (128 + signum);
  }
  if (life->interrupt != NULL && life->sandbox != NULL &&
      life->interrupt (life, signum, life->data))
    return;
  life->signal = signum;
  g_printerr ("\n%s: interrupted, cleaning up (again to quit at once)\n", life->cli->prog);
  g_cancellable_cancel (life->cancel);
}

static gboolean
on_sigint (gpointer user_data)
{
  handle_signal (user_data, SIGINT);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigterm (gpointer user_data)
{
  handle_signal (user_data, SIGTERM);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sighup (gpointer user_data)
{
  handle_signal (user_data, SIGHUP);
  return G_SOURCE_CONTINUE;
}

static void
on_destroyed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CliLife *life = user_data;
  g_autoptr (GError) error = NULL;
  if (!af_sandbox_destroy_finish (AF_SANDBOX (source), result, &error)) {
    g_autofree char *message = cli_escape (error->message);
    g_printerr ("%s: cleaning up failed: %s\n", life->cli->prog, message);
    report_left_behind (life, "left on the server:");
    if (life->status == 0)
      life->status = CLI_EXIT_COMMAND_TOOL;
  }
  g_main_loop_quit (life->loop);
}

void
cli_life_finish (CliLife *life, int status)
{
  life->status = life->signal != 0 ? 128 + life->signal : status;
  life->cleaning = TRUE;
  if (life->keep && life->signal == 0) {
    report_left_behind (life, "kept");
    af_sandbox_detach (life->sandbox);
    g_main_loop_quit (life->loop);
    return;
  }
  /* Not cancellable: a second signal exits instead. */
  af_sandbox_destroy_async (life->sandbox, AF_DELETE_CODEBASE_YES, NULL, on_destroyed, life);
}

static void
on_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CliLife *life = user_data;
  g_autoptr (GError) error = NULL;
  life->sandbox = af_sandbox_from_local_finish (result, &error);
  g_clear_pointer (&life->progress, cli_progress_finish);
  if (life->sandbox == NULL) {
    /* Nothing is left on the server after a failed or cancelled create. */
    life->status = life->signal != 0 ? 128 + life->signal : cli_fail (life->cli, error);
    g_main_loop_quit (life->loop);
    return;
  }
  GPtrArray *skipped = af_sandbox_get_skipped (life->sandbox);
  for (guint i = 0; !life->cli->json && skipped != NULL && i < skipped->len; i++) {
    const AfLocalFile *file = skipped->pdata[i];
    g_autofree char *path = cli_escape (af_local_file_get_path (file));
    g_printerr ("skipped %s (%s)\n", path, cli_skip_reason (af_local_file_get_status (file)));
  }
  if (life->signal != 0) {
    cli_life_finish (life, 0);
    return;
  }
  life->body (life, life->data);
}

int
cli_life_run (CliContext *cli, const char *dir, AfSandboxOptions *options, gboolean keep,
              CliLifeBody body, CliLifeInterrupt interrupt, gpointer data)
{
  /* A closed stdout must end the stream with an error, not kill us before
   * the cleanup. */
  signal (SIGPIPE, SIG_IGN);
  g_autoptr (GError) client_error = NULL;
  g_autoptr (AfClient) client = cli_client_new (cli, &client_error);
  if (client == NULL)
    return cli_fail (cli, client_error);
  af_sandbox_options_set_client (options, client);

  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  CliLife life = { .cli = cli,
                   .loop = loop,
                   .cancel = cancel,
                   .keep = keep,
                   .body = body,
                   .interrupt = interrupt,
                   .data = data };
  guint sources[] = { g_unix_signal_add (SIGINT, on_sigint, &life),
                      g_unix_signal_add (SIGTERM, on_sigterm, &life),
                      g_unix_signal_add (SIGHUP, on_sighup, &life) };

  life.progress = progress_for (cli, dir);
  if (life.progress != NULL)
    af_sandbox_options_set_upload_progress (options, on_progress, life.progress, NULL);
  af_sandbox_from_local_async (dir, options, cancel, on_created, &life);
  g_main_loop_run (loop);

  for (gsize i = 0; i < G_N_ELEMENTS (sources); i++)
    g_source_remove (sources[i]);
  g_clear_object (&life.sandbox);
  return life.status;
}
