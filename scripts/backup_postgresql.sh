#!/usr/bin/env bash
# Standalone PostgreSQL backup for cron (no Node needed).
#
# Writes a timestamped dump (custom format by default) into BACKUP_DIR under a
# temporary name, checks it can be read back (pg_restore --list), renames it
# into place, gzips older plain-SQL dumps of the same database and deletes
# dumps older than BACKUP_RETENTION_DAYS. Logs every step; exits non-zero on
# any failure and never leaves a partial file behind.
#
# Connection (either):
#   DATABASE_DIRECT_URL (PostgreSQL itself, when DATABASE_URL is PgBouncer)
#   or DATABASE_URL=postgres://user:password@host:port/database[?sslmode=…]
#   or the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
# pg_dump's session settings must not reach a pooler's server connections:
# a startup option PgBouncer refuses makes it fail there instead.
# The password only ever travels in PGPASSWORD (never on a command line).
# Settings:
#   BACKUP_DIR              where dumps go (default ./backups)
#   BACKUP_FORMAT           custom (default) or plain
#   BACKUP_RETENTION_DAYS   delete this database's dumps older than N days (default 14)
#   BACKUP_PG_BIN_DIR       directory of pg_dump/pg_restore (default: PATH)
#
# Names: neo-alexandria_<database>_<UTC yyyymmddThhmmssZ>.dump|.sql|.sql.gz,
# the same as the server's backup plugin, which lists these dumps too.

set -Eeuo pipefail
umask 077

log() { printf '%s backup_postgresql: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
fail() { printf '%s backup_postgresql: ERROR: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" >&2; exit "${2:-1}"; }

urldecode() { local s="${1//+/ }"; printf '%b' "${s//%/\\x}"; }

DATABASE_URL="${DATABASE_DIRECT_URL:-${DATABASE_URL:-}}"
export PGOPTIONS="${PGOPTIONS:+$PGOPTIONS }-c neo_alexandria.direct=on"
if [[ -n "${DATABASE_URL:-}" ]]; then
    [[ "$DATABASE_URL" =~ ^postgres(ql)?://(([^@/]*)@)?([^/?:]*|\[[^]]*\])(:([0-9]+))?/([^?]+)(\?(.*))?$ ]] ||
        fail "DATABASE_DIRECT_URL / DATABASE_URL must look like postgres://user:password@host:port/database" 2
    userinfo="${BASH_REMATCH[3]}"
    export PGHOST="${BASH_REMATCH[4]:-localhost}"
    export PGPORT="${BASH_REMATCH[6]:-5432}"
    PGDATABASE="$(urldecode "${BASH_REMATCH[7]}")"; export PGDATABASE
    query="${BASH_REMATCH[9]}"
    if [[ -n "$userinfo" ]]; then
        PGUSER="$(urldecode "${userinfo%%:*}")"; export PGUSER
        if [[ "$userinfo" == *:* ]]; then
            PGPASSWORD="$(urldecode "${userinfo#*:}")"; export PGPASSWORD
        fi
    fi
    if [[ "$query" =~ (^|&)sslmode=([a-z-]+) ]]; then
        export PGSSLMODE="${BASH_REMATCH[2]}"
    fi
fi

[[ -n "${PGDATABASE:-}" ]] || fail "set DATABASE_URL or PGDATABASE (and PGHOST, PGPORT, PGUSER, PGPASSWORD as needed)" 2

BACKUP_DIR="${BACKUP_DIR:-./backups}"
BACKUP_FORMAT="${BACKUP_FORMAT:-custom}"
BACKUP_RETENTION_DAYS="${BACKUP_RETENTION_DAYS:-14}"
[[ "$BACKUP_RETENTION_DAYS" =~ ^[0-9]+$ && "$BACKUP_RETENTION_DAYS" -ge 1 ]] || fail "BACKUP_RETENTION_DAYS must be a whole number of days, 1 or more" 2
case "$BACKUP_FORMAT" in
    custom) ext=dump; format_args=(--format=custom) ;;
    plain) ext=sql; format_args=(--format=plain --clean --if-exists) ;;
    *) fail "BACKUP_FORMAT must be custom or plain" 2 ;;
esac

if [[ -n "${BACKUP_PG_BIN_DIR:-}" ]]; then
    PATH="$BACKUP_PG_BIN_DIR:$PATH"
fi

command -v pg_dump >/dev/null 2>&1 || fail "pg_dump was not found on the PATH; install the PostgreSQL client tools or set BACKUP_PG_BIN_DIR" 3
command -v pg_restore >/dev/null 2>&1 || fail "pg_restore was not found on the PATH; install the PostgreSQL client tools or set BACKUP_PG_BIN_DIR" 3

label="$(printf '%s' "$PGDATABASE" | tr -c 'A-Za-z0-9_-' '-' | cut -c1-63)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
name="neo-alexandria_${label}_${stamp}.${ext}"

mkdir -p "$BACKUP_DIR"
final="$BACKUP_DIR/$name"
partial="$BACKUP_DIR/.$name.partial"
[[ ! -e "$final" ]] || fail "$final already exists (two runs in the same second?)" 4

cleanup() { rm -f "$partial"; }
trap cleanup EXIT
trap 'fail "interrupted" 130' INT TERM

log "dumping ${PGDATABASE} on ${PGHOST:-local socket}:${PGPORT:-5432} as ${PGUSER:-$(id -un)} (${BACKUP_FORMAT}) to ${final}"
started=$SECONDS
if ! errors="$(pg_dump --no-password "${format_args[@]}" --file="$partial" 2>&1 >/dev/null)"; then
    fail "pg_dump failed: ${errors//$'\n'/ | }" 5
fi

if [[ "$BACKUP_FORMAT" == custom ]]; then
    entries="$(pg_restore --list "$partial" | grep -c '^[0-9]')" || fail "pg_restore cannot read the new dump" 6
    log "pg_restore --list reads the dump: ${entries} entries"
else
    grep -q '^-- PostgreSQL database dump complete' "$partial" || fail "the plain dump is incomplete" 6
fi

mv "$partial" "$final"
size="$(stat -c %s "$final")"
sum="$(sha256sum "$final" | cut -d' ' -f1)"
log "wrote ${name}: ${size} bytes, sha256 ${sum}, $((SECONDS - started)) s"

# Older plain dumps of this database: gzip keeps their modification time, so
# retention still counts from when they were taken.
while IFS= read -r -d '' old; do
    if [[ -e "$old.gz" ]]; then
        log "left $(basename "$old") uncompressed: $(basename "$old").gz already exists"
        continue
    fi
    gzip -9 "$old"
    log "compressed $(basename "$old") to $(basename "$old").gz"
done < <(find "$BACKUP_DIR" -maxdepth 1 -type f -name "neo-alexandria_${label}_*.sql" ! -name "$name" -print0)

# Retention: this database's dumps (any format) older than the limit, with
# the server plugin's sidecar manifests.
while IFS= read -r -d '' old; do
    rm -f "$old" "$old.json"
    log "deleted $(basename "$old") (older than ${BACKUP_RETENTION_DAYS} days)"
done < <(find "$BACKUP_DIR" -maxdepth 1 -type f \( -name "neo-alexandria_${label}_*.dump" -o -name "neo-alexandria_${label}_*.sql" -o -name "neo-alexandria_${label}_*.sql.gz" \) \
    -mmin +$((BACKUP_RETENTION_DAYS * 1440)) ! -name "$name" -print0)

log "done"
