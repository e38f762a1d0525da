"""`flask --app mediation documents …`: demo certificates for the PDF signatures."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

documents_cli = AppGroup("documents", help="调解协议与文书：签章证书")


@documents_cli.command("demo-cert")
@click.option("--unit", "unit_code", default=None, help="为某个单位生成（<单位代码>.p12）；不填则生成全平台的 demo.p12")
@click.option("--password", default=None, help="PKCS#12 密码（默认 SIGNING_P12_PASSWORD 或演示密码）")
@click.option("--force", is_flag=True, help="已存在时重新生成")
def demo_cert(unit_code, password, force):
    """生成演示用根证书和签章证书（PKCS#12，保存在实例目录的 signing/ 下）。仅供演示，不可用于正式文书。"""
    from mediation.documents import signing
    from mediation.extensions import db
    from mediation.geo.models import Unit

    if signing.is_production():
        click.echo("生产环境（MEDIATION_ENV=production）不生成演示证书：演示证书不得用于正式文书。", err=True)
        sys.exit(1)
    unit_name = None
    if unit_code:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            click.echo(f"单位代码「{unit_code}」不存在。", err=True)
            sys.exit(1)
        unit_name = unit.name
    directory = signing.signing_dir()
    target = directory / f"{unit_code or 'demo'}.p12"
    if target.exists() and not force:
        click.echo(f"{target} 已存在（用 --force 重新生成）。")
        return
    password = password or signing._setting("SIGNING_P12_PASSWORD") or signing.DEMO_PASSWORD
    paths = signing.create_demo_certificates(Path(directory), unit_code=unit_code, unit_name=unit_name,
                                             password=password)
    click.echo(f"演示根证书：{paths['ca']}")
    click.echo(f"签章证书（PKCS#12）：{paths['p12']}")
    if password == signing.DEMO_PASSWORD:
        click.echo("密码为演示密码；正式部署请设置 SIGNING_P12_PATH 和 SIGNING_P12_PASSWORD。")
