"""Sign-in and sign-out for the web."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import delete, func, or_, select

from mediation.accounts.models import LoginAttempt, User
from mediation.common.time import utcnow
from mediation.common.urls import is_local_path
from mediation.extensions import db

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    if is_local_path(target):
        return target
    return url_for("followups.worklist")  # 我的待办: where everyone starts


def _too_many_failures(username: str, ip: str) -> bool:
    """LOGIN_MAX_FAILURES failed attempts for this account, or from this address, within
    LOGIN_LOCK_MINUTES lock sign-in for the rest of that window."""
    from datetime import timedelta

    cfg = current_app.config
    since = utcnow() - timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
    failures = db.session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.at >= since, or_(LoginAttempt.username == username, LoginAttempt.ip == ip)))
    return failures >= cfg["LOGIN_MAX_FAILURES"]


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("followups.worklist"))
    error, status = None, 200
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:64]
        password = request.form.get("password", "")
        ip = (request.remote_addr or "")[:64]
        if _too_many_failures(username, ip):
            error, status = f"登录失败次数过多，请{current_app.config['LOGIN_LOCK_MINUTES']}分钟后再试。", 429
        else:
            user = db.session.scalar(select(User).where(User.username == username))
            if user is None or not user.active or not user.check_password(password):
                db.session.add(LoginAttempt(username=username, ip=ip))
                db.session.commit()
                error, status = "用户名或密码错误。", 401
            else:
                db.session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
                db.session.commit()
                login_user(user, remember=False)
                flash(f"欢迎，{user.name}。", "success")
                return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", error=error, username=username), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("已退出登录。", "info")
    return redirect(url_for("accounts.login"))
