#ifndef NFSUB_WATCH_H
#define NFSUB_WATCH_H
#include <nfsub/plugin.h>
int nfsub_command_watch (NfsubHost *host, int argc, char **argv);
#endif
