"""The bench scripts (bench/*.py, not a package) as modules for the tests that check their logic."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load_bench_module(name: str) -> ModuleType:
    """``bench/NAME.py`` loaded as the module ``bench_NAME`` (registered in ``sys.modules``: dataclasses
    look their module up there)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def bench_module(name: str) -> Iterator[ModuleType]:
    """:func:`load_bench_module`, unregistered afterwards (a module-scoped fixture's body)."""
    module = load_bench_module(name)
    try:
        yield module
    finally:
        del sys.modules[module.__name__]
