"""``flask --app mediation scheduler``: the follow-up scheduler as its own process."""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask import current_app

from mediation.common.heap import settle_heap
from mediation.followups.scheduler import SchedulerRunner
from mediation.followups.service import run_sweep


@click.command("scheduler")
@click.option(
    "--interval", type=float, default=None, help="两次巡检之间的秒数（默认取 SCHEDULER_INTERVAL，60 秒）"
)
@click.option(
    "--lease",
    "lease_seconds",
    type=float,
    default=None,
    help="调度租约的秒数（默认取 SCHEDULER_LEASE_SECONDS，90 秒）；持有者失联后其他进程在租约到期后接管",
)
@click.option("--once", is_flag=True, help="只巡检一次（到期回访、期限预警、督办升级、邮件），然后退出")
def scheduler_command(interval, lease_seconds, once):
    """在前台运行回访调度器和台账导入导出任务（多个 Web 进程部署时单独运行；多个调度进程同时运行时，
    巡检只有一个在执行，台账任务由各进程分别领取，同一任务只由一个进程执行）。"""

    if once:
        result = run_sweep()
        click.echo(result.summary())
        raise SystemExit(1 if result.errors else 0)

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mediation").setLevel(logging.INFO)
    app = current_app._get_current_object()
    settle_heap()  # a long-lived process, as a gunicorn worker (mediation.settle_heap)
    runner = SchedulerRunner(app, interval=interval, lease_seconds=lease_seconds)
    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    runner.start()  # and its 台账 job worker
    click.echo(f"调度器已启动：{runner.holder}，每 {runner.interval:g} 秒巡检一次；按 Ctrl+C 停止。")
    while not stop.wait(1.0):
        pass
    runner.stop()  # a 台账 job being run goes back to the queue
    click.echo("调度器已停止。")
