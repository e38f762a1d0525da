"""A small, known world for tests: a district with two towns, villages, grids, units, users.

The builders live in mediation/demo/small.py, which the benches (bench/) use too."""

from __future__ import annotations

from mediation.demo.small import PASSWORD, build_world, dispute_payload, make_id, node, unit, user, zh_number

__all__ = ["PASSWORD", "build_world", "dispute_payload", "make_id", "node", "unit", "user", "zh_number"]
