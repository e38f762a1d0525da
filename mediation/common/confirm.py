"""A confirmation step before irreversible or upward-reported actions.

A form that needs one carries ``data-confirm="…"`` (or an ``<option data-confirm>``); static/app.js
then asks in a dialog and posts ``confirmed=1``. The server never acts without that field: a post
without it (no JavaScript, an old page, a script) gets :func:`confirmation_page`, which says what
will happen and re-posts the same fields with ``confirmed=1`` — or a 取消 link back."""

from __future__ import annotations

from flask import render_template

CONFIRM_FIELD = "confirmed"


def is_confirmed(form) -> bool:
    return form.get(CONFIRM_FIELD) == "1"


def confirmation_page(
    form,
    *,
    action: str,
    title: str,
    message: str,
    cancel_url: str,
    submit_label: str = "确认",
    details: list[str] | tuple[str, ...] = (),
    danger: bool = False,
):
    """The page asking to confirm (HTTP 200; nothing was done). ``form`` is the submitted form; its
    fields are posted again with ``confirmed=1`` to ``action``."""
    fields = [
        (key, value)
        for key in form
        for value in form.getlist(key)
        if key not in ("csrf_token", CONFIRM_FIELD)
    ]
    return render_template(
        "confirm.html",
        fields=fields,
        action=action,
        title=title,
        message=message,
        cancel_url=cancel_url,
        submit_label=submit_label,
        details=list(details),
        danger=danger,
    )
