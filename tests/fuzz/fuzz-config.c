/* libFuzzer target: the host's config loading (GKeyFile parse plus the
 * [nfsub] group checks).  Any input must end in a host or a GError,
 * never a crash, leak or hang. */
#define _GNU_SOURCE
#include "config.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/host-private.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  int fd = memfd_create ("nfsub-fuzz-config", MFD_CLOEXEC);
  if (fd < 0)
    return 0;
  if (write (fd, data, size) != (ssize_t) size)
    {
      close (fd);
      return 0;
    }
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  GError *error = NULL;
  NfsubHost *host = nfsub_host_new (path, NULL, &error);
  if (host)
    {
      /* exercise what plugins ask of the host */
      (void) nfsub_host_rrd_dir (host);
      (void) nfsub_host_active_timeout (host);
      static const char *const keys[] = { "print", NULL };
      GError *e2 = NULL;
      if (!nfsub_config_check_keys (host, nfsub_host_config (host), "proto",
                                    keys, &e2))
        g_error_free (e2);
      nfsub_host_free (host);
    }
  else
    g_error_free (error);
  close (fd);
  return 0;
}
