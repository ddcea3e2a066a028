/* bench-common.h — what the transport benchmarks (bench-transport.c,
 * bench-tls.c) share: process CPU time, one checked Echo, one checked
 * server stream, and the order to sort latencies by.
 *
 * Owns: nothing beyond the calls it makes. Must never: time anything
 * itself (each benchmark decides what its clock covers), or return a
 * reply it has not checked. */
#pragma once

#include <glib.h>

#include "af-grpc-client.h"

G_BEGIN_DECLS

/* User + system CPU time of this process so far, in µs. */
double bench_cpu_us (void);

/* qsort order of gint64 values, ascending. */
int bench_cmp_gint64 (gconstpointer a, gconstpointer b);

/* One Echo of @text on @ch; g_error unless the reply echoes it. */
void bench_echo (AfGrpcChannel *ch, const char *text);

/* One Stream call on @ch for @mib MiB in 64 KiB messages, read to its end;
 * g_error unless every message came, with every byte. Returns the bytes. */
guint64 bench_stream (AfGrpcChannel *ch, int mib);

G_END_DECLS
