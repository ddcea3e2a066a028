/* af-init-exec.c — how the init runs a program: the way /bin/sh (dash)
 * runs a simple command. Owns the PATH search, running a #!-less file as a
 * script of /bin/sh, and dash's wording of a failure. Must never allocate
 * or touch anything but its arguments and the stack: it runs in the init's
 * vfork-style clone child, on a borrowed stack, sharing the init's memory.
 * Plain libc (musl), like the rest of the init. */
#define _GNU_SOURCE
#include "af-init-exec.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define PATH_BSHELL "/bin/sh"

/* execve, and a file the kernel cannot run (no #! line) as a script of
 * /bin/sh, with $0 = its path. @argv has a free slot before it. */
static void
try_exec (const char *file, char **argv, char **envp)
{
  char *arg0 = argv[0];

  execve (file, argv, envp);
  if (errno != ENOEXEC)
    return;
  argv[-1] = (char *)PATH_BSHELL;
  argv[0] = (char *)file;
  execve (PATH_BSHELL, argv - 1, envp);
  argv[0] = arg0;
  errno = ENOEXEC;
}

/* Run argv[0] the way /bin/sh (dash) runs a simple command: a name with a
 * slash as is, else each PATH entry in turn (from the request's PATH, or
 * dash's default), going on past entries that exist but cannot run — the
 * error remembered is the last one other than "no such file". Returns the
 * exit status sh would give; errno is the error to report. No allocation:
 * this runs in the clone child on a borrowed stack. */
int
af_init_exec_search (char **argv, char **envp)
{
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  const char *name = argv[0];
  size_t name_len = strlen (name);
  int e = ENOENT;
  char buf[4096];

  if (strchr (name, '/')) {
    try_exec (name, argv, envp);
    e = errno;
    return (e == ENOENT || e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG) ? 127 : 126;
  }
  for (char **v = envp; *v; v++)
    if (strncmp (*v, "PATH=", 5) == 0)
      path = *v + 5;

  for (const char *p = path;; p++) {
    const char *end = strchrnul (p, ':');
    size_t dir_len = (size_t)(end - p);
    if (dir_len + 1 + name_len + 1 <= sizeof buf) {
      if (dir_len == 0) {
        memcpy (buf, name, name_len + 1);
      } else {
        memcpy (buf, p, dir_len);
        buf[dir_len] = '/';
        memcpy (buf + dir_len + 1, name, name_len + 1);
      }
      try_exec (buf, argv, envp);
      if (errno != ENOENT && errno != ENOTDIR)
        e = errno;
    } else {
      e = ENAMETOOLONG;
    }
    if (*end == '\0')
      break;
    p = end;
  }
  errno = e;
  /* A lookup that found nothing runnable: 127 whatever the reason. */
  return 127;
}

/* dash's words for an exec error. The init is built with musl, whose
 * strerror texts differ from glibc's (the shell's), so the ones an exec
 * can give are spelled out here. */
static const char *
exec_errmsg (int e)
{
  switch (e) {
  case ENOENT:
  case ENOTDIR:
    return "not found";
  case EACCES:
    return "Permission denied";
  case ELOOP:
    return "Too many levels of symbolic links";
  case ENAMETOOLONG:
    return "File name too long";
  case ENOEXEC:
    return "Exec format error";
  case E2BIG:
    return "Argument list too long";
  case ENOMEM:
    return "Cannot allocate memory";
  case ETXTBSY:
    return "Text file busy";
  case EPERM:
    return "Operation not permitted";
  case EIO:
    return "Input/output error";
  default:
    return strerror (e);
  }
}

/* "/bin/sh: 1: NAME: MESSAGE\n" on stderr, as `/bin/sh -c NAME` prints it. */
void
af_init_shell_error (const char *name, int e)
{
  static const char prefix[] = PATH_BSHELL ": 1: ";
  const char *msg = exec_errmsg (e);
  struct iovec iov[5] = {
    { (void *)prefix, sizeof prefix - 1 },
    { (void *)name, strlen (name) },
    { (void *)": ", 2 },
    { (void *)msg, strlen (msg) },
    { (void *)"\n", 1 },
  };
  if (writev (2, iov, 5) < 0) {
    /* Nobody reads stderr: the exit status still says it. */
  }
}
