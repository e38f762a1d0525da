"""``flask --app mediation ledger import FILE [--partial]`` and ``ledger export FILE --node CODE``.

Exit status of ``ledger import``: 0 when every row was imported (rows already present are reported
as duplicates and do not count as errors); 1 when nothing was imported because of errors (the
report is on stderr); 2 when ``--partial`` imported the good rows and wrote the bad ones to the
rejects workbook (its path and the report are on stderr).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from mediation.accounts.models import User
from mediation.extensions import db
from mediation.geo.models import Node
from mediation.ledger.jobs import JobWorker
from mediation.ledger.service import LedgerAccessError, export_ledger, import_ledger

ledger_cli = AppGroup("ledger", help="台账（Excel）导入与导出")

DUPLICATES_SHOWN = 50


class _ProgressLine:
    """A progress line on stderr: rewritten in place on a terminal, else one line per 10%."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last_step = (None, -1)
        self.last_time = 0.0

    def __call__(self, done: int, total: int | None, stage: str) -> None:
        if self.quiet:
            return
        percent = min(100, done * 100 // total) if total else None
        text = f"{stage}：{done}/{total} 行（{percent}%）" if percent is not None else f"{stage}：{done} 行"
        if self.tty:
            now = time.monotonic()
            if now - self.last_time >= 0.2 or (total and done >= total):
                self.last_time = now
                click.echo(f"\r\033[K{text}", err=True, nl=False)
                if total and done >= total:
                    click.echo("", err=True)
            return
        step = (stage, (percent // 10) if percent is not None else done // 10000)
        if step != self.last_step:
            self.last_step = step
            click.echo(text, err=True)


def _user(username: str | None):
    if not username:
        return None

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        click.echo(f"用户「{username}」不存在。", err=True)
        sys.exit(1)
    return user


@ledger_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--partial", is_flag=True, help="只导入正确的行，错误的行写入一个带“错误原因”列的工作簿")
@click.option(
    "--rejects",
    "rejects",
    type=click.Path(dir_okay=False),
    help="错误行工作簿的路径（默认：与导入文件同目录的「文件名-错误行.xlsx」）",
)
@click.option(
    "--user", "username", help="以该用户的身份导入（限其辖区，登记单位为其单位）；默认为管理员级导入"
)
@click.option("--quiet", is_flag=True, help="不显示进度")
def import_command(file, partial, rejects, username, quiet):
    """导入台账（.xlsx，工作表「纠纷」「当事人」；或只含纠纷表的 UTF-8 .csv）。"""

    user = _user(username)
    try:
        result = import_ledger(
            file, user=user, partial=partial, rejects_path=rejects, progress=_ProgressLine(quiet)
        )
        if result.written:
            db.session.commit()
        else:
            db.session.rollback()
    except BaseException:
        db.session.rollback()
        raise
    for note in result.notes:
        click.echo(note)
    for issue in result.duplicates[:DUPLICATES_SHOWN]:
        click.echo("重复：" + issue.line())
    if len(result.duplicates) > DUPLICATES_SHOWN:
        click.echo(f"……另有 {len(result.duplicates) - DUPLICATES_SHOWN} 件重复。")
    if result.ok:
        click.echo(result.summary())
        return
    click.echo(result.summary(), err=True)
    for issue in result.errors:
        click.echo("错误：" + issue.line(), err=True)
    if result.rejects_path:
        click.echo(f"错误行已写入：{result.rejects_path}", err=True)
    sys.exit(2 if result.written or result.rejects_path else 1)


@ledger_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--node", "node_code", required=True, help="节点代码：导出该节点及其下级的台账")
@click.option("--user", "username", help="以该用户的身份导出（限其辖区；按其角色决定身份证号是否脱敏）")
@click.option("--quiet", is_flag=True, help="不显示进度")
def export_command(file, node_code, username, quiet):
    """导出台账（.xlsx，工作表「纠纷」「当事人」），可直接再导入。默认为管理员级导出（完整证件号码）。"""

    if not file.lower().endswith(".xlsx"):
        click.echo("导出文件名应以 .xlsx 结尾。", err=True)
        sys.exit(1)
    node = db.session.scalar(select(Node).where(Node.code == node_code))
    if node is None:
        click.echo(f"节点代码「{node_code}」不存在。", err=True)
        sys.exit(1)
    try:
        summary = export_ledger(file, node, user=_user(username), progress=_ProgressLine(quiet))
    except LedgerAccessError as err:
        click.echo(str(err), err=True)
        sys.exit(1)
    click.echo(
        f"已导出 {node.name}（{node.code}）的台账：案件 {summary['disputes']} 件、"
        f"当事人 {summary['parties']} 人 → {file}"
    )


@ledger_cli.command("work")
@click.option("--once", is_flag=True, help="处理完当前排队的任务后退出")
def work_command(once):
    """运行网页提交的台账导入导出任务（调度器进程已包含此功能；也可作为单独的任务进程运行，可同时运行多个）。"""

    worker = JobWorker(current_app._get_current_object())
    if once:
        count = worker.run_once()
        click.echo(f"已处理台账任务 {count} 个。")
        return
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mediation").setLevel(logging.INFO)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    worker.start()
    click.echo(f"台账任务进程已启动：{worker.name}；按 Ctrl+C 停止。")
    while not stop.wait(1.0):
        pass
    worker.stop()
    click.echo(f"台账任务进程已停止（共处理 {worker.ran} 个任务）。")
