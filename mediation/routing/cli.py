"""`flask --app mediation calendar …`: enter a State Council holiday notice, show the calendar."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mediation import clock
from mediation.common.forms import error_lines
from mediation.extensions import db
from mediation.routing import calendar as cal
from mediation.routing.models import CalendarNotice
from mediation.routing.notices import FIELD_LABELS, CalendarNoticeIn, save_notice, weekday_label

calendar_cli = AppGroup("calendar", help="工作日历（国务院节假日安排）")


@calendar_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--year", required=True, type=int, help="通知所属年度")
@click.option("--title", help="通知名称，缺省为“国务院办公厅关于YYYY年部分节假日安排的通知”")
@click.option("--document-no", help="文号")
@click.option("--supplement", is_flag=True, help="补充通知（只改所列日期），缺省为全年安排")
@click.option("--replace", is_flag=True, help="该年度已有全年安排时替换它")
def calendar_import(file, year, title, document_no, supplement, replace):
    """录入一份通知。FILE 每行一天或一段：“2027-02-05 至 2027-02-13 放假 春节”“2027-02-14 上班 春节”。"""

    def fail(lines):
        db.session.rollback()
        for line in lines:
            click.echo(line, err=True)
        sys.exit(1)

    try:
        with open(file, encoding="utf-8-sig") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        fail(["文件应为 UTF-8 编码的文本。"])
    payload = {
        "year": str(year),
        "title": title or f"国务院办公厅关于{year}年部分节假日安排的通知",
        "document_no": document_no or "",
        "annual": not supplement,
        "days": text,
    }
    try:
        data = CalendarNoticeIn().load(payload)
        existing = None
        if replace and not supplement:
            existing = db.session.scalar(select(CalendarNotice.id).where(CalendarNotice.annual_year == year))
        notice = save_notice(data, None, existing)
        db.session.commit()
    except ValidationError as err:
        fail(error_lines(err.messages, FIELD_LABELS))
    except IntegrityError:
        fail(["该通知或其中的日期刚被他人登记，请重试。"])
    off = sum(1 for d in notice.days if not d.working)
    click.echo(
        f"已录入《{notice.title}》（{'补充通知' if supplement else '全年安排'}）：放假{off}天，"
        f"调休上班{len(notice.days) - off}天。"
    )


@calendar_cli.command("show")
@click.option("--year", type=int, help="列出该年的节假日与调休")
def calendar_show(year):
    """显示各年度的数据来源、未来90天是否覆盖，以及某年的节假日与调休。"""
    view = cal.calendar()
    today = clock.today()
    for y in range(today.year - 1, today.year + 3):
        click.echo(
            f"{y}年\t{'已覆盖' if view.covers(cal.date(y, 1, 1)) else '推定'}\t"
            f"{cal.SOURCE_LABELS[view.year_source(y)]}"
        )
    warning = cal.coverage_warning(today)
    click.echo(warning or f"未来{cal.COVERAGE_DAYS}天均有官方数据。")
    if year:
        for day, info in view.special_days(year):
            click.echo(
                f"{day.isoformat()}\t{weekday_label(day)}\t{'上班' if info.working else '放假'}\t"
                f"{info.name or ''}\t{cal.SOURCE_LABELS[info.source]}"
            )
