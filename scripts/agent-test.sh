#!/usr/bin/env bash
# Coding-agent test (issue 19): four coding agents from npm each complete a scripted task through the
# gateway, with the settings docs/agents.md gives their users:
#   Codex CLI (@openai/codex, `codex exec`)          -> /openai/v1/responses
#   Claude Code (@anthropic-ai/claude-code, `-p`)    -> /anthropic/v1/messages
#   opencode (opencode-ai, `opencode run`)           -> /openai/v1/chat/completions
#   Continue CLI (@continuedev/cli, `cn -p`)         -> /openai/v1/chat/completions
# The gateway's OpenAI provider points at a fake upstream (tests/agents/fake-upstream.mjs) that answers
# a turn offering a shell tool with a call of that tool writing agent-proof.txt and, once the tool's
# output is back, with text. An agent passes when the file exists afterwards with "ok" in it: the
# tool loop end to end, translated across wire formats (Claude Code's turns reach an OpenAI-protocol model).
# Codex tries to reach OpenAI's hosts (telemetry, model list) whatever its config says, so everything
# (fake upstream, gateway, Codex) runs in a network namespace with loopback only: needs root (unshare -n).
# Usage: bash scripts/agent-test.sh [Release|Debug] [agent...]   (build first; scripts/test.sh runs it
# after interop; agents: codex claude opencode continue, all by default)
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-Release}
shift || true
agents=("$@")
[ ${#agents[@]} -gt 0 ] || agents=(codex claude opencode continue)
if [ -z "${AGENT_TEST_IN_NAMESPACE:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "agent test: FAIL (needs root for unshare -n)"; exit 1; }
  exec env AGENT_TEST_IN_NAMESPACE=1 unshare -n bash "$0" "$config" "${agents[@]}"
fi
ip link set lo up

gateway_dll="src/Gateway.Json/bin/$config/net10.0/monkey-coder-gateway.dll"
root=$PWD
[ -f "$gateway_dll" ] || { echo "agent test: FAIL (missing $gateway_dll: build first)"; exit 1; }
for bin in node_modules/.bin/codex node_modules/.bin/claude node_modules/.bin/cn tests/agents/node_modules/.bin/opencode; do
  [ -x "$bin" ] || { echo "agent test: FAIL (missing $bin: npm ci, and npm install in tests/agents)"; exit 1; }
done

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

prompt="Write ok into agent-proof.txt in the current directory."
base="http://127.0.0.1:$gateway_port"

# The configuration blocks of docs/agents.md, as a reader copies them: the first ```LANG block under
# "## SECTION", with the documented address and key placeholder replaced by this run's.
doc_block() {
  python3 - "$root/docs/agents.md" "$1" "$2" <<'PY' | sed -e "s#http://localhost:8080#$base#g" -e "s#mk_your_monkey_coder_key#$key#g"
import re, sys
path, section, lang = sys.argv[1:4]
text = open(path, encoding="utf-8").read()
heading = re.search(r"^## " + re.escape(section) + r"[ \t]*$", text, re.M)
if not heading:
    sys.exit(f"docs/agents.md: no section '## {section}'")
body = text[heading.end():]
following = re.search(r"^## ", body, re.M)
body = body[:following.start()] if following else body
block = re.search(r"^```" + re.escape(lang) + r"[^\n]*\n(.*?)^```", body, re.S | re.M)
if not block:
    sys.exit(f"docs/agents.md: no ```{lang} block under '## {section}'")
sys.stdout.write(block.group(1))
PY
}

# Each agent runs in its own project folder with its own HOME (no user settings leak in), configured
# with its docs/agents.md block. Bounded: a hung agent fails the test.
run_codex() {
  mkdir -p "$HOME/.codex"
  doc_block "Codex CLI" toml >"$HOME/.codex/config.toml"
  # Fail fast instead of retrying (appended to the last table, the provider's).
  printf 'request_max_retries = 0\nstream_max_retries = 0\n' >>"$HOME/.codex/config.toml"
  MONKEY_CODER_API_KEY="$key" "$root/node_modules/.bin/codex" exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox "$prompt"
}

run_claude() {
  mkdir -p "$HOME/.claude"
  doc_block "Claude Code" json >"$HOME/.claude/settings.json"
  "$root/node_modules/.bin/claude" -p "$prompt" --allowedTools Bash
}

run_opencode() {
  doc_block "opencode" json >opencode.json
  MONKEY_CODER_API_KEY="$key" "$root/tests/agents/node_modules/.bin/opencode" run "$prompt"
}

run_continue() {
  mkdir -p "$HOME/.continue"
  doc_block "Continue" yaml >"$HOME/.continue/config.yaml"
  MONKEY_CODER_API_KEY="$key" "$root/node_modules/.bin/cn" -p "$prompt" --config "$HOME/.continue/config.yaml" --auto
}

# Requests the fake upstream has logged so far. Its log file appears with the first request, which may
# come after the first agent starts (with pipefail, `cat` of a missing file would end the script).
upstream_calls() { if [ -f "$work/upstream.jsonl" ]; then wc -l < "$work/upstream.jsonl"; else echo 0; fi; }

export -f doc_block run_codex run_claude run_opencode run_continue
export base key prompt root
passed=(); failed=()
for agent in "${agents[@]}"; do
  home="$work/$agent-home"; project="$work/$agent-project"
  mkdir -p "$home" "$project"
  calls_before=$(upstream_calls)
  set +e
  (cd "$project" && HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" \
    XDG_CACHE_HOME="$home/.cache" XDG_STATE_HOME="$home/.local/state" timeout 180 bash -c "run_$agent" </dev/null >"$work/$agent.log" 2>&1)
  status=$?
  set -e
  calls=$(( $(upstream_calls) - calls_before ))
  if [ -f "$project/agent-proof.txt" ] && grep -qx ok "$project/agent-proof.txt"; then
    echo "agent test: $agent PASS (wrote agent-proof.txt through its shell tool; $calls upstream calls; exit $status)"
    passed+=("$agent")
  else
    echo "agent test: $agent FAIL (agent-proof.txt missing; exit $status)"
    echo "--- $agent"; tail -n 40 "$work/$agent.log"
    failed+=("$agent")
  fi
done

if [ ${#failed[@]} -eq 0 ]; then
  echo "agent test: PASS (${passed[*]}: each wrote agent-proof.txt through the gateway)"
  exit 0
fi
echo "agent test: FAIL (${failed[*]} failed; ${passed[*]:-none} passed)"
echo "--- gateway"; grep -E "fail|warn|error" -i "$work/gateway.log" | tail -n 20 || true
echo "--- upstream requests"; cut -c1-400 "$work/upstream.jsonl" 2>/dev/null | tail -n 5 || true
exit 1
