/* test-activation.c — socket activation: af_activation_listen_fds reads and
 * clears the LISTEN_FDS protocol, and af_grpc_server_listen_fd serves
 * inherited listening sockets — a unix one (peers keep their SO_PEERCRED
 * identity) and a TCP one (peers are addresses). Each case runs in a
 * subprocess, since it owns fds 3 and 4 and the environment.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "af-activation.h"
#include "af-error.h"
#include "af-grpc-client.h"
#include "test-service.h"

static void
set_listen_env (const char *pid, const char *fds)
{
  g_setenv ("LISTEN_PID", pid, TRUE);
  g_setenv ("LISTEN_FDS", fds, TRUE);
}

static void
assert_env_cleared (void)
{
  g_assert_null (g_getenv ("LISTEN_PID"));
  g_assert_null (g_getenv ("LISTEN_FDS"));
}

static void
test_none (void)
{
  g_autoptr (GError) error = NULL;
  g_unsetenv ("LISTEN_PID");
  g_unsetenv ("LISTEN_FDS");
  g_assert_cmpint (af_activation_listen_fds (&error), ==, 0);
  g_assert_no_error (error);
}

static void
test_other_pid (void)
{
  if (g_test_subprocess ()) {
    g_autoptr (GError) error = NULL;
    g_autofree char *other = g_strdup_printf ("%d", (int)getpid () + 1);
    set_listen_env (other, "2");
    g_assert_cmpint (af_activation_listen_fds (&error), ==, 0);
    g_assert_no_error (error);
    assert_env_cleared ();
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_malformed (void)
{
  if (g_test_subprocess ()) {
    g_autoptr (GError) error = NULL;
    g_autofree char *self = g_strdup_printf ("%d", (int)getpid ());
    set_listen_env (self, "two");
    g_assert_cmpint (af_activation_listen_fds (&error), ==, -1);
    g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static Aftest__V1__TestReply *
echo (const char *endpoint)
{
  g_autoptr (GError) error = NULL;
  Aftest__V1__TestRequest req = AFTEST__V1__TEST_REQUEST__INIT;
  AfGrpcCallOptions opts = { .timeout_ms = 10000 };
  ProtobufCMessage *reply = NULL;
  req.text = (char *)"activated";
  AfGrpcChannel *channel = af_grpc_channel_new (endpoint, NULL, &error);
  g_assert_no_error (error);
  af_grpc_channel_call_unary (channel, TEST_ECHO, &req.base, &aftest__v1__test_reply__descriptor,
                              &opts, &reply, NULL, &error);
  g_assert_no_error (error);
  af_grpc_channel_unref (channel);
  return (Aftest__V1__TestReply *)reply;
}

/* Put @fd at @target (which may be @fd itself, or the other socket's
 * number before it moved). */
static void
move_fd (int fd, int target)
{
  int high = fcntl (fd, F_DUPFD, 64);
  g_assert_cmpint (high, >=, 64);
  close (fd);
  g_assert_cmpint (dup2 (high, target), ==, target);
  close (high);
}

/* The sockets a service manager would pass: bound, listening, at 3 and 4. */
static int
make_sockets (const char *path)
{
  struct sockaddr_un un = { .sun_family = AF_UNIX };
  g_assert_cmpuint (strlen (path), <, sizeof un.sun_path);
  strcpy (un.sun_path, path);
  int u = socket (AF_UNIX, SOCK_STREAM, 0);
  g_assert_cmpint (u, >=, 0);
  g_assert_cmpint (bind (u, (struct sockaddr *)&un, sizeof un), ==, 0);
  g_assert_cmpint (listen (u, 16), ==, 0);
  move_fd (u, 3);

  struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof in;
  int t = socket (AF_INET, SOCK_STREAM, 0);
  g_assert_cmpint (t, >=, 0);
  g_assert_cmpint (bind (t, (struct sockaddr *)&in, sizeof in), ==, 0);
  g_assert_cmpint (listen (t, 16), ==, 0);
  g_assert_cmpint (getsockname (t, (struct sockaddr *)&in, &len), ==, 0);
  move_fd (t, 4);
  return ntohs (in.sin_port);
}

static void
test_serves (void)
{
  if (g_test_subprocess ()) {
    g_autoptr (GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp ("af-activation-XXXXXX", &error);
    g_assert_no_error (error);
    g_autofree char *path = g_build_filename (dir, "act.sock", NULL);
    int tcp_port = make_sockets (path);
    g_autofree char *self = g_strdup_printf ("%d", (int)getpid ());
    set_listen_env (self, "2");

    int n = af_activation_listen_fds (&error);
    g_assert_no_error (error);
    g_assert_cmpint (n, ==, 2);
    assert_env_cleared ();
    g_assert_cmpint (fcntl (3, F_GETFD) & FD_CLOEXEC, !=, 0);

    TestServer *ts = test_server_start (NULL);
    int port = -1;
    g_assert_true (af_grpc_server_listen_fd (ts->server, 3, &port, &error));
    g_assert_no_error (error);
    g_assert_cmpint (port, ==, 0);
    g_assert_true (af_grpc_server_listen_fd (ts->server, 4, &port, &error));
    g_assert_no_error (error);
    g_assert_cmpint (port, ==, tcp_port);

    /* Over the unix socket the caller is known by uid, as on a socket the
     * server bound itself. */
    g_autofree char *unix_ep = g_strconcat ("unix:", path, NULL);
    Aftest__V1__TestReply *r = echo (unix_ep);
    g_assert_cmpstr (r->text, ==, "activated");
    g_assert_cmpint (r->uid, ==, (gint64)getuid ());
    g_assert_cmpstr (r->peer, ==, unix_ep);
    protobuf_c_message_free_unpacked (&r->base, NULL);

    /* Over TCP only by address. */
    g_autofree char *tcp_ep = g_strdup_printf ("127.0.0.1:%d", tcp_port);
    r = echo (tcp_ep);
    g_assert_cmpint (r->uid, ==, -1);
    g_assert_true (g_str_has_prefix (r->peer, "ipv4:127.0.0.1:"));
    protobuf_c_message_free_unpacked (&r->base, NULL);

    test_server_stop (ts, 1000);
    /* The path belongs to whoever created the socket: never unlinked. */
    g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
    g_assert_cmpint (fcntl (3, F_GETFD), ==, -1); /* the server closed its fds */
    unlink (path);
    rmdir (dir);
    return;
  }
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_rejects_non_listening (void)
{
  g_autoptr (GError) error = NULL;
  int sv[2];
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
  TestServer *ts = test_server_start (NULL);
  g_assert_false (af_grpc_server_listen_fd (ts->server, sv[0], NULL, &error));
  g_assert_error (error, AF_ERROR, AF_ERROR_INVALID_ARGUMENT);
  /* Owned, so closed: the peer reads end-of-file. (Testing the fd number
   * itself races with grpc's threads, which may reuse it at once.) */
  g_assert_cmpint (fcntl (sv[1], F_SETFL, O_NONBLOCK), ==, 0);
  char byte;
  g_assert_cmpint (read (sv[1], &byte, 1), ==, 0);
  close (sv[1]);
  test_server_stop (ts, 1000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/activation/none", test_none);
  g_test_add_func ("/activation/other-pid", test_other_pid);
  g_test_add_func ("/activation/malformed", test_malformed);
  g_test_add_func ("/activation/serves-unix-and-tcp", test_serves);
  g_test_add_func ("/activation/rejects-non-listening", test_rejects_non_listening);
  return g_test_run ();
}
