/* af-dbus-peer.h — private D-Bus connections between afd-server and its
 * helpers, with no bus daemon.
 *
 * The parent (afd-server, or a test) listens on a unix socket it creates in
 * a directory it owns and hands the address to the child it spawns
 * (`--dbus-address`); the child connects and exports its interface on that
 * connection. Authentication is EXTERNAL (kernel credentials): only peers of
 * the listener's own uid, or root, are accepted. Bulk bytes never travel as
 * messages on these connections: pass fds (org.gtk.GDBus.C.UnixFD). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _AfDBusPeerServer AfDBusPeerServer;

/* Called on the main context that was thread-default when the server was
 * created, once per authenticated peer. @connection is borrowed: ref it to
 * keep it. */
typedef void (*AfDBusPeerConnected) (AfDBusPeerServer *server, GDBusConnection *connection,
                                     gpointer user_data);

/* Listen on @socket_path (must not exist; its directory must). The socket is
 * made 0600 and removed by af_dbus_peer_server_free. */
AfDBusPeerServer *af_dbus_peer_server_new (const char *socket_path, AfDBusPeerConnected callback,
                                           gpointer user_data, GError **error);

/* "unix:path=…": what the child gets as --dbus-address. */
const char *af_dbus_peer_server_get_address (AfDBusPeerServer *server);

/* Stops listening and removes the socket. Connections already made stay
 * open (their owners close them). */
void af_dbus_peer_server_free (AfDBusPeerServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfDBusPeerServer, af_dbus_peer_server_free)

/* The child's side: connect to @address as a peer (no bus, no Hello),
 * authenticating with EXTERNAL. */
GDBusConnection *af_dbus_peer_connect (const char *address, GCancellable *cancellable,
                                       GError **error);

G_END_DECLS
