"""mediation.common.heap.settle_heap: a gunicorn worker that has built the app takes what start-up
allocated out of the garbage collector's sight (gc.freeze), so that a full collection inside a
request walks only what requests allocate. Run in a fresh interpreter: freezing this test process
would keep the cycles of every app the test session builds afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import gc, json, runpy, sys
from mediation import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "heap", "SCHEDULER_MODE": "off"})
after_app = gc.get_freeze_count()
hooks = runpy.run_path(sys.argv[1])
hooks["post_worker_init"](None)  # what gunicorn calls in each worker once the app is loaded
frozen = gc.get_freeze_count()
gc.collect()
tracked = len(gc.get_objects())
print(json.dumps({"after_app": after_app, "frozen": frozen, "tracked": tracked}))
"""


def test_a_worker_freezes_what_start_up_allocated():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "deploy" / "gunicorn.conf.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "TEST_DATABASE"))},
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["after_app"] == 0  # create_app itself freezes nothing (tests build many apps)
    # The app's start-up objects are frozen, and a collection no longer sees them.
    assert result["frozen"] > 50_000, result
    assert result["tracked"] < result["frozen"] / 5, result
