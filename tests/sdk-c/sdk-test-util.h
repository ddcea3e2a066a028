/* sdk-test-util.h — small file helpers shared by the sdk-c tests. */
#pragma once

#include <glib.h>

/* Writes @contents to @root/@path, creating the directories on the way;
 * fails the test on error. */
void sdk_test_write_file (const char *root, const char *path, const char *contents);

/* rm -r @path without following symbolic links; TRUE when it is gone. */
gboolean sdk_test_remove_tree (const char *path);
