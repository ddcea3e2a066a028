/* test-ignore.c — gitignore(5) semantics of the upload walker's matcher
 * (test-local-tree.c also compares a whole walk with git itself). */
#include "af-ignore.h"

#include <agentfense/agentfense.h>
#include <glib/gstdio.h>
#include <string.h>

static void
test_glob (void)
{
  const struct {
    const char *pattern, *text;
    gboolean match;
  } cases[] = {
    { "*.log", "a.log", TRUE },
    { "*.log", "dir/a.log", FALSE }, /* '*' never crosses '/' */
    { "a?c", "abc", TRUE },
    { "a?c", "a/c", FALSE },
    { "[abc].txt", "b.txt", TRUE },
    { "[!abc].txt", "b.txt", FALSE },
    { "[^abc].txt", "d.txt", TRUE },
    { "[a-c]x", "bx", TRUE },
    { "[a-c]x", "dx", FALSE },
    { "[]]x", "]x", TRUE },
    { "[a", "[a", TRUE }, /* unclosed: literal '[' */
    { "\\*", "*", TRUE },
    { "\\*", "x", FALSE },
    { "**/foo", "foo", TRUE },
    { "**/foo", "a/b/foo", TRUE },
    { "**/foo", "a/foox", FALSE },
    { "**/foo/bar", "x/foo/bar", TRUE },
    { "abc/**", "abc/x", TRUE },
    { "abc/**", "abc/x/y", TRUE },
    { "abc/**", "abc", FALSE },
    { "a/**/b", "a/b", TRUE },
    { "a/**/b", "a/x/b", TRUE },
    { "a/**/b", "a/x/y/b", TRUE },
    { "a/**/b", "a/xb", FALSE },
    { "a**b", "axxb", TRUE }, /* not a component: an ordinary star */
    { "a**b", "ax/b", FALSE },
    { "doc/*.txt", "doc/x.txt", TRUE },
    { "doc/*.txt", "doc/sub/x.txt", FALSE },
    { "*", "", TRUE },
    { "", "", TRUE },
    { "x", "", FALSE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    gboolean got = af_ignore_glob_match (cases[i].pattern, cases[i].text);
    if (got != cases[i].match)
      g_error ("glob '%s' on '%s': got %d, expected %d", cases[i].pattern, cases[i].text, got,
               cases[i].match);
  }
}

typedef struct {
  const char *path;
  gboolean is_dir;
  gboolean ignored;
} Expect;

static void
check (const char *const *lines, const Expect *expect, gsize n)
{
  g_autoptr (AfIgnore) ignore = af_ignore_new ();
  for (gsize i = 0; lines[i] != NULL; i++)
    g_assert_true (af_ignore_add_line (ignore, lines[i], NULL));
  for (gsize i = 0; i < n; i++) {
    gboolean got = af_ignore_match (ignore, expect[i].path, expect[i].is_dir);
    if (got != expect[i].ignored)
      g_error ("'%s' (%s): ignored=%d, expected %d", expect[i].path,
               expect[i].is_dir ? "dir" : "file", got, expect[i].ignored);
  }
}

static void
test_unanchored (void)
{
  const char *const lines[] = { "*.o", "build", NULL };
  const Expect expect[] = {
    { "x.o", FALSE, TRUE },      { "deep/down/x.o", FALSE, TRUE }, { "build", TRUE, TRUE },
    { "src/build", TRUE, TRUE }, { "src/build", FALSE, TRUE },     { "x.c", FALSE, FALSE },
    { "buildx", FALSE, FALSE },
  };
  check (lines, expect, G_N_ELEMENTS (expect));
}

static void
test_anchored (void)
{
  const char *const lines[] = { "/TODO", "doc/frotz", NULL };
  const Expect expect[] = {
    { "TODO", FALSE, TRUE },
    { "sub/TODO", FALSE, FALSE },
    { "doc/frotz", TRUE, TRUE },
    { "a/doc/frotz", TRUE, FALSE }, /* a middle '/' anchors too */
  };
  check (lines, expect, G_N_ELEMENTS (expect));
}

static void
test_directory_only (void)
{
  const char *const lines[] = { "logs/", "/out/", NULL };
  const Expect expect[] = {
    { "logs", TRUE, TRUE }, { "a/logs", TRUE, TRUE }, { "logs", FALSE, FALSE },
    { "out", TRUE, TRUE },  { "out", FALSE, FALSE },  { "x/out", TRUE, FALSE },
  };
  check (lines, expect, G_N_ELEMENTS (expect));
}

static void
test_negation (void)
{
  const char *const lines[] = { "*.log", "!keep.log", "!/important/*.log", "important/x.log",
                                NULL };
  const Expect expect[] = {
    { "a.log", FALSE, TRUE },           { "keep.log", FALSE, FALSE },
    { "sub/keep.log", FALSE, FALSE },   { "important/y.log", FALSE, FALSE },
    { "important/x.log", FALSE, TRUE }, /* the last match wins */
  };
  check (lines, expect, G_N_ELEMENTS (expect));
}

static void
test_syntax (void)
{
  const char *const lines[] = {
    "# a comment", "",       "   ", "\\#hash", "\\!bang", "trail   ",
    "space\\ ",    "crlf\r", "/",   "!",       NULL,
  };
  const Expect expect[] = {
    { "# a comment", FALSE, FALSE }, { "#hash", FALSE, TRUE },     { "!bang", FALSE, TRUE },
    { "trail", FALSE, TRUE },        { "trail   ", FALSE, FALSE }, { "space ", FALSE, TRUE },
    { "crlf", FALSE, TRUE },         { "anything", FALSE, FALSE },
  };
  check (lines, expect, G_N_ELEMENTS (expect));
}

static void
test_bounds (void)
{
  g_autoptr (AfIgnore) ignore = af_ignore_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *huge = g_strnfill (AF_IGNORE_MAX_PATTERN + 1, 'x');

  g_assert_false (af_ignore_add_line (ignore, huge, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
}

static void
test_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("af-ignore-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, ".gitignore", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);

  g_assert_true (
      g_file_set_contents (path, "# build output\r\n*.o\r\n!main.o\n\ntmp/\n", -1, &error));
  g_autoptr (AfIgnore) ignore = af_ignore_new ();
  g_assert_true (af_ignore_add_file (ignore, missing, &error));
  g_assert_true (af_ignore_add_file (ignore, path, &error));
  g_assert_no_error (error);
  g_assert_true (af_ignore_match (ignore, "x.o", FALSE));
  g_assert_false (af_ignore_match (ignore, "main.o", FALSE));
  g_assert_true (af_ignore_match (ignore, "a/tmp", TRUE));
  g_assert_false (af_ignore_match (ignore, "a/tmp", FALSE));

  /* An oversized ignore file is refused, naming it. */
  g_autofree char *big = g_strnfill (AF_IGNORE_MAX_FILE_SIZE + 1, 'x');
  g_assert_true (g_file_set_contents (path, big, -1, &error));
  g_assert_false (af_ignore_add_file (ignore, path, &error));
  g_assert_error (error, AF_SDK_ERROR, AF_SDK_ERROR_INVALID_CONFIGURATION);
  g_assert_nonnull (strstr (error->message, ".gitignore"));

  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sdk/ignore/glob", test_glob);
  g_test_add_func ("/sdk/ignore/unanchored", test_unanchored);
  g_test_add_func ("/sdk/ignore/anchored", test_anchored);
  g_test_add_func ("/sdk/ignore/directory-only", test_directory_only);
  g_test_add_func ("/sdk/ignore/negation", test_negation);
  g_test_add_func ("/sdk/ignore/syntax", test_syntax);
  g_test_add_func ("/sdk/ignore/bounds", test_bounds);
  g_test_add_func ("/sdk/ignore/file", test_file);
  return g_test_run ();
}
