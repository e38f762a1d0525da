"""Extensions, created once and initialised in create_app()."""

from flask import render_template, request
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api as _Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

HTTP_MESSAGES = {
    400: "请求无效。",
    401: "未登录或令牌无效。",
    403: "无权访问或操作。",
    404: "未找到，或不在您的辖区内。",
    405: "不支持该请求方法。",
    409: "与当前状态冲突，请刷新后重试。",
    413: "上传的文件过大。",
    415: "请求体应为 JSON。",
    422: "数据校验失败，请按字段提示修改。",
    429: "请求过于频繁，请稍后再试。",
    500: "服务器内部错误，请稍后重试。",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Api(_Api):
    """flask-smorest registers its JSON error handler for the whole app: keep JSON for the API,
    render the Chinese HTML error page for the web, and always give a Chinese ``message``."""

    def handle_http_exception(self, error):
        if not request.path.startswith("/api/"):
            message = HTTP_MESSAGES.get(error.code, error.description)
            return render_template("error.html", code=error.code, message=message), error.code
        payload, code, headers = super().handle_http_exception(error)
        payload.setdefault("message", HTTP_MESSAGES.get(code, error.name))
        return payload, code, headers


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
api = Api()
