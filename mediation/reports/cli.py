"""`flask --app mediation month close --node CODE --month YYYY-MM` (INTERFACES.md)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from mediation.extensions import db
from mediation.geo.models import Node
from mediation.reports.common import Month, ReportError
from mediation.reports.month_close import close_month

month_cli = AppGroup("month", help="月清月结")


@month_cli.command("close")
@click.option("--node", "code", required=True, help="节点代码（本级综治中心所在节点）")
@click.option("--month", "month_text", required=True, help="月份 YYYY-MM")
def month_close(code, month_text):
    """结账并冻结该节点该月的统计快照（月清月结），上报上级综治中心。"""

    def fail(message: str, lines: list[str] | None = None) -> None:
        db.session.rollback()
        click.echo(message, err=True)
        for line in lines or []:
            click.echo(line, err=True)
        sys.exit(1)

    try:
        month = Month.parse(month_text)
    except ValueError as err:
        fail(str(err))
    node = db.session.scalar(select(Node).where(Node.code == code))
    if node is None:
        fail(f"节点代码「{code}」不存在。")
    try:
        close = close_month(None, node, month)
    except ReportError as err:
        if err.cases:
            fail(
                f"{node.name}{month.label}不能结账：以下{len(err.cases)}件突出问题尚未填写结转说明。",
                [f"  {c['case_no']}\t{c['node']}\t{c['category']}\t{c['status']}" for c in err.cases],
            )
        fail(err.message)
    db.session.commit()
    figures = close.snapshot["monthly"]
    upper = f"，已上报{close.submitted_to.name}" if close.submitted_to else ""
    click.echo(
        f"{node.name}{month.label}已结账（第{close.seq}次）{upper}：上月结转{figures['carried_in']}，"
        f"新增{figures['new']}，办结{figures['closed']}，结转下月{figures['carried_out']}。"
    )
