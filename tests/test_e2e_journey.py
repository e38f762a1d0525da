"""End to end in headless Chromium, issue 15's "Done when" as the people involved would walk it: a member
of the public applies online on a 390×844 phone (the SMS code read from the outbox), the 综治中心 routes
the case and the 调委会 accepts it from the case page, the party opens /c/<case code> with the code sent
to their phone, sees the stage, the session the mediator scheduled and the agreement in effect (the PDF
downloaded), rates the handling once the case is closed, and the 满意率 of the monthly report counts the
answer, its link leading to a list holding the case."""

from __future__ import annotations

import io
import re
from datetime import UTC, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from mediation.common.enums import Outcome
from mediation.common.time import SHANGHAI, local_today
from mediation.disputes.models import Dispute
from mediation.disputes.workflow import Stage
from mediation.extensions import db
from mediation.followups.models import PartyRating
from mediation.parties.plain import OUTCOME_WORDS, STAGE_WORDS
from mediation.reports.common import Month
from mediation.sessions.models import ScheduledSession
from mediation.sms.models import SmsMessage
from tests.browser import login, release_db, shot
from tests.documents_helpers import configure_signing, effective_agreement

pytestmark = pytest.mark.browser

PHONE = "13912345678"
PHONE_VIEWPORT = {"width": 390, "height": 844, "is_mobile": True, "has_touch": True}
PLACE = "海滨街道人民调解委员会调解室"


def outbox(template: str) -> list[SmsMessage]:
    """The outbox rows (the console provider's queue) to the applicant's phone, newest first."""
    db.session.expire_all()
    rows = db.session.scalars(
        select(SmsMessage)
        .where(SmsMessage.phone == PHONE, SmsMessage.template == template)
        .order_by(SmsMessage.id.desc())
    ).all()
    release_db()
    return rows


def latest_code() -> str:
    rows = outbox("verify_code")
    assert rows, "no verification code in the outbox"
    return rows[0].params["code"]


def fits_the_phone(pg) -> bool:
    return pg.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def open_action(pg, action: str) -> None:
    pg.locator(f"#workflow details[data-action='{action}'] > summary").click()


def logout(pg) -> None:
    pg.get_by_role("button", name="退出").click()
    pg.wait_for_url(re.compile(r"/login"))


def apply_online(pg, server, world) -> str:
    """Step 1: the application form on the phone; returns the case code shown at the end."""
    pg.goto(server.url_for("/apply"))
    pg.get_by_label("您的姓名").fill("王小明")
    pg.get_by_label("手机号码").fill(PHONE)
    pg.get_by_test_id("send-code").click()
    pg.wait_for_load_state()
    pg.get_by_label("短信验证码").fill(latest_code())
    pg.get_by_label("姓名或单位名称").fill("赵大强")
    pg.get_by_label("纠纷类别").select_option("邻里")
    for level, node in enumerate((world.district, world.town_a, world.village_a)):
        with pg.expect_navigation():  # the picker asks for the next level by itself (apply.js)
            pg.locator(f"#f-place-{level}").select_option(node.code)
    pg.get_by_label("事情经过").fill("楼上邻居家装修，连续一个月每天晚上十点后施工，噪音很大。")
    pg.get_by_label("您的请求").fill("请对方晚上十点后停止施工。")
    pg.locator("#f-consent").check()
    pg.get_by_test_id("apply-submit").click()
    pg.wait_for_load_state()
    code = pg.get_by_test_id("case-code").inner_text()
    assert re.fullmatch(r"[2-9A-Z]{5}-[2-9A-Z]{5}", code), code
    assert fits_the_phone(pg)
    shot(pg, "e2e_journey_applied")
    return code.replace("-", "")


def sign_in_as_party(pg, server, case_code: str) -> None:
    """Step 3: the door asks for a code sent to a phone on file, then opens the case page."""
    pg.goto(server.url_for(f"/c/{case_code}"))
    assert "王小明" not in pg.content()  # nothing of the case before the code
    pg.get_by_label("手机号码").fill(PHONE)
    pg.get_by_role("button", name="获取验证码").click()
    pg.wait_for_load_state()
    pg.get_by_label("短信验证码").fill(latest_code())
    pg.get_by_role("button", name="查看我的纠纷").click()
    pg.wait_for_url(re.compile(rf"/c/{case_code}/case$"))


def test_the_parties_journey_from_the_online_application_to_the_satisfaction_rate(
    app, live_server, new_page, world, tmp_path
):
    configure_signing(app, tmp_path)  # the units' demo certificates: the agreement PDF is signed
    party = new_page(**PHONE_VIEWPORT)
    staff = new_page()  # desktop

    # 1. The application online; the case lands in 待分流 at 海滨街道综治中心.
    case_code = apply_online(party, live_server, world)
    db.session.expire_all()
    d = db.session.scalar(select(Dispute).where(Dispute.case_code == case_code))
    assert d is not None and (d.source, d.status) == ("网上申请", "待分流")
    dispute_id, case_no = d.id, d.case_no
    release_db()
    case_page = live_server.url_for(f"/disputes/{dispute_id}")

    # 2. The 综治中心 routes it to the 调委会, whose mediator accepts it — the case page's forms.
    login(staff, live_server, "center_a")
    staff.goto(case_page)
    assert staff.locator("#workflow [data-testid=stage]").inner_text() == "待分流"
    open_action(staff, "route")
    staff.locator("#wf-route-channel").select_option("人民调解")
    staff.locator("#wf-route-unit").select_option(world.committee_a.code)
    with staff.expect_navigation(url=re.compile(rf"/disputes/{dispute_id}")):
        staff.get_by_role("button", name="确认分流").click()
    assert staff.locator("#workflow [data-testid=stage]").inner_text() == "待受理"
    logout(staff)
    login(staff, live_server, "mediator_a")
    staff.goto(case_page)
    open_action(staff, "accept")
    with staff.expect_navigation(url=re.compile(rf"/disputes/{dispute_id}")):
        staff.get_by_role("button", name="确认受理").click()
    assert staff.locator("#workflow [data-testid=stage]").inner_text() == "办理中"
    notices = outbox("case_code")  # the 受理 SMS carries the case's address
    assert notices and notices[0].params["url"].endswith(f"/c/{case_code}")

    # 3. The party opens the case's page and reads where it stands, in plain words.
    sign_in_as_party(party, live_server, case_code)
    stage = party.get_by_test_id("party-stage").inner_text()
    assert STAGE_WORDS[Stage.HANDLING].status in stage
    assert world.committee_a.name in party.get_by_test_id("party-unit").inner_text()
    assert party.get_by_test_id("party-session").count() == 0
    assert fits_the_phone(party)

    # 4. The mediator schedules a session; the party reloads and sees it; the invitation is queued.
    day = local_today() + timedelta(days=2)
    panel = staff.locator("#scheduled-sessions")
    panel.locator("#action-schedule-session > summary").click()
    form = panel.locator("[data-testid=schedule-form]")
    form.get_by_label("日期").fill(day.isoformat())
    form.get_by_label("时间").fill("15:00")
    form.get_by_label("地点").fill(PLACE)
    with staff.expect_navigation():
        form.get_by_role("button", name="安排调解").click()
    assert "已安排调解" in staff.locator("body").inner_text()
    party.reload()
    sessions = party.get_by_test_id("party-session")
    assert sessions.count() == 1
    text = sessions.inner_text()
    assert f"{day.month}月{day.day}日" in text and "15:00" in text and PLACE in text
    shot(party, "e2e_journey_session")
    db.session.expire_all()
    planned = db.session.scalar(select(ScheduledSession).where(ScheduledSession.dispute_id == dispute_id))
    release_db()
    invites = outbox("session_invite")
    assert len(invites) == 1 and invites[0].dedupe_key.startswith(f"session:{planned.id}:")
    assert invites[0].params["place"] == PLACE

    # 5. The agreement: drafted, signed (drawn + 按指印), sealed and signed by the mediator through the
    # documents service, as tests/documents_helpers.py does — the browser flow of signing on screen is
    # walked by tests/test_e2e_documents.py. The party downloads the signed PDF from their page.
    assert party.get_by_test_id("doc-agreement").count() == 0  # nothing before it takes effect
    agreement = effective_agreement(world, dispute=db.session.get(Dispute, dispute_id))
    agreement_title, agreement_number = agreement.title, agreement.number
    release_db()
    party.reload()
    link = party.get_by_test_id("doc-agreement")
    link.scroll_into_view_if_needed()
    with party.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf") and agreement_title in download.suggested_filename
    with open(download.path(), "rb") as fh:
        pdf = fh.read()
    assert pdf.startswith(b"%PDF-")
    text = re.sub(r"\s+", "", "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages))
    # The 协议书 carries its own number (…调协字第…号, the official form), not the case's 案件编号; it is
    # tied to the case by that number and by the case's code and address printed on it (一案一码).
    assert agreement_number in text and f"/c/{case_code}" in text, text

    # 6. The case is closed from the case page; the party rates the handling and is thanked.
    staff.goto(case_page)
    open_action(staff, "close")
    staff.locator("#wf-close-outcome").select_option(Outcome.SUCCESS.value)
    staff.locator("#wf-close-note").fill("达成书面调解协议，协议已生效。")
    with staff.expect_navigation(url=re.compile(rf"/disputes/{dispute_id}")):
        staff.get_by_role("button", name="确认办结").click()
    assert staff.locator("#workflow [data-testid=stage]").inner_text() == "已办结"
    logout(staff)

    login(staff, live_server, "center_a")  # before the rating: no answer in the month yet
    month = Month.of(local_today())
    report_url = live_server.url_for(f"/reports/?node={world.town_a.code}&month={month.key}")
    staff.goto(report_url)
    assert staff.locator("#satisfaction [data-figure=satisfaction_answered]").count() == 0

    party.reload()
    assert OUTCOME_WORDS[Outcome.SUCCESS].status in party.get_by_test_id("party-stage").inner_text()
    party.locator("input[name=score][value='4']").check()
    party.get_by_label("意见或建议（选填）").fill("调解员很耐心，谢谢。")
    party.get_by_role("button", name="提交评价").click()
    party.wait_for_url(re.compile(rf"/c/{case_code}/case#rating$"))
    assert "感谢您的评价" in party.locator("#rating").inner_text()
    assert fits_the_phone(party)
    shot(party, "e2e_journey_rated")
    db.session.expire_all()
    rating = db.session.scalar(select(PartyRating).where(PartyRating.dispute_id == dispute_id))
    assert (rating.score, rating.comment) == (4, "调解员很耐心，谢谢。")
    rated_month = Month.of(rating.created_at.replace(tzinfo=UTC).astimezone(SHANGHAI).date())
    release_db()

    # 7. The monthly report of the rating's month counts the answer; the rate links to the case.
    staff.goto(live_server.url_for(f"/reports/?node={world.town_a.code}&month={rated_month.key}"))
    section = staff.locator("#satisfaction")
    row = section.locator("tbody tr", has_text=world.committee_a.name)
    assert row.count() == 1
    assert row.locator("[data-figure=satisfaction_answered]").first.inner_text() == "1"
    assert row.locator("[data-figure=satisfied]").first.inner_text() == "1"
    kpi = staff.locator(".kpi", has_text="满意率")
    assert kpi.locator(".rate-link").inner_text() == "100.0%"
    shot(staff, "e2e_journey_report")
    with staff.expect_navigation():
        kpi.locator(".rate-link").click()
    assert "figure=satisfied" in staff.url
    assert case_no in staff.locator("main").inner_text()
