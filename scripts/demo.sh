#!/usr/bin/env bash
# One command: install, load the demo data into the embedded SQLite database, serve on port 5000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
python3 -m pip install -q --disable-pip-version-check -e .
python3 -m flask --app mediation demo
exec python3 -m flask --app mediation run --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
