#!/usr/bin/env bash
# The HTTP benchmark in one command (bench/README.md, "HTTP: registrations and the framework floor"):
#
#   bench/run_http_bench.sh [--fsync on|off] [--database-url URL] [-- http_bench.py options …]
#
# Without --database-url it starts a private PostgreSQL (Debian's, default settings, so fsync=on
# unless --fsync off) on a free loopback port in a temporary directory and removes it afterwards.
# With --database-url it uses that existing, empty database. Then bench/http_bench.py migrates and
# fills it, starts gunicorn with deploy/gunicorn.conf.py on 127.0.0.1, drives it and checks the data.
# Example: bench/run_http_bench.sh -- --clients 1,8,32 --seconds 10 --workers 4
set -euo pipefail
cd "$(dirname "$0")/.."

FSYNC=on
URL=""
while (($#)); do
  case "$1" in
    --fsync) FSYNC=$2; shift 2 ;;
    --database-url) URL=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $FSYNC == on || $FSYNC == off ]] || { echo "--fsync on|off" >&2; exit 2; }

# What it needs: the app's Python packages (gunicorn and psycopg among them) and PostgreSQL.
python3 -c 'import flask_smorest, gunicorn, psycopg' 2>/dev/null \
  || python3 -m pip install -q --disable-pip-version-check -e .
if [[ -z $URL ]] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

EXTRA=()
if [[ -z $URL ]]; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  PGPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  PGROOT=$(mktemp -d /tmp/mediation-bench-pg.XXXXXX)
  RUN_AS=()
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$PGROOT"
    RUN_AS=(runuser -u postgres --)
  fi
  cleanup() {
    "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PGROOT"
  }
  trap cleanup EXIT
  "${RUN_AS[@]}" "$PGBIN/initdb" -D "$PGROOT/data" -U mediation --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  OPTS="-k $PGROOT -h 127.0.0.1 -p $PGPORT"
  [[ $FSYNC == off ]] && OPTS+=" -c fsync=off"
  "${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/log" -w -o "$OPTS" start >/dev/null
  "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U mediation bench_http
  URL="postgresql+psycopg://mediation@127.0.0.1:$PGPORT/bench_http"
  EXTRA=(--pg-pid "$(head -n 1 "$PGROOT/data/postmaster.pid")")
  echo "private PostgreSQL on 127.0.0.1:$PGPORT (fsync=$FSYNC), data in $PGROOT"
fi

python3 bench/http_bench.py --database-url "$URL" "${EXTRA[@]}" "$@"
