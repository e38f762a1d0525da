"""Tests that decide by chance decide the same way on every run, and say how to replay a failure.

- A randomised test reports its seed when it fails, and TEST_SEED replays the same draws, whatever
  PYTHONHASHSEED (string hashing) the replaying process has.
- Hypothesis runs derandomised under the "ci" profile of tests/conftest.py: two processes with different
  PYTHONHASHSEED values try the same examples, and the failure report carries the blob to replay.
- The demo (what tests/test_demo.py checks) is the same data, column for column, under two PYTHONHASHSEED
  values: no set or dict iteration order leaks into it.
- The test tools and every dependency have an upper bound in pyproject.toml, and what is installed
  satisfies the pins.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]

CHANCY = """
from hypothesis import given, strategies as st


def test_draws(seeded_random):
    print("DRAWS", [seeded_random.randrange(10**9) for _ in range(5)])
    print("SET ORDER", list({"甲", "乙", "丙", "丁", "戊", "己", "庚"}))  # what PYTHONHASHSEED changes
    assert False, "fails on purpose"


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1))
def test_examples(xs):
    print("TRIED", xs)
    assert sum(xs) < 5000
"""


def run_pytest(tmp_path: Path, hashseed: str, **env) -> str:
    """The throwaway tests above, with this repository's conftest as the plugin that supplies the
    fixtures and the Hypothesis profile, in a fresh process."""
    test_file = tmp_path / "test_chancy.py"
    test_file.write_text(CHANCY, encoding="utf-8")
    environment = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONPATH": str(ROOT), **env}
    for name in ("TEST_SEED", "TEST_TODAY", "HYPOTHESIS_PROFILE"):
        if name not in env:
            environment.pop(name, None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            str(test_file),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # both tests fail, on purpose
    return done.stdout


def draws(output: str) -> str:
    return re.search(r"^DRAWS (.*)$", output, re.M).group(1)


def set_order(output: str) -> str:
    return re.search(r"^SET ORDER (.*)$", output, re.M).group(1)


def tried(output: str) -> list[str]:
    return re.findall(r"^TRIED (.*)$", output, re.M)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The throwaway tests, once with a fresh random seed under PYTHONHASHSEED=0, then replayed with the
    seed that the first failure report names, under PYTHONHASHSEED=123."""
    first = run_pytest(tmp_path_factory.mktemp("first"), "0", TEST_SEED="random")
    seed = re.search(r"^random seed (\d+)$", first, re.M).group(1)
    again = run_pytest(tmp_path_factory.mktemp("again"), "123", TEST_SEED=seed)
    return seed, first, again


def test_a_failing_randomised_test_names_its_seed_and_the_seed_replays_it(two_runs):
    seed, first, again = two_runs
    replay = re.search(r"^replay: (.*) python -m pytest '(.*)'$", first, re.M)
    assert replay.group(1) == f"TEST_SEED={seed} PYTHONHASHSEED=0", first
    assert replay.group(2).endswith("test_chancy.py::test_draws")
    assert f"random seed {seed}" in again and f"TEST_SEED={seed} PYTHONHASHSEED=123" in again
    assert draws(again) == draws(first)
    assert set_order(again) != set_order(first)  # the hash seed did reach the process


def test_hypothesis_tries_the_same_examples_whatever_the_hash_seed_and_prints_the_blob(two_runs):
    _, one, two = two_runs
    assert "hypothesis profile=ci" in one
    assert tried(one) and tried(one) == tried(two)
    assert "@reproduce_failure(" in one and "@reproduce_failure(" in two
    assert "Falsifying example: test_examples(" in one


def demo_tables(directory: Path, hashseed: str) -> list[str]:
    directory.mkdir()
    environment = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.reproducible_demo", str(directory), "2026-11-18", "25"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if line.startswith("TABLE ")]


def test_the_demo_is_the_same_data_under_two_hash_seeds(tmp_path):
    one = demo_tables(tmp_path / "zero", "0")
    two = demo_tables(tmp_path / "other", "123")
    assert len(one) > 15 and any(" 0:" not in line for line in one if "dispute " in line)
    assert one == two, sorted(set(one) ^ set(two))


# ---------------------------------------------------------------------------------------- pins


def requirements() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {
        "dependencies": [Requirement(r) for r in project["dependencies"]],
        "dev": [Requirement(r) for r in project["optional-dependencies"]["dev"]],
    }


def test_every_requirement_has_an_upper_bound_and_ruff_a_minor_range():
    for group, reqs in requirements().items():
        for req in reqs:
            assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), (
                f"{group}: {req} has no ceiling"
            )
    ruff = next(r for r in requirements()["dev"] if r.name == "ruff")
    ceiling = next(s.version for s in ruff.specifier if s.operator == "<")
    floor = next(s.version for s in ruff.specifier if s.operator == ">=")
    assert (
        ceiling.split(".")[:1] == floor.split(".")[:1]
        and int(ceiling.split(".")[1]) == int(floor.split(".")[1]) + 1
    )


def test_the_installed_versions_satisfy_the_pins():
    wrong = []
    for reqs in requirements().values():
        for req in reqs:
            try:
                installed = version(req.name)
            except PackageNotFoundError:
                wrong.append(f"{req}: not installed")
                continue
            if not req.specifier.contains(installed, prereleases=True):
                wrong.append(f"{req}: {installed} installed")
    assert not wrong, wrong
