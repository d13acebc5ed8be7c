#!/usr/bin/env bash
# Point-in-time recovery drill: proves the procedure in
# docs/POSTGRESQL_BACKUP_GUIDE.md on a scratch cluster it creates and removes.
#
#  1. initdb a cluster under a temporary directory on a free port (55400–55499),
#     with WAL archiving on and an archive_command that fails on any error;
#  2. take a base backup (pg_basebackup);
#  3. write the first rows, record the time, write more rows, archive the WAL;
#  4. restore the base backup with restore_command and recovery_target_time;
#  5. check that exactly the first rows exist.
#
# PostgreSQL refuses to run as root, so when started as root the server-side
# steps run as the "postgres" OS user (PITR_OS_USER). Settings:
#   PG_BIN_DIR    server binaries (default: /usr/lib/postgresql/15/bin)
#   PITR_PORT     use this port instead of searching 55400–55499
#   PITR_KEEP=1   keep the temporary directory (for a post-mortem)
# Exit status 0 when the drill passes, 1 when it fails.

set -Eeuo pipefail

PG_BIN_DIR="${PG_BIN_DIR:-/usr/lib/postgresql/15/bin}"
OS_USER="${PITR_OS_USER:-postgres}"
FIRST=100
MORE=50
started=$SECONDS

log() { printf '%s pitr-drill: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { log "FAILED: $*" >&2; exit 1; }

[[ -x "$PG_BIN_DIR/initdb" ]] || fail "no initdb in $PG_BIN_DIR (set PG_BIN_DIR to the PostgreSQL server binaries)"

as_pg() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u "$OS_USER" -- "$@"
    else
        "$@"
    fi
}

work="$(mktemp -d "${TMPDIR:-/tmp}/na-pitr.XXXXXX")"
if [[ $EUID -eq 0 ]]; then
    chown "$OS_USER": "$work"
fi
chmod 700 "$work"
cd "$work"

cleanup() {
    local status=$?
    for cluster in restored primary; do
        if [[ -f "$work/$cluster/postmaster.pid" ]]; then
            as_pg "$PG_BIN_DIR/pg_ctl" -D "$work/$cluster" -m immediate -w stop >/dev/null 2>&1 || true
        fi
    done
    if [[ $status -ne 0 ]]; then
        for file in "$work"/*.log; do
            [[ -f "$file" ]] && { echo "--- $(basename "$file") (last lines)"; tail -n 15 "$file"; } >&2
        done
    fi
    cd /
    if [[ "${PITR_KEEP:-0}" == 1 ]]; then
        log "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# 55400-55499 lies inside Linux's ephemeral port range, so a port with no
# listener can still be held by an outgoing connection of another program:
# start_cluster moves to another free port when the bind fails.
pick_port() {
    local candidate
    for candidate in $(seq 55400 55499 | shuf); do
        if port_free "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

port="${PITR_PORT:-}"
if [[ -z "$port" ]]; then
    port="$(pick_port)" || fail "no free port in 55400-55499"
fi
port_free "$port" || fail "port $port is in use"

# start_cluster DATADIR LOGFILE: pg_ctl start on $port; on "Address already in
# use" (and no fixed PITR_PORT) it takes another free port, up to 10 times.
start_cluster() {
    local attempt
    for attempt in $(seq 1 10); do
        echo "port = $port" | as_pg tee -a "$1/postgresql.conf" >/dev/null
        if as_pg "$PG_BIN_DIR/pg_ctl" -D "$1" -l "$2" -w start >/dev/null; then
            return 0
        fi
        if [[ -n "${PITR_PORT:-}" ]] || ! grep -q "Address already in use" "$2"; then
            return 1
        fi
        log "port $port was taken; trying another"
        port="$(pick_port)" || return 1
    done
    return 1
}

sql() { as_pg "$PG_BIN_DIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres -d postgres -c "$1"; }

log "scratch cluster in $work on port $port"
as_pg "$PG_BIN_DIR/initdb" -D "$work/primary" -U postgres --auth=trust -E UTF8 --no-instructions >"$work/initdb.log"
as_pg mkdir "$work/archive"
# The archive_command refuses to overwrite an archived segment and fails on
# any copy error, so PostgreSQL keeps the segment and retries instead of
# believing it was archived.
cat >>"$work/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $work/archive/%f && cp %p $work/archive/%f.tmp && mv $work/archive/%f.tmp $work/archive/%f'
max_wal_senders = 3
CONF
start_cluster "$work/primary" "$work/primary.log" || fail "the scratch cluster did not start"

sql "CREATE TABLE drill (id integer PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT clock_timestamp())"
log "base backup"
as_pg "$PG_BIN_DIR/pg_basebackup" -h "$work" -p "$port" -U postgres -D "$work/base" --checkpoint=fast --wal-method=stream

sql "INSERT INTO drill (id) SELECT generate_series(1, $FIRST)"
target="$(sql "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")"
log "wrote $FIRST rows; recovery target time $target"
sleep 1
sql "INSERT INTO drill (id) SELECT generate_series($((FIRST + 1)), $((FIRST + MORE)))"
log "wrote $MORE more rows after the target"

# Close the current WAL segment and wait until the archiver has it.
segment="$(sql "SELECT pg_walfile_name(pg_switch_wal())")"
for _ in $(seq 1 100); do
    [[ -f "$work/archive/$segment" ]] && break
    sleep 0.2
done
[[ -f "$work/archive/$segment" ]] || fail "WAL segment $segment was not archived: $(sql "SELECT last_failed_wal FROM pg_stat_archiver")"
[[ "$(sql "SELECT failed_count FROM pg_stat_archiver")" == 0 ]] || fail "the archive_command failed"
log "archived WAL up to $segment"
as_pg "$PG_BIN_DIR/pg_ctl" -D "$work/primary" -m fast -w stop >/dev/null

log "restoring the base backup to $target"
as_pg cp -a "$work/base" "$work/restored"
cat >>"$work/restored/postgresql.conf" <<CONF
archive_mode = off
restore_command = 'cp $work/archive/%f %p'
recovery_target_time = '$target'
recovery_target_action = 'promote'
CONF
as_pg touch "$work/restored/recovery.signal"
start_cluster "$work/restored" "$work/restored.log" || fail "the restored cluster did not start"

for _ in $(seq 1 150); do
    [[ "$(sql "SELECT pg_is_in_recovery()" 2>/dev/null)" == f ]] && break
    sleep 0.2
done
[[ "$(sql "SELECT pg_is_in_recovery()")" == f ]] || fail "the restored cluster did not finish recovery"
grep -q "recovery stopping before commit" "$work/restored.log" || fail "recovery did not stop at the target time"

result="$(sql "SELECT count(*) || ' ' || coalesce(min(id), 0) || ' ' || coalesce(max(id), 0) FROM drill")"
[[ "$result" == "$FIRST 1 $FIRST" ]] || fail "expected rows 1..$FIRST after recovery, found (count min max) $result"
log "PASSED: exactly the first $FIRST rows exist after recovery to $target ($((SECONDS - started)) s)"
