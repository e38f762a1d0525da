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
  source bench/private_pg.sh
  trap private_pg_stop EXIT
  private_pg_start "$FSYNC"
  "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U mediation bench_http
  URL="postgresql+psycopg://mediation@127.0.0.1:$PGPORT/bench_http"
  EXTRA=(--pg-pid "$PG_PID")
fi

python3 bench/http_bench.py --database-url "$URL" "${EXTRA[@]}" "$@"
