/* cli-stream.c — the bytes a command in a sandbox printed, on their way to
 * the tool's stdout/stderr: escaped so they cannot drive the terminal, or
 * passed through unchanged with --raw.
 *
 * Owns: the escaping of streamed output (state across chunk boundaries)
 * and complete writes to a file descriptor. Must never: drop or reorder a
 * byte, or pass a control byte through when not raw. */
#include "cli.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

struct _CliOutput {
  int fd;
  gboolean raw;
  guint8 pending[4]; /* the start of a UTF-8 sequence cut by a chunk end */
  gsize n_pending;
};

CliOutput *
cli_output_new (int fd, gboolean raw)
{
  CliOutput *out = g_new0 (CliOutput, 1);
  out->fd = fd;
  out->raw = raw;
  return out;
}

void
cli_output_free (CliOutput *out)
{
  g_free (out);
}

gboolean
cli_write_all (int fd, const void *data, gsize len, GError **error)
{
  const guint8 *p = data;
  while (len > 0) {
    ssize_t n = write (fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "writing output: %s",
                   g_strerror (saved));
      return FALSE;
    }
    p += n;
    len -= (gsize)n;
  }
  return TRUE;
}

/* How long the UTF-8 sequence starting with @lead is, or 0 when @lead
 * cannot start one. */
static gsize
utf8_sequence_length (guint8 lead)
{
  if (lead < 0x80)
    return 1;
  if (lead >= 0xc2 && lead <= 0xdf)
    return 2;
  if (lead >= 0xe0 && lead <= 0xef)
    return 3;
  if (lead >= 0xf0 && lead <= 0xf4)
    return 4;
  return 0;
}

static gboolean
is_control (gunichar c)
{
  /* Newline and tab lay text out; everything else below space, DEL and
   * the C1 range (CSI is U+009B) can move the cursor, retitle the window,
   * or start an escape sequence. */
  if (c == '\n' || c == '\t')
    return FALSE;
  return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0);
}

static void
escape_byte (GString *dest, guint8 byte)
{
  g_string_append_printf (dest, "\\x%02x", byte);
}

/* Escapes the whole sequences of @data into @dest; returns how many bytes
 * at the end form the incomplete start of a sequence (kept for the next
 * chunk), or 0 when @final. */
static gsize
escape_into (GString *dest, const guint8 *data, gsize len, gboolean final)
{
  gsize i = 0;
  while (i < len) {
    guint8 lead = data[i];
    gsize want = utf8_sequence_length (lead);
    if (want == 1) {
      if (is_control (lead))
        escape_byte (dest, lead);
      else
        g_string_append_c (dest, (char)lead);
      i++;
      continue;
    }
    if (want == 0) {
      escape_byte (dest, lead);
      i++;
      continue;
    }
    if (i + want > len) {
      /* Cut by the chunk end: keep it if what is there could still be
       * valid; otherwise it is broken already. */
      gboolean plausible = TRUE;
      for (gsize k = i + 1; k < len; k++)
        plausible = plausible && (data[k] & 0xc0) == 0x80;
      if (!final && plausible)
        return len - i;
    }
    gunichar c = g_utf8_get_char_validated ((const char *)data + i, (gssize)MIN (want, len - i));
    if (c == (gunichar)-1 || c == (gunichar)-2) {
      escape_byte (dest, lead);
      i++;
      continue;
    }
    if (is_control (c)) {
      for (gsize k = 0; k < want; k++)
        escape_byte (dest, data[i + k]);
    } else {
      g_string_append_len (dest, (const char *)data + i, (gssize)want);
    }
    i += want;
  }
  return 0;
}

char *
cli_escape_output (const guint8 *data, gsize len)
{
  GString *dest = g_string_sized_new (len);
  escape_into (dest, data, len, TRUE);
  return g_string_free (dest, FALSE);
}

gboolean
cli_output_write (CliOutput *out, const guint8 *data, gsize len, GError **error)
{
  if (out->raw)
    return cli_write_all (out->fd, data, len, error);

  /* Join the kept start of a sequence with this chunk. */
  g_autoptr (GByteArray) joined = NULL;
  if (out->n_pending > 0) {
    joined = g_byte_array_sized_new ((guint)(out->n_pending + len));
    g_byte_array_append (joined, out->pending, (guint)out->n_pending);
    g_byte_array_append (joined, data, (guint)len);
    data = joined->data;
    len = joined->len;
    out->n_pending = 0;
  }
  g_autoptr (GString) dest = g_string_sized_new (len + 16);
  gsize keep = escape_into (dest, data, len, FALSE);
  g_assert (keep < sizeof out->pending);
  if (keep > 0)
    memcpy (out->pending, data + len - keep, keep);
  out->n_pending = keep;
  return cli_write_all (out->fd, dest->str, dest->len, error);
}

gboolean
cli_output_finish (CliOutput *out, GError **error)
{
  if (out->n_pending == 0)
    return TRUE;
  g_autoptr (GString) dest = g_string_new (NULL);
  escape_into (dest, out->pending, out->n_pending, TRUE);
  out->n_pending = 0;
  return cli_write_all (out->fd, dest->str, dest->len, error);
}
