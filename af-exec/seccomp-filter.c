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

static void
json_rule (GString *j, const char *const *names, gsize n, int err, const char *args)
{
  g_string_append (j, j->str[j->len - 1] == '[' ? "\n    {\"names\": [" : ",\n    {\"names\": [");
  for (gsize i = 0; i < n; i++)
    g_string_append_printf (j, "%s\"%s\"", i ? ", " : "", names[i]);
  g_string_append_printf (j, "], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": %d", err);
  if (args)
    g_string_append_printf (j, ", \"args\": [%s]", args);
  g_string_append (j, "}");
}

char *
af_seccomp_docker_profile (void)
{
  GString *j = g_string_new (NULL);
  static const char *const clone_name[] = { "clone" };
  static const char *const personality_name[] = { "personality" };
  static const char *const ioctl_name[] = { "ioctl" };
  static const char *const socket_name[] = { "socket" };

  /* Only the native architecture is listed: others hit the bad-arch action
   * (kill), as in the bwrap filter. */
  g_string_append (j, "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n");
#if defined(__x86_64__)
  g_string_append (j, "  \"architectures\": [\"SCMP_ARCH_X86_64\"],\n");
#elif defined(__aarch64__)
  g_string_append (j, "  \"architectures\": [\"SCMP_ARCH_AARCH64\"],\n");
#endif
  g_string_append (j, "  \"syscalls\": [");
  json_rule (j, eperm_calls, G_N_ELEMENTS (eperm_calls), EPERM, NULL);
  json_rule (j, enosys_calls, G_N_ELEMENTS (enosys_calls), ENOSYS, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (ns_flags); i++) {
    g_autofree char *arg =
        g_strdup_printf ("{\"index\": 0, \"value\": %" G_GUINT64_FORMAT
                         ", \"valueTwo\": %" G_GUINT64_FORMAT ", \"op\": \"SCMP_CMP_MASKED_EQ\"}",
                         ns_flags[i], ns_flags[i]);
    json_rule (j, clone_name, 1, EPERM, arg);
  }
  json_rule (j, personality_name, 1, EPERM,
             "{\"index\": 0, \"value\": 0, \"op\": \"SCMP_CMP_NE\"}");
  {
    const unsigned long reqs[] = { TIOCSTI, TIOCLINUX };
    for (gsize i = 0; i < G_N_ELEMENTS (reqs); i++) {
      g_autofree char *arg = g_strdup_printf ("{\"index\": 1, \"value\": 4294967295, "
                                              "\"valueTwo\": %lu, \"op\": \"SCMP_CMP_MASKED_EQ\"}",
                                              reqs[i]);
      json_rule (j, ioctl_name, 1, EPERM, arg);
    }
  }
  for (int family = 0; family < AF_MAX; family++) {
    g_autofree char *arg = NULL;
    if (family_allowed (family))
      continue;
    arg = g_strdup_printf ("{\"index\": 0, \"value\": %d, \"op\": \"SCMP_CMP_EQ\"}", family);
    json_rule (j, socket_name, 1, EAFNOSUPPORT, arg);
  }
  {
    g_autofree char *arg =
        g_strdup_printf ("{\"index\": 0, \"value\": %d, \"op\": \"SCMP_CMP_GE\"}", AF_MAX);
    json_rule (j, socket_name, 1, EAFNOSUPPORT, arg);
  }
  g_string_append (j, "\n  ]\n}\n");
  return g_string_free (j, FALSE);
}
