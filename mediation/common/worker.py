"""The one background-thread loop of the worker processes: the 台账 job worker and the SMS sender each
run their ``run_once`` every ``poll`` seconds, sooner when their process sets their wake event (a
commit that queued work), until stopped."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from flask import Flask

log = logging.getLogger(__name__)


def default_worker_name() -> str:
    """host:pid:random — what claims and heartbeats record as the worker."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class PollingWorker:
    """Subclasses set ``wake`` (the module's wake event), ``thread_name`` and ``label``, and define
    ``run_once``."""

    wake: threading.Event
    thread_name = "mediation-worker"
    label = "worker"

    def __init__(self, app: Flask, *, name: str | None, poll: float):
        self.app = app
        self.name = name or default_worker_name()
        self.poll = float(poll)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_once(self):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def start(self):
        if not self.running:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None and wait:
            self._thread.join(timeout=60)
        self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("%s %s: run failed", self.label, self.name)
            if self.wake.wait(self.poll):
                self.wake.clear()
