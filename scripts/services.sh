#!/usr/bin/env bash
# Starts (or stops) a throwaway PostgreSQL and Redis on loopback for one test run.
#   source scripts/services.sh start   → exports MONKEY_TEST_DATABASE_URL, MONKEY_TEST_REDIS_URL,
#                                        MONKEY_TEST_PG_BIN, MONKEY_TEST_PG_DATA, MONKEY_TEST_PG_PORT
#   scripts/services.sh stop           → stops both and deletes their data
# State lives under ${MONKEY_TEST_STATE:-/tmp/monkey-coder-test}; every wait is bounded.
set -u
# One state folder per checkout, so several checkouts can run tests at once.
state=${MONKEY_TEST_STATE:-/tmp/monkey-coder-test-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd | md5sum | cut -c1-8)}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start() {
  stop >/dev/null 2>&1
  mkdir -p "$state"
  chmod 777 "$state"
  local pg_port redis_port
  pg_port=$(free_port)
  redis_port=$(free_port)

  # PostgreSQL: initdb/pg_ctl refuse to run as root, so they run as the postgres user.
  local run_pg=()
  [ "$(id -u)" = 0 ] && run_pg=(runuser -u postgres --)
  "${run_pg[@]}" "$pg_bin/initdb" -D "$state/pg" -A trust -U postgres -E UTF8 >"$state/initdb.log" 2>&1 || { cat "$state/initdb.log"; return 1; }
  "${run_pg[@]}" "$pg_bin/pg_ctl" -D "$state/pg" -l "$state/pg.log" -w -t 30 \
    -o "-p $pg_port -k $state -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null || { cat "$state/pg.log"; return 1; }
  "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -q -c "CREATE DATABASE monkeycoder" >/dev/null

  redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
    --dir "$state" --pidfile "$state/redis.pid" --logfile "$state/redis.log" >/dev/null
  for _ in $(seq 1 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$redis_port" ping >/dev/null || { cat "$state/redis.log"; return 1; }

  export MONKEY_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/monkeycoder"
  export MONKEY_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
  export MONKEY_TEST_PG_BIN="$pg_bin" MONKEY_TEST_PG_DATA="$state/pg" MONKEY_TEST_PG_PORT="$pg_port"
  echo "PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port"
}

stop() {
  if [ -f "$state/pg/postmaster.pid" ]; then
    local run_pg=()
    [ "$(id -u)" = 0 ] && run_pg=(runuser -u postgres --)
    "${run_pg[@]}" "$pg_bin/pg_ctl" -D "$state/pg" -m immediate -w -t 20 stop >/dev/null 2>&1
  fi
  if [ -f "$state/redis.pid" ]; then
    kill "$(cat "$state/redis.pid")" 2>/dev/null
  fi
  rm -rf "$state"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: scripts/services.sh start|stop" >&2; return 2 2>/dev/null || exit 2 ;;
esac
