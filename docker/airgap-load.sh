#!/usr/bin/env bash
# Loads the images of an air-gapped bundle and starts Sage, with no network access:
#
#   ./load.sh                                  (inside the extracted sage-airgap/ directory)
#   docker/airgap-load.sh sage-airgap.tar.gz   (npm run airgap:load -- FILE; extracts it first)
#
# Checks SHA256SUMS, loads images.tar, then starts compose.yaml detached. Nothing is pulled or
# built. CONTAINER_ENGINE=docker|podman (default: docker when present, else podman); with
# podman the stack is started by podman-compose. COMPOSE_PROJECT (default sage) names the
# project, hence the volumes (sage_sage-db-data, ...). --no-start only loads the images.
set -euo pipefail

start=true
archive=
while (($#)); do
  case $1 in
    --no-start) start=false; shift ;;
    -h | --help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "airgap-load: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) archive=$1; shift ;;
  esac
done

if [[ -n "$archive" ]]; then
  [[ -f "$archive" ]] || { echo "airgap-load: no such file $archive" >&2; exit 1; }
  dest=$(dirname "$(realpath "$archive")")
  tar -C "$dest" -xzf "$archive"
  dir=$dest/sage-airgap
else
  dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fi
cd "$dir"
[[ -f SHA256SUMS && -f images.tar && -f compose.yaml ]] ||
  { echo "airgap-load: $dir is not an air-gapped bundle (SHA256SUMS, images.tar, compose.yaml)" >&2; exit 1; }

echo "airgap-load: checking SHA256SUMS"
sha256sum --quiet -c SHA256SUMS

engine=${CONTAINER_ENGINE:-$(command -v docker >/dev/null 2>&1 && echo docker || echo podman)}
echo "airgap-load: loading images.tar ($engine)"
"$engine" load -i images.tar

$start || exit 0
project=${COMPOSE_PROJECT:-sage}
echo "airgap-load: starting the stack (project $project)"
if [[ $(basename "$engine") == podman ]]; then
  podman-compose -p "$project" -f compose.yaml up -d --no-build
else
  docker compose -p "$project" -f compose.yaml up -d --no-build
fi
# podman-compose exits 0 even when a container cannot start: check that both run.
for name in sage-db sage; do
  state=
  for _ in $(seq 60); do
    state=$("$engine" inspect --format '{{.State.Status}}' "$name" 2>/dev/null || true)
    [[ "$state" == running ]] && break
    sleep 1
  done
  [[ "$state" == running ]] || { echo "airgap-load: container $name is ${state:-missing}; see: $engine logs $name" >&2; exit 1; }
done
echo "airgap-load: started; \`$engine ps\` shows sage-db and sage becoming healthy"
