#!/usr/bin/env bash
# Coding-agent test (issue 19): the Codex CLI from npm (@openai/codex, `codex exec`) completes a
# scripted task through the gateway's Responses API. The gateway's OpenAI provider points at a fake
# upstream (tests/agents/fake-upstream.mjs) that answers the first turn with a call of Codex's shell
# tool writing agent-proof.txt and, once the tool's output is back, with text. Passes when the file
# exists afterwards with "ok" in it.
# Codex tries to reach OpenAI's hosts (telemetry, model list) whatever its config says, so everything
# (fake upstream, gateway, Codex) runs in a network namespace with loopback only: needs root (unshare -n).
# Usage: bash scripts/agent-test.sh [Release|Debug]   (build first; scripts/test.sh runs it after interop)
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-Release}
if [ -z "${AGENT_TEST_IN_NAMESPACE:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "agent test: FAIL (needs root for unshare -n)"; exit 1; }
  exec env AGENT_TEST_IN_NAMESPACE=1 unshare -n bash "$0" "$config"
fi
ip link set lo up

gateway_dll="src/Gateway.Json/bin/$config/net10.0/monkey-coder-gateway.dll"
codex=node_modules/.bin/codex
[ -f "$gateway_dll" ] || { echo "agent test: FAIL (missing $gateway_dll: build first)"; exit 1; }
[ -x "$codex" ] || { echo "agent test: FAIL (missing $codex: npm ci)"; exit 1; }

work=$(mktemp -d)
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
upstream_port=$(free_port)
gateway_port=$(free_port)
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT

FAKE_UPSTREAM_LOG="$work/upstream.jsonl" node tests/agents/fake-upstream.mjs "$upstream_port" >"$work/upstream.log" 2>&1 &
pids+=($!)
key="mk_agenttest_0123456789abcdefghijklmnopqrstuvwxyzABCD"
env -u DATABASE_URL -u REDIS_URL -u ANTHROPIC_API_KEY -u GOOGLE_API_KEY -u GROQ_API_KEY -u XAI_API_KEY -u SENTRY_DSN \
  MONKEY_CODER_ADMIN_API_KEY="$key" BIND_ADDRESS=127.0.0.1 ENVIRONMENT=test PORT="$gateway_port" METRICS_PORT="$(free_port)" \
  OPENAI_API_KEY=sk-fake-upstream OPENAI_BASE_URL="http://127.0.0.1:$upstream_port/v1" \
  dotnet "$gateway_dll" >"$work/gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do
  (exec 3<>"/dev/tcp/127.0.0.1/$gateway_port") 2>/dev/null && break
  sleep 0.1
done

# The settings docs/agents.md gives a Codex user, with this run's port and key.
mkdir -p "$work/codex-home" "$work/project"
cat >"$work/codex-home/config.toml" <<TOML
model = "gpt-4.1"
model_provider = "monkey-coder"
web_search = "disabled"

[agents]
enabled = false

[model_providers.monkey-coder]
name = "Monkey Coder"
base_url = "http://127.0.0.1:$gateway_port/openai/v1"
env_key = "MONKEY_CODER_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
TOML

set +e
(cd "$work/project" && CODEX_HOME="$work/codex-home" MONKEY_CODER_API_KEY="$key" timeout 180 \
  "$OLDPWD/$codex" exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox \
  "Write ok into agent-proof.txt in the current directory." </dev/null >"$work/codex.log" 2>&1)
codex_status=$?
set -e

if [ -f "$work/project/agent-proof.txt" ] && grep -qx ok "$work/project/agent-proof.txt"; then
  turns=$(wc -l <"$work/upstream.jsonl")
  echo "agent test: PASS (codex exec wrote agent-proof.txt through /openai/v1/responses; $turns upstream calls; codex exit $codex_status)"
  exit 0
fi
echo "agent test: FAIL (agent-proof.txt missing; codex exit $codex_status)"
echo "--- codex"; tail -n 40 "$work/codex.log"
echo "--- gateway"; grep -E "fail|warn|error" -i "$work/gateway.log" | tail -n 20 || true
echo "--- upstream requests"; cut -c1-400 "$work/upstream.jsonl" 2>/dev/null | tail -n 5 || true
exit 1
