"""`flask --app mediation documents …`: demo certificates for the PDF signatures."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from mediation.documents import signing
from mediation.extensions import db
from mediation.geo.models import Unit

documents_cli = AppGroup("documents", help="调解协议与文书：签章证书")


@documents_cli.command("demo-cert")
@click.option(
    "--unit",
    "unit_code",
    default=None,
    help="只为这个单位生成（<单位代码>.p12）；不填则为每个出具文书的单位（调委会等）各生成一个",
)
@click.option("--password", default=None, help="PKCS#12 密码（默认 SIGNING_P12_PASSWORD 或演示密码）")
@click.option("--force", is_flag=True, help="已存在时重新生成")
def demo_cert(unit_code, password, force):
    """生成演示用根证书和各单位的签章证书（PKCS#12，证书主体为单位名称，保存在实例目录的 signing/ 下）。
    仅供演示（证书标明 DEMO-ONLY），不可用于正式文书。"""

    if signing.is_production():
        click.echo("生产环境（MEDIATION_ENV=production）不生成演示证书：演示证书不得用于正式文书。", err=True)
        sys.exit(1)
    if unit_code:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            click.echo(f"单位代码「{unit_code}」不存在。", err=True)
            sys.exit(1)
        units = [unit]
    else:
        units = signing.signing_units()
        if not units:
            click.echo(
                "还没有出具文书的单位：请先导入行政区划和单位（或 flask --app mediation demo load）。",
                err=True,
            )
            sys.exit(1)
    directory = Path(signing.signing_dir())
    password = password or signing._setting("SIGNING_P12_PASSWORD") or signing.DEMO_PASSWORD
    made = signing.create_unit_demo_certificates(directory, units, password=password, force=force)
    for unit in units:
        path = directory / f"{unit.code}.p12"
        state = "已生成" if unit.code in made else "已存在（用 --force 重新生成）"
        click.echo(f"{unit.name}：{path} {state}")
    click.echo(f"演示根证书：{directory / 'demo-ca.pem'}")
    if made and password == signing.DEMO_PASSWORD:
        click.echo("密码为演示密码；正式部署请为每个单位配置其正式签章证书和 SIGNING_P12_PASSWORD。")
