"""The `flask --app mediation …` commands of INTERFACES.md."""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator

import click
from flask import Flask, current_app, has_app_context
from flask.cli import AppGroup
from sqlalchemy import select

from mediation.accounts.models import ApiToken, User
from mediation.accounts.service import PasswordRejected, deactivate, revoke_tokens, set_new_password
from mediation.common.enums import Role, values
from mediation.common.tabular import TableError
from mediation.common.time import to_local
from mediation.common.validators import text_error
from mediation.database import write_intent
from mediation.demo import load_demo
from mediation.documents.cli import documents_cli
from mediation.extensions import db
from mediation.followups.cli import scheduler_command
from mediation.geo.models import Unit
from mediation.geo.service import ImportErrors, import_tree, import_units
from mediation.ledger.cli import ledger_cli
from mediation.mediators.cli import mediators_cli
from mediation.ops import ops_cli
from mediation.reports.cli import month_cli
from mediation.routing.cli import calendar_cli
from mediation.sms.cli import sms_cli


def _fail(messages: list[str]) -> None:
    for m in messages:
        click.echo(m, err=True)
    db.session.rollback()
    sys.exit(1)


tree_cli = AppGroup("tree", help="行政区划树")
units_cli = AppGroup("units", help="处置单位")
user_cli = AppGroup("user", help="用户与令牌")


@tree_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def tree_import(file):
    """导入行政区划（CSV/XLSX，表头：代码,名称,层级,上级代码）。"""

    try:
        result = import_tree(file)
    except (ImportErrors, TableError) as err:
        _fail(getattr(err, "errors", [str(err)]))
    db.session.commit()
    click.echo(f"节点 {result['rows']} 行：新增 {result['created']}，更新 {result['updated']}。")


@units_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def units_import(file):
    """导入处置单位（CSV/XLSX，表头：代码,名称,类型,所属节点代码,渠道）。"""

    try:
        result = import_units(file)
    except (ImportErrors, TableError) as err:
        _fail(getattr(err, "errors", [str(err)]))
    db.session.commit()
    click.echo(f"单位 {result['rows']} 行：新增 {result['created']}，更新 {result['updated']}。")


@user_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(values(Role)))
@click.option("--unit", "unit_code", required=True, help="单位代码")
@click.option("--password", required=True, help="至少10位，大写字母、小写字母、数字、符号中至少3类")
@click.option("--name", "display_name", default="", help="显示姓名")
@click.option("--email", default=None, help="接收提醒邮件的地址（可选）")
def user_create(username, role, unit_code, password, display_name, email):
    """创建用户（已存在则更新角色、单位和密码；密码有变则其登录和令牌全部失效）。"""

    problems = [
        f"{label}：{err}"
        for label, value, limit in (
            ("用户名", username, 64),
            ("姓名", display_name, 64),
            ("单位代码", unit_code, 32),
            ("邮箱", email or "", 254),
        )
        if (err := text_error(value) or (f"长度不能超过{limit}个字符。" if len(value) > limit else None))
    ]
    if problems:
        _fail(problems)
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        _fail([f"单位代码「{unit_code}」不存在。"])
    user = db.session.scalar(select(User).where(User.username == username))
    changed = user is None or not user.check_password(password)
    if user is None:
        user = User(username=username)
        db.session.add(user)
    if changed:
        try:
            set_new_password(user, password)  # an existing account's sessions and tokens end
        except PasswordRejected as err:
            _fail(err.problems)
    user.role, user.unit, user.display_name = Role(role), unit, display_name or user.display_name or ""
    if email is not None:
        user.email = email.strip() or None
    db.session.commit()
    click.echo(f"用户 {username}（{role}，{unit.name}）已保存。")


def _user_or_fail(username: str):
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        _fail([f"用户「{username}」不存在。"])
    return user


@user_cli.command("token")
@click.argument("username")
def user_token(username):
    """生成新的 API 令牌（有效期 API_TOKEN_DAYS 天），最后一行单独输出令牌。"""

    user = _user_or_fail(username)
    if not user.active:
        _fail([f"用户「{username}」已停用，不能生成令牌。"])
    row, token = ApiToken.issue(user)
    db.session.commit()
    expires = to_local(row.expires_at).strftime("%Y-%m-%d %H:%M")
    click.echo(
        f"用户 {username} 的新令牌（只显示这一次，{current_app.config['API_TOKEN_DAYS']} 天后即 {expires} 到期）："
    )
    click.echo(token)


@user_cli.command("deactivate")
@click.argument("username")
def user_deactivate(username):
    """停用用户：不能再登录，其网页登录和 API 令牌立即失效。"""

    user = _user_or_fail(username)
    sessions, tokens = deactivate(user)
    db.session.commit()
    click.echo(f"用户 {username} 已停用：结束登录 {sessions} 个，撤销令牌 {tokens} 个。")


@user_cli.command("activate")
@click.argument("username")
def user_activate(username):
    """重新启用停用的用户（此前的登录和令牌不会恢复）。"""
    user = _user_or_fail(username)
    user.active = True
    db.session.commit()
    click.echo(f"用户 {username} 已启用。")


@user_cli.command("revoke-tokens")
@click.argument("username")
def user_revoke_tokens(username):
    """撤销用户的全部 API 令牌。"""

    user = _user_or_fail(username)
    count = revoke_tokens(user)
    db.session.commit()
    click.echo(f"用户 {username} 的令牌已撤销 {count} 个。")


@click.command("demo")
@click.option("--reset", is_flag=True, help="先清空数据库再载入演示数据")
@click.option("--disputes", "count", default=400, show_default=True, help="演示纠纷数量")
def demo_command(reset, count):
    """载入演示数据：一个区的镇、村、网格，各类单位，各角色用户，数百件纠纷。"""

    summary = load_demo(reset=reset, count=count)
    click.echo(summary)


def command_tree(command: click.Command) -> Iterator[click.Command]:
    """A command and, for a group, every command under it."""
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from command_tree(sub)


def writing_command(command: click.Command) -> click.Command:
    """Mark a command (and, for a group, every command under it) as writing work, once.

    A command runs outside a request, so on SQLite its transactions would begin deferred and upgrade
    to the write lock at their first write, which fails at once when a server's request or scheduler
    holds the lock at that moment (``database is locked``). Marked (database.write_intent), they take
    the lock at BEGIN and queue behind the server's writers. A transaction the command began and left
    open is ended afterwards (the command line's own app context would have ended it), so a command
    invoked inside an app context (tests) leaves no write lock behind. Threads a command starts (the
    scheduler, the job workers) do not inherit the mark: they mark their own writes. PostgreSQL is
    untouched."""
    for cmd in command_tree(command):
        if cmd.callback is not None and not getattr(cmd.callback, "writing", False):
            cmd.callback = _writing(cmd.callback)
    return command


def _writing(callback):
    @functools.wraps(callback)
    def run(*args, **kwargs):
        began_here = not (has_app_context() and db.session().in_transaction())
        with write_intent():
            try:
                return callback(*args, **kwargs)
            finally:
                if began_here and has_app_context():
                    db.session.rollback()  # nothing, unless the command left a transaction open

    run.writing = True
    return run


COMMANDS = (
    ops_cli,
    tree_cli,
    units_cli,
    user_cli,
    demo_command,
    scheduler_command,
    documents_cli,
    ledger_cli,
    mediators_cli,
    calendar_cli,
    sms_cli,
    month_cli,
)


def register_cli(app: Flask) -> None:
    """Every command of the app, each marked as writing work (writing_command)."""
    for command in COMMANDS:
        app.cli.add_command(writing_command(command))
