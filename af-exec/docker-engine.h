/* docker-engine.h — the few Docker Engine API calls the Docker runtime
 * makes, over the engine's unix socket (Podman's compatible socket works
 * the same).
 *
 * Owns: finding the endpoint (DOCKER_HOST, unix:// only, else
 * /var/run/docker.sock), the pinned API version, and turning the engine's
 * answers into errors that name what is missing (the engine, the image).
 * Must never: pull an image, talk to a non-unix endpoint, or wait without
 * a deadline. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The API version every path is pinned to: Docker 20.10 and Podman 3+
 * serve it; an older engine answers with its own version error. An engine
 * that no longer serves it (Docker 29: minimum 1.44) is asked again at
 * the minimum it names, once: our calls mean the same there. */
#define AF_DOCKER_API_VERSION "v1.41"
#define AF_DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"

typedef struct _AfDockerEngine AfDockerEngine;

/* The engine named by @docker_host (the value of DOCKER_HOST; NULL or ""
 * for the default socket). AF_ERROR_INVALID_ARGUMENT for any scheme but
 * unix://. */
AfDockerEngine *af_docker_engine_new (const char *docker_host, GError **error);
void af_docker_engine_free (AfDockerEngine *engine);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AfDockerEngine, af_docker_engine_free)

const char *af_docker_engine_socket (AfDockerEngine *engine);

/* GET /_ping: whether an engine answers, and which. AF_ERROR_UNAVAILABLE
 * when none does or it is not healthy. */
gboolean af_docker_engine_ping (AfDockerEngine *engine, GError **error);

/* Whether the last ping found Podman's compatible service rather than
 * dockerd. Its compat layer differs in one place we use: a SecurityOpt
 * `seccomp=` value names a profile file, where dockerd takes the
 * profile's JSON itself (what the docker CLI sends). */
gboolean af_docker_engine_is_podman (AfDockerEngine *engine);

/* POST /containers/create?name=@name with @config (a Config with its
 * HostConfig; @image is the one it names, for the error). Returns the
 * container's full id. AF_ERROR_ALREADY_EXISTS when the name is taken,
 * AF_ERROR_NOT_FOUND when the image is not there (never pulled),
 * AF_ERROR_UNAVAILABLE when no engine answers. */
char *af_docker_engine_create (AfDockerEngine *engine, const char *name, JsonNode *config,
                               const char *image, GError **error);

/* GET /containers/@name/json: its Config.Labels in @labels (a new
 * reference; empty when it has none), or NULL when there is no such
 * container. */
gboolean af_docker_engine_labels (AfDockerEngine *engine, const char *name, JsonObject **labels,
                                  GError **error);

/* GET /containers/json?all=1 filtered to containers carrying @label that
 * were created and never started: each as the engine lists it (an object
 * with a valid 64-hex "Id" and its "Labels"). */
GPtrArray *af_docker_engine_list_created (AfDockerEngine *engine, const char *label,
                                          GError **error);

/* POST /containers/@id/start. */
gboolean af_docker_engine_start (AfDockerEngine *engine, const char *id, GError **error);

/* DELETE /containers/@id_or_name?force=1 (killed if running). A container
 * that is already gone, or being removed, is success. */
gboolean af_docker_engine_remove (AfDockerEngine *engine, const char *id_or_name, GError **error);

G_END_DECLS
