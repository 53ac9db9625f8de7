#!/usr/bin/env bash
# Backs up the Monkey Coder PostgreSQL database with pg_dump's custom format (-Fc: compressed,
# restorable table by table with pg_restore).
#
#   scripts/backup.sh [DIR]
#
# Connection: DATABASE_URL (postgresql://user:password@host:port/db), else the standard libpq
# variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE).
# DIR (or BACKUP_DIR, default ./backups) receives monkeycoder-YYYYMMDDTHHMMSSZ.dump; the newest
# BACKUP_KEEP files (default 14) are kept, older ones deleted. Prints the new file's path.
# Exit codes: 0 done, 2 usage or configuration error, 3 pg_dump failed (nothing kept of this run).
set -euo pipefail
# Dumps and the password file are readable by their owner only.
umask 077

dir=${1:-${BACKUP_DIR:-./backups}}
keep=${BACKUP_KEEP:-14}
prefix=${BACKUP_PREFIX:-monkeycoder}

if ! [[ "$keep" =~ ^[1-9][0-9]*$ ]]; then
  echo "backup: BACKUP_KEEP must be a positive integer, got '$keep'" >&2
  exit 2
fi
if [ -z "${DATABASE_URL:-}" ] && [ -z "${PGDATABASE:-}" ] && [ -z "${PGHOST:-}" ]; then
  echo "backup: set DATABASE_URL (or PGHOST/PGDATABASE/PGUSER/PGPASSWORD)" >&2
  exit 2
fi
command -v pg_dump >/dev/null || { echo "backup: pg_dump not found (apt-get install postgresql-client)" >&2; exit 2; }

mkdir -p "$dir"
# Names are pure UTC timestamps so that name order is time order; two runs within one second
# must not overwrite each other, so the second waits for the next second.
for _ in 1 2 3; do
  file="$dir/$prefix-$(date -u +%Y%m%dT%H%M%SZ).dump"
  [ -e "$file" ] || break
  sleep 1
done
[ -e "$file" ] && { echo "backup: $file already exists" >&2; exit 2; }
partial="$file.partial"

# The password travels in a private PGPASSFILE, never in the arguments.
. "$(dirname "$0")/pg-env.sh"
conn=()
[ -n "$pg_url" ] && conn=(--dbname="$pg_url")
if ! pg_dump "${conn[@]}" --format=custom --no-owner --no-privileges --file="$partial"; then
  rm -f "$partial"
  echo "backup: pg_dump failed" >&2
  exit 3
fi
# Only a complete dump gets the final name, so a crash never leaves a truncated *.dump behind.
mv "$partial" "$file"

# Retention: newest first by name (the timestamp sorts), delete past the first $keep.
mapfile -t old < <(ls -1 "$dir"/"$prefix"-*.dump 2>/dev/null | sort -r | tail -n +"$((keep + 1))")
for f in "${old[@]}"; do rm -f -- "$f"; done

echo "$file"
