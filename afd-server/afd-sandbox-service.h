/* afd-sandbox-service.h — the SandboxService method tables and what its two
 * handler files share (afd-sandbox-service.c: lifecycle and delta;
 * afd-exec-service.c: commands and sessions). */
#pragma once

#include "afd-rpc.h"
#include "afd-sandboxes.h"

#include "common.pb-c.h"
#include "sandbox.pb-c.h"

#include <string.h>

G_BEGIN_DECLS

const AfGrpcMethod *afd_sandbox_service_methods (gsize *out_n);
const AfGrpcMethod *afd_exec_service_methods (gsize *out_n);

G_END_DECLS
