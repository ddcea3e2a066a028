/* try-syscall — make one kernel call per name with arguments the kernel
 * would reject on its own (bad pointers, bad flags), and print "NAME ERRNO".
 *
 * Run inside a sandbox it proves the seccomp filter answered: without the
 * filter each call fails with EFAULT, EINVAL or EBADF (or succeeds
 * harmlessly), never with the errno the filter returns — the tests check
 * both sides. Static, without sanitizers, so it runs in any image.
 * `try-syscall int80` makes an i386 call, which the filter must kill. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

#define BAD ((long)1) /* an unmapped address */

typedef struct {
  const char *name;
  long nr;
  long a[6];
} Call;

static const Call calls[] = {
  { "mount", SYS_mount, { BAD, BAD, BAD, 0, 0 } },
  { "umount2", SYS_umount2, { BAD, 0 } },
  { "pivot_root", SYS_pivot_root, { BAD, BAD } },
  { "chroot", SYS_chroot, { BAD } },
  { "unshare", SYS_unshare, { -1 } },
  { "setns", SYS_setns, { -1, 0 } },
  /* CLONE_THREAD without CLONE_SIGHAND is EINVAL before anything happens. */
  { "clone_newuser", SYS_clone, { CLONE_NEWUSER | CLONE_THREAD } },
  { "clone_newns", SYS_clone, { CLONE_NEWNS | CLONE_THREAD } },
  { "clone_newpid", SYS_clone, { CLONE_NEWPID | CLONE_THREAD } },
  { "clone_newnet", SYS_clone, { CLONE_NEWNET | CLONE_THREAD } },
  { "clone_newuts", SYS_clone, { CLONE_NEWUTS | CLONE_THREAD } },
  { "clone_newipc", SYS_clone, { CLONE_NEWIPC | CLONE_THREAD } },
  { "clone_newcgroup", SYS_clone, { CLONE_NEWCGROUP | CLONE_THREAD } },
  { "ptrace", SYS_ptrace, { -1, 0, 0, 0 } },
  { "process_vm_readv", SYS_process_vm_readv, { 0, 0, 0, 0, 0, -1 } },
  { "process_vm_writev", SYS_process_vm_writev, { 0, 0, 0, 0, 0, -1 } },
  { "kcmp", SYS_kcmp, { 0, 0, -1, 0, 0 } },
  { "bpf", SYS_bpf, { -1, 0, 0 } },
  { "perf_event_open", SYS_perf_event_open, { BAD, 0, -1, -1, 0 } },
  { "userfaultfd", SYS_userfaultfd, { -1 } },
  { "kexec_load", SYS_kexec_load, { 0, 0, 0, -1 } },
  { "kexec_file_load", SYS_kexec_file_load, { -1, -1, 0, 0, -1 } },
  { "init_module", SYS_init_module, { BAD, 0, BAD } },
  { "finit_module", SYS_finit_module, { -1, BAD, -1 } },
  { "delete_module", SYS_delete_module, { BAD, 0 } },
  { "reboot", SYS_reboot, { 0, 0, 0, 0 } },
  { "keyctl", SYS_keyctl, { -1, 0, 0, 0, 0 } },
  { "add_key", SYS_add_key, { BAD, BAD, 0, 0, 0 } },
  { "request_key", SYS_request_key, { BAD, BAD, 0, 0 } },
  { "open_by_handle_at", SYS_open_by_handle_at, { -1, BAD, 0 } },
  { "acct", SYS_acct, { BAD } },
  { "quotactl", SYS_quotactl, { 0, BAD, 0, 0 } },
  { "syslog", SYS_syslog, { -1, 0, 0 } },
  { "swapon", SYS_swapon, { BAD, 0 } },
  { "swapoff", SYS_swapoff, { BAD } },
  { "settimeofday", SYS_settimeofday, { BAD, BAD } },
  { "clock_settime", SYS_clock_settime, { -1, BAD } },
  { "clock_adjtime", SYS_clock_adjtime, { -1, BAD } },
#ifdef SYS_iopl
  { "iopl", SYS_iopl, { 100 } },
  { "ioperm", SYS_ioperm, { -1, 1, 0 } },
  { "modify_ldt", SYS_modify_ldt, { -1, 0, 0 } },
#endif
#ifdef SYS_uselib
  { "uselib", SYS_uselib, { BAD } },
#endif
  { "personality", SYS_personality, { 0x0008 /* PER_LINUX32 */ } },
  { "mbind", SYS_mbind, { 0, 0, -1, 0, 0, 0 } },
  { "move_pages", SYS_move_pages, { 0, 0, 0, 0, 0, -1 } },
  { "set_mempolicy", SYS_set_mempolicy, { -1, 0, 0 } },
  { "migrate_pages", SYS_migrate_pages, { -1, 0, BAD, BAD } },
  { "ioctl_tiocsti", SYS_ioctl, { -1, TIOCSTI, BAD } },
  { "ioctl_tiocsti_high", SYS_ioctl, { -1, (long)(TIOCSTI | (1UL << 32)), BAD } },
  { "ioctl_tioclinux", SYS_ioctl, { -1, TIOCLINUX, BAD } },
  { "clone3", SYS_clone3, { 0, 0 } },
  { "open_tree", SYS_open_tree, { -1, BAD, 0 } },
  { "move_mount", SYS_move_mount, { -1, BAD, -1, BAD, 0 } },
  { "fsopen", SYS_fsopen, { BAD, 0 } },
  { "fsconfig", SYS_fsconfig, { -1, 0, 0, 0, 0 } },
  { "fsmount", SYS_fsmount, { -1, 0, 0 } },
  { "fspick", SYS_fspick, { -1, BAD, 0 } },
  { "mount_setattr", SYS_mount_setattr, { -1, BAD, 0, 0, 0 } },
  { "io_uring_setup", SYS_io_uring_setup, { 0, BAD } },
  { "io_uring_enter", SYS_io_uring_enter, { -1, 0, 0, 0, 0, 0 } },
  { "io_uring_register", SYS_io_uring_register, { -1, 0, 0, 0 } },
  { "socket_vsock", SYS_socket, { AF_VSOCK, SOCK_STREAM, 0 } },
  { "socket_packet", SYS_socket, { AF_PACKET, SOCK_RAW, 0 } },
  { "socket_bluetooth", SYS_socket, { 31 /* AF_BLUETOOTH */, SOCK_STREAM, 0 } },
  { "socket_alg", SYS_socket, { 38 /* AF_ALG */, SOCK_SEQPACKET, 0 } },
  /* Controls: these stay allowed. */
  { "socket_unix", SYS_socket, { AF_UNIX, SOCK_STREAM, 0 } },
  { "socket_inet", SYS_socket, { AF_INET, SOCK_STREAM, 0 } },
  { "socket_netlink", SYS_socket, { AF_NETLINK, SOCK_RAW, 0 } },
  { "getpid", SYS_getpid, { 0 } },
};

static int
try_connect (const char *port)
{
  struct sockaddr_in sa = { 0 };
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  sa.sin_family = AF_INET;
  sa.sin_port = htons ((unsigned short)atoi (port));
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0)
    return errno;
  if (connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    return errno;
  close (fd);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 2 && strcmp (argv[1], "int80") == 0) {
#if defined(__x86_64__)
    long ret;
    /* getpid through the i386 entry: a foreign architecture. */
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    printf ("int80 %ld\n", ret);
    return 0;
#else
    printf ("int80 unsupported\n");
    return 2;
#endif
  }
  if (argc == 3 && strcmp (argv[1], "stamps") == 0) {
    /* N lines of CLOCK_REALTIME in ns, 200 ms apart, each written at once:
     * the reader measures how late each arrives. */
    for (int i = 0; i < atoi (argv[2]); i++) {
      struct timespec ts;
      char line[64];
      int len;
      clock_gettime (CLOCK_REALTIME, &ts);
      len =
          snprintf (line, sizeof line, "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
      if (write (1, line, (size_t)len) != len)
        return 1;
      usleep (200000);
    }
    return 0;
  }
  if (argc == 3 && strcmp (argv[1], "connect") == 0) {
    printf ("connect %d\n", try_connect (argv[2]));
    return 0;
  }
  for (int i = 1; i < argc; i++) {
    int found = 0;
    for (size_t j = 0; j < sizeof calls / sizeof calls[0]; j++) {
      const Call *c = &calls[j];
      long r;
      if (strcmp (argv[i], "all") != 0 && strcmp (argv[i], c->name) != 0)
        continue;
      found = 1;
      errno = 0;
      r = syscall (c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
      printf ("%s %d\n", c->name, r < 0 ? errno : 0);
      if (r >= 0 && strncmp (c->name, "socket", 6) == 0)
        close ((int)r);
    }
    if (!found) {
      fprintf (stderr, "try-syscall: unknown call %s\n", argv[i]);
      return 2;
    }
  }
  return 0;
}
