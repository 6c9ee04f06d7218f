#!/bin/sh
# Entrypoint of the sage-db image. On the first start (no cluster in $PGDATA) it runs initdb
# with the superuser password read from a file — there is no default password — then starts
# the server in the foreground. Written for dash with built-ins only: the image has no
# coreutils (the shell is there because initdb itself needs /bin/sh).
#
#   POSTGRES_PASSWORD_FILE  file whose first line is the superuser password
#                           (default /run/secrets/postgres_password); required on first start
#   POSTGRES_USER           superuser name (default postgres)
#   POSTGRES_DB             database created on first start (default: POSTGRES_USER)
#   PGDATA                  cluster directory (default /var/lib/postgresql/data/pgdata)
# Arguments are passed to postgres (e.g. -c shared_buffers=256MB).
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data/pgdata}
CONF=/etc/postgresql/postgresql.conf
STATE="$PGDATA.state"   # "initializing" while the first start runs, "ready" after it

fail() { echo "sage-db: $*" >&2; exit 1; }
check_name() {
  case $2 in
    '' | *[!a-z0-9_]* | [0-9]*) fail "$1 must be lower-case letters, digits and _ (got \"$2\")" ;;
  esac
}

state=
[ -f "$STATE" ] && read -r state <"$STATE" || true
if [ "$state" = initializing ]; then
  fail "the first-start initialisation of $PGDATA was interrupted; remove the data volume and start again"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  pwfile=${POSTGRES_PASSWORD_FILE:-/run/secrets/postgres_password}
  check_name POSTGRES_USER "$user"
  check_name POSTGRES_DB "$db"
  [ -r "$pwfile" ] || fail "no password file $pwfile (set POSTGRES_PASSWORD_FILE); there is no default password"
  password=
  read -r password <"$pwfile" || true
  [ ${#password} -ge 12 ] || fail "the password in $pwfile is shorter than 12 characters"
  unset password

  echo initializing >"$STATE"
  echo "sage-db: first start: initdb $PGDATA (superuser $user, database $db)" >&2
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 --data-checksums >&2
  if [ "$db" != postgres ]; then
    echo "CREATE DATABASE \"$db\" OWNER \"$user\";" |
      postgres --single -D "$PGDATA" -c config_file="$CONF" -j postgres >/dev/null
  fi
  echo ready >"$STATE"
fi

exec postgres -D "$PGDATA" -c config_file="$CONF" "$@"
