/* macros.h — visibility and include-guard macros shared by every public
 * header of libagentfense.
 *
 * Owns: AF_PUBLIC, the one way a symbol leaves the shared library. The
 * library is built with -fvisibility=hidden and a version script; a
 * function without AF_PUBLIC is never exported. */
#pragma once

#if !defined(AGENTFENSE_INSIDE) && !defined(AGENTFENSE_COMPILATION)
#error "Only <agentfense/agentfense.h> can be included directly."
#endif

#include <glib.h>

/**
 * AF_PUBLIC:
 *
 * Marks a function as part of the public ABI of libagentfense.
 */
#define AF_PUBLIC __attribute__ ((visibility ("default"))) extern
