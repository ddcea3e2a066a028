/* agentfense.h — the one header a user of libagentfense includes.
 *
 * Link with `pkg-config --cflags --libs agentfense-1`. */
#pragma once

#define AGENTFENSE_INSIDE
#include <agentfense/macros.h>
#include <agentfense/version.h>
#include <agentfense/errors.h>
#include <agentfense/rules.h>
#include <agentfense/presets.h>
#include <agentfense/local-tree.h>
#include <agentfense/client.h>
#include <agentfense/codebase.h>
#include <agentfense/sandbox-values.h>
#include <agentfense/sandbox-options.h>
#include <agentfense/sandbox-client.h>
#include <agentfense/session.h>
#include <agentfense/sandbox.h>
#undef AGENTFENSE_INSIDE
