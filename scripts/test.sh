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
# The device-approval page's browser test (tests/interop/device-page.test.mjs): Debian's Chromium.
dpkg -s chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The package's own cluster is not used; keep it from holding port 5432 or memory.
service postgresql stop >/dev/null 2>&1 || true

# promtool (Debian package prometheus) validates the alert rules; its server is not used.
dpkg -s prometheus >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
service prometheus stop >/dev/null 2>&1 || true

step "Node tooling (buf, interop clients, coding agents)"
npm ci --no-audit --no-fund --loglevel=error
# opencode apart: npm ci refuses its lock, whose other platforms' packages this registry does not serve.
(cd tests/agents && npm install --no-audit --no-fund --loglevel=error)

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

step "Alert rules (promtool)"
promtool check rules docs/monitoring/alerts.yml
(cd docs/monitoring && promtool test rules alerts.test.yml)

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

step "CLI install commands of docs/cli.md (dotnet pack, dotnet tool install, native AOT publish, dotnet run)"
bash scripts/cli-install-check.sh --aot

step "Tests (unit, end-to-end against the AOT binary, PostgreSQL and Redis)"
set +e
# The exit code is kept in a file: a pipeline's status would be grep's (or true's), not dotnet test's.
{ dotnet test Grpc.sln -c Release --no-build -nologo --logger "console;verbosity=normal" 2>&1; echo $? > "$art/test.rc"; } \
  | tee "$art/test.log" \
  | grep -E '^\s*(Passed|Failed|Skipped) |Failed!|Passed!|error|Error Message|Assert|Stack Trace|at MonkeyCoder' || true
status=$(cat "$art/test.rc")
set -e

step "Interop: the official openai npm client (REST host) and @grpc/grpc-js (Service)"
set +e
bash scripts/interop.sh Release 2>&1 | tee "$art/interop.log"
interop_status=${PIPESTATUS[0]}
set -e

step "Coding agents from npm (Codex CLI, Claude Code, opencode, Continue CLI) each complete a file-writing task through the gateway"
set +e
bash scripts/agent-test.sh Release 2>&1 | tee "$art/agent-test.log"
agent_status=${PIPESTATUS[0]}
set -e

step "Load tests (smoke profile of every scenario, with thresholds)"
# Streams and REST load hold many sockets: lift the open-file limit to the hard limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
set +e
dotnet loadtests/bin/Release/net10.0/MonkeyCoder.LoadTests.dll --profile smoke --service-bin "$MONKEY_SERVICE_BIN" \
  --scenario execute-unary,stream-concurrency,overhead,http-overhead,rest-openai,cache-hit,usage-outage,routing-regret,chaos-soak \
  --report-dir "$art/load-smoke" --require-endpoints --min-cache-hit-ratio 0.9
load_status=$?
set -e
[ "$load_status" = 0 ] || { echo "load tests failed (exit $load_status): see $art/load-smoke/report.md"; [ "$status" != 0 ] || status=$load_status; }

step "Measurements"
[ -f "$art/test-report.txt" ] && sort "$art/test-report.txt"

grep -E '^ℹ (pass|fail|todo) ' "$art/interop.log" | sed 's/^ℹ /interop /' || true

# Name every failed test again at the end, with its first message line, so a CI log that keeps only
# its tail still says what failed.
if grep -qE '^[[:space:]]*Failed [A-Za-z]' "$art/test.log"; then
  echo "failed tests:"
  awk '/^[ \t]*Failed [A-Za-z]/{name=$0; sub(/^[ \t]*/, "", name); print "  " name; want=1; next}
    want && /Error Message:/{getline; sub(/^[ \t]*/, ""); print "    " substr($0, 1, 300); want=0}' "$art/test.log"
fi

# One plain closing line for CI: sum the per-assembly totals ("Passed: N" / "Failed: N" / "Skipped: N"
# under each "Total tests:" block of the normal-verbosity console logger).
awk '/^Total tests:/{in_total=1; next}
  in_total && $1 == "Passed:" {p += $2; next}
  in_total && $1 == "Failed:" {f += $2; next}
  in_total && $1 == "Skipped:" {s += $2; next}
  {in_total=0}
  END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$art/test.log"
grep -E '^agent test: ' "$art/agent-test.log" || true
[ "$interop_status" = 0 ] || status=1
[ "$agent_status" = 0 ] || status=1
exit "$status"
