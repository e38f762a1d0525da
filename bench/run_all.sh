#!/usr/bin/env bash
# Every benchmark next to its floor, in one run, and one table (bench/README.md, "All benchmarks, one table"):
#
#   bash bench/run_all.sh [--quick] [--out DIR]
#
# --quick: 100,000 generated cases, few and short runs (a few minutes on 2 cores): what a reviewer runs.
# (At 20,000 the report floors took 2-4 ms, so one scheduling hiccup decided a row; see bench/README.md.)
# Without it: 1,000,000 cases (bench/gen_disputes.py) and longer runs: what the README's table shows.
# A private PostgreSQL (fsync off) on a free loopback port in a temporary directory serves the HTTP
# and the PostgreSQL report benchmarks; it is removed afterwards, with the SQLite file. Each
# benchmark writes its numbers with --json and its output to a log in DIR (default: a new directory
# under /tmp); bench/summary.py prints the table from them, with the date and the load average
# before and after. Exit status 1 if a benchmark failed (its row says "not measured").
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=full
OUT=""
while (($#)); do
  case "$1" in
    --quick) MODE=quick; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [[ $MODE == quick ]]; then
  COUNT=100000 REPORT_RUNS=5 DOC_RUNS=5
  HTTP=(--clients 16 --seconds 3 --warmup 2 --repeat 3 --demo-disputes 20)
else
  COUNT=1000000 REPORT_RUNS=7 DOC_RUNS=15
  HTTP=(--clients 16 --seconds 10 --warmup 2 --repeat 5)
fi

# What it needs: what scripts/setup-system.sh installs (PostgreSQL is in its --test set) and the app's
# Python packages (gunicorn and psycopg among them).
bash scripts/setup-system.sh
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || bash scripts/setup-system.sh --test
python3 -c 'import flask_smorest, gunicorn, psycopg, weasyprint, pyhanko, uharfbuzz' 2>/dev/null \
  || python3 -m pip install -q --disable-pip-version-check -e .

OUT=${OUT:-$(mktemp -d /tmp/mediation-bench-all.XXXXXX)}
mkdir -p "$OUT"
rm -f "$OUT"/*.json
WORK=$(mktemp -d /tmp/mediation-bench-work.XXXXXX)
source bench/private_pg.sh
cleanup() { private_pg_stop; rm -rf "$WORK"; }
trap cleanup EXIT

python3 bench/summary.py snapshot "$OUT/machine-before.json"
echo "run_all ($MODE, $COUNT cases): results and logs in $OUT; load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
private_pg_start off >"$OUT/postgresql.log"
for db in bench_http bench_reports; do "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U mediation "$db"; done
PG_URL="postgresql+psycopg://mediation@127.0.0.1:$PGPORT"

FAILED=()
step() {  # step NAME COMMAND…: run a benchmark, its output to $OUT/NAME.log
  local name=$1; shift
  # How fast the machine runs right now (bench/summary.py, "CPU probe"): its table flags a slow spell.
  python3 bench/summary.py snapshot "$OUT/machine-step-$name.json"
  local started=$SECONDS
  printf '%-44s' "… $name"
  if "$@" >"$OUT/$name.log" 2>&1; then
    echo " $((SECONDS - started)) s"
  else
    echo " FAILED after $((SECONDS - started)) s (last lines of $OUT/$name.log:)"
    tail -n 15 "$OUT/$name.log" | sed 's/^/    /'
    FAILED+=("$name")
  fi
}

SQLITE_URL="sqlite:///$WORK/reports.sqlite"
step generate-sqlite python3 bench/gen_disputes.py "$SQLITE_URL" --count "$COUNT" --reset
step reports-sqlite python3 bench/reports_bench.py "$SQLITE_URL" --runs "$REPORT_RUNS" --json "$OUT/reports-sqlite.json"
step generate-postgresql \
  python3 bench/gen_disputes.py "$PG_URL/bench_reports" --count "$COUNT" --reset
step reports-postgresql python3 bench/reports_bench.py "$PG_URL/bench_reports" --runs "$REPORT_RUNS" \
  --json "$OUT/reports-postgresql.json"
rm -f "$WORK/reports.sqlite"
step documents python3 bench/documents_bench.py --runs "$DOC_RUNS" --json "$OUT/documents.json"
step http python3 bench/http_bench.py --database-url "$PG_URL/bench_http" --pg-pid "$PG_PID" \
  --scenarios register,ping "${HTTP[@]}" --log "$OUT/gunicorn.log" --json "$OUT/http.json"

python3 bench/summary.py snapshot "$OUT/machine-after.json"
echo
rc=0
python3 bench/summary.py table "$OUT" --mode "$MODE" | tee "$OUT/table.md" || rc=$?
((${#FAILED[@]} == 0)) || { echo "failed: ${FAILED[*]} (logs in $OUT)"; rc=1; }
exit "$rc"
