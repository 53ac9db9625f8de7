#!/usr/bin/env bash
# Restores a backup made by scripts/backup.sh into the database named by DATABASE_URL (or the
# libpq PG* variables). Objects in the dump are dropped and recreated (--clean --if-exists) in one
# transaction: on any error nothing changes.
#
#   scripts/restore.sh FILE|latest [DIR]
#
# "latest" picks the newest monkeycoder-*.dump in DIR (or BACKUP_DIR, default ./backups).
# Exit codes: 0 restored, 2 usage or configuration error, 3 pg_restore failed (database unchanged).
set -euo pipefail
# Dumps and the password file are readable by their owner only.
umask 077

target=${1:-}
dir=${2:-${BACKUP_DIR:-./backups}}
prefix=${BACKUP_PREFIX:-monkeycoder}

if [ -z "$target" ]; then
  echo "usage: scripts/restore.sh FILE|latest [DIR]" >&2
  exit 2
fi
if [ "$target" = latest ]; then
  target=$(ls -1 "$dir"/"$prefix"-*.dump 2>/dev/null | sort -r | head -n 1 || true)
  [ -n "$target" ] || { echo "restore: no $prefix-*.dump in $dir" >&2; exit 2; }
fi
[ -f "$target" ] || { echo "restore: $target does not exist" >&2; exit 2; }
if [ -z "${DATABASE_URL:-}" ] && [ -z "${PGDATABASE:-}" ] && [ -z "${PGHOST:-}" ]; then
  echo "restore: set DATABASE_URL (or PGHOST/PGDATABASE/PGUSER/PGPASSWORD)" >&2
  exit 2
fi
command -v pg_restore >/dev/null || { echo "restore: pg_restore not found (apt-get install postgresql-client)" >&2; exit 2; }

# The password travels in a private PGPASSFILE, never in the arguments.
. "$(dirname "$0")/pg-env.sh"
conn=()
[ -n "$pg_url" ] && conn=(--dbname="$pg_url")
[ ${#conn[@]} -eq 0 ] && conn=(--dbname="${PGDATABASE:-postgres}")
if ! pg_restore "${conn[@]}" --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error "$target"; then
  echo "restore: pg_restore failed; the database is unchanged" >&2
  exit 3
fi
echo "restored $target"
