#!/usr/bin/env bash
# Builds the two images exactly from Dockerfile.distroless and Dockerfile.postgres (unchanged)
# on top of the local base stand-ins (bases.sh), with --pull=never, and tags them as
# compose.yaml names them: sage:latest and sage-db:latest. Prints their sizes.
#
#   test/containers/build.sh [--force-bases]
#   SAGE_REUSE_IMAGES=1 keeps images that exist (for iterating on the tests, never in CI).
#
# Docker format (not OCI): only it carries HEALTHCHECK and STOPSIGNAL, as `docker build` does.
# The build containers reach the npm registry and the Debian mirror like any build. Where this
# machine's outbound TLS is intercepted by a local CA (as on these CI machines), the host's CA
# bundle is mounted into the RUN steps and npm is pointed at it — build-time environment
# only, nothing of it ends up in an image.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
cd "$SAGE_REPO_ROOT"

"$here/bases.sh" ${1:+--force}

build_volumes=()
host_ca=/etc/ssl/certs/ca-certificates.crt
if [[ -s "$host_ca" ]]; then
  printf 'cafile=%s\n' "$host_ca" >"$SAGE_CONTAINERS_DIR/npmrc"
  build_volumes+=(-v "$host_ca:$host_ca:ro" -v "$SAGE_CONTAINERS_DIR/npmrc:/usr/local/etc/npmrc:ro")
fi

build() {
  local tag=$1 file=$2 t0=$SECONDS name=${1##*/}
  if [[ "${SAGE_REUSE_IMAGES:-}" == 1 ]] && podman image exists "$tag"; then
    echo "build: $tag exists (SAGE_REUSE_IMAGES=1)"
    return
  fi
  local log="$SAGE_CONTAINERS_DIR/build-${name%%:*}.log"
  echo "build: $tag from $file"
  if ! podman build --pull=never --format docker --layers=false "${build_volumes[@]}" \
    -f "$file" -t "$tag" . >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "build: $tag failed (log: $log)" >&2
    return 1
  fi
  echo "build: $tag done in $((SECONDS - t0)) s"
}

build localhost/sage-db:latest Dockerfile.postgres
build localhost/sage:latest Dockerfile.distroless
podman image prune -f >/dev/null # the builder stages
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^localhost/sage(-db)?:latest ' | sed 's/^/size: /'
