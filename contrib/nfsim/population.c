/* nfsim: population mode (ISP model) -- being written. */
#include "nfsim.h"

#include <gio/gio.h>

int
nfsim_run_population (const NfsimOptions *opt, GError **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
               "nfsim: population mode is not implemented yet");
  return 1;
}
