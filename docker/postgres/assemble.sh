#!/bin/bash
# Runs in the builder stage of Dockerfile.postgres (debian:bookworm-slim): downloads the
# Debian 12 packages of PostgreSQL 15 and of the libraries its server, initdb and pg_isready
# link against, extracts them (nothing is installed, no maintainer script runs) and copies
# only the files those three programs need into /rootfs, which the final stage lays over
# gcr.io/distroless/cc-debian12 (that already holds libc6, libgcc-s1, libstdc++6, libssl3,
# tzdata, ca-certificates, netbase and base-files).
#
# Left out on purpose: the LLVM JIT (llvmjit.so, bitcode, libllvm14 ~100 MB), perl, every
# client program but pg_isready, every contrib module and extension, replication and logical
# decoding plugins, translations, man pages and docs (each package's copyright file stays).
# Kept: plpgsql (initdb installs it), dict_snowball + tsearch_data (the text-search
# configurations initdb creates, used by full-text search), the encoding conversion modules.
set -euo pipefail

POSTGRES_PACKAGES=(postgresql-15 postgresql-client-15)
# /bin/sh: initdb starts the bootstrap backend and probes `postgres -V` through popen(3),
# i.e. /bin/sh -c, so a shell is required; dash (~130 kB) is the smallest in Debian. The
# entrypoint uses it too, with built-ins only (no coreutils in the image).
SHELL_PACKAGES=(dash)
# The C.UTF-8 locale (glibc 2.36 does not build it in): the cluster's LC_CTYPE, so that
# lower() and the text-search parser handle non-ASCII letters; and `locale`, which initdb
# runs (`locale -a`) to import the system collations. Both from libc-bin, nothing else.
LOCALE_PACKAGES=(libc-bin)
# The shared-library closure of postgres, initdb and pg_isready minus what distroless cc
# already has. A missing one fails the build (final stage: `postgres --version` etc.).
LIBRARY_PACKAGES=(
  libpq5 libicu72 libxml2 libzstd1 liblz4-1 liblzma5 zlib1g libsystemd0 libgcrypt20 libgpg-error0
  libcap2 libpam0g libaudit1 libcap-ng0 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0
  libkeyutils1 libcom-err2 libldap-2.5-0 libsasl2-2 libgnutls30 libp11-kit0 libffi8 libidn2-0
  libunistring2 libtasn1-6 libnettle8 libhogweed6 libgmp10
)

apt-get update -q
mkdir -p /debs /stage /rootfs
cd /debs
apt-get download -q "${POSTGRES_PACKAGES[@]}" "${SHELL_PACKAGES[@]}" "${LOCALE_PACKAGES[@]}" "${LIBRARY_PACKAGES[@]}"
for deb in /debs/*.deb; do dpkg-deb -x "$deb" /stage; done

R=/rootfs
PG=usr/lib/postgresql/15
install -d "$R/$PG/bin" "$R/$PG/lib" "$R/usr/share/postgresql" "$R/usr/share/doc"

# programs
cp -a /stage/$PG/bin/{postgres,initdb,pg_isready} "$R/$PG/bin/"
# server modules: procedural language, snowball stemmers, encoding conversions
cp -a /stage/$PG/lib/{plpgsql.so,dict_snowball.so,euc2004_sjis2004.so} /stage/$PG/lib/*_and_*.so "$R/$PG/lib/"
# share: catalogs and SQL initdb loads, configuration samples it reads, timezone sets,
# text-search data; of the extensions only plpgsql
cp -a /stage/usr/share/postgresql/15 "$R/usr/share/postgresql/"
find "$R/usr/share/postgresql/15/extension" -type f ! -name 'plpgsql*' -delete
rm -rf "$R/usr/share/postgresql/15/man"

# shared libraries, at /usr/lib/<triplet> whether the package put them under /lib or /usr/lib
for dir in /stage/lib/*-linux-gnu* /stage/usr/lib/*-linux-gnu*; do
  [[ -d "$dir" ]] || continue
  triplet=${dir##*/}
  install -d "$R/usr/lib/$triplet"
  find "$dir" -maxdepth 1 \( -type f -o -type l \) -name '*.so.*' -exec cp -a {} "$R/usr/lib/$triplet/" \;
done

# the shell
install -d "$R/bin"
cp -a /stage/bin/dash "$R/bin/dash"
ln -s dash "$R/bin/sh"

# the locale
install -d "$R/usr/lib/locale" "$R/usr/bin"
cp -a /stage/usr/lib/locale/C.utf8 "$R/usr/lib/locale/"
cp -a /stage/usr/bin/locale "$R/usr/bin/locale"

# licence notices of everything copied, and the package records that vulnerability scanners
# read in distroless images (/var/lib/dpkg/status.d/<package>)
install -d "$R/var/lib/dpkg/status.d"
for deb in /debs/*.deb; do
  pkg=$(dpkg-deb -f "$deb" Package)
  dpkg-deb -f "$deb" >"$R/var/lib/dpkg/status.d/$pkg"
  if [[ -f "/stage/usr/share/doc/$pkg/copyright" ]]; then
    install -D -m 0644 "/stage/usr/share/doc/$pkg/copyright" "$R/usr/share/doc/$pkg/copyright"
  fi
done

# the postgres user (uid/gid 999, as in the official image, so existing volumes keep
# their ownership) beside distroless's root, nobody and nonroot
install -d "$R/etc"
cat >"$R/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
postgres:x:999:999:PostgreSQL:/var/lib/postgresql:/sbin/nologin
PASSWD
cat >"$R/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
postgres:x:999:
GROUP

# the data volume's mount point, owned by postgres (a new named volume copies it)
install -d -m 0700 -o 999 -g 999 "$R/var/lib/postgresql" "$R/var/lib/postgresql/data"

du -sh "$R"
