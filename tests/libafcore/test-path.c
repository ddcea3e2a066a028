/* Unit tests for af-path: a table of ordinary and hostile inputs. */
#include "afcore.h"

#include <string.h>

#define REL AF_PATH_FLAGS_NONE
#define ABSP AF_PATH_ALLOW_ABSOLUTE
#define DOT AF_PATH_RESOLVE_DOTDOT
#define ROOT AF_PATH_ALLOW_ROOT
#define PAT (AF_PATH_ALLOW_ABSOLUTE | AF_PATH_RESOLVE_DOTDOT | AF_PATH_ALLOW_ROOT)

typedef struct {
  const char *input;
  gssize len; /* -1: NUL-terminated */
  AfPathFlags flags;
  const char *expected; /* NULL: must be rejected */
  const char *why;      /* substring of the error message */
} PathCase;

static const PathCase cases[] = {
  /* ordinary */
  { "a", -1, REL, "a", NULL },
  { "a/b/c.txt", -1, REL, "a/b/c.txt", NULL },
  { "src/main.c", -1, REL, "src/main.c", NULL },
  { ".hidden", -1, REL, ".hidden", NULL },
  { "...", -1, REL, "...", NULL },
  { "..a", -1, REL, "..a", NULL },
  { "a..", -1, REL, "a..", NULL },
  { "a/.../b", -1, REL, "a/.../b", NULL },
  { "with space/x y", -1, REL, "with space/x y", NULL },
  { "back\\slash", -1, REL, "back\\slash", NULL },
  { "ünïcødé/文件", -1, REL, "ünïcødé/文件", NULL },
  { ".wh.name", -1, REL, ".wh.name", NULL },
  /* empty components and dots, deterministically dropped */
  { "a//b", -1, REL, "a/b", NULL },
  { "a///b//", -1, REL, "a/b", NULL },
  { "./a", -1, REL, "a", NULL },
  { "a/./b/.", -1, REL, "a/b", NULL },
  { "a/", -1, REL, "a", NULL },
  { "./././a", -1, REL, "a", NULL },
  /* the root */
  { "", -1, REL, NULL, "empty" },
  { ".", -1, REL, NULL, "empty" },
  { "./", -1, REL, NULL, "empty" },
  { "", -1, ROOT, "", NULL },
  { ".", -1, ROOT, "", NULL },
  { "/", -1, ABSP | ROOT, "", NULL },
  { "//", -1, ABSP | ROOT, "", NULL },
  /* absolute where relative is required */
  { "/etc/passwd", -1, REL, NULL, "relative" },
  { "/", -1, REL, NULL, "relative" },
  { "//a", -1, REL, NULL, "relative" },
  { "/a/b", -1, ABSP, "a/b", NULL },
  { "/etc/passwd", -1, ABSP, "etc/passwd", NULL },
  /* dot-dot, refused outright without RESOLVE_DOTDOT */
  { "..", -1, REL, NULL, ".." },
  { "../x", -1, REL, NULL, ".." },
  { "a/../../x", -1, REL, NULL, ".." },
  { "a/..", -1, REL, NULL, ".." },
  { "a/b/../c", -1, REL, NULL, ".." },
  { "./..", -1, REL, NULL, ".." },
  { "a/./../..", -1, REL, NULL, ".." },
  { "../../../../../../etc/shadow", -1, REL, NULL, ".." },
  { "/..", -1, ABSP, NULL, ".." },
  /* dot-dot resolved lexically, never above the root */
  { "a/b/../c", -1, DOT, "a/c", NULL },
  { "a/../b", -1, DOT, "b", NULL },
  { "a/b/../../c", -1, DOT, "c", NULL },
  { "a/..", -1, DOT, NULL, "empty" },
  { "a/..", -1, DOT | ROOT, "", NULL },
  { "..", -1, DOT | ROOT, NULL, "above" },
  { "a/../..", -1, DOT | ROOT, NULL, "above" },
  { "a/../../x", -1, DOT, NULL, "above" },
  { "/../etc/passwd", -1, PAT, NULL, "above" },
  { "/docs/../src/**", -1, PAT, "src/**", NULL },
  { "**/x/../y", -1, PAT, "**/y", NULL },
  /* NUL bytes inside the given length */
  { "x\0y", 3, REL, NULL, "NUL" },
  { "\0", 1, ROOT, NULL, "NUL" },
  { "a/\0/b", 5, REL, NULL, "NUL" },
  { "abc\0", 4, REL, NULL, "NUL" },
  { "x\0y", 1, REL, "x", NULL },
  /* invalid UTF-8 */
  { "\xff\xfe", -1, REL, NULL, "UTF-8" },
  { "a/\xc3", -1, REL, NULL, "UTF-8" },
  { "\xed\xa0\x80", -1, REL, NULL, "UTF-8" }, /* a UTF-16 surrogate */
};

static void
test_table (void)
{
  g_assert_cmpuint (G_N_ELEMENTS (cases), >=, 40);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    const PathCase *c = &cases[i];
    g_autoptr (GError) error = NULL;
    g_autofree char *out = af_path_normalize (c->input, c->len, c->flags, &error);
    if (c->expected) {
      if (out == NULL)
        g_error ("case %zu ('%s'): unexpected error: %s", i, c->input, error->message);
      g_assert_no_error (error);
      g_assert_cmpstr (out, ==, c->expected);
    } else {
      if (out != NULL)
        g_error ("case %zu ('%s'): accepted as '%s', expected a rejection", i, c->input, out);
      g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
      if (strstr (error->message, c->why) == NULL)
        g_error ("case %zu ('%s'): message '%s' does not mention '%s'", i, c->input, error->message,
                 c->why);
    }
  }
}

static void
test_lengths (void)
{
  g_autoptr (GError) error = NULL;

  /* a component of exactly 255 bytes passes; 256 fails */
  g_autofree char *c255 = g_strnfill (255, 'a');
  g_autofree char *c256 = g_strnfill (256, 'a');
  g_autofree char *ok = af_path_normalize (c255, -1, REL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ok, ==, c255);
  g_autofree char *in256 = g_strconcat ("dir/", c256, "/x", NULL);
  g_assert_null (af_path_normalize (in256, -1, REL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "component"));
  g_clear_error (&error);

  /* a path of exactly 4096 bytes passes; 4097 fails, even if it would
   * normalize to something short */
  GString *p = g_string_new (NULL);
  while (p->len < 4096)
    g_string_append (p, "abcdefg/");
  g_string_truncate (p, 4096);
  if (p->str[p->len - 1] == '/')
    p->str[p->len - 1] = 'z';
  g_autofree char *long_ok = af_path_normalize (p->str, -1, REL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (long_ok);
  g_string_append_c (p, 'z');
  g_assert_null (af_path_normalize (p->str, -1, REL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "4096"));
  g_clear_error (&error);
  g_string_free (p, TRUE);

  g_autofree char *slashes = g_strnfill (5000, '/');
  g_assert_null (af_path_normalize (slashes, -1, ABSP | ROOT, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_null (af_path_normalize (NULL, -1, ROOT, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
}

static void
test_helpers (void)
{
  g_autofree char *abs = af_path_to_absolute ("a/b");
  g_assert_cmpstr (abs, ==, "/a/b");
  g_autofree char *root = af_path_to_absolute ("");
  g_assert_cmpstr (root, ==, "/");
  g_assert_cmpstr (af_path_basename ("a/b/c.txt"), ==, "c.txt");
  g_assert_cmpstr (af_path_basename ("top"), ==, "top");
  g_assert_cmpstr (af_path_basename (""), ==, "");
}

/* Normalization is idempotent: feeding the output back changes nothing. */
static void
test_idempotent (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *once = af_path_normalize (cases[i].input, cases[i].len, PAT, NULL);
    if (once == NULL)
      continue;
    g_autofree char *twice = af_path_normalize (once, -1, PAT, NULL);
    g_assert_cmpstr (once, ==, twice);
    g_assert_null (strstr (once, "//"));
    g_assert_false (g_str_has_prefix (once, "/"));
    g_assert_false (g_str_has_suffix (once, "/"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/path/table", test_table);
  g_test_add_func ("/path/lengths", test_lengths);
  g_test_add_func ("/path/helpers", test_helpers);
  g_test_add_func ("/path/idempotent", test_idempotent);
  return g_test_run ();
}
