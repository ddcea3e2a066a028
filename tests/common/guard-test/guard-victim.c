/* guard-victim.c — a test-side process for test_guard.py: starts an
 * afd-server through the shared C starter (af-test-daemon) and an af-fuse
 * mount through the af-fuse fixture, both under their guards, prints what
 * it started as one JSON line on stdout, then waits to be killed. It never
 * cleans up: proving that the guards do is the point.
 *
 * argv: afd-server; $AF_FUSE_BIN names af-fuse. */
#include <stdio.h>
#include <unistd.h>

#include "af-test-daemon.h"
#include "fuse-fixture.h"

int
main (int argc, char **argv)
{
  if (argc != 2)
    return 2;
  AfTestDaemon d = { 0 };
  af_test_daemon_start (&d, argv[1], (const char *const[]){ "--listen=none", NULL });
  FuseFixture f;
  fx_init (&f);
  fx_write (g_build_filename (f.src, "a", NULL), "a\n");
  fx_mount (&f, "{\"rules\": [{\"pattern\": \"**\", \"permission\": \"read\"}]}", FALSE, NULL);
  printf ("{\"dirs\": [\"%s\", \"%s\"], \"pids\": [%d, %d], \"mounts\": [\"%s\"]}\n", d.top, f.root,
          (int)d.pid, (int)f.pid, f.mnt);
  fflush (stdout);
  for (;;)
    pause ();
}
