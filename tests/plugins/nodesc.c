/* A shared object that is not an nfsub plugin at all. */
#include <gmodule.h>
G_MODULE_EXPORT int nodesc_something = 1;
