"""Personal ID numbers never reach the logs: a filter on every handler masks anything shaped
like a 居民身份证号码 (18 characters, or URL-encoded in a query string) in the final message."""

from __future__ import annotations

import logging
import re

from mediation.common.validators import mask_id_number

ID_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)


def mask_ids(text: str) -> str:
    return ID_PATTERN.sub(lambda m: mask_id_number(m.group(0)), text)


class MaskIdNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logged as it is
            return True
        masked = mask_ids(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_ids(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_ids(record.exc_text)
        return True


_FILTER = MaskIdNumbers()


def install() -> None:
    """Attach the filter to the root logger's handlers and to the loggers that print requests."""
    for name in ("", "werkzeug", "gunicorn.access", "gunicorn.error", "mediation", "flask.app"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
