/* seccomp-filter.h — the sandbox's syscall filter.
 *
 * Owns: the one list of blocked kernel interfaces (which calls, which
 * errno, and why — af-exec/README.md repeats each reason) and its
 * compilation with libseccomp into classic BPF in a sealed memfd, the form
 * `bwrap --seccomp FD` reads. Must never: load a filter into af-exec itself,
 * or allow a foreign architecture through (those calls kill the process). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A memfd holding the BPF program, offset 0. Each bwrap consumes the bytes
 * it reads, so each bwrap gets its own open file of it (reopened through
 * /proc/self/fd in the spawning child). */
int af_seccomp_build_memfd (GError **error);

/* The same policy as a Docker/OCI seccomp profile (JSON), for
 * `docker create --security-opt seccomp=FILE`. */
char *af_seccomp_docker_profile (void);

/* The number of syscall names in the filter (for --version). */
guint af_seccomp_n_rules (void);

G_END_DECLS
