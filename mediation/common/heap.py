"""The process's heap after start-up (long-lived processes: gunicorn workers, the scheduler)."""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Take what start-up allocated — modules, mappers, schemas, templates, the app: ≈ 200,000
    objects that live as long as the process — out of the cyclic garbage collector's sight
    (``gc.freeze()``). A full collection then walks only what requests allocate; before, each one
    walked everything again, 15–95 ms that fell inside one request in a few hundred (a report
    page's slow run, bench/README.md). Called by each gunicorn worker once it has built the app
    (``post_worker_init`` in deploy/gunicorn.conf.py) and by the scheduler process, not by
    :func:`mediation.create_app`: a process that builds many apps (the test session) must keep their
    cycles collectable."""
    gc.collect()
    gc.freeze()
