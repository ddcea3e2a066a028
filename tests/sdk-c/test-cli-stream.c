/* test-cli-stream.c — the agentfense tool's escaping of command output:
 * which bytes are escaped, sequences cut by chunk boundaries, --raw. */
#include "cli.h"

#include <glib/gstdio.h>
#include <unistd.h>

/* Writes @chunks through a CliOutput into a temporary file and returns
 * what arrived. */
static char *
through_output (gboolean raw, const char *const *chunks, const gsize *lengths)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("af-cli-stream-XXXXXX", &path, &error);
  g_assert_no_error (error);
  g_autoptr (CliOutput) out = cli_output_new (fd, raw);
  for (gsize i = 0; chunks[i] != NULL; i++)
    g_assert_true (cli_output_write (out, (const guint8 *)chunks[i], lengths[i], &error));
  g_assert_true (cli_output_finish (out, &error));
  g_assert_no_error (error);
  close (fd);
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_unlink (path);
  return text;
}

static char *
escape (const char *data)
{
  return cli_escape_output ((const guint8 *)data, strlen (data));
}

static void
test_controls (void)
{
  static const struct {
    const char *in, *want;
  } cases[] = {
    { "plain text\n\tindented\n", "plain text\n\tindented\n" },
    { "\033[31mred\033[0m", "\\x1b[31mred\\x1b[0m" },
    { "\033]0;title\007", "\\x1b]0;title\\x07" }, /* OSC: window title */
    { "over\rwrite\b", "over\\x0dwrite\\x08" },
    { "del\177", "del\\x7f" },
    { "csi \xc2\x9b"
      "2J",
      "csi \\xc2\\x9b2J" },                              /* C1 CSI in UTF-8 */
    { "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7", /* été € 🐧 */
      "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7" },
    { "bad \xff\xfe bytes", "bad \\xff\\xfe bytes" }, /* not UTF-8 */
    { "\x9b"
      "2J",
      "\\x9b2J" }, /* raw 8-bit CSI */
    { "overlong \xc0\xaf", "overlong \\xc0\\xaf" },
    { "truncated \xe2\x82", "truncated \\xe2\\x82" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *got = escape (cases[i].in);
    g_assert_cmpstr (got, ==, cases[i].want);
  }
}

static void
test_chunk_boundaries (void)
{
  /* "€" (e2 82 ac) cut after each of its bytes, and an escape sequence cut
   * in two: the result is the same as unchunked. */
  const char *text = "a\xe2\x82\xac b\033[1m";
  gsize len = strlen (text);
  g_autofree char *whole = escape (text);
  for (gsize cut = 0; cut <= len; cut++) {
    g_autofree char *first = g_strndup (text, cut);
    const char *chunks[] = { first, text + cut, NULL };
    const gsize lengths[] = { cut, len - cut };
    g_autofree char *got = through_output (FALSE, chunks, lengths);
    g_assert_cmpstr (got, ==, whole);
  }

  /* One byte at a time. */
  g_autoptr (GPtrArray) singles = g_ptr_array_new_with_free_func (g_free);
  g_autofree gsize *ones = g_new (gsize, len);
  for (gsize i = 0; i < len; i++) {
    g_ptr_array_add (singles, g_strndup (text + i, 1));
    ones[i] = 1;
  }
  g_ptr_array_add (singles, NULL);
  g_autofree char *got = through_output (FALSE, (const char *const *)singles->pdata, ones);
  g_assert_cmpstr (got, ==, whole);

  /* A sequence cut at the very end is escaped, not lost. */
  const char *tail[] = { "x\xe2\x82", NULL };
  const gsize tail_len[] = { 3 };
  g_autofree char *cut_end = through_output (FALSE, tail, tail_len);
  g_assert_cmpstr (cut_end, ==, "x\\xe2\\x82");

  /* A lead byte followed by a byte that cannot continue it is broken at
   * once, whatever comes next. */
  const char *broken[] = { "\xe2"
                           "A",
                           "B", NULL };
  const gsize broken_len[] = { 2, 1 };
  g_autofree char *got_broken = through_output (FALSE, broken, broken_len);
  g_assert_cmpstr (got_broken, ==,
                   "\\xe2"
                   "AB");
}

static void
test_raw (void)
{
  const char *chunks[] = { "\033[31m\xff", "\r\n", NULL };
  const gsize lengths[] = { 6, 2 };
  g_autofree char *got = through_output (TRUE, chunks, lengths);
  g_assert_cmpstr (got, ==, "\033[31m\xff\r\n");
}

/* Feeds @stderr_text in two pieces cut at @cut, with stdout between them,
 * through a CliCommand; returns what reached stderr. */
static char *
through_command (const char *stderr_text, gsize cut)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out_path = NULL, *err_path = NULL;
  int out_fd = g_file_open_tmp ("af-cli-out-XXXXXX", &out_path, &error);
  int err_fd = g_file_open_tmp ("af-cli-err-XXXXXX", &err_path, &error);
  g_assert_no_error (error);
  g_autoptr (CliCommand) cmd = cli_command_new (TRUE, out_fd, err_fd);
  gsize len = strlen (stderr_text);
  cut = MIN (cut, len);
  g_assert_true (cli_command_on_output (AF_OUTPUT_STDERR, (const guint8 *)stderr_text, cut, cmd));
  g_assert_true (cli_command_on_output (AF_OUTPUT_STDOUT, (const guint8 *)"o", 1, cmd));
  g_assert_true (
      cli_command_on_output (AF_OUTPUT_STDERR, (const guint8 *)stderr_text + cut, len - cut, cmd));
  g_assert_true (cli_command_finish (cmd, &error));
  g_assert_no_error (error);
  close (out_fd);
  close (err_fd);
  char *got = NULL;
  g_autofree char *got_out = NULL;
  g_assert_true (g_file_get_contents (err_path, &got, NULL, &error));
  g_assert_true (g_file_get_contents (out_path, &got_out, NULL, &error));
  g_assert_cmpstr (got_out, ==, "o");
  g_unlink (out_path);
  g_unlink (err_path);
  return got;
}

static void
test_stderr_untouched (void)
{
  /* The exit status travels in the stream's trailers: stderr reaches the
   * user byte for byte, a line that looks like the old in-band status line
   * included. */
  const char *text = "err\n\036agentfense-exit:0123:7\na\036b\n";
  for (gsize cut = 0; cut <= strlen (text); cut++) {
    g_autofree char *got = through_command (text, cut);
    g_assert_cmpstr (got, ==, text);
  }
}

static void
test_join (void)
{
  char *one[] = { "make && make test", NULL };
  char *many[] = { "printf", "%s\n", "a b", "$HOME", "it's", NULL };
  g_autofree char *line = cli_command_join (one);
  g_autofree char *quoted = cli_command_join (many);
  g_assert_cmpstr (line, ==, "make && make test");
  g_assert_cmpstr (quoted, ==, "'printf' '%s\n' 'a b' '$HOME' 'it'\\''s'");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli-stream/controls", test_controls);
  g_test_add_func ("/cli-stream/chunk-boundaries", test_chunk_boundaries);
  g_test_add_func ("/cli-stream/raw", test_raw);
  g_test_add_func ("/cli-command/stderr-untouched", test_stderr_untouched);
  g_test_add_func ("/cli-command/join", test_join);
  return g_test_run ();
}
