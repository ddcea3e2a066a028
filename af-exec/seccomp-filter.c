/* seccomp-filter.c — see seccomp-filter.h. The table below is the policy; the code only
 * compiles it. Argument filters use arg 0/1 positions valid on the
 * architectures we build for (x86_64, aarch64). */
#define _GNU_SOURCE
#include "seccomp-filter.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "af-error.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (scmp_filter_ctx, seccomp_release)

/* Calls that fail with EPERM: they change the system, the mount tree or
 * another process, or open kernel attack surface an agent never needs. */
static const char *const eperm_calls[] = {
  "mount",
  "umount",
  "umount2",
  "pivot_root",
  "chroot", /* the filesystem view */
  "unshare",
  "setns", /* new or foreign namespaces */
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "kcmp", /* other processes */
  "bpf",
  "perf_event_open",
  "userfaultfd", /* kernel attack surface */
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "reboot",
  "keyctl",
  "add_key",
  "request_key",       /* the kernel keyring is not namespaced */
  "open_by_handle_at", /* bypasses path-based confinement */
  "acct",
  "quotactl",
  "syslog",
  "swapon",
  "swapoff",
  "uselib",
  "settimeofday",
  "clock_settime",
  "clock_adjtime", /* the host clock */
  "iopl",
  "ioperm",
  "modify_ldt", /* hardware and LDT */
  "mbind",
  "move_pages",
  "set_mempolicy",
  "migrate_pages", /* NUMA placement */
};

/* Calls that fail with ENOSYS so libc falls back to an older call the filter
 * can inspect (clone3 hides its flags in memory) or does without. */
static const char *const enosys_calls[] = {
  "clone3", "open_tree",     "move_mount",     "fsopen",         "fsconfig",          "fsmount",
  "fspick", "mount_setattr", "io_uring_setup", "io_uring_enter", "io_uring_register",
};

static const guint64 ns_flags[] = {
  CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,    CLONE_NEWUSER,
  CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, 0x00000080 /* CLONE_NEWTIME */,
};

/* Socket families that stay: local, IPv4/6 (the network namespace decides
 * whether they reach anything) and netlink (ip, ss, glibc's getaddrinfo). */
static gboolean
family_allowed (int family)
{
  return family == AF_UNIX || family == AF_INET || family == AF_INET6 || family == AF_NETLINK;
}

static gboolean
check (int rc, const char *what, GError **error)
{
  if (rc == 0)
    return TRUE;
  g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "seccomp: %s: %s", what, g_strerror (-rc));
  return FALSE;
}

static gboolean
add_by_name (scmp_filter_ctx ctx, const char *name, int err, GError **error)
{
  int nr = seccomp_syscall_resolve_name (name);

  /* Not every name exists on every architecture (iopl on aarch64). */
  if (nr == __NR_SCMP_ERROR)
    return TRUE;
  return check (seccomp_rule_add (ctx, SCMP_ACT_ERRNO (err), nr, 0), name, error);
}

guint
af_seccomp_n_rules (void)
{
  /* + clone, personality, ioctl, socket */
  return G_N_ELEMENTS (eperm_calls) + G_N_ELEMENTS (enosys_calls) + 4;
}

int
af_seccomp_build_memfd (GError **error)
{
  g_autoptr (scmp_filter_ctx) ctx = seccomp_init (SCMP_ACT_ALLOW);
  int fd;

  if (ctx == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "seccomp: seccomp_init failed");
    return -1;
  }
  /* Only the native architecture is in the filter; any other (i386 or x32
   * calls on x86_64) hits the bad-arch action and dies. */
  if (!check (seccomp_attr_set (ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS),
              "bad-arch action", error))
    return -1;

  for (gsize i = 0; i < G_N_ELEMENTS (eperm_calls); i++)
    if (!add_by_name (ctx, eperm_calls[i], EPERM, error))
      return -1;
  for (gsize i = 0; i < G_N_ELEMENTS (enosys_calls); i++)
    if (!add_by_name (ctx, enosys_calls[i], ENOSYS, error))
      return -1;

  /* clone with any namespace flag: one rule per flag, since a rule's
   * comparisons are ANDed and we need "any of". */
  for (gsize i = 0; i < G_N_ELEMENTS (ns_flags); i++)
    if (!check (seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (clone), 1,
                                  SCMP_A0 (SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i])),
                "clone", error))
      return -1;

  /* personality: only the default persona passes; others (READ_IMPLIES_EXEC,
   * ADDR_NO_RANDOMIZE, …) weaken exploit mitigations. libseccomp allows one
   * comparison per argument, so the query value 0xffffffff is refused too;
   * glibc never queries. */
  if (!check (seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (personality), 1,
                                SCMP_A0 (SCMP_CMP_NE, PER_LINUX)),
              "personality", error))
    return -1;

  /* TIOCSTI injects input into the terminal; TIOCLINUX can too. The kernel
   * only looks at the low 32 bits of the request, so compare those. */
  if (!check (seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (ioctl), 1,
                                SCMP_A1 (SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI)),
              "ioctl TIOCSTI", error))
    return -1;
  if (!check (seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (ioctl), 1,
                                SCMP_A1 (SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX)),
              "ioctl TIOCLINUX", error))
    return -1;

  /* Socket families: everything outside the allowed four (vsock, packet,
   * bluetooth, alg, …) reports EAFNOSUPPORT, as on a kernel without them. */
  for (int family = 0; family < AF_MAX; family++) {
    if (family_allowed (family))
      continue;
    if (!check (seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EAFNOSUPPORT), SCMP_SYS (socket), 1,
                                  SCMP_A0 (SCMP_CMP_EQ, (guint64)family)),
                "socket", error))
      return -1;
  }
  if (!check (seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EAFNOSUPPORT), SCMP_SYS (socket), 1,
                                SCMP_A0 (SCMP_CMP_GE, (guint64)AF_MAX)),
              "socket", error))
    return -1;

  fd = memfd_create ("af-seccomp", MFD_CLOEXEC);
  if (fd < 0) {
    int saved = errno;
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "memfd_create: %s", g_strerror (saved));
    return -1;
  }
  if (!check (seccomp_export_bpf (ctx, fd), "export", error) || lseek (fd, 0, SEEK_SET) != 0) {
    close (fd);
    if (error && *error == NULL)
      g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "seccomp: cannot rewind the memfd");
    return -1;
  }
  return fd;
}
