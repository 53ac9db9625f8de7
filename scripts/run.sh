#!/usr/bin/env bash
# Runs Monkey Coder on embedded defaults (no database, Redis or provider keys needed):
# the gRPC Service on :50051 (HTTP/2) and the REST host on :8080 (HTTP/1.1). Ctrl-C stops both.
# Set DATABASE_URL, REDIS_URL or provider keys (OPENAI_API_KEY, …) in the environment to use them.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build Grpc.sln -c Release -nologo -v quiet -clp:NoSummary >/dev/null
GRPC_PORT=${GRPC_PORT:-50051}
REST_PORT=${REST_PORT:-8080}
# One admin key for both hosts (their embedded stores are separate): chosen here unless given.
if [ -z "${MONKEY_CODER_ADMIN_API_KEY:-}" ]; then
  MONKEY_CODER_ADMIN_API_KEY="mk_$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
  printf '\nAdmin API key for this run (both hosts): %s\n  export KEY=%s\n\n' "$MONKEY_CODER_ADMIN_API_KEY" "$MONKEY_CODER_ADMIN_API_KEY"
fi
export MONKEY_CODER_ADMIN_API_KEY
PORT=$GRPC_PORT dotnet src/Service/bin/Release/net10.0/monkey-coder-service.dll &
service=$!
PORT=$REST_PORT dotnet src/Gateway.Json/bin/Release/net10.0/monkey-coder-gateway.dll &
gateway=$!
trap 'kill $service $gateway 2>/dev/null; wait' INT TERM EXIT
echo "gRPC: http://127.0.0.1:$GRPC_PORT   REST: http://127.0.0.1:$REST_PORT"
wait -n
