#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, starts a throw-away PostgreSQL
# on loopback, then runs ruff and pytest on SQLite and on PostgreSQL (browser tests included).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh --test

python3 -m pip install -q --disable-pip-version-check -e '.[dev]'

# The pre-commit hooks (ruff lint and format, .pre-commit-config.yaml) on every file, as a committer runs them.
python3 -m pre_commit run --all-files --show-diff-on-failure

# --- a private PostgreSQL server on loopback, owned by an unprivileged user ---------------------
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
# A free port on loopback unless PGPORT says which (a fixed one may still be held by a server that is stopping).
PGPORT=${PGPORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
PGROOT=$(mktemp -d /tmp/mediation-pg.XXXXXX)
RUN_AS=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres:postgres "$PGROOT"
  RUN_AS=(runuser -u postgres --)
fi
"${RUN_AS[@]}" "$PGBIN/initdb" -D "$PGROOT/data" -U mediation --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/log" -w \
  -o "-k $PGROOT -h 127.0.0.1 -p $PGPORT -c fsync=off -c full_page_writes=off -c max_connections=200" start >/dev/null
cleanup() {
  "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/replica" -m immediate stop >/dev/null 2>&1 || true
  "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGROOT"
}
trap cleanup EXIT
"$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U mediation mediation_test
export PG_ADMIN_URL="postgresql+psycopg://mediation@127.0.0.1:$PGPORT/postgres"

# --- a streaming replica of it (hot standby): the PostgreSQL run reads reports and lists from it --
# pg_basebackup -R writes standby.signal and primary_conninfo. Then the primary waits for the standby
# to apply each commit (synchronous_commit = remote_apply), so whatever a test committed can be read
# from the replica at once: no flaky lag (the lag itself is tested in tests/test_replica.py).
REPLICA_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${RUN_AS[@]}" "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PGPORT" -U mediation -D "$PGROOT/replica" \
  -R -X stream -c fast --no-sync
"${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/replica" -l "$PGROOT/replica.log" -w -o "-k $PGROOT -h 127.0.0.1 \
  -p $REPLICA_PORT -c fsync=off -c full_page_writes=off -c max_connections=200 -c hot_standby=on" start >/dev/null
"$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U mediation -d postgres -v ON_ERROR_STOP=1 \
  -c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "ALTER SYSTEM SET synchronous_commit = 'remote_apply'" \
  -c "SELECT pg_reload_conf()" >/dev/null

# String hashing (set and dict order of strings) still changes from run to run, so an order that leaks
# into a result shows up, but each run prints its hash seed: replay a failure with the same
# PYTHONHASHSEED (and the TEST_SEED / TEST_TODAY the failure report names; tests/conftest.py).
export PYTHONHASHSEED=${PYTHONHASHSEED:-$(( (RANDOM << 15 | RANDOM) % 4294967296 ))}
echo "PYTHONHASHSEED=$PYTHONHASHSEED TEST_SEED=${TEST_SEED:-default} TEST_TODAY=${TEST_TODAY:-default}"

# The two runs go side by side (one core each); their outputs are printed one after the other.
# The fault tests start private PostgreSQL clusters of their own whatever the suite's database
# is, so they run once, in the first run.
LOGS="$PGROOT/logs"; mkdir -p "$LOGS"
python3 -m pytest -q -p no:cacheprovider --basetemp="$PGROOT/tmp-sqlite" "$@" >"$LOGS/sqlite.log" 2>&1 &
sqlite_pid=$!
TEST_DATABASE_URL="postgresql+psycopg://mediation@127.0.0.1:$PGPORT/mediation_test" \
TEST_DATABASE_REPLICA_URL="postgresql+psycopg://mediation@127.0.0.1:$REPLICA_PORT/mediation_test" \
  python3 -m pytest -q -p no:cacheprovider --basetemp="$PGROOT/tmp-pg" -m "not fault" "$@" >"$LOGS/pg.log" 2>&1 &
pg_pid=$!
sqlite_rc=0; pg_rc=0
wait "$sqlite_pid" || sqlite_rc=$?
wait "$pg_pid" || pg_rc=$?
echo "=== pytest on SQLite (exit $sqlite_rc) ==="
cat "$LOGS/sqlite.log"
echo "=== pytest on PostgreSQL (exit $pg_rc) ==="
cat "$LOGS/pg.log"
[[ $sqlite_rc -eq 0 && $pg_rc -eq 0 ]]
