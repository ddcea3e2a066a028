/* cli-progress.c — the upload progress bar: one line on standard error,
 * redrawn in place, only when standard error is a terminal.
 *
 * Owns: deciding whether a bar is shown, its layout and redraw rate. Must
 * never: write anything when standard error is not a terminal (scripts
 * and logs get no carriage returns), or write to standard output. */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Redraws closer together than this are skipped (the last one is always
 * drawn): a tree of small files would otherwise spend its time drawing. */
#define REDRAW_INTERVAL_US (G_USEC_PER_SEC / 20)

struct _CliProgress {
  char *label;
  guint total_files;
  gint64 total_bytes;
  gint64 last_draw_us;
  gboolean drawn;
};

CliProgress *
cli_progress_new (CliContext *cli, const char *label, guint total_files, gint64 total_bytes)
{
  if (cli->json || !isatty (STDERR_FILENO))
    return NULL;
  CliProgress *progress = g_new0 (CliProgress, 1);
  progress->label = g_strdup (label);
  progress->total_files = total_files;
  progress->total_bytes = total_bytes;
  return progress;
}

static int
terminal_width (void)
{
  struct winsize size;
  if (ioctl (STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    return size.ws_col;
  return 80;
}

void
cli_progress_update (CliProgress *progress, guint files_done, gint64 bytes_done)
{
  if (progress == NULL)
    return;
  gint64 now = g_get_monotonic_time ();
  gboolean last = files_done >= progress->total_files;
  if (progress->drawn && !last && now - progress->last_draw_us < REDRAW_INTERVAL_US)
    return;
  progress->last_draw_us = now;
  progress->drawn = TRUE;

  g_autofree char *done = cli_format_size (bytes_done);
  g_autofree char *total = cli_format_size (progress->total_bytes);
  g_autofree char *label = cli_escape (progress->label);
  g_autofree char *counts =
      g_strdup_printf (" %u/%u files, %s of %s", files_done, progress->total_files, done, total);
  /* The bar takes what the label and counts leave of the line, within
   * 10..40 cells; a line that would wrap breaks the redraw in place. */
  int room = terminal_width () - 1 - (int)g_utf8_strlen (label, -1) - (int)strlen (counts) - 3;
  int width = CLAMP (room, 10, 40);
  int filled = progress->total_bytes > 0 ? (int)(width * bytes_done / progress->total_bytes)
                                         : (last ? width : 0);
  filled = CLAMP (filled, 0, width);
  char bar[48];
  memset (bar, '#', (size_t)filled);
  memset (bar + filled, '.', (size_t)(width - filled));
  bar[width] = '\0';
  /* \r and erase-to-end-of-line: the line is redrawn where it is. */
  g_printerr ("\r\033[K%s [%s]%s", label, bar, counts);
}

void
cli_progress_finish (CliProgress *progress)
{
  if (progress == NULL)
    return;
  if (progress->drawn)
    g_printerr ("\n");
  g_free (progress->label);
  g_free (progress);
}
