#!/usr/bin/env bash
# Runs every check on a fresh Debian machine: installs what is missing, starts PostgreSQL and
# Redis on loopback, builds with warnings as errors, lints the protos, publishes the Service as
# native AOT, runs every test against that binary, then stops what it started.
# Usage: bash scripts/test.sh        (what .ci/run calls)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
art="$root/artifacts"
started=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$*" "$(( $(date +%s) - started ))"; }

step "Debian packages"
missing=()
for pkg in clang zlib1g-dev postgresql redis-server python3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# Doc samples: Python gRPC client (Debian's grpcio) and its stub generator.
for pkg in python3-grpcio python3-grpc-tools protobuf-compiler protobuf-compiler-grpc; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The package's own cluster is not used; keep it from holding port 5432 or memory.
service postgresql stop >/dev/null 2>&1 || true

step "Node tooling (buf, interop clients)"
npm ci --no-audit --no-fund --loglevel=error

step "PostgreSQL and Redis on loopback"
# shellcheck source=services.sh
source scripts/services.sh start
trap 'bash "$root/scripts/services.sh" stop' EXIT

step "Build (warnings are errors)"
rm -rf "$art"
mkdir -p "$art"
dotnet build Grpc.sln -c Release -warnaserror -nologo -clp:NoSummary

step "Proto lint (buf, STANDARD)"
npx buf lint
echo "buf lint: clean"

step "Native AOT publish of the Service"
publish_log="$art/aot-publish.log"
if ! dotnet publish src/Service -c Release -o "$art/service" -nologo -warnaserror >"$publish_log" 2>&1; then
  cat "$publish_log"
  exit 1
fi
aot_warnings=$(grep -cE 'warning (IL|CS|AOT)' "$publish_log" || true)
echo "AOT warnings: $aot_warnings"
[ "$aot_warnings" = 0 ] || { grep -E 'warning' "$publish_log"; exit 1; }
bin="$art/service/monkey-coder-service"
echo "AOT binary: $(du -h "$bin" | cut -f1) ($(stat -c %s "$bin") bytes)"
export MONKEY_SERVICE_BIN="$bin"

step "Deployment artefacts (deploy/k8s, Dockerfile.aot build steps, Railway)"
bash scripts/k8s-check.sh
bash scripts/dockerfile-check.sh

step "Docs (every marked sample against a fresh Service and REST host)"
bash scripts/docs-check.sh

step "Tests (unit, end-to-end against the AOT binary, PostgreSQL and Redis)"
set +e
dotnet test Grpc.sln -c Release --no-build -nologo --logger "console;verbosity=normal" 2>&1 | tee "$art/test.log" \
  | grep -E '^\s*(Passed|Failed|Skipped) |Failed!|Passed!|error|Error Message|Assert|Stack Trace|at MonkeyCoder' || true
status=${PIPESTATUS[0]}
set -e

step "Measurements"
[ -f "$art/test-report.txt" ] && sort "$art/test-report.txt"

# One plain closing line for CI: sum the per-assembly totals.
# (With the console logger at normal verbosity the totals come as "Total tests:" blocks instead.)
awk '/^ +(Passed|Failed|Skipped): +[0-9]+$/{ k = $1; sub(":", "", k); if (k == "Passed") p += $2; if (k == "Failed") f += $2; if (k == "Skipped") s += $2 }
/(Passed|Failed)! +- +Failed: /{
  gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
} END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$art/test.log"
exit "$status"
