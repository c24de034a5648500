/* nfsub: everything a plugin author needs, in one include. */
#ifndef NFSUB_NFSUB_H
#define NFSUB_NFSUB_H

#include <nfsub/flow.h>
#include <nfsub/nffile.h>
#include <nfsub/plugin.h>
#include <nfsub/filter.h>

#endif
