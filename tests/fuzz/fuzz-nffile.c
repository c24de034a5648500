/* libFuzzer target for the nffile reader: open the input as an nfdump
 * file from memory and read every flow.  Any crash, sanitizer report,
 * hang or unbounded allocation is a bug; an error is the expected answer
 * for nearly every input.  Build and run with `make fuzz-nffile`. */
#include "config.h"

#include <stdint.h>

#include <nfsub/nffile.h>

#include "src/nffile/nffile-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static NfsubFlow flows[256];
  GError *error = NULL;
  NfsubNffile *f = nfsub_nffile_open_memory (data, size, "fuzz", &error);
  if (!f)
    {
      /* every error names the file */
      if (!error || !g_str_has_prefix (error->message, "fuzz: "))
        __builtin_trap ();
      g_error_free (error);
      return 0;
    }
  const NfsubFileInfo *info = nfsub_nffile_info (f);
  guint64 sum = info->stat.numbytes;
  gssize n;
  while ((n = nfsub_nffile_read (f, flows, G_N_ELEMENTS (flows), &error)) > 0)
    for (gssize i = 0; i < n; i++)
      sum += flows[i].in_bytes + flows[i].sampling_rate + flows[i].family;
  if (n < 0)
    {
      if (!error || !g_str_has_prefix (error->message, "fuzz: "))
        __builtin_trap ();
      g_error_free (error);
    }
  else if (error)
    __builtin_trap ();
  guint ne, ns;
  nfsub_nffile_exporters (f, &ne);
  nfsub_nffile_samplers (f, &ns);
  nfsub_nffile_close (f);
  /* keep the loop from being optimised away */
  volatile guint64 sink = sum + ne + ns;
  (void) sink;
  return 0;
}
