#!/usr/bin/env bash
# Runs every marked sample in docs/ against a fresh Service + Gateway and checks the references
# are complete (see scripts/docs-check.py). Needs: a Release build, protoc + grpc_python_plugin +
# python3-grpcio (Debian), node_modules (npm ci). Uses MONKEY_SERVICE_BIN (the AOT binary) when set,
# and MONKEY_TEST_DATABASE_URL (scripts/services.sh) for the backup drill sample.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 scripts/docs-check.py "$@"
