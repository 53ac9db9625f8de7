#!/usr/bin/env bash
# Runs the install commands of docs/cli.md exactly as written: every ```bash block there that is
# followed by `<!-- checked-by: scripts/cli-install-check.sh -->`, each in `bash -euo pipefail`
# from the repository root, and checks each prints `monkey --help`'s usage line.
#   bash scripts/cli-install-check.sh          the .NET tool and `dotnet run` blocks (≈ 40 s after a Release build, 2 cores)
#   bash scripts/cli-install-check.sh --aot    also the native-AOT publish (≈ 50 s more; needs clang, zlib1g-dev)
# `dotnet tool install --global` goes to a throwaway DOTNET_CLI_HOME (its .dotnet/tools first on
# PATH), so the machine's own tools are untouched and `monkey` is the one just packed. NuGet would
# move its package cache there too (and re-download every package): NUGET_PACKAGES keeps the usual one.
set -euo pipefail
cd "$(dirname "$0")/.."
aot=false
[ "${1:-}" = "--aot" ] && aot=true

home=$(mktemp -d)
blocks=$(mktemp -d)
trap 'rm -rf "$home" "$blocks"' EXIT
packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}

python3 - "$blocks" <<'EOF'
import re, sys
from pathlib import Path
text = Path("docs/cli.md").read_text()
pattern = r"^```bash\n(.*?)^```\n<!-- checked-by: ([^>]*?) -->"
found = [body for body, by in re.findall(pattern, text, re.S | re.M) if "scripts/cli-install-check.sh" in by.split(",")]
if not found:
    sys.exit("docs/cli.md: no block is marked checked-by: scripts/cli-install-check.sh")
for i, body in enumerate(found):
    Path(sys.argv[1], f"{i}.sh").write_text(body)
EOF

status=0
for block in "$blocks"/*.sh; do
  if grep -q -- '-p:Aot=true' "$block" && [ "$aot" = false ]; then
    echo "skip (--aot runs it): $(head -1 "$block")"
    continue
  fi
  echo "==> $(grep -v '^#' "$block" | head -1)"
  started=$(date +%s)
  if ! output=$(DOTNET_CLI_HOME="$home" NUGET_PACKAGES="$packages" PATH="$home/.dotnet/tools:$PATH" DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 \
      bash -euo pipefail "$block" 2>&1); then
    echo "$output" | tail -30
    echo "FAIL: the block exited non-zero"; status=1; continue
  fi
  if ! grep -qE '^  monkey \[command\] \[options\]$' <<<"$output"; then
    echo "$output" | tail -30
    echo "FAIL: no 'monkey --help' usage in the output"; status=1; continue
  fi
  echo "ok ($(( $(date +%s) - started )) s)"
done
exit $status
