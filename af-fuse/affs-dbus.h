/* affs-dbus.h — the org.agentfense.Fuse1 control interface (affs-dbus.c). */
#pragma once

#include "affs.h"

G_BEGIN_DECLS

#define AFFS_DBUS_PATH "/org/agentfense/Fuse1"
#define AFFS_DBUS_VERSION 1

typedef struct _AffsDBus AffsDBus;

/* Connect to the peer at @address and export the interface. @shutdown is
 * called on the main context when a peer asks to shut down. Also installs
 * the filesystem's denial hook (rate-limited Denied signals). */
AffsDBus *affs_dbus_new (AfFs *fs, const char *address, void (*shutdown) (gpointer),
                         gpointer shutdown_data, GError **error);
void affs_dbus_free (AffsDBus *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AffsDBus, affs_dbus_free)

G_END_DECLS
