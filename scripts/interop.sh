#!/usr/bin/env bash
# Interop proof with clients nobody here wrote: the official `openai` npm package against the REST
# host, and @grpc/grpc-js (protos loaded from protos/) against the Service. Starts both hosts on
# free loopback ports on embedded defaults, runs `node --test`, and stops them.
# Usage: bash scripts/interop.sh [Release|Debug]   (build first; scripts/test.sh runs it after the xunit run)
# The Service is the AOT binary when MONKEY_SERVICE_BIN names it, else the built dll under dotnet.
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-Release}
gateway_dll="src/Gateway.Json/bin/$config/net10.0/monkey-coder-gateway.dll"
service_dll="src/Service/bin/$config/net10.0/monkey-coder-service.dll"
[ -f "$gateway_dll" ] || { echo "missing $gateway_dll: build the solution ($config) first" >&2; exit 1; }
[ -d node_modules/openai ] && [ -d node_modules/@anthropic-ai/sdk ] || npm ci --no-audit --no-fund --loglevel=error

logs=$(mktemp -d)
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
service_port=$(free_port)
gateway_port=$(free_port)
# Its own metrics port too: the default (9464) may belong to another Service on this machine.
metrics_port=$(free_port)
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT

# The hosts' bootstrap admin key; the clients authenticate with it as users would.
key="mk_interop000_0123456789abcdefghijklmnopqrstuvwxyzABCD"
# A clean environment for the hosts: embedded defaults, fast simulated generation.
host_env=(env -u DATABASE_URL -u REDIS_URL -u OPENAI_API_KEY -u ANTHROPIC_API_KEY -u GOOGLE_API_KEY -u GROQ_API_KEY -u XAI_API_KEY -u SENTRY_DSN
  MONKEY_CODER_ADMIN_API_KEY="$key" BIND_ADDRESS=127.0.0.1 ENVIRONMENT=test SIMULATED_FIRST_TOKEN_DELAY_MS=20 SIMULATED_TOKENS_PER_SECOND=2000
  AUTH_VERIFICATION_URI="http://127.0.0.1:$gateway_port/device")
# With the test PostgreSQL (scripts/services.sh), both hosts share one fresh database and JWT key, as
# two hosts of one deployment do: the device-page browser test needs the CLI's code (Service) and
# the page's approval (Gateway) in the same identity store.
device_test=0
if [ -n "${MONKEY_TEST_DATABASE_URL:-}" ] && [ -x /usr/bin/chromium ] && [ -d node_modules/playwright-core ]; then
  db="interop_$(date +%s)_$$"
  psql "$MONKEY_TEST_DATABASE_URL" -qAtc "CREATE DATABASE $db" >/dev/null
  host_env+=(DATABASE_URL="${MONKEY_TEST_DATABASE_URL%/*}/$db" JWT_SECRET_KEY="interop-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')")
  device_test=1
fi
if [ -n "${MONKEY_SERVICE_BIN:-}" ]; then
  "${host_env[@]}" PORT="$service_port" METRICS_PORT="$metrics_port" "$MONKEY_SERVICE_BIN" >"$logs/service.log" 2>&1 &
else
  "${host_env[@]}" PORT="$service_port" METRICS_PORT="$metrics_port" dotnet "$service_dll" >"$logs/service.log" 2>&1 &
fi
pids+=($!)
# A fake OpenAI upstream (tests/interop/fake-upstream.mjs) for the REST host's OpenAI provider: tool
# calls, images and response formats reach a provider speaking OpenAI's wire format. Reusable by
# other interop tests: its address is passed on as MONKEY_FAKE_UPSTREAM_URL.
upstream_port=$(free_port)
node tests/interop/fake-upstream.mjs "$upstream_port" >"$logs/upstream.log" 2>&1 &
pids+=($!)
# The REST host gets a low request limit so the openai client's 429 test can reach it.
"${host_env[@]}" PORT="$gateway_port" METRICS_PORT="$(free_port)" RATE_LIMIT_REQUESTS_PER_MINUTE=30 \
  OPENAI_API_KEY=interop-fake-key OPENAI_BASE_URL="http://127.0.0.1:$upstream_port/v1" dotnet "$gateway_dll" >"$logs/gateway.log" 2>&1 &
pids+=($!)

wait_port() {
  local port=$1 name=$2 log=$3
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$name did not listen on $port within 60 s:" >&2; cat "$log" >&2; exit 1
}
wait_port "$service_port" service "$logs/service.log"
wait_port "$upstream_port" fake-upstream "$logs/upstream.log"
wait_port "$gateway_port" gateway "$logs/gateway.log"

set +e
MONKEY_API_KEY="$key" MONKEY_AUTH_ENABLED=1 MONKEY_LIMITS_ENABLED=1 MONKEY_DEVICE_TEST="$device_test" MONKEY_CONFIGURATION="$config" \
MONKEY_GATEWAY_URL="http://127.0.0.1:$gateway_port" MONKEY_FAKE_UPSTREAM_URL="http://127.0.0.1:$upstream_port/v1" MONKEY_SERVICE_ADDRESS="127.0.0.1:$service_port" \
  node --test --test-reporter=spec tests/interop/openai.test.mjs tests/interop/anthropic.test.mjs tests/interop/grpc.test.mjs tests/interop/device-page.test.mjs \
  2>&1 | tee "$logs/node-test.log"
status=${PIPESTATUS[0]}
set -e
# Every test runs here: a test that skipped itself (an environment variable missing) is a failure;
# only the device page may skip, when no shared database was given (MONKEY_TEST_DATABASE_URL).
skipped=$(sed -nE 's/^ℹ skipped ([0-9]+)$/\1/p' "$logs/node-test.log" | tail -n 1)
if [ "${skipped:-0}" -gt $((1 - device_test)) ]; then
  echo "interop: $skipped test(s) skipped; every one must run in this script" >&2; status=1
fi
if grep -qE '^(fail|crit):' "$logs/service.log" "$logs/gateway.log"; then
  echo "a host logged errors:" >&2; grep -hE -A3 '^(fail|crit):' "$logs/service.log" "$logs/gateway.log" >&2; status=1
fi
[ "$status" = 0 ] || { echo "--- gateway log"; tail -40 "$logs/gateway.log"; echo "--- service log"; tail -40 "$logs/service.log"; }
exit "$status"
