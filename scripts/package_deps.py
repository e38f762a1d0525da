"""Print the dependency picture of mediation's packages, drawn from the code (a Mermaid graph).

    python scripts/package_deps.py            # Mermaid flowchart for CONTRIBUTING.md (without core/common)
    python scripts/package_deps.py --list     # one "a -> b" line per dependency

Every ``import``/``from … import`` of ``mediation.X`` inside ``mediation/Y`` is an edge Y → X, whether at the top
of a module or inside a function (those are marked as deferred: they break a cycle or keep a heavy library out of
start-up)."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "mediation"


# Top-level modules: the application shell that wires every area together, and the core every area uses.
APP = {"__init__", "cli", "web", "health", "ops", "models"}
OWN = {"worklist"}  # a top-level module that is an area of its own


def area(module: str) -> str:
    """mediation.disputes.views → disputes; mediation.cli → app; mediation.clock → core."""
    parts = module.split(".")
    if len(parts) < 2:
        return "app"
    first = parts[1]
    if (ROOT / first).is_dir():
        return first
    return "app" if first in APP else first if first in OWN else "core"


def edges() -> dict[tuple[str, str], bool]:
    """(from, to) → True when at least one import of it is at module level."""
    found: dict[tuple[str, str], bool] = defaultdict(bool)
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        source = area(".".join(rel.parts))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module == "mediation":  # from mediation import clock
                names = [f"mediation.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mediation."):
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("mediation")]
            targets = {area(n) for n in names}
            for target in targets:
                if target != source:
                    found[(source, target)] |= id(node) in top
    return found


def main(argv: list[str]) -> None:
    graph = edges()
    if "--list" in argv:
        for (a, b), at_top in sorted(graph.items()):
            print(f"{a} -> {b}{'' if at_top else '  (deferred)'}")
        return
    print("flowchart LR")
    print(
        "  %% every area uses core (extensions, clock, signals, config) and common: those edges are left out"
    )
    for (a, b), at_top in sorted(graph.items()):
        if b not in ("core", "common"):
            print(f"  {a} {'-->' if at_top else '-.->'} {b}")


if __name__ == "__main__":
    main(sys.argv[1:])
