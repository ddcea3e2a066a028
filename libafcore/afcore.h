/* afcore.h — the whole of libafcore's basics in one include. */
#pragma once

#include "af-config.h"
#include "af-dbus-peer.h"
#include "af-dirs.h"
#include "af-error.h"
#include "af-ids.h"
#include "af-log.h"
#include "af-path.h"
