/* af-dbus-peer.c — GDBusServer/GDBusConnection peer-to-peer setup. Owns the
 * listening socket file; never exports objects itself. */
#include "af-dbus-peer.h"
#include "af-error.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

struct _AfDBusPeerServer {
  GDBusServer *server;
  GDBusNodeInfo *bus_info; /* the minimal org.freedesktop.DBus we answer */
  GDBusAuthObserver *observer;
  char *socket_path;
  char *address;
  AfDBusPeerConnected callback;
  gpointer user_data;
};

static gboolean
allow_mechanism (GDBusAuthObserver *observer, const char *mechanism, gpointer data)
{
  /* Only kernel-attested credentials; no cookie files, no anonymous. */
  return g_strcmp0 (mechanism, "EXTERNAL") == 0;
}

static gboolean
authorize_peer (GDBusAuthObserver *observer, GIOStream *stream, GCredentials *credentials,
                gpointer data)
{
  if (credentials == NULL)
    return FALSE;
  GError *error = NULL;
  uid_t uid = g_credentials_get_unix_user (credentials, &error);
  if (error) {
    g_error_free (error);
    return FALSE;
  }
  return uid == getuid () || uid == 0;
}

/* Standard tools (`gdbus call/introspect --address …`) assume a message bus
 * and say Hello first; answering it with a unique name makes them work on
 * our peer sockets too. Nothing else of the bus interface is offered. */
static const char bus_xml[] = "<node><interface name='org.freedesktop.DBus'>"
                              "<method name='Hello'><arg type='s' direction='out'/></method>"
                              "</interface></node>";

static void
bus_method_call (GDBusConnection *connection, const char *sender, const char *path,
                 const char *iface, const char *method, GVariant *params,
                 GDBusMethodInvocation *invocation, gpointer data)
{
  /* one peer per connection: the name only has to be well-formed */
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", ":1.1"));
}

static const GDBusInterfaceVTable bus_vtable = { bus_method_call, NULL, NULL, { 0 } };

static gboolean
on_new_connection (GDBusServer *server, GDBusConnection *connection, gpointer data)
{
  AfDBusPeerServer *self = data;
  g_dbus_connection_register_object (connection, "/org/freedesktop/DBus",
                                     self->bus_info->interfaces[0], &bus_vtable, NULL, NULL, NULL);
  self->callback (self, connection, self->user_data);
  return TRUE;
}

AfDBusPeerServer *
af_dbus_peer_server_new (const char *socket_path, AfDBusPeerConnected callback, gpointer user_data,
                         GError **error)
{
  g_return_val_if_fail (socket_path != NULL && callback != NULL, NULL);

  g_autofree char *escaped = g_dbus_address_escape_value (socket_path);
  g_autofree char *address = g_strdup_printf ("unix:path=%s", escaped);
  g_autofree char *guid = g_dbus_generate_guid ();
  g_autoptr (GDBusAuthObserver) observer = g_dbus_auth_observer_new ();
  g_signal_connect (observer, "allow-mechanism", G_CALLBACK (allow_mechanism), NULL);
  g_signal_connect (observer, "authorize-authenticated-peer", G_CALLBACK (authorize_peer), NULL);

  /* A path that exists would be silently replaced by some socket
   * implementations; refuse instead (it may be another listener's). */
  if (g_file_test (socket_path, G_FILE_TEST_EXISTS)) {
    g_set_error (error, AF_ERROR, AF_ERROR_ALREADY_EXISTS, "D-Bus socket %s already exists",
                 socket_path);
    return NULL;
  }

  g_autoptr (GError) local = NULL;
  GDBusServer *server =
      g_dbus_server_new_sync (address, G_DBUS_SERVER_FLAGS_NONE, guid, observer, NULL, &local);
  if (server == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE, "cannot listen for D-Bus peers on %s: %s",
                 socket_path, local->message);
    return NULL;
  }
  if (chmod (socket_path, 0600) != 0) {
    int e = errno;
    g_object_unref (server);
    g_unlink (socket_path);
    g_set_error (error, AF_ERROR, AF_ERROR_INTERNAL, "cannot restrict D-Bus socket %s: %s",
                 socket_path, g_strerror (e));
    return NULL;
  }

  AfDBusPeerServer *self = g_new0 (AfDBusPeerServer, 1);
  self->server = server;
  self->bus_info = g_dbus_node_info_new_for_xml (bus_xml, NULL);
  self->observer = g_steal_pointer (&observer);
  self->socket_path = g_strdup (socket_path);
  self->address = g_steal_pointer (&address);
  self->callback = callback;
  self->user_data = user_data;
  g_signal_connect (server, "new-connection", G_CALLBACK (on_new_connection), self);
  g_dbus_server_start (server);
  return self;
}

const char *
af_dbus_peer_server_get_address (AfDBusPeerServer *server)
{
  return server->address;
}

void
af_dbus_peer_server_free (AfDBusPeerServer *server)
{
  if (server == NULL)
    return;
  g_signal_handlers_disconnect_by_data (server->server, server);
  g_dbus_server_stop (server->server);
  g_object_unref (server->server);
  g_object_unref (server->observer);
  g_dbus_node_info_unref (server->bus_info);
  g_unlink (server->socket_path);
  g_free (server->socket_path);
  g_free (server->address);
  g_free (server);
}

GDBusConnection *
af_dbus_peer_connect (const char *address, GCancellable *cancellable, GError **error)
{
  g_autoptr (GError) local = NULL;
  GDBusConnection *c = g_dbus_connection_new_for_address_sync (
      address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, cancellable, &local);
  if (c == NULL) {
    g_set_error (error, AF_ERROR, AF_ERROR_UNAVAILABLE, "cannot connect to D-Bus peer %s: %s",
                 address, local->message);
    return NULL;
  }
  return c;
}
