/* af-version.c — the run-time version of libagentfense. */
#include "af-sdk-private.h"

const char *
af_sdk_get_version (void)
{
  return AF_SDK_VERSION_STRING;
}
