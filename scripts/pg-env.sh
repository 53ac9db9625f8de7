# Sourced by scripts/backup.sh and scripts/restore.sh: turns DATABASE_URL into a connection string
# WITHOUT the password (in $pg_url) and hands the password to libpq through a private PGPASSFILE,
# so it never appears in a process's arguments (visible to every user in `ps`). The file is 0600,
# in a 0700 directory, and removed on exit. Nothing is printed.
pg_url=${DATABASE_URL:-}
pg_passdir=""
pg_env_cleanup() { [ -n "$pg_passdir" ] && rm -rf -- "$pg_passdir"; return 0; }
trap pg_env_cleanup EXIT
if [[ "$pg_url" =~ ^(postgres(ql)?://)([^:@/?]*)(:([^@/?]*))?@(.*)$ ]]; then
  pg_scheme=${BASH_REMATCH[1]}
  pg_user=${BASH_REMATCH[3]}
  pg_password=${BASH_REMATCH[5]}
  pg_url="$pg_scheme${pg_user:+$pg_user@}${BASH_REMATCH[6]}"
  if [ -n "$pg_password" ]; then
    # URL-decode (%40 → @); backslashes in the file are escaped as .pgpass requires, as are ':'.
    pg_password=$(printf '%b' "${pg_password//%/\\x}")
    pg_escaped=${pg_password//\\/\\\\}
    pg_escaped=${pg_escaped//:/\\:}
    pg_passdir=$(mktemp -d)
    chmod 700 "$pg_passdir"
    (umask 077 && printf '*:*:*:*:%s\n' "$pg_escaped" > "$pg_passdir/pgpass")
    export PGPASSFILE="$pg_passdir/pgpass"
    unset pg_password pg_escaped
  fi
fi
