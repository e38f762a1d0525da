"""The working-day calendar across the turn of the year: the packages (holidays, chinesecalendar),
the admin's notices (override table, web page and CLI), the cache across app instances and processes,
and the coverage warning (admin banner, scheduler log)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from datetime import date

import chinese_calendar
import pytest
from sqlalchemy import event, func, select

from mediation import clock, create_app
from mediation.extensions import db
from mediation.routing import calendar as cal
from mediation.routing.calendar import (
    add_working_days,
    calendar_covers,
    coverage_warning,
    holiday_name,
    is_working_day,
    working_days_between,
)
from mediation.routing.models import CalendarDay, CalendarNotice

D = date
PAGE = "/admin/routing/calendar"

# A made-up 2027 notice for the tests (the real one is entered by the admin when it is published):
# 春节 from Friday 02-05 to Saturday 02-13, Sunday 02-14 and Saturday 02-20 worked.
NOTICE_2027 = textwrap.dedent("""\
    # 测试用的假设安排
    2027-01-01 放假 元旦
    2027-02-05 至 2027-02-13 放假 春节
    2027-02-14 上班 春节
    2027-02-20 上班 春节
""")


def notice_form(web, days=NOTICE_2027, year="2027", annual=True, **extra):
    data = {
        "year": year,
        "title": f"国务院办公厅关于{year}年部分节假日安排的通知",
        "document_no": "",
        "days": days,
        "csrf_token": web.csrf(PAGE),
        **extra,
    }
    if annual:
        data["annual"] = "on"
    return data


# --- the packages ------------------------------------------------------------------------------------


def test_2027_spring_festival_statutory_days_are_not_working():
    """春节 2027 (初一 is Saturday 02-06): 除夕 Friday 02-05 and 初三 Monday 02-08 are statutory days
    off (全国年节及纪念日放假办法 2025) whatever the notice adds; the old fallback counted them."""
    for day in (D(2027, 2, 5), D(2027, 2, 8)):
        assert not is_working_day(day) and holiday_name(day) == "春节"
    assert is_working_day(D(2027, 2, 4))
    assert add_working_days(D(2027, 2, 4), 1) > D(2027, 2, 8)
    assert add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)  # 元旦 2027 is a Friday


def test_a_year_without_a_notice_is_estimated_from_the_law():
    """2028 (no package has its notice): the lunar holidays and the 补假 of one on a weekend count."""
    assert not calendar_covers(D(2028, 1, 3))
    assert not is_working_day(D(2028, 1, 3))  # 元旦 2028 is a Saturday: Monday 01-03 补假
    assert not is_working_day(D(2028, 1, 26)) and holiday_name(D(2028, 1, 26)) == "春节"
    assert add_working_days(D(2028, 1, 24), 1) == D(2028, 1, 31)  # 除夕 01-25 .. 初三 01-28 off
    assert cal.package_year(2028).source == cal.SOURCE_ESTIMATE


def test_packages_agree_on_every_year_they_both_have():
    """The cross-check: ``holidays`` (used) and ``chinesecalendar`` disagree on one day of 2004–2026,
    Saturday 2005-12-31, a working day by the 2006 notice (元旦: 1月1日至3日放假，12月31日上班)."""
    assert cal.package_year(2026).source == cal.SOURCE_HOLIDAYS and calendar_covers(D(2026, 12, 31))
    differ = []
    day = D(2004, 1, 1)
    while day <= D(2026, 12, 31):
        if chinese_calendar.is_workday(day) != is_working_day(day):
            differ.append(day)
        day = day.fromordinal(day.toordinal() + 1)
    assert differ == [D(2005, 12, 31)]
    assert is_working_day(D(2005, 12, 31))


def test_2026_names_and_make_up_days():
    assert holiday_name(D(2026, 2, 16)) == "春节"  # 除夕
    assert holiday_name(D(2026, 2, 20)) == "春节"  # a 调休 rest day takes its holiday's name
    assert holiday_name(D(2026, 2, 22)) == "春节"  # so does a weekend day of the run (02-15..02-23)
    assert holiday_name(D(2026, 11, 7)) is None  # an ordinary Saturday
    assert holiday_name(D(2026, 10, 7)) == "国庆节"
    assert holiday_name(D(2026, 2, 14)) is None and is_working_day(D(2026, 2, 14))


# --- the override table on the web page -------------------------------------------------------------


def test_a_notice_entered_on_the_page_decides_2027(app, client, world, web):
    with clock.frozen(D(2026, 11, 30)):
        assert not calendar_covers(D(2027, 2, 14)) and not is_working_day(D(2027, 2, 14))
        assert "2027年" in coverage_warning()
        web.login("admin")
        r = client.post(PAGE, data=notice_form(web))
        assert r.status_code == 303, r.get_data(as_text=True)
        assert calendar_covers(D(2027, 2, 14)) and coverage_warning() is None
    # 春节 days off (the weekend days inside too), the 调休 Sunday and Saturday worked.
    assert all(not is_working_day(D(2027, 2, d)) for d in range(5, 14))
    assert holiday_name(D(2027, 2, 12)) == "春节"
    assert is_working_day(D(2027, 2, 14)) and is_working_day(D(2027, 2, 20))
    # An annual notice replaces the estimate of its year: the 补假 the estimate had in May is gone.
    assert cal.package_year(2027).off.get(D(2027, 5, 3)) and is_working_day(D(2027, 5, 3))
    # A deadline of 5 working days across it: 02-04 (Thu) → 02-14 (Sun, 1), 15, 16, 17, 18.
    assert add_working_days(D(2027, 2, 4), 5) == D(2027, 2, 18)
    assert working_days_between(D(2027, 2, 4), D(2027, 2, 18)) == 5
    assert add_working_days(D(2027, 2, 4), 8) == D(2027, 2, 22)  # Saturday 02-20 is the 7th


def test_override_rows_win_over_the_packages(app, client, world, web):
    """A supplementary notice in a year the packages cover: a holiday on a weekday and a make-up
    working day on a weekend; saving it on the page changes the deadlines at once."""
    from mediation.routing.deadlines import deadline_for, set_time_limit

    set_time_limit({"channel": "人民调解", "category": "邻里", "days": 2, "working_days": True})
    db.session.commit()
    assert is_working_day(D(2026, 12, 1)) and not is_working_day(D(2026, 12, 5))
    assert deadline_for("人民调解", "邻里", D(2026, 11, 27)) == D(2026, 12, 1)  # Fri → Mon, Tue
    web.login("admin")
    days = "2026-11-30 放假 地方调整测试\n2026-12-05 上班 地方调整测试\n"
    r = client.post(PAGE, data=notice_form(web, days, year="2026", annual=False, title="补充通知（测试）"))
    assert r.status_code == 303, r.get_data(as_text=True)
    assert not is_working_day(D(2026, 11, 30)) and holiday_name(D(2026, 11, 30)) == "地方调整测试"
    assert is_working_day(D(2026, 12, 5))
    assert deadline_for("人民调解", "邻里", D(2026, 11, 27)) == D(2026, 12, 2)
    # A supplementary notice changes only its days: the rest of 2026 still comes from the package.
    assert not is_working_day(D(2026, 10, 1)) and is_working_day(D(2026, 10, 10))
    # Deleting it restores the package's days.
    notice_id = db.session.scalar(select(CalendarNotice.id))
    r = client.post(f"{PAGE}/{notice_id}/delete", data={"csrf_token": web.csrf(PAGE)})
    assert r.status_code == 303
    assert is_working_day(D(2026, 11, 30)) and not is_working_day(D(2026, 12, 5))
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 0


def test_editing_a_notice_replaces_its_days(app, client, world, web):
    web.login("admin")
    assert client.post(PAGE, data=notice_form(web)).status_code == 303
    notice_id = db.session.scalar(select(CalendarNotice.id))
    page = client.get(f"{PAGE}/{notice_id}").get_data(as_text=True)
    assert "2027-02-05 至 2027-02-13 放假 春节" in page and "2027-02-14 上班 春节" in page
    changed = NOTICE_2027.replace("2027-02-20 上班 春节\n", "")
    r = client.post(f"{PAGE}/{notice_id}", data=notice_form(web, changed))
    assert r.status_code == 303
    assert not is_working_day(D(2027, 2, 20)) and is_working_day(D(2027, 2, 14))
    assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 11
    assert client.get(f"{PAGE}/{notice_id + 1}").status_code == 404


@pytest.mark.parametrize(
    ("days", "year", "message"),
    [
        ("2027-02-30 放假 春节", "2027", "第1行：日期「2027-02-30」无效"),
        ("2027-02-05 春节", "2027", "第1行：格式应为"),
        ("2027-02-05 放假", "2027", "第1行：请写明放假的节日名称"),
        ("2027-02-15 上班 春节", "2027", "第1行：2027-02-15（星期一）本来就是工作日"),
        ("2027-02-13 至 2027-02-05 放假 春节", "2027", "结束日期 2027-02-05 早于开始日期 2027-02-13"),
        ("2027-01-01 放假 元旦\n2026-10-01 放假 国庆节", "2027", "第2行：2026-10-01 不在2027年的安排范围内"),
        ("2027-02-05 至 2027-02-08 放假 春节\n2027-02-08 放假 春节", "2027", "第2行：2027-02-08 与第1行重复"),
        ("# 只有注释", "2027", "请至少填写一天"),
        ("2027-02-05 放假 春节", "1999", "年度应在2000到2099之间"),
    ],
)
def test_bad_notices_are_refused_line_by_line_in_chinese(app, client, world, web, days, year, message):
    web.login("admin")
    r = client.post(PAGE, data=notice_form(web, days, year=year))
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CalendarNotice)) == 0
    assert 'name="days"' in r.get_data(as_text=True) and days.splitlines()[0] in r.get_data(as_text=True)


def test_every_error_is_shown_at_once(app, client, world, web):
    web.login("admin")
    r = client.post(PAGE, data=notice_form(web, "2027-02-15 上班 春节\n2027-02-30 放假 春节", title="短"))
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "通知名称：长度应在4到200个字符之间" in html
    assert "放假与调休安排：第1行：2027-02-15（星期一）本来就是工作日" in html
    assert "放假与调休安排：第2行：日期「2027-02-30」无效" in html


def test_a_date_or_a_year_is_entered_once(app, client, world, web):
    web.login("admin")
    assert client.post(PAGE, data=notice_form(web)).status_code == 303
    r = client.post(PAGE, data=notice_form(web, "2027-10-01 放假 国庆节"))
    assert r.status_code == 422 and "全年安排：2027年的全年安排已登记" in r.get_data(as_text=True)
    r = client.post(
        PAGE, data=notice_form(web, "2027-01-01 放假 元旦", annual=False, title="补充通知（测试）")
    )
    assert r.status_code == 422 and "第1行：2027-01-01 已登记在《国务院办公厅关于2027年" in r.get_data(
        as_text=True
    )
    assert db.session.scalar(select(func.count()).select_from(CalendarNotice)) == 1


def test_the_page_is_for_admins_only(app, client, world, web):
    web.login("center_b")
    assert client.get(PAGE).status_code == 403
    r = client.post(PAGE, data=notice_form(web))
    assert r.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(CalendarNotice)) == 0
    assert is_working_day(D(2027, 2, 20)) is False  # a Saturday, unchanged


# --- cache: other app instances and other processes ---------------------------------------------------


def test_a_change_reaches_a_second_app_instance(app, client, world, web, db_url, tmp_path):
    other = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "x", "INSTANCE_DIR": str(tmp_path)}
    )
    with other.app_context():
        assert not is_working_day(D(2027, 2, 14))  # loads and caches this app's view
        db.session.commit()
    web.login("admin")
    assert client.post(PAGE, data=notice_form(web)).status_code == 303
    with other.app_context():
        assert is_working_day(D(2027, 2, 14)) and calendar_covers(D(2027, 2, 14))
        db.engine.dispose()


PROBE = textwrap.dedent("""\
    import sys, json
    from datetime import date
    from mediation import create_app
    from mediation.extensions import db
    from mediation.routing.calendar import is_working_day, calendar_covers
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "x",
                      "INSTANCE_DIR": sys.argv[2]})
    with app.app_context():
        for line in sys.stdin:
            day = date.fromisoformat(line.strip())
            print(json.dumps([is_working_day(day), calendar_covers(day)]), flush=True)
            db.session.commit()
""")


def test_a_change_reaches_a_running_process(app, client, world, web, db_url, tmp_path):
    """Another process (a web worker, the scheduler) that has the table cached sees the change with
    its next transaction: the token in calendar_state."""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE, db_url, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=os.getcwd(),
    )
    try:

        def ask(day: str):
            proc.stdin.write(day + "\n")
            proc.stdin.flush()
            return json.loads(proc.stdout.readline())

        assert ask("2027-02-14") == [False, False]
        web.login("admin")
        assert client.post(PAGE, data=notice_form(web)).status_code == 303
        assert ask("2027-02-14") == [True, True]
        notice_id = db.session.scalar(select(CalendarNotice.id))
        assert (
            client.post(f"{PAGE}/{notice_id}/delete", data={"csrf_token": web.csrf(PAGE)}).status_code == 303
        )
        assert ask("2027-02-14") == [False, False]
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_working_days_of_many_cases_cost_one_query(app, world):
    """Reports compute deadlines per case: the override set is checked once per transaction."""
    statements = []

    def count(conn, cursor, statement, *args):
        if "calendar_" in statement:
            statements.append(statement)

    db.session.commit()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for offset in range(400):
            add_working_days(D(2026, 1, 1).fromordinal(D(2026, 1, 1).toordinal() + offset), 10)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1


# --- the coverage warning ----------------------------------------------------------------------------


def test_banner_for_admins_when_the_next_90_days_are_not_covered(app, client, world, web):
    web.login("admin")
    with clock.frozen(D(2029, 12, 1)):
        for url in ("/disputes/", "/admin/routing/", PAGE):
            html = client.get(url).get_data(as_text=True)
            assert 'data-testid="calendar-warning"' in html, url
            assert "工作日历尚未包含2029年、2030年的国务院节假日安排" in html
    with clock.frozen(D(2026, 3, 1)):  # March to May 2026: the package has the notice
        assert 'data-testid="calendar-warning"' not in client.get("/disputes/").get_data(as_text=True)
        assert coverage_warning() is None
    with clock.frozen(D(2026, 10, 15)):  # 90 days reach 2027-01-13
        assert "2027年" in coverage_warning()
    client.post("/logout", data={"csrf_token": web.csrf("/disputes/")})
    web.login("center_b")
    with clock.frozen(D(2029, 12, 1)):
        assert 'data-testid="calendar-warning"' not in client.get("/disputes/").get_data(as_text=True)


def test_scheduler_logs_the_warning_once_per_day(app, world, caplog, monkeypatch):
    from mediation.followups.scheduler import SchedulerRunner, acquire_lease

    monkeypatch.setattr(cal, "_warned_on", None)
    runner = SchedulerRunner(app, holder="calendar-test", interval=3600, lease_seconds=60)
    assert acquire_lease(runner.holder, 60)
    caplog.set_level(logging.WARNING, logger="mediation.followups.scheduler")

    def warnings():
        return [r for r in caplog.records if "工作日历尚未包含" in r.getMessage()]

    with clock.frozen(D(2029, 12, 1)):
        runner.run_sweep_job()
        runner.run_sweep_job()
    assert len(warnings()) == 1 and warnings()[0].name == "mediation.followups.scheduler"
    assert "2030年" in warnings()[0].getMessage()
    with clock.frozen(D(2029, 12, 2)):
        runner.run_sweep_job()
    assert len(warnings()) == 2
    caplog.clear()
    with clock.frozen(D(2026, 3, 1)):
        runner.run_sweep_job()
    assert warnings() == []


# --- the command line ----------------------------------------------------------------------------------


def test_cli_import_and_show(app, world, tmp_path):
    runner = app.test_cli_runner()
    good = tmp_path / "2027.txt"
    good.write_text(NOTICE_2027, encoding="utf-8")
    result = runner.invoke(args=["calendar", "import", str(good), "--year", "2027"])
    assert result.exit_code == 0, result.output
    assert "放假10天，调休上班2天" in result.output
    db.session.commit()
    assert is_working_day(D(2027, 2, 20)) and calendar_covers(D(2027, 6, 1))
    # A second annual notice of the year: refused, unless --replace.
    result = runner.invoke(args=["calendar", "import", str(good), "--year", "2027"])
    assert result.exit_code == 1 and "2027年的全年安排已登记" in result.output
    bad = tmp_path / "bad.txt"
    bad.write_text("2027-02-15 上班 春节\n2027-13-01 放假 元旦\n", encoding="utf-8")
    result = runner.invoke(args=["calendar", "import", str(bad), "--year", "2027", "--replace"])
    assert result.exit_code == 1
    assert (
        "第1行：2027-02-15（星期一）本来就是工作日" in result.output
        and "第2行：日期「2027-13-01」无效" in result.output
    )
    good.write_text("2027-02-05 至 2027-02-10 放假 春节\n", encoding="utf-8")
    result = runner.invoke(args=["calendar", "import", str(good), "--year", "2027", "--replace"])
    assert result.exit_code == 0, result.output
    db.session.commit()
    assert not is_working_day(D(2027, 2, 20)) and is_working_day(D(2027, 2, 11))
    assert db.session.scalar(select(func.count()).select_from(CalendarNotice)) == 1
    result = runner.invoke(args=["calendar", "show", "--year", "2027"])
    assert result.exit_code == 0 and "2027-02-05\t星期五\t放假\t春节" in result.output
