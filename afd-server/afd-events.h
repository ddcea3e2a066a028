/* afd-events.h — reading and bounding the history (the events table).
 *
 * Owns: who may read which events (ListEvents), the retention of the table
 * (by count and by age, pruned in small batches so no transaction holds the
 * database for long), and the `afd-server --events` reader. Must never:
 * write an event itself (the code that changes a row appends its event in
 * the same transaction), or open the database for writing from `--events`. */
#pragma once

#include "afd-config.h"
#include "afd-db.h"
#include "afd-rpc.h"

G_BEGIN_DECLS

/* SandboxService/ListEvents (afd-events.c). */
const AfGrpcMethod *afd_events_service_methods (gsize *out_n);

typedef struct _AfdEventRetention AfdEventRetention;

/* Prune what is due now (before returning) and then periodically (in
 * batches, from idle callbacks), per @settings' events.max_count and
 * events.max_age. NULL when both are off. */
AfdEventRetention *afd_event_retention_new (AfdDb *db, const AfdSettings *settings);
/* Run every batch due now to the end, synchronously (tests, and a bound
 * that was just lowered). Returns how many events were removed. */
gint64 afd_event_retention_run (AfdEventRetention *r, GError **error);
void afd_event_retention_free (AfdEventRetention *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfdEventRetention, afd_event_retention_free)

/* "2026-01-31T12:00:00Z", an epoch in seconds, or an age back from now
 * ("90s", "15m", "2h", "7d"): microseconds since the epoch. */
gboolean afd_events_parse_since (const char *text, gint64 *out_us, GError **error);

/* `afd-server --events`: print the events of @db_path (read-only, works
 * beside a running server), one line each, oldest first. */
gboolean afd_events_print (const char *db_path, const char *sandbox_id, gint64 since_us,
                           GError **error);

G_END_DECLS
