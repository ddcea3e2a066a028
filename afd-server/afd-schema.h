/* afd-schema.h — the ordered list of schema migrations.
 *
 * Owns: the SQL of every schema version. Migration N takes a database at
 * version N-1 to N. Must never change a published migration: add one. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Migration @version (1-based); NULL past the last. */
const char *afd_schema_migration (int version);

G_END_DECLS
