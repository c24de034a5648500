/* Logging: one line per message, prefixed by the plugin's name. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include <nfsub/plugin.h>

G_DEFINE_QUARK (nfsub-error-quark, nfsub_error)

void
nfsub_log (const char *plugin, GLogLevelFlags level, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_log ("nfsub", level, "%s: %s", plugin ? plugin : "nfsub", msg);
}
