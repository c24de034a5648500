/* A module built for another plugin ABI: the loader must refuse it before
 * touching anything beyond the version field. */
#include <nfsub/plugin.h>

G_MODULE_EXPORT const NfsubPluginDesc nfsub_plugin_v1 = {
  .abi_version = NFSUB_ABI_VERSION + 41,
  .struct_size = sizeof (NfsubPluginDesc),
  .name = "badabi",
  .stage = NFSUB_STAGE_ACCOUNT,
};
