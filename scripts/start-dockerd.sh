#!/bin/sh
# Starts Debian's dockerd in the background if no engine answers, and waits
# until it does (at most 60 s). Exit 0 when an engine is usable.
set -u
command -v docker >/dev/null 2>&1 || exit 1
if docker info >/dev/null 2>&1; then exit 0; fi
command -v dockerd >/dev/null 2>&1 || exit 1
log=/var/log/agentfense-test-dockerd.log
nohup dockerd >"$log" 2>&1 &
i=0
while [ $i -lt 120 ]; do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 0.5
  i=$((i + 1))
done
echo "start-dockerd: dockerd did not answer within 60 s (see $log)" >&2
exit 1
