/* options.h — af-exec's configuration schema and what it resolves to.
 *
 * Owns: the keys (one --flag each, also settable in a config file), their
 * defaults and bounds, and turning them into an AfSandboxConfig. Must
 * never: read the process environment into anything a sandbox sees. */
#pragma once

#include "af-config.h"
#include "runtime.h"

G_BEGIN_DECLS

#define AF_EXEC_DEFAULT_IMAGE "agentfense-busybox:latest"
#define AF_EXEC_UID_BASE_DEFAULT 1200000000
#define AF_EXEC_UID_RANGE 65536

AfConfig *af_exec_config_new (void);

/* Fill @cfg from @config for the sandbox @name. Picks the host uid: the
 * configured one, else (as root) one from the reserved range derived from
 * @name, else the caller's own. */
gboolean af_exec_sandbox_config (AfConfig *config, const char *name, AfSandboxConfig *cfg,
                                 GError **error);

/* The init binary: configured, installed, or beside this executable. */
char *af_exec_find_init (AfConfig *config, GError **error);

G_END_DECLS
