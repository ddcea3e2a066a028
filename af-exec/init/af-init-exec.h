/* af-init-exec.h — running a program inside the sandbox as /bin/sh would
 * (af-init-exec.c). For the init only: plain libc, no allocation. */
#pragma once

/* Run argv[0] the way dash runs a simple command (a name with a slash as
 * is, else each PATH entry of @envp, or dash's default PATH). Returns only
 * on failure: the exit status sh would give (127 not found, 126 cannot
 * run), with errno the error to report. argv[-1] must be a free slot (a
 * #!-less file runs as a script of /bin/sh). */
int af_init_exec_search (char **argv, char **envp);

/* "/bin/sh: 1: NAME: MESSAGE\n" on stderr, as `/bin/sh -c NAME` prints it. */
void af_init_shell_error (const char *name, int e);
