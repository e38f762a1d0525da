"""The `flask --app mediation …` commands: tree import, units import, user create, user token."""

from __future__ import annotations

import csv

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from mediation.accounts.models import ApiToken, User
from mediation.common.enums import Channel, NodeLevel, Role, UnitType
from mediation.extensions import db
from mediation.geo.models import Node, Unit
from tests.conftest import login

TREE_HEADER = ["代码", "名称", "层级", "上级代码"]
TREE = [
    # a child before its parent: the importer orders them itself
    ["120116100201G01", "第1网格", "网格", "120116100201"],
    ["120116000000", "海滨区", "区", ""],
    ["120116100000", "双港镇", "镇", "120116000000"],
    ["120116100201", "双港村", "村", "120116100000"],
    ["120116001000", "海滨街道", "街道", "120116000000"],
]
UNIT_HEADER = ["代码", "名称", "类型", "所属节点代码", "渠道"]
UNITS = [
    ["ZZ-QU", "海滨区综治中心", "综治中心", "120116000000", ""],
    ["TW-SG", "双港镇人民调解委员会", "人民调解委员会", "120116100000", "人民调解"],
    ["PCS-SG", "双港派出所", "行政机关", "120116100000", "行政调解"],
    ["FY", "海滨区人民法院", "人民法院", "120116000000", "诉调对接"],
    ["WG-1", "双港村第1网格", "其他", "120116100201G01", ""],
]


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8-sig") as f:  # with a BOM, as Excel saves it
        csv.writer(f).writerows(rows)
    return str(path)


def write_xlsx(path, rows):
    wb = Workbook()
    ws = wb.active
    ws.title = "行政区划"
    for row in rows:
        ws.append(row)
    wb.save(path)
    return str(path)


def cli(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def node(code) -> Node:
    return db.session.scalar(select(Node).where(Node.code == code))


def unit(code) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def snapshot_nodes():
    return sorted((n.code, n.name, n.level, n.parent_id, n.path) for n in db.session.scalars(select(Node)))


def snapshot_units():
    return sorted((u.code, u.name, u.type, u.channel, u.node_id) for u in db.session.scalars(select(Unit)))


# --- tree import ---------------------------------------------------------------------------------


def assert_tree_loaded():
    assert count(Node) == 5
    district, town, village, grid = (
        node(c) for c in ("120116000000", "120116100000", "120116100201", "120116100201G01")
    )
    assert district.parent is None and district.level == NodeLevel.DISTRICT
    assert town.parent == district and village.parent == town and grid.parent == village
    assert grid.level == NodeLevel.GRID and node("120116001000").level == NodeLevel.SUBDISTRICT
    assert grid.path == f"/{district.id}/{town.id}/{village.id}/{grid.id}/"
    assert grid.full_name() == "海滨区/双港镇/双港村/第1网格"


def test_tree_import_csv_with_bom_and_reimport_changes_nothing(app, tmp_path):
    path = write_csv(tmp_path / "tree.csv", [TREE_HEADER, *TREE])
    with open(path, "rb") as f:
        assert f.read(3) == b"\xef\xbb\xbf"

    result = cli(app, "tree", "import", path)
    assert result.exit_code == 0, result.output
    assert "新增 5，更新 0" in result.stdout
    assert_tree_loaded()
    before = snapshot_nodes()

    again = cli(app, "tree", "import", path)
    assert again.exit_code == 0, again.output
    assert "新增 0，更新 0" in again.stdout
    assert snapshot_nodes() == before


def test_tree_import_xlsx_and_rename(app, tmp_path):
    result = cli(app, "tree", "import", write_xlsx(tmp_path / "tree.xlsx", [TREE_HEADER, *TREE]))
    assert result.exit_code == 0, result.output
    assert_tree_loaded()
    before = snapshot_nodes()

    assert (
        cli(app, "tree", "import", write_xlsx(tmp_path / "same.xlsx", [TREE_HEADER, *TREE])).stdout.count(
            "新增 0，更新 0"
        )
        == 1
    )
    assert snapshot_nodes() == before

    renamed = [
        r if r[0] != "120116100201" else ["120116100201", "双港新村", "村", "120116100000"] for r in TREE
    ]
    result = cli(app, "tree", "import", write_xlsx(tmp_path / "renamed.xlsx", [TREE_HEADER, *renamed]))
    assert result.exit_code == 0, result.output
    assert "新增 0，更新 1" in result.stdout
    assert node("120116100201").name == "双港新村"
    assert count(Node) == 5


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [TREE_HEADER, *TREE, ["120116100202", "东堤头村", "乡村", "120116100000"]],
            "第7行：未知的层级「乡村」",
        ),
        (
            [TREE_HEADER, *TREE, ["120116101201", "太平村", "村", "120116101000"]],
            "第7行：上级代码「120116101000」不存在",
        ),
        ([["代码", "名称", "上级代码"], ["120116000000", "海滨区", ""]], "缺少列：层级"),
        ([TREE_HEADER, *TREE, ["120116000000", "海滨区", "区", ""]], "代码「120116000000」重复"),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_tree_import_errors_store_nothing(app, tmp_path, rows, message, fmt):
    writer = write_csv if fmt == "csv" else write_xlsx
    result = cli(app, "tree", "import", writer(tmp_path / f"tree.{fmt}", rows))
    assert result.exit_code != 0
    assert message in result.stderr
    assert "新增" not in result.stdout
    db.session.rollback()
    assert count(Node) == 0


def test_tree_import_rejects_other_file_types(app, tmp_path):
    path = tmp_path / "tree.txt"
    path.write_text("代码,名称,层级,上级代码\n", encoding="utf-8")
    result = cli(app, "tree", "import", path)
    assert result.exit_code != 0
    assert "只支持 .csv 或 .xlsx 文件" in result.stderr


# --- units import --------------------------------------------------------------------------------


@pytest.fixture
def tree(app, tmp_path):
    result = cli(app, "tree", "import", write_csv(tmp_path / "tree.csv", [TREE_HEADER, *TREE]))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_units_import_and_reimport_changes_nothing(app, tmp_path, tree, fmt):
    writer = write_csv if fmt == "csv" else write_xlsx
    path = writer(tmp_path / f"units.{fmt}", [UNIT_HEADER, *UNITS])
    result = cli(app, "units", "import", path)
    assert result.exit_code == 0, result.output
    assert "新增 5，更新 0" in result.stdout
    center, committee, police, court, grid = (unit(c) for c in ("ZZ-QU", "TW-SG", "PCS-SG", "FY", "WG-1"))
    assert center.type == UnitType.CENTER and center.channel is None and center.node.code == "120116000000"
    assert committee.type == UnitType.COMMITTEE and committee.channel == Channel.PEOPLE
    assert police.type == UnitType.ADMINISTRATIVE and police.channel == Channel.ADMINISTRATIVE
    assert court.type == UnitType.COURT and court.channel == Channel.COURT_LINK
    assert grid.node.level == NodeLevel.GRID
    before = snapshot_units()

    again = cli(app, "units", "import", path)
    assert again.exit_code == 0, again.output
    assert "新增 0，更新 0" in again.stdout
    assert snapshot_units() == before


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [UNIT_HEADER, *UNITS, ["TS", "调解室", "调解室", "120116100000", ""]],
            "第7行：未知的类型「调解室」",
        ),
        (
            [UNIT_HEADER, *UNITS, ["TP", "太平派出所", "行政机关", "120116101000", "行政调解"]],
            "第7行：所属节点代码「120116101000」不存在",
        ),
        (
            [UNIT_HEADER, *UNITS, ["XF", "信访办", "行政机关", "120116000000", "信访"]],
            "第7行：未知的渠道「信访」",
        ),
        (
            [["代码", "名称", "类型", "渠道"], ["ZZ-QU", "海滨区综治中心", "综治中心", ""]],
            "缺少列：所属节点代码",
        ),
        (
            [UNIT_HEADER, *UNITS, ["FY", "海滨区人民法院", "人民法院", "120116000000", ""]],
            "第7行：代码「FY」重复",
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_units_import_errors_store_nothing(app, tmp_path, tree, rows, message, fmt):
    writer = write_csv if fmt == "csv" else write_xlsx
    result = cli(app, "units", "import", writer(tmp_path / f"units.{fmt}", rows))
    assert result.exit_code != 0
    assert message in result.stderr
    db.session.rollback()
    assert count(Unit) == 0
    assert count(Node) == 5


# --- users and tokens ----------------------------------------------------------------------------


def test_user_create_refuses_unknown_unit_and_short_password(app, world):
    users_before = count(User)
    result = cli(
        app, "user", "create", "newbie", "--role", "mediator", "--unit", "NOPE", "--password", "Long-enough-1"
    )
    assert result.exit_code == 1
    assert "单位代码「NOPE」不存在" in result.stderr

    result = cli(
        app, "user", "create", "newbie", "--role", "mediator", "--unit", "TW-A", "--password", "short"
    )
    assert result.exit_code == 1
    assert "密码至少10位" in result.stderr

    result = cli(
        app, "user", "create", "newbie", "--role", "boss", "--unit", "TW-A", "--password", "Long-enough-1"
    )
    assert result.exit_code != 0
    db.session.rollback()
    assert count(User) == users_before
    assert db.session.scalar(select(User).where(User.username == "newbie")) is None


def test_user_create_then_sign_in_through_the_web_form(app, world):
    users_before = count(User)
    result = cli(
        app,
        "user",
        "create",
        "newbie",
        "--role",
        "mediator",
        "--unit",
        "TW-A",
        "--password",
        "Long-enough-1",
        "--name",
        "周调解",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "newbie"))
    assert (user.role, user.unit.code, user.display_name) == (Role.MEDIATOR, "TW-A", "周调解")
    assert user.password_hash != "Long-enough-1"
    db.session.rollback()  # end this test's read transaction before the requests

    client = app.test_client()
    assert login(client, "newbie", "wrong-password").status_code == 401
    assert client.get("/").headers["Location"].endswith("/login")
    r = login(client, "newbie", "Long-enough-1")
    assert r.status_code == 302, r.get_data(as_text=True)
    assert "/login" not in r.headers["Location"]
    assert client.get("/").headers["Location"].endswith("/worklist/")  # signed in

    # Running it again updates the account: new unit, role and password.
    result = cli(
        app, "user", "create", "newbie", "--role", "center", "--unit", "ZZ-B", "--password", "Another-pw-2026"
    )
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert count(User) == users_before + 1
    user = db.session.scalar(select(User).where(User.username == "newbie"))
    assert (user.role, user.unit.code, user.display_name) == (Role.CENTER, "ZZ-B", "周调解")
    db.session.rollback()
    other = app.test_client()
    assert login(other, "newbie", "Long-enough-1").status_code == 401
    assert login(other, "newbie", "Another-pw-2026").status_code == 302


def test_user_token_prints_a_working_token_alone_on_the_last_line(app, world):
    result = cli(app, "user", "token", "mediator_a")
    assert result.exit_code == 0, result.output
    token = result.stdout.rstrip("\n").splitlines()[-1]
    assert token == token.strip() and " " not in token and len(token) >= 32
    db.session.rollback()
    assert (
        db.session.scalar(
            select(func.count()).select_from(ApiToken).where(ApiToken.user_id == world.mediator_a.user.id)
        )
        == 2
    )
    db.session.rollback()

    client = app.test_client()
    r = client.get("/api/v1/disputes", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["total"] == 0 and r.get_json()["items"] == []
    r = client.get("/api/v1/disputes", headers={"Authorization": f"Bearer {token[:-1]}x"})
    assert r.status_code == 401
    assert client.get("/api/v1/disputes").status_code == 401

    # A second token is a different one; both work.
    second = cli(app, "user", "token", "mediator_a").stdout.rstrip("\n").splitlines()[-1]
    assert second != token
    db.session.rollback()
    for t in (token, second):
        assert client.get("/api/v1/disputes", headers={"Authorization": f"Bearer {t}"}).status_code == 200


def test_user_token_for_unknown_user_fails(app, world):
    result = cli(app, "user", "token", "nobody")
    assert result.exit_code == 1
    assert "用户「nobody」不存在" in result.stderr
    assert result.stdout == ""
