"""``flask --app mediation mediators import FILE`` and ``mediators export FILE --node CODE``
(admin-level: every unit, phone and ID numbers in full)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from mediation.common.tabular import TableError
from mediation.extensions import db
from mediation.geo.models import Node

mediators_cli = AppGroup("mediators", help="调解员名册（Excel）导入与导出")


@mediators_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_command(file):
    """导入调解员（.xlsx，工作表「调解员」「培训记录」）；有任何错误则不导入任何数据，退出码 1。"""
    from mediation.mediators.workbook import import_mediators  # heavy: openpyxl stays out of start-up

    try:
        result = import_mediators(file)
    except TableError as err:
        db.session.rollback()
        click.echo(str(err), err=True)
        sys.exit(1)
    if not result.ok:
        db.session.rollback()
        click.echo(result.summary(), err=True)
        for issue in result.errors:
            click.echo("错误：" + issue.line(), err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(result.summary())


@mediators_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--node", "node_code", required=True, help="节点代码：导出该节点及下级单位的调解员")
def export_command(file, node_code):
    """导出调解员及其培训记录（.xlsx），可直接再导入。"""
    from mediation.mediators.workbook import export_mediators  # heavy: openpyxl stays out of start-up

    if not file.lower().endswith(".xlsx"):
        click.echo("导出文件名应以 .xlsx 结尾。", err=True)
        sys.exit(1)
    node = db.session.scalar(select(Node).where(Node.code == node_code))
    if node is None:
        click.echo(f"节点代码「{node_code}」不存在。", err=True)
        sys.exit(1)
    summary = export_mediators(file, node)
    click.echo(
        f"已导出 {node.name}（{node.code}）的调解员 {summary['mediators']} 人、培训记录 {summary['trainings']} 条 → {file}"
    )
