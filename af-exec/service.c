#include "service.h"

int
af_exec_serve (AfConfig *config, const char *address)
{
  g_printerr ("af-exec: --serve is not available yet\n");
  return 125;
}
