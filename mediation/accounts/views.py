"""Sign-in and sign-out for the web; one's own password and API tokens; the admin's token list."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import case, delete, func, select

from mediation.accounts import service
from mediation.accounts.access import PREDICATES, is_admin, may_revoke_token
from mediation.accounts.models import ApiToken, LoginAttempt, User, verify_password
from mediation.accounts.passwords import POLICY_TEXT
from mediation.common.paging import PageArgs, kept_per_page, paginate_args, web_page_args
from mediation.common.time import utcnow
from mediation.common.urls import is_local_path
from mediation.common.validators import text_error
from mediation.extensions import db

bp = Blueprint("accounts", __name__)


@bp.app_context_processor
def _inject_predicates():
    """``predicates.<name>(current_user, …)`` in templates: the permission rules, never a role test."""
    return {"predicates": PREDICATES}


def _safe_next(target: str | None, default: str | None = None) -> str:
    if is_local_path(target):
        return target
    return default or url_for("followups.worklist")  # 我的待办: where everyone starts


def client_address() -> str:
    """The client's address as the limits count it (sign-in lockout, the parties' door)."""
    return (request.remote_addr or "")[:64]


def _too_many_failures(username: str, ip: str) -> bool:
    """Sign-in is locked for the rest of a LOGIN_LOCK_MINUTES window after LOGIN_MAX_FAILURES failures
    of this account from this address (one person's typos do not lock out the office sharing the
    address), or after LOGIN_MAX_FAILURES_PER_ADDRESS failures of any accounts from this address
    (password spraying)."""
    cfg = current_app.config
    since = utcnow() - timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
    pair, address = db.session.execute(
        select(
            func.coalesce(func.sum(case((LoginAttempt.username == username, 1), else_=0)), 0), func.count()
        ).where(LoginAttempt.at >= since, LoginAttempt.ip == ip)
    ).one()
    return pair >= cfg["LOGIN_MAX_FAILURES"] or address >= cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"]


def _locked_message() -> str:
    return f"登录失败次数过多，请{current_app.config['LOGIN_LOCK_MINUTES']}分钟后再试。"


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("followups.worklist"))
    error, status = None, 200
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:64]
        # No user name holds control characters or noncharacters: such a name is an unknown user, and
        # only a cleaned copy of it is stored with the failed attempt.
        username = (
            "".join("\ufffd" if text_error(c) else c for c in username) if text_error(username) else username
        )
        password = request.form.get("password", "")
        ip = client_address()
        if _too_many_failures(username, ip):
            error, status = _locked_message(), 429
        else:
            user = db.session.scalar(select(User).where(User.username == username))
            # An unknown or deactivated account costs the same hashing as a known one.
            if not verify_password(user if user is not None and user.active else None, password):
                db.session.add(LoginAttempt(username=username, ip=ip))
                db.session.commit()
                error, status = "用户名或密码错误。", 401
            else:
                db.session.execute(
                    delete(LoginAttempt).where(LoginAttempt.username == username, LoginAttempt.ip == ip)
                )
                service.start_session(user)
                db.session.commit()
                flash(f"欢迎，{user.name}。", "success")
                return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", error=error, username=username), status


@bp.post("/logout")
@login_required
def logout():
    service.end_current_session()
    db.session.commit()
    flash("已退出登录。", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's own password: the current one, then the new one twice. The other sessions of the
    account and all its API tokens end; this browser stays signed in."""
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        user = current_user._get_current_object()
        current = request.form.get("current_password", "")
        new = request.form.get("new_password", "")
        confirm = request.form.get("confirm_password", "")
        ip = client_address()
        if _too_many_failures(user.username, ip):
            errors["current_password"] = [_locked_message()]
            status = 429
        elif not verify_password(user, current):
            db.session.add(LoginAttempt(username=user.username, ip=ip))
            db.session.commit()
            errors["current_password"] = ["当前密码不正确。"]
        else:
            if not new:
                errors["new_password"] = ["请输入新密码。"]
            elif new == current:
                errors["new_password"] = ["新密码不能与当前密码相同。"]
            if new != confirm:
                errors["confirm_password"] = ["两次输入的新密码不一致。"]
            if not errors:
                try:
                    service.set_new_password(user, new, keep_current_session=True)
                except service.PasswordRejected as err:
                    errors["new_password"] = err.problems
        if errors:
            db.session.rollback()
            status = status if status != 200 else 422
        else:
            db.session.commit()
            flash("密码已修改。其他设备上的登录已退出，您的 API 令牌已全部撤销。", "success")
            return redirect(url_for("accounts.password"))
    return render_template("accounts/password.html", errors=errors, policy=POLICY_TEXT), status


# The token lists page 500 at a time (the admin list showed the newest 500 before it paged).
TOKEN_PAGE = PageArgs.sized(500, 500)


@bp.get("/account/tokens")
@login_required
def tokens():
    """我的令牌: the caller's API tokens, newest first."""
    stmt = select(ApiToken).where(ApiToken.user_id == current_user.id)
    return _token_page(stmt, admin_view=False)


@bp.get("/admin/tokens")
@login_required
def admin_tokens():
    """Every account's API tokens, for the admin; ``?user=`` narrows to one account."""
    if not is_admin(current_user):
        abort(403)
    username = request.args.get("user", "").strip()[:64]
    stmt = select(ApiToken).join(User, User.id == ApiToken.user_id)
    if username:
        stmt = stmt.where(User.username == username)
    return _token_page(stmt, admin_view=True, username=username)


def _token_page(stmt, **context):
    """A page of the token list (newest first, TOKEN_PAGE at a time) with its pager."""
    args, page_errors = web_page_args(request.args, TOKEN_PAGE)
    listed = paginate_args(stmt.order_by(ApiToken.created_at.desc(), ApiToken.id.desc()), args)
    return render_template(
        "accounts/tokens.html",
        tokens=listed.items,
        listed=listed,
        page_errors=page_errors,
        page_args=kept_per_page(request.args, page_errors),
        **context,
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    """Revoke one token: its owner, or an admin. Anyone else gets 404 (the token is not revealed)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or not may_revoke_token(current_user, token):
        abort(404)
    if not token.revoked:
        service.revoke_token(token)
        db.session.commit()
        flash(f"令牌 {token.hint}… 已撤销。", "success")
    default = (
        url_for("accounts.tokens") if token.user_id == current_user.id else url_for("accounts.admin_tokens")
    )
    return redirect(_safe_next(request.form.get("next"), default))
