/* example-util.h — what every example shares: a small project to upload
 * when none is given, and fatal-error reporting. Examples are programs a
 * user reads first; this header keeps them to the point. */
#pragma once

#include <agentfense/agentfense.h>

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

/* Prints @error and exits 1 when @ok is false. */
#define CHECK(ok, error)                                                                           \
  do {                                                                                             \
    if (!(ok)) {                                                                                   \
      fprintf (stderr, "%s: %s (%s)\n", g_get_prgname (), (error)->message,                        \
               af_sdk_error_code_name ((error)->code));                                            \
      exit (1);                                                                                    \
    }                                                                                              \
  } while (0)

/* argv[1] when given; else a fresh temp copy of a tiny project (README.md,
 * src/app.sh, tests/test.sh, secrets/.env), removed by example_cleanup. */
char *example_project (int argc, char **argv);
void example_cleanup (const char *project, int argc);
