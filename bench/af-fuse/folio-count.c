/* folio-count.c — how much of a file's page cache sits in large folios.
 * Maps FILE read-only and shared, touches each page (already cached pages
 * are mapped, not read again), and looks each one up in /proc/kpageflags:
 * a page that is part of a compound page (head or tail) belongs to a large
 * folio. Prints "PAGES LARGE" — the pages looked at and how many of them
 * are in large folios. As root (kpageflags and real PFNs need it).
 *
 * Usage: folio-count FILE [MAX_MIB] (default: the first 256 MiB). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define KPF_COMPOUND_HEAD 15
#define KPF_COMPOUND_TAIL 16
#define PFN_MASK ((UINT64_C (1) << 55) - 1)
#define PAGE_PRESENT (UINT64_C (1) << 63)

int
main (int argc, char **argv)
{
  if (argc < 2) {
    fprintf (stderr, "usage: %s FILE [MAX_MIB]\n", argv[0]);
    return 2;
  }
  long page = sysconf (_SC_PAGESIZE);
  uint64_t max = (uint64_t)(argc > 2 ? atol (argv[2]) : 256) << 20;
  int fd = open (argv[1], O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) != 0) {
    fprintf (stderr, "folio-count: %s: %s\n", argv[1], strerror (errno));
    return 1;
  }
  uint64_t len = (uint64_t)st.st_size < max ? (uint64_t)st.st_size : max;
  size_t pages = (size_t)(len / (uint64_t)page);
  if (pages == 0) {
    printf ("0 0\n");
    return 0;
  }
  volatile const char *map = mmap (NULL, pages * (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
  int pm = open ("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  int kf = open ("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
  if (map == MAP_FAILED || pm < 0 || kf < 0) {
    fprintf (stderr, "folio-count: %s\n", strerror (errno));
    return 1;
  }
  size_t large = 0, seen = 0;
  for (size_t i = 0; i < pages; i++) {
    (void)map[i * (size_t)page];
    uint64_t entry = 0, flags = 0;
    off_t at = (off_t)((((uintptr_t)map / (uintptr_t)page) + i) * sizeof entry);
    if (pread (pm, &entry, sizeof entry, at) != sizeof entry || !(entry & PAGE_PRESENT))
      continue;
    if ((entry & PFN_MASK) == 0) {
      fprintf (stderr, "folio-count: no page frame numbers (not root?)\n");
      return 1;
    }
    if (pread (kf, &flags, sizeof flags, (off_t)((entry & PFN_MASK) * sizeof flags)) !=
        sizeof flags)
      continue;
    seen++;
    if (flags & ((UINT64_C (1) << KPF_COMPOUND_HEAD) | (UINT64_C (1) << KPF_COMPOUND_TAIL)))
      large++;
  }
  printf ("%zu %zu\n", seen, large);
  return 0;
}
