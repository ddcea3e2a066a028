/* afd-limits.h — the resource limits this server can enforce (afd-limits.c). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gboolean known; /* FALSE: af-exec could not be asked; nothing is refused */
  gboolean memory, pids, cpu_quota, cpu_shares;
} AfdLimits;

/* Ask @exec_path (`af-exec --version`, as this server's user). */
void afd_limits_probe (AfdLimits *out, const char *exec_path);
/* "memory, pids, cpu_quota, cpu_shares", "none" or "unknown (…)". */
char *afd_limits_describe (const AfdLimits *limits);
/* FAILED_PRECONDITION naming the first requested limit (> 0) that cannot be
 * enforced. */
gboolean afd_limits_check (const AfdLimits *limits, gint64 memory_bytes, gint64 cpu_quota,
                           gint64 cpu_shares, gint64 pids_limit, GError **error);

G_END_DECLS
