#!/usr/bin/env bash
# CI for Dockerfile.aot on a machine without a Docker engine. What it checks, honestly:
#   1. lint: dockerfile-utils (the VS Code Docker linter, npm, offline) — syntax, unknown or
#      misplaced instructions, duplicate HEALTHCHECKs, …
#   2. structure (scripts/dockerfile-check.mjs): stages/targets, chiseled non-root shell-free runtime
#      stages, exec-form HEALTHCHECK/ENTRYPOINT naming the real binaries, restore layer copies every
#      referenced project before `dotnet restore`, COPY sources exist and are not .dockerignored.
#      The checker is itself tested against broken copies of the file.
#   3. build steps: runs the file's own `dotnet restore`/`dotnet publish` commands as written (with
#      /out mapped to artifacts/docker), then starts each published host and runs its HEALTHCHECK
#      command, then SIGTERMs it and expects exit 0.
# Not checked here: pulling the base images, apt-get inside the SDK image, the chiseled images'
# library set (the binary runs on this Debian's glibc 2.36 instead), and BuildKit itself.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out="$root/artifacts/docker"

echo "dockerfile-check: lint (dockerfile-utils)"
npx --no-install dockerfile-utils lint Dockerfile.aot

echo "dockerfile-check: structure"
mapfile -t commands < <(node scripts/dockerfile-check.mjs Dockerfile.aot)
[ ${#commands[@]} -ge 3 ] || { echo "expected restore and publish commands, got ${#commands[@]}" >&2; exit 1; }

# The checker must reject broken files, or it checks nothing.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mutate() {  # name sed-expression
  sed -e "$2" Dockerfile.aot >"$tmp/Dockerfile.$1"
  if node scripts/dockerfile-check.mjs "$tmp/Dockerfile.$1" >/dev/null 2>&1; then
    echo "dockerfile-check: the checker accepted a broken file ($1)" >&2; exit 1
  fi
}
mutate root-user 's/^USER 1654$/USER root/'
mutate missing-csproj '/^COPY src\/Core\/Core.csproj/d'
mutate shell-healthcheck 's/CMD \["\/app\/monkey-coder-service", "healthcheck"\]/CMD \/app\/monkey-coder-service healthcheck/'
mutate run-in-chiseled 's/^EXPOSE 50051$/RUN echo hi/'
mutate sources-before-restore 's/^COPY global.json /COPY src\/ src\/\nCOPY global.json /'
echo "dockerfile-check: checker rejects 5 broken variants"

echo "dockerfile-check: build steps as written in the file"
rm -rf "$out"
for c in "${commands[@]}"; do
  c=${c//\/out\//$out/}
  echo "+ $c"
  DOTNET_NOLOGO=1 bash -euo pipefail -c "$c" >"$tmp/step.log" 2>&1 || { cat "$tmp/step.log"; echo "dockerfile-check: build step failed" >&2; exit 1; }
done
[ -x "$out/service/monkey-coder-service" ] || { echo "no AOT binary in $out/service" >&2; exit 1; }
echo "service image payload: $(ls "$out/service" | tr '\n' ' ')"
[ "$(ls "$out/service")" = "$(printf 'appsettings.json\nmonkey-coder-service')" ] || { echo "the service image would ship more than the binary and its settings" >&2; exit 1; }
echo "service image payload: $(du -sh "$out/service" | cut -f1), gateway: $(du -sh "$out/gateway" | cut -f1)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
smoke() {  # name port healthcheck-argv... -- start-argv...
  local name=$1 port=$2; shift 2
  local check=() start=()
  while [ "$1" != -- ]; do check+=("$1"); shift; done; shift
  start=("$@")
  PORT=$port BIND_ADDRESS=127.0.0.1 ENVIRONMENT=test "${start[@]}" >"$tmp/$name.log" 2>&1 &
  local pid=$! ok=0
  for _ in $(seq 1 100); do
    if PORT=$port "${check[@]}" >/dev/null 2>&1; then ok=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if [ $ok = 0 ]; then cat "$tmp/$name.log"; kill "$pid" 2>/dev/null; echo "$name: HEALTHCHECK never passed" >&2; exit 1; fi
  kill -TERM "$pid"
  local code=0
  wait "$pid" || code=$?
  [ $code = 0 ] || { cat "$tmp/$name.log"; echo "$name: exit $code after SIGTERM" >&2; exit 1; }
  echo "$name: HEALTHCHECK passed, SIGTERM exit 0"
}
smoke service "$(free_port)" "$out/service/monkey-coder-service" healthcheck -- "$out/service/monkey-coder-service"
smoke gateway "$(free_port)" dotnet "$out/gateway/monkey-coder-gateway.dll" healthcheck /readyz -- dotnet "$out/gateway/monkey-coder-gateway.dll"
echo "dockerfile-check: ok"
