# shellcheck shell=bash
# Throwaway PostgreSQL 15 and redis-server for tests that run without Docker, on random free ports on
# 127.0.0.1, in one temporary directory. Sourced by scripts/test-sample-backend and
# scripts/test-fixture-apps. Both servers are stopped by PID and their files removed on exit.
#
#   services_setup NAME [postgresql] [redis]  install missing Debian packages, make the work dir, set traps
#   services_start_postgres                   start the cluster (sets services_pg_port)
#   services_create_database NAME             role NAME owning database NAME; prints its URL
#   services_start_redis                      start redis-server, export REDIS_URL
#
# Call the start functions directly, not in $(...): they set the PIDs that the exit trap stops.
# Needs node (to find free ports and make passwords). Messages go to stderr, prefixed by NAME.

services_pg_bin=/usr/lib/postgresql/15/bin
services_name=services
services_work=
services_pg_pid=
services_pg_port=
services_redis_pid=

services_say() { echo "$services_name: $*" >&2; }

services_install_missing() {
  local packages=() want
  for want in "$@"; do
    case $want in
      postgresql) [ -x "$services_pg_bin/initdb" ] || packages+=(postgresql-15) ;;
      redis) command -v redis-server >/dev/null || packages+=(redis-server) ;;
      *) services_say "unknown service '$want' (use postgresql or redis)"; exit 2 ;;
    esac
  done
  [ ${#packages[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    services_say "missing ${packages[*]}; run as root or install them: apt-get install -y ${packages[*]}"
    exit 2
  fi
  # Refresh the package lists only when apt does not know a package yet (e.g. a fresh image).
  local package
  for package in "${packages[@]}"; do
    if ! apt-cache show "$package" >/dev/null 2>&1; then
      apt-get update -q
      break
    fi
  done
  services_say "installing ${packages[*]}"
  # NEEDRESTART_SUSPEND: no service-restart report from needrestart's apt hook in the test output.
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -q --no-install-recommends "${packages[@]}"
}

services_free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

services_random_secret() {
  node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))'
}

# PostgreSQL refuses to run as root: run its tools as the postgres user when we are root.
services_as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

services_stop_pid() {
  local pid=$1 signal=$2
  kill -0 "$pid" 2>/dev/null || return 0
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  services_say "PID $pid did not stop after SIG$signal, killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

services_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
  [ -n "$services_pg_pid" ] && services_stop_pid "$services_pg_pid" INT
  [ -n "$services_redis_pid" ] && services_stop_pid "$services_redis_pid" TERM
  [ -n "$services_work" ] && rm -rf "$services_work"
  exit "$status"
}

services_setup() {
  services_name=$1
  shift
  trap services_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  services_install_missing "$@"
  command -v node >/dev/null || { services_say "node (Node.js 20) is required"; exit 2; }
  services_work=$(mktemp -d "${TMPDIR:-/tmp}/$services_name.XXXXXX")
  chmod 755 "$services_work"
}

services_start_postgres() {
  local pg=$services_work/pg
  mkdir "$pg"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$pg"
  services_pg_port=$(services_free_port)
  # The superuser's password is never used (local connections are trusted) but must not be guessable.
  services_random_secret >"$pg/pwfile"
  chmod 600 "$pg/pwfile"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$pg/pwfile"
  services_as_postgres "$services_pg_bin/initdb" --pgdata="$pg/data" --username=postgres --pwfile="$pg/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --no-instructions >"$pg/initdb.log" \
    || { cat "$pg/initdb.log" >&2; exit 1; }
  services_as_postgres "$services_pg_bin/pg_ctl" --pgdata="$pg/data" --log="$pg/server.log" --wait --timeout=60 \
    --options="-c listen_addresses=127.0.0.1 -p $services_pg_port -k $pg -c fsync=off" start >/dev/null \
    || { cat "$pg/server.log" >&2; exit 1; }
  services_pg_pid=$(head -n1 "$pg/data/postmaster.pid")
  services_say "PostgreSQL $("$services_pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$services_pg_port (PID $services_pg_pid)"
}

# An app connects as an unprivileged owner of its database, like in a real deployment (CREATEDB for
# Prisma's shadow database).
services_create_database() {
  local name=$1 password
  password=$(services_random_secret)
  services_as_postgres psql -q -h "$services_work/pg" -p "$services_pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE \"$name\" LOGIN CREATEDB PASSWORD '$password'" -c "CREATE DATABASE \"$name\" OWNER \"$name\"" >&2
  echo "postgresql://$name:$password@127.0.0.1:$services_pg_port/$name"
}

services_start_redis() {
  local redis=$services_work/redis port
  mkdir "$redis"
  port=$(services_free_port)
  redis-server --bind 127.0.0.1 --port "$port" --dir "$redis" --save '' --appendonly no \
    --daemonize yes --pidfile "$redis/redis.pid" --logfile "$redis/redis.log"
  for _ in $(seq 1 100); do
    [ -s "$redis/redis.pid" ] && redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
  services_redis_pid=$(cat "$redis/redis.pid" 2>/dev/null || true)
  [ -n "$services_redis_pid" ] || { cat "$redis/redis.log" >&2; services_say "redis-server did not start"; exit 1; }
  services_say "Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:$port (PID $services_redis_pid)"
  export REDIS_URL="redis://127.0.0.1:$port"
}
