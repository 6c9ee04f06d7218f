# shellcheck shell=bash
# Source this file to point podman, buildah and podman-compose at the project's own
# configuration and at storage inside the work tree (nothing under /etc or /var/lib is used):
#   . test/containers/env.sh
# SAGE_CONTAINERS_DIR (default: <repo>/.tmp/containers) holds the image store, the run root,
# the network definitions and the generated storage.conf and containers.conf.
_sage_containers_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SAGE_REPO_ROOT=${SAGE_REPO_ROOT:-$(cd "$_sage_containers_here/../.." && pwd)}
export SAGE_CONTAINERS_DIR=${SAGE_CONTAINERS_DIR:-$SAGE_REPO_ROOT/.tmp/containers}
mkdir -p "$SAGE_CONTAINERS_DIR/storage" "$SAGE_CONTAINERS_DIR/run"
cat >"$SAGE_CONTAINERS_DIR/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$SAGE_CONTAINERS_DIR/storage"
runroot = "$SAGE_CONTAINERS_DIR/run"
CONF
# containers.conf: the static settings of this directory plus the network settings, whose
# configuration directory must be an absolute path inside SAGE_CONTAINERS_DIR. netavark with
# aardvark-dns gives containers on a compose network DNS names (sage-db); CNI has none here.
mkdir -p "$SAGE_CONTAINERS_DIR/networks"
{
  cat "$_sage_containers_here/containers.conf"
  printf '\n[network]\nnetwork_backend = "netavark"\nnetwork_config_dir = "%s"\n' "$SAGE_CONTAINERS_DIR/networks"
} >"$SAGE_CONTAINERS_DIR/containers.conf"
export CONTAINERS_CONF="$SAGE_CONTAINERS_DIR/containers.conf"
export CONTAINERS_STORAGE_CONF="$SAGE_CONTAINERS_DIR/storage.conf"
unset _sage_containers_here
