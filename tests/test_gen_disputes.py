"""bench/gen_disputes.py on small counts: the default data (one 区) unchanged, and ``--districts``
(a 市 above several districts like 海滨区, the cases spread over them). Nothing is timed."""

import hashlib
import sqlite3
from datetime import date

import pytest

from tests.bench_modules import bench_module


@pytest.fixture(scope="module")
def gen():
    with bench_module("gen_disputes") as module:
        yield module


def test_the_default_cases_are_the_same_as_before(gen):
    """The rows of one 区 for a given seed, tree and day: the hash the generator gave before
    ``--districts`` (when the district's court, 诉调对接中心 and 人社局 were single entries of the
    tree rather than part of every place)."""
    places = [(10 + i, 100 + i % 3, 200 + i % 3, None if i % 4 == 0 else 300 + i, 400 + i) for i in range(20)]
    tree = {"places": [p + (900, 901, 902) for p in places]}
    rows = list(gen.generate(3000, tree, date(2026, 11, 30), 20261101))
    assert len(rows) == 3000
    assert [r[13] for r in rows] == sorted(r[13] for r in rows)  # ids follow registration
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()
    assert digest == "ce35334d0f63e8eb7fe02615fc7b046d6f728e805550944ac6e8505475dffa40"


def test_districts_build_a_city_above_demo_like_districts(gen, tmp_path):
    path = tmp_path / "d3.sqlite"
    assert gen.main([f"sqlite:///{path}", "--count", "600", "--districts", "3", "--seed", "7"]) == 0
    con = sqlite3.connect(path)
    q = lambda sql, *a: con.execute(sql, a).fetchall()  # noqa: E731

    # The tree: one 市 (the only root) above 3 districts of 8 towns × 10 villages × 5 grids each.
    roots = q("SELECT id, code, level, path FROM node WHERE parent_id IS NULL")
    assert [(code, level) for _, code, level, _ in roots] == [("120000000000", "市")]
    city_id, city_path = roots[0][0], roots[0][3]
    districts = q("SELECT id, code, name, path FROM node WHERE parent_id = ? ORDER BY code", city_id)
    assert [code for _, code, _, _ in districts] == ["120116000000", "120202000000", "120203000000"]
    assert [name for _, _, name, _ in districts] == ["海滨区", "和平区", "河东区"]
    assert all(p.startswith(city_path) for *_, p in districts)
    for _, _, _, dpath in districts:
        levels = dict(q("SELECT level, count(*) FROM node WHERE path LIKE ? GROUP BY level", dpath + "%"))
        assert levels == {"区": 1, "街道": 4, "镇": 4, "社区": 40, "村": 40, "网格": 400}
        units = dict(
            q(
                "SELECT u.type, count(*) FROM unit u JOIN node n ON n.id = u.node_id "
                "WHERE n.path LIKE ? GROUP BY u.type",
                dpath + "%",
            )
        )
        assert units == {"综治中心": 89, "人民调解委员会": 88, "行政机关": 9, "人民法院": 2}
    assert q("SELECT count(*) FROM node") == [(1 + 3 * 489,)]  # 市 + 3 × (区 + 488 places)
    assert len({code for (code,) in q("SELECT code FROM unit")}) == 3 * 188

    # Every case: on a place of one district, handled and registered by units of that place or
    # above it, in the same district; the cases spread over all three.
    assert q("SELECT count(*), count(DISTINCT case_code), count(DISTINCT case_no) FROM dispute") == [
        (600, 600, 600)
    ]
    rows = q(
        "SELECT n.path, n.level, hu.path, ru.path FROM dispute d JOIN node n ON n.id = d.node_id "
        "LEFT JOIN unit h ON h.id = d.unit_id LEFT JOIN node hu ON hu.id = h.node_id "
        "JOIN unit r ON r.id = d.registering_unit_id JOIN node ru ON ru.id = r.node_id"
    )
    per_district = dict.fromkeys((p for *_, p in districts), 0)
    for case_path, level, unit_path, registering_path in rows:
        assert level in ("镇", "街道", "村", "社区", "网格")
        (dpath,) = [p for p in per_district if case_path.startswith(p)]
        per_district[dpath] += 1
        assert registering_path.startswith(dpath) and case_path.startswith(registering_path)
        if unit_path is not None:
            assert unit_path.startswith(dpath) and case_path.startswith(unit_path)
    assert sum(per_district.values()) == 600
    assert min(per_district.values()) > 150  # about 200 each
