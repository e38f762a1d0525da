"""通报 (mediation/reports/notices.py): issued by a 综治中心 for its subtree from the scorecard of a
hand-counted fixture (tests/scorecard_data.py), kept once per node and period, its PDF (read back with
pypdf) holding the ranking and the overdue case numbers, and seen by the levels above and by the units
it names — not by a unit it does not name."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from mediation.common.enums import Role, UnitType
from mediation.extensions import db
from mediation.reports.models import Notice, NoticeNamed
from tests.conftest import csrf_token, login
from tests.factories import unit, user
from tests.scorecard_data import build


@pytest.fixture
def w(app, world):
    w = build(world)
    # 海滨街道 (58.3) is praised, nobody is criticised; both towns have an overdue case (a3, b3).
    app.config.update(NOTICE_PRAISE_MIN_TOTAL=58, NOTICE_PRAISE_TOP=0, NOTICE_CRITICISE_BELOW=50)
    w.center_c = unit("ZZ-C", "新城镇综治中心", UnitType.CENTER, w.town_c)
    w.center_user_c = user("center_c", Role.CENTER, w.center_c)
    db.session.commit()
    return w


def pdf_text(data: bytes) -> str:
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"\s+", "", text)


def issue(client, who, node, period="2026-Q3"):
    return client.post("/api/v1/reports/notices", json={"node": node, "period": period}, headers=who.headers)


def test_issue_keep_and_read_back_the_pdf(client, w):
    r = issue(client, w.district_staff, w.district.code)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["number"] == "海滨区综治中心通报〔2026〕1号"
    assert body["praised"] == ["海滨街道"] and body["criticised"] == [] and body["overdue_count"] == 2
    notice = db.session.get(Notice, body["id"])
    named = {(n.node_id, n.role) for n in notice.named}
    assert named == {(w.town_a.id, "表扬"), (w.town_a.id, "超期"), (w.town_b.id, "超期")}
    assert [r["node_name"] for r in notice.snapshot["rows"]] == ["海滨街道", "双港镇", "新城镇"]

    pdf = client.get(f"/api/v1/reports/notices/{body['id']}/pdf", headers=w.district_staff.headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    for expected in ("考核情况的通报", "海滨街道", "双港镇", "58.3", "56.7", "通报表扬", "超期未办结案件"):
        assert expected in text, expected
    for case in (w.a3, w.b3):
        assert re.sub(r"\s+", "", case.case_no) in text
    # days overdue, counted to the period's end: a3 9-20 → 9-30 = 10, b3 5-31 → 9-30 = 122
    assert {c["case_no"]: c["days_overdue"] for c in notice.snapshot["overdue"]} == {
        w.a3.case_no: 10,
        w.b3.case_no: 122,
    }
    assert "新城镇" in text  # the unranked town is listed with “—”
    # no personal data: the parties' names are not in it
    assert "评价人" not in text

    # A retry does not make a second notice.
    again = issue(client, w.district_staff, w.district.code)
    assert again.status_code == 409 and "已印发" in again.get_json()["message"]
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 1


def test_who_may_issue(client, w):
    # Not a 综治中心, another town's node, a period not begun, a malformed one.
    assert issue(client, w.mediator_a, w.town_a.code).status_code == 403
    assert issue(client, w.center_user_b, w.district.code).status_code == 403
    assert issue(client, w.center_user_b, w.town_a.code).status_code == 403
    r = issue(client, w.center_user_a, w.town_a.code, "2027")
    assert r.status_code == 422 and "尚未开始" in r.get_json()["errors"]["json"]["period"][0]
    r = issue(client, w.center_user_a, w.town_a.code, "2026-Q9")
    assert r.status_code == 422 and "考核期间格式" in r.get_json()["errors"]["json"]["period"][0]
    assert issue(client, w.center_user_a, w.town_a.code).status_code == 201  # its own subtree
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 1


def test_the_units_named_see_it_and_the_others_do_not(client, w):
    notice_id = issue(client, w.district_staff, w.district.code).get_json()["id"]

    def listed(who):
        r = client.get("/api/v1/reports/notices", headers=who.headers)
        assert r.status_code == 200
        return [n["id"] for n in r.get_json()]

    def pdf_status(who):
        return client.get(f"/api/v1/reports/notices/{notice_id}/pdf", headers=who.headers).status_code

    for who in (w.district_staff, w.center_user_a, w.center_user_b, w.admin):  # issuer, named (表扬, 超期)
        assert listed(who) == [notice_id], who.username
        assert pdf_status(who) == 200, who.username
    # 新城镇 is not named (no case, unranked): its 综治中心 neither lists nor opens it.
    assert listed(w.center_user_c) == []
    assert pdf_status(w.center_user_c) == 404
    # A committee at the town's node is one of the named unit's staff too.
    assert listed(w.mediator_a) == [notice_id]
    assert db.session.scalar(select(func.count()).select_from(NoticeNamed)) == 3


def test_issue_from_the_page_and_see_it_listed(client, w):
    assert login(client, "qu_center").status_code in (302, 303)
    page = client.get(f"/reports/scorecard?node={w.district.code}&period=2026-Q3").get_data(as_text=True)
    assert 'id="issue-notice"' in page
    token = csrf_token(client, f"/reports/scorecard?node={w.district.code}&period=2026-Q3")
    form = {"node": w.district.code, "period": "2026-Q3", "csrf_token": token}
    ask = client.post("/reports/notices", data=form)
    assert ask.status_code == 200 and "确认印发" in ask.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 0
    done = client.post("/reports/notices", data={**form, "confirmed": "1"})
    assert done.status_code in (302, 303)
    listing = client.get("/reports/notices").get_data(as_text=True)
    assert "海滨区综治中心通报〔2026〕1号" in listing and "海滨街道" in listing
    notice = db.session.scalar(select(Notice))
    pdf = client.get(f"/reports/notices/{notice.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # the page now links the notice instead of offering to issue it again
    page = client.get(f"/reports/scorecard?node={w.district.code}&period=2026-Q3").get_data(as_text=True)
    assert 'id="issue-notice"' not in page and "已印发" in page
