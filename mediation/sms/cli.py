"""``flask --app mediation sms outbox [--phone NUMBER] [--limit N]`` and ``sms work [--once]``."""

from __future__ import annotations

import signal

import click
from flask import current_app
from flask.cli import AppGroup

from mediation.common.time import to_local
from mediation.common.validators import mask_phone
from mediation.sms.outbox import SmsSender, latest, shown_params

sms_cli = AppGroup("sms", help="短信（发件箱与发送）")


def _when(dt) -> str:
    return to_local(dt).strftime("%Y-%m-%d %H:%M:%S") if dt else "-"


@sms_cli.command("outbox")
@click.option("--phone", default=None, help="只看发往该号码的短信（显示完整号码）")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="显示条数")
def outbox_command(phone, limit):
    """列出最新的短信（号码打码，--phone 时显示完整号码）。"""
    rows = latest(limit, phone=phone)
    if not rows:
        click.echo("发件箱中没有短信。")
        return
    click.echo("编号\t时间\t号码\t模板\t状态\t尝试\t发送时间\t参数\t说明")
    for m in rows:
        shown = m.phone if phone else mask_phone(m.phone)
        params = "，".join(f"{k}={v}" for k, v in shown_params(m).items())
        click.echo(
            f"{m.id}\t{_when(m.created_at)}\t{shown}\t{m.template}\t{m.status.value}\t{m.attempts}\t"
            f"{_when(m.sent_at)}\t{params}\t{m.last_error or ''}"
        )


@sms_cli.command("work")
@click.option("--once", is_flag=True, help="发送一轮到期的短信后退出")
def work_command(once):
    """发送到期的短信（持续运行；调度进程中已内置同样的发送，无需另行启动）。"""
    app = current_app._get_current_object()
    sender = SmsSender(app)
    if once:
        result = sender.run_once()
        click.echo(f"已发送 {len(result.sent)}，待重试 {len(result.retrying)}，失败 {len(result.failed)}。")
        return
    signal.signal(signal.SIGTERM, lambda *_: sender.stop(wait=False))
    click.echo(f"短信发送进程 {sender.name} 已启动（每 {sender.poll:g} 秒检查一次；Ctrl+C 停止）。")
    sender.start()
    try:
        while sender.running:
            sender._thread.join(1.0)
    except KeyboardInterrupt:
        sender.stop()
