"""Limits every request meets before a view runs: the size and nesting of a JSON body and the text
of query-string arguments and URL parts. Field-level limits (text, lengths, list sizes, integer
ranges) are in mediation/common/schema.py; this is the part that needs no schema.

- A JSON body deeper than ``JSON_MAX_DEPTH`` (default 32) is a 400 before anything parses it:
  the standard library's parser recurses and 10,000 nested arrays would raise RecursionError.
- A JSON body larger than ``MAX_JSON_BYTES`` (default 2 MiB) is a 413 (uploads are not JSON and
  keep MAX_CONTENT_LENGTH).
- A query-string argument or URL part with a control character, lone surrogate or noncharacter
  (``?q=%00``) is a 422 with the argument named (the API in flask-smorest's shape, the web as the
  error page), never a database error.
- On PostgreSQL a value the column cannot hold (a NUL, a number out of range) that still reaches
  the database is a 422, not a 500 (a backstop: the schemas refuse such values first).
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

from flask import Flask, current_app, jsonify, render_template, request
from sqlalchemy.exc import DataError

from mediation.common.validators import text_error
from mediation.extensions import HTTP_MESSAGES, db

# A JSON string (escapes included) or one bracket: strings are skipped whole, so brackets inside
# them do not count.
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)
BAD_VALUE_MESSAGE = "提交的数据超出允许的范围或含有不允许的字符，未保存任何内容。"


def json_too_deep(data: bytes, limit: int) -> bool:
    """True when the JSON text ``data`` nests arrays/objects more than ``limit`` deep."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False  # the common case: not even enough brackets
    depth = 0
    for match in _JSON_TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _refuse(code: int, message: str, errors: dict | None = None):
    if _is_api():
        body = {"code": code, "status": HTTPStatus(code).phrase, "message": message}
        if errors:
            body["errors"] = errors
        return jsonify(body), code
    return render_template("error.html", code=code, message=message or HTTP_MESSAGES.get(code)), code


def check_request():
    """before_request: the JSON body's size and depth, the text of query arguments and URL parts."""
    cfg = current_app.config
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.is_json:
        limit = cfg.get("MAX_JSON_BYTES", 2 * 1024 * 1024)
        if (request.content_length or 0) > limit:
            return _refuse(413, f"请求体过大（JSON 最大 {limit // 1024} KB）。")
        data = request.get_data(cache=True)
        if len(data) > limit:
            return _refuse(413, f"请求体过大（JSON 最大 {limit // 1024} KB）。")
        depth = cfg.get("JSON_MAX_DEPTH", 32)
        if json_too_deep(data, depth):
            return _refuse(400, f"请求体 JSON 嵌套层数过多（最多{depth}层）。")
    for key, values in request.args.lists():
        for text in (key, *values):
            if err := text_error(text):
                if _is_api():  # flask-smorest's shape: the general message, the reason by argument
                    return _refuse(422, "数据校验失败，请按字段提示修改。", {"query": {_shown(key): [err]}})
                return _refuse(422, f"查询参数「{_shown(key)}」：{err}")
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and text_error(value):
            return _refuse(404, "未找到，或不在您的辖区内。")
    return None


def _shown(key: str) -> str:
    """An argument's name as it may be shown (its own bad characters replaced)."""
    return "".join(ch if not text_error(ch) else "\ufffd" for ch in key[:50])


def database_refused_value(error: DataError):
    """A value the database refused (PostgreSQL: NUL in text, a number out of range): 422."""

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the session is removed at teardown anyway
        pass
    logging.getLogger(__name__).warning("database refused a value: %s", type(error.orig or error).__name__)
    return _refuse(422, BAD_VALUE_MESSAGE)


def install(app: Flask) -> None:
    app.before_request(check_request)
    app.register_error_handler(DataError, database_refused_value)
