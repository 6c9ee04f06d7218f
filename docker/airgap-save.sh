#!/usr/bin/env bash
# Writes one archive that installs Sage on a machine without network access:
#
#   docker/airgap-save.sh [-o sage-airgap.tar.gz]        (npm run airgap:save -- -o FILE)
#
# The archive holds one directory, sage-airgap/, with
#   images.tar    both images (localhost/sage:latest, localhost/sage-db:latest), `docker save`
#   compose.yaml  this repository's compose.yaml without its build sections
#   load.sh       loads the images and starts the stack (docker/airgap-load.sh)
#   INSTALL       the three commands to run
#   SHA256SUMS    checksums of the four files above (load.sh checks them first)
#
# Build the images first (`docker compose build`). Works with Docker or Podman:
# CONTAINER_ENGINE=docker|podman (default: docker when present, else podman).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out=$PWD/sage-airgap.tar.gz
while (($#)); do
  case $1 in
    -o | --output) out=$(realpath -m "$2"); shift 2 ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "airgap-save: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

engine=${CONTAINER_ENGINE:-$(command -v docker >/dev/null 2>&1 && echo docker || echo podman)}
images=(localhost/sage:latest localhost/sage-db:latest)
for image in "${images[@]}"; do
  "$engine" image inspect "$image" >/dev/null 2>&1 ||
    { echo "airgap-save: image $image not found in $engine; build it first: docker compose build" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bundle=$work/sage-airgap
mkdir -p "$bundle"

echo "airgap-save: saving ${images[*]} ($engine)"
if [[ $(basename "$engine") == podman ]]; then
  "$engine" save --format docker-archive --multi-image-archive -o "$bundle/images.tar" "${images[@]}"
else
  "$engine" save -o "$bundle/images.tar" "${images[@]}"
fi

# The air-gapped host has the images and no build context: drop the build sections, so that
# nothing can trigger a build (or a pull) there.
awk '
  /^    build:/ { skipping = 1; next }
  skipping && /^      / { next }
  { skipping = 0; print }
' "$root/compose.yaml" >"$bundle/compose.yaml"
if grep -q '^ *build:' "$bundle/compose.yaml"; then
  echo "airgap-save: could not remove the build sections from compose.yaml" >&2
  exit 1
fi

install -m 0755 "$here/airgap-load.sh" "$bundle/load.sh"
cat >"$bundle/INSTALL" <<'EOF'
Sage, air-gapped install (no network needed)

  tar -xzf sage-airgap.tar.gz
  cd sage-airgap
  ./load.sh            # checks SHA256SUMS, loads both images, runs `docker compose up -d`

Then:
  docker compose ps                                  # sage-db and sage: healthy
  docker exec -i sage /sage stdio                    # MCP over stdio
  docker exec sage /sage token --sub NAME --scope memory:read,memory:write --ttl 30d
  HTTP (MCP Streamable HTTP): http://127.0.0.1:8080/mcp with "Authorization: Bearer TOKEN"

Podman: CONTAINER_ENGINE=podman ./load.sh (uses podman-compose).
Secrets are generated on the first start and kept in the volumes sage_sage-secrets and
sage_sage-db-secrets; data lives in sage_sage-db-data.
EOF
(cd "$bundle" && sha256sum images.tar compose.yaml load.sh INSTALL >SHA256SUMS)

mkdir -p "$(dirname "$out")"
tar -C "$work" -czf "$out.tmp" sage-airgap
mv "$out.tmp" "$out"
echo "airgap-save: wrote $out ($(du -h "$out" | cut -f1))"
