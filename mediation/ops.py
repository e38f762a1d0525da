"""Operations: backup and restore of the whole database (pg_dump / pg_restore, or SQLite's
online backup API for the embedded default)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.engine import make_url

from mediation.common.files import create_private
from mediation.extensions import db

ops_cli = AppGroup("db-backup", help="备份与恢复")


def _pg_env_and_args(url) -> tuple[dict, list[str]]:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    args = ["-h", url.host or "localhost", "-p", str(url.port or 5432)]
    if url.username:
        args += ["-U", url.username]
    return env, args


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if candidates:
        return str(candidates[-1])
    raise click.ClickException(f"找不到 {name}，请安装 PostgreSQL 客户端（Debian: postgresql-client）。")


def backup(target: str | Path) -> Path:
    """Write a consistent copy of the database to ``target`` (custom-format dump on PostgreSQL)."""
    target = Path(target)
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    create_private(target)  # the whole database: 0600, before anything is written into it
    if url.get_backend_name() == "postgresql":
        env, args = _pg_env_and_args(url)
        subprocess.run(
            [_tool("pg_dump"), "-Fc", "--no-owner", "-f", str(target), *args, url.database],
            check=True,
            env=env,
            umask=0o077,
        )
    else:
        source = sqlite3.connect(url.database)
        try:
            dest = sqlite3.connect(target)
            with dest:
                source.backup(dest)
            dest.close()
        finally:
            source.close()
    return target


def restore(source: str | Path) -> None:
    """Replace the database's content with a backup made by :func:`backup`."""
    source = Path(source)
    if not source.exists():
        raise click.ClickException(f"备份文件不存在：{source}")
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "postgresql":
        env, args = _pg_env_and_args(url)
        subprocess.run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "-d",
                url.database,
                *args,
                str(source),
            ],
            check=True,
            env=env,
        )
    else:
        src = sqlite3.connect(source)
        try:
            dest = sqlite3.connect(url.database)
            with dest:
                src.backup(dest)
            dest.close()
        finally:
            src.close()


@ops_cli.command("create")
@click.argument("file", type=click.Path(dir_okay=False))
def backup_command(file):
    """备份数据库到 FILE（PostgreSQL 用 pg_dump 自定义格式）。"""
    click.echo(f"已备份到 {backup(file)}")


@ops_cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="不再确认")
def restore_command(file, yes):
    """用备份 FILE 覆盖当前数据库。"""
    if not yes:
        click.confirm("将用备份覆盖当前数据库的全部数据，确定吗？", abort=True)
    restore(file)
    click.echo("已恢复。")
