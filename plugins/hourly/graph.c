/* nfsub graph: written next (see rrd/README.md). */
#include "config.h"
#include <stdio.h>
#include "hourly.h"

int
hourly_graph_command (NfsubHost *host, int argc, char **argv)
{
  g_printerr ("nfsub graph: not built yet\n");
  return 1;
}
