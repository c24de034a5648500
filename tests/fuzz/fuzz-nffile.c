/* libFuzzer target for the nffile reader: open the input as an nfdump
 * file from memory and read every flow, without read-ahead and with it
 * (also with the caller's thread decompressing whenever it can).  Any
 * crash, sanitizer report, hang or unbounded allocation is a bug, and so
 * is any difference between the reads (flows, error message); an error
 * is the expected answer for nearly every input.  Build and run with
 * `make fuzz-nffile`. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <nfsub/nffile.h>

#include "src/nffile/nffile-private.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
  guint64 flows;
  guint64 hash;       /* FNV-1a over every byte of every flow */
  char *error;        /* NULL: read to the end */
  guint exporters, samplers;
} ReadOutcome;

/* share: -1 no read-ahead; 0 read-ahead; 1 read-ahead with the caller
 * decompressing too whenever it can */
static void
read_input (const uint8_t *data, size_t size, int share, ReadOutcome *out)
{
  static NfsubFlow flows[256];
  GError *error = NULL;
  memset (out, 0, sizeof *out);
  out->hash = G_GUINT64_CONSTANT (0xcbf29ce484222325);
  NfsubNffile *f = nfsub_nffile_open_memory (data, size, "fuzz", &error);
  if (!f)
    {
      /* every error names the file */
      if (!error || !g_str_has_prefix (error->message, "fuzz: "))
        __builtin_trap ();
      out->error = g_strdup (error->message);
      g_error_free (error);
      return;
    }
  nfsub_nffile_set_readahead (f, share >= 0);
  if (share >= 0)
    nfsub_nffile_readahead_share (f, share);
  gssize n;
  while ((n = nfsub_nffile_read (f, flows, G_N_ELEMENTS (flows), &error)) > 0)
    {
      const guint8 *p = (const guint8 *) flows;
      for (gsize i = 0; i < (gsize) n * sizeof (NfsubFlow); i++)
        out->hash = (out->hash ^ p[i]) * G_GUINT64_CONSTANT (0x100000001b3);
      out->flows += (guint64) n;
    }
  if (n < 0)
    {
      if (!error || !g_str_has_prefix (error->message, "fuzz: "))
        __builtin_trap ();
      out->error = g_strdup (error->message);
      g_error_free (error);
    }
  else if (error)
    __builtin_trap ();
  nfsub_nffile_exporters (f, &out->exporters);
  nfsub_nffile_samplers (f, &out->samplers);
  nfsub_nffile_close (f);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  ReadOutcome plain;
  read_input (data, size, -1, &plain);
  for (int share = 0; share <= 1; share++)
    {
      ReadOutcome ahead;
      read_input (data, size, share, &ahead);
      if (plain.flows != ahead.flows || plain.hash != ahead.hash
          || plain.exporters != ahead.exporters
          || plain.samplers != ahead.samplers
          || !plain.error != !ahead.error
          || (plain.error && strcmp (plain.error, ahead.error) != 0))
        __builtin_trap ();
      g_free (ahead.error);
    }
  g_free (plain.error);
  return 0;
}
