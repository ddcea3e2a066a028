#!/bin/sh
# The README's first command: installs what is missing, builds, and starts
# afd-server in the foreground on embedded defaults (state in the default
# state dir, sockets in the default runtime dir, TCP on 127.0.0.1:9000).
# Extra arguments go to afd-server (e.g. --listen none, --log-level debug).
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh build
[ -f build/build.ninja ] || meson setup build
ninja -C build
server=build/afd-server/afd-server
if [ ! -x "$server" ]; then
  echo "run-server: afd-server is not part of this build yet; nothing to start." >&2
  exit 1
fi
exec "$server" "$@"
