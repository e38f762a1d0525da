"""Load a small demo with the clock pinned and print one line per table: a digest of all its rows.

Run by tests/test_reproducible.py in subprocesses with different PYTHONHASHSEED values:
``python -m tests.reproducible_demo <directory> <day> <disputes>``. Every column takes part except the
few that are random on purpose (salted password hashes, the signed PDFs' random verification codes and
their signatures, the case codes): those are not decisions of the generator.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from sqlalchemy import select

RANDOM_ON_PURPOSE = {
    "user_account": {"password_hash"},
    "signed_document": {"code", "sha256", "size", "pdf"},
    "dispute": {"case_code"},  # 一案一码: random and unguessable on purpose
    # The case code SMS sent on acceptance carries the code and its address (and dedupes on them).
    "sms_message": {"params", "dedupe_key"},
}


def table_digests() -> dict[str, str]:
    from mediation.extensions import db

    digests = {}
    for table in db.metadata.sorted_tables:
        skip = RANDOM_ON_PURPOSE.get(table.name, set())
        columns = [c for c in table.columns if c.name not in skip]
        rows = db.session.execute(select(*columns).order_by(*table.primary_key.columns)).all()
        h = hashlib.sha256()
        for row in rows:
            h.update(repr(tuple(row)).encode())
        digests[table.name] = f"{len(rows)}:{h.hexdigest()[:16]}"
    return digests


def main(directory: str, day: str, disputes: str) -> None:
    from mediation import clock
    from mediation.extensions import db
    from tests.demo_support import make_app, run_demo

    clock.set(day)
    path = Path(directory)
    app = make_app(f"sqlite:///{path / 'demo.sqlite'}", path)
    with app.app_context():
        db.create_all()
        run_demo(app, "--disputes", disputes)
        for name, digest in table_digests().items():
            print(f"TABLE {name} {digest}")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:4])
